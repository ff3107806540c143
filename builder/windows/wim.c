/* SPDX-License-Identifier: MIT */
/*
 * wim.c - the OEM's install.wim through wimlib: select one image, read
 * files out of it, add host trees to it, and write the result as a new WIM
 * or apply it to an NTFS volume (wimlib's NTFS mode writes through
 * libntfs-3g, so neither a mount nor root is needed).
 *
 * Windows paths are case-insensitive: wimlib is initialised so, and paths
 * may use either separator.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wimlib.h>

#include "builder/windows/windows.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

struct win_wim {
	WIMStruct *wim;
	int image;
	char *path; /* as messages name it: the user's file, not a temporary copy */
};

static int wim_err(char **reterr_msg, int code, const char *what, const char *path)
{
	errmsg_set(reterr_msg, 0, "%s '%s': %s", what, path,
		   wimlib_get_error_string((enum wimlib_error_code)code));
	switch (code) {
	case WIMLIB_ERR_NOMEM:
		return -ENOMEM;
	case WIMLIB_ERR_OPEN:
	case WIMLIB_ERR_PATH_DOES_NOT_EXIST:
	case WIMLIB_ERR_INVALID_IMAGE:
		return -ENOENT;
	case WIMLIB_ERR_NOT_A_WIM_FILE:
	case WIMLIB_ERR_UNKNOWN_VERSION:
	case WIMLIB_ERR_INVALID_HEADER:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

static int wim_init(void)
{
	static bool done;
	if (done)
		return 0;
	int code = wimlib_global_init(WIMLIB_INIT_FLAG_DEFAULT_CASE_INSENSITIVE);
	if (code != 0)
		return -EIO;
	wimlib_set_print_errors(false); /* errors come back as codes and strings */
	done = true;
	return 0;
}

int win_wim_open(const char *path, const char *name, const char *image, bool writable,
		 struct win_wim **ret, char **reterr_msg)
{
	int r = wim_init();
	if (r < 0)
		return r;

	_cleanup_free_ struct win_wim *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	int code = wimlib_open_wim(path, writable ? WIMLIB_OPEN_FLAG_WRITE_ACCESS : 0, &w->wim);
	if (code != 0)
		return wim_err(reterr_msg, code, "cannot open WIM", name ?: path);
	w->path = strdup(name ?: path);
	if (!w->path) {
		wimlib_free(w->wim);
		return -ENOMEM;
	}
	w->image = wimlib_resolve_image(w->wim, image ?: "1");
	if (w->image == WIMLIB_NO_IMAGE || w->image == WIMLIB_ALL_IMAGES) {
		struct wimlib_wim_info info = {};
		wimlib_get_wim_info(w->wim, &info);
		win_wim_free(TAKE_PTR(w));
		return errmsg_set(reterr_msg, -ENOENT,
				  "WIM '%s' has no image '%s' (it has %u; 'wiminfo' lists them)",
				  name ?: path, image ?: "1", info.image_count);
	}
	*ret = TAKE_PTR(w);
	return 0;
}

void win_wim_free(struct win_wim *w)
{
	if (!w)
		return;
	wimlib_free(w->wim);
	free(w->path);
	free(w);
}

int win_wim_image_index(const struct win_wim *w)
{
	return w->image;
}

const char *win_wim_image_name(const struct win_wim *w)
{
	return wimlib_get_image_name(w->wim, w->image);
}

/* The first entry beneath a path that is neither a plain file nor a
 * directory: a reparse point (symlink, junction, ...) would come out as a
 * host symlink and be followed, a FIFO would hang its reader. */
struct plain_check {
	char bad[512];
	const char *why;
};

static int plain_check_one(const struct wimlib_dir_entry *d, void *userdata)
{
	struct plain_check *c = userdata;
	if (d->attributes & WIMLIB_FILE_ATTRIBUTE_REPARSE_POINT)
		c->why = "is a reparse point (a link or junction), not a regular file";
	else if (d->unix_mode != 0 && !S_ISREG(d->unix_mode) && !S_ISDIR(d->unix_mode))
		c->why = "is not a regular file or a folder";
	else
		return 0;
	snprintf(c->bad, sizeof(c->bad), "%s", d->full_path ? d->full_path : "?");
	return 1;
}

/* What wimlib wrote beneath dest_dir: plain files and directories only. */
static const char *extracted_bad;
static int extracted_one(const char *p, const struct stat *st, int type _unused_,
			 struct FTW *ftw _unused_)
{
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))
		return 0;
	extracted_bad = p;
	return 1;
}

