/* SPDX-License-Identifier: MIT */
/*
 * index.c - the payload indexer behind `enlighten payload index DIR`: a
 * catalog entry for every payload under DIR (docs/enlighten-payload.md).
 * RPMs are read with librpm (lib/trust/rpm.h), optionally with their
 * signatures checked; Debian packages' control fields with libarchive
 * (lib/trust/deb.h), a dependency taking the profiles of the packages that
 * need it; Windows driver packages through their INF
 * (lib/basic/inf.h), the files beside an INF joining its package; other
 * files under windows/ are installers. Each payload is hashed once,
 * streaming (an RPM on a second thread while librpm checks it).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "builder/payload/index.h"
#include "builder/payload/profiles-file.h"
#include "lib/activate/profile.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/hash-worker.h"
#include "lib/basic/inf.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"
#include "lib/trust/deb.h"
#include "lib/trust/driver-catalog.h"
#include "lib/trust/rpm.h"

#define INDEX_MAX_DEPTH 8

/* A Windows driver package found by its INF: the files in its directory
 * (and below) are payloads of the same name, version and profiles. */
struct driver_dir {
	char *dir; /* "windows/viostor" ("" for DIR itself) */
	unsigned n_infs;
	char *name; /* of the first INF */
	char *version;
	char *arch;
	char **profiles;
};

struct index_ctx {
	int dir_fd;
	const struct rpm_keyring *keyring;
	const struct profile_set *matrix; /* may be NULL */
	struct catalog *cat;
	char **paths; /* payload files found, relative to DIR */
	struct driver_dir *drivers;
	size_t n_drivers;
	struct hash_worker *hasher; /* hashes an RPM while librpm checks it */
	char **manifests;	    /* PATH.profiles files found */
	char **manifests_used;
	struct payload_index_result *res; /* warnings for the caller */
	char **err;			  /* the engine's *reterr_msg */
};

/* Collects the regular files under rel (beneath ctx->dir_fd), skipping the
 * catalog itself, dot files and symlinks. */
