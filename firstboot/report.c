/* SPDX-License-Identifier: MIT */
/*
 * report.c - report.json, the summary line, the Hyper-V KVP records.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firstboot/report.h"
#include "lib/activate/paths.h"
#include "lib/activate/state.h"
#include "lib/activate/summary.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define KVP_RECORD_SIZE (KVP_KEY_SIZE + KVP_VALUE_SIZE)
#define KVP_POOL_MAX (KVP_RECORD_SIZE * 4096)

char *report_summary_line(const struct report *r)
{
	const struct agent_summary s = {
		.hypervisor = (char *)r->hypervisor,
		.role = (char *)r->role,
		.profile = (char *)r->profile,
		.changed = r->changed,
		.forced = r->forced,
		.reboot = r->reboot,
	};
	return agent_summary_format(&s);
}

int report_write(int root_fd, const struct report *r)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	_cleanup_free_ char *now = state_timestamp();
	json_object *changes = json_strv(r->changes), *errors = json_object_new_array();
	if (!o || !changes || !errors) {
		json_object_put(changes);
		json_object_put(errors);
		return -ENOMEM;
	}
	if (r->error)
		json_object_array_add(errors, json_object_new_string(r->error));
	json_object_object_add(o, "schema", json_object_new_int(1));
	json_object_object_add(o, "finished", json_string_or_null(now));
	json_object_object_add(o, "result",
			       json_object_new_string(r->error ? "failed" : "complete"));
	json_object_object_add(o, "hypervisor", json_string_or_null(r->hypervisor));
	json_object_object_add(o, "role", json_string_or_null(r->role));
	json_object_object_add(o, "profile", json_string_or_null(r->profile));
	json_object_object_add(o, "previous", json_string_or_null(r->previous));
	json_object_object_add(o, "forced", json_object_new_boolean(r->forced));
	json_object_object_add(o, "changed", json_object_new_boolean(r->changed));
	json_object_object_add(o, "reboot_needed", json_object_new_boolean(r->reboot));
	json_object_object_add(o, "changes", changes);
	json_object_object_add(o, "duration_ms",
			       json_object_new_double((double)r->duration_usec / 1000.0));
	json_object_object_add(o, "errors", errors);
	json_object_object_add(o, "verdict", r->verdict ? json_object_get(r->verdict) : NULL);
	int k = fs_mkdir_p_at(root_fd, IMAGE_STATE_DIR, 0755);
	if (k < 0)
		return k;
	return json_write_file_atomic_at(root_fd, IMAGE_REPORT_FILE, o, 0644);
}

static void kvp_set(char *pool, size_t *len, const char *key, const char *value, bool *changed)
{
	char rec[KVP_RECORD_SIZE] = {};
	snprintf(rec, KVP_KEY_SIZE, "%s", key);
	snprintf(rec + KVP_KEY_SIZE, KVP_VALUE_SIZE, "%s", value);
	for (size_t off = 0; off + KVP_RECORD_SIZE <= *len; off += KVP_RECORD_SIZE)
		if (strncmp(pool + off, key, KVP_KEY_SIZE) == 0) {
			if (memcmp(pool + off, rec, KVP_RECORD_SIZE) != 0) {
				memcpy(pool + off, rec, KVP_RECORD_SIZE);
				*changed = true;
			}
			return;
		}
	memcpy(pool + *len, rec, KVP_RECORD_SIZE);
	*len += KVP_RECORD_SIZE;
	*changed = true;
}

int report_kvp(int root_fd, const struct report *r)
{
	_cleanup_free_ char *old = NULL, *pool = NULL;
	size_t len = 0;
	bool changed = false;
	int k = fs_read_file_at(root_fd, KVP_POOL_FILE, KVP_POOL_MAX, &old, &len);
	if (k == -ENOENT)
		len = 0;
	else if (k < 0)
		return k;
	len -= len % KVP_RECORD_SIZE; /* a torn tail record is dropped */
	pool = calloc(1, len + 5 * KVP_RECORD_SIZE);
	if (!pool)
		return -ENOMEM;
	if (len)
		memcpy(pool, old, len);
	kvp_set(pool, &len, "enlighten.hypervisor", r->hypervisor, &changed);
	kvp_set(pool, &len, "enlighten.role", r->role, &changed);
	kvp_set(pool, &len, "enlighten.profile", r->profile, &changed);
	kvp_set(pool, &len, "enlighten.changed", r->changed ? "yes" : "no", &changed);
	kvp_set(pool, &len, "enlighten.forced", r->forced ? "yes" : "no", &changed);
	if (!changed)
		return 0;
	k = fs_mkdir_p_at(root_fd, "var/lib/hyperv", 0755);
	if (k < 0)
		return k;
	return fs_write_file_atomic_at(root_fd, KVP_POOL_FILE, pool, len, 0644);
}
