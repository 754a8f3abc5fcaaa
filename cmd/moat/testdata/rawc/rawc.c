/*
 * rawc.c: a moat plugin written from docs/ABI.md alone, with no SDK: the
 * five exports by hand, and just enough JSON reading and writing for the
 * requests the host sends. It serves one of each thing a plugin can
 * describe, so that a client can exercise them all:
 *
 *   tool               add              the sum of two integers
 *   resource           rawc://motd      a fixed text
 *   resource template  rawc://users/{id}  the full name of a known user
 *   prompt             review           asks for a code review in a language
 *   completion         review's "language" and the template's "id", from
 *                      fixed lists, filtered by the prefix typed so far
 *
 * Build (wasi-libc supplies malloc and friends):
 *   clang-14 --target=wasm32-wasi -mexec-model=reactor -O2 -o rawc.wasm rawc.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name), visibility("default")))

/* ---- Output: a growing byte buffer -------------------------------------- */

typedef struct {
	char *p;
	size_t n, cap;
	int oom; /* a realloc failed; the answer is then an internal error */
} buf;

static void put_n(buf *b, const char *s, size_t n) {
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void put(buf *b, const char *s) { put_n(b, s, strlen(s)); }

static void put_int(buf *b, long long v) {
	char digits[24];
	int i = sizeof digits;
	/* Work on the negative side so that LLONG_MIN needs no special case. */
	long long n = v < 0 ? v : -v;
	do {
		digits[--i] = (char)('0' - n % 10);
		n /= 10;
	} while (n != 0);
	if (v < 0)
		digits[--i] = '-';
	put_n(b, digits + i, sizeof digits - i);
}

/* put_str writes s (UTF-8, as decoded from JSON) as a JSON string. */
static void put_str(buf *b, const char *s, size_t n) {
	static const char hex[] = "0123456789abcdef";
	put_n(b, "\"", 1);
	size_t run = 0; /* bytes that need no escape, written in one go */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put_n(b, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			put_n(b, esc, 2);
		} else {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			put_n(b, esc, 6);
		}
	}
	put_n(b, s + run, n - run);
	put_n(b, "\"", 1);
}

static void put_cstr(buf *b, const char *s) { put_str(b, s, strlen(s)); }

/* ---- Input: reading the request's JSON ---------------------------------- */

/* The host writes well-formed JSON, but the strings in it (arguments, URIs)
 * are the client's, re-encoded: they may hold any escape, \u003c and
 * surrogate pairs included, so strings are decoded properly. */

typedef struct {
	const char *p; /* the first byte of a JSON value, or NULL when absent */
	const char *end;
} val;

