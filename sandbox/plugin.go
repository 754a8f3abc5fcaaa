package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/sandbox/internal/instrument"
	"github.com/moat-mcp/moat/sandbox/internal/rootfs"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Spec is what Load needs to know of a plugin.
type Spec struct {
	// Name identifies the plugin in errors and logs, and is its WASI args[0].
	Name string
	// Wasm is the module's binary.
	Wasm []byte
	// Limits bound the plugin; zero fields take DefaultLimits.
	Limits Limits
	// Host receives the plugin's logs and output. Nil discards them.
	Host Host
	// OnWait, if set, is told how long each call waited for a free
	// instance (zero when one was free at once).
	OnWait func(time.Duration)
}

// Plugin is a loaded, validated module with its pool of instances. It is
// safe for concurrent use.
type Plugin struct {
	name        string
	limits      Limits
	host        Host
	onWait      func(time.Duration)
	rt          wazero.Runtime
	compiled    wazero.CompiledModule
	modConfig   wazero.ModuleConfig
	imports     []Import
	description []byte
	compileTime time.Duration
	size        int
	// closeOnDone is set when wazero's own check stops calls (a test's
	// comparison): it watches the context a call is made with, which must
	// then carry the call's deadline.
	closeOnDone bool

	pool     *pool
	byModule sync.Map // api.Module -> *instance
	mounts   []*rootfs.FS
}

// Load compiles (or finds in the cache) and validates a module, makes its
// first instance (running _initialize), checks moat_abi_version and reads
// moat_describe, each under the plugin's deadline. The description is
// returned as the plugin wrote it; checking its content is the caller's
// job. Errors are *LoadError or *Fault and name the plugin.
func (e *Engine) Load(ctx context.Context, spec Spec) (*Plugin, error) {
	limits := spec.Limits.withDefaults()
	if err := limits.validate(); err != nil {
		return nil, &LoadError{Plugin: spec.Name, Problem: err.Error()}
	}
	host := spec.Host
	if host == nil {
		host = discardHost{}
	}
	// moat_describe runs with no capability granted: until Load returns,
	// the plugin reaches only the host's log.
	p := &Plugin{name: spec.Name, limits: limits, host: logOnly{host}, onWait: spec.OnWait, size: len(spec.Wasm), pool: newPool(limits.Instances)}
	p.rt = e.newRuntime(ctx, limits)
	ok := false
	defer func() {
		if !ok {
			_ = p.rt.Close(context.Background())
		}
	}()

	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.rt); err != nil {
		return nil, fmt.Errorf("plugin %q: instantiating WASI: %w", spec.Name, err)
	}
	wasm, err := prepare(spec.Name, spec.Wasm)
	if err != nil {
		return nil, err
	}
	p.closeOnDone = e.check == checkWazero
	if e.check == checkInstrumented {
		if wasm, err = instrumentModule(spec.Name, wasm); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	compiled, err := compile(ctx, p.rt, wasm)
	if err != nil {
		return nil, compileError(spec.Name, limits, err)
	}
	p.compileTime = since(start)
	p.compiled = compiled
	if p.imports, err = validate(spec.Name, e.hostVersion, compiled, p.rt.Module(abi.ModuleWASI).ExportedFunctionDefinitions()); err != nil {
		return nil, err
	}
	if _, err := p.hostModule(p.rt).Instantiate(ctx); err != nil {
		return nil, fmt.Errorf("plugin %q: instantiating the moat host module: %w", spec.Name, err)
	}
	if _, err := envModule(p.rt).Instantiate(ctx); err != nil {
		return nil, fmt.Errorf("plugin %q: instantiating env.abort: %w", spec.Name, err)
	}
	// WASI as the ABI says: args [name], no environment, real clocks,
	// cryptographic randomness, no file system until Grant mounts the
	// granted folders. No start function runs inside instantiation, where
	// the deadline check cannot reach it: newInstance calls the module's
	// start function and _initialize itself (_start was refused by
	// validate).
	p.modConfig = wazero.NewModuleConfig().
		WithName("").
		WithArgs(spec.Name).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader).
		WithStartFunctions()

	inst, err := p.newInstance(ctx)
	if err != nil {
		return nil, loadFault(err, "_initialize")
	}
	p.pool.live = 1
	callCtx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()
	version, err := p.abiVersion(callCtx, inst)
	if err != nil {
		p.closeInstance(inst)
		return nil, loadFault(err, abi.ExportABIVersion)
	}
	if version != abi.Version {
		p.closeInstance(inst)
		return nil, &LoadError{Plugin: spec.Name, Problem: fmt.Sprintf("moat_abi_version() returned %d, and this host speaks ABI version %d", version, abi.Version),
			Fix: "rebuild the plugin against an SDK for ABI v1 (see docs/ABI.md)"}
	}
	if p.description, err = p.describeInstance(callCtx, inst); err != nil {
		p.closeInstance(inst)
		return nil, loadFault(err, abi.ExportDescribe)
	}
	p.pool.idle = append(p.pool.idle, inst)
	p.host = host
	ok = true
	return p, nil
}

