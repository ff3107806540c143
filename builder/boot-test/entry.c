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
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/boot-test/entry.h"
#include "builder/image/grubenv.h"
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
	return gpt_find_type(buf, n, esp_guid, ret_first, ret_count, ret_need);
}

int gpt_find_type(const uint8_t *buf, size_t n, const uint8_t type[16], uint64_t *ret_first,
		  uint64_t *ret_count, size_t *ret_need)
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
		if (memcmp(e, type, 16) != 0)
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
	char *title, *linux_path, *efi, *options;
	char **initrds;
};

static void entry_parse_done(struct entry_parse *p)
{
	free(p->title);
	free(p->linux_path);
	free(p->efi);
	free(p->options);
	strv_free(p->initrds);
	*p = (struct entry_parse){};
}

static int set_str(char **where, const char *value)
{
	char *n = strdup(value);
	if (!n)
		return -ENOMEM;
	free(*where);
	*where = n;
	return 0;
}

static int entry_item(const char *key, const char *value, void *u)
{
	struct entry_parse *p = u;
	if (streq(key, "title"))
		return set_str(&p->title, value);
	if (streq(key, "linux"))
		return set_str(&p->linux_path, value);
	if (streq(key, "efi"))
		return set_str(&p->efi, value);
	if (streq(key, "initrd"))
		return strv_extend(&p->initrds, value);
	if (streq(key, "options")) {
		char *n = p->options ? strjoin(p->options, " ", value) : strdup(value);
		if (!n)
			return -ENOMEM;
		free(p->options);
		p->options = n;
	}
	return 0;
}

/* The entry systemd-boot would pick: among the entries matching the default
 * glob (all when there is none), the one that sorts last by version. With
 * want, only the entries it accepts count. */
static const char *pick_entry(char **names, const char *glob, const struct entry_parse *parsed,
			      bool (*want)(const struct entry_parse *p))
{
	const char *best = NULL;
	for (size_t i = 0; names && names[i]; i++) {
		if (glob && fnmatch(glob, names[i], 0) != 0)
			continue;
		if (want && !want(&parsed[i]))
			continue;
		if (!best || strverscmp(names[i], best) > 0)
			best = names[i];
	}
	return best;
}

static bool entry_is_linux(const struct entry_parse *p)
{
	return p->linux_path != NULL;
}

/* An entry that starts Xen: its `efi` program is xen*.efi. */
static bool entry_is_xen(const struct entry_parse *p)
{
	if (!p->efi)
		return false;
	const char *base = strrchr(p->efi, '/');
	base = base ? base + 1 : p->efi;
	return strncasecmp(base, "xen", 3) == 0 && strlen(base) > 4 &&
	       strcasecmp(base + strlen(base) - 4, ".efi") == 0;
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
	free(e->linux_path);
	strv_free(e->initrd_paths);
	free(e->efi);
	free(e->xen_cfg);
	free(e->xen_cfg_text);
	free(e->grubenv);
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

/* Copies the image's ESP out to dir/esp.raw; its place on the disk in
 * *ret_first and *ret_count (512-byte sectors). */
static int esp_copy(const char *image, const char *format, const char *dir, char **ret_esp,
		    uint64_t *ret_first, uint64_t *ret_count, char **reterr_msg)
{
	_cleanup_free_ char *head = strjoin(dir, "/gpt.raw");
	_cleanup_free_ char *esp = strjoin(dir, "/esp.raw");
	_cleanup_free_ uint8_t *buf = NULL;
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
	if (r == -EBADMSG)
		return errmsg_set(reterr_msg, -ENOENT, "'%s' has no GPT", image);
	if (r == -ENOENT)
		return errmsg_set(reterr_msg, r, "'%s' has no EFI system partition", image);
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
	*ret_esp = TAKE_PTR(esp);
	*ret_first = first;
	*ret_count = count;
	return 0;
}

/* Reads and parses every entry of the ESP (parsed[i] for names[i]). */
static int read_entries(const char *image, const char *esp, char ***ret_names,
			struct entry_parse **ret_parsed, char **reterr_msg)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = list_entries(esp, &names, NULL);
	if (r < 0 || !names)
		return errmsg_set(reterr_msg, -ENOENT,
				  "'%s' has no systemd-boot entries in its ESP", image);
	size_t n = strv_length(names);
	struct entry_parse *parsed = calloc(n, sizeof(*parsed));
	if (!parsed)
		return -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *path = strjoin("/loader/entries/", names[i]), *text = NULL;
		r = path ? mtools_read(esp, path, &text, reterr_msg) : -ENOMEM;
		if (r >= 0)
			r = parse_conf(text, entry_item, &parsed[i]);
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			entry_parse_done(&parsed[i]);
		free(parsed);
		return r;
	}
	*ret_names = TAKE_PTR(names);
	*ret_parsed = parsed;
	return 0;
}

