// Package config is moat's configuration: YAML documents, their defaults in
// one place, checked once at load with errors that name the key and the fix.
//
// Load layers the configuration, each layer overriding the ones before it
// key by key (mappings merge; a list or a value replaces): the built-in
// defaults, then each file in order, then the MOAT_ environment variables
// (see EnvPrefix); the command then applies its flags. Each file is checked
// strictly on its own first, so errors keep its name and line numbers.
// Relative paths in a file are relative to that file's folder; in the
// environment and the built-in default, to the working directory. A value
// may name a secret instead of holding it, as ${env:NAME} or ${file:PATH};
// SecretValues lists what must never leave the host, and EffectiveYAML
// prints the result with those masked.
//
// Default is the built-in document alone; Parse reads one document.
package config
