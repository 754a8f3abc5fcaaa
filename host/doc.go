// Package host is moat's host: what cmd/moat calls to serve plugins over
// MCP (Serve), to call one tool without a client (Call), and to look inside
// a module (Inspect). Its subpackages hold the parts: config, the plugin
// registry, and the MCP server with its transports.
package host
