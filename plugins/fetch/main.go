// Command fetch is a moat plugin that fetches a web page and returns it as
// text a model can read, after the reference MCP fetch server: HTML is
// reduced to its readable text (headings, lists, links, code), other text
// comes as it is, and long content is paged with max_length and
// start_index.
//
// It asks for outbound HTTP to any host; what it may reach is what the
// operator grants under plugins.fetch.grants.http, and a URL off that list
// answers a tool error naming the grant.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fetch.wasm ./plugins/fetch
package main

import (
	"encoding/json"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

func init() {
	moat.SetInfo(moat.Info{
		Name:        "fetch",
		Version:     "1.0.0",
		Description: "Fetches a URL and returns its content as readable text, in pages.",
		// Any host: the operator's grant is what narrows it.
		Capabilities: abi.Capabilities{HTTP: &abi.HTTPCapability{Hosts: []string{"*"}}},
	})
	openWorld := true
	moat.AddTextTool(moat.ToolDef{
		Name:  "fetch",
		Title: "Fetch a URL",
		Description: "Fetch a URL from the internet and return its content as text. HTML pages are reduced to " +
			"their readable text, with headings, lists and links kept as Markdown; plain text and JSON come as they are. " +
			"Long content is cut at max_length characters, and the answer then ends with a note giving the " +
			"start_index to pass to read on. Only the hosts the operator allows can be reached.",
		InputSchema: fetchInput,
		Annotations: &abi.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: &openWorld},
	}, func(_ *moat.Call, in fetchIn) (string, error) {
		return fetchURL(in)
	})
}

// main is never called in a reactor; the tool is registered by init.
func main() {}

var fetchInput = json.RawMessage(`{
	"type": "object",
	"properties": {
		"url": {"type": "string", "description": "The http or https URL to fetch."},
		"max_length": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 5000, "description": "The most characters to return."},
		"start_index": {"type": "integer", "minimum": 0, "default": 0, "description": "Return characters from this index on: pass the start_index a truncated answer gave, to read on."},
		"raw": {"type": "boolean", "default": false, "description": "Return an HTML page's source as it is, rather than its readable text."}
	},
	"required": ["url"],
	"additionalProperties": false
}`)
