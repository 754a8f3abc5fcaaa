// Command caps is a moat test plugin that uses the capabilities served so
// far: config_get reads a granted value, progress reports steps, the kv
// imports remember and recall values, http_request fetches a URL, sample
// and elicit ask the client, log speaks at every level, and wait runs
// until the call is cancelled.
package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

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
	moat.AddTextTool(moat.ToolDef{
		Name:        "sample",
		Description: "Sends params to the client as sampling/createMessage and returns its answer, or the error; leak puts a granted value in the system prompt.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"params":{},"leak":{"type":"string"}},"required":["params"]}`),
	}, func(_ *moat.Call, in struct {
		Params json.RawMessage `json:"params"`
		Leak   string          `json:"leak"`
	}) (string, error) {
		params := in.Params
		if in.Leak != "" {
			v, err := moat.ConfigGet(in.Leak)
			if err != nil {
				return "", err
			}
			var p map[string]any
			if err := json.Unmarshal(params, &p); err != nil {
				return "", err
			}
			p["systemPrompt"] = "the key is " + v
			if params, err = json.Marshal(p); err != nil {
				return "", err
			}
		}
		out, err := moat.Sample(params)
		if err != nil {
			return "", err
		}
		return string(out), nil
	})
	moat.AddTextTool(moat.ToolDef{
		Name:        "elicit",
		Description: "Sends params to the client as elicitation/create and returns its answer, or the error.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"params":{}},"required":["params"]}`),
	}, func(_ *moat.Call, in struct {
		Params json.RawMessage `json:"params"`
	}) (string, error) {
		out, err := moat.Elicit(in.Params)
		if err != nil {
			return "", err
		}
		return string(out), nil
	})
	moat.AddTextTool(moat.ToolDef{
		Name:        "interview",
		Description: "Asks the user two questions through elicitation/create, one after the other, and returns both answers.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"topic":{"type":"string"}}}`),
	}, func(_ *moat.Call, in struct {
		Topic string `json:"topic"`
	}) (string, error) {
		var answers []string
		for _, q := range []string{"Who is asking?", "What about " + in.Topic + "?"} {
			params, err := json.Marshal(map[string]any{"message": q,
				"requestedSchema": map[string]any{"type": "object", "properties": map[string]any{"answer": map[string]any{"type": "string"}}}})
			if err != nil {
				return "", err
			}
			out, err := moat.Elicit(params)
			if err != nil {
				return "", err
			}
			answers = append(answers, string(out))
		}
		return strings.Join(answers, " | "), nil
	})
	moat.AddTextTool(moat.ToolDef{
		Name:        "say",
		Description: "Logs text once at each level, debug to error.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`),
	}, func(_ *moat.Call, in struct {
		Text string `json:"text"`
	}) (string, error) {
		moat.LogDebug("debug: " + in.Text)
		moat.LogInfo("info: " + in.Text)
		moat.LogWarn("warn: " + in.Text)
		moat.LogError("error: " + in.Text)
		return "said", nil
	})
	moat.AddTextTool(moat.ToolDef{
		Name:        "wait",
		Description: "Reports progress once, then polls moat.Cancelled until the call is cancelled, for at most max_ms.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"max_ms":{"type":"integer","minimum":0}},"required":["max_ms"]}`),
	}, func(_ *moat.Call, in struct {
		MaxMS int `json:"max_ms"`
	}) (string, error) {
		moat.Progress(0, 1, "waiting for cancellation")
		end := time.Now().Add(time.Duration(in.MaxMS) * time.Millisecond)
		for time.Now().Before(end) {
			if moat.Cancelled() {
				return "cancelled", nil
			}
			time.Sleep(5 * time.Millisecond)
		}
		return "never cancelled", nil
	})
}

func main() {}
