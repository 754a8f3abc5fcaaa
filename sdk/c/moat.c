/*
 * moat.c: the C SDK for moat plugins, ABI v1. See moat.h for the API and
 * docs/ABI.md for the contract implemented here.
 */
#include "moat.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Imports of module "moat" ----------------------------------------- */

/* Each wrapper below calls exactly one of these, so the linker keeps only the
 * imports a plugin's code reaches. */
#define MOAT_IMPORT(name) __attribute__((import_module("moat"), import_name(name)))

MOAT_IMPORT("read_result") int32_t moat__read_result(void *ptr, uint32_t len);
MOAT_IMPORT("log") void moat__log(int32_t level, const void *ptr, uint32_t len);
MOAT_IMPORT("progress") void moat__progress(double progress, double total, const void *ptr, uint32_t len);
MOAT_IMPORT("cancelled") int32_t moat__cancelled(void);
MOAT_IMPORT("http_request") int64_t moat__http_request(const void *ptr, uint32_t len);
MOAT_IMPORT("kv_get") int64_t moat__kv_get(const void *kptr, uint32_t klen);
MOAT_IMPORT("kv_set") int64_t moat__kv_set(const void *kptr, uint32_t klen, const void *vptr, uint32_t vlen);
MOAT_IMPORT("kv_delete") int64_t moat__kv_delete(const void *kptr, uint32_t klen);
MOAT_IMPORT("kv_list") int64_t moat__kv_list(const void *pptr, uint32_t plen);
MOAT_IMPORT("config_get") int64_t moat__config_get(const void *kptr, uint32_t klen);
MOAT_IMPORT("sample") int64_t moat__sample(const void *ptr, uint32_t len);
MOAT_IMPORT("elicit") int64_t moat__elicit(const void *ptr, uint32_t len);
MOAT_IMPORT("notify_resource_updated") int64_t moat__notify_resource_updated(const void *ptr, uint32_t len);

#define MOAT_EXPORT(name) __attribute__((export_name(name), visibility("default")))

/* ---- moat_text ---------------------------------------------------------- */

static int text_reserve(moat_text *t, size_t more) {
	if (t->failed)
		return 0;
	if (t->len + more + 1 <= t->cap && t->data != NULL)
		return 1;
	size_t cap = t->cap ? t->cap : 64;
	while (cap < t->len + more + 1) {
		if (cap > SIZE_MAX / 2) {
			t->failed = 1;
			return 0;
		}
		cap *= 2;
	}
	char *data = realloc(t->data, cap);
	if (data == NULL) {
		t->failed = 1;
		return 0;
	}
	t->data = data;
	t->cap = cap;
	return 1;
}

void moat_text_add_n(moat_text *t, const char *s, size_t n) {
	if (!text_reserve(t, n))
		return;
	if (n > 0)
		memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = 0;
}

void moat_text_add(moat_text *t, const char *s) {
	if (s != NULL)
		moat_text_add_n(t, s, strlen(s));
}

static void text_byte(moat_text *t, char c) { moat_text_add_n(t, &c, 1); }

void moat_text_add_int(moat_text *t, long long v) {
	char buf[24];
	size_t i = sizeof buf;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[--i] = '-';
	moat_text_add_n(t, buf + i, sizeof buf - i);
}

void moat_text_free(moat_text *t) {
	free(t->data);
	t->data = NULL;
	t->len = t->cap = 0;
	t->failed = 0;
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* utf8_next decodes the code point at s[0..n), n > 0, storing its width in
 * *width; an invalid sequence yields -1 with width 1, as Go counts it. */
static int32_t utf8_next(const unsigned char *s, size_t n, size_t *width) {
	unsigned char c = s[0];
	*width = 1;
	if (c < 0x80)
		return c;
	size_t need;
	int32_t cp, min;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1, cp = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2, cp = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3, cp = c & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (n < need + 1)
		return -1;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*width = need + 1;
	return cp;
}

static size_t utf8_put(char *out, uint32_t cp) {
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* ---- moat_json (writing) ---------------------------------------------- */

static void json_quote(moat_text *t, const char *s, size_t n) {
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	text_byte(t, '"');
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			size_t j = i + 1; /* copy a run of plain ASCII at once */
			while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\')
				j++;
			moat_text_add_n(t, s + i, j - i);
			i = j;
			continue;
		}
		if (c >= 0x80) {
			size_t w;
			if (utf8_next(p + i, n - i, &w) < 0)
				moat_text_add(t, "\\ufffd");
			else
				moat_text_add_n(t, s + i, w);
			i += w;
			continue;
		}
		switch (c) {
		case '"': moat_text_add(t, "\\\""); break;
		case '\\': moat_text_add(t, "\\\\"); break;
		case '\n': moat_text_add(t, "\\n"); break;
		case '\r': moat_text_add(t, "\\r"); break;
		case '\t': moat_text_add(t, "\\t"); break;
		case '\b': moat_text_add(t, "\\b"); break;
		case '\f': moat_text_add(t, "\\f"); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			moat_text_add_n(t, u, 6);
		}
		}
		i++;
	}
	text_byte(t, '"');
}

/* json_value_start writes the comma a new value or key needs. */
static int json_value_start(moat_json *w) {
	if (w->failed)
		return 0;
	if (w->after_key) {
		w->after_key = 0;
		return 1;
	}
	if (w->depth > 0) {
		if (w->filled[w->depth])
			text_byte(&w->out, ',');
		w->filled[w->depth] = 1;
	}
	return 1;
}

static void json_open(moat_json *w, char c) {
	if (!json_value_start(w))
		return;
	if (w->depth >= MOAT_JSON_MAX_DEPTH) {
		w->failed = 1;
		return;
	}
	text_byte(&w->out, c);
	w->filled[++w->depth] = 0;
}

static void json_close(moat_json *w, char c) {
	if (w->failed)
		return;
	if (w->depth == 0 || w->after_key) {
		w->failed = 1;
		return;
	}
	w->depth--;
	text_byte(&w->out, c);
}

void moat_json_object_begin(moat_json *w) { json_open(w, '{'); }
void moat_json_object_end(moat_json *w) { json_close(w, '}'); }
void moat_json_array_begin(moat_json *w) { json_open(w, '['); }
void moat_json_array_end(moat_json *w) { json_close(w, ']'); }

void moat_json_key(moat_json *w, const char *key) {
	if (!json_value_start(w))
		return;
	json_quote(&w->out, key ? key : "", key ? strlen(key) : 0);
	text_byte(&w->out, ':');
	w->after_key = 1;
}

void moat_json_string_n(moat_json *w, const char *s, size_t n) {
	if (json_value_start(w))
		json_quote(&w->out, s, n);
}

void moat_json_string(moat_json *w, const char *s) {
	if (s == NULL)
		moat_json_null(w);
	else
		moat_json_string_n(w, s, strlen(s));
}

void moat_json_int(moat_json *w, long long v) {
	if (json_value_start(w))
		moat_text_add_int(&w->out, v);
}

