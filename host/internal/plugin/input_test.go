//lint:file-ignore SA1019 MCP deprecates sampling and roots from protocol 2026-07-28 only, within a window of a year; input requests still carry them

package plugin

import (
	"strings"
	"testing"

	"github.com/moat-mcp/moat/host/config"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The input requests a plugin's result may carry: methods MCP defines for
// them, with the params each needs, and only what the plugin is granted.
func TestCheckInputRequests(t *testing.T) {
	p := &Plugin{Name: "asker", Granted: config.Grants{Elicitation: true}}
	schema := map[string]any{"type": "object"}
	ok := mcp.InputRequestMap{
		"name":  &mcp.ElicitParams{Message: "Who?", RequestedSchema: schema},
		"roots": &mcp.ListRootsParams{},
	}
	if err := p.checkInputRequests(ok); err != nil {
		t.Fatalf("a granted elicitation and roots/list: %v", err)
	}
	many := mcp.InputRequestMap{}
	for i := range MaxInputRequests + 1 {
		many[strings.Repeat("k", i+1)] = &mcp.ListRootsParams{}
	}
	cases := map[string]struct {
		m    mcp.InputRequestMap
		says string
	}{
		"none":                {mcp.InputRequestMap{}, "inputRequests is empty"},
		"too many":            {many, "more than the 16"},
		"sampling ungranted":  {mcp.InputRequestMap{"q": &mcp.CreateMessageWithToolsParams{MaxTokens: 5}}, "plugins.asker.grants.sampling"},
		"no message":          {mcp.InputRequestMap{"q": &mcp.ElicitParams{RequestedSchema: schema}}, "need a message"},
		"form without schema": {mcp.InputRequestMap{"q": &mcp.ElicitParams{Message: "Who?"}}, "requestedSchema"},
		"empty key":           {mcp.InputRequestMap{"": &mcp.ListRootsParams{}}, "key is empty"},
	}
	for name, c := range cases {
		err := p.checkInputRequests(c.m)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v; want an error saying %q", name, err, c.says)
		}
	}
	p.Granted.Sampling = true
	if err := p.checkInputRequests(mcp.InputRequestMap{"q": &mcp.CreateMessageWithToolsParams{MaxTokens: 5}}); err == nil || !strings.Contains(err.Error(), "need messages") {
		t.Errorf("sampling without messages: %v", err)
	}
}
