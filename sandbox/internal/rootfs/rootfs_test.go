package rootfs_test

import (
	"os"
	"path/filepath"
	"testing"

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
