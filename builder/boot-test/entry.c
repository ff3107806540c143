/* SPDX-License-Identifier: MIT */
/*
 * entry.c - find the ESP in a disk image's GPT, read systemd-boot's
 * default entry with mtools and copy its kernel and initrd out. The disk is
 * read through `qemu-img dd`, so qcow2 overlays and every other format
 * qemu-img knows work the same as raw files. Follows the Boot Loader
 * Specification type 1 entries: loader/loader.conf `default` (a glob),
 * loader/entries/NAME.conf with `title`, `linux`, `initrd` and `options`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/boot-test/entry.h"
#include "lib/basic/copy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#define SECTOR 512u
#define GPT_HEAD_SECTORS 34u
#define GPT_MAX_BYTES (1024u * 1024u)
#define ENTRY_MAX (64u * 1024u)

/* C12A7328-F81F-11D2-BA4B-00A0C93EC93B as stored on disk (mixed endian). */
static const uint8_t esp_guid[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
				      0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int gpt_find_esp(const uint8_t *buf, size_t n, uint64_t *ret_first, uint64_t *ret_count,
		 size_t *ret_need)
{
	if (n < 2 * SECTOR || memcmp(buf + SECTOR, "EFI PART", 8) != 0)
		return -EBADMSG;
	const uint8_t *h = buf + SECTOR;
	uint64_t entries_lba = le64(h + 72);
	uint32_t count = le32(h + 80), size = le32(h + 84);
	if (entries_lba < 2 || count == 0 || count > 1024 || size < 128 || size > 4096 ||
	    size % 8 != 0 || entries_lba > GPT_MAX_BYTES / SECTOR)
		return -EBADMSG;
	uint64_t end = entries_lba * SECTOR + (uint64_t)count * size;
	if (end > GPT_MAX_BYTES)
		return -EBADMSG;
	if (end > n) {
		if (ret_need)
			*ret_need = (size_t)end;
		return -ENOSPC;
	}
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = buf + entries_lba * SECTOR + (uint64_t)i * size;
		if (memcmp(e, esp_guid, sizeof(esp_guid)) != 0)
			continue;
		uint64_t first = le64(e + 32), last = le64(e + 40);
		if (first == 0 || last < first)
			return -EBADMSG;
		*ret_first = first;
		*ret_count = last - first + 1;
		return 0;
	}
	return -ENOENT;
}

/* Runs a tool; its stdout into *ret_out when asked. A non-zero exit gives
 * -EIO with the tool's stderr in *reterr_msg. */
static int run_tool(char *const argv[], char **ret_out, char **reterr_msg)
{
	struct spawn_opts o = { .stdin_fd = -1,
				.stdout_fd = -1,
				.capture_stdout = ret_out != NULL };
	struct spawn_result res;
	int r = spawn_run(argv, &o, &res);
	if (r == -ENOENT) {
		return errmsg_set(reterr_msg, r, "'%s' not found; install it (qemu-utils, mtools)",
				  argv[0]);
	}
	if (r < 0) {
		return errmsg_set(reterr_msg, r, "cannot run '%s': %s", argv[0], strerror(-r));
	}
	if (res.exit_status != 0) {
		char *e = res.err ? strstrip(res.err) : NULL;
		errmsg_set(reterr_msg, -EIO, "'%s' failed (exit %d)%s%s", argv[0], res.exit_status,
			   e && *e ? ": " : "", e ? e : "");
		spawn_result_done(&res);
		return -EIO;
	}
	if (ret_out)
		*ret_out = TAKE_PTR(res.out);
	spawn_result_done(&res);
	return 0;
}

/* Copies count blocks of bs bytes from skip blocks into the image to a raw file. */
static int image_dd(const char *image, const char *format, const char *out, uint64_t bs,
		    uint64_t skip, uint64_t count, char **reterr_msg)
{
	char a_f[64], a_bs[32], a_skip[48], a_count[48];
	_cleanup_free_ char *a_if = strjoin("if=", image);
	_cleanup_free_ char *a_of = strjoin("of=", out);
	if (!a_if || !a_of)
		return -ENOMEM;
	snprintf(a_f, sizeof(a_f), "%s", format);
	snprintf(a_bs, sizeof(a_bs), "bs=%llu", (unsigned long long)bs);
	snprintf(a_skip, sizeof(a_skip), "skip=%llu", (unsigned long long)skip);
	snprintf(a_count, sizeof(a_count), "count=%llu", (unsigned long long)count);
	(void)unlink(out); /* qemu-img dd refuses nothing, but a stale file would mislead */
	char *argv[] = { "qemu-img", "dd",   "-f",    a_f,  "-O", "raw",
			 a_bs,	     a_skip, a_count, a_if, a_of, NULL };
	return run_tool(argv, NULL, reterr_msg);
}

