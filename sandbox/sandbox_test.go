package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/sandbox"
)

func TestLoadReadsTheDescription(t *testing.T) {
	e := newEngine(t)
	p := load(t, e, sandbox.Spec{Name: "faulty", Wasm: wat(t, "faulty")})
	var d abi.Description
	if err := json.Unmarshal(p.Description(), &d); err != nil {
		t.Fatalf("description is not JSON: %v\n%s", err, p.Description())
	}
	if d.Name != "faulty" || len(d.Tools) == 0 {
		t.Fatalf("description = %+v", d)
	}
	if st := p.Stats(); st.Instances != 1 || st.Busy != 0 {
		t.Fatalf("after load: %+v, want the one instance that described, idle", st)
	}
}

// Each fault ends its call with the right kind, and afterwards the same
// plugin's healthy tool and another plugin both still answer.
func TestFaultsStayInTheirCall(t *testing.T) {
	e := newEngine(t)
	limits := sandbox.Limits{Timeout: 2 * time.Second, Memory: 8 << 20, Output: 1 << 20}
	faulty := load(t, e, sandbox.Spec{Name: "faulty", Wasm: wat(t, "faulty"), Limits: limits})
	// Exhausting wazero's stack takes a while (seconds under the race
	// detector), so recursion runs in a plugin with a generous deadline.
	limits.Timeout = time.Minute
	deep := load(t, e, sandbox.Spec{Name: "faulty", Wasm: wat(t, "faulty"), Limits: limits})
	echo := load(t, e, sandbox.Spec{Name: "echo", Wasm: wat(t, "echo")})

	cases := []struct {
		tool   string
		kind   error
		detail string
		plugin *sandbox.Plugin
	}{
		{"loop", sandbox.ErrTimeout, `plugin "faulty": call exceeded its 2s deadline`, nil},
		{"grow", sandbox.ErrOutOfMemory, "ran out of memory at its ceiling of 8MiB", nil},
		{"trap", sandbox.ErrTrap, "unreachable", nil},
		{"recurse", sandbox.ErrTrap, "stack overflow", deep},
		{"oob", sandbox.ErrBadOutput, "outside the plugin's", nil},
		{"huge", sandbox.ErrBadOutput, "more than its output cap of 1MiB", nil},
	}
	for _, c := range cases {
		t.Run(c.tool, func(t *testing.T) {
			p := faulty
			if c.plugin != nil {
				p = c.plugin
			}
			_, err := p.Call(context.Background(), toolCall(c.tool, `{}`))
			if !errors.Is(err, c.kind) {
				t.Fatalf("call %s: err = %v, want kind %v", c.tool, err, c.kind)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), c.detail) {
				t.Fatalf("call %s: %q does not say %q", c.tool, err, c.detail)
			}
			out, err := p.Call(context.Background(), toolCall("ok", `{}`))
			if err != nil || !strings.Contains(string(out), `"ok"`) {
				t.Fatalf("healthy tool after %s: %s, %v", c.tool, out, err)
			}
			out, err = echo.Call(context.Background(), toolCall("echo", `{"text":"still here"}`))
			if err != nil || !strings.Contains(string(out), "still here") {
				t.Fatalf("other plugin after %s: %s, %v", c.tool, out, err)
			}
		})
	}
	if st := faulty.Stats(); st.Instances > 1 {
		t.Fatalf("faulted instances were kept: %+v", st)
	}
}

func TestTrapNamesTheWasmFrame(t *testing.T) {
	e := newEngine(t)
	p := load(t, e, sandbox.Spec{Name: "faulty", Wasm: wat(t, "faulty")})
	_, err := p.Call(context.Background(), toolCall("trap", `{}`))
	// The module is instrumented before it is compiled; its name section
	// still names the function.
	if !errors.Is(err, sandbox.ErrTrap) || !strings.Contains(err.Error(), "(at faulty.boom()") {
		t.Fatalf("trap error %q does not name the frame it happened in, faulty.boom", err)
	}
	if kind := sandbox.KindName(err); kind != "trap" {
		t.Fatalf("KindName = %q", kind)
	}
}

