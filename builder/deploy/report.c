/* SPDX-License-Identifier: MIT */
/*
 * report.c - the per-unit deploy report: one JSON object per target and
 * line, appended to a report file a station keeps (JSON Lines), each line
 * written with one write(2) to an O_APPEND file, so stations that share
 * the file do not mix their lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/deploy/deploy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static const char *const result_names[] = {
	[TARGET_PENDING] = "pending",
	[TARGET_DEPLOYED] = "deployed",
	[TARGET_FAILED] = "failed",
	[TARGET_REFUSED] = "refused",
};

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *hex_sha(const uint8_t sha[SHA256_DIGEST_SIZE])
{
	char hex[SHA256_HEX_SIZE];
	hex_encode(sha, SHA256_DIGEST_SIZE, hex);
	return json_object_new_string(hex);
}

static json_object *seconds(double a, double b)
{
	char text[32];
	if (a <= 0 || b < a)
		return NULL;
	snprintf(text, sizeof(text), "%.3f", b - a);
	return json_object_new_double_s(b - a, text);
}

static json_object *target_json(const struct deploy_source *s, const struct deploy_target *t)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	const char *verify = t->verified				      ? "ok"
			     : t->result == TARGET_DEPLOYED		      ? "skipped"
			     : t->result == TARGET_FAILED && t->t_written > 0 ? "failed"
									      : "not run";
	json_object_object_add(o, "target", json_object_new_string(t->path));
	json_object_object_add(o, "kind", json_object_new_string(t->block ? "block" : "file"));
	json_object_object_add(o, "model", str_or_null(t->model));
	json_object_object_add(o, "serial", str_or_null(t->serial));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)t->size));
	json_object_object_add(o, "sector_size", json_object_new_int((int)t->sector));
	json_object_object_add(o, "found", str_or_null(t->found));
	json_object_object_add(o, "forced", json_object_new_boolean(t->forced));
	json_object_object_add(o, "image", json_object_new_string(s->name));
	json_object_object_add(o, "image_size",
			       json_object_new_int64((int64_t)s->bmap->image_size));
	json_object_object_add(o, "bmap", json_object_new_string(s->bmap_name));
	json_object_object_add(o, "bmap_sha256", hex_sha(s->bmap_sha256));
	json_object_object_add(
		o, "mapped",
		json_object_new_int64((int64_t)(s->bmap->mapped_count * s->bmap->block_size)));
	json_object_object_add(o, "started",
			       t->started[0] ? json_object_new_string(t->started) : NULL);
	json_object_object_add(o, "write_seconds", seconds(t->t_start, t->t_written));
	json_object_object_add(o, "total_seconds", seconds(t->t_start, t->t_end));
	json_object_object_add(o, "written", json_object_new_int64((int64_t)t->written));
	json_object_object_add(o, "verify", json_object_new_string(verify));
	json_object_object_add(o, "result", json_object_new_string(result_names[t->result]));
	json_object_object_add(o, "error", str_or_null(t->error));
	return o;
}

int deploy_report_append(const char *path, const struct deploy_source *s,
			 const struct deploy_target *targets, unsigned n, char **reterr_msg)
{
	_cleanup_close_ int fd =
		open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open the report '%s': %m", path);
	for (unsigned i = 0; i < n; i++) {
		json_object *o = target_json(s, &targets[i]);
		if (!o)
			return errmsg_oom(reterr_msg);
		const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		_cleanup_free_ char *line = text ? strjoin(text, "\n") : NULL;
		json_object_put(o);
		if (!line)
			return errmsg_oom(reterr_msg);
		ssize_t k = write(fd, line, strlen(line));
		if (k != (ssize_t)strlen(line))
			return errmsg_errno(reterr_msg, k < 0 ? errno : ENOSPC,
					    "cannot append to the report '%s': %m", path);
	}
	if (fsync(fd) < 0)
		return errmsg_errno(reterr_msg, errno, "cannot append to the report '%s': %m",
				    path);
	return 0;
}
