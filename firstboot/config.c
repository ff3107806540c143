/* SPDX-License-Identifier: MIT */
/*
 * config.c - firstboot.conf and the kernel command line overrides.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firstboot/config.h"
#include "lib/activate/paths.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"

#define CONF_MAX (64 * 1024)
#define CMDLINE_MAX (64 * 1024)

static const char *const conf_keys[] = {
	"Profile",    "Disable", "Repository", "PublicKey", "PackageVerify",
	"InitrdTool", "Product", "Channel",    "GrowRoot",
};

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

struct parse_ctx {
	struct fb_config *c;
	char *err;
	const char *next;
	int lineno;
};

/* Feeds inih one line at a time so messages can name the line. */
static char *reader(char *buf, int size, void *userdata)
{
	struct parse_ctx *ctx = userdata;
	if (ctx->err || !*ctx->next)
		return NULL;
	const char *nl = strchr(ctx->next, '\n');
	size_t len = nl ? (size_t)(nl - ctx->next) : strlen(ctx->next);
	ctx->lineno++;
	if (len + 2 > (size_t)size) {
		if (asprintf(&ctx->err, "'/%s' line %d: line too long", IMAGE_FIRSTBOOT_CONF,
			     ctx->lineno) < 0)
			ctx->err = NULL;
		return NULL;
	}
	memcpy(buf, ctx->next, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	ctx->next += len + (nl ? 1 : 0);
	return buf;
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

/* A path in the file is absolute in the image; beneath the root it is
 * relative. Replaces *slot only on success, so a refused value or a key
 * set twice leaves one owner of each string. */
static int root_path(const char *v, char **slot)
{
	while (*v == '/')
		v++;
	if (path_check_relative(v) < 0)
		return -EINVAL;
	char *p = strdup(v);
	if (!p)
		return -ENOMEM;
	free(*slot);
	*slot = p;
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	int lineno = ctx->lineno;
	struct fb_config *c = ctx->c;
	int r = 0;

	if (*section && !streq(section, "Firstboot")) {
		if (asprintf(&ctx->err, "'/%s' line %d: unknown section '[%s]' (use '[Firstboot]')",
			     IMAGE_FIRSTBOOT_CONF, lineno, section) < 0)
			ctx->err = NULL;
		return 0;
	}
	if (streq(name, "Profile")) {
		if (!profile_name_ok(value))
			r = -EINVAL;
		else {
			free(c->profile);
			c->profile = *value ? strdup(value) : NULL;
			c->profile_source = "firstboot.conf";
		}
	} else if (streq(name, "Disable")) {
		r = parse_boolean(value);
		if (r >= 0) {
			c->disable = r;
			c->disable_source = "firstboot.conf";
		}
	} else if (streq(name, "Repository")) {
		r = root_path(value, &c->repository);
	} else if (streq(name, "PublicKey")) {
		r = root_path(value, &c->public_key);
	} else if (streq(name, "PackageVerify")) {
		if (streq(value, "signature"))
			c->verify = RPMTX_VERIFY_SIGNATURE;
		else if (streq(value, "digest"))
			c->verify = RPMTX_VERIFY_DIGEST;
		else
			r = -EINVAL;
	} else if (streq(name, "Product") || streq(name, "Channel")) {
		char **slot = streq(name, "Product") ? &c->product : &c->channel;
		if (!catalog_is_word(value))
			r = -EINVAL;
		else {
			char *v = strdup(value);
			if (!v)
				r = -ENOMEM;
			else {
				free(*slot);
				*slot = v;
			}
		}
	} else if (streq(name, "GrowRoot")) {
		r = parse_boolean(value);
		if (r >= 0)
			c->no_grow_root = !r;
	} else if (streq(name, "InitrdTool")) {
		free(c->initrd_tool);
		c->initrd_tool = *value ? strdup(value) : NULL;
	} else {
		const char *best = suggest_in_strings(name, conf_keys, ELEMENTSOF(conf_keys));
		if (asprintf(&ctx->err, "'/%s' line %d: unknown key '%s'%s%s%s",
			     IMAGE_FIRSTBOOT_CONF, lineno, name, best ? " (did you mean '" : "",
			     best ? best : "", best ? "'?)" : "") < 0)
			ctx->err = NULL;
		return 0;
	}
	if (r < 0) {
		if (asprintf(&ctx->err, "'/%s' line %d: bad value '%s' for '%s'",
			     IMAGE_FIRSTBOOT_CONF, lineno, value, name) < 0)
			ctx->err = NULL;
		return 0;
	}
	return 1;
}

int fb_config_load(int root_fd, struct fb_config *c, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL;
	int r;

	if (!c->repository && !(c->repository = strdup(IMAGE_REPO_DIR)))
		return -ENOMEM;
	r = fs_read_file_at(root_fd, IMAGE_FIRSTBOOT_CONF, CONF_MAX, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		return errmsg_set(reterr_msg, r, "cannot read '/%s': %s", IMAGE_FIRSTBOOT_CONF,
				  strerror(-r));
	}
	struct parse_ctx ctx = { .c = c, .next = text };
	r = ini_parse_stream(reader, &ctx, handler, &ctx);
	if (ctx.err || r != 0) {
		if (ctx.err)
			errmsg_set(reterr_msg, -EINVAL, "%s", ctx.err);
		else
			errmsg_set(reterr_msg, -EINVAL, "'/%s' line %d: syntax error",
				   IMAGE_FIRSTBOOT_CONF, r);
		free(ctx.err);
		return -EINVAL;
	}
	return 0;
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
