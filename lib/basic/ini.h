/* SPDX-License-Identifier: MIT */
/*
 * ini.h - the one INI reader: image recipes, the profile matrix and
 * firstboot.conf. The caller declares its keys in a table; the reader
 * splits the text into lines, finds each key's row, calls the row's parse
 * function with the value, and words every error it finds itself (syntax,
 * limits, unknown sections and keys, duplicates) one way for all three:
 *
 *     recipe 'typo.conf' line 3: unknown key 'Sise' (did you mean 'Size'?)
 *
 * The syntax (docs/recipe-format.md, docs/profile-format.md):
 * - "[Section]" lines, then "Key=value" lines; blanks around the key and
 *   the value are dropped; a UTF-8 byte order mark at the start is skipped;
 *   a line ends at "\n" or "\r\n", the last one perhaps at the end of file;
 * - a line whose first non-blank is '#' or ';' is a comment, and so is the
 *   rest of a line from a ';' that follows a blank;
 * - a line that starts with a blank, after a key of the same section,
 *   continues that key: its parse function is called again with the line as
 *   the value, and ini_continuation() says so.
 * Bounded: at most syntax->max_size bytes, syntax->max_line bytes a line; a
 * NUL byte is refused. The first error stops the read.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/basic/macro.h"

struct ini;

struct ini_key {
	const char *section; /* NULL: any section, and before the first */
	const char *name;
	/* Stores value; returns >= 0, or -errno, with ini_fail()'s message
	 * or, for -EINVAL without one, "bad value 'V' for 'KEY'". */
	int (*parse)(struct ini *ini, const char *value, void *field);
	size_t offset; /* field is this far into ini_read()'s base */
	int arg;       /* the caller's own: what kind of value, say */
};

enum ini_duplicates {
	INI_DUPLICATES_PARSE,  /* each line goes to the parse function (which may
				* replace, extend or refuse) */
	INI_DUPLICATES_REFUSE, /* a key's second line (not a continuation) is an
				* error; lists continue on indented lines */
};

struct ini_syntax {
	const char *what; /* "recipe", "profile": the message's first word; NULL: none */
	const struct ini_key *keys;
	size_t n_keys;
	/* where keys before the first "[Section]" line belong; NULL: refused */
	const char *default_section;
	enum ini_duplicates duplicates;
	size_t max_size, max_line; /* bytes; the line without its end */
};

/* Reads the size bytes at text (a NUL byte there is an error), called file
 * in messages ("WHAT 'FILE' line N: ..."). userdata is for the parse
 * functions (ini_userdata()); each field is base + the row's offset.
 * Returns 0, or -errno: -EINVAL for anything in the text, with the message
 * in *reterr_msg; a parse function's own error as it returned it. */
int ini_read(const struct ini_syntax *syntax, const char *file, const char *text, size_t size,
	     void *base, void *userdata, char **reterr_msg);

/* For parse functions: the reader's state at the current line. */
void *ini_userdata(const struct ini *ini);
unsigned ini_line(const struct ini *ini);
bool ini_continuation(const struct ini *ini); /* the line continues the key before */
const struct ini_key *ini_key(const struct ini *ini);
const char *ini_section(const struct ini *ini); /* "" before the first header */
char **ini_errmsg(struct ini *ini); /* where messages go (a nested read writes there too) */

/* Sets the message "WHAT 'FILE' line N: <fmt>"; returns -EINVAL. */
int ini_fail(struct ini *ini, const char *fmt, ...) _printf_(2, 3);