void moat_json_number(moat_json *w, double v) {
	if (!json_value_start(w))
		return;
	if (!isfinite(v)) {
		moat_text_add(&w->out, "null");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		moat_text_add_int(&w->out, (long long)v);
		return;
	}
	char buf[32];
	snprintf(buf, sizeof buf, "%.15g", v); /* the shortest that reads back */
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof buf, "%.17g", v);
	moat_text_add(&w->out, buf);
}

void moat_json_bool(moat_json *w, int v) {
	if (json_value_start(w))
		moat_text_add(&w->out, v ? "true" : "false");
}

void moat_json_null(moat_json *w) {
	if (json_value_start(w))
		moat_text_add(&w->out, "null");
}

void moat_json_raw_n(moat_json *w, const char *json, size_t n) {
	if (json_value_start(w))
		moat_text_add_n(&w->out, json, n);
}

void moat_json_raw(moat_json *w, const char *json) {
	if (json == NULL)
		moat_json_null(w);
	else
		moat_json_raw_n(w, json, strlen(json));
}

const char *moat_json_text(moat_json *w, size_t *len) {
	if (w->failed || w->out.failed || w->depth != 0 || w->after_key || w->out.data == NULL)
		return NULL;
	if (len != NULL)
		*len = w->out.len;
	return w->out.data;
}

void moat_json_free(moat_json *w) {
	moat_text_free(&w->out);
	w->depth = 0;
	w->after_key = 0;
	w->failed = 0;
}

/* ---- JSON reading ------------------------------------------------------- */

/* A scanner works on s[0..n) of the input; each step returns the position
 * after what it read, or NULL when the JSON is malformed. */

static const char *skip_ws(const char *p, const char *end) {
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int hex4(const char *p, const char *end, uint32_t *out) {
	if (end - p < 4)
		return 0;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return 0;
	}
	*out = v;
	return 1;
}

/*
 * scan_string reads the string whose opening quote is at p. With out not
 * NULL it writes the unescaped bytes there (the caller sized it with a first
 * pass); *n gets their count. A lone surrogate decodes to U+FFFD, as in Go.
 */
static const char *scan_string(const char *p, const char *end, char *out, size_t *n) {
	size_t len = 0;
	if (p >= end || *p != '"')
		return NULL;
	p++;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*n = len;
			return p + 1;
		}
		if (c < 0x20)
			return NULL;
		if (c != '\\') {
			if (out)
				out[len] = (char)c;
			len++;
			p++;
			continue;
		}
		if (++p >= end)
			return NULL;
		char e = *p++;
		char one;
		switch (e) {
		case '"': one = '"'; break;
		case '\\': one = '\\'; break;
		case '/': one = '/'; break;
		case 'b': one = '\b'; break;
		case 'f': one = '\f'; break;
		case 'n': one = '\n'; break;
		case 'r': one = '\r'; break;
		case 't': one = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			if (!hex4(p, end, &cp))
				return NULL;
			p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
			    hex4(p + 2, end, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			} else if (cp >= 0xD800 && cp <= 0xDFFF) {
				cp = 0xFFFD;
			}
			char buf[4];
			size_t w = utf8_put(buf, cp);
			if (out)
				memcpy(out + len, buf, w);
			len += w;
			continue;
		}
		default:
			return NULL;
		}
		if (out)
			out[len] = one;
		len++;
	}
	return NULL;
}

static int is_delim(char c) {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':';
}

/* skip_value passes over one value of any type; nesting is followed with a
 * counter rather than recursion, so deep input cannot exhaust the stack. */
static const char *skip_value(const char *p, const char *end) {
	size_t depth = 0;
	do {
		p = skip_ws(p, end);
		if (p >= end)
			return NULL;
		size_t ignored;
		switch (*p) {
		case '{':
		case '[':
			depth++;
			p++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return NULL;
			depth--;
			p++;
			break;
		case ',':
		case ':':
			if (depth == 0)
				return NULL;
			p++;
			break;
		case '"':
			p = scan_string(p, end, NULL, &ignored);
			if (p == NULL)
				return NULL;
			break;
		default: {
			const char *start = p;
			while (p < end && !is_delim(*p))
				p++;
			if (p == start)
				return NULL;
		}
		}
	} while (depth > 0);
	return p;
}

/* decode_string returns the unescaped string at p, malloc'd and
 * NUL-terminated, or NULL if it is not a string or memory ran out. */
static char *decode_string(const char *p, const char *end, size_t *len) {
	size_t n;
	if (scan_string(p, end, NULL, &n) == NULL)
		return NULL;
	char *s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	scan_string(p, end, s, &n);
	s[n] = 0;
	if (len)
		*len = n;
	return s;
}

/* find_member locates the value of key in the object json[0..len): the
 * last one, as encoding/json decodes duplicates. */
