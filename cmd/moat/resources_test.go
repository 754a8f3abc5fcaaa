package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Two principals see the resources, templates and prompts their roles
// allow: lists are filtered, and what a role does not allow answers exactly
// as something unknown, audited as denied. The hello example's resource,
// template, prompt and completion are served end to end.
func TestRolesFilterResourcesAndPrompts(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.GoPlugin(t, "examples/go/hello"), dir, "hello")
	const readerKey, writerKey = "moat_reader_key_7c1d", "moat_writer_key_93ab"
	writeFile(t, filepath.Join(dir, "moat.yaml"), fmt.Sprintf(`
plugins_dir: .
auth:
  api_keys:
    - {name: reader, sha256: %s, roles: [reader]}
    - {name: writer, sha256: %s, roles: [writer]}
roles:
  reader:
    allow: ["hello_greet"]
    resources: {allow: ["hello://greeting"]}
  writer:
    allow: ["*"]
    resources: {allow: ["hello://*", "hello://greeting/*"]}
    prompts: {allow: ["hello_*"]}
audit: {path: audit.log}
`, digest(readerKey), digest(writerKey)))
	srv := startHTTP(t, "--config", filepath.Join(dir, "moat.yaml"))
	as := func(key string) *mcp.ClientSession {
		hc := &http.Client{Transport: bearer{token: key, base: http.DefaultTransport}}
		return connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url, HTTPClient: hc}, "2025-11-25")
	}
	reader, writer := as(readerKey), as(writerKey)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Lists.
	lists := func(s *mcp.ClientSession) (resources, templates, prompts []string) {
		t.Helper()
		rs, err := s.ListResources(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs.Resources {
			resources = append(resources, r.URI)
		}
		ts, err := s.ListResourceTemplates(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ts.ResourceTemplates {
			templates = append(templates, r.URITemplate)
		}
		ps, err := s.ListPrompts(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps.Prompts {
			prompts = append(prompts, p.Name)
		}
		return
	}
	if r, tm, p := lists(writer); !slices.Equal(r, []string{"hello://greeting"}) || !slices.Equal(tm, []string{"hello://greeting/{name}"}) || !slices.Equal(p, []string{"hello_greet_prompt"}) {
		t.Fatalf("the writer sees resources %v, templates %v, prompts %v", r, tm, p)
	}
	if r, tm, p := lists(reader); !slices.Equal(r, []string{"hello://greeting"}) || len(tm) != 0 || len(p) != 0 {
		t.Fatalf("the reader sees resources %v, templates %v, prompts %v; want the one resource its role allows", r, tm, p)
	}

	// Reads, static and templated, and a prompt with completion.
	read := func(s *mcp.ClientSession, uri string) (string, error) {
		res, err := s.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			return "", err
		}
		if len(res.Contents) != 1 {
			return "", fmt.Errorf("%d contents", len(res.Contents))
		}
		return res.Contents[0].Text, nil
	}
	for uri, want := range map[string]string{"hello://greeting": "Hello from moat!", "hello://greeting/Ada": "Hello, Ada!"} {
		if got, err := read(writer, uri); err != nil || got != want {
			t.Errorf("the writer reads %s: %q %v; want %q", uri, got, err, want)
		}
	}
	if got, err := read(reader, "hello://greeting"); err != nil || got != "Hello from moat!" {
		t.Errorf("the reader reads the resource its role allows: %q %v", got, err)
	}
	_, denied := read(reader, "hello://greeting/Ada")
	_, unknown := read(reader, "hello://greeting/Ada/none")
	if denied == nil || unknown == nil || strings.ReplaceAll(denied.Error(), "hello://greeting/Ada", "URI") != strings.ReplaceAll(unknown.Error(), "hello://greeting/Ada/none", "URI") {
		t.Errorf("a denied read answers %v; an unknown one %v; want the same answer", denied, unknown)
	}

	got, err := writer.GetPrompt(ctx, &mcp.GetPromptParams{Name: "hello_greet_prompt", Arguments: map[string]string{"name": "Grace"}})
	if err != nil || len(got.Messages) != 1 || !strings.Contains(fmt.Sprint(got.Messages[0].Content), "Please greet Grace warmly.") {
		t.Errorf("the writer gets the prompt: %+v %v", got, err)
	}
	_, deniedPrompt := reader.GetPrompt(ctx, &mcp.GetPromptParams{Name: "hello_greet_prompt", Arguments: map[string]string{"name": "Grace"}})
	_, unknownPrompt := reader.GetPrompt(ctx, &mcp.GetPromptParams{Name: "hello_greet_prompt", Arguments: map[string]string{"name": "Grace"}})
	_, nonePrompt := writer.GetPrompt(ctx, &mcp.GetPromptParams{Name: "hello_nope"})
	if deniedPrompt == nil || unknownPrompt == nil || nonePrompt == nil ||
		strings.ReplaceAll(deniedPrompt.Error(), "hello_greet_prompt", "NAME") != strings.ReplaceAll(nonePrompt.Error(), "hello_nope", "NAME") {
		t.Errorf("a denied prompt answers %v; an unknown one %v; want the same answer", deniedPrompt, nonePrompt)
	}
	for _, c := range []struct {
		ref  *mcp.CompleteReference
		want []string
	}{
		{&mcp.CompleteReference{Type: "ref/prompt", Name: "hello_greet_prompt"}, []string{"Ada", "Alan"}},
		{&mcp.CompleteReference{Type: "ref/resource", URI: "hello://greeting/{name}"}, []string{"Ada", "Alan"}},
	} {
		res, err := writer.Complete(ctx, &mcp.CompleteParams{Ref: c.ref, Argument: mcp.CompleteParamsArgument{Name: "name", Value: "A"}})
		if err != nil || !slices.Equal(res.Completion.Values, c.want) {
			t.Errorf("the writer completes %s for A: %+v %v; want %v", c.ref.Type, res, err, c.want)
		}
		res, err = reader.Complete(ctx, &mcp.CompleteParams{Ref: c.ref, Argument: mcp.CompleteParamsArgument{Name: "name", Value: "A"}})
		if err != nil || len(res.Completion.Values) != 0 {
			t.Errorf("the reader completes %s it may not use: %+v %v; want nothing", c.ref.Type, res, err)
		}
	}

	// The denials are audited.
	stop(t, srv)
	f, err := os.Open(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	deniedBy := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line is not JSON: %s", sc.Text())
		}
		if rec["outcome"] == "denied" && rec["principal"] == "key:reader" {
			deniedBy[fmt.Sprint(rec["method"])]++
		}
	}
	if deniedBy["resources/read"] < 1 || deniedBy["prompts/get"] < 2 {
		t.Errorf("denials audited by method: %v; want the read and the two gets", deniedBy)
	}
}

