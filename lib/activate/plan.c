/* SPDX-License-Identifier: MIT */
/*
 * plan.c - from (profile, matrix, catalog, tree) to the ordered steps that
 * converge the tree on the profile.
 *
 * Order: the rpm transaction first (units and files may come from it), then
 * the agent's modules-load.d/modprobe.d files, units disabled then enabled,
 * the initrd (which also makes the fallback entry from the pristine entry),
 * and the kernel arguments last.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/activate/plan.h"
#include "lib/activate/bootcount.h"
#include "lib/activate/units.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/string-util.h"

#define SMALL_FILE_MAX (64 * 1024)
#define PLAN_JSON_STEPS_MAX 4096

static const char *const plan_step_kind_table[_STEP_KIND_MAX] = {
	[STEP_RPM] = "rpm",
	[STEP_DPKG] = "dpkg",
	[STEP_WRITE_FILE] = "write-file",
	[STEP_REMOVE_FILE] = "remove-file",
	[STEP_ENABLE_UNIT] = "enable-unit",
	[STEP_DISABLE_UNIT] = "disable-unit",
	[STEP_KERNEL_ARGS] = "kernel-args",
	[STEP_INITRD] = "initrd",
};

DEFINE_STRING_TABLE_LOOKUP(plan_step_kind, enum plan_step_kind)

void plan_payload_done(struct plan_payload *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->evr);
	free(p->path);
	free(p->sha256);
	strv_free(p->profiles);
	*p = (struct plan_payload){};
}

static void plan_install_done(struct plan_install *i)
{
	free(i->name);
	free(i->evr);
	free(i->path);
	free(i->sha256);
}

static void plan_step_done(struct plan_step *s)
{
	free(s->path);
	free(s->content);
	free(s->unit);
	for (size_t i = 0; i < s->n_install; i++)
		plan_install_done(&s->install[i]);
	free(s->install);
	strv_free(s->erase);
	strv_free(s->add);
	strv_free(s->remove);
	free(s->kver);
	strv_free(s->drivers);
	free(s->output);
	free(s->generic);
	free(s->fallback);
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_steps; i++)
		plan_step_done(&p->steps[i]);
	free(p->steps);
	free(p->profile);
	free(p->previous);
	free(p);
}

static struct plan_step *plan_add_step(struct plan *p, enum plan_step_kind kind)
{
	struct plan_step *n = reallocarray(p->steps, p->n_steps + 1, sizeof(*n));
	if (!n)
		return NULL;
	p->steps = n;
	n = &p->steps[p->n_steps++];
	*n = (struct plan_step){ .kind = kind };
	return n;
}

static int strv_extend_unique(char ***l, const char *s)
{
	return strv_contains(*l, s) ? 0 : strv_extend(l, s);
}

static int strv_extend_all(char ***l, char *const *add)
{
	for (; add && *add; add++) {
		int r = strv_extend_unique(l, *add);
		if (r < 0)
			return r;
	}
	return 0;
}

static char *lines_join(const char *prefix, char *const *a, char *const *b, const char *b_prefix)
{
	size_t n = strlen(prefix) + 1;
	for (char *const *l = a; l && *l; l++)
		n += strlen(*l) + 1;
	for (char *const *l = b; l && *l; l++)
		n += strlen(b_prefix) + strlen(*l) + 1;
	char *s = malloc(n), *p = s;
	if (!s)
		return NULL;
	p = stpcpy(p, prefix);
	for (char *const *l = a; l && *l; l++)
		p = stpcpy(stpcpy(p, *l), "\n");
	for (char *const *l = b; l && *l; l++)
		p = stpcpy(stpcpy(stpcpy(p, b_prefix), *l), "\n");
	return s;
}

#define GENERATED "# Written by enlighten-firstboot for profile '"

#define P(prof, key) profile_get(prof, PROFILE_LINUX_##key)
/* Packages and Services as the target's distribution family names them. */
#define PF(in, prof, key) profile_get_for(prof, (in)->family, PROFILE_LINUX_##key)

char *plan_modules_load_content(const struct profile *p)
{
	if (!*P(p, MODULES))
		return NULL;
	_cleanup_free_ char *head =
		strjoin(GENERATED, profile_name(p), "'; changes are overwritten.\n");
	return head ? lines_join(head, P(p, MODULES), NULL, "") : NULL;
}

char *plan_udev_content(const struct profile *p)
{
	if (!*P(p, UDEV_RULES))
		return NULL;
	_cleanup_free_ char *head =
		strjoin(GENERATED, profile_name(p), "'; changes are overwritten.\n");
	return head ? lines_join(head, P(p, UDEV_RULES), NULL, "") : NULL;
}

char *plan_modprobe_content(const struct profile *p)
{
	if (!*P(p, BLACKLIST) && !*P(p, MODPROBE_OPTIONS))
		return NULL;
	_cleanup_strv_free_ char **lines = NULL;
	for (char *const *b = P(p, BLACKLIST); *b; b++) {
		_cleanup_free_ char *l = strjoin("blacklist ", *b);
		if (!l || strv_extend(&lines, l) < 0)
			return NULL;
	}
	_cleanup_free_ char *head =
		strjoin(GENERATED, profile_name(p), "'; changes are overwritten.\n");
	return head ? lines_join(head, lines, P(p, MODPROBE_OPTIONS), "options ") : NULL;
}

