// The host functions of import module "moat", each wrapped so that authors
// pass and get strings instead of pointers. AssemblyScript compiles only
// what a program reaches, so a module imports just the host functions its
// code calls: what an operator reads in its import section is what it can do.

import { JsonObject, jsonString, parseJsonStringArray } from "./json";

@external("moat", "read_result")
declare function hostReadResult(ptr: usize, len: i32): i32;
@external("moat", "log")
declare function hostLog(level: i32, ptr: usize, len: i32): void;
@external("moat", "progress")
declare function hostProgress(progress: f64, total: f64, ptr: usize, len: i32): void;
@external("moat", "cancelled")
declare function hostCancelled(): i32;
@external("moat", "http_request")
declare function hostHttpRequest(ptr: usize, len: i32): i64;
@external("moat", "kv_get")
declare function hostKvGet(kptr: usize, klen: i32): i64;
@external("moat", "kv_set")
declare function hostKvSet(kptr: usize, klen: i32, vptr: usize, vlen: i32): i64;
@external("moat", "kv_delete")
declare function hostKvDelete(kptr: usize, klen: i32): i64;
@external("moat", "kv_list")
declare function hostKvList(pptr: usize, plen: i32): i64;
@external("moat", "config_get")
declare function hostConfigGet(kptr: usize, klen: i32): i64;
@external("moat", "sample")
declare function hostSample(ptr: usize, len: i32): i64;
@external("moat", "elicit")
declare function hostElicit(ptr: usize, len: i32): i64;
@external("moat", "notify_resource_updated")
declare function hostNotifyResourceUpdated(ptr: usize, len: i32): i64;

/** The error codes of host functions (ABI v1); a failure returns -code. */
export enum Errno {
  /** The capability is not granted. */
  EPERM = 1,
  /** A bad argument: pointer, length, JSON. */
  EINVAL = 2,
  /** The operation ran out of time. */
  ETIMEDOUT = 3,
  /** The upstream failed. */
  EIO = 4,
  /** A payload is over its size cap. */
  ETOOBIG = 5,
  /** No such key or value. */
  ENOTFOUND = 6,
  /** The call was cancelled. */
  ECANCELED = 7,
  /** The client lacks the capability (sample, elicit). */
  EUNSUPPORTED = 8,
  /** A rate limit refused the operation. */
  ERATELIMIT = 9,
}

/** The level of a log message. */
export enum LogLevel {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

/**
 * What a capability call (httpRequest, kv*, configGet, sample, elicit)
 * answered: on success `code` is 0 and `bytes` holds the response; on
 * failure `code` is an Errno and `message` is the host's explanation.
 */
export class HostResult {
  constructor(
    /** 0 on success, else the Errno of the failure. */
    public readonly code: i32,
    /** The response, empty on failure. */
    public readonly bytes: ArrayBuffer,
    /** The host's message on failure, empty on success. */
    public readonly message: string,
  ) {}

  /** Whether the call succeeded. */
  get ok(): bool {
    return this.code == 0;
  }

  /** The response decoded from UTF-8. */
  get text(): string {
    return String.UTF8.decode(this.bytes);
  }

  /** The response as a JSON object, or null if it is not one. */
  json(): JsonObject | null {
    return JsonObject.parse(this.text);
  }

  /** The response as a JSON array of strings, or null if it is not one. */
  strings(): string[] | null {
    return parseJsonStringArray(this.text);
  }

