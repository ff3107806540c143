/* SPDX-License-Identifier: MIT */
/*
 * standin-tool.c - a test stand-in for pnputil, msiexec, dism, shutdown and
 * installers, copied under each of those names into a test's tools folder:
 * it appends "NAME ARG..." to calls.log beside itself and exits with the
 * number in NAME.exit beside itself (0 when there is none), so tests check
 * what the Windows agent ran and how it takes a failure or a restart code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

int main(int argc, char *argv[])
{
	char self[MAX_PATH], path[MAX_PATH + 16];
	DWORD n = GetModuleFileNameA(NULL, self, sizeof(self));
	if (n == 0 || n >= sizeof(self))
		return 2;
	char *slash = strrchr(self, '\\');
	char *name = slash ? slash + 1 : self;
	char *dot = strrchr(name, '.');
	if (dot && _stricmp(dot, ".exe") == 0)
		*dot = '\0';
	if (slash)
		*slash = '\0';

	snprintf(path, sizeof(path), "%s\\calls.log", self);
	FILE *f = fopen(path, "ab");
	if (!f)
		return 2;
	fputs(name, f);
	for (int i = 1; i < argc; i++)
		fprintf(f, " %s", argv[i]);
	fputc('\n', f);
	fclose(f);

	int code = 0;
	snprintf(path, sizeof(path), "%s\\%s.exit", self, name);
	f = fopen(path, "rb");
	if (f) {
		if (fscanf(f, "%d", &code) != 1)
			code = 2;
		fclose(f);
	}
	return code;
}
