// The JSON the SDK reads and writes. Requests and results have fixed shapes
// and arguments are mostly a few strings and numbers, so a small scanner
// over the request text does the job without a general JSON library.
//
// Everything works on AssemblyScript strings (UTF-16): the request is
// decoded from UTF-8 once, and results are encoded to UTF-8 once.

const QUOTE: i32 = 0x22; // "
const BACKSLASH: i32 = 0x5c; // \
const COMMA: i32 = 0x2c;
const COLON: i32 = 0x3a;
const LBRACE: i32 = 0x7b;
const RBRACE: i32 = 0x7d;
const LBRACKET: i32 = 0x5b;
const RBRACKET: i32 = 0x5d;

function isSpace(c: i32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

function skipSpace(s: string, i: i32): i32 {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

// stringEnd returns the index just past the string literal whose opening
// quote is at i, or -1 if it is not terminated or holds a raw control
// character.
function stringEnd(s: string, i: i32): i32 {
  i++;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c == QUOTE) return i + 1;
    if (c == BACKSLASH) {
      i += 2;
    } else {
      if (c < 0x20) return -1;
      i++;
    }
  }
  return -1;
}

// valueEnd returns the index just past the JSON value that starts at i (no
// leading space), or -1. Containers are matched bracket by bracket, skipping
// strings; the host validated the arguments against a schema before sending
// them, so this checks the structure it walks and no more.
function valueEnd(s: string, i: i32): i32 {
  if (i >= s.length) return -1;
  const c = s.charCodeAt(i);
  if (c == QUOTE) return stringEnd(s, i);
  if (c == LBRACE || c == LBRACKET) {
    let depth = 0;
    while (i < s.length) {
      const d = s.charCodeAt(i);
      if (d == QUOTE) {
        i = stringEnd(s, i);
        if (i < 0) return -1;
        continue;
      }
      if (d == LBRACE || d == LBRACKET) {
        depth++;
      } else if (d == RBRACE || d == RBRACKET) {
        depth--;
        if (depth == 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let j = i;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d == COMMA || d == RBRACE || d == RBRACKET || isSpace(d)) break;
    j++;
  }
  return j > i ? j : -1;
}

function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

// decodeString unescapes the string literal s[start, end), quotes
// included, or returns null if an escape is malformed. A \uXXXX escape is
// one UTF-16 code unit, so an escaped surrogate pair becomes the character
// it encodes.
function decodeString(s: string, start: i32, end: i32): string | null {
  const last = end - 1;
  let i = start + 1;
  let plain = true;
  for (let k = i; k < last; k++) {
    if (s.charCodeAt(k) == BACKSLASH) {
      plain = false;
      break;
    }
  }
  if (plain) return s.substring(i, last);
  const parts = new Array<string>();
  let run = i;
  while (i < last) {
    if (s.charCodeAt(i) != BACKSLASH) {
      i++;
      continue;
    }
    if (i > run) parts.push(s.substring(run, i));
    if (i + 1 >= last) return null;
    let unit: i32 = -1;
    let size = 2;
    switch (s.charCodeAt(i + 1)) {
      case 0x22: unit = 0x22; break; // \"
      case 0x5c: unit = 0x5c; break; // \\
      case 0x2f: unit = 0x2f; break; // \/
      case 0x62: unit = 0x08; break; // \b
      case 0x66: unit = 0x0c; break; // \f
      case 0x6e: unit = 0x0a; break; // \n
      case 0x72: unit = 0x0d; break; // \r
      case 0x74: unit = 0x09; break; // \t
      case 0x75: { // \uXXXX
        if (i + 6 > last) return null;
        unit = 0;
        for (let k = i + 2; k < i + 6; k++) {
          const h = hexDigit(s.charCodeAt(k));
          if (h < 0) return null;
          unit = (unit << 4) | h;
        }
        size = 6;
        break;
      }
      default:
        return null;
    }
    parts.push(String.fromCharCode(unit));
    i += size;
    run = i;
  }
  if (run < last) parts.push(s.substring(run, last));
  return parts.join("");
}

/**
 * Parses a JSON string literal (quotes included, surrounding space allowed)
 * into its value, or returns null if `literal` is not one.
 */
export function parseJsonString(literal: string): string | null {
  const i = skipSpace(literal, 0);
  if (i >= literal.length || literal.charCodeAt(i) != QUOTE) return null;
  const end = stringEnd(literal, i);
  if (end < 0 || skipSpace(literal, end) != literal.length) return null;
  return decodeString(literal, i, end);
}

/**
 * Parses a JSON array of strings, such as the answer of kvList, or returns
 * null if `text` is not one.
 */
export function parseJsonStringArray(text: string): string[] | null {
  let i = skipSpace(text, 0);
  if (i >= text.length || text.charCodeAt(i) != LBRACKET) return null;
  const out = new Array<string>();
  i = skipSpace(text, i + 1);
  if (i < text.length && text.charCodeAt(i) == RBRACKET) {
    return skipSpace(text, i + 1) == text.length ? out : null;
  }
  while (true) {
    if (i >= text.length || text.charCodeAt(i) != QUOTE) return null;
    const end = stringEnd(text, i);
    if (end < 0) return null;
    const v = decodeString(text, i, end);
    if (v === null) return null;
    out.push(v);
    i = skipSpace(text, end);
    if (i >= text.length) return null;
    const c = text.charCodeAt(i);
    if (c == RBRACKET) return skipSpace(text, i + 1) == text.length ? out : null;
    if (c != COMMA) return null;
    i = skipSpace(text, i + 1);
  }
  return null;
}

/**
 * A JSON object, read member by member: the arguments of a call, the
 * answer of a host function. The members are located once, when the object
 * is parsed; each getter then decodes only the member it is asked for. When
 * a key occurs twice, the last one counts, as with most JSON decoders.
 */
export class JsonObject {
  private names: string[] = [];
  private starts: i32[] = [];
  private ends: i32[] = [];

  private constructor(public readonly text: string) {}

  /** Parses `text` as a JSON object, or returns null if it is not one. */
  static parse(text: string): JsonObject | null {
    const o = new JsonObject(text);
    let i = skipSpace(text, 0);
    if (i >= text.length || text.charCodeAt(i) != LBRACE) return null;
    i = skipSpace(text, i + 1);
    if (i < text.length && text.charCodeAt(i) == RBRACE) {
      return skipSpace(text, i + 1) == text.length ? o : null;
    }
    while (true) {
      if (i >= text.length || text.charCodeAt(i) != QUOTE) return null;
      const keyEnd = stringEnd(text, i);
      if (keyEnd < 0) return null;
      const key = decodeString(text, i, keyEnd);
      if (key === null) return null;
      i = skipSpace(text, keyEnd);
      if (i >= text.length || text.charCodeAt(i) != COLON) return null;
      i = skipSpace(text, i + 1);
      const end = valueEnd(text, i);
      if (end < 0) return null;
      o.names.push(key);
      o.starts.push(i);
      o.ends.push(end);
      i = skipSpace(text, end);
      if (i >= text.length) return null;
      const c = text.charCodeAt(i);
      if (c == RBRACE) return skipSpace(text, i + 1) == text.length ? o : null;
      if (c != COMMA) return null;
      i = skipSpace(text, i + 1);
    }
    return null;
  }

  /** The empty object, {}. */
  static empty(): JsonObject {
    return new JsonObject("{}");
  }

  private find(key: string): i32 {
    for (let k = this.names.length - 1; k >= 0; k--) {
      if (this.names[k] == key) return k;
    }
    return -1;
  }

  /** The names of the members, in order (a repeated name once per time). */
  keys(): string[] {
    return this.names.slice(0);
  }

  /** Whether the object has a member called `key`. */
  has(key: string): bool {
    return this.find(key) >= 0;
  }

  /** The member's value as JSON text, or null if there is no such member. */
  getRaw(key: string): string | null {
    const k = this.find(key);
    if (k < 0) return null;
    return this.text.substring(this.starts[k], this.ends[k]);
  }

  /** The member's value if it is a string, else null. */
  getString(key: string): string | null {
    const k = this.find(key);
    if (k < 0 || this.text.charCodeAt(this.starts[k]) != QUOTE) return null;
    return decodeString(this.text, this.starts[k], this.ends[k]);
  }

  /** The member's value if it is a number, else `fallback` (NaN unless given). */
  getNumber(key: string, fallback: f64 = NaN): f64 {
    const raw = this.getRaw(key);
    if (raw === null) return fallback;
    const c = raw.charCodeAt(0);
    if (!(c == 0x2d || (c >= 0x30 && c <= 0x39))) return fallback;
    const v = parseFloat(raw);
    return isNaN(v) ? fallback : v;
  }

  /** The member's value if it is true or false, else `fallback`. */
  getBool(key: string, fallback: bool = false): bool {
    const raw = this.getRaw(key);
    if (raw === null) return fallback;
    if (raw == "true") return true;
    if (raw == "false") return false;
    return fallback;
  }

  /** The member's value if it is an object, else null. */
  getObject(key: string): JsonObject | null {
    const raw = this.getRaw(key);
    if (raw === null || raw.charCodeAt(0) != LBRACE) return null;
    return JsonObject.parse(raw);
  }

  /** The member's value if it is an array of strings, else null. */
  getStringArray(key: string): string[] | null {
    const raw = this.getRaw(key);
    if (raw === null) return null;
    return parseJsonStringArray(raw);
  }
}

function hex4(u: i32): string {
  const digits = "0123456789abcdef";
  return "\\u" +
    digits.charAt((u >> 12) & 15) + digits.charAt((u >> 8) & 15) +
    digits.charAt((u >> 4) & 15) + digits.charAt(u & 15);
}

/**
 * Quotes `s` as a JSON string literal: quotes, backslashes and control
 * characters are escaped, and so is any unpaired UTF-16 surrogate (which
 * UTF-8 cannot carry); every other character is kept as it is.
 */
export function jsonString(s: string): string {
  const parts = new Array<string>();
  parts.push('"');
  let run = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == QUOTE) {
      esc = '\\"';
    } else if (c == BACKSLASH) {
      esc = "\\\\";
    } else if (c < 0x20) {
      if (c == 0x0a) esc = "\\n";
      else if (c == 0x0d) esc = "\\r";
      else if (c == 0x09) esc = "\\t";
      else if (c == 0x08) esc = "\\b";
      else if (c == 0x0c) esc = "\\f";
      else esc = hex4(c);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      if (i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++; // a valid pair, kept as it is
          continue;
        }
      }
      esc = hex4(c);
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      esc = hex4(c);
    }
    if (esc !== null) {
      if (i > run) parts.push(s.substring(run, i));
      parts.push(esc);
      run = i + 1;
    }
  }
  if (run < n) parts.push(s.substring(run, n));
  parts.push('"');
  return parts.join("");
}

