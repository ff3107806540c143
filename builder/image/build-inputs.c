/* SPDX-License-Identifier: MIT */
/*
 * build-inputs.c - what a build reads beside the base: the payload source
 * (its signed catalog verified, every payload's sha256 checked once: see
 * stage_payloads), the staged closures, the profile matrix, the agent and
 * its unit. Each input goes into the manifest and the seed of the
 * partition GUIDs.
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

#include "builder/image/manifest.h"
#include "lib/activate/profile.h"
#include "lib/basic/cli.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"
#include "lib/trust/minisign.h"

const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

static int hash_file(const char *path, uint8_t sha[SHA256_DIGEST_SIZE], uint64_t *ret_size)
{
	_cleanup_close_ int fd = fs_open_input(path);
	if (fd < 0)
		return fd;
	return sha256_fd(fd, UINT64_MAX, sha, ret_size);
}

/* The enlighten-firstboot installed beside this program. */
static char *find_agent(void)
{
	const char *dir = cli_program_dir();
	if (!dir)
		return NULL;
	static const char *const rel[] = { "/../sbin/enlighten-firstboot", "/enlighten-firstboot" };
	for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
		char *p = strjoin(dir, rel[i]);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

int add_input(struct build *b, const char *role, const char *path)
{
	uint8_t sha[SHA256_DIGEST_SIZE];
	uint64_t size;
	int r = hash_file(path, sha, &size);
	if (r < 0)
		return errmsg_set(b->err, r, "cannot read %s '%s': %s", role, path,
				  fs_input_strerror(r));
	r = manifest_add_input(b->manifest, role, base_name(path), sha, size);
	if (r >= 0)
		r = sha256_update(b->seed, sha, sizeof(sha));
	return r < 0 ? errmsg_oom(b->err) : 0;
}

/* The payload source: a signed catalog, verified with the recipe's key, and
 * every payload it lists there with the signed length (its sha256 is
 * checked once, in stage_payloads or as inject.c copies it). */
int check_payloads(struct build *b)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *msg = NULL, *catalog = NULL, *sig = NULL;
	struct minisign_pubkey pk;
	int k;

	if (!r->payload_source)
		return 0;
	b->repo_fd = open(r->payload_source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->repo_fd < 0)
		return errmsg_errno(b->err, errno, "cannot open payload source '%s': %m",
				    r->payload_source);
	/* A demo key's secret sits unencrypted on the build host: an image
	 * that trusts it is not shippable, and is built only as a demo. */
	if (r->public_key_is_demo && !r->demo)
		return errmsg_set(
			b->err, -EPERM,
			"PublicKey '%s' is marked a demo key (PublicKeyIsDemo=yes): an "
			"image that trusts it would trust a secret left unencrypted on the "
			"build host; give the OEM's own key, or build a demo with 'Demo=yes' "
			"in [Image]",
			r->public_key);
	if (r->public_key_is_demo &&
	    build_warn(b,
		       "THIS IS A DEMO IMAGE (Demo=yes): it trusts the demo key '%s', whose "
		       "secret is unencrypted on the build host; never ship it",
		       r->public_key) < 0)
		return -ENOMEM;
	k = minisign_pubkey_load_at(AT_FDCWD, r->public_key, &pk, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "public key '%s': %s", r->public_key,
				    msg ? msg : strerror(-k));
	k = catalog_load_verified(b->repo_fd, &pk, &(struct catalog_load_opts){}, &b->catalog,
				  &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "payload source '%s': %s", r->payload_source,
				    msg ? msg : strerror(-k));
	/* each there, a regular file of the signed length: no byte read yet */
	for (size_t i = 0; i < b->catalog->n_payloads; i++) {
		k = catalog_payload_open(b->repo_fd, &b->catalog->payloads[i], &msg);
		if (k < 0)
			return errmsg_errno(b->err, k, "payload source '%s': %s", r->payload_source,
					    msg ? msg : strerror(-k));
		safe_close(k);
	}

	catalog = strjoin(r->payload_source, "/" CATALOG_FILE);
	sig = strjoin(r->payload_source, "/" CATALOG_SIG_FILE);
	if (!catalog || !sig)
		return errmsg_oom(b->err);
	k = add_input(b, "catalog", catalog);
	if (k >= 0)
		k = add_input(b, "catalog-signature", sig);
	if (k >= 0)
		k = add_input(b, "public-key", r->public_key);
	return k;
}

