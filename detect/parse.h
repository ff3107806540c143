/* SPDX-License-Identifier: MIT */
/*
 * parse.h - the detector's parsers for text that comes from files: the CPUID
 * table of --cpuid-file (cpuid-table.c) and the short sysfs, procfs and
 * device-tree values the probes read (value.c). No I/O, no allocation
 * beyond the result, every input bounded by its length; the fuzz targets in
 * tests/fuzz/ run them directly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- cpuid-table.c ---- */

#define CPUID_TABLE_MAX_BYTES (256u * 1024u)
#define CPUID_TABLE_MAX_ENTRIES 4096u

struct cpuid_entry {
	uint32_t leaf, subleaf;
	uint32_t reg[4]; /* EAX, EBX, ECX, EDX */
};

struct cpuid_table {
	struct cpuid_entry *entries;
	size_t n;
};

/* Parses lines "LEAF SUBLEAF EAX EBX ECX EDX" (hex with 0x, '#' starts a
 * comment, blank lines allowed) from buf[0..len). Returns 0; -EBADMSG with
 * *ret_line (1-based) and *reterr_msg (may be NULL) saying what is wrong;
 * -E2BIG above the size or entry caps; -ENOMEM. A leaf listed twice keeps
 * the last value. */
int cpuid_table_parse(const char *buf, size_t len, struct cpuid_table **ret, unsigned *ret_line,
		      char **reterr_msg);
/* Accepts NULL. */
void cpuid_table_free(struct cpuid_table *t);
/* The registers of (leaf, subleaf); a leaf not listed reads as zeros. */
void cpuid_table_lookup(const struct cpuid_table *t, uint32_t leaf, uint32_t subleaf,
			uint32_t ret[4]);

/* ---- value.c ---- */

#define VALUE_MAX 4096u	   /* bytes read from one sysfs or procfs value */
#define VALUE_SHOW_MAX 96u /* bytes of a value quoted in evidence */

/* The first line of buf[0..n), white space trimmed, as a new string.
 * Returns 0, -EBADMSG for binary junk (NUL or control bytes), -ENOMEM. */
int value_first_line(const char *buf, size_t n, char **ret);

/* A printable copy of s for evidence: bytes outside ' '..'~' become '?',
 * longer than VALUE_SHOW_MAX is cut with "...". NULL on OOM. */
char *value_show(const char *s, size_t n);

/* /sys/hypervisor/properties/features: 1 to 64 hex digits (optional 0x);
 * *ret gets the lowest 32 bits (submap 0). Returns 0 or -EINVAL. */
int value_parse_xen_features(const char *s, uint32_t *ret);

/* /proc/xen/capabilities: comma or white space separated words; true when
 * one of them is "control_d". */
bool value_xen_caps_control_d(const char *buf, size_t n);

/* A PCI id file ("0x1414"): 0x and 1 to 4 hex digits. 0 or -EINVAL. */
int value_parse_pci_id(const char *s, uint16_t *ret);

/* A device-tree string list (NUL separated, NUL terminated). Returns 1 when
 * one string starts with prefix (exact when exact), 0 when none does,
 * -EBADMSG when buf is not a list of printable strings. */
int value_dt_match(const char *buf, size_t n, const char *prefix, bool exact);

/* procfs text of "key<blanks>: value" lines (/proc/cpuinfo, /proc/sysinfo)
 * or "key=value" ones (lparcfg; sep '='): copies the value of the first
 * line whose key is key, up to its newline, into out (cut to size - 1
 * bytes). buf is a C string. True when the key was found. */
bool value_proc_field(const char *buf, const char *key, char sep, char *out, size_t size);

/* An environment block (/proc/PID/environ: NUL-separated NAME=value,
 * buf[0..n)): 1 with a copy of name's value in *ret, 0 when absent,
 * -ENOMEM. A last entry without its NUL counts up to n. */
int value_environ_get(const char *buf, size_t n, const char *name, char **ret);
