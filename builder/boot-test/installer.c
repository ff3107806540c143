/* SPDX-License-Identifier: MIT */
/*
 * installer.c - boot-test of an installer medium (see installer.h): the
 * medium recognised by its marker and the image's map on it (libarchive),
 * an empty disk and a disk holding data (a GPT and a partition with bytes
 * in it, made with libfdisk) attached beside it, the installer's console
 * read for its lines, the data disk hashed before and after.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libfdisk/libfdisk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/boot-test/installer.h"
#include "builder/image/bmap.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/hash.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define SAY "enlighten-installer: "
#define MARKER "enlighten/installer-"
#define BMAP_MAX (16u << 20)
#define MEMORY_MIB 1024
/* the image's size and this: a disk larger than the image, as most are */
#define TARGET_SPARE (64ULL << 20)
#define DATA_TEXT "enlighten boot-test: data the installer must leave alone\n"

/* An entry's text, at most max bytes. */
static int entry_text(struct archive *a, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	for (;;) {
		char *p = realloc(buf, len + 65536 + 1);
		if (!p)
			return -ENOMEM;
		buf = p;
		la_ssize_t k = archive_read_data(a, buf + len, 65536);
		if (k < 0)
			return -EIO;
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* The marker's content (the image's name) and the root's NAME.bmap. */
static int probe_entries(struct archive *a, char **name, char **bmap, size_t *bmap_len,
			 char **bmap_name)
{
	struct archive_entry *e;
	int r = 0;
	while (r >= 0 && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		p = p && startswith(p, "./") ? p + 2 : p;
		if (!p || archive_entry_filetype(e) != AE_IFREG)
			continue;
		size_t n = 0;
		if (startswith(p, MARKER) && !*name) {
			r = entry_text(a, 4096, name, &n);
			if (r >= 0)
				strstrip(*name);
		} else if (!strchr(p, '/') && endswith(p, ".bmap") && !*bmap) {
			r = entry_text(a, BMAP_MAX, bmap, bmap_len);
			if (r >= 0 && !(*bmap_name = strndup(p, strlen(p) - 5)))
				r = -ENOMEM;
		}
	}
	return r;
}

int installer_probe(const char *path, uint64_t *ret_image_size, char **reterr_msg)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *name = NULL, *bmap = NULL, *bmap_name = NULL, *msg = NULL;
	_cleanup_bmap_ struct bmap *b = NULL;
	char magic[5];
	size_t len = 0;

	if (fd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open '%s': %m", path);
	if (pread(fd, magic, sizeof(magic), 32769) != sizeof(magic) ||
	    memcmp(magic, "CD001", sizeof(magic)) != 0)
		return 0; /* not ISO 9660 */
	struct archive *a = archive_read_new();
	if (!a)
		return errmsg_oom(reterr_msg);
	archive_read_support_format_iso9660(a);
	int r = archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK
			? probe_entries(a, &name, &bmap, &len, &bmap_name)
			: -EIO;
	archive_read_free(a);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read the ISO 9660 image '%s': %m", path);
	if (!name)
		return 0; /* an ISO, not an installer medium */
	if (!bmap || !streq(bmap_name, name))
		return errmsg_set(reterr_msg, -EINVAL,
				  "'%s' is an installer medium for '%s' without its block map "
				  "'%s.bmap': build it again",
				  path, name, name);
	r = bmap_parse(bmap, len, &b, &msg);
	if (r < 0)
		return errmsg_set(reterr_msg, -EINVAL, "the block map on '%s': %s", path, msg);
	*ret_image_size = b->image_size;
	return 1;
}

/* A disk holding data: a GPT with one partition (libfdisk), and text in it. */
static int make_data_disk(const char *path, uint64_t size)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -errno;
	struct fdisk_context *cxt = fdisk_new_context();
	struct fdisk_partition *pa = fdisk_new_partition();
	int r = cxt && pa ? 0 : -ENOMEM;
	if (r >= 0) {
		fdisk_disable_dialogs(cxt, 1);
		r = fdisk_assign_device(cxt, path, 0);
	}
	if (r >= 0)
		r = fdisk_create_disklabel(cxt, "gpt");
	if (r >= 0) {
		fdisk_partition_start_follow_default(pa, 1);
		fdisk_partition_end_follow_default(pa, 1);
		fdisk_partition_partno_follow_default(pa, 1);
		r = fdisk_add_partition(cxt, pa, NULL);
	}
	if (r >= 0)
		r = fdisk_write_disklabel(cxt);
	if (cxt && fdisk_get_devfd(cxt) >= 0) {
		int q = fdisk_deassign_device(cxt, 0);
		r = r < 0 ? r : q;
	}
	fdisk_unref_partition(pa);
	fdisk_unref_context(cxt);
	for (off_t at = 1 << 20; r >= 0 && at < (2 << 20); at += (off_t)strlen(DATA_TEXT))
		if (pwrite(fd, DATA_TEXT, strlen(DATA_TEXT), at) != (ssize_t)strlen(DATA_TEXT))
			r = -errno;
	return r;
}

