/* SPDX-License-Identifier: MIT */
/*
 * cmd-payload-keygen.c - `enlighten payload keygen --out PREFIX`: a minisign
 * key pair, PREFIX.key (unencrypted, mode 0600) and PREFIX.pub.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/fs.h"
#include "lib/basic/log.h"
#include "lib/basic/string-util.h"
#include "lib/trust/minisign.h"

static int keygen_help(void)
{
	printf("Usage: enlighten payload keygen --out PREFIX [--force]\n"
	       "\n"
	       "Make a minisign key pair: PREFIX.key (secret, unencrypted, mode 0600) and\n"
	       "PREFIX.pub, in the formats of 'minisign -G -W'.\n"
	       "\n"
	       "Options:\n"
	       "  -o, --out PREFIX   where to write the two files\n"
	       "  -f, --force        replace existing files\n"
	       "  -h, --help         show this help\n");
	return EXIT_OK;
}

static int write_new(const char *path, const char *text, mode_t mode, bool force)
{
	if (!force && access(path, F_OK) == 0)
		return log_error_errno(EEXIST, "'%s' exists; use --force to replace it", path);
	int r = fs_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), mode);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %m", path);
	return 0;
}

int cmd_payload_keygen(int argc, char *argv[])
{
	static const struct option options[] = { { "out", required_argument, NULL, 'o' },
						 { "force", no_argument, NULL, 'f' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	const char *prefix = NULL;
	bool force = false;
	int c, r;

	while ((c = cli_getopt(argc, argv, "o:fh", options, "enlighten payload keygen")) >= 0)
		switch (c) {
		case 'o':
			prefix = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			return keygen_help();
		default:
			return EXIT_USAGE;
		}
	if (!prefix || optind != argc) {
		log_error("usage: enlighten payload keygen --out PREFIX");
		return EXIT_USAGE;
	}

	_cleanup_seckey_ struct minisign_seckey sk;
	struct minisign_pubkey pk;
	_cleanup_free_ char *keyfile = strjoin(prefix, ".key");
	_cleanup_free_ char *pubfile = strjoin(prefix, ".pub");
	_cleanup_free_ char *pubtext = NULL;
	char *sktext = NULL;
	char id[MINISIGN_KEYID_HEX_SIZE];

	if (!keyfile || !pubfile)
		return log_oom(), EXIT_USAGE;
	r = minisign_keygen(&sk, &pk);
	if (r < 0)
		return log_error_errno(r, "cannot make a key pair: %m"), EXIT_USAGE;
	r = minisign_seckey_format(&sk, &sktext);
	if (r >= 0)
		r = minisign_pubkey_format(&pk, &pubtext);
	if (r < 0) {
		free(sktext);
		return log_oom(), EXIT_USAGE;
	}
	r = write_new(keyfile, sktext, 0600, force);
	OPENSSL_cleanse(sktext, strlen(sktext));
	free(sktext);
	if (r < 0)
		return EXIT_USAGE;
	if (write_new(pubfile, pubtext, 0644, force) < 0)
		return EXIT_USAGE;
	minisign_key_id_hex(pk.key_id, id);
	printf("key %s: secret key '%s', public key '%s'\n", id, keyfile, pubfile);
	return EXIT_OK;
}
