package sandbox

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kinds of fault. A *Fault matches exactly one of them with errors.Is.
var (
	// ErrTimeout: the call ran past its deadline (limits.timeout).
	ErrTimeout = errors.New("timeout")
	// ErrOutOfMemory: the plugin needed more memory than limits.memory.
	ErrOutOfMemory = errors.New("out of memory")
	// ErrTrap: the plugin's code trapped (unreachable, a bad memory access,
	// a stack overflow, a division by zero, ...).
	ErrTrap = errors.New("trap")
	// ErrBadOutput: the plugin returned a result outside its memory, larger
	// than limits.output, or an allocation the host could not use.
	ErrBadOutput = errors.New("bad output")
	// ErrExit: the plugin called proc_exit.
	ErrExit = errors.New("exit")
	// ErrBusy: every instance stayed busy for limits.queue_timeout.
	ErrBusy = errors.New("busy")
	// ErrCanceled: the caller cancelled the call. It is not the plugin's
	// fault, but the instance is retired all the same, as it stopped midway.
	ErrCanceled = errors.New("canceled")
	// ErrClosed: the plugin was closed (unloaded or the host is stopping).
	ErrClosed = errors.New("closed")
)

var faultKinds = []error{ErrTimeout, ErrOutOfMemory, ErrTrap, ErrBadOutput, ErrExit, ErrBusy, ErrCanceled, ErrClosed}

// Fault is a call that failed in the sandbox. Its message names the plugin
// and what went wrong, and is fit to show a client as a tool error.
type Fault struct {
	Plugin string
	Kind   error  // one of ErrTimeout, ErrOutOfMemory, ...
	Detail string // what happened, e.g. "call exceeded its 10s deadline"
	Err    error  // the underlying wazero error, if any
	// Late is, for a timeout, how long after its deadline the plugin's
	// code was stopped: the timer's delay and the time to the plugin's
	// next check.
	Late time.Duration
}

func (f *Fault) Error() string {
	if strings.HasPrefix(f.Detail, "is ") {
		return fmt.Sprintf("plugin %q %s", f.Plugin, f.Detail) // plugin "x" is busy: ...
	}
	return fmt.Sprintf("plugin %q: %s", f.Plugin, f.Detail)
}

// Is reports whether target is this fault's kind.
func (f *Fault) Is(target error) bool { return target == f.Kind }

func (f *Fault) Unwrap() error { return f.Err }

// KindName is the fault's kind as a short label for metrics and logs:
// "timeout", "out_of_memory", "trap", "bad_output", "exit", "busy",
// "canceled" or "closed". It returns "" for an error that is not a Fault.
func KindName(err error) string {
	var f *Fault
	if !errors.As(err, &f) {
		return ""
	}
	switch f.Kind {
	case ErrTimeout:
		return "timeout"
	case ErrOutOfMemory:
		return "out_of_memory"
	case ErrTrap:
		return "trap"
	case ErrBadOutput:
		return "bad_output"
	case ErrExit:
		return "exit"
	case ErrBusy:
		return "busy"
	case ErrCanceled:
		return "canceled"
	case ErrClosed:
		return "closed"
	}
	return "unknown"
}

func fault(plugin string, kind error, err error, format string, args ...any) *Fault {
	return &Fault{Plugin: plugin, Kind: kind, Detail: fmt.Sprintf(format, args...), Err: err}
}

// LoadError is a plugin refused at load. It says what is wrong and how to
// fix it.
type LoadError struct {
	Plugin  string
	Problem string
	Fix     string
	Err     error
}

func (e *LoadError) Error() string {
	msg := fmt.Sprintf("plugin %q: %s", e.Plugin, e.Problem)
	// A fault's kind is already told by the problem; other causes are not.
	if e.Err != nil && !slices.Contains(faultKinds, e.Err) {
		msg += ": " + e.Err.Error()
	}
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}

func (e *LoadError) Unwrap() error { return e.Err }
