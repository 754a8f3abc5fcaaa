/*
 * moat.h: the C SDK for moat plugins, ABI v1 (docs/ABI.md).
 *
 * A plugin is a WASI reactor: a library the host calls into, never a program
 * with a main. This SDK (moat.h and moat.c) provides the module's exports
 * (moat_abi_version, moat_alloc, moat_describe, moat_call), reads tools/call
 * requests and hands their arguments to your handlers, writes results and
 * protocol errors as JSON, and wraps every host function of import module
 * "moat". You never pack a pointer, call read_result or parse a request.
 *
 * Register the plugin and its tools in a constructor, which the reactor's
 * _initialize runs before the host asks for anything:
 *
 *     #include "moat.h"
 *
 *     static void greet(const moat_request *req, moat_result *res) {
 *         size_t n;
 *         char *name = moat_arg_string(req, "name", &n);
 *         if (name == NULL || n == 0) {
 *             moat_result_error(res, "name is empty");
 *         } else {
 *             moat_text t = MOAT_TEXT_INIT;
 *             moat_text_add(&t, "Hello, ");
 *             moat_text_add_n(&t, name, n);
 *             moat_result_text_n(res, t.data, t.len);
 *             moat_text_free(&t);
 *         }
 *         free(name);
 *     }
 *
 *     __attribute__((constructor)) static void setup(void) {
 *         moat_plugin("greeter", "1.0.0", "Greets people.");
 *         moat_tool("greet", "Greets someone by name.",
 *                   "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}",
 *                   NULL, "{\"readOnlyHint\":true}", greet);
 *     }
 *
 * Build with clang for wasm32-wasi as a reactor, compiling moat.c beside
 * your code:
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 \
 *         -I sdk/c -o plugin.wasm plugin.c sdk/c/moat.c
 *
 * Memory: every char * the SDK hands you (arguments, host replies) is
 * malloc'd and yours to free; every string you pass in is copied or used
 * before the function returns, unless said otherwise. Strings carry a length
 * where they may hold NUL bytes (JSON "\u0000" decodes to one).
 *
 * Only the host functions your code can reach are linked, so the module's
 * import section says exactly what the plugin can do.
 *
 * Resources, resource templates and prompts are registered like tools
 * (moat_resource, moat_resource_template, moat_prompt), with completers for
 * their arguments (moat_prompt_completion, moat_resource_completion); see
 * "Resources, prompts and completion" below. The SDK answers
 * resources/read, prompts/get and completion/complete (docs/ABI.md), which
 * moat serves to MCP clients: resources and templates under their own
 * URIs, prompts prefixed like tools.
 */
#ifndef MOAT_H
#define MOAT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this SDK speaks; moat_abi_version returns it. */
#define MOAT_ABI_VERSION 1

/* Levels of moat_log. */
enum {
	MOAT_LOG_DEBUG = 0,
	MOAT_LOG_INFO = 1,
	MOAT_LOG_WARN = 2,
	MOAT_LOG_ERROR = 3
};

/* Error codes of the host functions (moat_reply.err), as in the ABI. */
enum {
	MOAT_OK = 0,
	MOAT_EPERM = 1,        /* the capability is not granted */
	MOAT_EINVAL = 2,       /* a bad argument: pointer, length, JSON */
	MOAT_ETIMEDOUT = 3,    /* the operation ran out of time */
	MOAT_EIO = 4,          /* the upstream failed */
	MOAT_ETOOBIG = 5,      /* a payload is over its size cap */
	MOAT_ENOTFOUND = 6,    /* no such key or value */
	MOAT_ECANCELED = 7,    /* the call was cancelled */
	MOAT_EUNSUPPORTED = 8, /* the client lacks the capability */
	MOAT_ERATELIMIT = 9    /* a rate limit refused the operation */
};

/* JSON-RPC codes for moat_result_protocol_error. */
enum {
	MOAT_INVALID_PARAMS = -32602,
	MOAT_METHOD_NOT_FOUND = -32601,
	MOAT_INTERNAL_ERROR = -32603,
	MOAT_RESOURCE_NOT_FOUND = -32002
};

