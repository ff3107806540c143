/* SPDX-License-Identifier: MIT */
/*
 * inject.c - writes the builder's own files into the root filesystem. Host
 * directories are copied in sorted order (so builds are reproducible),
 * regular files and directories only: a symlink in a payload directory is
 * refused rather than followed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/elf-check.h"
#include "builder/image/inject.h"
#include "builder/image/stage.h"
#include "lib/activate/paths.h"
#include "lib/activate/rpmtx.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"

#define COPY_DEPTH_MAX 16
#define COPY_FILES_MAX 100000
#define UNIT_MAX (64 * 1024)

static int copy_tree(struct ext4 *e, int dir_fd, const char *host, const char *dest, unsigned depth,
		     unsigned *files, char **reterr_msg)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_list_dir(dir_fd, NULL, &(struct fs_list_opts){ .hidden = true }, &names);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot list '%s': %s", host, strerror(-r));
	r = ext4_mkdir_p(e, dest, 0755);
	if (r < 0)
		return r;
	for (char **n = names; n && *n; n++) {
		_cleanup_free_ char *h = strjoin(host, "/", *n), *d = strjoin(dest, "/", *n);
		if (!h || !d)
			return -ENOMEM;
		struct stat st;
		if (fstatat(dir_fd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errmsg_set(reterr_msg, -errno, "cannot read '%s': %m", h);
		if (S_ISDIR(st.st_mode)) {
			if (depth >= COPY_DEPTH_MAX)
				return errmsg_set(reterr_msg, -ELOOP, "'%s' is nested too deep", h);
			_cleanup_close_ int sub =
				openat(dir_fd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				return errmsg_set(reterr_msg, -errno, "cannot open '%s': %m", h);
			r = copy_tree(e, sub, h, d, depth + 1, files, reterr_msg);
			if (r < 0)
				return r;
		} else if (S_ISREG(st.st_mode)) {
			if (++*files > COPY_FILES_MAX)
				return errmsg_set(reterr_msg, -E2BIG, "'%s' has more than %d files",
						  host, COPY_FILES_MAX);
			_cleanup_close_ int fd =
				openat(dir_fd, *n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return errmsg_set(reterr_msg, -errno, "cannot open '%s': %m", h);
			r = ext4_write_file_fd(e, d, fd, 0644, NULL, NULL);
			if (r < 0)
				return errmsg_set(reterr_msg, r,
						  "cannot write '/%s' into the image: %s", d,
						  ext4_strerror(e, r));
		} else
			return errmsg_set(reterr_msg, -EINVAL,
					  "'%s' is not a regular file or directory; refused", h);
	}
	return 0;
}

static int copy_host_file(struct ext4 *e, const char *host, const char *dest, mode_t mode,
			  char **reterr_msg)
{
	_cleanup_close_ int fd = open(host, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(reterr_msg, -errno, "cannot open '%s': %m", host);
	int r = ext4_write_file_fd(e, dest, fd, mode, NULL, NULL);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write '/%s' into the image: %s", dest,
				  ext4_strerror(e, r));
	return 0;
}

static int write_text(struct ext4 *e, const char *dest, const char *text, char **reterr_msg)
{
	int r = ext4_write_file(e, dest, text, strlen(text), 0644);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write '/%s' into the image: %s", dest,
				  ext4_strerror(e, r));
	return 0;
}

/* enlighten-firstboot-apply, found where enlighten-firstboot finds it:
 * agent_helper_find() beside the agent. */
static int inject_agent_helper(struct ext4 *e, const char *agent, char **reterr_msg)
{
	const char *slash = strrchr(agent, '/');
	_cleanup_free_ char *dir = slash ? strndup(agent, (size_t)(slash - agent)) : strdup(".");
	_cleanup_free_ char *p = NULL;
	if (!dir)
		return -ENOMEM;
	int r = agent_helper_find(dir, &p);
	if (r == -ENOENT)
		return errmsg_set(reterr_msg, r,
				  "cannot find " IMAGE_AGENT_HELPER_NAME " beside the agent '%s'",
				  agent);
	if (r < 0)
		return r;
	r = ext4_mkdir_p(e, IMAGE_AGENT_HELPER_DIR, 0755);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write '/%s' into the image: %s",
				  IMAGE_AGENT_HELPER_DIR, ext4_strerror(e, r));
	return copy_host_file(e, p, IMAGE_AGENT_HELPER, 0755, reterr_msg);
}

