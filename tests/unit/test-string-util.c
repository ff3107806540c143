/* SPDX-License-Identifier: MIT */
/*
 * test-string-util.c - parsers take whole strings only and report overflow.
 */
#include <errno.h>

#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

int main(void)
{
	uint64_t v;
	uint32_t w;

	is_int(parse_u64("0x40000100", 0, &v), 0, "hex with prefix");
	is_int(v, 0x40000100, "value");
	is_int(parse_u64("12abc", 10, &v), -EINVAL, "trailing junk");
	is_int(parse_u64("", 10, &v), -EINVAL, "empty");
	is_int(parse_u64("-1", 10, &v), -EINVAL, "negative");
	is_int(parse_u64(" 1", 10, &v), -EINVAL, "leading space");
	is_int(parse_u64("99999999999999999999", 10, &v), -ERANGE, "overflow");
	is_int(parse_u32("0x100000000", 0, &w), -ERANGE, "u32 overflow");

	is_int(parse_size("4G", &v), 0, "size with suffix");
	is_int(v, 4ull << 30, "4G");
	is_int(parse_size("512MiB", &v), 0, "MiB suffix");
	is_int(v, 512ull << 20, "512MiB");
	is_int(parse_size("4Q", &v), -EINVAL, "unknown suffix");
	is_int(parse_size("99999999999T", &v), -ERANGE, "size overflow");

	is_int(parse_boolean("yes"), 1, "yes");
	is_int(parse_boolean("OFF"), 0, "OFF");
	is_int(parse_boolean("maybe"), -EINVAL, "maybe");

	char buf[] = "  \tvalue \n";
	is_str(strstrip(buf), "value", "strip");

	uint8_t b[3] = { 0x00, 0xab, 0xff }, back[3];
	char hex[7];
	hex_encode(b, 3, hex);
	is_str(hex, "00abff", "hex encode");
	is_int(hex_decode("00ABff", back, 3), 0, "hex decode");
	ok(memcmp(b, back, 3) == 0, "round trip");
	is_int(hex_decode("00abf", back, 3), -EINVAL, "odd length");
	is_int(hex_decode("00abgg", back, 3), -EINVAL, "not hex");

	is_int(string_distance("Sise", "Size"), 1, "did-you-mean distance");

	static const char *const names[] = { "format", "output-dir", "help" };
	static const struct {
		int id;
		const char *name;
	} rows[] = { { 1, "kvm" }, { 2, "hyperv" }, { 3, "xen" } };
	is_str(suggest_in_strings("fromat", names, ELEMENTSOF(names)), "format",
	       "a transposition is suggested");
	ok(!suggest_in_strings("frobnicate", names, ELEMENTSOF(names)),
	   "nothing close: no suggestion");
	is_str(suggest_in("hypre", rows, ELEMENTSOF(rows), name), "hyperv",
	       "a struct table's name member");
	is_str(suggest_in("kmv", rows, ELEMENTSOF(rows), name), "kvm", "two edits away is close");
	ok(!suggest_in("abcdef", rows, ELEMENTSOF(rows), name), "three edits away is not");
	struct suggestion sg = SUGGESTION_INIT("Sise");
	suggestion_add(&sg, "Size");
	suggestion_add(&sg, "Site");
	suggestion_add(&sg, NULL);
	is_str(sg.best, "Size", "the first of equally near candidates wins");
	ok(!string_is_safe("a\x1b[31m"), "escape sequences are unsafe");
	ok(string_is_safe("Microsoft Corporation"), "plain text is safe");

	char **l = NULL;
	strv_extend(&l, "a");
	strv_extend(&l, "b");
	is_int(strv_length(l), 2, "strv length");
	ok(strv_contains(l, "b") && !strv_contains(l, "c"), "strv contains");
	ok(strv_extendf(&l, "skipping '%s': %d", "x", 3) == 0 && strv_length(l) == 3,
	   "strv_extendf appends");
	is_str(l[2], "skipping 'x': 3", "... the formatted line");
	strv_free(l);

	char *j = strjoin("a", "/", "b");
	is_str(j, "a/b", "strjoin");
	free(j);
	return tap_done();
}
