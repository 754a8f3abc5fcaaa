package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
	"github.com/moat-mcp/moat/bench/load"
)

// profileResult is where moat's CPU time went under load: by part of the
// stack, and the functions that took the most.
type profileResult struct {
	Clients   int          `json:"clients"`
	Seconds   float64      `json:"seconds"`
	Calls     int64        `json:"calls"`
	CPU       float64      `json:"cpu_s"`
	Parts     []share      `json:"parts"` // by classify
	Flat      []share      `json:"flat"`  // functions, own time
	Cum       []share      `json:"cum"`   // functions, with what they call
	PerCallUS float64      `json:"cpu_us_per_call"`
	Result    *load.Result `json:"result,omitempty"`
}

type share struct {
	Name    string  `json:"name"`
	Percent float64 `json:"percent"`
}

// components name the layers of moat's stack by package prefix.
var components = []struct{ prefix, name string }{
	{"github.com/tetratelabs/wazero", "wazero: calls into and out of the plugin, deadline checks"},
	{"github.com/santhosh-tekuri/jsonschema", "schema validation"},
	{"encoding/json", "JSON encoding and decoding"},
	{"github.com/segmentio/encoding", "JSON encoding and decoding"},
	{"github.com/modelcontextprotocol/go-sdk/internal/json", "JSON encoding and decoding"},
	{"github.com/moat-mcp/moat/host/observe", "moat: metrics, audit, secret scrubbing"},
	{"github.com/prometheus", "moat: metrics, audit, secret scrubbing"},
	{"github.com/moat-mcp/moat/host/policy", "moat: roles and rate limits"},
	{"github.com/moat-mcp/moat/host/auth", "moat: authentication"},
	{"crypto/", "moat: authentication"},
	{"github.com/moat-mcp/moat/sandbox", "moat: the sandbox's call path"},
	{"github.com/moat-mcp/moat", "moat: the rest of the host"},
	{"github.com/modelcontextprotocol/go-sdk", "MCP: go-sdk's sessions, JSON-RPC and SSE"},
	{"net/http", "HTTP: net/http"},
	{"net/textproto", "HTTP: net/http"},
	{"bufio", "HTTP: net/http"},
}

// classify names the part of the stack a sample's time belongs to, from
// its frames, innermost first. What the runtime does on a caller's behalf
// is charged to the runtime (allocation, I/O, scheduling), since that is
// what would have to shrink.
func classify(frames []string) string {
	has := func(prefixes ...string) bool {
		for _, f := range frames {
			for _, p := range prefixes {
				if strings.HasPrefix(f, p) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case frames[0] == "runtime._ExternalCode":
		return "plugin code (wasm compiled by wazero)"
	case has("runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge"):
		return "Go runtime: garbage collection in the background"
	case has("runtime.mallocgc", "runtime.growslice", "runtime.newobject", "runtime.makeslice", "runtime.gcAssist"):
		return "Go runtime: allocation (and the GC work it is charged)"
	case has("syscall.", "internal/poll.", "internal/runtime/syscall", "runtime.netpoll", "runtime.futex", "runtime.usleep"):
		return "system calls: network reads and writes, wake-ups"
	}
	for _, f := range frames {
		for _, c := range components {
			if strings.HasPrefix(f, c.prefix) {
				return c.name
			}
		}
	}
	if has("runtime.schedule", "runtime.findRunnable", "runtime.park_m", "runtime.mcall", "runtime.gopark") {
		return "Go runtime: scheduling goroutines"
	}
	return "other"
}

// profileMoat serves moat with its whole chain from moatprof, puts the
// closed-loop load of moat's peak on it for d, and reads the profile.
func profileMoat(ctx context.Context, b *built, out string, res *results, d time.Duration) (*profileResult, error) {
	clients := 8
	if s := res.system("moat-chain"); s != nil {
		if _, at := s.peak(); at > 0 {
			clients = at
		}
	}
	dir, addr, err := freshDir(filepath.Join(out, "profile"))
	if err != nil {
		return nil, err
	}
	cfg, token, err := writeMoatConfig(b, dir, addr, true)
	if err != nil {
		return nil, err
	}
	pprofPath := filepath.Join(out, "moat.cpu.pprof")
	cmd := exec.Command(b.MoatProf, "-cpuprofile", pprofPath, "--config", cfg)
	s, err := start(ctx, cmd, target(addr, token), filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	// Warm up first, then profile only the steady state.
	if _, err := load.Run(ctx, s.target, load.Workload{Clients: clients, Duration: 2 * time.Second}); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		s.stop()
		return nil, err
	}
	cpu0, _ := s.proc.CPU()
	r, err := load.Run(ctx, s.target, load.Workload{Clients: clients, Duration: d})
	cpu1, _ := s.proc.CPU()
	if stopErr := s.stop(); err == nil {
		err = stopErr
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "profile    %-14s %8.0f calls/s under the profiler; %s\n", fmt.Sprintf("%d clients", clients), r.Throughput, pprofPath)
	f, err := os.Open(pprofPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", pprofPath, err)
	}
	pr := summarizeProfile(p)
	pr.Clients, pr.Seconds, pr.Calls, pr.Result = clients, r.Seconds, r.Calls, &r
	pr.CPU = (cpu1 - cpu0).Seconds()
	if ok := r.Calls - r.Errors; ok > 0 {
		pr.PerCallUS = pr.CPU / float64(ok) * 1e6
	}
	return pr, nil
}

func summarizeProfile(p *profile.Profile) *profileResult {
	vi := len(p.SampleType) - 1 // cpu nanoseconds
	var total int64
	byPart := map[string]int64{}
	flat := map[string]int64{}
	cum := map[string]int64{}
	for _, s := range p.Sample {
		v := s.Value[vi]
		total += v
		var frames []string
		for _, loc := range s.Location {
			for i := range loc.Line {
				// Lines run innermost first within a location.
				frames = append(frames, loc.Line[i].Function.Name)
			}
		}
		if len(frames) == 0 {
			frames = []string{"runtime._ExternalCode"}
		}
		byPart[classify(frames)] += v
		flat[frames[0]] += v
		seen := map[string]bool{}
		for _, fn := range frames {
			if !seen[fn] {
				seen[fn] = true
				cum[fn] += v
			}
		}
	}
	return &profileResult{Parts: top(byPart, total, 0), Flat: top(flat, total, 15), Cum: top(cum, total, 25)}
}

func top(m map[string]int64, total int64, n int) []share {
	var out []share
	for k, v := range m {
		out = append(out, share{k, 100 * float64(v) / float64(max(total, 1))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Percent > out[j].Percent })
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}
