/* SPDX-License-Identifier: MIT */
/*
 * profiles-file.c - the profiles a Windows payload declares beside itself
 * (profiles-file.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/payload/profiles-file.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"

static bool name_valid(const char *s)
{
	if (!*s || strlen(s) > 64 || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* One name of line n: valid, and known to the matrix when there is one. */
static int check_name(const char *rel, unsigned n, const char *name,
		      const struct profile_set *matrix, char **reterr_msg)
{
	if (!name_valid(name))
		return errmsg_set(reterr_msg, -EINVAL,
				  "'%s' line %u: '%s' is not a profile name (want a-z, 0-9, '-')",
				  rel, n, name);
	if (!matrix || profile_set_find(matrix, name))
		return 0;
	struct suggestion sg = SUGGESTION_INIT(name);
	for (size_t i = 0; i < profile_set_size(matrix); i++)
		suggestion_add(&sg, profile_name(profile_set_get(matrix, i)));
	if (sg.best)
		return errmsg_set(reterr_msg, -ENOENT,
				  "'%s' line %u: unknown profile '%s' (did you mean '%s'?)", rel, n,
				  name, sg.best);
	return errmsg_set(reterr_msg, -ENOENT,
			  "'%s' line %u: unknown profile '%s'; the profiles are those of the "
			  "installed matrix",
			  rel, n, name);
}

int profiles_file_read(int dir_fd, const char *rel, const struct profile_set *matrix, char ***l,
		       char **reterr_msg)
{
	_cleanup_free_ char *text = NULL;
	int r = fs_read_file_at(dir_fd, rel, PROFILES_FILE_MAX, &text, NULL);
	if (r == -EFBIG)
		return errmsg_set(reterr_msg, r, "'%s' is larger than %d bytes", rel,
				  PROFILES_FILE_MAX);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read '%s': %m", rel);
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		if ((*c < 0x20 && !strchr("\t\r\n", *c)) || *c == 0x7f)
			return errmsg_set(reterr_msg, -EINVAL, "'%s' has control characters", rel);

	unsigned names = 0;
	char *s = text;
	for (unsigned line = 1; s; line++) {
		char *next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		char *hash = strchr(s, '#');
		if (hash)
			*hash = '\0';
		for (char *ws = NULL, *w = strtok_r(s, " \t\r", &ws); w;
		     w = strtok_r(NULL, " \t\r", &ws)) {
			if (++names > PROFILES_FILE_MAX_NAMES)
				return errmsg_set(reterr_msg, -E2BIG,
						  "'%s' names more than %d profiles", rel,
						  PROFILES_FILE_MAX_NAMES);
			r = check_name(rel, line, w, matrix, reterr_msg);
			if (r < 0)
				return r;
			if (!strv_contains(*l, w) && strv_extend(l, w) < 0)
				return errmsg_oom(reterr_msg);
		}
		s = next;
	}
	return 0;
}