/* ---- boot loader ------------------------------------------------------------------------ */

static const char *const esp_candidates[] = { "boot/efi", "efi", "boot" };

static bool esp_has_entries(int root_fd, const char *esp)
{
	_cleanup_free_ char *p = strjoin(esp, "/loader/entries");
	if (!p)
		return false;
	_cleanup_close_ int fd = fs_open_beneath(root_fd, p, O_RDONLY | O_DIRECTORY, 0);
	return fd >= 0;
}

int plan_find_esp(int root_fd, char **ret_esp)
{
	_cleanup_free_ char *fstab = NULL;
	int r = fs_read_file_at(root_fd, "etc/fstab", SMALL_FILE_MAX, &fstab, NULL);
	if (r >= 0) {
		/* The ESP is the vfat mount at /boot/efi or /efi. */
		for (char *save = NULL, *line = strtok_r(fstab, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *f[4] = {};
			size_t n = 0;
			for (char *s2 = NULL, *w = strtok_r(line, " \t", &s2); w && n < 4;
			     w = strtok_r(NULL, " \t", &s2))
				f[n++] = w;
			if (n < 3 || f[0][0] == '#')
				continue;
			if (!streq(f[1], "/boot/efi") && !streq(f[1], "/efi") &&
			    !streq(f[1], "/boot"))
				continue;
			if (!esp_has_entries(root_fd, f[1] + 1))
				continue;
			*ret_esp = strdup(f[1] + 1);
			return *ret_esp ? 0 : -ENOMEM;
		}
	}
	for (size_t i = 0; i < ELEMENTSOF(esp_candidates); i++)
		if (esp_has_entries(root_fd, esp_candidates[i])) {
			*ret_esp = strdup(esp_candidates[i]);
			return *ret_esp ? 0 : -ENOMEM;
		}
	return -ENOENT;
}

int plan_find_entry(int root_fd, const char *esp, char **ret_entry)
{
	_cleanup_free_ char *dir = strjoin(esp, "/loader/entries");
	if (!dir)
		return -ENOMEM;
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_list_dir(root_fd, dir, &(struct fs_list_opts){ .suffix = ".conf" }, &names);
	if (r < 0)
		return r;
	/* the first in name order that is not ours and starts a kernel: an
	 * `efi` entry (Xen's xen.efi, whose dom0 options are in its xen.cfg)
	 * has no command line of the kernel's to edit, though its name
	 * ("NAME-xen.conf") sorts before the plain "NAME.conf" */
	STRV_FOREACH(n, names)
	if (!startswith(*n, "enlighten-") && !bootcount_is_hostonly(*n)) {
		_cleanup_free_ char *path = strjoin(dir, "/", *n), *text = NULL, *kernel = NULL;
		if (!path)
			return -ENOMEM;
		r = fs_read_file_at(root_fd, path, SMALL_FILE_MAX, &text, NULL);
		if (r == -ENOMEM)
			return r;
		if (r < 0 || !(kernel = plan_entry_get(text, "linux")))
			continue;
		*ret_entry = TAKE_PTR(path);
		return 0;
	}
	return -ENOENT;
}

char *plan_entry_get(const char *text, const char *key)
{
	size_t k = strlen(key);
	for (const char *l = text; l && *l;) {
		const char *e = strchrnul(l, '\n');
		while (*l == ' ' || *l == '\t')
			l++;
		if (strncmp(l, key, k) == 0 && (l[k] == ' ' || l[k] == '\t')) {
			const char *v = l + k;
			while (*v == ' ' || *v == '\t')
				v++;
			char *s = strndup(v, (size_t)(e - v));
			return s ? strstrip(s) : NULL;
		}
		l = *e ? e + 1 : e;
	}
	return NULL;
}

char *plan_entry_set(const char *text, const char *key, const char *value)
{
	size_t k = strlen(key), cap = strlen(text) + strlen(key) + (value ? strlen(value) : 0) + 4;
	char *out = malloc(cap), *p = out;
	bool done = false;
	if (!out)
		return NULL;
	for (const char *l = text; *l;) {
		const char *e = strchrnul(l, '\n');
		const char *t = l;
		while (*t == ' ' || *t == '\t')
			t++;
		if (!done && strncmp(t, key, k) == 0 &&
		    (t[k] == ' ' || t[k] == '\t' || t + k == e)) {
			if (value)
				p += sprintf(p, "%s %s\n", key, value); /* cap covers it */
			done = true;
		} else {
			memcpy(p, l, (size_t)(e - l));
			p += e - l;
			*p++ = '\n';
		}
		l = *e ? e + 1 : e;
	}
	if (!done && value)
		p += sprintf(p, "%s %s\n", key, value);
	*p = '\0';
	return out;
}

static bool arg_matches(const char *arg, const char *pattern)
{
	if (streq(arg, pattern))
		return true;
	if (strchr(pattern, '='))
		return false;
	const char *rest = startswith(arg, pattern);
	return rest && *rest == '=';
}

char *plan_options_edit(const char *options, char *const *remove, char *const *add)
{
	_cleanup_strv_free_ char **args = NULL;
	_cleanup_free_ char *copy = strdup(options ? options : "");
	if (!copy)
		return NULL;
	for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		bool drop = false;
		for (char *const *r = remove; r && *r && !drop; r++)
			drop = arg_matches(w, *r) && !strv_contains(add, w);
		if (!drop && strv_extend(&args, w) < 0)
			return NULL;
	}
	for (char *const *a = add; a && *a; a++)
		if (!strv_contains(args, *a) && strv_extend(&args, *a) < 0)
			return NULL;
	size_t n = 1;
	for (char **a = args; a && *a; a++)
		n += strlen(*a) + 1;
	char *s = malloc(n), *p = s;
	if (!s)
		return NULL;
	*p = '\0';
	for (char **a = args; a && *a; a++)
		p = stpcpy(stpcpy(p, a == args ? "" : " "), *a);
	return s;
}

