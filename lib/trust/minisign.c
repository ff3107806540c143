/* SPDX-License-Identifier: MIT */
/*
 * minisign.c - minisign key and signature files over OpenSSL: Ed25519 through
 * EVP_PKEY_ED25519, BLAKE2b-512 through EVP_blake2b512, base64 by hand with
 * strict checks. Every buffer that held a secret is wiped with
 * OPENSSL_cleanse before it is freed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/basic/copy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/blake2b.h"
#include "lib/trust/minisign.h"

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define SECKEY_BLOB_SIZE (2 + 2 + 2 + 32 + 8 + 8 + MINISIGN_KEYID_SIZE + MINISIGN_SECKEY_SIZE + 32)
#define PUBKEY_BLOB_SIZE (2 + MINISIGN_KEYID_SIZE + MINISIGN_PUBKEY_SIZE)
#define SIG_BLOB_SIZE (2 + MINISIGN_KEYID_SIZE + MINISIGN_SIG_SIZE)
#define PREHASH_SIZE 64

#define set_err(reterr_msg, ...) (void)errmsg_set(reterr_msg, 0, __VA_ARGS__)

void minisign_key_id_hex(const uint8_t id[MINISIGN_KEYID_SIZE], char out[MINISIGN_KEYID_HEX_SIZE])
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < MINISIGN_KEYID_SIZE; i++) {
		uint8_t b = id[MINISIGN_KEYID_SIZE - 1 - i];
		out[2 * i] = digits[b >> 4];
		out[2 * i + 1] = digits[b & 15];
	}
	out[2 * MINISIGN_KEYID_SIZE] = '\0';
}

/* ---- base64 ------------------------------------------------------------- */

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes exactly want bytes from s[0..len), canonical padding only. */
static int b64_decode_exact(const char *s, size_t len, uint8_t *out, size_t want)
{
	if (len % 4 != 0 || len / 4 * 3 < want || len / 4 * 3 - want > 2)
		return -EBADMSG;
	size_t pad = len / 4 * 3 - want;
	size_t o = 0;
	uint32_t v = 0;
	uint8_t b[3];
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i += 4) {
		v = 0;
		for (size_t j = 0; j < 4; j++) {
			int x;
			if (i + 4 == len && j >= 4 - pad) {
				x = s[i + j] == '=' ? 0 : -1;
			} else
				x = b64_value(s[i + j]);
			if (x < 0)
				r = -EBADMSG;
			v = v << 6 | (uint32_t)(x & 63);
		}
		b[0] = (uint8_t)(v >> 16);
		b[1] = (uint8_t)(v >> 8);
		b[2] = (uint8_t)v;
		for (size_t j = 0; j < 3; j++) {
			if (o < want)
				out[o++] = b[j];
			else if (b[j] != 0)
				r = -EBADMSG; /* non-canonical trailing bits */
		}
	}
	/* the decoded bytes may be a secret key */
	OPENSSL_cleanse(&v, sizeof(v));
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

/* malloc'ed base64 of p. */
static char *b64_encode(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	if (!s)
		return NULL;
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* ---- lines -------------------------------------------------------------- */

/* Splits text into at most max lines (without "\n" or a trailing "\r");
 * trailing empty lines are dropped. Returns the count, or -EBADMSG for a NUL
 * byte or more lines than max. */
static int split_lines(const char *text, size_t len, const char **lines, size_t *lens, size_t max)
{
	size_t n = 0;
	if (memchr(text, '\0', len))
		return -EBADMSG;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (text + i)) : len - i;
		if (n >= max) {
			/* only blank lines may follow */
			for (size_t j = i; j < len; j++)
				if (!strchr(" \t\r\n", text[j]))
					return -EBADMSG;
			break;
		}
		lines[n] = text + i;
		lens[n] = l > 0 && text[i + l - 1] == '\r' ? l - 1 : l;
		n++;
		i += l + 1;
	}
	while (n > 0 && lens[n - 1] == 0)
		n--;
	return (int)n;
}

static int read_small(int dir_fd, const char *path, char **ret, size_t *ret_size)
{
	if (dir_fd != AT_FDCWD)
		return fs_read_file_at(dir_fd, path, MINISIGN_FILE_MAX, ret, ret_size);

	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return negative_errno();
	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return fs_read_fd(fd, MINISIGN_FILE_MAX, ret, ret_size);
}

