// Resources, resource templates and prompts, and the completion of their
// arguments: what a plugin serves besides tools (docs/ABI.md, "Resources,
// resource templates and prompts").

import { JsonObject, jsonString } from "./json";
import { logError } from "./host";

/**
 * Suggests values for a prompt argument or a template variable: `value` is
 * what the user typed so far, `context` the values already chosen for the
 * others. At most 100 are sent; the answer says how many there were.
 */
export type Completer = (value: string, context: JsonObject) => string[];

/** A resource handler: the contents of the resource read, or an error. */
export type ResourceHandler = (read: ResourceRead) => ResourceResult;

/** A prompt handler: the prompt's messages, or an error. */
export type PromptHandler = (get: PromptGet) => PromptResult;

const CODE_INVALID_PARAMS = -32602;
const CODE_INTERNAL_ERROR = -32603;
const CODE_RESOURCE_NOT_FOUND = -32002;
const MAX_COMPLETION_VALUES = 100;

function refuse(message: string): void {
  logError("moat-sdk: " + message);
  abort(message);
}

function protocolError(code: i32, message: string): string {
  return '{"error":{"code":' + code.toString() + ',"message":' + jsonString(message) + "}}";
}

/** One resources/read request as a handler sees it. */
export class ResourceRead {
  constructor(
    /** The URI read. */
    public readonly uri: string,
    private names: string[],
    private values: string[],
  ) {}

  /** The value of a template's variable, as the URI spells it, or null. */
  getVar(name: string): string | null {
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] == name) return this.values[i];
    }
    return null;
  }
}

/**
 * The answer to resources/read: contents (text, or base64 blobs), "resource
 * not found", or an error whose message the client gets.
 */
export class ResourceResult {
  private items: string[] = [];
  private notFoundFlag: bool = false;
  private errorMessage: string | null = null;

  /** Contents of one text, for the URI read, with the definition's mimeType. */
  static text(text: string): ResourceResult {
    return new ResourceResult().addText(text);
  }

  /** Contents of one blob (base64), for the URI read. */
  static blob(base64: string): ResourceResult {
    return new ResourceResult().addBlob(base64);
  }

  /** "resource not found" (-32002), for a URI that names nothing after all. */
  static notFound(): ResourceResult {
    const r = new ResourceResult();
    r.notFoundFlag = true;
    return r;
  }

  /** An internal error (-32603) with `message`. */
  static error(message: string): ResourceResult {
    const r = new ResourceResult();
    r.errorMessage = message;
    return r;
  }

  private texts: string[] = [];
  private kinds: string[] = [];

  /** Adds a text. */
  addText(text: string): ResourceResult {
    this.kinds.push("text");
    this.texts.push(text);
    this.items.push("");
    return this;
  }

  /** Adds a blob (base64). */
  addBlob(base64: string): ResourceResult {
    this.kinds.push("blob");
    this.texts.push(base64);
    this.items.push("");
    return this;
  }

  /** Adds a whole MCP contents object, as JSON text. */
  addContents(json: string): ResourceResult {
    this.kinds.push("");
    this.texts.push("");
    this.items.push(json);
    return this;
  }

  toJson(uri: string, mimeType: string | null): string {
    const parts = new Array<string>();
    for (let i = 0; i < this.items.length; i++) {
      if (this.kinds[i].length == 0) {
        parts.push(this.items[i]);
        continue;
      }
      let s = '{"uri":' + jsonString(uri);
      if (mimeType !== null) s += ',"mimeType":' + jsonString(mimeType);
      parts.push(s + ',"' + this.kinds[i] + '":' + jsonString(this.texts[i]) + "}");
    }
    return '{"contents":[' + parts.join(",") + "]}";
  }

  answer(uri: string, mimeType: string | null): string {
    if (this.notFoundFlag) return protocolError(CODE_RESOURCE_NOT_FOUND, "resource not found: " + uri);
    const e = this.errorMessage;
    if (e !== null) return protocolError(CODE_INTERNAL_ERROR, e);
    return this.toJson(uri, mimeType);
  }
}