int plan_find_grub_cfg(int root_fd, char **ret_path)
{
	static const char *const cfgs[] = { "boot/grub/grub.cfg", "boot/grub2/grub.cfg" };
	for (size_t i = 0; i < ELEMENTSOF(cfgs); i++) {
		_cleanup_close_ int fd = fs_open_beneath(root_fd, cfgs[i], O_RDONLY | O_NOCTTY, 0);
		if (fd >= 0) {
			*ret_path = strdup(cfgs[i]);
			return *ret_path ? 0 : -ENOMEM;
		}
	}
	return -ENOENT;
}

/* "	linux	/vmlinuz ARGS": the indentation, the command and the kernel kept,
 * the arguments edited (split at blanks: the build and grub-mkconfig
 * quote none of the arguments a profile names). */
static int grub_line_edit(FILE *f, const char *line, char *const *remove, char *const *add)
{
	const char *cmd = line + strspn(line, " \t");
	size_t n = strcspn(cmd, " \t");
	if (!((n == 5 && startswith(cmd, "linux")) || (n == 8 && startswith(cmd, "linuxefi"))))
		return fputs(line, f) < 0 ? -EIO : 0;
	const char *kernel = cmd + n + strspn(cmd + n, " \t");
	const char *args = kernel + strcspn(kernel, " \t");
	_cleanup_free_ char *edited = plan_options_edit(args, remove, add);
	if (!edited)
		return -ENOMEM;
	fprintf(f, "%.*s%s%s", (int)(args - line), line, *edited ? " " : "", edited);
	return 0;
}

char *plan_grub_cfg_edit(const char *text, char *const *remove, char *const *add)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int r = 0;
	if (!f)
		return NULL;
	for (const char *l = text; r >= 0 && *l;) {
		size_t n = strcspn(l, "\n");
		_cleanup_free_ char *line = strndup(l, n);
		r = line ? grub_line_edit(f, line, remove, add) : -ENOMEM;
		if (r >= 0 && l[n] == '\n')
			fputc('\n', f);
		l += n + (l[n] == '\n');
	}
	if (fclose(f) != 0 || r < 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* The kernel version an initrd is built for: the entry's "version", else
 * the one directory in usr/lib/modules (or lib/modules). */
static int find_kver(int root_fd, const char *entry_text, char **ret)
{
	char *v = plan_entry_get(entry_text, "version");
	if (v && *v && !strchr(v, '/')) {
		*ret = v;
		return 0;
	}
	free(v);
	static const char *const dirs[] = { "usr/lib/modules", "lib/modules" };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		_cleanup_strv_free_ char **names = NULL;
		int r = fs_list_dir(root_fd, dirs[i], NULL, &names);
		if (r < 0)
			continue;
		size_t n = strv_length(names);
		if (n > 0) { /* the last in name order */
			*ret = strdup(names[n - 1]);
			return *ret ? 0 : -ENOMEM;
		}
	}
	return -ENOENT;
}

static bool root_has_dracut(int root_fd)
{
	static const char *const paths[] = { "usr/bin/dracut", "usr/sbin/dracut", "sbin/dracut" };
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		_cleanup_close_ int fd = fs_open_beneath(root_fd, paths[i], O_PATH, 0);
		if (fd >= 0)
			return true;
	}
	return false;
}

static int file_differs(int root_fd, const char *path, const char *content)
{
	_cleanup_free_ char *cur = NULL;
	int r = fs_read_file_at(root_fd, path, SMALL_FILE_MAX, &cur, NULL);
	if (r == -ENOENT)
		return content != NULL;
	if (r < 0)
		return r == -EFBIG ? 1 : r;
	return !content || !streq(cur, content);
}

/* ---- the planner ------------------------------------------------------------------------ */

static const struct plan_payload *payload_find(const struct plan_input *in, const char *name)
{
	for (size_t i = 0; i < in->n_payloads; i++)
		if (streq(in->payloads[i].name, name))
			return &in->payloads[i];
	return NULL;
}

