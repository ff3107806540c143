/* SPDX-License-Identifier: MIT */
/*
 * part-windows.c - the dual disk's two Windows rows: the Microsoft
 * Reserved Partition (no filesystem) and the NTFS volume, made beside the
 * image by builder/windows/ from the OEM's image with the drivers of the
 * verified payload catalog, then copied into its slot.
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
#include <ftw.h>
#include <json-c/json.h>
#include <strings.h>

#include "builder/windows/windows.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"

/* A driver package folder of the payload source may only hold files the
 * signed catalog lists (and so were verified): the whole folder is staged. */
static const struct catalog *unlisted_catalog;
static size_t unlisted_prefix;
static char unlisted_path[PATH_MAX];
static int unlisted_one(const char *p, const struct stat *st _unused_, int flag,
			struct FTW *ftw _unused_)
{
	if (flag != FTW_F)
		return flag == FTW_D || flag == FTW_DP ? 0 : 1; /* symlinks and the like too */
	const char *rel = p + unlisted_prefix;
	for (size_t i = 0; i < unlisted_catalog->n_payloads; i++)
		if (streq(unlisted_catalog->payloads[i].path, rel))
			return 0;
	snprintf(unlisted_path, sizeof(unlisted_path), "%s", rel);
	return 1;
}

static int check_package_listed(const struct build *b, const char *dir)
{
	_cleanup_free_ char *full = strjoin(b->recipe->payload_source, "/", dir);
	if (!full)
		return errmsg_oom(b->err);
	unlisted_catalog = b->catalog;
	unlisted_prefix = strlen(b->recipe->payload_source) + 1;
	unlisted_path[0] = 0;
	int k = nftw(full, unlisted_one, 16, FTW_PHYS);
	if (k < 0)
		return errmsg_errno(b->err, errno, "cannot read '%s': %m", full);
	if (k > 0)
		return errmsg_errno(
			b->err, EPERM,
			"payload source '%s': '%s' is in a Windows driver package but "
			"not in the signed catalog; it would reach the image unverified",
			b->recipe->payload_source, unlisted_path[0] ? unlisted_path : dir);
	return 0;
}

/* No Drivers=: every Windows driver package of the verified payload
 * catalog (the folder of each INF payload), as "PROFILE=DIR" for each of
 * its profiles that the recipe stages. */
static int windows_catalog_drivers(struct build *b, char ***pairs)
{
	const struct recipe *r = b->recipe;
	for (size_t i = 0; i < b->catalog->n_payloads; i++) {
		const struct catalog_payload *p = &b->catalog->payloads[i];
		if (!p->inf || !streq_ptr(p->os, "windows") || !endswith(p->path, ".inf"))
			continue;
		_cleanup_free_ char *dir = strndup(
			p->path,
			strrchr(p->path, '/') ? (size_t)(strrchr(p->path, '/') - p->path) : 0);
		if (!dir)
			return errmsg_oom(b->err);
		if (!*dir)
			return errmsg_errno(b->err, EINVAL,
					    "catalog payload '%s': a Windows driver package "
					    "must be in a folder of its own",
					    p->path);
		int k2 = check_package_listed(b, dir);
		if (k2 < 0)
			return k2;
		for (char **pr = p->profiles; pr && *pr; pr++) {
			if (r->profiles && !strv_contains(r->profiles, *pr))
				continue;
			_cleanup_free_ char *pair = strjoin(*pr, "=", r->payload_source, "/", dir);
			if (!pair)
				return errmsg_oom(b->err);
			if (!strv_contains(*pairs, pair) && strv_extend(pairs, pair) < 0)
				return errmsg_oom(b->err);
		}
	}
	return 0;
}

/* The installers Installers= names: every .msi or .exe of the catalog
 * for a profile the recipe stages, into the agent's installers\ */
static int windows_installers(struct build *b, char ***installers)
{
	const struct recipe *r = b->recipe;
	for (size_t i = 0; b->catalog && i < b->catalog->n_payloads; i++) {
		const struct catalog_payload *p = &b->catalog->payloads[i];
		const char *ext = strrchr(p->path, '.');
		if (p->inf || !streq_ptr(p->os, "windows") || !ext ||
		    (strcasecmp(ext, ".msi") != 0 && strcasecmp(ext, ".exe") != 0))
			continue;
		bool staged = false;
		for (char **pr = p->profiles; pr && *pr && !staged; pr++)
			staged = !r->profiles || strv_contains(r->profiles, *pr);
		_cleanup_free_ char *path = strjoin(r->payload_source, "/", p->path);
		if (!path)
			return errmsg_oom(b->err);
		if (staged && !strv_contains(*installers, path) &&
		    strv_extend(installers, path) < 0)
			return errmsg_oom(b->err);
	}
	return 0;
}

/* What the Windows half carries, for the root's build.json. */
static int windows_record(struct build *b, const struct win_image_result *res)
{
	const struct recipe *r = b->recipe;
	json_object *j = json_object_new_object(), *pk = json_strv(res->packages),
		    *bc = json_strv(r->win_boot_critical);
	if (!j || !pk || !bc) {
		json_object_put(j);
		json_object_put(pk);
		json_object_put(bc);
		return errmsg_oom(b->err);
	}
	json_object_object_add(j, "image",
			       res->image_name ? json_object_new_string(res->image_name) : NULL);
	json_object_object_add(j, "drivers", pk);
	json_object_object_add(j, "boot_critical", bc);
	json_object_object_add(j, "boot_registration",
			       json_object_new_string(win_hive_method_to_string(res->hive_method)));
	b->windows = j;
	return 0;
}

