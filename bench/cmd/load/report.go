package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/pprof/profile"
)

// The generated section of docs/BENCHMARKS.md lies between these lines;
// report replaces it, or appends it when the file has none.
const (
	beginMark = "<!-- load: begin; written by make bench (bench/cmd/load report), do not edit by hand -->"
	endMark   = "<!-- load: end -->"
)

func reportCmd(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	out := fs.String("out", "out", "read results.json and *.bench.txt from `DIR`")
	doc := fs.String("doc", "../docs/BENCHMARKS.md", "rewrite the load section of this `FILE`")
	plotDir := fs.String("plots", "../docs/bench", "write the PNG plots to `DIR`")
	wall := fs.Float64("wall", 0, "the whole make bench's wall time in seconds, to print in the doc (0: leave out)")
	_ = fs.Parse(args)

	data, err := os.ReadFile(filepath.Join(*out, "results.json"))
	if err != nil {
		return fmt.Errorf("%w; run `load run` first", err)
	}
	var res results
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	if res.Profile != nil {
		// Read the profile again, so that a change to how samples are
		// charged needs no new run.
		if f, err := os.Open(filepath.Join(*out, "moat.cpu.pprof")); err == nil {
			if p, err := profile.Parse(f); err == nil {
				s := summarizeProfile(p)
				res.Profile.Parts, res.Profile.Flat, res.Profile.Cum = s.Parts, s.Flat, s.Cum
			}
			f.Close()
		}
	}
	benches := readGoBench(filepath.Join(*out, "*.bench.txt"))
	if err := os.MkdirAll(*plotDir, 0o755); err != nil {
		return err
	}
	files, err := plots(&res, *plotDir)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	rel, err := filepath.Rel(filepath.Dir(*doc), *plotDir)
	if err != nil {
		rel = *plotDir
	}
	section := render(&res, benches, files, filepath.ToSlash(rel), *wall)
	old, err := os.ReadFile(*doc)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.WriteFile(*doc, splice(old, section), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote the load section of %s and %d plots in %s\n", *doc, len(files), *plotDir)
	return nil
}

// splice puts section between the marks in doc, or at its end.
func splice(doc []byte, section string) []byte {
	block := beginMark + "\n" + section + endMark + "\n"
	i := bytes.Index(doc, []byte(beginMark))
	j := bytes.Index(doc, []byte(endMark))
	if i < 0 || j < i {
		if len(doc) > 0 && !bytes.HasSuffix(doc, []byte("\n\n")) {
			doc = append(bytes.TrimRight(doc, "\n"), "\n\n"...)
		}
		return append(doc, block...)
	}
	var b bytes.Buffer
	b.Write(doc[:i])
	b.WriteString(block)
	b.Write(bytes.TrimPrefix(doc[j+len(endMark):], []byte("\n")))
	return b.Bytes()
}

// num writes n with thousands separators and the given decimals.
func num(n float64, decimals int) string {
	s := fmt.Sprintf("%.*f", decimals, n)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

func ms(v float64) string {
	switch {
	case v >= 100:
		return num(v, 0)
	case v >= 10:
		return num(v, 1)
	}
	return num(v, 2)
}

func pct(v float64) string { return fmt.Sprintf("%.3f%%", 100*v) }

// verdict says whether an aim is met, in words a reader scans.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func render(res *results, benches map[string]goBench, files []string, plotRel string, wall float64) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := res.Machine

	w("## Under load: moat against the servers a user would otherwise run\n\n")
	w("Measured %s on %s, %d cores, %s RAM; %s; %s, Node.js %s", res.Date, m.CPU, m.Cores, m.Memory, m.OS, m.Go, m.Node)
	if m.Wazero != "" {
		w(", wazero %s", m.Wazero)
	}
	w(". The load generator runs on the same machine and shares its cores with the server measured. Regenerate everything in this section, plots included, with:\n\n")
	w("```sh\n%s\n```\n\n", res.Command)
	if wall > 0 {
		w("A full run took %.0f minutes.\n\n", wall/60)
	}
	w("Every system serves the same tool, `echo {text}`, answering with its text, and every call sends a %d-byte text. ", res.PayloadSize)
	if res.Stateless {
		w("The harness (`bench/load`) calls it as a stateless MCP client does, over streamable HTTP: no session, every request standing alone with its `MCP-Protocol-Version`, each with an id of its own")
	} else {
		w("The harness (`bench/load`) calls it as a real MCP client does, over streamable HTTP: each client opens a session (`initialize`, `notifications/initialized`, then `Mcp-Session-Id` on every request), gives every request an id of its own")
	}
	w(", and parses every answer as JSON-RPC, from a JSON body or an SSE stream; a call counts as a success only when the answer is the echo of the text sent. ")
	w("Closed loop: N clients call back to back for %g s (after %g s of warm-up). Open loop: calls start at a fixed rate whatever the answers' pace, from a pool of %d sessions, each latency counted from when its call was due. ", res.Duration, res.Warmup, res.OpenClients)
	if res.Rounds > 1 {
		w("Every system runs at once, idle but for the one measured, and every workload is measured %d times, in rounds that take the systems in turn, so that whatever else the machine does falls on all of them alike; the tables show each workload's least disturbed round (the highest throughput; in open loop, the lowest p99), and `bench/out/results.json` holds them all. ", res.Rounds)
	}
	w("CPU is the server process's user and system time over the measured seconds (from `/proc/PID/stat`), per successful call; the harness's own is given beside it, since the two share the machine's cores: where server and harness together need more CPU per call than the cores give, the harness is part of the limit. Memory is the server's peak resident set (`VmHWM`) during the run.\n\n")
	w("The systems:\n\n")
	w("1. **moat, whole chain**: `moat serve` with the echo plugin from `bench/plugins/echo` (Go, the Go SDK), an API key, a role allowing only `echo`, all four rate-limit scopes set far above any rate reached here (checked on every call, never refusing), the metrics endpoint, an audit file, and validation of the arguments against the tool's schema.\n")
	w("2. **moat, chain off**: the same without authentication, roles, rate limits, audit or admin listener. Schema validation and the counting of metrics cannot be turned off in moat and stay on.\n")
	w("3. **Go SDK**: a bare server on the official Go SDK (`bench/peers/gosdk`), the echo tool native in Go, the SDK's defaults, the tool registered as moat registers its tools (`Server.AddTool`, a handler that decodes its arguments with `encoding/json`). Below it, **Go SDK, typed handler** is the same server with the tool registered through the generic `mcp.AddTool`, the SDK's documented way, which derives a schema from a Go type and validates and decodes every call's arguments through it. And **Go SDK, GOGC=800** is the first with the garbage collector set to run eight times less often: the bare server's live heap is only a few MiB, so at the default it collects every few hundred calls, while moat's heap (the compiled plugin) is larger and it collects less often. The headline ratio against (3) uses the server at its defaults, as a user would run it; the table of aims gives both.\n")
	w("4. **TypeScript SDK**: a bare server on the official TypeScript SDK (`bench/peers/ts`), one `McpServer` and transport per session as the SDK's examples do, on `node:http`, one Node.js process.\n")
	w("5. **net/http**: a `net/http` handler that decodes the JSON-RPC request and writes the answer (`bench/peers/nethttp`): no sessions, no checks, no MCP library; the ceiling of the machine for this request shape.\n\n")

	chain, gosdk, ts := res.system("moat-chain"), res.system("go-sdk"), res.system("ts-sdk")
	w("### Headline\n\n")
	if chain != nil && gosdk != nil && ts != nil {
		cp, _ := chain.peak()
		gp, _ := gosdk.peak()
		tp, _ := ts.peak()
		if gp > 0 && tp > 0 {
			w("At peak, moat with its whole chain serves **%.2fx** the throughput of the bare Go SDK server (3) and **%.2fx** that of the TypeScript SDK server (4).", cp/gp, cp/tp)
			if g := res.system("go-sdk-gogc"); g != nil {
				if gp2, _ := g.peak(); gp2 > 0 {
					w(" Against (3) with its collector tuned (GOGC=800), %.2fx.", cp/gp2)
				}
			}
			if bare := res.system("moat-bare"); bare != nil {
				if bp, _ := bare.peak(); bp > 0 {
					w(" moat's own peak is %s calls/s with the chain and %s without it", num(cp, 0), num(bp, 0))
					if cp <= bp {
						w(": the chain costs %.0f%% of it.", 100*(1-cp/bp))
					} else {
						w(": the chain cannot make moat faster, so the difference is the noise of this run, and the chain's cost is hidden in it; run again on a quiet machine.")
					}
				}
			}
			w("\n\n")
			w("Server CPU per call at each one's peak, which a busy machine disturbs less than throughput:")
			var per []string
			for _, sys := range res.Systems {
				if m := sys.peakMeasure(); m != nil {
					per = append(per, fmt.Sprintf("%s: %s µs", sys.Label, num(m.CPUPerCall, 0)))
				}
			}
			w(" %s.\n\n", strings.Join(per, "; "))
		}
	}
	for _, f := range files {
		w("![%s](%s/%s)\n", strings.TrimSuffix(f, ".png"), plotRel, f)
	}
	w("\n")

	w("### Closed loop: throughput and latency\n\n")
	w("| system | clients | calls/s | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU µs/call | harness CPU µs/call | peak RSS MiB |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range res.Systems {
		if s.Error != "" {
			w("| %s | | failed: %s | | | | | | | | |\n", s.Label, oneLine(s.Error))
		}
		for _, m := range s.Closed {
			w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %.0f |\n", s.Label, m.Clients, num(m.Throughput, 0),
				ms(m.P50), ms(m.P95), ms(m.P99), ms(m.Max), errCell(m), num(m.CPUPerCall, 0), num(m.ClientCPU, 0), m.PeakRSSMiB)
		}
	}
	w("\n### Open loop at %s calls/s (half of moat's whole-chain peak)\n\n", num(res.OpenRate, 0))
	w("| system | calls/s served | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU µs/call | peak RSS MiB |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range res.Systems {
		if m := s.Open; m != nil {
			w("| %s | %s | %s | %s | %s | %s | %s | %s | %.0f |\n", s.Label, num(m.Throughput, 0),
				ms(m.P50), ms(m.P95), ms(m.P99), ms(m.Max), errCell(*m), num(m.CPUPerCall, 0), m.PeakRSSMiB)
		}
	}
	w("\nA system whose p50 here is far above its closed-loop p50 at one client could not keep up with this rate: calls queued behind each other.\n\n")

	w("### In process: one sandbox call, moat against Extism\n\n")
	renderInProcess(&b, benches)

	w("### Against the aims\n\n")
	renderAims(&b, res, benches)

	if p := res.Profile; p != nil {
		w("### Where moat's time goes under load\n\n")
		w("CPU profile of moat with its whole chain (`bench/cmd/moatprof`, which serves as `moat serve` does and writes a profile; moat itself serves none), %d clients in a closed loop for %.0f s after a warm-up, %s calls/s under the profiler, %s µs of CPU per call. ", p.Clients, p.Seconds, num(p.Result.Throughput, 0), num(p.PerCallUS, 0))
		w("Each sample is charged to one part: plugin code where the CPU was in compiled wasm; the runtime where it was allocating, collecting, in a system call or scheduling, whoever asked; otherwise the innermost package of the stack that names a part:\n\n")
		w("| part | share of CPU |\n|---|---:|\n")
		for _, s := range p.Parts {
			w("| %s | %.1f%% |\n", s.Name, s.Percent)
		}
		w("\nThe functions with the most CPU including what they call (runtime roots left out):\n\n")
		w("| function | cumulative share |\n|---|---:|\n")
		n := 0
		for _, s := range p.Cum {
			if skipRoot(s.Name) || n == 15 {
				continue
			}
			n++
			w("| `%s` | %.1f%% |\n", shortFunc(s.Name), s.Percent)
		}
		w("\nThe profile is in `bench/out/moat.cpu.pprof` after a run: `go tool pprof -http : bench/out/bin/moatprof bench/out/moat.cpu.pprof`.\n\n")
	}
	return b.String()
}

