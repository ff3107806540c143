/* SPDX-License-Identifier: MIT */
/*
 * hash-worker.c - a thread that hashes whole files (see hash-worker.h).
 * Two lists under one mutex: queued, in the order submitted, and done.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/basic/hash-worker.h"
#include "lib/basic/macro.h"

struct item {
	struct item *next;
	int fd;
	uint64_t max;
	struct hash_worker_result res;
};

struct hash_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more;
	pthread_cond_t finished; /* a result was added to done */
	struct item *queued, **queued_tail;
	struct item *done, **done_tail;
	unsigned pending; /* submitted, not yet done */
	bool stop;
	void (*notify)(void *userdata);
	void *userdata;
};

/* Hashes fd from its start: the bytes come from the page cache, where the
 * writer just left them. */
static int hash_file(int fd, uint64_t max, uint8_t out[SHA256_DIGEST_SIZE], uint64_t *ret_size)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return sha256_fd(fd, max, out, ret_size);
}

static void *worker_main(void *arg)
{
	struct hash_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->queued && !w->stop)
			pthread_cond_wait(&w->more, &w->lock);
		struct item *it = w->queued;
		if (!it)
			break; /* stopping, and nothing left */
		w->queued = it->next;
		if (!w->queued)
			w->queued_tail = &w->queued;
		pthread_mutex_unlock(&w->lock);

		it->res.result = hash_file(it->fd, it->max, it->res.sha256, &it->res.size);

		pthread_mutex_lock(&w->lock);
		it->next = NULL;
		*w->done_tail = it;
		w->done_tail = &it->next;
		w->pending--;
		pthread_cond_signal(&w->finished);
		if (w->notify)
			w->notify(w->userdata);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int hash_worker_new(void (*notify)(void *userdata), void *userdata, struct hash_worker **ret)
{
	struct hash_worker *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->queued_tail = &w->queued;
	w->done_tail = &w->done;
	w->notify = notify;
	w->userdata = userdata;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->more, NULL);
	pthread_cond_init(&w->finished, NULL);
	r = pthread_create(&w->thread, NULL, worker_main, w);
	if (r != 0) {
		pthread_cond_destroy(&w->finished);
		pthread_cond_destroy(&w->more);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -r;
	}
	*ret = w;
	return 0;
}

int hash_worker_submit(struct hash_worker *w, int fd, uint64_t max, void *tag)
{
	struct item *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->fd = fd;
	it->max = max;
	it->res.tag = tag;
	pthread_mutex_lock(&w->lock);
	*w->queued_tail = it;
	w->queued_tail = &it->next;
	w->pending++;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

static int collect(struct hash_worker *w, bool wait, struct hash_worker_result *ret)
{
	pthread_mutex_lock(&w->lock);
	while (wait && !w->done && w->pending > 0)
		pthread_cond_wait(&w->finished, &w->lock);
	struct item *it = w->done;
	if (it) {
		w->done = it->next;
		if (!w->done)
			w->done_tail = &w->done;
	}
	pthread_mutex_unlock(&w->lock);
	if (!it)
		return 0;
	*ret = it->res;
	free(it);
	return 1;
}

int hash_worker_collect(struct hash_worker *w, struct hash_worker_result *ret)
{
	return collect(w, false, ret);
}

int hash_worker_wait(struct hash_worker *w, struct hash_worker_result *ret)
{
	return collect(w, true, ret);
}

void hash_worker_free(struct hash_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	while (w->done) {
		struct item *it = w->done;
		w->done = it->next;
		free(it);
	}
	pthread_cond_destroy(&w->finished);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