/**
 * Renders a number as JSON: integers without a fraction ("3", not "3.0"),
 * and NaN and the infinities, which JSON lacks, as null.
 */
export function jsonNumber(v: f64): string {
  if (!isFinite(v)) return "null";
  if (v == Math.trunc(v) && Math.abs(v) < 9007199254740992.0) {
    return (<i64>v).toString();
  }
  return v.toString();
}

/**
 * Builds a JSON object member by member, in the order the members are
 * added:
 *
 *     new JsonBuilder().integer("words", 3).string("unit", "words").toString()
 *     // {"words":3,"unit":"words"}
 */
export class JsonBuilder {
  private parts: string[] = [];

  private key(name: string): void {
    if (this.parts.length > 0) this.parts.push(",");
    this.parts.push(jsonString(name));
    this.parts.push(":");
  }

  /** Adds a string member, escaped as JSON needs. */
  string(name: string, value: string): JsonBuilder {
    this.key(name);
    this.parts.push(jsonString(value));
    return this;
  }

  /** Adds a number member (see jsonNumber). */
  number(name: string, value: f64): JsonBuilder {
    this.key(name);
    this.parts.push(jsonNumber(value));
    return this;
  }

  /** Adds an integer member. */
  integer(name: string, value: i64): JsonBuilder {
    this.key(name);
    this.parts.push(value.toString());
    return this;
  }

  /** Adds a true or false member. */
  bool(name: string, value: bool): JsonBuilder {
    this.key(name);
    this.parts.push(value ? "true" : "false");
    return this;
  }

  /** Adds a member whose value is `json`, already valid JSON text. */
  raw(name: string, json: string): JsonBuilder {
    this.key(name);
    this.parts.push(json);
    return this;
  }

  /** The object as JSON text. */
  toString(): string {
    return "{" + this.parts.join("") + "}";
  }
}