static const char *find_member(const char *json, size_t len, const char *key, const char **value_end) {
	const char *p = json, *end = json + len, *found = NULL, *found_end = NULL;
	size_t klen = key ? strlen(key) : 0;
	if (json == NULL)
		return NULL;
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return NULL;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return NULL;
	for (;;) {
		size_t n;
		char *name = decode_string(p, end, &n);
		if (name == NULL)
			return NULL;
		int match = n == klen && memcmp(name, key, n) == 0;
		free(name);
		p = scan_string(p, end, NULL, &n);
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		const char *v = skip_ws(p + 1, end);
		p = skip_value(v, end);
		if (p == NULL)
			return NULL;
		if (match) {
			found = v;
			found_end = p;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			break;
		return NULL;
	}
	if (found != NULL)
		*value_end = found_end;
	return found;
}

char *moat_json_get_string(const char *json, size_t len, const char *key, size_t *out_len) {
	const char *vend, *v = find_member(json, len, key, &vend);
	if (v == NULL || *v != '"')
		return NULL;
	return decode_string(v, vend, out_len);
}

/* number_text copies a number member into buf, NUL-terminated. */
static int number_text(const char *json, size_t len, const char *key, char *buf, size_t size) {
	const char *vend, *v = find_member(json, len, key, &vend);
	if (v == NULL || !(*v == '-' || (*v >= '0' && *v <= '9')))
		return 0;
	size_t n = (size_t)(vend - v);
	if (n >= size)
		return 0;
	memcpy(buf, v, n);
	buf[n] = 0;
	return 1;
}

int moat_json_get_number(const char *json, size_t len, const char *key, double *out) {
	char buf[400], *end;
	if (!number_text(json, len, key, buf, sizeof buf))
		return 0;
	double d = strtod(buf, &end);
	if (*end != 0)
		return 0;
	*out = d;
	return 1;
}

int moat_json_get_int(const char *json, size_t len, const char *key, long long *out) {
	char buf[400], *end;
	if (!number_text(json, len, key, buf, sizeof buf))
		return 0;
	if (strpbrk(buf, ".eE") == NULL) {
		errno = 0;
		long long v = strtoll(buf, &end, 10);
		if (*end != 0 || errno == ERANGE)
			return 0;
		*out = v;
		return 1;
	}
	double d = strtod(buf, &end);
	if (*end != 0 || d != floor(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18)
		return 0;
	*out = (long long)d;
	return 1;
}

int moat_json_get_bool(const char *json, size_t len, const char *key, int *out) {
	const char *vend, *v = find_member(json, len, key, &vend);
	if (v == NULL)
		return 0;
	if (vend - v == 4 && memcmp(v, "true", 4) == 0)
		*out = 1;
	else if (vend - v == 5 && memcmp(v, "false", 5) == 0)
		*out = 0;
	else
		return 0;
	return 1;
}

char *moat_json_get_raw(const char *json, size_t len, const char *key, size_t *out_len) {
	const char *vend, *v = find_member(json, len, key, &vend);
	if (v == NULL)
		return NULL;
	size_t n = (size_t)(vend - v);
	char *s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, v, n);
	s[n] = 0;
	if (out_len)
		*out_len = n;
	return s;
}

/* ---- Registration and the description ----------------------------------- */

struct tool {
	char *name, *description, *input_schema, *output_schema, *annotations;
	moat_handler handler;
};

static struct {
	char *name, *version, *description, *capabilities;
	struct tool *tools;
	size_t ntools;
} plugin;

static char *dup_or_null(const char *s, int *oom) {
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		*oom = 1;
	return d;
}

void moat_plugin(const char *name, const char *version, const char *description) {
	int oom = 0;
	free(plugin.name);
	free(plugin.version);
	free(plugin.description);
	plugin.name = dup_or_null(name, &oom);
	plugin.version = dup_or_null(version, &oom);
	plugin.description = dup_or_null(description, &oom);
}

void moat_plugin_capabilities(const char *capabilities_json) {
	int oom = 0;
	free(plugin.capabilities);
	plugin.capabilities = dup_or_null(capabilities_json, &oom);
}

int moat_tool(const char *name, const char *description, const char *input_schema_json,
              const char *output_schema_json, const char *annotations_json, moat_handler handler) {
	if (name == NULL || input_schema_json == NULL || handler == NULL)
		return -1;
	struct tool *tools = realloc(plugin.tools, (plugin.ntools + 1) * sizeof *tools);
	if (tools == NULL)
		return -1;
	plugin.tools = tools;
	int oom = 0;
	struct tool t = {
		dup_or_null(name, &oom),
		dup_or_null(description, &oom),
		dup_or_null(input_schema_json, &oom),
		dup_or_null(output_schema_json, &oom),
		dup_or_null(annotations_json, &oom),
		handler,
	};
	if (oom) {
		free(t.name), free(t.description), free(t.input_schema), free(t.output_schema), free(t.annotations);
		return -1;
	}
	plugin.tools[plugin.ntools++] = t;
	return 0;
}

static void describe_served(moat_json *w);

static void describe(moat_json *w) {
	moat_json_object_begin(w);
	moat_json_key(w, "name");
	moat_json_string(w, plugin.name ? plugin.name : "");
	if (plugin.version) {
		moat_json_key(w, "version");
		moat_json_string(w, plugin.version);
	}
	if (plugin.description) {
		moat_json_key(w, "description");
		moat_json_string(w, plugin.description);
	}
	moat_json_key(w, "tools");
	moat_json_array_begin(w);
	for (size_t i = 0; i < plugin.ntools; i++) {
		const struct tool *t = &plugin.tools[i];
		moat_json_object_begin(w);
		moat_json_key(w, "name");
		moat_json_string(w, t->name);
		if (t->description) {
			moat_json_key(w, "description");
			moat_json_string(w, t->description);
		}
		moat_json_key(w, "inputSchema");
		moat_json_raw(w, t->input_schema);
		if (t->output_schema) {
			moat_json_key(w, "outputSchema");
			moat_json_raw(w, t->output_schema);
		}
		if (t->annotations) {
			moat_json_key(w, "annotations");
			moat_json_raw(w, t->annotations);
		}
		moat_json_object_end(w);
	}
	moat_json_array_end(w);
	describe_served(w);
	if (plugin.capabilities) {
		moat_json_key(w, "capabilities");
		moat_json_raw(w, plugin.capabilities);
	}
	moat_json_object_end(w);
}

/* ---- Requests and results ----------------------------------------------- */

struct moat_request {
	char *tool;
	char *arguments;
	size_t arguments_len;
	int wants_progress;
};

struct moat_result {
	moat_json content; /* the content array, open until the response is written */
	char *structured;
	size_t structured_len;
	int is_error;
	int protocol_code;
	char *protocol_message;
	int oom;
};

const char *moat_request_tool(const moat_request *req) { return req->tool; }

const char *moat_request_arguments(const moat_request *req, size_t *len) {
	if (len)
		*len = req->arguments_len;
	return req->arguments;
}

int moat_request_wants_progress(const moat_request *req) { return req->wants_progress; }

char *moat_arg_string(const moat_request *req, const char *key, size_t *out_len) {
	return moat_json_get_string(req->arguments, req->arguments_len, key, out_len);
}

int moat_arg_number(const moat_request *req, const char *key, double *out) {
	return moat_json_get_number(req->arguments, req->arguments_len, key, out);
}

int moat_arg_int(const moat_request *req, const char *key, long long *out) {
	return moat_json_get_int(req->arguments, req->arguments_len, key, out);
}

int moat_arg_bool(const moat_request *req, const char *key, int *out) {
	return moat_json_get_bool(req->arguments, req->arguments_len, key, out);
}

char *moat_arg_raw(const moat_request *req, const char *key, size_t *out_len) {
	return moat_json_get_raw(req->arguments, req->arguments_len, key, out_len);
}

static void result_reset_content(moat_result *res) {
	moat_json_free(&res->content);
	moat_json_array_begin(&res->content);
}

void moat_result_text_n(moat_result *res, const char *text, size_t len) {
	moat_json *w = &res->content;
	moat_json_object_begin(w);
	moat_json_key(w, "type");
	moat_json_string(w, "text");
	moat_json_key(w, "text");
	moat_json_string_n(w, text ? text : "", text ? len : 0);
	moat_json_object_end(w);
}

void moat_result_text(moat_result *res, const char *text) {
	moat_result_text_n(res, text, text ? strlen(text) : 0);
}

void moat_result_content(moat_result *res, const char *block_json) {
	if (block_json != NULL)
		moat_json_raw(&res->content, block_json);
}

void moat_result_structured_n(moat_result *res, const char *object_json, size_t len) {
	free(res->structured);
	res->structured = NULL;
	res->structured_len = 0;
	if (object_json == NULL)
		return;
	res->structured = malloc(len + 1);
	if (res->structured == NULL) {
		res->oom = 1;
		return;
	}
	memcpy(res->structured, object_json, len);
	res->structured[len] = 0;
	res->structured_len = len;
}

void moat_result_structured(moat_result *res, const char *object_json) {
	moat_result_structured_n(res, object_json, object_json ? strlen(object_json) : 0);
}

void moat_result_error_n(moat_result *res, const char *message, size_t len) {
	result_reset_content(res);
	moat_result_structured_n(res, NULL, 0);
	moat_result_text_n(res, message, len);
	res->is_error = 1;
}

void moat_result_error(moat_result *res, const char *message) {
	moat_result_error_n(res, message, message ? strlen(message) : 0);
}

void moat_result_protocol_error(moat_result *res, int code, const char *message) {
	free(res->protocol_message);
	res->protocol_message = strdup(message ? message : "");
	if (res->protocol_message == NULL)
		res->oom = 1;
	res->protocol_code = code;
}

/* protocol_error writes {"error":{"code":C,"message":M}}. */
static void protocol_error(moat_json *w, int code, const char *msg, size_t len) {
	moat_json_object_begin(w);
	moat_json_key(w, "error");
	moat_json_object_begin(w);
	moat_json_key(w, "code");
	moat_json_int(w, code);
	moat_json_key(w, "message");
	moat_json_string_n(w, msg, len);
	moat_json_object_end(w);
	moat_json_object_end(w);
}

/* ---- Resources, prompts and completion ---------------------------------- */

struct resource {
	char *key; /* the URI, or the template */
	char *def; /* the MCP object, as registered */
	char *mime;
	int is_template;
	moat_resource_handler handler;
};

struct prompt {
	char *name;
	char *def;
	char *arguments; /* the "arguments" array of def, or NULL */
	moat_prompt_handler handler;
};

struct completer {
	char *ref, *name, *arg; /* "ref/prompt" or "ref/resource", its name or template, the argument */
	moat_completer fn;
};

static struct {
	struct resource *resources;
	size_t nresources, ntemplates;
	struct prompt *prompts;
	size_t nprompts;
	struct completer *completers;
	size_t ncompleters;
} served;

/* same is 1 when a[0..n) is the NUL-terminated b. */
static int same(const char *a, size_t n, const char *b) { return b != NULL && strlen(b) == n && memcmp(a, b, n) == 0; }

static int var_char(char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '%';
}

/* valid_template accepts what docs/ABI.md calls a level-1 template: literal
 * text and {var} expressions, never two of them side by side. */
static int valid_template(const char *t) {
	int after_var = 0;
	while (*t) {
		if (*t == '}')
			return 0;
		if (*t != '{') {
			after_var = 0;
			t++;
			continue;
		}
		if (after_var)
			return 0;
		const char *close = strchr(t, '}');
		if (close == NULL || close == t + 1 || t[1] == '.' || close[-1] == '.')
			return 0;
		for (const char *c = t + 1; c < close; c++)
			if (!var_char(*c))
				return 0;
		t = close + 1;
		after_var = 1;
	}
	return 1;
}

/* find_in returns the first occurrence of pat[0..m) in [p, end), or NULL. */
static const char *find_in(const char *p, const char *end, const char *pat, size_t m) {
	for (; (size_t)(end - p) >= m; p++)
		if (memcmp(p, pat, m) == 0)
			return p;
	return NULL;
}

/*
 * match_template reports whether uri[0..n) matches the level-1 template
 * tmpl, by the rule of docs/ABI.md; with name not NULL, it also points
 * *val at the value of that variable (left alone if there is none).
 */
static int match_template(const char *tmpl, const char *uri, size_t n, const char *name, const char **val, size_t *vlen) {
	const char *t = tmpl, *u = uri, *uend = uri + n, *var = NULL;
	size_t varlen = 0;
	for (;;) {
		const char *brace = strchr(t, '{');
		size_t litlen = brace ? (size_t)(brace - t) : strlen(t);
		if (var == NULL) {
			if ((size_t)(uend - u) < litlen || memcmp(u, t, litlen) != 0)
				return 0;
			u += litlen;
		} else {
			const char *vend = litlen == 0 ? uend : find_in(u, uend, t, litlen);
			if (vend == NULL || vend == u || memchr(u, '/', (size_t)(vend - u)) != NULL)
				return 0;
			if (name != NULL && strlen(name) == varlen && memcmp(name, var, varlen) == 0) {
				*val = u;
				*vlen = (size_t)(vend - u);
			}
			u = vend + litlen;
		}
		if (brace == NULL)
			return u == uend;
		const char *close = strchr(brace, '}');
		var = brace + 1;
		varlen = (size_t)(close - var);
		t = close + 1;
	}
}

/* add_resource registers def, whose key member ("uri" or "uriTemplate")
 * names it. */
static int add_resource(const char *def, const char *key_member, int is_template, moat_resource_handler handler) {
	if (def == NULL || handler == NULL)
		return -1;
	size_t dlen = strlen(def);
	char *key = moat_json_get_string(def, dlen, key_member, NULL);
	char *name = moat_json_get_string(def, dlen, "name", NULL);
	int ok = key != NULL && name != NULL && *key && *name && (!is_template || valid_template(key));
	free(name);
	for (size_t i = 0; ok && i < served.nresources; i++)
		ok = served.resources[i].is_template != is_template || strcmp(served.resources[i].key, key) != 0;
	struct resource *rs = ok ? realloc(served.resources, (served.nresources + 1) * sizeof *rs) : NULL;
	if (rs == NULL) {
		free(key);
		return -1;
	}
	served.resources = rs;
	int oom = 0;
	struct resource r = {key, dup_or_null(def, &oom), moat_json_get_string(def, dlen, "mimeType", NULL), is_template, handler};
	if (oom) {
		free(r.key), free(r.def), free(r.mime);
		return -1;
	}
	served.resources[served.nresources++] = r;
	served.ntemplates += is_template;
	return 0;
}

/* simple_def writes {KEY:key,"name":name,"description"?,"mimeType"?}. */
static char *simple_def(const char *key_member, const char *key, const char *name, const char *description, const char *mime_type) {
	if (key == NULL || name == NULL)
		return NULL;
	moat_json w = MOAT_JSON_INIT;
	moat_json_object_begin(&w);
	moat_json_key(&w, key_member);
	moat_json_string(&w, key);
	moat_json_key(&w, "name");
	moat_json_string(&w, name);
	if (description) {
		moat_json_key(&w, "description");
		moat_json_string(&w, description);
	}
	if (mime_type) {
		moat_json_key(&w, "mimeType");
		moat_json_string(&w, mime_type);
	}
	moat_json_object_end(&w);
	const char *text = moat_json_text(&w, NULL);
	char *out = text ? strdup(text) : NULL;
	moat_json_free(&w);
	return out;
}

int moat_resource_json(const char *resource_json, moat_resource_handler handler) {
	return add_resource(resource_json, "uri", 0, handler);
}

int moat_resource(const char *uri, const char *name, const char *description, const char *mime_type,
                  moat_resource_handler handler) {
	char *def = simple_def("uri", uri, name, description, mime_type);
	int r = def ? add_resource(def, "uri", 0, handler) : -1;
	free(def);
	return r;
}

int moat_resource_template_json(const char *template_json, moat_resource_handler handler) {
	return add_resource(template_json, "uriTemplate", 1, handler);
}

int moat_resource_template(const char *uri_template, const char *name, const char *description,
                           const char *mime_type, moat_resource_handler handler) {
	char *def = simple_def("uriTemplate", uri_template, name, description, mime_type);
	int r = def ? add_resource(def, "uriTemplate", 1, handler) : -1;
	free(def);
	return r;
}

int moat_prompt_json(const char *prompt_json, moat_prompt_handler handler) {
	if (prompt_json == NULL || handler == NULL)
		return -1;
	size_t dlen = strlen(prompt_json);
	char *name = moat_json_get_string(prompt_json, dlen, "name", NULL);
	int ok = name != NULL && *name;
	for (size_t i = 0; ok && i < served.nprompts; i++)
		ok = strcmp(served.prompts[i].name, name) != 0;
	struct prompt *ps = ok ? realloc(served.prompts, (served.nprompts + 1) * sizeof *ps) : NULL;
	if (ps == NULL) {
		free(name);
		return -1;
	}
	served.prompts = ps;
	int oom = 0;
	struct prompt p = {name, dup_or_null(prompt_json, &oom), moat_json_get_raw(prompt_json, dlen, "arguments", NULL), handler};
	if (oom) {
		free(p.name), free(p.def), free(p.arguments);
		return -1;
	}
	served.prompts[served.nprompts++] = p;
	return 0;
}

int moat_prompt(const char *name, const char *description, const char *arguments_json, moat_prompt_handler handler) {
	if (name == NULL)
		return -1;
	moat_json w = MOAT_JSON_INIT;
	moat_json_object_begin(&w);
	moat_json_key(&w, "name");
	moat_json_string(&w, name);
	if (description) {
		moat_json_key(&w, "description");
		moat_json_string(&w, description);
	}
	if (arguments_json) {
		moat_json_key(&w, "arguments");
		moat_json_raw(&w, arguments_json);
	}
	moat_json_object_end(&w);
	const char *def = moat_json_text(&w, NULL);
	int r = def ? moat_prompt_json(def, handler) : -1;
	moat_json_free(&w);
	return r;
}

static int add_completer(const char *ref, const char *name, const char *arg, moat_completer fn) {
	if (name == NULL || arg == NULL || fn == NULL)
		return -1;
	struct completer *cs = realloc(served.completers, (served.ncompleters + 1) * sizeof *cs);
	if (cs == NULL)
		return -1;
	served.completers = cs;
	int oom = 0;
	struct completer c = {(char *)ref, dup_or_null(name, &oom), dup_or_null(arg, &oom), fn};
	if (oom) {
		free(c.name), free(c.arg);
		return -1;
	}
	served.completers[served.ncompleters++] = c;
	return 0;
}

int moat_prompt_completion(const char *prompt, const char *argument, moat_completer completer) {
	return add_completer("ref/prompt", prompt, argument, completer);
}

int moat_resource_completion(const char *uri_template, const char *variable, moat_completer completer) {
	return add_completer("ref/resource", uri_template, variable, completer);
}

/* describe_served writes the description's resources, resourceTemplates
 * and prompts members, those that are not empty. */
static void describe_served(moat_json *w) {
	for (int tmpl = 0; tmpl <= 1; tmpl++) {
		if ((tmpl ? served.ntemplates : served.nresources - served.ntemplates) == 0)
			continue;
		moat_json_key(w, tmpl ? "resourceTemplates" : "resources");
		moat_json_array_begin(w);
		for (size_t i = 0; i < served.nresources; i++)
			if (served.resources[i].is_template == tmpl)
				moat_json_raw(w, served.resources[i].def);
		moat_json_array_end(w);
	}
	if (served.nprompts > 0) {
		moat_json_key(w, "prompts");
		moat_json_array_begin(w);
		for (size_t i = 0; i < served.nprompts; i++)
			moat_json_raw(w, served.prompts[i].def);
		moat_json_array_end(w);
	}
}

/* error_with writes a protocol error whose message is prefix, s[0..n) and
 * suffix. */
static void error_with(moat_json *w, int code, const char *prefix, const char *s, size_t n, const char *suffix) {
	moat_text msg = MOAT_TEXT_INIT;
	moat_text_add(&msg, prefix);
	moat_text_add_n(&msg, s, n);
	moat_text_add(&msg, suffix);
	if (msg.failed)
		protocol_error(w, MOAT_INTERNAL_ERROR, "out of memory", 13);
	else
		protocol_error(w, code, msg.data, msg.len);
	moat_text_free(&msg);
}

static void out_of_memory(moat_json *w, const char *method) {
	error_with(w, MOAT_INTERNAL_ERROR, method, "", 0, ": the plugin ran out of memory writing its result");
}

struct moat_read {
	const char *uri;
	size_t uri_len;
	const struct resource *res;
	moat_json contents; /* the contents array, open */
	int not_found;
	char *error;
};

const char *moat_read_uri(const moat_read *r, size_t *len) {
	if (len)
		*len = r->uri_len;
	return r->uri;
}

char *moat_read_var(const moat_read *r, const char *name, size_t *len) {
	const char *val = NULL;
	size_t n = 0;
	if (!r->res->is_template || name == NULL || !match_template(r->res->key, r->uri, r->uri_len, name, &val, &n) || val == NULL)
		return NULL;
	char *s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, val, n);
	s[n] = 0;
	if (len)
		*len = n;
	return s;
}

