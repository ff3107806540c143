/* SPDX-License-Identifier: MIT */
/*
 * test-json.c - JSON output escapes what it must and nothing else; parsing
 * is bounded in size and depth and names where it failed.
 */
#include <errno.h>

#include "lib/basic/json.h"
#include "tests/unit/tap.h"

int main(void)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string("/sys/hypervisor/type"));
	json_object_object_add(o, "q", json_object_new_string("say \"hi\"\\"));
	json_object_object_add(o, "ctl", json_object_new_string("a\nb\tc\x01"));
	json_object_object_add(o, "utf8", json_object_new_string("Zürich"));
	json_object_object_add(o, "none", json_string_or_null(NULL));
	is_str(json_to_string(o, false),
	       "{\"path\":\"/sys/hypervisor/type\",\"q\":\"say \\\"hi\\\"\\\\\","
	       "\"ctl\":\"a\\nb\\tc\\u0001\",\"utf8\":\"Zürich\",\"none\":null}",
	       "escaping: quotes, backslash, control characters; slashes and UTF-8 kept");

	json_object *p = NULL;
	char *err = NULL;
	const char *good = "{\"a\": [1, 2, {\"b\": \"c\"}]}\n";
	is_int(json_parse_bounded(good, strlen(good), 1024, &p, &err), 0, "valid JSON parses");
	const char *s = NULL;
	is_int(json_get_string(p, "a", &s), -EBADMSG, "type checked");
	is_int(json_get_string(p, "zz", &s), -ENOENT, "missing key");
	json_object_put(p);

	const char *bad = "{\"a\": [1, 2,}";
	is_int(json_parse_bounded(bad, strlen(bad), 1024, &p, &err), -EBADMSG,
	       "broken JSON refused");
	ok(err && strstr(err, "byte"), "error says where: '%s'", err ? err : "");
	free(err);
	err = NULL;

	const char *trail = "{} {}";
	is_int(json_parse_bounded(trail, strlen(trail), 1024, &p, &err), -EBADMSG,
	       "trailing data refused");
	free(err);
	err = NULL;

	is_int(json_parse_bounded(good, strlen(good), 8, &p, &err), -E2BIG, "size cap");

	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	is_int(json_parse_bounded(deep, 200, 1024, &p, &err), -EBADMSG, "nesting depth capped");
	free(err);

	char *strv[] = { "a", "b c", NULL };
	json_object *a = json_strv(strv), *none = json_strv(NULL);
	is_str(a ? json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN) : "",
	       "[\"a\",\"b c\"]", "json_strv: the strings as an array");
	is_str(none ? json_object_to_json_string_ext(none, JSON_C_TO_STRING_PLAIN) : "", "[]",
	       "json_strv(NULL): an empty array");
	ok(json_strv_or_null(NULL) == NULL, "json_strv_or_null(NULL): null");
	json_object_put(a);
	json_object_put(none);

	tap_tmpdir();
	is_int(json_write_file_atomic_at(AT_FDCWD, "out.json", o, 0644), 0, "atomic JSON write");
	char *back = NULL;
	is_int(fs_read_file_at(AT_FDCWD, "out.json", 4096, &back, NULL), 0, "read back");
	ok(back && strstr(back, "\"path\": \"/sys/hypervisor/type\""), "pretty output written");
	free(back);

	return tap_done();
}
