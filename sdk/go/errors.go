package moat

import (
	"fmt"

	"github.com/moat-mcp/moat/abi"
)

// Error is the failure of a host function: the ABI's error code and the
// message the host staged with it. Compare with errors.Is against the
// sentinels (ErrNotFound, ErrPermission, ...), which match on Code alone.
type Error struct {
	Code    abi.Errno
	Message string
}

// Error renders the code and the message, as "moat: ENOTFOUND: no key x".
func (e *Error) Error() string {
	if e.Message == "" {
		return "moat: " + e.Code.String()
	}
	return "moat: " + e.Code.String() + ": " + e.Message
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, moat.ErrNotFound) holds whatever the message says.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is, one per error code of the ABI.
var (
	ErrPermission  = &Error{abi.EPERM, "capability not granted"}
	ErrInvalid     = &Error{abi.EINVAL, "invalid argument"}
	ErrTimeout     = &Error{abi.ETIMEDOUT, "timed out"}
	ErrIO          = &Error{abi.EIO, "upstream failed"}
	ErrTooBig      = &Error{abi.ETOOBIG, "payload too big"}
	ErrNotFound    = &Error{abi.ENOTFOUND, "not found"}
	ErrCanceled    = &Error{abi.ECANCELED, "call canceled"}
	ErrUnsupported = &Error{abi.EUNSUPPORTED, "not supported by the client"}
	ErrRateLimit   = &Error{abi.ERATELIMIT, "rate limited"}
)

// ProtocolError is an error a tool handler returns to answer with a
// JSON-RPC error instead of a result: a request the tool cannot take as
// MCP defines it (abi.CodeInvalidParams, say), not a failure of its work,
// which an ordinary error reports as an isError result.
type ProtocolError struct {
	Code    int
	Message string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("protocol error %d: %s", e.Code, e.Message)
}
