/* SPDX-License-Identifier: MIT */
/*
 * closure.c - a profile's dependency closure with libsolv (closure.h).
 * The base's package database is the only part of the base tarball read:
 * var/lib/dpkg/status, or the files of var/lib/rpm/ and
 * usr/lib/sysimage/rpm/, copied (bounded) into a private temporary root
 * that libsolvext reads as the installed system. The payload packages are
 * read through descriptors opened beneath the repository, so a catalog path
 * cannot lead libsolv elsewhere.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_deb.h>
#include <solv/repo_rpmdb.h>
#include <solv/solver.h>
#include <solv/transaction.h>

#include "builder/payload/closure.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"

#define OS_RELEASE_MAX (64 * 1024)
#define DB_DIR_MAX_FILES 256

enum closure_db {
	CLOSURE_DB_DPKG, /* .deb payloads against var/lib/dpkg/status */
	CLOSURE_DB_RPM,	 /* .rpm payloads against the rpm database */
};

struct closure {
	Pool *pool;
	Repo *repo; /* the payloads */
	const struct catalog *cat;
	size_t *payload_of; /* solvable id -> payload index, SIZE_MAX: none */
	int n_solvables;
	enum closure_db db;
	const char *family;
	char *tmp; /* the base's database, as a root libsolv reads */
};

/* What the base's tarball gave. */
struct base_db {
	bool status;	    /* var/lib/dpkg/status */
	unsigned rpm_files; /* files of an rpm database directory */
	uint64_t rpm_bytes; /* ... their size together */
	bool suse;	    /* os-release names SUSE */
};

static const char *const rpm_db_dirs[] = { "var/lib/rpm/", "usr/lib/sysimage/rpm/" };

/* The entry's name without leading "./"; NULL for one that climbs. */
static const char *entry_name(struct archive_entry *ae)
{
	const char *n = archive_entry_pathname(ae);
	while (n && startswith(n, "./"))
		n += 2;
	return n && !strstr(n, "..") ? n : NULL;
}

/* Copies the current entry's data to rel beneath tmp_fd (a new file), at
 * most max bytes; adds the size to *total. */
static int copy_entry(struct archive *a, const char *tarball, const char *name, int tmp_fd,
		      const char *rel, uint64_t max, uint64_t *total, char **reterr_msg)
{
	_cleanup_free_ char *parent = strndup(rel, (size_t)(strrchr(rel, '/') - rel));
	if (!parent)
		return errmsg_oom(reterr_msg);
	int r = fs_mkdir_p_at(tmp_fd, parent, 0700);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot make a temporary copy of '%s': %m",
				    name);
	_cleanup_close_ int fd =
		openat(tmp_fd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errmsg_errno(reterr_msg, -errno, "cannot make a temporary copy of '%s': %m",
				    name);
	for (;;) {
		const void *buf;
		size_t n;
		la_int64_t off;
		int k = archive_read_data_block(a, &buf, &n, &off);
		if (k == ARCHIVE_EOF)
			return 0;
		if (k < ARCHIVE_WARN)
			return errmsg_set(reterr_msg, -EBADMSG, "base '%s': cannot read '%s': %s",
					  tarball, name, archive_error_string(a));
		*total += n;
		if (*total > max)
			return errmsg_set(reterr_msg, -E2BIG,
					  "base '%s': its package database ('%s') is larger than "
					  "%llu MiB; is this a root file system tarball?",
					  tarball, name, (unsigned long long)(max >> 20));
		if (pwrite(fd, buf, n, off) != (ssize_t)n)
			return errmsg_errno(reterr_msg, -errno, "cannot copy '%s': %m", name);
	}
}

/* Whether a status stanza says installed, as the agent reads it
 * (lib/activate/dpkgtx.c): libsolv would take a removed package's
 * config-files remnant for an installed one. */
static bool stanza_installed(const char *st, size_t n)
{
	const char *end = st + n;
	for (const char *l = st; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *eol = nl ? nl : end;
		if (startswith(l, "Status:") && eol - l >= 7) {
			const char *v = l + 7;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			size_t len = (size_t)(eol - v);
			while (len > 0 && strchr(" \t\r", v[len - 1]))
				len--;
			return (len == strlen("install ok installed") &&
				startswith(v, "install ok installed")) ||
			       (len == strlen("hold ok installed") &&
				startswith(v, "hold ok installed"));
		}
		l = eol + 1;
	}
	return false;
}

