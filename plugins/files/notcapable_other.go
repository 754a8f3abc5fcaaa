//go:build !wasip1

package main

// notCapable is WASI's ENOTCAPABLE, which other systems never return.
func notCapable(error) bool { return false }
