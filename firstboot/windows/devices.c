/* SPDX-License-Identifier: MIT */
/*
 * devices.c - the Plug and Play devices Windows sees (SetupAPI), each put in
 * the detector's tree as the bus device Linux would show: VMBus channels
 * under sys/bus/vmbus, Xen PV devices under sys/bus/xen, PCI functions under
 * sys/bus/pci with their vendor and device ids. detect/probe-bus.c then
 * counts and weighs them as on Linux.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <windows.h>
#include <setupapi.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

#define DEVICES_MAX 4096

static unsigned n_devices;

static bool has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* "VEN_1AF4" at s: 0 and the id, or -EINVAL. */
static int pci_field(const char *s, const char *name, uint16_t *ret)
{
	const char *p = strstr(s, name);
	if (!p)
		return -EINVAL;
	p += strlen(name);
	uint16_t v = 0;
	for (int i = 0; i < 4; i++) {
		int d = unhexchar(p[i]);
		if (d < 0)
			return -EINVAL;
		v = (uint16_t)(v << 4 | d);
	}
	*ret = v;
	return 0;
}

static int add_pci(const char *hwid, unsigned n)
{
	_cleanup_free_ char *upper = strdup(hwid);
	uint16_t ven, dev;
	char path[96], value[16];

	if (!upper)
		return -ENOMEM;
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	if (pci_field(upper, "VEN_", &ven) < 0 || pci_field(upper, "DEV_", &dev) < 0)
		return 0; /* not a function id (a bridge's compatible id, say) */
	snprintf(path, sizeof(path), "sys/bus/pci/devices/0000:00:%04x.0/vendor", n);
	snprintf(value, sizeof(value), "0x%04x\n", ven);
	int r = win_sysfs_add(path, value, strlen(value));
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "sys/bus/pci/devices/0000:00:%04x.0/device", n);
	snprintf(value, sizeof(value), "0x%04x\n", dev);
	return win_sysfs_add(path, value, strlen(value));
}

int devices_add_id(const char *hwid)
{
	static const struct {
		const char *prefix;
		const char *bus; /* NULL: PCI */
	} buses[] = {
		{ "VMBUS\\", "sys/bus/vmbus/devices" }, { "XENBUS\\", "sys/bus/xen/devices" },
		{ "XEN\\", "sys/bus/xen/devices" },	{ "XENVIF\\", "sys/bus/xen/devices" },
		{ "XENVBD\\", "sys/bus/xen/devices" },	{ "PCI\\", NULL },
	};
	char path[96];

	if (n_devices >= DEVICES_MAX)
		return -E2BIG;
	for (size_t i = 0; i < ELEMENTSOF(buses); i++) {
		if (!has_prefix_ci(hwid, buses[i].prefix))
			continue;
		unsigned n = n_devices++;
		if (!buses[i].bus)
			return add_pci(hwid, n);
		snprintf(path, sizeof(path), "%s/dev-%u/hwid", buses[i].bus, n);
		return win_sysfs_add(path, hwid, strlen(hwid));
	}
	return 0; /* ACPI, ROOT, USB, ...: no hypervisor evidence */
}

int devices_enumerate(char **reterr_msg)
{
	HDEVINFO set = SetupDiGetClassDevsA(NULL, NULL, NULL, DIGCF_ALLCLASSES | DIGCF_PRESENT);
	if (set == INVALID_HANDLE_VALUE)
		return errmsg_set(reterr_msg, -EIO, "SetupAPI lists no devices (error %lu)",
				  GetLastError());
	int r = 0;
	SP_DEVINFO_DATA d = { .cbSize = sizeof(d) };
	for (DWORD i = 0; r >= 0 && SetupDiEnumDeviceInfo(set, i, &d); i++) {
		char ids[1024];
		DWORD type, size = 0;
		if (!SetupDiGetDeviceRegistryPropertyA(set, &d, SPDRP_HARDWAREID, &type,
						       (BYTE *)ids, sizeof(ids) - 2, &size) ||
		    type != REG_MULTI_SZ)
			continue;
		ids[MIN(size, sizeof(ids) - 2)] = '\0';
		ids[sizeof(ids) - 1] = '\0';
		r = devices_add_id(ids); /* the first, most specific id */
		if (r == -E2BIG)
			r = 0;
	}
	SetupDiDestroyDeviceInfoList(set);
	return r;
}
