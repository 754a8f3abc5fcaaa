package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// moat serve applies memory_limit at start and says so once in its log,
// with the GOGC that goes with it.
func TestServeLogsTheMemoryPolicy(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("GOGC") != "" {
		t.Skip("GOMEMLIMIT or GOGC is set for the tests; moat would leave the collector to them")
	}
	file := filepath.Join(t.TempDir(), "moat.yaml")
	writeFile(t, file, "memory_limit: 256MiB\n")
	s := startHTTP(t, "--config", file)
	log := s.log.String()
	if n := strings.Count(log, "memory policy"); n != 1 {
		t.Fatalf("the memory policy is logged %d times; want once:\n%s", n, log)
	}
	for _, want := range []string{"memory_limit=256MiB", "gogc=400"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %s:\n%s", want, log)
		}
	}
}
