package rootfs_test

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/sandbox/internal/rootfs"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// tree makes dir/mount, holding a link "up" to dir/outside, which holds
// secret.txt.
func tree(t *testing.T) (mount string) {
	t.Helper()
	dir := t.TempDir()
	mount = filepath.Join(dir, "mount")
	outside := filepath.Join(dir, "outside")
	for _, d := range []string{mount, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("top secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", filepath.Join(mount, "up")); err != nil {
		t.Fatal(err)
	}
	return mount
}

// wazero's own directory file system follows a link out of its folder;
// this is why moat mounts through an os.Root instead.
func TestWazeroDirFSFollowsLinksOut(t *testing.T) {
	mount := tree(t)
	f, errno := sysfs.DirFS(mount).OpenFile("up/secret.txt", experimentalsys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatalf("wazero's DirFS no longer follows links out of its folder (errno %v): update docs/SECURITY.md, which says it does", errno)
	}
	defer f.Close()
	buf := make([]byte, 32)
	n, _ := f.Read(buf)
	if string(buf[:n]) != "top secret" {
		t.Fatalf("read %q through the link", buf[:n])
	}
}

func TestRootFSRefusesEveryWayOut(t *testing.T) {
	for _, writable := range []bool{false, true} {
		mount := tree(t)
		fsys, err := rootfs.Open(mount, writable)
		if err != nil {
			t.Fatal(err)
		}
		defer fsys.Close()
		for _, path := range []string{"up/secret.txt", "../outside/secret.txt", "up/../up/secret.txt", filepath.Join(filepath.Dir(mount), "outside", "secret.txt")} {
			if f, errno := fsys.OpenFile(path, experimentalsys.O_RDONLY, 0); errno == 0 {
				f.Close()
				t.Errorf("writable=%v: opened %s", writable, path)
			}
			if _, errno := fsys.Stat(path); errno == 0 {
				t.Errorf("writable=%v: stat %s", writable, path)
			}
		}
		if writable {
			if errno := fsys.Symlink("/", "root"); errno != 0 {
				t.Fatalf("symlink: %v", errno)
			}
			if _, errno := fsys.OpenFile("root/etc/passwd", experimentalsys.O_RDONLY, 0); errno == 0 {
				t.Error("followed a link to / made by the plugin")
			}
			if errno := fsys.Rename("up/secret.txt", "stolen.txt"); errno == 0 {
				t.Error("renamed a file from outside into the mount")
			}
		} else if errno := fsys.Mkdir("sub", 0o755); errno != experimentalsys.EROFS {
			t.Errorf("mkdir on a read-only mount: %v; want EROFS", errno)
		}
	}
}

// Opening a FIFO, socket or device is refused with ErrSpecial, never
// waited on: without a writer, a FIFO's open and read block the host.
func TestRootFSRefusesSpecialFiles(t *testing.T) {
	mount := tree(t)
	fifo := filepath.Join(mount, "fifo")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(mount, "sock"))
	if err != nil {
		t.Skipf("no unix socket: %v", err)
	}
	defer l.Close()
	if err := os.WriteFile(filepath.Join(mount, "plain.txt"), []byte("plain"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := rootfs.Open(mount, true)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	dev, err := rootfs.Open("/dev", false)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()

	type open struct {
		fsys *rootfs.FS
		path string
		flag experimentalsys.Oflag
	}
	cases := []open{
		{fsys, "fifo", experimentalsys.O_RDONLY},
		{fsys, "fifo", experimentalsys.O_WRONLY},
		{fsys, "fifo", experimentalsys.O_RDWR},
		{fsys, "/fifo", experimentalsys.O_RDONLY},
		{fsys, "sock", experimentalsys.O_RDONLY},
		{fsys, "sock", experimentalsys.O_WRONLY},
	}
	for _, d := range []string{"null", "zero"} {
		if fi, err := os.Stat("/dev/" + d); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			cases = append(cases, open{dev, d, experimentalsys.O_RDONLY})
		}
	}
	for _, c := range cases {
		done := make(chan experimentalsys.Errno, 1)
		go func() {
			f, errno := c.fsys.OpenFile(c.path, c.flag, 0)
			if errno == 0 {
				f.Close()
			}
			done <- errno
		}()
		select {
		case errno := <-done:
			if errno != rootfs.ErrSpecial {
				t.Errorf("open %s (flag %v): errno %v; want %v", c.path, c.flag, errno, rootfs.ErrSpecial)
			}
		case <-time.After(30 * time.Second):
			// Release the blocked open, then fail.
			if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
				f.Close()
			}
			<-done
			t.Errorf("open %s (flag %v) blocked", c.path, c.flag)
		}
	}
	// Stat still tells what they are.
	for path, mode := range map[string]os.FileMode{"fifo": os.ModeNamedPipe, "/sock": os.ModeSocket} {
		st, errno := fsys.Lstat(path)
		if errno != 0 || st.Mode.Type() != mode {
			t.Errorf("lstat %s: mode %v, errno %v; want %v", path, st.Mode, errno, mode)
		}
	}
	// A regular file opens and reads as before.
	f, errno := fsys.OpenFile("plain.txt", experimentalsys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatalf("open plain.txt: %v", errno)
	}
	defer f.Close()
	buf := make([]byte, 16)
	if n, errno := f.Read(buf); errno != 0 || string(buf[:n]) != "plain" {
		t.Fatalf("read plain.txt: %q, %v", buf[:n], errno)
	}
}