func errCell(m measure) string {
	if m.Errors == 0 {
		return fmt.Sprintf("0 of %s", num(float64(m.Calls), 0))
	}
	return fmt.Sprintf("%s of %s (%s)", num(float64(m.Errors), 0), num(float64(m.Calls), 0), strings.Join(m.Kinds(), ", "))
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func skipRoot(fn string) bool {
	for _, p := range []string{"runtime.main", "main.main", "main.run", "runtime.goexit", "runtime.mcall", "runtime.mstart", "runtime.systemstack", "runtime.schedule", "runtime.park_m", "runtime.findRunnable"} {
		if fn == p || strings.HasPrefix(fn, p+"0") {
			return true
		}
	}
	return false
}

// shortFunc drops the module paths every reader knows from a function name.
func shortFunc(fn string) string {
	for _, p := range []struct{ long, short string }{
		{"github.com/moat-mcp/moat", "moat"},
		{"github.com/modelcontextprotocol/go-sdk", "go-sdk"},
		{"github.com/tetratelabs/wazero", "wazero"},
	} {
		if rest, ok := strings.CutPrefix(fn, p.long); ok {
			fn = p.short + rest
		}
	}
	if i := strings.Index(fn, "[go.shape"); i > 0 {
		fn = fn[:i] + "[…]" + fn[strings.LastIndexByte(fn, ']')+1:]
	}
	return fn
}

// The in-process benchmarks, by the names bench/extism and the sandbox's
// deadline benchmark give them.
var inProcess = []struct{ name, label string }{
	{"BenchmarkEcho/moat/wat", "moat, WAT echo (deadline on, as moat runs)"},
	{"BenchmarkEcho/extism/wat", "Extism, WAT echo (no timeout, Extism's default)"},
	{"BenchmarkEcho/extism/wat/timeout", "Extism, WAT echo (manifest timeout set)"},
	{"BenchmarkEcho/moat/go", "moat, Go echo (deadline on, as moat runs)"},
	{"BenchmarkEcho/extism/go", "Extism, Go echo (no timeout, Extism's default)"},
	{"BenchmarkEcho/extism/go/timeout", "Extism, Go echo (manifest timeout set)"},
}

func renderInProcess(b *strings.Builder, benches map[string]goBench) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	found := false
	for _, x := range inProcess {
		if _, ok := benches[x.name]; ok {
			found = true
		}
	}
	if !found {
		w("No results: the benchmarks of `bench/extism` did not run; `make bench` prints why.\n\n")
		return
	}
	w("One call of the same echo, in the same test binary (`bench/extism`): moat's `sandbox.Plugin.Call` with a `tools/call` request, against Extism's Go SDK `Plugin.Call` of an `echo` export with the same bytes as input. Each plugin exists as hand-written WebAssembly text (no language runtime: the floor of each host) and in Go. The Extism Go plugin imports Extism's kernel functions itself, as the Go PDK does (the Go PDK is not available from the module proxy here). Medians of %d runs.\n\n", benches[inProcess[0].name].Runs)
	w("| host and plugin | ns/call | B/call | allocs/call |\n|---|---:|---:|---:|\n")
	for _, x := range inProcess {
		if g, ok := benches[x.name]; ok {
			w("| %s | %s | %s | %s |\n", x.label, num(g.NsPerOp, 0), num(g.BytesPerOp, 0), num(g.AllocsPerOp, 0))
		}
	}
	w("\n")
	spin := []struct{ name, label string }{
		{"BenchmarkSpin/deadline", "deadline on (what moat runs)"},
		{"BenchmarkSpin/no-deadline", "deadline off (benchmark only)"},
	}
	if d, ok := benches[spin[0].name]; ok {
		w("**A CPU-bound plugin, with and without the deadline.** `bench/plugins/spin` runs a tight loop of %s xorshift rounds per call (`BenchmarkSpin`, laid into ./sandbox by `go test -overlay bench/deadline/overlay.json`, since the switch that turns the deadline off exists only in the sandbox's own tests). moat's deadline check counts down at every loop iteration and function entry and calls into Go every 1,024 counts (docs/RATIONALE.md):\n\n", num(spinRounds, 0))
		w("| call | ns/call |\n|---|---:|\n")
		for _, s := range spin {
			if g, ok := benches[s.name]; ok {
				w("| %s | %s |\n", s.label, num(g.NsPerOp, 0))
			}
		}
		if n, ok := benches[spin[1].name]; ok && n.NsPerOp > 0 {
			w("\nThe deadline makes this loop %.2fx slower (%.1f ns more per iteration).\n", d.NsPerOp/n.NsPerOp, (d.NsPerOp-n.NsPerOp)/spinRounds)
		}
		w("\n")
	}
}

