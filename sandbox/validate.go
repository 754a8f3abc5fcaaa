package sandbox

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moat-mcp/moat/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Import is one function a module imports.
type Import struct {
	Module string
	Name   string
	// Capability is the grant the import needs ("http", "kv", ...), or ""
	// for imports every plugin may use.
	Capability string
}

// validate checks a compiled module against ABI v1 before any of its code
// runs, and returns its function imports.
// wasi holds the functions the host's WASI module exports.
func validate(name, hostVersion string, m wazero.CompiledModule, wasi map[string]api.FunctionDefinition) ([]Import, error) {
	refuse := func(problem, fix string) error {
		return &LoadError{Plugin: name, Problem: problem, Fix: fix}
	}
	var imports []Import
	for _, def := range m.ImportedFunctions() {
		mod, fn, _ := def.Import()
		sig := signatureOf(def)
		switch mod {
		case abi.ModuleWASI:
			def, ok := wasi[fn]
			if !ok {
				return nil, refuse(fmt.Sprintf("imports %s.%s, which WASI preview 1 does not define", mod, fn),
					"build for WASI preview 1 (wasip1, wasm32-wasi); newer WASI versions are not supported")
			}
			if want := signatureOf(def); !sameSignature(want, sig) {
				return nil, refuse(fmt.Sprintf("imports %s.%s with signature %s, but WASI preview 1 defines it as %s", mod, fn, sig, want),
					"rebuild the plugin with a toolchain for WASI preview 1")
			}
		case abi.ModuleMoat:
			want, ok := abi.Imports[fn]
			if !ok {
				// ABI v1 grows by new imports (docs/ABI.md, Versioning): one
				// this host lacks most likely comes from a newer host.
				return nil, refuse(fmt.Sprintf("imports moat.%s, which moat %s does not provide: it serves the imports of ABI v1 that docs/ABI.md lists, and a plugin built for a newer moat may use one added since", fn, hostVersion),
					"run the plugin on the newer moat it was built for, or rebuild it without moat."+fn)
			}
			if !sameSignature(want, sig) {
				return nil, refuse(fmt.Sprintf("imports moat.%s with signature %s, but ABI v1 defines it as %s", fn, sig, want),
					"fix the import's declaration to match docs/ABI.md")
			}
		case abi.ModuleEnv:
			if fn != abi.AbortImport || !sameSignature(abi.AbortSignature, sig) {
				return nil, refuse(fmt.Sprintf("imports env.%s %s, and moat provides only env.abort %s from module env", fn, sig, abi.AbortSignature),
					`a plugin may import only from "wasi_snapshot_preview1" and "moat" (see docs/ABI.md); remove the import or provide the function inside the module`)
			}
		default:
			return nil, refuse(fmt.Sprintf("imports %s.%s, which moat does not provide", mod, fn),
				`a plugin may import only from "wasi_snapshot_preview1" and "moat" (see docs/ABI.md); remove the import or provide the function inside the module`)
		}
		imports = append(imports, Import{Module: mod, Name: fn, Capability: capabilityOf(mod, fn)})
	}
	for _, def := range m.ImportedMemories() {
		mod, fn, _ := def.Import()
		return nil, refuse(fmt.Sprintf("imports memory %s.%s, but a plugin must define and export its own memory", mod, fn),
			`build without an imported memory (for clang, drop --import-memory)`)
	}
	if len(m.ExportedMemories()) == 0 {
		return nil, refuse(`does not export its memory as "memory"`, `export the module's memory under the name "memory"`)
	}
	if _, ok := m.ExportedMemories()[abi.ExportMemory]; !ok {
		return nil, refuse(`does not export a memory named "memory"`, `export the module's memory under the name "memory"`)
	}
	exports := m.ExportedFunctions()
	if _, ok := exports[abi.ExportStart]; ok {
		return nil, refuse("exports _start, so it is a WASI command rather than a reactor",
			"rebuild it as a reactor (Go: -buildmode=c-shared; C: -mexec-model=reactor; Rust: crate-type cdylib; AssemblyScript: --exportStart _initialize)")
	}
	for _, exp := range append(slices.Clone(abi.RequiredExports), abi.ExportInitialize) {
		def, ok := exports[exp]
		want := abi.Exports[exp]
		if !ok {
			if exp == abi.ExportInitialize {
				continue
			}
			return nil, refuse(fmt.Sprintf("does not export %s %s", exp, want),
				"every plugin exports moat_abi_version, moat_alloc, moat_describe and moat_call (see docs/ABI.md); an SDK provides them")
		}
		if got := signatureOf(def); !sameSignature(want, got) {
			return nil, refuse(fmt.Sprintf("exports %s with signature %s, but ABI v1 requires %s", exp, got, want),
				"fix the export's signature to match docs/ABI.md")
		}
	}
	return imports, nil
}

func capabilityOf(module, name string) string {
	if module != abi.ModuleMoat {
		return ""
	}
	return abi.Capability(name)
}

func signatureOf(def api.FunctionDefinition) abi.Signature {
	conv := func(ts []api.ValueType) []abi.ValueType {
		out := make([]abi.ValueType, len(ts))
		for i, t := range ts {
			out[i] = abi.ValueType(t)
		}
		return out
	}
	return abi.Signature{Params: conv(def.ParamTypes()), Results: conv(def.ResultTypes())}
}

func sameSignature(a, b abi.Signature) bool {
	return slices.Equal(a.Params, b.Params) && slices.Equal(a.Results, b.Results)
}

// firstFrame returns the first line of the wasm stack trace in a wazero
// error, such as "$boom(...)" or "main.handler(...)", or "".
func firstFrame(msg string) string {
	_, trace, ok := strings.Cut(msg, "wasm stack trace:")
	if !ok {
		return ""
	}
	for _, line := range strings.Split(trace, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}
