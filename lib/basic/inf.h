/* SPDX-License-Identifier: MIT */
/*
 * inf.h - Windows driver INF files (docs/inf.md): the general syntax
 * (sections, "key = value, value" lines, quoted strings, %strkey%
 * substitution from [Strings], "\" line continuation, ";" comments, input
 * in UTF-16LE with a BOM, UTF-8 or ANSI), and the driver facts the catalog
 * records: class, provider, DriverVer, CatalogFile, architectures and
 * hardware ids.
 *
 * Everything is bounded (file size, line length, values per line, number of
 * lines). Errors are -EBADMSG with a message naming the line:
 * "line 12: section header without ']'".
 */
#pragma once

#include <stddef.h>

#define INF_MAX_SIZE (8u << 20) /* bytes of the file as stored */
#define INF_MAX_LINE 8192	/* characters of a logical line, continuations joined */
#define INF_MAX_VALUES 256	/* values on one line */
#define INF_MAX_LINES 200000

struct inf_line {
	char *key;     /* NULL for a line without '=' */
	char **values; /* NULL-terminated, never NULL; quotes removed, %strkey% substituted */
	unsigned line; /* 1-based, of the line's first physical line */
};

struct inf_section {
	char *name; /* as written; compared case-insensitively */
	struct inf_line *lines;
	size_t n_lines;
	unsigned line; /* of its first header */
};

struct inf {
	struct inf_section *sections; /* a section written twice is merged */
	size_t n_sections;
};

/* Decodes (BOM sniffing) and parses an INF. */
int inf_parse(const void *buf, size_t len, struct inf **ret, char **reterr_msg);
/* Reads path beneath dir_fd (AT_FDCWD: a plain path; at most INF_MAX_SIZE). */
int inf_load_at(int dir_fd, const char *path, struct inf **ret, char **reterr_msg);
void inf_free(struct inf *inf);
static inline void inf_freep(struct inf **i)
{
	inf_free(*i);
}
#define _cleanup_inf_ __attribute__((__cleanup__(inf_freep)))

/* Case-insensitive lookups; NULL when absent. */
const struct inf_section *inf_find_section(const struct inf *inf, const char *name);
/* First value of the first line with this key in the section. */
const char *inf_get(const struct inf *inf, const char *section, const char *key);

/* The facts about a driver package. */
struct inf_driver {
	char *class;
	char *class_guid; /* may be NULL */
	char *provider;
	char *driver_date;    /* "MM/DD/YYYY" */
	char *driver_version; /* "w.x.y.z" */
	char *catalog_file;   /* CatalogFile=, or the first decorated one; may be NULL */
	char **catalog_files; /* every CatalogFile[.decoration] value, NULL-terminated */
	char **architectures; /* "amd64", "x86", "arm64", ... from [Manufacturer] */
	char **hardware_ids;  /* from the models sections, first seen first, unique */
};

/* Extracts them; a missing [Version] or [Manufacturer], a bad DriverVer or
 * a models section named in [Manufacturer] but absent are errors. */
int inf_driver_info(const struct inf *inf, struct inf_driver **ret, char **reterr_msg);
void inf_driver_free(struct inf_driver *d);
static inline void inf_driver_freep(struct inf_driver **d)
{
	inf_driver_free(*d);
}
#define _cleanup_inf_driver_ __attribute__((__cleanup__(inf_driver_freep)))