/* The Windows half of a dual disk (builder/windows/image.c): the OEM's image
 * with the drivers, answer file and boot-critical registry applied to an
 * NTFS volume made beside the image, copied into its slot (libntfs-3g takes
 * no offset), and the Windows Boot Manager's files kept for the ESP. */
static int write_windows(struct build *b)
{
	const struct recipe *r = b->recipe;
	size_t n_drv = strv_length(r->win_drivers), n_boot = strv_length(r->win_boot_critical);
	_cleanup_free_ struct win_driver_source *drivers = calloc(n_drv + 1, sizeof(*drivers));
	_cleanup_free_ struct win_boot_spec *boot = calloc(n_boot + 1, sizeof(*boot));
	_cleanup_strv_free_ char **copies = NULL;
	_cleanup_free_ char *ntfs = NULL, *ntfs_name = NULL, *msg = NULL;
	struct win_image_result res;
	int k;

	if (!drivers || !boot)
		return errmsg_oom(b->err);
	for (size_t i = 0; i < n_drv; i++) {
		/* "PROFILE=PATH", as the recipe parser checked it */
		if (strv_extend(&copies, r->win_drivers[i]) < 0)
			return errmsg_oom(b->err);
		char *eq = strchr(copies[i], '=');
		*eq = 0;
		drivers[i] = (struct win_driver_source){ copies[i], eq + 1 };
	}
	if (!r->win_drivers && b->catalog) {
		_cleanup_strv_free_ char **pairs = NULL;
		k = windows_catalog_drivers(b, &pairs);
		if (k < 0)
			return k;
		n_drv = strv_length(pairs);
		free(drivers);
		drivers = calloc(n_drv + 1, sizeof(*drivers));
		if (!drivers)
			return errmsg_oom(b->err);
		for (size_t i = 0; i < n_drv; i++) {
			char *eq = strchr(pairs[i], '=');
			*eq = 0;
			drivers[i] = (struct win_driver_source){ pairs[i], eq + 1 };
		}
		strv_free(copies);
		copies = TAKE_PTR(pairs); /* owns the strings drivers[] points into */
	}
	for (size_t i = 0; i < n_boot; i++)
		boot[i] = (struct win_boot_spec){ .service = r->win_boot_critical[i] };

	ntfs_name = strjoin(".#", r->name, ".ntfs");
	b->windows_esp = strjoin(b->output_dir, "/.#", r->name, ".esp");
	if (!ntfs_name || !b->windows_esp || !(ntfs = strjoin(b->output_dir, "/", ntfs_name)))
		return errmsg_oom(b->err);
	temps_add(b->dir_fd, ntfs_name);
	_cleanup_strv_free_ char **installers = NULL;
	k = windows_installers(b, &installers);
	if (k < 0)
		return k;
	_cleanup_free_ char *agent_exe = NULL, *why = NULL;
	k = win_agent_find(r->win_agent, &agent_exe, &why);
	if (k < 0)
		return errmsg_errno(b->err, k, "recipe '%s': %s", r->path, why ?: strerror(-k));
	k = add_input(b, "windows-agent", agent_exe);
	if (k < 0)
		return k;
	struct win_image_opts o = {
		.agent_exe = agent_exe,
		.profiles_dir = b->profiles_dir,
		.installers = (const char *const *)installers,
		.n_installers = strv_length(installers),
		.wim = r->win_wim,
		.image = r->win_image,
		.drivers = drivers,
		.n_drivers = n_drv,
		.boot = boot,
		.n_boot = n_boot,
		.unattend_template = r->win_unattend,
		.out_ntfs = ntfs,
		.ntfs_size = b->windows_slot->size,
		.ntfs_start_sector = b->windows_slot->offset / SECTOR_SIZE,
		.out_esp = b->windows_esp,
		.mtime = b->now,
	};
	k = win_image_build(&o, &res, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "recipe '%s': %s", r->path,
				    msg ? msg : strerror(-k));

	_cleanup_close_ int fd = open(ntfs, O_RDONLY | O_CLOEXEC);
	k = fd < 0 ? -errno : ntfs_copy_sparse(fd, b->raw->fd, b->windows_slot->offset);
	(void)unlink(ntfs);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot copy the Windows volume into '%s': %m",
				    b->raw_path);
	build_note(b, "Windows: %zu driver package(s), %zu boot-critical service(s) through the %s",
		   res.n_packages, res.n_boot, win_hive_method_to_string(res.hive_method));

	k = windows_record(b, &res);
	win_image_result_done(&res);
	return k;
}

static bool dual_disk(const struct recipe *r)
{
	return r->win_wim;
}

static uint64_t msr_size(const struct recipe *r _unused_)
{
	return RECIPE_MSR_SIZE;
}

static const char *msr_label(const struct recipe *r _unused_)
{
	return "msr";
}

const struct partition_kind partition_msr = {
	.name = "msr",
	.type = GPT_TYPE_MSR,
	.fs = "none",
	.wanted = dual_disk,
	.size = msr_size,
	.label = msr_label,
};

static int windows_write(struct build *b, struct image_slot *slot _unused_)
{
	return write_windows(b);
}

static uint64_t windows_size(const struct recipe *r)
{
	return r->win_size;
}

static const char *windows_label(const struct recipe *r _unused_)
{
	return "Windows";
}

/* first: the Linux root's build.json says what the Windows half carries */
const struct partition_kind partition_windows = {
	.name = "windows",
	.type = GPT_TYPE_MS_BASIC_DATA,
	.fs = "ntfs",
	.wanted = dual_disk,
	.size = windows_size,
	.label = windows_label,
	.phase = PARTITION_PHASE_FIRST,
	.write = windows_write,
};