static void read_add(moat_read *r, const char *member, const char *s, size_t n) {
	moat_json *w = &r->contents;
	moat_json_object_begin(w);
	moat_json_key(w, "uri");
	moat_json_string_n(w, r->uri, r->uri_len);
	if (r->res->mime) {
		moat_json_key(w, "mimeType");
		moat_json_string(w, r->res->mime);
	}
	moat_json_key(w, member);
	moat_json_string_n(w, s ? s : "", s ? n : 0);
	moat_json_object_end(w);
}

void moat_read_text_n(moat_read *r, const char *text, size_t len) { read_add(r, "text", text, len); }
void moat_read_text(moat_read *r, const char *text) { read_add(r, "text", text, text ? strlen(text) : 0); }
void moat_read_blob(moat_read *r, const char *base64) { read_add(r, "blob", base64, base64 ? strlen(base64) : 0); }

void moat_read_contents(moat_read *r, const char *contents_json) {
	if (contents_json != NULL)
		moat_json_raw(&r->contents, contents_json);
}

void moat_read_not_found(moat_read *r) { r->not_found = 1; }

void moat_read_error(moat_read *r, const char *message) {
	free(r->error);
	r->error = strdup(message ? message : "");
}

static void serve_read(const char *params, size_t plen, moat_json *w) {
	size_t n = 0;
	char *uri = params ? moat_json_get_string(params, plen, "uri", &n) : NULL;
	if (uri == NULL) {
		const char *msg = "malformed resources/read request: no \"uri\" string in params";
		protocol_error(w, MOAT_INVALID_PARAMS, msg, strlen(msg));
		return;
	}
	const struct resource *res = NULL;
	for (size_t i = 0; res == NULL && i < served.nresources; i++)
		if (!served.resources[i].is_template && same(uri, n, served.resources[i].key))
			res = &served.resources[i];
	for (size_t i = 0; res == NULL && i < served.nresources; i++)
		if (served.resources[i].is_template && match_template(served.resources[i].key, uri, n, NULL, NULL, NULL))
			res = &served.resources[i];
	moat_read r;
	memset(&r, 0, sizeof r);
	r.uri = uri, r.uri_len = n, r.res = res;
	if (res != NULL) {
		moat_json_array_begin(&r.contents);
		res->handler(&r);
		moat_json_array_end(&r.contents);
	}
	size_t clen;
	const char *contents = res ? moat_json_text(&r.contents, &clen) : NULL;
	if (res == NULL || r.not_found) {
		error_with(w, MOAT_RESOURCE_NOT_FOUND, "resource not found: ", uri, n, "");
	} else if (r.error != NULL) {
		protocol_error(w, MOAT_INTERNAL_ERROR, r.error, strlen(r.error));
	} else if (contents == NULL) {
		out_of_memory(w, "resources/read");
	} else {
		moat_json_object_begin(w);
		moat_json_key(w, "contents");
		moat_json_raw_n(w, contents, clen);
		moat_json_object_end(w);
	}
	moat_json_free(&r.contents);
	free(r.error);
	free(uri);
}

