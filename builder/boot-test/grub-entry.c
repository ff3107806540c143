/* SPDX-License-Identifier: MIT */
/*
 * grub-entry.c - the kernel a GRUB disk boots, for a boot that must add to
 * its command line (entry.h): the root partition copied out of the image
 * (qemu-img convert, sparse, any format), grub.cfg read from its ext4 with
 * libext2fs, the default menu entry's `linux` and `initrd` lines taken,
 * and those files copied out, symlinks (/vmlinuz) followed: all through
 * the builder's ext4 reader (builder/image/fs-ext4.h). Reads what
 * `enlighten build` writes and what grub-mkconfig writes alike.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/boot-test/entry.h"
#include "builder/image/fs-ext4.h"
#include "builder/image/grubenv.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define SECTOR 512u
#define GPT_HEAD_BYTES (34u * SECTOR)
#define GRUB_CFG_MAX (1024u * 1024u)
#define BOOT_FILE_MAX (512ULL * 1024u * 1024u)
#define COPY_CHUNK (1024u * 1024u)

/* 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 (root, x86-64) as stored on disk */
static const uint8_t root_guid[16] = { 0xe3, 0xbc, 0x68, 0x4f, 0xcd, 0xe8, 0xb1, 0x4d,
				       0x96, 0xe7, 0xfb, 0xca, 0xf9, 0x84, 0xb7, 0x09 };
static const char *const grub_cfgs[] = { "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg" };

struct grub_entry {
	char *title, *id, *linux_path, *args, *efi;
	char **initrds;
};

static void grub_entry_done(struct grub_entry *e)
{
	free(e->title);
	free(e->id);
	free(e->linux_path);
	free(e->args);
	free(e->efi);
	strv_free(e->initrds);
	*e = (struct grub_entry){};
}

/* The next word of a grub.cfg line at *p, quotes and backslashes undone;
 * NULL at the end of the line. */
static char *next_word(const char **p)
{
	const char *s = *p + strspn(*p, " \t");
	char *w = malloc(strlen(s) + 1), *o = w;
	char quote = 0;
	if (!w || !*s) {
		free(w);
		*p = s;
		return NULL;
	}
	for (; *s && (quote || (*s != ' ' && *s != '\t')); s++) {
		if (quote && *s == quote)
			quote = 0;
		else if (!quote && (*s == '\'' || *s == '"'))
			quote = *s;
		else if (*s == '\\' && s[1] && quote != '\'')
			*o++ = *++s;
		else
			*o++ = *s;
	}
	*o = '\0';
	*p = s;
	return w;
}

/* "menuentry 'TITLE' [options] --id ID {" */
static int menuentry_start(const char *line, struct grub_entry *e)
{
	const char *p = line;
	free(next_word(&p)); /* menuentry */
	e->title = next_word(&p);
	if (!e->title)
		return -EBADMSG;
	for (char *w; (w = next_word(&p));) {
		if ((streq(w, "--id") || streq(w, "$menuentry_id_option")) && !e->id)
			e->id = next_word(&p);
		free(w);
	}
	return 0;
}

/* "linux PATH ARGS...", "initrd PATH..." (also linuxefi, initrdefi) and
 * "chainloader PATH". */
