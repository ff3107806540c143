/* SPDX-License-Identifier: MIT */
/*
 * state-win.c - %ProgramData%\enlighten\state.json, the Windows twin of
 * lib/state.c: the profile the machine was last converged on, how the last
 * run ended, and the journal of an apply in progress.
 *
 *   {"schema":1,"profile":"kvm-guest",
 *    "last_run":{"result":"complete","finished":"2026-11-24T12:00:00Z",
 *                "error":null},
 *    "journal":null}
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

int state_load(const char *path, struct win_state *ret, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL, *msg = NULL;
	_cleanup_(jval_freep) struct jval *doc = NULL;
	size_t n;

	int r = win_read_file(path, WIN_FILE_MAX, &text, &n);
	if (r == -EFBIG)
		return errmsg_set(reterr_msg, -EBADMSG, "state '%s' is larger than %u bytes", path,
				  WIN_FILE_MAX);
	if (r < 0)
		return r;
	r = jval_parse(text, n, &doc, &msg);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return errmsg_set(reterr_msg, r, "state '%s' does not parse: %s", path, msg);
	const struct jval *schema = jval_get(doc, "schema");
	const struct jval *last = jval_get(doc, "last_run");
	const struct jval *journal = jval_get(doc, "journal");
	if (doc->type != J_OBJ || !schema || schema->type != J_NUM || schema->num != 1)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "state '%s' is not an enlighten state (want \"schema\":1)", path);
	if (journal && journal->type != J_NULL &&
	    (journal->type != J_OBJ || !jval_get(journal, "undo")))
		return errmsg_set(reterr_msg, -EBADMSG,
				  "state '%s': the journal is not an object "
				  "with \"undo\"",
				  path);

	*ret = (struct win_state){
		.profile = jval_str(doc, "profile") ? strdup(jval_str(doc, "profile")) : NULL,
		.result = jval_str(last, "result") ? strdup(jval_str(last, "result")) : NULL,
		.finished = jval_str(last, "finished") ? strdup(jval_str(last, "finished")) : NULL,
		.journal = journal && journal->type == J_OBJ ? journal : NULL,
	};
	ret->doc = TAKE_PTR(doc);
	return 0;
}

void state_done(struct win_state *s)
{
	free(s->profile);
	free(s->result);
	free(s->finished);
	jval_free(s->doc);
	*s = (struct win_state){};
}

int state_save(const char *path, const char *profile, const char *result, const char *error,
	       const char *journal)
{
	struct jbuf b = {};
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_s(&tm, &t);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	jbuf_puts(&b, "{\"schema\":1,\"profile\":");
	jbuf_str(&b, profile);
	jbuf_puts(&b, ",\"last_run\":{\"result\":");
	jbuf_str(&b, result);
	jbuf_puts(&b, ",\"finished\":");
	jbuf_str(&b, now);
	jbuf_puts(&b, ",\"error\":");
	jbuf_str(&b, error);
	jbuf_printf(&b, "},\"journal\":%s}\n", journal ? journal : "null");
	int r = b.oom ? -ENOMEM : win_write_file_atomic(path, b.p, b.n);
	free(b.p);
	return r;
}
