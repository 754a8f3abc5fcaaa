package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-mcp/moat/host/config"
)

// fakeCgroup lays out a cgroup file system under a temporary folder:
// files maps paths under the mount to their contents, and self is the
// process's /proc/self/cgroup.
func fakeCgroup(t *testing.T, self string, files map[string]string) cgroupFiles {
	t.Helper()
	dir := t.TempDir()
	cg := cgroupFiles{root: filepath.Join(dir, "cgroup"), self: filepath.Join(dir, "self")}
	if err := os.MkdirAll(cg.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cg.self, []byte(self), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(cg.root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return cg
}

func TestMemoryPolicyDecision(t *testing.T) {
	const mib = 1 << 20
	v2 := func(limits map[string]string) map[string]string {
		files := map[string]string{"cgroup.controllers": "cpu memory pids\n"}
		for dir, limit := range limits {
			files[dir+"/memory.max"] = limit + "\n"
		}
		return files
	}
	v1Self := "12:pids:/x\n4:memory:/process_api/abc\n0::/\n"
	cases := []struct {
		name    string
		env     map[string]string
		setting string // memory_limit in the file; "" leaves it out
		self    string
		files   map[string]string
		limit   int64
		gc      int
		env2    bool
		why     string
	}{
		{name: "GOMEMLIMIT in the environment leaves all alone", env: map[string]string{"GOMEMLIMIT": "1GiB"}, setting: "512MiB",
			self: "0::/\n", files: v2(map[string]string{"": "1073741824"}), env2: true},
		{name: "GOGC in the environment leaves all alone", env: map[string]string{"GOGC": "800"},
			self: "0::/\n", files: v2(map[string]string{"": "1073741824"}), env2: true},
		{name: "memory_limit set is the limit, over the cgroup's", setting: "512MiB",
			self: "0::/\n", files: v2(map[string]string{"": "1073741824"}), limit: 512 * mib, gc: limitedGCPercent, why: "memory_limit 512MiB"},
		{name: "off: Go's defaults, whatever the cgroup", setting: "off",
			self: "0::/\n", files: v2(map[string]string{"": "1073741824"}), why: "off"},
		{name: "cgroup v2 in a container: 90% of memory.max",
			self: "0::/\n", files: v2(map[string]string{"": "1073741824"}), limit: 921 * mib, gc: limitedGCPercent, why: "90% of the cgroup's memory limit, 1GiB"},
		{name: "cgroup v2 under systemd: the smallest limit up the tree", setting: "auto",
			self: "0::/system.slice/moat.service\n", files: v2(map[string]string{"system.slice": "2147483648", "system.slice/moat.service": "max"}),
			limit: 1843 * mib, gc: limitedGCPercent, why: "2GiB"},
		{name: "cgroup v2 with no limit: Go's defaults",
			self: "0::/\n", files: v2(map[string]string{"": "max"}), why: "no cgroup memory limit"},
		{name: "cgroup v1: memory.limit_in_bytes of the memory controller",
			self: v1Self, files: map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n", "memory/process_api/abc/memory.limit_in_bytes": "536870912\n"},
			limit: 460 * mib, gc: limitedGCPercent, why: "512MiB"},
		{name: "cgroup v1 in a container that mounts its own cgroup at the root",
			self: v1Self, files: map[string]string{"memory/memory.limit_in_bytes": "536870912\n"}, limit: 460 * mib, gc: limitedGCPercent, why: "512MiB"},
		{name: "cgroup v1 unlimited: Go's defaults",
			self: v1Self, files: map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, why: "no cgroup memory limit"},
		{name: "no cgroup at all: Go's defaults", self: "", files: nil, why: "no cgroup memory limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			yaml := ""
			if c.setting != "" {
				yaml = "memory_limit: " + c.setting + "\n"
			}
			cfg, err := config.Parse([]byte(yaml), "moat.yaml", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			got, err := chooseMemory(func(k string) string { return c.env[k] }, cfg, fakeCgroup(t, c.self, c.files))
			if err != nil {
				t.Fatal(err)
			}
			if got.limit != c.limit || got.gcPercent != c.gc || got.fromEnvironment != c.env2 || !strings.Contains(got.why, c.why) {
				t.Fatalf("got limit %d, GOGC %d, environment %v, %q; want %d, %d, %v, saying %q",
					got.limit, got.gcPercent, got.fromEnvironment, got.why, c.limit, c.gc, c.env2, c.why)
			}
		})
	}
}
