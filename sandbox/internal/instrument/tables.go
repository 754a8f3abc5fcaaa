package instrument

import "fmt"

const secTable = 4

// TableLimitError is a module whose tables need more elements, at
// instantiation, than the limit allows.
type TableLimitError struct {
	Elements uint64 // the sum of the minimum sizes of its tables
	Limit    uint32
}

func (e *TableLimitError) Error() string {
	return fmt.Sprintf("declares tables of %d elements in all, and the host allows at most %d per instance", e.Elements, e.Limit)
}

// Tables returns wasm with every table given a maximum size, so that all
// the tables of one instance never hold more than limit elements, or a
// *TableLimitError if their minimum sizes alone exceed it.
//
// wazero keeps a table's elements in host memory, outside the linear
// memory its page limit bounds, and grows a table without a maximum as far
// as table.grow asks: up to 2^32 elements, 32 GiB of the host's memory for
// one instruction. The elements left over by the minimum sizes are shared
// evenly among the tables, and a maximum the module declares below its
// share is kept. Growing past the maximum makes table.grow return -1,
// which the specification allows at any time and every toolchain handles.
//
// Tables returns wasm itself when it has no table section. Imported tables
// are not counted: a plugin can import only the host's functions.
func Tables(wasm []byte, limit uint32) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, malformed(0, "no WebAssembly magic number")
	}
	r := &reader{b: wasm, pos: 8}
	for !r.done() {
		start := r.pos
		id := r.byte()
		size := r.u32()
		contentAt := r.pos
		content := r.bytes(int(size))
		if r.err != nil {
			return nil, r.err
		}
		if id != secTable {
			continue
		}
		table, err := boundTables(content, contentAt, limit)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(wasm)+len(table))
		out = append(out, wasm[:start]...)
		out = appendSection(out, secTable, table)
		return append(out, wasm[r.pos:]...), nil
	}
	return wasm, nil
}

// tableType is one entry of the table section, as read.
type tableType struct {
	prefix []byte // the bytes before the limits: init prefix and reference type
	flags  byte   // the limits' flags, without the maximum bit
	min    uint32
	max    uint32
	hasMax bool
	expr   []byte // the initialiser expression of a table that has one
}

func boundTables(content []byte, base int, limit uint32) ([]byte, error) {
	r := &reader{b: content, base: base}
	n := r.u32()
	var tables []tableType
	var sum uint64
	for i := uint32(0); i < n && r.err == nil; i++ {
		var t tableType
		from := r.pos
		withInit := false
		if r.pos < len(r.b) && r.b[r.pos] == 0x40 {
			r.byte()
			if b := r.byte(); b != 0x00 && r.err == nil {
				r.fail("table %d: 0x%02x after the initialiser prefix, not 0x00", i, b)
			}
			withInit = true
		}
		r.refOrValType()
		t.prefix = r.b[from:r.pos]
		t.flags = r.byte()
		if t.flags > 0x03 && r.err == nil {
			r.fail("table %d: limits flags 0x%02x", i, t.flags)
		}
		t.min = r.u32()
		if t.flags&1 != 0 {
			t.max, t.hasMax = r.u32(), true
		}
		t.flags &^= 1
		if withInit {
			from := r.pos
			for r.err == nil && r.instruction() != opEnd {
			}
			t.expr = r.b[from:r.pos]
		}
		sum += uint64(t.min)
		tables = append(tables, t)
	}
	if r.err == nil && !r.done() {
		r.fail("table section has %d trailing bytes", len(r.b)-r.pos)
	}
	if r.err != nil {
		return nil, r.err
	}
	if sum > uint64(limit) {
		return nil, &TableLimitError{Elements: sum, Limit: limit}
	}
	share := uint32(0)
	if len(tables) > 0 {
		share = uint32((uint64(limit) - sum) / uint64(len(tables)))
	}
	out := appendU32(nil, n)
	for _, t := range tables {
		top := t.min + share // no overflow: min + share <= limit
		if !t.hasMax || t.max > top {
			t.max = top
		}
		out = append(out, t.prefix...)
		out = append(out, t.flags|1)
		out = appendU32(out, t.min)
		out = appendU32(out, t.max)
		out = append(out, t.expr...)
	}
	return out, nil
}
