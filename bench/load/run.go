package load

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Workload is what Run puts on a server.
type Workload struct {
	// Clients is how many clients (sessions) call at once. In an open-loop
	// run it is the pool calls are sent from: at most this many are in
	// flight, and a call due while all are busy waits, its wait counted in
	// its latency.
	Clients int
	// Duration is how long calls are measured.
	Duration time.Duration
	// Warmup runs the same load for this long first, unmeasured.
	Warmup time.Duration
	// Rate, if above 0, makes the run open-loop: calls start at this many
	// per second, evenly spaced, whatever the answers' pace.
	Rate float64
	// Timeout bounds each call; 0 means 10s.
	Timeout time.Duration
}

// Result is what a run saw. Latencies are in milliseconds.
type Result struct {
	Clients    int              `json:"clients"`
	Rate       float64          `json:"rate,omitempty"` // the open-loop rate asked for
	Seconds    float64          `json:"seconds"`        // measured time
	Calls      int64            `json:"calls"`          // measured calls, failed ones included
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	FirstError string           `json:"first_error,omitempty"`
	Throughput float64          `json:"throughput"` // successful calls per second
	P50        float64          `json:"p50_ms"`
	P95        float64          `json:"p95_ms"`
	P99        float64          `json:"p99_ms"`
	Max        float64          `json:"max_ms"`
	Mean       float64          `json:"mean_ms"`
}

// ErrorRate is the share of measured calls that failed.
func (r Result) ErrorRate() float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(r.Errors) / float64(r.Calls)
}

// tally is one goroutine's count, merged at the end so that the hot path
// takes no lock.
type tally struct {
	hist   *hdrhistogram.Histogram
	calls  int64
	errors map[string]int64
	first  string
}

func newTally() *tally {
	// 1µs to 60s at 3 significant digits.
	return &tally{hist: hdrhistogram.New(1, 60_000_000, 3), errors: map[string]int64{}}
}

func (t *tally) add(d time.Duration, err error) {
	t.calls++
	if err != nil {
		t.errors[Kind(err)]++
		if t.first == "" {
			t.first = err.Error()
		}
		return
	}
	_ = t.hist.RecordValue(max(d.Microseconds(), 1))
}

// Run opens w.Clients sessions with the server at t, puts the workload on
// it, closes the sessions and reports. It fails only when the sessions
// cannot be opened; failed calls are counted in the Result.
func Run(ctx context.Context, t Target, w Workload) (Result, error) {
	if w.Clients < 1 {
		return Result{}, fmt.Errorf("workload: %d clients; need at least 1", w.Clients)
	}
	if w.Timeout == 0 {
		w.Timeout = 10 * time.Second
	}
	clients := make([]*Client, w.Clients)
	for i := range clients {
		c, err := Dial(ctx, t, newHTTPClient(w.Timeout))
		if err != nil {
			return Result{}, fmt.Errorf("client %d of %d: %w", i+1, w.Clients, err)
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			c.Close(context.WithoutCancel(ctx))
		}
	}()
	if w.Warmup > 0 {
		warm := w
		warm.Duration, warm.Warmup = w.Warmup, 0
		drive(ctx, clients, warm)
	}
	tallies, elapsed := drive(ctx, clients, w)
	return summarize(w, tallies, elapsed), nil
}

// drive runs the workload on the clients for w.Duration.
func drive(ctx context.Context, clients []*Client, w Workload) ([]*tally, time.Duration) {
	if w.Rate > 0 {
		return openLoop(ctx, clients, w)
	}
	return closedLoop(ctx, clients, w)
}

func closedLoop(ctx context.Context, clients []*Client, w Workload) ([]*tally, time.Duration) {
	tallies := make([]*tally, len(clients))
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		tallies[i] = newTally()
		wg.Go(func() {
			tl := tallies[i]
			for !stop.Load() && ctx.Err() == nil {
				cctx, cancel := context.WithTimeout(ctx, w.Timeout)
				t0 := time.Now()
				err := c.Call(cctx)
				cancel()
				tl.add(time.Since(t0), err)
			}
		})
	}
	timer := time.NewTimer(w.Duration)
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	stop.Store(true)
	wg.Wait()
	// Calls that were in flight when time was up ran past it; count the
	// time they took, so that calls and seconds match.
	return tallies, time.Since(start)
}

func openLoop(ctx context.Context, clients []*Client, w Workload) ([]*tally, time.Duration) {
	free := make(chan int, len(clients))
	tallies := make([]*tally, len(clients))
	for i := range clients {
		free <- i
		tallies[i] = newTally()
	}
	interval := time.Duration(float64(time.Second) / w.Rate)
	var wg sync.WaitGroup
	start := time.Now()
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * interval)
		if due.Sub(start) >= w.Duration || ctx.Err() != nil {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		var i int
		select {
		case i = <-free:
		case <-ctx.Done():
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, w.Timeout)
			err := clients[i].Call(cctx)
			cancel()
			// From when the call was due, not when it was sent: waiting for
			// a free client is part of what a caller at this rate sees.
			tallies[i].add(time.Since(due), err)
			free <- i
		})
	}
	wg.Wait()
	return tallies, time.Since(start)
}

func summarize(w Workload, tallies []*tally, elapsed time.Duration) Result {
	all := newTally()
	for _, t := range tallies {
		all.hist.Merge(t.hist)
		all.calls += t.calls
		for k, n := range t.errors {
			all.errors[k] += n
		}
		if all.first == "" {
			all.first = t.first
		}
	}
	r := Result{Clients: w.Clients, Rate: w.Rate, Seconds: elapsed.Seconds(), Calls: all.calls, FirstError: all.first}
	for _, n := range all.errors {
		r.Errors += n
	}
	if len(all.errors) > 0 {
		r.ErrorKinds = all.errors
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	r.Throughput = float64(r.Calls-r.Errors) / elapsed.Seconds()
	r.P50 = ms(all.hist.ValueAtQuantile(50))
	r.P95 = ms(all.hist.ValueAtQuantile(95))
	r.P99 = ms(all.hist.ValueAtQuantile(99))
	r.Max = ms(all.hist.Max())
	r.Mean = all.hist.Mean() / 1000
	return r
}

// Kinds lists a Result's error kinds, most frequent first.
func (r Result) Kinds() []string {
	kinds := make([]string, 0, len(r.ErrorKinds))
	for k := range r.ErrorKinds {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return r.ErrorKinds[kinds[i]] > r.ErrorKinds[kinds[j]] })
	return kinds
}