func TestLoadRefusesBadModules(t *testing.T) {
	e := newEngine(t)
	cases := []struct {
		fixture string
		says    []string
	}{
		{"unknown_import", []string{`plugin "unknown_import"`, "evil.steal", "wasi_snapshot_preview1"}},
		{"start", []string{"_start", "reactor", "-buildmode=c-shared"}},
		{"badversion", []string{"moat_abi_version() returned 2", "ABI v1"}},
		{"missing_export", []string{"does not export moat_call"}},
		{"bad_signature", []string{"moat_call with signature (i32) -> (i32)", "(i32, i32) -> (i64)"}},
		{"init_loop", []string{"_initialize exceeded its 300ms deadline"}},
		{"describe_loop", []string{"moat_describe exceeded its 300ms deadline"}},
		{"big_memory", []string{"needs more memory at start than its ceiling of 64MiB", "raise limits.memory"}},
		{"big_table", []string{"tables larger than the sandbox allows", "declares tables of 2000000 elements in all", "at most 1048576", "declare smaller tables"}},
		{"wasi_unknown", []string{"wasi_snapshot_preview1.sock_teleport", "WASI preview 1 does not define"}},
		{"future_import", []string{"imports moat.teleport, which moat this version does not provide", "a newer moat", "rebuild it without moat.teleport"}},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			p, err := e.Load(context.Background(), sandbox.Spec{Name: c.fixture, Wasm: wat(t, c.fixture), Limits: sandbox.Limits{Timeout: 300 * time.Millisecond}})
			if err == nil {
				p.Close(context.Background())
				t.Fatalf("loaded %s; want it refused", c.fixture)
			}
			t.Log(err)
			var le *sandbox.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *LoadError", err)
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
	if _, err := e.Load(context.Background(), sandbox.Spec{Name: "junk", Wasm: []byte("not wasm")}); err == nil || !strings.Contains(err.Error(), `plugin "junk"`) {
		t.Fatalf("junk bytes: %v", err)
	}
}

func TestConcurrentCallsShareFourInstances(t *testing.T) {
	e := newEngine(t)
	p := load(t, e, sandbox.Spec{Name: "echo", Wasm: goPlugin(t, "sandbox/testdata/echo-go"),
		Limits: sandbox.Limits{Instances: 4, QueueTimeout: 30 * time.Second}})

	var maxInstances atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n := int64(p.Stats().Instances); n > maxInstances.Load() {
				maxInstances.Store(n)
			}
			select {
			case <-stop:
				return
			default:
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := strings.Repeat("x", i)
			out, err := p.Call(context.Background(), toolCall("echo", `{"text":"`+text+`"}`))
			if err != nil {
				errs <- err
				return
			}
			var res abi.CallToolResult
			if err := json.Unmarshal(out, &res); err != nil || len(res.Content) != 1 || res.Content[0].Text != text {
				errs <- errors.New("wrong echo: " + string(out))
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := p.Stats()
	if st.Instances > 4 || maxInstances.Load() > 4 {
		t.Fatalf("instances: now %d, at most %d; want never more than 4", st.Instances, maxInstances.Load())
	}
	if st.Busy != 0 {
		t.Fatalf("busy after all calls returned: %+v", st)
	}
}

func TestBusyPluginFailsAfterQueueTimeout(t *testing.T) {
	e := newEngine(t)
	p := load(t, e, sandbox.Spec{Name: "faulty", Wasm: wat(t, "faulty"),
		Limits: sandbox.Limits{Instances: 1, QueueTimeout: 50 * time.Millisecond, Timeout: 2 * time.Second}})
	looping := make(chan error)
	go func() {
		_, err := p.Call(context.Background(), toolCall("loop", `{}`))
		looping <- err
	}()
	// Wait until the loop holds the only instance.
	for p.Stats().Busy == 0 {
		time.Sleep(time.Millisecond)
	}
	_, err := p.Call(context.Background(), toolCall("ok", `{}`))
	if !errors.Is(err, sandbox.ErrBusy) || !strings.Contains(err.Error(), `plugin "faulty" is busy`) {
		t.Fatalf("second call: %v, want busy", err)
	}
	if err := <-looping; !errors.Is(err, sandbox.ErrTimeout) {
		t.Fatalf("looping call: %v", err)
	}
	if out, err := p.Call(context.Background(), toolCall("ok", `{}`)); err != nil {
		t.Fatalf("after the loop ended: %s %v", out, err)
	}
}

func TestCancelledCallRetiresItsInstance(t *testing.T) {
	e := newEngine(t)
	p := load(t, e, sandbox.Spec{Name: "faulty", Wasm: wat(t, "faulty")})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := p.Call(ctx, toolCall("loop", `{}`))
	if !errors.Is(err, sandbox.ErrCanceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	if out, err := p.Call(context.Background(), toolCall("ok", `{}`)); err != nil {
		t.Fatalf("after cancel: %s %v", out, err)
	}
}

func TestHostFunctions(t *testing.T) {
	e := newEngine(t)
	host := &recordingHost{}
	p := load(t, e, sandbox.Spec{Name: "hostcalls", Wasm: wat(t, "hostcalls"), Host: host,
		Limits: sandbox.Limits{Timeout: 200 * time.Millisecond}})

	if _, err := p.Call(context.Background(), toolCall("log", `{}`)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(host.text(), "hostcalls info hello from wat") {
		t.Fatalf("log did not reach the host:\n%s", host.text())
	}

	out, err := p.Call(context.Background(), toolCall("http", `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `serves no "http" capability`) {
		t.Fatalf("http_request without a grant: %s", out)
	}

	if _, err := p.Call(context.Background(), toolCall("badptr", `{}`)); err != nil {
		t.Fatalf("a log with a bad pointer must not fail the call: %v", err)
	}
	if !strings.Contains(host.text(), "outside memory") {
		t.Fatalf("the bad pointer was not reported:\n%s", host.text())
	}

	// spin polls cancelled() until it turns 1 at the deadline. Whether the
	// plugin gets to return its own answer before the host closes it is a
	// race; either way the call ends at the deadline.
	out, err = p.Call(context.Background(), toolCall("spin", `{}`))
	if !errors.Is(err, sandbox.ErrTimeout) && (err != nil || !strings.Contains(string(out), "cancelled")) {
		t.Fatalf("spin past the deadline: %s, %v", out, err)
	}
}

func TestGoPluginAnswers(t *testing.T) {
	e := newEngine(t)
	p := load(t, e, sandbox.Spec{Name: "echo", Wasm: goPlugin(t, "sandbox/testdata/echo-go")})
	out, err := p.Call(context.Background(), toolCall("echo", `{"text":"héllo"}`))
	if err != nil {
		t.Fatal(err)
	}
	var res abi.CallToolResult
	if err := json.Unmarshal(out, &res); err != nil || len(res.Content) != 1 || res.Content[0].Text != "héllo" {
		t.Fatalf("echo: %s (%v)", out, err)
	}
}

// A second engine over the same cache directory finds the compiled code
// there: it writes no cache file, new or replaced.
func TestCompilationCacheIsReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	wasm := goPlugin(t, "sandbox/testdata/echo-go")
	first := cacheFiles(t, dir)
	if len(first) != 0 {
		t.Fatalf("fresh cache has files: %v", first)
	}
	for round := range 2 {
		e, err := sandbox.NewEngine(sandbox.EngineConfig{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.Load(context.Background(), sandbox.Spec{Name: "echo", Wasm: wasm})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Call(context.Background(), toolCall("echo", `{"text":"x"}`)); err != nil {
			t.Fatal(err)
		}
		p.Close(context.Background())
		e.Close(context.Background())
		files := cacheFiles(t, dir)
		if round == 0 {
			if len(files) == 0 {
				t.Fatal("the first engine left nothing in the cache")
			}
			first = files
			continue
		}
		if len(files) != len(first) {
			t.Fatalf("second engine changed the cache: %d files, then %d", len(first), len(files))
		}
		for path, id := range first {
			if files[path] != id {
				t.Fatalf("second engine rewrote %s: it compiled again", path)
			}
		}
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir mode %v (%v), want 0700", info.Mode().Perm(), err)
	}
}

// cacheFiles maps each file under dir to its inode and modification time,
// which change when a file is written anew.
func cacheFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		ino := uint64(0)
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino
		}
		out[path] = fmt.Sprintf("%v/%d", info.ModTime(), ino)
		return nil
	})
	return out
}

func TestCacheDirMustBePrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := sandbox.NewEngine(sandbox.EngineConfig{CacheDir: dir})
	if err == nil || !strings.Contains(err.Error(), "writable by other users") {
		t.Fatalf("world-writable cache dir: %v", err)
	}
}

// A capability called while the plugin describes itself is refused with
// the reason: ABI v1 runs moat_describe with nothing granted, whatever the
// plugin is granted later.
func TestCapabilityWhileDescribingSaysWhy(t *testing.T) {
	host := &recordingHost{}
	load(t, newEngine(t), sandbox.Spec{Name: "describe_caps", Wasm: wat(t, "describe_caps"), Host: host})
	if got := host.text(); !strings.Contains(got, "moat.config_get: plugin \"describe_caps\" called it while describing itself") || !strings.Contains(got, "call it from moat_call instead") {
		t.Fatalf("the message staged for config_get during moat_describe:\n%s", got)
	}
}
