// Command fsprobe is a moat test plugin that does one file operation per
// call, as a plugin trying to leave its mounts would: op is read, write,
// list, stat, mkdir, remove or symlink; path is the guest path; target is a
// symlink's target; data is what write writes. It answers the result, or
// the error as a tool error.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fsprobe.wasm ./sandbox/testdata/fsprobe
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"

	moat "github.com/moat-mcp/moat/sdk/go"
)

type op struct {
	Op     string `json:"op"`
	Path   string `json:"path"`
	Target string `json:"target"`
	Data   string `json:"data"`
}

func init() {
	moat.SetInfo(moat.Info{Name: "fsprobe", Version: "1.0.0"})
	moat.AddTextTool(moat.ToolDef{
		Name:        "fs",
		Description: "Does one file operation.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"op":{"type":"string"},"path":{"type":"string"},"target":{"type":"string"},"data":{"type":"string"}},"required":["op","path"]}`),
	}, func(_ *moat.Call, in op) (string, error) {
		switch in.Op {
		case "read":
			b, err := os.ReadFile(in.Path)
			return string(b), err
		case "write":
			return "written", os.WriteFile(in.Path, []byte(in.Data), 0o644)
		case "list":
			entries, err := os.ReadDir(in.Path)
			names := make([]string, len(entries))
			for i, e := range entries {
				names[i] = e.Name()
			}
			return strings.Join(names, ","), err
		case "stat":
			fi, err := os.Stat(in.Path)
			if err != nil {
				return "", err
			}
			switch m := fi.Mode(); {
			case m&os.ModeNamedPipe != 0:
				return "fifo", nil
			case m&os.ModeSocket != 0:
				return "socket", nil
			case m&os.ModeDevice != 0:
				return "device", nil
			case m.IsDir():
				return "dir", nil
			}
			// WASI preview 1 has no file type for a FIFO, and wazero gives
			// a socket reached by path none either: both come as unknown,
			// which Go shows as a regular file.
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Filetype == syscall.FILETYPE_UNKNOWN {
				return "special", nil
			}
			return "file", nil
		case "mkdir":
			return "made", os.Mkdir(in.Path, 0o755)
		case "remove":
			return "removed", os.Remove(in.Path)
		case "symlink":
			return "linked", os.Symlink(in.Target, in.Path)
		}
		return "", fmt.Errorf("unknown op %q", in.Op)
	})
}

func main() {}
