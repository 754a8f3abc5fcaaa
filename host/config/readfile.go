package config

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// The most a configuration file, or a file a ${file:} reference reads,
// may hold: far more than any needs, and a bound on what a wrong path
// (a link to /dev/zero, a log file) can make moat read.
const (
	maxConfigFile    = 4 << 20
	maxReferenceFile = 1 << 20
)

// readRegular reads the regular file at path, at most limit bytes. It opens
// without blocking and checks the opened file itself, so that a named pipe,
// a device or a socket at that path is refused at once rather than read
// (for ever, or until memory runs out), with an error that says what it is.
func readRegular(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s); point at a file", path, info.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s holds more than %s, which no configuration needs; point at the right file", path, Size(limit))
	}
	return data, nil
}
