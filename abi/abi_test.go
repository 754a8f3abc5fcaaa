package abi

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackRoundTrip(t *testing.T) {
	cases := []struct{ ptr, length uint32 }{
		{0, 0}, {1, 2}, {0xffffffff, 0}, {0, 0xffffffff}, {0x80000000, 0x7fffffff},
	}
	for _, c := range cases {
		packed := Pack(c.ptr, c.length)
		p, l := Unpack(packed)
		if p != c.ptr || l != c.length {
			t.Errorf("Unpack(Pack(%#x, %#x)) = %#x, %#x", c.ptr, c.length, p, l)
		}
	}
	if got := Pack(2, 3); got != 2<<32|3 {
		t.Errorf("Pack(2, 3) = %#x, want the pointer in the high word", got)
	}
}

func TestErrnoResultIsNegated(t *testing.T) {
	if EPERM.Result() != -1 || ERATELIMIT.Result() != -9 {
		t.Fatalf("EPERM.Result() = %d, ERATELIMIT.Result() = %d", EPERM.Result(), ERATELIMIT.Result())
	}
	if EPERM.String() != "EPERM" || Errno(42).String() != "errno(42)" {
		t.Fatalf("names: %s %s", EPERM, Errno(42))
	}
}

func TestSignatureString(t *testing.T) {
	if got := Imports[ImportKVSet].String(); got != "(i32, i32, i32, i32) -> (i64)" {
		t.Fatalf("kv_set signature renders as %q", got)
	}
}

func TestEveryImportHasACapabilityOrIsAlwaysAllowed(t *testing.T) {
	always := map[string]bool{ImportReadResult: true, ImportLog: true, ImportProgress: true, ImportCancelled: true}
	for name := range Imports {
		if always[name] != (Capability(name) == "") {
			t.Errorf("import %s: capability %q", name, Capability(name))
		}
	}
}

// Source must hold every file a copy of this package needs to compile, so
// that the Go projects moat new writes build; only source.go may be left out.
func TestSourceHoldsThePackage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "source.go" {
			continue
		}
		want, _ := os.ReadFile(f)
		got, err := fs.ReadFile(Source, f)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Source lacks %s (%v): add it to the go:embed line in source.go", f, err)
		}
	}
}

func TestNotifyResourceUpdatedIsAnAdditiveImport(t *testing.T) {
	sig, ok := Imports[ImportNotifyResourceUpdated]
	if !ok || sig.String() != "(i32, i32) -> (i64)" {
		t.Fatalf("notify_resource_updated: %v %v", sig, ok)
	}
	if Capability(ImportNotifyResourceUpdated) != "resources" {
		t.Errorf("capability %q", Capability(ImportNotifyResourceUpdated))
	}
}
