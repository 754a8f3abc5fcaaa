package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// machine describes where the figures were measured.
type machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Memory string `json:"memory"`
	OS     string `json:"os"`
	Go     string `json:"go"`
	Node   string `json:"node"`
	Wazero string `json:"wazero,omitempty"`
}

func describeMachine() machine {
	m := machine{CPU: "unknown", Cores: runtime.NumCPU(), Memory: "unknown", OS: runtime.GOOS,
		Go: version(goTool(), "env", "GOVERSION"), Node: version("node", "--version")}
	if v := field("/proc/cpuinfo", "model name", ":"); v != "" {
		m.CPU = v
	}
	if v := field("/proc/meminfo", "MemTotal", ":"); v != "" {
		var kb int64
		if _, err := fmt.Sscanf(v, "%d kB", &kb); err == nil {
			m.Memory = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	os := strings.Trim(field("/etc/os-release", "PRETTY_NAME", "="), `"`)
	if kernel, err := readTrim("/proc/sys/kernel/osrelease"); err == nil {
		os = strings.TrimSpace(os + ", Linux " + kernel)
	}
	if os != "" {
		m.OS = os
	}
	return m
}

// field returns the value of the first line of path that starts with key.
func field(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}
