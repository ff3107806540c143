/* SPDX-License-Identifier: MIT */
/*
 * state.c - the agent's state file and run lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include "lib/activate/paths.h"
#include "lib/activate/state.h"
#include "lib/basic/clock.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/string-util.h"

struct state *state_new(void)
{
	return calloc(1, sizeof(struct state));
}

void state_free(struct state *s)
{
	if (!s)
		return;
	free(s->profile);
	free(s->result);
	free(s->finished);
	free(s->error);
	json_object_put(s->journal);
	free(s);
}

static int dup_opt(json_object *o, const char *key, char **ret)
{
	json_object *v;
	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : -ENOMEM;
}

int state_load(int root_fd, struct state **ret, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL, *why = NULL;
	_cleanup_json_ json_object *o = NULL;
	_cleanup_state_ struct state *s = NULL;
	size_t size;
	json_object *v, *lr;
	int64_t schema;
	int r;

	r = fs_read_file_at(root_fd, IMAGE_STATE_FILE, STATE_FILE_MAX, &text, &size);
	if (r < 0)
		return r;
	r = json_parse_bounded(text, size, STATE_FILE_MAX, &o, &why);
	if (r < 0 || !json_object_is_type(o, json_type_object)) {
		return errmsg_set(reterr_msg, -EBADMSG, "state '/%s' is corrupt: %s",
				  IMAGE_STATE_FILE, why ? why : "not a JSON object");
	}
	s = state_new();
	if (!s)
		return -ENOMEM;
	if (json_get_int64(o, "schema", &schema) < 0 || schema != 1 ||
	    dup_opt(o, "profile", &s->profile) < 0)
		goto bad;
	if (json_object_object_get_ex(o, "forced", &v) && v)
		s->forced = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "last_run", &lr) && lr) {
		if (!json_object_is_type(lr, json_type_object) ||
		    dup_opt(lr, "result", &s->result) < 0 ||
		    dup_opt(lr, "finished", &s->finished) < 0 ||
		    dup_opt(lr, "error", &s->error) < 0)
			goto bad;
	}
	if (json_object_object_get_ex(o, "journal", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			goto bad;
		s->journal = json_object_get(v);
	}
	*ret = TAKE_PTR(s);
	return 0;
bad:
	return errmsg_set(reterr_msg, -EBADMSG,
			  "state '/%s' is corrupt: unexpected schema or field types",
			  IMAGE_STATE_FILE);
}

/* A power cut during an atomic write leaves its temporary file: the next
 * write (under the run lock) removes it. */
static void remove_stale_temporaries(int root_fd)
{
	_cleanup_close_ int fd =
		fs_open_beneath(root_fd, IMAGE_STATE_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return;
	_cleanup_strv_free_ char **names = NULL;
	if (fs_list_dir(fd, NULL,
			&(struct fs_list_opts){ .prefix = ".#state.json.", .hidden = true },
			&names) < 0)
		return;
	STRV_FOREACH(n, names)
	(void)unlinkat(fd, *n, 0);
}

int state_save(int root_fd, const struct state *s)
{
	_cleanup_json_ json_object *o = json_object_new_object(), *lr = json_object_new_object();
	int r;

	if (!o || !lr)
		return -ENOMEM;
	json_object_object_add(o, "schema", json_object_new_int(1));
	json_object_object_add(o, "profile", json_string_or_null(s->profile));
	json_object_object_add(o, "forced", json_object_new_boolean(s->forced));
	json_object_object_add(lr, "result", json_string_or_null(s->result));
	json_object_object_add(lr, "finished", json_string_or_null(s->finished));
	json_object_object_add(lr, "error", json_string_or_null(s->error));
	json_object_object_add(o, "last_run", TAKE_PTR(lr));
	json_object_object_add(o, "journal", s->journal ? json_object_get(s->journal) : NULL);
	r = fs_mkdir_p_at(root_fd, IMAGE_STATE_DIR, 0755);
	if (r < 0)
		return r;
	remove_stale_temporaries(root_fd);
	return json_write_file_atomic_at(root_fd, IMAGE_STATE_FILE, o, 0644);
}

bool state_converged(const struct state *s, const char *profile)
{
	return s && !s->journal && s->profile && profile && streq(s->profile, profile) &&
	       s->result && streq(s->result, "complete");
}

int state_lock(int root_fd)
{
	const char *path = IMAGE_STATE_DIR "/lock";
	_cleanup_close_ int run = fs_open_beneath(root_fd, "run", O_PATH | O_DIRECTORY, 0);
	int r;

	if (run >= 0)
		path = "run/enlighten.lock";
	else {
		r = fs_mkdir_p_at(root_fd, IMAGE_STATE_DIR, 0755);
		if (r < 0)
			return r;
	}
	int fd = fs_open_beneath(root_fd, path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : negative_errno();
		safe_close(fd);
		return r;
	}
	return fd;
}

char *state_timestamp(void)
{
	time_t t;
	if (source_date_epoch(&t) < 0)
		t = time(NULL); /* a record's time: an unusable variable is not an error here */
	struct tm tm;
	char buf[32];
	if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return strdup(buf);
}