static int inject_unit(struct ext4 *e, const struct inject_opts *o, char **reterr_msg)
{
	_cleanup_close_ int fd = open(o->agent_unit_template, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *tmpl = NULL;
	if (fd < 0)
		return errmsg_set(reterr_msg, -errno, "cannot open the agent's unit '%s': %m",
				  o->agent_unit_template);
	int r = fs_read_fd(fd, UNIT_MAX, &tmpl, NULL);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read '%s': %s", o->agent_unit_template,
				  strerror(-r));

	/* @sbindir@ or %SBINDIR% -> /usr/sbin, where the agent goes in the image */
	size_t cap = strlen(tmpl) * 2 + 1;
	_cleanup_free_ char *unit = malloc(cap);
	if (!unit)
		return -ENOMEM;
	char *w = unit;
	for (const char *p = tmpl; *p;) {
		if (startswith(p, "@sbindir@") || startswith(p, "%SBINDIR%")) {
			w = stpcpy(w, "/usr/sbin");
			p += strlen("@sbindir@");
		} else
			*w++ = *p++;
	}
	*w = '\0';
	r = write_text(e, IMAGE_UNIT, unit, reterr_msg);
	if (r < 0)
		return r;
	r = ext4_symlink(e, IMAGE_UNIT_WANTS, "/" IMAGE_UNIT);
	if (r < 0 && r != -EEXIST)
		return errmsg_set(reterr_msg, r, "cannot enable the agent's unit: %s",
				  ext4_strerror(e, r));
	return 0;
}

/* One payload into the image's repository, verified as it is copied: its
 * bytes are read once, each written into the image and fed to the SHA-256
 * that is then compared with the signed catalog's. A payload of another
 * length or digest fails the build, which then leaves no image. */
static int inject_payload(struct ext4 *e, int repo_fd, const struct catalog_payload *p,
			  char **reterr_msg)
{
	_cleanup_free_ char *msg = NULL, *dest = strjoin(IMAGE_REPO_DIR "/", p->path);
	_cleanup_sha256_ struct sha256 *h = NULL;
	uint8_t digest[SHA256_DIGEST_SIZE] = {};
	uint64_t n = 0;
	if (!dest || sha256_new(&h) < 0)
		return -ENOMEM;
	_cleanup_close_ int fd = catalog_payload_open(repo_fd, p, &msg);
	int r = fd;
	if (fd >= 0) {
		r = ext4_write_file_fd(e, dest, fd, 0644, h, &n);
		if (r < 0 && r != -EFBIG)
			return errmsg_set(reterr_msg, r, "cannot write '/%s' into the image: %s",
					  dest, ext4_strerror(e, r));
		if (r >= 0 && sha256_final(h, digest) < 0)
			return -ENOMEM;
		r = catalog_payload_check(p, r, digest, n, &msg);
	}
	if (r == -EBADMSG)
		return errmsg_set(reterr_msg, r,
				  "%s: not what the catalog signed, so no image is made; restore "
				  "the payload, or index and sign the payload source again",
				  msg);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "%s", msg ? msg : strerror(-r));
	return 0;
}

/* The local repository: the signed catalog as is, and the Linux payloads
 * staged (stage.h) at their catalog paths, each verified as it is copied. */
