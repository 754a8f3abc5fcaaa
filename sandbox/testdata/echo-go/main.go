// Command echo-go is a moat test plugin written with the Go SDK: one tool,
// echo {text}, that returns its text unchanged. It takes the SDK's cheapest
// path, a raw handler reading its one argument with StringArg, so that a
// benchmark of it measures call overhead rather than encoding/json.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o echo.wasm ./sandbox/testdata/echo-go
package main

import (
	"encoding/json"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

func init() {
	moat.SetInfo(moat.Info{Name: "echo", Version: "1.0.0", Description: "Returns its text unchanged."})
	moat.AddRawTool(moat.ToolDef{
		Name:        "echo",
		Description: "Returns the text it is given.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`),
	}, func(c *moat.Call) (*abi.CallToolResult, error) {
		text, err := c.StringArg("text")
		if err != nil {
			return nil, err
		}
		return moat.Text(text), nil
	})
}

// main is never called in a reactor; the tools are registered by init.
func main() {}
