package main

import (
	"errors"
	"syscall"
)

// notCapable reports WASI's refusal of a path outside every preopened
// directory.
func notCapable(err error) bool { return errors.Is(err, syscall.ENOTCAPABLE) }
