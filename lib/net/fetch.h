/* SPDX-License-Identifier: MIT */
/*
 * fetch.h - download files from a list of mirrors with libcurl's multi
 * interface, each checked against the length and sha256 a signed catalog
 * gives before it appears in the destination directory.
 *
 * A file is written to DEST/.partial/data/PATH (the quarantine), hashed while
 * it streams in, and renamed to DEST/PATH only when length and sha256 match.
 * Its ETag waits with it (an xattr, or DEST/.partial/etag/PATH), so an interrupted
 * transfer resumes with Range + If-Range (a changed validator makes the
 * server send the whole file, and the file restarts from zero). A file that
 * is already in DEST is hashed again, never trusted; one that does not match
 * is removed and fetched.
 *
 * Limits: transfers at once in total and per host, connect timeout, a
 * low-speed limit, at most 5 redirects, the signed length as a hard cap on
 * the body (enforced in the write callback), https and file:// only (plus
 * http with allow_http), redirects never to a weaker scheme, an explicit CA
 * bundle. A failed attempt is retried with exponential backoff and jitter,
 * honouring Retry-After; a mirror that fails moves to the back of the list
 * for the rest of the run.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/basic/hash.h"

#define FETCH_DEFAULT_CAINFO "/etc/ssl/certs/ca-certificates.crt"
#define FETCH_MAX_MIRRORS 16
#define FETCH_MAX_REDIRS 5
#define FETCH_PARTIAL_DIR ".partial"

struct progress;
struct fetch_item;

enum fetch_event {
	FETCH_EVENT_DONE,   /* fetched and verified, now in DEST */
	FETCH_EVENT_CACHED, /* was in DEST already and verified again */
	FETCH_EVENT_RETRY,  /* an attempt failed; another follows (message says why) */
	FETCH_EVENT_FAILED, /* gave up; item->error says why */
};

struct fetch_opts {
	const char *cainfo;	   /* NULL: FETCH_DEFAULT_CAINFO */
	bool allow_http;	   /* also plain http (never as a redirect from https) */
	unsigned jobs;		   /* transfers at once; 0: 8 */
	unsigned per_host;	   /* connections per host; 0: jobs */
	long connect_timeout_s;	   /* 0: 30 */
	long low_speed_limit;	   /* bytes per second; 0: 1024 */
	long low_speed_time_s;	   /* seconds below the limit before giving up; 0: 30 */
	int retries;		   /* attempts after the first; < 0: 4 */
	unsigned backoff_ms;	   /* first backoff; 0: 250; doubles up to 30 s */
	struct progress *progress; /* updated with the bytes so far; may be NULL */
	void (*on_event)(const struct fetch_item *item, enum fetch_event ev, const char *msg,
			 void *userdata);
	void *userdata;
};

struct fetch_item {
	/* in */
	const char *path; /* relative path, the same under each mirror and DEST */
	uint64_t length;
	uint8_t sha256[SHA256_DIGEST_SIZE];
	/* out */
	int result;	   /* 0, or -errno once it failed */
	bool cached;	   /* was already in DEST and verified */
	unsigned attempts; /* transfers started */
	int mirror;	   /* index into mirrors of the one that delivered, or -1 */
	char error[512];   /* why it failed, for the user */
};

/*
 * Fetches every item from mirrors (base URLs; an item's URL is the base, '/'
 * and its path with each component escaped) into the directory dest.
 * Returns 0 when every item is in dest and verified, -EIO when some failed
 * (see each item's result and error), or another -errno when the run itself
 * could not start (-EINVAL for a bad path or URL, with *reterr_msg).
 */
int fetch_files(const struct fetch_opts *o, char *const *mirrors, const char *dest,
		struct fetch_item *items, size_t n_items, char **reterr_msg);

/*
 * Fetches one small file (the catalog, its signature) into memory, at most
 * max bytes (more gives -EFBIG), trying the mirrors in order with the same
 * limits and retries. *ret is NUL-terminated; *ret_mirror (may be NULL) gets
 * the index of the mirror that answered.
 */
int fetch_buffer(const struct fetch_opts *o, char *const *mirrors, const char *path, size_t max,
		 char **ret, size_t *ret_size, int *ret_mirror, char **reterr_msg);

/* Whether url has a scheme the options allow (https, file; http with
 * allow_http). */
bool fetch_url_allowed(const struct fetch_opts *o, const char *url);
