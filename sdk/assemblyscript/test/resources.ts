// A plugin that exercises the SDK's resources, prompts and completion;
// examples/assemblyscript_test.go builds it and sends it raw requests.

import {
  Call, JsonObject, PromptGet, PromptResult, ResourceRead, ResourceResult, Result,
  addPrompt, addResource, addResourceTemplate, addTool, notifyResourceUpdated, setInfo,
} from "../assembly/index";

export * from "../assembly/exports";

setInfo("resources", "0.1.0");

addTool("touch", touch);

addResource("mem://static", "static", staticText).description("A fixed text.").mimeType("text/plain");
addResource("mem://blob", "blob", blob).title("Binary").mimeType("application/octet-stream");
addResourceTemplate("mem://notes/{id}.md", "note", note).mimeType("text/markdown").complete("id", ids);
addResourceTemplate("mem://{a}/{b}", "pair", pair);
addPrompt("summarize", summarize)
  .description("Summarizes a topic.")
  .argument("topic", "", true)
  .argument("style", "How.")
  .complete("topic", topics)
  .complete("style", many);
addPrompt("failing", failing).title("Fails");

// touch announces a change of the resource named by its "uri" argument and
// answers with the code the host returned.
function touch(call: Call): Result {
  const uri = call.getString("uri");
  return Result.text(notifyResourceUpdated(uri === null ? "" : uri).code.toString());
}

function staticText(read: ResourceRead): ResourceResult {
  return ResourceResult.text("static text <&>");
}

function blob(read: ResourceRead): ResourceResult {
  return ResourceResult.blob("AAEC");
}

function note(read: ResourceRead): ResourceResult {
  const id = read.getVar("id");
  if (id === null) return ResourceResult.error("no id");
  if (id == "missing") return ResourceResult.notFound();
  if (id == "broken") return ResourceResult.error("the store is down");
  return ResourceResult.text("# note " + id);
}

function pair(read: ResourceRead): ResourceResult {
  const a = read.getVar("a");
  const b = read.getVar("b");
  const text = "a=" + (a === null ? "" : a) + " b=" + (b === null ? "" : b) + (read.getVar("c") === null ? "" : " c!");
  return new ResourceResult().addContents('{"uri":"mem://canonical","text":"' + text + '"}');
}

function summarize(get: PromptGet): PromptResult {
  const topic = get.getArg("topic");
  const t = topic === null ? "" : topic;
  const r = new PromptResult().setDescription("A summary of " + t).addMessage("user", "Summarize " + t);
  const style = get.getArg("style");
  if (style !== null) r.addMessage("assistant", "In " + style + " style.");
  return r.addContent("user", '{"type":"resource_link","uri":"mem://static","name":"static"}');
}

function failing(get: PromptGet): PromptResult {
  return PromptResult.error("cannot build it");
}

function topics(value: string, context: JsonObject): string[] {
  const all = ["cats", "cars", "dogs"];
  const out = new Array<string>();
  for (let i = 0; i < all.length; i++) {
    if (all[i].startsWith(value)) out.push(all[i]);
  }
  return out;
}

function many(value: string, context: JsonObject): string[] {
  const out = new Array<string>();
  for (let i = 0; i < 150; i++) out.push(i.toString());
  return out;
}

function ids(value: string, context: JsonObject): string[] {
  const suffix = context.getString("suffix");
  return [value + (suffix === null ? "" : suffix)];
}
