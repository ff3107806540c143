/* SPDX-License-Identifier: MIT */
/*
 * smbios.c - the SMBIOS table as Windows gives it (GetSystemFirmwareTable
 * 'RSMB': a RawSMBIOSData header, then the structures) turned into the
 * files Linux shows in /sys/class/dmi/id and /sys/firmware/dmi/entries, so
 * detect/probe-dmi.c reads the same strings on both systems. Every offset
 * is checked against the table's length (DSP0134 6.1: a structure is its
 * formatted area, then strings ending in a double NUL).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/errmsg.h"

#define RSMB_HEADER 8	    /* Used20CallingMethod, Major, Minor, DmiRevision, DWORD Length */
#define SMBIOS_END_TYPE 127 /* end-of-table structure */

static const struct {
	uint8_t type;
	uint8_t offset; /* of the string number in the formatted area */
	const char *file;
} smbios_strings[] = {
	{ 0, 0x04, "sys/class/dmi/id/bios_vendor" },
	{ 0, 0x05, "sys/class/dmi/id/bios_version" },
	{ 1, 0x04, "sys/class/dmi/id/sys_vendor" },
	{ 1, 0x05, "sys/class/dmi/id/product_name" },
	{ 1, 0x06, "sys/class/dmi/id/product_version" },
	{ 2, 0x04, "sys/class/dmi/id/board_vendor" },
	{ 3, 0x08, "sys/class/dmi/id/chassis_asset_tag" },
};

/* String number k (1-based) of the string set s[0..n); NULL if absent. */
static const char *string_at(const uint8_t *s, size_t n, unsigned k, size_t *ret_len)
{
	size_t pos = 0;
	for (unsigned i = 1; k > 0 && pos < n; i++) {
		const uint8_t *nul = memchr(s + pos, 0, n - pos);
		if (!nul || nul == s + pos)
			return NULL;
		if (i == k) {
			*ret_len = (size_t)(nul - (s + pos));
			return (const char *)s + pos;
		}
		pos = (size_t)(nul - s) + 1;
	}
	return NULL;
}

static int add_strings(const uint8_t *st, size_t len, const uint8_t *strs, size_t n)
{
	for (size_t i = 0; i < ELEMENTSOF(smbios_strings); i++) {
		if (smbios_strings[i].type != st[0] || smbios_strings[i].offset >= len)
			continue;
		size_t sl;
		const char *s = string_at(strs, n, st[smbios_strings[i].offset], &sl);
		if (!s)
			continue;
		char line[257];
		size_t k = MIN(sl, sizeof(line) - 2);
		memcpy(line, s, k);
		line[k++] = '\n';
		int r = win_sysfs_add(smbios_strings[i].file, line, k);
		if (r < 0)
			return r;
	}
	return 0;
}

int smbios_to_sysfs(const uint8_t *buf, size_t n, char **reterr_msg)
{
	if (n < RSMB_HEADER)
		return errmsg_set(reterr_msg, -EBADMSG, "shorter than the %d-byte header",
				  RSMB_HEADER);
	uint32_t tlen = buf[4] | buf[5] << 8 | buf[6] << 16 | (uint32_t)buf[7] << 24;
	if (tlen > n - RSMB_HEADER)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "the header says %u bytes of structures, the file has %zu", tlen,
				  n - RSMB_HEADER);
	const uint8_t *t = buf + RSMB_HEADER;
	size_t pos = 0, count = 0;
	bool type0 = false;

	while (pos + 4 <= tlen) {
		const uint8_t *st = t + pos;
		size_t len = st[1];
		if (len < 4 || pos + len > tlen)
			return errmsg_set(reterr_msg, -EBADMSG,
					  "structure %zu (type %u) at offset %zu: length %zu does "
					  "not fit the table",
					  count, st[0], pos, len);
		/* the string set ends with two NULs */
		size_t end = pos + len;
		while (end + 1 < tlen && !(t[end] == 0 && t[end + 1] == 0))
			end++;
		if (end + 1 >= tlen)
			return errmsg_set(reterr_msg, -EBADMSG,
					  "structure %zu (type %u) at offset %zu: strings run past "
					  "the table's end",
					  count, st[0], pos);
		int r = add_strings(st, len, t + pos + len, end + 1 - (pos + len));
		if (r < 0)
			return r;
		if (st[0] == 0 && !type0) {
			type0 = true;
			r = win_sysfs_add("sys/firmware/dmi/entries/0-0/raw", (const char *)st,
					  end + 2 - pos);
			if (r < 0)
				return r;
		}
		count++;
		if (st[0] == SMBIOS_END_TYPE)
			break;
		pos = end + 2;
	}
	if (count == 0)
		return errmsg_set(reterr_msg, -EBADMSG, "no SMBIOS structure");
	return 0;
}
