package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

// The fixtures of the input-required scenarios (MCP 2026-07-28, SEP-2322):
// tools and a prompt that return input-required results themselves, with
// the keys and the state the suite names. moat signs their state into its
// own and checks it when the client comes back.

// form is elicitation/create params asking message, for a form of one
// property.
func form(message, property, kind string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"message": message, "requestedSchema": map[string]any{
		"type": "object", "properties": map[string]any{property: map[string]any{"type": kind}}, "required": []string{property}}})
	return b
}

// question is sampling/createMessage params asking text.
func question(text string, maxTokens int) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"maxTokens": maxTokens, "messages": []any{
		map[string]any{"role": "user", "content": map[string]any{"type": "text", "text": text}}}})
	return b
}

// elicited is the content of an accepted elicitation answer, or nil.
func elicited(raw json.RawMessage) map[string]any {
	var answer struct {
		Action  string         `json:"action"`
		Content map[string]any `json:"content"`
	}
	if json.Unmarshal(raw, &answer) != nil || answer.Action != "accept" {
		return nil
	}
	return answer.Content
}

// sampledText is the text of a sampling answer.
func sampledText(raw json.RawMessage) string {
	var answer struct {
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(raw, &answer) != nil {
		return ""
	}
	var one struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(answer.Content, &one) == nil {
		return one.Text
	}
	var many []struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(answer.Content, &many)
	var parts []string
	for _, b := range many {
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, " ")
}

// rootURIs lists the URIs of a roots/list answer.
func rootURIs(raw json.RawMessage) []string {
	var answer struct {
		Roots []struct {
			URI string `json:"uri"`
		} `json:"roots"`
	}
	_ = json.Unmarshal(raw, &answer)
	var uris []string
	for _, r := range answer.Roots {
		uris = append(uris, r.URI)
	}
	return uris
}

// clientCan reports whether the client declared capability in the
// _meta moat passes on; a client that declared nothing can.
func clientCan(c *moat.Call, capability string) bool {
	var meta map[string]json.RawMessage
	if json.Unmarshal(c.Meta, &meta) != nil {
		return true
	}
	raw, ok := meta["io.modelcontextprotocol/clientCapabilities"]
	if !ok {
		return true
	}
	var caps map[string]json.RawMessage
	if json.Unmarshal(raw, &caps) != nil {
		return true
	}
	_, ok = caps[capability]
	return ok
}

func addInputRequiredTools() {
	tool := func(name, desc string, h func(c *moat.Call) (*abi.CallToolResult, error)) {
		moat.AddRawTool(moat.ToolDef{Name: name, Description: desc, InputSchema: noArgs}, h)
	}
	tool("test_input_required_result_elicitation", "Asks the user's name, then greets them.", func(c *moat.Call) (*abi.CallToolResult, error) {
		if content := elicited(c.InputResponses["user_name"]); content != nil {
			return moat.Text(fmt.Sprintf("Hello, %v!", content["name"])), nil
		}
		return moat.InputRequired(map[string]abi.InputRequest{
			"user_name": moat.ElicitRequest(form("What is your name?", "name", "string")),
		}, ""), nil
	})
	tool("test_input_required_result_sampling", "Asks the client's model the capital of France.", func(c *moat.Call) (*abi.CallToolResult, error) {
		if raw, ok := c.InputResponses["capital_question"]; ok {
			return moat.Text("The model said: " + sampledText(raw)), nil
		}
		return moat.InputRequired(map[string]abi.InputRequest{
			"capital_question": moat.SampleRequest(question("What is the capital of France?", 100)),
		}, ""), nil
	})
	tool("test_input_required_result_list_roots", "Asks the client for its roots.", func(c *moat.Call) (*abi.CallToolResult, error) {
		if raw, ok := c.InputResponses["client_roots"]; ok {
			return moat.Text("Roots: " + strings.Join(rootURIs(raw), ", ")), nil
		}
		return moat.InputRequired(map[string]abi.InputRequest{"client_roots": moat.RootsRequest()}, ""), nil
	})
	tool("test_input_required_result_request_state", "Asks for a confirmation, with state to carry to the next round.", func(c *moat.Call) (*abi.CallToolResult, error) {
		if _, ok := c.InputResponses["confirm"]; ok && c.RequestState == "awaiting-confirm" {
			return moat.Text("state-ok: confirmed"), nil
		}
		return moat.InputRequired(map[string]abi.InputRequest{
			"confirm": moat.ElicitRequest(form("Please confirm", "ok", "boolean")),
		}, "awaiting-confirm"), nil
	})
	tool("test_input_required_result_multiple_inputs", "Asks a name, a greeting and the roots at once.", func(c *moat.Call) (*abi.CallToolResult, error) {
		name, greeting, roots := c.InputResponses["user_name"], c.InputResponses["greeting"], c.InputResponses["client_roots"]
		if name != nil && greeting != nil && roots != nil && c.RequestState == "three-inputs" {
			return moat.Text(fmt.Sprintf("%s %v (roots: %s)", sampledText(greeting), elicited(name)["name"], strings.Join(rootURIs(roots), ", "))), nil
		}
		return moat.InputRequired(map[string]abi.InputRequest{
			"user_name":    moat.ElicitRequest(form("What is your name?", "name", "string")),
			"greeting":     moat.SampleRequest(question("Generate a greeting", 50)),
			"client_roots": moat.RootsRequest(),
		}, "three-inputs"), nil
	})
	tool("test_input_required_result_multi_round", "Asks two questions, one round each.", func(c *moat.Call) (*abi.CallToolResult, error) {
		switch {
		case c.RequestState == "step2" && c.InputResponses["step2"] != nil:
			return moat.Text(fmt.Sprintf("Favourite colour: %v", elicited(c.InputResponses["step2"])["color"])), nil
		case c.RequestState == "step1" && c.InputResponses["step1"] != nil:
			return moat.InputRequired(map[string]abi.InputRequest{
				"step2": moat.ElicitRequest(form("Step 2: What is your favorite color?", "color", "string")),
			}, "step2"), nil
		}
		return moat.InputRequired(map[string]abi.InputRequest{
			"step1": moat.ElicitRequest(form("Step 1: What is your name?", "name", "string")),
		}, "step1"), nil
	})
	tool("test_input_required_result_tampered_state", "Asks for a confirmation; moat refuses a state the client altered.", func(c *moat.Call) (*abi.CallToolResult, error) {
		if _, ok := c.InputResponses["confirm"]; ok && c.RequestState == "untampered" {
			return moat.Text("confirmed"), nil
		}
		return moat.InputRequired(map[string]abi.InputRequest{
			"confirm": moat.ElicitRequest(form("Please confirm", "ok", "boolean")),
		}, "untampered"), nil
	})
	tool("test_input_required_result_capabilities", "Asks only for the inputs the client declared it can give.", func(c *moat.Call) (*abi.CallToolResult, error) {
		if len(c.InputResponses) > 0 {
			return moat.Text("thanks"), nil
		}
		requests := map[string]abi.InputRequest{}
		if clientCan(c, "elicitation") {
			requests["user_name"] = moat.ElicitRequest(form("What is your name?", "name", "string"))
		}
		if clientCan(c, "sampling") {
			requests["greeting"] = moat.SampleRequest(question("Generate a greeting", 50))
		}
		if len(requests) == 0 {
			return moat.Text("the client can answer nothing"), nil
		}
		return moat.InputRequired(requests, ""), nil
	})
	// The stateless scenario's diagnostics (SEP-2575).
	tool("test_missing_capability", "Needs the client's model: asks it for a completion, which a client without sampling cannot give.", func(c *moat.Call) (*abi.CallToolResult, error) {
		if raw, ok := c.InputResponses["completion"]; ok {
			return moat.Text("The model said: " + sampledText(raw)), nil
		}
		return moat.InputRequired(map[string]abi.InputRequest{"completion": moat.SampleRequest(question("Say hello.", 20))}, ""), nil
	})
	tool("test_streaming_elicitation", "Answers with a plain result: the response carries no request of its own.", func(*moat.Call) (*abi.CallToolResult, error) {
		return moat.Text("stream observed: result frames only, no top-level requests"), nil
	})
	tool("test_logging_tool", "Logs a message, which reaches only a client that set a log level.", func(*moat.Call) (*abi.CallToolResult, error) {
		moat.LogInfo("test_logging_tool executed")
		return moat.Text("Log attempted."), nil
	})
	moat.AddPromptCall(moat.PromptDef{Name: "test_input_required_result_prompt", Description: "A prompt that asks the user for its context first."},
		func(c *moat.PromptCall) (*abi.GetPromptResult, error) {
			if content := elicited(c.InputResponses["user_context"]); content != nil {
				return &abi.GetPromptResult{Messages: []abi.PromptMessage{moat.UserMessage(fmt.Sprintf("Context: %v", content["context"]))}}, nil
			}
			return moat.PromptInputRequired(map[string]abi.InputRequest{
				"user_context": moat.ElicitRequest(form("What context should the prompt use?", "context", "string")),
			}, ""), nil
		})
}

// addHeaderTool registers the tool whose region argument clients mirror
// into the Mcp-Param-Region header (SEP-2243): the go-sdk checks the
// header against the body before moat's handler runs.
func addHeaderTool() {
	moat.AddRawTool(moat.ToolDef{
		Name:        "test_x_mcp_header",
		Description: "Answers with its region, which clients also send in the Mcp-Param-Region header.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{
			"region":{"type":"string","description":"mirrored into Mcp-Param-Region","x-mcp-header":"Region"},
			"level":{"type":"integer","description":"not mirrored"}}}`),
	}, func(c *moat.Call) (*abi.CallToolResult, error) {
		region, _ := c.StringArg("region")
		return moat.Text("region=" + region), nil
	})
}
