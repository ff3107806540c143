/* SPDX-License-Identifier: MIT */
/*
 * test-boot-test.c - the pieces of `enlighten boot-test` that need no guest:
 * the KVM probe refuses nodes that are not working KVM, the identity table
 * presents each hypervisor and forces only where QEMU cannot present it, the
 * agent's summary line is parsed and checked, the ESP is found in a GPT, and
 * QEMU's argv carries the identity.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "builder/boot-test/entry.h"
#include "builder/boot-test/identity.h"
#include "builder/boot-test/qemu.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

static void test_kvm_probe(void)
{
	char *why = NULL;
	int r = kvm_probe("/nonexistent/kvm", &why);
	is_int(r, -ENOENT, "probe of a missing node fails with -ENOENT");
	ok(why && strstr(why, "cannot open '/nonexistent/kvm'"), "and says why: %s", why);
	free(why);
	why = NULL;
	/* A node that opens but is not KVM: the ioctl must fail, not the open. */
	r = kvm_probe("/dev/null", &why);
	ok(r < 0, "probe of /dev/null fails (%d)", r);
	ok(why && strstr(why, "is not a KVM device"), "and says it is not KVM: %s", why);
	free(why);
}

static void test_identities(void)
{
	is_int((int)boot_identities_count, 8, "eight identities");
	const char *const names[] = { "kvm", "hyperv", "vmware" };
	const char *const profiles[] = { "kvm-guest", "hyperv-guest", "vmware-guest" };
	const char *const makers[] = {
		NULL, "manufacturer=Microsoft Corporation,product=Virtual Machine",
		"manufacturer=VMware,, Inc.,product=VMware Virtual Platform"
	};
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		const struct boot_identity *id = boot_identity_find(names[i]);
		ok(id != NULL, "identity '%s' exists", names[i]);
		if (!id)
			continue;
		is_str(id->profile, profiles[i], "'%s' expects profile", names[i]);
		is_str(id->role, "guest", "'%s' expects role guest", names[i]);
		if (!makers[i]) {
			ok(id->smbios == NULL, "kvm keeps QEMU's own SMBIOS");
			continue;
		}
		bool found = false;
		for (const char *const *s = id->smbios; s && *s; s++)
			if (startswith(*s, "type=1,") && strstr(*s, makers[i]))
				found = true;
		ok(found, "'%s' presents SMBIOS type 1 %s", names[i], makers[i]);
	}
	ok(boot_identity_find("hyper-v") == NULL, "unknown identity not found");

	const struct boot_identity *kvm = boot_identity_find("kvm");
	const struct boot_identity *hv = boot_identity_find("hyperv");
	const struct boot_identity *xen = boot_identity_find("xen-hvm");
	ok(!boot_identity_forced(kvm, false) && !boot_identity_forced(kvm, true),
	   "kvm is never forced");
	ok(boot_identity_forced(hv, false) && !boot_identity_forced(hv, true),
	   "hyperv is forced under TCG only");
	ok(xen && !boot_identity_forced(xen, false) && !boot_identity_forced(xen, true),
	   "xen-hvm is never forced: a real HVM guest of a real dom0");
	ok(xen && xen->xen == XEN_DOMU && streq(xen->xen_type, "hvm") &&
		   streq(xen->profile, "xen-hvm") && streq(xen->role, "guest") &&
		   boot_identity_host(xen) == boot_identity_find("xen-dom0"),
	   "xen-hvm: xl type hvm inside the xen-dom0 identity's dom0, expecting xen-hvm");
	ok(strstr(hv->cpu_kvm, "hv-") && strstr(hv->cpu_kvm, "kvm=off"),
	   "hyperv under KVM shows hv-* leaves and hides KVM's signature");
	ok(boot_identity_accepts(kvm, "qemu") && boot_identity_accepts(kvm, "kvm") &&
		   !boot_identity_accepts(kvm, "microsoft"),
	   "kvm accepts kvm and qemu, nothing else");

	/* detected for real, without the hypervisor bit and without virtio */
	const struct boot_identity *vmw = boot_identity_find("vmware");
	const struct boot_identity *metal = boot_identity_find("metal");
	ok(metal != NULL, "identity 'metal' exists");
	if (!metal)
		return;
	ok(!boot_identity_forced(vmw, false) && !boot_identity_forced(metal, false),
	   "vmware and metal are never forced");
	ok(strstr(vmw->cpu_tcg, "-hypervisor") && strstr(metal->cpu_tcg, "-hypervisor"),
	   "no hypervisor CPUID bit on either");
	ok(vmw->ahci_disk && metal->ahci_disk && vmw->no_guest_agent && metal->no_guest_agent,
	   "no virtio device on either: AHCI disk, no guest agent channel");
	ok(metal->bare_bios && !vmw->bare_bios, "metal's SMBIOS type 0 is our own");
	is_str(metal->profile, "metal", "metal expects profile metal");
	is_str(metal->role, "none", "metal expects role none");
	ok(kvm->no_guest_agent == NULL, "kvm carries the guest agent channel");
}

