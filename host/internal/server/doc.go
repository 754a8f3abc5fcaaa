// Package server is moat's MCP server: the go-sdk server with every
// plugin's tools registered, and its transports, stdio and streamable HTTP
// at /mcp, with a graceful drain on shutdown.
package server
