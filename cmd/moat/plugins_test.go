package main_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The bundled fetch, memory and files plugins, run by the built moat and
// called with the go-sdk client, each under the grants a user would write.

// bundled copies the built plugin file into dir as NAME.wasm.
func bundled(t testing.TB, file, dir, name string) {
	t.Helper()
	copyFile(t, filepath.Join(filepath.Dir(moatBin), file+".wasm"), filepath.Join(dir, name+".wasm"))
}

// stop ends a moat with SIGINT and waits for it to exit cleanly.
func stop(t *testing.T, srv *server) {
	t.Helper()
	if err := srv.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		srv.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("moat exited with %v after SIGINT; want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("moat did not exit after SIGINT")
	}
}

// toolError calls a tool that must fail, and returns its message.
func toolError(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) string {
	t.Helper()
	res := callTool(t, s, name, args)
	if !res.IsError {
		t.Fatalf("%s %v succeeded with %q; want a tool error", name, args, text(res))
	}
	return text(res)
}

// toolText calls a tool that must succeed, and returns its text.
func toolText(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) string {
	t.Helper()
	res := callTool(t, s, name, args)
	if res.IsError {
		t.Fatalf("%s %v: %s", name, args, text(res))
	}
	return text(res)
}

const otterPage = `<!DOCTYPE html><html><head><title>Otters</title><script>var tracking = "pixel";</script></head>
<body><nav><a href="/">Home</a></nav>
<main><h1>Sea otters</h1><p>They hold <b>hands</b> while they sleep.</p>
<ul><li>Dense fur</li><li>Use <a href="/tools">tools</a></li></ul></main>
<footer>Copyright</footer></body></html>`

// fetch reduces a granted page to its text, pages long content, passes
// JSON as it is, and refuses a host off its grant by naming the grant.
func TestFetchPlugin(t *testing.T) {
	needBuild(t)
	long := strings.Repeat("0123456789", 1200) // 12,000 characters
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/otters":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(otterPage))
		case "/long.txt":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(long))
		case "/big":
			// Near the grant's default max_response (5MiB): inline scripts,
			// then more markup than the plugin parses.
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><head><script>" + strings.Repeat("var x = 1;", 200000) + "</script></head><body>"))
			w.Write([]byte(strings.Repeat(`<div class="row"><p>Some <a href="/x">text</a> here and <b>there</b>.</p></div>`, 30000)))
		case "/api":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"otters": 3}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()
	offList := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("must not be read"))
	}))
	defer offList.Close()

	dir := t.TempDir()
	bundled(t, "fetch", dir, "fetch")
	bundled(t, "fetch", dir, "ungranted")
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nplugins:\n  fetch:\n    limits: {output: 16MiB, timeout: 60s}\n    grants:\n      http: {hosts: [\""+upstream.Listener.Addr().String()+"\"], timeout: 5s, max_response: 8MiB}\n")
	srv := startHTTP(t, "--config", config)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")

	got := toolText(t, s, "fetch_fetch", map[string]any{"url": upstream.URL + "/otters"})
	want := "# Otters\n\n# Sea otters\n\nThey hold hands while they sleep.\n\n- Dense fur\n- Use [tools](" + upstream.URL + "/tools)"
	if got != want {
		t.Errorf("the HTML page:\n%s\n---- want ----\n%s", got, want)
	}

	first := toolText(t, s, "fetch_fetch", map[string]any{"url": upstream.URL + "/long.txt"})
	note := "\n\n[Content truncated: characters 0 to 5000 of 12000 shown. To read on, call this tool again with the same url and start_index=5000.]"
	if first != long[:5000]+note {
		t.Errorf("the first page of long text ends %q; want 5000 characters and the note %q", first[max(len(first)-200, 0):], note)
	}
	last := toolText(t, s, "fetch_fetch", map[string]any{"url": upstream.URL + "/long.txt", "start_index": 10000, "max_length": 5000})
	if last != long[10000:] {
		t.Errorf("the last page: %d characters, %q...; want the last 2000 with no note", len(last), last[:min(len(last), 40)])
	}
	// With the response and output caps raised, a page that large still
	// fits the plugin's default 64MiB of memory: past 1MiB it is cut.
	big := toolText(t, s, "fetch_fetch", map[string]any{"url": upstream.URL + "/big", "max_length": 200})
	m := regexp.MustCompile(`of (\d+) shown`).FindStringSubmatch(big)
	if !strings.HasPrefix(big, "Some [text]("+upstream.URL+"/x) here and there.") || m == nil {
		t.Fatalf("a 4.4MB page: %q", big)
	}
	total, _ := strconv.Atoi(m[1])
	tail := toolText(t, s, "fetch_fetch", map[string]any{"url": upstream.URL + "/big", "start_index": total - 100})
	if !strings.HasSuffix(tail, "KiB of HTML, scripts and styles left out, is missing.]") {
		t.Errorf("the end of a page cut short: %q; want a note that it was cut", tail)
	}
	if got := toolText(t, s, "fetch_fetch", map[string]any{"url": upstream.URL + "/api"}); got != `{"otters": 3}` {
		t.Errorf("JSON: %q; want it as it came", got)
	}
	if msg := toolError(t, s, "fetch_fetch", map[string]any{"url": upstream.URL + "/missing"}); !strings.Contains(msg, "status 404") {
		t.Errorf("a missing page: %q; want the status named", msg)
	}

	msg := toolError(t, s, "fetch_fetch", map[string]any{"url": offList.URL + "/"})
	if !strings.Contains(msg, "was refused") || !strings.Contains(msg, "is not on the list of plugins.fetch.grants.http") {
		t.Errorf("a host off the list: %q; want a refusal naming plugins.fetch.grants.http", msg)
	}
	msg = toolError(t, s, "ungranted_fetch", map[string]any{"url": upstream.URL + "/otters"})
	if !strings.Contains(msg, "plugins.ungranted.grants.http") {
		t.Errorf("fetch without a grant: %q; want the grant to add named", msg)
	}
}

