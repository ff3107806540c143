/* SPDX-License-Identifier: MIT */
/*
 * test-profile.c - the profile parser takes lists, continuation lines and
 * per-line keys, refuses unknown sections and keys (naming file and line,
 * with a suggestion), bad names, duplicate keys, long lines and big files;
 * matching picks the most specific profile.
 */
#include <errno.h>
#include <sys/stat.h>

#include "lib/activate/profile.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

static const char good[] =
	"# comment\n"
	"[Match]\n"
	"Hypervisor=xen\n"
	"Role=guest\n"
	"XenMode=hvm pvh\n"
	"\n"
	"[Linux]\n"
	"Modules=xen-blkfront xen-netfront\n"
	"\txenfs\n"
	"InitrdModules=xen-blkfront\n"
	"ModprobeOptions=ata_piix prefer_ms_hyperv=1\n"
	"\tloop max_loop=8\n"
	"UdevRules=SUBSYSTEM==\"memory\", ACTION==\"add\", ATTR{state}=\"online\"\n"
	"KernelArgs=console=hvc0 xen_emul_unplug=ide-disks,nics\n"
	"KernelArgs2=x\n";

/* Parses text; returns the error and leaves the message in *msg. */
static int parse(const char *text, struct profile **ret, char **msg)
{
	free(*msg);
	*msg = NULL;
	return profile_parse("test", "test.conf", text, ret, msg);
}