// Mount grants a plugin one host folder in its WASI file system.
type Mount struct {
	// HostPath is the folder on the host.
	HostPath string
	// GuestPath is where the plugin sees it, such as /data.
	GuestPath string
	// Writable grants writes; without it every change is refused with
	// EROFS, and no path, "..", or symlink leads out of the folder either
	// way.
	Writable bool
}

// logOnly is a Host stripped of its capabilities.
type logOnly struct{ Host }

// Grant gives the plugin what its operator granted, once its description
// has been read and before its first call: host serves its logs and
// capability imports from then on, and mounts make up its WASI file
// system. Instances made before Grant, which saw no mount, are closed.
// Grant is not safe to call concurrently with Call.
func (p *Plugin) Grant(host Host, mounts []Mount) error {
	if host != nil {
		p.host = host
	}
	if len(mounts) == 0 {
		return nil
	}
	fsConfig := wazero.NewFSConfig()
	for _, m := range mounts {
		rfs, err := rootfs.Open(m.HostPath, m.Writable)
		if err != nil {
			p.closeMounts()
			return &LoadError{Plugin: p.name, Problem: fmt.Sprintf("cannot mount %s at %s: %v", m.HostPath, m.GuestPath, err),
				Fix: "create the folder, or correct its path in the plugin's grants.fs"}
		}
		p.mounts = append(p.mounts, rfs)
		fsConfig = fsConfig.(sysfs.FSConfig).WithSysFSMount(rfs, m.GuestPath)
	}
	p.modConfig = p.modConfig.WithFSConfig(fsConfig)
	p.pool.mu.Lock()
	idle := p.pool.idle
	p.pool.idle = nil
	p.pool.live -= len(idle)
	p.pool.mu.Unlock()
	for _, inst := range idle {
		p.closeInstance(inst)
	}
	return nil
}

func (p *Plugin) closeMounts() {
	for _, m := range p.mounts {
		_ = m.Close()
	}
	p.mounts = nil
}

// compileError explains why a module did not compile.
func compileError(name string, limits Limits, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "section memory") && strings.Contains(msg, "over limit") {
		return &LoadError{Plugin: name, Problem: fmt.Sprintf("needs more memory at start than its ceiling of %s", FormatSize(limits.Memory)), Err: err,
			Fix: "raise limits.memory for this plugin, or build it with a smaller initial memory"}
	}
	return &LoadError{Plugin: name, Problem: "is not a WebAssembly module wazero can compile", Err: err,
		Fix: "check that the file is a wasm32 core module (not a component) built for WASI preview 1"}
}

// prepare readies a module for wazero: it refuses a module whose counts
// and lengths ask for more memory than its bytes can fill (see
// instrument.Sizes), and gives every table a maximum size, so that
// table.grow cannot take the host's memory (see instrument.Tables).
func prepare(name string, wasm []byte) ([]byte, error) {
	err := instrument.Sizes(wasm)
	if err == nil {
		var out []byte
		if out, err = instrument.Tables(wasm, abi.MaxTableElements); err == nil {
			return out, nil
		}
	}
	if tl, ok := errorsAs[*instrument.TableLimitError](err); ok {
		return nil, &LoadError{Plugin: name, Problem: "has tables larger than the sandbox allows", Err: tl,
			Fix: "declare smaller tables: a table needs one element per function called indirectly"}
	}
	return nil, &LoadError{Plugin: name, Problem: "is not a WebAssembly module wazero can compile", Err: err,
		Fix: "check that the file is a wasm32 core module (not a component) built for WASI preview 1"}
}