// A plugin announces that one of its resources changed: the session that
// subscribed to it is told, the one that did not is not.
func TestResourceSubscriptions(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.GoPlugin(t, "sdk/go/testdata/notify"), dir, "notify")
	srv := startHTTP(t, "--plugins", dir)
	var subscribed, bystander atomic.Int64
	client := func(count *atomic.Int64) *mcp.ClientSession {
		c := mcp.NewClient(&mcp.Implementation{Name: "moat-e2e", Version: "1"}, &mcp.ClientOptions{
			ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
				if req.Params.URI == "notify://state" {
					count.Add(1)
				}
			},
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := client(&subscribed), client(&bystander)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Subscribe(ctx, &mcp.SubscribeParams{URI: "notify://state"}); err != nil {
		t.Fatalf("subscribing: %v", err)
	}
	if err := b.Subscribe(ctx, &mcp.SubscribeParams{URI: "notify://nothing"}); err == nil {
		t.Fatal("a subscription to a URI no plugin serves was accepted")
	}
	for i := int64(1); i <= 2; i++ {
		if res := callTool(t, b, "notify_touch", map[string]any{}); res.IsError || text(res) != "notified" {
			t.Fatalf("notify_touch: isError=%v %q", res.IsError, text(res))
		}
		eventually(t, 30*time.Second, "the subscribed session is told the resource changed", func() bool { return subscribed.Load() >= i })
	}
	if n := bystander.Load(); n != 0 {
		t.Fatalf("a session that did not subscribe was told %d times", n)
	}
}