/* The payloads the image's repository holds: the dependency closure of
 * each staged profile on the base (stage.h). */
int stage_payloads(struct build *b)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *msg = NULL;
	if (!b->catalog)
		return 0;
	int k = 0;
	STRV_FOREACH(key, r->package_keys)
	if (k >= 0)
		k = add_input(b, "package-key", *key);
	if (k < 0)
		return k;
	k = stage_plan(r->tarball, b->repo_fd, b->catalog, b->profile_set, r->profiles,
		       r->package_keys, &b->stage, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "payload source '%s': %s%s", r->payload_source,
				    msg ? msg : strerror(-k),
				    k == -ESRCH
					    ? "; add what is missing to the payload source and "
					      "index it again, or drop the profile from Profiles="
					    : "");
	if (b->stage.warning && strv_extend(&b->res->warnings, b->stage.warning) < 0)
		return errmsg_oom(b->err);
	/* the payloads the image's repository does not copy (inject.c hashes
	 * those as it copies them): hashed now, before the Windows half or
	 * the Xen hypervisor reads them, and so that a tampered payload fails
	 * the build wherever it is */
	for (size_t i = 0; i < b->catalog->n_payloads; i++) {
		if (b->stage.staged[i])
			continue;
		k = catalog_verify_payload(b->repo_fd, &b->catalog->payloads[i], &msg);
		if (k < 0)
			return errmsg_errno(b->err, k, "payload source '%s': %s", r->payload_source,
					    msg ? msg : strerror(-k));
	}
	return 0;
}

int load_profiles(struct build *b)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *msg = NULL;
	b->profiles_dir = strjoin(b->datadir, "/payloads/profiles");
	if (!b->profiles_dir)
		return errmsg_oom(b->err);
	int k = profile_set_load(b->profiles_dir, &b->profile_set, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot load the profile matrix from '%s': %s",
				    b->profiles_dir, msg ? msg : strerror(-k));
	for (char **p = r->profiles; p && *p; p++)
		if (!profile_set_find(b->profile_set, *p))
			return errmsg_errno(b->err, EINVAL,
					    "recipe '%s': Profiles= names '%s', which is not in "
					    "the profile matrix '%s'",
					    r->path, *p, b->profiles_dir);
	return 0;
}

/* What the build needs beside the recipe: the agent, its unit template and
 * enlighten's mke2fs.conf, all from the data directory or beside us. */
int build_locate(struct build *b)
{
	const struct recipe *r = b->recipe;

	b->agent = r->agent_binary ? strdup(r->agent_binary) : find_agent();
	if (!b->agent)
		return errmsg_errno(
			b->err, ENOENT,
			"cannot find enlighten-firstboot beside enlighten; set Binary= in "
			"[Agent]");
	/* installed: DATADIR/image/; a source tree as data directory: firstboot/ */
	b->unit_template = strjoin(b->datadir, "/image/enlighten-firstboot.service.in");
	if (b->unit_template && access(b->unit_template, R_OK) < 0) {
		free(b->unit_template);
		b->unit_template = strjoin(b->datadir, "/firstboot/enlighten-firstboot.service.in");
	}
	b->mke2fs_config = strjoin(b->datadir, "/templates/filesystems/mke2fs.conf");
	if (!b->unit_template || !b->mke2fs_config)
		return errmsg_oom(b->err);
	if (access(b->mke2fs_config, R_OK) < 0)
		return errmsg_errno(b->err, errno,
				    "cannot read '%s' (is enlighten installed completely?): %m",
				    b->mke2fs_config);
	return 0;
}
