/* SPDX-License-Identifier: MIT */
/*
 * generalize.c - one machine's identity left out of a factory image (see
 * generalize.h). One table: a row per kind, each with the shell patterns
 * of its paths as the base's tarball names them.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/fs-ext4.h"
#include "builder/image/generalize.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static const struct {
	const char *kind;
	const char *patterns[4];
} kinds[] = {
	{ "machine-id", { "etc/machine-id", "var/lib/dbus/machine-id" } },
	{ "ssh-host-keys", { "etc/ssh/ssh_host_*" } },
	{ "random-seed", { "var/lib/systemd/random-seed", "var/lib/urandom/random-seed" } },
	{ "credential-secret", { "var/lib/systemd/credential.secret" } },
	{ "dhcp-leases",
	  { "var/lib/dhcp/*.leases", "var/lib/dhclient/*.lease*", "var/lib/NetworkManager/*.lease",
	    "var/lib/NetworkManager/secret_key" } },
};

_Static_assert(ELEMENTSOF(kinds) <= ELEMENTSOF(((struct generalize *)0)->counts),
	       "struct generalize counts every kind");

#define SSH_KEYGEN_UNIT "usr/lib/systemd/system/enlighten-ssh-keygen.service"
#define SSH_KEYGEN_WANTS "etc/systemd/system/multi-user.target.wants/enlighten-ssh-keygen.service"

/* Debian's openssh-server makes host keys only when the package is
 * installed, and sshd does not start without them. */
static const char ssh_keygen_unit[] =
	"# written by enlighten build: the image was generalized, so each machine\n"
	"# makes its own SSH host keys before sshd first starts\n"
	"[Unit]\n"
	"Description=SSH host keys of this machine\n"
	"DefaultDependencies=no\n"
	"After=local-fs.target\n"
	"Before=ssh.service sshd.service\n"
	"ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n"
	"ConditionPathExists=/usr/bin/ssh-keygen\n"
	"\n"
	"[Service]\n"
	"Type=oneshot\n"
	"ExecStart=/usr/bin/ssh-keygen -A\n"
	"\n"
	"[Install]\n"
	"WantedBy=multi-user.target\n";

bool generalize_skip(const char *name, void *userdata)
{
	struct generalize *g = userdata;

	for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
		for (size_t j = 0; j < ELEMENTSOF(kinds[i].patterns) && kinds[i].patterns[j]; j++)
			if (fnmatch(kinds[i].patterns[j], name, FNM_PATHNAME) == 0) {
				g->counts[i]++;
				if (streq(kinds[i].kind, "ssh-host-keys"))
					g->ssh_keys = true;
				return true;
			}
	return false;
}

int generalize_finish(struct ext4 *e, const struct generalize *g, char **reterr_msg)
{
	int r = ext4_write_file(e, "etc/machine-id", "", 0, 0444);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write an empty '/etc/machine-id': %s",
				  ext4_strerror(e, r));
	if (!g->ssh_keys)
		return 0;

	uint64_t size;
	if (ext4_file_size(e, "usr/bin/ssh-keygen", &size) < 0)
		return 0; /* keys without ssh-keygen: nothing can make new ones */
	r = ext4_write_file(e, SSH_KEYGEN_UNIT, ssh_keygen_unit, sizeof(ssh_keygen_unit) - 1, 0644);
	if (r >= 0)
		r = ext4_mkdir_p(e, "etc/systemd/system/multi-user.target.wants", 0755);
	if (r >= 0)
		r = ext4_symlink(e, SSH_KEYGEN_WANTS, "/" SSH_KEYGEN_UNIT);
	if (r < 0 && r != -EEXIST)
		return errmsg_set(reterr_msg, r, "cannot write '/%s': %s", SSH_KEYGEN_UNIT,
				  ext4_strerror(e, r));
	return 0;
}

/* How many files of the filesystem match pattern (a glob in the last
 * component only, as in the table). */
static unsigned count_matches(struct ext4 *e, const char *pattern)
{
	const char *slash = strrchr(pattern, '/');
	_cleanup_free_ char *dir = slash ? strndup(pattern, (size_t)(slash - pattern)) : strdup("");
	_cleanup_strv_free_ char **names = NULL;
	unsigned n = 0;

	if (!dir || ext4_list_dir(e, dir, &names) < 0)
		return 0;
	STRV_FOREACH(name, names)
	if (fnmatch(slash ? slash + 1 : pattern, *name, 0) == 0)
		n++;
	return n;
}

json_object *generalize_inspect(struct ext4 *e)
{
	json_object *j = json_object_new_object(), *present = json_object_new_object();
	if (!j || !present) {
		json_object_put(j);
		json_object_put(present);
		return NULL;
	}
	uint64_t size;
	bool mid_exists = ext4_file_size(e, "etc/machine-id", &size) >= 0;
	const char *mid = !mid_exists ? "missing" : size == 0 ? "empty" : "set";
	bool generalized = !streq(mid, "set");
	for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
		unsigned n = 0;
		for (size_t k = 0; k < ELEMENTSOF(kinds[i].patterns) && kinds[i].patterns[k]; k++)
			if (!streq(kinds[i].patterns[k], "etc/machine-id"))
				n += count_matches(e, kinds[i].patterns[k]);
		if (n > 0)
			generalized = false;
		json_object_object_add(present, kinds[i].kind, json_object_new_int((int)n));
	}
	json_object_object_add(j, "generalized", json_object_new_boolean(generalized));
	json_object_object_add(j, "machine-id", json_object_new_string(mid));
	json_object_object_add(j, "present", present);
	return j;
}

json_object *generalize_to_json(const struct generalize *g)
{
	json_object *j = json_object_new_object(), *removed = json_object_new_object();
	if (!j || !removed) {
		json_object_put(j);
		json_object_put(removed);
		return NULL;
	}
	json_object_object_add(j, "machine-id", json_object_new_string("empty"));
	for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
		json_object_object_add(removed, kinds[i].kind,
				       json_object_new_int((int)g->counts[i]));
	json_object_object_add(j, "removed", removed);
	return j;
}
