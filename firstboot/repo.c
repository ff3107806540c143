/* SPDX-License-Identifier: MIT */
/*
 * repo.c - the image's local repository, seen from the agent (sources.h):
 * the catalog verified with the trusted key(s), its Linux payloads as the
 * planner wants them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firstboot/sources.h"
#include "lib/activate/paths.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"
#include "lib/trust/minisign.h"

void fb_payloads_free(struct plan_payload *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		plan_payload_done(&p[i]);
	free(p);
}

static int keys_list(int root_fd, const struct fb_config *c, char ***ret)
{
	_cleanup_strv_free_ char **keys = NULL;
	if (c->public_key) {
		if (strv_extend(&keys, c->public_key) < 0)
			return -ENOMEM;
		*ret = TAKE_PTR(keys);
		return 0;
	}
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_list_dir(root_fd, IMAGE_KEYS_DIR, &(struct fs_list_opts){ .suffix = ".pub" },
			    &names);
	if (r < 0)
		return r;
	STRV_FOREACH(n, names)
	{
		_cleanup_free_ char *p = strjoin(IMAGE_KEYS_DIR "/", *n);
		if (!p || strv_extend(&keys, p) < 0)
			return -ENOMEM;
	}
	if (!keys)
		return -ENOENT;
	*ret = TAKE_PTR(keys);
	return 0;
}

static int load_catalog(int root_fd, int repo_fd, const struct fb_config *c, struct catalog **ret,
			char **reterr_msg)
{
	_cleanup_strv_free_ char **keys = NULL;
	int r = keys_list(root_fd, c, &keys);
	if (r < 0) {
		return errmsg_set(reterr_msg, r == -ENOENT ? -ENOKEY : r,
				  "no public key in '/%s'%s",
				  c->public_key ? c->public_key : IMAGE_KEYS_DIR,
				  r == -ENOENT ? "" : ": cannot read it");
	}
	/* The image's own repository came with the image: an old image that
	 * first boots after the catalog's expiry must still activate. */
	struct catalog_load_opts opts = { .allow_expired = true };
	for (char **k = keys; *k; k++) {
		struct minisign_pubkey pk;
		_cleanup_free_ char *kerr = NULL;
		r = minisign_pubkey_load_at(root_fd, *k, &pk, &kerr);
		if (r < 0) {
			return errmsg_set(reterr_msg, r, "public key '/%s': %s", *k,
					  kerr ? kerr : strerror(-r));
		}
		_cleanup_free_ char *cerr = NULL;
		r = catalog_load_verified(repo_fd, &pk, &opts, ret, &cerr);
		if (r == -ENOKEY && k[1])
			continue; /* signed by another of the trusted keys */
		if (r >= 0 && ((c->product && !streq(c->product, (*ret)->product)) ||
			       (c->channel && !streq(c->channel, (*ret)->channel)))) {
			(void)errmsg_set(reterr_msg, -EPERM,
					 "repository '/%s': the catalog is for product '%s', "
					 "channel '%s'; '/%s' pins product '%s', channel '%s'",
					 c->repository, (*ret)->product, (*ret)->channel,
					 IMAGE_FIRSTBOOT_CONF, c->product ?: (*ret)->product,
					 c->channel ?: (*ret)->channel);
			catalog_free(*ret);
			*ret = NULL;
			return -EPERM;
		}
		if (r < 0)
			return errmsg_set(reterr_msg, r, "repository '/%s': %s", c->repository,
					  cerr ? cerr : strerror(-r));
		return r;
	}
	return -ENOKEY;
}

/* name and [epoch:]version-release of a payload the manager installs;
 * false for any other payload. */
static bool payload_for(const struct catalog_payload *p, enum plan_pkg_manager manager,
			const char **ret_name, char **ret_evr)
{
	if (!streq(p->os, "linux"))
		return false;
	if (manager == PLAN_PKG_DPKG) {
		if (!p->deb)
			return false;
		*ret_name = p->deb->name;
		*ret_evr = strdup(p->deb->version);
		return true;
	}
	if (!p->rpm)
		return false;
	char epoch[16] = "";
	if (p->rpm->has_epoch)
		snprintf(epoch, sizeof(epoch), "%" PRIu32 ":", p->rpm->epoch);
	*ret_name = p->rpm->name;
	*ret_evr = strjoin(epoch, p->rpm->version, "-", p->rpm->release);
	return true;
}

int fb_repo_load(int root_fd, const struct fb_config *c, enum plan_pkg_manager manager,
		 struct plan_payload **ret, size_t *ret_n,
		 uint8_t ret_catalog_sha256[SHA256_DIGEST_SIZE], char **reterr_msg)
{
	_cleanup_close_ int repo_fd =
		fs_open_beneath(root_fd, c->repository, O_RDONLY | O_DIRECTORY, 0);
	struct catalog *cat = NULL;
	int r;

	if (repo_fd < 0) {
		return errmsg_set(reterr_msg, repo_fd == -ENOTDIR ? -ENOENT : repo_fd,
				  "repository '/%s' is missing: %s", c->repository,
				  strerror(-repo_fd));
	}
	r = load_catalog(root_fd, repo_fd, c, &cat, reterr_msg);
	if (r < 0)
		return r;

	struct plan_payload *list = calloc(cat->n_payloads + 1, sizeof(*list));
	size_t n = 0;
	if (!list) {
		catalog_free(cat);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cat->n_payloads; i++) {
		const struct catalog_payload *p = &cat->payloads[i];
		const char *name;
		char *evr = NULL;
		if (!payload_for(p, manager, &name, &evr))
			continue;
		struct plan_payload *d = &list[n++];
		char hex[SHA256_HEX_SIZE];
		hex_encode(p->sha256, sizeof(p->sha256), hex);
		d->name = strdup(name);
		d->evr = evr;
		d->path = strjoin(c->repository, "/", p->path);
		d->sha256 = strdup(hex);
		d->length = p->length;
		for (char **pr = p->profiles; pr && *pr; pr++)
			if (strv_extend(&d->profiles, *pr) < 0)
				r = -ENOMEM;
		if (!d->name || !d->evr || !d->path || !d->sha256 || r < 0) {
			catalog_free(cat);
			fb_payloads_free(list, n);
			return -ENOMEM;
		}
	}
	if (ret_catalog_sha256)
		memcpy(ret_catalog_sha256, cat->sha256, SHA256_DIGEST_SIZE);
	catalog_free(cat);
	*ret = list;
	*ret_n = n;
	return 0;
}

