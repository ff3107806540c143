/* SPDX-License-Identifier: MIT */
/*
 * test-plan.c - the plan/apply engine's pieces: boot entry and options
 * editing, unit links as systemctl --root makes them, presets, the state
 * file (corrupt and truncated ones refused), plan JSON round trip.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/activate/paths.h"
#include "lib/activate/plan.h"
#include "lib/activate/state.h"
#include "lib/activate/units.h"
#include "lib/basic/json.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

static void mkdirs(const char *p)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", p);
	for (char *s = buf + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(buf, 0755);
			*s = '/';
		}
	mkdir(buf, 0755);
}

static bool is_link_to(const char *path, const char *target)
{
	char buf[512];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

static void test_options(void)
{
	char *add[] = { "xen_emul_unplug=never", NULL };
	char *rm[] = { "console", "xen_emul_unplug=ide-disks,nics", NULL };
	_cleanup_free_ char *s = plan_options_edit(
		"root=/dev/sda1 console=hvc0 xen_emul_unplug=ide-disks,nics quiet", rm, add);
	is_str(s, "root=/dev/sda1 quiet xen_emul_unplug=never",
	       "options: removed by name and exact value, added once");
	_cleanup_free_ char *t = plan_options_edit(s, rm, add);
	is_str(t, s, "options: editing twice changes nothing");
	_cleanup_free_ char *e = plan_options_edit(NULL, NULL, NULL);
	is_str(e, "", "options: none stays none");
	char *keep[] = { "consoleblank=0", NULL };
	_cleanup_free_ char *k = plan_options_edit("consoleblank=0", rm, keep);
	is_str(k, "consoleblank=0", "options: 'console' does not remove 'consoleblank='");
}

static void test_grub_cfg(void)
{
	char *add[] = { "console=hvc0", NULL };
	char *rm[] = { "xen_emul_unplug", NULL };
	const char *text = "menuentry 'a' --id enlighten {\n"
			   "\tlinux\t/vmlinuz root=x ro xen_emul_unplug=never quiet\n"
			   "\tinitrd /initrd.img\n"
			   "}\n"
			   "  linuxefi /boot/vmlinuz\n"
			   "  linux16 /memtest86+.bin\n"
			   "echo 'linux is loading'";
	_cleanup_free_ char *s = plan_grub_cfg_edit(text, rm, add);
	is_str(s,
	       "menuentry 'a' --id enlighten {\n"
	       "\tlinux\t/vmlinuz root=x ro quiet console=hvc0\n"
	       "\tinitrd /initrd.img\n"
	       "}\n"
	       "  linuxefi /boot/vmlinuz console=hvc0\n"
	       "  linux16 /memtest86+.bin\n"
	       "echo 'linux is loading'",
	       "grub.cfg: each linux and linuxefi line edited, the rest kept byte for byte");
	_cleanup_free_ char *t = plan_grub_cfg_edit(s, rm, add);
	is_str(t, s, "grub.cfg: editing twice changes nothing");
}

static void test_entry(void)
{
	const char *text = "title Linux\nlinux /vmlinuz\ninitrd  /initrd\noptions root=x\n";
	_cleanup_free_ char *i = plan_entry_get(text, "initrd");
	is_str(i, "/initrd", "entry: value read past padding");
	_cleanup_free_ char *s = plan_entry_set(text, "initrd", "/new");
	is_str(s, "title Linux\nlinux /vmlinuz\ninitrd /new\noptions root=x\n",
	       "entry: key replaced in place");
	_cleanup_free_ char *d = plan_entry_set(text, "options", NULL);
	is_str(d, "title Linux\nlinux /vmlinuz\ninitrd  /initrd\n", "entry: key removed");
	_cleanup_free_ char *a = plan_entry_set(d, "options", "quiet");
	ok(a && endswith(a, "options quiet\n"), "entry: key appended");
	_cleanup_free_ char *n = plan_entry_get(text, "version");
	ok(!n, "entry: missing key is NULL");
}

static void test_units(int root)
{
	mkdirs("usr/lib/systemd/system");
	mkdirs("etc/systemd/system");
	tap_write("usr/lib/systemd/system/a.service",
		  "[Unit]\nDescription=a\n[Install]\nWantedBy=multi-user.target\nRequiredBy=b."
		  "target\nAlias=aa.service\nAlso=c.service\n");
	tap_write("usr/lib/systemd/system/c.service", "[Install]\nWantedBy=sysinit.target\n");
	tap_write("usr/lib/systemd/system/t@.service",
		  "[Install]\nWantedBy=multi-user.target\nDefaultInstance=x\n");
	tap_symlink("/dev/null", "etc/systemd/system/m.service");
	tap_write("usr/lib/systemd/system/m.service", "[Install]\nWantedBy=multi-user.target\n");

	is_int(unit_is_enabled(root, "a.service"), 0, "units: not enabled at first");
	is_int(unit_enable(root, "a.service", NULL), 1, "units: enable changes something");
	ok(is_link_to("etc/systemd/system/multi-user.target.wants/a.service",
		      "/usr/lib/systemd/system/a.service"),
	   "units: WantedBy= link, absolute target inside the root");
	ok(is_link_to("etc/systemd/system/b.target.requires/a.service",
		      "/usr/lib/systemd/system/a.service"),
	   "units: RequiredBy= link");
	ok(is_link_to("etc/systemd/system/aa.service", "/usr/lib/systemd/system/a.service"),
	   "units: Alias= link");
	ok(is_link_to("etc/systemd/system/sysinit.target.wants/c.service",
		      "/usr/lib/systemd/system/c.service"),
	   "units: Also= unit enabled too");
	is_int(unit_is_enabled(root, "a.service"), 1, "units: enabled");
	is_int(unit_enable(root, "a.service", NULL), 0, "units: enabling again changes nothing");
	is_int(unit_disable(root, "a.service", NULL), 1, "units: disable removes links");
	ok(access("etc/systemd/system/multi-user.target.wants/a.service", F_OK) != 0 &&
		   access("etc/systemd/system/aa.service", F_OK) != 0,
	   "units: links gone");
	is_int(unit_disable(root, "a.service", NULL), 0, "units: disabling again changes nothing");
	is_int(unit_enable(root, "t@.service", NULL), 1, "units: template with DefaultInstance=");
	ok(is_link_to("etc/systemd/system/multi-user.target.wants/t@x.service",
		      "/usr/lib/systemd/system/t@.service"),
	   "units: instance link");
	is_int(unit_enable(root, "m.service", NULL), -ERFKILL, "units: a masked unit is refused");
	is_int(unit_enable(root, "nope.service", NULL), -ENOENT,
	       "units: a missing unit is refused");
	is_int(unit_enable(root, "../x.service", NULL), -EINVAL, "units: a bad name is refused");

	/* a System V script that systemd-sysv-generator makes a unit (Debian's xen) */
	mkdirs("etc/init.d");
	for (const char *d = "2345"; *d; d++) {
		char rc[16];
		snprintf(rc, sizeof(rc), "etc/rc%c.d", *d);
		mkdirs(rc);
	}
	tap_write("etc/init.d/xen", "#!/bin/sh\n");
	is_int(unit_is_enabled(root, "xen.service"), 0, "sysv: a script without start links");
	is_int(unit_enable(root, "xen.service", NULL), 1, "sysv: enable makes the links");
	ok(is_link_to("etc/rc2.d/S01xen", "../init.d/xen") &&
		   is_link_to("etc/rc5.d/S01xen", "../init.d/xen"),
	   "sysv: S01 links to the script, as update-rc.d makes them");
	is_int(unit_is_enabled(root, "xen.service"), 1, "sysv: enabled");
	is_int(unit_enable(root, "xen.service", NULL), 0, "sysv: enabling again changes nothing");
	tap_write("etc/init.d/xendomains", "#!/bin/sh\n");
	tap_symlink("../init.d/xendomains", "etc/rc3.d/S04xendomains");
	is_int(unit_is_enabled(root, "xendomains.service"), 1,
	       "sysv: the package's own start link counts");
	is_int(unit_enable(root, "xendomains.service", NULL), 0, "sysv: and is left as it is");
	is_int(unit_enable(root, "xen.target", NULL), -ENOENT, "sysv: only for .service names");

	mkdirs("usr/lib/systemd/system-preset");
	mkdirs("etc/systemd/system-preset");
	tap_write("usr/lib/systemd/system-preset/90-default.preset",
		  "enable a.service\ndisable *\n");
	tap_write("etc/systemd/system-preset/10-local.preset", "disable a.service\n");
	tap_write("usr/lib/systemd/system-preset/50-enlighten-x.preset", "enable c.service\n");
	is_int(unit_preset_exact(root, "a.service"), 0, "presets: first match by file name wins");
	is_int(unit_preset_exact(root, "c.service"), -ENOENT,
	       "presets: a wildcard is no policy about one unit, enlighten's own presets are "
	       "ignored");
}