static const char *skip_ws(const char *p, const char *end) {
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* skip_value returns the byte after the value at p, or NULL if it is not
 * well-formed enough to step over. */
static const char *skip_value(const char *p, const char *end, int depth) {
	if (p >= end || depth > 64)
		return NULL;
	if (*p == '"') {
		for (p++; p < end; p++) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				return p + 1;
		}
		return NULL;
	}
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		p = skip_ws(p + 1, end);
		if (p < end && *p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = skip_value(p, end, depth + 1); /* the key */
				if (p == NULL)
					return NULL;
				p = skip_ws(p, end);
				if (p >= end || *p != ':')
					return NULL;
				p = skip_ws(p + 1, end);
			}
			p = skip_value(p, end, depth + 1);
			if (p == NULL)
				return NULL;
			p = skip_ws(p, end);
			if (p < end && *p == ',') {
				p = skip_ws(p + 1, end);
				continue;
			}
			if (p < end && *p == close)
				return p + 1;
			return NULL;
		}
	}
	/* A number, true, false or null: a run of the characters they use. */
	const char *start = p;
	while (p < end && (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.'))
		p++;
	return p > start ? p : NULL;
}

static int hexval(char c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

static int read_u16(const char *p, const char *end, unsigned *out) {
	if (end - p < 4)
		return 0;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return 0;
		v = v << 4 | (unsigned)h;
	}
	*out = v;
	return 1;
}

static void put_utf8(buf *b, unsigned cp) {
	char u[4];
	if (cp < 0x80) {
		u[0] = (char)cp;
		put_n(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		put_n(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		put_n(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		put_n(b, u, 4);
	}
}

/* get_str decodes the JSON string v into out (which it resets first, and
 * keeps allocated for reuse). It returns 0 when v is absent or not a
 * string. A lone surrogate becomes U+FFFD, so the result is always UTF-8. */
static int get_str(val v, buf *out) {
	out->n = 0;
	if (v.p == NULL || *v.p != '"')
		return 0;
	const char *p = v.p + 1, *end = v.end;
	while (p < end && *p != '"') {
		const char *run = p;
		while (p < end && *p != '"' && *p != '\\')
			p++;
		put_n(out, run, (size_t)(p - run));
		if (p >= end || *p == '"')
			break;
		if (end - p < 2)
			return 0;
		char c = p[1];
		p += 2;
		switch (c) {
		case 'b': put_n(out, "\b", 1); break;
		case 'f': put_n(out, "\f", 1); break;
		case 'n': put_n(out, "\n", 1); break;
		case 'r': put_n(out, "\r", 1); break;
		case 't': put_n(out, "\t", 1); break;
		case 'u': {
			unsigned cp, lo;
			if (!read_u16(p, end, &cp))
				return 0;
			p += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
			    read_u16(p + 2, end, &lo) && lo >= 0xDC00 && lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			} else if (cp >= 0xD800 && cp < 0xE000) {
				cp = 0xFFFD;
			}
			put_utf8(out, cp);
			break;
		}
		default: /* \" \\ \/ */
			put_n(out, &c, 1);
		}
	}
	return p < end && !out->oom;
}

/* scratch holds decoded keys while member looks for one. */
static buf scratch;

/* member returns the value of key in the object obj, or an absent value. */
static val member(val obj, const char *key) {
	val none = {NULL, obj.end};
	if (obj.p == NULL || *obj.p != '{')
		return none;
	const char *p = skip_ws(obj.p + 1, obj.end), *end = obj.end;
	size_t klen = strlen(key);
	while (p < end && *p == '"') {
		const char *after = skip_value(p, end, 0);
		if (after == NULL)
			return none;
		int match = get_str((val){p, after}, &scratch) && scratch.n == klen && memcmp(scratch.p, key, klen) == 0;
		p = skip_ws(after, end);
		if (p >= end || *p != ':')
			return none;
		p = skip_ws(p + 1, end);
		const char *next = skip_value(p, end, 0);
		if (next == NULL)
			return none;
		if (match)
			return (val){p, next};
		p = skip_ws(next, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
	}
	return none;
}

static int is_str(buf *s, const char *want) {
	size_t n = strlen(want);
	return s->n == n && memcmp(s->p, want, n) == 0;
}

/* get_int reads v as a whole number that fits in 64 bits: digits with an
 * optional minus, and an optional fraction of zeros (JSON Schema's integer
 * allows 3.0). It returns 0 for anything else. */
static int get_int(val v, long long *out) {
	if (v.p == NULL)
		return 0;
	const char *p = v.p, *end = v.end;
	int neg = p < end && *p == '-';
	if (neg)
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return 0;
	long long n = 0; /* accumulated negatively, as put_int does */
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';
		if (n < (INT64_MIN + d) / 10)
			return 0;
		n = n * 10 - d;
	}
	if (p < end && *p == '.') {
		for (p++; p < end && *p == '0'; p++)
			;
	}
	if (p != end)
		return 0;
	if (!neg && n == INT64_MIN)
		return 0;
	*out = neg ? n : -n;
	return 1;
}

/* ---- What the plugin serves --------------------------------------------- */

static const char description[] =
    "{\"name\":\"rawc\",\"version\":\"1.0.0\","
    "\"description\":\"A plugin in plain C, written from the ABI without an SDK.\","
    "\"tools\":[{\"name\":\"add\",\"description\":\"Adds two integers.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"]},"
    "\"outputSchema\":{\"type\":\"object\",\"properties\":{\"sum\":{\"type\":\"integer\"}},\"required\":[\"sum\"]},"
    "\"annotations\":{\"readOnlyHint\":true}}],"
    "\"resources\":[{\"uri\":\"rawc://motd\",\"name\":\"motd\",\"title\":\"Message of the day\","
    "\"description\":\"A fixed line of text.\",\"mimeType\":\"text/plain\"}],"
    "\"resourceTemplates\":[{\"uriTemplate\":\"rawc://users/{id}\",\"name\":\"user\","
    "\"description\":\"The full name of the user with this id.\",\"mimeType\":\"text/plain\"}],"
    "\"prompts\":[{\"name\":\"review\",\"title\":\"Code review\","
    "\"description\":\"Asks the model to review code written in a language.\","
    "\"arguments\":[{\"name\":\"language\",\"description\":\"The language of the code.\",\"required\":true},"
    "{\"name\":\"focus\",\"description\":\"What to look at most closely.\"}]}]}";

static const char motd[] = "Plugins in C need no SDK.";

#define USERS_PREFIX "rawc://users/"
static const char *const users[][2] = {
    {"ada", "Ada Lovelace"},
    {"alan", "Alan Turing"},
    {"grace", "Grace Hopper"},
    {"linus", "Linus Torvalds"},
};

static const char *const languages[] = {
    "c", "cpp", "csharp", "go", "haskell", "java", "javascript", "python", "rust", "typescript",
};

static void error(buf *out, int code, const char *msg_start, buf *quoted, const char *msg_end) {
	/* The message is msg_start, then quoted as a JSON-escaped string inside
	 * the message (so it is written escaped twice: once as a quoted name,
	 * once as part of the message), then msg_end. */
	buf msg = {0};
	put(&msg, msg_start);
	if (quoted != NULL) {
		put_str(&msg, quoted->p, quoted->n);
	}
	put(&msg, msg_end);
	put(out, "{\"error\":{\"code\":");
	put_int(out, code);
	put(out, ",\"message\":");
	put_str(out, msg.p, msg.n);
	put(out, "}}");
	if (msg.oom)
		out->oom = 1;
	free(msg.p);
}

static buf s1, s2, s3; /* decoded strings, reused across calls */

static void tools_call(val params, buf *out) {
	if (!get_str(member(params, "name"), &s1)) {
		error(out, -32602, "tools/call needs params.name, a string", NULL, "");
		return;
	}
	if (!is_str(&s1, "add")) {
		error(out, -32602, "unknown tool ", &s1, "");
		return;
	}
	val args = member(params, "arguments");
	long long a, b;
	if (!get_int(member(args, "a"), &a) || !get_int(member(args, "b"), &b)) {
		put(out, "{\"content\":[{\"type\":\"text\",\"text\":\"a and b must be integers between -2^63 and 2^63-1, "
		         "written without an exponent\"}],\"isError\":true}");
		return;
	}
	if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) {
		put(out, "{\"content\":[{\"type\":\"text\",\"text\":\"the sum does not fit in 64 bits\"}],\"isError\":true}");
		return;
	}
	put(out, "{\"content\":[{\"type\":\"text\",\"text\":\"");
	put_int(out, a + b);
	put(out, "\"}],\"structuredContent\":{\"sum\":");
	put_int(out, a + b);
	put(out, "}}");
}

