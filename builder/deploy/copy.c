/* SPDX-License-Identifier: MIT */
/*
 * copy.c - one read of the source feeding every target at once. The main
 * thread reads the mapped ranges in chunks into a ring of aligned buffers,
 * checks each range against its digest in the block map, and hands each
 * chunk to one writer thread per target; behind each writer, a reader-back
 * thread reads each chunk from the target once it is written and compares
 * it with the buffer (the bytes the map's digest checked). A buffer is
 * reused when every writer and reader-back is done with it. A writer then
 * finishes its own target (holes, the GPT: verify.c), so N targets are
 * written, read back and finished at once.
 *
 * The regions written last (deploy.h, struct deploy_deferred) go out as
 * zeros here; a writer that fails keeps consuming the ring without writing,
 * so one bad disk never stalls the others.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builder/deploy/deploy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/progress.h"

#define CHUNK (4u << 20)
#define SLOTS 16
#define HUGE_ALIGN (2u << 20)

struct slot {
	uint8_t *buf;
	uint64_t off;
	size_t len;
	unsigned pending; /* writers yet to take it */
};

struct ring {
	pthread_mutex_t lock;
	pthread_cond_t filled, freed, written;
	struct slot slots[SLOTS];
	uint64_t produced; /* chunks handed out */
	bool done, aborted;
	unsigned n_users; /* threads that take each chunk */
};

struct writer {
	struct ring *ring;
	struct deploy_source *src;
	struct deploy_target *t;
	const struct deploy_deferred *d;
	const struct deploy_opts *o;
	pthread_t thread, checker;
	bool started, checking; /* the threads that run */
	/* between the writer and its reader-back, under ring->lock */
	uint64_t chunks_written;
	bool writer_done;
	atomic_bool failed;
	int check_r;	    /* the read-back's first error, or 0 */
	uint64_t check_off; /* where */
};

/* A chunk's buffer, in huge pages where the kernel gives them: a 4 MiB
 * buffer is 1024 page faults in small pages, each dear in a virtual
 * machine, and 2 in huge ones (the demo image to a file: 17,000 faults
 * and 1.29 s of CPU before, 1,000 and 0.72 s after). */
static uint8_t *chunk_buffer_new(void)
{
	void *p = NULL;
	if (posix_memalign(&p, HUGE_ALIGN, CHUNK) != 0)
		return NULL;
	(void)madvise(p, CHUNK, MADV_HUGEPAGE);
	return p;
}

