/* SPDX-License-Identifier: MIT */
/*
 * inspect.c - what `enlighten inspect` reads from a disk image: the
 * partition table and each partition's filesystem through libblkid (probing
 * each partition's byte range), and, for an enlighten image, what was
 * injected, read back from the ext4 root through libext2fs. Nothing is
 * mounted or written.
 */
#define _GNU_SOURCE
#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/image/convert.h"
#include "builder/image/fs-ext4.h"
#include "builder/image/generalize.h"
#include "builder/image/image.h"
#include "builder/image/inject.h"
#include "builder/image/inspect.h"
#include "lib/activate/paths.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/spawn.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"
#include "lib/trust/pe-signature.h"

#define BUILD_INFO_MAX (64 * 1024)
#define BOOT_FILE_MAX (256 * 1024 * 1024)
#define ESP_TYPE "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"

/* The loaders on the ESP whose signatures Secure Boot checks: the firmware
 * starts the first, shim the second (as its own directory's grubx64.efi). */
static const char *const esp_loaders[] = { "EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/grubx64.efi" };

/* One file of the boot chain with the CA each of its signatures needs. */
static void chain_add(json_object *chain, const char *file, const void *buf, size_t n)
{
	struct pe_signature *s = NULL;
	int k = pe_signatures_read(buf, n, &s, NULL);
	json_object *f = json_object_new_object();
	json_object *sigs = json_object_new_array();
	json_object_object_add(f, "file", json_object_new_string(file));
	for (int i = 0; i < k; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "signer", json_object_new_string(s[i].signer));
		json_object_object_add(o, "ca", json_object_new_string(s[i].ca));
		json_object_object_add(o, "digest",
				       json_object_new_string(pe_digest_to_string(s[i].digest)));
		if (s[i].ca_not_after >= 0) {
			char day[16];
			time_t t = (time_t)s[i].ca_not_after;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
			json_object_object_add(o, "ca_expires", json_object_new_string(day));
			json_object_object_add(o, "ca_expired",
					       json_object_new_boolean(t < time(NULL)));
		} else {
			json_object_object_add(o, "ca_expires", NULL);
			json_object_object_add(o, "ca_expired", NULL);
		}
		json_object_array_add(sigs, o);
	}
	json_object_object_add(f, "pe", json_object_new_boolean(k >= 0));
	json_object_object_add(f, "signatures", sigs);
	json_object_array_add(chain, f);
	pe_signatures_free(s, k > 0 ? (size_t)k : 0);
}

/* The ESP's loaders, read with mtools (no mount). */
static void chain_add_esp(json_object *chain, const char *path, uint64_t offset)
{
	char image[4096 + 32];
	snprintf(image, sizeof(image), "%s@@%" PRIu64, path, offset);
	for (size_t i = 0; i < ELEMENTSOF(esp_loaders); i++) {
		_cleanup_free_ char *src = strjoin("::/", esp_loaders[i]), *data = NULL;
		_cleanup_close_ int fd = memfd_create("enlighten-inspect", 0);
		char dst[32];
		size_t n = 0;
		if (!src || fd < 0)
			return;
		snprintf(dst, sizeof(dst), "/dev/fd/%d", fd);
		char *argv[] = { "mcopy", "-n", "-i", image, src, dst, NULL };
		static char *const envp[] = { "MTOOLS_SKIP_CHECK=1", "MTOOLSRC=/dev/null", NULL };
		struct spawn_opts o = { .stdin_fd = -1, .stdout_fd = -1, .envp = envp };
		struct spawn_result res = {};
		if (spawn_run(argv, &o, &res) < 0)
			return;
		int status = res.exit_status;
		spawn_result_done(&res);
		if (status != 0 || lseek(fd, 0, SEEK_SET) < 0 ||
		    fs_read_fd(fd, BOOT_FILE_MAX, &data, &n) < 0 || n == 0)
			continue; /* not there */
		chain_add(chain, esp_loaders[i], data, n);
	}
}

/* The kernels in the root's /boot. */
static void chain_add_kernels(json_object *chain, struct ext4 *e)
{
	_cleanup_strv_free_ char **names = NULL;
	if (ext4_list_dir(e, "boot", &names) < 0)
		return;
	for (char **p = names; p && *p; p++) {
		if (!startswith(*p, "vmlinuz-"))
			continue;
		_cleanup_free_ char *path = strjoin("boot/", *p), *data = NULL, *shown = NULL;
		size_t n = 0;
		if (!path || ext4_read_file(e, path, BOOT_FILE_MAX, &data, &n) < 0)
			continue;
		shown = strjoin("/", path);
		if (shown)
			chain_add(chain, shown, data, n);
	}
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* The filesystem in [offset, offset+size) of fd, through libblkid. */
static json_object *probe_fs(int fd, uint64_t offset, uint64_t size)
{
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return NULL;
	json_object *o = NULL;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)offset, (blkid_loff_t)size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
							      BLKID_SUBLKS_UUID |
							      BLKID_SUBLKS_VERSION);
		if (blkid_do_safeprobe(pr) == 0) {
			static const char *const keys[] = { "TYPE", "VERSION", "LABEL", "UUID" };
			static const char *const names[] = { "type", "version", "label", "uuid" };
			o = json_object_new_object();
			for (size_t i = 0; o && i < ELEMENTSOF(keys); i++) {
				const char *v = NULL;
				if (blkid_probe_lookup_value(pr, keys[i], &v, NULL) == 0)
					json_object_object_add(o, names[i], str_or_null(v));
			}
		}
	}
	blkid_free_probe(pr);
	return o;
}

