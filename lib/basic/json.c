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

#include "lib/basic/fs.h"
#include "lib/basic/json.h"

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
		if (reterr_msg) {
			const char *why = jerr == json_tokener_continue
						  ? "unexpected end of input"
						  : json_tokener_error_desc(jerr);
			if (asprintf(reterr_msg, "%s at byte %zu", why, off) < 0)
				*reterr_msg = NULL;
		}
		return -EBADMSG;
	}
	for (size_t i = off; i < len; i++)
		if (!isspace((unsigned char)buf[i])) {
			json_object_put(o);
			if (reterr_msg && asprintf(reterr_msg, "trailing data at byte %zu", i) < 0)
				*reterr_msg = NULL;
			return -EBADMSG;
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