static void test_state(int root)
{
	struct state *s = NULL;
	_cleanup_free_ char *msg = NULL;
	is_int(state_load(root, &s, NULL), -ENOENT, "state: none yet");
	s = state_new();
	s->profile = strdup("kvm-guest");
	s->result = strdup("complete");
	is_int(state_save(root, s), 0, "state: saved");
	state_free(s);
	s = NULL;
	is_int(state_load(root, &s, NULL), 0, "state: loaded");
	ok(s && state_converged(s, "kvm-guest") && !state_converged(s, "xen-hvm"),
	   "state: converged on its profile only");
	state_free(s);
	s = NULL;
	tap_write(IMAGE_STATE_FILE, "{\"schema\":1,\"profile\":\"kvm-gu");
	is_int(state_load(root, &s, &msg), -EBADMSG, "state: truncated is refused");
	ok(msg && strstr(msg, "is corrupt"), "state: with a message");
	free(msg);
	msg = NULL;
	tap_write(IMAGE_STATE_FILE, "{\"schema\":1,\"profile\":7}");
	is_int(state_load(root, &s, &msg), -EBADMSG, "state: wrong types are refused");
	tap_write(IMAGE_STATE_FILE, "\x01\x02garbage");
	is_int(state_load(root, &s, NULL), -EBADMSG, "state: garbage is refused");

	int fd = state_lock(root);
	ok(fd >= 0, "lock: taken");
	is_int(state_lock(root), -EBUSY, "lock: a second run is refused");
	close(fd);
	fd = state_lock(root);
	ok(fd >= 0, "lock: free again after the first run");
	close(fd);
}

