/* SPDX-License-Identifier: MIT */
/*
 * test-disk-check.c - boot-test's look at a powered-off guest's disk
 * (checks.h: guest_check_disk), for identities without the QEMU guest agent.
 * A small raw disk is made here: a GPT with a root partition whose ext4
 * holds what a guest leaves after the agent activated a profile: os-release,
 * the profile matrix, a service's enabling link and a unit it pulls in, the
 * agent's modules-load.d file, dpkg's status and report.json. The files
 * are stand-ins written here (no package was installed). Then each way the
 * disk can disagree with the profile must show as a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/boot-test/checks.h"
#include "builder/image/fs-ext4.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "tests/unit/root-disk.h"
#include "tests/unit/tap.h"

#define MIB (1024ULL * 1024ULL)

static const char profile[] = "[Match]\n"
			      "Hypervisor=vmware\n"
			      "[Linux]\n"
			      "Modules=vmw_balloon vmxnet3\n"
			      "Services=vmtoolsd.service\n"
			      "Packages=open-vm-tools\n"
			      "RemovePackages=qemu-guest-agent\n"
			      "[Debian]\n"
			      "Services=open-vm-tools.service vgauth.service\n";

enum variant {
	GOOD,
	DRIFT,	/* a module not listed, vgauth not pulled in, a removed package back */
	FAILED, /* report.json says the run failed */
};

struct file {
	const char *path, *text;
};

static int write_files(struct ext4 *e, enum variant v)
{
	const char *status =
		v == DRIFT ? "Package: open-vm-tools\nStatus: install ok installed\n\n"
			     "Package: qemu-guest-agent\nStatus: install ok installed\n"
			   : "Package: open-vm-tools\nStatus: install ok installed\n\n"
			     "Package: qemu-guest-agent\nStatus: deinstall ok config-files\n";
	const struct file files[] = {
		{ "etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n" },
		{ "usr/share/enlighten/payloads/profiles/vmware-guest.conf", profile },
		{ "lib/systemd/system/open-vm-tools.service",
		  v == DRIFT ? "[Unit]\nDescription=x\n" : "[Unit]\nRequires=vgauth.service\n" },
		{ "lib/systemd/system/vgauth.service", "[Unit]\nDescription=y\n" },
		{ "etc/modules-load.d/enlighten.conf",
		  v == DRIFT ? "# generated\nvmw_balloon\n"
			     : "# generated\nvmw_balloon\nvmxnet3\n" },
		{ "var/lib/dpkg/status", status },
		{ "var/lib/enlighten/report.json",
		  v == FAILED ? "{\"result\":\"failed\",\"errors\":[\"dpkg: exit 1\"]}"
			      : "{\"result\":\"complete\",\"previous\":\"kvm-guest\",\"changes\":["
				"\"packages: install [open-vm-tools]\"]}" },
	};
	static const char *const dirs[] = {
		"etc/modules-load.d", "etc/systemd/system/multi-user.target.wants",
		"lib/systemd/system", "usr/share/enlighten/payloads/profiles",
		"var/lib/dpkg",	      "var/lib/enlighten"
	};
	int r = 0;
	for (size_t i = 0; i < ELEMENTSOF(dirs) && r >= 0; i++)
		r = ext4_mkdir_p(e, dirs[i], 0755);
	for (size_t i = 0; i < ELEMENTSOF(files) && r >= 0; i++)
		r = ext4_write_file(e, files[i].path, files[i].text, strlen(files[i].text), 0644);
	if (r >= 0)
		r = ext4_symlink(e,
				 "etc/systemd/system/multi-user.target.wants/open-vm-tools.service",
				 "/lib/systemd/system/open-vm-tools.service");
	return r;
}

static int make_disk(const char *path, enum variant v)
{
	struct ext4 *e = NULL;
	int r = root_disk_make(path, &e);
	if (r < 0)
		return r;
	r = write_files(e, v);
	int q = ext4_close(e);
	return r < 0 ? r : q;
}

static const struct guest_item *item(const struct guest_report *g, const char *name)
{
	for (unsigned i = 0; i < g->n_items; i++)
		if (streq(g->items[i].name, name))
			return &g->items[i];
	return NULL;
}

