// Package extism compares one call of moat's sandbox with one call of
// Extism's Go SDK (github.com/extism/go-sdk), for the same echo, in the
// same test binary. It is a module of its own so that moat's go.mod never
// depends on Extism, nor takes the wazero version Extism asks for (this
// module builds both hosts with the newer of the two, moat's).
//
//	cd bench/extism && go test -run '^$' -bench . -benchmem
package extism
