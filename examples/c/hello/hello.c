/*
 * hello.c: the hello plugin of examples/HELLO.md, written with the C SDK
 * (sdk/c). Build it with `make` in this folder; see README.md.
 */
#include <stdlib.h>
#include <string.h>

#include "moat.h"

/* Every call logs one line and reports that it is done, before anything
 * else, so that even a failing call does both. */
static void announce(const char *line) {
	moat_log(MOAT_LOG_INFO, line);
	moat_progress(1, 1, "done");
}

static void greet(const moat_request *req, moat_result *res) {
	announce("greet called");
	size_t n = 0;
	char *name = moat_arg_string(req, "name", &n);
	if (name == NULL || n == 0) {
		moat_result_error(res, "name is empty: pass the name of the person to greet");
	} else {
		moat_text t = MOAT_TEXT_INIT;
		moat_text_add(&t, "Hello, ");
		moat_text_add_n(&t, name, n);
		moat_text_add(&t, "!");
		moat_result_text_n(res, t.data, t.len);
		moat_text_free(&t);
	}
	free(name);
}

/* is_space is what separates words: space, tab, newline, carriage return. */
static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void stats(const moat_request *req, moat_result *res) {
	announce("stats called");
	size_t n = 0;
	char *text = moat_arg_string(req, "text", &n);
	if (text == NULL) {
		moat_result_error(res, "text is missing: pass the text to count");
		return;
	}
	long long words = 0, lines = 0, chars = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if (!is_space(c) && (i == 0 || is_space((unsigned char)text[i - 1])))
			words++;
		if (c == '\n')
			lines++;
		if ((c & 0xC0) != 0x80) /* the first byte of a code point */
			chars++;
	}
	if (n > 0 && text[n - 1] != '\n')
		lines++;
	free(text);

	moat_json w = MOAT_JSON_INIT;
	moat_json_object_begin(&w);
	moat_json_key(&w, "words");
	moat_json_int(&w, words);
	moat_json_key(&w, "lines");
	moat_json_int(&w, lines);
	moat_json_key(&w, "chars");
	moat_json_int(&w, chars);
	moat_json_object_end(&w);
	size_t len;
	const char *counts = moat_json_text(&w, &len);
	moat_result_text_n(res, counts, len);
	moat_result_structured_n(res, counts, len);
	moat_json_free(&w);
}

static void greeting(moat_read *r) { moat_read_text(r, "Hello from moat!"); }

/* personal_greeting serves hello://greeting/{name}: the SDK matched the
 * URI, so the variable is there. */
static void personal_greeting(moat_read *r) {
	size_t n = 0;
	char *name = moat_read_var(r, "name", &n);
	moat_text t = MOAT_TEXT_INIT;
	moat_text_add(&t, "Hello, ");
	moat_text_add_n(&t, name, n);
	moat_text_add(&t, "!");
	moat_read_text_n(r, t.data, t.len);
	moat_text_free(&t);
	free(name);
}

/* greet_prompt runs only with its required argument "name". */
static void greet_prompt(moat_get *g) {
	size_t n = 0;
	char *name = moat_get_arg(g, "name", &n);
	moat_text t = MOAT_TEXT_INIT;
	moat_text_add(&t, "Please greet ");
	moat_text_add_n(&t, name, n);
	moat_text_add(&t, " warmly.");
	moat_get_message_n(g, "user", t.data, t.len);
	moat_text_free(&t);
	free(name);
}

/* people suggests the names of the list that start with what was typed. */
static void people(moat_completion *c) {
	static const char *const names[] = {"Ada", "Alan", "Grace", "Linus"};
	size_t n;
	const char *typed = moat_completion_value(c, &n);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) >= n && memcmp(names[i], typed, n) == 0)
			moat_completion_add(c, names[i]);
}

__attribute__((constructor)) static void setup(void) {
	moat_plugin("hello", "1.0.0", "Greets people and counts text.");
	moat_tool("greet", "Greets someone by name.",
	          "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"description\":\"Who to greet.\"}},\"required\":[\"name\"]}",
	          NULL, "{\"readOnlyHint\":true}", greet);
	moat_tool("stats", "Counts the words, lines and characters of a text.",
	          "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\",\"description\":\"The text to count.\"}},\"required\":[\"text\"]}",
	          "{\"type\":\"object\",\"properties\":{\"words\":{\"type\":\"integer\"},\"lines\":{\"type\":\"integer\"},\"chars\":{\"type\":\"integer\"}},\"required\":[\"words\",\"lines\",\"chars\"]}",
	          "{\"readOnlyHint\":true}", stats);
	moat_resource("hello://greeting", "greeting", "A greeting from the plugin.", "text/plain", greeting);
	moat_resource_template("hello://greeting/{name}", "personal-greeting", "A greeting for the person named in the URI.",
	                       "text/plain", personal_greeting);
	moat_prompt("greet_prompt", "Asks the model to greet someone warmly.",
	            "[{\"name\":\"name\",\"description\":\"Who to greet.\",\"required\":true}]", greet_prompt);
	moat_prompt_completion("greet_prompt", "name", people);
	moat_resource_completion("hello://greeting/{name}", "name", people);
}
