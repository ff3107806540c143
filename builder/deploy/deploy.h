/* SPDX-License-Identifier: MIT */
/*
 * deploy.h - writing one raw image to one or more disks at once, guided by
 * its block map: the source (source.c), the targets and their safety checks
 * (target.c), the copy and its read-back (copy.c), the GPT finished last
 * (finish.c), the per-unit report (report.c). See docs/enlighten-deploy.md.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "builder/image/bmap.h"
#include "lib/basic/hash.h"

#define DEPLOY_MAX_TARGETS 64

struct progress;
struct net_range;

/* ---- the source ---------------------------------------------------------- */

struct deploy_source {
	char *name;		/* as given, for messages and the report */
	int fd;			/* a local image, or -EBADF */
	char *url;		/* an https (or file) URL, or NULL */
	struct net_range *http; /* the ranged reader of a URL source */
	struct bmap *bmap;
	char *bmap_name;
	uint8_t bmap_sha256[SHA256_DIGEST_SIZE];
	unsigned sector_size; /* of the image's GPT (512 or 4096), 0 without one */
};

struct deploy_source_opts {
	const char *image;  /* a path or a URL */
	const char *bmap;   /* NULL: beside the image (IMAGE.bmap, or .raw -> .bmap) */
	const char *cainfo; /* for https; NULL: the system's */
	bool allow_http;    /* for tests: plain http too */
};

int deploy_source_open(const struct deploy_source_opts *o, struct deploy_source **ret,
		       char **reterr_msg);
void deploy_source_free(struct deploy_source *s);
/* Reads exactly n bytes at off; a short source is -EIO with a message. */
int deploy_source_read(struct deploy_source *s, uint64_t off, void *buf, size_t n,
		       char **reterr_msg);

/* ---- the targets --------------------------------------------------------- */

enum target_result {
	TARGET_PENDING,
	TARGET_DEPLOYED, /* written, the GPT finished, every range read back right */
	TARGET_FAILED,	 /* error says why; the disk does not look deployed */
	TARGET_REFUSED,	 /* the safety checks said no; nothing was written */
};

struct deploy_target {
	char *path;
	int fd;			      /* writes (O_DIRECT where it can) */
	bool block;		      /* a block device (else a regular file) */
	bool direct;		      /* fd has O_DIRECT */
	bool zeroed;		      /* unmapped blocks already read as zeros (a new file) */
	bool forced;		      /* --force named it */
	uint64_t size;		      /* bytes (a file: the image's size) */
	unsigned sector;	      /* logical sector size */
	char *model, *serial, *found; /* sysfs; what the safety check found */
	enum target_result result;
	char *error;
	uint64_t written;
	double t_start, t_written, t_end; /* CLOCK_MONOTONIC seconds */
	char started[32];		  /* UTC, ISO 8601 */
	bool verified;
};

/* Opens and checks a target (see docs/enlighten-deploy.md, "Safety"): a
 * refusal sets result to TARGET_REFUSED and error. force: --force named it. */
int deploy_target_open(struct deploy_target *t, const char *path, const struct deploy_source *s,
		       bool force);
void deploy_target_done(struct deploy_target *t);
/* The checks of deploy_target_open() that need no writing, on t's path,
 * size and sector already set: no signature (unless t->forced; the refusal
 * names force_option), large enough, the image's sector size. */
int deploy_target_check(struct deploy_target *t, const struct deploy_source *s,
			const char *force_option);
/* A fact of a disk from its sysfs directory DIR (/sys/dev/block/MAJ:MIN):
 * DIR/device/FIELD, else DIR/FIELD; NULL when absent; the caller frees. */
char *deploy_sysfs_field(const char *dir, const char *field);
/* Its serial ("serial", else "wwid"). */
char *deploy_disk_serial(const char *dir);

/* The disk an unattended installer writes, by rule (pick.c):
 *   "empty"      the one disk that passes every safety check for s (see
 *                deploy_target_open(): empty, large enough, not in use);
 *   "serial:S"   the one disk whose serial is S;
 *   "/dev/..."   that block device (or a link to it, as /dev/disk/by-path/).
 * Only whole disks with a device behind them count (not loop, ram, dm or
 * md devices), neither removable nor read-only, never the disk s is read
 * from. A disk a serial or path rule names passes the same checks, except
 * that with force it may hold data. -ENOENT or -ENOTUNIQ with *reterr_msg
 * listing each disk seen and why it was not picked. */
struct deploy_pick_opts {
	const char *rule;
	bool force;	  /* --force-picked */
	const char *root; /* NULL: this machine; else a tree holding sys/ and dev/ */
};
int deploy_pick(const struct deploy_pick_opts *o, const struct deploy_source *s, char **ret_path,
		char **reterr_msg);
/* Marks t failed with a message (the first one stays); returns r. */
int deploy_target_fail(struct deploy_target *t, int r, const char *fmt, ...)
	__attribute__((__format__(printf, 3, 4)));

/* ---- the run ------------------------------------------------------------- */

struct deploy_opts {
	bool verify;			    /* read every mapped range back (default) */
	struct progress *progress;	    /* may be NULL */
	volatile sig_atomic_t *interrupted; /* set by a signal handler: stop */
};

/* Writes s to every target not refused, at once, then finishes and verifies
 * each. Returns 0 when the copy ran (see each target's result), or -errno
 * when the source failed or the run was interrupted (every target then
 * failed, *reterr_msg says why). */
int deploy_run(struct deploy_source *s, struct deploy_target *targets, unsigned n,
	       const struct deploy_opts *o, char **reterr_msg);

/* Appends one JSON line per target to path (O_APPEND). */
int deploy_report_append(const char *path, const struct deploy_source *s,
			 const struct deploy_target *targets, unsigned n, char **reterr_msg);

/* ---- internals shared by the files of builder/deploy/ -------------------- */

/* The regions written last (the protective MBR and the primary GPT header;
 * the backup header at the image's end), zeroed first. */
struct deploy_deferred {
	uint64_t head_len; /* bytes at offset 0 */
	uint64_t tail_off; /* the backup header's offset, or image size when none */
	uint8_t *head, *tail;
	size_t tail_len;
};

/* The deferred regions' bytes are taken from the source as it is read (and
 * hashed): the writers use them only after the copy. */
int deploy_copy(struct deploy_source *s, struct deploy_target **t, unsigned n,
		struct deploy_deferred *d, const struct deploy_opts *o, char **reterr_msg);
int deploy_zero_holes(struct deploy_source *s, struct deploy_target *t);
/* Exactly n bytes at off; -EIO at the end of the file. */
int deploy_pread(int fd, uint8_t *buf, size_t n, uint64_t off);
int deploy_finish(struct deploy_source *s, struct deploy_target *t,
		  const struct deploy_deferred *d);
int deploy_zero(struct deploy_target *t, uint64_t off, uint64_t len);
double deploy_now(void);
