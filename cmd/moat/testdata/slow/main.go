// Command slow is a moat test plugin whose one tool takes as long as it is
// asked to, so tests can hold a call in flight (during a shutdown, say).
package main

import (
	"encoding/json"
	"fmt"
	"time"

	moat "github.com/moat-mcp/moat/sdk/go"
)

func init() {
	moat.SetInfo(moat.Info{Name: "slow", Version: "1.0.0"})
	moat.AddTextTool(moat.ToolDef{
		Name:        "sleep",
		Description: "Sleeps for ms milliseconds, then says so.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"ms":{"type":"integer","minimum":0}},"required":["ms"]}`),
	}, func(_ *moat.Call, in struct {
		MS int `json:"ms"`
	}) (string, error) {
		time.Sleep(time.Duration(in.MS) * time.Millisecond)
		return fmt.Sprintf("slept %dms", in.MS), nil
	})
}

func main() {}
