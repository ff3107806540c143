/* SPDX-License-Identifier: MIT */
/*
 * xen.c - the Xen entry's parts (xen.h): xen.efi out of the signed
 * hypervisor package, read with libarchive (a .deb's data.tar.* streamed
 * from within the ar archive, an RPM's cpio payload), the dom0 kernel's
 * config checked, and xen.cfg written.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builder/image/xen.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/hash.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

/* Where the distributions put the EFI hypervisor, inside their package. */
static const char *const xen_efi_globs[] = {
	"boot/xen-*.efi",	  /* Debian: xen-hypervisor-4.17-amd64 */
	"boot/xen.efi",		  /* Fedora's layout */
	"usr/lib64/efi/xen*.efi", /* SUSE: xen */
	"usr/lib/efi/xen*.efi",
};

void xen_efi_done(struct xen_efi *x)
{
	safe_close(x->fd);
	free(x->member);
	*x = (struct xen_efi){ .fd = -EBADF };
}

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}
#define _cleanup_archive_ _cleanup_(archive_freep)

static const char *member_name(struct archive_entry *e)
{
	const char *n = archive_entry_pathname(e);
	if (!n)
		return NULL;
	while (startswith(n, "./"))
		n += 2;
	while (*n == '/')
		n++;
	return n;
}

static bool is_xen_efi(const char *n)
{
	for (size_t i = 0; i < ELEMENTSOF(xen_efi_globs); i++)
		if (fnmatch(xen_efi_globs[i], n, FNM_PATHNAME) == 0)
			return true;
	return false;
}

/* The newest xen*.efi of the archive a (tar or cpio) into a memfd. */
static int take_efi(struct archive *a, struct xen_efi *x)
{
	struct archive_entry *e;
	for (;;) {
		int k = archive_read_next_header(a, &e);
		if (k == ARCHIVE_EOF)
			return x->fd >= 0 ? 0 : -ENOENT;
		if (k != ARCHIVE_OK && k != ARCHIVE_WARN)
			return -EBADMSG;
		const char *n = member_name(e);
		if (!n || archive_entry_filetype(e) != AE_IFREG || !is_xen_efi(n))
			continue;
		if (x->member && strverscmp(n, x->member) <= 0)
			continue;
		la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
		if (size < 0 || (uint64_t)size > XEN_EFI_MAX)
			return -EFBIG;
		_cleanup_close_ int fd = memfd_create("xen.efi", 0); /* mcopy reads /dev/fd/N */
		if (fd < 0)
			return -errno;
		char buf[64 * 1024];
		la_int64_t total = 0;
		for (;;) {
			la_ssize_t got = archive_read_data(a, buf, sizeof(buf));
			if (got < 0)
				return -EBADMSG;
			if (got == 0)
				break;
			total += got;
			if (total > size)
				return -EBADMSG;
			int w = fs_write_all(fd, buf, (size_t)got);
			if (w < 0)
				return w;
		}
		if (total != size)
			return -EBADMSG;
		char *m = strdup(n);
		if (!m)
			return -ENOMEM;
		free(x->member);
		x->member = m;
		safe_close(x->fd);
		x->fd = TAKE_FD(fd);
	}
}

/* libarchive reads the inner data.tar.* straight out of the outer ar. */
struct inner_src {
	struct archive *outer;
	char buf[64 * 1024];
};

static la_ssize_t inner_read(struct archive *inner, void *userdata, const void **ret_buf)
{
	struct inner_src *src = userdata;
	(void)inner;
	*ret_buf = src->buf;
	return archive_read_data(src->outer, src->buf, sizeof(src->buf));
}

static int efi_from_deb(struct archive *outer, struct xen_efi *x)
{
	struct archive_entry *e;
	for (;;) {
		int k = archive_read_next_header(outer, &e);
		if (k == ARCHIVE_EOF)
			return -ENOENT;
		if (k != ARCHIVE_OK)
			return -EBADMSG;
		const char *n = archive_entry_pathname(e);
		if (!n || !startswith(n, "data.tar"))
			continue;
		_cleanup_free_ struct inner_src *src = malloc(sizeof(*src));
		_cleanup_archive_ struct archive *inner = archive_read_new();
		if (!inner || !src)
			return -ENOMEM;
		src->outer = outer;
		archive_read_support_format_tar(inner);
		archive_read_support_format_gnutar(inner);
		archive_read_support_filter_all(inner);
		if (archive_read_open(inner, src, NULL, inner_read, NULL) != ARCHIVE_OK)
			return -EBADMSG;
		return take_efi(inner, x);
	}
}