struct moat_get {
	const struct prompt *prompt;
	const char *args;
	size_t args_len;
	moat_json messages; /* the messages array, open */
	char *description;
	char *error;
};

const char *moat_get_name(const moat_get *g) { return g->prompt->name; }

char *moat_get_arg(const moat_get *g, const char *name, size_t *len) {
	return moat_json_get_string(g->args, g->args_len, name, len);
}

void moat_get_message_content(moat_get *g, const char *role, const char *content_json) {
	moat_json *w = &g->messages;
	moat_json_object_begin(w);
	moat_json_key(w, "role");
	moat_json_string(w, role ? role : "user");
	moat_json_key(w, "content");
	moat_json_raw(w, content_json ? content_json : "{\"type\":\"text\",\"text\":\"\"}");
	moat_json_object_end(w);
}

void moat_get_message_n(moat_get *g, const char *role, const char *text, size_t len) {
	moat_json *w = &g->messages;
	moat_json_object_begin(w);
	moat_json_key(w, "role");
	moat_json_string(w, role ? role : "user");
	moat_json_key(w, "content");
	moat_json_object_begin(w);
	moat_json_key(w, "type");
	moat_json_string(w, "text");
	moat_json_key(w, "text");
	moat_json_string_n(w, text ? text : "", text ? len : 0);
	moat_json_object_end(w);
	moat_json_object_end(w);
}

