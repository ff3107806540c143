/* SPDX-License-Identifier: MIT */
/*
 * verbs.h - the enlighten CLI's verbs. Each verb lives in builder/cmd-NAME.c
 * as cmd_NAME() and has one row in the table in builder/main.c.
 * A verb gets argv with argv[0] = its name; it returns an exit code.
 */
#pragma once

#include "lib/basic/cli.h" /* struct verb, verb_dispatch() */

int cmd_boot_test(int argc, char *argv[]);
int cmd_help(int argc, char *argv[]);
int cmd_payload(int argc, char *argv[]);
int cmd_build(int argc, char *argv[]);
int cmd_inspect(int argc, char *argv[]);
int cmd_deploy(int argc, char *argv[]);

/* `enlighten payload` subverbs (table in builder/cmd-payload.c). */
int cmd_payload_keygen(int argc, char *argv[]);
int cmd_payload_sign(int argc, char *argv[]);
int cmd_payload_verify(int argc, char *argv[]);
int cmd_payload_index(int argc, char *argv[]);
int cmd_payload_list(int argc, char *argv[]);

int cmd_fetch(int argc, char *argv[]);
int cmd_install(int argc, char *argv[]);
int cmd_portal(int argc, char *argv[]);
int cmd_wim(int argc, char *argv[]);

/* The portal client's catalog and fetch (builder/portal/client.h) with what
 * they say logged, for `fetch` and `install` (builder/cmd-fetch.c); each
 * returns 0 or -errno (logged). */
struct portal_client;
struct catalog_payload;
int portal_catalog_logged(struct portal_client *pc);
int portal_fetch_logged(struct portal_client *pc, const struct catalog_payload *const *sel,
			size_t n_sel, const char *dest);

/* The table, for `enlighten help`. */
extern const struct verb enlighten_verbs[];
extern const unsigned enlighten_n_verbs;
