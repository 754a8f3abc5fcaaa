package plugin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/internal/testplugin"
)

// The hello example (examples/HELLO.md) serves a resource, a template and a
// prompt with completion: the plugin layer binds them and serves each.
func TestResourcesPromptsAndCompletionOfAPlugin(t *testing.T) {
	dir := t.TempDir()
	testplugin.WriteTo(t, testplugin.GoPlugin(t, "./examples/go/hello"), dir, "hello")
	reg, errs := loadDir(t, dir, "")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	p, _ := reg.Plugin("hello")
	if len(p.Resources) != 1 || len(p.Templates) != 1 || len(p.Prompts) != 1 || p.Prompts[0].Name != "hello_greet_prompt" {
		t.Fatalf("bound %d resources, %d templates, prompts %v", len(p.Resources), len(p.Templates), p.Prompts)
	}
	ctx := context.Background()
	for uri, want := range map[string]string{"hello://greeting": "Hello from moat!", "hello://greeting/Ada": "Hello, Ada!"} {
		owner, _, _, ok := reg.ResourceFor(uri)
		if !ok || owner != p {
			t.Fatalf("%s: served by %v", uri, owner)
		}
		_, res, err := p.ReadResource(ctx, uri)
		if err != nil || len(res.Contents) != 1 || res.Contents[0].Text != want {
			t.Fatalf("read %s: %+v %v", uri, res, err)
		}
	}
	if _, _, _, ok := reg.ResourceFor("hello://greeting/a/b"); ok {
		t.Fatal("a URI neither the resource nor the template matches is served")
	}
	_, err := func() (any, error) { _, r, err := p.ReadResource(ctx, "hello://other"); return r, err }()
	var proto *ProtocolError
	if !errors.As(err, &proto) || proto.Code != abi.CodeResourceNotFound {
		t.Fatalf("a URI the plugin does not serve: %v; want its -32002", err)
	}

	pr, ok := reg.Prompt("hello_greet_prompt")
	if !ok {
		t.Fatal("no prompt hello_greet_prompt")
	}
	_, got, err := pr.Plugin.GetPrompt(ctx, pr.Def.Name, map[string]string{"name": "Grace"}, nil)
	if err != nil || len(got.Messages) != 1 || got.Messages[0].Role != "user" {
		t.Fatalf("get: %+v %v", got, err)
	}
	_, _, err = pr.Plugin.GetPrompt(ctx, pr.Def.Name, nil, nil)
	if !errors.As(err, &proto) || proto.Code != abi.CodeInvalidParams || !strings.Contains(proto.Message, `needs the argument "name"`) {
		t.Fatalf("get without its argument: %v", err)
	}
	_, c, err := p.Complete(ctx, abi.CompleteParams{Ref: abi.CompleteReference{Type: abi.RefPrompt, Name: "greet_prompt"}, Argument: abi.CompleteArgument{Name: "name", Value: "A"}})
	if err != nil || strings.Join(c.Completion.Values, ",") != "Ada,Alan" {
		t.Fatalf("complete A: %+v %v", c, err)
	}
}

// URIs take no prefix, so two plugins cannot serve one: the one loaded
// second is refused, naming both, and so is one whose template matches the
// other's resources. Prompts are prefixed like tools.
func TestTwoPluginsServingOneURITheSecondIsRefused(t *testing.T) {
	dir := t.TempDir()
	hello := testplugin.GoPlugin(t, "./examples/go/hello")
	testplugin.WriteTo(t, hello, dir, "a")
	testplugin.WriteTo(t, hello, dir, "b")
	reg, errs := loadDir(t, dir, "")
	if len(reg.Plugins()) != 1 || len(errs) != 1 {
		t.Fatalf("loaded %d plugins with errors %v; want one, and the second refused", len(reg.Plugins()), errs)
	}
	msg := errs[0].Error()
	for _, want := range []string{`plugin "b"`, `"hello://greeting"`, `plugin "a"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal %q does not say %q", msg, want)
		}
	}
}

func TestFeatureDescriptionChecks(t *testing.T) {
	cases := []struct{ name, desc, says string }{
		{"relative resource URI", `{"name":"p","tools":[],"resources":[{"uri":"notes/a","name":"a"}]}`, "not an absolute URI"},
		{"resource without a name", `{"name":"p","tools":[],"resources":[{"uri":"notes://a"}]}`, "has no name"},
		{"duplicate resource", `{"name":"p","tools":[],"resources":[{"uri":"notes://a","name":"a"},{"uri":"notes://a","name":"b"}]}`, "described twice"},
		{"bad template", `{"name":"p","tools":[],"resourceTemplates":[{"uriTemplate":"notes://{a}{b}","name":"t"}]}`, "resource template"},
		{"templates of one shape", `{"name":"p","tools":[],"resourceTemplates":[{"uriTemplate":"notes://{a}","name":"t"},{"uriTemplate":"notes://{b}","name":"u"}]}`, "matches the same URIs"},
		{"bad prompt name", `{"name":"p","tools":[],"prompts":[{"name":"say hi"}]}`, "a prompt name must be"},
		{"prompt argument twice", `{"name":"p","tools":[],"prompts":[{"name":"x","arguments":[{"name":"a"},{"name":"a"}]}]}`, "argument needs a name of its own"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, _, err := parseDescription("p", "p_", []byte(c.desc))
			if err == nil {
				err = parseFeatures(&Plugin{Name: "p"}, "p_", d)
			}
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error %v; want it to say %q", err, c.says)
			}
		})
	}
}