/* Rewrites the copied status file with its installed stanzas only. */
static int status_filter(int tmp_fd, const char *name, char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL, *out = NULL;
	size_t len, w = 0;
	int r = fs_read_file_at(tmp_fd, name, CLOSURE_MAX_STATUS_BYTES, &buf, &len);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read the copy of '%s': %m", name);
	if (!(out = malloc(len + 2)))
		return errmsg_oom(reterr_msg);
	for (size_t i = 0; i < len;) {
		const char *blank = memmem(buf + i, len - i, "\n\n", 2);
		size_t n = blank ? (size_t)(blank - (buf + i)) + 1 : len - i;
		if (stanza_installed(buf + i, n)) {
			memcpy(out + w, buf + i, n);
			w += n;
			out[w++] = '\n';
		}
		i += n + (blank ? 1 : 0);
	}
	r = fs_write_file_atomic_at(tmp_fd, name, out, w, 0600);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot write the copy of '%s': %m", name);
	return 0;
}

/* One entry of the base: the database files are copied, os-release read. */
static int base_entry(struct archive *a, struct archive_entry *ae, const char *tarball, int tmp_fd,
		      struct base_db *db, char **reterr_msg)
{
	const char *n = entry_name(ae);
	if (!n || archive_entry_filetype(ae) != AE_IFREG)
		return 0;
	if (streq(n, "var/lib/dpkg/status")) {
		uint64_t size = 0;
		db->status = true;
		int r = copy_entry(a, tarball, n, tmp_fd, n, CLOSURE_MAX_STATUS_BYTES, &size,
				   reterr_msg);
		return r < 0 ? r : status_filter(tmp_fd, n, reterr_msg);
	}
	if (streq(n, "etc/os-release") || streq(n, "usr/lib/os-release")) {
		char buf[4096];
		size_t total = 0;
		ssize_t k;
		while (total < OS_RELEASE_MAX &&
		       (k = archive_read_data(a, buf, sizeof(buf) - 1)) > 0) {
			buf[k] = '\0';
			total += (size_t)k;
			db->suse = db->suse || strcasestr(buf, "suse");
		}
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(rpm_db_dirs); i++) {
		const char *f = startswith(n, rpm_db_dirs[i]);
		if (!f || !*f || strchr(f, '/') || f[0] == '.')
			continue;
		if (++db->rpm_files > DB_DIR_MAX_FILES)
			return errmsg_set(reterr_msg, -E2BIG,
					  "base '%s': its rpm database has more than %d files",
					  tarball, DB_DIR_MAX_FILES);
		return copy_entry(a, tarball, n, tmp_fd, n, CLOSURE_MAX_DB_BYTES, &db->rpm_bytes,
				  reterr_msg);
	}
	return 0;
}

/* Streams the base tarball once, copying its package database beneath tmp_fd. */
static int base_read(const char *tarball, int tmp_fd, struct base_db *db, char **reterr_msg)
{
	struct archive *a = archive_read_new();
	if (!a)
		return errmsg_oom(reterr_msg);
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int r = 0;
	if (archive_read_open_filename(a, tarball, 64 * 1024) != ARCHIVE_OK)
		r = errmsg_set(reterr_msg, -EBADMSG, "cannot read base '%s': %s", tarball,
			       archive_error_string(a));
	while (r >= 0) {
		struct archive_entry *ae;
		int k = archive_read_next_header(a, &ae);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN) {
			r = errmsg_set(reterr_msg, -EBADMSG,
				       "base '%s' is not a readable tarball: %s", tarball,
				       archive_error_string(a));
			break;
		}
		r = base_entry(a, ae, tarball, tmp_fd, db, reterr_msg);
	}
	archive_read_free(a);
	return r;
}

/* The pool for the base's kind, with the base's installed packages. */
static int pool_setup(struct closure *c, const char *tarball, char **reterr_msg)
{
	Pool *pool = c->pool = pool_create();
	if (!pool)
		return errmsg_oom(reterr_msg);
	/* explicitly: a libsolv built for Debian starts as DISTTYPE_DEB */
	pool_setdisttype(pool, c->db == CLOSURE_DB_DPKG ? DISTTYPE_DEB : DISTTYPE_RPM);
	pool_setarch(pool, c->db == CLOSURE_DB_DPKG ? "amd64" : "x86_64");
	pool_set_rootdir(pool, c->tmp);
	Repo *installed = repo_create(pool, "@System");
	int k = c->db == CLOSURE_DB_DPKG
			? repo_add_debdb(installed, REPO_USE_ROOTDIR)
			: repo_add_rpmdb(installed, NULL, REPO_USE_ROOTDIR | RPM_ADD_NO_RPMLIBREQS);
	if (k != 0)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "base '%s': cannot read its package database: %s", tarball,
				  pool_errstr(pool));
	pool_set_installed(pool, installed);
	return 0;
}

