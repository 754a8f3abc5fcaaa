package plugin

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// ReadModule refuses what is not a regular file, or is too large, at once,
// with an error naming the file, what it is and the fix; it reads a good
// module whole.
func TestReadModuleRefusesWhatIsNotAModule(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.wasm")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.wasm")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "dir.wasm")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock.wasm")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	big := filepath.Join(dir, "big.wasm")
	if err := os.WriteFile(big, make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.wasm")
	if err := os.WriteFile(good, make([]byte, 1024), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		path string
		says []string
	}{
		{fifo, []string{fifo, "named pipe (FIFO)", "not a regular file", "move it out of plugins_dir"}},
		{zero, []string{zero, "character device", "not a regular file"}},
		{sub, []string{sub, "directory", "not a regular file"}},
		{sock, []string{sock, "socket", "not a regular file"}},
		{big, []string{big, "is 2048 bytes", "1024 bytes over max_module_size (1KiB)", "raise max_module_size"}},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := ReadModule(c.path, 1024)
				done <- err
			}()
			select {
			case err := <-done:
				var me *ModuleError
				if !errors.As(err, &me) {
					t.Fatalf("error %v (%T); want a *ModuleError", err, err)
				}
				for _, want := range c.says {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%q does not say %q", err, want)
					}
				}
			case <-time.After(30 * time.Second):
				t.Fatal("ReadModule did not return within 30s: it blocked on the file")
			}
		})
	}
	b, err := ReadModule(good, 1024)
	if err != nil || len(b) != 1024 {
		t.Fatalf("a module of exactly max_module_size: %d bytes, %v; want all 1024", len(b), err)
	}
}

// A named pipe called x.wasm beside a good plugin blocked Load for ever,
// and a link to /dev/zero was read until memory ran out. Now each is one
// load error naming the file, and the good plugin loads.
func TestLoadSkipsFilesThatAreNotModules(t *testing.T) {
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/echo.wat"), dir, "echo")
	if err := syscall.Mkfifo(filepath.Join(dir, "x.wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.wasm")); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(nil, "test", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetPluginsDir(dir)
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	type loaded struct {
		reg  *Registry
		errs []error
	}
	done := make(chan loaded, 1)
	go func() {
		reg, errs := Load(context.Background(), cfg, engine, Options{})
		done <- loaded{reg, errs}
	}()
	var got loaded
	select {
	case got = <-done:
		t.Cleanup(func() { got.reg.Close(context.Background()); engine.Close(context.Background()) })
	case <-time.After(60 * time.Second):
		t.Fatal("Load did not return within a minute: a bad file blocked it")
	}
	if names := toolNames(got.reg); len(names) != 1 || names[0] != "echo_echo" {
		t.Fatalf("tools %v; want echo_echo served beside the bad files", names)
	}
	var msgs []string
	for _, err := range got.errs {
		msgs = append(msgs, err.Error())
	}
	msg := strings.Join(msgs, "\n")
	for _, want := range []string{`plugin "x"`, "x.wasm is a named pipe (FIFO)", `plugin "zero"`, "zero.wasm is a character device"} {
		if !strings.Contains(msg, want) {
			t.Errorf("load errors do not say %q:\n%s", want, msg)
		}
	}
}
