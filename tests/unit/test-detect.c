/* SPDX-License-Identifier: MIT */
/*
 * test-detect.c - the detector's internals: names, the verdict -> profile
 * table against the shipped matrix, the CPUID table parser, the value
 * parsers, and detect_run() over small trees with bad signals.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "detect/detect.h"
#include "detect/parse.h"
#include "lib/activate/profile.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct verdict *, verdict_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cpuid_table *, cpuid_table_free);

static void test_names(void)
{
	for (int h = 0; h < _HV_MAX; h++)
		is_int(hypervisor_from_string(hypervisor_to_string(h)), h,
		       "hypervisor %s round trip", hypervisor_to_string(h));
	is_str(hypervisor_to_string(HV_VM_OTHER), "vm-other", "vm-other");
	is_int(hypervisor_from_string("hyperv"), -EINVAL, "unknown hypervisor name");
	is_int(role_from_string("dom0"), ROLE_DOM0, "role dom0");
	is_int(xen_mode_from_string("pvh"), XEN_MODE_PVH, "xen mode pvh");
	ok(!hypervisor_to_string(_HV_MAX), "out of range gives NULL");
}

/* Every verdict the detector can give maps to the profile whose [Match]
 * section the shipped matrix picks for it. */
static void test_profile_matrix(void)
{
	const char *src = getenv("ENLIGHTEN_SRCDIR");
	_cleanup_free_ char *dir = strjoin(src ? src : ".", "/payloads/profiles");
	_cleanup_free_ char *msg = NULL;
	struct profile_set *s = NULL;

	if (profile_set_load(dir, &s, &msg) < 0) {
		ok(0, "the matrix loads: %s", msg ? msg : "");
		return;
	}
	for (int h = 0; h < _HV_MAX; h++)
		for (int r = 0; r < _ROLE_MAX; r++)
			for (int m = 0; m < _XEN_MODE_MAX; m++) {
				/* the combinations detect_run() can return */
				if ((h == HV_NONE) != (r == ROLE_NONE))
					continue;
				if ((h == HV_XEN) != (m != XEN_MODE_NONE))
					continue;
				if (r == ROLE_ROOT && h != HV_MICROSOFT)
					continue;
				if (r == ROLE_DOM0 && h != HV_XEN)
					continue;
				const struct profile *p = NULL;
				int k = profile_set_match(s, hypervisor_to_string(h),
							  role_to_string(r), xen_mode_to_string(m),
							  &p);
				is_str(k >= 0 && p ? profile_name(p) : "(no match)",
				       verdict_profile(h, r, m),
				       "%s/%s/%s: matrix agrees with profile-map.c",
				       hypervisor_to_string(h), role_to_string(r),
				       xen_mode_to_string(m));
			}
	profile_set_free(s);
}

static int parse(const char *text, struct cpuid_table **t, unsigned *line, char **msg)
{
	return cpuid_table_parse(text, strlen(text), t, line, msg);
}

