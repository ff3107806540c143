/* SPDX-License-Identifier: MIT */
/*
 * apply.h - runs a plan (plan.h) on a root tree, step by step, crash-safe.
 *
 * Before the first step the plan goes into the state journal (state.h);
 * each step is recorded there as started before it runs and as done after,
 * each write atomic. A run that finds a journal resumes it: steps are
 * idempotent, so the one that was running is simply run again. Before a
 * step changes a file, the old file is copied to var/lib/enlighten/backup/
 * and the journal says how to undo the step; when a step fails, the steps
 * done so far are undone in reverse order, the journal is cleared and the
 * state says the run failed, so the tree is as it was and the next run
 * tries again. When the undo fails too (a full disk), the journal and the
 * backups are kept instead: the next run resumes the plan from its first
 * step, which redoes whatever the undo took back.
 *
 * A package the database lists but whose files are missing (a transaction
 * cut short by a full disk) counts as not installed: it is installed again.
 *
 * The payload files are checked against the plan's length and sha256 (the
 * verified catalog's) before the rpm transaction reads them.
 */
#pragma once

#include <stdbool.h>

#include "lib/activate/paths.h"
#include "lib/activate/plan.h"
#include "lib/activate/rpmtx.h"
#include "lib/activate/state.h"

#define APPLY_BACKUP_DIR IMAGE_STATE_DIR "/backup"
/* Exit status of the test hook's _exit(). */
#define APPLY_TEST_ABORT_STATUS 3

struct apply_opts {
	const char *root;	  /* the tree as a path ("/" or --root DIR) */
	int root_fd;		  /* the same tree, open */
	enum rpmtx_verify verify; /* package verification level */
	const char *initrd_tool;  /* NULL: "dracut", looked up in PATH */
	long abort_after;	  /* test hook: _exit after this many journal writes; < 0 off */
};

struct apply_result {
	char **changes; /* one line per step done (plan_step_describe) */
	bool changed;
	/* on failure: the undo did not finish either, so the tree is partly
	 * changed; the journal is kept and the next run does the plan again */
	bool undo_failed;
};

void apply_result_done(struct apply_result *r);

/* Runs plan from step `first` (0, or the journal's "next" when resuming)
 * and records the outcome in state (saved): on success the plan's profile,
 * result "complete" and no journal. journal is the journal object to keep
 * (resume) or NULL to start one. On failure returns -errno with a message,
 * after undoing what was done and saving result "failed". */
int apply_plan(struct state *state, const struct plan *plan, const struct apply_opts *o,
	       struct apply_result *ret, char **reterr_msg);

/* Resumes the journal in state (state->journal must be set). */
int apply_resume(struct state *state, const struct apply_opts *o, struct apply_result *ret,
		 char **reterr_msg);

/* Runs one step (no journal, no undo): for tests and --root tools. */
int apply_step(const struct plan_step *s, const struct apply_opts *o, char **reterr_msg);
