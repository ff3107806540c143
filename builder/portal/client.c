/* SPDX-License-Identifier: MIT */
/*
 * client.c - catalog trust and payload download for `enlighten fetch`
 * and `enlighten install` (see portal-client.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder/portal/client.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/progress.h"
#include "lib/basic/string-util.h"
#include "lib/trust/minisign.h"
#include "lib/trust/portal-state.h"

static int parse_long_opt(const char *name, const char *arg, uint64_t min, uint64_t max, long *ret,
			  char **reterr_msg)
{
	uint64_t v;
	if (parse_u64(arg, 10, &v) < 0 || v < min || v > max)
		return errmsg_set(reterr_msg, -EINVAL,
				  "--%s '%s': give a number from %" PRIu64 " to %" PRIu64, name,
				  arg, min, max);
	*ret = (long)v;
	return 0;
}

int portal_client_option(struct portal_client *pc, int c, const char *arg, char **reterr_msg)
{
	long v = 0;
	int r = 0;

	switch (c) {
	case 0x100:
		/* the portal goes first, whatever the order of the options */
		r = strv_extend(&pc->mirrors, arg);
		if (r >= 0 && strv_length(pc->mirrors) > 1) {
			size_t n = strv_length(pc->mirrors);
			char *p = pc->mirrors[n - 1];
			memmove(&pc->mirrors[1], &pc->mirrors[0], (n - 1) * sizeof(char *));
			pc->mirrors[0] = p;
		}
		break;
	case 0x101:
		r = strv_extend(&pc->mirrors, arg);
		break;
	case 0x102:
		r = strv_extend(&pc->pubkeys, arg);
		break;
	case 0x103:
		pc->fetch.allow_http = true;
		break;
	case 0x104:
		pc->allow_expired = true;
		break;
	case 0x105:
		pc->fetch.cainfo = arg;
		break;
	case 0x106:
		r = parse_long_opt("jobs", arg, 1, 64, &v, reterr_msg);
		pc->fetch.jobs = (unsigned)v;
		break;
	case 0x107:
		pc->state_dir = arg;
		break;
	case 0x108:
		r = parse_long_opt("connect-timeout", arg, 1, 3600, &v, reterr_msg);
		pc->fetch.connect_timeout_s = v;
		break;
	case 0x109:
		r = parse_long_opt("speed-limit", arg, 1, UINT32_MAX, &v, reterr_msg);
		pc->fetch.low_speed_limit = v;
		break;
	case 0x10a:
		r = parse_long_opt("speed-time", arg, 1, 3600, &v, reterr_msg);
		pc->fetch.low_speed_time_s = v;
		break;
	case 0x10b:
		r = parse_long_opt("retries", arg, 0, 20, &v, reterr_msg);
		pc->fetch.retries = (int)v;
		break;
	case 0x10c:
	case 0x10d:
		if (!catalog_is_word(arg))
			return errmsg_set(reterr_msg, -EINVAL,
					  "--%s '%s': give a word (letters, digits, '._+-~^:')",
					  c == 0x10c ? "product" : "channel", arg);
		if (c == 0x10c)
			pc->product = arg;
		else
			pc->channel = arg;
		break;
	default: /* cli_getopt() said what was wrong */
		return -EINVAL;
	}
	if (r == -ENOMEM)
		return errmsg_oom(reterr_msg);
	return r;
}

int portal_client_ready(struct portal_client *pc, char **reterr_msg)
{
	if (!pc->mirrors || !pc->mirrors[0] || !strv_length(pc->mirrors))
		return errmsg_set(reterr_msg, -EINVAL, "no portal given; use --portal URL");
	if (strv_length(pc->mirrors) > FETCH_MAX_MIRRORS)
		return errmsg_set(reterr_msg, -EINVAL, "too many mirrors: at most %d",
				  FETCH_MAX_MIRRORS);
	for (char **m = pc->mirrors; *m; m++)
		if (!fetch_url_allowed(&pc->fetch, *m))
			return errmsg_set(reterr_msg, -EINVAL,
					  "URL '%s' is not https:// or file:// (plain http needs "
					  "--allow-http)",
					  *m);
	if (!pc->state_dir)
		pc->state_dir = PORTAL_STATE_DIR;
	if (!pc->product)
		pc->product = PORTAL_DEFAULT_PRODUCT;
	if (!pc->channel)
		pc->channel = PORTAL_DEFAULT_CHANNEL;
	return 0;
}

