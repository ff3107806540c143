/* SPDX-License-Identifier: MIT */
/*
 * hash-worker.h - SHA-256 of whole files on a thread of their own. A caller
 * busy with other work (the transfer loop of fetch.c, librpm's checks in
 * payload index) hands over a file and collects the digest later, so the
 * hashing runs on another core meanwhile.
 */
#pragma once

#include <stdint.h>

#include "lib/basic/hash.h"

struct hash_worker;

struct hash_worker_result {
	void *tag;     /* as submitted */
	int result;    /* 0, or -errno (-EFBIG: more than max bytes) */
	uint64_t size; /* bytes hashed */
	uint8_t sha256[SHA256_DIGEST_SIZE];
};

/* notify (may be NULL) is called on the worker thread after each result,
 * so that a loop waiting in poll() can wake up; it must be thread-safe
 * (curl_multi_wakeup() is). */
int hash_worker_new(void (*notify)(void *userdata), void *userdata, struct hash_worker **ret);

/* Queues fd to be hashed from offset 0 to its end, at most max bytes. The
 * caller keeps fd open and leaves it alone until the result is collected. */
int hash_worker_submit(struct hash_worker *w, int fd, uint64_t max, void *tag);

/* Takes one finished result: 1 when there was one, 0 when none is ready. */
int hash_worker_collect(struct hash_worker *w, struct hash_worker_result *ret);

/* The same, but waits while files are queued or being hashed: 0 only when
 * nothing was submitted that has not been collected. */
int hash_worker_wait(struct hash_worker *w, struct hash_worker_result *ret);

/* Waits for what is queued (its results are dropped) and stops the thread. */
void hash_worker_free(struct hash_worker *w);
