/* SPDX-License-Identifier: MIT */
/*
 * json.h - JSON in and out through json-c, with the limits an input needs
 * (size and nesting depth) and output that is stable byte for byte.
 */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "lib/basic/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
#define _cleanup_json_ _cleanup_(json_object_putp)

#define JSON_MAX_DEPTH 32

/* Parses exactly one JSON value from buf (trailing white space allowed).
 * Returns 0, or -EBADMSG with *reterr_msg (may be NULL) saying what and
 * where; -E2BIG when buf is longer than max. */
int json_parse_bounded(const char *buf, size_t len, size_t max, json_object **ret,
		       char **reterr_msg);

/* Serializes without escaping '/', compact or pretty (two spaces). */
const char *json_to_string(json_object *o, bool pretty);

/* Writes the serialization plus a newline to fd. */
int json_write_fd(int fd, json_object *o, bool pretty);

/* Writes it atomically to path beneath root_fd (AT_FDCWD: a plain path). */
int json_write_file_atomic_at(int root_fd, const char *path, json_object *o, mode_t mode);

/* Getters that check the type; a missing key gives -ENOENT, a wrong type
 * -EBADMSG. The returned string is owned by o. */
int json_get_string(json_object *o, const char *key, const char **ret);
int json_get_int64(json_object *o, const char *key, int64_t *ret);

/* json_object_new_string, or JSON null for a NULL string. */
json_object *json_string_or_null(const char *s);
/* An array of the strings of a NULL-terminated vector (NULL: empty);
 * json_strv_or_null() gives NULL (JSON null) for NULL. */
json_object *json_strv(char *const *l);
json_object *json_strv_or_null(char *const *l);
