// Package rootfs is a wazero file system confined to one host folder.
//
// It lives apart from package sandbox because its File type must have
// wazero's Seek(int64, int) (int64, Errno), which go vet's stdmethods
// check mistakes for a faulty io.Seeker; the Makefile vets this package
// with that one check off.
package rootfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// FS is a wazero file system confined to one host folder by an
// os.Root: every path the plugin names, every symlink it follows and every
// ".." it walks is resolved inside that folder, or refused. wazero's own
// directory mount resolves paths with the host's open and follows
// symlinks wherever they point, so a plugin granted a writable folder
// could plant a link to / and read through it; os.Root cannot be walked
// out of, whoever made the link.
type FS struct {
	experimentalsys.UnimplementedFS
	root     *os.Root
	writable bool
}

// Open confines a file system to the folder dir; without writable every
// change is refused with EROFS.
func Open(dir string, writable bool) (*FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &FS{root: root, writable: writable}, nil
}

// Close releases the folder.
func (r *FS) Close() error { return r.root.Close() }

// name turns wazero's path, relative to the mount, into the Root's.
// wazero hands some paths on with a leading slash (a stat relative to a
// folder opened as the mount's root comes as "/name"), which the Root
// would refuse as absolute; inside a mount "/" is the mount itself.
func name(path string) string {
	path = strings.TrimLeft(path, "/")
	if path == "" {
		return "."
	}
	return path
}

// errno maps a host error to the errno the plugin sees. A path the Root
// refuses because it leads outside the folder is EPERM.
func errno(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	var se syscall.Errno
	if errors.As(err, &se) {
		return experimentalsys.UnwrapOSError(err)
	}
	for _, known := range []error{fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, fs.ErrClosed, fs.ErrInvalid, io.EOF} {
		if errors.Is(err, known) {
			return experimentalsys.UnwrapOSError(known)
		}
	}
	return experimentalsys.EPERM
}

// osFlag turns a WASI open flag into the host's.
func osFlag(flag experimentalsys.Oflag) int {
	var f int
	switch flag & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY) {
	case experimentalsys.O_RDWR:
		f = os.O_RDWR
	case experimentalsys.O_WRONLY:
		f = os.O_WRONLY
	default:
		f = os.O_RDONLY
	}
	for _, m := range []struct {
		wasi experimentalsys.Oflag
		host int
	}{
		{experimentalsys.O_APPEND, os.O_APPEND},
		{experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_EXCL, os.O_EXCL},
		{experimentalsys.O_TRUNC, os.O_TRUNC},
		{experimentalsys.O_SYNC, os.O_SYNC},
		{experimentalsys.O_DIRECTORY, syscall.O_DIRECTORY},
		{experimentalsys.O_NOFOLLOW, syscall.O_NOFOLLOW},
		{experimentalsys.O_DSYNC, syscall.O_DSYNC},
		{experimentalsys.O_RSYNC, syscall.O_RSYNC},
	} {
		if flag&m.wasi != 0 {
			f |= m.host
		}
	}
	return f
}

const writeFlags = experimentalsys.O_RDWR | experimentalsys.O_WRONLY | experimentalsys.O_APPEND |
	experimentalsys.O_CREAT | experimentalsys.O_TRUNC

func (r *FS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if !r.writable && flag&writeFlags != 0 {
		return nil, experimentalsys.EROFS
	}
	// A special file seen before the open is refused unopened: opening a
	// device can act on it (a tape rewinds). That look can race a rename,
	// so it only spares the open; the check that counts is the one below.
	if fi, err := r.root.Stat(name(path)); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		return nil, ErrSpecial
	}
	// O_NONBLOCK keeps the open itself from waiting: a FIFO's open waits
	// for the other end, a device's may wait for the device; O_NOCTTY
	// keeps a terminal from becoming moat's. What was opened is then
	// checked on its descriptor, which no rename can swap.
	f, err := r.root.OpenFile(name(path), osFlag(flag)|syscall.O_NONBLOCK|syscall.O_NOCTTY, perm)
	if errors.Is(err, syscall.ENXIO) {
		// A socket, a FIFO opened for writing with no reader, or a device
		// with no driver.
		return nil, ErrSpecial
	}
	if err != nil {
		return nil, errno(err)
	}
	if e := servable(f); e != 0 {
		f.Close()
		return nil, e
	}
	return &rootFile{f: f, fs: r, path: name(path), append: flag&experimentalsys.O_APPEND != 0}, 0
}

// ErrSpecial is the errno of opening a FIFO, socket or device in a mount:
// moat serves regular files and folders only, since reading the others can
// block the host past the call's deadline (a FIFO until another process
// writes, a terminal until someone types) or never end (/dev/zero). Stat
// and directory listings still show such a file for what it is.
const ErrSpecial = experimentalsys.ENOTSUP

