/* SPDX-License-Identifier: MIT */
/*
 * hive.c - boot-critical storage drivers registered offline in a Windows
 * SYSTEM hive, through hivex, the way virt-v2v does it for viostor
 * (convert/windows_virtio.ml, add_guestor_to_registry): a boot-start service
 * key, and the hardware ids bound to it in the CriticalDeviceDatabase
 * (Windows before 8 / Server 2012) or in the DriverDatabase (Windows 8 /
 * Server 2012 and later, where the CriticalDeviceDatabase is ignored). As in
 * virt-v2v, a hive with a top-level DriverDatabase key gets the latter.
 */
#define _GNU_SOURCE
#include <hivex.h>
#include <stdio.h>

#include "builder/windows/windows.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define HWID_MAX 200
#define SERVICE_MAX 64

static const char *const win_hive_method_table[] = {
	[WIN_HIVE_CRITICAL_DEVICE_DATABASE] = "CriticalDeviceDatabase",
	[WIN_HIVE_DRIVER_DATABASE] = "DriverDatabase",
};

const char *win_hive_method_to_string(enum win_hive_method m)
{
	return (size_t)m < ELEMENTSOF(win_hive_method_table) ? win_hive_method_table[m] : NULL;
}

static void hivex_closep(hive_h **h)
{
	if (*h)
		hivex_close(*h);
}

/* Registry strings are UTF-16LE; ours are ASCII (checked by the caller). */
static char *utf16_encode(const char *s, size_t *ret_len)
{
	size_t n = strlen(s);
	char *b = calloc(n + 1, 2);
	if (!b)
		return NULL;
	for (size_t i = 0; i < n; i++)
		b[2 * i] = s[i];
	*ret_len = 2 * (n + 1);
	return b;
}

static int set_sz(hive_h *h, hive_node_h node, const char *key, hive_type t, const char *s)
{
	size_t len;
	_cleanup_free_ char *v = utf16_encode(s, &len);
	if (!v)
		return -ENOMEM;
	hive_set_value val = { .key = (char *)key, .t = t, .len = len, .value = v };
	return hivex_node_set_value(h, node, &val, 0) < 0 ? negative_errno() : 0;
}

static int set_multi_sz(hive_h *h, hive_node_h node, const char *key, const char *s)
{
	size_t len;
	_cleanup_free_ char *one = utf16_encode(s, &len);
	if (!one)
		return -ENOMEM;
	_cleanup_free_ char *v = calloc(len + 2, 1); /* one string, then the empty one */
	if (!v)
		return -ENOMEM;
	memcpy(v, one, len);
	hive_set_value val = {
		.key = (char *)key, .t = hive_t_REG_MULTI_SZ, .len = len + 2, .value = v
	};
	return hivex_node_set_value(h, node, &val, 0) < 0 ? negative_errno() : 0;
}

static int set_dword(hive_h *h, hive_node_h node, const char *key, uint32_t d)
{
	char v[4] = { d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, (d >> 24) & 0xff };
	hive_set_value val = { .key = (char *)key, .t = hive_t_REG_DWORD, .len = 4, .value = v };
	return hivex_node_set_value(h, node, &val, 0) < 0 ? negative_errno() : 0;
}

static int set_binary(hive_h *h, hive_node_h node, const char *key, const void *p, size_t n)
{
	hive_set_value val = {
		.key = (char *)key, .t = hive_t_REG_BINARY, .len = n, .value = (char *)p
	};
	return hivex_node_set_value(h, node, &val, 0) < 0 ? negative_errno() : 0;
}

/* Finds or creates the key at the backslash-separated path below parent. */
static int key_mkpath(hive_h *h, hive_node_h parent, const char *path, hive_node_h *ret)
{
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	hive_node_h node = parent;
	char *save = NULL;
	for (char *c = strtok_r(copy, "\\", &save); c; c = strtok_r(NULL, "\\", &save)) {
		errno = 0;
		hive_node_h child = hivex_node_get_child(h, node, c);
		if (child == 0 && errno != 0)
			return negative_errno();
		if (child == 0) {
			child = hivex_node_add_child(h, node, c);
			if (child == 0)
				return negative_errno();
		}
		node = child;
	}
	*ret = node;
	return 0;
}

/* "ControlSet00N" from \Select\Current, or ControlSet001 when the hive has
 * no Select key (a hive that was never booted). */
static int current_control_set(hive_h *h, char ret[static 16], char **reterr_msg)
{
	hive_node_h root = hivex_root(h);
	hive_node_h sel = hivex_node_get_child(h, root, "Select");
	uint32_t cur = 1;
	if (sel) {
		hive_value_h v = hivex_node_get_value(h, sel, "Current");
		if (v) {
			errno = 0;
			int32_t d = hivex_value_dword(h, v);
			if (errno != 0 || d <= 0 || d > 999)
				return errmsg_set(reterr_msg, -EINVAL,
						  "'Select\\Current' is not a control set number");
			cur = (uint32_t)d;
		}
	}
	snprintf(ret, 16, "ControlSet%03u", cur);
	if (!hivex_node_get_child(h, root, ret))
		return errmsg_set(reterr_msg, -ENOENT,
				  "the hive has no '%s' key; is it a SYSTEM hive?", ret);
	return 0;
}

