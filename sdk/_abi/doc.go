// Package abi is the moat plugin ABI, version 1, written down as Go.
//
// It names what a plugin module must export and may import, the error codes a
// host function returns, how a pointer and a length travel packed in one i64,
// and the JSON a plugin exchanges with the host: its description and the
// requests and responses of moat_call. The host (package sandbox) and the Go
// plugin SDK (package sdk/go) both build on it, so the contract lives in one
// place. docs/ABI.md says the same for authors in every language.
//
// The package depends on the standard library only, so a plugin compiled to
// WebAssembly can import it without pulling the host in.
package abi
