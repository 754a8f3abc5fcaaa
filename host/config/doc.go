// Package config is moat's configuration: one YAML document, its defaults in
// one place, checked once at load with errors that name the key and the fix.
//
// Load reads a file; Default is the document moat runs with when given none.
// Relative paths in a file are relative to the file's directory; in the
// default, to the working directory.
package config
