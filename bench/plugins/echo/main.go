// Command echo is the plugin the load harness serves from moat: one tool,
// echo {text}, answering with its text. It reads its argument with the Go
// SDK's StringArg rather than a typed handler, the path a plugin author
// takes when a call's cost matters; a typed handler would add
// encoding/json's work inside the sandbox to every call.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o echo.wasm ./plugins/echo
package main

import (
	"encoding/json"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

// inputSchema is the same schema every peer in the comparison declares,
// so that moat validates what the others validate.
var inputSchema = json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`)

func init() {
	moat.SetInfo(moat.Info{Name: "echo", Version: "1.0.0", Description: "The load harness's echo."})
	moat.AddRawTool(moat.ToolDef{
		Name:        "echo",
		Description: "Answers with the text it is given.",
		InputSchema: inputSchema,
	}, func(c *moat.Call) (*abi.CallToolResult, error) {
		text, err := c.StringArg("text")
		if err != nil {
			return nil, err
		}
		return moat.Text(text), nil
	})
}

// main is never called: a reactor's tools are registered by init.
func main() {}