/* ---- Text and JSON building ------------------------------------------- */

/*
 * moat_text is a growable byte buffer. Start from MOAT_TEXT_INIT; data is
 * NUL-terminated once anything was added (NULL before). If memory runs out,
 * failed is set and later additions are ignored. Free with moat_text_free.
 */
typedef struct moat_text {
	char *data;
	size_t len;
	size_t cap;
	int failed;
} moat_text;

#define MOAT_TEXT_INIT {0, 0, 0, 0}

void moat_text_add(moat_text *t, const char *s);
void moat_text_add_n(moat_text *t, const char *s, size_t n);
void moat_text_add_int(moat_text *t, long long v);
void moat_text_free(moat_text *t);

/*
 * moat_json writes one JSON value, putting commas and colons where they
 * belong. Start from MOAT_JSON_INIT, call the functions below in document
 * order (moat_json_key before each member of an object), then take the text
 * with moat_json_text. Strings are escaped as JSON requires; bytes that are
 * not valid UTF-8 become U+FFFD. Nesting deeper than MOAT_JSON_MAX_DEPTH
 * fails the writer. The fields are the SDK's; do not touch them.
 */
#define MOAT_JSON_MAX_DEPTH 64

typedef struct moat_json {
	moat_text out;
	unsigned depth;
	int after_key;
	int failed;
	unsigned char filled[MOAT_JSON_MAX_DEPTH + 1];
} moat_json;

#define MOAT_JSON_INIT {MOAT_TEXT_INIT, 0, 0, 0, {0}}

void moat_json_object_begin(moat_json *w);
void moat_json_object_end(moat_json *w);
void moat_json_array_begin(moat_json *w);
void moat_json_array_end(moat_json *w);
void moat_json_key(moat_json *w, const char *key);
void moat_json_string(moat_json *w, const char *s); /* NULL writes null */
void moat_json_string_n(moat_json *w, const char *s, size_t n);
void moat_json_int(moat_json *w, long long v);
void moat_json_number(moat_json *w, double v); /* NaN and infinities write null */
void moat_json_bool(moat_json *w, int v);
void moat_json_null(moat_json *w);
/* moat_json_raw inserts a complete, valid JSON value as it is. */
void moat_json_raw(moat_json *w, const char *json);
void moat_json_raw_n(moat_json *w, const char *json, size_t n);
/* moat_json_text returns the NUL-terminated JSON (and its length, if len is
 * not NULL), or NULL if memory ran out or an object or array is still open.
 * The text belongs to the writer: it lives until moat_json_free. */
const char *moat_json_text(moat_json *w, size_t *len);
void moat_json_free(moat_json *w);

/* ---- JSON reading ----------------------------------------------------- */

/*
 * Read one member of the JSON object in json[0..len) by key (the last one,
 * if the key repeats). Each returns 0, or NULL, when the object has no such
 * member, the member has another type, or the JSON is malformed.
 */

/* moat_json_get_string returns the member's string value, unescaped
 * (\uXXXX and surrogate pairs included), malloc'd and NUL-terminated, and
 * its length in bytes in *out_len if out_len is not NULL. */
char *moat_json_get_string(const char *json, size_t len, const char *key, size_t *out_len);
/* moat_json_get_number stores a number member in *out and returns 1. */
int moat_json_get_number(const char *json, size_t len, const char *key, double *out);
/* moat_json_get_int stores a number member that is a whole number within
 * the range of long long in *out and returns 1. */
int moat_json_get_int(const char *json, size_t len, const char *key, long long *out);
/* moat_json_get_bool stores 1 for true or 0 for false in *out and returns 1. */
int moat_json_get_bool(const char *json, size_t len, const char *key, int *out);
/* moat_json_get_raw returns the member's value of any type as a malloc'd,
 * NUL-terminated copy of its JSON text, its length in *out_len. */
char *moat_json_get_raw(const char *json, size_t len, const char *key, size_t *out_len);

/* ---- The plugin and its tools ----------------------------------------- */

