/* SPDX-License-Identifier: MIT */
/*
 * state.h - /var/lib/enlighten/state.json: the profile the tree was last
 * converged on, how the last run ended, and the journal of an apply in
 * progress (its plan and how far it got), so the run after a power cut
 * finishes the same job. Written atomically (fsync, rename, fsync dir).
 *
 *   {"schema":1,"profile":"kvm-guest","forced":false,
 *    "last_run":{"result":"complete","finished":"2026-11-24T12:00:00Z"},
 *    "journal":null}
 *
 * The journal, while an apply runs: {"plan":{...},"next":3,"running":true,
 * "undo":[...]}: steps before "next" are done; "running" says step "next"
 * has started (it is idempotent, so it is simply run again).
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "lib/basic/macro.h"

#define STATE_FILE_MAX (4 * 1024 * 1024)

struct state {
	char *profile;	      /* converged profile, NULL when unknown */
	bool forced;	      /* it was forced by an override */
	char *result;	      /* "complete", "failed", or NULL (never ran) */
	char *finished;	      /* when the last run ended, RFC 3339 UTC */
	char *error;	      /* the last run's error, or NULL */
	json_object *journal; /* owned; NULL when no apply is in progress */
};

struct state *state_new(void);
void state_free(struct state *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct state *, state_free);
#define _cleanup_state_ _cleanup_(state_freep)

/* Loads the state beneath root_fd. -ENOENT when there is none; -EBADMSG
 * (with a message) when it is corrupt or truncated: the caller treats the
 * tree as unknown and plans from scratch. */
int state_load(int root_fd, struct state **ret, char **reterr_msg);

/* Writes it atomically, creating var/lib/enlighten when needed. */
int state_save(int root_fd, const struct state *s);

/* True when the last run completed the profile and nothing is pending. */
bool state_converged(const struct state *s, const char *profile);

/* Takes the run lock: flock(LOCK_EX|LOCK_NB) on run/enlighten.lock beneath
 * the root when run/ exists, else var/lib/enlighten/lock. Returns the fd,
 * or -EBUSY when another run holds it. */
int state_lock(int root_fd);

/* Now as RFC 3339 UTC ("2026-11-24T12:00:00Z"); SOURCE_DATE_EPOCH wins. */
char *state_timestamp(void);
