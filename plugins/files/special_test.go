//go:build !wasip1

package main

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
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// specialTree makes an allowed directory holding a FIFO, a unix socket and
// two text files, one in a subdirectory. The FIFO has no writer: opening it
// for reading waits for one, so a tool that opens it without looking first
// never returns.
func specialTree(t *testing.T) (roots, string) {
	t.Helper()
	r, dir := tree(t, map[string]string{"a.txt": "hello there", "sub/b.txt": "hello again"})
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Skipf("no unix socket in %s: %v", dir, err)
	}
	t.Cleanup(func() { l.Close() })
	return r, dir
}

// bounded runs f, failing the test if it has not returned after 30s. The
// FIFO is then opened at both ends and closed, again and again until f
// returns, which releases whatever waits on it.
func bounded(t *testing.T, dir, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
		return
	case <-time.After(30 * time.Second):
	}
	for {
		if p, err := os.OpenFile(filepath.Join(dir, "pipe"), os.O_RDWR, 0); err == nil {
			p.Close()
		}
		select {
		case <-done:
			t.Fatalf("%s blocked on the FIFO", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// A FIFO or a socket in a folder is listed and found for what it is, the
// rest of the folder still listed and searched, and reading, editing or
// writing one answers an error that says why.
func TestSpecialFilesAreListedNotOpened(t *testing.T) {
	r, dir := specialTree(t)
	bounded(t, dir, "the tools", func() {
		l, err := listDirectory(r, dir)
		got, _ := json.Marshal(l.Entries)
		if want := `[{"name":"a.txt","type":"file","size":11},{"name":"pipe","type":"fifo"},{"name":"sock","type":"socket"},{"name":"sub","type":"directory"}]`; err != nil || string(got) != want {
			t.Errorf("list_directory: %s, %v; want %s", got, err, want)
		}
		f, err := searchFiles(r, dir, "", "hello", 0)
		if err != nil || len(f.Matches) != 2 {
			t.Errorf("search_files for content: %+v, %v; want the two text files", f, err)
		}
		f, err = searchFiles(r, dir, "*", "", 0)
		kinds := map[string]string{}
		for _, m := range f.Matches {
			kinds[filepath.Base(m.Path)] = m.Type
		}
		if err != nil || kinds["pipe"] != "fifo" || kinds["sock"] != "socket" || kinds["a.txt"] != "file" {
			t.Errorf("search_files by name: %v, %v", kinds, err)
		}
		for _, name := range []string{"pipe", "sock"} {
			p := filepath.Join(dir, name)
			_, err := readFile(r, p, 0, 0)
			wantErr(t, "read_file of "+name, err, "this tool reads regular files only")
			_, err = editFile(r, p, "a", "b", false)
			wantErr(t, "edit_file of "+name, err, "this tool edits regular files only")
			_, err = writeFile(r, p, "x")
			wantErr(t, "write_file of "+name, err, "this tool writes regular files only")
		}
	})
}

// The same in a real sandbox, where the host refuses to open a special
// file and WASI cannot tell a FIFO from a socket: both are "special".
func TestSpecialFilesInTheSandbox(t *testing.T) {
	_, dir := specialTree(t)
	e, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	p, err := e.Load(context.Background(), sandbox.Spec{Name: "files", Wasm: testplugin.GoPlugin(t, "plugins/files")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.Grant(nil, []sandbox.Mount{{HostPath: dir, GuestPath: "/data", Writable: true}}); err != nil {
		t.Fatal(err)
	}
	call := func(tool, args string) (string, bool) {
		t.Helper()
		var out []byte
		var err error
		bounded(t, dir, tool, func() {
			out, err = p.Call(context.Background(), []byte(`{"method":"tools/call","params":{"name":"`+tool+`","arguments":`+args+`}}`))
		})
		if err != nil {
			t.Fatalf("%s %s: %v", tool, args, err)
		}
		var res abi.CallToolResult
		if err := json.Unmarshal(out, &res); err != nil || len(res.Content) == 0 {
			t.Fatalf("%s %s: bad result %s (%v)", tool, args, out, err)
		}
		return res.Content[0].Text, res.IsError
	}
	text, failed := call("list_directory", `{"path":"/data"}`)
	if want := `{"path":"/data","entries":[{"name":"a.txt","type":"file","size":11},{"name":"pipe","type":"special"},{"name":"sock","type":"special"},{"name":"sub","type":"directory"}]}`; failed || text != want {
		t.Errorf("list_directory: %s (failed %v); want %s", text, failed, want)
	}
	text, failed = call("search_files", `{"path":"/data","content":"hello"}`)
	if failed || strings.Count(text, `"line":1`) != 2 {
		t.Errorf("search_files for content: %s (failed %v); want the two text files", text, failed)
	}
	text, failed = call("search_files", `{"path":"/data","pattern":"*"}`)
	if failed || !strings.Contains(text, `{"path":"/data/pipe","type":"special"}`) || !strings.Contains(text, `{"path":"/data/sub/b.txt","type":"file"}`) {
		t.Errorf("search_files by name: %s (failed %v)", text, failed)
	}
	for _, c := range []struct{ tool, args, want string }{
		{"read_file", `{"path":"/data/pipe"}`, "this tool reads regular files only"},
		{"read_file", `{"path":"/data/sock"}`, "this tool reads regular files only"},
		{"edit_file", `{"path":"/data/pipe","old_text":"a","new_text":"b"}`, "this tool edits regular files only"},
		{"write_file", `{"path":"/data/sock","content":"x"}`, "this tool writes regular files only"},
		{"get_file_info", `{"path":"/data/pipe"}`, `"type":"special"`},
	} {
		text, failed := call(c.tool, c.args)
		if !strings.Contains(text, c.want) || failed != (c.tool != "get_file_info") {
			t.Errorf("%s %s: %s (failed %v); want %q", c.tool, c.args, text, failed, c.want)
		}
	}
	if text, failed := call("read_file", `{"path":"/data/a.txt"}`); failed || text != "hello there" {
		t.Errorf("read_file after the refusals: %s (failed %v)", text, failed)
	}
}