static size_t name_index(char **names, const char *name)
{
	size_t i = 0;
	while (names[i] && !streq(names[i], name))
		i++;
	return i;
}

/* Which entry boots: the default for BOOT_ENTRY_PLAIN when it starts a
 * kernel (else the newest that does, else the default as it is); the newest
 * Xen entry for BOOT_ENTRY_XEN. */
static int choose_entry(const char *image, char **names, const struct entry_parse *parsed,
			const char *glob, enum boot_entry_kind kind, size_t *ret_index,
			bool *ret_default, char **reterr_msg)
{
	const char *def = pick_entry(names, glob, parsed, NULL);
	if (!def) /* a default that matches nothing: systemd-boot's fallback */
		def = pick_entry(names, NULL, parsed, NULL);
	const char *id = NULL;
	if (kind == BOOT_ENTRY_XEN) {
		id = pick_entry(names, NULL, parsed, entry_is_xen);
		if (!id)
			return errmsg_set(reterr_msg, -ENOENT,
					  "'%s' has no Xen entry (a loader entry whose 'efi' "
					  "line starts xen*.efi); build it with a [Xen] section",
					  image);
	} else {
		size_t d = name_index(names, def);
		id = entry_is_linux(&parsed[d]) ? def
						: pick_entry(names, NULL, parsed, entry_is_linux);
		if (!id)
			id = def;
	}
	*ret_index = name_index(names, id);
	*ret_default = streq(id, def);
	return 0;
}

/* Xen reads NAME.cfg beside NAME.efi. */
static char *xen_cfg_path(const char *efi)
{
	const char *dot = strrchr(efi, '.');
	size_t n = dot ? (size_t)(dot - efi) : strlen(efi);
	char *p = malloc(n + 5);
	if (!p)
		return NULL;
	memcpy(p, efi, n);
	memcpy(p + n, ".cfg", 5);
	return p;
}

/* Fills e from the parsed entry; copies the kernel and initrds into dir
 * when it starts a kernel (and dir is given). */
static int entry_fill(const char *esp, const char *dir, struct entry_parse *p, struct boot_entry *e,
		      char **reterr_msg)
{
	int r = 0;
	e->title = TAKE_PTR(p->title);
	e->options = p->options ? TAKE_PTR(p->options) : strdup("");
	e->linux_path = TAKE_PTR(p->linux_path);
	e->initrd_paths = TAKE_PTR(p->initrds);
	e->efi = TAKE_PTR(p->efi);
	if (!e->options)
		return -ENOMEM;
	if (e->efi && entry_is_xen(&(struct entry_parse){ .efi = e->efi })) {
		e->xen_cfg = xen_cfg_path(e->efi);
		if (!e->xen_cfg)
			return -ENOMEM;
		r = mtools_read(esp, e->xen_cfg, &e->xen_cfg_text, reterr_msg);
		if (r < 0)
			return errmsg_prefix(reterr_msg, r, "the Xen entry '%s' has no '%s'", e->id,
					     e->xen_cfg);
	}
	if (!e->linux_path || !dir)
		return 0;
	e->kernel = strjoin(dir, "/linux");
	if (!e->kernel)
		return -ENOMEM;
	r = mtools_copy(esp, e->linux_path, e->kernel, reterr_msg);
	if (r < 0 || !e->initrd_paths)
		return r;
	_cleanup_strv_free_ char **parts = NULL;
	for (size_t i = 0; r >= 0 && e->initrd_paths[i]; i++) {
		char name[64];
		snprintf(name, sizeof(name), "/initrd.%zu", i);
		_cleanup_free_ char *dest = strjoin(dir, name);
		r = dest ? strv_extend(&parts, dest) : -ENOMEM;
		if (r >= 0)
			r = mtools_copy(esp, e->initrd_paths[i], dest, reterr_msg);
	}
	if (r >= 0) {
		e->initrd = strjoin(dir, "/initrd");
		r = e->initrd ? concat_files(parts, e->initrd) : -ENOMEM;
	}
	for (size_t i = 0; parts && parts[i]; i++)
		(void)unlink(parts[i]);
	return r;
}

