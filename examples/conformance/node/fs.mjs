// Node.js's fs with globSync, for a Node.js that lacks it (before 22).
// Only what the conformance suite asks of globSync is supported: one
// pattern or a list of them, the cwd option, and the wildcards "**" (any
// number of folders), "*" and "?" (within one path segment). Anything else
// is an error that says so rather than a silently different answer.
import fs from 'node:fs';
import path from 'node:path';

export * from 'node:fs';
export default fs;

export function globSync(pattern, options = {}) {
  const unsupported = Object.keys(options).filter((k) => k !== 'cwd');
  if (unsupported.length > 0) {
    throw new Error(`globSync shim: option ${unsupported.join(', ')} is not supported; run on Node.js 22 or later`);
  }
  const patterns = Array.isArray(pattern) ? pattern : [pattern];
  const cwd = options.cwd === undefined ? process.cwd() : String(options.cwd);
  const matchers = patterns.map(toRegExp);
  const found = [];
  for (const rel of walk(cwd, '')) {
    if (matchers.some((re) => re.test(rel))) found.push(rel);
  }
  return found;
}

// toRegExp turns a glob into an anchored regular expression over paths
// written with "/", relative to cwd.
function toRegExp(glob) {
  if (/[[\]{}!]/.test(glob)) {
    throw new Error(`globSync shim: pattern ${JSON.stringify(glob)} uses syntax beyond **, * and ?; run on Node.js 22 or later`);
  }
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // "**/" is zero or more whole folders; a trailing "**" is anything.
      if (glob[i + 2] === '/') {
        re += '(?:[^/]+/)*';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^$()|\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

// walk yields every file and folder under root, as paths relative to it.
function* walk(root, rel) {
  let entries;
  try {
    entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    yield p;
    if (e.isDirectory()) yield* walk(root, p);
  }
}
