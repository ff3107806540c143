/* SPDX-License-Identifier: MIT */
/*
 * rpm.c - RPM header reading and signature checks through librpm.
 *
 * The trust anchor is a keyring built in memory from one armored key file
 * (rpmKeyringNew + pgpParsePkts + rpmPubkeyNew), set on a transaction set
 * of our own with rpmtsSetKeyring: no rpmdb is opened and no root's keys
 * leak in. That is the simplest correct way: importing into a scratch rpmdb
 * would need a writable directory and a transaction for every key.
 *
 * Checking: rpmcliVerifySignatures (what `rpm -K` runs) reads the whole
 * package, header and payload, with the verification level set to
 * RPMSIG_SIGNATURE_TYPE | RPMSIG_DIGEST_TYPE on the transaction set; it
 * names the file it opens, so it gets /proc/self/fd/N of the descriptor we
 * opened beneath the caller's root. rpmReadPackageFile then reads the
 * header (and checks it again). librpm reports through rpmlog, which a
 * callback collects for the error message while our calls run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <rpm/header.h>
#include <rpm/rpmcli.h>
#include <rpm/rpmds.h>
#include <rpm/rpmio.h>
#include <rpm/rpmkeyring.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmts.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"
#include "lib/trust/rpm.h"

struct rpm_keyring {
	rpmKeyring keyring;
};

/* path beneath dir_fd, or a plain path (the caller's own) for AT_FDCWD */
static int open_at(int dir_fd, const char *path)
{
	if (dir_fd == AT_FDCWD) {
		int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
		return fd < 0 ? negative_errno() : fd;
	}
	return fs_open_beneath(dir_fd, path, O_RDONLY | O_NOCTTY, 0);
}

static int rpm_init(void)
{
	static int done; /* 0 not yet, 1 ok, -1 failed */
	if (!done)
		done = rpmReadConfigFiles(NULL, NULL) == 0 ? 1 : -1;
	return done > 0 ? 0 : -EIO;
}

/* ---- rpmlog capture ------------------------------------------------------ */

struct capture {
	char *text;	/* lines that report a problem, "; "-separated */
	bool signature; /* a signature failed or is by an unknown key */
	bool notfound;	/* some check found nothing to check */
	bool failed;
};

static int capture_cb(rpmlogRec rec, rpmlogCallbackData data)
{
	struct capture *c = data;
	const char *m = rpmlogRecMessage(rec);

	if (rpmlogRecPriority(rec) > RPMLOG_NOTICE)
		return 0;
	/* -K in verbose mode: "path:" then one "    what: RESULT" per check;
	 * errors: "path: what" */
	_cleanup_free_ char *line = strdup(m ? m : "");
	if (!line)
		return 0;
	char *s = strstrip(line);
	if (s[0] == '/') {
		char *sep = strstr(s, ": ");
		s = sep ? sep + 2 : s + strlen(s);
	}
	if (!*s || endswith(s, ": OK"))
		return 0;
	if (endswith(s, ": NOTFOUND")) {
		c->notfound = true; /* fatal only when nothing else verified */
		return 0;
	}
	if (strstr(s, "key ID") || strstr(s, "NOKEY") || strstr(s, "NOTTRUSTED"))
		c->signature = true;
	c->failed = true;
	char *n = strjoin(c->text ? c->text : "", c->text ? "; " : "", s);
	if (n) {
		free(c->text);
		c->text = n;
	}
	return 0;
}

/* ---- keyring ------------------------------------------------------------- */

int rpm_armor_keys(const char *armor, rpm_key_fn fn, void *userdata)
{
	int added = 0;
	for (const char *p = armor; (p = strstr(p, "-----BEGIN PGP PUBLIC KEY BLOCK-----"));) {
		const char *end = strstr(p, "-----END PGP PUBLIC KEY BLOCK-----");
		if (!end)
			break;
		end += strlen("-----END PGP PUBLIC KEY BLOCK-----");
		_cleanup_free_ char *block = strndup(p, end - p);
		p = end;
		uint8_t *pkt = NULL;
		size_t pktlen = 0;
		if (!block)
			return -ENOMEM;
		if (pgpParsePkts(block, &pkt, &pktlen) != PGPARMOR_PUBKEY) {
			free(pkt);
			continue;
		}
		int r = fn(pkt, pktlen, userdata);
		free(pkt);
		if (r < 0)
			return r;
		added += r > 0;
	}
	return added;
}

/* rpm_key_fn: the key and its subkeys into a keyring. */
static int keyring_add_pkt(const uint8_t *pkt, size_t len, void *userdata)
{
	rpmKeyring keyring = userdata;
	rpmPubkey key = rpmPubkeyNew(pkt, len);
	if (!key)
		return 0;
	int added = rpmKeyringAddKey(keyring, key) == 0;
	int nsub = 0;
	rpmPubkey *subs = rpmGetSubkeys(key, &nsub);
	for (int i = 0; i < nsub; i++) {
		rpmKeyringAddKey(keyring, subs[i]);
		rpmPubkeyFree(subs[i]);
	}
	free(subs);
	rpmPubkeyFree(key);
	return added;
}