/* Every payload the base's package manager installs, into c->repo. */
static int repo_setup(struct closure *c, int repo_fd, char **reterr_msg)
{
	Pool *pool = c->pool;
	_cleanup_free_ Id *ids = calloc(c->cat->n_payloads + 1, sizeof(Id));
	if (!ids)
		return errmsg_oom(reterr_msg);
	c->repo = repo_create(pool, "payloads");
	for (size_t i = 0; i < c->cat->n_payloads; i++) {
		const struct catalog_payload *p = &c->cat->payloads[i];
		if (c->db == CLOSURE_DB_DPKG ? !p->deb : !p->rpm)
			continue;
		_cleanup_close_ int fd = fs_open_beneath(repo_fd, p->path, O_RDONLY | O_NOCTTY, 0);
		if (fd < 0)
			return errmsg_errno(reterr_msg, fd, "cannot open payload '%s': %m",
					    p->path);
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		ids[i] = c->db == CLOSURE_DB_DPKG
				 ? repo_add_deb(c->repo, proc, REPO_NO_INTERNALIZE)
				 : repo_add_rpm(c->repo, proc,
						REPO_NO_INTERNALIZE | RPM_ADD_NO_RPMLIBREQS);
		if (!ids[i])
			return errmsg_set(reterr_msg, -EBADMSG,
					  "payload '%s' is not a readable package: %s; index the "
					  "payload source again",
					  p->path, pool_errstr(pool));
	}
	repo_internalize(c->repo);
	pool_addfileprovides(pool);
	pool_createwhatprovides(pool);

	c->n_solvables = pool->nsolvables;
	c->payload_of = malloc((size_t)pool->nsolvables * sizeof(size_t));
	if (!c->payload_of)
		return errmsg_oom(reterr_msg);
	for (int s = 0; s < pool->nsolvables; s++)
		c->payload_of[s] = SIZE_MAX;
	for (size_t i = 0; i < c->cat->n_payloads; i++)
		if (ids[i] > 0 && ids[i] < pool->nsolvables)
			c->payload_of[ids[i]] = i;
	return 0;
}

int closure_new(const char *base_tarball, int repo_fd, const struct catalog *cat,
		struct closure **ret, char **reterr_msg)
{
	_cleanup_closure_ struct closure *c = calloc(1, sizeof(*c));
	if (!c || !(c->tmp = strdup("/tmp/enlighten-closure.XXXXXX")))
		return errmsg_oom(reterr_msg);
	c->cat = cat;
	const char *t = getenv("TMPDIR");
	if (t && *t) {
		free(c->tmp);
		if (!(c->tmp = strjoin(t, "/enlighten-closure.XXXXXX")))
			return errmsg_oom(reterr_msg);
	}
	if (!mkdtemp(c->tmp)) {
		int r = -errno;
		c->tmp[0] = '\0';
		return errmsg_errno(reterr_msg, r, "cannot make a temporary directory: %m");
	}
	_cleanup_close_ int tmp_fd = open(c->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmp_fd < 0)
		return errmsg_errno(reterr_msg, -errno, "cannot open '%s': %m", c->tmp);

	struct base_db db = {};
	int r = base_read(base_tarball, tmp_fd, &db, reterr_msg);
	if (r < 0)
		return r;
	if (db.status)
		c->db = CLOSURE_DB_DPKG;
	else if (db.rpm_files > 0)
		c->db = CLOSURE_DB_RPM;
	else
		return errmsg_set(reterr_msg, -ENOPKG,
				  "base '%s' has no package database (no var/lib/dpkg/status, "
				  "no rpm database)",
				  base_tarball);
	c->family = c->db == CLOSURE_DB_DPKG ? "debian" : db.suse ? "suse" : NULL;