static int inject_repo(struct ext4 *e, const struct inject_opts *o, char **reterr_msg)
{
	static const char *const files[] = { CATALOG_FILE, CATALOG_SIG_FILE };
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_close_ int fd = fs_open_beneath(o->repo_fd, files[i], O_RDONLY, 0);
		_cleanup_free_ char *dest = strjoin(IMAGE_REPO_DIR "/", files[i]);
		if (!dest)
			return -ENOMEM;
		if (fd < 0)
			return errmsg_set(reterr_msg, fd,
					  "cannot open '%s' of the payload source: %s", files[i],
					  strerror(-fd));
		int r = ext4_write_file_fd(e, dest, fd, 0644, NULL, NULL);
		if (r < 0)
			return errmsg_set(reterr_msg, r, "cannot write '/%s' into the image: %s",
					  dest, ext4_strerror(e, r));
	}
	for (size_t i = 0; i < o->catalog->n_payloads; i++) {
		if (!o->staged[i])
			continue;
		int r = inject_payload(e, o->repo_fd, &o->catalog->payloads[i], reterr_msg);
		if (r < 0)
			return r;
	}
	if (o->closure) {
		const char *text = json_to_string(o->closure, true);
		if (!text)
			return -ENOMEM;
		return write_text(e, IMAGE_REPO_DIR "/" IMAGE_CLOSURE_FILE, text, reterr_msg);
	}
	return 0;
}

static int inject_build_info(struct ext4 *e, const struct inject_opts *o, char **reterr_msg)
{
	_cleanup_json_ json_object *j = json_object_new_object();
	json_object *profiles = json_strv(o->profiles);
	if (!j || !profiles) {
		json_object_put(profiles);
		return -ENOMEM;
	}
	json_object_object_add(j, "schema", json_object_new_int(1));
	json_object_object_add(j, "image", json_object_new_string(o->image_name));
	json_object_object_add(j, "tool", json_object_new_string("enlighten " VERSION));
	json_object_object_add(j, "agent_version", json_object_new_string(VERSION));
	json_object_object_add(j, "catalog_version",
			       o->catalog ? json_object_new_int64((int64_t)o->catalog->version)
					  : NULL);
	json_object_object_add(j, "profiles", profiles);
	json_object_object_add(j, "source_date_epoch", json_object_new_int64(o->source_date_epoch));
	json_object_object_add(j, "root_partuuid", json_object_new_string(o->root_partuuid));
	if (o->windows)
		json_object_object_add(j, "windows", json_object_get(o->windows));
	json_object_object_add(j, "generalized", json_object_get(o->generalized));
	const char *s = json_to_string(j, true);
	if (!s)
		return -ENOMEM;
	return write_text(e, IMAGE_BUILD_INFO, s, reterr_msg);
}

/* firstboot.conf, only where the recipe changes a default of the agent's */
static int inject_firstboot_conf(struct ext4 *e, const struct inject_opts *o, char **reterr_msg)
{
	if (!o->no_grow_root)
		return 0;
	int r = ext4_mkdir_p(e, IMAGE_CONF_DIR, 0755);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write '/%s' into the image: %s",
				  IMAGE_CONF_DIR, ext4_strerror(e, r));
	return write_text(e, IMAGE_FIRSTBOOT_CONF,
			  "# written by enlighten build: [Partitions] GrowRoot=no\n"
			  "[Firstboot]\nGrowRoot=no\n",
			  reterr_msg);
}

