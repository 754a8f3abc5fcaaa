package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

// The fixtures of the tasks extension's scenarios (SEP-2663): a tool that
// never runs as a task, tools that may or must, and tools that ask for
// input while they run as one.

// sleep waits d, or less if the call is cancelled (moat ends a sleep when
// the call ends).
func sleep(d time.Duration) { time.Sleep(d) }

func addTaskTools() {
	moat.AddRawTool(moat.ToolDef{Name: "greet", Description: "Greets someone, at once.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}}}`)},
		func(c *moat.Call) (*abi.CallToolResult, error) {
			var in struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(c.Arguments, &in)
			return moat.Text(fmt.Sprintf("Hello, %s!", in.Name)), nil
		})
	moat.AddRawTool(moat.ToolDef{Name: "slow_compute", Description: "Works for the given seconds, then answers; may run as a task.",
		TaskSupport: abi.TaskSupportOptional,
		InputSchema: json.RawMessage(`{"type":"object","properties":{"seconds":{"type":"number"},"label":{"type":"string"}}}`)},
		func(c *moat.Call) (*abi.CallToolResult, error) {
			var in struct {
				Seconds float64 `json:"seconds"`
				Label   string  `json:"label"`
			}
			_ = json.Unmarshal(c.Arguments, &in)
			sleep(time.Duration(in.Seconds * float64(time.Second)))
			return moat.Text(fmt.Sprintf("computed %s after %gs", in.Label, in.Seconds)), nil
		})
	moat.AddRawTool(moat.ToolDef{Name: "failing_job", Description: "Works a second, then reports that its work failed; runs only as a task.",
		TaskSupport: abi.TaskSupportRequired, InputSchema: noArgs},
		func(*moat.Call) (*abi.CallToolResult, error) {
			sleep(time.Second)
			return moat.ErrorResult("the job failed: nothing to compute"), nil
		})
	moat.AddRawTool(moat.ToolDef{Name: "protocol_error_job", Description: "Works a second, then answers with a protocol error; may run as a task.",
		TaskSupport: abi.TaskSupportOptional, InputSchema: noArgs},
		func(*moat.Call) (*abi.CallToolResult, error) {
			sleep(time.Second)
			return nil, &moat.ProtocolError{Code: abi.CodeInternalError, Message: "the job broke down"}
		})
	moat.AddRawTool(moat.ToolDef{Name: "confirm_delete", Description: "Asks the user to confirm, then deletes nothing; may run as a task.",
		TaskSupport: abi.TaskSupportOptional,
		InputSchema: json.RawMessage(`{"type":"object","properties":{"filename":{"type":"string"}}}`)},
		func(c *moat.Call) (*abi.CallToolResult, error) {
			if answer, ok := c.InputResponses["confirm"]; ok {
				if content := elicited(answer); content != nil {
					return moat.Text(fmt.Sprintf("deleted (confirm=%v)", content["confirm"])), nil
				}
				return moat.Text("not deleted"), nil
			}
			sleep(time.Second) // long enough to become a task first
			return moat.InputRequired(map[string]abi.InputRequest{
				"confirm": moat.ElicitRequest(form("Delete the file?", "confirm", "boolean")),
			}, ""), nil
		})
	moat.AddRawTool(moat.ToolDef{Name: "multi_input", Description: "Asks two questions at once; may run as a task.",
		TaskSupport: abi.TaskSupportOptional, InputSchema: noArgs},
		func(c *moat.Call) (*abi.CallToolResult, error) {
			first, second := elicited(c.InputResponses["first"]), elicited(c.InputResponses["second"])
			if first != nil && second != nil {
				return moat.Text(fmt.Sprintf("first=%v second=%v", first["value"], second["value"])), nil
			}
			sleep(time.Second)
			return moat.InputRequired(map[string]abi.InputRequest{
				"first":  moat.ElicitRequest(form("First question?", "value", "string")),
				"second": moat.ElicitRequest(form("Second question?", "value", "string")),
			}, ""), nil
		})
	moat.AddRawTool(moat.ToolDef{Name: "test_tool_with_task", Description: "Asks the user's name at once, then greets them as a task.",
		TaskSupport: abi.TaskSupportRequired, InputSchema: noArgs},
		func(c *moat.Call) (*abi.CallToolResult, error) {
			content := elicited(c.InputResponses["user_name"])
			if content == nil {
				return moat.InputRequired(map[string]abi.InputRequest{
					"user_name": moat.ElicitRequest(form("What is your name?", "name", "string")),
				}, ""), nil
			}
			sleep(time.Second)
			return moat.Text(fmt.Sprintf("Hello, %v, from a task!", content["name"])), nil
		})
}