static int entry_line(const char *line, struct grub_entry *e)
{
	const char *p = line;
	_cleanup_free_ char *cmd = next_word(&p);
	if (!cmd)
		return 0;
	if ((streq(cmd, "linux") || streq(cmd, "linuxefi")) && !e->linux_path) {
		e->linux_path = next_word(&p);
		_cleanup_free_ char *args = strdup("");
		for (char *w; args && (w = next_word(&p));) {
			char *n = strjoin(args, *args ? " " : "", w);
			free(w);
			free(args);
			args = n;
		}
		if (!e->linux_path || !args)
			return -ENOMEM;
		e->args = TAKE_PTR(args);
	} else if (streq(cmd, "chainloader") && !e->efi) {
		e->efi = next_word(&p);
	} else if ((streq(cmd, "initrd") || streq(cmd, "initrdefi")) && !e->initrds) {
		for (char *w; (w = next_word(&p));) {
			int r = strv_extend(&e->initrds, w);
			free(w);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

#define GRUB_ENTRIES_MAX 256

/* The top-level menu entries of grub.cfg and its last `set default=`. */
static int grub_cfg_parse(char *text, struct grub_entry *v, size_t *ret_n, char **ret_def)
{
	_cleanup_free_ char *def = NULL;
	unsigned depth = 0;
	size_t n = 0;
	struct grub_entry *cur = NULL;
	int r = 0;

	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && r >= 0; l = strtok_r(NULL, "\n", &save)) {
		l = strstrip(l);
		if (cur && depth == 1 && streq(l, "}")) {
			cur = NULL;
			depth--;
		} else if (cur) {
			r = entry_line(l, cur);
		} else if (startswith(l, "set default=")) {
			const char *p = l + strlen("set default=");
			char *w = next_word(&p);
			if (w && w[0] == '$') /* grubenv's next_entry: set when booted */
				free(w);
			else {
				free(def);
				def = w;
			}
		} else if (startswith(l, "menuentry ") && depth == 0) {
			if (n == GRUB_ENTRIES_MAX)
				return -E2BIG;
			cur = &v[n++];
			r = menuentry_start(l, cur);
			depth++;
		} else if (endswith(l, "{")) {
			depth++; /* a submenu: its entries are not the default's */
		} else if (streq(l, "}") && depth > 0) {
			depth--;
		}
	}
	*ret_n = n;
	*ret_def = TAKE_PTR(def);
	return r;
}

/* The entry GRUB boots by default: `set default=` as a number (counting
 * the top-level entries), an id or a title; else the first. One without a
 * `linux` line (a chain-loader: Xen, Windows) gives way to the first that
 * has one. Returns the index, or -ENOENT. */
static int grub_pick(const struct grub_entry *v, size_t n, const char *def)
{
	size_t pick = 0;
	char *end = NULL;
	unsigned long k = def ? strtoul(def, &end, 10) : 0;
	if (def && end != def && !*end)
		pick = k;
	else
		for (size_t i = 0; def && i < n; i++)
			if (streq(def, v[i].id ?: "") || streq(def, v[i].title)) {
				pick = i;
				break;
			}
	if (pick < n && v[pick].linux_path)
		return (int)pick;
	for (size_t i = 0; i < n; i++)
		if (v[i].linux_path)
			return (int)i;
	return -ENOENT;
}

/* Copies the files at paths (symlinks followed inside the image) into
 * dest, one after the other; each at most BOOT_FILE_MAX bytes. */
static int ext_copy_out(struct ext4 *e, char **paths, const char *dest)
{
	_cleanup_close_ int fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	_cleanup_free_ char *chunk = malloc(COPY_CHUNK);
	if (fd < 0)
		return -errno;
	if (!chunk)
		return -ENOMEM;
	for (char **p = paths; *p; p++) {
		_cleanup_(ext4_file_closep) struct ext4_file *f = NULL;
		uint64_t size;
		int r = ext4_file_open_follow(e, *p, &f, &size);
		if (r < 0)
			return r;
		if (size > BOOT_FILE_MAX)
			return -EFBIG;
		for (uint64_t off = 0; off < size; off += COPY_CHUNK) {
			size_t n = (size_t)MIN((uint64_t)COPY_CHUNK, size - off);
			if ((r = ext4_file_pread(f, chunk, n, off)) < 0 ||
			    (r = fs_write_all(fd, chunk, n)) < 0)
				return r;
		}
	}
	return 0;
}

/* An option string of --image-opts names a file with ',' doubled. */
static char *opts_escape(const char *path)
{
	char *o = malloc(strlen(path) * 2 + 1), *q = o;
	if (!o)
		return NULL;
	for (const char *p = path; *p; p++) {
		*q++ = *p;
		if (*p == ',')
			*q++ = ',';
	}
	*q = '\0';
	return o;
}

/* The image's root partition, copied into the sparse raw file out. */
static int root_extract(const char *image, const char *format, const char *dir, const char *out,
			uint64_t *ret_offset, char **reterr_msg)
{
	_cleanup_free_ char *head = strjoin(dir, "/gpt-head.raw"), *buf = NULL;
	_cleanup_free_ char *file = opts_escape(image), *spec = NULL;
	size_t n = 0, need = GPT_HEAD_BYTES;
	uint64_t first = 0, count = 0;
	int r = -ENOENT;

	if (!head || !file)
		return -ENOMEM;
	for (int tries = 0; tries < 2; tries++) {
		r = boot_image_dd(image, format, head, SECTOR, 0, (need + SECTOR - 1) / SECTOR,
				  reterr_msg);
		if (r < 0)
			return r;
		_cleanup_close_ int fd = open(head, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		free(buf);
		buf = NULL;
		r = fs_read_fd(fd, 1024 * 1024, &buf, &n);
		if (r >= 0)
			r = gpt_find_type((const uint8_t *)buf, n, root_guid, &first, &count,
					  &need);
		if (r != -ENOSPC)
			break;
	}
	(void)unlink(head);
	if (r < 0)
		return errmsg_set(reterr_msg, -ENOENT,
				  "'%s' has no root partition (x86-64) in its GPT", image);
	bool raw = streq(format, "raw");
	if (asprintf(&spec, "driver=raw,offset=%" PRIu64 ",size=%" PRIu64 ",%s%s%s", first * SECTOR,
		     count * SECTOR, raw ? "file.driver=file,file.filename=" : "file.driver=",
		     raw ? "" : format, raw ? file : "") < 0)
		return -ENOMEM;
	if (!raw) {
		char *s = NULL;
		if (asprintf(&s, "%s,file.file.filename=%s", spec, file) < 0)
			return -ENOMEM;
		free(spec);
		spec = s;
	}
	(void)unlink(out);
	*ret_offset = first * SECTOR;
	char *argv[] = {
		"qemu-img", "convert", "--image-opts", spec, "-O", "raw", (char *)out, NULL
	};
	return boot_run_tool(argv, NULL, reterr_msg);
}

static int root_open(const char *image, const char *format, const char *dir, struct ext4 **ret,
		     uint64_t *ret_offset, char **reterr_msg)
{
	_cleanup_free_ char *raw = strjoin(dir, "/root.raw");
	if (!raw)
		return -ENOMEM;
	int r = root_extract(image, format, dir, raw, ret_offset, reterr_msg);
	if (r >= 0 && (r = ext4_open(raw, 0, false, 0, ret, reterr_msg)) < 0)
		errmsg_prefix(reterr_msg, r, "cannot open the root filesystem of '%s'", image);
	(void)unlink(raw); /* libext2fs keeps it open */
	return r;
}

int boot_root_open(const char *image, const char *format, const char *dir, struct ext4 **ret,
		   char **reterr_msg)
{
	uint64_t offset;
	return root_open(image, format, dir, ret, &offset, reterr_msg);
}

/* The first menu entry that chain-loads xen*.efi; -ENOENT. */
static int grub_pick_xen(const struct grub_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].efi && boot_efi_is_xen(v[i].efi))
			return (int)i;
	return -ENOENT;
}

static int grub_read(struct ext4 *e, const char *image, enum boot_entry_kind kind,
		     struct grub_entry *v, size_t *ret_n, int *ret_pick, const char **ret_cfg,
		     char **reterr_msg)
{
	_cleanup_free_ char *text = NULL, *def = NULL;
	const char *cfg = NULL;
	int r = -ENOENT;
	for (size_t i = 0; i < ELEMENTSOF(grub_cfgs) && r == -ENOENT; i++)
		r = ext4_read_file_follow(e, cfg = grub_cfgs[i], GRUB_CFG_MAX, &text, NULL);
	if (r == -ENOENT && kind == BOOT_ENTRY_XEN)
		return errmsg_set(reterr_msg, r,
				  "'%s' has no Xen entry: none of its systemd-boot entries starts "
				  "xen*.efi, and it has no grub.cfg; build it with a [Xen] section",
				  image);
	if (r == -ENOENT)
		return errmsg_set(reterr_msg, r,
				  "'%s' has neither a systemd-boot entry nor a grub.cfg", image);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read '%s' in the root of '%s': %s", cfg,
				  image, strerror(-r));
	r = grub_cfg_parse(text, v, ret_n, &def);
	if (r < 0)
		return errmsg_set(reterr_msg, r == -ENOMEM ? r : -EBADMSG,
				  "cannot parse '%s' in the root of '%s': %s", cfg, image,
				  strerror(-r));
	*ret_cfg = cfg;
	if (kind == BOOT_ENTRY_XEN) {
		*ret_pick = grub_pick_xen(v, *ret_n);
		if (*ret_pick < 0)
			return errmsg_set(
				reterr_msg, -ENOENT,
				"'%s' in the root of '%s' has no Xen entry (a menu entry "
				"that chain-loads xen*.efi); build it with a [Xen] section",
				cfg, image);
		return 0;
	}
	*ret_pick = grub_pick(v, *ret_n, def);
	if (*ret_pick < 0)
		return errmsg_set(reterr_msg, -ENOENT,
				  "'%s' in the root of '%s' has no menu entry with a 'linux' line",
				  cfg, image);
	return 0;
}

