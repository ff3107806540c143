/* SPDX-License-Identifier: MIT */
/*
 * run.c - one deploy run: the regions written last worked out from the
 * image's GPT, the copy to every target that passed its checks, and the
 * outcome of each (see deploy.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/deploy/deploy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"

/* The protective MBR and primary GPT header (LBA 0-1) and the backup
 * header (the image's last LBA); without a GPT, the first sector alone. */
static int deferred_init(struct deploy_deferred *d, const struct deploy_source *s)
{
	unsigned ss = s->sector_size;
	uint64_t size = s->bmap->image_size;
	*d = (struct deploy_deferred){ .head_len = ss ? 2 * (uint64_t)ss : 512, .tail_off = size };
	if (ss && size >= 4 * (uint64_t)ss) {
		d->tail_off = size - ss;
		d->tail_len = ss;
	}
	if (d->head_len > size)
		d->head_len = size;
	d->head = calloc(1, (size_t)d->head_len + 1);
	d->tail = calloc(1, d->tail_len + 1);
	return d->head && d->tail ? 0 : -ENOMEM;
}

static void utc_now(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int deploy_run(struct deploy_source *s, struct deploy_target *targets, unsigned n,
	       const struct deploy_opts *o, char **reterr_msg)
{
	struct deploy_target *active[DEPLOY_MAX_TARGETS];
	struct deploy_deferred d;
	unsigned n_active = 0;
	int r;

	if (n > DEPLOY_MAX_TARGETS)
		return errmsg_set(reterr_msg, -E2BIG, "more than %d targets", DEPLOY_MAX_TARGETS);
	for (unsigned i = 0; i < n; i++)
		if (targets[i].result == TARGET_PENDING)
			active[n_active++] = &targets[i];
	if (n_active == 0)
		return errmsg_set(reterr_msg, -EPERM, "no target passed its checks");
	r = deferred_init(&d, s);
	if (r < 0) {
		free(d.head);
		free(d.tail);
		return errmsg_oom(reterr_msg);
	}
	double start = deploy_now();
	for (unsigned i = 0; i < n_active; i++) {
		active[i]->t_start = start;
		utc_now(active[i]->started);
	}
	r = deploy_copy(s, active, n_active, &d, o, reterr_msg);
	for (unsigned i = 0; i < n_active; i++) {
		struct deploy_target *t = active[i];
		t->t_end = deploy_now();
		if (t->result == TARGET_DEPLOYED || t->result == TARGET_FAILED)
			continue;
		deploy_target_fail(t, r < 0 ? r : -EIO, "not deployed: %s",
				   r < 0 && reterr_msg && *reterr_msg ? *reterr_msg
								      : "the copy stopped");
	}
	free(d.head);
	free(d.tail);
	return r;
}