int boot_entry_extract(const char *image, const char *format, const char *dir,
		       enum boot_entry_kind kind, struct boot_entry **ret, char **reterr_msg)
{
	_cleanup_free_ char *esp = NULL, *loader_conf = NULL, *glob = NULL;
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_(boot_entry_freep) struct boot_entry *e = NULL;
	struct entry_parse *parsed = NULL;
	uint64_t first, count;
	size_t idx = 0;
	bool is_default = false;

	int r = esp_copy(image, format, dir, &esp, &first, &count, reterr_msg);
	if (r < 0)
		return r;
	if (mtools_read(esp, "/loader/loader.conf", &loader_conf, NULL) >= 0) {
		r = parse_conf(loader_conf, loader_conf_item, &glob);
		if (r < 0)
			goto out;
	}
	r = read_entries(image, esp, &names, &parsed, reterr_msg);
	if (r < 0)
		goto out;
	r = choose_entry(image, names, parsed, glob, kind, &idx, &is_default, reterr_msg);
	if (r < 0)
		goto out;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->id = strdup(names[idx]))) {
		r = -ENOMEM;
		goto out;
	}
	e->is_default = is_default;
	r = entry_fill(esp, kind == BOOT_ENTRY_PLAIN ? dir : NULL, &parsed[idx], e, reterr_msg);
	if (r >= 0 && kind == BOOT_ENTRY_PLAIN && !e->linux_path && !e->efi)
		r = errmsg_set(reterr_msg, -EBADMSG,
			       "loader entry '%s' has neither a 'linux' nor an 'efi' line", e->id);
	if (r >= 0)
		*ret = TAKE_PTR(e);
out:
	for (size_t i = 0; parsed && names && names[i]; i++)
		entry_parse_done(&parsed[i]);
	free(parsed);
	if (esp)
		(void)unlink(esp);
	return r;
}

int boot_entry_fill_efi(const char *image, const char *format, const char *dir, const char *efi,
			struct boot_entry *e, char **reterr_msg)
{
	_cleanup_free_ char *esp = NULL;
	uint64_t first, count;
	int r = esp_copy(image, format, dir, &esp, &first, &count, reterr_msg);
	if (r < 0)
		return r;
	struct entry_parse p = { .efi = strdup(efi) };
	r = p.efi ? entry_fill(esp, NULL, &p, e, reterr_msg) : -ENOMEM;
	entry_parse_done(&p);
	(void)unlink(esp);
	return r;
}

bool boot_efi_is_xen(const char *efi)
{
	return entry_is_xen(&(struct entry_parse){ .efi = (char *)efi });
}

/* ---- choosing the entry on the disk itself ------------------------------ */

#define CHUNK (64u * 1024u)

static int write_esp_file(const char *esp, const char *dir, const char *path, const char *text,
			  char **reterr_msg)
{
	_cleanup_free_ char *tmp = strjoin(dir, "/esp-file.tmp");
	if (!tmp)
		return -ENOMEM;
	int r = fs_write_file_atomic_at(AT_FDCWD, tmp, text, strlen(text), 0644);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write '%s': %s", tmp, strerror(-r));
	_cleanup_free_ char *dest = strjoin("::", path);
	if (!dest)
		return -ENOMEM;
	char *argv[] = { "mcopy", "-o", "-i", (char *)esp, tmp, dest, NULL };
	r = run_tool(argv, NULL, reterr_msg);
	(void)unlink(tmp);
	return r;
}