void moat_get_message(moat_get *g, const char *role, const char *text) {
	moat_get_message_n(g, role, text, text ? strlen(text) : 0);
}

void moat_get_description(moat_get *g, const char *description) {
	free(g->description);
	g->description = description ? strdup(description) : NULL;
}

void moat_get_error(moat_get *g, const char *message) {
	free(g->error);
	g->error = strdup(message ? message : "");
}

/* missing_argument returns the first required argument of p that args
 * lacks, malloc'd, or NULL. */
static char *missing_argument(const struct prompt *p, const char *args, size_t args_len) {
	if (p->arguments == NULL)
		return NULL;
	const char *q = p->arguments, *end = q + strlen(q);
	q = skip_ws(q, end);
	if (q >= end || *q != '[')
		return NULL;
	q = skip_ws(q + 1, end);
	while (q < end && *q != ']') {
		const char *e = skip_value(q, end);
		if (e == NULL)
			return NULL;
		int required = 0;
		size_t n;
		char *name = moat_json_get_string(q, (size_t)(e - q), "name", &n);
		if (name != NULL && moat_json_get_bool(q, (size_t)(e - q), "required", &required) && required) {
			size_t vlen;
			char *v = moat_json_get_string(args, args_len, name, &vlen);
			if (v == NULL)
				return name;
			free(v);
		}
		free(name);
		q = skip_ws(e, end);
		if (q < end && *q == ',')
			q = skip_ws(q + 1, end);
	}
	return NULL;
}

static void serve_get(const char *params, size_t plen, moat_json *w) {
	size_t n = 0;
	char *name = params ? moat_json_get_string(params, plen, "name", &n) : NULL;
	if (name == NULL) {
		const char *msg = "malformed prompts/get request: no \"name\" string in params";
		protocol_error(w, MOAT_INVALID_PARAMS, msg, strlen(msg));
		return;
	}
	const struct prompt *p = NULL;
	for (size_t i = 0; p == NULL && i < served.nprompts; i++)
		if (same(name, n, served.prompts[i].name))
			p = &served.prompts[i];
	if (p == NULL) {
		error_with(w, MOAT_INVALID_PARAMS, "unknown prompt \"", name, n, "\"");
		free(name);
		return;
	}
	free(name);
	moat_get g;
	memset(&g, 0, sizeof g);
	g.prompt = p;
	char *args = moat_json_get_raw(params, plen, "arguments", &g.args_len);
	g.args = args ? args : "{}";
	if (args == NULL)
		g.args_len = 2;
	char *missing = missing_argument(p, g.args, g.args_len);
	if (missing != NULL) {
		moat_text msg = MOAT_TEXT_INIT;
		moat_text_add(&msg, "prompt \"");
		moat_text_add(&msg, p->name);
		moat_text_add(&msg, "\" needs the argument \"");
		error_with(w, MOAT_INVALID_PARAMS, msg.data ? msg.data : "", missing, strlen(missing), "\"");
		moat_text_free(&msg);
		free(missing);
		free(args);
		return;
	}
	moat_json_array_begin(&g.messages);
	p->handler(&g);
	moat_json_array_end(&g.messages);
	size_t mlen;
	const char *messages = moat_json_text(&g.messages, &mlen);
	if (g.error != NULL) {
		protocol_error(w, MOAT_INTERNAL_ERROR, g.error, strlen(g.error));
	} else if (messages == NULL) {
		out_of_memory(w, "prompts/get");
	} else {
		moat_json_object_begin(w);
		if (g.description) {
			moat_json_key(w, "description");
			moat_json_string(w, g.description);
		}
		moat_json_key(w, "messages");
		moat_json_raw_n(w, messages, mlen);
		moat_json_object_end(w);
	}
	moat_json_free(&g.messages);
	free(g.description);
	free(g.error);
	free(args);
}

/* The most values one completion sends, as MCP allows. */
#define MAX_COMPLETION_VALUES 100

struct moat_completion {
	const char *value;
	size_t value_len;
	const char *context;
	size_t context_len;
	moat_json values; /* the values array, open */
	size_t count;
};

const char *moat_completion_value(const moat_completion *c, size_t *len) {
	if (len)
		*len = c->value_len;
	return c->value;
}

char *moat_completion_context(const moat_completion *c, const char *name, size_t *len) {
	return c->context ? moat_json_get_string(c->context, c->context_len, name, len) : NULL;
}

