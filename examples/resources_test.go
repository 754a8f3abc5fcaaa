package examples_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/internal/testplugin"
	"github.com/moat-mcp/moat/sandbox"
)

// rawCase is one moat_call request and the exact bytes every hello must
// answer, as examples/HELLO.md writes them.
type rawCase struct{ name, request, want string }

func readReq(uri string) string {
	return `{"method":"resources/read","params":{"uri":"` + uri + `"}}`
}

func promptReq(name, args string) string {
	return `{"method":"prompts/get","params":{"name":"` + name + `","arguments":` + args + `}}`
}

func completeReq(ref, arg, value string) string {
	return `{"method":"completion/complete","params":{"ref":` + ref + `,"argument":{"name":"` + arg + `","value":"` + value + `"}}}`
}

const (
	promptRef   = `{"type":"ref/prompt","name":"greet_prompt"}`
	templateRef = `{"type":"ref/resource","uri":"hello://greeting/{name}"}`
)

// helloRawCases are the requests of HELLO.md that a client cannot send
// through moat as they are (or not yet), answered byte for byte alike by
// every language. The tool calls check that the answers to tools stay as
// they were.
var helloRawCases = []rawCase{
	{"greet", `{"method":"tools/call","params":{"name":"greet","arguments":{"name":"Ada"}}}`,
		`{"content":[{"type":"text","text":"Hello, Ada!"}]}`},
	{"stats", `{"method":"tools/call","params":{"name":"stats","arguments":{"text":"a b\nc"}}}`,
		`{"content":[{"type":"text","text":"{\"words\":3,\"lines\":2,\"chars\":5}"}],"structuredContent":{"words":3,"lines":2,"chars":5}}`},
	{"unknown tool", `{"method":"tools/call","params":{"name":"nope","arguments":{}}}`,
		`{"error":{"code":-32602,"message":"unknown tool \"nope\""}}`},

	{"static resource", readReq("hello://greeting"),
		`{"contents":[{"uri":"hello://greeting","mimeType":"text/plain","text":"Hello from moat!"}]}`},
	{"templated resource", readReq("hello://greeting/Ada"),
		`{"contents":[{"uri":"hello://greeting/Ada","mimeType":"text/plain","text":"Hello, Ada!"}]}`},
	{"templated resource, UTF-8 and escapes", readReq("hello://greeting/Zoë%20B"),
		`{"contents":[{"uri":"hello://greeting/Zoë%20B","mimeType":"text/plain","text":"Hello, Zoë%20B!"}]}`},
	{"template, empty variable", readReq("hello://greeting/"),
		`{"error":{"code":-32002,"message":"resource not found: hello://greeting/"}}`},
	{"template, two segments", readReq("hello://greeting/a/b"),
		`{"error":{"code":-32002,"message":"resource not found: hello://greeting/a/b"}}`},
	{"unknown resource", readReq("hello://other"),
		`{"error":{"code":-32002,"message":"resource not found: hello://other"}}`},
	{"longer static URI", readReq("hello://greetings"),
		`{"error":{"code":-32002,"message":"resource not found: hello://greetings"}}`},

	{"prompt", promptReq("greet_prompt", `{"name":"Grace"}`),
		`{"messages":[{"role":"user","content":{"type":"text","text":"Please greet Grace warmly."}}]}`},
	{"prompt, empty name", promptReq("greet_prompt", `{"name":""}`),
		`{"messages":[{"role":"user","content":{"type":"text","text":"Please greet  warmly."}}]}`},
	{"prompt, missing argument", promptReq("greet_prompt", `{}`),
		`{"error":{"code":-32602,"message":"prompt \"greet_prompt\" needs the argument \"name\""}}`},
	{"prompt, no arguments", `{"method":"prompts/get","params":{"name":"greet_prompt"}}`,
		`{"error":{"code":-32602,"message":"prompt \"greet_prompt\" needs the argument \"name\""}}`},
	{"unknown prompt", promptReq("nope", `{"name":"Ada"}`),
		`{"error":{"code":-32602,"message":"unknown prompt \"nope\""}}`},

	{"complete prompt argument", completeReq(promptRef, "name", "A"), `{"completion":{"values":["Ada","Alan"]}}`},
	{"complete, all", completeReq(promptRef, "name", ""), `{"completion":{"values":["Ada","Alan","Grace","Linus"]}}`},
	{"complete, one", completeReq(promptRef, "name", "Li"), `{"completion":{"values":["Linus"]}}`},
	{"complete, case matters", completeReq(promptRef, "name", "a"), `{"completion":{"values":[]}}`},
	{"complete, none", completeReq(promptRef, "name", "Z"), `{"completion":{"values":[]}}`},
	{"complete, whole name and more", completeReq(promptRef, "name", "Adam"), `{"completion":{"values":[]}}`},
	{"complete template variable", completeReq(templateRef, "name", "G"), `{"completion":{"values":["Grace"]}}`},
	{"complete, other argument", completeReq(promptRef, "tone", "A"), `{"completion":{"values":[]}}`},
	{"complete, other prompt", completeReq(`{"type":"ref/prompt","name":"nope"}`, "name", "A"), `{"completion":{"values":[]}}`},
	{"complete, other template", completeReq(`{"type":"ref/resource","uri":"hello://greeting"}`, "name", "A"), `{"completion":{"values":[]}}`},

	{"unknown method", `{"method":"sampling/createMessage","params":{}}`,
		`{"error":{"code":-32601,"message":"method \"sampling/createMessage\" is not supported by this plugin"}}`},
}