static void test_cpuid_table(void)
{
	_cleanup_(cpuid_table_freep) struct cpuid_table *t = NULL;
	_cleanup_free_ char *msg = NULL;
	unsigned line = 0;
	uint32_t r[4];

	is_int(parse("# comment\n\n0x1 0x0 0x1 0x2 0x80000000 0x4 # tail\n"
		     "  0x40000000\t0x0 0x40000001 0x4b4d564b 0x564b4d56 0x4d\n"
		     "0x1 0x0 0x5 0x6 0x7 0x8", /* no newline, overrides */
		     &t, &line, &msg),
	       0, "a table parses");
	is_int(t->n, 2, "two leaves");
	cpuid_table_lookup(t, 1, 0, r);
	ok(r[0] == 5 && r[3] == 8, "a repeated leaf keeps the last value");
	cpuid_table_lookup(t, 0x40000100, 0, r);
	ok(!(r[0] | r[1] | r[2] | r[3]), "an unlisted leaf reads as zeros");
	cpuid_table_lookup(t, 0x40000000, 1, r);
	ok(!(r[0] | r[1] | r[2] | r[3]), "an unlisted subleaf reads as zeros");

	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} bad[] = {
		{ "0x1 0x0 0x1 0x2 0x3\n", 1, "missing EDX (want LEAF SUBLEAF EAX EBX ECX EDX)" },
		{ "# x\n0x1 0x0 zz 0x2 0x3 0x4\n", 2, "bad EAX 'zz' (want hex like 0x40000000)" },
		{ "0x1 0x0 0x1 0x2 0x3 0x4 0x5\n", 1,
		  "extra field '0x5' (want LEAF SUBLEAF EAX EBX ECX EDX)" },
		{ "\n\n1 0 0 0 0 0\n", 3, "bad leaf '1' (want hex like 0x40000000)" },
		{ "0x1 0x0 0x123456789 0x2 0x3 0x4\n", 1,
		  "bad EAX '0x123456789' (want hex like 0x40000000)" },
		{ "0x1 0x0 0x 0x2 0x3 0x4\n", 1, "bad EAX '0x' (want hex like 0x40000000)" },
		{ "0x1 0x0 0x1 0x2 0x3 0x\x01\n", 1, "bad EDX '0x?' (want hex like 0x40000000)" },
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct cpuid_table *x = NULL;
		free(msg);
		msg = NULL;
		line = 0;
		is_int(parse(bad[i].text, &x, &line, &msg), -EBADMSG, "bad table %zu refused", i);
		is_int(line, bad[i].line, "bad table %zu: line", i);
		is_str(msg, bad[i].msg, "bad table %zu: message", i);
		ok(!x, "bad table %zu: no result", i);
	}
	/* A NUL in the middle of a field */
	struct cpuid_table *x = NULL;
	is_int(cpuid_table_parse("0x1 0x0 0x1\0 0x2 0x3 0x4\n", 24, &x, &line, NULL), -EBADMSG,
	       "a NUL byte is refused");

	/* caps */
	char *big = malloc(CPUID_TABLE_MAX_BYTES + 2);
	memset(big, '#', CPUID_TABLE_MAX_BYTES + 1);
	is_int(cpuid_table_parse(big, CPUID_TABLE_MAX_BYTES + 1, &x, &line, NULL), -E2BIG,
	       "a table over the size cap is refused");
	size_t n = 0;
	for (unsigned i = 0; i <= CPUID_TABLE_MAX_ENTRIES; i++)
		n += (size_t)snprintf(big + n, 64, "0x%x 0x0 0x0 0x0 0x0 0x0\n", i);
	is_int(cpuid_table_parse(big, n, &x, &line, NULL), -E2BIG,
	       "a table over the entry cap is refused");
	is_int(line, CPUID_TABLE_MAX_ENTRIES + 1, "at the line past the cap");
	free(big);
}

static void test_values(void)
{
	char *s = NULL;
	uint32_t f;
	uint16_t id;

	is_int(value_first_line(" Xen \nsecond\n", 13, &s), 0, "first line");
	is_str(s, "Xen", "trimmed");
	free(s);
	s = NULL;
	is_int(value_first_line("no newline", 10, &s), 0, "no newline");
	is_str(s, "no newline", "kept whole");
	free(s);
	is_int(value_first_line("a\0b", 3, &s), -EBADMSG, "NUL is junk");
	is_int(value_first_line("a\x1b[31m", 7, &s), -EBADMSG, "escape is junk");
	s = value_show("it's\x80", 5);
	is_str(s, "it?s?", "shown printable");
	free(s);

	is_int(value_parse_xen_features("00000ff1", &f), 0, "features parse");
	ok(f & (1u << 11), "XENFEAT_dom0 bit");
	is_int(value_parse_xen_features("0000000100000800", &f), 0, "two submaps");
	is_int(f, 0x800, "submap 0 is the last 8 digits");
	is_int(value_parse_xen_features("xyz", &f), -EINVAL, "junk features");
	is_int(value_parse_xen_features("", &f), -EINVAL, "empty features");

	ok(value_xen_caps_control_d("control_d\n", 10), "control_d");
	ok(value_xen_caps_control_d("foo,control_d", 13), "control_d in a list");
	ok(!value_xen_caps_control_d("control_dx", 10), "not a prefix match");
	ok(!value_xen_caps_control_d("", 0), "empty caps");

	is_int(value_parse_pci_id("0x1414", &id), 0, "pci id");
	is_int(id, 0x1414, "pci id value");
	is_int(value_parse_pci_id("0x14145", &id), -EINVAL, "pci id too long");
	is_int(value_parse_pci_id("1414", &id), -EINVAL, "pci id without 0x");

	is_int(value_dt_match("xen,xen-4.17\0xen,xen\0", 21, "xen,xen", true), 1, "dt exact");
	is_int(value_dt_match("xen,xen-4.17\0", 13, "xen,xen", true), 0, "dt not exact");
	is_int(value_dt_match("vmware\0", 7, "vmware", false), 1, "dt prefix");
	is_int(value_dt_match("xen,xen", 7, "xen,xen", true), -EBADMSG, "dt unterminated");
	is_int(value_dt_match("a\0\0", 3, "a", true), -EBADMSG, "dt empty string");
	is_int(value_dt_match("\x01\0", 2, "a", true), -EBADMSG, "dt control byte");
}