/** What resources and templates share in the description. */
class Described {
  protected titleText: string | null = null;
  protected descriptionText: string | null = null;
  mimeTypeText: string | null = null;

  protected members(key: string, value: string, name: string): string {
    let s = "{" + jsonString(key) + ":" + jsonString(value) + ',"name":' + jsonString(name);
    const t = this.titleText;
    if (t !== null) s += ',"title":' + jsonString(t);
    const d = this.descriptionText;
    if (d !== null) s += ',"description":' + jsonString(d);
    const m = this.mimeTypeText;
    if (m !== null) s += ',"mimeType":' + jsonString(m);
    return s + "}";
  }
}

/** A registered resource, returned by addResource, for its description. */
export class Resource extends Described {
  constructor(
    public readonly uri: string,
    public readonly name: string,
    public readonly handler: ResourceHandler,
  ) {
    super();
  }

  /** Sets the human-readable name. */
  title(text: string): Resource {
    this.titleText = text;
    return this;
  }

  /** Sets what the resource holds. */
  description(text: string): Resource {
    this.descriptionText = text;
    return this;
  }

  /** Sets the MIME type, which the SDK puts on the texts and blobs it sends. */
  mimeType(text: string): Resource {
    this.mimeTypeText = text;
    return this;
  }

  toString(): string {
    return this.members("uri", this.uri, this.name);
  }
}

/** A registered resource template, returned by addResourceTemplate. */
export class ResourceTemplate extends Described {
  literals: string[] = [];
  vars: string[] = [];
  completerNames: string[] = [];
  completers: Completer[] = [];

  constructor(
    public readonly uriTemplate: string,
    public readonly name: string,
    public readonly handler: ResourceHandler,
  ) {
    super();
  }

  /** Sets the human-readable name. */
  title(text: string): ResourceTemplate {
    this.titleText = text;
    return this;
  }

  /** Sets what the resources hold. */
  description(text: string): ResourceTemplate {
    this.descriptionText = text;
    return this;
  }

  /** Sets the MIME type of every resource the template matches. */
  mimeType(text: string): ResourceTemplate {
    this.mimeTypeText = text;
    return this;
  }

  /** Suggests values for the variable `name` with `completer`. */
  complete(name: string, completer: Completer): ResourceTemplate {
    if (!this.vars.includes(name)) {
      refuse("resource template " + jsonString(this.uriTemplate) + " has no variable " + jsonString(name));
    }
    this.completerNames.push(name);
    this.completers.push(completer);
    return this;
  }

  /** The values of the variables if `uri` matches, else null. */
  match(uri: string): string[] | null {
    if (!uri.startsWith(this.literals[0])) return null;
    let rest = uri.substring(this.literals[0].length);
    const values = new Array<string>();
    for (let i = 0; i < this.vars.length; i++) {
      const next = this.literals[i + 1];
      let val: string;
      if (next.length == 0) {
        val = rest;
        rest = "";
      } else {
        const at = rest.indexOf(next);
        if (at < 0) return null;
        val = rest.substring(0, at);
        rest = rest.substring(at + next.length);
      }
      if (val.length == 0 || val.includes("/")) return null;
      values.push(val);
    }
    return rest.length == 0 ? values : null;
  }

  toString(): string {
    return this.members("uriTemplate", this.uriTemplate, this.name);
  }
}

function isVarChar(c: i32): bool {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x5f ||
    c == 0x2e || c == 0x25;
}