static bool name_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(extra, *p)))
			return false;
	return true;
}

/* Hardware ids: BUS\ID with printable ASCII, no empty components. */
static bool hwid_ok(const char *s)
{
	if (!name_ok(s, HWID_MAX, "\\&_-.#{}()+ ") || !strchr(s, '\\'))
		return false;
	return s[0] != '\\' && !endswith(s, "\\") && !strstr(s, "\\\\");
}

static int add_service(hive_h *h, hive_node_h ccs, const struct win_boot_driver *d)
{
	_cleanup_free_ char *path = strjoin("Services\\", d->service);
	_cleanup_free_ char *image = strjoin("system32\\drivers\\", d->service, ".sys");
	hive_node_h svc;
	int r;

	if (!path || !image)
		return -ENOMEM;
	r = key_mkpath(h, ccs, path, &svc);
	if (r < 0)
		return r;
	if ((r = set_dword(h, svc, "Type", 1)) < 0 ||	      /* kernel driver */
	    (r = set_dword(h, svc, "Start", 0)) < 0 ||	      /* boot start */
	    (r = set_dword(h, svc, "ErrorControl", 1)) < 0 || /* normal */
	    (r = set_sz(h, svc, "Group", hive_t_REG_SZ, d->group ?: "SCSI miniport")) < 0 ||
	    (r = set_sz(h, svc, "ImagePath", hive_t_REG_EXPAND_SZ, image)) < 0)
		return r;
	return 0;
}

static int add_cdb(hive_h *h, hive_node_h ccs, const struct win_boot_driver *d, const char *hwid)
{
	_cleanup_free_ char *path = strjoin("Control\\CriticalDeviceDatabase\\", hwid);
	hive_node_h node;
	int r;

	if (!path)
		return -ENOMEM;
	/* the database's key names are the ids with '#' for '\' */
	for (char *p = path + strlen("Control\\CriticalDeviceDatabase\\"); *p; p++)
		if (*p == '\\')
			*p = '#';
	r = key_mkpath(h, ccs, path, &node);
	if (r < 0)
		return r;
	if ((r = set_sz(h, node, "Service", hive_t_REG_SZ, d->service)) < 0 ||
	    (r = set_sz(h, node, "ClassGUID", hive_t_REG_SZ,
			d->class_guid ?: WIN_CLASS_GUID_SCSIADAPTER)) < 0)
		return r;
	return 0;
}

/* The DriverPackages "Version" value: a header, the class GUID in its
 * binary (mixed-endian) form, and zeros, as virt-v2v writes it. */
static int ddb_version(const char *guid, uint8_t ret[48])
{
	unsigned a, b, c, e[8];
	if (sscanf(guid, "{%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x}", &a, &b, &c, &e[0], &e[1], &e[2],
		   &e[3], &e[4], &e[5], &e[6], &e[7]) != 11 ||
	    strlen(guid) != 38)
		return -EINVAL;
	static const uint8_t head[8] = { 0x00, 0xff, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00 };
	memset(ret, 0, 48);
	memcpy(ret, head, 8);
	uint8_t *g = ret + 8;
	g[0] = a & 0xff, g[1] = (a >> 8) & 0xff, g[2] = (a >> 16) & 0xff, g[3] = (a >> 24) & 0xff;
	g[4] = b & 0xff, g[5] = (b >> 8) & 0xff;
	g[6] = c & 0xff, g[7] = (c >> 8) & 0xff;
	for (size_t i = 0; i < 8; i++)
		g[8 + i] = (uint8_t)e[i];
	return 0;
}