static int load_error(int r, const char *what, const char *path, char **reterr_msg)
{
	if (r == -EFBIG)
		set_err(reterr_msg, "%s '%s' is too large (at most %d bytes)", what, path,
			MINISIGN_FILE_MAX);
	else
		set_err(reterr_msg, "cannot read %s '%s': %s", what, path, strerror(-r));
	return r;
}

/* ---- Ed25519 ------------------------------------------------------------ */

static int ed25519_sign(const uint8_t seed[32], const void *msg, size_t n, uint8_t out[64])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 64;
	int r = -EIO;

	if (key && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(ctx, out, &siglen, msg, n) == 1 && siglen == 64)
		r = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key); /* OpenSSL clears private key material on free */
	return r;
}

/* 1 valid, 0 invalid, -errno on internal failure. */
static int ed25519_verify(const uint8_t pk[32], const void *msg, size_t n, const uint8_t sig[64])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = -EIO;

	if (key && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1)
		r = EVP_DigestVerify(ctx, sig, 64, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return r;
}

static int ed25519_public(const uint8_t seed[32], uint8_t pk[32])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	size_t n = 32;
	int r = key && EVP_PKEY_get_raw_public_key(key, pk, &n) == 1 && n == 32 ? 0 : -EIO;
	EVP_PKEY_free(key);
	return r;
}

/* ---- BLAKE2b-512 prehash ------------------------------------------------ */

static int prehash_write(void *userdata, const void *buf, size_t n)
{
	return EVP_DigestUpdate(userdata, buf, n) == 1 ? 0 : -EIO;
}

/* The file read once through the bounded copy (copy.h), into BLAKE2b-512. */
static int prehash_fd(int fd, uint64_t max, uint8_t out[PREHASH_SIZE])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outlen = 0;
	int r = -ENOMEM;

	if (ctx)
		r = EVP_DigestInit_ex(ctx, EVP_blake2b512(), NULL) == 1 ? 0 : -EIO;
	if (r >= 0)
		r = copy_stream(fd, &(struct copy_sink){ .write = prehash_write, .userdata = ctx },
				max, NULL, NULL);
	if (r >= 0 && (EVP_DigestFinal_ex(ctx, out, &outlen) != 1 || outlen != PREHASH_SIZE))
		r = -EIO;
	EVP_MD_CTX_free(ctx);
	return r;
}

static int prehash_buffer(const void *p, size_t n, uint8_t out[PREHASH_SIZE])
{
	unsigned int outlen = 0;
	if (EVP_Digest(p, n, out, &outlen, EVP_blake2b512(), NULL) != 1 || outlen != PREHASH_SIZE)
		return -EIO;
	return 0;
}

/* ---- public keys -------------------------------------------------------- */

int minisign_pubkey_parse(const char *text, size_t len, struct minisign_pubkey *ret,
			  char **reterr_msg)
{
	const char *lines[2];
	size_t lens[2];
	uint8_t blob[PUBKEY_BLOB_SIZE];
	int n = split_lines(text, len, lines, lens, 2);
	size_t i = 0;

	if (n >= 1 && lens[0] >= strlen(UNTRUSTED_PREFIX) &&
	    strncmp(lines[0], UNTRUSTED_PREFIX, strlen(UNTRUSTED_PREFIX)) == 0)
		i = 1;
	if (n < 0 || (size_t)n != i + 1) {
		set_err(reterr_msg,
			"not a minisign public key (want a comment line and a key line)");
		return -EBADMSG;
	}
	if (b64_decode_exact(lines[i], lens[i], blob, sizeof(blob)) < 0) {
		set_err(reterr_msg, "public key is not base64 of %d bytes", PUBKEY_BLOB_SIZE);
		return -EBADMSG;
	}
	if (memcmp(blob, "Ed", 2) != 0) {
		set_err(reterr_msg, "public key algorithm is not Ed25519 ('Ed')");
		return -EBADMSG;
	}
	memcpy(ret->key_id, blob + 2, MINISIGN_KEYID_SIZE);
	memcpy(ret->pk, blob + 2 + MINISIGN_KEYID_SIZE, MINISIGN_PUBKEY_SIZE);
	return 0;
}

int minisign_pubkey_load_at(int dir_fd, const char *path, struct minisign_pubkey *ret,
			    char **reterr_msg)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *why = NULL;
	size_t n;
	int r = read_small(dir_fd, path, &text, &n);
	if (r < 0)
		return load_error(r, "public key", path, reterr_msg);
	r = minisign_pubkey_parse(text, n, ret, &why);
	if (r < 0)
		set_err(reterr_msg, "public key '%s': %s", path, why ? why : "malformed");
	return r;
}

