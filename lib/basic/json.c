/* SPDX-License-Identifier: MIT */
/*
 * json.c - bounded JSON parsing and stable serialization over json-c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"

/* What json-c lets through: it keeps the last of two members with the same
 * key, and clamps an integer past the int64 range to its end. A second look
 * at the text (already valid JSON) counts the members of each object in
 * document order and checks each integer's range. */
struct json_scan {
	size_t *members; /* per object, in the order of its '{' */
	size_t *offsets; /* the byte of that '{' */
	size_t n, cap;
};

static void json_scan_done(struct json_scan *sc)
{
	free(sc->members);
	free(sc->offsets);
}

static int scan_add_object(struct json_scan *sc, size_t off)
{
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		size_t *m = reallocarray(sc->members, cap, sizeof(*m));
		if (!m)
			return -ENOMEM;
		sc->members = m;
		size_t *o = reallocarray(sc->offsets, cap, sizeof(*o));
		if (!o)
			return -ENOMEM;
		sc->offsets = o;
		sc->cap = cap;
	}
	sc->members[sc->n] = 0;
	sc->offsets[sc->n] = off;
	sc->n++;
	return 0;
}

/* An integer literal (no fraction or exponent) at buf[i]: its end, or 0
 * when it does not fit in an int64. */
static size_t scan_integer(const char *buf, size_t len, size_t i)
{
	size_t j = i + (buf[i] == '-');
	while (j < len && buf[j] >= '0' && buf[j] <= '9')
		j++;
	if (j < len && strchr(".eE", buf[j]))
		return j; /* a double: json-c keeps it as one */
	char digits[32];
	if (j - i >= sizeof(digits))
		return 0;
	memcpy(digits, buf + i, j - i);
	digits[j - i] = '\0';
	errno = 0;
	(void)strtoll(digits, NULL, 10);
	return errno == ERANGE ? 0 : j;
}

static int json_scan(const char *buf, size_t len, struct json_scan *sc, size_t *ret_bad_number)
{
	size_t stack[JSON_MAX_DEPTH + 1]; /* object index, or SIZE_MAX for an array */
	size_t depth = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];
		if (ch == '"') {
			for (i++; i < len && buf[i] != '"'; i++)
				if (buf[i] == '\\')
					i++;
		} else if (ch == '{' || ch == '[') {
			if (depth >= ELEMENTSOF(stack))
				return -EBADMSG;
			if (ch == '{' && scan_add_object(sc, i) < 0)
				return -ENOMEM;
			stack[depth++] = ch == '{' ? sc->n - 1 : SIZE_MAX;
		} else if (ch == '}' || ch == ']') {
			if (depth > 0)
				depth--;
		} else if (ch == ':') {
			if (depth > 0 && stack[depth - 1] != SIZE_MAX)
				sc->members[stack[depth - 1]]++;
		} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
			size_t end = scan_integer(buf, len, i);
			if (end == 0) {
				*ret_bad_number = i;
				return -ERANGE;
			}
			i = end - 1;
		}
	}
	return 0;
}

/* The parsed objects in document order against the counts: the index of
 * the first object that lost a member, or SIZE_MAX. */
static size_t scan_compare(json_object *o, const struct json_scan *sc, size_t *next)
{
	if (json_object_is_type(o, json_type_object)) {
		size_t idx = (*next)++;
		if (idx >= sc->n || sc->members[idx] != (size_t)json_object_object_length(o))
			return idx;
		json_object_object_foreach(o, key, child)
		{
			(void)key;
			size_t bad = child ? scan_compare(child, sc, next) : SIZE_MAX;
			if (bad != SIZE_MAX)
				return bad;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++) {
			json_object *child = json_object_array_get_idx(o, i);
			size_t bad = child ? scan_compare(child, sc, next) : SIZE_MAX;
			if (bad != SIZE_MAX)
				return bad;
		}
	}
	return SIZE_MAX;
}

struct key_span {
	const char *p;
	size_t n;
};

static int key_span_cmp(const void *a, const void *b)
{
	const struct key_span *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return memcmp(x->p, y->p, x->n);
}

/* Names the key given twice in the object at buf[off] (its text as
 * written, at most 64 bytes), or says where the object is. */
