// Command load is moat's load harness. `load run` builds moat, the peers
// and the echo plugin, starts each system in turn, puts the same workloads
// on it over streamable HTTP and writes what it measured to
// OUT/results.json; it then profiles moat under the same load. `load
// report` turns that file and the Go benchmarks' output into the load
// section of docs/BENCHMARKS.md and the plots in docs/bench/.
//
//	go run ./cmd/load run -out out
//	go run ./cmd/load report -out out -doc ../docs/BENCHMARKS.md -plots ../docs/bench
//
// make bench runs both, with the Go benchmarks between them.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moat-mcp/moat/bench/load"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: load run|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "report":
		err = reportCmd(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "load: unknown command %q; use run or report\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		os.Exit(1)
	}
}

// results is what `load run` writes and `load report` reads.
type results struct {
	Date        string         `json:"date"`
	Command     string         `json:"command"`
	Machine     machine        `json:"machine"`
	Duration    float64        `json:"duration_s"`
	Warmup      float64        `json:"warmup_s"`
	Concurrency []int          `json:"concurrency"`
	PayloadSize int            `json:"payload_bytes"`
	OpenRate    float64        `json:"open_rate"`
	OpenClients int            `json:"open_clients"`
	Stateless   bool           `json:"stateless,omitempty"`
	Rounds      int            `json:"rounds"`
	Systems     []systemResult `json:"systems"`
	Profile     *profileResult `json:"profile,omitempty"`
	WallSeconds float64        `json:"wall_s"`
}

type systemResult struct {
	Name   string    `json:"name"`
	Label  string    `json:"label"`
	Closed []measure `json:"closed"` // the least disturbed round of each level
	Open   *measure  `json:"open,omitempty"`
	Error  string    `json:"error,omitempty"`
	// Every round, in the order measured.
	AllClosed []measure `json:"all_closed,omitempty"`
	AllOpen   []measure `json:"all_open,omitempty"`
}