static int mtools_read(const char *esp, const char *path, char **ret, char **reterr_msg)
{
	_cleanup_free_ char *src = strjoin("::", path);
	if (!src)
		return -ENOMEM;
	char *argv[] = { "mtype", "-i", (char *)esp, src, NULL };
	_cleanup_free_ char *out = NULL;
	int r = run_tool(argv, &out, reterr_msg);
	if (r < 0)
		return r;
	if (strlen(out) > ENTRY_MAX) {
		return errmsg_set(reterr_msg, -EFBIG, "'%s' in the ESP is larger than %u bytes",
				  path, ENTRY_MAX);
	}
	*ret = TAKE_PTR(out);
	return 0;
}

static int mtools_copy(const char *esp, const char *path, const char *dest, char **reterr_msg)
{
	_cleanup_free_ char *src = strjoin("::", path);
	if (!src)
		return -ENOMEM;
	char *argv[] = { "mcopy", "-n", "-o", "-i", (char *)esp, src, (char *)dest, NULL };
	return run_tool(argv, NULL, reterr_msg);
}

/* Splits "key value" lines; calls fn for each. Comments and blanks skipped. */
static int parse_conf(char *text, int (*fn)(const char *key, const char *value, void *u), void *u)
{
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		l = strstrip(l);
		if (*l == '\0' || *l == '#')
			continue;
		char *v = l + strcspn(l, " \t");
		if (*v)
			*v++ = '\0';
		v = strstrip(v);
		int r = fn(l, v, u);
		if (r < 0)
			return r;
	}
	return 0;
}

static int loader_conf_item(const char *key, const char *value, void *u)
{
	char **def = u;
	if (streq(key, "default")) {
		char *d = strdup(value);
		if (!d)
			return -ENOMEM;
		free(*def);
		*def = d;
	}
	return 0;
}

struct entry_parse {
	char *title, *linux_path, *options;
	char **initrds;
};

static int entry_item(const char *key, const char *value, void *u)
{
	struct entry_parse *p = u;
	char *n;
	if (streq(key, "title")) {
		if (!(n = strdup(value)))
			return -ENOMEM;
		free(p->title);
		p->title = n;
	} else if (streq(key, "linux")) {
		if (!(n = strdup(value)))
			return -ENOMEM;
		free(p->linux_path);
		p->linux_path = n;
	} else if (streq(key, "initrd")) {
		return strv_extend(&p->initrds, value);
	} else if (streq(key, "options")) {
		n = p->options ? strjoin(p->options, " ", value) : strdup(value);
		if (!n)
			return -ENOMEM;
		free(p->options);
		p->options = n;
	}
	return 0;
}

/* The entry systemd-boot would pick: among the entries matching the default
 * glob (all when there is none), the one that sorts last by version. */
static const char *pick_entry(char **names, const char *glob)
{
	const char *best = NULL;
	for (char **n = names; n && *n; n++) {
		if (glob && fnmatch(glob, *n, 0) != 0)
			continue;
		if (!best || strverscmp(*n, best) > 0)
			best = *n;
	}
	return best;
}

static int list_entries(const char *esp, char ***ret, char **reterr_msg)
{
	char *argv[] = { "mdir", "-b", "-i", (char *)esp, "::/loader/entries", NULL };
	_cleanup_free_ char *out = NULL;
	_cleanup_strv_free_ char **names = NULL;
	int r = run_tool(argv, &out, reterr_msg);
	if (r < 0)
		return -ENOENT;
	char *save = NULL;
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		l = strstrip(l);
		const char *base = strrchr(l, '/');
		base = base ? base + 1 : l;
		if (!endswith(base, ".conf"))
			continue;
		r = strv_extend(&names, base);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(names);
	return 0;
}