static int plan_packages(const struct plan_input *in, struct plan *p, char **reterr_msg)
{
	_cleanup_strv_free_ char **want = NULL, **unwanted = NULL;
	const struct profile *prof = in->profile;
	const char *name = profile_name(prof);
	int r;

	r = strv_extend_all(&want, PF(in, prof, PACKAGES));
	STRV_FOREACH(c, in->closure)
	if (r >= 0)
		r = strv_extend_unique(&want, *c);
	for (size_t i = 0; r >= 0 && !in->closure && i < in->n_payloads; i++)
		if (strv_contains(in->payloads[i].profiles, name))
			r = strv_extend_unique(&want, in->payloads[i].name);
	for (size_t i = 0; r >= 0 && i < profile_set_size(in->profiles); i++) {
		const struct profile *o = profile_set_get(in->profiles, i);
		if (!streq(profile_name(o), name))
			r = strv_extend_all(&unwanted, PF(in, o, PACKAGES));
	}
	/* Every other profile's enlighten-ic-* goes. A payload that is in the
	 * repository only because a component needs it (a library) is left
	 * installed when its profile goes: something else may need it too. */
	for (size_t i = 0; r >= 0 && i < in->n_payloads; i++)
		if (startswith(in->payloads[i].name, "enlighten-ic-") ||
		    in->manager != PLAN_PKG_DPKG)
			r = strv_extend_unique(&unwanted, in->payloads[i].name);
	if (r >= 0)
		r = strv_extend_all(&unwanted, P(prof, REMOVE_PACKAGES));
	if (r < 0)
		return r;

	struct plan_step step = { .kind = in->manager == PLAN_PKG_DPKG ? STEP_DPKG : STEP_RPM };
	for (char **w = want; w && *w; w++) {
		if (strv_contains(in->installed, *w) && !strv_contains(in->broken, *w))
			continue;
		const struct plan_payload *pl = payload_find(in, *w);
		if (!pl) {
			plan_step_done(&step);
			return errmsg_set(
				reterr_msg, -ENOENT,
				"package '%s' of profile '%s' is not installed and not in "
				"the repository",
				*w, name);
		}
		struct plan_install *n = reallocarray(step.install, step.n_install + 1, sizeof(*n));
		if (!n) {
			plan_step_done(&step);
			return -ENOMEM;
		}
		step.install = n;
		n = &step.install[step.n_install++];
		*n = (struct plan_install){ .name = strdup(pl->name),
					    .evr = strdup(pl->evr ? pl->evr : ""),
					    .path = strdup(pl->path),
					    .sha256 = strdup(pl->sha256 ? pl->sha256 : ""),
					    .length = pl->length };
		if (!n->name || !n->evr || !n->path || !n->sha256) {
			plan_step_done(&step);
			return -ENOMEM;
		}
	}
	for (char **u = unwanted; u && *u; u++)
		if (!strv_contains(want, *u) && strv_contains(in->installed, *u) &&
		    strv_extend(&step.erase, *u) < 0) {
			plan_step_done(&step);
			return -ENOMEM;
		}
	if (step.n_install == 0 && !step.erase)
		return 0;
	struct plan_step *s = plan_add_step(p, step.kind);
	if (!s) {
		plan_step_done(&step);
		return -ENOMEM;
	}
	*s = step;
	return 0;
}

static int plan_file(const struct plan_input *in, struct plan *p, const char *path, char *content)
{
	_cleanup_free_ char *c = content;
	int r = file_differs(in->root_fd, path, c);
	if (r <= 0)
		return r;
	struct plan_step *s = plan_add_step(p, c ? STEP_WRITE_FILE : STEP_REMOVE_FILE);
	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	s->content = TAKE_PTR(c);
	return s->path ? 0 : -ENOMEM;
}

static int plan_units(const struct plan_input *in, struct plan *p)
{
	const struct profile *prof = in->profile;
	_cleanup_strv_free_ char **others = NULL;
	for (size_t i = 0; i < profile_set_size(in->profiles); i++) {
		const struct profile *o = profile_set_get(in->profiles, i);
		if (!streq(profile_name(o), profile_name(prof)) &&
		    strv_extend_all(&others, PF(in, o, SERVICES)) < 0)
			return -ENOMEM;
	}
	if (strv_extend_all(&others, P(prof, DISABLE_SERVICES)) < 0)
		return -ENOMEM;

	for (char **u = others; u && *u; u++) {
		if (strv_contains(PF(in, prof, SERVICES), *u))
			continue;
		if (unit_has_links(in->root_fd, *u) != 1 || unit_preset_exact(in->root_fd, *u) == 1)
			continue;
		struct plan_step *s = plan_add_step(p, STEP_DISABLE_UNIT);
		if (!s || !(s->unit = strdup(*u)))
			return -ENOMEM;
	}
	for (char *const *u = PF(in, prof, SERVICES); *u; u++) {
		if (unit_is_enabled(in->root_fd, *u) == 1 ||
		    unit_preset_exact(in->root_fd, *u) == 0)
			continue;
		struct plan_step *s = plan_add_step(p, STEP_ENABLE_UNIT);
		if (!s || !(s->unit = strdup(*u)))
			return -ENOMEM;
	}
	return 0;
}

