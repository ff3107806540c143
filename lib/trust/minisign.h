/* SPDX-License-Identifier: MIT */
/*
 * minisign.h - minisign's key and signature files, read and written with
 * OpenSSL (Ed25519, BLAKE2b-512). Files made here verify with the minisign
 * tool and the reverse; docs/minisign.md describes the formats.
 *
 *   public key   "untrusted comment: ...\n" base64("Ed" keyid[8] pk[32]) "\n"
 *   secret key   "untrusted comment: ...\n" base64("Ed" kdf[2] "B2" salt[32]
 *                opslimit[8] memlimit[8] keyid[8] sk[64] chk[32]) "\n"
 *                (unencrypted only, kdf "\0\0", as `minisign -G -W` writes)
 *   signature    "untrusted comment: ...\n" base64(alg[2] keyid[8] sig[64]) "\n"
 *                "trusted comment: ...\n" base64(global_sig[64]) "\n"
 *
 * alg "ED": sig = Ed25519(BLAKE2b-512(file)); "Ed" (legacy): sig over the
 * file itself. global_sig = Ed25519(sig || trusted comment). Both are
 * checked on verification.
 *
 * Errors: -EBADMSG for a malformed file, -ENOKEY when a signature was made
 * by another key (key ids differ), -EKEYREJECTED when a signature or the
 * trusted comment's signature does not verify, -EFBIG for an oversized
 * input. Where a reterr_msg is taken it says what, in words.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MINISIGN_KEYID_SIZE 8
#define MINISIGN_PUBKEY_SIZE 32
#define MINISIGN_SECKEY_SIZE 64 /* Ed25519 seed || public key, as libsodium keeps it */
#define MINISIGN_SIG_SIZE 64
#define MINISIGN_COMMENT_MAX 1024
#define MINISIGN_TRUSTED_COMMENT_MAX 8192
#define MINISIGN_FILE_MAX 16384 /* any key or signature file is far smaller */
#define MINISIGN_KEYID_HEX_SIZE 17

struct minisign_pubkey {
	uint8_t key_id[MINISIGN_KEYID_SIZE];
	uint8_t pk[MINISIGN_PUBKEY_SIZE];
};

/* Holds the secret: wipe it with minisign_seckey_wipe (or the cleanup). */
struct minisign_seckey {
	uint8_t key_id[MINISIGN_KEYID_SIZE];
	uint8_t sk[MINISIGN_SECKEY_SIZE];
};

struct minisign_sig {
	bool prehashed; /* "ED" rather than the legacy "Ed" */
	uint8_t key_id[MINISIGN_KEYID_SIZE];
	uint8_t sig[MINISIGN_SIG_SIZE];
	uint8_t global_sig[MINISIGN_SIG_SIZE];
	char *untrusted_comment;
	char *trusted_comment;
};

/* The key id as minisign prints it: 16 upper-case hex digits of the
 * little-endian number. */
void minisign_key_id_hex(const uint8_t id[MINISIGN_KEYID_SIZE], char out[MINISIGN_KEYID_HEX_SIZE]);

/* Parses a public key file's text, or the bare base64 line. */
int minisign_pubkey_parse(const char *text, size_t len, struct minisign_pubkey *ret,
			  char **reterr_msg);
/* Reads and parses path beneath dir_fd (AT_FDCWD: a plain path). */
int minisign_pubkey_load_at(int dir_fd, const char *path, struct minisign_pubkey *ret,
			    char **reterr_msg);
/* The file text, malloc'ed. */
int minisign_pubkey_format(const struct minisign_pubkey *pk, char **ret);

/* Parses an unencrypted secret key file. The checksum is verified when set
 * (minisign 0.11 -W leaves it zero), and so is the public half of sk
 * against its seed. An encrypted key gives -EOPNOTSUPP. */
int minisign_seckey_parse(const char *text, size_t len, struct minisign_seckey *ret,
			  char **reterr_msg);
int minisign_seckey_load_at(int dir_fd, const char *path, struct minisign_seckey *ret,
			    char **reterr_msg);
/* The file text (with the checksum), malloc'ed; wipe and free it after use. */
int minisign_seckey_format(const struct minisign_seckey *sk, char **ret);
void minisign_seckey_wipe(struct minisign_seckey *sk);
#define _cleanup_seckey_ __attribute__((__cleanup__(minisign_seckey_wipe)))

/* A fresh key pair and random key id. */
int minisign_keygen(struct minisign_seckey *ret_sk, struct minisign_pubkey *ret_pk);
/* The public key of a secret key. */
void minisign_seckey_public(const struct minisign_seckey *sk, struct minisign_pubkey *ret);

/* Parses a .minisig file's text (four lines). */
int minisign_sig_parse(const char *text, size_t len, struct minisign_sig **ret, char **reterr_msg);
int minisign_sig_load_at(int dir_fd, const char *path, struct minisign_sig **ret,
			 char **reterr_msg);
void minisign_sig_free(struct minisign_sig *sig);
static inline void minisign_sig_freep(struct minisign_sig **s)
{
	minisign_sig_free(*s);
}
#define _cleanup_minisig_ __attribute__((__cleanup__(minisign_sig_freep)))
/* The .minisig text, malloc'ed. */
int minisign_sig_format(const struct minisign_sig *sig, char **ret);

/* Signs (prehashed "ED") the bytes of fd from its offset to EOF, or a buffer.
 * NULL comments give minisign's defaults. Comments must be one line each. */
int minisign_sign_fd(const struct minisign_seckey *sk, int fd, const char *untrusted_comment,
		     const char *trusted_comment, struct minisign_sig **ret);
int minisign_sign_buffer(const struct minisign_seckey *sk, const void *p, size_t n,
			 const char *untrusted_comment, const char *trusted_comment,
			 struct minisign_sig **ret);

/* Verifies a signature over a buffer, or over fd from its offset to EOF
 * (a legacy "Ed" signature over fd reads at most max bytes, else -EFBIG). */
int minisign_verify_buffer(const struct minisign_pubkey *pk, const struct minisign_sig *sig,
			   const void *p, size_t n, char **reterr_msg);
int minisign_verify_fd(const struct minisign_pubkey *pk, const struct minisign_sig *sig, int fd,
		       uint64_t max, char **reterr_msg);
