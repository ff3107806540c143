/* SPDX-License-Identifier: MIT */
/*
 * ini.c - the one INI reader (ini.h): lines, sections and keys against the
 * caller's table, with every error named by file and line. Portable C
 * over a buffer, so the Windows agent reads the profile matrix with it too.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/ini.h"
#include "lib/basic/string-util.h"

struct ini {
	const struct ini_syntax *syntax;
	const char *file;
	void *base, *userdata;
	char **reterr_msg;
	unsigned line;
	bool continuation;
	bool failed;		   /* ini_fail() set the message */
	const char *section;	   /* "" before the first header; else in sections[] */
	const struct ini_key *key; /* the key a continuation line continues */
	unsigned *first_line;	   /* per row, for INI_DUPLICATES_REFUSE */
	char *section_buf;
};

void *ini_userdata(const struct ini *ini)
{
	return ini->userdata;
}

unsigned ini_line(const struct ini *ini)
{
	return ini->line;
}

bool ini_continuation(const struct ini *ini)
{
	return ini->continuation;
}

const struct ini_key *ini_key(const struct ini *ini)
{
	return ini->key;
}

const char *ini_section(const struct ini *ini)
{
	return ini->section;
}

char **ini_errmsg(struct ini *ini)
{
	return ini->reterr_msg;
}

int ini_fail(struct ini *ini, const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;
	va_start(ap, fmt);
	int k = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (k < 0)
		return errmsg_oom(ini->reterr_msg);
	ini->failed = true;
	const char *w = ini->syntax->what;
	return errmsg_set(ini->reterr_msg, -EINVAL, "%s%s'%s' line %u: %s", w ? w : "",
			  w ? " " : "", ini->file, ini->line, what);
}

/* The first of chars in s, or of an inline comment (';' after a blank),
 * or the end of s (libinih's rule). */
