package abi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestDescriptionDecodesResourcesAndPrompts(t *testing.T) {
	raw := `{"name":"p","tools":[],
		"resources":[{"uri":"hello://greeting","name":"greeting","mimeType":"text/plain","size":16,"annotations":{"audience":["user"],"priority":0.5},"icons":[{"src":"x"}]}],
		"resourceTemplates":[{"uriTemplate":"hello://greeting/{name}","name":"greeting-for","title":"A greeting"}],
		"prompts":[{"name":"greet_prompt","arguments":[{"name":"name","required":true},{"name":"tone"}]}],
		"future":{"x":1}}`
	var d Description
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatal(err)
	}
	half := 0.5
	want := Description{
		Name:  "p",
		Tools: []Tool{},
		Resources: []Resource{{URI: "hello://greeting", Name: "greeting", MIMEType: "text/plain", Size: 16,
			Annotations: &Annotations{Audience: []string{"user"}, Priority: &half}}},
		ResourceTemplates: []ResourceTemplate{{URITemplate: "hello://greeting/{name}", Name: "greeting-for", Title: "A greeting"}},
		Prompts:           []Prompt{{Name: "greet_prompt", Arguments: []PromptArgument{{Name: "name", Required: true}, {Name: "tone"}}}},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", d, want)
	}
}

func TestResultsEncodeAsMCPWants(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{ReadResourceResult{Contents: []ResourceContents{{URI: "a://b", MIMEType: "text/plain", Text: "hi"}}},
			`{"contents":[{"uri":"a://b","mimeType":"text/plain","text":"hi"}]}`},
		{ResourceContents{URI: "a://empty"}, `{"uri":"a://empty","text":""}`},
		{ResourceContents{URI: "a://b", Blob: "AAE="}, `{"uri":"a://b","blob":"AAE="}`},
		{CompleteResult{}, `{"completion":{"values":[]}}`},
		{CompleteResult{Completion{Values: []string{"Ada"}, Total: 3, HasMore: true}}, `{"completion":{"values":["Ada"],"total":3,"hasMore":true}}`},
		{GetPromptResult{Messages: []PromptMessage{{Role: RoleUser, Content: Content{Type: "text", Text: "Hi"}}}},
			`{"messages":[{"role":"user","content":{"type":"text","text":"Hi"}}]}`},
		{Content{Type: "resource", Resource: &ResourceContents{URI: "a://b", Text: "x"}},
			`{"type":"resource","resource":{"uri":"a://b","text":"x"}}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%+v encodes as %s (%v), want %s", c.v, b, err, c.want)
		}
	}
}

// The custom encoders must leave the choice of escaping '<', '>' and '&' to
// the encoder that calls them: the SDKs write them as they are.
func TestResourceContentsFollowTheEncodersEscaping(t *testing.T) {
	c := ReadResourceResult{Contents: []ResourceContents{{URI: "a://<&>", Text: "<b>"}}}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil || b.String() != `{"contents":[{"uri":"a://<&>","text":"<b>"}]}`+"\n" {
		t.Errorf("without escaping: %s (%v)", b.String(), err)
	}
	if got, _ := json.Marshal(c); string(got) != `{"contents":[{"uri":"a://\u003c\u0026\u003e","text":"\u003cb\u003e"}]}` {
		t.Errorf("with json.Marshal: %s", got)
	}
}

func TestCompleteParamsDecode(t *testing.T) {
	var p CompleteParams
	raw := `{"ref":{"type":"ref/resource","uri":"hello://greeting/{name}"},"argument":{"name":"name","value":"A"},"context":{"arguments":{"x":"y"}}}`
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatal(err)
	}
	if p.Ref.Type != RefResource || p.Ref.URI != "hello://greeting/{name}" || p.Argument.Value != "A" || p.Context.Arguments["x"] != "y" {
		t.Errorf("decoded %+v", p)
	}
}

func TestURITemplateMatch(t *testing.T) {
	for _, c := range []struct {
		tmpl, uri string
		want      map[string]string // nil: no match
	}{
		{"hello://greeting/{name}", "hello://greeting/Ada", map[string]string{"name": "Ada"}},
		{"hello://greeting/{name}", "hello://greeting/Zo%C3%AB", map[string]string{"name": "Zo%C3%AB"}},
		{"hello://greeting/{name}", "hello://greeting/", nil},
		{"hello://greeting/{name}", "hello://greeting/a/b", nil},
		{"hello://greeting/{name}", "hello://greeting", nil},
		{"hello://greeting/{name}", "other://greeting/Ada", nil},
		{"file:///{dir}/{name}.md", "file:///notes/todo.md", map[string]string{"dir": "notes", "name": "todo"}},
		{"file:///{dir}/{name}.md", "file:///notes/todo.md.bak", nil},
		{"file:///{dir}/{name}.md", "file:///notes/todo.txt", nil},
		{"db://{table}?row={id}", "db://users?row=7", map[string]string{"table": "users", "id": "7"}},
		{"plain://fixed", "plain://fixed", map[string]string{}},
		{"plain://fixed", "plain://fixed2", nil},
	} {
		tmpl, err := ParseURITemplate(c.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", c.tmpl, err)
		}
		got, ok := tmpl.Match(c.uri)
		if ok != (c.want != nil) || (ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("%s matching %s: %v %v, want %v", c.tmpl, c.uri, got, ok, c.want)
		}
	}
}

func TestURITemplateRefusesWhatItCannotMatch(t *testing.T) {
	for _, tmpl := range []string{"a://{+path}", "a://{/seg}", "a://{x,y}", "a://{x*}", "a://{x}{y}", "a://{x", "a://x}", "a://{}", "a://{a b}"} {
		if _, err := ParseURITemplate(tmpl); err == nil {
			t.Errorf("%s parsed", tmpl)
		}
	}
	tmpl, err := ParseURITemplate("a://{x}/{y.z}/{%41b}")
	if err != nil || !reflect.DeepEqual(tmpl.Vars(), []string{"x", "y.z", "%41b"}) {
		t.Errorf("vars %v, %v", tmpl, err)
	}
}
