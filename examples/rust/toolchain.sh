#!/bin/sh
# Prints RUSTC, CARGO and TARGET for the first Rust toolchain that can build
# a moat plugin: the rustc and cargo on PATH, then Debian's in /usr/bin.
# Current Rust names the WASI preview 1 target wasm32-wasip1 (the old name,
# wasm32-wasi, was removed in 1.84); Debian's rustc 1.63 knows only
# wasm32-wasi. A toolchain without either standard library is skipped, as a
# rustup toolchain on PATH often is until `rustup target add wasm32-wasip1`.
# Usage: eval "$(examples/rust/toolchain.sh)"
set -u
try() {
  rustc=$1 cargo=$2
  command -v "$rustc" >/dev/null 2>&1 && command -v "$cargo" >/dev/null 2>&1 || return 1
  sysroot=$("$rustc" --print sysroot 2>/dev/null) || return 1
  for target in wasm32-wasip1 wasm32-wasi; do
    if [ -d "$sysroot/lib/rustlib/$target" ]; then
      echo "RUSTC=$(command -v "$rustc") CARGO=$(command -v "$cargo") TARGET=$target"
      return 0
    fi
  done
  return 1
}
try "${RUSTC:-rustc}" "${CARGO:-cargo}" || try /usr/bin/rustc /usr/bin/cargo || {
  echo "no Rust toolchain with the wasm32-wasip1 or wasm32-wasi standard library:" >&2
  echo "  rustup target add wasm32-wasip1, or apt-get install rustc cargo libstd-rust-dev-wasm32" >&2
  exit 1
}
