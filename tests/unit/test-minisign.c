/* SPDX-License-Identifier: MIT */
/*
 * test-minisign.c - BLAKE2b against known answers, minisign keys and
 * signatures: round trips, tampering, wrong keys, malformed files. The
 * interoperation with the minisign tool is tests/cli/t3000-payload-signing.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/basic/string-util.h"
#include "lib/trust/blake2b.h"
#include "lib/trust/minisign.h"
#include "tests/unit/tap.h"

static void test_blake2b(void)
{
	static const struct {
		size_t outlen, n;
		int pattern; /* 0 "abc", 1 bytes 0..255 thrice, 2 zeros */
		const char *hex;
	} v[] = {
		{ 32, 3, 0, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319" },
		{ 64, 3, 0,
		  "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
		  "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923" },
		{ 32, 768, 1, "b8007121274217790e2923e0ad7027986e5a99d5531ef6ae7d294140fc81615d" },
		{ 32, 0, 2, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8" },
		{ 32, 128, 2, "378d0caaaa3855f1b38693c1d6ef004fd118691c95c959d4efa950d6d6fcf7c1" },
	};
	uint8_t in[768], out[64];
	char hex[129];

	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		for (size_t j = 0; j < v[i].n; j++)
			in[j] = v[i].pattern == 0   ? (uint8_t) "abc"[j]
				: v[i].pattern == 1 ? (uint8_t)j
						    : 0;
		struct blake2b s;
		blake2b_init(&s, v[i].outlen);
		/* feed in two parts to cross block boundaries */
		blake2b_update(&s, in, v[i].n / 3);
		blake2b_update(&s, in + v[i].n / 3, v[i].n - v[i].n / 3);
		blake2b_final(&s, out);
		hex_encode(out, v[i].outlen, hex);
		is_str(hex, v[i].hex, "blake2b-%zu of %zu bytes (pattern %d)", v[i].outlen * 8,
		       v[i].n, v[i].pattern);
	}
}

static void test_keys(void)
{
	struct minisign_seckey sk, sk2;
	struct minisign_pubkey pk, pk2;
	_cleanup_free_ char *sktext = NULL, *pktext = NULL, *err = NULL;

	is_int(minisign_keygen(&sk, &pk), 0, "keygen");
	is_int(minisign_seckey_format(&sk, &sktext), 0, "secret key formats");
	is_int(minisign_pubkey_format(&pk, &pktext), 0, "public key formats");
	ok(startswith(pktext, "untrusted comment: minisign public key "), "public key comment");
	is_int(minisign_seckey_parse(sktext, strlen(sktext), &sk2, &err), 0, "secret key parses");
	ok(memcmp(&sk, &sk2, sizeof(sk)) == 0, "secret key round trip");
	is_int(minisign_pubkey_parse(pktext, strlen(pktext), &pk2, &err), 0, "public key parses");
	ok(memcmp(&pk, &pk2, sizeof(pk)) == 0, "public key round trip");
	/* the bare base64 line is a public key too (minisign -P) */
	const char *line2 = strchr(pktext, '\n') + 1;
	is_int(minisign_pubkey_parse(line2, strlen(line2), &pk2, NULL), 0, "bare key line parses");

	/* a flipped bit in the secret key: the checksum catches it */
	_cleanup_free_ char *bad = strdup(sktext);
	char *b64 = strchr(bad, '\n') + 1;
	b64[100] = b64[100] == 'A' ? 'B' : 'A';
	is_int(minisign_seckey_parse(bad, strlen(bad), &sk2, &err), -EBADMSG,
	       "damaged key refused");
	ok(err && strstr(err, "checksum"), "message names the checksum: %s", err);

	/* the checksum covers the key id too */
	free(bad);
	bad = strdup(sktext);
	b64 = strchr(bad, '\n') + 1;
	b64[74] = b64[74] == 'A' ? 'B' : 'A'; /* blob byte 55: in the key id */
	is_int(minisign_seckey_parse(bad, strlen(bad), &sk2, &err), -EBADMSG,
	       "changed key id refused");

	/* encrypted keys are refused with a hint */
	free(bad);
	bad = strdup(sktext);
	b64 = strchr(bad, '\n') + 1;
	memcpy(b64, "RWRTY0Iy", 8); /* "Ed" "Sc" "B2" */
	is_int(minisign_seckey_parse(bad, strlen(bad), &sk2, &err), -EOPNOTSUPP,
	       "encrypted key refused");
	ok(err && strstr(err, "minisign -G -W"), "with a hint: %s", err);
	const char *cut = "untrusted comment: minisign encrypted secret key\nRWQAAEIy\n";
	is_int(minisign_seckey_parse(cut, strlen(cut), &sk2, &err), -EBADMSG,
	       "truncated key refused");
	minisign_seckey_wipe(&sk);
	minisign_seckey_wipe(&sk2);
	uint8_t zero[sizeof(sk)] = { 0 };
	ok(memcmp(&sk, zero, sizeof(sk)) == 0, "wipe clears the secret");
}

