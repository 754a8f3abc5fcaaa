#!/usr/bin/env bash
# Runs the official MCP conformance suite, pinned by package-lock.json
# beside this script, against moat serving the fixtures plugin.
#
#   examples/conformance/run.sh MOAT CONFIG
#
# MOAT is the moat binary and CONFIG the configuration that serves
# conformance.wasm (examples/config/conformance.yaml); `make conformance`
# builds both and calls this. moat listens on a port the kernel picks, which
# the script reads from moat's log, so two runs never race for one port.
# The suite runs what the 2025-11-25 revision of MCP requires; the script
# prints the suite's summary and fails if any check failed, scored or not.
#
# CONFORMANCE_SCENARIO=NAME runs that one scenario (at the same protocol
# revision) instead, such as tools-call-sampling; the suite's list command
# names them all.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 MOAT CONFIG (see make conformance)" >&2
  exit 2
fi
moat=$(realpath "$1")
config=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
requirements=2025-11-25

for f in "$moat" "$config" "$here/conformance.wasm"; do
  if [ ! -f "$f" ]; then
    echo "conformance: $f is missing; run make build conformance-plugin first" >&2
    exit 2
  fi
done

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
moat_pid=
cleanup() {
  if [ -n "$moat_pid" ] && kill -0 "$moat_pid" 2>/dev/null; then
    kill "$moat_pid" 2>/dev/null || true
    wait "$moat_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$moat" serve --config "$config" --listen 127.0.0.1:0 2>"$work/moat.log" &
moat_pid=$!

# Wait for the line moat logs once it listens (it compiles the plugin
# first, which takes seconds on a busy machine, longer without a cache).
url=
for _ in $(seq 1200); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/mcp' "$work/moat.log" | head -n 1 || true)
  [ -n "$url" ] && break
  if ! kill -0 "$moat_pid" 2>/dev/null; then
    echo "conformance: moat exited before it listened; its log:" >&2
    cat "$work/moat.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "conformance: moat did not listen within 120s; its log:" >&2
  cat "$work/moat.log" >&2
  exit 1
fi
echo "conformance: moat serves $url"

# The suite imports fs.globSync, which Node.js has from 22 on; the loader
# supplies it on older ones, and does nothing on newer ones.
if [ -n "${CONFORMANCE_SCENARIO:-}" ]; then
  what=("--scenario" "$CONFORMANCE_SCENARIO" "--spec-version" "$requirements")
else
  what=("--requirements" "$requirements")
fi
status=0
(cd "$work" && NODE_OPTIONS="${NODE_OPTIONS:-} --import $here/node/register.mjs" \
  "$here/node_modules/.bin/conformance" server --url "$url" "${what[@]}" -o "$work/results") |
  tee "$work/suite.log" || status=$?

# A whole run ends with "Total: N passed, N failed"; one scenario with
# "Passed: N/M, N failed, N warnings".
summary=$(grep -E '^(Total: [0-9]+ passed|Passed: [0-9]+/[0-9]+), [0-9]+ failed' "$work/suite.log" | tail -n 1 || true)
if [ -z "$summary" ]; then
  echo "conformance: the suite printed no summary (exit status $status); moat's log:" >&2
  cat "$work/moat.log" >&2
  exit 1
fi
failed=$(echo "$summary" | sed -E 's/^[^,]*, ([0-9]+) failed.*/\1/')
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
  echo
  echo "conformance: FAILED against moat (requirements $requirements); failing scenarios:"
  grep -E '^✗ ' "$work/suite.log" || echo "  ${CONFORMANCE_SCENARIO:-none}"
  echo "conformance: the checks that did not pass:"
  node "$here/failures.mjs" "$work/results" || true
  echo "conformance: the last lines of moat's log:"
  tail -n 20 "$work/moat.log"
  echo "$summary"
  exit 1
fi
echo "conformance: every check passed (requirements $requirements)"
echo "$summary"