char *loader_conf_with_default(const char *old, const char *id)
{
	_cleanup_free_ char *copy = strdup(old ?: "");
	char *out = strjoin("default ", id, "\n");
	if (!copy || !out) {
		free(out);
		return NULL;
	}
	char *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *t = l + strspn(l, " \t");
		if (startswith(t, "default") && (t[7] == ' ' || t[7] == '\t'))
			continue;
		char *n = strjoin(out, l, "\n");
		free(out);
		if (!(out = n))
			return NULL;
	}
	return out;
}

/* Whether the space-separated words of line contain word (or, for a word
 * "key=", any word starting so). */
static bool has_word(const char *line, const char *word)
{
	size_t n = strlen(word);
	bool prefix = n > 0 && word[n - 1] == '=';
	for (const char *w = line; *w;) {
		w += strspn(w, " \t");
		size_t k = strcspn(w, " \t");
		if (k && (prefix ? k >= n && strncmp(w, word, n) == 0
				 : k == n && strncmp(w, word, n) == 0))
			return true;
		w += k;
	}
	return false;
}

char *xen_cfg_with(const char *old, char *const *add, char *const *add_dom0)
{
	_cleanup_free_ char *copy = strdup(old);
	char *out = strdup("");
	if (!copy || !out) {
		free(out);
		return NULL;
	}
	char *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *const *words = startswith(l, "options=")	? add
				     : startswith(l, "kernel=") ? add_dom0
								: NULL;
		_cleanup_free_ char *line = strdup(l);
		for (char *const *w = words; line && w && *w; w++) {
			_cleanup_free_ char *key = strndup(*w, strcspn(*w, "=") + 1);
			if (!key || has_word(strchr(line, '=') + 1, key) ||
			    has_word(strchr(line, '=') + 1, *w))
				continue;
			char *n = strjoin(line, " ", *w);
			free(line);
			line = n;
		}
		char *n = line ? strjoin(out, line, "\n") : NULL;
		free(out);
		if (!(out = n))
			return NULL;
	}
	return out;
}

/* Writes the 64 KiB chunks in which esp differs from orig into image (a
 * qcow2 file, with qemu-io) at the ESP's place. */
static int write_back(const char *image, const char *dir, const char *orig, const char *esp,
		      uint64_t first, char **reterr_msg)
{
	_cleanup_close_ int a = open(orig, O_RDONLY | O_CLOEXEC),
			    b = open(esp, O_RDONLY | O_CLOEXEC);
	_cleanup_strv_free_ char **argv = NULL, **chunks = NULL;
	if (a < 0 || b < 0)
		return errmsg_errno(reterr_msg, errno, "cannot read the ESP copy: %m");
	int r = strv_extend(&argv, "qemu-io");
	if (r >= 0)
		r = strv_extend(&argv, "-f");
	if (r >= 0)
		r = strv_extend(&argv, "qcow2");
	static char ba[CHUNK], bb[CHUNK];
	for (uint64_t off = 0; r >= 0; off += CHUNK) {
		ssize_t na = pread(a, ba, CHUNK, (off_t)off), nb = pread(b, bb, CHUNK, (off_t)off);
		if (na < 0 || nb < 0)
			return errmsg_errno(reterr_msg, errno, "cannot read the ESP copy: %m");
		if (nb == 0)
			break;
		if (na == nb && memcmp(ba, bb, (size_t)nb) == 0)
			continue;
		char name[64], cmd[PATH_MAX + 128];
		snprintf(name, sizeof(name), "/esp-chunk.%llu", (unsigned long long)(off / CHUNK));
		_cleanup_free_ char *path = strjoin(dir, name);
		if (!path)
			return -ENOMEM;
		r = fs_write_file_atomic_at(AT_FDCWD, path, bb, (size_t)nb, 0644);
		if (r < 0)
			return errmsg_set(reterr_msg, r, "cannot write '%s': %s", path,
					  strerror(-r));
		snprintf(cmd, sizeof(cmd), "write -s %s %llu %zd", path,
			 (unsigned long long)(first * SECTOR + off), nb);
		r = strv_extend(&chunks, path);
		if (r >= 0)
			r = strv_extend(&argv, "-c");
		if (r >= 0)
			r = strv_extend(&argv, cmd);
	}
	if (r >= 0)
		r = strv_extend(&argv, image);
	if (r >= 0 && chunks)
		r = run_tool(argv, NULL, reterr_msg);
	for (char **c = chunks; c && *c; c++)
		(void)unlink(*c);
	return r;
}

