package sandbox

import (
	"fmt"
	"github.com/moat-mcp/moat/abi"
	"time"
)

// Limits bound what one plugin may use. A zero field takes its default.
type Limits struct {
	// Timeout is the deadline of one call, and of _initialize and
	// moat_describe at load. Default 10s.
	Timeout time.Duration
	// Memory is the ceiling of an instance's linear memory, in bytes,
	// rounded down to 64 KiB pages. Default 64 MiB.
	Memory uint64
	// Output caps the bytes one call may return. Default 1 MiB.
	Output uint64
	// Instances caps how many instances of the plugin exist at once, and
	// so how many calls run at once. Default 4.
	Instances int
	// QueueTimeout is how long a call waits for a free instance before it
	// fails with ErrBusy. Default 1s.
	QueueTimeout time.Duration
}

// DefaultLimits are the limits of a plugin that sets none.
var DefaultLimits = Limits{
	Timeout:      10 * time.Second,
	Memory:       64 << 20,
	Output:       1 << 20,
	Instances:    4,
	QueueTimeout: time.Second,
}

// pageSize is the size of a WebAssembly memory page.
const pageSize = abi.PageSize

// maxPages is the most pages a wasm32 memory can have (4 GiB).
const maxPages = abi.MaxMemory / abi.PageSize

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultLimits.Timeout
	}
	if l.Memory == 0 {
		l.Memory = DefaultLimits.Memory
	}
	if l.Output == 0 {
		l.Output = DefaultLimits.Output
	}
	if l.Instances <= 0 {
		l.Instances = DefaultLimits.Instances
	}
	if l.QueueTimeout <= 0 {
		l.QueueTimeout = DefaultLimits.QueueTimeout
	}
	return l
}

func (l Limits) validate() error {
	if l.Memory < pageSize {
		return fmt.Errorf("limits.memory is %d bytes, less than one 64KiB page; set it to at least 64KiB", l.Memory)
	}
	if l.Memory/pageSize > maxPages {
		return fmt.Errorf("limits.memory is %s, more than the 4GiB a wasm32 memory can address; set it to 4GiB or less", FormatSize(l.Memory))
	}
	return nil
}

func (l Limits) memoryPages() uint32 { return uint32(l.Memory / pageSize) }

// FormatSize renders a byte count the way the configuration writes it:
// "64MiB", "1MiB", "512KiB", "100B".
func FormatSize(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