// memory works under examples/config/memory.yaml, and what it remembers
// survives a restart of moat.
func TestMemoryPlugin(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	bundled(t, "memory", dir, "memory")
	bundled(t, "memory", dir, "forgetful")
	t.Setenv("XDG_DATA_HOME", t.TempDir()) // where the example's data_dir lies
	example := filepath.Join("..", "..", "examples", "config", "memory.yaml")

	srv := startHTTP(t, "--config", example, "--plugins", dir)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	res := callTool(t, s, "memory_remember", map[string]any{"key": "ana-coffee", "title": "How Ana takes coffee", "text": "Oat milk, no sugar.", "tags": []string{"ana", "prefs"}})
	var remembered struct {
		Key     string `json:"key"`
		Created bool   `json:"created"`
	}
	remarshal(t, res.StructuredContent, &remembered)
	if res.IsError || remembered.Key != "ana-coffee" || !remembered.Created {
		t.Fatalf("remember: %s", text(res))
	}
	toolText(t, s, "memory_remember", map[string]any{"key": "deploy", "text": "Run make release; Ana approves.", "tags": []string{"work"}})
	toolText(t, s, "memory_remember", map[string]any{"key": "wifi", "text": "The password is on the fridge.", "tags": []string{"office"}})

	res = callTool(t, s, "memory_search", map[string]any{"query": "ana"})
	var found struct {
		Notes []struct {
			Key     string `json:"key"`
			Snippet string `json:"snippet"`
		} `json:"notes"`
		Total int `json:"total"`
	}
	remarshal(t, res.StructuredContent, &found)
	if res.IsError || found.Total != 2 || len(found.Notes) != 2 {
		t.Fatalf("search ana: %s; want ana-coffee and deploy", text(res))
	}
	for _, n := range found.Notes {
		if n.Key != "ana-coffee" && n.Key != "deploy" {
			t.Errorf("search ana found %q", n.Key)
		}
	}
	if got := toolText(t, s, "memory_forget", map[string]any{"key": "wifi"}); !strings.Contains(got, `"deleted":true`) {
		t.Errorf("forget: %s", got)
	}
	stop(t, srv)

	srv = startHTTP(t, "--config", example, "--plugins", dir)
	s = connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")
	res = callTool(t, s, "memory_recall", map[string]any{"key": "ana-coffee"})
	var note struct {
		Title string   `json:"title"`
		Text  string   `json:"text"`
		Tags  []string `json:"tags"`
	}
	remarshal(t, res.StructuredContent, &note)
	if res.IsError || note.Text != "Oat milk, no sugar." || note.Title != "How Ana takes coffee" || strings.Join(note.Tags, ",") != "ana,prefs" {
		t.Fatalf("recall after a restart: %s", text(res))
	}
	res = callTool(t, s, "memory_list", map[string]any{})
	remarshal(t, res.StructuredContent, &found)
	if res.IsError || found.Total != 2 || found.Notes[0].Key != "ana-coffee" || found.Notes[1].Key != "deploy" {
		t.Fatalf("list after a restart: %s; want ana-coffee and deploy, wifi forgotten", text(res))
	}
	if msg := toolError(t, s, "memory_recall", map[string]any{"key": "wifi"}); !strings.Contains(msg, `no note under key "wifi"`) {
		t.Errorf("recalling a forgotten note: %q", msg)
	}
	msg := toolError(t, s, "forgetful_remember", map[string]any{"key": "k", "text": "v"})
	if !strings.Contains(msg, `remembering "k": the note store is not available`) || !strings.Contains(msg, "plugins.forgetful.grants.kv") {
		t.Errorf("memory without a kv grant: %q; want the grant to add named", msg)
	}
}

