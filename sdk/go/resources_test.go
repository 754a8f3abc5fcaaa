package moat

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/abi"
)

var people = []string{"Ada", "Alan", "Grace", "Linus"}

func byPrefix(value string, _ map[string]string) []string {
	var out []string
	for _, p := range people {
		if strings.HasPrefix(p, value) {
			out = append(out, p)
		}
	}
	return out
}

// setupResources is setup plus a resource, two templates, two prompts and
// their completions.
func setupResources(t *testing.T) {
	t.Helper()
	setup(t)
	AddResource(ResourceDef{URI: "hello://greeting", Name: "greeting", MIMEType: "text/plain"},
		func(uri string) ([]abi.ResourceContents, error) {
			return []abi.ResourceContents{{Text: "Hello from moat!"}}, nil
		})
	AddResourceTemplate(ResourceTemplateDef{URITemplate: "hello://greeting/{name}", Name: "personal-greeting", MIMEType: "text/plain"},
		func(uri string, vars map[string]string) ([]abi.ResourceContents, error) {
			switch vars["name"] {
			case "nobody":
				return nil, fmt.Errorf("no greeting for %s: %w", uri, ErrResourceNotFound)
			case "broken":
				return nil, errors.New("the greeting store is down")
			case "boom":
				panic("kaboom")
			}
			return []abi.ResourceContents{{Text: "Hello, " + vars["name"] + "!"}}, nil
		})
	AddResourceTemplate(ResourceTemplateDef{URITemplate: "bin://{a}/{b}.png", Name: "image"},
		func(uri string, vars map[string]string) ([]abi.ResourceContents, error) {
			return []abi.ResourceContents{{URI: "bin://canonical", MIMEType: "image/png", Blob: vars["a"] + vars["b"]}}, nil
		})
	AddPrompt(PromptDef{Name: "greet_prompt", Description: "Greets.", Arguments: []abi.PromptArgument{
		{Name: "name", Required: true}, {Name: "tone"},
	}}, func(args map[string]string) (*abi.GetPromptResult, error) {
		text := "Please greet " + args["name"] + " warmly."
		if tone, ok := args["tone"]; ok {
			text += " Be " + tone + "."
		}
		return &abi.GetPromptResult{Messages: []abi.PromptMessage{UserMessage(text)}}, nil
	})
	AddPrompt(PromptDef{Name: "failing"}, func(map[string]string) (*abi.GetPromptResult, error) {
		return nil, errors.New("cannot build it <now>")
	})
	AddPromptCompletion("greet_prompt", "name", byPrefix)
	AddResourceCompletion("hello://greeting/{name}", "name", func(value string, context map[string]string) []string {
		return []string{value + context["suffix"]}
	})
	AddPromptCompletion("greet_prompt", "tone", func(string, map[string]string) []string {
		many := make([]string, 150)
		for i := range many {
			many[i] = fmt.Sprint(i)
		}
		return many
	})
}

func TestDescribeListsResourcesAndPrompts(t *testing.T) {
	setupResources(t)
	b, _ := json.Marshal(Describe())
	var d abi.Description
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Resources) != 1 || d.Resources[0].URI != "hello://greeting" || d.Resources[0].MIMEType != "text/plain" {
		t.Errorf("resources: %+v", d.Resources)
	}
	if len(d.ResourceTemplates) != 2 || d.ResourceTemplates[0].URITemplate != "hello://greeting/{name}" || d.ResourceTemplates[1].Name != "image" {
		t.Errorf("templates: %+v", d.ResourceTemplates)
	}
	want := abi.Prompt{Name: "greet_prompt", Description: "Greets.", Arguments: []abi.PromptArgument{{Name: "name", Required: true}, {Name: "tone"}}}
	if len(d.Prompts) != 2 || !reflect.DeepEqual(d.Prompts[0], want) {
		t.Errorf("prompts: %+v", d.Prompts)
	}
	setup(t)
	if b, _ := json.Marshal(Describe()); strings.Contains(string(b), "resources") || strings.Contains(string(b), "prompts") {
		t.Errorf("a plugin with only tools describes %s", b)
	}
}

