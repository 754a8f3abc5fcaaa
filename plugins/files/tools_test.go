package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

// tree makes an allowed directory holding files (path → content; a path
// ending in / is an empty directory) and returns the roots with it.
func tree(t *testing.T, files map[string]string) (roots, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return roots{dir}, dir
}

func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %v; want one containing %q", what, err, want)
	}
}

func TestResolve(t *testing.T) {
	r := roots{"/data", "/docs"}
	for in, want := range map[string]string{
		"/data":            "/data",
		"/data/a/./b/":     "/data/a/b",
		"/docs/x.md":       "/docs/x.md",
		"notes/today.md":   "/data/notes/today.md",
		"//data//deep///f": "/data/deep/f",
	} {
		if got, err := r.resolve(in); err != nil || got != want {
			t.Errorf("resolve(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":                    "path is empty",
		"/data/../etc/passwd": `contains ".."`,
		"/data/a/../b":        `contains ".."`,
		"..":                  `contains ".."`,
		"/etc/passwd":         `path "/etc/passwd" is outside the allowed directories (/data, /docs)`,
		"/database/x":         "outside the allowed directories",
		"/":                   "outside the allowed directories",
		"/data/a\x00b":        "NUL byte",
	} {
		_, err := r.resolve(in)
		wantErr(t, "resolve("+in+")", err, want)
	}
}

func TestListDirectory(t *testing.T) {
	r, dir := tree(t, map[string]string{"b.txt": "hello", "a/": "", "c/d.txt": "x"})
	l, err := listDirectory(r, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(l.Entries)
	if want := `[{"name":"a","type":"directory"},{"name":"b.txt","type":"file","size":5},{"name":"c","type":"directory"}]`; string(got) != want {
		t.Errorf("entries = %s; want %s", got, want)
	}
	_, err = listDirectory(r, dir+"/missing")
	wantErr(t, "a missing directory", err, "it does not exist")
}

func TestReadFile(t *testing.T) {
	r, dir := tree(t, map[string]string{"poem.txt": "one\ntwo\nthree\nfour\n", "bin": "\x00\x01", "big.txt": strings.Repeat("x", maxReadBytes+1)})
	for _, c := range []struct {
		start, end int
		want, err  string
	}{
		{0, 0, "one\ntwo\nthree\nfour\n", ""},
		{2, 3, "two\nthree\n", ""},
		{3, 0, "three\nfour\n", ""},
		{0, 1, "one\n", ""},
		{4, 99, "four\n", ""},
		{5, 0, "", "start_line 5 is past the end; the file has 4 lines"},
		{3, 2, "", "make no range"},
	} {
		got, err := readFile(r, dir+"/poem.txt", c.start, c.end)
		if c.err != "" {
			wantErr(t, "a bad range", err, c.err)
		} else if err != nil || got != c.want {
			t.Errorf("lines %d-%d = %q, %v; want %q", c.start, c.end, got, err, c.want)
		}
	}
	_, err := readFile(r, dir+"/bin", 0, 0)
	wantErr(t, "a binary file", err, "it looks binary")
	_, err = readFile(r, dir+"/big.txt", 0, 0)
	wantErr(t, "a large file", err, "read it in parts with start_line and end_line")
	_, err = readFile(r, dir+"/big.txt", 1, 1)
	wantErr(t, "a line over the bound", err, "ask for fewer lines (line 1 is where that limit falls)")
	_, err = readFile(r, dir, 0, 0)
	wantErr(t, "a directory", err, "it is a directory; use list_directory")
}

func TestSearchFiles(t *testing.T) {
	r, dir := tree(t, map[string]string{
		"notes/todo.md":  "Buy milk\nCall Ana about the TODO list\n",
		"notes/done.md":  "Nothing\n",
		"src/main.go":    "package main // todo: tests\n",
		"src/data.bin":   "todo\x00",
		"README.md":      "read me",
		"notes/old/a.md": "todo",
		"empty-dir/":     "",
	})
	rel := func(f Found) string {
		var s []string
		for _, m := range f.Matches {
			e := strings.TrimPrefix(m.Path, dir+"/")
			if m.Line > 0 {
				e += ":" + string(rune('0'+m.Line)) + ":" + m.Text
			}
			s = append(s, e)
		}
		return strings.Join(s, " | ")
	}
	for _, c := range []struct {
		pattern, content string
		limit            int
		want             string
		truncated        bool
	}{
		{"*.md", "", 0, "README.md | notes/done.md | notes/old/a.md | notes/todo.md", false},
		{"notes/*.md", "", 0, "notes/done.md | notes/todo.md", false},
		{"*dir", "", 0, "empty-dir", false},
		{"", "TODO", 0, "notes/old/a.md:1:todo | notes/todo.md:2:Call Ana about the TODO list | src/main.go:1:package main // todo: tests", false},
		{"*.md", "todo", 0, "notes/old/a.md:1:todo | notes/todo.md:2:Call Ana about the TODO list", false},
		{"*.md", "", 2, "README.md | notes/done.md", true},
	} {
		f, err := searchFiles(r, dir, c.pattern, c.content, c.limit)
		if err != nil || rel(f) != c.want || f.Truncated != c.truncated {
			t.Errorf("search %q %q (max %d) = %q truncated=%v, %v; want %q truncated=%v", c.pattern, c.content, c.limit, rel(f), f.Truncated, err, c.want, c.truncated)
		}
	}
	// Without a path, every allowed directory is searched.
	other := t.TempDir()
	if err := os.WriteFile(other+"/more.md", []byte("todo too"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := searchFiles(append(r, other), "", "*.md", "todo", 0)
	if err != nil || len(f.Matches) != 3 || f.Matches[2].Path != other+"/more.md" {
		t.Errorf("search of every directory: %+v, %v", f, err)
	}
	f, err = searchFiles(append(r, other), "", "*.md", "", 4)
	if err != nil || len(f.Matches) != 4 || !f.Truncated {
		t.Errorf("search of every directory, limited to 4: %+v, %v", f, err)
	}
	_, err = searchFiles(r, dir, "", "", 0)
	wantErr(t, "nothing to find", err, "pass pattern")
	_, err = searchFiles(r, dir, "[", "", 0)
	wantErr(t, "a bad glob", err, "is not a valid glob")
	_, err = searchFiles(r, dir, "*", "", 5000)
	wantErr(t, "too many results", err, "max_results is 5000; use 1 to 1000")
}

func TestWriteFile(t *testing.T) {
	r, dir := tree(t, map[string]string{"old.txt": "old"})
	w, err := writeFile(r, dir+"/new/deep/file.txt", "fresh")
	if err != nil || !w.Created || w.Bytes != 5 {
		t.Fatalf("writing a new file: %+v, %v", w, err)
	}
	if b, _ := os.ReadFile(dir + "/new/deep/file.txt"); string(b) != "fresh" {
		t.Fatalf("the new file holds %q", b)
	}
	w, err = writeFile(r, dir+"/old.txt", "replaced")
	if b, _ := os.ReadFile(dir + "/old.txt"); err != nil || w.Created || string(b) != "replaced" {
		t.Fatalf("replacing a file: %+v, %v, %q", w, err, b)
	}
	_, err = writeFile(r, dir+"/new", "x")
	wantErr(t, "over a directory", err, "it is a directory")
	_, err = writeFile(r, dir, "x")
	wantErr(t, "over the root", err, "is an allowed directory itself")
	_, err = writeFile(r, dir+"/../escape.txt", "x")
	wantErr(t, "with ..", err, `contains ".."`)
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape.txt")); err == nil {
		t.Fatal("a write with .. landed outside the root")
	}
}

// What the host's read-only mount answers a write becomes a message that
// names the grant to change (the end-to-end test writes to a real one).
func TestReadOnlyErrorNamesTheGrant(t *testing.T) {
	err := fsError("writing /docs/x.txt", &fs.PathError{Op: "open", Path: "/docs/x.txt", Err: syscall.EROFS})
	wantErr(t, "EROFS", err, "writing /docs/x.txt: the mount is read-only (read-only file system); an operator allows writes with mode: rw on its mount in plugins.files.grants.fs")
	err = fsError("writing /data/x.txt", &fs.PathError{Op: "open", Path: "/data/x.txt", Err: syscall.EACCES})
	wantErr(t, "EACCES", err, "permission denied: the host's file permissions refuse it, or the mount is read-only (then an operator allows writes with mode: rw on it in plugins.files.grants.fs)")
	err = fsError("reading /gone/x", &fs.PathError{Op: "open", Path: "/gone/x", Err: syscall.EBADF})
	wantErr(t, "no mount", err, "the path is in no mounted directory; an operator mounts folders in plugins.files.grants.fs")
}

func TestEditFile(t *testing.T) {
	r, dir := tree(t, map[string]string{"cfg.ini": "[a]\nport = 80\n[b]\nport = 80\nname = x\n"})
	p := dir + "/cfg.ini"
	e, err := editFile(r, p, "name = x", "name = y", false)
	if b, _ := os.ReadFile(p); err != nil || e.Replacements != 1 || e.Lines[0] != 5 || !strings.HasSuffix(string(b), "name = y\n") {
		t.Fatalf("a unique edit: %+v, %v\n%s", e, err, b)
	}
	_, err = editFile(r, p, "port = 80", "port = 8080", false)
	wantErr(t, "an ambiguous edit", err, "old_text occurs 2 times (at lines 2, 4); include more of the surrounding text")
	_, err = editFile(r, p, "port = 443", "port = 8443", false)
	wantErr(t, "a missing text", err, "old_text was not found; read the file and copy the text exactly")
	e, err = editFile(r, p, "port = 80", "port = 8080", true)
	if b, _ := os.ReadFile(p); err != nil || e.Replacements != 2 || strings.Count(string(b), "port = 8080") != 2 {
		t.Fatalf("replace_all: %+v, %v\n%s", e, err, b)
	}
	_, err = editFile(r, p, "same", "same", false)
	wantErr(t, "a no-op", err, "nothing to change")
}

func TestSymlinksAreNotFollowed(t *testing.T) {
	r, dir := tree(t, map[string]string{"in.txt": "inside"})
	outside := t.TempDir()
	if err := os.WriteFile(outside+"/secret.txt", []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, dir+"/out"); err != nil {
		t.Fatal(err)
	}
	_, err := readFile(r, dir+"/out/secret.txt", 0, 0)
	wantErr(t, "reading through a link", err, "goes through the symbolic link")
	_, err = writeFile(r, dir+"/out/new.txt", "x")
	wantErr(t, "writing through a link", err, "goes through the symbolic link")
	if info, err := fileInfo(r, dir+"/out"); err != nil || info.Type != "symlink" {
		t.Errorf("info of the link itself: %+v, %v", info, err)
	}
	f, err := searchFiles(r, dir, "", "secret", 0)
	if err != nil || len(f.Matches) != 0 {
		t.Errorf("search followed the link: %+v, %v", f, err)
	}
}

func TestFileInfo(t *testing.T) {
	r, dir := tree(t, map[string]string{"a.txt": "12345"})
	info, err := fileInfo(r, dir+"/a.txt")
	if err != nil || info.Type != "file" || info.Size != 5 || info.Permissions != "-rw-r--r--" || info.Modified == "" {
		t.Fatalf("fileInfo = %+v, %v", info, err)
	}
	if info, err := fileInfo(r, dir); err != nil || info.Type != "directory" {
		t.Fatalf("fileInfo of the root = %+v, %v", info, err)
	}
}

// The tools as registered: annotations that say which tools write, and,
// outside a moat host (no /data, /docs or /workspace), an error naming
// the grant.
func TestRegisteredTools(t *testing.T) {
	d := moat.Describe()
	writes := map[string]bool{"write_file": true, "edit_file": true}
	var names []string
	for _, tool := range d.Tools {
		names = append(names, tool.Name)
		a := tool.Annotations
		if a.ReadOnlyHint == writes[tool.Name] || writes[tool.Name] && !*a.DestructiveHint {
			t.Errorf("%s: annotations %+v", tool.Name, a)
		}
		if !json.Valid(tool.InputSchema) || !json.Valid(tool.OutputSchema) && tool.OutputSchema != nil {
			t.Errorf("%s: invalid schema", tool.Name)
		}
	}
	if d.Tools[5].Annotations.IdempotentHint || !d.Tools[4].Annotations.IdempotentHint {
		t.Error("write_file is idempotent, edit_file is not")
	}
	want := "list_allowed_directories,list_directory,read_file,search_files,write_file,edit_file,get_file_info"
	if strings.Join(names, ",") != want || len(d.Capabilities.FS) != 3 || d.Capabilities.FS[0] != (abi.FSCapability{Mount: "/data", Mode: "rw"}) {
		t.Fatalf("tools %v, capabilities %+v", names, d.Capabilities)
	}
	if r, err := allowed(); err == nil {
		t.Logf("this machine has %s, which the plugin takes for its mounts", r)
		return
	}
	var res abi.CallToolResult
	out := moat.Handle([]byte(`{"method":"tools/call","params":{"name":"list_allowed_directories","arguments":{}}}`))
	if err := json.Unmarshal(out, &res); err != nil || !res.IsError || !strings.Contains(res.Content[0].Text, "an operator mounts one at /data, /docs or /workspace in plugins.files.grants.fs") {
		t.Fatalf("without mounts: %s", out)
	}
}
