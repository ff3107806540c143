/* SPDX-License-Identifier: MIT */
/*
 * config.c - firstboot.conf and the kernel command line overrides.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firstboot/config.h"
#include "lib/activate/paths.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/ini.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"

#define CONF_MAX (64 * 1024)
#define CONF_LINE_MAX 1024
#define CMDLINE_MAX (64 * 1024)

void fb_config_done(struct fb_config *c)
{
	free(c->profile);
	free(c->repository);
	free(c->public_key);
	free(c->initrd_tool);
	free(c->product);
	free(c->channel);
	*c = (struct fb_config){};
}

static bool profile_name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return false;
	return true;
}

/* Replaces *slot with a copy of v, so a refused value or a key set twice
 * leaves one owner of each string. */
static int set_string(const char *v, char **slot)
{
	char *p = strdup(v);
	if (!p)
		return -ENOMEM;
	free(*slot);
	*slot = p;
	return 0;
}

static int parse_profile(struct ini *ini, const char *value, void *field)
{
	struct fb_config *c = ini_userdata(ini);
	if (!profile_name_ok(value))
		return -EINVAL;
	c->profile_source = "firstboot.conf";
	return set_string(value, field);
}

static int parse_disable(struct ini *ini, const char *value, void *field)
{
	struct fb_config *c = ini_userdata(ini);
	int r = parse_boolean(value);
	if (r < 0)
		return -EINVAL;
	*(bool *)field = r;
	c->disable_source = "firstboot.conf";
	return 0;
}

static int parse_grow_root(struct ini *ini _unused_, const char *value, void *field)
{
	int r = parse_boolean(value);
	if (r < 0)
		return -EINVAL;
	*(bool *)field = !r; /* the field is no_grow_root */
	return 0;
}

/* A path in the file is absolute in the image; beneath the root it is
 * relative. */
static int parse_root_path(struct ini *ini _unused_, const char *value, void *field)
{
	while (*value == '/')
		value++;
	if (path_check_relative(value) < 0)
		return -EINVAL;
	return set_string(value, field);
}

static int parse_verify(struct ini *ini _unused_, const char *value, void *field)
{
	if (streq(value, "signature"))
		*(enum rpmtx_verify *)field = RPMTX_VERIFY_SIGNATURE;
	else if (streq(value, "digest"))
		*(enum rpmtx_verify *)field = RPMTX_VERIFY_DIGEST;
	else
		return -EINVAL;
	return 0;
}

static int parse_word(struct ini *ini _unused_, const char *value, void *field)
{
	if (!catalog_is_word(value))
		return -EINVAL;
	return set_string(value, field);
}

static int parse_initrd_tool(struct ini *ini _unused_, const char *value, void *field)
{
	if (*value)
		return set_string(value, field);
	char **slot = field; /* empty: the default, dracut */
	free(*slot);
	*slot = NULL;
	return 0;
}

#define F(x) offsetof(struct fb_config, x), 0
static const struct ini_key conf_keys[] = {
	{ "Firstboot", "Profile", parse_profile, F(profile) },
	{ "Firstboot", "Disable", parse_disable, F(disable) },
	{ "Firstboot", "Repository", parse_root_path, F(repository) },
	{ "Firstboot", "PublicKey", parse_root_path, F(public_key) },
	{ "Firstboot", "PackageVerify", parse_verify, F(verify) },
	{ "Firstboot", "InitrdTool", parse_initrd_tool, F(initrd_tool) },
	{ "Firstboot", "Product", parse_word, F(product) },
	{ "Firstboot", "Channel", parse_word, F(channel) },
	{ "Firstboot", "GrowRoot", parse_grow_root, F(no_grow_root) },
};
#undef F

/* Keys before any section header are in [Firstboot]; a key set twice: the
 * last one counts. */
static const struct ini_syntax conf_syntax = {
	.keys = conf_keys,
	.n_keys = ELEMENTSOF(conf_keys),
	.default_section = "Firstboot",
	.duplicates = INI_DUPLICATES_PARSE,
	.max_size = CONF_MAX,
	.max_line = CONF_LINE_MAX,
};

int fb_config_load(int root_fd, struct fb_config *c, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL;
	size_t size;
	int r;

	if (!c->repository && !(c->repository = strdup(IMAGE_REPO_DIR)))
		return -ENOMEM;
	r = fs_read_file_at(root_fd, IMAGE_FIRSTBOOT_CONF, CONF_MAX, &text, &size);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		return errmsg_set(reterr_msg, r, "cannot read '/%s': %s", IMAGE_FIRSTBOOT_CONF,
				  strerror(-r));
	}
	return ini_read(&conf_syntax, "/" IMAGE_FIRSTBOOT_CONF, text, size, c, c, reterr_msg);
}

/* Initrd builders the host runs for a tree given to --root: a name from
 * this list, looked up in the host's PATH. */
static const char *const host_initrd_tools[] = { "dracut" };

int fb_config_check_root(const struct fb_config *c, const char *root, char **reterr_msg)
{
	if (streq(root, "/") || !c->initrd_tool)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(host_initrd_tools); i++)
		if (streq(c->initrd_tool, host_initrd_tools[i]))
			return 0;
	return errmsg_set(reterr_msg, -EPERM,
			  "'/%s': InitrdTool='%s' names a program chosen by the tree given to "
			  "--root; with --root the host runs only its own 'dracut' (remove the "
			  "key, or run the agent inside the system)",
			  IMAGE_FIRSTBOOT_CONF, c->initrd_tool);
}

int fb_config_cmdline(int root_fd, struct fb_config *c, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL;
	int r = fs_read_file_at(root_fd, "proc/cmdline", CMDLINE_MAX, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (char *save = NULL, *w = strtok_r(text, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save)) {
		const char *v;
		if ((v = startswith(w, "enlighten.profile="))) {
			if (!profile_name_ok(v)) {
				return errmsg_set(reterr_msg, -EINVAL,
						  "kernel command line: bad profile name '%s'", v);
			}
			free(c->profile);
			if (!(c->profile = strdup(v)))
				return -ENOMEM;
			c->profile_source = "kernel command line";
		} else if ((v = startswith(w, "enlighten.disable="))) {
			r = parse_boolean(v);
			if (r >= 0) {
				c->disable = r;
				c->disable_source = "kernel command line";
			}
		} else if (streq(w, "enlighten.disable")) {
			c->disable = true;
			c->disable_source = "kernel command line";
		}
	}
	return 0;
}
