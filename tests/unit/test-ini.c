/* SPDX-License-Identifier: MIT */
/*
 * test-ini.c - the INI reader (lib/basic/ini.h) on its edge cases: no final
 * newline, CRLF, a byte order mark, comments, continuation lines, an empty
 * file, a NUL byte, an overlong line, an oversized file, unknown sections
 * and keys, keys outside a section and keys set twice; each error names the
 * file and the line.
 */
#include <errno.h>
#include <string.h>

#include "lib/basic/ini.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

struct conf {
	char **names; /* every value of Name=, a line each */
	char *size;
	char **lines; /* line:continuation for Name= */
};

static int parse_name(struct ini *ini, const char *value, void *field)
{
	struct conf *c = ini_userdata(ini);
	char tag[32];
	snprintf(tag, sizeof(tag), "%u%s", ini_line(ini), ini_continuation(ini) ? "+" : "");
	if (strv_extend(&c->lines, tag) < 0)
		return -ENOMEM;
	return strv_extend(field, value);
}

static int parse_text(struct ini *ini, const char *value, void *field)
{
	char **s = field;
	if (streq(value, "bad"))
		return -EINVAL; /* the reader's default message */
	if (streq(value, "worse"))
		return ini_fail(ini, "'%s' is not a size", value);
	free(*s);
	*s = strdup(value);
	return *s ? 0 : -ENOMEM;
}

static const struct ini_key keys[] = {
	{ "Image", "Name", parse_name, offsetof(struct conf, names), 0 },
	{ "Image", "Size", parse_text, offsetof(struct conf, size), 0 },
	{ "Base", "Tarball", parse_text, offsetof(struct conf, size), 0 },
};

static struct ini_syntax syntax = {
	.what = "recipe",
	.keys = keys,
	.n_keys = ELEMENTSOF(keys),
	.duplicates = INI_DUPLICATES_PARSE,
	.max_size = 1024,
	.max_line = 40,
};

static void conf_done(struct conf *c)
{
	strv_free(c->names);
	strv_free(c->lines);
	free(c->size);
	*c = (struct conf){};
}

/* Reads text (n bytes); the message, if any, in *msg. */
static int read_text(const char *text, size_t n, struct conf *c, char **msg)
{
	conf_done(c);
	free(*msg);
	*msg = NULL;
	return ini_read(&syntax, "t.conf", text, n, c, c, msg);
}
#define READ(s, c, msg) read_text((s), sizeof(s) - 1, (c), (msg))

static void test_good(void)
{
	struct conf c = {};
	_cleanup_free_ char *msg = NULL;

	is_int(READ("", &c, &msg), 0, "an empty file");
	ok(!c.names && !c.size, "... sets nothing");
	is_int(READ("\xef\xbb\xbf[Image]\nSize=1G", &c, &msg), 0, "BOM, no final newline");
	is_str(c.size, "1G", "... the last line is read");
	is_int(READ("[Image]\r\nSize = 2G \r\n", &c, &msg), 0, "CRLF");
	is_str(c.size, "2G", "... the CR is not in the value, blanks dropped");
	is_int(READ("# c\n; c\n  # indented\n[Image] ; header comment\nSize=3G ; inline\n"
		    "Name=a;b\n",
		    &c, &msg),
	       0, "comments");
	is_str(c.size, "3G", "... an inline comment after a blank is dropped");
	is_str(c.names ? c.names[0] : NULL, "a;b", "... a ';' without a blank before is kept");
	is_int(READ("[Image]\nName=a b\n\tc d\n\n  e\n[Base]\nTarball=x\n", &c, &msg), 0,
	       "continuation lines");
	is_int(strv_length(c.names), 3, "... a call per line");
	is_str(c.names ? c.names[1] : NULL, "c d", "... the continued value");
	is_int(strv_length(c.lines), 3, "... three calls");
	if (strv_length(c.lines) == 3) {
		is_str(c.lines[0], "2", "... the key's line");
		is_str(c.lines[1], "3+", "... a continuation, so flagged");
		is_str(c.lines[2], "5+", "... after a blank line too");
	}
	is_int(READ("[Image]\nSize=1G\nSize=2G\n", &c, &msg), 0, "a key twice, parse policy");
	is_str(c.size, "2G", "... the parse function decides: the last");
	conf_done(&c);
}