int inject_all(struct ext4 *e, const struct inject_opts *o, char **reterr_msg)
{
	unsigned files = 0;
	int r;

	if (o->catalog) {
		r = inject_repo(e, o, reterr_msg);
		if (r < 0)
			return r;
		const char *b = strrchr(o->public_key, '/');
		b = b ? b + 1 : o->public_key;
		_cleanup_free_ char *dest =
			strjoin(IMAGE_KEYS_DIR "/", b, endswith(b, ".pub") ? "" : ".pub");
		if (!dest)
			return -ENOMEM;
		r = copy_host_file(e, o->public_key, dest, 0644, reterr_msg);
		if (r < 0)
			return r;
	}

	size_t i = 0;
	STRV_FOREACH(key, o->package_keys)
	{
		const char *b = strrchr(*key, '/');
		char dest[PATH_MAX];
		b = b ? b + 1 : *key;
		/* numbered: two keys of one file name both go in */
		snprintf(dest, sizeof(dest), "%s/%02zu-%s%s", IMAGE_RPM_KEYS_DIR, i++, b,
			 endswith(b, ".asc") ? "" : ".asc");
		r = ext4_mkdir_p(e, IMAGE_RPM_KEYS_DIR, 0755);
		if (r < 0)
			return errmsg_set(reterr_msg, r, "cannot write '/%s' into the image: %s",
					  IMAGE_RPM_KEYS_DIR, ext4_strerror(e, r));
		r = copy_host_file(e, *key, dest, 0644, reterr_msg);
		if (r < 0)
			return r;
	}

	if (o->profiles_dir) {
		_cleanup_close_ int fd = open(o->profiles_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			files = 0;
			r = copy_tree(e, fd, o->profiles_dir, IMAGE_PROFILES_DIR,
				      COPY_DEPTH_MAX - 1, &files, reterr_msg);
			if (r < 0)
				return r;
		} else if (errno != ENOENT)
			return errmsg_set(reterr_msg, -errno, "cannot open '%s': %m",
					  o->profiles_dir);
	}

	r = copy_host_file(e, o->agent_binary, IMAGE_AGENT, 0755, reterr_msg);
	if (r < 0)
		return r;
	r = inject_agent_helper(e, o->agent_binary, reterr_msg);
	if (r < 0)
		return r;
	/* never an image whose agent cannot start: checked in the image, on
	 * the base's own loader folders and libraries */
	r = elf_check_starts(e, IMAGE_AGENT, "the first-boot agent", reterr_msg);
	if (r >= 0)
		r = elf_check_starts(e, IMAGE_AGENT_HELPER, "the agent's helper", reterr_msg);
	if (r < 0)
		return r;
	r = inject_unit(e, o, reterr_msg);
	if (r < 0)
		return r;

	r = inject_firstboot_conf(e, o, reterr_msg);
	if (r < 0)
		return r;

	_cleanup_free_ char *fstab = NULL;
	if (asprintf(&fstab,
		     "# written by enlighten build\n"
		     "PARTUUID=%s / ext4 defaults 0 1\n"
		     "PARTUUID=%s /boot/efi vfat umask=0077,nofail 0 2\n",
		     o->root_partuuid, o->esp_partuuid) < 0)
		return -ENOMEM;
	r = write_text(e, "etc/fstab", fstab, reterr_msg);
	if (r >= 0)
		r = ext4_mkdir_p(e, "boot/efi", 0700);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write fstab: %s", ext4_strerror(e, r));

	if (o->hostname) {
		_cleanup_free_ char *s = strjoin(o->hostname, "\n");
		if (!s)
			return -ENOMEM;
		r = write_text(e, "etc/hostname", s, reterr_msg);
		if (r < 0)
			return r;
	}
	if (o->locale) {
		_cleanup_free_ char *s = strjoin("LANG=", o->locale, "\n");
		if (!s)
			return -ENOMEM;
		r = write_text(e, "etc/locale.conf", s, reterr_msg);
		if (r < 0)
			return r;
	}
	if (o->timezone) {
		_cleanup_free_ char *s = strjoin(o->timezone, "\n"),
				    *l = strjoin("../usr/share/zoneinfo/", o->timezone);
		if (!s || !l)
			return -ENOMEM;
		r = write_text(e, "etc/timezone", s, reterr_msg);
		if (r < 0)
			return r;
		r = ext4_symlink(e, "etc/localtime", l);
		if (r == -EEXIST)
			r = errmsg_set(
				reterr_msg, r,
				"the base already has '/etc/localtime'; leave Timezone= unset or "
				"remove it from the base");
		if (r < 0)
			return errmsg_set(reterr_msg, r, "cannot write '/etc/localtime': %s",
					  ext4_strerror(e, r));
	}
	return inject_build_info(e, o, reterr_msg);
}
