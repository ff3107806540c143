/* SPDX-License-Identifier: MIT */
/*
 * fuzz-minisign.c - libFuzzer target for the minisign parsers. The first
 * byte picks the parser (public key, secret key, signature); a signature
 * that parses is verified against a fixed key over the input, and every
 * parsed object must format and parse back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/trust/minisign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct minisign_pubkey fixed = { .key_id = { 1, 2, 3, 4, 5, 6, 7, 8 } };
	const char *text = (const char *)data + 1;
	char *err = NULL, *out = NULL;

	if (size < 1 || size > MINISIGN_FILE_MAX)
		return 0;
	size--;
	switch (data[0] % 3) {
	case 0: {
		struct minisign_pubkey pk, pk2;
		if (minisign_pubkey_parse(text, size, &pk, &err) >= 0) {
			if (minisign_pubkey_format(&pk, &out) < 0 ||
			    minisign_pubkey_parse(out, strlen(out), &pk2, NULL) < 0 ||
			    memcmp(&pk, &pk2, sizeof(pk)) != 0)
				abort();
		}
		break;
	}
	case 1: {
		struct minisign_seckey sk, sk2;
		if (minisign_seckey_parse(text, size, &sk, &err) >= 0) {
			if (minisign_seckey_format(&sk, &out) < 0 ||
			    minisign_seckey_parse(out, strlen(out), &sk2, NULL) < 0 ||
			    memcmp(&sk, &sk2, sizeof(sk)) != 0)
				abort();
			minisign_seckey_wipe(&sk);
			minisign_seckey_wipe(&sk2);
		}
		break;
	}
	default: {
		struct minisign_sig *sig = NULL, *sig2 = NULL;
		if (minisign_sig_parse(text, size, &sig, &err) >= 0) {
			(void)minisign_verify_buffer(&fixed, sig, data, size, NULL);
			struct minisign_pubkey same = fixed;
			memcpy(same.key_id, sig->key_id, sizeof(same.key_id));
			(void)minisign_verify_buffer(&same, sig, data, size, NULL);
			if (minisign_sig_format(sig, &out) < 0 ||
			    minisign_sig_parse(out, strlen(out), &sig2, NULL) < 0 ||
			    memcmp(sig->sig, sig2->sig, sizeof(sig->sig)) != 0 ||
			    strcmp(sig->trusted_comment, sig2->trusted_comment) != 0)
				abort();
		}
		minisign_sig_free(sig);
		minisign_sig_free(sig2);
	}
	}
	free(out);
	free(err);
	return 0;
}