void moat_completion_add_n(moat_completion *c, const char *value, size_t len) {
	if (c->count++ < MAX_COMPLETION_VALUES)
		moat_json_string_n(&c->values, value ? value : "", value ? len : 0);
}

void moat_completion_add(moat_completion *c, const char *value) {
	moat_completion_add_n(c, value, value ? strlen(value) : 0);
}

static void serve_complete(const char *params, size_t plen, moat_json *w) {
	size_t rlen = 0, alen = 0, tlen = 0, nlen = 0, anlen = 0;
	char *ref = params ? moat_json_get_raw(params, plen, "ref", &rlen) : NULL;
	char *arg = params ? moat_json_get_raw(params, plen, "argument", &alen) : NULL;
	char *type = ref ? moat_json_get_string(ref, rlen, "type", &tlen) : NULL;
	char *argname = arg ? moat_json_get_string(arg, alen, "name", &anlen) : NULL;
	moat_completion c;
	memset(&c, 0, sizeof c);
	char *value = arg ? moat_json_get_string(arg, alen, "value", &c.value_len) : NULL;
	if (type == NULL || argname == NULL || value == NULL) {
		const char *msg = "malformed completion/complete request: params need \"ref\" with a \"type\", and \"argument\" with a \"name\" and a \"value\"";
		protocol_error(w, MOAT_INVALID_PARAMS, msg, strlen(msg));
		free(ref), free(arg), free(type), free(argname), free(value);
		return;
	}
	c.value = value;
	char *name = moat_json_get_string(ref, rlen, same(type, tlen, "ref/resource") ? "uri" : "name", &nlen);
	const struct completer *found = NULL;
	for (size_t i = 0; name != NULL && found == NULL && i < served.ncompleters; i++) {
		const struct completer *k = &served.completers[i];
		if (same(type, tlen, k->ref) && same(name, nlen, k->name) && same(argname, anlen, k->arg))
			found = k;
	}
	char *context = moat_json_get_raw(params, plen, "context", NULL);
	char *cargs = context ? moat_json_get_raw(context, strlen(context), "arguments", &c.context_len) : NULL;
	c.context = cargs;
	moat_json_array_begin(&c.values);
	if (found != NULL)
		found->fn(&c);
	moat_json_array_end(&c.values);
	size_t vlen;
	const char *values = moat_json_text(&c.values, &vlen);
	if (values == NULL) {
		out_of_memory(w, "completion/complete");
	} else {
		moat_json_object_begin(w);
		moat_json_key(w, "completion");
		moat_json_object_begin(w);
		moat_json_key(w, "values");
		moat_json_raw_n(w, values, vlen);
		if (c.count > MAX_COMPLETION_VALUES) {
			moat_json_key(w, "total");
			moat_json_int(w, (long long)c.count);
			moat_json_key(w, "hasMore");
			moat_json_bool(w, 1);
		}
		moat_json_object_end(w);
		moat_json_object_end(w);
	}
	moat_json_free(&c.values);
	free(ref), free(arg), free(type), free(argname), free(value), free(name), free(context), free(cargs);
}

/* serve answers one request; every response is written to w. */
static void serve(const char *req, size_t len, moat_json *w) {
	size_t n;
	char *method = moat_json_get_string(req, len, "method", &n);
	if (method == NULL) {
		const char *msg = "malformed request: no \"method\" string in a JSON object";
		protocol_error(w, MOAT_INVALID_PARAMS, msg, strlen(msg));
		return;
	}
	/* A method is served when something it reads is registered; otherwise
	 * it is unknown here, as it is to a plugin built before it. */
	int serves_read = served.nresources > 0, serves_get = served.nprompts > 0;
	int serves_complete = served.nprompts + served.ntemplates > 0;
	if ((serves_read && same(method, n, "resources/read")) || (serves_get && same(method, n, "prompts/get")) ||
	    (serves_complete && same(method, n, "completion/complete"))) {
		size_t plen = 0;
		char *params = moat_json_get_raw(req, len, "params", &plen);
		if (method[0] == 'r')
			serve_read(params, plen, w);
		else if (method[0] == 'p')
			serve_get(params, plen, w);
		else
			serve_complete(params, plen, w);
		free(params);
		free(method);
		return;
	}
	if (strcmp(method, "tools/call") != 0 || n != strlen(method)) {
		moat_text msg = MOAT_TEXT_INIT;
		moat_text_add(&msg, "method \"");
		moat_text_add_n(&msg, method, n);
		moat_text_add(&msg, "\" is not supported by this plugin");
		protocol_error(w, MOAT_METHOD_NOT_FOUND, msg.data, msg.len);
		moat_text_free(&msg);
		free(method);
		return;
	}
	free(method);

	size_t plen = 0;
	char *params = moat_json_get_raw(req, len, "params", &plen);
	size_t tlen = 0;
	char *tool = params ? moat_json_get_string(params, plen, "name", &tlen) : NULL;
	if (tool == NULL) {
		const char *msg = "malformed tools/call request: no \"name\" string in params";
		protocol_error(w, MOAT_INVALID_PARAMS, msg, strlen(msg));
		free(params);
		return;
	}
	const struct tool *t = NULL;
	for (size_t i = 0; i < plugin.ntools; i++)
		if (strlen(plugin.tools[i].name) == tlen && memcmp(plugin.tools[i].name, tool, tlen) == 0)
			t = &plugin.tools[i];
	if (t == NULL) {
		moat_text msg = MOAT_TEXT_INIT;
		moat_text_add(&msg, "unknown tool \"");
		moat_text_add_n(&msg, tool, tlen);
		moat_text_add(&msg, "\"");
		protocol_error(w, MOAT_INVALID_PARAMS, msg.data, msg.len);
		moat_text_free(&msg);
		free(tool);
		free(params);
		return;
	}

	moat_request r = {tool, NULL, 0, 0};
	r.arguments = moat_json_get_raw(params, plen, "arguments", &r.arguments_len);
	if (r.arguments == NULL || strcmp(r.arguments, "null") == 0) {
		free(r.arguments);
		r.arguments = strdup("{}");
		r.arguments_len = 2;
	}
	char *meta = moat_json_get_raw(params, plen, "_meta", NULL);
	if (meta != NULL) {
		char *token = moat_json_get_raw(meta, strlen(meta), "progressToken", NULL);
		r.wants_progress = token != NULL && strcmp(token, "null") != 0;
		free(token);
		free(meta);
	}
	free(params);

	moat_result res;
	memset(&res, 0, sizeof res);
	moat_json_array_begin(&res.content);
	if (r.arguments != NULL)
		t->handler(&r, &res);
	else
		res.oom = 1;

	if (res.protocol_code != 0 && !res.oom) {
		protocol_error(w, res.protocol_code, res.protocol_message, strlen(res.protocol_message));
	} else {
		moat_json_array_end(&res.content);
		size_t clen;
		const char *content = moat_json_text(&res.content, &clen);
		if (content == NULL || res.oom) {
			moat_text msg = MOAT_TEXT_INIT;
			moat_text_add(&msg, "tool \"");
			moat_text_add(&msg, t->name);
			moat_text_add(&msg, "\": the plugin ran out of memory writing its result");
			protocol_error(w, MOAT_INTERNAL_ERROR, msg.data, msg.len);
			moat_text_free(&msg);
		} else {
			moat_json_object_begin(w);
			moat_json_key(w, "content");
			moat_json_raw_n(w, content, clen);
			if (res.structured != NULL && !res.is_error) {
				moat_json_key(w, "structuredContent");
				moat_json_raw_n(w, res.structured, res.structured_len);
			}
			if (res.is_error) {
				moat_json_key(w, "isError");
				moat_json_bool(w, 1);
			}
			moat_json_object_end(w);
		}
	}
	moat_json_free(&res.content);
	free(res.structured);
	free(res.protocol_message);
	free(r.arguments);
	free(tool);
}

