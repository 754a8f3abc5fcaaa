/*
 * sdktest.c: a plugin that exercises the C SDK for sdk_test.go. Its tools
 * echo what the SDK decoded, so the test can compare it with what it sent.
 */
#include <stdlib.h>

#include "moat.h"

/* echo answers with the decoded arguments, re-encoded by moat_json:
 * {"s":STRING|null,"n":NUMBER|null,"i":INT|null,"b":BOOL|null,"raw":VALUE|null,
 *  "progress":BOOL}. */
static void echo(const moat_request *req, moat_result *res) {
	moat_json w = MOAT_JSON_INIT;
	size_t n;
	char *s = moat_arg_string(req, "s", &n);
	char *raw = moat_arg_raw(req, "raw", NULL);
	double d;
	long long i;
	int b;
	moat_json_object_begin(&w);
	moat_json_key(&w, "s");
	if (s)
		moat_json_string_n(&w, s, n);
	else
		moat_json_null(&w);
	moat_json_key(&w, "n");
	if (moat_arg_number(req, "n", &d))
		moat_json_number(&w, d);
	else
		moat_json_null(&w);
	moat_json_key(&w, "i");
	if (moat_arg_int(req, "i", &i))
		moat_json_int(&w, i);
	else
		moat_json_null(&w);
	moat_json_key(&w, "b");
	if (moat_arg_bool(req, "b", &b))
		moat_json_bool(&w, b);
	else
		moat_json_null(&w);
	moat_json_key(&w, "raw");
	moat_json_raw(&w, raw);
	moat_json_key(&w, "progress");
	moat_json_bool(&w, moat_request_wants_progress(req));
	moat_json_object_end(&w);
	size_t len;
	const char *text = moat_json_text(&w, &len);
	moat_result_text_n(res, text, len);
	moat_result_structured_n(res, text, len);
	moat_json_free(&w);
	free(s);
	free(raw);
}

/* config answers with what moat_config_get replied: {"err":NAME,"data":TEXT}. */
static void config(const moat_request *req, moat_result *res) {
	char *key = moat_arg_string(req, "key", NULL);
	moat_reply r = moat_config_get(key);
	moat_json w = MOAT_JSON_INIT;
	moat_json_object_begin(&w);
	moat_json_key(&w, "err");
	moat_json_string(&w, moat_errno_name(r.err));
	moat_json_key(&w, "data");
	moat_json_string_n(&w, r.data, r.len);
	moat_json_object_end(&w);
	moat_result_text(res, moat_json_text(&w, NULL));
	moat_json_free(&w);
	moat_reply_free(&r);
	free(key);
}

/* fail adds content, then fails: only the error may remain. */
static void fail(const moat_request *req, moat_result *res) {
	(void)req;
	moat_result_text(res, "dropped");
	moat_result_structured(res, "{\"dropped\":true}");
	moat_result_error(res, "it \"failed\"");
}

/* reject answers with a protocol error. */
static void reject(const moat_request *req, moat_result *res) {
	(void)req;
	moat_result_protocol_error(res, MOAT_INVALID_PARAMS, "cannot read these params");
}

__attribute__((constructor)) static void setup(void) {
	moat_plugin("sdktest", "0.1.0", "Exercises the C SDK.");
	moat_plugin_capabilities("{\"config\":[\"GREETING\"]}");
	moat_tool("echo", "Echoes its arguments.", "{\"type\":\"object\"}", "{\"type\":\"object\"}", NULL, echo);
	moat_tool("config", NULL, "{\"type\":\"object\"}", NULL, "{\"idempotentHint\":true}", config);
	moat_tool("fail", NULL, "{\"type\":\"object\"}", NULL, NULL, fail);
	moat_tool("reject", NULL, "{\"type\":\"object\"}", NULL, NULL, reject);
}
