// The plugin's description, its tools, and the dispatch of moat_call
// requests to their handlers.

import { JsonObject, jsonString } from "./json";
import { logError } from "./host";
import { describeServed, serveOther } from "./resources";

/**
 * A tool's handler. It returns the result, an error included: use
 * Result.error for a failure the model should read. AssemblyScript has no
 * exceptions, so a `throw` (or a failed assertion) aborts, which ends the
 * call as a fault rather than a tool error.
 */
export type Handler = (call: Call) => Result;

/** One tools/call request as a handler sees it. */
export class Call {
  constructor(
    /** The name of the tool called. */
    public readonly tool: string,
    /** The arguments, already validated by the host against inputSchema. */
    public readonly args: JsonObject,
    /** The request's _meta object as JSON text, or null. */
    public readonly meta: string | null,
  ) {}

  /** The string argument `name`, or null if it is missing or not a string. */
  getString(name: string): string | null {
    return this.args.getString(name);
  }

  /** The number argument `name`, or `fallback` (NaN unless given). */
  getNumber(name: string, fallback: f64 = NaN): f64 {
    return this.args.getNumber(name, fallback);
  }

  /** The boolean argument `name`, or `fallback`. */
  getBool(name: string, fallback: bool = false): bool {
    return this.args.getBool(name, fallback);
  }
}

/**
 * A tools/call result (MCP's CallToolResult): content blocks, optional
 * structured content, and whether it is an error.
 */
export class Result {
  private blocks: string[] = [];
  private structuredJson: string | null = null;
  private failed: bool = false;

  /** A result with one text block. */
  static text(text: string): Result {
    return new Result().addText(text);
  }

  /** A tool error: one text block, which the model reads, and isError. */
  static error(message: string): Result {
    const r = Result.text(message);
    r.failed = true;
    return r;
  }

  /**
   * A result whose structured content is `json`, a JSON object as text, sent
   * as well as a text block holding the same JSON, as MCP recommends for
   * tools with an outputSchema.
   */
  static structured(json: string): Result {
    return Result.text(json).setStructured(json);
  }

  /** A result without content. */
  static empty(): Result {
    return new Result();
  }

  /** Appends a text block. */
  addText(text: string): Result {
    this.blocks.push('{"type":"text","text":' + jsonString(text) + "}");
    return this;
  }

  /** Appends a content block given as JSON text (image, resource_link, ...). */
  addContent(blockJson: string): Result {
    this.blocks.push(blockJson);
    return this;
  }

  /** Sets structuredContent to `json`, a JSON object as text. */
  setStructured(json: string): Result {
    this.structuredJson = json;
    return this;
  }

  /** Marks the result as an error, or not. */
  setError(isError: bool = true): Result {
    this.failed = isError;
    return this;
  }

  /** Whether the result is an error. */
  get isError(): bool {
    return this.failed;
  }

  /** The result as the JSON moat_call returns. */
  toString(): string {
    let s = '{"content":[' + this.blocks.join(",") + "]";
    const sc = this.structuredJson;
    if (sc !== null) s += ',"structuredContent":' + sc;
    if (this.failed) s += ',"isError":true';
    return s + "}";
  }
}

/**
 * A registered tool, returned by addTool; its setters return the tool, so a
 * declaration reads as one chain.
 */
export class Tool {
  private titleText: string | null = null;
  private descriptionText: string | null = null;
  private inputSchema: string = '{"type":"object"}';
  private outputSchema: string | null = null;
  private hints: string[] = [];

  constructor(
    public readonly name: string,
    public readonly handler: Handler,
  ) {}

  /** Sets the human-readable name. */
  title(text: string): Tool {
    this.titleText = text;
    return this;
  }

  /** Sets what the tool does, for the model. */
  description(text: string): Tool {
    this.descriptionText = text;
    return this;
  }

  /**
   * Sets the JSON Schema of the arguments, an object schema given as JSON
   * text; without it the tool takes {"type":"object"}, any arguments.
   */
  input(schema: string): Tool {
    checkSchema(this.name, "inputSchema", schema);
    this.inputSchema = schema;
    return this;
  }

  /** Sets the JSON Schema of structuredContent, an object schema as JSON text. */
  output(schema: string): Tool {
    checkSchema(this.name, "outputSchema", schema);
    this.outputSchema = schema;
    return this;
  }

  private hint(name: string, value: bool): Tool {
    this.hints.push(jsonString(name) + ":" + (value ? "true" : "false"));
    return this;
  }

  /** Annotation readOnlyHint: the tool does not change its environment. */
  readOnly(value: bool = true): Tool {
    return this.hint("readOnlyHint", value);
  }

  /** Annotation destructiveHint: the tool may delete or overwrite. */
  destructive(value: bool = true): Tool {
    return this.hint("destructiveHint", value);
  }

  /** Annotation idempotentHint: calling it again with the same arguments changes nothing more. */
  idempotent(value: bool = true): Tool {
    return this.hint("idempotentHint", value);
  }

  /** Annotation openWorldHint: the tool reaches outside systems. */
  openWorld(value: bool = true): Tool {
    return this.hint("openWorldHint", value);
  }

  /** Annotation title. */
  annotationTitle(text: string): Tool {
    this.hints.push('"title":' + jsonString(text));
    return this;
  }