static void test_sign_verify(void)
{
	struct minisign_seckey sk, other;
	struct minisign_pubkey pk, opk;
	_cleanup_minisig_ struct minisign_sig *sig = NULL;
	_cleanup_minisig_ struct minisign_sig *sig2 = NULL;
	_cleanup_free_ char *text = NULL, *err = NULL;
	const char msg[] = "catalog bytes";

	minisign_keygen(&sk, &pk);
	minisign_keygen(&other, &opk);
	is_int(minisign_sign_buffer(&sk, msg, sizeof(msg), NULL, "tc\tx", &sig), 0, "signs");
	ok(sig->prehashed, "prehashed ED signature");
	is_int(minisign_verify_buffer(&pk, sig, msg, sizeof(msg), &err), 0, "verifies");

	is_int(minisign_sig_format(sig, &text), 0, "formats");
	is_int(minisign_sig_parse(text, strlen(text), &sig2, &err), 0, "parses back");
	is_str(sig2->trusted_comment, "tc\tx", "trusted comment kept (with its tab)");
	is_int(minisign_verify_buffer(&pk, sig2, msg, sizeof(msg), &err), 0, "parsed one verifies");

	is_int(minisign_verify_buffer(&pk, sig, "catalog bytez", sizeof(msg), &err), -EKEYREJECTED,
	       "tampered data refused");
	ok(err && strstr(err, "does not match the file"), "reason: %s", err);

	free(sig2->trusted_comment);
	sig2->trusted_comment = strdup("tc\ty");
	is_int(minisign_verify_buffer(&pk, sig2, msg, sizeof(msg), &err), -EKEYREJECTED,
	       "tampered trusted comment refused");
	ok(err && strstr(err, "trusted comment"), "reason: %s", err);

	is_int(minisign_verify_buffer(&opk, sig, msg, sizeof(msg), &err), -ENOKEY,
	       "other key refused by key id");
	ok(err && strstr(err, "signed by key"), "reason: %s", err);

	/* same key id, other key: the signature check catches it */
	memcpy(opk.key_id, pk.key_id, sizeof(pk.key_id));
	is_int(minisign_verify_buffer(&opk, sig, msg, sizeof(msg), &err), -EKEYREJECTED,
	       "forged key id refused");

	is_int(minisign_sign_buffer(&sk, msg, sizeof(msg), NULL, "two\nlines", &sig2), -EINVAL,
	       "multi-line trusted comment refused");

	/* malformed signature files */
	const char *bad[] = {
		"",
		"untrusted comment: x\n",
		"untrusted comment: x\nAAAA\ntrusted comment: y\nAAAA\n",
		"comment: x\nRUQ=\ntrusted comment: y\nAAAA\n",
		"untrusted comment: x\n!!!!\ntrusted comment: y\nAAAA\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct minisign_sig *s = NULL;
		is_int(minisign_sig_parse(bad[i], strlen(bad[i]), &s, NULL), -EBADMSG,
		       "malformed signature %zu refused", i);
		minisign_sig_free(s);
	}
	minisign_seckey_wipe(&sk);
	minisign_seckey_wipe(&other);
}

/* The signature file with its trusted comment line replaced by tc (which
 * brings its own line end). */
static char *with_trusted_line(const char *text, const char *tc)
{
	const char *l3 = strstr(text, "trusted comment: ");
	l3 = l3 ? strstr(l3 + 1, "trusted comment: ") : NULL; /* line 3, not line 1 */
	const char *l4 = l3 ? strchr(l3, '\n') : NULL;
	char *out = NULL;
	if (!l4 ||
	    asprintf(&out, "%.*strusted comment: %s%s", (int)(l3 - text), text, tc, l4 + 1) < 0)
		return NULL;
	return out;
}

/* What parses formats back to itself, and verify never hands the terminal
 * a control byte from a signed comment. */
static void test_comment_bytes(void)
{
	struct minisign_seckey sk;
	struct minisign_pubkey pk;
	_cleanup_minisig_ struct minisign_sig *sig = NULL;
	_cleanup_free_ char *text = NULL;
	const char msg[] = "catalog bytes";

	minisign_keygen(&sk, &pk);
	if (minisign_sign_buffer(&sk, msg, sizeof(msg), NULL, "tc", &sig) < 0 ||
	    minisign_sig_format(sig, &text) < 0) {
		ok(0, "sign and format");
		return;
	}
	static const struct {
		const char *line;
		int want;
	} cases[] = {
		{ "tc\r\n", 0 },	  /* a CRLF file */
		{ "tc\r\r\n", -EBADMSG }, /* the fuzzer's: a CR kept in the comment */
		{ "tc\r\r\r\r\n", -EBADMSG },
		{ "tc\033[2J\n", -EBADMSG }, /* an escape sequence verify would print */
		{ "tc\x7f\n", -EBADMSG },
		{ "tc\tx\n", 0 },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *t = with_trusted_line(text, cases[i].line);
		_cleanup_free_ char *again = NULL, *err = NULL;
		_cleanup_minisig_ struct minisign_sig *a = NULL;
		_cleanup_minisig_ struct minisign_sig *b = NULL;
		int r = t ? minisign_sig_parse(t, strlen(t), &a, &err) : -ENOMEM;
		is_int(r, cases[i].want, "trusted comment case %zu: %s", i, err ? err : "parsed");
		if (r < 0)
			continue;
		ok(minisign_sig_format(a, &again) >= 0 &&
			   minisign_sig_parse(again, strlen(again), &b, NULL) >= 0 &&
			   streq(a->trusted_comment, b->trusted_comment) &&
			   streq(a->untrusted_comment, b->untrusted_comment),
		   "case %zu: format and parse is a fixed point", i);
	}
	_cleanup_free_ char *u = strdup(text);
	if (u)
		u[strlen("untrusted comment: ")] = '\a';
	struct minisign_sig *s = NULL;
	is_int(u ? minisign_sig_parse(u, strlen(u), &s, NULL) : -ENOMEM, -EBADMSG,
	       "a control byte in the untrusted comment refused");
	minisign_sig_free(s);
	minisign_seckey_wipe(&sk);
}

int main(void)
{
	tap_tmpdir();
	test_blake2b();
	test_keys();
	test_sign_verify();
	test_comment_bytes();
	return tap_done();
}
