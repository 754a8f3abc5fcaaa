package sandbox_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/sandbox"
)

// TestMounts runs the file system cases on one engine, so that the probe
// plugin is compiled once.
func TestMounts(t *testing.T) {
	e := newEngine(t)
	for name, test := range map[string]func(*testing.T, *sandbox.Engine){
		"read-only mount reads and refuses writes":   testReadOnlyMountReadsAndRefusesWrites,
		"writable mount writes":                      testWritableMountWrites,
		"no way out":                                 testMountsHaveNoWayOut,
		"no mount, no files":                         testNoMountNoFiles,
		"a missing folder is named":                  testGrantNamesAMissingFolder,
		"special files are refused, never waited on": testSpecialFilesAreRefused,
		"devices are refused":                        testDevicesAreRefused,
	} {
		t.Run(name, func(t *testing.T) { test(t, e) })
	}
}

// fsTree is a host folder to mount, holding hello.txt and two links that
// lead out of it, beside a folder outside it holding secret.txt.
type fsTree struct {
	mount, outside string
}

func newFSTree(t *testing.T) fsTree {
	t.Helper()
	dir := t.TempDir()
	tr := fsTree{mount: filepath.Join(dir, "mount"), outside: filepath.Join(dir, "outside")}
	for _, d := range []string{tr.mount, tr.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, data := range map[string]string{
		filepath.Join(tr.mount, "hello.txt"):    "hello from the mount",
		filepath.Join(tr.outside, "secret.txt"): "top secret",
	} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Links an operator (or an earlier, compromised run) left in the folder.
	for link, target := range map[string]string{"up": "../outside", "abs": tr.outside} {
		if err := os.Symlink(target, filepath.Join(tr.mount, link)); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// fsProbe loads the fsprobe plugin with mounts.
func fsProbe(t *testing.T, e *sandbox.Engine, mounts ...sandbox.Mount) *sandbox.Plugin {
	t.Helper()
	p := load(t, e, sandbox.Spec{Name: "fsprobe", Wasm: goPlugin(t, "sandbox/testdata/fsprobe")})
	if err := p.Grant(nil, mounts); err != nil {
		t.Fatal(err)
	}
	return p
}

// fsOp runs one operation and returns its text and whether it failed.
func fsOp(t *testing.T, p *sandbox.Plugin, args map[string]string) (string, bool) {
	t.Helper()
	a, _ := json.Marshal(args)
	out, err := p.Call(context.Background(), toolCall("fs", string(a)))
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	var res abi.CallToolResult
	if err := json.Unmarshal(out, &res); err != nil || len(res.Content) != 1 {
		t.Fatalf("%v: bad result %s (%v)", args, out, err)
	}
	return res.Content[0].Text, res.IsError
}

func testReadOnlyMountReadsAndRefusesWrites(t *testing.T, e *sandbox.Engine) {
	tr := newFSTree(t)
	p := fsProbe(t, e, sandbox.Mount{HostPath: tr.mount, GuestPath: "/data"})
	if text, failed := fsOp(t, p, map[string]string{"op": "read", "path": "/data/hello.txt"}); failed || text != "hello from the mount" {
		t.Fatalf("read: %q (failed %v)", text, failed)
	}
	if text, failed := fsOp(t, p, map[string]string{"op": "list", "path": "/data"}); failed || text != "abs,hello.txt,up" {
		t.Fatalf("list: %q (failed %v)", text, failed)
	}
	for _, args := range []map[string]string{
		{"op": "write", "path": "/data/new.txt", "data": "x"},
		{"op": "write", "path": "/data/hello.txt", "data": "overwritten"},
		{"op": "mkdir", "path": "/data/sub"},
		{"op": "remove", "path": "/data/hello.txt"},
		{"op": "symlink", "path": "/data/link", "target": "/"},
	} {
		text, failed := fsOp(t, p, args)
		if !failed || !strings.Contains(strings.ToLower(text), "read-only file system") {
			t.Errorf("%v on a read-only mount: %q (failed %v); want a read-only file system error", args, text, failed)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(tr.mount, "hello.txt")); string(b) != "hello from the mount" {
		t.Fatalf("hello.txt changed to %q", b)
	}
	if _, err := os.Stat(filepath.Join(tr.mount, "new.txt")); !os.IsNotExist(err) {
		t.Fatalf("new.txt exists on the host after a refused write: %v", err)
	}
}

func testWritableMountWrites(t *testing.T, e *sandbox.Engine) {
	tr := newFSTree(t)
	p := fsProbe(t, e, sandbox.Mount{HostPath: tr.mount, GuestPath: "/data", Writable: true})
	for _, args := range []map[string]string{
		{"op": "mkdir", "path": "/data/notes"},
		{"op": "write", "path": "/data/notes/a.txt", "data": "written by the plugin"},
	} {
		if text, failed := fsOp(t, p, args); failed {
			t.Fatalf("%v: %s", args, text)
		}
	}
	if b, err := os.ReadFile(filepath.Join(tr.mount, "notes", "a.txt")); err != nil || string(b) != "written by the plugin" {
		t.Fatalf("host file: %q, %v", b, err)
	}
	if text, failed := fsOp(t, p, map[string]string{"op": "read", "path": "/data/notes/a.txt"}); failed || text != "written by the plugin" {
		t.Fatalf("read back: %q (failed %v)", text, failed)
	}
}

// Whatever path a plugin names, and whatever link it finds or makes, it
// reads nothing outside its mounts, read-only or read-write.
func testMountsHaveNoWayOut(t *testing.T, e *sandbox.Engine) {
	for _, writable := range []bool{false, true} {
		tr := newFSTree(t)
		p := fsProbe(t, e, sandbox.Mount{HostPath: tr.mount, GuestPath: "/data", Writable: writable})
		escapes := []map[string]string{
			{"op": "read", "path": "/data/../outside/secret.txt"},
			{"op": "read", "path": "/data/../../" + tr.outside + "/secret.txt"},
			{"op": "read", "path": tr.outside + "/secret.txt"},
			{"op": "read", "path": "/data/up/secret.txt"},
			{"op": "read", "path": "/data/abs/secret.txt"},
			{"op": "list", "path": "/data/up"},
			{"op": "list", "path": "/"},
		}
		if writable {
			// Links the plugin makes itself, then follows.
			for link, target := range map[string]string{"mine-abs": tr.outside, "mine-up": "../outside", "mine-root": "/"} {
				if text, failed := fsOp(t, p, map[string]string{"op": "symlink", "path": "/data/" + link, "target": target}); failed {
					t.Fatalf("making link %s: %s", link, text)
				}
			}
			escapes = append(escapes,
				map[string]string{"op": "read", "path": "/data/mine-abs/secret.txt"},
				map[string]string{"op": "read", "path": "/data/mine-up/secret.txt"},
				map[string]string{"op": "read", "path": "/data/mine-root" + tr.outside + "/secret.txt"},
				map[string]string{"op": "write", "path": "/data/mine-abs/planted.txt", "data": "x"},
				map[string]string{"op": "write", "path": "/data/up/planted.txt", "data": "x"},
			)
		}
		for _, args := range escapes {
			text, failed := fsOp(t, p, args)
			if !failed || strings.Contains(text, "top secret") {
				t.Errorf("writable=%v %v: %q (failed %v); want it refused", writable, args, text, failed)
			}
		}
		if _, err := os.Stat(filepath.Join(tr.outside, "planted.txt")); !os.IsNotExist(err) {
			t.Fatalf("a plugin wrote outside its mount: %v", err)
		}
		// Links that stay inside the folder still work.
		if writable {
			if text, failed := fsOp(t, p, map[string]string{"op": "symlink", "path": "/data/greeting", "target": "hello.txt"}); failed {
				t.Fatal(text)
			}
			if text, failed := fsOp(t, p, map[string]string{"op": "read", "path": "/data/greeting"}); failed || text != "hello from the mount" {
				t.Fatalf("a link inside the mount: %q (failed %v)", text, failed)
			}
		}
	}
}

// Without Grant, or granted no mount, a plugin has no file system.
func testNoMountNoFiles(t *testing.T, e *sandbox.Engine) {
	tr := newFSTree(t)
	p := fsProbe(t, e)
	if text, failed := fsOp(t, p, map[string]string{"op": "read", "path": tr.mount + "/hello.txt"}); !failed {
		t.Fatalf("read with no mount: %q", text)
	}
}

func testGrantNamesAMissingFolder(t *testing.T, e *sandbox.Engine) {
	p := load(t, e, sandbox.Spec{Name: "fsprobe", Wasm: goPlugin(t, "sandbox/testdata/fsprobe")})
	err := p.Grant(nil, []sandbox.Mount{{HostPath: filepath.Join(t.TempDir(), "gone"), GuestPath: "/data"}})
	if err == nil || !strings.Contains(err.Error(), "gone") || !strings.Contains(err.Error(), "grants.fs") {
		t.Fatalf("error %v; want one naming the folder and grants.fs", err)
	}
}

// fsOpBounded runs one operation under a two-second deadline and waits for
// it far longer than that; if it has not ended by then, the host is stuck
// in a blocking open or read: unstick runs (so the test can end) and the
// test fails.
func fsOpBounded(t *testing.T, p *sandbox.Plugin, args map[string]string, unstick func()) (string, bool) {
	t.Helper()
	a, _ := json.Marshal(args)
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out, err := p.Call(ctx, toolCall("fs", string(a)))
		done <- result{out, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		unstick()
		r = <-done
		t.Fatalf("%v: the call outlived its 2s deadline by far: the host blocked in the file system", args)
	}
	if r.err != nil {
		t.Fatalf("%v: %v", args, r.err)
	}
	var res abi.CallToolResult
	if err := json.Unmarshal(r.out, &res); err != nil || len(res.Content) != 1 {
		t.Fatalf("%v: bad result %s (%v)", args, r.out, err)
	}
	return res.Content[0].Text, res.IsError
}

// A FIFO or socket in a mount is refused as not supported, at once: opening
// or reading one would block the host until another process wrote to it,
// past the call's deadline. Listing and stat still show it for what it is.
func testSpecialFilesAreRefused(t *testing.T, e *sandbox.Engine) {
	for _, writable := range []bool{false, true} {
		tr := newFSTree(t)
		fifo := filepath.Join(tr.mount, "fifo")
		if err := syscall.Mkfifo(fifo, 0o666); err != nil {
			t.Fatal(err)
		}
		// A socket path must be short; the listener's file stays in the mount.
		sock := filepath.Join(tr.mount, "sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Skipf("no unix socket at %s: %v", sock, err)
		}
		t.Cleanup(func() { l.Close() })
		if err := os.Symlink("fifo", filepath.Join(tr.mount, "fifo-link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/zero", filepath.Join(tr.mount, "zero")); err != nil {
			t.Fatal(err)
		}
		// unstick opens the FIFO at both ends and closes it, which releases
		// a reader or writer blocked on it.
		unstick := func() {
			if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
				f.Close()
			}
		}
		p := fsProbe(t, e, sandbox.Mount{HostPath: tr.mount, GuestPath: "/data", Writable: writable})
		refused := []map[string]string{
			{"op": "read", "path": "/data/fifo"},
			{"op": "read", "path": "/data/fifo-link"},
			{"op": "read", "path": "/data/sock"},
		}
		if writable {
			refused = append(refused,
				map[string]string{"op": "write", "path": "/data/fifo", "data": "x"},
				map[string]string{"op": "write", "path": "/data/sock", "data": "x"})
		}
		for _, args := range refused {
			text, failed := fsOpBounded(t, p, args, unstick)
			if !failed || !strings.Contains(strings.ToLower(text), "not supported") {
				t.Errorf("writable=%v %v: %q (failed %v); want a not supported error", writable, args, text, failed)
			}
		}
		// A link to a device outside the mount is refused like any way out.
		if text, failed := fsOpBounded(t, p, map[string]string{"op": "read", "path": "/data/zero"}, unstick); !failed {
			t.Errorf("writable=%v: read through a link to /dev/zero: %.40q", writable, text)
		}
		// WASI preview 1 names no FIFO, and wazero no socket reached by
		// path: both are of unknown type to the plugin, never regular files.
		for path, kind := range map[string]string{"/data/fifo": "special", "/data/sock": "special", "/data/fifo-link": "special", "/data/hello.txt": "file"} {
			if text, failed := fsOpBounded(t, p, map[string]string{"op": "stat", "path": path}, unstick); failed || text != kind {
				t.Errorf("writable=%v: stat %s: %q (failed %v); want %s", writable, path, text, failed, kind)
			}
		}
		if text, failed := fsOpBounded(t, p, map[string]string{"op": "list", "path": "/data"}, unstick); failed || text != "abs,fifo,fifo-link,hello.txt,sock,up,zero" {
			t.Errorf("writable=%v: list: %q (failed %v)", writable, text, failed)
		}
		// The plugin is still whole, and its next call works.
		if text, failed := fsOpBounded(t, p, map[string]string{"op": "read", "path": "/data/hello.txt"}, unstick); failed || text != "hello from the mount" {
			t.Fatalf("writable=%v: read after the refusals: %q (failed %v)", writable, text, failed)
		}
	}
}

// A device node cannot be made without privileges, so this mounts the
// host's /dev itself, as an operator might by mistake: its devices are
// refused (reading /dev/zero would never end, a terminal would block), and
// its listing still works.
func testDevicesAreRefused(t *testing.T, e *sandbox.Engine) {
	for _, dev := range []string{"/dev/null", "/dev/zero"} {
		if fi, err := os.Stat(dev); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Skipf("%s is not a character device here (%v)", dev, err)
		}
	}
	p := fsProbe(t, e, sandbox.Mount{HostPath: "/dev", GuestPath: "/dev"})
	unstick := func() {}
	for _, path := range []string{"/dev/null", "/dev/zero"} {
		text, failed := fsOpBounded(t, p, map[string]string{"op": "read", "path": path}, unstick)
		if !failed || !strings.Contains(strings.ToLower(text), "not supported") {
			t.Errorf("read %s: %.60q (failed %v); want a not supported error", path, text, failed)
		}
		if text, failed := fsOpBounded(t, p, map[string]string{"op": "stat", "path": path}, unstick); failed || text != "device" {
			t.Errorf("stat %s: %q (failed %v); want device", path, text, failed)
		}
	}
	if text, failed := fsOpBounded(t, p, map[string]string{"op": "list", "path": "/dev"}, unstick); failed || !strings.Contains(","+text+",", ",null,") {
		t.Errorf("list /dev: %.200q (failed %v); want it to name null", text, failed)
	}
}
