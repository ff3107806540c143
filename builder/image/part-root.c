/* SPDX-License-Identifier: MIT */
/*
 * part-root.c - the root partition's row: the ext4 root formatted and
 * filled from the base tarball stream and the overlays, then what enlighten
 * injects (inject.c), GRUB's configuration where GRUB boots it; the
 * partition GUIDs are derived once every input is read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/build-private.h"
#include <ctype.h>

#include "builder/image/generalize.h"
#include "builder/image/inject.h"
#include "builder/image/manifest.h"
#include "builder/image/overlay.h"
#include "lib/activate/paths.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/progress.h"
#include "lib/basic/string-util.h"

/* The recipe's overlays over the base, in order (a later one wins), each an
 * input of the manifest and of the partition GUIDs. */
static int add_overlays(struct build *b, struct ext4 *e)
{
	const struct recipe *r = b->recipe;
	STRV_FOREACH(path, r->overlays)
	{
		_cleanup_free_ char *msg = NULL;
		uint8_t sha[SHA256_DIGEST_SIZE];
		uint64_t size;
		struct overlay_opts o = {
			.now = b->now,
			.max_bytes = b->root->size,
			.skip = r->generalize ? generalize_skip : NULL,
			.skip_userdata = &b->generalize,
		};
		int k = overlay_add(e, *path, &o, sha, &size, &msg);
		if (k < 0)
			return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
		/* its last component, as "tree" for "oem/tree/" */
		_cleanup_free_ char *name = strdup(*path);
		for (size_t n = name ? strlen(name) : 0; n > 1 && name[n - 1] == '/'; n--)
			name[n - 1] = '\0';
		k = name ? manifest_add_input(b->manifest, "overlay", base_name(name), sha, size)
			 : -ENOMEM;
		if (k >= 0)
			k = sha256_update(b->seed, sha, sizeof(sha));
		if (k < 0)
			return errmsg_oom(b->err);
	}
	return 0;
}

/* The root filesystem, first part: formatted and filled from the base
 * tarball stream; then the partition GUIDs, as every input is read. The
 * filesystem stays open in b->ext4 for root_finish(). */
