/* SPDX-License-Identifier: MIT */
/*
 * test-hash-worker.c - files handed to the hashing thread come back with the
 * digest sha256_fd gives, whatever the fd's offset, each once with its tag;
 * a file longer than its cap says -EFBIG; stopping with work queued waits
 * for it rather than hashing a closed fd; waiting blocks until a result.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/basic/hash-worker.h"
#include "lib/basic/macro.h"
#include "tests/unit/tap.h"

#define N 12

static int pipe_fds[2];

static void notify(void *userdata)
{
	(void)userdata;
	char c = 1;
	(void)!write(pipe_fds[1], &c, 1);
}

static int make_file(unsigned i, size_t size)
{
	char name[32];
	snprintf(name, sizeof(name), "f%u", i);
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint8_t *buf = malloc(size + 1);
	for (size_t k = 0; k < size; k++)
		buf[k] = (uint8_t)(k * 31 + i);
	if (fd < 0 || !buf || write(fd, buf, size) != (ssize_t)size)
		abort();
	free(buf);
	return fd; /* its offset is at the end, as a writer leaves it */
}

int main(void)
{
	struct hash_worker *w;
	int fds[N];
	uint8_t want[N][SHA256_DIGEST_SIZE];
	bool seen[N] = {};

	tap_tmpdir();
	if (pipe(pipe_fds) < 0)
		abort();
	is_int(hash_worker_new(notify, NULL, &w), 0, "worker starts");
	for (unsigned i = 0; i < N; i++) {
		size_t size = i == 0 ? 0 : (size_t)i * 300007;
		fds[i] = make_file(i, size);
		lseek(fds[i], 0, SEEK_SET);
		uint64_t len;
		if (sha256_fd(fds[i], UINT64_MAX, want[i], &len) < 0 || len != size)
			abort();
		/* the last one is capped below its length */
		is_int(hash_worker_submit(w, fds[i], i == N - 1 ? 1000 : size, &fds[i]), 0,
		       "file %u queued", i);
	}

	unsigned got = 0, bad = 0;
	while (got < N) {
		struct hash_worker_result h;
		int k = hash_worker_collect(w, &h);
		if (k == 0) {
			struct pollfd p = { .fd = pipe_fds[0], .events = POLLIN };
			if (poll(&p, 1, 10000) != 1)
				break;
			char c[64];
			(void)!read(pipe_fds[0], c, sizeof(c));
			continue;
		}
		unsigned i = (unsigned)((int *)h.tag - fds);
		if (i >= N || seen[i]) {
			bad++;
			got++;
			continue;
		}
		seen[i] = true;
		got++;
		if (i == N - 1)
			is_int(h.result, -EFBIG, "a file longer than its cap is refused");
		else if (h.result != 0 || memcmp(h.sha256, want[i], SHA256_DIGEST_SIZE) != 0 ||
			 h.size != (i == 0 ? 0 : (uint64_t)i * 300007))
			bad++;
	}
	is_int(got, N, "every file came back (the notifier woke the poll)");
	is_int(bad, 0, "each once, with the digest and size sha256_fd gives");

	/* stopping with work queued: it is done first, the fds are still open */
	for (unsigned i = 0; i < N; i++)
		is_int(hash_worker_submit(w, fds[i], UINT64_MAX, NULL), 0, "requeued %u", i);
	hash_worker_free(w);
	for (unsigned i = 0; i < N; i++)
		close(fds[i]);
	ok(true, "freed with work queued");

	/* waiting instead of polling: each result in turn, then 0 */
	is_int(hash_worker_new(NULL, NULL, &w), 0, "a worker without a notifier");
	struct hash_worker_result h;
	is_int(hash_worker_wait(w, &h), 0, "waiting with nothing submitted returns 0");
	int fd = make_file(99, 5000003);
	uint8_t sha[SHA256_DIGEST_SIZE];
	lseek(fd, 0, SEEK_SET);
	if (sha256_fd(fd, UINT64_MAX, sha, NULL) < 0)
		abort();
	is_int(hash_worker_submit(w, fd, UINT64_MAX, &fd), 0, "a file queued");
	is_int(hash_worker_wait(w, &h), 1, "waiting gives its result");
	ok(h.tag == &fd && h.result == 0 && h.size == 5000003 &&
		   memcmp(h.sha256, sha, sizeof(sha)) == 0,
	   "... with its tag, size and digest");
	is_int(hash_worker_wait(w, &h), 0, "... and then nothing more");
	close(fd);
	hash_worker_free(w);
	ok(true, "an idle worker stops");
	return tap_done();
}
