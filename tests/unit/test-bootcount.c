/* SPDX-License-Identifier: MIT */
/*
 * test-bootcount.c - the host-only entry's counted file names as
 * systemd-boot reads them, loader.conf's default, the entry's text, and the
 * reset of the count after a boot from it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/activate/bootcount.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

static void test_parse(void)
{
	size_t n = 0;
	unsigned left = 9, done = 9;
	is_int(bootcount_parse("a-enlighten-hostonly+3.conf", &n, &left, &done), 1, "parse +3");
	ok(n == 20 && left == 3 && done == 0, "... stem, 3 left, 0 done");
	is_int(bootcount_parse("a+b+0-3.conf", &n, &left, &done), 1, "parse the last '+'");
	ok(n == 3 && left == 0 && done == 3, "... stem 'a+b', 0 left, 3 done");
	is_int(bootcount_parse("a+3x.conf", &n, &left, &done), 0, "a counter in the middle: none");
	is_int(bootcount_parse("a+.conf", &n, &left, &done), 0, "no digits: none");
	is_int(bootcount_parse("a+3-.conf", &n, &left, &done), 0, "a '-' without digits: none");
	is_int(bootcount_parse("a.conf", &n, &left, &done), 0, "no '+': none");
	is_int(bootcount_parse("a+99999999999.conf", &n, &left, &done), 0, "too large: none");

	ok(bootcount_is_hostonly("base-enlighten-hostonly+1-2.conf"), "a counted host-only entry");
	ok(bootcount_is_hostonly("base-enlighten-hostonly.conf"), "one marked good");
	ok(!bootcount_is_hostonly("base.conf"), "the entry itself is not");
	ok(!bootcount_is_hostonly("base-enlighten-hostonly+1-2.conf.bak"), "nor another file");
}

static void test_names(void)
{
	_cleanup_free_ char *stem = bootcount_hostonly_stem("boot/efi/loader/entries/base.conf");
	_cleanup_free_ char *full = bootcount_hostonly_path("boot/efi/loader/entries/base.conf");
	_cleanup_free_ char *lc = bootcount_loader_conf_path("boot/efi/loader/entries/base.conf");
	is_str(stem, "boot/efi/loader/entries/base-enlighten-hostonly", "the stem");
	is_str(full, "boot/efi/loader/entries/base-enlighten-hostonly+3.conf", "with a full count");
	is_str(lc, "boot/efi/loader/loader.conf", "loader.conf beside the entries");
}

static void test_loader_conf(void)
{
	_cleanup_free_ char *a = bootcount_loader_conf("timeout 0\ndefault Base.conf\neditor no\n",
						       "e/loader/entries/Base.conf");
	_cleanup_free_ char *b = bootcount_loader_conf(NULL, "e/loader/entries/base.conf");
	_cleanup_free_ char *c =
		bootcount_loader_conf("default base-xen.conf\n", "e/loader/entries/base.conf");
	_cleanup_free_ char *d = bootcount_loader_conf(a, "e/loader/entries/Base.conf");
	is_str(a, "timeout 0\ndefault base*\neditor no\n",
	       "the entry as default: a glob, lowercase as systemd-boot compares");
	is_str(b, "default base*\n", "no loader.conf: one with the glob");
	is_str(c, "default base-xen.conf\n", "another default is kept");
	is_str(d, a, "the glob itself is kept");
}

static void test_entry(void)
{
	const char *generic = "title Linux\nversion 6\nlinux /6/linux\ninitrd /6/initrd\n"
			      "options root=X rw xen_emul_unplug=ide-disks,nics\n";
	char *remove[] = { "xen_emul_unplug", "console", NULL }, *add[] = { "console=hvc0", NULL };
	_cleanup_free_ char *e =
		bootcount_hostonly_entry(generic, "/6/initrd-enlighten", remove, add);
	is_str(e,
	       "title Linux (host-only initrd)\nversion 6\nlinux /6/linux\n"
	       "initrd /6/initrd-enlighten\n"
	       "options root=X rw console=hvc0 enlighten.initrd=host-only rd.shell=0 "
	       "rd.emergency=reboot panic=10\n"
	       "sort-key enlighten-hostonly\n",
	       "the host-only entry: its initrd, the profile's arguments, the marker, a "
	       "reboot on failure, sorted before the entry");
	_cleanup_free_ char *k =
		bootcount_hostonly_entry("title L\nsort-key debian\nlinux /l\n", "/i", NULL, NULL);
	ok(k && !strstr(k, "enlighten-hostonly"), "an entry with its own sort-key: none added");
}

static void test_reset(void)
{
	char *cmd_no = "root=X rw", *cmd = "root=X rw enlighten.initrd=host-only panic=10";
	mkdir("etc", 0755);
	tap_write("etc/fstab", "UUID=1 /boot/efi vfat defaults 0 2\n");
	mkdir("boot", 0755);
	mkdir("boot/efi", 0755);
	mkdir("boot/efi/loader", 0755);
	mkdir("boot/efi/loader/entries", 0755);
	tap_write("boot/efi/loader/entries/base.conf", "linux /l\n");
	tap_write("boot/efi/loader/entries/base-enlighten-hostonly+1-2.conf", "linux /l\n");
	int root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *path = NULL;
	is_int(bootcount_reset(root, cmd_no, &path), 0, "booted from another entry: no reset");
	ok(access("boot/efi/loader/entries/base-enlighten-hostonly+1-2.conf", F_OK) == 0,
	   "... the count as systemd-boot left it");
	is_int(bootcount_reset(root, cmd, &path), 1, "booted from the host-only entry: reset");
	is_str(path, "boot/efi/loader/entries/base-enlighten-hostonly+3.conf", "... to +3");
	ok(access("boot/efi/loader/entries/base-enlighten-hostonly+1-2.conf", F_OK) < 0,
	   "... the old name gone");
	is_int(bootcount_hostonly_left(root, "boot/efi/loader/entries/base.conf"), 3,
	       "... 3 tries left");
	free(path);
	path = NULL;
	is_int(bootcount_reset(root, cmd, &path), 0, "a full count: nothing to do");
	close(root);
}

int main(void)
{
	tap_tmpdir();
	test_parse();
	test_names();
	test_loader_conf();
	test_entry();
	test_reset();
	return tap_done();
}