int rpm_keyring_add_at(struct rpm_keyring *k, int dir_fd, const char *path, char **reterr_msg)
{
	_cleanup_free_ char *armor = NULL;
	_cleanup_close_ int fd = open_at(dir_fd, path);
	int r = fd < 0 ? fd : fs_read_fd(fd, RPM_KEY_MAX_SIZE, &armor, NULL);
	if (r == -EFBIG)
		return errmsg_set(reterr_msg, r, "key '%s' is larger than %d KiB; is it a key?",
				  path, RPM_KEY_MAX_SIZE / 1024);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read key '%s': %s", path, strerror(-r));
	r = rpm_armor_keys(armor, keyring_add_pkt, k->keyring);
	if (r < 0)
		return errmsg_oom(reterr_msg);
	if (r == 0)
		return errmsg_set(
			reterr_msg, -EBADMSG,
			"key '%s' holds no OpenPGP public key (want 'gpg --armor --export')", path);
	return 0;
}

int rpm_keyring_load_at(int dir_fd, const char *path, struct rpm_keyring **ret, char **reterr_msg)
{
	int r = rpm_init();
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read rpm's configuration");
	struct rpm_keyring *k = calloc(1, sizeof(*k));
	if (!k || !(k->keyring = rpmKeyringNew())) {
		free(k);
		return errmsg_oom(reterr_msg);
	}
	r = rpm_keyring_add_at(k, dir_fd, path, reterr_msg);
	if (r < 0) {
		rpm_keyring_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

int rpm_keyring_load_root(const char *root, struct rpm_keyring **ret, char **reterr_msg)
{
	int r = rpm_init();
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read rpm's configuration");
	_cleanup_free_ char *sysimage = strjoin(root, "/usr/lib/sysimage/rpm");
	if (!sysimage)
		return errmsg_oom(reterr_msg);
	struct stat st;
	bool modern = stat(sysimage, &st) == 0 && S_ISDIR(st.st_mode);
	rpmPushMacro(NULL, "_dbpath", NULL, modern ? "/usr/lib/sysimage/rpm" : "/var/lib/rpm",
		     RMIL_CMDLINE);
	rpmts ts = rpmtsCreate();
	rpmKeyring keyring = NULL;
	if (ts) {
		rpmtsSetRootDir(ts, root);
		rpmtsSetVSFlags(ts, 0);
		keyring = rpmtsGetKeyring(ts, 1);
		rpmtsFree(ts);
	}
	rpmPopMacro(NULL, "_dbpath");
	struct rpm_keyring *k = keyring ? calloc(1, sizeof(*k)) : NULL;
	if (!k) {
		rpmKeyringFree(keyring);
		return errmsg_set(reterr_msg, -EIO,
				  "cannot read the keys of the rpm database under '%s'", root);
	}
	k->keyring = keyring;
	*ret = k;
	return 0;
}

void rpm_keyring_free(struct rpm_keyring *k)
{
	if (!k)
		return;
	rpmKeyringFree(k->keyring);
	free(k);
}

/* ---- header --------------------------------------------------------------- */

void catalog_rpm_free(struct catalog_rpm *r)
{
	/* catalog.c owns the layout: let it free the members */
	struct catalog_payload p = { .rpm = r };
	catalog_payload_done(&p);
}

/* "name", "name = evr" etc. of every dependency of one kind. */
static int deps_from_header(Header h, rpmTagVal tag, bool skip_rpmlib, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	rpmds ds = rpmdsNew(h, tag, 0);
	int r = 0;

	while (ds && rpmdsNext(ds) >= 0) {
		const char *dnevr = rpmdsDNEVR(ds);
		if (!dnevr || strlen(dnevr) < 3)
			continue;
		const char *s = dnevr + 2; /* "P name = evr": skip the type letter */
		if (skip_rpmlib && startswith(s, "rpmlib("))
			continue;
		if (strv_contains(l, s))
			continue;
		if (strv_length(l) >= CATALOG_MAX_LIST) {
			r = -E2BIG;
			break;
		}
		if ((r = strv_extend(&l, s)) < 0)
			break;
	}
	rpmdsFree(ds);
	if (r < 0)
		return r;
	if (!l && !(l = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

static int info_from_header(Header h, struct catalog_rpm **ret)
{
	_cleanup_catalog_rpm_ struct catalog_rpm *info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	const char *name = headerGetString(h, RPMTAG_NAME);
	const char *version = headerGetString(h, RPMTAG_VERSION);
	const char *release = headerGetString(h, RPMTAG_RELEASE);
	const char *arch = headerGetString(h, RPMTAG_ARCH);
	if (!name || !version || !release || !arch)
		return -EBADMSG;
	if (!(info->name = strdup(name)) || !(info->version = strdup(version)) ||
	    !(info->release = strdup(release)) || !(info->arch = strdup(arch)))
		return -ENOMEM;
	info->has_epoch = headerIsEntry(h, RPMTAG_EPOCH);
	info->epoch = info->has_epoch ? (uint32_t)headerGetNumber(h, RPMTAG_EPOCH) : 0;
	int r = deps_from_header(h, RPMTAG_PROVIDENAME, false, &info->provides);
	if (r >= 0)
		r = deps_from_header(h, RPMTAG_REQUIRENAME, true, &info->requires);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(info);
	return 0;
}

static int read_checked(rpmts ts, int fd, const char *path, bool check, struct capture *cap,
			struct catalog_rpm **ret)
{
	if (check) {
		char procpath[64];
		snprintf(procpath, sizeof(procpath), "/proc/self/fd/%d", fd);
		const char *argv[] = { procpath, NULL };
		int level = rpmlogSetMask(RPMLOG_UPTO(RPMLOG_INFO));
		int failures = rpmcliVerifySignatures(ts, (ARGV_const_t)argv);
		rpmlogSetMask(level);
		if (failures != 0 || cap->failed)
			return cap->signature || (!cap->text && cap->notfound) ? -EKEYREJECTED
									       : -EBADMSG;
		if (lseek(fd, 0, SEEK_SET) < 0)
			return negative_errno();
	}

	FD_t rfd = fdDup(fd);
	if (!rfd)
		return -ENOMEM;
	Header h = NULL;
	rpmRC rc = rpmReadPackageFile(ts, rfd, path, &h);
	Fclose(rfd);
	int r;
	switch (rc) {
	case RPMRC_OK:
		r = info_from_header(h, ret);
		break;
	case RPMRC_NOKEY:
	case RPMRC_NOTTRUSTED:
		r = -EKEYREJECTED;
		break;
	default:
		r = -EBADMSG;
		break;
	}
	headerFree(h);
	return r;
}

int rpm_read_at(int dir_fd, const char *path, const struct rpm_read_opts *opts,
		struct catalog_rpm **ret, char **reterr_msg)
{
	static const struct rpm_read_opts defaults = {};
	if (!opts)
		opts = &defaults;
	uint64_t max = opts->max_size ? opts->max_size : RPM_MAX_SIZE_DEFAULT;

	int r = rpm_init();
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read rpm's configuration");

	_cleanup_close_ int fd = open_at(dir_fd, path);
	if (fd < 0)
		return errmsg_set(reterr_msg, fd, "rpm '%s': %s", path, strerror(-fd));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errmsg_set(reterr_msg, negative_errno(), "rpm '%s': %m", path);
	if (!S_ISREG(st.st_mode))
		return errmsg_set(reterr_msg, -EINVAL, "rpm '%s': not a regular file", path);
	if ((uint64_t)st.st_size > max)
		return errmsg_set(reterr_msg, -EFBIG,
				  "rpm '%s': %jd bytes, more than the limit of %ju", path,
				  (intmax_t)st.st_size, (uintmax_t)max);

	rpmts ts = rpmtsCreate();
	if (!ts)
		return -ENOMEM;
	if (opts->keyring) {
		rpmtsSetKeyring(ts, opts->keyring->keyring);
		/* Debian's default level is digests only: require signatures */
		rpmtsSetVfyLevel(ts, RPMSIG_SIGNATURE_TYPE | RPMSIG_DIGEST_TYPE);
		rpmtsSetVSFlags(ts, 0);
	} else {
		/* no keyring: an empty one, and no signature checks */
		rpmKeyring empty = rpmKeyringNew();
		rpmtsSetKeyring(ts, empty);
		rpmKeyringFree(empty);
		rpmtsSetVfyLevel(ts, RPMSIG_DIGEST_TYPE);
		rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
	}

	struct capture cap = {};
	rpmlogCallback old = rpmlogSetCallback(capture_cb, &cap);
	r = read_checked(ts, fd, path, opts->keyring != NULL, &cap, ret);
	rpmlogSetCallback(old, NULL);
	rpmtsFree(ts);

	if (r == -EKEYREJECTED && !cap.text)
		cap.text = strdup(
			cap.notfound ? "not signed (a signature by the trusted key is required)"
				     : "no valid signature by the trusted key");
	if (r == -EBADMSG && !cap.text)
		cap.text = strdup("not an RPM package, or truncated or corrupt");
	if (r < 0 && r != -ENOMEM)
		errmsg_set(reterr_msg, r, "rpm '%s': %s", path, cap.text ? cap.text : strerror(-r));
	free(cap.text);
	return r;
}