/* The default entry's kernel and initrd, copied into dir. */
static int grub_plain(struct ext4 *fs, const char *image, const char *dir, struct grub_entry *g,
		      struct boot_entry *e, char **reterr_msg)
{
	int r = 0;
	e->id = strdup("grub.cfg");
	e->is_default = true; /* GRUB's own default; nothing to change on the disk */
	e->title = TAKE_PTR(g->title);
	e->options = TAKE_PTR(g->args);
	e->kernel = strjoin(dir, "/linux");
	e->initrd = g->initrds ? strjoin(dir, "/initrd") : NULL;
	if (!e->id || !e->options || !e->kernel || (g->initrds && !e->initrd))
		return -ENOMEM;
	char *kernel[] = { g->linux_path, NULL };
	if ((r = ext_copy_out(fs, kernel, e->kernel)) < 0)
		return errmsg_set(reterr_msg, r, "cannot copy the kernel '%s' out of '%s': %s",
				  g->linux_path, image, strerror(-r));
	if (g->initrds && (r = ext_copy_out(fs, g->initrds, e->initrd)) < 0)
		return errmsg_set(reterr_msg, r, "cannot copy the initrd '%s' out of '%s': %s",
				  g->initrds[0], image, strerror(-r));
	/* where they are in the root: a Xen guest's dom0 runs that root */
	e->on_root = true;
	e->linux_path = TAKE_PTR(g->linux_path);
	e->initrd_paths = TAKE_PTR(g->initrds);
	return 0;
}