static int all_kernel_args(const struct plan_input *in, bool others_only, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	char *const *mine = P(in->profile, KERNEL_ARGS);
	for (size_t i = 0; i < profile_set_size(in->profiles); i++) {
		const struct profile *o = profile_set_get(in->profiles, i);
		if (others_only && streq(profile_name(o), profile_name(in->profile)))
			continue;
		for (char *const *a = P(o, KERNEL_ARGS); *a; a++)
			if (!(others_only && strv_contains(mine, *a)) &&
			    strv_extend_unique(&l, *a) < 0)
				return -ENOMEM;
	}
	for (char *const *a = P(in->profile, REMOVE_KERNEL_ARGS); others_only && *a; a++)
		if (!strv_contains(mine, *a) && strv_extend_unique(&l, *a) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

/* The initrd line of the entry names the initrd relative to the ESP. */
static int initrd_paths(const char *esp, const char *generic, char **ret_output, char **ret_value)
{
	const char *slash = strrchr(generic, '/');
	_cleanup_free_ char *dir = slash ? strndup(generic, (size_t)(slash - generic)) : strdup("");
	if (!dir)
		return -ENOMEM;
	const char *d = dir[0] == '/' ? dir + 1 : dir;
	*ret_value = strjoin("/", d, *d ? "/" : "", PLAN_INITRD_NAME);
	*ret_output = strjoin(esp, "/", d, *d ? "/" : "", PLAN_INITRD_NAME);
	if (!*ret_value || !*ret_output) {
		free(*ret_value);
		free(*ret_output);
		return -ENOMEM;
	}
	if (path_check_relative(*ret_output) < 0) {
		free(*ret_value);
		free(*ret_output);
		return -EINVAL;
	}
	return 0;
}

/* Loader=grub: the profile's kernel arguments on grub.cfg's `linux` lines
 * (a kernel-args step), and, where the root has grub-mkconfig, in
 * PLAN_GRUB_DEFAULTS_FILE too, so a regenerated grub.cfg keeps them. The
 * host-only initrd is not built for GRUB: it keeps the generic one. */
static int plan_grub(const struct plan_input *in, struct plan *p)
{
	_cleanup_free_ char *cfg = NULL, *text = NULL, *edited = NULL, *defaults = NULL;
	_cleanup_strv_free_ char **remove = NULL;
	char *const *add = P(in->profile, KERNEL_ARGS);
	int r = plan_find_grub_cfg(in->root_fd, &cfg);
	if (r == -ENOENT)
		return 0; /* no loader we know: nothing to edit */
	if (r < 0)
		return r;
	r = fs_read_file_at(in->root_fd, cfg, SMALL_FILE_MAX, &text, NULL);
	if (r < 0)
		return r;
	r = all_kernel_args(in, true, &remove);
	if (r < 0)
		return r;
	edited = plan_grub_cfg_edit(text, remove, add);
	if (!edited)
		return -ENOMEM;
	if (!streq(edited, text)) {
		struct plan_step *s = plan_add_step(p, STEP_KERNEL_ARGS);
		if (!s || !(s->path = strdup(cfg)))
			return -ENOMEM;
		if (strv_extend_all(&s->add, add) < 0 || strv_extend_all(&s->remove, remove) < 0)
			return -ENOMEM;
	}
	_cleanup_close_ int mk = fs_open_beneath(in->root_fd, "usr/sbin/grub-mkconfig", O_PATH, 0);
	if (mk < 0)
		mk = fs_open_beneath(in->root_fd, "usr/sbin/grub2-mkconfig", O_PATH, 0);
	if (mk < 0)
		return 0;
	if (*add) {
		_cleanup_free_ char *args = plan_options_edit(NULL, NULL, add);
		if (!args || asprintf(&defaults,
				      "# written by enlighten-firstboot for profile %s\n"
				      "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX %s\"\n",
				      profile_name(in->profile), args) < 0)
			return -ENOMEM;
	}
	return plan_file(in, p, PLAN_GRUB_DEFAULTS_FILE, TAKE_PTR(defaults));
}

/* Whether the host-only entry, the loader's default and the fallback entry
 * are as the initrd step would leave them for the profile's host-only
 * initrd value. An entry whose tries ran out (the initrd did not boot) is
 * left so while nothing changes: the generic entry boots instead. */
static int hostonly_current(const struct plan_input *in, const char *entry, const char *text,
			    const char *value, char *const *all, bool *ret)
{
	_cleanup_strv_free_ char **files = NULL;
	_cleanup_free_ char *want = NULL, *cur = NULL, *lc_path = NULL, *lc = NULL, *lc_want = NULL;
	int r = bootcount_hostonly_files(in->root_fd, entry, &files);
	if (r < 0)
		return r;
	*ret = false;
	if (strv_length(files) != 1)
		return 0;
	want = bootcount_hostonly_entry(text, value, all, P(in->profile, KERNEL_ARGS));
	lc_path = bootcount_loader_conf_path(entry);
	if (!want || !lc_path)
		return -ENOMEM;
	(void)fs_read_file_at(in->root_fd, files[0], SMALL_FILE_MAX, &cur, NULL);
	(void)fs_read_file_at(in->root_fd, lc_path, SMALL_FILE_MAX, &lc, NULL);
	lc_want = bootcount_loader_conf(lc, entry);
	if (!lc_want)
		return -ENOMEM;
	*ret = cur && streq(cur, want) && lc && streq(lc, lc_want);
	return 0;
}

struct boot_where {
	const char *esp, *entry, *text, *fallback, *fb_text, *initrd, *generic;
	char **all; /* every profile's kernel arguments */
};

/* The initrd step: a host-only initrd with the profile's InitrdModules= in
 * a counted entry of its own beside the entry (bootcount.h), or none. */
static int plan_initrd(const struct plan_input *in, struct plan *p, const struct boot_where *w)
{
	_cleanup_free_ char *kver = NULL, *output = NULL, *value = NULL, *stamp = NULL,
			    *drivers = NULL;
	_cleanup_strv_free_ char **files = NULL;
	const struct profile *prof = in->profile;
	bool need = false, want_ours = *P(prof, INITRD_MODULES);
	int r = initrd_paths(w->esp, w->generic, &output, &value);
	if (r < 0)
		return r;
	if (want_ours) {
		if (find_kver(in->root_fd, w->text, &kver) < 0)
			return 0; /* no kernel to build for */
		_cleanup_free_ char *stamp_path = strjoin(output, ".drivers");
		if (!stamp_path)
			return -ENOMEM;
		_cleanup_free_ char *joined = lines_join("", P(prof, INITRD_MODULES), NULL, "");
		drivers = joined ? strjoin(kver, "\n", joined) : NULL;
		if (!drivers)
			return -ENOMEM;
		(void)fs_read_file_at(in->root_fd, stamp_path, SMALL_FILE_MAX, &stamp, NULL);
		bool current = false;
		r = hostonly_current(in, w->entry, w->text, value, w->all, &current);
		if (r < 0)
			return r;
		need = !w->initrd || !streq(w->initrd, w->generic) || !stamp ||
		       !streq(stamp, drivers) || !w->fb_text || !current;
	} else {
		r = bootcount_hostonly_files(in->root_fd, w->entry, &files);
		if (r < 0)
			return r;
		need = (w->initrd && streq(w->initrd, value)) || files[0];
	}
	if (!need)
		return 0;
	struct plan_step *s = plan_add_step(p, STEP_INITRD);
	if (!s)
		return -ENOMEM;
	s->path = strdup(w->entry);
	s->kver = TAKE_PTR(kver);
	s->output = TAKE_PTR(output);
	s->generic = strdup(w->generic);
	s->fallback = strdup(w->fallback);
	if (!s->path || !s->generic || !s->fallback)
		return -ENOMEM;
	if (want_ours && (strv_extend_all(&s->drivers, P(prof, INITRD_MODULES)) < 0 ||
			  strv_extend_all(&s->add, P(prof, KERNEL_ARGS)) < 0))
		return -ENOMEM;
	if (strv_extend_all(&s->remove, w->all) < 0)
		return -ENOMEM;
	/* the host-only entry's count is the agent's to reset: keep
	 * systemd-bless-boot from marking it good for ever */
	return plan_file(in, p, BOOTCOUNT_BLESS_DROPIN,
			 want_ours ? strdup("# written by enlighten-firstboot: it resets the "
					    "boot counter of its host-only entry itself\n"
					    "[Unit]\n"
					    "ConditionKernelCommandLine=!" BOOTCOUNT_MARKER "\n")
				   : NULL);
}

static int plan_boot(const struct plan_input *in, struct plan *p)
{
	_cleanup_free_ char *esp = NULL, *entry = NULL, *text = NULL, *fallback = NULL,
			    *fb_text = NULL;
	_cleanup_free_ char *initrd = NULL, *generic = NULL, *options = NULL, *new_options = NULL;
	_cleanup_strv_free_ char **remove = NULL, **all = NULL;
	const struct profile *prof = in->profile;
	int r;

	if (plan_find_esp(in->root_fd, &esp) < 0 || plan_find_entry(in->root_fd, esp, &entry) < 0)
		return plan_grub(in, p); /* no systemd-boot entry: GRUB's, if any */
	r = fs_read_file_at(in->root_fd, entry, SMALL_FILE_MAX, &text, NULL);
	if (r < 0)
		return r;
	fallback = strjoin(esp, "/loader/entries/" PLAN_FALLBACK_ENTRY);
	if (!fallback)
		return -ENOMEM;
	(void)fs_read_file_at(in->root_fd, fallback, SMALL_FILE_MAX, &fb_text, NULL);

	initrd = plan_entry_get(text, "initrd");
	generic = fb_text ? plan_entry_get(fb_text, "initrd") : NULL;
	if (!generic && initrd && !endswith(initrd, "/" PLAN_INITRD_NAME))
		generic = strdup(initrd);
	r = all_kernel_args(in, false, &all);
	if (r < 0)
		return r;

	if (generic && root_has_dracut(in->root_fd)) {
		struct boot_where w = { .esp = esp,
					.entry = entry,
					.text = text,
					.fallback = fallback,
					.fb_text = fb_text,
					.initrd = initrd,
					.generic = generic,
					.all = all };
		r = plan_initrd(in, p, &w);
		if (r < 0)
			return r;
	}
	r = all_kernel_args(in, true, &remove);
	if (r < 0)
		return r;
	options = plan_entry_get(text, "options");
	new_options = plan_options_edit(options, remove, P(prof, KERNEL_ARGS));
	if (!new_options)
		return -ENOMEM;
	if (streq(new_options, options ? options : ""))
		return 0;
	struct plan_step *s = plan_add_step(p, STEP_KERNEL_ARGS);
	if (!s || !(s->path = strdup(entry)))
		return -ENOMEM;
	if (strv_extend_all(&s->add, P(prof, KERNEL_ARGS)) < 0 ||
	    strv_extend_all(&s->remove, remove) < 0)
		return -ENOMEM;
	return 0;
}

int plan_build(const struct plan_input *in, struct plan **ret, char **reterr_msg)
{
	_cleanup_plan_ struct plan *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->profile = strdup(profile_name(in->profile));
	p->previous = in->previous ? strdup(in->previous) : NULL;
	p->forced = in->forced;
	if (!p->profile || (in->previous && !p->previous))
		return -ENOMEM;

	r = plan_packages(in, p, reterr_msg);
	if (r < 0)
		return r;
	r = plan_file(in, p, PLAN_MODULES_LOAD_FILE, plan_modules_load_content(in->profile));
	if (r < 0)
		return r;
	r = plan_file(in, p, PLAN_MODPROBE_FILE, plan_modprobe_content(in->profile));
	if (r < 0)
		return r;
	r = plan_file(in, p, PLAN_UDEV_FILE, plan_udev_content(in->profile));
	if (r < 0)
		return r;
	r = plan_units(in, p);
	if (r < 0)
		return r;
	r = plan_boot(in, p);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void add_str(json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

json_object *plan_to_json(const struct plan *p)
{
	json_object *o = json_object_new_object(), *steps = json_object_new_array();
	if (!o || !steps) {
		json_object_put(o);
		json_object_put(steps);
		return NULL;
	}
	json_object_object_add(o, "schema", json_object_new_int(1));
	json_object_object_add(o, "profile", json_object_new_string(p->profile));
	json_object_object_add(o, "previous", json_string_or_null(p->previous));
	json_object_object_add(o, "forced", json_object_new_boolean(p->forced));
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "step",
				       json_object_new_string(plan_step_kind_to_string(s->kind)));
		switch (s->kind) {
		case STEP_RPM:
		case STEP_DPKG: {
			json_object *a = json_object_new_array();
			for (size_t k = 0; k < s->n_install; k++) {
				json_object *e = json_object_new_object();
				add_str(e, "name", s->install[k].name);
				add_str(e, "evr", s->install[k].evr);
				add_str(e, "path", s->install[k].path);
				add_str(e, "sha256", s->install[k].sha256);
				json_object_object_add(
					e, "length",
					json_object_new_int64((int64_t)s->install[k].length));
				json_object_array_add(a, e);
			}
			json_object_object_add(j, "install", a);
			json_object_object_add(j, "erase", json_strv(s->erase));
			break;
		}
		case STEP_WRITE_FILE:
			add_str(j, "path", s->path);
			add_str(j, "content", s->content);
			break;
		case STEP_REMOVE_FILE:
			add_str(j, "path", s->path);
			break;
		case STEP_ENABLE_UNIT:
		case STEP_DISABLE_UNIT:
			add_str(j, "unit", s->unit);
			break;
		case STEP_KERNEL_ARGS:
			add_str(j, "entry", s->path);
			json_object_object_add(j, "add", json_strv(s->add));
			json_object_object_add(j, "remove", json_strv(s->remove));
			break;
		case STEP_INITRD:
			add_str(j, "entry", s->path);
			add_str(j, "kver", s->kver);
			json_object_object_add(j, "drivers", json_strv_or_null(s->drivers));
			add_str(j, "output", s->output);
			add_str(j, "generic", s->generic);
			add_str(j, "fallback", s->fallback);
			json_object_object_add(j, "strip", json_strv(s->remove));
			json_object_object_add(j, "args", json_strv(s->add));
			break;
		case _STEP_KIND_MAX:
			break;
		}
		json_object_array_add(steps, j);
	}
	json_object_object_add(o, "steps", steps);
	return o;
}

static int get_opt_str(json_object *o, const char *key, bool required, char **ret)
{
	const char *v;
	int r = json_get_string(o, key, &v);
	if (r == -ENOENT && !required) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return -EBADMSG;
	*ret = strdup(v);
	return *ret ? 0 : -ENOMEM;
}

/* A JSON array of strings (NULL when empty); a missing or null key gives
 * NULL when nullable, else -EBADMSG. */
static int get_strv(json_object *o, const char *key, bool nullable, char ***ret)
{
	json_object *a = NULL;
	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &a) || !a)
		return nullable ? 0 : -EBADMSG;
	if (!json_object_is_type(a, json_type_array))
		return -EBADMSG;
	_cleanup_strv_free_ char **l = NULL;
	size_t n = json_object_array_length(a);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			return -EBADMSG;
		if (strv_extend(&l, json_object_get_string(e)) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

static int step_from_json(json_object *j, struct plan_step *s)
{
	const char *kind;
	int r;
	if (!json_object_is_type(j, json_type_object) || json_get_string(j, "step", &kind) < 0)
		return -EBADMSG;
	int k = (int)plan_step_kind_from_string(kind);
	if (k < 0)
		return -EBADMSG;
	s->kind = (enum plan_step_kind)k;
	switch (s->kind) {
	case STEP_RPM:
	case STEP_DPKG: {
		json_object *a;
		if (!json_object_object_get_ex(j, "install", &a) ||
		    !json_object_is_type(a, json_type_array))
			return -EBADMSG;
		size_t n = json_object_array_length(a);
		s->install = calloc(n ? n : 1, sizeof(*s->install));
		if (!s->install)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i);
			struct plan_install *in = &s->install[i];
			int64_t len;
			s->n_install++;
			if ((r = get_opt_str(e, "name", true, &in->name)) < 0 ||
			    (r = get_opt_str(e, "evr", false, &in->evr)) < 0 ||
			    (r = get_opt_str(e, "path", true, &in->path)) < 0 ||
			    (r = get_opt_str(e, "sha256", false, &in->sha256)) < 0)
				return r;
			if (json_get_int64(e, "length", &len) < 0 || len < 0)
				return -EBADMSG;
			in->length = (uint64_t)len;
			if (path_check_relative(in->path) < 0)
				return -EBADMSG;
		}
		return get_strv(j, "erase", true, &s->erase);
	}
	case STEP_WRITE_FILE:
		if ((r = get_opt_str(j, "content", true, &s->content)) < 0)
			return r;
		__attribute__((fallthrough));
	case STEP_REMOVE_FILE:
		if ((r = get_opt_str(j, "path", true, &s->path)) < 0)
			return r;
		return path_check_relative(s->path) < 0 ? -EBADMSG : 0;
	case STEP_ENABLE_UNIT:
	case STEP_DISABLE_UNIT:
		return get_opt_str(j, "unit", true, &s->unit);
	case STEP_KERNEL_ARGS:
		if ((r = get_opt_str(j, "entry", true, &s->path)) < 0 ||
		    (r = get_strv(j, "add", false, &s->add)) < 0 ||
		    (r = get_strv(j, "remove", false, &s->remove)) < 0)
			return r;
		return path_check_relative(s->path) < 0 ? -EBADMSG : 0;
	case STEP_INITRD:
		if ((r = get_opt_str(j, "entry", true, &s->path)) < 0 ||
		    (r = get_opt_str(j, "kver", false, &s->kver)) < 0 ||
		    (r = get_strv(j, "drivers", true, &s->drivers)) < 0 ||
		    (r = get_opt_str(j, "output", true, &s->output)) < 0 ||
		    (r = get_opt_str(j, "generic", true, &s->generic)) < 0 ||
		    (r = get_opt_str(j, "fallback", true, &s->fallback)) < 0 ||
		    (r = get_strv(j, "strip", true, &s->remove)) < 0 ||
		    (r = get_strv(j, "args", true, &s->add)) < 0)
			return r;
		if (path_check_relative(s->path) < 0 || path_check_relative(s->output) < 0 ||
		    path_check_relative(s->fallback) < 0 || (s->drivers && !s->kver))
			return -EBADMSG;
		return 0;
	case _STEP_KIND_MAX:
		break;
	}
	return -EBADMSG;
}

