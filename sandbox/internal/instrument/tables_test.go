package instrument

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

// tableModule is a module of one table section holding the given tables,
// each written as its bytes after the count.
func tableModule(tables ...[]byte) []byte {
	content := appendU32(nil, uint32(len(tables)))
	for _, t := range tables {
		content = append(content, t...)
	}
	return appendSection([]byte("\x00asm\x01\x00\x00\x00"), secTable, content)
}

// funcref writes a funcref table with a minimum and, if max >= 0, a maximum.
func funcref(min uint32, max int64) []byte {
	if max < 0 {
		return appendU32([]byte{0x70, 0x00}, min)
	}
	return appendU32(appendU32([]byte{0x70, 0x01}, min), uint32(max))
}

// limitsOf reads back the limits of every table of a module Tables wrote.
func limitsOf(t *testing.T, wasm []byte) [][2]uint32 {
	t.Helper()
	r := &reader{b: wasm, pos: 8}
	for !r.done() {
		id := r.byte()
		content := r.bytes(int(r.u32()))
		if id != secTable {
			continue
		}
		tr := &reader{b: content}
		var out [][2]uint32
		for n := tr.u32(); n > 0 && tr.err == nil; n-- {
			withInit := tr.b[tr.pos] == 0x40
			if withInit {
				tr.skip(2)
			}
			tr.refOrValType()
			if flags := tr.byte(); flags&1 == 0 {
				t.Fatalf("a table was left without a maximum (flags 0x%02x)", flags)
			}
			min, max := tr.u32(), tr.u32()
			out = append(out, [2]uint32{min, max})
			if withInit {
				for tr.err == nil && tr.instruction() != opEnd {
				}
			}
		}
		if tr.err != nil {
			t.Fatal(tr.err)
		}
		return out
	}
	return nil
}

func TestTablesGetAMaximumWithinTheLimit(t *testing.T) {
	cases := []struct {
		name   string
		tables [][]byte
		want   [][2]uint32
	}{
		{"unbounded", [][]byte{funcref(1, -1)}, [][2]uint32{{1, 100}}},
		{"declared maximum above the limit", [][]byte{funcref(4, 1<<30)}, [][2]uint32{{4, 100}}},
		{"declared maximum kept", [][]byte{funcref(4, 10)}, [][2]uint32{{4, 10}}},
		{"the spare shared evenly", [][]byte{funcref(10, -1), funcref(20, -1)}, [][2]uint32{{10, 45}, {20, 55}}},
		{"all of the limit at start", [][]byte{funcref(100, -1)}, [][2]uint32{{100, 100}}},
		{"an externref table", [][]byte{append([]byte{0x6f, 0x00}, 7)}, [][2]uint32{{7, 100}}},
		{"a table with an initialiser", [][]byte{{0x40, 0x00, 0x70, 0x00, 3, 0xd0, 0x70, 0x0b}, funcref(2, -1)}, [][2]uint32{{3, 50}, {2, 49}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Tables(tableModule(c.tables...), 100)
			if err != nil {
				t.Fatal(err)
			}
			got := limitsOf(t, out)
			if len(got) != len(c.want) {
				t.Fatalf("%d tables after, want %d", len(got), len(c.want))
			}
			var sum uint64
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("table %d: limits %v, want %v", i, got[i], c.want[i])
				}
				sum += uint64(got[i][1])
			}
			if sum > 100 {
				t.Errorf("the maximums add up to %d, over the limit of 100", sum)
			}
			ctx := context.Background()
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			if _, err := rt.CompileModule(ctx, out); err != nil {
				t.Fatalf("wazero refuses the bounded module: %v", err)
			}
		})
	}
}

func TestTablesRefusesTablesOverTheLimit(t *testing.T) {
	_, err := Tables(tableModule(funcref(60, -1), funcref(41, 50)), 100)
	var tl *TableLimitError
	if !errors.As(err, &tl) || tl.Elements != 101 || tl.Limit != 100 {
		t.Fatalf("Tables = %v; want a TableLimitError of 101 elements over 100", err)
	}
}

func TestTablesLeavesModulesWithoutTables(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00")
	out, err := Tables(wasm, 100)
	if err != nil || !bytes.Equal(out, wasm) {
		t.Fatalf("Tables = %x, %v; want the module unchanged", out, err)
	}
	if _, err := Tables(wasm[:len(wasm)-1], 100); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a cut section: %v; want ErrMalformed", err)
	}
}

// Every module the repository has, and the Go plugins it builds, pass
// the size check: it refuses only what no toolchain writes.
func TestSizesAcceptsRealModules(t *testing.T) {
	for path, wasm := range watModules(t) {
		if err := Sizes(wasm); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}