static void write_chunk(struct deploy_target *t, const struct slot *s)
{
	if (t->result == TARGET_FAILED)
		return;
	for (size_t done = 0; done < s->len;) {
		ssize_t k = pwrite(t->fd, s->buf + done, s->len - done, (off_t)(s->off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : ENOSPC;
			deploy_target_fail(t, -e, "cannot write '%s' at byte %" PRIu64 ": %s",
					   t->path, s->off + done, strerror(e));
			return;
		}
		done += (size_t)k;
	}
	t->written += s->len;
}

/* Takes chunk i when it is there; false when the ring ended or aborted. */
static bool ring_take(struct ring *r, uint64_t i, struct slot **ret)
{
	pthread_mutex_lock(&r->lock);
	while (i >= r->produced && !r->done && !r->aborted)
		pthread_cond_wait(&r->filled, &r->lock);
	bool have = i < r->produced && !r->aborted;
	pthread_mutex_unlock(&r->lock);
	*ret = &r->slots[i % SLOTS];
	return have;
}

static void ring_release(struct ring *r, struct slot *s)
{
	pthread_mutex_lock(&r->lock);
	if (--s->pending == 0)
		pthread_cond_broadcast(&r->freed);
	pthread_mutex_unlock(&r->lock);
}

/* Before the copy: the regions written last are zeros on the target, and so
 * is the end of a larger disk, where an old backup GPT would be found. */
static void clear_deferred(struct deploy_target *t, const struct deploy_deferred *d)
{
	if (t->zeroed) /* a file just emptied: nothing to clear */
		return;
	int r = deploy_zero(t, 0, d->head_len);
	if (r >= 0 && d->tail_len)
		r = deploy_zero(t, d->tail_off, d->tail_len);
	if (r >= 0 && t->block && t->size > d->tail_off + d->tail_len) {
		uint64_t n = MIN(t->size - (d->tail_off + d->tail_len), (uint64_t)1 << 20);
		r = deploy_zero(t, t->size - n, n);
	}
	if (r >= 0 && fdatasync(t->fd) < 0)
		r = -errno;
	if (r < 0)
		deploy_target_fail(t, r, "cannot clear the partition table of '%s': %s", t->path,
				   strerror(-r));
}

/* The reader-back: each chunk read from the target after its writer wrote
 * it (O_DIRECT where the target has it) and compared with the buffer. */
static void *checker_main(void *userdata)
{
	struct writer *w = userdata;
	struct ring *r = w->ring;
	uint8_t *buf = NULL;
	struct slot *s;

	if (!(buf = chunk_buffer_new()))
		w->check_r = -ENOMEM;
	for (uint64_t i = 0; ring_take(r, i, &s); i++) {
		pthread_mutex_lock(&r->lock);
		while (w->chunks_written <= i && !w->writer_done)
			pthread_cond_wait(&r->written, &r->lock);
		bool written = w->chunks_written > i;
		pthread_mutex_unlock(&r->lock);
		if (written && w->check_r == 0 && !atomic_load(&w->failed)) {
			int k = deploy_pread(w->t->fd, buf, s->len, s->off);
			if (k < 0 || memcmp(buf, s->buf, s->len) != 0) {
				w->check_r = k < 0 ? k : -EIO;
				w->check_off = s->off;
			}
		}
		ring_release(r, s);
	}
	free(buf);
	return NULL;
}

static void writer_done(struct writer *w)
{
	pthread_mutex_lock(&w->ring->lock);
	w->writer_done = true;
	pthread_cond_broadcast(&w->ring->written);
	pthread_mutex_unlock(&w->ring->lock);
	if (w->checking)
		pthread_join(w->checker, NULL);
	struct deploy_target *t = w->t;
	if (w->check_r == -EIO)
		deploy_target_fail(t, -EIO,
				   "read back from '%s' at byte %" PRIu64
				   ", the data differs from what was written: the disk does not "
				   "keep what is written",
				   t->path, w->check_off);
	else if (w->check_r < 0)
		deploy_target_fail(t, w->check_r, "cannot read back '%s' at byte %" PRIu64 ": %s",
				   t->path, w->check_off, strerror(-w->check_r));
}

static void *writer_main(void *userdata)
{
	struct writer *w = userdata;
	struct deploy_target *t = w->t;
	struct slot *s;

	clear_deferred(t, w->d);
	for (uint64_t i = 0; ring_take(w->ring, i, &s); i++) {
		write_chunk(t, s);
		if (t->result == TARGET_FAILED)
			atomic_store(&w->failed, true);
		pthread_mutex_lock(&w->ring->lock);
		w->chunks_written = i + 1;
		pthread_cond_broadcast(&w->ring->written);
		pthread_mutex_unlock(&w->ring->lock);
		ring_release(w->ring, s);
	}
	writer_done(w);
	pthread_mutex_lock(&w->ring->lock);
	bool aborted = w->ring->aborted;
	pthread_mutex_unlock(&w->ring->lock);
	if (aborted || t->result == TARGET_FAILED)
		return NULL;
	t->verified = w->o->verify;
	/* a disk's data is flushed before its partition table is written, so
	 * not even a power cut leaves a table over missing data; a file's is
	 * flushed with its table (one journal commit, not two: under load each
	 * costs as much as the copy), and an interrupted run leaves no table */
	if (t->block && fdatasync(t->fd) < 0) {
		deploy_target_fail(t, -errno, "cannot flush '%s': %m", t->path);
		return NULL;
	}
	t->t_written = deploy_now();
	if (deploy_zero_holes(w->src, t) >= 0)
		(void)deploy_finish(w->src, t, w->d);
	return NULL;
}

/* The next free slot for chunk i (waits for the slowest writer). */
static struct slot *ring_slot(struct ring *r, uint64_t i)
{
	struct slot *s = &r->slots[i % SLOTS];
	pthread_mutex_lock(&r->lock);
	while (s->pending > 0)
		pthread_cond_wait(&r->freed, &r->lock);
	pthread_mutex_unlock(&r->lock);
	return s;
}

static void ring_publish(struct ring *r, struct slot *s)
{
	pthread_mutex_lock(&r->lock);
	s->pending = r->n_users;
	r->produced++;
	pthread_cond_broadcast(&r->filled);
	pthread_mutex_unlock(&r->lock);
}

static void ring_end(struct ring *r, bool aborted)
{
	pthread_mutex_lock(&r->lock);
	r->done = true;
	r->aborted = aborted;
	pthread_cond_broadcast(&r->filled);
	pthread_mutex_unlock(&r->lock);
}

/* Keeps the parts of buf ([off, off + len) of the image) written last, as
 * read and hashed, and zeros them in buf. */
static void take_deferred(struct deploy_deferred *d, uint8_t *buf, uint64_t off, size_t len)
{
	if (off < d->head_len) {
		size_t n = (size_t)MIN((uint64_t)len, d->head_len - off);
		memcpy(d->head + off, buf, n);
		memset(buf, 0, n);
	}
	if (d->tail_len && off + len > d->tail_off) {
		uint64_t from = MAX(off, d->tail_off);
		size_t n = (size_t)(MIN(off + len, d->tail_off + d->tail_len) - from);
		memcpy(d->tail + (from - d->tail_off), buf + (from - off), n);
		memset(buf + (from - off), 0, n);
	}
}

/* Reads range ri chunk by chunk into the ring, hashing it on the way. */
static int feed_range(struct ring *ring, struct deploy_source *s, size_t ri,
		      struct deploy_deferred *d, const struct deploy_opts *o, uint64_t *done,
		      char **reterr_msg)
{
	const struct bmap *b = s->bmap;
	const struct bmap_range *br = &b->ranges[ri];
	uint64_t off = bmap_range_offset(b, br), end = off + bmap_range_length(b, br);
	_cleanup_sha256_ struct sha256 *h = NULL;
	uint8_t sha[SHA256_DIGEST_SIZE];

	if (sha256_new(&h) < 0)
		return errmsg_oom(reterr_msg);
	while (off < end) {
		if (o->interrupted && *o->interrupted)
			return errmsg_set(reterr_msg, -EINTR, "interrupted");
		struct slot *sl = ring_slot(ring, ring->produced);
		sl->off = off;
		sl->len = (size_t)MIN((uint64_t)CHUNK, end - off);
		int r = deploy_source_read(s, off, sl->buf, sl->len, reterr_msg);
		if (r < 0)
			return r;
		if (sha256_update(h, sl->buf, sl->len) < 0)
			return errmsg_oom(reterr_msg);
		take_deferred(d, sl->buf, sl->off, sl->len);
		ring_publish(ring, sl);
		off += sl->len;
		*done += sl->len;
		progress_update(o->progress, *done);
	}
	if (sha256_final(h, sha) < 0)
		return errmsg_oom(reterr_msg);
	if (memcmp(sha, br->sha256, sizeof(sha)) != 0)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "'%s' does not match its block map in blocks %" PRIu64 "-%" PRIu64
				  " (range %zu): the image is damaged or not the one the map was "
				  "made for",
				  s->name, br->first, br->last, ri + 1);
	return 0;
}

