// Command gosdk is peer (3) of the load harness: a bare MCP server on the
// official Go SDK, serving the echo tool natively, in Go, over streamable
// HTTP at /mcp with the SDK's defaults (sessions, SSE answers). It is the
// ceiling for an MCP server in Go without a sandbox.
//
// By default the tool is registered as moat registers its tools, with
// Server.AddTool and a handler that decodes the arguments itself; -typed
// registers it with the generic mcp.AddTool instead, which derives the
// schema from a Go type and validates and decodes every call's arguments
// through it (the SDK's documented way, and slower: see BENCHMARKS.md).
//
//	go run ./peers/gosdk -listen 127.0.0.1:8081 [-typed]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// echoIn is the tool's input; the SDK derives the schema from it and
// validates every call's arguments against it, as moat does.
type echoIn struct {
	Text string `json:"text"`
}

func echo(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "serve /mcp on `ADDR`")
	typed := flag.Bool("typed", false, "register the tool with the generic mcp.AddTool")
	flag.Parse()

	server := mcp.NewServer(&mcp.Implementation{Name: "gosdk-echo", Version: "1.0.0"}, nil)
	tool := &mcp.Tool{Name: "echo", Description: "Answers with the text it is given."}
	if *typed {
		mcp.AddTool(server, tool, func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return echo(in.Text), nil, nil
		})
	} else {
		tool.InputSchema = json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`)
		server.AddTool(tool, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var in echoIn
			if err := json.Unmarshal(req.Params.Arguments, &in); err != nil {
				return nil, err
			}
			return echo(in.Text), nil
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil))
	log.Fatal(http.ListenAndServe(*listen, mux))
}
