/* SPDX-License-Identifier: MIT */
/*
 * fuzz-pe-signature.c - libFuzzer target for the Authenticode reader the
 * build and inspect run over shim, GRUB and kernels (pe_signatures_read):
 * any input is handled without crashing or reading past it; a refusal
 * always says why; each signature found has a signer, a CA and a digest
 * verdict. Seeds: a small PE signed with osslsigncode (SHA-256 and SHA-1)
 * and the same unsigned.
 */
#include <stdint.h>
#include <stdlib.h>

#include "lib/trust/pe-signature.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pe_signature *s = NULL;
	char *msg = NULL;
	int r = pe_signatures_read(data, size, &s, &msg);
	if (r < 0 && !msg)
		abort();
	for (int i = 0; i < r; i++)
		if (!s[i].signer || !s[i].ca || s[i].digest > PE_DIGEST_UNKNOWN)
			abort();
	pe_signatures_free(s, r > 0 ? (size_t)r : 0);
	free(msg);
	return 0;
}
