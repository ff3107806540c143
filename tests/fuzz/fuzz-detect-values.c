/* SPDX-License-Identifier: MIT */
/*
 * fuzz-detect-values.c - libFuzzer target for the parsers of the sysfs,
 * procfs and device-tree values the detector's probes read (detect/value.c):
 * DMI strings, Xen features and capabilities, PCI ids, device-tree string
 * lists, and the printable form that goes into evidence.
 */
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
