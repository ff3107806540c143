/* SPDX-License-Identifier: MIT */
/*
 * portal-state.c - the remembered catalog version and hash (see
 * portal-state.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/string-util.h"
#include "lib/trust/portal-state.h"

static int state_load(int dir_fd, json_object **ret, char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL, *why = NULL;
	size_t len;
	json_object *o = NULL, *cats;

	int r = fs_read_file_at(dir_fd, PORTAL_STATE_FILE, PORTAL_STATE_MAX, &buf, &len);
	if (r == -ENOENT) {
		o = json_object_new_object();
		if (!o)
			return -ENOMEM;
		json_object_object_add(o, "schema", json_object_new_int(1));
		json_object_object_add(o, "catalogs", json_object_new_object());
		*ret = o;
		return 0;
	}
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read '%s': %s", PORTAL_STATE_FILE,
				  strerror(-r));
	r = json_parse_bounded(buf, len, PORTAL_STATE_MAX, &o, &why);
	if (r < 0)
		return errmsg_set(reterr_msg, -EBADMSG, "'%s': %s", PORTAL_STATE_FILE,
				  why ? why : "malformed");
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "catalogs", &cats) ||
	    !json_object_is_type(cats, json_type_object)) {
		json_object_put(o);
		return errmsg_set(reterr_msg, -EBADMSG, "'%s': no \"catalogs\" object",
				  PORTAL_STATE_FILE);
	}
	*ret = o;
	return 0;
}

int portal_state_get(const char *state_dir, const char *key, struct portal_seen *ret,
		     char **reterr_msg)
{
	_cleanup_json_ json_object *o = NULL;
	_cleanup_close_ int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	json_object *cats, *e;
	const char *hex;
	int64_t v;
	int r;

	if (dfd < 0 && errno == ENOENT) {
		*ret = (struct portal_seen){};
		return 0;
	}
	if (dfd < 0)
		return errmsg_set(reterr_msg, negative_errno(), "cannot open '%s': %m", state_dir);
	r = state_load(dfd, &o, reterr_msg);
	if (r < 0)
		return r;
	json_object_object_get_ex(o, "catalogs", &cats);
	if (!json_object_object_get_ex(cats, key, &e)) {
		*ret = (struct portal_seen){};
		return 0;
	}
	struct portal_seen s = { .known = true };
	if (json_get_int64(e, "version", &v) < 0 || v < 0 ||
	    json_get_string(e, "sha256", &hex) < 0 ||
	    hex_decode(hex, s.sha256, sizeof(s.sha256)) < 0)
		return errmsg_set(reterr_msg, -EBADMSG, "'%s/%s': bad entry for '%s'", state_dir,
				  PORTAL_STATE_FILE, key);
	s.version = (uint64_t)v;
	*ret = s;
	return 0;
}

int portal_state_put(const char *state_dir, const char *key, uint64_t version,
		     const uint8_t sha256[SHA256_DIGEST_SIZE], char **reterr_msg)
{
	_cleanup_json_ json_object *o = NULL;
	_cleanup_close_ int dfd = -EBADF;
	char hex[SHA256_HEX_SIZE];
	json_object *cats, *e;
	int r;

	const char *rel = state_dir + strspn(state_dir, "/");
	_cleanup_close_ int base =
		rel != state_dir ? open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : AT_FDCWD;
	r = base == -1 ? negative_errno() : *rel ? fs_mkdir_p_at(base, rel, 0755) : 0;
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot create '%s': %s", state_dir, strerror(-r));
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errmsg_set(reterr_msg, negative_errno(), "cannot open '%s': %m", state_dir);
	r = state_load(dfd, &o, reterr_msg);
	if (r < 0)
		return r;
	json_object_object_get_ex(o, "catalogs", &cats);
	hex_encode(sha256, SHA256_DIGEST_SIZE, hex);
	e = json_object_new_object();
	if (!e)
		return -ENOMEM;
	json_object_object_add(e, "version", json_object_new_int64((int64_t)version));
	json_object_object_add(e, "sha256", json_object_new_string(hex));
	json_object_object_add(cats, key, e);
	r = json_write_file_atomic_at(dfd, PORTAL_STATE_FILE, o, 0644);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write '%s/%s': %s", state_dir,
				  PORTAL_STATE_FILE, strerror(-r));
	return 0;
}
