package moat

import (
	"encoding/json"
	"fmt"

	"github.com/moat-mcp/moat/abi"
)

// The wrappers of the host functions of module "moat". Each of them is a
// Go function that calls exactly one import, so a module imports only the
// host functions its code can reach: an operator reads what a plugin can do
// from its import section.
//
// Built for anything but wasip1, the imports are stubs: logs go to stderr,
// progress does nothing, and every capability fails with ErrUnsupported.
// Tool logic that needs no capability can thus be tested with go test.

// Log sends msg to the host's log under the plugin's name, and to the client
// as an MCP log message if it asked for that level.
func Log(level abi.LogLevel, msg string) { hostLog(int32(level), msg) }

// LogDebug logs msg at debug level.
func LogDebug(msg string) { Log(abi.LogDebug, msg) }

// LogInfo logs msg at info level.
func LogInfo(msg string) { Log(abi.LogInfo, msg) }

// LogWarn logs msg at warning level.
func LogWarn(msg string) { Log(abi.LogWarn, msg) }

// LogError logs msg at error level.
func LogError(msg string) { Log(abi.LogError, msg) }

// Progress reports the progress of the current call to the client, with an
// optional message; total is 0 when unknown. It does nothing when the client
// sent no progress token.
func Progress(progress, total float64, msg string) { hostProgress(progress, total, msg) }

// Cancelled reports whether the current call has been cancelled or is past
// its deadline. A long handler should check it and return early.
func Cancelled() bool { return hostCancelled() != 0 }

// HTTPRequest makes an HTTP request to a host the operator granted. A
// response with any status is a response; the error is for requests that
// got none (ErrPermission, ErrTimeout, ErrIO, ...).
func HTTPRequest(req abi.HTTPRequest) (abi.HTTPResponse, error) {
	var resp abi.HTTPResponse
	b, err := json.Marshal(req)
	if err != nil {
		return resp, err
	}
	out, err := result(hostHTTPRequest(b))
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return resp, fmt.Errorf("moat: decoding the HTTP response: %v", err)
	}
	return resp, nil
}

// KVGet returns the value stored under key, or an error that matches
// ErrNotFound if there is none.
func KVGet(key string) ([]byte, error) { return result(hostKVGet(key)) }

// KVSet stores value under key; it is durable once KVSet returns nil.
func KVSet(key string, value []byte) error {
	_, err := result(hostKVSet(key, value))
	return err
}

// KVDelete removes key; removing a missing key is not an error.
func KVDelete(key string) error {
	_, err := result(hostKVDelete(key))
	return err
}

// KVList returns the keys that start with prefix.
func KVList(prefix string) ([]string, error) {
	out, err := result(hostKVList(prefix))
	if err != nil {
		return nil, err
	}
	var keys []string
	if err := json.Unmarshal(out, &keys); err != nil {
		return nil, fmt.Errorf("moat: decoding the key list: %v", err)
	}
	return keys, nil
}

// ConfigGet returns the value the operator set for key (secrets included),
// or an error that matches ErrNotFound.
func ConfigGet(key string) (string, error) {
	out, err := result(hostConfigGet(key))
	return string(out), err
}

// Sample asks the client's model for a completion: params are those of
// MCP's sampling/createMessage, and the result is the client's, both JSON.
//
// Under MCP 2026-07-28 the call ends at the first Sample or Elicit without
// an answer yet, and runs again from the start once the client answered:
// whatever the tool did before it happens again, so ask first and act
// after, and ask in the same order on every run (docs/ABI.md).
func Sample(params json.RawMessage) (json.RawMessage, error) {
	return result(hostSample(params))
}

// Elicit asks the user for input through the client: params are those of
// MCP's elicitation/create, and the result is the client's, both JSON.
// Under MCP 2026-07-28 the tool runs again for each answer; see Sample.
func Elicit(params json.RawMessage) (json.RawMessage, error) {
	return result(hostElicit(params))
}

// maxErrorMessage bounds the error message read after a failed host call;
// a longer one is cut.
const maxErrorMessage = 4096

// result collects what a capability call staged: n >= 0 bytes of response,
// or, for n < 0, the message of error -n.
func result(n int64) ([]byte, error) {
	if n < 0 {
		buf := make([]byte, maxErrorMessage)
		got := hostReadResult(buf)
		if got < 0 {
			got = 0
		}
		return nil, &Error{Code: abi.Errno(-n), Message: string(buf[:min(int(got), len(buf))])}
	}
	if n == 0 {
		return []byte{}, nil
	}
	buf := make([]byte, n)
	if got := hostReadResult(buf); int64(got) != n {
		return nil, &Error{Code: abi.EIO, Message: fmt.Sprintf("read_result copied %d of %d bytes", got, n)}
	}
	return buf, nil
}
