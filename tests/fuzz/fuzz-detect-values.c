/* SPDX-License-Identifier: MIT */
/*
 * fuzz-detect-values.c - libFuzzer target for the parsers of the sysfs,
 * procfs and device-tree values the detector's probes read (detect/value.c):
 * DMI strings, Xen features and capabilities, PCI ids, device-tree string
 * lists, procfs "key: value" text (cpuinfo, sysinfo, lparcfg), PID 1's
 * environment block, and the printable form that goes into evidence.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char *line = NULL, *shown;
	uint32_t features;
	uint16_t id;

	if (size > VALUE_MAX)
		return 0; /* the probes never hand more to the parsers */

	shown = value_show(buf, size);
	if (!shown || strlen(shown) > VALUE_SHOW_MAX + 3)
		abort();
	for (const char *p = shown; *p; p++)
		if (*p < ' ' || *p > '~' || *p == '\'')
			abort();
	free(shown);

	(void)value_xen_caps_control_d(buf, size);
	int k = value_dt_match(buf, size, "xen,xen", true);
	if (k < -EBADMSG || k > 1)
		abort();
	(void)value_dt_match(buf, size, "vmware", false);

	char *env = NULL;
	int e = value_environ_get(buf, size, "container", &env);
	if (e < 0 || e > 1 || (e == 1 && (!env || strlen(env) >= size)))
		abort();
	free(env);

	char *text = strndup(buf, size), field[16];
	if (!text)
		return 0;
	static const char *const keys[] = {
		"flags", "vendor_id", "platform", "model", "VM00 Control Program", "LPAR Number"
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (value_proc_field(text, keys[i], ':', field, sizeof(field)) &&
		    (strlen(field) >= sizeof(field) || strchr(field, '\n')))
			abort();
	if (value_proc_field(text, "shared_processor_mode", '=', field, sizeof(field)) &&
	    strchr(field, '\n'))
		abort();
	free(text);

	if (value_first_line(buf, size, &line) == 0) {
		if (strchr(line, '\n'))
			abort();
		if (value_parse_xen_features(line, &features) == 0 && strlen(line) == 0)
			abort();
		(void)value_parse_pci_id(line, &id);
		free(line);
	}
	return 0;
}