static void test_bad(void)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "[Image]\nNaem=x\n",
		  "recipe 't.conf' line 2: unknown key 'Naem' (did you mean 'Name'?)" },
		{ "[Image]\nTarball=x\n", "recipe 't.conf' line 2: key 'Tarball' belongs in "
					  "section '[Base]', not '[Image]'" },
		{ "[Image]\nColour=x\n",
		  "recipe 't.conf' line 2: unknown key 'Colour' in section '[Image]'" },
		{ "[Imag]\n",
		  "recipe 't.conf' line 1: unknown section '[Imag]' (did you mean '[Image]'?)" },
		{ "[Other]\n",
		  "recipe 't.conf' line 1: unknown section '[Other]'; known are [Image], [Base]" },
		{ "Size=1G\n", "recipe 't.conf' line 1: key 'Size' outside a section; put it under "
			       "a '[Section]' line" },
		{ "[Image]\nSize\n", "recipe 't.conf' line 2: syntax error (want 'Key=value', "
				     "'[Section]' or a comment)" },
		{ "[Image]\n=x\n", "recipe 't.conf' line 2: syntax error (want 'Key=value', "
				   "'[Section]' or a comment)" },
		{ "[Image\n", "recipe 't.conf' line 1: section header without ']'" },
		{ "[Image] x\n",
		  "recipe 't.conf' line 1: text after the section header '[Image]'" },
		{ "[Image]\nSize=bad\n", "recipe 't.conf' line 2: bad value 'bad' for 'Size'" },
		{ "[Image]\nSize=worse\nSize=bad\n",
		  "recipe 't.conf' line 2: 'worse' is not a size" },
		{ "[Image]\nName=0123456789012345678901234567890123456789\n",
		  "recipe 't.conf' line 2: line longer than 40 bytes; shorten it, or continue a "
		  "list "
		  "on the next line, indented" },
	};
	struct conf c = {};
	_cleanup_free_ char *msg = NULL;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		is_int(read_text(cases[i].text, strlen(cases[i].text), &c, &msg), -EINVAL,
		       "case %zu refused", i);
		is_str(msg, cases[i].msg, "case %zu message", i);
	}
	is_int(READ("[Image]\nSize=1\0G\n", &c, &msg), -EINVAL, "a NUL byte");
	is_str(msg, "recipe 't.conf' line 2: a NUL byte; this is not a text file", "... named");
	is_int(READ("[Image]\nName=01234567890123456789012345678901234\r\n", &c, &msg), 0,
	       "a line at the limit (its CR not counted)");

	char big[1100];
	memset(big, '#', sizeof(big));
	is_int(read_text(big, sizeof(big), &c, &msg), -EINVAL, "a file over the size limit");
	is_str(msg, "recipe 't.conf' is larger than 1024 bytes", "... named with the limit");

	syntax.duplicates = INI_DUPLICATES_REFUSE;
	is_int(READ("[Image]\nName=a\n  b\nName=c\n", &c, &msg), -EINVAL, "a key twice, refused");
	is_str(msg,
	       "recipe 't.conf' line 4: key 'Name' set twice (first on line 2); continue a list "
	       "on indented lines",
	       "... naming both lines");
	syntax.duplicates = INI_DUPLICATES_PARSE;

	syntax.default_section = "Image";
	is_int(READ("Size=1G\n", &c, &msg), 0, "a default section takes keys before a header");
	syntax.what = NULL;
	is_int(READ("Sise=1G\n", &c, &msg), -EINVAL, "no 'what'");
	is_str(msg, "'t.conf' line 1: unknown key 'Sise' (did you mean 'Size'?)",
	       "... the message starts with the file");
	conf_done(&c);
}

int main(void)
{
	tap_tmpdir();
	test_good();
	test_bad();
	return tap_done();
}