int plan_from_json(json_object *o, struct plan **ret, char **reterr_msg)
{
	_cleanup_plan_ struct plan *p = calloc(1, sizeof(*p));
	json_object *steps, *forced;
	int r;

	if (!p)
		return -ENOMEM;
	if (!json_object_is_type(o, json_type_object) ||
	    get_opt_str(o, "profile", true, &p->profile) < 0 ||
	    get_opt_str(o, "previous", false, &p->previous) < 0 ||
	    !json_object_object_get_ex(o, "steps", &steps) ||
	    !json_object_is_type(steps, json_type_array) ||
	    json_object_array_length(steps) > PLAN_JSON_STEPS_MAX) {
		return errmsg_set(reterr_msg, -EBADMSG,
				  "plan: missing or malformed 'profile' or 'steps'");
	}
	if (json_object_object_get_ex(o, "forced", &forced))
		p->forced = json_object_get_boolean(forced);
	size_t n = json_object_array_length(steps);
	p->steps = calloc(n ? n : 1, sizeof(*p->steps));
	if (!p->steps)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		p->n_steps++;
		r = step_from_json(json_object_array_get_idx(steps, i), &p->steps[i]);
		if (r < 0) {
			return errmsg_set(reterr_msg, r, "plan: step %zu is malformed", i);
		}
	}
	*ret = TAKE_PTR(p);
	return 0;
}

