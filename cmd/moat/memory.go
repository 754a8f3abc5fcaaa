package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/config"
)

// How moat's garbage collector is tuned when nobody tuned it. Most of
// moat's heap is long-lived (compiled plugins, instance memories) and most
// of what it allocates is per-call garbage, so the default GOGC of 100
// collects far more often than the memory it frees is worth. A higher GOGC
// is only safe when something bounds the heap, so it goes with a soft
// memory limit: the one configured, or a share of the container's.
const (
	// limitedGCPercent is the GOGC moat sets when a soft memory limit is
	// in force; the limit, not GOGC, then caps the heap.
	limitedGCPercent = 400
	// cgroupShare is the part of a cgroup's memory limit moat takes as its
	// soft limit, leaving room for what the Go heap does not count (stacks,
	// wazero's compiled code, the runtime's own) before the kernel's
	// hard limit kills the process.
	cgroupPercent = 90
	// cgroupUnlimited is where a cgroup v1 limit means "none": the kernel
	// writes a page-rounded maximum int64 there.
	cgroupUnlimited = 1 << 62
)

// memoryChoice is what moat does to the collector at start.
type memoryChoice struct {
	// limit is the soft memory limit set, in bytes; 0 leaves Go's own.
	limit int64
	// gcPercent is the GOGC set; 0 leaves Go's own.
	gcPercent int
	// why says where the choice came from, for the log.
	why string
	// fromEnvironment is set when GOMEMLIMIT or GOGC was, and moat left
	// both alone.
	fromEnvironment bool
}

// cgroupFiles are where the process's cgroup and their limits are read.
type cgroupFiles struct {
	root string // the cgroup file system's mount point
	self string // the process's cgroup list, /proc/self/cgroup
}

var systemCgroup = cgroupFiles{root: "/sys/fs/cgroup", self: "/proc/self/cgroup"}

// applyMemoryPolicy sets the collector's memory limit and GOGC from the
// configuration, or the container, unless the environment set either,
// and logs the choice once.
func applyMemoryPolicy(cfg *config.Config, log hclog.Logger) {
	choice, err := chooseMemory(os.Getenv, cfg, systemCgroup)
	if err != nil { // the configuration was validated when it loaded
		log.Warn("memory policy not applied", "error", err)
		return
	}
	if choice.fromEnvironment {
		log.Info("memory policy", "from", choice.why, "GOMEMLIMIT", os.Getenv("GOMEMLIMIT"), "GOGC", os.Getenv("GOGC"))
		return
	}
	limit, gc := "none", "100"
	if choice.limit > 0 {
		debug.SetMemoryLimit(choice.limit)
		limit = config.Size(choice.limit).String()
	}
	if choice.gcPercent > 0 {
		debug.SetGCPercent(choice.gcPercent)
		gc = strconv.Itoa(choice.gcPercent)
	}
	log.Info("memory policy", "memory_limit", limit, "gogc", gc, "from", choice.why)
}

// chooseMemory decides the collector's settings. GOMEMLIMIT or GOGC in the
// environment is the operator's own tuning: moat then changes neither.
// Otherwise memory_limit decides: a size is the limit; off is none; auto
// is 90% of the cgroup's memory limit, if the process has one. GOGC is
// raised only when there is a limit.
func chooseMemory(getenv func(string) string, cfg *config.Config, cg cgroupFiles) (memoryChoice, error) {
	if getenv("GOMEMLIMIT") != "" || getenv("GOGC") != "" {
		return memoryChoice{fromEnvironment: true, why: "the environment; moat changes neither"}, nil
	}
	size, err := cfg.MemoryLimitSize()
	if err != nil {
		return memoryChoice{}, err
	}
	switch {
	case size > 0:
		return memoryChoice{limit: int64(size), gcPercent: limitedGCPercent, why: "memory_limit " + size.String()}, nil
	case cfg.MemoryLimit == config.MemoryLimitOff:
		return memoryChoice{why: "memory_limit off: Go's defaults"}, nil
	}
	if max, ok := cg.memoryLimit(); ok {
		// Rounded down to a MiB, so that the log says it plainly.
		limit := int64(max/100*cgroupPercent) &^ (1<<20 - 1)
		return memoryChoice{limit: limit, gcPercent: limitedGCPercent,
			why: fmt.Sprintf("memory_limit auto: %d%% of the cgroup's memory limit, %s", cgroupPercent, config.Size(max))}, nil
	}
	return memoryChoice{why: "memory_limit auto, and no cgroup memory limit: Go's defaults"}, nil
}

// memoryLimit is the memory limit of the process's cgroup: the smallest
// of the limits of its cgroup and the cgroups above it that the mount
// shows, since each of them applies. ok is false when none is set or none
// can be read.
func (cg cgroupFiles) memoryLimit() (limit uint64, ok bool) {
	self, err := os.ReadFile(cg.self)
	if err != nil {
		return 0, false
	}
	// Under cgroup v2 alone the mount point holds cgroup.controllers; in
	// the hybrid layout v2 sits under unified without a memory controller
	// and v1's memory controller has a folder of its own.
	_, err = os.Stat(filepath.Join(cg.root, "cgroup.controllers"))
	v2 := err == nil
	scan := bufio.NewScanner(bytes.NewReader(self))
	for scan.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		fields := strings.SplitN(scan.Text(), ":", 3)
		if len(fields) != 3 {
			continue
		}
		switch {
		case v2 && fields[0] == "0" && fields[1] == "":
			return smallestLimit(cg.root, fields[2], "memory.max")
		case !v2 && hasController(fields[1], "memory"):
			return smallestLimit(filepath.Join(cg.root, "memory"), fields[2], "memory.limit_in_bytes")
		}
	}
	return 0, false
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// smallestLimit reads file in the folder of cgroup under mount and in each
// folder above it up to mount. In a container the path the kernel names
// may be the host's, absent from the container's mount: the walk then
// reaches the mount point, which is the container's own cgroup.
func smallestLimit(mount, cgroup, file string) (limit uint64, ok bool) {
	for dir := path.Clean("/" + cgroup); ; dir = path.Dir(dir) {
		if n, found := readLimit(filepath.Join(mount, filepath.FromSlash(dir), file)); found && (!ok || n < limit) {
			limit, ok = n, true
		}
		if dir == "/" {
			return limit, ok
		}
	}
}

// readLimit reads one cgroup limit file: a number of bytes, or "max" (v2)
// or a number past cgroupUnlimited (v1) for none.
func readLimit(name string) (uint64, bool) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil || n == 0 || n >= cgroupUnlimited {
		return 0, false
	}
	return n, true
}