/* What the builder injected, read from the ext4 root; NULL for other roots.
 * The root's kernels go to chain. */
static json_object *read_enlighten(const char *path, uint64_t offset, json_object *chain)
{
	struct ext4 *e = NULL;
	_cleanup_free_ char *info = NULL, *cat = NULL, *emsg = NULL;
	_cleanup_json_ json_object *j = NULL;
	size_t n;

	if (ext4_open(path, offset, false, 0, &e, &emsg) < 0)
		return NULL;
	chain_add_kernels(chain, e);
	if (ext4_read_file(e, IMAGE_BUILD_INFO, BUILD_INFO_MAX, &info, &n) < 0 ||
	    json_parse_bounded(info, n, BUILD_INFO_MAX, &j, NULL) < 0 ||
	    !json_object_is_type(j, json_type_object)) {
		ext4_close(e);
		return NULL;
	}

	/* the catalog as it is in the image, parsed again */
	if (ext4_read_file(e, IMAGE_REPO_DIR "/" CATALOG_FILE, CATALOG_MAX_SIZE, &cat, &n) >= 0) {
		_cleanup_catalog_ struct catalog *c = NULL;
		if (catalog_parse(cat, n, &c, NULL) >= 0) {
			json_object *payloads = json_object_new_array();
			for (size_t i = 0; payloads && i < c->n_payloads; i++) {
				_cleanup_free_ char *p =
					strjoin(IMAGE_REPO_DIR "/", c->payloads[i].path);
				uint64_t size;
				if (p && ext4_file_size(e, p, &size) >= 0 &&
				    size == c->payloads[i].length)
					json_object_array_add(
						payloads,
						json_object_new_string(c->payloads[i].path));
			}
			json_object_object_add(j, "catalog_version",
					       json_object_new_int64((int64_t)c->version));
			json_object_object_add(j, "catalog_expires",
					       json_object_new_int64((int64_t)c->expires));
			json_object_object_add(j, "staged_payloads", payloads);
		}
	}
	static const struct {
		const char *dir, *key;
	} lists[] = {
		{ IMAGE_PROFILES_DIR, "profile_matrix" },
		{ IMAGE_KEYS_DIR, "trusted_keys" },
	};
	for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
		_cleanup_strv_free_ char **names = NULL;
		(void)ext4_list_dir(e, lists[i].dir, &names);
		json_object_object_add(j, lists[i].key, json_strv(names));
	}
	json_object_object_add(j, "identity", generalize_inspect(e));
	_cleanup_strv_free_ char **wants = NULL;
	(void)ext4_list_dir(e, "etc/systemd/system/sysinit.target.wants", &wants);
	json_object_object_add(
		j, "agent_enabled",
		json_object_new_boolean(strv_contains(wants, "enlighten-firstboot.service")));
	ext4_close(e);
	return TAKE_PTR(j);
}

static bool has_vhd_footer(int fd, uint64_t size)
{
	char cookie[8];
	return size >= 512 && pread(fd, cookie, sizeof(cookie), (off_t)(size - 512)) == 8 &&
	       memcmp(cookie, "conectix", 8) == 0;
}

static void unlink_freep(char **p)
{
	if (*p) {
		(void)unlink(*p);
		free(*p);
	}
}

/* The format of a file with no partition table, for the error that says it
 * is not a disk image: a bare filesystem (libblkid), else what libmagic
 * sees; NULL for a blank disk (its first 64 KiB all zero), which is one. */
static char *not_a_disk(int fd)
{
	char *what = NULL;
	blkid_probe pr = blkid_new_probe();
	if (pr && blkid_probe_set_device(pr, fd, 0, 0) == 0) {
		const char *type = NULL;
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
		if (blkid_do_safeprobe(pr) == 0 &&
		    blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type)
			what = strjoin("a bare ", type, " filesystem with no partition table");
	}
	if (pr)
		blkid_free_probe(pr);
	if (what)
		return what;

	static const uint8_t zero[4096];
	uint8_t buf[4096];
	ssize_t n = 0;
	bool blank = true;
	for (off_t off = 0; blank && off < 64 * 1024; off += n) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n <= 0)
			break;
		blank = memcmp(buf, zero, (size_t)n) == 0;
	}
	if (blank)
		return NULL;

	magic_t m = magic_open(MAGIC_NONE);
	const char *desc = m && magic_load(m, NULL) == 0 ? magic_descriptor(m, fd) : NULL;
	what = strjoin("it holds ", desc ? desc : "data of a format libmagic does not know",
		       ", no partition table");
	if (m)
		magic_close(m);
	return what;
}