static int add_ddb(hive_h *h, hive_node_h ddb, const struct win_boot_driver *d)
{
	_cleanup_free_ char *inf = strjoin("enlighten_", d->service, ".inf");
	_cleanup_free_ char *label = strjoin("enlighten_", d->service, ".inf_boot");
	_cleanup_free_ char *conf = strjoin(d->service, "_boot");
	uint8_t version[48];
	hive_node_h node;
	int r;

	if (!inf || !label || !conf)
		return -ENOMEM;
	r = ddb_version(d->class_guid ?: WIN_CLASS_GUID_SCSIADAPTER, version);
	if (r < 0)
		return r;

	_cleanup_free_ char *files = strjoin("DriverInfFiles\\", inf);
	if (!files)
		return -ENOMEM;
	if ((r = key_mkpath(h, ddb, files, &node)) < 0 ||
	    (r = set_multi_sz(h, node, "", label)) < 0 ||
	    (r = set_sz(h, node, "Active", hive_t_REG_SZ, label)) < 0 ||
	    (r = set_multi_sz(h, node, "Configurations", conf)) < 0)
		return r;

	_cleanup_free_ char *pkg = strjoin("DriverPackages\\", label);
	if (!pkg)
		return -ENOMEM;
	if ((r = key_mkpath(h, ddb, pkg, &node)) < 0 ||
	    (r = set_binary(h, node, "Version", version, sizeof(version))) < 0)
		return r;

	_cleanup_free_ char *cfg = strjoin(pkg, "\\Configurations\\", conf);
	if (!cfg)
		return -ENOMEM;
	if ((r = key_mkpath(h, ddb, cfg, &node)) < 0 ||
	    (r = set_dword(h, node, "ConfigFlags", 0)) < 0 ||
	    (r = set_sz(h, node, "Service", hive_t_REG_SZ, d->service)) < 0)
		return r;

	for (char *const *id = d->hardware_ids; id && *id; id++) {
		static const uint8_t rank[4] = { 0x01, 0xff, 0x00, 0x00 };
		_cleanup_free_ char *devid = strjoin("DeviceIds\\", *id);
		_cleanup_free_ char *desc = strjoin(pkg, "\\Descriptors\\", *id);
		if (!devid || !desc)
			return -ENOMEM;
		if ((r = key_mkpath(h, ddb, devid, &node)) < 0 ||
		    (r = set_binary(h, node, inf, rank, sizeof(rank))) < 0 ||
		    (r = key_mkpath(h, ddb, desc, &node)) < 0 ||
		    (r = set_sz(h, node, "Configuration", hive_t_REG_SZ, conf)) < 0)
			return r;
	}
	return 0;
}

int win_boot_driver_check(const struct win_boot_driver *d, char **reterr_msg)
{
	if (!name_ok(d->service, SERVICE_MAX, "_-."))
		return errmsg_set(reterr_msg, -EINVAL,
				  "boot-critical service name '%s' is not a plain driver name",
				  d->service);
	if (d->group && !string_is_safe(d->group))
		return errmsg_set(reterr_msg, -EINVAL, "service '%s': bad group name", d->service);
	if (!d->hardware_ids || !d->hardware_ids[0])
		return errmsg_set(reterr_msg, -EINVAL, "service '%s' has no hardware ids",
				  d->service);
	for (char *const *id = d->hardware_ids; *id; id++)
		if (!hwid_ok(*id))
			return errmsg_set(
				reterr_msg, -EINVAL,
				"service '%s': hardware id '%s' is not BUS\\ID in printable ASCII",
				d->service, *id);
	return 0;
}

int win_hive_add_boot_drivers(const char *path, const struct win_boot_driver *drivers, size_t n,
			      enum win_hive_method *ret_method, char **reterr_msg)
{
	__attribute__((__cleanup__(hivex_closep))) hive_h *h = NULL;
	char ccs_name[16];
	int r;

	for (size_t i = 0; i < n; i++) {
		r = win_boot_driver_check(&drivers[i], reterr_msg);
		if (r < 0)
			return r;
	}

	h = hivex_open(path, HIVEX_OPEN_WRITE);
	if (!h)
		return errmsg_set(reterr_msg, negative_errno(),
				  "cannot open registry hive '%s': %m", path);

	r = current_control_set(h, ccs_name, reterr_msg);
	if (r < 0)
		return r;
	hive_node_h root = hivex_root(h);
	hive_node_h ccs = hivex_node_get_child(h, root, ccs_name);
	hive_node_h ddb = hivex_node_get_child(h, root, "DriverDatabase");
	enum win_hive_method method =
		ddb ? WIN_HIVE_DRIVER_DATABASE : WIN_HIVE_CRITICAL_DEVICE_DATABASE;

	for (size_t i = 0; i < n; i++) {
		const struct win_boot_driver *d = &drivers[i];
		r = add_service(h, ccs, d);
		if (r >= 0 && method == WIN_HIVE_DRIVER_DATABASE)
			r = add_ddb(h, ddb, d);
		for (char *const *id = d->hardware_ids;
		     r >= 0 && method == WIN_HIVE_CRITICAL_DEVICE_DATABASE && *id; id++)
			r = add_cdb(h, ccs, d, *id);
		if (r < 0)
			return errmsg_set(reterr_msg, r,
					  "cannot register service '%s' in hive '%s': %s",
					  d->service, path, strerror(-r));
	}

	if (hivex_commit(h, NULL, 0) < 0)
		return errmsg_set(reterr_msg, negative_errno(),
				  "cannot write registry hive '%s': %m", path);
	if (ret_method)
		*ret_method = method;
	return 0;
}