static bool has_evidence(const struct verdict *v, const char *source, const char *needle)
{
	for (size_t i = 0; i < v->n_evidence; i++)
		if (streq(v->evidence[i].source, source) && strstr(v->evidence[i].detail, needle))
			return true;
	return false;
}

static void test_detect_run(void)
{
	_cleanup_(verdict_freep) struct verdict *v = NULL;
	struct detect_opts o = { .root = "root", .cpuid_file = "cpuid" };

	fs_mkdir_p_at(AT_FDCWD, "root/sys/class/dmi/id/product_name", 0755); /* a dir */
	fs_mkdir_p_at(AT_FDCWD, "root/sys/hypervisor", 0755);
	fs_mkdir_p_at(AT_FDCWD, "root/proc/xen", 0755);
	tap_write("root/sys/class/dmi/id/sys_vendor", "Xen\n");
	tap_write("root/sys/hypervisor/type", "xen"); /* no newline */
	tap_write("root/sys/hypervisor/properties", "");
	ok(mkfifo("root/proc/xen/capabilities", 0644) == 0, "a FIFO for capabilities");
	tap_write("cpuid", "0x1 0x0 0x0 0x0 0x80000000 0x0\n0x40000000 0x0 garbage\n");

	is_int(detect_run(&o, &v), 0, "detect_run over bad signals");
	ok(has_evidence(v, "dmi", "a directory where a file should be"), "directory noted");
	ok(has_evidence(v, "xen", "not a regular file"), "FIFO noted");
	ok(has_evidence(v, "cpuid-file", "line 2: bad EAX 'garbage'"), "cpuid line noted");
	ok(has_evidence(v, "cpuid", "not available"), "bad table: no CPUID");
	is_int(v->hypervisor, HV_XEN, "xen from /sys/hypervisor/type");
	is_int(v->xen_mode, XEN_MODE_HVM, "Xen DMI firmware: hvm");
	is_str(v->profile, "xen-hvm", "profile");

	_cleanup_json_ json_object *j = verdict_to_json(v);
	const char *mode = NULL;
	int64_t schema = 0;
	ok(j, "verdict_to_json");
	is_int(json_get_int64(j, "schema", &schema), 0, "schema key");
	is_int(schema, 1, "schema 1");
	is_int(json_get_string(j, "xen_mode", &mode), 0, "xen_mode key");
	is_str(mode, "hvm", "xen_mode hvm");

	struct verdict *w = NULL;
	o.root = "nope";
	is_int(detect_run(&o, &w), -ENOENT, "a missing root is an error");
	o.root = "root";
	o.cpuid_file = "nope";
	is_int(detect_run(&o, &w), -ENOENT, "a missing cpuid file is an error");
	ok(!w, "no verdict on error");
	verdict_free(NULL);
}

/* The SMBIOS type 0 "virtual machine" characteristic alone: vm-other. */
static void test_smbios_vm_bit(void)
{
	_cleanup_(verdict_freep) struct verdict *v = NULL;
	unsigned char raw[0x18 + 2] = { 0x00, 0x18 };

	raw[0x13] = 0x10;
	fs_mkdir_p_at(AT_FDCWD, "vmbit/sys/firmware/dmi/entries/0-0", 0755);
	int fd = open("vmbit/sys/firmware/dmi/entries/0-0/raw", O_WRONLY | O_CREAT | O_CLOEXEC,
		      0644);
	ok(fd >= 0 && fs_write_all(fd, raw, sizeof(raw)) == 0, "raw type 0 entry written");
	safe_close(fd);
	is_int(detect_run(&(struct detect_opts){ .root = "vmbit" }, &v), 0, "detect_run");
	ok(has_evidence(v, "dmi", "virtual machine bit set"), "the VM bit is read");
	is_int(v->hypervisor, HV_VM_OTHER, "the VM bit alone gives vm-other");
	is_str(v->profile, "generic-guest", "generic-guest profile");
}

