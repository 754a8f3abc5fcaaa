package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/sandbox"
)

// A plugin cannot take the host's memory through its tables, whose
// elements wazero keeps outside the linear memory limits.memory bounds: a
// table.grow of four billion elements is refused, a small one still works,
// and the host goes on serving the plugin.
func TestTableGrowthIsBounded(t *testing.T) {
	for _, mode := range []string{"instrumented", "wazero"} {
		t.Run(mode, func(t *testing.T) {
			e := newEngine(t)
			if mode == "wazero" {
				e.SetWazeroCheck()
			}
			p := load(t, e, sandbox.Spec{Name: "tables", Wasm: wat(t, "table_grow")})
			for i := range 3 {
				out, err := p.Call(context.Background(), toolCall("grow", `{}`))
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if !strings.Contains(string(out), `"text":"bounded"`) {
					t.Fatalf("call %d answered %s; want the huge growth refused and the small one done", i, out)
				}
			}
		})
	}
}

// typeOutOfRange is a module of two functions, the second of type 5 where
// only one type exists, and the first calls it. wazero v1.12.0's validator
// indexes its type list with that number and panics.
var typeOutOfRange = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
	0x03, 0x03, 0x02, 0x00, 0x05, // function section: types 0 and 5
	0x0a, 0x09, 0x02, 0x04, 0x00, 0x10, 0x01, 0x0b, 0x02, 0x00, 0x0b, // code: call 1; (empty)
}

// A module that makes wazero panic is refused like any malformed module,
// with either deadline check, and the engine goes on loading others.
func TestLoadSurvivesAModuleThatPanicsWazero(t *testing.T) {
	for _, mode := range []string{"instrumented", "wazero"} {
		t.Run(mode, func(t *testing.T) {
			e := newEngine(t)
			if mode == "wazero" {
				e.SetWazeroCheck()
			}
			_, err := e.Load(context.Background(), sandbox.Spec{Name: "panics", Wasm: typeOutOfRange})
			var le *sandbox.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load = %v; want a *LoadError", err)
			}
			if !strings.Contains(err.Error(), `plugin "panics"`) || !strings.Contains(err.Error(), "wasm32 core module") {
				t.Errorf("error %q does not name the plugin and the fix", err)
			}
			t.Log(err)
			load(t, e, sandbox.Spec{Name: "echo", Wasm: wat(t, "echo")})
		})
	}
}

// Modules of a few bytes whose counts ask wazero's decoder, which sizes
// its slices from them, for gigabytes.
var askForMore = map[string][]byte{
	"four billion data segments": {
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x0b, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f,
	},
	"four billion locals": {
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
		0x03, 0x02, 0x01, 0x00,
		0x0a, 0x0a, 0x01, 0x08, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b,
	},
	"four billion function names": {
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x00, 0x0c, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f,
	},
	"a data segment of four gigabytes": {
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x0b, 0x07, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f,
	},
}

// Such a module is refused before wazero reads it, with either deadline
// check; without the check the process ran out of memory.
func TestLoadRefusesModulesThatAskForMoreThanTheyHold(t *testing.T) {
	for _, mode := range []string{"instrumented", "wazero"} {
		e := newEngine(t)
		if mode == "wazero" {
			e.SetWazeroCheck()
		}
		for name, wasm := range askForMore {
			t.Run(mode+"/"+name, func(t *testing.T) {
				_, err := e.Load(context.Background(), sandbox.Spec{Name: "greedy", Wasm: wasm})
				var le *sandbox.LoadError
				if !errors.As(err, &le) || !strings.Contains(err.Error(), "4294967295") {
					t.Fatalf("Load = %v; want a *LoadError naming the count", err)
				}
				t.Log(err)
			})
		}
	}
}
