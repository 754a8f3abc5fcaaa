// Peer (4) of moat's load harness: the echo tool on the official TypeScript
// MCP SDK, served over streamable HTTP at /mcp the way the SDK's own
// examples do it: one McpServer and one transport per session, created on
// initialize and found again by the Mcp-Session-Id header. Plain node:http,
// no framework, so that the SDK is what is measured.
//
//   node server.mjs --listen 127.0.0.1:8084
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

function listenAddress() {
  const i = process.argv.indexOf("--listen");
  const addr = i >= 0 ? process.argv[i + 1] : "127.0.0.1:8084";
  const colon = addr.lastIndexOf(":");
  return { host: addr.slice(0, colon), port: Number(addr.slice(colon + 1)) };
}

function newServer() {
  const server = new McpServer({ name: "ts-echo", version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Answers with the text it is given.", inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );
  return server;
}

const transports = new Map();

async function readJSON(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function fail(res, status, message) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}

async function handle(req, res) {
  if (new URL(req.url, "http://x").pathname !== "/mcp") return fail(res, 404, "not found");
  const id = req.headers["mcp-session-id"];
  let body;
  if (req.method === "POST") {
    try {
      body = await readJSON(req);
    } catch (e) {
      return fail(res, 400, "bad JSON: " + e.message);
    }
  }
  let transport = id ? transports.get(id) : undefined;
  if (!transport) {
    if (id || req.method !== "POST" || !isInitializeRequest(body)) {
      return fail(res, id ? 404 : 400, id ? "unknown session" : "no session: initialize first");
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => transports.set(sid, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) transports.delete(transport.sessionId);
    };
    await newServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
}

const { host, port } = listenAddress();
createServer((req, res) => {
  handle(req, res).catch((e) => {
    if (!res.headersSent) fail(res, 500, String(e));
  });
}).listen(port, host, () => console.log(`listening on http://${host}:${port}/mcp`));
