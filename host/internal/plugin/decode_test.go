package plugin

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// resultCases are plugin results the fast decode must take exactly as the
// go-sdk does: accepted with the same value, or refused.
var resultCases = []string{
	`{"content":[{"type":"text","text":"ok"}]}`,
	`{"content":[{"type":"text","text":""}]}`,
	`{"content":[{"type":"text","text":"a"},{"type":"text","text":"b","annotations":{"audience":["user"],"priority":0.5},"_meta":{"k":[1,2]}}]}`,
	`{"content":[{"type":"text","text":"ok"}],"structuredContent":{"n":12345678901234567890123}}`,
	`{"content":[{"type":"text","text":"ok"}],"structuredContent":{"n":1e400}}`,
	`{"content":[{"type":"text","text":"ok"}],"structuredContent":null}`,
	`{"content":[{"type":"text","text":"ok"}],"structuredContent":[1,"two"]}`,
	`{"content":[{"type":"text","text":"no"}],"isError":true,"_meta":{"a":"b"}}`,
	`{"content":[]}`,
	`{"content":[null]}`,
	`{"content":[7]}`,
	`{"content":[{"type":"text","text":"ok","TEXT":"shadow"}]}`,
	`{"CONTENT":[{"type":"text","text":"ok"}],"content":[]}`,
	`{"content":[{"type":"text","text":"ok","size":"big"}]}`,
	`{"content":[{"type":"text","text":"ok","data":"!!not base64"}]}`,
	`{"content":[{"type":"text","text":"ok","annotations":{"priority":"high"}}]}`,
	`{"content":[{"type":"text","text":7}]}`,
	`{"content":[{"type":"text","text":"ok"}],"_meta":"x"}`,
	`{"content":[{"type":"text","text":"ok"}],"_meta":null}`,
	`{"content":[{"type":"text","text":"ok"}],"resultType":"input_required","inputRequests":{}}`,
	`{"content":[{"type":"text","text":"ok"}],"requestState":"s"}`,
	`{"content":[{"type":"image","data":"AAAA","mimeType":"image/png"},{"type":"resource_link","uri":"file:///a","name":"a"}]}`,
	`{"content":[{"type":"resource","resource":{"uri":"file:///a","text":"x"}}]}`,
	`{"content":[{"type":"mystery"}]}`,
	`{"content":[{"type":"text","text":"ok"}],"structuredContent":` + strings.Repeat("[", 999) + strings.Repeat("]", 999) + `}`,
	`{"content":[{"type":"text","text":"ok"}],"structuredContent":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`,
	`{"content":[{"type":"text","text":"[[[[\"\\\\"}],"structuredContent":` + strings.Repeat("[", 998) + strings.Repeat("]", 998) + `}`,
}

// The server hands the decoded result to the go-sdk, which sends it to the
// client as it marshals it; the fast decode must give what the go-sdk's own
// decode gives, and refuse what it refuses.
func TestResultDecodeAgreesWithTheGoSDK(t *testing.T) {
	for _, raw := range resultCases {
		want := new(mcp.CallToolResult)
		wantErr := json.Unmarshal([]byte(raw), want)
		got, gotErr := sdkDecode([]byte(raw))
		name := raw
		if len(name) > 120 {
			name = name[:120] + "…"
		}
		if (wantErr == nil) != (gotErr == nil) {
			t.Errorf("%s: go-sdk error %v, fast decode error %v", name, wantErr, gotErr)
			continue
		}
		if wantErr != nil {
			if gotErr.Error() != wantErr.Error() {
				t.Errorf("%s: error %q; want the go-sdk's %q", name, gotErr, wantErr)
			}
			continue
		}
		wantJSON, err1 := json.Marshal(want)
		gotJSON, err2 := json.Marshal(got)
		if err1 != nil || err2 != nil || string(gotJSON) != string(wantJSON) {
			t.Errorf("%s:\n got %s (%v)\nwant %s (%v)", name, gotJSON, err2, wantJSON, err1)
		}
		if got.IsError != want.IsError || got.NeedsInput() != want.NeedsInput() {
			t.Errorf("%s: isError %v, needs input %v; want %v, %v", name, got.IsError, got.NeedsInput(), want.IsError, want.NeedsInput())
		}
	}
}