/* GRUB's `grub-reboot ID` on image (a qcow2 file): next_entry=ID in the
 * root's grubenv, written in place where the block lies (e->grubenv_*). */
static int grubenv_next_entry(const char *image, const char *dir, const struct boot_entry *e,
			      char **reterr_msg)
{
	char block[GRUBENV_SIZE], cmd[PATH_MAX + 128];
	int r = grubenv_set(e->grubenv, e->grubenv_size, "next_entry", e->id, block);
	if (r < 0)
		return errmsg_set(reterr_msg, r,
				  "cannot set next_entry=%s in the root's grubenv: %s", e->id,
				  strerror(-r));
	_cleanup_free_ char *path = strjoin(dir, "/grubenv.new");
	if (!path)
		return -ENOMEM;
	r = fs_write_file_atomic_at(AT_FDCWD, path, block, sizeof(block), 0644);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write '%s': %s", path, strerror(-r));
	snprintf(cmd, sizeof(cmd), "write -s %s %" PRIu64 " %u", path, e->grubenv_offset,
		 GRUBENV_SIZE);
	char *argv[] = { "qemu-io", "-f", "qcow2", "-c", cmd, (char *)image, NULL };
	r = run_tool(argv, NULL, reterr_msg);
	(void)unlink(path);
	return r;
}

int boot_entry_make_default(const char *image, const char *dir, const struct boot_entry *e,
			    char *const *xen_add, char *const *dom0_add, char **reterr_msg)
{
	_cleanup_free_ char *esp = NULL, *orig = strjoin(dir, "/esp.orig"), *loader = NULL;
	_cleanup_free_ char *text = NULL, *cfg = NULL;
	uint64_t first, count;
	if (!orig)
		return -ENOMEM;
	int r = esp_copy(image, "qcow2", dir, &esp, &first, &count, reterr_msg);
	if (r < 0)
		return r;
	{
		_cleanup_close_ int in = open(esp, O_RDONLY | O_CLOEXEC);
		_cleanup_close_ int out =
			open(orig, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		r = in < 0 || out < 0 ? negative_errno()
				      : copy_stream(in, COPY_SINK_FD(out), UINT64_MAX, NULL, NULL);
	}
	if (r >= 0 && !e->is_default && e->grubenv_size > 0)
		r = grubenv_next_entry(image, dir, e, reterr_msg);
	else if (r >= 0 && !e->is_default) {
		(void)mtools_read(esp, "/loader/loader.conf", &loader, NULL);
		text = loader_conf_with_default(loader, e->id);
		r = text ? write_esp_file(esp, dir, "/loader/loader.conf", text, reterr_msg)
			 : -ENOMEM;
	}
	if (r >= 0 && e->xen_cfg_text) {
		cfg = xen_cfg_with(e->xen_cfg_text, xen_add, dom0_add);
		r = cfg ? write_esp_file(esp, dir, e->xen_cfg, cfg, reterr_msg) : -ENOMEM;
	}
	if (r >= 0)
		r = write_back(image, dir, orig, esp, first, reterr_msg);
	(void)unlink(esp);
	(void)unlink(orig);
	return r;
}

int boot_run_tool(char *const argv[], char **ret_out, char **reterr_msg)
{
	return run_tool(argv, ret_out, reterr_msg);
}

int boot_image_dd(const char *image, const char *format, const char *out, uint64_t bs,
		  uint64_t skip, uint64_t count, char **reterr_msg)
{
	return image_dd(image, format, out, bs, skip, count, reterr_msg);
}
