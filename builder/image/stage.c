/* SPDX-License-Identifier: MIT */
/*
 * stage.c - the image repository's contents: the union of the staged
 * profiles' closures, plus the non-package Linux payloads of those
 * profiles (stage.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/stage.h"
#include "builder/payload/closure.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/hash.h"
#include "lib/basic/string-util.h"
#include "lib/trust/rpm.h"

void stage_done(struct stage *s)
{
	free(s->staged);
	json_object_put(s->closure);
	free(s->warning);
	*s = (struct stage){};
}

static bool has_packages(const struct catalog *cat)
{
	for (size_t i = 0; i < cat->n_payloads; i++)
		if (cat->payloads[i].deb || cat->payloads[i].rpm)
			return true;
	return false;
}

static bool tagged(const struct catalog_payload *p, char *const *profiles)
{
	if (!profiles || !*profiles)
		return true;
	STRV_FOREACH(q, p->profiles)
	if (strv_contains(profiles, *q))
		return true;
	return false;
}

/* One profile's closure into s->staged and the closure file. */
static int stage_profile(struct closure *c, const struct catalog *cat,
			 const struct profile_set *matrix, const char *profile, struct stage *s,
			 json_object *by_profile, char **reterr_msg)
{
	_cleanup_free_ size_t *idx = NULL;
	size_t n = 0;
	int r = closure_solve(c, matrix, profile, &idx, &n, reterr_msg);
	if (r < 0)
		return r;
	json_object *paths = json_object_new_array();
	if (!paths || json_object_object_add(by_profile, profile, paths) < 0) {
		json_object_put(paths);
		return errmsg_oom(reterr_msg);
	}
	for (size_t i = 0; i < n; i++) {
		s->staged[idx[i]] = true;
		if (json_object_array_add(paths,
					  json_object_new_string(cat->payloads[idx[i]].path)) < 0)
			return errmsg_oom(reterr_msg);
	}
	return 0;
}

/* Every staged RPM verifies with the keys the image will trust: what the
 * base's rpm database holds, and the recipe's PackageKeys=. */
static int check_signatures(const char *rpm_root, int repo_fd, const struct catalog *cat,
			    char *const *package_keys, const bool *staged, char **reterr_msg)
{
	_cleanup_(rpm_keyring_freep) struct rpm_keyring *k = NULL;
	int r = rpm_keyring_load_root(rpm_root, &k, reterr_msg);
	STRV_FOREACH(key, package_keys)
	if (r >= 0)
		r = rpm_keyring_add_at(k, AT_FDCWD, *key, reterr_msg);
	for (size_t i = 0; r >= 0 && i < cat->n_payloads; i++) {
		const struct catalog_payload *p = &cat->payloads[i];
		_cleanup_free_ char *msg = NULL;
		_cleanup_(catalog_rpm_freep) struct catalog_rpm *info = NULL;
		if (!staged[i] || !p->rpm)
			continue;
		r = rpm_read_at(repo_fd, p->path, &(struct rpm_read_opts){ .keyring = k }, &info,
				&msg);
		if (r == -EKEYREJECTED)
			return errmsg_set(
				reterr_msg, r,
				"%s; the image trusts the keys of the base's rpm database "
				"and of PackageKeys= (%zu named), so the package would "
				"fail at first boot: add the key that signed it to "
				"PackageKeys= in [Payloads]",
				msg ? msg : "a package does not verify", strv_length(package_keys));
		if (r < 0)
			return errmsg_set(reterr_msg, r, "%s", msg ? msg : strerror(-r));
	}
	return r;
}

int stage_plan(const char *base_tarball, int repo_fd, const struct catalog *cat,
	       const struct profile_set *matrix, char *const *profiles, char *const *package_keys,
	       struct stage *s, char **reterr_msg)
{
	_cleanup_closure_ struct closure *c = NULL;
	_cleanup_free_ char *msg = NULL;

	*s = (struct stage){};
	s->staged = calloc(cat->n_payloads + 1, sizeof(bool));
	if (!s->staged)
		return errmsg_oom(reterr_msg);
	int r = has_packages(cat) ? closure_new(base_tarball, repo_fd, cat, &c, &msg) : -ENOPKG;
	if (r == -ENOPKG) {
		for (size_t i = 0; i < cat->n_payloads; i++)
			s->staged[i] = streq(cat->payloads[i].os, "linux") &&
				       tagged(&cat->payloads[i], profiles);
		if (msg && asprintf(&s->warning,
				    "%s: its packages are staged as the catalog tags them, without "
				    "a dependency check",
				    msg) < 0)
			s->warning = NULL;
		return 0;
	}
	if (r < 0) {
		stage_done(s);
		return errmsg_set(reterr_msg, r, "%s", msg ? msg : strerror(-r));
	}

	s->closure = json_object_new_object();
	json_object *by_profile = json_object_new_object();
	if (!s->staged || !s->closure || !by_profile) {
		json_object_put(by_profile);
		stage_done(s);
		return errmsg_oom(reterr_msg);
	}
	/* bound to the signed catalog's exact bytes: the agent uses the file
	 * only beside that catalog (docs/payload-closure.md) */
	char hex[SHA256_HEX_SIZE];
	hex_encode(cat->sha256, sizeof(cat->sha256), hex);
	json_object *bound = json_object_new_object();
	if (!bound) {
		json_object_put(by_profile);
		stage_done(s);
		return errmsg_oom(reterr_msg);
	}
	json_object_object_add(bound, "version", json_object_new_int64((int64_t)cat->version));
	json_object_object_add(bound, "sha256", json_object_new_string(hex));
	json_object_object_add(s->closure, "schema", json_object_new_int(2));
	json_object_object_add(s->closure, "catalog", bound);
	json_object_object_add(s->closure, "profiles", by_profile);
	for (size_t i = 0; r >= 0 && i < profile_set_size(matrix); i++) {
		const char *name = profile_name(profile_set_get(matrix, i));
		if (profiles && *profiles && !strv_contains(profiles, name))
			continue;
		r = stage_profile(c, cat, matrix, name, s, by_profile, reterr_msg);
	}
	/* the Linux files that are not packages go as their tags say */
	for (size_t i = 0; r >= 0 && i < cat->n_payloads; i++) {
		const struct catalog_payload *p = &cat->payloads[i];
		if (streq(p->os, "linux") && !p->deb && !p->rpm && tagged(p, profiles))
			s->staged[i] = true;
	}
	if (r >= 0 && closure_rpm_root(c))
		r = check_signatures(closure_rpm_root(c), repo_fd, cat, package_keys, s->staged,
				     reterr_msg);
	else if (r >= 0 && package_keys &&
		 asprintf(&s->warning,
			  "PackageKeys= is for an rpm base; on this Debian base the agent "
			  "trusts packages through the signed catalog, and the keys are not "
			  "used") < 0)
		s->warning = NULL;
	if (r < 0)
		stage_done(s);
	return r;
}