static char *strv_join_words(char *const *l)
{
	size_t n = 1;
	for (char *const *a = l; a && *a; a++)
		n += strlen(*a) + 1;
	char *s = malloc(n), *p = s;
	if (!s)
		return NULL;
	*p = '\0';
	for (char *const *a = l; a && *a; a++)
		p = stpcpy(stpcpy(p, a == l ? "" : " "), *a);
	return s;
}

char *plan_step_describe(const struct plan_step *s)
{
	char *out = NULL;
	int r = -1;
	switch (s->kind) {
	case STEP_RPM:
	case STEP_DPKG: {
		_cleanup_strv_free_ char **names = NULL;
		for (size_t i = 0; i < s->n_install; i++)
			if (strv_extend(&names, s->install[i].name) < 0)
				return NULL;
		_cleanup_free_ char *in = strv_join_words(names), *er = strv_join_words(s->erase);
		if (in && er)
			r = asprintf(&out, "packages: install [%s] erase [%s]", in, er);
		break;
	}
	case STEP_WRITE_FILE:
		r = asprintf(&out, "write /%s", s->path);
		break;
	case STEP_REMOVE_FILE:
		r = asprintf(&out, "remove /%s", s->path);
		break;
	case STEP_ENABLE_UNIT:
		r = asprintf(&out, "enable %s", s->unit);
		break;
	case STEP_DISABLE_UNIT:
		r = asprintf(&out, "disable %s", s->unit);
		break;
	case STEP_KERNEL_ARGS: {
		_cleanup_free_ char *a = strv_join_words(s->add), *d = strv_join_words(s->remove);
		if (a && d)
			r = asprintf(&out, "kernel arguments in /%s: add [%s] remove [%s]", s->path,
				     a, d);
		break;
	}
	case STEP_INITRD: {
		_cleanup_free_ char *d = strv_join_words(s->drivers);
		if (d)
			r = s->drivers
				    ? asprintf(&out, "initrd /%s for %s with [%s]", s->output,
					       s->kver, d)
				    : asprintf(&out, "initrd back to the generic %s", s->generic);
		break;
	}
	case _STEP_KIND_MAX:
		break;
	}
	return r < 0 ? NULL : out;
}