// helloDescription is what HELLO.md says the description holds besides
// its tools.
var helloDescription = abi.Description{
	Resources: []abi.Resource{{URI: "hello://greeting", Name: "greeting", Description: "A greeting from the plugin.", MIMEType: "text/plain"}},
	ResourceTemplates: []abi.ResourceTemplate{{URITemplate: "hello://greeting/{name}", Name: "personal-greeting",
		Description: "A greeting for the person named in the URI.", MIMEType: "text/plain"}},
	Prompts: []abi.Prompt{{Name: "greet_prompt", Description: "Asks the model to greet someone warmly.",
		Arguments: []abi.PromptArgument{{Name: "name", Description: "Who to greet.", Required: true}}}},
}

// loadRaw loads a module with the sandbox alone, for requests sent as raw
// ABI bytes.
func loadRaw(t *testing.T, wasm []byte) *sandbox.Plugin {
	t.Helper()
	ctx := context.Background()
	engine, err := sandbox.NewEngine(sandbox.EngineConfig{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(ctx) })
	p, err := engine.Load(ctx, sandbox.Spec{Name: "hello", Wasm: wasm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	return p
}

// checkHelloRaw loads a hello module and checks, at the ABI level, that it
// describes the resource, template and prompt of HELLO.md, answers every
// raw case byte for byte, and does not import notify_resource_updated,
// which it never calls.
func checkHelloRaw(t *testing.T, wasm []byte) {
	t.Helper()
	p := loadRaw(t, wasm)
	var d abi.Description
	if err := json.Unmarshal(p.Description(), &d); err != nil {
		t.Fatalf("description %s: %v", p.Description(), err)
	}
	if len(d.Tools) != 2 || !reflect.DeepEqual(d.Resources, helloDescription.Resources) ||
		!reflect.DeepEqual(d.ResourceTemplates, helloDescription.ResourceTemplates) || !reflect.DeepEqual(d.Prompts, helloDescription.Prompts) {
		t.Errorf("description:\n%s", p.Description())
	}
	for _, imp := range p.Imports() {
		if imp.Name == abi.ImportNotifyResourceUpdated {
			t.Errorf("imports %s.%s without calling it", imp.Module, imp.Name)
		}
	}
	for _, c := range helloRawCases {
		got, err := p.Call(context.Background(), []byte(c.request))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s: moat_call(%s)\n got %s\nwant %s", c.name, c.request, got, c.want)
		}
	}
}

func TestGoHelloRaw(t *testing.T) {
	checkHelloRaw(t, testplugin.GoPlugin(t, "examples/go/hello"))
}

func TestWATHelloRaw(t *testing.T) {
	checkHelloRaw(t, testplugin.WAT(t, "examples/wat/hello/hello.wat"))
}

func TestCHelloRaw(t *testing.T) {
	wasm, err := os.ReadFile(buildCHello(t))
	if err != nil {
		t.Fatal(err)
	}
	checkHelloRaw(t, wasm)
}

func TestRustHelloRaw(t *testing.T) {
	wasm, err := os.ReadFile(buildRustHello(t))
	if err != nil {
		t.Fatal(err)
	}
	checkHelloRaw(t, wasm)
}

func TestAssemblyScriptHelloRaw(t *testing.T) {
	checkHelloRaw(t, buildASHello(t))
}

// TestGoSDKImportsNotifyWhenCalled is the other half of the check in
// checkHelloRaw: a Go plugin that calls NotifyResourceUpdated imports the
// host function, and the call reaches the host.
func TestGoSDKImportsNotifyWhenCalled(t *testing.T) {
	p := loadRaw(t, testplugin.GoPlugin(t, "sdk/go/testdata/notify"))
	imported := false
	for _, imp := range p.Imports() {
		imported = imported || imp.Module == abi.ModuleMoat && imp.Name == abi.ImportNotifyResourceUpdated
	}
	if !imported {
		t.Fatalf("imports %v; want moat.notify_resource_updated", p.Imports())
	}
	got, err := p.Call(context.Background(), []byte(readReq("notify://state")))
	if err != nil || string(got) != `{"contents":[{"uri":"notify://state","text":"on"}]}` {
		t.Errorf("resources/read: %s, %v", got, err)
	}
}
