/* SPDX-License-Identifier: MIT */
/*
 * test-markup.c - what goes into the portal page and unattend.xml cannot
 * open a tag, end an attribute or start an entity.
 */
#include "lib/basic/markup.h"
#include "tests/unit/tap.h"

int main(void)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	markup_escape(f, "a<b>&\"c\" 'd' Zürich");
	fclose(f);
	is_str(buf, "a&lt;b&gt;&amp;&quot;c&quot; &#39;d&#39; Zürich",
	       "markup characters escaped, the rest kept");
	free(buf);
	return tap_done();
}
