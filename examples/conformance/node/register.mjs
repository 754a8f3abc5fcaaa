// Lets the conformance suite run on Node.js 20. The suite imports globSync
// from "fs", which Node.js added in 22; on an older Node.js that import
// fails before any scenario runs. Preloaded with
//   NODE_OPTIONS="--import ./node/register.mjs"
// this module, on a Node.js without fs.globSync, points the suite's imports
// of "fs" at fs.mjs beside it: Node.js's own fs with globSync added. On a
// Node.js that has it, it does nothing.
import fs from 'node:fs';
import { register } from 'node:module';

if (typeof fs.globSync !== 'function') {
  register('./hooks.mjs', import.meta.url);
}