static void duplicate_message(const char *buf, size_t len, size_t off, char **reterr_msg)
{
	_cleanup_free_ struct key_span *keys = NULL;
	size_t n = 0, cap = 0, depth = 0;
	const char *last = NULL;
	size_t last_n = 0;
	for (size_t i = off; i < len; i++) {
		char ch = buf[i];
		if (ch == '"') {
			size_t start = i + 1;
			for (i++; i < len && buf[i] != '"'; i++)
				if (buf[i] == '\\')
					i++;
			last = buf + start;
			last_n = i - start;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (--depth == 0)
				break;
		} else if (ch == ':' && depth == 1 && last) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				struct key_span *k = reallocarray(keys, cap, sizeof(*k));
				if (!k)
					break;
				keys = k;
			}
			keys[n++] = (struct key_span){ last, last_n };
		}
	}
	if (keys && n > 1)
		qsort(keys, n, sizeof(*keys), key_span_cmp);
	for (size_t i = 1; keys && i < n; i++)
		if (key_span_cmp(&keys[i - 1], &keys[i]) == 0) {
			errmsg_set(reterr_msg, -EBADMSG,
				   "key '%.*s' appears twice in the object at byte %zu",
				   (int)MIN(keys[i].n, (size_t)64), keys[i].p, off);
			return;
		}
	errmsg_set(reterr_msg, -EBADMSG, "a key appears twice in the object at byte %zu", off);
}

static int json_check_text(const char *buf, size_t len, json_object *o, char **reterr_msg)
{
	struct json_scan sc = {};
	size_t bad_number = 0, next = 0;
	int r = json_scan(buf, len, &sc, &bad_number);
	if (r == -ERANGE) {
		r = errmsg_set(reterr_msg, -EBADMSG, "the number at byte %zu is out of range",
			       bad_number);
	} else if (r >= 0) {
		size_t bad = scan_compare(o, &sc, &next);
		if (bad != SIZE_MAX) {
			if (reterr_msg && bad < sc.n)
				duplicate_message(buf, len, sc.offsets[bad], reterr_msg);
			r = -EBADMSG;
		}
	}
	json_scan_done(&sc);
	return r;
}

int json_parse_bounded(const char *buf, size_t len, size_t max, json_object **ret,
		       char **reterr_msg)
{
	if (len > max)
		return -E2BIG;
	if (len > INT32_MAX)
		return -E2BIG;

	json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t off = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (!o || jerr != json_tokener_success) {
		if (o)
			json_object_put(o);
		return errmsg_set(reterr_msg, -EBADMSG, "%s at byte %zu",
				  jerr == json_tokener_continue ? "unexpected end of input"
								: json_tokener_error_desc(jerr),
				  off);
	}
	for (size_t i = off; i < len; i++)
		if (!isspace((unsigned char)buf[i])) {
			json_object_put(o);
			return errmsg_set(reterr_msg, -EBADMSG, "trailing data at byte %zu", i);
		}
	int r = json_check_text(buf, off, o, reterr_msg);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

const char *json_to_string(json_object *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			    : JSON_C_TO_STRING_PLAIN);
	return json_object_to_json_string_ext(o, flags);
}

int json_write_fd(int fd, json_object *o, bool pretty)
{
	const char *s = json_to_string(o, pretty);
	if (!s)
		return -ENOMEM;
	int r = fs_write_all(fd, s, strlen(s));
	if (r < 0)
		return r;
	return fs_write_all(fd, "\n", 1);
}

int json_write_file_atomic_at(int root_fd, const char *path, json_object *o, mode_t mode)
{
	_cleanup_atomic_file_ struct atomic_file *f = NULL;
	int r = atomic_file_open(root_fd, path, mode, &f);
	if (r < 0)
		return r;
	r = json_write_fd(f->fd, o, true);
	if (r < 0)
		return r;
	return atomic_file_commit(f);
}

int json_get_string(json_object *o, const char *key, const char **ret)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*ret = json_object_get_string(v);
	return 0;
}

int json_get_int64(json_object *o, const char *key, int64_t *ret)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_int))
		return -EBADMSG;
	errno = 0;
	int64_t x = json_object_get_int64(v);
	if (errno != 0)
		return -ERANGE;
	*ret = x;
	return 0;
}

json_object *json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

json_object *json_strv(char *const *l)
{
	json_object *a = json_object_new_array();
	for (char *const *s = l; a && s && *s; s++)
		json_object_array_add(a, json_object_new_string(*s));
	return a;
}

json_object *json_strv_or_null(char *const *l)
{
	return l ? json_strv(l) : NULL;
}