static void read_text(buf *out, buf *uri, const char *text) {
	put(out, "{\"contents\":[{\"uri\":");
	put_str(out, uri->p, uri->n);
	put(out, ",\"mimeType\":\"text/plain\",\"text\":");
	put_cstr(out, text);
	put(out, "}]}");
}

static void resources_read(val params, buf *out) {
	if (!get_str(member(params, "uri"), &s1)) {
		error(out, -32602, "resources/read needs params.uri, a string", NULL, "");
		return;
	}
	if (is_str(&s1, "rawc://motd")) {
		read_text(out, &s1, motd);
		return;
	}
	size_t plen = strlen(USERS_PREFIX);
	if (s1.n > plen && memcmp(s1.p, USERS_PREFIX, plen) == 0) {
		const char *id = s1.p + plen;
		size_t idlen = s1.n - plen;
		for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
			if (strlen(users[i][0]) == idlen && memcmp(users[i][0], id, idlen) == 0) {
				read_text(out, &s1, users[i][1]);
				return;
			}
		}
	}
	/* The message is "resource not found: URI", the URI unquoted. */
	buf msg = {0};
	put(&msg, "resource not found: ");
	put_n(&msg, s1.p, s1.n);
	put(out, "{\"error\":{\"code\":-32002,\"message\":");
	put_str(out, msg.p, msg.n);
	put(out, "}}");
	if (msg.oom)
		out->oom = 1;
	free(msg.p);
}

