package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// goBench is one Go benchmark's median over its runs (-count).
type goBench struct {
	NsPerOp     float64
	BytesPerOp  float64
	AllocsPerOp float64
	Runs        int
}

// readGoBench reads every `go test -bench` output file matching pattern
// and returns each benchmark's median, by name without the -GOMAXPROCS
// suffix.
func readGoBench(pattern string) map[string]goBench {
	paths, _ := filepath.Glob(pattern)
	ns := map[string][]float64{}
	bs := map[string][]float64{}
	as := map[string][]float64{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
				continue
			}
			name := fields[0]
			if i := strings.LastIndexByte(name, '-'); i > 0 {
				if _, err := strconv.Atoi(name[i+1:]); err == nil {
					name = name[:i]
				}
			}
			for i := 2; i+1 < len(fields); i += 2 {
				v, err := strconv.ParseFloat(fields[i], 64)
				if err != nil {
					continue
				}
				switch fields[i+1] {
				case "ns/op":
					ns[name] = append(ns[name], v)
				case "B/op":
					bs[name] = append(bs[name], v)
				case "allocs/op":
					as[name] = append(as[name], v)
				}
			}
		}
		f.Close()
	}
	out := map[string]goBench{}
	for name, v := range ns {
		out[name] = goBench{NsPerOp: median(v), BytesPerOp: median(bs[name]), AllocsPerOp: median(as[name]), Runs: len(v)}
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
