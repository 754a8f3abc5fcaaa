package main_test

import (
	"testing"
	"time"
)

// eventually polls cond until it holds, failing the test with what if it
// has not within bound. Tests wait for conditions, never for moments: a
// busy machine may take far longer than a quiet one to get there.
func eventually(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(bound); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", bound, what)
		}
	}
}

// inflight is moat's count of tool calls running now, from its metrics.
func inflight(t *testing.T, admin string) float64 {
	t.Helper()
	_, metrics := get(t, admin+"/metrics")
	return metricValue(t, metrics, "moat_inflight_calls")
}
