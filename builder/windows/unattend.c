/* SPDX-License-Identifier: MIT */
/*
 * unattend.c - the answer file and the setup script that make Windows
 * install the staged drivers itself: unattend.xml from a template, with
 * Microsoft-Windows-PnpCustomizationsNonWinPE DriverPaths entries, and
 * SetupComplete.cmd, which Windows Setup runs once, as SYSTEM, at the end
 * of setup (\Windows\Setup\Scripts\SetupComplete.cmd).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "builder/windows/windows.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/markup.h"

#define PLACEHOLDER "@DRIVER_PATHS@"

static void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static void driver_paths(FILE *f, const char *indent, size_t indent_len, char *const *dirs)
{
	/* keyValue is the entry's key in the list; Windows wants them unique */
	unsigned key = 1;
	for (char *const *d = dirs; d && *d; d++, key++) {
		/* the first line follows the template's indentation already */
		fprintf(f, "<PathAndCredentials wcm:action=\"add\" wcm:keyValue=\"%u\">\n", key);
		fprintf(f, "%.*s  <Path>", (int)indent_len, indent);
		markup_escape(f, *d);
		fputs("</Path>\n", f);
		fprintf(f, "%.*s</PathAndCredentials>", (int)indent_len, indent);
		if (d[1])
			fprintf(f, "\n%.*s", (int)indent_len, indent);
	}
}

/* The placeholder of a line that holds nothing else (white space aside), or
 * NULL: a comment that mentions it in prose is left as it is. */
static const char *placeholder_line(const char *line, const char *eol)
{
	const char *p = line + strspn(line, " \t");
	if (p > eol || (size_t)(eol - p) < strlen(PLACEHOLDER) ||
	    memcmp(p, PLACEHOLDER, strlen(PLACEHOLDER)) != 0)
		return NULL;
	for (const char *q = p + strlen(PLACEHOLDER); q < eol; q++)
		if (!strchr(" \t\r", *q))
			return NULL;
	return p;
}

int win_unattend_render(const char *template_text, char *const *driver_dirs, char **ret_xml,
			char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	__attribute__((__cleanup__(fclosep))) FILE *f = open_memstream(&buf, &size);
	bool seen = false;

	if (!f)
		return -ENOMEM;
	for (const char *line = template_text; *line;) {
		const char *eol = strchrnul(line, '\n');
		const char *ph = placeholder_line(line, eol);
		if (ph) {
			seen = true;
			fwrite(line, 1, ph - line, f);
			driver_paths(f, line, ph - line, driver_dirs);
			const char *rest = ph + strlen(PLACEHOLDER);
			fwrite(rest, 1, eol - rest, f);
		} else
			fwrite(line, 1, eol - line, f);
		if (*eol == '\n')
			fputc('\n', f);
		line = *eol ? eol + 1 : eol;
	}
	if (fclose(TAKE_PTR(f)) != 0)
		return -ENOMEM;
	if (!seen)
		return errmsg_set(reterr_msg, -EINVAL, "no '%s' line for the staged driver folders",
				  PLACEHOLDER);
	*ret_xml = TAKE_PTR(buf);
	return 0;
}

int win_setupcomplete_render(const char *drivers_root, const char *agent_path, bool every_boot,
			     char **ret)
{
	_cleanup_free_ char *task = NULL;
	char *s = NULL;
	/* a task that runs the agent as SYSTEM at every start (the fast path
	 * when nothing changed), created before the first run so that a
	 * restart the first run asks for already finds it */
	if (every_boot &&
	    asprintf(
		    &task,
		    "  schtasks.exe /Create /F /TN \"enlighten\\firstboot\" /SC ONSTART /RU SYSTEM "
		    "/RL HIGHEST /TR \"\\\"%s\\\" --boot\"\r\n",
		    agent_path) < 0)
		return -ENOMEM;
	/* cmd.exe wants CRLF; pnputil /add-driver puts every staged package in
	 * the driver store, so a later move to another hypervisor finds its
	 * drivers without media */
	if (asprintf(&s,
		     "@echo off\r\n"
		     "rem SetupComplete.cmd - written by enlighten; Windows Setup runs it once,\r\n"
		     "rem as SYSTEM, when setup is complete.\r\n"
		     "pnputil.exe /add-driver \"%s\\*.inf\" /subdirs\r\n"
		     "if exist \"%s\" (\r\n"
		     "%s"
		     "  \"%s\" --first-boot\r\n"
		     ")\r\n"
		     "exit /b 0\r\n",
		     drivers_root, agent_path, task ?: "", agent_path) < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}
