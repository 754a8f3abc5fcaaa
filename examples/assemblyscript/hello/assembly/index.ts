// The hello plugin of examples/HELLO.md, in AssemblyScript.

import {
  Call, JsonBuilder, JsonObject, PromptGet, PromptResult, ResourceRead, ResourceResult, Result,
  addPrompt, addResource, addResourceTemplate, addTool, logInfo, progress, setInfo,
} from "moat-sdk/assembly";

// The exports the host calls: moat_abi_version, moat_alloc, moat_describe, moat_call.
export * from "moat-sdk/assembly/exports";

setInfo("hello", "1.0.0", "Greets people and counts text.");

addTool("greet", greet)
  .description("Greets someone by name.")
  .input('{"type":"object","properties":{"name":{"type":"string","description":"Who to greet."}},"required":["name"]}')
  .readOnly();

addTool("stats", stats)
  .description("Counts the words, lines and characters of a text.")
  .input('{"type":"object","properties":{"text":{"type":"string","description":"The text to count."}},"required":["text"]}')
  .output('{"type":"object","properties":{"words":{"type":"integer"},"lines":{"type":"integer"},"chars":{"type":"integer"}},"required":["words","lines","chars"]}')
  .readOnly();

addResource("hello://greeting", "greeting", greeting)
  .description("A greeting from the plugin.")
  .mimeType("text/plain");

addResourceTemplate("hello://greeting/{name}", "personal-greeting", personalGreeting)
  .description("A greeting for the person named in the URI.")
  .mimeType("text/plain")
  .complete("name", people);

addPrompt("greet_prompt", greetPrompt)
  .description("Asks the model to greet someone warmly.")
  .argument("name", "Who to greet.", true)
  .complete("name", people);

function greeting(read: ResourceRead): ResourceResult {
  return ResourceResult.text("Hello from moat!");
}

function personalGreeting(read: ResourceRead): ResourceResult {
  const name = read.getVar("name");
  return ResourceResult.text("Hello, " + (name === null ? "" : name) + "!");
}

function greetPrompt(get: PromptGet): PromptResult {
  const name = get.getArg("name");
  return PromptResult.user("Please greet " + (name === null ? "" : name) + " warmly.");
}

// people suggests the names of a fixed list that start with what was typed.
function people(value: string, context: JsonObject): string[] {
  const names = ["Ada", "Alan", "Grace", "Linus"];
  const out = new Array<string>();
  for (let i = 0; i < names.length; i++) {
    if (names[i].startsWith(value)) out.push(names[i]);
  }
  return out;
}

function greet(call: Call): Result {
  logInfo("greet called");
  progress(1, 1, "done");
  const name = call.getString("name");
  if (name === null || name.length == 0) {
    return Result.error("name is empty: pass the name of the person to greet");
  }
  return Result.text("Hello, " + name + "!");
}

function isSeparator(c: i32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

function stats(call: Call): Result {
  logInfo("stats called");
  progress(1, 1, "done");
  const got = call.getString("text");
  const text = got === null ? "" : got;
  const n = text.length;
  let words = 0;
  let newlines = 0;
  let chars = 0;
  let inWord = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    // A surrogate pair is one code point: its low half, right after a high
    // half, is not counted again. An unpaired surrogate counts as one.
    if (!(c >= 0xdc00 && c <= 0xdfff && i > 0 && isHigh(text.charCodeAt(i - 1)))) {
      chars++;
    }
    if (c == 0x0a) newlines++;
    if (isSeparator(c)) {
      inWord = false;
    } else if (!inWord) {
      inWord = true;
      words++;
    }
  }
  let lines = newlines;
  if (n > 0 && text.charCodeAt(n - 1) != 0x0a) lines++;
  const json = new JsonBuilder().integer("words", words).integer("lines", lines).integer("chars", chars).toString();
  return Result.structured(json);
}

function isHigh(c: i32): bool {
  return c >= 0xd800 && c <= 0xdbff;
}
