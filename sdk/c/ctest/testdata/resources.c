/*
 * resources.c exercises the resources, prompts and completion of the C SDK;
 * ctest drives it with raw requests.
 */
#include <stdlib.h>
#include <string.h>

#include "moat.h"

static void static_text(moat_read *r) { moat_read_text(r, "static text <&>"); }

static void blob(moat_read *r) { moat_read_blob(r, "AAEC"); }

/* note serves mem://notes/{id}.md: "missing" is not found, "broken" fails. */
static void note(moat_read *r) {
	size_t n = 0;
	char *id = moat_read_var(r, "id", &n);
	if (id != NULL && strcmp(id, "missing") == 0) {
		moat_read_not_found(r);
	} else if (id != NULL && strcmp(id, "broken") == 0) {
		moat_read_error(r, "the store is down");
	} else {
		moat_text t = MOAT_TEXT_INIT;
		moat_text_add(&t, "# note ");
		moat_text_add_n(&t, id, n);
		moat_read_text_n(r, t.data, t.len);
		moat_text_free(&t);
	}
	free(id);
}

/* pair answers with its own contents object naming both variables. */
static void pair(moat_read *r) {
	char *a = moat_read_var(r, "a", NULL), *b = moat_read_var(r, "b", NULL), *none = moat_read_var(r, "c", NULL);
	moat_json w = MOAT_JSON_INIT;
	moat_json_object_begin(&w);
	moat_json_key(&w, "uri");
	moat_json_string(&w, "mem://canonical");
	moat_json_key(&w, "text");
	moat_text t = MOAT_TEXT_INIT;
	moat_text_add(&t, "a=");
	moat_text_add(&t, a);
	moat_text_add(&t, " b=");
	moat_text_add(&t, b);
	moat_text_add(&t, none ? " c!" : "");
	moat_json_string_n(&w, t.data, t.len);
	moat_json_object_end(&w);
	moat_read_contents(r, moat_json_text(&w, NULL));
	moat_json_free(&w);
	moat_text_free(&t);
	free(a), free(b), free(none);
}

static void summarize(moat_get *g) {
	size_t n = 0;
	char *topic = moat_get_arg(g, "topic", &n);
	char *style = moat_get_arg(g, "style", NULL);
	moat_text t = MOAT_TEXT_INIT;
	moat_text_add(&t, "A summary of ");
	moat_text_add_n(&t, topic, n);
	moat_get_description(g, t.data);
	moat_text_free(&t);
	moat_text_add(&t, "Summarize ");
	moat_text_add_n(&t, topic, n);
	moat_get_message_n(g, "user", t.data, t.len);
	moat_text_free(&t);
	if (style != NULL) {
		moat_text_add(&t, "In ");
		moat_text_add(&t, style);
		moat_text_add(&t, " style.");
		moat_get_message(g, "assistant", t.data);
		moat_text_free(&t);
	}
	moat_get_message_content(g, "user", "{\"type\":\"resource_link\",\"uri\":\"mem://static\",\"name\":\"static\"}");
	free(topic);
	free(style);
}

static void failing(moat_get *g) { moat_get_error(g, "cannot build it"); }

static void topics(moat_completion *c) {
	static const char *const names[] = {"cats", "cars", "dogs"};
	size_t n;
	const char *typed = moat_completion_value(c, &n);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) >= n && memcmp(names[i], typed, n) == 0)
			moat_completion_add(c, names[i]);
}

static void many(moat_completion *c) {
	for (int i = 0; i < 150; i++) {
		moat_text t = MOAT_TEXT_INIT;
		moat_text_add_int(&t, i);
		moat_completion_add(c, t.data);
		moat_text_free(&t);
	}
}

static void ids(moat_completion *c) {
	size_t n, m = 0;
	const char *typed = moat_completion_value(c, &n);
	char *suffix = moat_completion_context(c, "suffix", &m);
	moat_text t = MOAT_TEXT_INIT;
	moat_text_add_n(&t, typed, n);
	moat_text_add_n(&t, suffix ? suffix : "", m);
	moat_completion_add_n(c, t.data, t.len);
	moat_text_free(&t);
	free(suffix);
}

/* touch announces a change of the resource named by its "uri" argument
 * and answers with the error name. */
static void touch(const moat_request *req, moat_result *res) {
	char *uri = moat_arg_string(req, "uri", NULL);
	moat_reply r = moat_notify_resource_updated(uri);
	moat_result_text(res, moat_errno_name(r.err));
	moat_reply_free(&r);
	free(uri);
}

/* registrations counts the registrations that succeeded, and refused
 * those that must fail: a tool reports both. */
static int registered, refused;

static void count(int r, int want_ok) {
	if ((r == 0) == want_ok)
		registered++;
	else
		refused++;
}

static void counts(const moat_request *req, moat_result *res) {
	(void)req;
	moat_text t = MOAT_TEXT_INIT;
	moat_text_add_int(&t, registered);
	moat_text_add(&t, " as expected, ");
	moat_text_add_int(&t, refused);
	moat_text_add(&t, " not");
	moat_result_text_n(res, t.data, t.len);
	moat_text_free(&t);
}

__attribute__((constructor)) static void setup(void) {
	moat_plugin("resources", "0.1.0", NULL);
	moat_tool("touch", NULL, "{\"type\":\"object\"}", NULL, NULL, touch);
	moat_tool("counts", NULL, "{\"type\":\"object\"}", NULL, NULL, counts);
	count(moat_resource("mem://static", "static", "A fixed text.", "text/plain", static_text), 1);
	count(moat_resource_json("{\"uri\":\"mem://blob\",\"name\":\"blob\",\"title\":\"Binary\",\"mimeType\":\"application/octet-stream\",\"size\":3}", blob), 1);
	count(moat_resource_template("mem://notes/{id}.md", "note", NULL, "text/markdown", note), 1);
	count(moat_resource_template_json("{\"uriTemplate\":\"mem://{a}/{b}\",\"name\":\"pair\"}", pair), 1);
	count(moat_prompt("summarize", "Summarizes a topic.",
	                  "[{\"name\":\"topic\",\"required\":true},{\"name\":\"style\",\"description\":\"How.\"}]", summarize), 1);
	count(moat_prompt_json("{\"name\":\"failing\",\"title\":\"Fails\"}", failing), 1);
	count(moat_prompt_completion("summarize", "topic", topics), 1);
	count(moat_prompt_completion("summarize", "style", many), 1);
	count(moat_resource_completion("mem://notes/{id}.md", "id", ids), 1);
	/* Refused: duplicates, missing names, templates that are not level 1. */
	count(moat_resource("mem://static", "again", NULL, NULL, static_text), 0);
	count(moat_resource("mem://x", NULL, NULL, NULL, static_text), 0);
	count(moat_resource_json("{\"name\":\"no uri\"}", static_text), 0);
	count(moat_resource_template("mem://{+path}", "plus", NULL, NULL, note), 0);
	count(moat_resource_template("mem://{a}{b}", "adjacent", NULL, NULL, note), 0);
	count(moat_resource_template("mem://{a", "open", NULL, NULL, note), 0);
	count(moat_resource_template("mem://notes/{id}.md", "again", NULL, NULL, note), 0);
	count(moat_prompt("summarize", NULL, NULL, summarize), 0);
	count(moat_prompt(NULL, NULL, NULL, summarize), 0);
}
