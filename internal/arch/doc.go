// Package arch holds no code: its test checks that moat's packages import
// one another only as ARCHITECTURE's arrows allow (cmd → host → sandbox →
// abi, plugins → sdk → abi), so that a change cannot bend them unnoticed.
package arch
