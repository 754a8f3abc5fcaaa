// Command conformance is the plugin that serves the fixtures of the
// official MCP conformance suite: the tools, resources, resource templates,
// prompts and completions its server scenarios call, under the names and
// with the answers the suite expects. `make conformance` builds it, serves
// it with examples/config/conformance.yaml, and runs the suite against it.
// Build it alone with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o conformance.wasm .
//
// Everything the suite checks beyond a plain answer goes through moat's
// host functions, so that the run tests moat rather than the plugin: log
// messages (moat.Log), progress (moat.Progress), sampling (moat.Sample) and
// elicitation (moat.Elicit).
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

// pixelPNG is a PNG image of one blue pixel, base64, the smallest image a
// client can decode.
const pixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAAEElEQVR4nGKSz98CCAAA//8B+wFFwUyHVQAAAABJRU5ErkJggg=="

// noArgs is the input schema of the tools that take no arguments.
var noArgs = json.RawMessage(`{"type":"object","properties":{}}`)

func init() {
	moat.SetInfo(moat.Info{
		Name:        "conformance",
		Version:     "1.0.0",
		Description: "The fixtures of the official MCP conformance suite.",
		// test_sampling and the elicitation tools need both; the operator
		// grants them in examples/config/conformance.yaml.
		Capabilities: abi.Capabilities{Sampling: true, Elicitation: true},
	})
	addContentTools()
	addNotifyingTools()
	addClientTools()
	addSchemaTool()
	addResources()
	addPrompts()
	addInputRequiredTools()
	addTaskTools()
	addHeaderTool()
}

// addContentTools registers the tools that return each kind of content
// block, and the one that fails.
func addContentTools() {
	fixed := func(name, desc string, content ...abi.Content) {
		moat.AddRawTool(moat.ToolDef{Name: name, Description: desc, InputSchema: noArgs},
			func(*moat.Call) (*abi.CallToolResult, error) {
				return &abi.CallToolResult{Content: content}, nil
			})
	}
	fixed("test_simple_text", "Returns one text block.",
		abi.Content{Type: "text", Text: "This is a simple text response for testing."})
	fixed("test_image_content", "Returns one PNG image.",
		abi.Content{Type: "image", Data: pixelPNG, MIMEType: "image/png"})
	fixed("test_audio_content", "Returns one WAV sound.",
		abi.Content{Type: "audio", Data: base64.StdEncoding.EncodeToString(silentWAV(8000, 80)), MIMEType: "audio/wav"})
	fixed("test_embedded_resource", "Returns an embedded text resource.",
		abi.Content{Type: "resource", Resource: &abi.ResourceContents{
			URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource content.",
		}})
	fixed("test_multiple_content_types", "Returns text, an image and an embedded resource.",
		abi.Content{Type: "text", Text: "Multiple content types test:"},
		abi.Content{Type: "image", Data: pixelPNG, MIMEType: "image/png"},
		abi.Content{Type: "resource", Resource: &abi.ResourceContents{
			URI: "test://mixed-content-resource", MIMEType: "application/json", Text: `{"test":"data","value":123}`,
		}})
	moat.AddRawTool(moat.ToolDef{Name: "test_error_handling", Description: "Always fails, with a message for the model.", InputSchema: noArgs},
		func(*moat.Call) (*abi.CallToolResult, error) {
			return moat.ErrorResult("This tool intentionally returns an error for testing"), nil
		})
}

