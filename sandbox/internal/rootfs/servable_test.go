package rootfs

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The check on the opened descriptor is what holds when a file is swapped
// for a FIFO between the look before the open and the open: a FIFO that got
// opened is refused, a regular file is served, and blocking again.
func TestServableChecksTheOpenedFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if e := servable(f); e != ErrSpecial {
		t.Fatalf("a FIFO: errno %v; want %v", e, ErrSpecial)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := os.OpenFile(plain, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if e := servable(g); e != 0 {
		t.Fatalf("a regular file: errno %v", e)
	}
	rc, _ := g.SyscallConn()
	var flags uintptr
	var errno syscall.Errno
	rc.Control(func(fd uintptr) { flags, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0) })
	if errno != 0 || flags&syscall.O_NONBLOCK != 0 {
		t.Fatal("a regular file was left non-blocking")
	}
}
