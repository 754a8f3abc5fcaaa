// Package load drives MCP tools/call over streamable HTTP as real clients
// do, and measures what it sees.
//
// A [Client] is one MCP client: it opens a session (initialize, then
// notifications/initialized, then every request carries the
// Mcp-Session-Id the server gave), or sends stateless requests, gives
// every request an id of its own, and parses every answer as JSON-RPC,
// whether the server sent a JSON body or an SSE stream. A call counts as
// a success only when the answer is the echo of what was sent.
//
// [Run] puts a [Workload] on a server: N clients calling back to back for a
// duration (closed loop, for throughput), or calls started at a fixed rate
// whatever the answers' pace (open loop, for latency at a given load, with
// each latency counted from when its call was due, so a stalled server is
// not hidden by the client waiting on it). [Proc] reads a server
// process's CPU time and peak memory from /proc.
package load
