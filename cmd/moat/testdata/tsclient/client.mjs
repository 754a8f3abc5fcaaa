// client.mjs: the official TypeScript MCP SDK as a client of moat serving
// the rawc plugin (cmd/moat/testdata/rawc): tools, resources, templates,
// prompts and completion, as a user of that SDK would reach them.
//
//   node client.mjs stdio MOAT PLUGINS_DIR   spawns MOAT serve --stdio --plugins PLUGINS_DIR
//   node client.mjs http URL                 connects to a moat serving streamable HTTP at URL
//
// It runs every check, prints a JSON summary on stdout (each check with what
// it saw), names each failed check on stderr, and exits 1 if any failed.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

const [mode, ...rest] = process.argv.slice(2);

function usage() {
  process.stderr.write("usage: node client.mjs stdio MOAT PLUGINS_DIR | node client.mjs http URL\n");
  process.exit(2);
}

let transport;
if (mode === "stdio" && rest.length === 2) {
  transport = new StdioClientTransport({
    command: rest[0],
    args: ["serve", "--stdio", "--plugins", rest[1]],
    // moat's cache and admin listener come from the caller's environment.
    env: { ...process.env },
    stderr: "inherit",
  });
} else if (mode === "http" && rest.length === 1) {
  transport = new StreamableHTTPClientTransport(new URL(rest[0]));
} else {
  usage();
}

const checks = [];

class Mismatch extends Error {}

function expect(cond, message) {
  if (!cond) throw new Mismatch(message);
}

function same(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  expect(g === w, `${what}: got ${g}, want ${w}`);
}

// check runs one named check; fn returns what it saw, for the summary.
async function check(name, fn) {
  try {
    const got = await fn();
    checks.push({ name, ok: true, got });
  } catch (err) {
    const message = err instanceof Mismatch ? err.message : `${err?.name ?? "error"}: ${err?.message ?? err}`;
    checks.push({ name, ok: false, error: message });
  }
}

// rpcError runs fn, which must fail with a JSON-RPC error, and returns its
// code and message.
async function rpcError(fn) {
  try {
    const res = await fn();
    throw new Mismatch(`succeeded with ${JSON.stringify(res)}; want a JSON-RPC error`);
  } catch (err) {
    if (err instanceof Mismatch) throw err;
    expect(err instanceof McpError, `failed with ${err}, not a JSON-RPC error`);
    return { code: err.code, message: err.message, data: err.data };
  }
}

// strict: the client refuses to send what the server did not declare, so
// each request below also checks moat's declared capabilities.
const client = new Client({ name: "moat-tsclient-test", version: "1.0.0" }, { enforceStrictCapabilities: true });

let connected = false;
await check("connect", async () => {
  await client.connect(transport);
  connected = true;
  const caps = client.getServerCapabilities() ?? {};
  for (const c of ["tools", "resources", "prompts", "completions"]) {
    expect(caps[c] !== undefined, `the server does not declare the capability ${c}: ${JSON.stringify(caps)}`);
  }
  return { server: client.getServerVersion(), capabilities: Object.keys(caps).sort() };
});

