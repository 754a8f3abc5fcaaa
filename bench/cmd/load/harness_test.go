package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHarnessAgainstNetHTTPAndMoat runs the harness for about a second
// against the net/http peer and against moat with its whole chain, and
// holds its counts against the servers': every call it counted as a
// success must be one moat's audit log recorded as ok, and nothing may
// fail. It needs Node.js only for the TypeScript peer, which it does not
// run.
func TestHarnessAgainstNetHTTPAndMoat(t *testing.T) {
	if testing.Short() {
		t.Skip("builds moat and runs servers")
	}
	bench, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bench = filepath.Join(bench, "..", "..")
	out := t.TempDir()
	b, err := build(filepath.Join(bench, ".."), bench, out)
	if err != nil {
		t.Fatalf("building the systems: %v", err)
	}
	var picked []system
	for _, s := range systems {
		if s.Name == "net-http" || s.Name == "moat-chain" {
			picked = append(picked, s)
		}
	}
	res := &results{OpenRate: 300, OpenClients: 4}
	rs := measureAll(context.Background(), b, out, picked, plan{Levels: []int{4}, Duration: 500 * time.Millisecond, Rounds: 1}, res)
	for _, sr := range rs {
		t.Run(sr.Name, func(t *testing.T) {
			if sr.Error != "" {
				t.Fatal(sr.Error)
			}
			if len(sr.Closed) != 1 || sr.Open == nil {
				t.Fatalf("%d closed-loop results and open %v; want 1 and one", len(sr.Closed), sr.Open)
			}
			var calls int64
			var cpu float64
			for _, m := range []measure{sr.Closed[0], *sr.Open} {
				if m.Calls < 50 || m.Errors != 0 {
					t.Errorf("%d clients at rate %v: %d calls, %d errors (%s); want at least 50 and none", m.Clients, m.Rate, m.Calls, m.Errors, m.FirstError)
				}
				if m.PeakRSSMiB <= 1 {
					t.Errorf("server peak RSS %v MiB: not read from /proc", m.PeakRSSMiB)
				}
				calls += m.Calls
				cpu += m.CPUSeconds
			}
			if cpu <= 0 {
				t.Errorf("server CPU %vs over both runs: not read from /proc", cpu)
			}
			if sr.Name != "moat-chain" {
				return
			}
			// One call more: start's readiness probe.
			ok := auditedCalls(t, filepath.Join(out, sr.Name, "audit.log"))
			if ok != calls+1 {
				t.Errorf("moat audited %d successful tools/call; the harness counted %d, and start's probe made one", ok, calls)
			}
		})
	}
}

// auditedCalls counts the audit log's tools/call lines with outcome ok.
func auditedCalls(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct{ Method, Tool, Outcome string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if rec.Method == "tools/call" && rec.Tool == "echo" && rec.Outcome == "ok" {
			n++
		}
	}
	return n
}