static void is_item(const struct guest_report *g, const char *name, enum guest_state state,
		    const char *detail)
{
	const struct guest_item *it = item(g, name);
	ok(it && it->state == state && strstr(it->detail, detail), "%s: %s (%s)", name, detail,
	   it ? it->detail : "no such item");
}

int main(void)
{
	const struct guest_expect want = { .profile = "vmware-guest" };
	struct guest_report g = {};
	tap_tmpdir();
	char *dir = get_current_dir_name();
	if (access("/usr/bin/qemu-img", X_OK) != 0) {
		printf("1..0 # SKIP qemu-img missing\n");
		return 0;
	}

	ok(make_disk("good.raw", GOOD) == 0, "a guest's disk after vmware-guest was activated");
	is_int(guest_check_disk("good.raw", "raw", dir, &want, &g), 0, "read");
	ok(g.pass && g.reached && g.from_disk, "it passes, read from the disk (%s)",
	   g.problem ?: "no problem");
	is_str(g.os, "Debian GNU/Linux 12 (bookworm)", "the system named from os-release");
	is_item(&g, "open-vm-tools.service", GUEST_OK,
		"enabled (linked in /etc/systemd/system/multi-user.target.wants; running not seen");
	is_item(&g, "vgauth.service", GUEST_OK, "pulled in by open-vm-tools.service");
	ok(!item(&g, "vmtoolsd.service"), "the Debian names of the services, not SUSE's");
	is_item(&g, "vmxnet3", GUEST_OK, "listed in /etc/modules-load.d/enlighten.conf");
	is_item(&g, "open-vm-tools", GUEST_OK, "installed");
	ok(!item(&g, "qemu-guest-agent"), "a removed package whose config files stay is gone");
	is_str(g.report_result, "complete", "report.json read");
	is_str(g.report_previous, "kvm-guest", "... with the profile before");
	ok(g.changes && streq(g.changes[0], "packages: install [open-vm-tools]"),
	   "... and its changes");
	ok(access("root.raw", F_OK) != 0, "the root's copy is removed");
	guest_report_done(&g);

	ok(make_disk("drift.raw", DRIFT) == 0, "a disk that drifted from the profile");
	is_int(guest_check_disk("drift.raw", "raw", dir, &want, &g), 0, "read");
	ok(!g.pass, "it fails");
	is_item(&g, "vgauth.service", GUEST_FAIL, "installed, not enabled");
	is_item(&g, "vmxnet3", GUEST_FAIL, "not listed in /etc/modules-load.d/enlighten.conf");
	is_item(&g, "qemu-guest-agent", GUEST_FAIL,
		"still installed, though the profile removes it");
	guest_report_done(&g);

	ok(make_disk("failed.raw", FAILED) == 0, "a disk whose agent's run failed");
	is_int(guest_check_disk("failed.raw", "raw", dir, &want, &g), 0, "read");
	ok(!g.pass && g.problem &&
		   strstr(g.problem, "report.json says the agent's last run failed"),
	   "it fails, saying why: %s", g.problem ?: "");
	ok(g.report_errors && streq(g.report_errors[0], "dpkg: exit 1"), "... with its errors");
	guest_report_done(&g);

	const struct guest_expect other = { .profile = "xen-pv" };
	is_int(guest_check_disk("good.raw", "raw", dir, &other, &g), 0, "a profile the disk lacks");
	ok(!g.pass && g.problem &&
		   strstr(g.problem,
			  "cannot read '/usr/share/enlighten/payloads/profiles/xen-pv.conf' on the "
			  "guest's disk"),
	   "... fails, naming the file: %s", g.problem ?: "");
	guest_report_done(&g);

	ok(close(open("blank.raw", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == 0 &&
		   truncate("blank.raw", (off_t)MIB) == 0,
	   "a disk without a partition table");
	is_int(guest_check_disk("blank.raw", "raw", dir, &want, &g), 0, "read");
	ok(!g.pass && !g.reached && g.problem &&
		   strstr(g.problem,
			  "cannot read the guest's disk: 'blank.raw' has no root partition"),
	   "... fails, saying so: %s", g.problem ?: "");
	guest_report_done(&g);
	free(dir);
	return tap_done();
}