static char *find_chars_or_comment(char *s, const char *chars)
{
	bool was_space = false;
	while (*s && !(chars && strchr(chars, *s)) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static char *rstrip(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static const char *skip_blanks(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static bool section_known(const struct ini_syntax *s, const char *name)
{
	if (s->default_section && streq(s->default_section, name))
		return true;
	for (size_t i = 0; i < s->n_keys; i++)
		if (s->keys[i].section && streq(s->keys[i].section, name))
			return true;
	return false;
}

/* The sections, in the table's order: "[A], [B]". */
static int known_sections(const struct ini_syntax *s, char **ret)
{
	char *l = NULL;
	for (size_t i = 0; i <= s->n_keys; i++) {
		const char *k = i == 0 ? s->default_section : s->keys[i - 1].section;
		bool seen = !k || (i > 0 && s->default_section && streq(k, s->default_section));
		for (size_t j = 0; j + 1 < i && !seen; j++)
			seen = s->keys[j].section && streq(s->keys[j].section, k);
		if (seen)
			continue;
		char *n = l ? strjoin(l, ", [", k, "]") : strjoin("[", k, "]");
		free(l);
		if (!n)
			return -ENOMEM;
		l = n;
	}
	*ret = l;
	return 0;
}

static int section_enter(struct ini *ini, const char *name)
{
	const struct ini_syntax *s = ini->syntax;
	if (!section_known(s, name)) {
		struct suggestion sg = SUGGESTION_INIT(name);
		suggestion_add(&sg, s->default_section);
		for (size_t i = 0; i < s->n_keys; i++)
			suggestion_add(&sg, s->keys[i].section);
		if (sg.best)
			return ini_fail(ini, "unknown section '[%s]' (did you mean '[%s]'?)", name,
					sg.best);
		_cleanup_free_ char *known = NULL;
		int r = known_sections(s, &known);
		if (r < 0)
			return errmsg_oom(ini->reterr_msg);
		return ini_fail(ini, "unknown section '[%s]'; known are %s", name,
				known ? known : "none");
	}
	char *copy = strdup(name);
	if (!copy)
		return errmsg_oom(ini->reterr_msg);
	free(ini->section_buf);
	ini->section = ini->section_buf = copy;
	ini->key = NULL;
	return 0;
}

static int unknown_key(struct ini *ini, const char *section, const char *name)
{
	const struct ini_syntax *s = ini->syntax;
	if (!*section)
		return ini_fail(ini, "key '%s' outside a section; put it under a '[Section]' line",
				name);
	struct suggestion sg = SUGGESTION_INIT(name);
	for (size_t i = 0; i < s->n_keys; i++)
		if (s->keys[i].section && streq(s->keys[i].section, section))
			suggestion_add(&sg, s->keys[i].name);
	if (sg.best)
		return ini_fail(ini, "unknown key '%s' (did you mean '%s'?)", name, sg.best);
	for (size_t i = 0; i < s->n_keys; i++)
		if (s->keys[i].section && streq(s->keys[i].name, name))
			return ini_fail(ini, "key '%s' belongs in section '[%s]', not '[%s]'", name,
					s->keys[i].section, section);
	return ini_fail(ini, "unknown key '%s' in section '[%s]'", name, section);
}

static int call_parse(struct ini *ini, const char *value)
{
	const struct ini_key *k = ini->key;
	int r = k->parse(ini, value, (uint8_t *)ini->base + k->offset);
	if (r < 0 && r == -EINVAL && !ini->failed) {
		/* a nested read (an include) may have said what went wrong */
		ini->failed = true;
		return errmsg_default(
			ini->reterr_msg, r, "%s%s'%s' line %u: bad value '%s' for '%s'",
			ini->syntax->what ? ini->syntax->what : "", ini->syntax->what ? " " : "",
			ini->file, ini->line, value, k->name);
	}
	return r;
}

static int key_line(struct ini *ini, char *start)
{
	const struct ini_syntax *s = ini->syntax;
	char *eq = find_chars_or_comment(start, "=");
	if (*eq != '=')
		return ini_fail(ini, "syntax error (want 'Key=value', '[Section]' or a comment)");
	*eq = '\0';
	const char *name = rstrip(start);
	char *value = eq + 1;
	*find_chars_or_comment(value, NULL) = '\0';
	value = rstrip((char *)skip_blanks(value));
	if (!*name)
		return ini_fail(ini, "syntax error (want 'Key=value', '[Section]' or a comment)");

	const char *section = *ini->section	   ? ini->section
			      : s->default_section ? s->default_section
						   : "";
	size_t i = 0;
	while (i < s->n_keys && !(streq(s->keys[i].name, name) &&
				  (!s->keys[i].section || streq(s->keys[i].section, section))))
		i++;
	if (i == s->n_keys)
		return unknown_key(ini, section, name);
	if (s->duplicates == INI_DUPLICATES_REFUSE) {
		if (ini->first_line[i])
			return ini_fail(ini,
					"key '%s' set twice (first on line %u); continue a list "
					"on indented lines",
					name, ini->first_line[i]);
		ini->first_line[i] = ini->line;
	}
	ini->key = &s->keys[i];
	return call_parse(ini, value);
}

/* One line, without its end. */
static int one_line(struct ini *ini, char *line)
{
	rstrip(line);
	char *start = (char *)skip_blanks(line);
	ini->continuation = false;
	if (!*start || *start == '#' || *start == ';')
		return 0;
	if (start > line && ini->key) {
		*find_chars_or_comment(start, NULL) = '\0';
		ini->continuation = true;
		return call_parse(ini, rstrip(start));
	}
	if (*start != '[')
		return key_line(ini, start);

	char *end = find_chars_or_comment(start + 1, "]");
	if (*end != ']')
		return ini_fail(ini, "section header without ']'");
	*end = '\0';
	const char *rest = skip_blanks(end + 1);
	if (*rest && *rest != ';' && *rest != '#')
		return ini_fail(ini, "text after the section header '[%s]'", start + 1);
	return section_enter(ini, strstrip(start + 1));
}

int ini_read(const struct ini_syntax *syntax, const char *file, const char *text, size_t size,
	     void *base, void *userdata, char **reterr_msg)
{
	struct ini ini = {
		.syntax = syntax,
		.file = file,
		.base = base,
		.userdata = userdata,
		.reterr_msg = reterr_msg,
		.section = "",
	};
	const char *w = syntax->what ? syntax->what : "";
	const char *sp = syntax->what ? " " : "";

	if (size > syntax->max_size)
		return errmsg_set(reterr_msg, -EINVAL, "%s%s'%s' is larger than %zu bytes", w, sp,
				  file, syntax->max_size);
	_cleanup_free_ char *buf = malloc(syntax->max_line + 1);
	_cleanup_free_ unsigned *first = calloc(syntax->n_keys + 1, sizeof(unsigned));
	if (!buf || !first)
		return errmsg_oom(reterr_msg);
	ini.first_line = first;

	const char *p = text, *end = text + size;
	if (size >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	int r = 0;
	while (r >= 0 && p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		ini.line++;
		if (memchr(p, '\0', len)) {
			r = ini_fail(&ini, "a NUL byte; this is not a text file");
			break;
		}
		size_t n = len > 0 && p[len - 1] == '\r' ? len - 1 : len;
		if (n > syntax->max_line) {
			r = ini_fail(&ini,
				     "line longer than %zu bytes; shorten it, or continue a list "
				     "on the next line, indented",
				     syntax->max_line);
			break;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		r = one_line(&ini, buf);
		p += len + (nl ? 1 : 0);
	}
	free(ini.section_buf);
	return r < 0 ? r : 0;
}
