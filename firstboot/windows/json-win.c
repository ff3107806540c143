/* SPDX-License-Identifier: MIT */
/*
 * json-win.c - JSON for the Windows agent's state and report. Debian ships
 * json-c for Linux only, so the agent carries this small writer and a
 * strict reader (RFC 8259: objects, arrays, strings with escapes, integers,
 * true, false, null), with a cap on nesting and on the input's size.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

#define JSON_DEPTH_MAX 32
#define JSON_ITEMS_MAX 65536

static void jbuf_grow(struct jbuf *b, size_t add)
{
	if (b->oom || b->n + add + 1 <= b->cap)
		return;
	size_t cap = MAX(b->cap * 2, b->n + add + 256);
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

void jbuf_puts(struct jbuf *b, const char *s)
{
	size_t n = strlen(s);
	jbuf_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->n, s, n + 1);
	b->n += n;
}

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		b->oom = true;
	else
		jbuf_puts(b, s);
}

void jbuf_str(struct jbuf *b, const char *s)
{
	if (!s) {
		jbuf_puts(b, "null");
		return;
	}
	jbuf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[8] = { (char)*p, 0 };
		if (*p == '"' || *p == '\\')
			e[0] = '\\', e[1] = (char)*p;
		else if (*p < 0x20)
			snprintf(e, sizeof(e), "\\u%04x", *p);
		jbuf_puts(b, e);
	}
	jbuf_puts(b, "\"");
}

/* ---- reader ---- */

struct jparse {
	const char *s;
	size_t n, pos;
	size_t items;
	char **reterr_msg;
};

static int jfail(struct jparse *p, const char *what)
{
	return errmsg_set(p->reterr_msg, -EBADMSG, "%s at byte %zu", what, p->pos);
}

static void skip_ws(struct jparse *p)
{
	while (p->pos < p->n && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
}

static int parse_string(struct jparse *p, char **ret)
{
	struct jbuf b = {};
	p->pos++; /* the quote */
	while (p->pos < p->n && p->s[p->pos] != '"') {
		unsigned char c = (unsigned char)p->s[p->pos++];
		char out[2] = { (char)c, 0 };
		if (c < 0x20) {
			free(b.p);
			return jfail(p, "control character in a string");
		}
		if (c == '\\') {
			const char *esc = "\"\"\\\\//b\bf\fn\nr\rt\t";
			const char *m = p->pos < p->n ? strchr(esc, p->s[p->pos]) : NULL;
			unsigned u = 0;
			if (m && p->s[p->pos] && (m - esc) % 2 == 0) {
				out[0] = m[1];
				p->pos++;
			} else if (p->pos + 4 < p->n && p->s[p->pos] == 'u' &&
				   sscanf(p->s + p->pos + 1, "%4x", &u) == 1 && u > 0 && u < 0x80) {
				out[0] = (char)u; /* we write only ASCII escapes */
				p->pos += 5;
			} else {
				free(b.p);
				return jfail(p, "bad escape in a string");
			}
		}
		jbuf_puts(&b, out);
	}
	if (p->pos >= p->n) {
		free(b.p);
		return jfail(p, "unterminated string");
	}
	p->pos++;
	if (!b.p && !b.oom)
		b.p = strdup("");
	if (b.oom || !b.p) {
		free(b.p);
		return -ENOMEM;
	}
	*ret = b.p;
	return 0;
}

static int parse_value(struct jparse *p, struct jval *v, unsigned depth);

static int parse_container(struct jparse *p, struct jval *v, unsigned depth)
{
	bool obj = p->s[p->pos] == '{';
	char close = obj ? '}' : ']';
	size_t cap = 0;

	if (depth >= JSON_DEPTH_MAX)
		return jfail(p, "nested too deep");
	v->type = obj ? J_OBJ : J_ARR;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->n && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		if (++p->items > JSON_ITEMS_MAX)
			return jfail(p, "too many items");
		if (v->n == cap) {
			cap = cap ? cap * 2 : 8;
			struct jval *ni = reallocarray(v->items, cap, sizeof(*ni));
			if (!ni)
				return -ENOMEM;
			v->items = ni;
		}
		struct jval *item = &v->items[v->n++];
		*item = (struct jval){};
		skip_ws(p);
		if (obj) {
			if (p->pos >= p->n || p->s[p->pos] != '"')
				return jfail(p, "expected a key");
			int r = parse_string(p, &item->key);
			if (r < 0)
				return r;
			skip_ws(p);
			if (p->pos >= p->n || p->s[p->pos++] != ':')
				return jfail(p, "expected ':'");
		}
		int r = parse_value(p, item, depth + 1);
		if (r < 0)
			return r;
		skip_ws(p);
		if (p->pos < p->n && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->n && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return jfail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int parse_value(struct jparse *p, struct jval *v, unsigned depth)
{
	static const struct {
		const char *word;
		enum jtype type;
		bool b;
	} words[] = { { "null", J_NULL, false },
		      { "true", J_BOOL, true },
		      { "false", J_BOOL, false } };

	skip_ws(p);
	if (p->pos >= p->n)
		return jfail(p, "unexpected end");
	char c = p->s[p->pos];
	if (c == '{' || c == '[')
		return parse_container(p, v, depth);
	if (c == '"') {
		v->type = J_STR;
		return parse_string(p, &v->str);
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		char *end;
		errno = 0;
		v->num = strtoll(p->s + p->pos, &end, 10);
		if (errno || end == p->s + p->pos || (size_t)(end - p->s) > p->n)
			return jfail(p, "bad number");
		v->type = J_NUM;
		p->pos = (size_t)(end - p->s);
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(words); i++)
		if (p->n - p->pos >= strlen(words[i].word) &&
		    strncmp(p->s + p->pos, words[i].word, strlen(words[i].word)) == 0) {
			v->type = words[i].type;
			v->b = words[i].b;
			p->pos += strlen(words[i].word);
			return 0;
		}
	return jfail(p, "unexpected character");
}

static void jval_clear(struct jval *v)
{
	for (size_t i = 0; i < v->n; i++)
		jval_clear(&v->items[i]);
	free(v->items);
	free(v->str);
	free(v->key);
}

void jval_free(struct jval *v)
{
	if (!v)
		return;
	jval_clear(v);
	free(v);
}

int jval_parse(const char *text, size_t n, struct jval **ret, char **reterr_msg)
{
	struct jparse p = { .s = text, .n = n, .reterr_msg = reterr_msg };
	_cleanup_(jval_freep) struct jval *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (memchr(text, '\0', n))
		return errmsg_set(reterr_msg, -EBADMSG, "a NUL byte in the text");
	int r = parse_value(&p, v, 0);
	if (r < 0)
		return r;
	skip_ws(&p);
	if (p.pos != n)
		return jfail(&p, "trailing text");
	*ret = TAKE_PTR(v);
	return 0;
}

const struct jval *jval_get(const struct jval *o, const char *key)
{
	if (!o || o->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (streq(o->items[i].key, key))
			return &o->items[i];
	return NULL;
}

const char *jval_str(const struct jval *o, const char *key)
{
	const struct jval *v = jval_get(o, key);
	return v && v->type == J_STR ? v->str : NULL;
}