/* path: as the user named it; a qcow2, VHDX or VMDK is read through a
 * temporary raw copy (sparse) that qemu-img makes. */
int image_inspect(const char *path, json_object **ret, char **reterr_msg)
{
	/* no blocking open: a FIFO is refused below like any non-image */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open image '%s': %m", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errmsg_errno(reterr_msg, errno, "cannot read image '%s': %m", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return errmsg_errno(reterr_msg, EINVAL, "'%s' is not a disk image file", path);
	char head[8] = {};
	if (pread(fd, head, sizeof(head), 0) < 0)
		return errmsg_errno(reterr_msg, errno, "cannot read image '%s': %m", path);

	const char *container = container_format(head, sizeof(head));
	__attribute__((cleanup(unlink_freep))) char *tmp = NULL;
	const char *read_path = path;
	if (container) {
		_cleanup_free_ char *msg = NULL;
		const char *t = getenv("TMPDIR");
		int k = container_to_raw(fd, container, t && *t ? t : "/tmp", &tmp, &msg);
		if (k < 0)
			return errmsg_errno(reterr_msg, k, "cannot read image '%s': %s", path,
					    msg ? msg : strerror(-k));
		safe_close(fd);
		fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			return errmsg_errno(reterr_msg, errno, "cannot read the raw copy '%s': %m",
					    tmp);
		read_path = tmp;
	}

	blkid_probe pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		if (pr)
			blkid_free_probe(pr);
		return errmsg_errno(reterr_msg, EIO, "cannot probe image '%s'", path);
	}
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	blkid_partlist ls = blkid_probe_get_partitions(pr);
	blkid_parttable tab = ls ? blkid_partlist_get_table(ls) : NULL;
	if (!tab) {
		_cleanup_free_ char *what = not_a_disk(fd);
		if (what) {
			blkid_free_probe(pr);
			return errmsg_errno(reterr_msg, EMEDIUMTYPE, "'%s' is not a disk image: %s",
					    path, what);
		}
	}

	json_object *o = json_object_new_object();
	json_object *parts = json_object_new_array();
	json_object_object_add(o, "image", json_object_new_string(path));
	json_object_object_add(o, "format",
			       json_object_new_string(container ? container
						      : has_vhd_footer(fd, (uint64_t)st.st_size)
							      ? "vhd"
							      : "raw"));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)st.st_size));
	json_object_object_add(o, "table",
			       tab ? json_object_new_string(blkid_parttable_get_type(tab)) : NULL);
	json_object_object_add(o, "disk_uuid",
			       tab ? str_or_null(blkid_parttable_get_id(tab)) : NULL);
	json_object_object_add(o, "partitions", parts);
	json_object *enl = NULL, *chain = json_object_new_array();

	int n = ls ? blkid_partlist_numof_partitions(ls) : 0;
	for (int i = 0; i < n; i++) {
		blkid_partition par = blkid_partlist_get_partition(ls, i);
		uint64_t start = (uint64_t)blkid_partition_get_start(par) * SECTOR_SIZE;
		uint64_t size = (uint64_t)blkid_partition_get_size(par) * SECTOR_SIZE;
		json_object *p = json_object_new_object();
		json_object_object_add(p, "number",
				       json_object_new_int(blkid_partition_get_partno(par)));
		json_object_object_add(p, "start", json_object_new_int64((int64_t)start));
		json_object_object_add(p, "size", json_object_new_int64((int64_t)size));
		json_object_object_add(p, "type",
				       str_or_null(blkid_partition_get_type_string(par)));
		json_object_object_add(p, "name", str_or_null(blkid_partition_get_name(par)));
		json_object_object_add(p, "partuuid", str_or_null(blkid_partition_get_uuid(par)));
		json_object *fs =
			start + size <= (uint64_t)st.st_size ? probe_fs(fd, start, size) : NULL;
		const char *fstype = NULL;
		json_object *t;
		if (fs && json_object_object_get_ex(fs, "type", &t))
			fstype = json_object_get_string(t);
		if (!enl && fstype && startswith(fstype, "ext"))
			enl = read_enlighten(read_path, start, chain);
		const char *ptype = blkid_partition_get_type_string(par);
		if (fstype && streq(fstype, "vfat") && ptype && strcasecmp(ptype, ESP_TYPE) == 0)
			chain_add_esp(chain, read_path, start);
		json_object_object_add(p, "filesystem", fs);
		json_object_array_add(parts, p);
	}
	blkid_free_probe(pr);
	json_object_object_add(o, "boot_chain", chain);
	json_object_object_add(o, "enlighten", enl);
	*ret = o;
	return 0;
}
