// Command caps is a moat test plugin that uses the capabilities served so
// far: config_get reads a granted value, progress reports steps, the kv
// imports remember and recall values, and http_request fetches a URL.
package main

import (
	"encoding/json"
	"fmt"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

func init() {
	moat.SetInfo(moat.Info{Name: "caps", Version: "1.0.0", Capabilities: abi.Capabilities{
		HTTP:        &abi.HTTPCapability{Hosts: []string{"127.0.0.1"}},
		KV:          true,
		Config:      []string{"API_TOKEN", "OTHER"},
		Sampling:    true,
		Elicitation: true,
	}})
	moat.AddTextTool(moat.ToolDef{
		Name:        "secret",
		Description: "Reads a granted configuration value and echoes it (the host must redact it).",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"key":{"type":"string"}},"required":["key"]}`),
	}, func(_ *moat.Call, in struct {
		Key string `json:"key"`
	}) (string, error) {
		v, err := moat.ConfigGet(in.Key)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("got %s (%d bytes)", v, len(v)), nil
	})
	moat.AddTextTool(moat.ToolDef{
		Name:        "steps",
		Description: "Reports n progress steps, then says done.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","minimum":1}},"required":["n"]}`),
	}, func(_ *moat.Call, in struct {
		N int `json:"n"`
	}) (string, error) {
		for i := 1; i <= in.N; i++ {
			moat.Progress(float64(i), float64(in.N), fmt.Sprintf("step %d", i))
		}
		return "done", nil
	})
	moat.AddTextTool(moat.ToolDef{
		Name:        "remember",
		Description: "Stores a value under a key in the plugin's kv namespace.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"key":{"type":"string"},"value":{"type":"string"}},"required":["key","value"]}`),
	}, func(_ *moat.Call, in struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}) (string, error) {
		if err := moat.KVSet(in.Key, []byte(in.Value)); err != nil {
			return "", err
		}
		return "stored " + in.Key, nil
	})
	moat.AddTextTool(moat.ToolDef{
		Name:        "recall",
		Description: "Returns the value stored under a key in the plugin's kv namespace.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"key":{"type":"string"}},"required":["key"]}`),
	}, func(_ *moat.Call, in struct {
		Key string `json:"key"`
	}) (string, error) {
		v, err := moat.KVGet(in.Key)
		if err != nil {
			return "", err
		}
		return string(v), nil
	})
	moat.AddTextTool(moat.ToolDef{
		Name:        "fetch",
		Description: "Fetches a URL with GET and returns the status and body, or the error.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"url":{"type":"string"}},"required":["url"]}`),
	}, func(_ *moat.Call, in struct {
		URL string `json:"url"`
	}) (string, error) {
		resp, err := moat.HTTPRequest(abi.HTTPRequest{Method: "GET", URL: in.URL})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d %s", resp.Status, resp.Body), nil
	})
}

func main() {}