	r = pool_setup(c, base_tarball, reterr_msg);
	if (r >= 0)
		r = repo_setup(c, repo_fd, reterr_msg);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

struct closure *closure_free(struct closure *c)
{
	if (!c)
		return NULL;
	if (c->pool)
		pool_free(c->pool);
	if (c->tmp && c->tmp[0])
		(void)fs_rm_rf(c->tmp);
	free(c->tmp);
	free(c->payload_of);
	free(c);
	return NULL;
}

const char *closure_rpm_root(const struct closure *c)
{
	return c->db == CLOSURE_DB_RPM ? c->tmp : NULL;
}

/* Whether payload p serves profile directly rather than as another
 * package's dependency (the indexer tags those too). */
static bool serves_directly(const struct closure *c, const struct catalog_payload *p,
			    const struct profile *prof)
{
	const char *profile = profile_name(prof);
	if (!strv_contains(p->profiles, profile))
		return false;
	if (p->rpm)
		return true; /* RPMs are tagged only for their own sake */
	const char *s = startswith(p->deb->name, "enlighten-ic-");
	if (s && streq(s, profile))
		return true;
	_cleanup_free_ char *marker = strjoin("enlighten-profile-", profile);
	if (marker && strv_contains(p->deb->provides, marker))
		return true;
	return strv_contains(profile_get_for(prof, c->family, PROFILE_LINUX_PACKAGES),
			     p->deb->name);
}

/* The jobs: install each name the profile wants, by name, as the agent
 * does (a name the base has installed is satisfied). */
static int profile_jobs(const struct closure *c, const struct profile *prof, Queue *job)
{
	_cleanup_strv_free_ char **names = NULL;
	STRV_FOREACH(n, profile_get_for(prof, c->family, PROFILE_LINUX_PACKAGES))
	if (!strv_contains(names, *n) && strv_extend(&names, *n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->cat->n_payloads; i++) {
		const struct catalog_payload *p = &c->cat->payloads[i];
		if (!(c->db == CLOSURE_DB_DPKG ? !!p->deb : !!p->rpm) ||
		    !serves_directly(c, p, prof))
			continue;
		const char *name = p->deb ? p->deb->name : p->rpm->name;
		if (!strv_contains(names, name) && strv_extend(&names, name) < 0)
			return -ENOMEM;
	}
	STRV_FOREACH(n, names)
	queue_push2(job, SOLVER_INSTALL | SOLVER_SOLVABLE_NAME, pool_str2id(c->pool, *n, 1));
	return 0;
}

/* libsolv's problems as one sentence. */
static int problems_msg(Solver *solv, int n, const char *profile, char **reterr_msg)
{
	_cleanup_free_ char *text = strdup("");
	for (int p = 1; text && p <= n && p <= CLOSURE_MAX_PROBLEMS; p++) {
		char *t = strjoin(text, p > 1 ? "; " : "", solver_problem2str(solv, p));
		free(text);
		text = t;
	}
	if (!text)
		return errmsg_oom(reterr_msg);
	return errmsg_set(reterr_msg, -ESRCH, "profile '%s' cannot be installed on the base: %s%s",
			  profile, text, n > CLOSURE_MAX_PROBLEMS ? "; ..." : "");
}

/* The installed solvable of s's name, or 0. */
static Id installed_same_name(Pool *pool, Id s)
{
	Id p;
	Solvable *i;
	if (!pool->installed)
		return 0;
	FOR_REPO_SOLVABLES(pool->installed, p, i)
	if (i->name == pool->solvables[s].name)
		return p;
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

int closure_solve(struct closure *c, const struct profile_set *matrix, const char *profile,
		  size_t **ret_idx, size_t *ret_n, char **reterr_msg)
{
	const struct profile *prof = profile_set_find(matrix, profile);
	if (!prof)
		return errmsg_set(reterr_msg, -ENOENT, "unknown profile '%s'", profile);

	Queue job;
	queue_init(&job);
	int r = profile_jobs(c, prof, &job);
	if (r < 0) {
		queue_free(&job);
		return errmsg_oom(reterr_msg);
	}
	Solver *solv = solver_create(c->pool);
	solver_set_flag(solv, SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
	int n = solver_solve(solv, &job);
	queue_free(&job);
	if (n > 0) {
		r = problems_msg(solv, n, profile, reterr_msg);
		solver_free(solv);
		return r;
	}

	Transaction *trans = solver_create_transaction(solv);
	size_t *idx = calloc((size_t)trans->steps.count + 1, sizeof(size_t)), k = 0;
	for (int i = 0; idx && r >= 0 && i < trans->steps.count; i++) {
		Id s = trans->steps.elements[i], old;
		if (s <= 0 || s >= c->n_solvables || c->pool->solvables[s].repo != c->repo ||
		    c->payload_of[s] == SIZE_MAX)
			continue;
		/* the agent installs what the base lacks by name; it does not
		 * replace a base package */
		if ((old = installed_same_name(c->pool, s)))
			r = errmsg_set(reterr_msg, -ESRCH,
				       "profile '%s' needs '%s' from the payload source in place "
				       "of the base's '%s', and the agent does not replace the "
				       "base's packages; update the base, or offer a package "
				       "that works with the base's",
				       profile, pool_solvid2str(c->pool, s),
				       pool_solvid2str(c->pool, old));
		else
			idx[k++] = c->payload_of[s];
	}
	transaction_free(trans);
	solver_free(solv);
	if (r < 0) {
		free(idx);
		return r;
	}
	if (!idx)
		return errmsg_oom(reterr_msg);
	qsort(idx, k, sizeof(size_t), cmp_size);
	if (k == 0) {
		free(idx);
		idx = NULL;
	}
	*ret_idx = idx;
	*ret_n = k;
	return 0;
}
