package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want rate.Limit
		err  []string // substrings of the error; nil for success
	}{
		{in: "100/s", want: 100},
		{in: "10/m", want: 10.0 / 60},
		{in: "5000/h", want: 5000.0 / 3600},
		{in: "2.5/s", want: 2.5},
		{in: " 7/s ", want: 7},
		{in: "1 / m", want: 1.0 / 60},
		{in: "unlimited", want: rate.Inf},
		{in: "", err: []string{"rate is empty", `"100/s"`}},
		{in: "100", err: []string{`rate "100" has no unit`, `"100/s"`}},
		{in: "fast", err: []string{`rate "fast" is not COUNT/UNIT`, `"10/m"`}},
		{in: "100/d", err: []string{`unit "d" is not s, m or h`}},
		{in: "100/sec", err: []string{`unit "sec" is not s, m or h`}},
		{in: "abc/s", err: []string{`"abc" is not a number`, `"2.5/s"`}},
		{in: "/s", err: []string{`"" is not a number`}},
		{in: "NaN/s", err: []string{`"NaN" is not a number`}},
		{in: "Inf/s", err: []string{`"Inf" is not a number`}},
		{in: "0/s", err: []string{"must be more than 0", "leave the limit out"}},
		{in: "-5/m", err: []string{"must be more than 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("ParseRate(%q): %v", tt.in, err)
				}
				if math.Abs(float64(got-tt.want)) > 1e-12 && got != tt.want {
					t.Errorf("ParseRate(%q) = %v, want %v", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseRate(%q) = %v, want an error", tt.in, got)
			}
			for _, w := range tt.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseRate(%q) error %q does not contain %q", tt.in, err, w)
				}
			}
		})
	}
}

// A zero burst is the per-second rate rounded up, at least 1.
func TestDefaultBurst(t *testing.T) {
	tests := []struct {
		rate string
		want int
	}{
		{"100/s", 100},
		{"2.5/s", 3},
		{"10/m", 1},
		{"5000/h", 2},
	}
	for _, tt := range tests {
		t.Run(tt.rate, func(t *testing.T) {
			r, err := ParseRate(tt.rate)
			if err != nil {
				t.Fatal(err)
			}
			clock := newClock()
			p, err := New(nil, Limits{Global: &Limit{Rate: r}}, Options{Now: clock.now})
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for p.Take(Subject{}, "", false).OK {
				got++
			}
			if got != tt.want {
				t.Errorf("a full bucket let %d requests through at once, want %d", got, tt.want)
			}
		})
	}
}

func TestMoreGenerous(t *testing.T) {
	slowBig := &Limit{Rate: 1, Burst: 100}
	fastSmall := &Limit{Rate: 10, Burst: 1}
	fastBig := &Limit{Rate: 10, Burst: 5}
	inf := &Limit{Rate: rate.Inf}
	tests := []struct {
		name string
		a, b *Limit
		want *Limit
	}{
		{"nil and one", nil, slowBig, slowBig},
		{"one and nil", slowBig, nil, slowBig},
		{"higher rate beats larger burst", slowBig, fastSmall, fastSmall},
		{"same rate: larger burst", fastSmall, fastBig, fastBig},
		{"same rate: larger burst, other order", fastBig, fastSmall, fastBig},
		{"unlimited beats all", fastBig, inf, inf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := moreGenerous(tt.a, tt.b); got != tt.want {
				t.Errorf("moreGenerous(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// clock is a settable clock for Options.Now.
type clock struct{ t time.Time }

func newClock() *clock { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