int minisign_pubkey_format(const struct minisign_pubkey *pk, char **ret)
{
	uint8_t blob[PUBKEY_BLOB_SIZE];
	char id[MINISIGN_KEYID_HEX_SIZE];

	memcpy(blob, "Ed", 2);
	memcpy(blob + 2, pk->key_id, MINISIGN_KEYID_SIZE);
	memcpy(blob + 2 + MINISIGN_KEYID_SIZE, pk->pk, MINISIGN_PUBKEY_SIZE);
	_cleanup_free_ char *b = b64_encode(blob, sizeof(blob));
	if (!b)
		return -ENOMEM;
	minisign_key_id_hex(pk->key_id, id);
	if (asprintf(ret, UNTRUSTED_PREFIX "minisign public key %s\n%s\n", id, b) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- secret keys -------------------------------------------------------- */

void minisign_seckey_wipe(struct minisign_seckey *sk)
{
	OPENSSL_cleanse(sk, sizeof(*sk));
}

void minisign_seckey_public(const struct minisign_seckey *sk, struct minisign_pubkey *ret)
{
	memcpy(ret->key_id, sk->key_id, MINISIGN_KEYID_SIZE);
	memcpy(ret->pk, sk->sk + 32, MINISIGN_PUBKEY_SIZE);
}

static void seckey_checksum(const struct minisign_seckey *sk, uint8_t out[32])
{
	struct blake2b s;
	blake2b_init(&s, 32);
	blake2b_update(&s, "Ed", 2);
	blake2b_update(&s, sk->key_id, MINISIGN_KEYID_SIZE);
	blake2b_update(&s, sk->sk, MINISIGN_SECKEY_SIZE);
	blake2b_final(&s, out);
}

int minisign_seckey_parse(const char *text, size_t len, struct minisign_seckey *ret,
			  char **reterr_msg)
{
	const char *lines[2];
	size_t lens[2];
	uint8_t blob[SECKEY_BLOB_SIZE], chk[32], pk[32];
	static const uint8_t zero[32];
	struct minisign_seckey sk;
	int n = split_lines(text, len, lines, lens, 2), r = -EBADMSG;
	const uint8_t *p;

	if (n != 2 || lens[0] < strlen(UNTRUSTED_PREFIX) ||
	    strncmp(lines[0], UNTRUSTED_PREFIX, strlen(UNTRUSTED_PREFIX)) != 0) {
		set_err(reterr_msg,
			"not a minisign secret key (want a comment line and a key line)");
		return -EBADMSG;
	}
	if (b64_decode_exact(lines[1], lens[1], blob, sizeof(blob)) < 0) {
		set_err(reterr_msg, "secret key is not base64 of %d bytes", SECKEY_BLOB_SIZE);
		goto out;
	}
	if (memcmp(blob, "Ed", 2) != 0) {
		set_err(reterr_msg, "secret key algorithm is not Ed25519 ('Ed')");
		goto out;
	}
	if (memcmp(blob + 2, "\0\0", 2) != 0) {
		set_err(reterr_msg, "secret key is encrypted; make an unencrypted one "
				    "with 'minisign -G -W' or 'enlighten payload keygen'");
		r = -EOPNOTSUPP;
		goto out;
	}
	if (memcmp(blob + 4, "B2", 2) != 0) {
		set_err(reterr_msg, "secret key checksum algorithm is not BLAKE2b ('B2')");
		goto out;
	}
	p = blob + 2 + 2 + 2 + 32 + 8 + 8;
	memcpy(sk.key_id, p, MINISIGN_KEYID_SIZE);
	memcpy(sk.sk, p + MINISIGN_KEYID_SIZE, MINISIGN_SECKEY_SIZE);
	p += MINISIGN_KEYID_SIZE + MINISIGN_SECKEY_SIZE;
	if (CRYPTO_memcmp(p, zero, 32) != 0) {
		seckey_checksum(&sk, chk);
		if (CRYPTO_memcmp(p, chk, 32) != 0) {
			set_err(reterr_msg,
				"secret key checksum does not match (damaged key file)");
			goto out;
		}
	}
	if (ed25519_public(sk.sk, pk) < 0 || CRYPTO_memcmp(pk, sk.sk + 32, 32) != 0) {
		set_err(reterr_msg, "secret key is inconsistent: its public half does not "
				    "belong to its seed (damaged key file)");
		goto out;
	}
	*ret = sk;
	r = 0;
out:
	OPENSSL_cleanse(blob, sizeof(blob));
	OPENSSL_cleanse(chk, sizeof(chk));
	OPENSSL_cleanse(&sk, sizeof(sk));
	return r;
}

int minisign_seckey_load_at(int dir_fd, const char *path, struct minisign_seckey *ret,
			    char **reterr_msg)
{
	char *text = NULL;
	_cleanup_free_ char *why = NULL;
	size_t n = 0;
	int r = read_small(dir_fd, path, &text, &n);
	if (r < 0)
		return load_error(r, "secret key", path, reterr_msg);
	r = minisign_seckey_parse(text, n, ret, &why);
	OPENSSL_cleanse(text, n);
	free(text);
	if (r < 0)
		set_err(reterr_msg, "secret key '%s': %s", path, why ? why : "malformed");
	return r;
}

int minisign_seckey_format(const struct minisign_seckey *sk, char **ret)
{
	uint8_t blob[SECKEY_BLOB_SIZE] = { 0 };
	uint8_t *p = blob;
	char *b;
	int r = 0;

	memcpy(p, "Ed", 2);
	memcpy(p + 4, "B2", 2); /* kdf "\0\0": unencrypted; salt and limits zero */
	p += 2 + 2 + 2 + 32 + 8 + 8;
	memcpy(p, sk->key_id, MINISIGN_KEYID_SIZE);
	memcpy(p + MINISIGN_KEYID_SIZE, sk->sk, MINISIGN_SECKEY_SIZE);
	seckey_checksum(sk, p + MINISIGN_KEYID_SIZE + MINISIGN_SECKEY_SIZE);
	b = b64_encode(blob, sizeof(blob));
	OPENSSL_cleanse(blob, sizeof(blob));
	if (!b)
		return -ENOMEM;
	if (asprintf(ret, UNTRUSTED_PREFIX "minisign encrypted secret key\n%s\n", b) < 0)
		r = -ENOMEM;
	OPENSSL_cleanse(b, strlen(b));
	free(b);
	return r;
}

int minisign_keygen(struct minisign_seckey *ret_sk, struct minisign_pubkey *ret_pk)
{
	struct minisign_seckey sk;
	int r = 0;

	if (getrandom(sk.sk, 32, 0) != 32 ||
	    getrandom(sk.key_id, MINISIGN_KEYID_SIZE, 0) != MINISIGN_KEYID_SIZE)
		r = -EIO;
	if (r == 0)
		r = ed25519_public(sk.sk, sk.sk + 32);
	if (r == 0) {
		*ret_sk = sk;
		minisign_seckey_public(&sk, ret_pk);
	}
	OPENSSL_cleanse(&sk, sizeof(sk));
	return r;
}

/* ---- signatures --------------------------------------------------------- */

void minisign_sig_free(struct minisign_sig *sig)
{
	if (!sig)
		return;
	free(sig->untrusted_comment);
	free(sig->trusted_comment);
	free(sig);
}

/* One line: no control characters but tabs (minisign separates fields with
 * them). */
static bool comment_ok(const char *s, size_t max)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return strlen(s) <= max;
}

int minisign_sig_parse(const char *text, size_t len, struct minisign_sig **ret, char **reterr_msg)
{
	const char *lines[4];
	size_t lens[4];
	uint8_t blob[SIG_BLOB_SIZE];
	int n = split_lines(text, len, lines, lens, 4);

	if (n != 4) {
		set_err(reterr_msg, "not a minisign signature (want four lines)");
		return -EBADMSG;
	}
	if (lens[0] < strlen(UNTRUSTED_PREFIX) ||
	    strncmp(lines[0], UNTRUSTED_PREFIX, strlen(UNTRUSTED_PREFIX)) != 0 ||
	    lens[0] - strlen(UNTRUSTED_PREFIX) > MINISIGN_COMMENT_MAX) {
		set_err(reterr_msg, "line 1 is not an untrusted comment");
		return -EBADMSG;
	}
	if (lens[2] < strlen(TRUSTED_PREFIX) ||
	    strncmp(lines[2], TRUSTED_PREFIX, strlen(TRUSTED_PREFIX)) != 0 ||
	    lens[2] - strlen(TRUSTED_PREFIX) > MINISIGN_TRUSTED_COMMENT_MAX) {
		set_err(reterr_msg, "line 3 is not a trusted comment (at most %d bytes)",
			MINISIGN_TRUSTED_COMMENT_MAX);
		return -EBADMSG;
	}
	if (b64_decode_exact(lines[1], lens[1], blob, sizeof(blob)) < 0) {
		set_err(reterr_msg, "line 2 is not base64 of a %d-byte signature", SIG_BLOB_SIZE);
		return -EBADMSG;
	}
	bool prehashed;
	if (memcmp(blob, "ED", 2) == 0)
		prehashed = true;
	else if (memcmp(blob, "Ed", 2) == 0)
		prehashed = false;
	else {
		set_err(reterr_msg, "signature algorithm is neither 'ED' nor 'Ed'");
		return -EBADMSG;
	}

	_cleanup_minisig_ struct minisign_sig *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (b64_decode_exact(lines[3], lens[3], s->global_sig, MINISIGN_SIG_SIZE) < 0) {
		set_err(reterr_msg, "line 4 is not base64 of a %d-byte signature",
			MINISIGN_SIG_SIZE);
		return -EBADMSG;
	}
	s->prehashed = prehashed;
	memcpy(s->key_id, blob + 2, MINISIGN_KEYID_SIZE);
	memcpy(s->sig, blob + 2 + MINISIGN_KEYID_SIZE, MINISIGN_SIG_SIZE);
	s->untrusted_comment =
		strndup(lines[0] + strlen(UNTRUSTED_PREFIX), lens[0] - strlen(UNTRUSTED_PREFIX));
	s->trusted_comment =
		strndup(lines[2] + strlen(TRUSTED_PREFIX), lens[2] - strlen(TRUSTED_PREFIX));
	if (!s->untrusted_comment || !s->trusted_comment)
		return -ENOMEM;
	/* A control byte (a CR kept before the line end, an escape sequence)
	 * would not survive a format and parse, and verify prints the comment. */
	if (!comment_ok(s->untrusted_comment, MINISIGN_COMMENT_MAX)) {
		set_err(reterr_msg, "line 1: the untrusted comment has a control character");
		return -EBADMSG;
	}
	if (!comment_ok(s->trusted_comment, MINISIGN_TRUSTED_COMMENT_MAX)) {
		set_err(reterr_msg, "line 3: the trusted comment has a control character");
		return -EBADMSG;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

int minisign_sig_load_at(int dir_fd, const char *path, struct minisign_sig **ret, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *why = NULL;
	size_t n;
	int r = read_small(dir_fd, path, &text, &n);
	if (r < 0)
		return load_error(r, "signature", path, reterr_msg);
	r = minisign_sig_parse(text, n, ret, &why);
	if (r < 0)
		set_err(reterr_msg, "signature '%s': %s", path, why ? why : "malformed");
	return r;
}

int minisign_sig_format(const struct minisign_sig *sig, char **ret)
{
	uint8_t blob[SIG_BLOB_SIZE];

	memcpy(blob, sig->prehashed ? "ED" : "Ed", 2);
	memcpy(blob + 2, sig->key_id, MINISIGN_KEYID_SIZE);
	memcpy(blob + 2 + MINISIGN_KEYID_SIZE, sig->sig, MINISIGN_SIG_SIZE);
	_cleanup_free_ char *b1 = b64_encode(blob, sizeof(blob));
	_cleanup_free_ char *b2 = b64_encode(sig->global_sig, MINISIGN_SIG_SIZE);
	if (!b1 || !b2)
		return -ENOMEM;
	if (asprintf(ret, UNTRUSTED_PREFIX "%s\n%s\n" TRUSTED_PREFIX "%s\n%s\n",
		     sig->untrusted_comment, b1, sig->trusted_comment, b2) < 0)
		return -ENOMEM;
	return 0;
}

/* Builds the signature from a prehash; the message signed is the prehash. */
static int sign_prehash(const struct minisign_seckey *sk, const uint8_t h[PREHASH_SIZE],
			const char *untrusted_comment, const char *trusted_comment,
			struct minisign_sig **ret)
{
	_cleanup_free_ char *tc_default = NULL;
	int r;

	if (!trusted_comment) {
		if (asprintf(&tc_default, "timestamp:%lld\thashed", (long long)time(NULL)) < 0)
			return -ENOMEM;
		trusted_comment = tc_default;
	}
	if (!untrusted_comment)
		untrusted_comment = "signature from minisign secret key";
	if (!comment_ok(untrusted_comment, MINISIGN_COMMENT_MAX) ||
	    !comment_ok(trusted_comment, MINISIGN_TRUSTED_COMMENT_MAX))
		return -EINVAL;

	_cleanup_minisig_ struct minisign_sig *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->prehashed = true;
	memcpy(s->key_id, sk->key_id, MINISIGN_KEYID_SIZE);
	s->untrusted_comment = strdup(untrusted_comment);
	s->trusted_comment = strdup(trusted_comment);
	if (!s->untrusted_comment || !s->trusted_comment)
		return -ENOMEM;
	r = ed25519_sign(sk->sk, h, PREHASH_SIZE, s->sig);
	if (r < 0)
		return r;

	size_t tl = strlen(trusted_comment);
	_cleanup_free_ uint8_t *g = malloc(MINISIGN_SIG_SIZE + tl);
	if (!g)
		return -ENOMEM;
	memcpy(g, s->sig, MINISIGN_SIG_SIZE);
	memcpy(g + MINISIGN_SIG_SIZE, trusted_comment, tl);
	r = ed25519_sign(sk->sk, g, MINISIGN_SIG_SIZE + tl, s->global_sig);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int minisign_sign_fd(const struct minisign_seckey *sk, int fd, const char *untrusted_comment,
		     const char *trusted_comment, struct minisign_sig **ret)
{
	uint8_t h[PREHASH_SIZE];
	int r = prehash_fd(fd, UINT64_MAX, h);
	if (r < 0)
		return r;
	return sign_prehash(sk, h, untrusted_comment, trusted_comment, ret);
}

int minisign_sign_buffer(const struct minisign_seckey *sk, const void *p, size_t n,
			 const char *untrusted_comment, const char *trusted_comment,
			 struct minisign_sig **ret)
{
	uint8_t h[PREHASH_SIZE];
	int r = prehash_buffer(p, n, h);
	if (r < 0)
		return r;
	return sign_prehash(sk, h, untrusted_comment, trusted_comment, ret);
}

/* Checks key id, the signature over msg, and the global signature. */
static int verify_message(const struct minisign_pubkey *pk, const struct minisign_sig *sig,
			  const void *msg, size_t n, char **reterr_msg)
{
	char want[MINISIGN_KEYID_HEX_SIZE], got[MINISIGN_KEYID_HEX_SIZE];
	int r;

	if (memcmp(pk->key_id, sig->key_id, MINISIGN_KEYID_SIZE) != 0) {
		minisign_key_id_hex(pk->key_id, want);
		minisign_key_id_hex(sig->key_id, got);
		set_err(reterr_msg, "signed by key %s, but the public key is %s", got, want);
		return -ENOKEY;
	}
	r = ed25519_verify(pk->pk, msg, n, sig->sig);
	if (r < 0)
		return r;
	if (r == 0) {
		set_err(reterr_msg, "signature does not match the file (file changed or forged)");
		return -EKEYREJECTED;
	}

	size_t tl = strlen(sig->trusted_comment);
	_cleanup_free_ uint8_t *g = malloc(MINISIGN_SIG_SIZE + tl);
	if (!g)
		return -ENOMEM;
	memcpy(g, sig->sig, MINISIGN_SIG_SIZE);
	memcpy(g + MINISIGN_SIG_SIZE, sig->trusted_comment, tl);
	r = ed25519_verify(pk->pk, g, MINISIGN_SIG_SIZE + tl, sig->global_sig);
	if (r < 0)
		return r;
	if (r == 0) {
		set_err(reterr_msg, "trusted comment signature does not match (comment changed)");
		return -EKEYREJECTED;
	}
	return 0;
}

int minisign_verify_buffer(const struct minisign_pubkey *pk, const struct minisign_sig *sig,
			   const void *p, size_t n, char **reterr_msg)
{
	uint8_t h[PREHASH_SIZE];
	if (!sig->prehashed)
		return verify_message(pk, sig, p, n, reterr_msg);
	int r = prehash_buffer(p, n, h);
	if (r < 0)
		return r;
	return verify_message(pk, sig, h, sizeof(h), reterr_msg);
}

int minisign_verify_fd(const struct minisign_pubkey *pk, const struct minisign_sig *sig, int fd,
		       uint64_t max, char **reterr_msg)
{
	uint8_t h[PREHASH_SIZE];
	int r;

	if (!sig->prehashed) {
		_cleanup_free_ char *buf = NULL;
		size_t n;
		r = fs_read_fd(fd, max, &buf, &n);
		if (r < 0)
			return r;
		return verify_message(pk, sig, buf, n, reterr_msg);
	}
	r = prehash_fd(fd, max, h);
	if (r < 0)
		return r;
	return verify_message(pk, sig, h, sizeof(h), reterr_msg);
}
