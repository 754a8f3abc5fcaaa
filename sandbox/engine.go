package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tetratelabs/wazero"
)

// EngineConfig configures the process's one Engine.
type EngineConfig struct {
	// CacheDir holds compiled code between runs. It is created with mode
	// 0700, as what it holds is executable. Default: "moat" under the
	// user's cache directory (os.UserCacheDir). Set NoCache to keep compiled
	// code in memory only.
	CacheDir string
	NoCache  bool
	// HostVersion names the host in the refusal of a module that imports
	// a host function this host lacks (ABI v1 grows by new imports, so
	// the module is likely built for a newer host). Default "this version".
	HostVersion string
}

// Engine compiles plugins with wazero's optimizing compiler and caches
// the results. One Engine serves every plugin of a process; it is safe for
// concurrent use.
type Engine struct {
	cache       wazero.CompilationCache
	cacheDir    string
	hostVersion string
	// check is how calls are stopped at their deadline. Only tests change
	// it, to compare the instrumented check with wazero's own and with
	// none at all.
	check deadlineCheck
}

// deadlineCheck is a way of stopping a call at its deadline.
type deadlineCheck int

const (
	// checkInstrumented rewrites each module at load (package instrument)
	// so that it counts down at every function entry and loop header,
	// enters Go every so often, and traps once the host raises its flag.
	// It stops every shape of code and starts no goroutine per call.
	checkInstrumented deadlineCheck = iota
	// checkWazero is wazero's close-on-context-done: a call into Go at
	// every loop header and a goroutine per call, and a call tree without
	// loops is never stopped. Kept to compare with.
	checkWazero
	// checkNone stops nothing: a plugin that loops runs forever. It shows
	// what a check costs.
	checkNone
)

// compilerPlatforms are the GOOS values on which wazero's compiler runs,
// for amd64 and arm64.
var compilerPlatforms = map[string]bool{
	"linux": true, "darwin": true, "freebsd": true, "netbsd": true,
	"dragonfly": true, "windows": true, "illumos": true, "solaris": true,
}

// NewEngine returns an Engine, or an error where wazero's compiler does not
// run: moat never falls back to the interpreter, which is too slow to
// serve tools and would hide the misconfiguration.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") || !compilerPlatforms[runtime.GOOS] {
		return nil, fmt.Errorf("wazero's compiler does not support %s/%s; run moat on amd64 or arm64 under Linux, macOS, Windows or a BSD", runtime.GOOS, runtime.GOARCH)
	}
	e := &Engine{hostVersion: cfg.HostVersion}
	if e.hostVersion == "" {
		e.hostVersion = "this version"
	}
	if cfg.NoCache {
		e.cache = wazero.NewCompilationCache()
		return e, nil
	}
	dir := cfg.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for compiled plugins (%v); set cache_dir in the configuration", err)
		}
		dir = filepath.Join(base, "moat")
	}
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cache_dir %s: %w", dir, err)
	}
	e.cache, e.cacheDir = cache, dir
	return e, nil
}

// privateDir creates dir with mode 0700, or checks that an existing one is
// not writable by others: anyone who can write there can put code in moat.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cache_dir %s: %w; set cache_dir to a directory moat may create", dir, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cache_dir %s: %w", dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("cache_dir %s is not a directory; point cache_dir at a directory", dir)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("cache_dir %s is writable by other users (mode %v), and moat runs the code it finds there; run chmod 700 on it or choose a private cache_dir", dir, info.Mode().Perm())
	}
	return nil
}

// CacheDir is the directory of the compilation cache, or "" when compiled
// code is kept in memory only.
func (e *Engine) CacheDir() string { return e.cacheDir }

// Close releases the compilation cache. Plugins loaded by the engine must be
// closed first.
func (e *Engine) Close(ctx context.Context) error {
	return e.cache.Close(ctx)
}

// newRuntime makes the runtime of one plugin: compiler, memory ceiling,
// and the shared cache. wazero's close-on-context-done is off unless a
// test asked for it: the instrumented check replaces it.
func (e *Engine) newRuntime(ctx context.Context, limits Limits) wazero.Runtime {
	cfg := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(e.cache).
		WithMemoryLimitPages(limits.memoryPages()).
		WithCloseOnContextDone(e.check == checkWazero)
	return wazero.NewRuntimeWithConfig(ctx, cfg)
}

// errorsAs is errors.As with a typed result, to keep call sites short.
func errorsAs[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}

// since is time.Since, rounded for people to read.
func since(start time.Time) time.Duration {
	return time.Since(start).Round(time.Microsecond)
}