// addNotifyingTools registers the tools that send notifications while they
// run: log messages and progress. The pauses between them let a client see
// each arrive during the call, not all at its end.
func addNotifyingTools() {
	moat.AddRawTool(moat.ToolDef{Name: "test_tool_with_logging", Description: "Logs three messages at info level while it runs.", InputSchema: noArgs},
		func(*moat.Call) (*abi.CallToolResult, error) {
			moat.LogInfo("Tool execution started")
			time.Sleep(50 * time.Millisecond)
			moat.LogInfo("Tool processing data")
			time.Sleep(50 * time.Millisecond)
			moat.LogInfo("Tool execution completed")
			return moat.Text("Logged three messages."), nil
		})
	moat.AddRawTool(moat.ToolDef{Name: "test_tool_with_progress", Description: "Reports progress 0, 50 and 100 of 100 while it runs.", InputSchema: noArgs},
		func(*moat.Call) (*abi.CallToolResult, error) {
			for i, p := range []float64{0, 50, 100} {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				moat.Progress(p, 100, "")
			}
			return moat.Text("Reported progress up to 100 of 100."), nil
		})
}

// addClientTools registers the tools that ask the client something: its
// model (sampling) or its user (elicitation).
func addClientTools() {
	moat.AddRawTool(moat.ToolDef{
		Name:        "test_sampling",
		Description: "Asks the client's model to answer a prompt.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"prompt":{"type":"string","description":"The prompt to send to the model."}},"required":["prompt"]}`),
	}, func(c *moat.Call) (*abi.CallToolResult, error) {
		prompt, err := c.StringArg("prompt")
		if err != nil {
			return nil, err
		}
		params, err := json.Marshal(map[string]any{
			"messages":  []abi.PromptMessage{moat.UserMessage(prompt)},
			"maxTokens": 100,
		})
		if err != nil {
			return nil, err
		}
		out, err := moat.Sample(params)
		if err != nil {
			return nil, fmt.Errorf("sampling failed: %w", err)
		}
		var answer struct {
			Content abi.Content `json:"content"`
		}
		if err := json.Unmarshal(out, &answer); err != nil {
			return nil, fmt.Errorf("the client's sampling result does not decode: %v", err)
		}
		return moat.Text("LLM response: " + answer.Content.Text), nil
	})

	moat.AddRawTool(moat.ToolDef{
		Name:        "test_elicitation",
		Description: "Asks the user for a username and an email address.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"message":{"type":"string","description":"The message to show the user."}},"required":["message"]}`),
	}, func(c *moat.Call) (*abi.CallToolResult, error) {
		msg, err := c.StringArg("message")
		if err != nil {
			return nil, err
		}
		return elicit("User response: ", msg, `{
			"type": "object",
			"properties": {
				"username": {"type": "string", "description": "User's response"},
				"email": {"type": "string", "description": "User's email address"}
			},
			"required": ["username", "email"]
		}`)
	})

	moat.AddRawTool(moat.ToolDef{
		Name:        "test_elicitation_sep1034_defaults",
		Description: "Asks the user for values of each primitive type, each with a default (SEP-1034).",
		InputSchema: noArgs,
	}, func(*moat.Call) (*abi.CallToolResult, error) {
		return elicit("Elicitation completed: ", "Please review your profile; each field has a default.", `{
			"type": "object",
			"properties": {
				"name": {"type": "string", "description": "Your name", "default": "John Doe"},
				"age": {"type": "integer", "description": "Your age", "default": 30},
				"score": {"type": "number", "description": "Your score", "default": 95.5},
				"status": {"type": "string", "description": "Your status", "enum": ["active", "inactive", "pending"], "default": "active"},
				"verified": {"type": "boolean", "description": "Whether you are verified", "default": true}
			}
		}`)
	})

	moat.AddRawTool(moat.ToolDef{
		Name:        "test_elicitation_sep1330_enums",
		Description: "Asks the user to choose, with each of the five enum schemas (SEP-1330).",
		InputSchema: noArgs,
	}, func(*moat.Call) (*abi.CallToolResult, error) {
		return elicit("Elicitation completed: ", "Please choose an option in each list.", `{
			"type": "object",
			"properties": {
				"untitledSingle": {"type": "string", "title": "Untitled single choice", "enum": ["option1", "option2", "option3"]},
				"titledSingle": {"type": "string", "title": "Titled single choice", "oneOf": [
					{"const": "value1", "title": "First Option"},
					{"const": "value2", "title": "Second Option"},
					{"const": "value3", "title": "Third Option"}
				]},
				"legacyEnum": {"type": "string", "title": "Legacy titled choice", "enum": ["opt1", "opt2", "opt3"],
					"enumNames": ["Option One", "Option Two", "Option Three"]},
				"untitledMulti": {"type": "array", "title": "Untitled multiple choice",
					"items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
				"titledMulti": {"type": "array", "title": "Titled multiple choice", "items": {"anyOf": [
					{"const": "value1", "title": "First Choice"},
					{"const": "value2", "title": "Second Choice"},
					{"const": "value3", "title": "Third Choice"}
				]}}
			}
		}`)
	})
}

