// Package examples_test builds the hello plugin of every language and checks
// that moat serves each with the same results, byte for byte.
package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var (
	moatOnce sync.Once
	moatBin  string
	moatErr  error
)

// moat builds the moat binary once for the whole test binary.
func moat(t *testing.T) string {
	t.Helper()
	moatOnce.Do(func() {
		dir, err := os.MkdirTemp("", "moat-examples-")
		if err != nil {
			moatErr = err
			return
		}
		moatBin = filepath.Join(dir, "moat")
		cmd := exec.Command(testplugin.Go(), "build", "-o", moatBin, "./cmd/moat")
		cmd.Dir = testplugin.Root(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			moatErr = fmt.Errorf("building moat: %v\n%s", err, out)
		}
	})
	if moatErr != nil {
		t.Fatal(moatErr)
	}
	return moatBin
}

// helloCase is one call and the result every language must give, as the
// client sees it.
type helloCase struct {
	tool string
	args map[string]any
	want string // the CallToolResult as the go-sdk client marshals it
}

func result(text string, structured string, isError bool) string {
	res := map[string]any{"content": []map[string]string{{"type": "text", "text": text}}}
	if structured != "" {
		var sc any
		json.Unmarshal([]byte(structured), &sc)
		res["structuredContent"] = sc
	}
	if isError {
		res["isError"] = true
	}
	b, _ := json.Marshal(res)
	return string(b)
}

func stats(words, lines, chars int) string {
	s := fmt.Sprintf(`{"words":%d,"lines":%d,"chars":%d}`, words, lines, chars)
	return result(s, s, false)
}

var helloCases = []helloCase{
	{"greet", map[string]any{"name": "Ada"}, result("Hello, Ada!", "", false)},
	{"greet", map[string]any{"name": `Zoë "the" coder \ 👋`}, result(`Hello, Zoë "the" coder \ 👋!`, "", false)},
	{"greet", map[string]any{"name": ""}, result("name is empty: pass the name of the person to greet", "", true)},
	{"stats", map[string]any{"text": ""}, stats(0, 0, 0)},
	{"stats", map[string]any{"text": "a"}, stats(1, 1, 1)},
	{"stats", map[string]any{"text": "hello world\nsecond  line\n"}, stats(4, 2, 25)},
	{"stats", map[string]any{"text": "a\nb"}, stats(2, 2, 3)},
	{"stats", map[string]any{"text": "Zoë\t👋 \"quoted\"\r\n\\end"}, stats(4, 2, 20)},
}

// canonical marshals a result the way the cases are written: keys sorted.
func canonical(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["isError"] == false {
		delete(m, "isError")
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// checkHello serves the hello plugin at wasmPath with the real moat over
// stdio, and checks with a real MCP client that it lists the two tools with
// their schemas and answers every case exactly as HELLO.md says.
func checkHello(t *testing.T, wasmPath string) {
	t.Helper()
	dir := t.TempDir()
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	testplugin.WriteTo(t, wasm, dir, "hello")
	cmd := exec.Command(moat(t), "serve", "--plugins", dir)
	cmd.Env = append(os.Environ(), "MOAT_ADMIN_LISTEN=off", "XDG_CACHE_HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr

	var logMu sync.Mutex
	var logs []string
	client := mcp.NewClient(&mcp.Implementation{Name: "examples", Version: "1"}, &mcp.ClientOptions{
		//lint:ignore SA1019 the ABI sends plugin logs to clients that ask
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			logMu.Lock()
			logs = append(logs, fmt.Sprint(req.Params.Data))
			logMu.Unlock()
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("connecting: %v\n%s", err, stderr.String())
	}
	defer s.Close()
	//lint:ignore SA1019 see above
	if err := s.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
		t.Fatal(err)
	}

	tools, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*mcp.Tool{}
	for _, tool := range tools.Tools {
		got[tool.Name] = tool
	}
	wantSchemas := map[string][2]string{
		"hello_greet": {`{"type":"object","properties":{"name":{"type":"string","description":"Who to greet."}},"required":["name"]}`, ""},
		"hello_stats": {`{"type":"object","properties":{"text":{"type":"string","description":"The text to count."}},"required":["text"]}`,
			`{"type":"object","properties":{"words":{"type":"integer"},"lines":{"type":"integer"},"chars":{"type":"integer"}},"required":["words","lines","chars"]}`},
	}
	if len(got) != 2 {
		t.Fatalf("tools: %v; want hello_greet and hello_stats", got)
	}
	for name, schemas := range wantSchemas {
		tool := got[name]
		if tool == nil || !sameJSON(t, tool.InputSchema, schemas[0]) || (schemas[1] != "" && !sameJSON(t, tool.OutputSchema, schemas[1])) ||
			tool.Annotations == nil || !tool.Annotations.ReadOnlyHint {
			t.Errorf("%s is described as %+v", name, tool)
		}
	}

	for _, c := range helloCases {
		res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "hello_" + c.tool, Arguments: c.args})
		if err != nil {
			t.Fatalf("%s %v: %v", c.tool, c.args, err)
		}
		if got := canonical(t, res); got != c.want {
			t.Errorf("%s %v:\n got %s\nwant %s", c.tool, c.args, got, c.want)
		}
	}
	if _, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "hello_nope", Arguments: map[string]any{}}); err == nil {
		t.Error("an unknown tool answered")
	}

	// One log message per call reaches the client that asked for info.
	deadline := time.Now().Add(5 * time.Second)
	for {
		logMu.Lock()
		n := len(logs)
		joined := strings.Join(logs, "|")
		logMu.Unlock()
		if n >= len(helloCases) {
			if !strings.Contains(joined, "greet called") || !strings.Contains(joined, "stats called") {
				t.Errorf("log messages: %s", joined)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log messages for %d calls: %s", n, len(helloCases), joined)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sameJSON(t *testing.T, v any, want string) bool {
	t.Helper()
	b, _ := json.Marshal(v)
	var a, w any
	json.Unmarshal(b, &a)
	json.Unmarshal([]byte(want), &w)
	ab, _ := json.Marshal(a)
	wb, _ := json.Marshal(w)
	return string(ab) == string(wb)
}

func TestGoHello(t *testing.T) {
	dir := t.TempDir()
	path := testplugin.WriteTo(t, testplugin.GoPlugin(t, "examples/go/hello"), dir, "hello")
	checkHello(t, path)
}

func TestWATHello(t *testing.T) {
	dir := t.TempDir()
	path := testplugin.WriteTo(t, testplugin.WAT(t, "examples/wat/hello/hello.wat"), dir, "hello")
	checkHello(t, path)
}
