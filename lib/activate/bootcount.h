/* SPDX-License-Identifier: MIT */
/*
 * bootcount.h - the agent's host-only boot entry under the Boot Loader
 * Specification's boot counting.
 *
 * Beside the image's entry loader/entries/NAME.conf, which keeps the
 * generic initrd and boots on every hypervisor, the agent writes
 * NAME-enlighten-hostonly+3.conf for the host-only initrd. systemd-boot
 * counts a try down each time it starts that entry (+3, +2-1, +1-2, +0-3)
 * and sorts an entry without tries left after all the others, so loader.conf's
 * `default NAME*` picks the host-only entry while it has tries and NAME.conf
 * once it has none: a host-only initrd that cannot boot (the machine moved
 * to another hypervisor) costs three failed boots, not a human. A boot from
 * the host-only entry that reaches the agent resets its count (the kernel
 * command line carries BOOTCOUNT_MARKER), so the entry stays counted for
 * the next move instead of being marked good for ever.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define BOOTCOUNT_TRIES 3
#define BOOTCOUNT_HOSTONLY_SUFFIX "-enlighten-hostonly"
/* on the host-only entry's command line: which entry booted */
#define BOOTCOUNT_MARKER "enlighten.initrd=host-only"
/* keeps systemd-bless-boot from marking the host-only entry good for ever
 * (it would drop the counter); the agent resets the count itself */
#define BOOTCOUNT_BLESS_DROPIN "etc/systemd/system/systemd-bless-boot.service.d/enlighten.conf"

/* A counted entry name "STEM+LEFT[-DONE].conf": returns 1 and the stem's
 * length and both counters, or 0 when name has no (valid) counter. */
int bootcount_parse(const char *name, size_t *ret_stem_len, unsigned *ret_left, unsigned *ret_done);

/* Whether a file name in loader/entries is a host-only entry of the agent. */
bool bootcount_is_hostonly(const char *name);

/* The host-only entry's path without counter and ".conf", for the entry
 * path "DIR/NAME.conf": "DIR/NAME-enlighten-hostonly". */
char *bootcount_hostonly_stem(const char *entry);

/* The path of the host-only entry with a full count: STEM+3.conf. */
char *bootcount_hostonly_path(const char *entry);

/* The files of the host-only entry for entry beneath the root (any counter,
 * or none), as paths beneath the root, in name order; an empty strv when
 * there is none. */
int bootcount_hostonly_files(int root_fd, const char *entry, char ***ret);

/* The tries the host-only entry has left: BOOTCOUNT_TRIES when there is
 * one without a counter (marked good by someone), -ENOENT when there is
 * none. With several files (a crash between two writes), the first. */
int bootcount_hostonly_left(int root_fd, const char *entry);

/* ESP/loader/loader.conf for the entry ESP/loader/entries/NAME.conf. */
char *bootcount_loader_conf_path(const char *entry);

/* The host-only entry's text from the entry's (generic_text): the initrd
 * initrd, the options without any of remove and with add, BOOTCOUNT_MARKER
 * and "rd.shell=0 rd.emergency=reboot panic=10" (a host-only initrd that
 * finds no root reboots, dracut's way, and so does a kernel that panics, so
 * the next try or the generic entry follows), the title marked, and a sort-key that puts it
 * before the entry (unless the entry has a sort-key of its own: then it
 * sorts after it, and stays out of the way). */
char *bootcount_hostonly_entry(const char *generic_text, const char *initrd, char *const *remove,
			       char *const *add);

/* The loader.conf text with `default` set to the glob that picks the
 * host-only entry while it has tries and the entry itself after it:
 * "NAME*" (lowercase, as systemd-boot compares). Only when the default is
 * the entry itself or there is none; a default naming anything else (a Xen
 * entry, Windows) is kept. Returns a copy of text when nothing changes. */
char *bootcount_loader_conf(const char *text, const char *entry);

/* After a boot from the host-only entry (cmdline has BOOTCOUNT_MARKER):
 * renames its file to a full count again (STEM+3.conf). Returns 1 and the
 * new name when it renamed, 0 when there was nothing to do, or -errno. */
int bootcount_reset(int root_fd, const char *cmdline, char **ret_path);