static int ring_init(struct ring *r)
{
	*r = (struct ring){};
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->filled, NULL);
	pthread_cond_init(&r->freed, NULL);
	pthread_cond_init(&r->written, NULL);
	for (size_t i = 0; i < SLOTS; i++)
		if (!(r->slots[i].buf = chunk_buffer_new()))
			return -ENOMEM;
	return 0;
}

static void ring_done(struct ring *r)
{
	for (size_t i = 0; i < SLOTS; i++)
		free(r->slots[i].buf);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->filled);
	pthread_cond_destroy(&r->freed);
	pthread_cond_destroy(&r->written);
}

int deploy_copy(struct deploy_source *s, struct deploy_target **t, unsigned n,
		struct deploy_deferred *d, const struct deploy_opts *o, char **reterr_msg)
{
	struct writer w[DEPLOY_MAX_TARGETS] = {};
	struct ring ring;
	uint64_t done = 0;
	int r = ring_init(&ring);

	if (r < 0)
		r = errmsg_oom(reterr_msg);
	for (unsigned i = 0; r >= 0 && i < n; i++) {
		w[i] = (struct writer){ .ring = &ring, .src = s, .t = t[i], .d = d, .o = o };
		if (o->verify && pthread_create(&w[i].checker, NULL, checker_main, &w[i]) != 0)
			r = errmsg_set(reterr_msg, -EAGAIN, "cannot start a thread");
		else if (pthread_create(&w[i].thread, NULL, writer_main, &w[i]) != 0) {
			r = errmsg_set(reterr_msg, -EAGAIN, "cannot start a thread");
			w[i].writer_done = true; /* its reader-back ends with the ring */
		} else
			w[i].started = true;
		w[i].checking = o->verify && (w[i].started || w[i].writer_done);
		/* every thread started takes each chunk (a failure stops the run) */
		ring.n_users += w[i].started + w[i].checking;
	}
	for (size_t i = 0; r >= 0 && i < s->bmap->n_ranges; i++)
		r = feed_range(&ring, s, i, d, o, &done, reterr_msg);
	ring_end(&ring, r < 0);
	for (unsigned i = 0; i < n; i++) {
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
		else if (w[i].checking)
			pthread_join(w[i].checker, NULL);
	}
	ring_done(&ring);
	return r;
}
