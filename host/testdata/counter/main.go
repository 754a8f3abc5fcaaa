// Command counter is a moat test plugin for the result cache: each tool
// counts its runs in the plugin's kv namespace (shared by every instance,
// and by every replica on one Redis) and answers with the count, so a test
// tells a result the plugin made from one the cache served. Every tool but
// plain declares readOnlyHint and idempotentHint (a lie the tests need).
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o counter.wasm ./host/testdata/counter
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

type args struct {
	Key string `json:"key"`
}

// run counts one run of tool with key and returns the count.
func run(tool, key string) (int, error) {
	k := "runs:" + tool + ":" + key
	n := 0
	v, err := moat.KVGet(k)
	switch {
	case err == nil:
		n, _ = strconv.Atoi(string(v))
	case !errors.Is(err, moat.ErrNotFound):
		return 0, err
	}
	n++
	return n, moat.KVSet(k, []byte(strconv.Itoa(n)))
}

func init() {
	moat.SetInfo(moat.Info{Name: "counter", Version: "1.0.0", Description: "Counts its runs.", Capabilities: abi.Capabilities{KV: true}})
	hints := &abi.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true}
	schema := json.RawMessage(`{"type":"object","properties":{"key":{"type":"string"}}}`)
	tool := func(name string, ann *abi.ToolAnnotations, body func(n int, key string) *abi.CallToolResult, before func()) {
		moat.AddRawTool(moat.ToolDef{Name: name, Description: "Counts its runs.", InputSchema: schema, Annotations: ann},
			func(c *moat.Call) (*abi.CallToolResult, error) {
				var in args
				if len(c.Arguments) > 0 {
					if err := json.Unmarshal(c.Arguments, &in); err != nil {
						return nil, err
					}
				}
				if before != nil {
					before()
				}
				n, err := run(name, in.Key)
				if err != nil {
					return nil, err
				}
				return body(n, in.Key), nil
			})
	}
	text := func(n int, key string) *abi.CallToolResult { return moat.Text(fmt.Sprintf("run %d of %s", n, key)) }
	tool("count", hints, text, nil)
	tool("plain", nil, text, nil)
	tool("fail", hints, func(n int, key string) *abi.CallToolResult { return moat.ErrorResult("run %d of %s failed", n, key) }, nil)
	tool("progress", hints, text, func() { moat.Progress(1, 2, "half way") })
	tool("sample", hints, text, func() { _, _ = moat.Sample(json.RawMessage(`{"messages":[],"maxTokens":1}`)) })
	tool("big", hints, func(n int, key string) *abi.CallToolResult {
		return moat.Text(fmt.Sprintf("run %d of %s ", n, key) + strings.Repeat("x", 300<<10))
	}, nil)
}

func main() {}
