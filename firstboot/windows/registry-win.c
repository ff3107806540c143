/* SPDX-License-Identifier: MIT */
/*
 * registry-win.c - what the agent reads and writes in the registry:
 * services' start types, the Uninstall entries of installed software, and
 * the Hyper-V KVP guest pool (values under ...\Virtual Machine\Guest are
 * what the KVP exchange integration service sends to the host).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <windows.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/string-util.h"

#define SERVICES_KEY "SYSTEM\\CurrentControlSet\\Services\\"
#define KVP_GUEST_KEY "SOFTWARE\\Microsoft\\Virtual Machine\\Guest"
#define REG_STRING_MAX 2048

static const char *const uninstall_keys[] = {
	"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
	"SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
};

static int errno_from_win(LONG e)
{
	switch (e) {
	case ERROR_SUCCESS:
		return 0;
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return -ENOENT;
	case ERROR_ACCESS_DENIED:
		return -EACCES;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

int reg_service_start(const char *name, uint32_t *ret)
{
	_cleanup_free_ char *key = strjoin(SERVICES_KEY, name);
	DWORD v, size = sizeof(v);
	if (!key)
		return -ENOMEM;
	LONG e = RegGetValueA(HKEY_LOCAL_MACHINE, key, "Start", RRF_RT_REG_DWORD, NULL, &v, &size);
	if (e != ERROR_SUCCESS)
		return errno_from_win(e);
	*ret = v;
	return 0;
}

int reg_service_set_start(const char *name, uint32_t start)
{
	_cleanup_free_ char *key = strjoin(SERVICES_KEY, name);
	HKEY h;
	DWORD v = start;
	if (!key)
		return -ENOMEM;
	LONG e = RegOpenKeyExA(HKEY_LOCAL_MACHINE, key, 0, KEY_SET_VALUE, &h);
	if (e != ERROR_SUCCESS)
		return errno_from_win(e);
	e = RegSetValueExA(h, "Start", 0, REG_DWORD, (const BYTE *)&v, sizeof(v));
	RegCloseKey(h);
	return errno_from_win(e);
}

/* REG_SZ, or REG_EXPAND_SZ expanded (RegGetValue does that for RRF_RT_REG_SZ). */
static int get_string(HKEY h, const char *name, char *buf, DWORD size)
{
	DWORD n = size;
	LONG e = RegGetValueA(h, NULL, name, RRF_RT_REG_SZ, NULL, buf, &n);
	return errno_from_win(e);
}

/* Fills the outputs from the entry at subkey when its DisplayName starts
 * with name: 1 on a match, 0 when not, -errno. */
static int match_entry(HKEY parent, const char *subkey, const char *name, char **ret_display,
		       char **ret_cmd, char **ret_msi)
{
	char display[REG_STRING_MAX], cmd[REG_STRING_MAX];
	DWORD msi = 0, size = sizeof(msi);
	HKEY h;

	if (RegOpenKeyExA(parent, subkey, 0, KEY_READ, &h) != ERROR_SUCCESS)
		return 0;
	int r = get_string(h, "DisplayName", display, sizeof(display));
	if (r < 0 || strncasecmp(display, name, strlen(name)) != 0) {
		RegCloseKey(h);
		return 0;
	}
	RegGetValueA(h, NULL, "WindowsInstaller", RRF_RT_REG_DWORD, NULL, &msi, &size);
	r = get_string(h, "QuietUninstallString", cmd, sizeof(cmd));
	if (r < 0)
		r = get_string(h, "UninstallString", cmd, sizeof(cmd));
	RegCloseKey(h);
	if (r < 0 && msi != 1)
		return 0; /* nothing to run: not removable by us */
	*ret_display = strdup(display);
	*ret_cmd = r >= 0 ? strdup(cmd) : NULL;
	*ret_msi = msi == 1 && subkey[0] == '{' ? strdup(subkey) : NULL;
	return *ret_display ? 1 : -ENOMEM;
}

int reg_uninstall_find(const char *name, char **ret_display, char **ret_cmd, char **ret_msi)
{
	for (size_t k = 0; k < ELEMENTSOF(uninstall_keys); k++) {
		HKEY h;
		if (RegOpenKeyExA(HKEY_LOCAL_MACHINE, uninstall_keys[k], 0, KEY_READ, &h) !=
		    ERROR_SUCCESS)
			continue;
		char sub[256];
		int r = 0;
		for (DWORD i = 0; r == 0; i++) {
			DWORD n = sizeof(sub);
			if (RegEnumKeyExA(h, i, sub, &n, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
				break;
			r = match_entry(h, sub, name, ret_display, ret_cmd, ret_msi);
		}
		RegCloseKey(h);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	return -ENOENT;
}

int reg_kvp_set(const char *key, const char *value)
{
	HKEY h;
	LONG e = RegCreateKeyExA(HKEY_LOCAL_MACHINE, KVP_GUEST_KEY, 0, NULL, 0, KEY_SET_VALUE, NULL,
				 &h, NULL);
	if (e != ERROR_SUCCESS)
		return errno_from_win(e);
	e = RegSetValueExA(h, key, 0, REG_SZ, (const BYTE *)value, (DWORD)strlen(value) + 1);
	RegCloseKey(h);
	return errno_from_win(e);
}
