/* SPDX-License-Identifier: MIT */
/*
 * file-win.c - the agent's file access: bounded reads of its inputs, and
 * outputs written under a temporary name, flushed and renamed into place
 * (MoveFileEx with MOVEFILE_WRITE_THROUGH), so a power cut leaves the old
 * file or the new one, never half of one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/string-util.h"

int win_read_file(const char *path, size_t max, char **ret, size_t *ret_size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return negative_errno();
	_cleanup_free_ char *buf = malloc(max + 2);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	int r = !buf ? -ENOMEM : ferror(f) ? -EIO : n > max ? -EFBIG : 0;
	fclose(f);
	if (r < 0)
		return r;
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_size)
		*ret_size = n;
	return 0;
}

int win_write_file_atomic(const char *path, const char *data, size_t n)
{
	_cleanup_free_ char *tmp = strjoin(path, ".tmp");
	if (!tmp)
		return -ENOMEM;
	HANDLE h = CreateFileA(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL,
			       NULL);
	if (h == INVALID_HANDLE_VALUE)
		return -EACCES;
	DWORD w = 0;
	bool ok = WriteFile(h, data, (DWORD)n, &w, NULL) && w == n && FlushFileBuffers(h);
	CloseHandle(h);
	if (!ok || !MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
		DeleteFileA(tmp);
		return -EIO;
	}
	return 0;
}

int win_mkdir_p(const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '\\' && *s != '/')
			continue;
		char c = *s;
		*s = '\0';
		if (s[-1] != ':')
			CreateDirectoryA(p, NULL); /* exists already, mostly */
		*s = c;
	}
	if (!CreateDirectoryA(p, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
		return -EACCES;
	return 0;
}