// compile is CompileModule, with a panic inside wazero turned into the
// module's error: a malformed module that trips a defect in wazero's
// decoder or validator is refused, and the host goes on.
func compile(ctx context.Context, rt wazero.Runtime, wasm []byte) (_ wazero.CompiledModule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("wazero failed on this module: %v", r)
		}
	}()
	return rt.CompileModule(ctx, wasm)
}

// instantiate is InstantiateModule, with a panic inside wazero turned into
// an error, as compile does.
func instantiate(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule, cfg wazero.ModuleConfig) (_ api.Module, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("wazero failed instantiating this module: %v", r)
		}
	}()
	return rt.InstantiateModule(ctx, compiled, cfg)
}

// instrumentModule adds the deadline check to a module.
func instrumentModule(name string, wasm []byte) ([]byte, error) {
	out, err := instrument.Module(wasm)
	if err == nil {
		return out, nil
	}
	if reserved, ok := errorsAs[*instrument.ReservedNameError](err); ok {
		return nil, &LoadError{Plugin: name, Problem: reserved.Error(), Err: err,
			Fix: fmt.Sprintf("rename or remove the export %q: names beginning with %q belong to the host", reserved.Name, instrument.ReservedPrefix)}
	}
	return nil, &LoadError{Plugin: name, Problem: "is not a WebAssembly module wazero can compile", Err: err,
		Fix: "check that the file is a wasm32 core module (not a component) built for WASI preview 1"}
}

// loadFault wraps a fault met at load in a LoadError that says what to do.
func loadFault(err error, step string) error {
	var f *Fault
	if !errors.As(err, &f) {
		return err
	}
	fix := "fix the plugin so that " + step + " returns promptly and cleanly"
	if errors.Is(err, ErrOutOfMemory) {
		fix = "raise limits.memory for this plugin or make it need less"
	}
	return &LoadError{Plugin: f.Plugin, Problem: "failed at load: " + f.Detail, Fix: fix, Err: f.Kind}
}

// Name is the plugin's name.
func (p *Plugin) Name() string { return p.name }

// Description is what moat_describe returned at load, unparsed.
func (p *Plugin) Description() []byte { return p.description }

// Imports lists the functions the module imports.
func (p *Plugin) Imports() []Import { return p.imports }

// Limits are the limits the plugin runs under, defaults filled in.
func (p *Plugin) Limits() Limits { return p.limits }

// CompileTime is how long compiling took at load; near zero when the code
// came from the cache.
func (p *Plugin) CompileTime() time.Duration { return p.compileTime }

// Size is the module's size in bytes.
func (p *Plugin) Size() int { return p.size }

type callTimeoutKey struct{}

type callTimeout struct {
	d       time.Duration
	setting string
}

// WithCallTimeout gives the calls made with ctx a deadline of d in place of
// the plugin's limits.timeout, longer or shorter: a call that runs in the
// background (a task) may be allowed more than one a client waits for.
// setting names where d comes from, for the fault of a call that runs past
// it. A d of zero or less leaves limits.timeout.
func WithCallTimeout(ctx context.Context, d time.Duration, setting string) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, callTimeoutKey{}, callTimeout{d: d, setting: setting})
}

// Call runs one moat_call with request, an ABI request JSON, in a free
// instance, and returns the plugin's response bytes, within the plugin's
// limits.timeout or the deadline WithCallTimeout set on ctx. A failure is a
// *Fault; the instance it happened in is retired.
func (p *Plugin) Call(ctx context.Context, request []byte) ([]byte, error) {
	inst, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	timeout := p.limits.Timeout
	if ct, ok := ctx.Value(callTimeoutKey{}).(callTimeout); ok {
		timeout, inst.timeout, inst.setting = ct.d, ct.d, ct.setting
	}
	due := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(due) {
		due = d
	}
	out, err := p.invoke(ctx, due, inst, request)
	inst.timeout, inst.setting = 0, ""
	p.release(inst, err == nil)
	return out, err
}

// Close unloads the plugin: calls still running are stopped, and later
// calls fail with ErrClosed.
func (p *Plugin) Close(ctx context.Context) error {
	p.pool.mu.Lock()
	p.pool.closed = true
	p.pool.live -= len(p.pool.idle)
	p.pool.idle = nil
	p.pool.mu.Unlock()
	// A call still running stops at its next check; it is then released
	// as faulted, which counts it out of the pool.
	p.byModule.Range(func(_, v any) bool {
		v.(*instance).raise(ErrClosed)
		return true
	})
	err := p.rt.Close(ctx)
	p.closeMounts()
	return err
}
