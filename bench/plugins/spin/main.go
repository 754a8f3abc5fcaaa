// Command spin is a CPU-bound plugin for the deadline benchmark: its tool
// spin {rounds} runs a tight integer loop that many times and answers with
// the final value. Every iteration is a wasm loop back-edge, which is where
// wazero checks whether a call's deadline has passed.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o spin.wasm ./plugins/spin
package main

import (
	"encoding/json"
	"strconv"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

func init() {
	moat.SetInfo(moat.Info{Name: "spin", Version: "1.0.0", Description: "Burns CPU in a loop."})
	moat.AddRawTool(moat.ToolDef{
		Name:        "spin",
		Description: "Runs an xorshift loop rounds times and answers with the last value.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"rounds":{"type":"string"}},"required":["rounds"]}`),
	}, func(c *moat.Call) (*abi.CallToolResult, error) {
		s, err := c.StringArg("rounds")
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, err
		}
		return moat.Text(strconv.FormatUint(xorshift(n), 10)), nil
	})
}

// xorshift is kept out of line so the loop is the one the benchmark names.
//
//go:noinline
func xorshift(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func main() {}
