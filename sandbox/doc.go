// Package sandbox runs moat plugins: WebAssembly modules that follow ABI v1
// (package abi), each in pooled wazero instances under limits.
//
// An Engine is made once per process. It checks that wazero's compiler
// runs on this platform and keeps compiled code in a cache on disk, so a
// second start compiles nothing. Engine.Load validates a module before any
// of its code runs, instantiates it once to read its description, and
// returns a Plugin whose Call runs one moat_call in a free instance:
//
//	eng, err := sandbox.NewEngine(sandbox.EngineConfig{CacheDir: dir})
//	p, err := eng.Load(ctx, sandbox.Spec{Name: "time", Wasm: wasm, Host: host})
//	out, err := p.Call(ctx, request)
//
// Every plugin gets its own wazero runtime, so that its memory ceiling is
// its own, while all runtimes share the engine's compilation cache. A call
// that breaks a limit or traps returns a *Fault, classified by kind
// (ErrTimeout, ErrOutOfMemory, ErrTrap, ErrBadOutput, ErrExit, ErrBusy),
// and the instance it ran in is retired, never reused.
//
// The sandbox knows nothing of MCP or HTTP: what a plugin's host calls reach
// outside is the Host interface the caller passes in.
package sandbox
