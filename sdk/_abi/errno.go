package abi

import "fmt"

// Errno is an error code of a host function. A host function that returns an
// i64 returns a non-negative length on success and -Errno on failure, with a
// UTF-8 message staged for read_result in place of the response.
type Errno int32

const (
	EPERM        Errno = 1 // the capability is not granted
	EINVAL       Errno = 2 // a bad argument: pointer, length, JSON
	ETIMEDOUT    Errno = 3 // the operation ran out of time
	EIO          Errno = 4 // the upstream failed
	ETOOBIG      Errno = 5 // a payload exceeds its cap
	ENOTFOUND    Errno = 6 // no such key or value
	ECANCELED    Errno = 7 // the call was cancelled
	EUNSUPPORTED Errno = 8 // the client lacks the capability
	ERATELIMIT   Errno = 9 // a rate limit refused the operation
)

var errnoNames = map[Errno]string{
	EPERM:        "EPERM",
	EINVAL:       "EINVAL",
	ETIMEDOUT:    "ETIMEDOUT",
	EIO:          "EIO",
	ETOOBIG:      "ETOOBIG",
	ENOTFOUND:    "ENOTFOUND",
	ECANCELED:    "ECANCELED",
	EUNSUPPORTED: "EUNSUPPORTED",
	ERATELIMIT:   "ERATELIMIT",
}

func (e Errno) String() string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return fmt.Sprintf("errno(%d)", int32(e))
}

// Result is the i64 a host function returns for this error: its negation.
func (e Errno) Result() int64 { return -int64(e) }

// LogLevel is the level argument of the log import.
type LogLevel int32

const (
	LogDebug LogLevel = 0
	LogInfo  LogLevel = 1
	LogWarn  LogLevel = 2
	LogError LogLevel = 3
)

func (l LogLevel) String() string {
	switch l {
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warn"
	case LogError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int32(l))
}