/* moat_request is the tools/call being served; moat_result the result a
 * handler builds. Both belong to the SDK and live for the handler's call. */
typedef struct moat_request moat_request;
typedef struct moat_result moat_result;

/* A tool handler. It reads the arguments from req and fills res; a result
 * left empty is a success with no content. */
typedef void (*moat_handler)(const moat_request *req, moat_result *res);

/* moat_plugin names the plugin in its description. version and description
 * may be NULL. The strings are copied. */
void moat_plugin(const char *name, const char *version, const char *description);

/* moat_plugin_capabilities sets the description's "capabilities" object
 * (what the plugin asks the operator for), as JSON, for example
 * "{\"kv\":true,\"config\":[\"API_KEY\"]}". Copied. */
void moat_plugin_capabilities(const char *capabilities_json);

/*
 * moat_tool registers a tool. input_schema_json is required (an object
 * schema, "{\"type\":\"object\"}" for no arguments); output_schema_json and
 * annotations_json may be NULL. description may be NULL. The strings are
 * copied. Returns 0, or -1 if memory ran out or name, input_schema_json or
 * handler is NULL. The host checks the rest when it loads the plugin.
 */
int moat_tool(const char *name, const char *description, const char *input_schema_json,
              const char *output_schema_json, const char *annotations_json, moat_handler handler);

/* moat_request_tool is the tool's own name (without the server's prefix). */
const char *moat_request_tool(const moat_request *req);

/* moat_request_arguments is the arguments object as JSON, NUL-terminated,
 * its length in *len if len is not NULL; "{}" when the client sent none. It
 * has been validated against the tool's inputSchema. */
const char *moat_request_arguments(const moat_request *req, size_t *len);

/* moat_request_wants_progress is 1 when the client sent a progress token. */
int moat_request_wants_progress(const moat_request *req);

/* The moat_json_get_* functions, applied to the request's arguments. */
char *moat_arg_string(const moat_request *req, const char *key, size_t *out_len);
int moat_arg_number(const moat_request *req, const char *key, double *out);
int moat_arg_int(const moat_request *req, const char *key, long long *out);
int moat_arg_bool(const moat_request *req, const char *key, int *out);
char *moat_arg_raw(const moat_request *req, const char *key, size_t *out_len);

/* moat_result_text appends a text content block. */
void moat_result_text(moat_result *res, const char *text);
void moat_result_text_n(moat_result *res, const char *text, size_t len);

/* moat_result_content appends a content block of any type, given as a JSON
 * object such as {"type":"image","data":"...","mimeType":"image/png"}. */
void moat_result_content(moat_result *res, const char *block_json);

/* moat_result_structured sets structuredContent, a JSON object. A tool with
 * an outputSchema must set it on success, matching the schema. */
void moat_result_structured(moat_result *res, const char *object_json);
void moat_result_structured_n(moat_result *res, const char *object_json, size_t len);

/* moat_result_error makes the result a tool error (isError) whose only
 * content is message, for the model to act on; what the handler added
 * before is dropped. This is how a tool fails in the ordinary way. */
void moat_result_error(moat_result *res, const char *message);
void moat_result_error_n(moat_result *res, const char *message, size_t len);

/* moat_result_protocol_error answers with a JSON-RPC error instead of a
 * result: use it for requests the tool cannot read at all, with one of
 * MOAT_INVALID_PARAMS, MOAT_METHOD_NOT_FOUND or MOAT_INTERNAL_ERROR. */
void moat_result_protocol_error(moat_result *res, int code, const char *message);

/* ---- Resources, prompts and completion --------------------------------- */