  /** The tool as it appears in the description. */
  toString(): string {
    let s = '{"name":' + jsonString(this.name);
    const t = this.titleText;
    if (t !== null) s += ',"title":' + jsonString(t);
    const d = this.descriptionText;
    if (d !== null) s += ',"description":' + jsonString(d);
    s += ',"inputSchema":' + this.inputSchema;
    const o = this.outputSchema;
    if (o !== null) s += ',"outputSchema":' + o;
    if (this.hints.length > 0) s += ',"annotations":{' + this.hints.join(",") + "}";
    return s + "}";
  }
}

// The plugin's registry: one module, registered from its top-level code.
let pluginName = "";
let pluginVersion = "";
let pluginDescription = "";
let pluginCapabilities: string | null = null;
const tools = new Array<Tool>();

// fail reports a mistake in the plugin's registration, which surfaces when
// the module initializes: the host logs the message, then the abort traps
// and the plugin is refused.
function fail(message: string): void {
  logError("moat-sdk: " + message);
  abort(message);
}

function checkSchema(tool: string, field: string, schema: string): void {
  const o = JsonObject.parse(schema);
  if (o === null) {
    fail("tool " + jsonString(tool) + ": " + field + " is not a JSON object");
    return;
  }
  const t = o.getString("type");
  if (t === null || t != "object") {
    fail("tool " + jsonString(tool) + ": " + field + ' must have "type": "object"');
  }
}

function validName(name: string): bool {
  if (name.length == 0 || name.length > 128) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
      c == 0x5f || c == 0x2d || c == 0x2e;
    if (!ok) return false;
  }
  return true;
}

/**
 * Sets the plugin's name (required), version and one-line description, as
 * moat_describe reports them. Call it from the entry file's top level.
 */
export function setInfo(name: string, version: string = "", description: string = ""): void {
  if (name.length == 0) fail("setInfo: the plugin needs a name");
  pluginName = name;
  pluginVersion = version;
  pluginDescription = description;
}

/**
 * Sets the capabilities the plugin asks the operator for, as the JSON
 * object of the ABI: {"http":{"hosts":[...]},"kv":true,"config":["KEY"],...}.
 */
export function setCapabilities(json: string): void {
  if (JsonObject.parse(json) === null) fail("setCapabilities: not a JSON object");
  pluginCapabilities = json;
}

/**
 * Registers the tool `name`, answered by `handler`, and returns it for its
 * description, schemas and annotations. A name that breaks MCP's rule (1 to
 * 128 of A-Z a-z 0-9 _ - .) or is registered twice aborts at initialization.
 */
export function addTool(name: string, handler: Handler): Tool {
  if (!validName(name)) {
    fail("tool name " + jsonString(name) + " must be 1 to 128 letters, digits, '_', '-' or '.'");
  }
  for (let i = 0; i < tools.length; i++) {
    if (tools[i].name == name) fail("tool " + jsonString(name) + " is registered twice");
  }
  const t = new Tool(name, handler);
  tools.push(t);
  return t;
}

/** The plugin's description, the JSON moat_describe returns. */
export function describe(): string {
  const parts = new Array<string>();
  for (let i = 0; i < tools.length; i++) parts.push(tools[i].toString());
  let s = '{"name":' + jsonString(pluginName);
  if (pluginVersion.length > 0) s += ',"version":' + jsonString(pluginVersion);
  if (pluginDescription.length > 0) s += ',"description":' + jsonString(pluginDescription);
  s += ',"tools":[' + parts.join(",") + "]";
  s += describeServed();
  const caps = pluginCapabilities;
  if (caps !== null) s += ',"capabilities":' + caps;
  return s + "}";
}

const CODE_INVALID_PARAMS = -32602;
const CODE_METHOD_NOT_FOUND = -32601;

function protocolError(code: i32, message: string): string {
  return '{"error":{"code":' + code.toString() + ',"message":' + jsonString(message) + "}}";
}

/**
 * Answers one moat_call request (JSON text) with the response JSON: the
 * tool's result, or a protocol error for an unknown method or tool. The
 * moat_call export calls it; a plugin's tests may too.
 */
export function handle(request: string): string {
  const req = JsonObject.parse(request);
  if (req === null) return protocolError(CODE_INVALID_PARAMS, "malformed request: not a JSON object");
  const method = req.getString("method");
  if (method !== null && method != "tools/call") {
    const answer = serveOther(method, req.getObject("params"));
    if (answer !== null) return answer;
  }
  if (method === null || method != "tools/call") {
    const m = method === null ? "" : method;
    return protocolError(CODE_METHOD_NOT_FOUND, "method " + jsonString(m) + " is not supported by this plugin");
  }
  const params = req.getObject("params");
  if (params === null) return protocolError(CODE_INVALID_PARAMS, "malformed tools/call request: no params object");
  const name = params.getString("name");
  if (name === null) return protocolError(CODE_INVALID_PARAMS, "malformed tools/call request: no tool name");
  let tool: Tool | null = null;
  for (let i = 0; i < tools.length; i++) {
    if (tools[i].name == name) {
      tool = tools[i];
      break;
    }
  }
  if (tool === null) return protocolError(CODE_INVALID_PARAMS, "unknown tool " + jsonString(name));
  let args = JsonObject.empty();
  if (params.has("arguments")) {
    const raw = params.getRaw("arguments");
    if (raw !== null && raw != "null") {
      const a = JsonObject.parse(raw);
      if (a === null) return protocolError(CODE_INVALID_PARAMS, "malformed tools/call request: arguments is not an object");
      args = a;
    }
  }
  const call = new Call(name, args, params.getRaw("_meta"));
  const handler = tool.handler;
  return handler(call).toString();
}