// parseTemplate fills t.literals and t.vars, or refuses a template that is
// not level 1.
function parseTemplate(t: ResourceTemplate): void {
  let rest = t.uriTemplate;
  const bad = "URI template " + jsonString(t.uriTemplate);
  while (true) {
    const open = rest.indexOf("{");
    const close = rest.indexOf("}");
    if (close >= 0 && (open < 0 || close < open)) {
      refuse(bad + " has a '}' without its '{'");
      return;
    }
    if (open < 0) {
      t.literals.push(rest);
      return;
    }
    if (t.vars.length > 0 && open == 0) {
      refuse(bad + " has two variables with nothing between them");
      return;
    }
    t.literals.push(rest.substring(0, open));
    if (close < 0) {
      refuse(bad + " has a '{' without its '}'");
      return;
    }
    const name = rest.substring(open + 1, close);
    let ok = name.length > 0 && !name.startsWith(".") && !name.endsWith(".");
    for (let i = 0; i < name.length; i++) ok = ok && isVarChar(name.charCodeAt(i));
    if (!ok) {
      refuse(bad + ": {" + name + "} is not a simple variable such as {name}");
      return;
    }
    t.vars.push(name);
    rest = rest.substring(close + 1);
  }
}

/** One prompts/get request as a handler sees it. */
export class PromptGet {
  constructor(
    /** The prompt's own name. */
    public readonly name: string,
    /** The arguments, an object of strings; every required one is there. */
    public readonly args: JsonObject,
  ) {}

  /** The argument `name`, or null if it was not given. */
  getArg(name: string): string | null {
    return this.args.getString(name);
  }
}

/** The answer to prompts/get: messages and a description, or an error. */
export class PromptResult {
  private messages: string[] = [];
  private descriptionText: string | null = null;
  private errorMessage: string | null = null;

  /** A result of one user message holding `text`. */
  static user(text: string): PromptResult {
    return new PromptResult().addMessage("user", text);
  }

  /** An internal error (-32603) with `message`. */
  static error(message: string): PromptResult {
    const r = new PromptResult();
    r.errorMessage = message;
    return r;
  }

  /** Adds a message with one text block; role is "user" or "assistant". */
  addMessage(role: string, text: string): PromptResult {
    return this.addContent(role, '{"type":"text","text":' + jsonString(text) + "}");
  }

  /** Adds a message with any content block, as JSON text. */
  addContent(role: string, blockJson: string): PromptResult {
    this.messages.push('{"role":' + jsonString(role) + ',"content":' + blockJson + "}");
    return this;
  }

  /** Sets the result's description. */
  setDescription(text: string): PromptResult {
    this.descriptionText = text;
    return this;
  }

  answer(): string {
    const e = this.errorMessage;
    if (e !== null) return protocolError(CODE_INTERNAL_ERROR, e);
    let s = "{";
    const d = this.descriptionText;
    if (d !== null) s += '"description":' + jsonString(d) + ",";
    return s + '"messages":[' + this.messages.join(",") + "]}";
  }
}

/** A registered prompt, returned by addPrompt, for its arguments. */
export class Prompt {
  private titleText: string | null = null;
  private descriptionText: string | null = null;
  argNames: string[] = [];
  argRequired: bool[] = [];
  private argJson: string[] = [];
  completerNames: string[] = [];
  completers: Completer[] = [];

  constructor(
    public readonly name: string,
    public readonly handler: PromptHandler,
  ) {}

  /** Sets the human-readable name. */
  title(text: string): Prompt {
    this.titleText = text;
    return this;
  }

  /** Sets what the prompt is for. */
  description(text: string): Prompt {
    this.descriptionText = text;
    return this;
  }

  /**
   * Declares the argument `name`. A prompts/get without a required one is
   * refused before the handler runs.
   */
  argument(name: string, description: string = "", required: bool = false): Prompt {
    if (name.length == 0 || this.argNames.includes(name)) {
      refuse("prompt " + jsonString(this.name) + ": argument " + jsonString(name) + " is empty or declared twice");
    }
    let s = '{"name":' + jsonString(name);
    if (description.length > 0) s += ',"description":' + jsonString(description);
    if (required) s += ',"required":true';
    this.argNames.push(name);
    this.argRequired.push(required);
    this.argJson.push(s + "}");
    return this;
  }