static void test_plan_json(void)
{
	const char *text =
		"{\"schema\":1,\"profile\":\"p\",\"previous\":null,\"forced\":true,\"steps\":["
		"{\"step\":\"rpm\",\"install\":[{\"name\":\"a\",\"evr\":\"1-1\",\"path\":\"r/"
		"a.rpm\","
		"\"sha256\":\"00\",\"length\":3}],\"erase\":[\"b\"]},"
		"{\"step\":\"write-file\",\"path\":\"etc/x\",\"content\":\"y\\n\"},"
		"{\"step\":\"enable-unit\",\"unit\":\"u.service\"},"
		"{\"step\":\"kernel-args\",\"entry\":\"e.conf\",\"add\":[\"a=1\"],\"remove\":[]},"
		"{\"step\":\"initrd\",\"entry\":\"e.conf\",\"kver\":\"6\",\"drivers\":null,"
		"\"output\":\"o\","
		"\"generic\":\"/g\",\"fallback\":\"f.conf\",\"strip\":[],\"args\":[]}]}";
	_cleanup_json_ json_object *o = NULL, *back = NULL;
	struct plan *p = NULL;
	is_int(json_parse_bounded(text, strlen(text), 1 << 20, &o, NULL), 0, "plan json: parsed");
	is_int(plan_from_json(o, &p, NULL), 0, "plan json: read");
	ok(p && p->n_steps == 5 && p->forced && p->steps[0].n_install == 1 && !p->steps[4].drivers,
	   "plan json: every step and field");
	back = p ? plan_to_json(p) : NULL;
	ok(back && json_object_equal(o, back), "plan json: written back the same");
	plan_free(p);

	const char *bad = "{\"profile\":\"p\",\"steps\":[{\"step\":\"write-file\",\"path\":\"../"
			  "etc/x\",\"content\":\"\"}]}";
	_cleanup_json_ json_object *b = NULL;
	_cleanup_free_ char *msg = NULL;
	p = NULL;
	json_parse_bounded(bad, strlen(bad), 1 << 20, &b, NULL);
	is_int(plan_from_json(b, &p, &msg), -EBADMSG,
	       "plan json: a path escaping the root is refused");
}

/* The entry the profiles edit: not Xen's, whose name sorts first. */
static void test_find_entry(int root)
{
	mkdirs("fe/boot/efi/loader/entries");
	FILE *f = fopen("fe/boot/efi/loader/entries/img-xen.conf", "w");
	fputs("title Xen\nefi /img/6.1/xen.efi\n", f);
	fclose(f);
	f = fopen("fe/boot/efi/loader/entries/img.conf", "w");
	fputs("title img\nlinux /img/6.1/linux\noptions console=ttyS0\n", f);
	fclose(f);
	int fe = openat(root, "fe", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *entry = NULL;
	is_int(plan_find_entry(fe, "boot/efi", &entry), 0, "an entry found");
	is_str(entry, "boot/efi/loader/entries/img.conf",
	       "the plain kernel's, not the Xen entry that sorts before it");
	free(entry);
	unlink("fe/boot/efi/loader/entries/img.conf");
	entry = NULL;
	is_int(plan_find_entry(fe, "boot/efi", &entry), -ENOENT, "an `efi` entry alone: none");
	free(entry);
	close(fe);
}

int main(void)
{
	tap_tmpdir();
	int root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	test_options();
	test_entry();
	test_grub_cfg();
	test_units(root);
	test_find_entry(root);
	test_state(root);
	test_plan_json();
	close(root);
	return tap_done();
}
