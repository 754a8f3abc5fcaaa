// Package moat is the Go SDK for moat plugins: MCP tools served from a
// sandboxed WebAssembly module under ABI v1 (package abi).
//
// A plugin is a main package that imports this one and registers its tools
// in an init function. It is built as a WASI reactor, in which the main
// function never runs:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o greet.wasm .
//
// The package provides the module's exports (moat_abi_version, moat_alloc,
// moat_describe, moat_call), turns tools/call requests into calls of typed
// handlers, and wraps the host functions of import module "moat" (Log,
// Progress, Cancelled, HTTPRequest, KVGet, ConfigGet, Sample, ...). Only the
// host functions a plugin's code can reach end up among its imports, which
// is what an operator reads to see what it can do.
//
// A plugin with one tool:
//
//	package main
//
//	import (
//		"encoding/json"
//		"errors"
//
//		"github.com/moat-mcp/moat/abi"
//		moat "github.com/moat-mcp/moat/sdk/go"
//	)
//
//	type greetIn struct {
//		Name string `json:"name"`
//	}
//
//	type greetOut struct {
//		Greeting string `json:"greeting"`
//	}
//
//	func init() {
//		moat.SetInfo(moat.Info{Name: "greet", Version: "1.0.0"})
//		moat.AddTool(moat.ToolDef{
//			Name:        "greet",
//			Description: "Greets someone by name.",
//			InputSchema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`),
//			Annotations: &abi.ToolAnnotations{ReadOnlyHint: true},
//		}, func(c *moat.Call, in greetIn) (greetOut, error) {
//			if in.Name == "" {
//				return greetOut{}, errors.New("name is empty: pass the name of the person to greet")
//			}
//			return greetOut{Greeting: "Hello, " + in.Name + "!"}, nil
//		})
//	}
//
//	func main() {}
//
// Resources, resource templates and prompts are registered the same way,
// with AddResource, AddResourceTemplate and AddPrompt; AddPromptCompletion
// and AddResourceCompletion suggest values for a prompt's arguments and a
// template's variables, and NotifyResourceUpdated tells the host that a
// resource changed:
//
//	moat.AddResourceTemplate(moat.ResourceTemplateDef{
//		URITemplate: "hello://greeting/{name}", Name: "personal-greeting", MIMEType: "text/plain",
//	}, func(uri string, vars map[string]string) ([]abi.ResourceContents, error) {
//		return []abi.ResourceContents{{Text: "Hello, " + vars["name"] + "!"}}, nil
//	})
//	moat.AddPrompt(moat.PromptDef{
//		Name: "greet_prompt", Arguments: []abi.PromptArgument{{Name: "name", Required: true}},
//	}, func(args map[string]string) (*abi.GetPromptResult, error) {
//		return &abi.GetPromptResult{Messages: []abi.PromptMessage{moat.UserMessage("Please greet " + args["name"] + " warmly.")}}, nil
//	})
//
// The SDK answers resources/read, prompts/get and completion/complete
// (docs/ABI.md), and moat serves them to MCP clients: resources and
// templates under their own URIs, prompts prefixed like tools.
//
// A handler's error, arguments that do not decode, and a panic all become a
// result with isError set and a message for the model; an unknown tool or
// method is a protocol error. Handlers run one at a time, inside the host's
// call of moat_call. They may start goroutines and wait for them, but a
// goroutine still running when the handler returns is frozen until the host
// next calls into the module: nothing runs between calls.
//
// Built for any other platform than wasip1, the host functions are stubs
// (capabilities fail with ErrUnsupported), so a plugin's logic, and Handle
// and Describe, can be tested with go test.
package moat