/* ---- Exports ------------------------------------------------------------ */

/* The host may read a returned response until it next calls into the
 * instance, and fill a moat_alloc buffer until the moat_call it is passed to
 * returns: both are kept here until then. */
static moat_json response;
static void **requests;
static size_t nrequests, caprequests;

static int64_t pack(const char *ptr, size_t len) {
	return (int64_t)(((uint64_t)(uintptr_t)ptr << 32) | (uint64_t)(uint32_t)len);
}

/* respond packs the response, or, when it could not be written for want of
 * memory, a fixed protocol error. */
static int64_t respond(void) {
	static const char oom[] = "{\"error\":{\"code\":-32603,\"message\":\"the plugin ran out of memory writing its response\"}}";
	size_t len;
	const char *text = moat_json_text(&response, &len);
	if (text == NULL)
		return pack(oom, sizeof oom - 1);
	return pack(text, len);
}

MOAT_EXPORT("moat_abi_version") int32_t moat__abi_version(void) { return MOAT_ABI_VERSION; }

MOAT_EXPORT("moat_alloc") int32_t moat__alloc(int32_t len) {
	if (len < 0)
		return 0;
	if (nrequests == caprequests) {
		size_t cap = caprequests ? caprequests * 2 : 4;
		void **r = realloc(requests, cap * sizeof *r);
		if (r == NULL)
			return 0;
		requests = r;
		caprequests = cap;
	}
	void *p = malloc(len ? (size_t)len : 1); /* never 0 for success */
	if (p == NULL)
		return 0;
	requests[nrequests++] = p;
	return (int32_t)(uintptr_t)p;
}

MOAT_EXPORT("moat_describe") int64_t moat__describe(void) {
	moat_json_free(&response);
	describe(&response);
	return respond();
}

MOAT_EXPORT("moat_call") int64_t moat__call(int32_t ptr, int32_t len) {
	moat_json_free(&response);
	const char *req = (const char *)(uintptr_t)(uint32_t)ptr;
	int known = 0;
	for (size_t i = 0; i < nrequests; i++)
		known |= requests[i] == req;
	if (!known || len < 0) {
		const char *msg = "moat_call: the request is not in a buffer from moat_alloc";
		protocol_error(&response, MOAT_INTERNAL_ERROR, msg, strlen(msg));
	} else {
		serve(req, (size_t)len, &response);
	}
	for (size_t i = 0; i < nrequests; i++)
		free(requests[i]); /* the host may use none of them once this returns */
	nrequests = 0;
	return respond();
}

/* ---- Host function wrappers --------------------------------------------- */

void moat_log_n(int level, const char *msg, size_t len) { moat__log(level, msg ? msg : "", msg ? (uint32_t)len : 0); }

void moat_log(int level, const char *msg) { moat_log_n(level, msg, msg ? strlen(msg) : 0); }

void moat_progress(double progress, double total, const char *msg) {
	moat__progress(progress, total, msg ? msg : "", msg ? (uint32_t)strlen(msg) : 0);
}

int moat_cancelled(void) { return moat__cancelled() != 0; }

/* The longest error message read after a failed host call; the rest is cut. */
#define MAX_ERROR_MESSAGE 4096

/* reply collects what a capability call staged: r >= 0 bytes of response,
 * or, for r < 0, the message of error -r. */
static moat_reply reply(int64_t r) {
	moat_reply out = {MOAT_OK, NULL, 0};
	size_t size = r < 0 ? MAX_ERROR_MESSAGE : (size_t)r;
	if (r > (int64_t)(SIZE_MAX - 1)) {
		out.err = MOAT_ETOOBIG;
		return out;
	}
	out.data = malloc(size + 1);
	if (out.data == NULL) {
		out.err = MOAT_ETOOBIG;
		return out;
	}
	int32_t got = size > 0 ? moat__read_result(out.data, (uint32_t)size) : 0;
	if (got < 0)
		got = 0;
	out.len = (size_t)got;
	out.data[out.len] = 0;
	if (r < 0) {
		out.err = (int)-r;
	} else if ((int64_t)got != r) {
		moat_text m = MOAT_TEXT_INIT;
		moat_text_add(&m, "read_result copied ");
		moat_text_add_int(&m, got);
		moat_text_add(&m, " of ");
		moat_text_add_int(&m, r);
		moat_text_add(&m, " bytes");
		free(out.data);
		out.err = MOAT_EIO;
		out.data = m.data;
		out.len = m.len;
	}
	return out;
}

void moat_reply_free(moat_reply *r) {
	free(r->data);
	r->data = NULL;
	r->len = 0;
}

const char *moat_errno_name(int code) {
	static const char *const names[] = {"OK", "EPERM", "EINVAL", "ETIMEDOUT", "EIO",
	                                    "ETOOBIG", "ENOTFOUND", "ECANCELED", "EUNSUPPORTED", "ERATELIMIT"};
	if (code >= 0 && code < (int)(sizeof names / sizeof names[0]))
		return names[code];
	return "EUNKNOWN";
}

#define STR(s) (s ? s : ""), (s ? (uint32_t)strlen(s) : 0)

moat_reply moat_http_request(const char *request_json) { return reply(moat__http_request(STR(request_json))); }
moat_reply moat_kv_get(const char *key) { return reply(moat__kv_get(STR(key))); }
moat_reply moat_kv_set(const char *key, const void *value, size_t len) {
	return reply(moat__kv_set(STR(key), value ? value : "", value ? (uint32_t)len : 0));
}
moat_reply moat_kv_delete(const char *key) { return reply(moat__kv_delete(STR(key))); }
moat_reply moat_kv_list(const char *prefix) { return reply(moat__kv_list(STR(prefix))); }
moat_reply moat_config_get(const char *key) { return reply(moat__config_get(STR(key))); }
moat_reply moat_sample(const char *params_json) { return reply(moat__sample(STR(params_json))); }
moat_reply moat_elicit(const char *params_json) { return reply(moat__elicit(STR(params_json))); }
moat_reply moat_notify_resource_updated(const char *uri) { return reply(moat__notify_resource_updated(STR(uri))); }