static int concat_files(char **paths, const char *dest)
{
	_cleanup_close_ int out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return negative_errno();
	for (char **p = paths; *p; p++) {
		_cleanup_close_ int in = open(*p, O_RDONLY | O_CLOEXEC);
		if (in < 0)
			return negative_errno();
		int r = copy_stream(in, COPY_SINK_FD(out), UINT64_MAX, NULL, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

void boot_entry_free(struct boot_entry *e)
{
	if (!e)
		return;
	free(e->id);
	free(e->title);
	free(e->kernel);
	free(e->initrd);
	free(e->options);
	free(e);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct boot_entry *, boot_entry_free);

int boot_entry_has_serial_console(const char *options)
{
	_cleanup_free_ char *copy = strdup(options);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		if (startswith(w, "console=ttyS0"))
			return 1;
	return 0;
}

int boot_entry_extract(const char *image, const char *format, const char *dir,
		       struct boot_entry **ret, char **reterr_msg)
{
	_cleanup_free_ char *head = strjoin(dir, "/gpt.raw");
	_cleanup_free_ char *esp = strjoin(dir, "/esp.raw");
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *loader_conf = NULL, *glob = NULL, *entry_text = NULL,
			    *entry_path = NULL;
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_(boot_entry_freep) struct boot_entry *e = NULL;
	size_t n = 0, need = GPT_HEAD_SECTORS * SECTOR;
	uint64_t first = 0, count = 0;
	int r;

	if (!head || !esp)
		return -ENOMEM;

	/* The GPT header and entries: 34 sectors normally, more if it says so. */
	for (int tries = 0; tries < 2; tries++) {
		r = image_dd(image, format, head, SECTOR, 0, (need + SECTOR - 1) / SECTOR,
			     reterr_msg);
		if (r < 0)
			return r;
		_cleanup_close_ int fd = open(head, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return negative_errno();
		free(buf);
		buf = NULL;
		r = fs_read_fd(fd, GPT_MAX_BYTES, (char **)&buf, &n);
		if (r < 0)
			return r;
		r = gpt_find_esp(buf, n, &first, &count, &need);
		if (r != -ENOSPC)
			break;
	}
	(void)unlink(head);
	if (r == -EBADMSG) {
		return errmsg_set(reterr_msg, -ENOENT, "'%s' has no GPT", image);
	}
	if (r == -ENOENT) {
		return errmsg_set(reterr_msg, r, "'%s' has no EFI system partition", image);
	}
	if (r < 0)
		return r;

	/* The ESP, in blocks as large as its alignment allows (qemu-img dd is
	 * slow with small blocks). */
	uint64_t bs = SECTOR;
	while (bs < 1024 * 1024 && (first * SECTOR) % (bs * 2) == 0 &&
	       (count * SECTOR) % (bs * 2) == 0)
		bs *= 2;
	r = image_dd(image, format, esp, bs, first * SECTOR / bs, count * SECTOR / bs, reterr_msg);
	if (r < 0)
		return r;

	if (mtools_read(esp, "/loader/loader.conf", &loader_conf, NULL) >= 0) {
		r = parse_conf(loader_conf, loader_conf_item, &glob);
		if (r < 0)
			goto fail;
	}
	r = list_entries(esp, &names, NULL);
	if (r < 0 || !names) {
		r = errmsg_set(reterr_msg, -ENOENT, "'%s' has no systemd-boot entries in its ESP",
			       image);
		goto fail;
	}
	const char *id = pick_entry(names, glob);
	if (!id)
		id = pick_entry(names,
				NULL); /* a default that matches nothing: systemd-boot's fallback */
	entry_path = strjoin("/loader/entries/", id);
	if (!entry_path) {
		r = -ENOMEM;
		goto fail;
	}
	r = mtools_read(esp, entry_path, &entry_text, reterr_msg);
	if (r < 0)
		goto fail;

	struct entry_parse p = {};
	r = parse_conf(entry_text, entry_item, &p);
	if (r >= 0 && !p.linux_path) {
		r = errmsg_set(reterr_msg, -EBADMSG, "loader entry '%s' has no 'linux' line", id);
	}
	e = calloc(1, sizeof(*e));
	if (r >= 0 && !e)
		r = -ENOMEM;
	if (r >= 0) {
		e->id = strdup(id);
		e->title = TAKE_PTR(p.title);
		e->options = p.options ? TAKE_PTR(p.options) : strdup("");
		e->kernel = strjoin(dir, "/linux");
		if (!e->id || !e->options || !e->kernel)
			r = -ENOMEM;
	}
	if (r >= 0)
		r = mtools_copy(esp, p.linux_path, e->kernel, reterr_msg);
	if (r >= 0 && p.initrds) {
		_cleanup_strv_free_ char **parts = NULL;
		for (size_t i = 0; r >= 0 && p.initrds[i]; i++) {
			char name[64];
			snprintf(name, sizeof(name), "/initrd.%zu", i);
			_cleanup_free_ char *dest = strjoin(dir, name);
			r = dest ? strv_extend(&parts, dest) : -ENOMEM;
			if (r >= 0)
				r = mtools_copy(esp, p.initrds[i], dest, reterr_msg);
		}
		if (r >= 0) {
			e->initrd = strjoin(dir, "/initrd");
			r = e->initrd ? concat_files(parts, e->initrd) : -ENOMEM;
		}
		for (size_t i = 0; parts && parts[i]; i++)
			(void)unlink(parts[i]);
	}
	free(p.title);
	free(p.linux_path);
	free(p.options);
	strv_free(p.initrds);
	if (r < 0)
		goto fail;
	(void)unlink(esp);
	*ret = TAKE_PTR(e);
	return 0;
fail:
	(void)unlink(esp);
	return r;
}