// files works inside its mounts: reads, lists, searches, writes and edits
// on a read-write mount, is refused writes on a read-only one, and never
// takes a path out of them.
func TestFilesPlugin(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	bundled(t, "files", dir, "files")
	bundled(t, "files", dir, "unmounted")
	data, docs := filepath.Join(dir, "data"), filepath.Join(dir, "docs")
	for path, content := range map[string]string{
		filepath.Join(data, "todo.md"):         "# Todo\nbuy oat milk\ncall Ana\nfix the fence\n",
		filepath.Join(data, "src", "main.go"):  "package main // TODO: tests\n",
		filepath.Join(docs, "guide.md"):        "read me, do not change me\n",
		filepath.Join(dir, "outside", "x.txt"): "outside the mounts",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, content)
	}
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "plugins_dir: .\nplugins:\n  files:\n    grants:\n      fs:\n"+
		"        - {path: ./data, mount: /data, mode: rw}\n"+
		"        - {path: ./docs, mount: /docs}\n")
	srv := startHTTP(t, "--config", config)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url}, "2025-11-25")

	if got := toolText(t, s, "files_list_allowed_directories", map[string]any{}); got != `{"directories":["/data","/docs"]}` {
		t.Errorf("allowed directories: %s", got)
	}
	if got := toolText(t, s, "files_list_directory", map[string]any{"path": "/data"}); got != `{"path":"/data","entries":[{"name":"src","type":"directory"},{"name":"todo.md","type":"file","size":43}]}` {
		t.Errorf("list /data: %s", got)
	}
	if got := toolText(t, s, "files_read_file", map[string]any{"path": "/data/todo.md", "start_line": 2, "end_line": 3}); got != "buy oat milk\ncall Ana\n" {
		t.Errorf("lines 2-3: %q", got)
	}
	if got := toolText(t, s, "files_search_files", map[string]any{"path": "/data", "content": "todo"}); got != `{"matches":[{"path":"/data/src/main.go","type":"file","line":1,"text":"package main // TODO: tests"},{"path":"/data/todo.md","type":"file","line":1,"text":"# Todo"}]}` {
		t.Errorf("search for todo: %s", got)
	}
	if got := toolText(t, s, "files_search_files", map[string]any{"path": "/docs", "pattern": "*.md"}); got != `{"matches":[{"path":"/docs/guide.md","type":"file"}]}` {
		t.Errorf("search for *.md: %s", got)
	}

	toolText(t, s, "files_write_file", map[string]any{"path": "/data/notes/today.md", "content": "written through moat\n"})
	if b, err := os.ReadFile(filepath.Join(data, "notes", "today.md")); err != nil || string(b) != "written through moat\n" {
		t.Fatalf("the written file on the host: %q, %v", b, err)
	}
	toolText(t, s, "files_edit_file", map[string]any{"path": "/data/todo.md", "old_text": "call Ana", "new_text": "called Ana"})
	if b, _ := os.ReadFile(filepath.Join(data, "todo.md")); string(b) != "# Todo\nbuy oat milk\ncalled Ana\nfix the fence\n" {
		t.Fatalf("the edited file on the host: %q", b)
	}
	toolText(t, s, "files_write_file", map[string]any{"path": "/data/twice.txt", "content": "a\na\n"})
	if msg := toolError(t, s, "files_edit_file", map[string]any{"path": "/data/twice.txt", "old_text": "a", "new_text": "b"}); !strings.Contains(msg, "old_text occurs 2 times") {
		t.Errorf("an ambiguous edit: %q", msg)
	}

	msg := toolError(t, s, "files_write_file", map[string]any{"path": "/docs/guide.md", "content": "changed"})
	if !strings.Contains(strings.ToLower(msg), "read-only file system") || !strings.Contains(msg, "plugins.files.grants.fs") {
		t.Errorf("a write to the read-only mount: %q; want read-only named, with the grant", msg)
	}
	if b, _ := os.ReadFile(filepath.Join(docs, "guide.md")); string(b) != "read me, do not change me\n" {
		t.Fatalf("the read-only file changed to %q", b)
	}
	if got := toolText(t, s, "files_read_file", map[string]any{"path": "/docs/guide.md"}); got != "read me, do not change me\n" {
		t.Errorf("reading the read-only mount: %q", got)
	}

	for _, path := range []string{"/data/../outside/x.txt", "../outside/x.txt", "/outside/x.txt"} {
		msg := toolError(t, s, "files_read_file", map[string]any{"path": path})
		if !strings.Contains(msg, `contains ".."`) && !strings.Contains(msg, "outside the allowed directories") {
			t.Errorf("reading %s: %q; want it refused", path, msg)
		}
	}
	// A link in the mount that leads out of it is neither followed nor
	// searched through.
	if err := os.Symlink(filepath.Join(dir, "outside"), filepath.Join(data, "escape")); err != nil {
		t.Fatal(err)
	}
	msg = toolError(t, s, "files_read_file", map[string]any{"path": "/data/escape/x.txt"})
	if !strings.Contains(msg, "symbolic link") || strings.Contains(msg, "outside the mounts") {
		t.Errorf("reading through a link out of the mount: %q", msg)
	}
	if got := toolText(t, s, "files_search_files", map[string]any{"content": "outside the mounts"}); got != `{"matches":[]}` {
		t.Errorf("a search found text outside the mounts: %s", got)
	}
	msg = toolError(t, s, "unmounted_list_directory", map[string]any{"path": "/data"})
	if !strings.Contains(msg, "plugins.unmounted.grants.fs") {
		t.Errorf("files without a mount: %q; want the grant to add named", msg)
	}
}