func renderAims(b *strings.Builder, res *results, benches map[string]goBench) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	w("Reported, not asserted: these figures move with the machine.\n\n")
	w("| aim | measured | |\n|---|---|---|\n")
	chain, gosdk, ts := res.system("moat-chain"), res.system("go-sdk"), res.system("ts-sdk")
	if chain == nil || len(chain.Closed) == 0 {
		w("| all | moat (whole chain) was not measured | |\n\n")
		return
	}
	cp, cAt := chain.peak()
	for _, g := range []*systemResult{gosdk, res.system("go-sdk-gogc")} {
		if g == nil {
			continue
		}
		if gp, _ := g.peak(); gp > 0 {
			w("| whole chain within 20%% of (3)'s throughput (%s) | %s vs %s calls/s: %.0f%% of it | %s |\n", g.Label, num(cp, 0), num(gp, 0), 100*cp/gp, verdict(cp >= 0.8*gp))
		}
	}
	if ts != nil {
		if tp, _ := ts.peak(); tp > 0 {
			w("| at least 2x (4)'s throughput | %s vs %s calls/s: %.2fx | %s |\n", num(cp, 0), num(tp, 0), cp/tp, verdict(cp >= 2*tp))
		}
	}
	for _, lang := range []string{"wat", "go"} {
		mo, ok1 := benches["BenchmarkEcho/moat/"+lang]
		ex, ok2 := benches["BenchmarkEcho/extism/"+lang]
		if ok1 && ok2 && mo.NsPerOp > 0 {
			w("| sandbox call at least 20x faster than Extism's (%s echo) | %s vs %s ns: %.1fx | %s |\n", map[string]string{"wat": "WAT", "go": "Go"}[lang], num(mo.NsPerOp, 0), num(ex.NsPerOp, 0), ex.NsPerOp/mo.NsPerOp, verdict(ex.NsPerOp >= 20*mo.NsPerOp))
		}
	}
	renderSandboxAims(w, benches)
	if g := gosdk; g != nil {
		if gp, _ := g.peak(); gp > 0 {
			w("| whole chain at least 1.3x (3)'s throughput (%s) | %s vs %s calls/s: %.2fx | %s |\n", g.Label, num(cp, 0), num(gp, 0), cp/gp, verdict(cp >= 1.3*gp))
		}
	}
	if o := chain.Open; o != nil {
		w("| p99 at most 5 ms at half of moat's peak rate | p99 %s ms at %s calls/s | %s |\n", ms(o.P99), num(res.OpenRate, 0), verdict(o.P99 <= 5 && o.ErrorRate() == 0))
	}
	if o := chain.Open; o != nil {
		w("| p99 under 10 ms at half of moat's peak rate | p99 %s ms at %s calls/s | %s |\n", ms(o.P99), num(res.OpenRate, 0), verdict(o.P99 < 10 && o.ErrorRate() == 0))
	}
	w("| more than 1000 calls/s per instance | %s calls/s at %d clients | %s |\n", num(cp, 0), cAt, verdict(cp > 1000))
	worst := 0.0
	var calls, errs int64
	for _, m := range chain.Closed {
		worst = max(worst, m.P95)
		calls, errs = calls+m.Calls, errs+m.Errors
	}
	if o := chain.Open; o != nil {
		worst = max(worst, o.P95)
		calls, errs = calls+o.Calls, errs+o.Errors
	}
	w("| p95 under 100 ms | worst p95 of every moat (whole chain) run: %s ms | %s |\n", ms(worst), verdict(worst < 100))
	rate := 0.0
	if calls > 0 {
		rate = float64(errs) / float64(calls)
	}
	w("| error rate under 0.1%% | %s of %s calls failed (%s) | %s |\n\n", num(float64(errs), 0), num(float64(calls), 0), pct(rate), verdict(rate < 0.001))
}