int xen_efi_from_payload(int repo_fd, const struct catalog *cat, const char *package,
			 struct xen_efi *ret, char **reterr_msg)
{
	const struct catalog_payload *p = NULL;
	for (size_t i = 0; i < cat->n_payloads; i++) {
		const struct catalog_payload *q = &cat->payloads[i];
		const char *name = q->deb ? q->deb->name : q->rpm ? q->rpm->name : NULL;
		if (name && streq(name, package) &&
		    (!p || strverscmp(q->version ?: "", p->version ?: "") > 0))
			p = q;
	}
	if (!p)
		return errmsg_set(reterr_msg, -ENOENT,
				  "no package '%s' among the signed payloads: [Xen] Hypervisor= "
				  "names the package that carries xen.efi; add it to the payload "
				  "repository (scripts/fetch-components does for Debian's "
				  "xen-hypervisor-4.17-amd64) and index it again",
				  package);

	_cleanup_close_ int fd = fs_open_beneath(repo_fd, p->path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return errmsg_errno(reterr_msg, fd, "cannot open payload '%s': %m", p->path);
	/* the catalog's digest once more, on the descriptor read below */
	uint8_t sha[SHA256_DIGEST_SIZE];
	uint64_t len;
	int r = sha256_fd(fd, p->length, sha, &len);
	if (r < 0 && r != -EFBIG)
		return errmsg_errno(reterr_msg, r, "cannot read payload '%s': %m", p->path);
	if (r == -EFBIG || len != p->length || memcmp(sha, p->sha256, sizeof(sha)) != 0)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "payload '%s' does not match the signed catalog (length or "
				  "SHA-256); rebuild the repository",
				  p->path);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return errmsg_errno(reterr_msg, -errno, "cannot read payload '%s': %m", p->path);

	_cleanup_archive_ struct archive *a = archive_read_new();
	if (!a)
		return errmsg_oom(reterr_msg);
	archive_read_support_format_ar(a);
	archive_read_support_format_cpio(a);
	archive_read_support_filter_all(a); /* rpm, and the cpio's compression */
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
		return errmsg_set(reterr_msg, -EBADMSG, "payload '%s' is not a package: %s",
				  p->path, archive_error_string(a) ?: "unknown format");

	struct xen_efi x = { .fd = -EBADF, .payload = p };
	r = p->deb ? efi_from_deb(a, &x) : take_efi(a, &x);
	if (r == -ENOENT)
		r = errmsg_set(reterr_msg, r,
			       "package '%s' ('%s') holds no xen.efi (looked for boot/xen-*.efi "
			       "and usr/lib64/efi/xen*.efi); name the hypervisor package in "
			       "[Xen] Hypervisor=, not the tools",
			       package, p->path);
	else if (r == -EFBIG)
		r = errmsg_set(reterr_msg, r, "xen.efi in '%s' is larger than %u MiB", p->path,
			       XEN_EFI_MAX >> 20);
	else if (r < 0)
		r = errmsg_errno(reterr_msg, r, "cannot read package '%s': %s", p->path,
				 archive_error_string(a) ?: strerror(-r));
	if (r < 0) {
		xen_efi_done(&x);
		return r;
	}
	*ret = x;
	return 0;
}

int xen_kernel_config_has_dom0(const char *config)
{
	for (const char *l = config; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (startswith(l, "CONFIG_XEN_DOM0=y") &&
		    (l[strlen("CONFIG_XEN_DOM0=y")] == '\n' || !l[strlen("CONFIG_XEN_DOM0=y")]))
			return 1;
	return 0;
}

char *xen_cfg_text(const struct xen_cfg_opts *o)
{
	_cleanup_free_ char *mem = NULL, *cpus = NULL;
	char *text = NULL;
	if (o->dom0_memory && asprintf(&mem, "dom0_mem=%" PRIu64 "M,max:%" PRIu64 "M",
				       o->dom0_memory >> 20, o->dom0_memory >> 20) < 0)
		return NULL;
	if (o->dom0_cpus && asprintf(&cpus, "dom0_max_vcpus=%" PRIu32, o->dom0_cpus) < 0)
		return NULL;
	const char *parts[] = { mem, cpus, o->options };
	_cleanup_free_ char *joined = strdup("");
	for (size_t i = 0; joined && i < ELEMENTSOF(parts); i++) {
		if (!parts[i] || !*parts[i])
			continue;
		char *n = strjoin(joined, *joined ? " " : "", parts[i]);
		free(joined);
		joined = n;
	}
	if (!joined)
		return NULL;
	if (asprintf(&text,
		     "# xen.cfg - read by xen.efi beside it: the hypervisor's options and\n"
		     "# the control domain's kernel, command line and initrd\n"
		     "[global]\ndefault=%s\n\n[%s]\noptions=%s\nkernel=linux %s%s%s\n"
		     "ramdisk=initrd\n",
		     o->section, o->section, joined, o->cmdline,
		     o->xen_cmdline && *o->xen_cmdline ? " " : "",
		     o->xen_cmdline ? o->xen_cmdline : "") < 0)
		return NULL;
	return text;
}
