package main

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

func TestPage(t *testing.T) {
	for _, c := range []struct {
		text       string
		start, max int
		want, err  string
	}{
		{"hello", 0, 5000, "hello", ""},
		{"hello world", 0, 5, "hello\n\n[Content truncated: characters 0 to 5 of 11 shown. To read on, call this tool again with the same url and start_index=5.]", ""},
		{"hello world", 5, 5, " worl\n\n[Content truncated: characters 5 to 10 of 11 shown. To read on, call this tool again with the same url and start_index=10.]", ""},
		{"hello world", 10, 5, "d", ""},
		{"héllo wörld", 1, 4, "éllo\n\n[Content truncated: characters 1 to 5 of 11 shown. To read on, call this tool again with the same url and start_index=5.]", ""},
		{"hello", 5, 10, "", "start_index 5 is past the end: the content has 5 characters; use a start_index below 5"},
		{"", 0, 10, "[The page has no text content.]", ""},
	} {
		got, err := page(c.text, c.start, c.max)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("page(%q, %d, %d) error %v; want %q", c.text, c.start, c.max, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("page(%q, %d, %d) = %q, %v; want %q", c.text, c.start, c.max, got, err, c.want)
		}
	}
}

func TestContent(t *testing.T) {
	u, _ := url.Parse("http://site.example/doc")
	html := "<html><body><p>Hi <a href='/x'>there</a></p><script>evil()</script></body></html>"
	for _, c := range []struct {
		name      string
		resp      abi.HTTPResponse
		raw       bool
		want, err string
	}{
		{"html reduced", abi.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}, Body: html}, false, "Hi [there](http://site.example/x)", ""},
		{"html raw", abi.HTTPResponse{Status: 200, Headers: map[string]string{"content-type": "text/html"}, Body: html}, true, html, ""},
		{"html sniffed", abi.HTTPResponse{Status: 200, Body: "  <!doctype html><p>sniffed</p>"}, false, "sniffed", ""},
		{"json as is", abi.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"a": [1, 2]}`}, false, `{"a": [1, 2]}`, ""},
		{"plain text as is", abi.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "  spaced\n\n  text "}, false, "  spaced\n\n  text ", ""},
		{"latin-1", abi.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=ISO-8859-1"}, BodyBase64: base64.StdEncoding.EncodeToString([]byte("caf\xe9"))}, false, "café", ""},
		{"image refused", abi.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": "image/png"}, BodyBase64: "iVBORw0KGgo="}, false, "", "the content is image/png, and this tool returns only text"},
		{"404", abi.HTTPResponse{Status: 404, Headers: map[string]string{"Content-Type": "text/html"}, Body: "<h1>Not   here</h1>"}, false, "", "fetching http://site.example/doc: the server answered status 404: # Not here"},
	} {
		got, err := content(u, c.resp, c.raw)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v; want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestTargetRefusesWhatIsNotAWebURL(t *testing.T) {
	for raw, want := range map[string]string{
		"":                    "url is empty",
		"file:///etc/passwd":  "is not an http or https URL",
		"example.com/page":    "is not an http or https URL",
		"http://":             "is not an http or https URL",
		"http://a b.example/": "does not parse",
	} {
		if _, err := target(raw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("target(%q): %v; want %q", raw, err, want)
		}
	}
	if u, err := target(" https://example.com/a?b=c "); err != nil || u.String() != "https://example.com/a?b=c" {
		t.Errorf("target: %v, %v", u, err)
	}
}

func TestRequestErrorKeepsTheHostsReason(t *testing.T) {
	u, _ := url.Parse("http://blocked.example/")
	err := requestError(u, &moat.Error{Code: abi.EPERM, Message: `moat.http_request: the host "blocked.example" (port 80) is not on the list of plugins.fetch.grants.http`})
	want := `fetching http://blocked.example/ was refused: moat.http_request: the host "blocked.example" (port 80) is not on the list of plugins.fetch.grants.http.`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("requestError = %v; want it to start %q", err, want)
	}
}

// The tool as registered, through the SDK's dispatch. Outside a moat host
// every request fails as unsupported, which still shows the argument checks
// and the error path.
func TestRegisteredTool(t *testing.T) {
	d := moat.Describe()
	if d.Name != "fetch" || len(d.Tools) != 1 || d.Tools[0].Name != "fetch" || !d.Tools[0].Annotations.ReadOnlyHint {
		t.Fatalf("description: %+v", d)
	}
	if h := d.Capabilities.HTTP; h == nil || len(h.Hosts) != 1 || h.Hosts[0] != "*" {
		t.Fatalf("capabilities: %+v; want http to any host", d.Capabilities)
	}
	if !json.Valid(d.Tools[0].InputSchema) {
		t.Fatalf("invalid input schema %s", d.Tools[0].InputSchema)
	}
	for args, want := range map[string]string{
		`{"url":"ftp://x.example/"}`:                    "is not an http or https URL",
		`{"url":"https://x.example/","max_length":0}`:   "max_length is 0; use 1 to 100000",
		`{"url":"https://x.example/","start_index":-1}`: "start_index is -1",
		`{"url":"https://x.example/"}`:                  "this plugin needs a moat host",
	} {
		var res abi.CallToolResult
		out := moat.Handle([]byte(`{"method":"tools/call","params":{"name":"fetch","arguments":` + args + `}}`))
		if err := json.Unmarshal(out, &res); err != nil || !res.IsError || !strings.Contains(res.Content[0].Text, want) {
			t.Errorf("fetch %s: %s; want an error containing %q", args, out, want)
		}
	}
}
