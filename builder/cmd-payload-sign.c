/* SPDX-License-Identifier: MIT */
/*
 * cmd-payload-sign.c - `enlighten payload sign --key FILE catalog.json`:
 * checks that the file is a valid catalog, then writes FILE.minisig beside
 * it (prehashed Ed25519, minisign's format).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/fs.h"
#include "lib/basic/log.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"
#include "lib/trust/minisign.h"

static int sign_help(void)
{
	printf("Usage: enlighten payload sign --key FILE [--trusted-comment TEXT] CATALOG\n"
	       "\n"
	       "Sign a catalog: writes CATALOG.minisig, which 'minisign -V' accepts too.\n"
	       "The catalog is checked first; an invalid one is not signed.\n"
	       "\n"
	       "Options:\n"
	       "  -k, --key FILE               secret key ('enlighten payload keygen' or\n"
	       "                               'minisign -G -W')\n"
	       "  -t, --trusted-comment TEXT   signed comment (default: timestamp and file)\n"
	       "  -h, --help                   show this help\n");
	return EXIT_OK;
}

int cmd_payload_sign(int argc, char *argv[])
{
	static const struct option options[] = { { "key", required_argument, NULL, 'k' },
						 { "trusted-comment", required_argument, NULL,
						   't' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	const char *keyfile = NULL, *tc = NULL;
	int c, r;

	while ((c = cli_getopt(argc, argv, "k:t:h", options, "enlighten payload sign")) >= 0)
		switch (c) {
		case 'k':
			keyfile = optarg;
			break;
		case 't':
			tc = optarg;
			break;
		case 'h':
			return sign_help();
		default:
			return EXIT_USAGE;
		}
	if (!keyfile || optind + 1 != argc) {
		log_error("usage: enlighten payload sign --key FILE CATALOG");
		return EXIT_USAGE;
	}
	const char *path = argv[optind];

	_cleanup_seckey_ struct minisign_seckey sk;
	_cleanup_free_ char *err = NULL, *buf = NULL, *tc_default = NULL, *text = NULL;
	_cleanup_free_ char *sigpath = strjoin(path, ".minisig");
	_cleanup_catalog_ struct catalog *cat = NULL;
	_cleanup_minisig_ struct minisign_sig *sig = NULL;
	size_t len;

	if (!sigpath)
		return log_oom(), EXIT_USAGE;
	r = minisign_seckey_load_at(AT_FDCWD, keyfile, &sk, &err);
	if (r < 0)
		return log_error("%s", err ? err : "cannot load the secret key"), EXIT_USAGE;

	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_error_errno(errno, "cannot open '%s': %m", path), EXIT_NO;
	r = fs_read_fd(fd, CATALOG_MAX_SIZE, &buf, &len);
	if (r == -EFBIG)
		return log_error("'%s' is larger than %u bytes; not a catalog", path,
				 CATALOG_MAX_SIZE),
		       EXIT_NO;
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %m", path), EXIT_NO;
	r = catalog_parse(buf, len, &cat, &err);
	if (r < 0)
		return log_error("'%s': %s; not signed", path, err ? err : "invalid catalog"),
		       EXIT_NO;

	if (!tc) {
		const char *base = strrchr(path, '/');
		if (asprintf(&tc_default, "timestamp:%lld\tfile:%s\thashed", (long long)time(NULL),
			     base ? base + 1 : path) < 0)
			return log_oom(), EXIT_USAGE;
		tc = tc_default;
	}
	r = minisign_sign_buffer(&sk, buf, len, NULL, tc, &sig);
	if (r == -EINVAL)
		return log_error("the trusted comment must be one line of printable text"),
		       EXIT_USAGE;
	if (r < 0)
		return log_error_errno(r, "cannot sign '%s': %m", path), EXIT_USAGE;
	r = minisign_sig_format(sig, &text);
	if (r < 0)
		return log_oom(), EXIT_USAGE;
	r = fs_write_file_atomic_at(AT_FDCWD, sigpath, text, strlen(text), 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %m", sigpath), EXIT_USAGE;
	log_info("signed '%s' version %llu: '%s'", path, (unsigned long long)cat->version, sigpath);
	return EXIT_OK;
}
