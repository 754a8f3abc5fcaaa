// The module's exports under ABI v1. A plugin's entry file re-exports them:
//
//     export * from "moat-sdk/assembly/exports";

import { describe, handle } from "./plugin";

// The buffer handed out by moat_alloc, and the last output. Globals keep
// them reachable, so the garbage collector leaves them where the host
// expects them: the request until moat_call has read it, the output until
// the host next calls into the instance.
let request: ArrayBuffer | null = null;
let output: ArrayBuffer | null = null;

// The largest buffer the runtime can allocate.
const MAX_BUFFER: i32 = (1 << 30) - 16;

function pack(buf: ArrayBuffer): i64 {
  output = buf;
  return <i64>((<u64>changetype<usize>(buf) << 32) | <u64>buf.byteLength);
}

/** The ABI version: 1. */
export function moat_abi_version(): i32 {
  return 1;
}

/** Room for a request of `len` bytes; 0 if it cannot be had. */
export function moat_alloc(len: i32): usize {
  if (len < 0 || len > MAX_BUFFER) return 0;
  const buf = new ArrayBuffer(len);
  request = buf;
  return changetype<usize>(buf);
}

/** The plugin's description, packed as (ptr << 32) | len. */
export function moat_describe(): i64 {
  output = null;
  return pack(String.UTF8.encode(describe()));
}

/** Answers the request of `len` bytes at `ptr`, packed as (ptr << 32) | len. */
export function moat_call(ptr: usize, len: i32): i64 {
  output = null;
  const text = String.UTF8.decodeUnsafe(ptr, <usize>len);
  request = null; // the buffer is ours again
  return pack(String.UTF8.encode(handle(text)));
}
