//go:build !wasip1

package moat

import (
	"fmt"
	"os"

	"github.com/moat-mcp/moat/abi"
)

// Stand-ins for the host functions outside a moat host, so that a plugin's
// tool logic builds and tests on any platform.

var notHosted = []byte("not running in a moat host")

func hostReadResult(buf []byte) int32 { return int32(copy(buf, notHosted)) }

func hostLog(level int32, msg string) {
	fmt.Fprintf(os.Stderr, "moat %s: %s\n", abi.LogLevel(level), msg)
}

func hostProgress(progress, total float64, msg string) {}

func hostCancelled() int32 { return 0 }

func unsupported() int64 { return abi.EUNSUPPORTED.Result() }

func hostHTTPRequest([]byte) int64   { return unsupported() }
func hostKVGet(string) int64         { return unsupported() }
func hostKVSet(string, []byte) int64 { return unsupported() }
func hostKVDelete(string) int64      { return unsupported() }
func hostKVList(string) int64        { return unsupported() }
func hostConfigGet(string) int64     { return unsupported() }
func hostSample(params []byte) int64 { return unsupported() }
func hostElicit(params []byte) int64 { return unsupported() }

func hostNotifyResourceUpdated(string) int64 { return unsupported() }
