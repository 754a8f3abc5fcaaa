package plugin

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/sandbox"
)

// ModuleError is a module file moat refuses to read: not a regular file, or
// larger than max_module_size. Its message names the file, what it is and
// what to do.
type ModuleError struct {
	Path    string
	Problem string // "is a named pipe (FIFO)", "is 3.0GiB, 2.9GiB over max_module_size (128MiB)"
	Fix     string
}

func (e *ModuleError) Error() string {
	return fmt.Sprintf("module %s %s; %s", e.Path, e.Problem, e.Fix)
}

// ReadModule reads the plugin module at path, which must be a regular file
// of at most max bytes (config.DefaultMaxModuleSize when max <= 0). It never
// blocks on what it finds there: the file is opened without waiting (a
// named pipe with no writer, a device), fstat of that same descriptor must
// say it is a regular file, and at most max+1 bytes are read through it, so
// a file swapped or grown between the checks is still caught. Every reader
// of a module goes through here.
func ReadModule(path string, max int64) ([]byte, error) {
	if max <= 0 {
		max = config.DefaultMaxModuleSize
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		// A socket cannot be opened at all (ENXIO); say what it is rather
		// than "no such device or address". The stat only shapes the
		// message: nothing is read from what it finds.
		if info, serr := os.Stat(path); serr == nil && !info.Mode().IsRegular() {
			return nil, notRegular(path, info.Mode())
		}
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(path, info.Mode())
	}
	if info.Size() > max {
		return nil, tooBig(path, info.Size(), max)
	}
	wasm, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	if int64(len(wasm)) > max {
		// It grew after fstat; how much larger is unknown.
		return nil, tooBig(path, int64(len(wasm)), max)
	}
	return wasm, nil
}

// notRegular says what kind of file a module path names instead of a
// regular file.
func notRegular(path string, mode fs.FileMode) error {
	var what string
	switch {
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	case mode&fs.ModeCharDevice != 0:
		what = "a character device"
	case mode&fs.ModeDevice != 0:
		what = "a block device"
	case mode.IsDir():
		what = "a directory"
	default:
		what = "a special file (" + mode.Type().String() + ")"
	}
	return &ModuleError{Path: path, Problem: "is " + what + ", not a regular file",
		Fix: "a plugin module must be a regular .wasm file; replace it with the module, or move it out of plugins_dir"}
}

func tooBig(path string, size, max int64) error {
	return &ModuleError{Path: path,
		Problem: fmt.Sprintf("is %d bytes (%s), %d bytes over max_module_size (%s)", size, sandbox.FormatSize(uint64(size)), size-max, sandbox.FormatSize(uint64(max))),
		Fix:     "raise max_module_size if the module is genuine, or remove the file"}
}
