/* SPDX-License-Identifier: MIT */
/*
 * convert.c - the output format table and the conversion through qemu-img,
 * run by argv. The raw image is the one the writers filled; every other
 * format is made from it. And the way back for `enlighten inspect`: a
 * container checked, then converted to a temporary raw image.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/convert.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

static int vhd_finish(const char *path, const struct convert_opts *opts, char **reterr_msg);

static const struct output_format formats[] = {
	{ "raw", "raw", NULL, NULL, true, "sparse raw disk (dd, KVM, factory stations)", NULL,
	  false },
	{ "qcow2", "qcow2", "qcow2", NULL, true, "QEMU/KVM", NULL, false },
	{ "vhdx", "vhdx", "vhdx", "subformat=dynamic", false, "Hyper-V", NULL, false },
	{ "vhd", "vhd", "vpc", "subformat=fixed,force_size", true, "Azure (fixed VHD)", vhd_finish,
	  false },
	{ "vmdk", "vmdk", "vmdk", "subformat=monolithicSparse", false, "VMware", NULL, false },
	{ "installer", "iso", NULL, NULL, false,
	  "installer medium: a hybrid ISO (UEFI and BIOS) that writes the image to the empty disk",
	  NULL, true },
};

static const char *const format_names[] = {
	"raw", "qcow2", "vhdx", "vhd", "vmdk", "installer", NULL
};
static_assert(ELEMENTSOF(format_names) == ELEMENTSOF(formats) + 1, "a name for each format");

const struct output_format *output_format_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(formats); i++)
		if (streq(formats[i].name, name))
			return &formats[i];
	return NULL;
}

const char *const *output_format_names(void)
{
	return format_names;
}

void output_format_list(char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(formats) && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " " : "", format_names[i]);
}

int output_format_check(const char *name, char **reterr_msg)
{
	if (output_format_find(name))
		return 0;
	const char *best = suggest_in_strings(name, format_names, ELEMENTSOF(formats));
	if (best)
		return errmsg_set(reterr_msg, -EINVAL, "unknown format '%s' (did you mean '%s'?)",
				  name, best);
	char known[128];
	output_format_list(known, sizeof(known));
	return errmsg_set(reterr_msg, -EINVAL, "unknown format '%s' (known: %s)", name, known);
}

/* The VHD footer (the last 512 bytes of a fixed VHD): a time stamp in
 * seconds since 2000-01-01 at 24, the checksum at 64 (one's complement of
 * the byte sum without it), the UUID at 68. */
static int vhd_fixup(const char *path, const struct convert_opts *opts)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 512)
		return -EBADMSG;
	uint8_t f[512];
	if (pread(fd, f, sizeof(f), st.st_size - 512) != (ssize_t)sizeof(f))
		return -EIO;
	if (memcmp(f, "conectix", 8) != 0)
		return -EBADMSG;
	uint32_t t = opts->now > 946684800 ? (uint32_t)(opts->now - 946684800) : 0;
	f[24] = t >> 24;
	f[25] = t >> 16;
	f[26] = t >> 8;
	f[27] = t;
	if (opts->uuid)
		memcpy(f + 68, opts->uuid, 16);
	memset(f + 64, 0, 4);
	uint32_t sum = 0;
	for (size_t i = 0; i < sizeof(f); i++)
		sum += f[i];
	sum = ~sum;
	f[64] = sum >> 24;
	f[65] = sum >> 16;
	f[66] = sum >> 8;
	f[67] = sum;
	if (pwrite(fd, f, sizeof(f), st.st_size - 512) != (ssize_t)sizeof(f))
		return errno ? -errno : -EIO;
	return 0;
}

static int vhd_finish(const char *path, const struct convert_opts *opts, char **reterr_msg)
{
	int r = vhd_fixup(path, opts);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot set the VHD footer of '%s': %m", path);
	return 0;
}

/* Runs qemu-img; on failure *reterr_msg says what, with its stderr. */
static int qemu_img(char **argv, const char *what, char **reterr_msg)
{
	struct spawn_opts so = { .stdin_fd = -1, .stdout_fd = -1 };
	struct spawn_result res = {};
	int r = spawn_run(argv, &so, &res);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot run 'qemu-img' (install qemu-utils): %s",
				  strerror(-r));
	if (res.exit_status != 0)
		r = errmsg_set(
			reterr_msg, res.err && strstr(res.err, "No space left") ? -ENOSPC : -EIO,
			"'qemu-img convert' %s failed: %s", what, res.err ? strstrip(res.err) : "");
	spawn_result_done(&res);
	return r;
}

int convert_image(const char *raw_path, const char *path, const struct output_format *f,
		  const struct convert_opts *opts, char **reterr_msg)
{
	char *argv[12];
	size_t n = 0;
	argv[n++] = "qemu-img";
	argv[n++] = "convert";
	argv[n++] = "-q";
	argv[n++] = "-f";
	argv[n++] = "raw";
	argv[n++] = "-O";
	argv[n++] = (char *)f->qemu_format;
	if (f->options) {
		argv[n++] = "-o";
		argv[n++] = (char *)f->options;
	}
	argv[n++] = (char *)raw_path;
	argv[n++] = (char *)path;
	argv[n] = NULL;

	char what[32];
	snprintf(what, sizeof(what), "to %s", f->name);
	int r = qemu_img(argv, what, reterr_msg);
	if (r >= 0 && f->finish)
		r = f->finish(path, opts, reterr_msg);
	return r;
}

/* ---- containers back to raw ------------------------------------------------ */

static const struct {
	const char *magic;
	size_t len;
	const char *format; /* qemu's driver name */
} container_magics[] = {
	{ "QFI\xfb", 4, "qcow2" },
	{ "vhdxfile", 8, "vhdx" },
	{ "KDMV", 4, "vmdk" },
};