// A tools/call of a plugin whose answer is one text block allocated, until
// the result was decoded without the go-sdk's stream decoder, a 32 KiB
// buffer every time: garbage that, at thousands of calls a second, is most
// of what the collector has to do. What a call allocates is bounded well
// below that.
func TestToolCallAllocatesLittle(t *testing.T) {
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.WAT(t, "sandbox/testdata/echo.wat"), dir, "echo")
	reg, errs := loadDir(t, dir, "")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	echo, ok := reg.Tool("echo_echo")
	if !ok {
		t.Fatal("no echo_echo tool")
	}
	ctx, args := context.Background(), json.RawMessage(`{"text":"hello"}`)
	call := func() {
		_, res, err := echo.CallResult(ctx, args, map[string]any{"progressToken": "t"})
		if err != nil || res == nil || len(res.Content) != 1 || res.Content[0].(*mcp.TextContent).Text != "hello" {
			t.Fatalf("call: %v %+v", err, res)
		}
	}
	call() // the first call may size pools and caches
	const calls = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range calls {
		call()
	}
	runtime.ReadMemStats(&after)
	const bound = 12 << 10
	if per := (after.TotalAlloc - before.TotalAlloc) / calls; per > bound {
		t.Fatalf("a call allocates %d bytes; want at most %d", per, bound)
	}
}

// A result's isError decides whether its structuredContent is checked
// against the tool's outputSchema, and the client reads it to know whether
// the call failed. The host read it once case-insensitively for the check
// and once case-sensitively (as the go-sdk does) for what it sent, so
// "IsError": true skipped the outputSchema check of a result the client
// then received as a success, without the structuredContent its schema
// promises. One reading now decides both.
func TestIsErrorIsReadOnceForTheCheckAndTheClient(t *testing.T) {
	output, err := compileSchema(json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`), "moat://test/output", true)
	if err != nil {
		t.Fatal(err)
	}
	typed := &Tool{Name: "p_typed", Plugin: &Plugin{Name: "p"}, output: output}
	for _, out := range []string{
		`{"content":[{"type":"text","text":"x"}],"IsError":true}`,
		`{"content":[{"type":"image","data":"AAAA","mimeType":"image/png"}],"ISERROR":true}`,
	} {
		res, err := typed.decodeResult([]byte(out))
		if err == nil {
			t.Errorf("%s: accepted, sent with isError %v and no structuredContent; want it refused for its outputSchema", out, res.IsError)
			continue
		}
		if !strings.Contains(err.Error(), "the tool declares an outputSchema but the result has no structuredContent") {
			t.Errorf("%s: %v", out, err)
		}
	}
	res, err := typed.decodeResult([]byte(`{"content":[{"type":"text","text":"x"}],"isError":true}`))
	if err != nil || !res.IsError {
		t.Fatalf("a tool error without structuredContent: %v, %+v; want it passed on as a tool error", err, res)
	}
}

// The fast reading and the go-sdk's must agree on any bytes a plugin can
// return: both accept with the same result, or both refuse.
//
//	go test -run '^$' -fuzz '^FuzzResultDecodeAgrees$' -fuzztime 1m ./host/plugin/
func FuzzResultDecodeAgrees(f *testing.F) {
	for _, raw := range resultCases {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // decodeResult refuses these before either reading counts
		}
		want := new(mcp.CallToolResult)
		wantErr := json.Unmarshal(raw, want)
		got, gotErr := sdkDecode(raw)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%q: go-sdk error %v, fast decode error %v", raw, wantErr, gotErr)
		}
		if wantErr != nil {
			return
		}
		wantJSON, err1 := json.Marshal(want)
		gotJSON, err2 := json.Marshal(got)
		if string(gotJSON) != string(wantJSON) || (err1 == nil) != (err2 == nil) || got.IsError != want.IsError {
			t.Fatalf("%q:\n got %s (%v)\nwant %s (%v)", raw, gotJSON, err2, wantJSON, err1)
		}
	})
}
