package abi

import "embed"

// Source is this package's own Go source. `moat new` copies it into a Go
// plugin project, whose SDK imports this contract, so that the project
// builds offline from the moat binary alone. Programs that never read it,
// plugins among them, do not carry it.
//
//go:embed abi.go errno.go json.go doc.go resources.go uritemplate.go
var Source embed.FS