/* CPUID tables: leaf 1 with the hypervisor bit, then "LEAF EBX ECX EDX"
 * signatures; returns the verdict's hypervisor. */
static enum hypervisor scan(const char *table, const char *absent, const char *what)
{
	_cleanup_(verdict_freep) struct verdict *v = NULL;

	tap_write("scan-cpuid", table);
	fs_mkdir_p_at(AT_FDCWD, "scan-root/etc", 0755);
	if (detect_run(&(struct detect_opts){ .root = "scan-root", .cpuid_file = "scan-cpuid" },
		       &v) < 0)
		return _HV_INVALID;
	ok(!has_evidence(v, "cpuid", absent), "%s: '%s' never read", what, absent);
	return v->hypervisor;
}

#define LEAF1 "0x1 0x0 0x0 0x0 0x80000000 0x0\n"
#define KVM(leaf) leaf " 0x0 0x0 0x4b4d564b 0x564b4d56 0x0000004d\n"
#define VMWARE(leaf) leaf " 0x0 0x0 0x61774d56 0x4d566572 0x65726177\n"
#define MSHV(leaf) leaf " 0x0 0x4000000b 0x7263694d 0x666f736f 0x76482074\n"
#define ACME(leaf) leaf " 0x0 0x4000000b 0x656d6341 0x63417648 0x7648656d\n"
#define HV1(leaf) leaf " 0x0 0x31237648 0x0 0x0 0x0\n"

/* The vendor scan reads the next base only past a Hyper-V interface and
 * stops at the first base that is not one. */
static void test_cpuid_scan_bounded(void)
{
	is_int(scan(LEAF1 KVM("0x40000000") VMWARE("0x40000100"), "VMwareVMware", "KVM"), HV_KVM,
	       "KVM at 0x40000000: kvm");
	is_int(scan(LEAF1 MSHV("0x40000000") HV1("0x40000001") KVM("0x40000100")
			    VMWARE("0x40000200"),
		    "VMwareVMware", "Hyper-V then KVM"),
	       HV_KVM, "Hyper-V interface then KVM: kvm");
	is_int(scan(LEAF1 MSHV("0x40000000") HV1("0x40000001") KVM("0x40000200"), "KVMKVMKVM",
		    "a gap"),
	       HV_MICROSOFT, "Hyper-V, an empty base, KVM beyond: microsoft");
	is_int(scan(LEAF1 ACME("0x40000000") HV1("0x40000001") KVM("0x40000100"), "no vendor",
		    "custom Hyper-V vendor"),
	       HV_KVM, "a custom vendor with Hv#1, then KVM: kvm");
	is_int(scan(LEAF1 ACME("0x40000000") KVM("0x40000100"), "KVMKVMKVM",
		    "custom vendor without Hv#1"),
	       HV_VM_OTHER, "an unknown signature without Hv#1 ends the scan: vm-other");
}

/* The container key: only for a live root. */
static void test_container(void)
{
	_cleanup_(verdict_freep) struct verdict *v = NULL, *w = NULL;

	fs_mkdir_p_at(AT_FDCWD, "ctr/run", 0755);
	tap_write("ctr/.dockerenv", "");
	is_int(detect_run(&(struct detect_opts){ .root = "ctr" }, &v), 0, "offline root");
	ok(!v->container, "an offline root has no container");
	is_int(detect_run(&(struct detect_opts){ .root = "ctr", .live = true }, &w), 0,
	       "live root");
	is_str(w->container, "docker", "a live root with /.dockerenv: docker");
	_cleanup_json_ json_object *j = verdict_to_json(w);
	const char *c = NULL;
	is_int(json_get_string(j, "container", &c), 0, "container key");
	is_str(c, "docker", "container in JSON");
}

int main(void)
{
	tap_tmpdir();
	test_names();
	test_profile_matrix();
	test_cpuid_table();
	test_values();
	test_detect_run();
	test_smbios_vm_bit();
	test_cpuid_scan_bounded();
	test_container();
	return tap_done();
}