if (connected) {
  await check("tools/list", async () => {
    const { tools } = await client.listTools();
    const add = tools.find((t) => t.name === "rawc_add");
    expect(add, `no tool rawc_add among ${JSON.stringify(tools.map((t) => t.name))}`);
    same(add.inputSchema.required, ["a", "b"], "rawc_add's inputSchema.required");
    same(add.outputSchema?.required, ["sum"], "rawc_add's outputSchema.required");
    return tools.map((t) => t.name);
  });

  await check("tools/call add", async () => {
    const res = await client.callTool({ name: "rawc_add", arguments: { a: 2, b: 40 } });
    expect(!res.isError, `rawc_add(2, 40) is an error: ${JSON.stringify(res)}`);
    same(res.content, [{ type: "text", text: "42" }], "rawc_add(2, 40)'s content");
    same(res.structuredContent, { sum: 42 }, "rawc_add(2, 40)'s structuredContent");
    const neg = await client.callTool({ name: "rawc_add", arguments: { a: -7, b: 3 } });
    same(neg.structuredContent, { sum: -4 }, "rawc_add(-7, 3)'s structuredContent");
    return { "2+40": res.structuredContent.sum, "-7+3": neg.structuredContent.sum };
  });

  await check("resources/list", async () => {
    const { resources } = await client.listResources();
    const motd = resources.find((r) => r.uri === "rawc://motd");
    expect(motd, `no resource rawc://motd among ${JSON.stringify(resources.map((r) => r.uri))}`);
    same([motd.name, motd.mimeType, motd.title], ["motd", "text/plain", "Message of the day"], "rawc://motd's name, mimeType and title");
    return resources.map((r) => r.uri);
  });

  await check("resources/templates/list", async () => {
    const { resourceTemplates } = await client.listResourceTemplates();
    const user = resourceTemplates.find((t) => t.uriTemplate === "rawc://users/{id}");
    expect(user, `no template rawc://users/{id} among ${JSON.stringify(resourceTemplates.map((t) => t.uriTemplate))}`);
    same([user.name, user.mimeType], ["user", "text/plain"], "the template's name and mimeType");
    return resourceTemplates.map((t) => t.uriTemplate);
  });

  await check("resources/read static", async () => {
    const { contents } = await client.readResource({ uri: "rawc://motd" });
    same(contents, [{ uri: "rawc://motd", mimeType: "text/plain", text: "Plugins in C need no SDK." }], "rawc://motd's contents");
    return contents[0].text;
  });

  await check("resources/read templated", async () => {
    const { contents } = await client.readResource({ uri: "rawc://users/grace" });
    same(contents, [{ uri: "rawc://users/grace", mimeType: "text/plain", text: "Grace Hopper" }], "rawc://users/grace's contents");
    return contents[0].text;
  });

  await check("resources/read unknown", async () => {
    const err = await rpcError(() => client.readResource({ uri: "rawc://users/nobody" }));
    // The plugin answers -32002 for a URI its template matches but it does
    // not hold; moat gives the client its one answer for every resource it
    // does not serve (SEP-2164), naming the URI in the error's data.
    expect(err.code === -32602, `reading rawc://users/nobody: code ${err.code} (${err.message}); want -32602`);
    expect(JSON.stringify(err.data ?? {}).includes("rawc://users/nobody"), `reading rawc://users/nobody: the error's data ${JSON.stringify(err.data)} does not name the URI`);
    return err;
  });

  // A URI that neither the resource nor the template matches never reaches
  // the plugin: the server answers it, as MCP's SEP-2164 says, -32602.
  await check("resources/read unmatched", async () => {
    const err = await rpcError(() => client.readResource({ uri: "rawc://users/ada/friends" }));
    expect(err.code === -32602, `reading rawc://users/ada/friends: code ${err.code} (${err.message}); want -32602`);
    return err;
  });

  await check("prompts/list", async () => {
    const { prompts } = await client.listPrompts();
    const review = prompts.find((p) => p.name === "rawc_review");
    expect(review, `no prompt rawc_review among ${JSON.stringify(prompts.map((p) => p.name))}`);
    same(
      review.arguments?.map((a) => [a.name, a.required ?? false]),
      [["language", true], ["focus", false]],
      "rawc_review's arguments and whether each is required",
    );
    return prompts.map((p) => p.name);
  });

  await check("prompts/get", async () => {
    const res = await client.getPrompt({ name: "rawc_review", arguments: { language: "go", focus: "error \"handling\" <&>" } });
    same(
      res.messages,
      [{ role: "user", content: { type: "text", text: "Please review the following go code, paying most attention to error \"handling\" <&>." } }],
      "rawc_review's messages",
    );
    same(res.description, "Code review", "rawc_review's description");
    return res.messages[0].content.text;
  });

  await check("prompts/get without a required argument", async () => {
    const err = await rpcError(() => client.getPrompt({ name: "rawc_review", arguments: { focus: "tests" } }));
    expect(err.code === -32602, `rawc_review without language: code ${err.code} (${err.message}); want -32602`);
    expect(err.message.includes("language"), `rawc_review without language: the message ${JSON.stringify(err.message)} does not name the argument`);
    return err;
  });

  await check("prompts/get unknown", async () => {
    const err = await rpcError(() => client.getPrompt({ name: "rawc_nope", arguments: {} }));
    expect(err.code === -32602, `rawc_nope: code ${err.code} (${err.message}); want -32602`);
    return err;
  });

  const complete = async (ref, name, value) => (await client.complete({ ref, argument: { name, value } })).completion.values;
  const review = { type: "ref/prompt", name: "rawc_review" };
  const users = { type: "ref/resource", uri: "rawc://users/{id}" };

  await check("completion/complete prompt argument", async () => {
    const got = {
      j: await complete(review, "language", "j"),
      c: await complete(review, "language", "c"),
      "": await complete(review, "language", ""),
      zz: await complete(review, "language", "zz"),
      "focus:e": await complete(review, "focus", "e"),
    };
    same(got.j, ["java", "javascript"], "completing language from \"j\"");
    same(got.c, ["c", "cpp", "csharp"], "completing language from \"c\"");
    same(got[""], ["c", "cpp", "csharp", "go", "haskell", "java", "javascript", "python", "rust", "typescript"], "completing language from \"\"");
    same(got.zz, [], "completing language from \"zz\"");
    same(got["focus:e"], [], "completing focus, which has no suggestions");
    return got;
  });

  await check("completion/complete template variable", async () => {
    const got = {
      a: await complete(users, "id", "a"),
      g: await complete(users, "id", "g"),
      x: await complete(users, "id", "x"),
    };
    same(got.a, ["ada", "alan"], "completing id from \"a\"");
    same(got.g, ["grace"], "completing id from \"g\"");
    same(got.x, [], "completing id from \"x\"");
    return got;
  });
}

const failed = checks.filter((c) => !c.ok);
process.stdout.write(JSON.stringify({ transport: mode, checks, failed: failed.map((c) => c.name) }, null, 1) + "\n");
for (const c of failed) process.stderr.write(`check ${JSON.stringify(c.name)} failed: ${c.error}\n`);
try {
  await client.close();
} catch {
  // The summary is out; a transport that will not close cleanly changes nothing.
}
process.exit(failed.length > 0 ? 1 : 0);