/* The trusted keys: --pubkey files, else every PORTAL_KEYS_DIR/ *.pub. */
static int keys_load(struct portal_client *pc, struct minisign_pubkey **ret, size_t *ret_n,
		     char **reterr_msg)
{
	_cleanup_strv_free_ char **files = NULL;
	_cleanup_free_ struct minisign_pubkey *keys = NULL;
	size_t n = 0;
	int r;

	if (pc->pubkeys) {
		for (char **k = pc->pubkeys; *k; k++)
			if (strv_extend(&files, *k) < 0)
				return errmsg_oom(reterr_msg);
	} else {
		const char *dir = pc->keys_dir ? pc->keys_dir : PORTAL_KEYS_DIR;
		_cleanup_free_ char *pattern = strjoin(dir, "/*.pub");
		glob_t g = {};
		if (!pattern)
			return errmsg_oom(reterr_msg);
		if (glob(pattern, 0, NULL, &g) == 0)
			for (size_t i = 0; i < g.gl_pathc; i++)
				if (strv_extend(&files, g.gl_pathv[i]) < 0) {
					globfree(&g);
					return errmsg_oom(reterr_msg);
				}
		globfree(&g);
	}
	if (!files)
		return errmsg_errno(reterr_msg, ENOKEY,
				    "no trusted key: put the vendor's public key in '%s/' or "
				    "give --pubkey FILE",
				    pc->keys_dir ? pc->keys_dir : PORTAL_KEYS_DIR);
	keys = calloc(strv_length(files), sizeof(*keys));
	if (!keys)
		return errmsg_oom(reterr_msg);
	for (char **f = files; *f; f++) {
		_cleanup_free_ char *why = NULL;
		r = minisign_pubkey_load_at(AT_FDCWD, *f, &keys[n], &why);
		if (r < 0)
			return errmsg_errno(reterr_msg, r, "public key '%s': %s", *f,
					    why ? why : strerror(-r));
		n++;
	}
	*ret = TAKE_PTR(keys);
	*ret_n = n;
	return 0;
}

static int scratch_write(int dfd, const char *name, const void *buf, size_t n)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	return fs_write_all(fd, buf, n);
}

/* Verifies the fetched catalog and signature with each key in turn; they
 * are put in a fresh private directory so the catalog library reads them
 * as it reads a local repository. */
static int catalog_verify(struct portal_client *pc, const struct minisign_pubkey *keys,
			  size_t n_keys, struct catalog **ret, char **reterr_msg)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *dir = strjoin(tmp && *tmp ? tmp : "/tmp", "/enlighten-catalog.XXXXXX");
	int r = -ENOKEY;

	if (!dir)
		return -ENOMEM;
	if (!mkdtemp(dir))
		return -errno;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		goto out;
	}
	/* a private scratch directory: no need to sync what is thrown away */
	r = scratch_write(dfd, CATALOG_FILE, pc->catalog_buf, pc->catalog_len);
	if (r >= 0)
		r = scratch_write(dfd, CATALOG_SIG_FILE, pc->sig_buf, pc->sig_len);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n_keys; i++) {
		struct catalog_load_opts lo = { .allow_expired = pc->allow_expired };
		free(*reterr_msg);
		*reterr_msg = NULL;
		r = catalog_load_verified(dfd, &keys[i], &lo, ret, reterr_msg);
		if (r != -ENOKEY)
			break;
	}
out:
	(void)fs_rm_rf(dir);
	return r;
}

/* Whether the catalog is of the product and channel this machine follows:
 * a signed catalog of another channel is no newer than ours however high
 * its version, and its rollback state is kept apart (-EPERM). */
static int catalog_check_pin(const struct portal_client *pc, const struct catalog *c, char **why)
{
	if (streq(c->product, pc->product) && streq(c->channel, pc->channel))
		return 0;
	return errmsg_set(why, -EPERM,
			  "it is for product '%s', channel '%s'; this machine follows product "
			  "'%s', channel '%s' (to switch, give --product and --channel)",
			  c->product, c->channel, pc->product, pc->channel);
}

/* Checks the catalog in pc->catalog_buf/sig_buf, fetched from mirror: the
 * signature, the pinned product and channel, expiry, rollback. On success
 * pc->catalog is set and the version recorded. A refusal of the catalog
 * itself is -EPERM, -ESTALE, -ENOKEY, -EKEYREJECTED or -EBADMSG with *why:
 * another mirror may serve a good one. */
