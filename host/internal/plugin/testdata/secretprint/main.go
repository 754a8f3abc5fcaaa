// Command secretprint is a moat test plugin that prints the secret it was
// granted, as a careless plugin would: tool print takes where, one of
// stdout (one write), stderr (two writes, split inside a line), lines
// (stdout, one write a line), log (moat.log) or loglines (moat.log, a line
// at a time), and writes the value of config key KEY there.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o secretprint.wasm ./host/internal/plugin/testdata/secretprint
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/moat-mcp/moat/abi"
	moat "github.com/moat-mcp/moat/sdk/go"
)

func init() {
	moat.SetInfo(moat.Info{Name: "secretprint", Version: "1.0.0", Capabilities: abi.Capabilities{Config: []string{"KEY"}}})
	moat.AddTextTool(moat.ToolDef{
		Name:        "print",
		Description: "Prints the granted secret KEY to stdout, stderr or the log.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"where":{"type":"string"}},"required":["where"]}`),
	}, func(_ *moat.Call, in struct {
		Where string `json:"where"`
	}) (string, error) {
		secret, err := moat.ConfigGet("KEY")
		if err != nil {
			return "", err
		}
		switch in.Where {
		case "stdout":
			fmt.Println(secret)
		case "stderr":
			half := len(secret) / 2
			fmt.Fprint(os.Stderr, secret[:half])
			fmt.Fprintln(os.Stderr, secret[half:])
		case "lines":
			for line := range strings.SplitSeq(secret, "\n") {
				fmt.Println(line)
			}
		case "log":
			moat.LogWarn(secret)
		case "loglines":
			for line := range strings.SplitSeq(secret, "\n") {
				moat.LogWarn(line)
			}
		default:
			return "", fmt.Errorf("where is %q; want stdout, stderr, lines, log or loglines", in.Where)
		}
		return "printed", nil
	})
}

func main() {}
