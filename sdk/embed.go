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
//   - go/*.go: the Go SDK (its _test.go files too, which a copy leaves out);
//   - _abi/*.go: a copy of package abi, which the Go SDK imports. An
//     embedded file must sit under the embedding package's folder, and abi
//     stays free of this concern, so the copy lives here; TestABICopy keeps
//     it equal to ../abi.
//
//go:embed c/moat.h c/moat.c
//go:embed rust/Cargo.toml rust/README.md rust/src/*.rs
//go:embed assemblyscript/package.json assemblyscript/README.md assemblyscript/assembly/*.ts
//go:embed go/*.go _abi/*.go
var Files embed.FS