// elicit asks the user through the client with the message and schema, and
// reports the answer as text after lead.
func elicit(lead, message, schema string) (*abi.CallToolResult, error) {
	params, err := json.Marshal(map[string]any{"message": message, "requestedSchema": json.RawMessage(schema)})
	if err != nil {
		return nil, err
	}
	out, err := moat.Elicit(params)
	if err != nil {
		return nil, fmt.Errorf("elicitation failed: %w", err)
	}
	var answer struct {
		Action  string          `json:"action"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(out, &answer); err != nil {
		return nil, fmt.Errorf("the client's elicitation result does not decode: %v", err)
	}
	content := string(answer.Content)
	if content == "" {
		content = "{}"
	}
	return moat.Text(lead + "action=" + answer.Action + ", content=" + content), nil
}

// addSchemaTool registers the tool whose input schema uses the keywords of
// JSON Schema 2020-12 that a server must pass on untouched: $schema, $defs
// with an $anchor, $ref, allOf/anyOf, if/then/else and
// additionalProperties.
func addSchemaTool() {
	moat.AddRawTool(moat.ToolDef{
		Name:        "json_schema_2020_12_tool",
		Description: "Takes contact details described with JSON Schema 2020-12 keywords.",
		InputSchema: json.RawMessage(`{
			"$schema": "https://json-schema.org/draft/2020-12/schema",
			"type": "object",
			"$defs": {
				"address": {
					"$anchor": "addressDef",
					"type": "object",
					"properties": {"street": {"type": "string"}, "city": {"type": "string"}}
				}
			},
			"properties": {
				"name": {"type": "string"},
				"address": {"$ref": "#/$defs/address"},
				"contactMethod": {"type": "string", "enum": ["phone", "email"]},
				"phone": {"type": "string"},
				"email": {"type": "string"}
			},
			"allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
			"if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
			"then": {"required": ["phone"]},
			"else": {"required": ["email"]},
			"additionalProperties": false
		}`),
	}, func(c *moat.Call) (*abi.CallToolResult, error) {
		return moat.Text("Received: " + string(c.Arguments)), nil
	})
}

// addResources registers the static resources, the template, and the
// completion of the template's variable.
func addResources() {
	moat.AddResource(moat.ResourceDef{
		URI: "test://static-text", Name: "static-text", Description: "A fixed text resource.", MIMEType: "text/plain",
	}, func(string) ([]abi.ResourceContents, error) {
		return []abi.ResourceContents{{Text: "This is the content of the static text resource."}}, nil
	})
	moat.AddResource(moat.ResourceDef{
		URI: "test://static-binary", Name: "static-binary", Description: "A fixed binary resource: a PNG image.", MIMEType: "image/png",
	}, func(string) ([]abi.ResourceContents, error) {
		return []abi.ResourceContents{{Blob: pixelPNG}}, nil
	})
	moat.AddResource(moat.ResourceDef{
		URI: "test://watched-resource", Name: "watched-resource", Description: "A resource clients subscribe to.", MIMEType: "text/plain",
	}, func(string) ([]abi.ResourceContents, error) {
		return []abi.ResourceContents{{Text: "Watched resource content."}}, nil
	})
	const data = "test://template/{id}/data"
	moat.AddResourceTemplate(moat.ResourceTemplateDef{
		URITemplate: data, Name: "template-data", Description: "JSON data for the item named in the URI.", MIMEType: "application/json",
	}, func(_ string, vars map[string]string) ([]abi.ResourceContents, error) {
		b, err := json.Marshal(map[string]any{"id": vars["id"], "templateTest": true, "data": "Data for ID: " + vars["id"]})
		if err != nil {
			return nil, err
		}
		return []abi.ResourceContents{{Text: string(b)}}, nil
	})
	moat.AddResourceCompletion(data, "id", startingWith("1", "2", "3", "123"))
}

// addPrompts registers the prompts and the completion of an argument.
func addPrompts() {
	moat.AddPrompt(moat.PromptDef{Name: "test_simple_prompt", Description: "A prompt without arguments."},
		func(map[string]string) (*abi.GetPromptResult, error) {
			return &abi.GetPromptResult{Messages: []abi.PromptMessage{moat.UserMessage("This is a simple prompt for testing.")}}, nil
		})
	moat.AddPrompt(moat.PromptDef{
		Name:        "test_prompt_with_arguments",
		Description: "A prompt that repeats its two arguments.",
		Arguments: []abi.PromptArgument{
			{Name: "arg1", Description: "First test argument", Required: true},
			{Name: "arg2", Description: "Second test argument", Required: true},
		},
	}, func(args map[string]string) (*abi.GetPromptResult, error) {
		text := fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", args["arg1"], args["arg2"])
		return &abi.GetPromptResult{Messages: []abi.PromptMessage{moat.UserMessage(text)}}, nil
	})
	moat.AddPromptCompletion("test_prompt_with_arguments", "arg1", startingWith("paris", "park", "party", "test", "testing"))
	moat.AddPrompt(moat.PromptDef{
		Name:        "test_prompt_with_embedded_resource",
		Description: "A prompt that embeds the resource named by its argument.",
		Arguments:   []abi.PromptArgument{{Name: "resourceUri", Description: "URI of the resource to embed", Required: true}},
	}, func(args map[string]string) (*abi.GetPromptResult, error) {
		return &abi.GetPromptResult{Messages: []abi.PromptMessage{
			{Role: abi.RoleUser, Content: abi.Content{Type: "resource", Resource: &abi.ResourceContents{
				URI: args["resourceUri"], MIMEType: "text/plain", Text: "Embedded resource content for testing.",
			}}},
			moat.UserMessage("Please process the embedded resource above."),
		}}, nil
	})
	moat.AddPrompt(moat.PromptDef{Name: "test_prompt_with_image", Description: "A prompt that shows an image."},
		func(map[string]string) (*abi.GetPromptResult, error) {
			return &abi.GetPromptResult{Messages: []abi.PromptMessage{
				{Role: abi.RoleUser, Content: abi.Content{Type: "image", Data: pixelPNG, MIMEType: "image/png"}},
				moat.UserMessage("Please analyze the image above."),
			}}, nil
		})
}

// startingWith completes a value from a fixed list, keeping the entries
// that start with what was typed.
func startingWith(list ...string) moat.Completer {
	return func(value string, _ map[string]string) []string {
		out := []string{}
		for _, s := range list {
			if strings.HasPrefix(s, value) {
				out = append(out, s)
			}
		}
		return out
	}
}

// silentWAV is a WAV file of ms milliseconds of silence: mono, 8-bit PCM
// at rate samples a second. Eight-bit samples are unsigned, so silence is
// 128, not 0.
func silentWAV(rate, ms int) []byte {
	n := rate * ms / 1000
	b := make([]byte, 0, 44+n)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+n))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16) // size of the fmt chunk
	b = binary.LittleEndian.AppendUint16(b, 1)  // PCM
	b = binary.LittleEndian.AppendUint16(b, 1)  // one channel
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate)) // bytes a second
	b = binary.LittleEndian.AppendUint16(b, 1)            // bytes a frame
	b = binary.LittleEndian.AppendUint16(b, 8)            // bits a sample
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for range n {
		b = append(b, 128)
	}
	return b
}

func main() {}
