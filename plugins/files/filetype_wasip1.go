package main

import (
	"io/fs"
	"syscall"
)

// unknownType reports a file WASI gives no type: a FIFO or a socket (WASI
// preview 1 has no type for a FIFO, and the host names no socket reached
// by path). Go shows it as a regular file, so only the raw type tells.
func unknownType(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Filetype == syscall.FILETYPE_UNKNOWN
}
