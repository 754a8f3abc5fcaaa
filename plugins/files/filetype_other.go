//go:build !wasip1

package main

import "io/fs"

// unknownType is false outside WASI, whose systems give every file a type.
func unknownType(fs.FileInfo) bool { return false }