static int walk(struct index_ctx *ctx, const char *rel, unsigned depth)
{
	if (depth > INDEX_MAX_DEPTH)
		return errmsg_set(ctx->err, -ELOOP, "'%s' is nested more than %d directories deep",
				  rel, INDEX_MAX_DEPTH);
	_cleanup_close_ int fd = *rel ? fs_open_beneath(ctx->dir_fd, rel, O_RDONLY | O_DIRECTORY, 0)
				      : fcntl(ctx->dir_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return errmsg_errno(ctx->err, fd < 0 && *rel ? fd : -errno, "cannot open '%s': %m",
				    rel);
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_list_dir(fd, NULL, NULL, &names);
	if (r < 0)
		return errmsg_errno(ctx->err, r, "cannot read '%s': %m", rel);
	STRV_FOREACH(name, names)
	{
		if (r < 0)
			break;
		if (!*rel && (streq(*name, CATALOG_FILE) || streq(*name, CATALOG_SIG_FILE)))
			continue;
		_cleanup_free_ char *path = *rel ? strjoin(rel, "/", *name) : strdup(*name);
		if (!path) {
			r = errmsg_oom(ctx->err);
			break;
		}
		if (!catalog_is_path(path)) {
			/* the catalog refuses such a path: say so now, not at signing */
			r = errmsg_errno(ctx->err, EINVAL,
					 "'%s': a control character or a backslash in a file "
					 "name cannot go into the catalog; rename the file",
					 path);
			break;
		}
		struct stat st;
		if (fstatat(fd, *name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = errmsg_errno(ctx->err, -errno, "cannot stat '%s': %m", path);
			break;
		}
		if (S_ISDIR(st.st_mode))
			r = walk(ctx, path, depth + 1);
		else if (!S_ISREG(st.st_mode)) {
			if (strv_extendf(&ctx->res->warnings, "skipping '%s': not a regular file",
					 path) < 0)
				r = errmsg_oom(ctx->err);
		} else if (strv_length(ctx->paths) >= CATALOG_MAX_PAYLOADS)
			r = errmsg_set(ctx->err, -E2BIG,
				       "more than %d payloads under the directory",
				       CATALOG_MAX_PAYLOADS);
		else if (strv_extend(&ctx->paths, path) < 0)
			r = errmsg_oom(ctx->err);
	}
	return r;
}

/* Adds p to a sorted, duplicate-free list. */
static int add_profile(char ***l, const char *p)
{
	return strv_contains(*l, p) ? 0 : strv_extend(l, p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_payload_path(const void *a, const void *b)
{
	const struct catalog_payload *x = a, *y = b;
	return strcmp(x->path, y->path);
}

/* The profiles a Linux package serves: every "enlighten-profile(P)" (RPM)
 * or "enlighten-profile-P" (.deb) it provides; the P of a name
 * "enlighten-ic-P"; every profile of the matrix whose Packages= lists the
 * name as the package's family names it (an RPM: [Linux] or [SUSE]; a
 * .deb: [Debian] where set, else [Linux]). Sorted. */
static int linux_profiles(const struct index_ctx *ctx, const char *name, char *const *provides,
			  bool deb, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	int r = 0;

	for (char *const *p = provides; r >= 0 && p && *p; p++) {
		const char *s = startswith(*p, deb ? "enlighten-profile-" : "enlighten-profile(");
		size_t n = s ? (deb ? strlen(s) : strcspn(s, ")")) : 0;
		if (!n || (!deb && s[n] != ')'))
			continue;
		_cleanup_free_ char *profile = strndup(s, n);
		r = profile ? add_profile(&l, profile) : -ENOMEM;
	}
	const char *s = startswith(name, "enlighten-ic-");
	if (r >= 0 && s && *s)
		r = add_profile(&l, s);
	for (size_t i = 0; r >= 0 && ctx->matrix && i < profile_set_size(ctx->matrix); i++) {
		const struct profile *p = profile_set_get(ctx->matrix, i);
		bool hit = deb ? strv_contains(profile_get_for(p, "debian", PROFILE_LINUX_PACKAGES),
					       name)
			       : strv_contains(profile_get(p, PROFILE_LINUX_PACKAGES), name) ||
					   strv_contains(profile_get_for(p, "suse",
									 PROFILE_LINUX_PACKAGES),
							 name);
		if (hit)
			r = add_profile(&l, profile_name(p));
	}
	if (r < 0)
		return r;
	if (!l && !(l = calloc(1, sizeof(char *))))
		return -ENOMEM;
	qsort(l, strv_length(l), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(l);
	return 0;
}

/* Hashes the file once; length and sha256 into p. */
static int hash_payload(struct index_ctx *ctx, const char *path, struct catalog_payload *p)
{
	int dir_fd = ctx->dir_fd;
	_cleanup_close_ int fd = fs_open_beneath(dir_fd, path, O_RDONLY | O_NOCTTY, 0);
	if (fd < 0)
		return errmsg_errno(ctx->err, fd, "cannot open '%s': %m", path);
	int r = sha256_fd(fd, UINT64_MAX, p->sha256, &p->length);
	if (r < 0)
		return errmsg_errno(ctx->err, r, "cannot read '%s': %m", path);
	return 0;
}

/* Hands p, hashed, to the catalog (p is left empty). */
static int add_payload(struct index_ctx *ctx, struct catalog_payload *p)
{
	_cleanup_free_ char *path = strdup(p->path);
	int r = catalog_add_payload(ctx->cat, p);
	if (r < 0)
		errmsg_errno(ctx->err, r, "cannot add '%s' to the catalog: %m", path ? path : "?");
	return r;
}

/* Hashes p's file and hands p to the catalog (p is left empty). */
static int add_hashed(struct index_ctx *ctx, struct catalog_payload *p)
{
	int r = hash_payload(ctx, p->path, p);
	return r < 0 ? r : add_payload(ctx, p);
}

static int index_rpm(struct index_ctx *ctx, const char *path)
{
	struct rpm_read_opts opts = { .keyring = ctx->keyring };
	_cleanup_free_ char *err = NULL;
	struct catalog_payload p = {};
	struct catalog_rpm *info = NULL;
	struct hash_worker_result h;
	int r;

	/* the digest for the catalog is taken on the hashing thread while
	 * librpm reads the package for its own checks */
	if (!ctx->hasher && hash_worker_new(NULL, NULL, &ctx->hasher) < 0)
		return errmsg_oom(ctx->err);
	_cleanup_close_ int fd = fs_open_beneath(ctx->dir_fd, path, O_RDONLY | O_NOCTTY, 0);
	if (fd < 0)
		return errmsg_errno(ctx->err, fd, "cannot open '%s': %m", path);
	if (hash_worker_submit(ctx->hasher, fd, UINT64_MAX, NULL) < 0)
		return errmsg_oom(ctx->err);
	r = rpm_read_at(ctx->dir_fd, path, &opts, &info, &err);
	if (hash_worker_wait(ctx->hasher, &h) <= 0) /* fd is hashed before it is closed */
		return errmsg_oom(ctx->err);
	if (r < 0)
		return errmsg_set(ctx->err, r, "%s", err ? err : "cannot read an RPM");
	if (h.result < 0) {
		catalog_rpm_free(info);
		return errmsg_errno(ctx->err, h.result, "cannot read '%s': %m", path);
	}
	memcpy(p.sha256, h.sha256, sizeof(p.sha256));
	p.length = h.size;
	p.rpm = info;
	if (info->has_epoch)
		r = asprintf(&p.version, "%" PRIu32 ":%s-%s", info->epoch, info->version,
			     info->release);
	else
		r = asprintf(&p.version, "%s-%s", info->version, info->release);
	if (r < 0) {
		p.version = NULL;
		r = errmsg_oom(ctx->err);
		goto out;
	}
	if (!(p.name = strdup(info->name)) || !(p.os = strdup("linux")) ||
	    !(p.arch = strdup(info->arch)) || !(p.path = strdup(path))) {
		r = errmsg_oom(ctx->err);
		goto out;
	}
	if ((r = linux_profiles(ctx, info->name, info->provides, false, &p.profiles)) < 0) {
		errmsg_oom(ctx->err);
		goto out;
	}
	r = add_payload(ctx, &p);
out:
	catalog_payload_done(&p);
	return r;
}

static int index_deb(struct index_ctx *ctx, const char *path)
{
	_cleanup_free_ char *err = NULL;
	struct catalog_payload p = {};
	struct catalog_deb *info = NULL;
	int r = deb_read_at(ctx->dir_fd, path, 0, &info, &err);
	if (r < 0)
		return errmsg_set(ctx->err, r, "%s", err ? err : "cannot read a Debian package");
	p.deb = info;
	if (!(p.name = strdup(info->name)) || !(p.version = strdup(info->version)) ||
	    !(p.os = strdup("linux")) || !(p.arch = strdup(info->arch)) ||
	    !(p.path = strdup(path)) ||
	    linux_profiles(ctx, info->name, info->provides, true, &p.profiles) < 0)
		r = errmsg_oom(ctx->err);
	else
		r = add_hashed(ctx, &p);
	catalog_payload_done(&p);
	return r;
}

static struct catalog_payload *deb_find(struct catalog *cat, const char *name)
{
	for (size_t i = 0; i < cat->n_payloads; i++) {
		struct catalog_payload *p = &cat->payloads[i];
		if (p->deb && (streq(p->deb->name, name) || strv_contains(p->deb->provides, name)))
			return p;
	}
	return NULL;
}

/* Each name a relation "a (>= 1) | b:any" offers, into names. */
static int relation_names(const char *rel, char ***names)
{
	_cleanup_free_ char *copy = strdup(rel);
	char *save = NULL;
	if (!copy)
		return -ENOMEM;
	for (char *alt = strtok_r(copy, "|", &save); alt; alt = strtok_r(NULL, "|", &save)) {
		alt += strspn(alt, " ");
		size_t n = strcspn(alt, " (:[");
		_cleanup_free_ char *name = strndup(alt, n);
		if (!name || (n && strv_extend(names, name) < 0))
			return -ENOMEM;
	}
	return 0;
}

/* A .deb in the repository that another one depends on serves that one's
 * profiles too, so staging a profile stages what its packages need. Runs to
 * a fixed point (at most one round per payload). */
static int deb_tag_dependencies(struct index_ctx *ctx)
{
	struct catalog *cat = ctx->cat;
	bool changed = true;
	for (size_t round = 0; changed && round <= cat->n_payloads; round++) {
		changed = false;
		for (size_t i = 0; i < cat->n_payloads; i++) {
			struct catalog_payload *p = &cat->payloads[i];
			for (char **d = p->deb ? p->deb->depends : NULL; d && *d; d++) {
				_cleanup_strv_free_ char **names = NULL;
				if (relation_names(*d, &names) < 0)
					return errmsg_oom(ctx->err);
				for (char **n = names; n && *n; n++) {
					struct catalog_payload *q = deb_find(cat, *n);
					for (char **pr = p->profiles; q && q != p && pr && *pr;
					     pr++)
						if (!strv_contains(q->profiles, *pr)) {
							if (strv_extend(&q->profiles, *pr) < 0)
								return errmsg_oom(ctx->err);
							changed = true;
						}
				}
			}
		}
	}
	for (size_t i = 0; i < cat->n_payloads; i++)
		if (cat->payloads[i].deb && cat->payloads[i].profiles)
			qsort(cat->payloads[i].profiles, strv_length(cat->payloads[i].profiles),
			      sizeof(char *), cmp_str);
	return 0;
}

static bool has_suffix_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcasecmp(s + n - m, suffix) == 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? strndup(path, slash - path) : strdup("");
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static bool strv_contains_ci(char *const *l, const char *s)
{
	for (; l && *l; l++)
		if (strcasecmp(*l, s) == 0)
			return true;
	return false;
}

/* The catalog's words: anything else in a file name becomes '_'. */
static char *word_of(const char *s, size_t n)
{
	char *w = strndup(s, n);
	for (char *p = w; p && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._+-~^", *p)))
			*p = '_';
	return w;
}

/* Profiles whose [Windows] Drivers= or InBoxDrivers= names the INF, or
 * whose Installers= lines start with the file name (case-insensitive), and
 * those of TARGET.profiles beside the payload (target: the driver package
 * folder, or the installer file). */
static int windows_profiles(struct index_ctx *ctx, const char *file, const char *target,
			    char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	_cleanup_free_ char *manifest = strjoin(target, PROFILES_FILE_SUFFIX);
	int r = manifest ? 0 : -ENOMEM;

	if (r >= 0 && strv_contains(ctx->manifests, manifest)) {
		_cleanup_free_ char *err = NULL;
		r = profiles_file_read(ctx->dir_fd, manifest, ctx->matrix, &l, &err);
		if (r < 0)
			return errmsg_set(ctx->err, r, "%s",
					  err ? err : "cannot read a profiles file");
		if (!strv_contains(ctx->manifests_used, manifest) &&
		    strv_extend(&ctx->manifests_used, manifest) < 0)
			return errmsg_oom(ctx->err);
	}

	for (size_t i = 0; r >= 0 && ctx->matrix && i < profile_set_size(ctx->matrix); i++) {
		const struct profile *p = profile_set_get(ctx->matrix, i);
		bool hit = strv_contains_ci(profile_get(p, PROFILE_WINDOWS_DRIVERS), file) ||
			   strv_contains_ci(profile_get(p, PROFILE_WINDOWS_INBOX_DRIVERS), file);
		for (char *const *in = profile_get(p, PROFILE_WINDOWS_INSTALLERS); !hit && *in;
		     in++) {
			size_t n = strcspn(*in, " \t");
			hit = n == strlen(file) && strncasecmp(*in, file, n) == 0;
		}
		if (hit)
			r = add_profile(&l, profile_name(p));
	}
	if (r < 0)
		return r == -ENOMEM ? errmsg_oom(ctx->err) : r;
	if (!l && !(l = calloc(1, sizeof(char *))))
		return errmsg_oom(ctx->err);
	qsort(l, strv_length(l), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(l);
	return 0;
}

static char **strv_copy(char *const *l)
{
	char **c = calloc(strv_length(l) + 1, sizeof(char *));
	for (size_t i = 0; c && l && l[i]; i++)
		if (!(c[i] = strdup(l[i])))
			return strv_free(c);
	return c;
}

/* Moves the driver facts into a catalog_inf. */
static struct catalog_inf *catalog_inf_from(struct inf_driver *d)
{
	struct catalog_inf *i = calloc(1, sizeof(*i));
	if (!i)
		return NULL;
	i->class = TAKE_PTR(d->class);
	i->provider = TAKE_PTR(d->provider);
	i->driver_version = TAKE_PTR(d->driver_version);
	i->driver_date = TAKE_PTR(d->driver_date);
	i->catalog_file = TAKE_PTR(d->catalog_file);
	i->architectures = TAKE_PTR(d->architectures);
	i->hardware_ids = TAKE_PTR(d->hardware_ids);
	if (!i->architectures)
		i->architectures = calloc(1, sizeof(char *));
	if (!i->hardware_ids)
		i->hardware_ids = calloc(1, sizeof(char *));
	return i;
}

/* "amd64", or "amd64+x86" for a package serving several. */
static char *arch_of(char *const *archs)
{
	char *s = strdup("");
	for (; s && archs && *archs; archs++) {
		char *n = strjoin(s, *s ? "+" : "", *archs);
		free(s);
		s = n;
	}
	if (s && !*s) {
		free(s);
		s = strdup("noarch");
	}
	return s;
}

static int index_inf(struct index_ctx *ctx, const char *path)
{
	_cleanup_inf_ struct inf *inf = NULL;
	_cleanup_inf_driver_ struct inf_driver *drv = NULL;
	_cleanup_free_ char *err = NULL, *dir = NULL;
	struct catalog_payload p = {};
	int r;

	r = inf_load_at(ctx->dir_fd, path, &inf, &err); /* its message names the file */
	if (r < 0)
		return errmsg_set(ctx->err, r, "%s", err ? err : "cannot read an INF");
	r = inf_driver_info(inf, &drv, &err);
	if (r < 0)
		return errmsg_set(ctx->err, r, "INF '%s': %s", path, err ? err : "not valid");

	const char *base = base_of(path);
	if (!(p.name = word_of(base, strlen(base) - strlen(".inf"))) ||
	    !(p.version = strdup(drv->driver_version)) || !(p.os = strdup("windows")) ||
	    !(p.arch = arch_of(drv->architectures)) || !(p.path = strdup(path)) ||
	    !(dir = dir_of(path)) || !(p.inf = catalog_inf_from(drv))) {
		r = errmsg_oom(ctx->err);
		goto out;
	}
	r = windows_profiles(ctx, base, dir, &p.profiles);
	if (r < 0)
		goto out;

	/* remember the package for the files beside it */
	struct driver_dir *d = NULL;
	for (size_t i = 0; i < ctx->n_drivers; i++)
		if (streq(ctx->drivers[i].dir, dir))
			d = &ctx->drivers[i];
	if (d)
		d->n_infs++;
	else {
		struct driver_dir *n = realloc(ctx->drivers, (ctx->n_drivers + 1) * sizeof(*n));
		if (!n) {
			r = errmsg_oom(ctx->err);
			goto out;
		}
		ctx->drivers = n;
		d = &n[ctx->n_drivers++];
		*d = (struct driver_dir){ .dir = TAKE_PTR(dir), .n_infs = 1 };
		if (!(d->name = strdup(p.name)) || !(d->version = strdup(p.version)) ||
		    !(d->arch = strdup(p.arch)) || !(d->profiles = strv_copy(p.profiles))) {
			r = errmsg_oom(ctx->err);
			goto out;
		}
	}

	r = add_hashed(ctx, &p);
out:
	catalog_payload_done(&p);
	return r;
}

/* The driver package whose directory holds path most closely, if that
 * directory has exactly one INF. */
static const struct driver_dir *driver_of(const struct index_ctx *ctx, const char *path)
{
	const struct driver_dir *best = NULL;
	for (size_t i = 0; i < ctx->n_drivers; i++) {
		const struct driver_dir *d = &ctx->drivers[i];
		size_t n = strlen(d->dir);
		if (n > 0 && (strncmp(path, d->dir, n) != 0 || path[n] != '/'))
			continue;
		if (!best || n > strlen(best->dir))
			best = d;
	}
	return best && best->n_infs == 1 ? best : NULL;
}

/* A file of a driver package (.sys, .cat, ...) or an installer. */
static int index_windows_file(struct index_ctx *ctx, const char *path)
{
	const struct driver_dir *d = driver_of(ctx, path);
	struct catalog_payload p = {};
	int r;

	if (!d && !startswith(path, "windows/")) {
		ctx->res->skipped = true;
		return strv_extendf(&ctx->res->warnings,
				    "skipping '%s': not an RPM, an INF or a file under windows/",
				    path) < 0
			       ? errmsg_oom(ctx->err)
			       : 0;
	}
	const char *base = base_of(path);
	const char *dot = strrchr(base, '.');
	if (!(p.os = strdup("windows")) || !(p.path = strdup(path)) ||
	    (d && (!(p.name = strdup(d->name)) || !(p.version = strdup(d->version)) ||
		   !(p.arch = strdup(d->arch)) || !(p.profiles = strv_copy(d->profiles)))) ||
	    (!d &&
	     (!(p.name = word_of(base, dot && dot != base ? (size_t)(dot - base) : strlen(base))) ||
	      !(p.version = strdup("0")) || !(p.arch = strdup("noarch"))))) {
		r = errmsg_oom(ctx->err);
		goto out;
	}
	if (!d && (r = windows_profiles(ctx, base, path, &p.profiles)) < 0)
		goto out;
	r = add_hashed(ctx, &p);
out:
	catalog_payload_done(&p);
	return r;
}

/* The payload at path, case-insensitively (as Windows finds a file). */
static const struct catalog_payload *find_ci(const struct catalog *cat, const char *path)
{
	for (size_t i = 0; i < cat->n_payloads; i++)
		if (strcasecmp(cat->payloads[i].path, path) == 0)
			return &cat->payloads[i];
	return NULL;
}

/* A driver package whose INF names a catalog: the .cat must be there, parse
 * as a signed Windows catalog, and list every other file of the package
 * with its digest (lib/trust/driver-catalog.h, as the image builder checks
 * it). */
static int check_driver_catalog(struct index_ctx *ctx, const struct driver_dir *d)
{
	const struct catalog_payload *inf = NULL;
	for (size_t i = 0; !inf && i < ctx->cat->n_payloads; i++) {
		const struct catalog_payload *p = &ctx->cat->payloads[i];
		_cleanup_free_ char *dir = p->inf ? dir_of(p->path) : NULL;
		if (dir && streq(dir, d->dir))
			inf = p;
	}
	if (!inf || !inf->inf->catalog_file || d->n_infs != 1)
		return 0;

	_cleanup_free_ char *want = *d->dir ? strjoin(d->dir, "/", inf->inf->catalog_file)
					    : strdup(inf->inf->catalog_file);
	if (!want)
		return errmsg_oom(ctx->err);
	const struct catalog_payload *cat = find_ci(ctx->cat, want);
	if (!cat)
		return errmsg_set(ctx->err, -ENOENT,
				  "INF '%s' names the catalog '%s', which its folder lacks; add "
				  "the signed catalog of the package",
				  inf->path, inf->inf->catalog_file);

	_cleanup_driver_catalog_ struct driver_catalog *dc = NULL;
	_cleanup_free_ char *data = NULL, *err = NULL;
	_cleanup_strv_free_ char **files = NULL;
	size_t n, prefix = *d->dir ? strlen(d->dir) + 1 : 0;
	int r = fs_read_file_at(ctx->dir_fd, cat->path, DRIVER_CATALOG_MAX, &data, &n);
	if (r >= 0)
		r = driver_catalog_parse(data, n, &dc, &err);
	if (r < 0)
		return errmsg_set(ctx->err, r,
				  "'%s' is not a signed Windows catalog: %s; sign the package "
				  "with its vendor's tools (inf2cat, signtool)",
				  cat->path, err ? err : strerror(-r));
	for (size_t i = 0; i < ctx->cat->n_payloads; i++) {
		const struct catalog_payload *p = &ctx->cat->payloads[i];
		/* the package's files: those the indexer joined to it */
		if (p != cat && streq(p->os, "windows") && driver_of(ctx, p->path) == d &&
		    strv_extend(&files, p->path + prefix) < 0)
			return errmsg_oom(ctx->err);
	}
	_cleanup_close_ int dfd =
		*d->dir ? fs_open_beneath(ctx->dir_fd, d->dir, O_RDONLY | O_DIRECTORY, 0)
			: fcntl(ctx->dir_fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return errmsg_errno(ctx->err, dfd, "cannot open '%s': %m", d->dir);
	r = driver_catalog_check_files(dc, dfd, files, &err);
	if (r < 0)
		return errmsg_set(ctx->err, r,
				  "catalog '%s': %s; the package was changed after it was signed, "
				  "or holds a file it does not sign",
				  cat->path, err ? err : strerror(-r));
	return 0;
}

static void drivers_free(struct index_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_drivers; i++) {
		free(ctx->drivers[i].dir);
		free(ctx->drivers[i].name);
		free(ctx->drivers[i].version);
		free(ctx->drivers[i].arch);
		strv_free(ctx->drivers[i].profiles);
	}
	free(ctx->drivers);
}

/* The version of DIR/catalog.json, or 0 when there is none. */
int payload_index_existing_version(int dir_fd, uint64_t *ret, char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	_cleanup_catalog_ struct catalog *old = NULL;
	size_t len;

	int r = fs_read_file_at(dir_fd, CATALOG_FILE, CATALOG_MAX_SIZE, &buf, &len);
	if (r == -ENOENT) {
		*ret = 0;
		return 0;
	}
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read the existing '%s': %m",
				    CATALOG_FILE);
	r = catalog_parse(buf, len, &old, &err);
	if (r < 0)
		return errmsg_set(reterr_msg, r,
				  "the existing '%s' is not valid (%s); move it away to start "
				  "afresh",
				  CATALOG_FILE, err ? err : "parse error");
	*ret = old->version;
	return 0;
}

int payload_index_load_matrix(const char *datadir, struct profile_set **ret, char **reterr_msg)
{
	_cleanup_free_ char *dir = strjoin(datadir, "/payloads/profiles");
	_cleanup_free_ char *err = NULL;
	if (!dir)
		return errmsg_oom(reterr_msg);
	int r = profile_set_load(dir, ret, &err);
	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return errmsg_set(reterr_msg, r, "%s",
				  err ? err : "cannot load the profile matrix");
	return 0;
}

void payload_index_result_done(struct payload_index_result *res)
{
	strv_free(res->warnings);
	*res = (struct payload_index_result){};
}

int payload_index(int dir_fd, const char *dir, const struct rpm_keyring *keyring,
		  const struct profile_set *matrix, struct catalog *cat,
		  struct payload_index_result *ret, char **reterr_msg)
{
	struct index_ctx ctx = { .dir_fd = dir_fd,
				 .keyring = keyring,
				 .matrix = matrix,
				 .cat = cat,
				 .res = ret,
				 .err = reterr_msg };
	*ret = (struct payload_index_result){};
	int r = walk(&ctx, "", 0);
	if (r >= 0 && ctx.paths)
		qsort(ctx.paths, strv_length(ctx.paths), sizeof(char *), cmp_str);
	/* INFs first: the files beside them join their packages */
	for (char **p = ctx.paths; r >= 0 && p && *p; p++)
		if (endswith(*p, PROFILES_FILE_SUFFIX) && strv_extend(&ctx.manifests, *p) < 0)
			r = errmsg_oom(reterr_msg);
	for (char **p = ctx.paths; r >= 0 && p && *p; p++)
		if (endswith(*p, PROFILES_FILE_SUFFIX))
			continue;
		else if (has_suffix_ci(*p, ".inf"))
			r = index_inf(&ctx, *p);
	for (char **p = ctx.paths; r >= 0 && p && *p; p++)
		if (endswith(*p, PROFILES_FILE_SUFFIX))
			continue;
		else if (has_suffix_ci(*p, ".rpm"))
			r = index_rpm(&ctx, *p);
		else if (has_suffix_ci(*p, ".deb"))
			r = index_deb(&ctx, *p);
		else if (!has_suffix_ci(*p, ".inf"))
			r = index_windows_file(&ctx, *p);
	if (r >= 0)
		r = deb_tag_dependencies(&ctx);
	for (size_t i = 0; r >= 0 && i < ctx.n_drivers; i++)
		r = check_driver_catalog(&ctx, &ctx.drivers[i]);
	STRV_FOREACH(m, ctx.manifests)
	if (r >= 0 && !strv_contains(ctx.manifests_used, *m))
		r = errmsg_set(reterr_msg, -ENOENT,
			       "'%s' belongs to no Windows payload: name it after a driver package "
			       "folder or an installer file, with '%s' added",
			       *m, PROFILES_FILE_SUFFIX);
	strv_free(ctx.manifests);
	strv_free(ctx.manifests_used);
	strv_free(ctx.paths);
	drivers_free(&ctx);
	hash_worker_free(ctx.hasher);
	if (r >= 0 && cat->n_payloads > 0)
		qsort(cat->payloads, cat->n_payloads, sizeof(*cat->payloads), cmp_payload_path);
	if (r < 0)
		return r;

	r = catalog_write_at(dir_fd, CATALOG_FILE, cat);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot write '%s/%s': %m", dir, CATALOG_FILE);
	/* the old signature cannot match the new catalog */
	if (unlinkat(dir_fd, CATALOG_SIG_FILE, 0) < 0 && errno != ENOENT &&
	    strv_extendf(&ret->warnings, "cannot remove the old '%s/%s': %s", dir, CATALOG_SIG_FILE,
			 strerror(errno)) < 0)
		return errmsg_oom(reterr_msg);
	return 0;
}
