/* SPDX-License-Identifier: MIT */
/*
 * scriptenv.c - the commands first in the package scripts' PATH during a
 * transaction (scriptenv.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/activate/scriptenv.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#define DIR_REL "var/lib/enlighten/script-path" /* SCRIPTENV_DIR beneath the root */
#define TRIGGERS "udev-triggers"
#define TRIGGERS_MAX (64u << 10)
#define TRIGGER_ARGS_MAX 64
/* the root's own command, the directory taken off the front of PATH */
#define EXEC_OWN(name) "PATH=${PATH#" SCRIPTENV_DIR ":}\nexec " name " \"$@\"\n"

static const struct shim {
	const char *name;
	const char *text;
	bool policy; /* only when the agent's policy-rc.d forbids every action */
} shims[] = {
	{ "systemctl",
	  "#!/bin/sh\n"
	  "# written by enlighten for one package transaction: systemd is reloaded once after it\n"
	  "for a; do case $a in daemon-reload) exit 0 ;; esac; done\n" EXEC_OWN("systemctl"),
	  false },
	{ "udevadm",
	  "#!/bin/sh\n"
	  "# written by enlighten for one package transaction: an asynchronous trigger runs\n"
	  "# once after it\n"
	  "if [ \"$1\" = trigger ]; then\n"
	  "\tq=\n"
	  "\tfor a; do case $a in ''|--settle|-w|*[!A-Za-z0-9_=./:*@+-]*) q=no ;; esac; done\n"
	  "\tif [ -z \"$q\" ]; then\n"
	  "\t\techo \"$*\" >>" SCRIPTENV_DIR "/" TRIGGERS " && exit 0\n"
	  "\tfi\n"
	  "fi\n" EXEC_OWN("udevadm"),
	  false },
	{ "deb-systemd-helper",
	  "#!/bin/sh\n"
	  "# written by enlighten for one package transaction: 'debian-installed UNIT' asks\n"
	  "# whether deb-systemd-helper's state file of the unit exists; answered from that\n"
	  "# file as deb-systemd-helper does, without starting Perl\n"
	  "if [ $# -eq 2 ] && [ \"$1\" = debian-installed ] && [ -n "
	  "\"${DPKG_MAINTSCRIPT_PACKAGE:-}\" ] &&\n"
	  "\t[ -z \"${DPKG_ROOT:-}\" ]; then\n"
	  "\tcase $2 in '' | */* | -*) ;; *)\n"
	  "\t\t[ -f \"/var/lib/systemd/deb-systemd-helper-enabled/$2.dsh-also\" ]\n"
	  "\t\texit ;;\n"
	  "\tesac\n"
	  "fi\n"
	  "# the root's own, with this directory still first in PATH: the helper runs\n"
	  "# 'systemctl daemon-reload' itself after a change\n"
	  "own=$(PATH=${PATH#" SCRIPTENV_DIR ":} command -v deb-systemd-helper) &&\n"
	  "\texec \"$own\" \"$@\"\n"
	  "exit 127\n",
	  false },
	{ "invoke-rc.d",
	  "#!/bin/sh\n"
	  "# written by enlighten for one dpkg run: its policy-rc.d forbids every action,\n"
	  "# and invoke-rc.d then does nothing and exits 0\n"
	  "for a; do case $a in --force|--query|--disclose-deny)\n" EXEC_OWN(
		  "invoke-rc.d") "esac; done\n"
				 "exit 0\n",
	  true },
	{ "deb-systemd-invoke",
	  "#!/bin/sh\n"
	  "# written by enlighten for one dpkg run: its policy-rc.d forbids every action,\n"
	  "# and deb-systemd-invoke then does nothing and exits 0 for an action on a unit\n"
	  "n=0\n"
	  "for a; do case $a in --user|--system) ;; *) n=$((n + 1)) ;; esac; done\n"
	  "[ \"$n\" -lt 2 ] || exit 0\n" EXEC_OWN("deb-systemd-invoke"),
	  true },
};

int scriptenv_begin(int root_fd, bool policy_denies_all)
{
	int r = fs_mkdir_p_at(root_fd, DIR_REL, 0755);
	char path[128];
	(void)snprintf(path, sizeof(path), DIR_REL "/" TRIGGERS);
	(void)unlinkat(root_fd, path, 0); /* a power cut's list: that run is over */
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(shims); i++) {
		if (shims[i].policy && !policy_denies_all)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", DIR_REL, shims[i].name);
		r = fs_write_file_atomic_at(root_fd, path, shims[i].text, strlen(shims[i].text),
					    0755);
	}
	return r;
}

/* udevadm LINE's words ("trigger ..."), as the script asked. */
static void trigger_run(char *line)
{
	const char *argv[TRIGGER_ARGS_MAX + 2] = { "udevadm" };
	size_t k = 1;
	char *save = NULL;
	for (char *w = strtok_r(line, " ", &save); w && k < TRIGGER_ARGS_MAX + 1;
	     w = strtok_r(NULL, " ", &save))
		argv[k++] = w;
	argv[k] = NULL;
	struct spawn_result res = {};
	(void)spawn_run((char *const *)argv, NULL, &res);
	spawn_result_done(&res);
}

int scriptenv_finish(const char *root, int root_fd)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_free_ char **done = NULL;
	int r = fs_read_file_at(root_fd, DIR_REL "/" TRIGGERS, TRIGGERS_MAX, &text, NULL);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	(void)unlinkat(root_fd, DIR_REL "/" TRIGGERS, 0);
	if (!streq(root, "/"))
		return 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strv_contains(done, l))
			continue;
		if (strv_extend(&done, l) < 0)
			return -ENOMEM;
		trigger_run(l);
	}
	return 0;
}

void scriptenv_end(int root_fd)
{
	char path[128];
	for (size_t i = 0; i < ELEMENTSOF(shims); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", DIR_REL, shims[i].name);
		(void)unlinkat(root_fd, path, 0);
	}
	(void)unlinkat(root_fd, DIR_REL "/" TRIGGERS, 0);
	(void)unlinkat(root_fd, DIR_REL, AT_REMOVEDIR);
}
