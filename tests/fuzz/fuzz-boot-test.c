/* SPDX-License-Identifier: MIT */
/*
 * fuzz-boot-test.c - libFuzzer target for what `enlighten boot-test` reads
 * from sources it does not control: the GPT of the image under test
 * (gpt_find_esp) and the guest's console line (agent_summary_parse, then the
 * check against every identity). Any input is handled without crashing, and
 * an ESP found lies inside what the GPT header describes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/boot-test/entry.h"
#include "builder/boot-test/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t first = 0, count = 0;
	size_t need = 0;
	int r = gpt_find_esp(data, size, &first, &count, &need);
	if (r == 0 && (first == 0 || count == 0))
		abort();
	if (r == -28 /* ENOSPC */ && need <= size)
		abort(); /* asked for more than it was given, but had enough */

	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	struct agent_summary s;
	if (agent_summary_parse(line, &s) == 0) {
		if (!s.hypervisor || !s.role || !s.profile)
			abort();
		for (unsigned i = 0; i < boot_identities_count; i++)
			for (int forced = 0; forced < 2; forced++)
				for (int c = EXPECT_CHANGE_ANY; c <= EXPECT_CHANGE_YES; c++) {
					char *why = NULL;
					int k = boot_identity_check(&boot_identities[i], forced, c,
								    &s, &why);
					if ((k == 0) != (why == NULL))
						abort(); /* a mismatch always says why */
					free(why);
				}
		agent_summary_done(&s);
	}
	free(line);
	return 0;
}