#define CLOSURE_MAX_SIZE (4u << 20)

static int closure_bad(char **reterr_msg, const struct fb_config *c, const char *what)
{
	return errmsg_set(reterr_msg, -EBADMSG,
			  "'/%s/" IMAGE_CLOSURE_FILE "' %s; build the image again or remove "
			  "the file",
			  c->repository, what);
}

/* Drops the payloads that have the name of one in the closure but are not
 * it (another version the build did not stage). */
static void closure_prune(struct plan_payload *payloads, size_t *n, char *const *names,
			  char *const *paths)
{
	size_t w = 0;
	for (size_t i = 0; i < *n; i++) {
		if (strv_contains(names, payloads[i].name) &&
		    !strv_contains(paths, payloads[i].path)) {
			plan_payload_done(&payloads[i]);
			continue;
		}
		payloads[w++] = payloads[i];
	}
	*n = w;
}

/* The closure file holds the SHA-256 of the catalog it was solved against:
 * it is used only beside that catalog, whose signature the agent checked. */
static int closure_check_bound(json_object *o, const uint8_t catalog_sha256[SHA256_DIGEST_SIZE],
			       const struct fb_config *c, char **reterr_msg)
{
	json_object *schema, *cat, *sha;
	char hex[SHA256_HEX_SIZE];

	if (!json_object_object_get_ex(o, "schema", &schema) ||
	    !json_object_is_type(schema, json_type_int) || json_object_get_int(schema) != 2 ||
	    !json_object_object_get_ex(o, "catalog", &cat) ||
	    !json_object_is_type(cat, json_type_object) ||
	    !json_object_object_get_ex(cat, "sha256", &sha) ||
	    !json_object_is_type(sha, json_type_string))
		return closure_bad(reterr_msg, c,
				   "is not bound to a signed catalog (schema 2 names the catalog's "
				   "SHA-256)");
	hex_encode(catalog_sha256, SHA256_DIGEST_SIZE, hex);
	if (!streq(json_object_get_string(sha), hex))
		return closure_bad(reterr_msg, c,
				   "was solved against another catalog than the signed one beside "
				   "it");
	return 0;
}

int fb_repo_closure(int root_fd, const struct fb_config *c, const char *profile,
		    const uint8_t catalog_sha256[SHA256_DIGEST_SIZE], struct plan_payload *payloads,
		    size_t *n, char ***ret, char **reterr_msg)
{
	_cleanup_free_ char *path = strjoin(c->repository, "/" IMAGE_CLOSURE_FILE), *buf = NULL;
	_cleanup_json_ json_object *o = NULL;
	_cleanup_strv_free_ char **names = NULL, **paths = NULL;
	json_object *profiles, *list;
	size_t len;

	*ret = NULL;
	if (!path)
		return -ENOMEM;
	int r = fs_read_file_at(root_fd, path, CLOSURE_MAX_SIZE, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r == -EFBIG)
		return closure_bad(reterr_msg, c, "is larger than 4 MiB");
	if (r < 0)
		return r;
	if (json_parse_bounded(buf, len, CLOSURE_MAX_SIZE, &o, NULL) < 0 ||
	    !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "profiles", &profiles) ||
	    !json_object_is_type(profiles, json_type_object))
		return closure_bad(reterr_msg, c, "is not a closure file");
	r = closure_check_bound(o, catalog_sha256, c, reterr_msg);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(profiles, profile, &list))
		return 0;
	if (!json_object_is_type(list, json_type_array))
		return closure_bad(reterr_msg, c, "has a profile that is not a list");
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		const char *p = json_object_get_string(json_object_array_get_idx(list, i));
		_cleanup_free_ char *full = p ? strjoin(c->repository, "/", p) : NULL;
		const struct plan_payload *hit = NULL;
		for (size_t j = 0; full && j < *n && !hit; j++)
			if (streq(payloads[j].path, full))
				hit = &payloads[j];
		if (!hit)
			return closure_bad(reterr_msg, c,
					   "names a package the catalog does not list for this "
					   "system");
		if (strv_contains(names, hit->name))
			return closure_bad(reterr_msg, c, "names two versions of one package");
		if (strv_extend(&names, hit->name) < 0 || strv_extend(&paths, full) < 0)
			return -ENOMEM;
	}
	closure_prune(payloads, n, names, paths);
	if (!names && !(names = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret = TAKE_PTR(names);
	return 0;
}