static void test_parse(void)
{
	struct profile *p = NULL;
	_cleanup_free_ char *msg = NULL;
	char *text = strdup(good);

	/* the last line is a typo: first check the message, then parse without it */
	is_int(parse(text, &p, &msg), -EINVAL, "unknown key refused");
	is_str(msg,
	       "profile 'test.conf' line 15: unknown key 'KernelArgs2' (did you mean "
	       "'KernelArgs'?)",
	       "message names file, line and the right key");
	*strstr(text, "KernelArgs2") = '\0';
	is_int(parse(text, &p, &msg), 0, "good profile parses");
	free(text);
	if (!p)
		return;
	is_str(profile_name(p), "test", "name");
	char *const *m = profile_get(p, PROFILE_LINUX_MODULES);
	is_int(strv_length(m), 3, "three modules, one on a continuation line");
	is_str(m[2], "xenfs", "continuation appended");
	char *const *o = profile_get(p, PROFILE_LINUX_MODPROBE_OPTIONS);
	is_int(strv_length(o), 2, "modprobe options: one element per line");
	is_str(o[0], "ata_piix prefer_ms_hyperv=1", "line kept whole");
	is_str(profile_get(p, PROFILE_LINUX_UDEV_RULES)[0],
	       "SUBSYSTEM==\"memory\", ACTION==\"add\", ATTR{state}=\"online\"",
	       "udev rule with '=' and quotes kept");
	is_int(strv_length(profile_get(p, PROFILE_LINUX_KERNEL_ARGS)), 2, "kernel args");
	is_int(strv_length(profile_get(p, PROFILE_WINDOWS_DRIVERS)), 0, "unset key is empty");
	ok(profile_get(p, PROFILE_WINDOWS_DRIVERS) != NULL, "unset key is not NULL");
	is_str(profile_key_section(PROFILE_LINUX_INITRD_MODULES), "Linux", "key section");
	is_str(profile_key_name(PROFILE_LINUX_INITRD_MODULES), "InitrdModules", "key name");
	profile_free(p);
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "[Match]\nHypervisor=xen\n[Linx]\nModules=a\n",
		  "profile 'test.conf' line 3: unknown section '[Linx]' (did you mean "
		  "'[Linux]'?)" },
		{ "[Match]\nHypervisor=xen\n[Extra]\n",
		  "profile 'test.conf' line 3: unknown section '[Extra]'; known are [Match], "
		  "[Linux], [Debian], [SUSE], [Windows]" },
		{ "[Match]\nHypervisor=xenn\n",
		  "profile 'test.conf' line 2: unknown hypervisor 'xenn' (did you mean 'xen'?)" },
		{ "[Match]\nHypervisor=xen\nRole=gest\n",
		  "profile 'test.conf' line 3: unknown role 'gest' (did you mean 'guest'?)" },
		{ "[Match]\nHypervisor=xen\n[Linux]\nModules=ok Bad/name\n",
		  "profile 'test.conf' line 4: invalid module name 'Bad/name' (want a-z, 0-9, "
		  "'_', '-')" },
		{ "[Match]\nHypervisor=xen\n[Linux]\nModules=a\nModules=b\n",
		  "profile 'test.conf' line 5: key 'Modules' set twice (first on line 4); "
		  "continue a list on indented lines" },
		{ "[Match]\nHypervisor=xen\n[Linux]\nModules=a b a\n",
		  "profile 'test.conf' line 4: 'a' listed twice in 'Modules'" },
		{ "[Match]\nHypervisor=xen\n[Linux]\nServices=hv_kvp_daemon\n",
		  "profile 'test.conf' line 4: invalid unit name 'hv_kvp_daemon' (want e.g. "
		  "'name.service')" },
		{ "[Match]\nHypervisor=xen\n[Linux]\nPackages=a;b\n",
		  "profile 'test.conf' line 4: invalid package name 'a;b'" },
		{ "[Match]\nHypervisor=xen\n[Windows]\nDrivers=viostor.sys\n",
		  "profile 'test.conf' line 4: invalid driver package 'viostor.sys' (want "
		  "'name.inf')" },
		{ "[Match]\nHypervisor=xen\n[Linux]\nModprobeOptions=ata_piix\n",
		  "profile 'test.conf' line 4: invalid modprobe options 'ata_piix' (want 'module "
		  "option=value...')" },
		{ "[Match]\nHypervisor=xen\nthis is not a key\n",
		  "profile 'test.conf' line 3: syntax error (want 'Key=value', '[Section]' or a "
		  "comment)" },
		{ "[Match]\nHypervisor=xen\n[Linux\n",
		  "profile 'test.conf' line 3: section header without ']'" },
		{ "[Linux]\nModules=a\n",
		  "profile 'test.conf' line 0: no 'Hypervisor=' in [Match]" },
	};
	_cleanup_free_ char *msg = NULL;
	struct profile *p = NULL;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		is_int(parse(cases[i].text, &p, &msg), -EINVAL, "case %zu refused", i);
		is_str(msg, cases[i].msg, "case %zu message", i);
	}

	char line[400] = "[Match]\nHypervisor=xen\n[Linux]\nModules=";
	size_t n = strlen(line);
	memset(line + n, 'a', 250);
	line[n + 250] = '\0';
	is_int(parse(line, &p, &msg), -EINVAL, "long line refused");
	ok(msg && strstr(msg, "line 4: line longer than"), "long line message: %s", msg);

	free(msg);
	msg = NULL;
	is_int(profile_parse("Bad_Name", "Bad_Name.conf", "[Match]\nHypervisor=xen\n", &p, &msg),
	       -EINVAL, "bad profile name refused");
}