static void test_summary(void)
{
	struct agent_summary s;
	const struct boot_identity *kvm = boot_identity_find("kvm");
	const struct boot_identity *hv = boot_identity_find("hyperv");
	char *why = NULL;

	is_int(agent_summary_parse(
		       "[   3.2] enlighten: hypervisor=qemu role=guest profile=kvm-guest "
		       "changed=yes",
		       &s),
	       0, "summary with a kernel timestamp prefix parses");
	is_str(s.hypervisor, "qemu", "hypervisor");
	ok(s.changed, "changed=yes read");
	ok(!s.forced, "not forced");
	is_int(boot_identity_check(kvm, false, EXPECT_CHANGE_ANY, &s, &why), 0, "kvm matches");
	is_int(boot_identity_check(kvm, false, EXPECT_CHANGE_NO, &s, &why), -EBADMSG,
	       "changed=yes fails the fast-path check");
	ok(why && strstr(why, "fast path"), "and says so: %s", why);
	free(why);
	is_int(boot_identity_check(hv, false, EXPECT_CHANGE_ANY, &s, &why), -EBADMSG,
	       "kvm-guest fails hyperv");
	ok(why && strstr(why, "expected 'hyperv-guest'"), "names the expected profile: %s", why);
	free(why);
	agent_summary_done(&s);

	is_int(agent_summary_parse("enlighten: hypervisor=qemu role=guest profile=hyperv-guest "
				   "changed=yes forced=yes",
				   &s),
	       0, "forced summary parses");
	ok(s.forced, "forced=yes read");
	is_int(boot_identity_check(hv, true, EXPECT_CHANGE_YES, &s, &why), 0,
	       "forced hyperv matches whatever the detector saw");
	is_int(boot_identity_check(hv, false, EXPECT_CHANGE_ANY, &s, &why), -EBADMSG,
	       "forced=yes when nothing was forced fails");
	free(why);
	agent_summary_done(&s);

	is_int(agent_summary_parse("enlighten: hypervisor=qemu role=guest profile=hyperv-guest "
				   "changed=yes",
				   &s),
	       0, "parses");
	is_int(boot_identity_check(hv, true, EXPECT_CHANGE_ANY, &s, &why), -EBADMSG,
	       "a forced boot without forced=yes fails");
	free(why);
	agent_summary_done(&s);

	is_int(agent_summary_parse("enlighten: hypervisor=qemu role=guest", &s), -EBADMSG,
	       "a line without profile and changed is refused");
	is_int(agent_summary_parse("hypervisor=qemu", &s), -EBADMSG, "a line without the prefix");
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_gpt(void)
{
	static uint8_t disk[34 * 512];
	static const uint8_t esp[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
					 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
	uint64_t first = 0, count = 0;
	size_t need = 0;

	is_int(gpt_find_esp(disk, sizeof(disk), &first, &count, &need), -EBADMSG, "no GPT");
	memcpy(disk + 512, "EFI PART", 8);
	put64(disk + 512 + 72, 2);
	put32(disk + 512 + 80, 128);
	put32(disk + 512 + 84, 128);
	is_int(gpt_find_esp(disk, sizeof(disk), &first, &count, &need), -ENOENT, "no ESP");
	/* entry 1: some Linux partition; entry 2: the ESP */
	disk[1024] = 0xaf;
	put64(disk + 1024 + 32, 4096);
	put64(disk + 1024 + 40, 8191);
	memcpy(disk + 1024 + 128, esp, 16);
	put64(disk + 1024 + 128 + 32, 2048);
	put64(disk + 1024 + 128 + 40, 4095);
	is_int(gpt_find_esp(disk, sizeof(disk), &first, &count, &need), 0, "ESP found");
	is_int((int)first, 2048, "its first sector");
	is_int((int)count, 2048, "its size in sectors");
	is_int(gpt_find_esp(disk, 4 * 512, &first, &count, &need), -ENOSPC,
	       "entries past the buffer ask for more");
	is_int((int)need, 2 * 512 + 128 * 128, "and say how much");
	put32(disk + 512 + 80, 100000);
	is_int(gpt_find_esp(disk, sizeof(disk), &first, &count, &need), -EBADMSG,
	       "an absurd entry count is refused");
}

static bool argv_has(char **argv, const char *a, const char *b)
{
	for (size_t i = 0; argv[i] && argv[i + 1]; i++)
		if (streq(argv[i], a) && streq(argv[i + 1], b))
			return true;
	return false;
}

static void test_argv(void)
{
	const struct boot_identity *hv = boot_identity_find("hyperv");
	struct qemu_machine m = {
		.qemu = "qemu-system-x86_64",
		.ovmf_code = "/fw/CODE.fd",
		.ovmf_vars = "/w/VARS.fd",
		.disk = "/w/overlay.qcow2",
		.disk_format = "qcow2",
		.memory_mib = 512,
		.smbios = hv->smbios,
		.kernel = "/w/linux",
		.initrd = "/w/initrd",
		.append = "root=PARTUUID=x console=ttyS0 enlighten.profile=hyperv-guest",
		.qmp_socket = "/w/qmp.sock",
	};
	char **argv = NULL;
	is_int(qemu_argv(&m, &argv), 0, "argv built");
	ok(argv_has(argv, "-machine", "q35,accel=tcg"), "TCG on q35");
	ok(argv_has(
		   argv, "-smbios",
		   "type=1,manufacturer=Microsoft Corporation,product=Virtual Machine,version=7.0"),
	   "Hyper-V's SMBIOS identity");
	ok(argv_has(argv, "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd"),
	   "OVMF code read-only");
	ok(argv_has(argv, "-drive", "if=virtio,format=qcow2,file=/w/overlay.qcow2,cache=unsafe"),
	   "the overlay as the disk");
	ok(argv_has(argv, "-append", m.append), "the forced command line");
	ok(argv_has(argv, "-qmp", "unix:/w/qmp.sock,server=on,wait=off"), "a QMP socket");
	ok(strv_contains(argv, "-no-reboot") && argv_has(argv, "-display", "none"),
	   "no reboot, no display");
	strv_free(argv);

	m.kvm = true;
	m.cpu = hv->cpu_kvm;
	m.kernel = NULL;
	is_int(qemu_argv(&m, &argv), 0, "argv built");
	ok(argv_has(argv, "-machine", "q35,accel=kvm"), "KVM");
	ok(argv_has(argv, "-cpu", hv->cpu_kvm), "with the hv-* flags");
	ok(!strv_contains(argv, "-kernel"), "firmware boot without -kernel");
	strv_free(argv);

	m.qga_socket = "/w/qga.sock";
	m.ahci_disk = true;
	m.smbios_file = "/w/type0.bin";
	is_int(qemu_argv(&m, &argv), 0, "argv built");
	ok(argv_has(argv, "-chardev", "socket,path=/w/qga.sock,server=on,wait=off,id=qga0"),
	   "the guest agent's socket");
	ok(argv_has(argv, "-device",
		    "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0"),
	   "on the port qemu-ga listens to");
	ok(argv_has(argv, "-drive",
		    "if=none,id=disk0,format=qcow2,file=/w/overlay.qcow2,cache=unsafe") &&
		   argv_has(argv, "-device", "ide-hd,drive=disk0,bus=ide.0,bootindex=0"),
	   "the disk on AHCI, booted first");
	ok(argv_has(argv, "-smbios", "file=/w/type0.bin"), "the SMBIOS table from a file");
	strv_free(argv);

	m.ahci_disk = false;
	m.disk2 = "/w/domu.qcow2";
	m.disk2_serial = "enlighten-domu";
	is_int(qemu_argv(&m, &argv), 0, "argv built");
	ok(argv_has(argv, "-drive",
		    "if=none,id=disk1,format=qcow2,file=/w/domu.qcow2,cache=unsafe") &&
		   argv_has(argv, "-device", "virtio-blk-pci,drive=disk1,serial=enlighten-domu"),
	   "a Xen guest's disk, found by its serial number in dom0");
	ok(argv_has(argv, "-device", "virtio-blk-pci,drive=disk0,bootindex=0"),
	   "the firmware boots the first disk");
	strv_free(argv);

	m.disk3 = "/w/boot-1/domu-boot.tar";
	m.disk3_serial = "enlighten-domu-boot";
	is_int(qemu_argv(&m, &argv), 0, "argv built");
	ok(argv_has(argv, "-drive",
		    "if=none,id=disk2,format=raw,readonly=on,file=/w/boot-1/domu-boot.tar") &&
		   argv_has(argv, "-device",
			    "virtio-blk-pci,drive=disk2,serial=enlighten-domu-boot"),
	   "the guest's kernel and initrd on a read-only disk of their own");
	strv_free(argv);
}

static void test_xen(void)
{
	const struct boot_identity *dom0 = boot_identity_find("xen-dom0");
	const struct boot_identity *pv = boot_identity_find("xen-pv");
	const struct boot_identity *pvh = boot_identity_find("xen-pvh");
	ok(dom0 && pv && pvh, "xen-dom0, xen-pv and xen-pvh exist");
	if (!dom0 || !pv || !pvh)
		return;
	ok(dom0->xen == XEN_DOM0 && boot_identity_host(dom0) == dom0, "dom0 is its own host");
	ok(boot_identity_host(pv) == dom0 && boot_identity_host(pvh) == dom0,
	   "the guests run in that dom0");
	is_str(pv->xen_type, "pv", "xl type=pv");
	is_str(pvh->xen_type, "pvh", "xl type=pvh");
	is_str(dom0->role, "dom0", "dom0's role");
	ok(!boot_identity_forced(dom0, false) && !boot_identity_forced(pv, false),
	   "real Xen: nothing forced");
	ok(strstr(dom0->cpu_tcg, "-smap") && strstr(dom0->cpu_tcg, "-rdtscp"),
	   "TCG's CPU without SMAP and RDTSCP, which Xen 4.17 stops on");
	ok(dom0->memory_mib >= 2048, "room for dom0 and a guest");
	ok(dom0->commands && strstr(dom0->commands[0], "xl info"), "xl info must answer");

	struct agent_summary s = {};
	char *why = NULL;
	is_int(agent_summary_parse(
		       "enlighten: hypervisor=xen role=dom0 profile=xen-dom0 changed=yes", &s),
	       0, "dom0's line parses");
	is_int(boot_identity_check(dom0, false, EXPECT_CHANGE_ANY, &s, &why), 0, "dom0 matches");
	is_int(boot_identity_check(pv, false, EXPECT_CHANGE_ANY, &s, &why), -EBADMSG,
	       "dom0's line is not the PV guest's");
	free(why);
	why = NULL;
	agent_summary_done(&s);

	char *c = loader_conf_with_default("timeout 0\ndefault linux.conf\neditor no\n",
					   "linux-xen.conf");
	is_str(c, "default linux-xen.conf\ntimeout 0\neditor no\n", "loader.conf's default");
	free(c);
	c = loader_conf_with_default(NULL, "linux-xen.conf");
	is_str(c, "default linux-xen.conf\n", "a loader.conf where there was none");
	free(c);

	char *const add[] = { "bootscrub=false", "noreboot", "console=com1", NULL };
	char *const add0[] = { "console=hvc0", NULL };
	c = xen_cfg_with("[global]\ndefault=l\n[l]\noptions=dom0_mem=1024M console=vga\n"
			 "kernel=linux root=x console=hvc0\nramdisk=initrd\n",
			 add, add0);
	is_str(c,
	       "[global]\ndefault=l\n[l]\noptions=dom0_mem=1024M console=vga bootscrub=false "
	       "noreboot\nkernel=linux root=x console=hvc0\nramdisk=initrd\n",
	       "Xen's options added where missing, its own console= kept, dom0's as it was");
	free(c);
}

static void test_serial_console(void)
{
	is_int(boot_entry_has_serial_console("root=x console=tty0 console=ttyS0,115200"), 1,
	       "console=ttyS0,115200 counts");
	is_int(boot_entry_has_serial_console("root=x console=tty0"), 0, "tty0 alone does not");
	is_int(boot_entry_has_serial_console(""), 0, "empty command line");
}

int main(void)
{
	test_kvm_probe();
	test_xen();
	test_identities();
	test_summary();
	test_gpt();
	test_argv();
	test_serial_console();
	return tap_done();
}