// servable refuses a descriptor that is not a regular file or a folder,
// and makes reads and writes of one that is block as usual (O_NONBLOCK
// means nothing to a local file, but a network or FUSE file system may
// honour it).
func servable(f *os.File) experimentalsys.Errno {
	fi, err := f.Stat()
	if err != nil {
		return errno(err)
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return ErrSpecial
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return errno(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return errno(err)
	}
	return errno(serr)
}

func (r *FS) Lstat(path string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Lstat(name(path))
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (r *FS) Stat(path string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Stat(name(path))
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (r *FS) Readlink(path string) (string, experimentalsys.Errno) {
	dst, err := r.root.Readlink(name(path))
	return dst, errno(err)
}

// change runs one change to the tree, refused with EROFS on a read-only
// mount.
func (r *FS) change(fn func() error) experimentalsys.Errno {
	if !r.writable {
		return experimentalsys.EROFS
	}
	return errno(fn())
}

func (r *FS) Mkdir(path string, perm fs.FileMode) experimentalsys.Errno {
	return r.change(func() error { return r.root.Mkdir(name(path), perm) })
}

func (r *FS) Chmod(path string, perm fs.FileMode) experimentalsys.Errno {
	return r.change(func() error { return r.root.Chmod(name(path), perm) })
}

func (r *FS) Rename(from, to string) experimentalsys.Errno {
	return r.change(func() error { return r.root.Rename(name(from), name(to)) })
}

func (r *FS) Rmdir(path string) experimentalsys.Errno {
	return r.change(func() error {
		fi, err := r.root.Lstat(name(path))
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return syscall.ENOTDIR
		}
		return r.root.Remove(name(path))
	})
}

func (r *FS) Unlink(path string) experimentalsys.Errno {
	return r.change(func() error {
		fi, err := r.root.Lstat(name(path))
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return syscall.EISDIR
		}
		return r.root.Remove(name(path))
	})
}

func (r *FS) Link(oldPath, newPath string) experimentalsys.Errno {
	return r.change(func() error { return r.root.Link(name(oldPath), name(newPath)) })
}

// Symlink makes a link whose target may name anything; following it is
// what the Root confines.
func (r *FS) Symlink(oldPath, linkName string) experimentalsys.Errno {
	return r.change(func() error { return r.root.Symlink(oldPath, name(linkName)) })
}

func (r *FS) Utimens(path string, atim, mtim int64) experimentalsys.Errno {
	return r.change(func() error { return r.chtimes(name(path), atim, mtim) })
}

// chtimes sets a file's times in nanoseconds, keeping one that is
// UTIME_OMIT.
func (r *FS) chtimes(path string, atim, mtim int64) error {
	if atim == experimentalsys.UTIME_OMIT || mtim == experimentalsys.UTIME_OMIT {
		fi, err := r.root.Stat(path)
		if err != nil {
			return err
		}
		st := sys.NewStat_t(fi)
		if atim == experimentalsys.UTIME_OMIT {
			atim = st.Atim
		}
		if mtim == experimentalsys.UTIME_OMIT {
			mtim = st.Mtim
		}
	}
	return r.root.Chtimes(path, time.Unix(0, atim), time.Unix(0, mtim))
}

// rootFile is a file or folder opened through an FS.
type rootFile struct {
	experimentalsys.UnimplementedFile
	f      *os.File
	fs     *FS
	path   string
	append bool
}

func (f *rootFile) stat() (sys.Stat_t, experimentalsys.Errno) {
	fi, err := f.f.Stat()
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (f *rootFile) Dev() (uint64, experimentalsys.Errno) {
	st, e := f.stat()
	return st.Dev, e
}

func (f *rootFile) Ino() (sys.Inode, experimentalsys.Errno) {
	st, e := f.stat()
	return st.Ino, e
}

func (f *rootFile) IsDir() (bool, experimentalsys.Errno) {
	st, e := f.stat()
	return st.Mode.IsDir(), e
}

func (f *rootFile) IsAppend() bool { return f.append }

// SetAppend is refused: the host file was opened with its flags, and
// reopening it by name could reach a different file.
func (f *rootFile) SetAppend(enable bool) experimentalsys.Errno {
	if enable == f.append {
		return 0
	}
	return experimentalsys.ENOSYS
}

func (f *rootFile) Stat() (sys.Stat_t, experimentalsys.Errno) { return f.stat() }

func (f *rootFile) Read(buf []byte) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.Read(buf)
	return n, errno(err)
}

func (f *rootFile) Pread(buf []byte, off int64) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.ReadAt(buf, off)
	return n, errno(err)
}

// Seek has the signature of wazero's experimentalsys.File, not io.Seeker's,
// which is why go vet's stdmethods check is off for this package (make vet).
func (f *rootFile) Seek(offset int64, whence int) (int64, experimentalsys.Errno) {
	n, err := f.f.Seek(offset, whence)
	return n, errno(err)
}

// Readdir lists up to n entries (all when n <= 0), each with its inode,
// which WASI readers need to tell a live entry.
func (f *rootFile) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	entries, err := f.f.ReadDir(n)
	if err != nil && err != io.EOF {
		return nil, errno(err)
	}
	dirents := make([]experimentalsys.Dirent, 0, len(entries))
	for _, e := range entries {
		d := experimentalsys.Dirent{Name: e.Name(), Type: e.Type()}
		if fi, err := e.Info(); err == nil {
			d.Ino = sys.NewStat_t(fi).Ino
		}
		dirents = append(dirents, d)
	}
	return dirents, 0
}

func (f *rootFile) Write(buf []byte) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.Write(buf)
	return n, errno(err)
}

func (f *rootFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.WriteAt(buf, off)
	return n, errno(err)
}

func (f *rootFile) Truncate(size int64) experimentalsys.Errno { return errno(f.f.Truncate(size)) }
func (f *rootFile) Sync() experimentalsys.Errno               { return errno(f.f.Sync()) }
func (f *rootFile) Datasync() experimentalsys.Errno           { return errno(f.f.Sync()) }

func (f *rootFile) Utimens(atim, mtim int64) experimentalsys.Errno {
	return f.fs.change(func() error { return f.fs.chtimes(f.path, atim, mtim) })
}

func (f *rootFile) Close() experimentalsys.Errno { return errno(f.f.Close()) }