static int catalog_trust(struct portal_client *pc, const struct minisign_pubkey *keys,
			 size_t n_keys, const char *mirror, char **why)
{
	_cleanup_free_ char *key = NULL, *serr = NULL;
	struct portal_seen seen;
	struct catalog *c = NULL;
	int r;

	r = catalog_verify(pc, keys, n_keys, &c, why);
	if (r < 0)
		return r;
	r = catalog_check_pin(pc, c, why);
	if (r < 0)
		goto refused;

	key = strjoin(c->product, "/", c->channel);
	if (!key) {
		r = errmsg_oom(why);
		goto refused;
	}
	r = portal_state_get(pc->state_dir, key, &seen, &serr);
	if (r < 0) {
		/* not the catalog's fault: no other mirror helps */
		r = serr ? errmsg_set(why, -EIO, "%s", serr)
			 : errmsg_set(why, -EIO, "cannot read the portal state: %s", strerror(-r));
		goto refused;
	}
	r = catalog_check_rollback(c, seen.known ? seen.version : 0,
				   seen.known ? seen.sha256 : NULL, why);
	if (r < 0)
		goto refused;
	if (time(NULL) >= c->expires) {
		char when[21] = "?";
		(void)catalog_time_format(c->expires, when);
		if (strv_extendf(&pc->warnings,
				 "catalog version %" PRIu64 " expired at %s; used because of "
				 "--allow-expired",
				 c->version, when) < 0) {
			r = errmsg_oom(why);
			goto refused;
		}
	}
	bool same = seen.known && seen.version == c->version &&
		    memcmp(seen.sha256, c->sha256, SHA256_DIGEST_SIZE) == 0;
	r = same ? 0 : portal_state_put(pc->state_dir, key, c->version, c->sha256, &serr);
	if (r < 0) {
		r = errmsg_set(why, -EIO, "%s (give --state-dir DIR)",
			       serr ? serr : "cannot record the catalog version");
		goto refused;
	}
	pc->catalog = c;
	pc->mirror = mirror;
	return 0;
refused:
	catalog_free(c);
	return r;
}

int portal_client_catalog(struct portal_client *pc, char **reterr_msg)
{
	_cleanup_free_ struct minisign_pubkey *keys = NULL;
	char *order[FETCH_MAX_MIRRORS + 1];
	size_t n_keys = 0, n_mirrors = strv_length(pc->mirrors);
	int r;

	r = keys_load(pc, &keys, &n_keys, reterr_msg);
	if (r < 0)
		return r;

	/* The first mirror that answers gives the catalog; when that catalog
	 * is refused (stale, another channel, a bad signature), the mirrors
	 * after it are asked in turn. */
	for (size_t start = 0; start < n_mirrors;) {
		_cleanup_free_ char *why = NULL;
		size_t n = 0;
		int m = 0;

		free(pc->catalog_buf);
		free(pc->sig_buf);
		pc->catalog_buf = pc->sig_buf = NULL;
		r = fetch_buffer(&pc->fetch, pc->mirrors + start, CATALOG_FILE, CATALOG_MAX_SIZE,
				 &pc->catalog_buf, &pc->catalog_len, &m, &why);
		if (r < 0)
			return errmsg_errno(reterr_msg, r, "cannot get the catalog: %s",
					    why ? why : (r == -EFBIG ? "too large" : strerror(-r)));
		const char *mirror = pc->mirrors[start + m];
		/* the signature from the mirror that gave the catalog, the others after */
		order[n++] = pc->mirrors[start + m];
		for (size_t i = start; pc->mirrors[i]; i++)
			if (i != start + m)
				order[n++] = pc->mirrors[i];
		order[n] = NULL;
		r = fetch_buffer(&pc->fetch, order, CATALOG_SIG_FILE, MINISIGN_FILE_MAX,
				 &pc->sig_buf, &pc->sig_len, NULL, &why);
		if (r < 0)
			return errmsg_errno(reterr_msg, r, "cannot get the catalog signature: %s",
					    why ? why : (r == -EFBIG ? "too large" : strerror(-r)));

		r = catalog_trust(pc, keys, n_keys, mirror, &why);
		if (r >= 0)
			return 0;
		if (r == -EIO || r == -ENOMEM)
			return errmsg_take(reterr_msg, r, TAKE_PTR(why));
		start += (size_t)m + 1;
		if (start >= n_mirrors)
			return errmsg_errno(reterr_msg, r, "catalog from '%s' refused: %s", mirror,
					    why ? why : strerror(-r));
		if (strv_extendf(&pc->warnings,
				 "catalog from '%s' refused: %s; trying the next mirror", mirror,
				 why ? why : strerror(-r)) < 0)
			return errmsg_oom(reterr_msg);
	}
	return -ENOENT; /* not reached: portal_client_ready() wants a mirror */
}