static int hash_file(const char *path, uint8_t out[SHA256_DIGEST_SIZE])
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : sha256_fd(fd, UINT64_MAX, out, NULL);
}

static int make_disk(const char *path, uint64_t size)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return fd < 0 || ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

/* The installer's lines of interest, from its console log. */
static void read_console(const char *log, struct installer_outcome *o)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	const char *tail[8] = {};
	unsigned n = 0;
	size_t size = 0;
	_cleanup_close_ int fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fs_read_fd(fd, 64 << 20, &text, &size) < 0)
		return;
	for (size_t i = 0; i < size; i++) /* a firmware's NUL bytes end no line of ours */
		if (text[i] == '\0')
			text[i] = '\n';
	for (char *l = strtok_r(text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		const char *pick = strstr(l, "enlighten: picked '");
		if (pick && !o->picked) /* deploy's own line */
			o->picked = strdup(pick + strlen("enlighten: "));
		const char *s = strstr(l, SAY);
		if (!s)
			continue;
		s += strlen(SAY);
		tail[n++ % ELEMENTSOF(tail)] = s;
		const char *rep = startswith(s, "report: ");
		if (rep && *rep == '{' && !o->report)
			o->report = strdup(rep);
		else if (rep && !o->medium_report)
			o->medium_report = strdup(rep);
	}
	for (unsigned i = n > ELEMENTSOF(tail) ? n - ELEMENTSOF(tail) : 0; i < n; i++)
		if (strv_extend(&o->notes, tail[i % ELEMENTSOF(tail)]) < 0)
			break;
}

static int set_why(struct installer_outcome *o, const char *why)
{
	free(o->why);
	o->why = strdup(why);
	return o->why ? 0 : -ENOMEM;
}

static int judge(const struct installer_boot *ib, struct installer_outcome *o, bool untouched)
{
	const struct qemu_result *res = &o->res;
	o->data_untouched = untouched;
	o->pass = false;
	if (res->interrupted)
		return set_why(o, "interrupted");
	if (res->refused)
		return set_why(o, res->refused);
	if (!res->line && res->timed_out) {
		char why[128];
		snprintf(why, sizeof(why), "the installer did not finish within %llu s",
			 (unsigned long long)(ib->timeout_usec / 1000000));
		return set_why(o, why);
	}
	if (!res->line)
		return set_why(o, "the machine stopped before the installer said it was done");
	if (!untouched)
		return set_why(o, "the data disk was changed");
	if (!o->report || !strstr(o->report, "\"result\":\"deployed\""))
		return set_why(o, "the installer said it was done, but no report says deployed");
	o->pass = true;
	return 0;
}

int installer_run(struct installer_boot *ib, struct installer_outcome *ret, char **reterr_msg)
{
	_cleanup_free_ char *data = strjoin(ib->dir, "/data.raw");
	uint8_t before[SHA256_DIGEST_SIZE], after[SHA256_DIGEST_SIZE];
	struct installer_outcome o = {};

	ib->target = strjoin(ib->dir, "/target.raw");
	if (!data || !ib->target)
		return errmsg_oom(reterr_msg);
	int r = make_disk(ib->target, ib->image_size + TARGET_SPARE);
	if (r >= 0)
		r = make_data_disk(data, ib->image_size + TARGET_SPARE);
	if (r >= 0)
		r = hash_file(data, before);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot make the disks in '%s': %m", ib->dir);
	const struct qemu_disk more[] = {
		{ ib->target, "raw", INSTALLER_TARGET_SERIAL },
		{ data, "raw", INSTALLER_DATA_SERIAL },
	};
	ib->m.more = more;
	ib->m.n_more = ELEMENTSOF(more);
	ib->m.disk_cdrom = ib->cd;
	ib->m.memory_mib = MEMORY_MIB;
	ib->m.refusal = SAY "FAILED";
	/* the installer powers off by itself after its last line */
	r = qemu_run(&ib->m, SAY "done", ib->timeout_usec, 0, 60ULL * 1000000ULL, NULL, &o.res);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot run '%s': %m", ib->m.qemu);
	r = hash_file(data, after);
	if (r < 0) {
		installer_outcome_done(&o);
		return errmsg_errno(reterr_msg, r, "cannot read '%s': %m", data);
	}
	read_console(ib->m.console_log, &o);
	if (judge(ib, &o, memcmp(before, after, sizeof(before)) == 0) < 0) {
		installer_outcome_done(&o);
		return errmsg_oom(reterr_msg);
	}
	if (o.pass) /* its last lines are for a failure */
		o.notes = strv_free(o.notes);
	*ret = o;
	return 0;
}

void installer_outcome_done(struct installer_outcome *o)
{
	free(o->why);
	free(o->picked);
	free(o->report);
	free(o->medium_report);
	strv_free(o->notes);
	qemu_result_done(&o->res);
	*o = (struct installer_outcome){};
}
