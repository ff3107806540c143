/* SPDX-License-Identifier: MIT */
/*
 * recipe.c - reads an image recipe (INI, lib/basic/ini.h) into struct
 * recipe. One table row per key: section, name, parser, field. Include=
 * nests a read of another file at once, relative to the including file; a
 * stack of the files being read refuses cycles.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/convert.h"
#include "builder/image/recipe.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/ini.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define RECIPE_FILE_MAX (1024 * 1024)
#define RECIPE_LINE_MAX 4096
#define RECIPE_INCLUDE_DEPTH_MAX 16

static const char *const initrd_check_table[] = {
	[INITRD_CHECK_YES] = "yes",
	[INITRD_CHECK_WARN] = "warn",
	[INITRD_CHECK_NO] = "no",
};
DEFINE_STRING_TABLE_LOOKUP(initrd_check, enum initrd_check);

static const char *const boot_loader_table[_LOADER_MAX] = {
	[LOADER_SYSTEMD_BOOT] = "systemd-boot",
	[LOADER_GRUB] = "grub",
};
DEFINE_STRING_TABLE_LOOKUP(boot_loader, enum boot_loader);

struct parse_ctx {
	struct recipe *recipe;
	struct sha256 *hash;
	char *dirs[RECIPE_INCLUDE_DEPTH_MAX];	   /* of the files being read, for relative paths */
	char *realpaths[RECIPE_INCLUDE_DEPTH_MAX]; /* the same files, for cycles */
	unsigned depth;
};

static int parse_string(struct ini *ini, const char *value, void *field)
{
	char **s = field;
	if (!string_is_safe(value))
		return ini_fail(ini, "value '%s' has control characters", value);
	char *d = strdup(value);
	if (!d)
		return -ENOMEM;
	free(*s);
	*s = d;
	return 0;
}