func TestResourcesPromptsAndCompletion(t *testing.T) {
	setupResources(t)
	for _, c := range []struct{ name, req, want string }{
		{"static", `{"method":"resources/read","params":{"uri":"hello://greeting"}}`,
			`{"contents":[{"uri":"hello://greeting","mimeType":"text/plain","text":"Hello from moat!"}]}`},
		{"templated", `{"method":"resources/read","params":{"uri":"hello://greeting/Ada & <Zoë>","_meta":{"x":1}}}`,
			`{"contents":[{"uri":"hello://greeting/Ada & <Zoë>","mimeType":"text/plain","text":"Hello, Ada & <Zoë>!"}]}`},
		{"blob, own URI and type", `{"method":"resources/read","params":{"uri":"bin://x/y.png"}}`,
			`{"contents":[{"uri":"bin://canonical","mimeType":"image/png","blob":"xy"}]}`},
		{"unknown resource", `{"method":"resources/read","params":{"uri":"hello://greeting/a/b"}}`,
			`{"error":{"code":-32002,"message":"resource not found: hello://greeting/a/b"}}`},
		{"handler says not found", `{"method":"resources/read","params":{"uri":"hello://greeting/nobody"}}`,
			`{"error":{"code":-32002,"message":"resource not found: hello://greeting/nobody"}}`},
		{"handler fails", `{"method":"resources/read","params":{"uri":"hello://greeting/broken"}}`,
			`{"error":{"code":-32603,"message":"the greeting store is down"}}`},
		{"handler panics", `{"method":"resources/read","params":{"uri":"hello://greeting/boom"}}`,
			`{"error":{"code":-32603,"message":"handler panicked: kaboom"}}`},
		{"no uri", `{"method":"resources/read","params":{"uri":7}}`,
			`{"error":{"code":-32602,"message":"malformed resources/read request: json: cannot unmarshal number into Go struct field ReadResourceParams.uri of type string"}}`},
		{"prompt", `{"method":"prompts/get","params":{"name":"greet_prompt","arguments":{"name":"Ada"}}}`,
			`{"messages":[{"role":"user","content":{"type":"text","text":"Please greet Ada warmly."}}]}`},
		{"prompt with two arguments", `{"method":"prompts/get","params":{"name":"greet_prompt","arguments":{"tone":"brief","name":"Alan"}}}`,
			`{"messages":[{"role":"user","content":{"type":"text","text":"Please greet Alan warmly. Be brief."}}]}`},
		{"missing required argument", `{"method":"prompts/get","params":{"name":"greet_prompt","arguments":{"tone":"brief"}}}`,
			`{"error":{"code":-32602,"message":"prompt \"greet_prompt\" needs the argument \"name\""}}`},
		{"no arguments at all", `{"method":"prompts/get","params":{"name":"greet_prompt"}}`,
			`{"error":{"code":-32602,"message":"prompt \"greet_prompt\" needs the argument \"name\""}}`},
		{"unknown prompt", `{"method":"prompts/get","params":{"name":"nope"}}`,
			`{"error":{"code":-32602,"message":"unknown prompt \"nope\""}}`},
		{"prompt fails", `{"method":"prompts/get","params":{"name":"failing"}}`,
			`{"error":{"code":-32603,"message":"cannot build it <now>"}}`},
		{"argument not a string", `{"method":"prompts/get","params":{"name":"greet_prompt","arguments":{"name":1}}}`,
			`{"error":{"code":-32602,"message":"malformed prompts/get request: json: cannot unmarshal number into Go struct field GetPromptParams.arguments of type string"}}`},
		{"complete a prompt argument", `{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet_prompt"},"argument":{"name":"name","value":"A"}}}`,
			`{"completion":{"values":["Ada","Alan"]}}`},
		{"nothing matches", `{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet_prompt"},"argument":{"name":"name","value":"Z"}}}`,
			`{"completion":{"values":[]}}`},
		{"complete a template variable with context", `{"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"hello://greeting/{name}"},"argument":{"name":"name","value":"Gr"},"context":{"arguments":{"suffix":"ace"}}}}`,
			`{"completion":{"values":["Grace"]}}`},
		{"more than 100", `{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet_prompt"},"argument":{"name":"tone","value":""}}}`,
			`{"completion":{"values":[` + strings.Repeat(`"x",`, 0) + quoted(100) + `],"total":150,"hasMore":true}}`},
		{"no completer", `{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"failing"},"argument":{"name":"x","value":""}}}`,
			`{"completion":{"values":[]}}`},
		{"unknown ref", `{"method":"completion/complete","params":{"ref":{"type":"ref/other","name":"greet_prompt"},"argument":{"name":"name","value":"A"}}}`,
			`{"completion":{"values":[]}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(Handle([]byte(c.req))); got != c.want {
				t.Errorf("%s\n got %s\nwant %s", c.req, got, c.want)
			}
		})
	}
}

func quoted(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	return strings.Join(parts, ",")
}

// A plugin that registers no resources, or no prompts, does not serve their
// methods, as a plugin built before them would not.
func TestMethodsWithoutRegistrationsAreUnknown(t *testing.T) {
	setup(t)
	for _, method := range []string{"resources/read", "prompts/get", "completion/complete"} {
		got := string(Handle([]byte(`{"method":"` + method + `","params":{}}`)))
		want := `{"error":{"code":-32601,"message":"method \"` + method + `\" is not supported by this plugin"}}`
		if got != want {
			t.Errorf("%s: %s", method, got)
		}
	}
}

func TestBadResourceDefinitionsPanic(t *testing.T) {
	setupResources(t)
	noop := func(string) ([]abi.ResourceContents, error) { return nil, nil }
	noopT := func(string, map[string]string) ([]abi.ResourceContents, error) { return nil, nil }
	noopP := func(map[string]string) (*abi.GetPromptResult, error) { return nil, nil }
	for name, register := range map[string]func(){
		"resource without URI":  func() { AddResource(ResourceDef{Name: "x"}, noop) },
		"resource without name": func() { AddResource(ResourceDef{URI: "a://x"}, noop) },
		"duplicate resource":    func() { AddResource(ResourceDef{URI: "hello://greeting", Name: "g"}, noop) },
		"level-2 template":      func() { AddResourceTemplate(ResourceTemplateDef{URITemplate: "a://{+path}", Name: "p"}, noopT) },
		"duplicate template": func() {
			AddResourceTemplate(ResourceTemplateDef{URITemplate: "hello://greeting/{name}", Name: "p"}, noopT)
		},
		"prompt with a bad name":    func() { AddPrompt(PromptDef{Name: "a b"}, noopP) },
		"duplicate prompt":          func() { AddPrompt(PromptDef{Name: "failing"}, noopP) },
		"unnamed argument":          func() { AddPrompt(PromptDef{Name: "p", Arguments: []abi.PromptArgument{{}}}, noopP) },
		"completion of no prompt":   func() { AddPromptCompletion("nope", "name", byPrefix) },
		"completion of no argument": func() { AddPromptCompletion("greet_prompt", "nope", byPrefix) },
		"completion of no template": func() { AddResourceCompletion("a://{x}", "x", byPrefix) },
		"completion of no variable": func() { AddResourceCompletion("hello://greeting/{name}", "nope", byPrefix) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered without a panic", name)
				}
			}()
			register()
		}()
	}
}

func TestNotifyResourceUpdatedOutsideAHost(t *testing.T) {
	if err := NotifyResourceUpdated("hello://greeting"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("NotifyResourceUpdated outside a host: %v", err)
	}
}