static int root_stream(struct build *b, struct boot_files *boot)
{
	const struct recipe *r = b->recipe;
	struct image_slot *root = b->root;
	_cleanup_free_ char *msg = NULL;
	_cleanup_close_ int tar_fd = -EBADF;
	struct ext4 *e = NULL;
	int k;

	k = ext4_format(b->raw_path, root->offset, root->size, root->fs_uuid, root->label, b->now,
			b->mke2fs_config, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot make the root filesystem: %s", msg);
	k = ext4_open(b->raw_path, root->offset, true, b->now, &e, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "%s", msg);

	tar_fd = fs_open_input(r->tarball);
	if (tar_fd < 0) {
		ext4_abort(e);
		return errmsg_set(b->err, tar_fd, "cannot open base tarball '%s': %s", r->tarball,
				  fs_input_strerror(tar_fd));
	}
	struct stat st;
	_cleanup_sha256_ struct sha256 *h = NULL;
	if (fstat(tar_fd, &st) < 0 || sha256_new(&h) < 0) {
		ext4_abort(e);
		return errmsg_errno(b->err, errno, "cannot read base tarball '%s': %m", r->tarball);
	}
	struct progress *p = progress_new("base", (uint64_t)st.st_size);
	struct ext4_tar_opts o = {
		.hash = h,
		.tee = boot_tee,
		.userdata = boot,
		.progress = p,
		.max_bytes = root->size,
		.skip = r->generalize ? generalize_skip : NULL,
		.skip_userdata = &b->generalize,
	};
	struct ext4_tar_stats stats;
	k = ext4_add_tarball(e, tar_fd, &o, &stats, &msg);
	progress_done(p);
	if (k < 0) {
		ext4_abort(e);
		return errmsg_errno(b->err, k, "base tarball '%s': %s", r->tarball,
				    msg ? msg : strerror(-k));
	}

	uint8_t sha[SHA256_DIGEST_SIZE];
	k = sha256_final(h, sha);
	if (k >= 0)
		k = manifest_add_input(b->manifest, "base", base_name(r->tarball), sha,
				       (uint64_t)st.st_size);
	if (k >= 0)
		k = sha256_update(b->seed, sha, sizeof(sha));
	if (k < 0) {
		ext4_abort(e);
		return errmsg_oom(b->err);
	}
	k = add_overlays(b, e);
	if (k < 0) {
		ext4_abort(e);
		return k;
	}

	/* the inputs are all read: now the partition GUIDs */
	uint8_t seed[SHA256_DIGEST_SIZE];
	k = sha256_final(b->seed, seed);
	if (k < 0) {
		ext4_abort(e);
		return errmsg_oom(b->err);
	}
	partitions_derive_uuids(b, seed);
	b->ext4 = e;
	return 0;
}

/* glibc's directory for a locale, under usr/lib/locale/: the codeset in
 * lower case without '-' ("en_US.UTF-8" -> "en_US.utf8"). */
static char *locale_dir(const char *locale)
{
	char *s = strjoin("usr/lib/locale/", locale, "/LC_CTYPE");
	char *dot = s ? strchr(s + strlen("usr/lib/locale/"), '.') : NULL;
	if (!dot)
		return s;
	char *q = dot + 1, *p = dot + 1;
	for (; *p && *p != '@' && *p != '/'; p++)
		if (*p != '-')
			*q++ = (char)tolower((unsigned char)*p);
	memmove(q, p, strlen(p) + 1);
	return s;
}

/* Warns about a Timezone= or Locale= the base lacks: a dangling
 * /etc/localtime, a LANG that falls back to C. A locale-archive may hold
 * any locale, so a base with one is taken at its word. */
static int check_system_settings(struct build *b, struct ext4 *e)
{
	const struct recipe *r = b->recipe;
	uint64_t size;

	if (r->timezone) {
		_cleanup_free_ char *zone = strjoin("usr/share/zoneinfo/", r->timezone);
		if (!zone)
			return errmsg_oom(b->err);
		if (ext4_file_size(e, zone, &size) == -ENOENT &&
		    build_warn(b,
			       "Timezone=%s: the base has no '/%s', so /etc/localtime will point "
			       "nowhere; add the time zone data (tzdata) to the base",
			       r->timezone, zone) < 0)
			return -ENOMEM;
	}
	if (r->locale && !streq(r->locale, "C") && !streq(r->locale, "POSIX") &&
	    !startswith(r->locale, "C.")) {
		_cleanup_free_ char *dir = locale_dir(r->locale);
		if (!dir)
			return errmsg_oom(b->err);
		if (ext4_file_size(e, "usr/lib/locale/locale-archive", &size) == -ENOENT &&
		    ext4_file_size(e, dir, &size) == -ENOENT &&
		    build_warn(b,
			       "Locale=%s: the base has no such locale (no '/usr/lib/locale/"
			       "locale-archive', no '/%s'), so programs will fall back to C",
			       r->locale, dir) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Loader=grub: grub.cfg on the root, booting the distribution's kernel links. */
static int grub_config_write(struct build *b, struct ext4 *e, struct boot_file *kernel,
			     struct boot_file *initrd)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *cmdline = NULL, *msg = NULL;
	int k = boot_cmdline(b, &cmdline);
	if (k < 0)
		return k;
	struct grub_config gc = {
		.title = r->name,
		.root_fs_uuid = b->root->fs_uuid,
		.cmdline = cmdline,
		.kernel = kernel->name,
		.initrd = initrd->name,
		.kernel_pinned = r->kernel,
		.windows_title = b->windows_esp ? "Windows Boot Manager" : NULL,
		.xen_default = r->xen_default,
	};
	_cleanup_free_ char *xen_efi = NULL;
	if (r->xen_hypervisor) {
		if (asprintf(&xen_efi, "/%s/%s/xen.efi", r->name, kernel_version(kernel->name)) < 0)
			return errmsg_oom(b->err);
		gc.xen_efi = xen_efi;
	}
	k = grub_install_config(e, &gc, &b->grub, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
	if (b->grub.kernel_link)
		build_note(b,
			   "GRUB: /%s/grub.cfg boots /%s, which the base's kernel packages move "
			   "to each kernel they install",
			   b->grub.prefix, b->grub.kernel_link);
	else
		return build_warn(b,
				  "GRUB: /%s/grub.cfg boots '/%s'%s; a kernel update will not "
				  "change what boots",
				  b->grub.prefix, kernel->name,
				  r->kernel ? " as Kernel= says"
					    : ": the base keeps no link to its newest kernel");
	return 0;
}

/* The root filesystem, second part: what enlighten injects, then closed. */
static int root_finish(struct build *b, struct boot_file *kernel, struct boot_file *initrd)
{
	const struct recipe *r = b->recipe;
	struct ext4 *e = TAKE_PTR(b->ext4);
	_cleanup_free_ char *msg = NULL;
	_cleanup_json_ json_object *generalized = NULL;
	int k;

	if (r->generalize) {
		k = generalize_finish(e, &b->generalize, &msg);
		if (k >= 0 && !(generalized = generalize_to_json(&b->generalize)))
			k = -ENOMEM;
		if (k < 0) {
			ext4_abort(e);
			return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
		}
	}
	struct inject_opts io = {
		.repo_fd = b->repo_fd,
		.catalog = b->catalog,
		.public_key = r->public_key,
		.profiles_dir = b->profiles_dir,
		.profiles = r->profiles,
		.staged = b->stage.staged,
		.closure = b->stage.closure,
		.package_keys = r->package_keys,
		.agent_binary = b->agent,
		.agent_unit_template = b->unit_template,
		.root_partuuid = b->root->uuid,
		.esp_partuuid = b->esp->uuid,
		.hostname = r->hostname,
		.no_grow_root = !r->grow_root,
		.locale = r->locale,
		.timezone = r->timezone,
		.image_name = r->name,
		.source_date_epoch = b->now,
		.windows = b->windows,
		.generalized = generalized,
	};
	k = check_system_settings(b, e);
	if (k >= 0 && b->stage.closure) {
		/* the closure file's digest in the manifest: inject_repo() writes
		 * this same serialization */
		const char *text = json_to_string(b->stage.closure, true);
		uint8_t sha[SHA256_DIGEST_SIZE];
		k = text ? sha256_buffer(text, strlen(text), sha) : -ENOMEM;
		if (k >= 0)
			k = manifest_add_content(b->manifest,
						 "/" IMAGE_REPO_DIR "/" IMAGE_CLOSURE_FILE, sha,
						 strlen(text));
		if (k < 0) {
			ext4_abort(e);
			return errmsg_oom(b->err);
		}
	}
	if (k >= 0)
		k = inject_all(e, &io, &msg);
	if (k >= 0 && r->loader == LOADER_GRUB) {
		k = grub_config_write(b, e, kernel, initrd);
		if (k < 0) {
			ext4_abort(e);
			return k;
		}
	}
	if (k < 0) {
		ext4_abort(e);
		return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
	}
	k = ext4_close(e);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot write the root filesystem to '%s': %m",
				    b->raw_path);
	return 0;
}

/* The root, streamed and finished; the initrd check runs meanwhile on a
 * thread (build.c waits for it), and the boot files stay for the ESP. */
static int root_write(struct build *b, struct image_slot *slot _unused_)
{
	int k = root_stream(b, &b->boot);
	if (k >= 0)
		k = boot_files_pick(&b->boot, b->recipe, &b->kernel, &b->initrd, b->err);
	if (k >= 0)
		k = initrd_job_start(&b->initrd_job, b, b->initrd, b->boot.builtin_fd);
	if (k >= 0)
		k = root_finish(b, b->kernel, b->initrd);
	return k;
}

static const char *root_label(const struct recipe *r)
{
	return r->root_label;
}

const struct partition_kind partition_root = {
	.name = "root",
	.type = GPT_TYPE_ROOT_X86_64,
	.fs = "ext4",
	.fs_uuid = true,
	.label = root_label,
	.phase = PARTITION_PHASE_ROOT,
	.write = root_write,
};