  /** Suggests values for the argument `name`, declared before, with `completer`. */
  complete(name: string, completer: Completer): Prompt {
    if (!this.argNames.includes(name)) {
      refuse("prompt " + jsonString(this.name) + " has no argument " + jsonString(name));
    }
    this.completerNames.push(name);
    this.completers.push(completer);
    return this;
  }

  toString(): string {
    let s = '{"name":' + jsonString(this.name);
    const t = this.titleText;
    if (t !== null) s += ',"title":' + jsonString(t);
    const d = this.descriptionText;
    if (d !== null) s += ',"description":' + jsonString(d);
    if (this.argJson.length > 0) s += ',"arguments":[' + this.argJson.join(",") + "]";
    return s + "}";
  }
}

const resources = new Array<Resource>();
const templates = new Array<ResourceTemplate>();
const prompts = new Array<Prompt>();

/**
 * Registers the resource at `uri`, called `name`, answered by `handler`,
 * and returns it for its description. An empty URI or name, or a URI
 * registered twice, aborts at initialization.
 */
export function addResource(uri: string, name: string, handler: ResourceHandler): Resource {
  if (uri.length == 0 || name.length == 0) refuse("resource " + jsonString(uri) + " needs a URI and a name");
  for (let i = 0; i < resources.length; i++) {
    if (resources[i].uri == uri) refuse("resource " + jsonString(uri) + " is registered twice");
  }
  const r = new Resource(uri, name, handler);
  resources.push(r);
  return r;
}

/**
 * Registers a resource template. A URI that no resource has goes to the
 * first template, in the order registered, that matches it. A template that
 * is not level 1, or registered twice, aborts at initialization.
 */
export function addResourceTemplate(uriTemplate: string, name: string, handler: ResourceHandler): ResourceTemplate {
  if (name.length == 0) refuse("resource template " + jsonString(uriTemplate) + " needs a name");
  for (let i = 0; i < templates.length; i++) {
    if (templates[i].uriTemplate == uriTemplate) {
      refuse("resource template " + jsonString(uriTemplate) + " is registered twice");
    }
  }
  const t = new ResourceTemplate(uriTemplate, name, handler);
  parseTemplate(t);
  templates.push(t);
  return t;
}

/**
 * Registers the prompt `name` (under MCP's rule for names, as tools),
 * answered by `handler`, and returns it for its arguments.
 */
export function addPrompt(name: string, handler: PromptHandler): Prompt {
  let ok = name.length > 0 && name.length <= 128;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    ok = ok && ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
      c == 0x5f || c == 0x2d || c == 0x2e);
  }
  if (!ok) refuse("prompt name " + jsonString(name) + " must be 1 to 128 letters, digits, '_', '-' or '.'");
  for (let i = 0; i < prompts.length; i++) {
    if (prompts[i].name == name) refuse("prompt " + jsonString(name) + " is registered twice");
  }
  const p = new Prompt(name, handler);
  prompts.push(p);
  return p;
}

/** The description's members for resources, templates and prompts. */
export function describeServed(): string {
  let s = "";
  if (resources.length > 0) s += ',"resources":[' + resources.join(",") + "]";
  if (templates.length > 0) s += ',"resourceTemplates":[' + templates.join(",") + "]";
  if (prompts.length > 0) s += ',"prompts":[' + prompts.join(",") + "]";
  return s;
}

/**
 * The answer to `method` if this plugin serves it (something it reads was
 * registered), else null: the caller then answers as to an unknown method.
 */
export function serveOther(method: string, given: JsonObject | null): string | null {
  const params = given === null ? JsonObject.empty() : given;
  if (method == "resources/read" && resources.length + templates.length > 0) return read(params);
  if (method == "prompts/get" && prompts.length > 0) return getPrompt(params);
  if (method == "completion/complete" && prompts.length + templates.length > 0) return complete(params);
  return null;
}

