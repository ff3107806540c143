/* SPDX-License-Identifier: MIT */
/*
 * run-win.c - running pnputil, msiexec, dism, shutdown and installers by
 * argv, never through cmd.exe: each argument is quoted the way the C
 * runtime's command-line parser takes it apart again (backslashes doubled
 * before a quote), the program waited for, its exit code returned.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/string-util.h"

#define CMDLINE_MAX 32767 /* CreateProcess's limit */

static void quote_arg(struct jbuf *b, const char *a)
{
	if (*a && !strpbrk(a, " \t\n\v\"")) {
		jbuf_puts(b, a);
		return;
	}
	jbuf_puts(b, "\"");
	for (const char *p = a;; p++) {
		size_t bs = 0;
		while (*p == '\\')
			p++, bs++;
		/* backslashes are literal unless a quote (or the closing one) follows */
		size_t k = !*p || *p == '"' ? bs * 2 : bs;
		for (size_t i = 0; i < k; i++)
			jbuf_puts(b, "\\");
		if (!*p)
			break;
		if (*p == '"')
			jbuf_puts(b, "\\\"");
		else {
			char c[2] = { *p, 0 };
			jbuf_puts(b, c);
		}
	}
	jbuf_puts(b, "\"");
}

static int spawn(const char *app, char *cmdline, unsigned long *ret_exit)
{
	STARTUPINFOA si = { .cb = sizeof(si) };
	PROCESS_INFORMATION pi;

	if (!CreateProcessA(app, cmdline, NULL, NULL, FALSE, CREATE_NO_WINDOW, NULL, NULL, &si,
			    &pi))
		return GetLastError() == ERROR_FILE_NOT_FOUND ? -ENOENT : -EACCES;
	WaitForSingleObject(pi.hProcess, INFINITE);
	DWORD code = 1;
	GetExitCodeProcess(pi.hProcess, &code);
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	*ret_exit = code;
	return 0;
}

int run_tool(const struct tools *t, const char *tool, const char *const *argv,
	     unsigned long *ret_exit)
{
	char sysdir[MAX_PATH];
	_cleanup_free_ char *path = NULL;
	struct jbuf b = {};

	if (strchr(tool, '\\'))
		path = strdup(tool);
	else if (t->dir)
		path = strjoin(t->dir, "\\", tool, ".exe");
	else {
		UINT n = GetSystemDirectoryA(sysdir, sizeof(sysdir));
		if (n == 0 || n >= sizeof(sysdir))
			return -ENOENT;
		path = strjoin(sysdir, "\\", tool, ".exe");
	}
	if (!path)
		return -ENOMEM;
	quote_arg(&b, path);
	for (size_t i = 0; argv[i]; i++) {
		jbuf_puts(&b, " ");
		quote_arg(&b, argv[i]);
	}
	if (b.oom || b.n >= CMDLINE_MAX) {
		free(b.p);
		return b.oom ? -ENOMEM : -E2BIG;
	}
	int r = spawn(path, b.p, ret_exit);
	free(b.p);
	return r;
}

int run_cmdline(const char *cmdline, unsigned long *ret_exit)
{
	if (strlen(cmdline) >= CMDLINE_MAX)
		return -E2BIG;
	_cleanup_free_ char *copy = strdup(cmdline); /* CreateProcess may write to it */
	if (!copy)
		return -ENOMEM;
	return spawn(NULL, copy, ret_exit);
}
