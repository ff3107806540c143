/* SPDX-License-Identifier: MIT */
/*
 * secure-boot.c - the Secure Boot chain checked offline (secure-boot.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/secure-boot.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static bool expired(const struct pe_signature *s, time_t now)
{
	return s->ca_not_after >= 0 && s->ca_not_after < (int64_t)now;
}

char *sb_describe_cas(const struct pe_signature *s, size_t n, time_t now)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s'%s'", i ? " or " : "", s[i].ca);
		if (expired(&s[i], now)) {
			time_t t = (time_t)s[i].ca_not_after;
			struct tm tm;
			char day[16];
			gmtime_r(&t, &tm);
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
			fprintf(f, " (expired %s)", day);
		}
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int sb_check(const struct sb_file *files, size_t n, time_t now, char ***notes, char ***warnings,
	     char **reterr_msg)
{
	for (size_t i = 0; i < n; i++) {
		const struct sb_file *f = &files[i];
		struct pe_signature *s = NULL;
		_cleanup_free_ char *msg = NULL, *cas = NULL, *line = NULL;
		int k = pe_signatures_read(f->buf, f->len, &s, &msg);
		if (k < 0)
			return errmsg_set(reterr_msg, k,
					  "Secure Boot: the %s '%s' cannot be checked: %s; %s",
					  f->role, f->name, msg ?: "not a PE image", f->fix);
		if (k == 0)
			return errmsg_set(reterr_msg, -EPERM,
					  "Secure Boot: the %s '%s' is not signed, so the firmware "
					  "or shim would refuse it; %s",
					  f->role, f->name, f->fix);
		size_t n_sigs = (size_t)k;
		bool all_expired = true, any_matches = false;
		for (size_t j = 0; j < n_sigs; j++) {
			all_expired = all_expired && expired(&s[j], now);
			any_matches = any_matches || s[j].digest != PE_DIGEST_DIFFERS;
		}
		if (!any_matches) {
			pe_signatures_free(s, n_sigs);
			return errmsg_set(
				reterr_msg, -EPERM,
				"Secure Boot: the %s '%s' was changed after it was signed "
				"(the digest its signature covers is not its own), so the "
				"firmware or shim would refuse it; %s",
				f->role, f->name, f->fix);
		}
		cas = sb_describe_cas(s, n_sigs, now);
		pe_signatures_free(s, n_sigs);
		if (!cas ||
		    asprintf(&line, "Secure Boot: the %s '%s' needs %s", f->role, f->name, cas) < 0)
			return errmsg_oom(reterr_msg);
		if (strv_extend(notes, line) < 0)
			return errmsg_oom(reterr_msg);
		if (all_expired) {
			free(line);
			line = NULL;
			if (asprintf(
				    &line,
				    "Secure Boot: the %s '%s' is signed only for CAs that have "
				    "expired: %s; firmware that trusts them keeps starting it, but "
				    "firmware that trusts only their successors (Microsoft UEFI CA "
				    "2023) will refuse it; use one signed for a current CA too",
				    f->role, f->name, cas) < 0 ||
			    strv_extend(warnings, line) < 0)
				return errmsg_oom(reterr_msg);
		}
	}
	return 0;
}