static void test_set(void)
{
	struct profile_set *s = NULL;
	_cleanup_free_ char *msg = NULL;
	const struct profile *p = NULL;

	mkdir("set", 0755);
	tap_write("set/pv.conf", "[Match]\nHypervisor=xen\nRole=guest\nXenMode=pv\n");
	tap_write("set/xen-any.conf", "[Match]\nHypervisor=xen\n");
	tap_write("set/kvm.conf", "[Match]\nHypervisor=kvm qemu\n");
	tap_write("set/README", "not a profile\n");
	is_int(profile_set_load("set", &s, &msg), 0, "set loads");
	if (!s)
		return;
	is_int(profile_set_size(s), 3, "only *.conf files");
	is_str(profile_name(profile_set_get(s, 0)), "kvm", "sorted by name");
	ok(profile_set_find(s, "pv") != NULL, "find by name");
	ok(profile_set_find(s, "nope") == NULL, "find unknown");

	is_int(profile_set_match(s, "xen", "guest", "pv", &p), 0, "pv matches");
	is_str(p ? profile_name(p) : NULL, "pv", "most specific wins");
	is_int(profile_set_match(s, "xen", "guest", "hvm", &p), 0, "hvm matches");
	is_str(p ? profile_name(p) : NULL, "xen-any", "missing keys match anything");
	is_int(profile_set_match(s, "qemu", "guest", NULL, &p), 0, "qemu matches");
	is_str(p ? profile_name(p) : NULL, "kvm", "list of hypervisors");
	is_int(profile_set_match(s, "vmware", "guest", NULL, &p), -ENOENT, "no match");
	profile_set_free(s);

	tap_write("set/kvm2.conf", "[Match]\nHypervisor=kvm\n");
	is_int(profile_set_load("set", &s, &msg), 0, "set with a twin loads");
	if (s)
		is_int(profile_set_match(s, "kvm", "guest", NULL, &p), -ENOTUNIQ,
		       "two equally specific profiles are ambiguous");
	profile_set_free(s);
	s = NULL;

	tap_write("set/broken.conf", "[Match]\nHypervisor=xen\nRloe=guest\n");
	is_int(profile_set_load("set", &s, &msg), -EINVAL, "a bad file fails the set");
	is_str(msg, "profile 'broken.conf' line 3: unknown key 'Rloe' (did you mean 'Role'?)",
	       "message names the file");
	unlink("set/broken.conf");

	FILE *f = fopen("set/big.conf", "we");
	for (int i = 0; f && i < 7000; i++)
		fputs("# padding\n", f);
	if (f)
		fclose(f);
	free(msg);
	msg = NULL;
	is_int(profile_set_load("set", &s, &msg), -EINVAL, "oversized file refused");
	is_str(msg, "profile 'big.conf' is larger than 65536 bytes", "size message");
	unlink("set/big.conf");

	mkdir("empty", 0755);
	is_int(profile_set_load("empty", &s, &msg), -ENOENT, "empty directory");
	is_int(profile_set_load("missing", &s, &msg), -ENOENT, "missing directory");
}

/* [Debian] and [SUSE] name a family's packages and units; the others
 * (and keys a family section does not set) come from [Linux]. */
static void test_family(void)
{
	struct profile *p = NULL;
	char *msg = NULL;
	is_int(parse("[Match]\nHypervisor=microsoft\n[Linux]\nPackages=enlighten-ic-x "
		     "hyperv-daemons\n"
		     "Services=hv_kvp_daemon.service\nModules=hv_vmbus\n"
		     "[Debian]\nServices=hv-kvp-daemon.service\n"
		     "[SUSE]\nPackages=enlighten-ic-x hyper-v\n",
		     &p, &msg),
	       0, "family sections parsed");
	if (p) {
		is_str(profile_get_for(p, "suse", PROFILE_LINUX_PACKAGES)[1], "hyper-v",
		       "SUSE's package name");
		is_str(profile_get_for(p, "debian", PROFILE_LINUX_PACKAGES)[1], "hyperv-daemons",
		       "Debian without [Debian] Packages: the [Linux] name");
		is_str(profile_get_for(p, "debian", PROFILE_LINUX_SERVICES)[0],
		       "hv-kvp-daemon.service", "Debian's unit name");
		is_str(profile_get_for(p, NULL, PROFILE_LINUX_SERVICES)[0], "hv_kvp_daemon.service",
		       "no family: [Linux]");
		is_str(profile_get_for(p, "suse", PROFILE_LINUX_MODULES)[0], "hv_vmbus",
		       "other keys always from [Linux]");
	}
	profile_free(p);
	p = NULL;
	is_int(parse("[Match]\nHypervisor=kvm\n[Debian]\nModules=x\n", &p, &msg), -EINVAL,
	       "a family section takes only Packages and Services");
	free(msg);
}

int main(void)
{
	tap_tmpdir();
	test_parse();
	test_errors();
	test_set();
	test_family();
	return tap_done();
}
