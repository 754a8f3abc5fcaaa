// Command notify is a plugin whose one tool announces a change of a
// resource, so that it imports moat.notify_resource_updated; the examples'
// tests check that, beside the hello that never calls it and does not.
package main

import (
	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

func init() {
	moat.SetInfo(moat.Info{Name: "notify"})
	moat.AddResource(moat.ResourceDef{URI: "notify://state", Name: "state"}, func(string) ([]abi.ResourceContents, error) {
		return []abi.ResourceContents{{Text: "on"}}, nil
	})
	moat.AddTextTool(moat.ToolDef{Name: "touch"}, func(*moat.Call, struct{}) (string, error) {
		if err := moat.NotifyResourceUpdated("notify://state"); err != nil {
			return "", err
		}
		return "notified", nil
	})
}

func main() {}