static void prompts_get(val params, buf *out) {
	if (!get_str(member(params, "name"), &s1)) {
		error(out, -32602, "prompts/get needs params.name, a string", NULL, "");
		return;
	}
	if (!is_str(&s1, "review")) {
		error(out, -32602, "unknown prompt ", &s1, "");
		return;
	}
	val args = member(params, "arguments");
	if (args.p != NULL && *args.p != '{' && *args.p != 'n') {
		error(out, -32602, "prompt \"review\": arguments must be an object of strings", NULL, "");
		return;
	}
	val language = member(args, "language"), focus = member(args, "focus");
	if (language.p == NULL) {
		error(out, -32602, "prompt \"review\" needs the argument \"language\"", NULL, "");
		return;
	}
	if (!get_str(language, &s2) || (focus.p != NULL && !get_str(focus, &s3))) {
		error(out, -32602, "prompt \"review\": every argument must be a string", NULL, "");
		return;
	}
	buf text = {0};
	put(&text, "Please review the following ");
	put_n(&text, s2.p, s2.n);
	put(&text, " code");
	if (focus.p != NULL && s3.n > 0) {
		put(&text, ", paying most attention to ");
		put_n(&text, s3.p, s3.n);
	}
	put(&text, ".");
	put(out, "{\"description\":\"Code review\",\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":");
	put_str(out, text.p, text.n);
	put(out, "}}]}");
	if (text.oom)
		out->oom = 1;
	free(text.p);
}

/* complete_from answers the values of list that start with prefix, in the
 * list's order. */
static void complete_from(buf *out, const char *const *list, size_t stride, size_t count, buf *prefix) {
	put(out, "{\"completion\":{\"values\":[");
	int first = 1;
	for (size_t i = 0; i < count; i++) {
		const char *v = list[i * stride];
		if (strlen(v) >= prefix->n && memcmp(v, prefix->p, prefix->n) == 0) {
			if (!first)
				put(out, ",");
			put_cstr(out, v);
			first = 0;
		}
	}
	put(out, "]}}");
}

static void completion_complete(val params, buf *out) {
	val ref = member(params, "ref"), arg = member(params, "argument");
	if (!get_str(member(ref, "type"), &s1) || !get_str(member(arg, "name"), &s2)) {
		error(out, -32602, "completion/complete needs params.ref.type and params.argument.name, strings", NULL, "");
		return;
	}
	val value = member(arg, "value");
	if (value.p != NULL && !get_str(value, &s3)) {
		error(out, -32602, "completion/complete: params.argument.value must be a string", NULL, "");
		return;
	}
	if (value.p == NULL)
		s3.n = 0;
	int prompt = is_str(&s1, "ref/prompt"), resource = is_str(&s1, "ref/resource");
	if (prompt && get_str(member(ref, "name"), &s1) && is_str(&s1, "review") && is_str(&s2, "language")) {
		complete_from(out, languages, 1, sizeof languages / sizeof languages[0], &s3);
		return;
	}
	if (resource && get_str(member(ref, "uri"), &s1) && is_str(&s1, USERS_PREFIX "{id}") && is_str(&s2, "id")) {
		complete_from(out, &users[0][0], 2, sizeof users / sizeof users[0], &s3);
		return;
	}
	/* Any other reference or argument has nothing to suggest. */
	put(out, "{\"completion\":{\"values\":[]}}");
}

/* ---- The ABI's exports --------------------------------------------------- */

static uint64_t pack(const void *p, size_t n) { return (uint64_t)(uintptr_t)p << 32 | (uint32_t)n; }

EXPORT("moat_abi_version") int32_t moat_abi_version(void) { return 1; }

/* Never 0 for success: malloc(0) may answer NULL, so ask for a byte. */
EXPORT("moat_alloc") void *moat_alloc(int32_t len) { return malloc(len > 0 ? (size_t)len : 1); }

EXPORT("moat_describe") uint64_t moat_describe(void) { return pack(description, sizeof description - 1); }

/* The last answer stays in place until the next call into this instance,
 * as the ABI asks. */
static buf answer;

EXPORT("moat_call") uint64_t moat_call(char *req, int32_t len) {
	answer.n = 0;
	answer.oom = 0;
	val root = {skip_ws(req, req + len), req + len};
	val params = member(root, "params");
	if (!get_str(member(root, "method"), &s1)) {
		error(&answer, -32602, "the request has no method", NULL, "");
	} else if (is_str(&s1, "tools/call")) {
		tools_call(params, &answer);
	} else if (is_str(&s1, "resources/read")) {
		resources_read(params, &answer);
	} else if (is_str(&s1, "prompts/get")) {
		prompts_get(params, &answer);
	} else if (is_str(&s1, "completion/complete")) {
		completion_complete(params, &answer);
	} else {
		error(&answer, -32601, "method ", &s1, " is not supported by this plugin");
	}
	free(req);
	if (answer.oom) {
		static const char oom[] = "{\"error\":{\"code\":-32603,\"message\":\"rawc ran out of memory\"}}";
		return pack(oom, sizeof oom - 1);
	}
	return pack(answer.p, answer.n);
}