/*
 * Resources. A resource is served at a fixed URI; a resource template at
 * every URI that its level-1 URI template ("hello://greeting/{name}")
 * matches, by the rule of docs/ABI.md: each {var} takes one or more
 * characters without '/', as the URI spells them. A resources/read goes to
 * the resource with that URI, else to the first template (in the order
 * registered) that matches it, else is answered "resource not found".
 *
 *     static void greeting(moat_read *r) {
 *         size_t n;
 *         char *name = moat_read_var(r, "name", &n);
 *         moat_text t = MOAT_TEXT_INIT;
 *         moat_text_add(&t, "Hello, ");
 *         moat_text_add_n(&t, name, n);
 *         moat_read_text_n(r, t.data, t.len);
 *         moat_text_free(&t);
 *         free(name);
 *     }
 *     ...
 *     moat_resource_template("hello://greeting/{name}", "personal-greeting",
 *                            "A greeting.", "text/plain", greeting);
 */
typedef struct moat_read moat_read;
typedef void (*moat_resource_handler)(moat_read *r);

/* moat_resource registers a resource at uri; description and mime_type
 * may be NULL. moat_resource_json takes the whole MCP Resource object
 * ({"uri","name","title","description","mimeType","size","annotations"}),
 * which must hold "uri" and "name". Both copy their strings and return 0,
 * or -1 for a missing argument, a URI registered twice or no memory. */
int moat_resource(const char *uri, const char *name, const char *description, const char *mime_type,
                  moat_resource_handler handler);
int moat_resource_json(const char *resource_json, moat_resource_handler handler);

/* moat_resource_template registers a template; moat_resource_template_json
 * takes the MCP ResourceTemplate object ({"uriTemplate","name",...}). -1
 * also for a template that is not level 1 ({+x}, {a,b}, two variables with
 * nothing between them). */
int moat_resource_template(const char *uri_template, const char *name, const char *description,
                           const char *mime_type, moat_resource_handler handler);
int moat_resource_template_json(const char *template_json, moat_resource_handler handler);

/* moat_read_uri is the URI being read (its length in *len if not NULL). */
const char *moat_read_uri(const moat_read *r, size_t *len);
/* moat_read_var is the value of a template's variable, malloc'd, or NULL
 * for a static resource or a name the template does not have. */
char *moat_read_var(const moat_read *r, const char *name, size_t *len);
/* moat_read_text and moat_read_blob (base64) add contents for the URI read,
 * with the mimeType of the definition; moat_read_contents adds a whole
 * MCP contents object ({"uri","mimeType","text" or "blob"}). A handler
 * that adds nothing answers with empty contents. */
void moat_read_text(moat_read *r, const char *text);
void moat_read_text_n(moat_read *r, const char *text, size_t len);
void moat_read_blob(moat_read *r, const char *base64);
void moat_read_contents(moat_read *r, const char *contents_json);
/* moat_read_not_found answers "resource not found" (-32002), for a URI the
 * template matches but that names nothing; moat_read_error answers an
 * internal error (-32603) with message. */
void moat_read_not_found(moat_read *r);
void moat_read_error(moat_read *r, const char *message);

/*
 * Prompts. arguments_json is the MCP array of arguments,
 * [{"name":"name","description":"Who to greet.","required":true}], or
 * NULL. A prompts/get that lacks a required argument is refused before the
 * handler runs, as is an unknown prompt.
 */
typedef struct moat_get moat_get;
typedef void (*moat_prompt_handler)(moat_get *g);

/* moat_prompt registers a prompt under its own name (the host adds its
 * prefix); moat_prompt_json takes the whole MCP Prompt object. 0, or -1. */
int moat_prompt(const char *name, const char *description, const char *arguments_json, moat_prompt_handler handler);
int moat_prompt_json(const char *prompt_json, moat_prompt_handler handler);

/* moat_get_name is the prompt's name. */
const char *moat_get_name(const moat_get *g);
/* moat_get_arg is an argument's value, malloc'd, or NULL if not given. */
char *moat_get_arg(const moat_get *g, const char *name, size_t *len);
/* moat_get_message adds a message with one text block; role is "user" or
 * "assistant". moat_get_message_content adds one with any content block,
 * given as JSON. moat_get_description sets the result's description. */
void moat_get_message(moat_get *g, const char *role, const char *text);
void moat_get_message_n(moat_get *g, const char *role, const char *text, size_t len);
void moat_get_message_content(moat_get *g, const char *role, const char *content_json);
void moat_get_description(moat_get *g, const char *description);
/* moat_get_error answers an internal error (-32603) with message. */
void moat_get_error(moat_get *g, const char *message);

