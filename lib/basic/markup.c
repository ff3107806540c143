/* SPDX-License-Identifier: MIT */
/*
 * markup.c - escaping for HTML and XML.
 */
#include "lib/basic/markup.h"

void markup_escape(FILE *f, const char *s)
{
	static const char *const entity[256] = {
		['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
	};
	for (; *s; s++) {
		const char *e = entity[(unsigned char)*s];
		if (e)
			fputs(e, f);
		else
			fputc(*s, f);
	}
}