/* A plain name: image names, hostnames, locales. */
static int parse_name(struct ini *ini, const char *value, void *field)
{
	if (!*value || strlen(value) > 64)
		return ini_fail(ini, "'%s' is not a name (1-64 of A-Z a-z 0-9 . _ -)", value);
	for (const char *p = value; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return ini_fail(ini, "'%s' is not a name (1-64 of A-Z a-z 0-9 . _ -)",
					value);
	if (value[0] == '.' || value[0] == '-')
		return ini_fail(ini, "name '%s' must not start with '%c'", value, value[0]);
	return parse_string(ini, value, field);
}

static int parse_timezone(struct ini *ini, const char *value, void *field)
{
	for (const char *p = value; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return ini_fail(ini, "'%s' is not a time zone such as 'Europe/Berlin'",
					value);
	if (!*value || value[0] == '/' || strstr(value, "//"))
		return ini_fail(ini, "'%s' is not a time zone such as 'Europe/Berlin'", value);
	return parse_string(ini, value, field);
}

/* Paths in an inside-the-image sense (the kernel within the tarball). */
static int parse_inner_path(struct ini *ini, const char *value, void *field)
{
	const char *v = value;
	while (*v == '/')
		v++;
	if (path_check_relative(v) < 0)
		return ini_fail(ini, "'%s' is not a path inside the base", value);
	return parse_string(ini, v, field);
}

/* Host paths, relative to the file that names them. */
static int parse_path(struct ini *ini, const char *value, void *field)
{
	struct parse_ctx *c = ini_userdata(ini);
	char **s = field;
	if (!*value)
		return ini_fail(ini, "empty path");
	if (!string_is_safe(value))
		return ini_fail(ini, "path '%s' has control characters", value);
	const char *dir = c->dirs[c->depth - 1];
	char *d = value[0] == '/' || streq(dir, ".") ? strdup(value) : strjoin(dir, "/", value);
	if (!d)
		return -ENOMEM;
	free(*s);
	*s = d;
	return 0;
}

static int parse_size_field(struct ini *ini, const char *value, void *field)
{
	uint64_t v;
	if (parse_size(value, &v) < 0 || v == 0)
		return ini_fail(ini, "'%s' is not a size (a number with K, M, G or T)", value);
	if (v % (1024 * 1024) != 0)
		return ini_fail(ini, "size '%s' is not a whole number of MiB", value);
	*(uint64_t *)field = v;
	return 0;
}

static int parse_list(const char *value, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	_cleanup_free_ char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	for (char *save = NULL, *w = strtok_r(copy, " \t,", &save); w;
	     w = strtok_r(NULL, " \t,", &save))
		if (!strv_contains(l, w) && strv_extend(&l, w) < 0)
			return -ENOMEM;
	strv_free(*ret);
	*ret = TAKE_PTR(l);
	return 0;
}

static int parse_formats(struct ini *ini, const char *value, void *field)
{
	_cleanup_strv_free_ char **l = NULL;
	int r = parse_list(value, &l);
	if (r < 0)
		return r;
	for (char **f = l; f && *f; f++) {
		_cleanup_free_ char *msg = NULL;
		r = output_format_check(*f, &msg);
		if (r < 0)
			return ini_fail(ini, "%s", msg ? msg : "unknown format");
	}
	if (!l) {
		char known[128];
		output_format_list(known, sizeof(known));
		return ini_fail(ini, "Formats= needs at least one of %s", known);
	}
	strv_free(*(char ***)field);
	*(char ***)field = TAKE_PTR(l);
	return 0;
}

static int parse_profiles(struct ini *ini, const char *value, void *field)
{
	_cleanup_strv_free_ char **l = NULL;
	int r = parse_list(value, &l);
	if (r < 0)
		return r;
	for (char **p = l; p && *p; p++) {
		for (const char *q = *p; *q; q++)
			if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
				return ini_fail(ini, "'%s' is not a profile name", *p);
	}
	strv_free(*(char ***)field);
	*(char ***)field = TAKE_PTR(l);
	return 0;
}

static int parse_initrd_check(struct ini *ini, const char *value, void *field)
{
	enum initrd_check v = initrd_check_from_string(value);
	if ((int)v < 0) {
		int b = parse_boolean(value);
		if (b < 0)
			return ini_fail(ini, "'%s' is not one of yes, warn, no", value);
		v = b ? INITRD_CHECK_YES : INITRD_CHECK_NO;
	}
	*(enum initrd_check *)field = v;
	return 0;
}

static int parse_bool_field(struct ini *ini, const char *value, void *field)
{
	int b = parse_boolean(value);
	if (b < 0)
		return ini_fail(ini, "'%s' is not yes or no", value);
	*(bool *)field = b;
	return 0;
}

static int parse_cmdline(struct ini *ini, const char *value, void *field)
{
	if (strlen(value) > 2048)
		return ini_fail(ini, "kernel command line longer than 2048 bytes");
	return parse_string(ini, value, field);
}

/* ImageIndex= and Edition= both select the image (by index, by name). */
static int parse_image_index(struct ini *ini, const char *value, void *field)
{
	uint32_t v;
	if (parse_u32(value, 10, &v) < 0 || v == 0)
		return ini_fail(ini, "'%s' is not an image index (1, 2, ...; 'wiminfo' lists them)",
				value);
	return parse_string(ini, value, field);
}

static int parse_edition(struct ini *ini, const char *value, void *field)
{
	if (!*value || !string_is_safe(value))
		return ini_fail(ini, "'%s' is not an image name", value);
	return parse_string(ini, value, field);
}

/* Drivers=PROFILE=PATH ...: each PATH relative to the file that names it.
 * Like BootCritical=, a list that each line (or continuation line) extends
 * and an empty value empties. */
static int parse_win_drivers(struct ini *ini, const char *value, void *field)
{
	_cleanup_strv_free_ char **l = NULL, **out = NULL;
	int r = parse_list(value, &l);
	if (r < 0)
		return r;
	if (!l) {
		*(char ***)field = strv_free(*(char ***)field);
		return 0;
	}
	for (char **d = *(char ***)field; d && *d; d++)
		if (strv_extend(&out, *d) < 0)
			return -ENOMEM;
	for (char **d = l; d && *d; d++) {
		char *eq = strchr(*d, '=');
		if (!eq || eq == *d || !eq[1])
			return ini_fail(ini, "'%s' is not PROFILE=PATH", *d);
		*eq = 0;
		for (const char *q = *d; *q; q++)
			if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
				return ini_fail(ini, "'%s' is not a profile name", *d);
		_cleanup_free_ char *path = NULL;
		r = parse_path(ini, eq + 1, &path);
		if (r < 0)
			return r;
		_cleanup_free_ char *entry = strjoin(*d, "=", path);
		if (!entry || strv_extend(&out, entry) < 0)
			return -ENOMEM;
	}
	strv_free(*(char ***)field);
	*(char ***)field = TAKE_PTR(out);
	return 0;
}

/* A value for a list that each line extends: its words in *ret and 1, or
 * 0 when the value is empty (which empties *list). */
static int extend_or_empty(const char *value, char ***list, char ***ret)
{
	int r = parse_list(value, ret);
	if (r < 0)
		return r;
	if (!*ret) {
		*list = strv_free(*list);
		return 0;
	}
	return 1;
}

/* PackageKeys=PATH...: armored OpenPGP key files, each relative to the file
 * that names it; each line extends the list, an empty value empties it. */
/* Loader=systemd-boot|grub, or the path of a systemd-boot EFI binary. */
static int parse_loader(struct ini *ini, const char *value, void *field)
{
	struct parse_ctx *c = ini_userdata(ini);
	enum boot_loader l = boot_loader_from_string(value);
	if ((int)l >= 0) {
		*(enum boot_loader *)field = l;
		return 0;
	}
	if (!strchr(value, '/')) {
		const char *best = suggest_in_strings(value, boot_loader_table, _LOADER_MAX);
		return ini_fail(ini, "unknown loader '%s'%s%s%s; use systemd-boot or grub", value,
				best ? " (did you mean '" : "", best ?: "", best ? "'?)" : "");
	}
	*(enum boot_loader *)field = LOADER_SYSTEMD_BOOT;
	return parse_path(ini, value, &c->recipe->systemd_boot);
}

/* Firmware=uefi bios: a list, each line replacing the one before. */
static int parse_firmware(struct ini *ini, const char *value, void *field)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = { { "uefi", FIRMWARE_UEFI }, { "bios", FIRMWARE_BIOS } };
	_cleanup_strv_free_ char **l = NULL;
	unsigned bits = 0;
	int r = parse_list(value, &l);
	if (r < 0)
		return r;
	for (char **w = l; w && *w; w++) {
		size_t i = 0;
		while (i < ELEMENTSOF(names) && !streq(names[i].name, *w))
			i++;
		if (i == ELEMENTSOF(names)) {
			const char *best = suggest_in(*w, names, ELEMENTSOF(names), name);
			return ini_fail(ini, "unknown firmware '%s'%s%s%s; use uefi, bios or both",
					*w, best ? " (did you mean '" : "", best ?: "",
					best ? "'?)" : "");
		}
		bits |= names[i].bit;
	}
	if (!bits)
		return ini_fail(ini, "Firmware= is empty; use uefi, bios or both");
	*(unsigned *)field = bits;
	return 0;
}

static int parse_paths(struct ini *ini, const char *value, void *field)
{
	_cleanup_strv_free_ char **l = NULL;
	char ***list = field;
	int r = extend_or_empty(value, list, &l);
	if (r <= 0)
		return r;
	for (char **p = l; *p; p++) {
		_cleanup_free_ char *path = NULL;
		r = parse_path(ini, *p, &path);
		if (r < 0)
			return r;
		if (strv_length(*list) >= RECIPE_MAX_PATHS)
			return ini_fail(ini, "more than %d paths in one list", RECIPE_MAX_PATHS);
		if (!strv_contains(*list, path) && strv_extend(list, path) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int parse_services(struct ini *ini, const char *value, void *field)
{
	_cleanup_strv_free_ char **l = NULL;
	char ***list = field;
	int r = extend_or_empty(value, list, &l);
	if (r <= 0)
		return r;
	for (char **p = l; *p; p++) {
		for (const char *q = *p; *q; q++)
			if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_' && *q != '.')
				return ini_fail(ini, "'%s' is not a driver service name", *p);
		if (!strv_contains(*list, *p) && strv_extend(list, *p) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* [Xen]: each key also marks the section as given, so that one without
 * Hypervisor= is an error rather than silently no Xen entry. */
static int parse_xen_package(struct ini *ini, const char *value, void *field)
{
	struct parse_ctx *c = ini_userdata(ini);
	c->recipe->xen_set = true;
	for (const char *q = value; *q; q++)
		if (!isalnum((unsigned char)*q) && !strchr("+-._", *q))
			return ini_fail(ini, "'%s' is not a package name", value);
	if (!*value)
		return ini_fail(ini, "empty package name");
	return parse_string(ini, value, field);
}

static int parse_xen_bool(struct ini *ini, const char *value, void *field)
{
	struct parse_ctx *c = ini_userdata(ini);
	c->recipe->xen_set = true;
	return parse_bool_field(ini, value, field);
}

static int parse_xen_size(struct ini *ini, const char *value, void *field)
{
	struct parse_ctx *c = ini_userdata(ini);
	c->recipe->xen_set = true;
	return parse_size_field(ini, value, field);
}

static int parse_xen_cpus(struct ini *ini, const char *value, void *field)
{
	struct parse_ctx *c = ini_userdata(ini);
	uint32_t v;
	c->recipe->xen_set = true;
	if (parse_u32(value, 10, &v) < 0 || v == 0 || v > 4096)
		return ini_fail(ini, "'%s' is not a number of virtual CPUs (1-4096)", value);
	*(uint32_t *)field = v;
	return 0;
}

/* Hypervisor options and the dom0 kernel's: one line of xen.cfg each, so
 * no control characters. */
static int parse_xen_line(struct ini *ini, const char *value, void *field)
{
	struct parse_ctx *c = ini_userdata(ini);
	c->recipe->xen_set = true;
	if (!string_is_safe(value))
		return ini_fail(ini, "control characters in value");
	return parse_cmdline(ini, value, field);
}

static int parse_include(struct ini *ini, const char *value, void *field);

#define F(x) offsetof(struct recipe, x), 0
static const struct ini_key recipe_keys[] = {
	{ "Image", "Name", parse_name, F(name) },
	{ "Image", "Size", parse_size_field, F(size) },
	{ "Image", "Formats", parse_formats, F(formats) },
	{ "Image", "Demo", parse_bool_field, F(demo) },
	{ "Partitions", "ESPSize", parse_size_field, F(esp_size) },
	{ "Partitions", "ESPLabel", parse_name, F(esp_label) },
	{ "Partitions", "RootLabel", parse_name, F(root_label) },
	{ "Partitions", "GrowRoot", parse_bool_field, F(grow_root) },
	{ "Base", "Tarball", parse_path, F(tarball) },
	{ "Base", "Kernel", parse_inner_path, F(kernel) },
	{ "Base", "Initrd", parse_inner_path, F(initrd) },
	{ "Base", "InitrdCheck", parse_initrd_check, F(initrd_check) },
	{ "Base", "Overlays", parse_paths, F(overlays) },
	{ "Payloads", "Source", parse_path, F(payload_source) },
	{ "Payloads", "PublicKey", parse_path, F(public_key) },
	{ "Payloads", "PublicKeyIsDemo", parse_bool_field, F(public_key_is_demo) },
	{ "Payloads", "Profiles", parse_profiles, F(profiles) },
	{ "Payloads", "PackageKeys", parse_paths, F(package_keys) },
	{ "Agent", "Binary", parse_path, F(agent_binary) },
	{ "Boot", "KernelCommandLine", parse_cmdline, F(cmdline) },
	{ "Boot", "Loader", parse_loader, F(loader) },
	{ "Boot", "Firmware", parse_firmware, F(firmware) },
	{ "Boot", "SecureBoot", parse_bool_field, F(secure_boot) },
	{ "Boot", "Shim", parse_path, F(shim) },
	{ "Boot", "SignedGrub", parse_path, F(signed_grub) },
	{ "System", "Hostname", parse_name, F(hostname) },
	{ "System", "Locale", parse_name, F(locale) },
	{ "System", "Timezone", parse_timezone, F(timezone) },
	{ "System", "Generalize", parse_bool_field, F(generalize) },
	{ "Windows", "InstallWim", parse_path, F(win_wim) },
	{ "Windows", "ImageIndex", parse_image_index, F(win_image) },
	{ "Windows", "Edition", parse_edition, F(win_image) },
	{ "Windows", "Size", parse_size_field, F(win_size) },
	{ "Windows", "Drivers", parse_win_drivers, F(win_drivers) },
	{ "Windows", "BootCritical", parse_services, F(win_boot_critical) },
	{ "Windows", "UnattendTemplate", parse_path, F(win_unattend) },
	{ "Xen", "Hypervisor", parse_xen_package, F(xen_hypervisor) },
	{ "Xen", "Default", parse_xen_bool, F(xen_default) },
	{ "Xen", "Dom0Memory", parse_xen_size, F(xen_dom0_memory) },
	{ "Xen", "Dom0CPUs", parse_xen_cpus, F(xen_dom0_cpus) },
	{ "Xen", "Options", parse_xen_line, F(xen_options) },
	{ "Xen", "KernelCommandLine", parse_xen_line, F(xen_cmdline) },
	{ "Windows", "Agent", parse_path, F(win_agent) },
	{ NULL, "Include", parse_include, 0, 0 },
};
#undef F

/* Keys belong in sections; a key set again replaces its value, or adds to
 * its list (the parse function knows which). */
static const struct ini_syntax recipe_syntax = {
	.what = "recipe",
	.keys = recipe_keys,
	.n_keys = ELEMENTSOF(recipe_keys),
	.duplicates = INI_DUPLICATES_PARSE,
	.max_size = RECIPE_FILE_MAX,
	.max_line = RECIPE_LINE_MAX,
};

static int recipe_parse_file(struct parse_ctx *c, const char *path, char **reterr_msg)
{
	_cleanup_close_ int fd = fs_open_input(path);
	_cleanup_free_ char *buf = NULL, *real = NULL, *dircopy = NULL;
	size_t n;
	int r;

	if (fd < 0)
		return errmsg_set(reterr_msg, fd, "cannot read recipe '%s': %s", path,
				  fs_input_strerror(fd));
	r = fs_read_fd(fd, RECIPE_FILE_MAX, &buf, &n);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read recipe '%s': %s", path,
				  r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
	r = sha256_update(c->hash, buf, n);
	if (r < 0)
		return r;

	real = realpath(path, NULL);
	dircopy = strdup(path);
	if (!real || !dircopy)
		return -ENOMEM;
	c->dirs[c->depth] = dirname(dircopy);
	c->realpaths[c->depth] = real;
	c->depth++;
	r = ini_read(&recipe_syntax, path, buf, n, c->recipe, c, reterr_msg);
	c->depth--;
	return r;
}

/* Include=PATH: the file's keys, read at once, as if they stood here. */
static int parse_include(struct ini *ini, const char *value, void *field _unused_)
{
	struct parse_ctx *c = ini_userdata(ini);
	_cleanup_free_ char *path = NULL;
	int r = parse_path(ini, value, &path);
	if (r < 0)
		return r;
	if (c->depth >= RECIPE_INCLUDE_DEPTH_MAX)
		return ini_fail(ini, "includes nested deeper than %d", RECIPE_INCLUDE_DEPTH_MAX);
	_cleanup_free_ char *real = realpath(path, NULL);
	if (!real)
		return ini_fail(ini, "cannot include '%s': %s", value, strerror(errno));
	for (unsigned i = 0; i < c->depth; i++)
		if (streq(c->realpaths[i], real))
			return ini_fail(ini,
					"Include='%s' makes a cycle (it is already being read)",
					value);
	return recipe_parse_file(c, path, ini_errmsg(ini));
}

static int recipe_check(struct recipe *r, char **reterr_msg)
{
	const char *missing = !r->size	    ? "Size= in [Image]"
			      : !r->tarball ? "Tarball= in [Base]"
					    : NULL;
	if (missing) {
		return errmsg_set(reterr_msg, -EINVAL, "recipe '%s': %s is required", r->path,
				  missing);
	}
	if (r->esp_size + 3 * 1024 * 1024 >= r->size || r->size - r->esp_size < 16 * 1024 * 1024) {
		return errmsg_set(
			reterr_msg, -EINVAL,
			"recipe '%s': Size= leaves less than 16 MiB for the root partition "
			"after the ESP; make Size= larger or ESPSize= smaller",
			r->path);
	}
	if (r->firmware & FIRMWARE_BIOS) {
		const char *why = NULL;
		if (r->loader != LOADER_GRUB)
			why = "Firmware=bios needs Loader=grub in [Boot] (systemd-boot boots only "
			      "through UEFI)";
		else if (r->win_wim)
			why = "Firmware=bios cannot boot the dual disk (Windows boots from a "
			      "GPT disk only through UEFI); drop bios from Firmware=";
		else if (r->esp_size + RECIPE_BIOS_BOOT_SIZE + 18 * 1024 * 1024 > r->size)
			why = "Size= leaves less than 16 MiB for the root partition after the "
			      "1 MiB BIOS boot partition and the ESP; make Size= larger or "
			      "ESPSize= smaller";
		if (why)
			return errmsg_set(reterr_msg, -EINVAL, "recipe '%s': %s", r->path, why);
	}
	if (r->secure_boot && r->loader != LOADER_GRUB)
		return errmsg_set(reterr_msg, -EINVAL,
				  "recipe '%s': SecureBoot=yes needs Loader=grub in [Boot] (the "
				  "chain is shim, then GRUB signed by the distribution)",
				  r->path);
	if (r->esp_size < 33 * 1024 * 1024) {
		return errmsg_set(
			reterr_msg, -EINVAL,
			"recipe '%s': ESPSize= must be at least 33M (FAT32's smallest size)",
			r->path);
	}
	if (!r->win_wim && (r->win_size || r->win_image || r->win_drivers || r->win_boot_critical ||
			    r->win_unattend || r->win_agent)) {
		return errmsg_set(reterr_msg, -EINVAL,
				  "recipe '%s': [Windows] needs InstallWim=", r->path);
	}
	if (r->xen_set && !r->xen_hypervisor) {
		return errmsg_set(reterr_msg, -EINVAL,
				  "recipe '%s': [Xen] needs Hypervisor=, the payload package that "
				  "carries xen.efi (Debian: xen-hypervisor-4.17-amd64, SUSE: xen)",
				  r->path);
	}
	if (r->xen_hypervisor && !r->payload_source) {
		return errmsg_set(
			reterr_msg, -EINVAL,
			"recipe '%s': [Xen] takes the hypervisor from the signed payloads; "
			"set Source= and PublicKey= in [Payloads]",
			r->path);
	}
	if (r->win_wim && !r->win_size) {
		return errmsg_set(reterr_msg, -EINVAL,
				  "recipe '%s': [Windows] needs Size= for its partition", r->path);
	}
	/* ESP, MSR, Windows and at least 16 MiB of root, between the GPT's MiBs */
	if (r->win_wim &&
	    r->esp_size + RECIPE_MSR_SIZE + r->win_size + 18 * 1024 * 1024 > r->size) {
		return errmsg_set(
			reterr_msg, -EINVAL,
			"recipe '%s': Size= leaves less than 16 MiB for the root partition "
			"after the ESP, the MSR and Windows; make Size= larger",
			r->path);
	}
	if (r->package_keys && !r->payload_source) {
		return errmsg_set(
			reterr_msg, -EINVAL,
			"recipe '%s': PackageKeys= needs a payload Source= whose packages "
			"they sign",
			r->path);
	}
	if ((!r->payload_source) != (!r->public_key)) {
		return errmsg_set(
			reterr_msg, -EINVAL,
			"recipe '%s': [Payloads] needs both Source= and PublicKey=", r->path);
	}
	return 0;
}

int recipe_load(const char *path, struct recipe **ret, char **reterr_msg)
{
	_cleanup_recipe_ struct recipe *r = calloc(1, sizeof(*r));
	_cleanup_sha256_ struct sha256 *h = NULL;
	int k;

	if (!r)
		return -ENOMEM;
	r->path = strdup(path);
	if (!r->path)
		return -ENOMEM;
	r->esp_size = 64 * 1024 * 1024;
	r->initrd_check = INITRD_CHECK_YES;
	r->generalize = true;
	r->grow_root = true;
	r->xen_default = true;
	r->firmware = FIRMWARE_UEFI;
	k = sha256_new(&h);
	if (k < 0)
		return k;

	struct parse_ctx c = { .recipe = r, .hash = h };
	k = recipe_parse_file(&c, path, reterr_msg);
	if (k < 0)
		return k;
	k = sha256_final(h, r->hash);
	if (k < 0)
		return k;

	if (!r->name) {
		_cleanup_free_ char *copy = strdup(path);
		if (!copy)
			return -ENOMEM;
		char *b = basename(copy), *dot = strrchr(b, '.');
		if (dot && dot != b)
			*dot = '\0';
		r->name = strdup(b);
		if (!r->name)
			return -ENOMEM;
	}
	if (!r->formats && strv_extend(&r->formats, "raw") < 0)
		return -ENOMEM;
	if (!r->systemd_boot &&
	    !(r->systemd_boot = strdup("/usr/lib/systemd/boot/efi/systemd-bootx64.efi")))
		return -ENOMEM;
	if (!r->shim && !(r->shim = strdup("/usr/lib/shim/shimx64.efi.signed")))
		return -ENOMEM;
	if (!r->signed_grub &&
	    !(r->signed_grub = strdup("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed")))
		return -ENOMEM;
	if (!r->esp_label && !(r->esp_label = strdup("ESP")))
		return -ENOMEM;
	if (!r->root_label && !(r->root_label = strdup("root")))
		return -ENOMEM;

	_cleanup_free_ char *msg = NULL;
	k = recipe_check(r, &msg);
	if (k < 0)
		return errmsg_take(reterr_msg, k, TAKE_PTR(msg));
	*ret = TAKE_PTR(r);
	return 0;
}

struct recipe *recipe_free(struct recipe *r)
{
	if (!r)
		return NULL;
	free(r->path);
	free(r->name);
	strv_free(r->formats);
	free(r->esp_label);
	free(r->root_label);
	free(r->tarball);
	free(r->kernel);
	free(r->initrd);
	free(r->payload_source);
	free(r->public_key);
	strv_free(r->package_keys);
	strv_free(r->overlays);
	strv_free(r->profiles);
	free(r->agent_binary);
	free(r->cmdline);
	free(r->systemd_boot);
	free(r->shim);
	free(r->signed_grub);
	free(r->hostname);
	free(r->locale);
	free(r->timezone);
	free(r->win_wim);
	free(r->win_image);
	strv_free(r->win_drivers);
	strv_free(r->win_boot_critical);
	free(r->win_unattend);
	free(r->xen_hypervisor);
	free(r->xen_options);
	free(r->xen_cmdline);
	free(r->win_agent);
	free(r);
	return NULL;
}