// Every example configuration passes moat config check with the bundled
// plugins built.
func TestExampleConfigs(t *testing.T) {
	needBuild(t)
	examples, err := filepath.Glob(filepath.Join("..", "..", "examples", "config", "*.yaml"))
	if err != nil || len(examples) < 3 {
		t.Fatalf("examples/config holds %v (%v); want fetch, memory and files at least", examples, err)
	}
	for _, f := range examples {
		if _, stderr, code := runMoat(t, "config", "check", "--config", f, "--plugins", filepath.Dir(moatBin)); code != 0 {
			t.Errorf("moat config check --config %s: exit %d\n%s", f, code, stderr)
		}
	}
}

// With no configuration, moat grants the bundled memory plugin its kv
// store, as `make run` does; a second such moat, finding the store held,
// serves without it and its memory tools say why.
func TestBuiltinConfigGrantsMemory(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	bundled(t, "memory", dir, "memory")
	t.Setenv("XDG_DATA_HOME", t.TempDir())

	first := startHTTP(t, "--plugins", dir)
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: first.url}, "2025-11-25")
	if res := callTool(t, s, "memory_remember", map[string]any{"key": "k", "text": "kept by the first moat"}); res.IsError {
		t.Fatalf("remember under the built-in configuration: %s", text(res))
	}
	if got := toolText(t, s, "memory_recall", map[string]any{"key": "k"}); !strings.Contains(got, "kept by the first moat") {
		t.Fatalf("recall: %s", got)
	}

	second := startHTTP(t, "--plugins", dir)
	s2 := connect(t, &mcp.StreamableClientTransport{Endpoint: second.url}, "2025-11-25")
	res := callTool(t, s2, "memory_recall", map[string]any{"key": "k"})
	if !res.IsError || !strings.Contains(text(res), "another moat holds the store") {
		t.Fatalf("recall on a moat without the store: isError=%v %s; want an error saying another moat holds it", res.IsError, text(res))
	}
	if !strings.Contains(second.log.String(), "serving without kv") {
		t.Fatalf("the second moat did not warn that it serves without kv:\n%s", second.log)
	}
}
