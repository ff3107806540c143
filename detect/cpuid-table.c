/* SPDX-License-Identifier: MIT */
/*
 * cpuid-table.c - the CPUID table of --cpuid-file: one register set per line,
 * "LEAF SUBLEAF EAX EBX ECX EDX" in hex with 0x, '#' comments. Fixtures and
 * tests stand in for the CPUID instruction with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/parse.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define WANT_FIELDS "(want LEAF SUBLEAF EAX EBX ECX EDX)"

static const char *const field_names[] = { "leaf", "subleaf", "EAX", "EBX", "ECX", "EDX" };

/* "0x" and 1 to 8 hex digits. */
static int parse_hex32(const char *s, size_t n, uint32_t *ret)
{
	uint32_t v = 0;

	if (n < 3 || n > 10 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	for (size_t i = 2; i < n; i++) {
		int d = unhexchar(s[i]);
		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*ret = v;
	return 0;
}

/* Sets *reterr_msg to "WHAT 'WORD' HINT" (or "WHAT HINT" without a word). */
static int fail(char **reterr_msg, const char *what, const char *word, size_t wn, const char *hint)
{
	if (reterr_msg) {
		char shown[32] = "";
		size_t k = 0;
		if (word) {
			shown[k++] = ' ';
			shown[k++] = '\'';
			for (size_t i = 0; i < wn && i < 20; i++)
				shown[k++] = word[i] >= ' ' && word[i] <= '~' && word[i] != '\''
						     ? word[i]
						     : '?';
			if (wn > 20)
				shown[k++] = '.', shown[k++] = '.', shown[k++] = '.';
			shown[k++] = '\'';
			shown[k] = '\0';
		}
		errmsg_set(reterr_msg, -EBADMSG, "%s%s %s", what, shown, hint);
	}
	return -EBADMSG;
}

static int table_put(struct cpuid_table *t, size_t *cap, const struct cpuid_entry *e)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->entries[i].leaf == e->leaf && t->entries[i].subleaf == e->subleaf) {
			t->entries[i] = *e;
			return 0;
		}
	if (t->n >= CPUID_TABLE_MAX_ENTRIES)
		return -E2BIG;
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct cpuid_entry *ne = reallocarray(t->entries, ncap, sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		t->entries = ne;
		*cap = ncap;
	}
	t->entries[t->n++] = *e;
	return 0;
}

int cpuid_table_parse(const char *buf, size_t len, struct cpuid_table **ret, unsigned *ret_line,
		      char **reterr_msg)
{
	struct cpuid_table *t;
	size_t cap = 0;
	unsigned line = 0;
	int r = 0;

	if (len > CPUID_TABLE_MAX_BYTES) {
		if (ret_line)
			*ret_line = 0;
		return -E2BIG;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;

	for (size_t pos = 0; pos < len;) {
		const char *l = buf + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t ln = nl ? (size_t)(nl - l) : len - pos;
		pos += ln + (nl ? 1 : 0);
		line++;

		const char *hash = memchr(l, '#', ln);
		if (hash)
			ln = (size_t)(hash - l);

		struct cpuid_entry e = {};
		uint32_t *out[6] = {
			&e.leaf, &e.subleaf, &e.reg[0], &e.reg[1], &e.reg[2], &e.reg[3]
		};
		size_t nf = 0, i = 0;
		while (i < ln) {
			while (i < ln && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'))
				i++;
			if (i >= ln)
				break;
			size_t s = i;
			while (i < ln && l[i] != ' ' && l[i] != '\t' && l[i] != '\r')
				i++;
			if (nf >= ELEMENTSOF(out)) {
				r = fail(reterr_msg, "extra field", l + s, i - s, WANT_FIELDS);
				goto err;
			}
			if (memchr(l + s, '\0', i - s) || parse_hex32(l + s, i - s, out[nf]) < 0) {
				char what[16];
				snprintf(what, sizeof(what), "bad %s", field_names[nf]);
				r = fail(reterr_msg, what, l + s, i - s,
					 "(want hex like 0x40000000)");
				goto err;
			}
			nf++;
		}
		if (nf == 0)
			continue;
		if (nf < ELEMENTSOF(out)) {
			char what[16];
			snprintf(what, sizeof(what), "missing %s", field_names[nf]);
			r = fail(reterr_msg, what, NULL, 0, WANT_FIELDS);
			goto err;
		}
		r = table_put(t, &cap, &e);
		if (r < 0)
			goto err;
	}
	*ret = t;
	return 0;
err:
	if (ret_line)
		*ret_line = line;
	cpuid_table_free(t);
	return r;
}

void cpuid_table_free(struct cpuid_table *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t);
}

void cpuid_table_lookup(const struct cpuid_table *t, uint32_t leaf, uint32_t subleaf,
			uint32_t ret[4])
{
	memset(ret, 0, 4 * sizeof(uint32_t));
	for (size_t i = 0; i < t->n; i++)
		if (t->entries[i].leaf == leaf && t->entries[i].subleaf == subleaf) {
			memcpy(ret, t->entries[i].reg, 4 * sizeof(uint32_t));
			return;
		}
}
