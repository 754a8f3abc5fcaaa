package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"syscall"
)

// grantKey names the configuration key an operator edits to mount
// folders for this plugin. Under WASI, args[0] is the plugin's name as
// configured.
func grantKey() string {
	name := "files"
	if runtime.GOOS == "wasip1" && len(os.Args) > 0 && os.Args[0] != "" {
		name = os.Args[0]
	}
	return "plugins." + name + ".grants.fs"
}

// fsError turns a file system error into a message that says what to do.
func fsError(what string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is in what already
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: it does not exist; list_directory or search_files show what does", what)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%s: the mount is read-only (read-only file system); an operator allows writes with mode: rw on its mount in %s", what, grantKey())
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: %v: the host's file permissions refuse it, or the mount is read-only (then an operator allows writes with mode: rw on it in %s)", what, err, grantKey())
	case errors.Is(err, syscall.EBADF), notCapable(err):
		return fmt.Errorf("%s: %v: the path is in no mounted directory; an operator mounts folders in %s", what, err, grantKey())
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%s: a part of the path is a file, not a directory", what)
	case errors.Is(err, syscall.EISDIR):
		return fmt.Errorf("%s: it is a directory; use list_directory", what)
	}
	return fmt.Errorf("%s: %v", what, err)
}