/* The Xen entry: xen.efi and its xen.cfg on the ESP, and the grubenv beside
 * cfg in which `grub-reboot` would name it (root_offset: the root
 * partition's place in the image). */
static int grub_xen(struct ext4 *fs, const char *image, const char *format, const char *dir,
		    const char *cfg, uint64_t root_offset, struct grub_entry *g,
		    struct boot_entry *e, char **reterr_msg)
{
	int r = boot_entry_fill_efi(image, format, dir, g->efi, e, reterr_msg);
	if (r < 0)
		return r;
	e->id = strdup(g->id ?: g->title);
	e->title = TAKE_PTR(g->title);
	_cleanup_free_ char *env = strndup(cfg, strrchr(cfg, '/') - cfg + 1);
	char *path = env ? strjoin(env, "grubenv") : NULL;
	free(env);
	env = path;
	if (!e->id || !env)
		return -ENOMEM;
	uint64_t off = 0, size = 0;
	r = ext4_file_place(fs, env, &off, &size);
	if (r >= 0 && size != GRUBENV_SIZE)
		r = -ERANGE;
	if (r == -ENOENT || r == -ERANGE)
		return errmsg_set(
			reterr_msg, -ENOENT,
			"'%s' has no GRUB environment block '%s' (%u bytes in one run) "
			"in which next_entry could name its Xen entry '%s'; build it "
			"again with this enlighten, or run 'grub-editenv %s create' in it",
			image, env, GRUBENV_SIZE, e->id, env);
	if (r >= 0)
		r = ext4_read_file(fs, env, GRUBENV_SIZE, &e->grubenv, &e->grubenv_size);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read '%s' in the root of '%s': %s", env,
				  image, strerror(-r));
	e->grubenv_offset = root_offset + off;
	return 0;
}

int boot_entry_extract_grub(const char *image, const char *format, const char *dir,
			    enum boot_entry_kind kind, struct boot_entry **ret, char **reterr_msg)
{
	struct grub_entry *v = calloc(GRUB_ENTRIES_MAX, sizeof(*v));
	struct boot_entry *e = calloc(1, sizeof(*e));
	struct ext4 *fs = NULL;
	const char *cfg = NULL;
	uint64_t root_offset = 0;
	size_t n = 0;
	int pick = -1, r;

	r = v && e ? 0 : -ENOMEM;
	if (r >= 0)
		r = root_open(image, format, dir, &fs, &root_offset, reterr_msg);
	if (r >= 0)
		r = grub_read(fs, image, kind, v, &n, &pick, &cfg, reterr_msg);
	if (r >= 0)
		r = kind == BOOT_ENTRY_XEN ? grub_xen(fs, image, format, dir, cfg, root_offset,
						      &v[pick], e, reterr_msg)
					   : grub_plain(fs, image, dir, &v[pick], e, reterr_msg);
	ext4_abort(fs); /* read only: nothing to write out */
	for (size_t i = 0; v && i < n; i++)
		grub_entry_done(&v[i]);
	free(v);
	if (r < 0) {
		boot_entry_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

int boot_entry_find(const char *image, const char *format, const char *dir,
		    enum boot_entry_kind kind, bool grub, struct boot_entry **ret,
		    char **reterr_msg)
{
	int r = boot_entry_extract(image, format, dir, kind, ret, reterr_msg);
	if (r != -ENOENT || !grub)
		return r;
	errmsg_take(reterr_msg, r, NULL); /* no systemd-boot entry: not the story now */
	return boot_entry_extract_grub(image, format, dir, kind, ret, reterr_msg);
}