function read(params: JsonObject): string {
  const uri = params.getString("uri");
  if (uri === null) return protocolError(CODE_INVALID_PARAMS, "malformed resources/read request: no uri string");
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i];
    if (r.uri == uri) {
      const h = r.handler;
      return h(new ResourceRead(uri, [], [])).answer(uri, r.mimeTypeText);
    }
  }
  for (let i = 0; i < templates.length; i++) {
    const t = templates[i];
    const values = t.match(uri);
    if (values !== null) {
      const h = t.handler;
      return h(new ResourceRead(uri, t.vars, values)).answer(uri, t.mimeTypeText);
    }
  }
  return protocolError(CODE_RESOURCE_NOT_FOUND, "resource not found: " + uri);
}

function getPrompt(params: JsonObject): string {
  const name = params.getString("name");
  if (name === null) {
    return protocolError(CODE_INVALID_PARAMS, "malformed prompts/get request: no name string");
  }
  let prompt: Prompt | null = null;
  for (let i = 0; i < prompts.length; i++) {
    if (prompts[i].name == name) {
      prompt = prompts[i];
      break;
    }
  }
  if (prompt === null) return protocolError(CODE_INVALID_PARAMS, "unknown prompt " + jsonString(name));
  let args = JsonObject.empty();
  const raw = params.getRaw("arguments");
  if (raw !== null && raw != "null") {
    const a = JsonObject.parse(raw);
    if (a === null) return protocolError(CODE_INVALID_PARAMS, "malformed prompts/get request: arguments is not an object");
    args = a;
  }
  for (let i = 0; i < prompt.argNames.length; i++) {
    if (prompt.argRequired[i] && !args.has(prompt.argNames[i])) {
      return protocolError(
        CODE_INVALID_PARAMS,
        "prompt " + jsonString(name) + " needs the argument " + jsonString(prompt.argNames[i]),
      );
    }
  }
  const h = prompt.handler;
  return h(new PromptGet(name, args)).answer();
}

function complete(params: JsonObject): string {
  const ref = params.getObject("ref");
  const arg = params.getObject("argument");
  let kind: string | null = null;
  let argName: string | null = null;
  let value: string | null = null;
  if (ref !== null) kind = ref.getString("type");
  if (arg !== null) {
    argName = arg.getString("name");
    value = arg.getString("value");
  }
  if (ref === null || kind === null || argName === null || value === null) {
    return protocolError(
      CODE_INVALID_PARAMS,
      "malformed completion/complete request: params need ref.type, argument.name and argument.value",
    );
  }
  let names: string[] = [];
  let completers: Completer[] = [];
  if (kind == "ref/prompt") {
    const n = ref.getString("name");
    for (let i = 0; i < prompts.length; i++) {
      if (n !== null && prompts[i].name == n) {
        names = prompts[i].completerNames;
        completers = prompts[i].completers;
      }
    }
  } else if (kind == "ref/resource") {
    const u = ref.getString("uri");
    for (let i = 0; i < templates.length; i++) {
      if (u !== null && templates[i].uriTemplate == u) {
        names = templates[i].completerNames;
        completers = templates[i].completers;
      }
    }
  }
  let values: string[] = [];
  for (let i = 0; i < names.length; i++) {
    if (names[i] == argName) {
      let context = JsonObject.empty();
      const c = params.getObject("context");
      if (c !== null) {
        const a = c.getObject("arguments");
        if (a !== null) context = a;
      }
      const f = completers[i];
      values = f(value, context);
      break;
    }
  }
  const parts = new Array<string>();
  for (let i = 0; i < values.length && i < MAX_COMPLETION_VALUES; i++) parts.push(jsonString(values[i]));
  let s = '{"completion":{"values":[' + parts.join(",") + "]";
  if (values.length > MAX_COMPLETION_VALUES) s += ',"total":' + values.length.toString() + ',"hasMore":true';
  return s + "}}";
}
