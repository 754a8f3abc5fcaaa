// moat-sdk: write moat plugins (ABI v1) in AssemblyScript. See README.md.
//
// The exports the host calls live in ./exports; an entry file re-exports
// them with `export * from "moat-sdk/assembly/exports"`.

export { JsonObject, JsonBuilder, jsonString, jsonNumber, parseJsonString, parseJsonStringArray } from "./json";
export {
  Errno, LogLevel, HostResult,
  log, logDebug, logInfo, logWarn, logError, progress, cancelled,
  httpRequest, httpGet, kvGet, kvSet, kvSetBytes, kvDelete, kvList, configGet, sample, elicit,
  notifyResourceUpdated,
} from "./host";
export { Handler, Call, Result, Tool, setInfo, setCapabilities, addTool, describe, handle } from "./plugin";
export {
  Completer, ResourceHandler, PromptHandler, ResourceRead, ResourceResult, Resource, ResourceTemplate,
  PromptGet, PromptResult, Prompt, addResource, addResourceTemplate, addPrompt,
} from "./resources";