int win_wim_extract_file(struct win_wim *w, const char *wim_path, const char *dest_dir,
			 char **reterr_msg)
{
	struct plain_check check = {};
	int code = wimlib_iterate_dir_tree(w->wim, w->image, wim_path,
					   WIMLIB_ITERATE_DIR_TREE_FLAG_RECURSIVE, plain_check_one,
					   &check);
	if (check.why)
		return errmsg_set(reterr_msg, -EPERM,
				  "WIM '%s': '%s' %s; refusing to extract it (only regular files "
				  "are read out of the WIM)",
				  w->path, check.bad, check.why);
	if (code != 0) {
		_cleanup_free_ char *what = strjoin("cannot read '", wim_path, "' in WIM");
		return wim_err(reterr_msg, code, what ?: "cannot read WIM", w->path);
	}
	const char *paths[] = { wim_path };
	code = wimlib_extract_paths(w->wim, w->image, dest_dir, paths, 1,
				    WIMLIB_EXTRACT_FLAG_NO_PRESERVE_DIR_STRUCTURE);
	if (code != 0) {
		_cleanup_free_ char *what = strjoin("cannot extract '", wim_path, "' from WIM");
		return wim_err(reterr_msg, code, what ?: "cannot extract from WIM", w->path);
	}
	extracted_bad = NULL;
	if (nftw(dest_dir, extracted_one, 16, FTW_PHYS) != 0)
		return errmsg_set(reterr_msg, -EPERM,
				  "WIM '%s': '%s' came out as '%s', not a regular file; refusing "
				  "to read it",
				  w->path, wim_path, extracted_bad ? extracted_bad : "?");
	return 0;
}

int win_wim_add(struct win_wim *w, const char *src, const char *wim_path, char **reterr_msg)
{
	struct wimlib_update_command cmd = {
		.op = WIMLIB_UPDATE_OP_ADD,
		.add = {
			.fs_source_path = (char *)src,
			.wim_target_path = (char *)wim_path,
			.config_file = NULL,
			.add_flags = 0,
		},
	};
	int code = wimlib_update_image(w->wim, w->image, &cmd, 1, 0);
	if (code != 0)
		return wim_err(reterr_msg, code, "cannot add to WIM image from", src);
	return 0;
}

int win_wim_overwrite(struct win_wim *w, char **reterr_msg)
{
	/* appends the new data and metadata, as wimupdate does */
	int code = wimlib_overwrite(w->wim, WIMLIB_WRITE_FLAG_RETAIN_GUID, 0);
	if (code != 0)
		return wim_err(reterr_msg, code, "cannot write the updated copy of WIM", w->path);
	return 0;
}

/* UTF-16LE of an ASCII string, for searching the WIM's XML. */
static size_t utf16(const char *s, char *out)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		out[2 * i] = s[i], out[2 * i + 1] = 0;
	return 2 * n;
}

/* Overwrites the 8 hex digits after the next ASCII pattern at or past *p. */
static int put_hex(char *buf, size_t len, char **p, const char *pattern, uint32_t v)
{
	char pat[128], hex[9];
	size_t n = utf16(pattern, pat);
	char *at = memmem(*p, len - (size_t)(*p - buf), pat, n);
	if (!at || (size_t)(at - buf) + n + 16 > len)
		return -EBADMSG;
	snprintf(hex, sizeof(hex), "%08X", v);
	utf16(hex, at + n);
	*p = at + n + 16;
	return 0;
}

int win_wim_pin_time(const char *path, int image, int64_t epoch)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	uint8_t hdr[0x60];
	if (fd < 0)
		return negative_errno();
	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || memcmp(hdr, "MSWIM\0\0\0", 8))
		return -EBADMSG;
	uint64_t off = 0, size = 0;
	for (int i = 7; i >= 0; i--) {
		off = off << 8 | hdr[0x50 + i];
		size = size << 8 | hdr[0x58 + i];
	}
	if (size == 0 || size > 64 * 1024 * 1024 || (hdr[0x4f] & 0x04) /* compressed */)
		return -EBADMSG;
	_cleanup_free_ char *xml = malloc(size);
	if (!xml)
		return -ENOMEM;
	if (pread(fd, xml, size, (off_t)off) != (ssize_t)size)
		return -EIO;

	char index[64], pat[128];
	snprintf(index, sizeof(index), "<IMAGE INDEX=\"%d\">", image);
	size_t n = utf16(index, pat);
	char *p = memmem(xml, size, pat, n);
	if (!p)
		return -EBADMSG;
	p += n;
	uint64_t ft = ((uint64_t)epoch + 11644473600ULL) * 10000000ULL; /* FILETIME */
	int r;
	if ((r = put_hex(xml, size, &p, "<LASTMODIFICATIONTIME><HIGHPART>0x", ft >> 32)) < 0 ||
	    (r = put_hex(xml, size, &p, "<LOWPART>0x", ft & 0xffffffffu)) < 0)
		return r;
	if (pwrite(fd, xml, size, (off_t)off) != (ssize_t)size)
		return -EIO;
	return 0;
}

int win_wim_apply_ntfs(struct win_wim *w, const char *volume_path, char **reterr_msg)
{
	int code = wimlib_extract_image(w->wim, w->image, volume_path, WIMLIB_EXTRACT_FLAG_NTFS);
	if (code != 0)
		return wim_err(reterr_msg, code, "cannot apply the WIM image to NTFS volume",
			       volume_path);
	return 0;
}
