// Package sdk holds the sources of moat's plugin SDKs, embedded in the moat
// binary, so that `moat new` can give a new plugin project the SDK it builds
// against: a project made by someone who has only the binary still builds
// as it is, offline.
package sdk

import "embed"

// Files holds the SDK sources a plugin project needs, by language:
//
//   - c/moat.h, c/moat.c: the C SDK;
//   - rust/Cargo.toml, rust/README.md, rust/src/*.rs: the Rust crate;
//   - assemblyscript/package.json, assemblyscript/README.md,
//     assemblyscript/assembly/*.ts: the npm package moat-sdk;
//   - go/*.go: the Go SDK (its _test.go files too, which a copy leaves
//     out). The package abi it imports carries its own source (abi.Source).
//
//go:embed c/moat.h c/moat.c
//go:embed rust/Cargo.toml rust/README.md rust/src/*.rs
//go:embed assemblyscript/package.json assemblyscript/README.md assemblyscript/assembly/*.ts
//go:embed go/*.go
var Files embed.FS