// renderSandboxAims writes the rows of the sandbox's own aims: one call of
// a 100-byte echo through sandbox.Plugin.Call (BenchmarkCall in ./sandbox),
// against Extism in the same binary, and the CPU-bound plugin.
func renderSandboxAims(w func(string, ...any), benches map[string]goBench) {
	if g, ok := benches["BenchmarkCall/wat"]; ok {
		w("| sandbox call, WAT echo, at most 1.5 µs | %s ns | %s |\n", num(g.NsPerOp, 0), verdict(g.NsPerOp <= 1500))
	}
	if g, ok := benches["BenchmarkCall/go"]; ok {
		w("| sandbox call, Go SDK echo, at most 12 µs | %s ns | %s |\n", num(g.NsPerOp, 0), verdict(g.NsPerOp <= 12000))
	}
	mo, ok1 := benches["BenchmarkEcho/moat/go"]
	ex, ok2 := benches["BenchmarkEcho/extism/go"]
	if ok1 && ok2 && mo.NsPerOp > 0 {
		w("| sandbox call, Go echo, at least 3x faster than Extism's | %s vs %s ns: %.1fx | %s |\n", num(mo.NsPerOp, 0), num(ex.NsPerOp, 0), ex.NsPerOp/mo.NsPerOp, verdict(ex.NsPerOp >= 3*mo.NsPerOp))
	}
	for _, lang := range []string{"wat", "go"} {
		if g, ok := benches["BenchmarkCall/"+lang]; ok {
			w("| sandbox call, %s echo, at most 6 allocations | %s | %s |\n", map[string]string{"wat": "WAT", "go": "Go SDK"}[lang], num(g.AllocsPerOp, 0), verdict(g.AllocsPerOp <= 6))
		}
	}
	d, ok1 := benches["BenchmarkSpin/deadline"]
	n, ok2 := benches["BenchmarkSpin/no-deadline"]
	if ok1 && ok2 && n.NsPerOp > 0 {
		w("| CPU-bound plugin at most 1.3x the time without a deadline | %s vs %s ns: %.2fx | %s |\n", num(d.NsPerOp, 0), num(n.NsPerOp, 0), d.NsPerOp/n.NsPerOp, verdict(d.NsPerOp <= 1.3*n.NsPerOp))
	}
}

// spinRounds is bench/deadline's spinRounds: the loop iterations of one
// BenchmarkSpin call.
const spinRounds = 100_000
