/* SPDX-License-Identifier: MIT */
/*
 * deb.c - a .deb's control fields through libarchive: the outer ar archive,
 * then the control.tar.{gz,xz,zst} member read into memory and its ./control.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/trust/deb.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define RELATIONS_MAX 4096

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}
#define _cleanup_archive_ _cleanup_(archive_freep)

/* Reads the current entry's data (at most max bytes) into a NUL-terminated
 * buffer. -EFBIG when larger. */
static int read_entry(struct archive *a, struct archive_entry *e, size_t max, char **ret,
		      size_t *ret_len)
{
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	if (size < 0 || (uint64_t)size > max)
		return size < 0 ? -EBADMSG : -EFBIG;
	_cleanup_free_ char *buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	la_ssize_t n = archive_read_data(a, buf, (size_t)size);
	if (n != size)
		return -EBADMSG;
	buf[size] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = (size_t)size;
	return 0;
}

/* Splits a relation field at commas: "a (>= 1), b | c" -> "a (>= 1)", "b | c". */
static int split_relations(const char *value, char ***list)
{
	_cleanup_free_ char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *s = strstrip(t);
		if (!*s)
			continue;
		if (strv_length(*list) >= RELATIONS_MAX)
			return -E2BIG;
		/* folded lines: white space runs become one space */
		for (char *p = s; *p; p++)
			if (*p == '\n' || *p == '\t')
				*p = ' ';
		int r = strv_extend(list, s);
		if (r < 0)
			return r;
	}
	return 0;
}

int deb_control_parse(const char *text, struct catalog_deb **ret, char **reterr_msg)
{
	_cleanup_free_ char *copy = strdup(text);
	struct catalog_deb *d = calloc(1, sizeof(*d));
	int r = 0;
	if (!copy || !d) {
		free(d);
		return -ENOMEM;
	}
	/* deb822: "Field: value", continuation lines start with white space */
	for (char *line = copy, *next; line && r >= 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line == ' ' || *line == '\t' || !*line)
			continue; /* a continuation of a field not read */
		/* fold the indented lines that continue this field into it */
		while (next && (*next == ' ' || *next == '\t')) {
			char *nl = strchr(next, '\n');
			next[-1] = ' ';
			if (nl)
				*nl = '\0';
			next = nl ? nl + 1 : NULL;
		}
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		const char *field = line;
		char *value = strstrip(colon + 1);
		if (streq(field, "Package"))
			r = (d->name = strdup(value)) ? 0 : -ENOMEM;
		else if (streq(field, "Version"))
			r = (d->version = strdup(value)) ? 0 : -ENOMEM;
		else if (streq(field, "Architecture"))
			r = (d->arch = strdup(value)) ? 0 : -ENOMEM;
		else if (streq(field, "Provides"))
			r = split_relations(value, &d->provides);
		else if (streq(field, "Depends") || streq(field, "Pre-Depends"))
			r = split_relations(value, &d->depends);
	}
	if (r >= 0 && (!d->provides && !(d->provides = calloc(1, sizeof(char *)))))
		r = -ENOMEM;
	if (r >= 0 && (!d->depends && !(d->depends = calloc(1, sizeof(char *)))))
		r = -ENOMEM;
	if (r >= 0 && (!d->name || !d->version || !d->arch || !*d->name || !*d->version))
		r = errmsg_set(reterr_msg, -EBADMSG,
			       "control file lacks Package, Version or Architecture");
	if (r < 0) {
		catalog_deb_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

/* ./control of a control.tar.* held in memory. */
static int control_from_tar(const char *buf, size_t len, char **ret)
{
	_cleanup_archive_ struct archive *a = archive_read_new();
	struct archive_entry *e;
	if (!a)
		return -ENOMEM;
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
		return -EBADMSG;
	for (;;) {
		int k = archive_read_next_header(a, &e);
		if (k == ARCHIVE_EOF)
			return -ENOENT;
		if (k != ARCHIVE_OK)
			return -EBADMSG;
		const char *name = archive_entry_pathname(e);
		if (name && (streq(name, "./control") || streq(name, "control")))
			return read_entry(a, e, DEB_CONTROL_MAX, ret, NULL);
	}
}

int deb_read_control_at(int dir_fd, const char *path, uint64_t max_size, char **ret,
			char **reterr_msg)
{
	_cleanup_close_ int fd = dir_fd == AT_FDCWD ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
						    : fs_open_beneath(dir_fd, path, O_RDONLY, 0);
	_cleanup_archive_ struct archive *a = NULL;
	_cleanup_free_ char *tar = NULL, *control = NULL;
	struct archive_entry *e;
	struct stat st;
	size_t tar_len = 0;
	bool magic = false;
	int r;

	if (fd < 0)
		return errmsg_set(reterr_msg, dir_fd == AT_FDCWD ? -errno : fd, "cannot open '%s'",
				  path);
	if (fstat(fd, &st) < 0)
		return errmsg_set(reterr_msg, -errno, "cannot stat '%s'", path);
	if ((uint64_t)st.st_size > (max_size ? max_size : DEB_MAX_SIZE_DEFAULT))
		return errmsg_set(reterr_msg, -EFBIG, "package '%s' is too large", path);
	a = archive_read_new();
	if (!a)
		return -ENOMEM;
	archive_read_support_format_ar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
		return errmsg_set(reterr_msg, -EBADMSG, "'%s' is not a Debian package: %s", path,
				  archive_error_string(a) ? archive_error_string(a) : "?");
	for (;;) {
		int k = archive_read_next_header(a, &e);
		if (k == ARCHIVE_EOF)
			break;
		if (k != ARCHIVE_OK)
			return errmsg_set(reterr_msg, -EBADMSG, "'%s' is not a Debian package: %s",
					  path,
					  archive_error_string(a) ? archive_error_string(a) : "?");
		const char *name = archive_entry_pathname(e);
		if (!name)
			continue;
		if (streq(name, "debian-binary")) {
			_cleanup_free_ char *v = NULL;
			r = read_entry(a, e, 64, &v, NULL);
			magic = r >= 0 && startswith(v, "2.");
		} else if (startswith(name, "control.tar")) {
			r = read_entry(a, e, DEB_CONTROL_MAX, &tar, &tar_len);
			if (r < 0)
				return errmsg_set(reterr_msg, r == -EFBIG ? r : -EBADMSG,
						  "package '%s': bad control member '%s'", path,
						  name);
			break;
		}
	}
	if (!magic || !tar)
		return errmsg_set(
			reterr_msg, -EBADMSG,
			"'%s' is not a Debian package (no debian-binary 2.x or control.tar)", path);
	r = control_from_tar(tar, tar_len, &control);
	if (r < 0)
		return errmsg_set(reterr_msg, r == -ENOMEM ? r : -EBADMSG,
				  "package '%s': no readable control file in its control.tar",
				  path);
	*ret = TAKE_PTR(control);
	return 0;
}

int deb_read_at(int dir_fd, const char *path, uint64_t max_size, struct catalog_deb **ret,
		char **reterr_msg)
{
	_cleanup_free_ char *control = NULL, *why = NULL;
	int r = deb_read_control_at(dir_fd, path, max_size, &control, reterr_msg);
	if (r < 0)
		return r;
	r = deb_control_parse(control, ret, &why);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "package '%s': %s", path,
				  why ? why : "bad control");
	return 0;
}