// measure is a workload's Result with the server's own resource use.
type measure struct {
	load.Result
	CPUSeconds float64 `json:"cpu_s"`
	// ClientCPU is the load generator's own CPU per successful call, in
	// µs: it shares the machine with the server.
	ClientCPU  float64 `json:"client_cpu_us_per_call"`
	CPUPerCall float64 `json:"cpu_us_per_call"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// peak is the best closed-loop throughput and the concurrency it came at.
func (s systemResult) peak() (float64, int) {
	best, at := 0.0, 0
	for _, m := range s.Closed {
		if m.Throughput > best {
			best, at = m.Throughput, m.Clients
		}
	}
	return best, at
}

func (r *results) system(name string) *systemResult {
	for i := range r.Systems {
		if r.Systems[i].Name == name {
			return &r.Systems[i]
		}
	}
	return nil
}

// statelessProtocol is -protocol.
var statelessProtocol string

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	out := fs.String("out", "out", "write results.json, logs and binaries under `DIR`")
	root := fs.String("root", "..", "the moat repository, whose ./cmd/moat is measured")
	duration := fs.Duration("duration", 5*time.Second, "measure each workload for this long, in each round")
	warmup := fs.Duration("warmup", time.Second, "run each workload unmeasured for this long first")
	rounds := fs.Int("rounds", 2, "measure every workload this many times, interleaved; the least disturbed is reported")
	conc := fs.String("concurrency", "1,8,32", "closed-loop runs: comma-separated numbers of clients")
	openClients := fs.Int("open-clients", 32, "the open-loop run's pool of clients")
	rate := fs.Float64("rate", 0, "the open-loop rate in calls/s; 0 means half of moat's (whole chain) peak")
	only := fs.String("systems", "", "comma-separated systems to run (default all): "+names())
	stateless := fs.Bool("stateless", false, "send stateless requests (no initialize, no session) instead of opening sessions")
	protocol := fs.String("protocol", "", "with -stateless, the MCP-Protocol-Version to send (default "+load.ProtocolVersion+")")
	profile := fs.Duration("profile", 10*time.Second, "profile moat (whole chain) under load for this long; 0 to skip")
	_ = fs.Parse(args)

	began := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	levels, err := parseInts(*conc)
	if err != nil {
		return fmt.Errorf("-concurrency: %w", err)
	}
	bench, err := os.Getwd()
	if err != nil {
		return err
	}
	rootAbs, err := filepath.Abs(*root)
	if err != nil {
		return err
	}
	outAbs, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "building moat, the peers and the echo plugin")
	b, err := build(rootAbs, bench, outAbs)
	if err != nil {
		return err
	}
	res := &results{
		Date:        time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Command:     "make bench",
		Machine:     describeMachine(),
		Duration:    duration.Seconds(),
		Warmup:      warmup.Seconds(),
		Concurrency: levels,
		PayloadSize: len(payload),
		OpenRate:    *rate,
		OpenClients: *openClients,
		Stateless:   *stateless,
	}
	statelessProtocol = *protocol
	res.Machine.Wazero = moduleVersion(rootAbs, "github.com/tetratelabs/wazero")
	chosen := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			chosen[n] = true
		}
	}
	var picked []system
	for _, sys := range systems {
		if len(chosen) == 0 || chosen[sys.Name] {
			picked = append(picked, sys)
		}
	}
	res.Rounds = *rounds
	res.Systems = measureAll(ctx, b, outAbs, picked, plan{Levels: levels, Duration: *duration, Warmup: *warmup, Rounds: *rounds}, res)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if *profile > 0 && (len(chosen) == 0 || chosen["moat-chain"]) {
		p, err := profileMoat(ctx, b, outAbs, res, *profile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "profile: %v\n", err)
		}
		res.Profile = p
	}
	res.WallSeconds = time.Since(began).Seconds()
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(outAbs, "results.json")
	fmt.Fprintf(os.Stderr, "wrote %s (%.0fs)\n", path, res.WallSeconds)
	return os.WriteFile(path, data, 0o644)
}

// plan is what measureAll runs.
type plan struct {
	Levels           []int
	Duration, Warmup time.Duration
	Rounds           int
}

// measureAll starts every system at once (an idle server costs next to
// nothing) and measures them in rounds: in each round, every closed-loop
// level on every system in turn, the order of the systems rotated from
// round to round, so that a disturbance of a shared machine falls on all of
// them alike rather than on whichever was being measured then. The open
// loop follows in the same way, at res.OpenRate, or at half of the first
// system's best throughput when that is 0. Of each workload's rounds the
// result keeps the least disturbed: the highest throughput in closed loop,
// the lowest p99 in open loop.
func measureAll(ctx context.Context, b *built, out string, picked []system, p plan, res *results) []systemResult {
	rs := make([]systemResult, len(picked))
	servers := make([]*server, len(picked))
	defer func() {
		for _, s := range servers {
			if s != nil {
				_ = s.stop()
			}
		}
	}()
	fail := func(i int, err error) {
		rs[i].Error = err.Error()
		fmt.Fprintf(os.Stderr, "%s: %v\n", picked[i].Name, err)
		if servers[i] != nil {
			_ = servers[i].stop()
			servers[i] = nil
		}
	}
	for i, sys := range picked {
		rs[i] = systemResult{Name: sys.Name, Label: sys.Label}
		s, err := startSystem(ctx, b, out, sys, res)
		if err != nil {
			fail(i, err)
			continue
		}
		servers[i] = s
	}
	rounds := max(p.Rounds, 1)
	// each runs w on every live system in turn, round by round.
	each := func(w load.Workload, what string, keep func(i int, m measure)) {
		for r := range rounds {
			for k := range picked {
				i := (k + r) % len(picked)
				if servers[i] == nil || ctx.Err() != nil {
					continue
				}
				m, err := measureOne(ctx, servers[i], w)
				if err != nil {
					fail(i, fmt.Errorf("%s: %w", what, err))
					continue
				}
				report(picked[i].Name, fmt.Sprintf("%s (%d/%d)", what, r+1, rounds), m)
				keep(i, m)
			}
		}
	}
	for _, n := range p.Levels {
		each(load.Workload{Clients: n, Duration: p.Duration, Warmup: p.Warmup}, clients(n), func(i int, m measure) {
			rs[i].AllClosed = append(rs[i].AllClosed, m)
		})
		for i := range rs {
			if best := bestOf(rs[i].AllClosed, n, func(a, b measure) bool { return a.Throughput > b.Throughput }); best != nil {
				rs[i].Closed = append(rs[i].Closed, *best)
			}
		}
	}
	if res.OpenRate == 0 && len(rs) > 0 {
		best, _ := rs[0].peak()
		res.OpenRate = float64(int(best / 2))
	}
	if res.OpenRate > 0 {
		w := load.Workload{Clients: res.OpenClients, Duration: p.Duration, Warmup: p.Warmup, Rate: res.OpenRate}
		each(w, fmt.Sprintf("%.0f calls/s", res.OpenRate), func(i int, m measure) {
			rs[i].AllOpen = append(rs[i].AllOpen, m)
		})
		for i := range rs {
			rs[i].Open = bestOf(rs[i].AllOpen, res.OpenClients, func(a, b measure) bool {
				return a.ErrorRate() < b.ErrorRate() || a.ErrorRate() == b.ErrorRate() && a.P99 < b.P99
			})
		}
	}
	return rs
}

// bestOf returns the best of ms with the given number of clients, by
// better, or nil.
func bestOf(ms []measure, clients int, better func(a, b measure) bool) *measure {
	var best *measure
	for i := range ms {
		if ms[i].Clients == clients && (best == nil || better(ms[i], *best)) {
			m := ms[i]
			best = &m
		}
	}
	return best
}

// freshDir empties (or makes) the folder dir for one server, and finds
// the free address it will listen on.
func freshDir(dir string) (string, string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	addr, err := freeAddr()
	return dir, addr, err
}

// startSystem starts sys in a folder of its own under out.
func startSystem(ctx context.Context, b *built, out string, sys system, res *results) (*server, error) {
	dir, addr, err := freshDir(filepath.Join(out, sys.Name))
	if err != nil {
		return nil, err
	}
	cmd, t, err := sys.command(b, dir, addr)
	if err != nil {
		return nil, err
	}
	t.Stateless, t.Protocol = res.Stateless, statelessProtocol
	return start(ctx, cmd, t, filepath.Join(dir, "server.log"))
}

func measureOne(ctx context.Context, s *server, w load.Workload) (measure, error) {
	_ = s.proc.ResetPeak()
	self := load.Proc{PID: os.Getpid()}
	cpu0, err := s.proc.CPU()
	if err != nil {
		return measure{}, err
	}
	self0, _ := self.CPU()
	r, err := load.Run(ctx, s.target, w)
	if err != nil {
		return measure{}, err
	}
	self1, _ := self.CPU()
	cpu1, err := s.proc.CPU()
	if err != nil {
		return measure{}, err
	}
	rss, err := s.proc.PeakRSS()
	if err != nil {
		return measure{}, err
	}
	// CPU time includes the warm-up; scale it to the measured share.
	cpu := (cpu1 - cpu0).Seconds() * r.Seconds / (r.Seconds + w.Warmup.Seconds())
	m := measure{Result: r, CPUSeconds: cpu, PeakRSSMiB: float64(rss) / (1 << 20)}
	if ok := r.Calls - r.Errors; ok > 0 {
		m.CPUPerCall = cpu / float64(ok) * 1e6
		share := r.Seconds / (r.Seconds + w.Warmup.Seconds())
		m.ClientCPU = (self1 - self0).Seconds() * share / float64(ok) * 1e6
	}
	return m, nil
}

func report(name, what string, m measure) {
	fmt.Fprintf(os.Stderr, "%-10s %-14s %8.0f calls/s  p50 %6.2f  p95 %6.2f  p99 %6.2f  max %7.2f ms  errors %d/%d  cpu %.1fs  rss %.0f MiB\n",
		name, what, m.Throughput, m.P50, m.P95, m.P99, m.Max, m.Errors, m.Calls, m.CPUSeconds, m.PeakRSSMiB)
	if m.FirstError != "" {
		fmt.Fprintf(os.Stderr, "           first error: %s\n", m.FirstError)
	}
}

func names() string {
	var n []string
	for _, s := range systems {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive whole number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// moduleVersion is the version of mod that the module at dir builds with.
func moduleVersion(dir, mod string) string {
	out := version(goTool(), "list", "-C", dir, "-m", "-f", "{{.Version}}", mod)
	if out == "unknown" {
		return ""
	}
	return out
}

// peakMeasure is the closed-loop run with the best throughput.
func (s systemResult) peakMeasure() *measure {
	var best *measure
	for i := range s.Closed {
		if best == nil || s.Closed[i].Throughput > best.Throughput {
			best = &s.Closed[i]
		}
	}
	return best
}
