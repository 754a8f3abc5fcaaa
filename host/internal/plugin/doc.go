// Package plugin is moat's plugin registry: it finds the configured
// plugins, loads each into the sandbox, checks what each describes, and
// maps the tool names clients see to the plugin that serves them.
//
// A Tool's Call is the whole path of one call below the MCP server:
// arguments checked against the tool's inputSchema, the ABI request built,
// the sandboxed call, and the plugin's output checked before it is trusted.
// One bad plugin is reported and skipped; the others load and serve.
package plugin