const char *container_format(const void *head, size_t n)
{
	for (size_t i = 0; i < ELEMENTSOF(container_magics); i++)
		if (n >= container_magics[i].len &&
		    memcmp(head, container_magics[i].magic, container_magics[i].len) == 0)
			return container_magics[i].format;
	return NULL;
}

#define VMDK_DESC_MAX (64 * 1024)

/* Refuses what would make qemu-img read other files than this one: an
 * overlay's backing file, a qcow2 external data file, a VMDK whose extents
 * are described in its embedded descriptor. */
static int container_check(int fd, const char *format, char **reterr_msg)
{
	uint8_t h[512] = {};
	if (pread(fd, h, sizeof(h), 0) < 64)
		return errmsg_set(reterr_msg, -EMEDIUMTYPE, "its %s header is cut short", format);
	if (streq(format, "qcow2")) {
		uint32_t version, cluster_bits;
		uint64_t backing, incompatible = 0;
		memcpy(&version, h + 4, 4);
		memcpy(&backing, h + 8, 8);
		memcpy(&cluster_bits, h + 20, 4);
		version = be32toh(version);
		cluster_bits = be32toh(cluster_bits);
		/* qemu writes versions 2 and 3, clusters of 512 bytes to 2 MiB */
		if ((version != 2 && version != 3) || cluster_bits < 9 || cluster_bits > 21)
			return errmsg_set(reterr_msg, -EMEDIUMTYPE,
					  "it starts with the qcow2 magic but its header is not "
					  "a qcow2 header (version %" PRIu32
					  ", cluster bits %" PRIu32 ")",
					  version, cluster_bits);
		if (version >= 3)
			memcpy(&incompatible, h + 72, 8);
		if (be64toh(backing) != 0)
			return errmsg_set(reterr_msg, -EMEDIUMTYPE,
					  "it is a qcow2 overlay on a backing file; inspect "
					  "the image it is based on, or flatten it with "
					  "'qemu-img convert -O raw'");
		if (be64toh(incompatible) & 4) /* QCOW2_INCOMPAT_DATA_FILE */
			return errmsg_set(reterr_msg, -EMEDIUMTYPE,
					  "it is a qcow2 image that keeps its data in an "
					  "external file; convert it with 'qemu-img convert "
					  "-O raw'");
	} else if (streq(format, "vmdk")) {
		uint32_t version;
		uint64_t capacity, desc_off, desc_len;
		memcpy(&version, h + 4, 4);
		version = le32toh(version);
		if (version < 1 || version > 3)
			return errmsg_set(reterr_msg, -EMEDIUMTYPE,
					  "it starts with the VMDK magic but its header is not a "
					  "sparse VMDK header (version %" PRIu32 ")",
					  version);
		memcpy(&capacity, h + 12, 8);
		memcpy(&desc_off, h + 28, 8);
		memcpy(&desc_len, h + 36, 8);
		if (le64toh(capacity) == 0)
			return errmsg_set(reterr_msg, -EMEDIUMTYPE,
					  "it is a VMDK whose data is described elsewhere "
					  "(no capacity in its sparse header); inspect the "
					  "flat or raw disk instead");
		desc_off = le64toh(desc_off);
		desc_len = MIN(le64toh(desc_len), (uint64_t)VMDK_DESC_MAX / 512);
		if (desc_off > 0 && desc_off < (uint64_t)INT64_MAX / 512 && desc_len > 0) {
			_cleanup_free_ char *d = calloc(1, desc_len * 512 + 1);
			if (!d)
				return -ENOMEM;
			ssize_t k = pread(fd, d, desc_len * 512, (off_t)(desc_off * 512));
			if (k > 0 && memmem(d, (size_t)k, "parentFileNameHint", 18))
				return errmsg_set(
					reterr_msg, -EMEDIUMTYPE,
					"it is a VMDK overlay on a parent disk; inspect the "
					"parent, or flatten it with 'qemu-img convert -O raw'");
		}
	}
	return 0;
}

int container_to_raw(int fd, const char *format, const char *tmp_dir, char **ret_path,
		     char **reterr_msg)
{
	int r = container_check(fd, format, reterr_msg);
	if (r < 0)
		return r;

	/* qemu-img reads the file already open (/dev/fd/N): what was checked is
	 * what is converted; "backing": null, so that it never opens another */
	_cleanup_close_ int keep = fcntl(fd, F_DUPFD, 3);
	if (keep < 0)
		return -errno;
	char dev[32];
	snprintf(dev, sizeof(dev), "/dev/fd/%d", keep);
	json_object *file = json_object_new_object(), *o = json_object_new_object();
	json_object_object_add(file, "driver", json_object_new_string("file"));
	json_object_object_add(file, "filename", json_object_new_string(dev));
	json_object_object_add(o, "driver", json_object_new_string(format));
	json_object_object_add(o, "backing", NULL);
	json_object_object_add(o, "file", file);
	_cleanup_free_ char *spec =
		strjoin("json:", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	_cleanup_free_ char *path = strjoin(tmp_dir, "/enlighten-inspect.XXXXXX");
	if (!spec || !path)
		return -ENOMEM;
	_cleanup_close_ int out = mkostemp(path, O_CLOEXEC);
	if (out < 0)
		return -errno;

	char *argv[] = { "qemu-img", "convert", "-q", "-O", "raw", spec, path, NULL };
	char what[32];
	snprintf(what, sizeof(what), "from %s", format);
	r = qemu_img(argv, what, reterr_msg);
	if (r < 0) {
		(void)unlink(path);
		return r;
	}
	*ret_path = TAKE_PTR(path);
	return 0;
}