/*
 * Completion: a completer suggests values for one argument of a prompt, or
 * one variable of a resource template, from what the user typed so far.
 * Arguments without a completer are answered with no suggestion.
 */
typedef struct moat_completion moat_completion;
typedef void (*moat_completer)(moat_completion *c);

/* Register a completer for a prompt's argument, or a template's variable
 * (uri_template as registered). 0, or -1 for no memory or a NULL. */
int moat_prompt_completion(const char *prompt, const char *argument, moat_completer completer);
int moat_resource_completion(const char *uri_template, const char *variable, moat_completer completer);

/* moat_completion_value is what the user typed (its length in *len). */
const char *moat_completion_value(const moat_completion *c, size_t *len);
/* moat_completion_context is the value already chosen for another
 * argument, malloc'd, or NULL. */
char *moat_completion_context(const moat_completion *c, const char *name, size_t *len);
/* moat_completion_add suggests a value. Past 100 (MCP's limit), values
 * are counted but not sent, and the answer says there are more. */
void moat_completion_add(moat_completion *c, const char *value);
void moat_completion_add_n(moat_completion *c, const char *value, size_t len);

/* ---- Host functions (import module "moat") ---------------------------- */

/* moat_log sends a message to the host's log, and to the client if it asked
 * for messages of that level. */
void moat_log(int level, const char *msg);
void moat_log_n(int level, const char *msg, size_t len);

/* moat_progress reports progress on the current call (total 0 if unknown),
 * with a message or NULL. */
void moat_progress(double progress, double total, const char *msg);

/* moat_cancelled is 1 once the call is cancelled or past its deadline. */
int moat_cancelled(void);

/*
 * The reply of a capability call. On success err is MOAT_OK and data holds
 * the host's response (len bytes, NUL-terminated). On failure err is the
 * error code (MOAT_EPERM, MOAT_ENOTFOUND, ...) and data holds the host's
 * message. data is malloc'd; it is NULL only if memory ran out, in which
 * case err is MOAT_ETOOBIG. Release with moat_reply_free.
 */
typedef struct moat_reply {
	int err;
	char *data;
	size_t len;
} moat_reply;

void moat_reply_free(moat_reply *r);

/* moat_errno_name is "EPERM", "ENOTFOUND", ... for an error code. */
const char *moat_errno_name(int code);

/* HTTP to a granted host: {"method":"GET","url":"https://...","headers":{...},
 * "body":"..."} in, {"status":200,"headers":{...},"body":"..."} out. */
moat_reply moat_http_request(const char *request_json);
/* The value of key; err MOAT_ENOTFOUND if there is none. */
moat_reply moat_kv_get(const char *key);
/* Store value (len bytes) under key; durable once err is MOAT_OK. */
moat_reply moat_kv_set(const char *key, const void *value, size_t len);
moat_reply moat_kv_delete(const char *key);
/* A JSON array of the keys that start with prefix. */
moat_reply moat_kv_list(const char *prefix);
/* A value the operator set for this plugin; err MOAT_ENOTFOUND if none. */
moat_reply moat_config_get(const char *key);
/* sampling/createMessage params in, the client's result out (JSON).
 * Under MCP 2026-07-28 the call ends at the first moat_sample or
 * moat_elicit without an answer yet, and runs again from the start once the
 * client answered: whatever the tool did before it happens again, so ask
 * first and act after, in the same order on every run (docs/ABI.md). */
moat_reply moat_sample(const char *params_json);
/* elicitation/create params in, the client's result out (JSON). */
moat_reply moat_elicit(const char *params_json);
/* Tell the host that the resource at uri (one of the plugin's, or one a
 * template matches) changed, so that it notifies the subscribed clients.
 * Only a plugin that calls it imports moat.notify_resource_updated. */
moat_reply moat_notify_resource_updated(const char *uri);

#ifdef __cplusplus
}
#endif

#endif /* MOAT_H */