  /** "EPERM: message", for logs and tool errors; "ok" on success. */
  toString(): string {
    if (this.code == 0) return "ok";
    const names = ["EPERM", "EINVAL", "ETIMEDOUT", "EIO", "ETOOBIG", "ENOTFOUND", "ECANCELED", "EUNSUPPORTED", "ERATELIMIT"];
    const name = this.code >= 1 && this.code <= 9 ? names[this.code - 1] : "errno(" + this.code.toString() + ")";
    return this.message.length > 0 ? name + ": " + this.message : name;
  }
}

// How much of a failure's message is read; the rest is dropped.
const MAX_ERROR_MESSAGE: i32 = 4096;

// collect reads what a capability call staged: n >= 0 bytes of response,
// or, for n < 0, the message of error -n. Reading clears the staged bytes,
// so it runs right after the call, before anything else reaches the host.
function collect(n: i64): HostResult {
  if (n < 0) {
    const buf = new ArrayBuffer(MAX_ERROR_MESSAGE);
    let got = hostReadResult(changetype<usize>(buf), MAX_ERROR_MESSAGE);
    if (got < 0) got = 0;
    return new HostResult(<i32>-n, new ArrayBuffer(0), String.UTF8.decodeUnsafe(changetype<usize>(buf), <usize>got));
  }
  if (n == 0) return new HostResult(0, new ArrayBuffer(0), "");
  if (n > <i64>(1 << 30) - 16) {
    return new HostResult(Errno.ETOOBIG, new ArrayBuffer(0), "the response of " + n.toString() + " bytes is too large to hold");
  }
  const buf = new ArrayBuffer(<i32>n);
  const got = hostReadResult(changetype<usize>(buf), <i32>n);
  if (<i64>got != n) {
    return new HostResult(Errno.EIO, new ArrayBuffer(0), "read_result copied " + got.toString() + " of " + n.toString() + " bytes");
  }
  return new HostResult(0, buf, "");
}

/**
 * Sends `message` to the host's log under the plugin's name, and to the
 * client as an MCP log message if it asked for that level.
 */
export function log(level: LogLevel, message: string): void {
  const b = String.UTF8.encode(message);
  hostLog(level, changetype<usize>(b), b.byteLength);
}

/** Logs `message` at debug level. */
export function logDebug(message: string): void {
  log(LogLevel.Debug, message);
}

/** Logs `message` at info level. */
export function logInfo(message: string): void {
  log(LogLevel.Info, message);
}

/** Logs `message` at warning level. */
export function logWarn(message: string): void {
  log(LogLevel.Warn, message);
}

/** Logs `message` at error level. */
export function logError(message: string): void {
  log(LogLevel.Error, message);
}

/**
 * Reports the progress of the current call, with an optional message;
 * `total` is 0 when unknown. It does nothing when the client sent no
 * progress token.
 */
export function progress(progress: f64, total: f64 = 0, message: string = ""): void {
  const b = String.UTF8.encode(message);
  hostProgress(progress, total, changetype<usize>(b), b.byteLength);
}

/**
 * Whether the current call is over for the host: cancelled, or past its
 * deadline. A long handler checks it and returns early.
 */
export function cancelled(): bool {
  return hostCancelled() != 0;
}

/**
 * Makes an HTTP request to a host the operator granted. `request` is the
 * ABI's JSON, {"method","url","headers","body" or "body_base64","timeout_ms"};
 * the answer's json() is {"status","headers","body" or "body_base64"}. A
 * response with any status is a success; a failure is a request that got
 * no response.
 */
export function httpRequest(request: string): HostResult {
  const b = String.UTF8.encode(request);
  return collect(hostHttpRequest(changetype<usize>(b), b.byteLength));
}

/** A GET request to `url` through httpRequest. */
export function httpGet(url: string): HostResult {
  return httpRequest('{"method":"GET","url":' + jsonString(url) + "}");
}

/** The value stored under `key`; ENOTFOUND if there is none. */
export function kvGet(key: string): HostResult {
  const k = String.UTF8.encode(key);
  return collect(hostKvGet(changetype<usize>(k), k.byteLength));
}

/** Stores the bytes `value` under `key`; durable once it succeeds. */
export function kvSetBytes(key: string, value: ArrayBuffer): HostResult {
  const k = String.UTF8.encode(key);
  return collect(hostKvSet(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength));
}

/** Stores `value`, as UTF-8, under `key`; durable once it succeeds. */
export function kvSet(key: string, value: string): HostResult {
  return kvSetBytes(key, String.UTF8.encode(value));
}

/** Deletes `key`; deleting a missing key succeeds. */
export function kvDelete(key: string): HostResult {
  const k = String.UTF8.encode(key);
  return collect(hostKvDelete(changetype<usize>(k), k.byteLength));
}

/** The keys that start with `prefix`, as a JSON array: see HostResult.strings. */
export function kvList(prefix: string): HostResult {
  const p = String.UTF8.encode(prefix);
  return collect(hostKvList(changetype<usize>(p), p.byteLength));
}

/** The value the operator set for `key` (secrets included); ENOTFOUND if none. */
export function configGet(key: string): HostResult {
  const k = String.UTF8.encode(key);
  return collect(hostConfigGet(changetype<usize>(k), k.byteLength));
}

/**
 * Asks the client's model for a completion: `params` are the JSON params of
 * MCP's sampling/createMessage, and the answer is the client's result.
 *
 * Under MCP 2026-07-28 the call ends at the first `sample` or `elicit`
 * without an answer yet, and runs again from the start once the client
 * answered: whatever the tool did before it happens again, so ask first and
 * act after, and ask in the same order on every run (docs/ABI.md).
 */
export function sample(params: string): HostResult {
  const b = String.UTF8.encode(params);
  return collect(hostSample(changetype<usize>(b), b.byteLength));
}

/**
 * Asks the user for input through the client: `params` are the JSON params
 * of MCP's elicitation/create, and the answer is the client's result.
 * Under MCP 2026-07-28 the tool runs again for each answer; see `sample`.
 */
export function elicit(params: string): HostResult {
  const b = String.UTF8.encode(params);
  return collect(hostElicit(changetype<usize>(b), b.byteLength));
}

/**
 * Tells the host that the resource at `uri` (one of the plugin's, or one its
 * templates match) changed, so that it notifies the clients subscribed to
 * it. Only a plugin that calls this imports the host function.
 */
export function notifyResourceUpdated(uri: string): HostResult {
  const b = String.UTF8.encode(uri);
  return collect(hostNotifyResourceUpdated(changetype<usize>(b), b.byteLength));
}