int portal_client_select(struct portal_client *pc, const char *profile, const char *os,
			 const struct catalog_payload ***ret, size_t *ret_n, char **reterr_msg)
{
	const struct catalog *c = pc->catalog;
	const struct catalog_payload **sel = calloc(c->n_payloads + 1, sizeof(*sel));
	size_t n = 0;

	if (!sel)
		return errmsg_oom(reterr_msg);
	for (size_t i = 0; i < c->n_payloads; i++) {
		const struct catalog_payload *p = &c->payloads[i];
		if ((!os || streq(p->os, os)) && (!profile || strv_contains(p->profiles, profile)))
			sel[n++] = p;
	}
	*ret = sel;
	*ret_n = n;
	return 0;
}

/* Counts each event for the result, and hands it on to the caller's hook. */
struct fetch_count {
	struct portal_fetch_result *res;
	const struct fetch_opts *caller;
};

static void on_event(const struct fetch_item *it, enum fetch_event ev, const char *msg,
		     void *userdata)
{
	struct fetch_count *fc = userdata;
	if (ev == FETCH_EVENT_DONE)
		fc->res->fetched++;
	else if (ev == FETCH_EVENT_CACHED)
		fc->res->cached++;
	else if (ev == FETCH_EVENT_FAILED)
		fc->res->failed++;
	if (fc->caller->on_event)
		fc->caller->on_event(it, ev, msg, fc->caller->userdata);
}

int portal_client_fetch(struct portal_client *pc, const struct catalog_payload *const *sel,
			size_t n_sel, const char *dest, struct portal_fetch_result *ret,
			char **reterr_msg)
{
	_cleanup_free_ struct fetch_item *items = calloc(n_sel ? n_sel : 1, sizeof(*items));
	_cleanup_free_ char *why = NULL;
	struct fetch_count fc = { .res = ret, .caller = &pc->fetch };
	struct fetch_opts fo = pc->fetch;
	uint64_t total = 0;
	int r;

	*ret = (struct portal_fetch_result){};
	if (!items)
		return errmsg_oom(reterr_msg);
	for (size_t i = 0; i < n_sel; i++) {
		items[i] = (struct fetch_item){ .path = sel[i]->path, .length = sel[i]->length };
		memcpy(items[i].sha256, sel[i]->sha256, SHA256_DIGEST_SIZE);
		total += sel[i]->length;
	}
	r = fs_mkdir_p_at(AT_FDCWD, dest, 0755);
	if (r == -EINVAL) { /* an absolute path */
		_cleanup_close_ int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = root < 0 ? -errno : fs_mkdir_p_at(root, dest + strspn(dest, "/"), 0755);
	}
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot create '%s': %m", dest);

	fo.on_event = on_event;
	fo.userdata = &fc;
	fo.progress = progress_new("fetch", total); /* drawn only on a terminal */
	r = fetch_files(&fo, pc->mirrors, dest, items, n_sel, &why);
	progress_done(fo.progress);
	if (r == -EIO)
		return errmsg_errno(reterr_msg, r,
				    "%u of %zu payloads could not be fetched; '%s' holds only "
				    "verified files",
				    ret->failed, n_sel, dest);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "fetch into '%s': %s", dest,
				    why ? why : strerror(-r));

	_cleanup_close_ int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open '%s': %m", dest);
	r = fs_write_file_atomic_at(dfd, CATALOG_SIG_FILE, pc->sig_buf, pc->sig_len, 0644);
	if (r >= 0)
		r = fs_write_file_atomic_at(dfd, CATALOG_FILE, pc->catalog_buf, pc->catalog_len,
					    0644);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot write the catalog into '%s': %m", dest);
	return 0;
}

void portal_client_done(struct portal_client *pc)
{
	strv_free(pc->mirrors);
	strv_free(pc->pubkeys);
	strv_free(pc->warnings);
	catalog_free(pc->catalog);
	free(pc->catalog_buf);
	free(pc->sig_buf);
	*pc = (struct portal_client){};
}
