/* SPDX-License-Identifier: MIT */
/*
 * agent.c - the agent files of the download portal (`portal publish
 * --agent`): the first-boot agent or its packages, for systems that do not
 * have enlighten yet. Each is copied to agent/NAME in the portal and signed
 * with the portal's key into agent/NAME.minisig, as the catalog is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/portal/agent.h"
#include "lib/basic/copy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"

void portal_agents_free(struct portal_agent *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].name);
	free(a);
}

/* A file name a portal path and a page can carry as it is. */
static bool agent_name_ok(const char *name)
{
	if (!catalog_is_path(name) || strchr(name, '/') || name[0] == '.')
		return false;
	for (const char *c = name; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-~",
			    *c))
			return false;
	return true;
}

static int agent_sign(int out_fd, const char *name, const struct minisign_seckey *sk, time_t issued,
		      char **reterr_msg)
{
	_cleanup_minisig_ struct minisign_sig *sig = NULL;
	_cleanup_free_ char *text = NULL, *path = strjoin(PORTAL_AGENT_DIR "/", name),
			    *sig_path = strjoin(PORTAL_AGENT_DIR "/", name, ".minisig");
	char trusted[256];

	if (!path || !sig_path)
		return -ENOMEM;
	_cleanup_close_ int fd = fs_open_beneath(out_fd, path, O_RDONLY, 0);
	if (fd < 0)
		return errmsg_set(reterr_msg, fd, "cannot open '%s' in the portal: %s", path,
				  strerror(-fd));
	snprintf(trusted, sizeof(trusted), "timestamp:%lld file:%s", (long long)issued, name);
	int r = minisign_sign_fd(sk, fd, "signature from enlighten portal publish", trusted, &sig);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot sign '%s': %s", path, strerror(-r));
	r = minisign_sig_format(sig, &text);
	if (r < 0)
		return r;
	r = fs_write_file_atomic_at(out_fd, sig_path, text, strlen(text), 0644);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot write '%s' in the portal: %s", sig_path,
				  strerror(-r));
	return 0;
}

/* Copies file into the portal's agent directory, hashing it on the way. */
static int agent_copy(int out_fd, const char *file, const char *name, struct portal_agent *ret,
		      char **reterr_msg)
{
	_cleanup_close_ int in = fs_open_input(file);
	if (in < 0)
		return errmsg_set(reterr_msg, in, "cannot open agent file '%s': %s", file,
				  fs_input_strerror(in));
	_cleanup_free_ char *path = strjoin(PORTAL_AGENT_DIR "/", name);
	_cleanup_atomic_file_ struct atomic_file *f = NULL;
	_cleanup_sha256_ struct sha256 *h = NULL;
	uint64_t total = 0;
	if (!path || sha256_new(&h) < 0)
		return -ENOMEM;
	int r = atomic_file_open(out_fd, path, 0644, &f);
	if (r >= 0)
		r = copy_stream(in, COPY_SINK_FD(f->fd), PORTAL_AGENT_MAX, h, &total);
	if (r == -EFBIG)
		return errmsg_set(reterr_msg, r, "agent file '%s' is larger than %d MiB", file,
				  PORTAL_AGENT_MAX >> 20);
	if (r >= 0)
		r = atomic_file_commit(f);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot copy agent file '%s' to '%s': %s", file,
				  path, strerror(-r));
	r = sha256_final(h, ret->sha256);
	if (r < 0)
		return r;
	ret->length = total;
	return 0;
}

int portal_agents_add(int out_fd, char *const *files, const struct minisign_seckey *sk,
		      time_t issued, struct portal_agent **ret, size_t *ret_n, char **reterr_msg)
{
	size_t n = strv_length((char **)files);
	struct portal_agent *list = calloc(n + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	int r = n ? fs_mkdir_p_at(out_fd, PORTAL_AGENT_DIR, 0755) : 0;
	if (r < 0) {
		free(list);
		return errmsg_set(reterr_msg, r, "cannot create '%s' in the portal: %s",
				  PORTAL_AGENT_DIR, strerror(-r));
	}
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(files[i], '/');
		const char *name = slash ? slash + 1 : files[i];
		for (size_t j = 0; j < i && r >= 0; j++)
			if (streq(list[j].name, name))
				r = errmsg_set(reterr_msg, -EEXIST,
					       "two agent files are named '%s'; give each its own "
					       "name",
					       name);
		if (r >= 0 && !agent_name_ok(name))
			r = errmsg_set(reterr_msg, -EINVAL,
				       "agent file '%s': its name may hold only letters, digits "
				       "and '._+-~', and not start with '.'; rename it",
				       files[i]);
		if (r >= 0 && !(list[i].name = strdup(name)))
			r = -ENOMEM;
		if (r >= 0)
			r = agent_copy(out_fd, files[i], name, &list[i], reterr_msg);
		if (r >= 0)
			r = agent_sign(out_fd, name, sk, issued, reterr_msg);
		if (r < 0) {
			portal_agents_free(list, n);
			return r;
		}
	}
	*ret = list;
	*ret_n = n;
	return 0;
}
