package sandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/sandbox"
)

// TestMounts runs the file system cases on one engine, so that the probe
// plugin is compiled once.
func TestMounts(t *testing.T) {
	e := newEngine(t)
	for name, test := range map[string]func(*testing.T, *sandbox.Engine){
		"read-only mount reads and refuses writes": testReadOnlyMountReadsAndRefusesWrites,
		"writable mount writes":                    testWritableMountWrites,
		"no way out":                               testMountsHaveNoWayOut,
		"no mount, no files":                       testNoMountNoFiles,
		"a missing folder is named":                testGrantNamesAMissingFolder,
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
