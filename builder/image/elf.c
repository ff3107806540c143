/* SPDX-License-Identifier: MIT */
/*
 * elf.c - the loader's view of an ELF file (elf.h).
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/elf.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

/* Bounds beyond any real file: a loader would not get this far either. */
#define ELF_PHDRS_MAX 4096
#define ELF_LOADS_MAX 64
#define ELF_DYNS_MAX 65536
#define ELF_NEEDED_MAX 1024
#define ELF_VERSIONS_MAX 16384
#define ELF_STRTAB_MAX (16u << 20)

struct elf_reader {
	elf_pread_fn pread;
	void *userdata;
	uint64_t n;
	uint8_t *scratch; /* what get() returned last */
	size_t scratch_size;
	Elf64_Phdr loads[ELF_LOADS_MAX];
	size_t n_loads;
	char *strtab; /* the dynamic string table, read whole */
	uint64_t strsz;
	char **reterr_msg;
};

/* True when [off, off + len) lies in the file. */
static bool in_file(const struct elf_reader *rd, uint64_t off, uint64_t len)
{
	return off <= rd->n && len <= rd->n - off;
}

/* len bytes at off, valid until the next call; NULL (message set) when the
 * range is outside the file or cannot be read. */
static const void *get(struct elf_reader *rd, uint64_t off, size_t len, const char *what)
{
	if (!in_file(rd, off, len)) {
		errmsg_set(rd->reterr_msg, -EBADMSG, "%s is past the end of the file", what);
		return NULL;
	}
	if (len > rd->scratch_size) {
		uint8_t *p = realloc(rd->scratch, len);
		if (!p) {
			errmsg_oom(rd->reterr_msg);
			return NULL;
		}
		rd->scratch = p, rd->scratch_size = len;
	}
	int r = rd->pread(rd->userdata, rd->scratch, len, off);
	if (r < 0) {
		errmsg_set(rd->reterr_msg, r, "cannot read %s: %s", what, strerror(-r));
		return NULL;
	}
	return rd->scratch;
}

/* get() copied into dst. */
static int get_into(struct elf_reader *rd, void *dst, uint64_t off, size_t len, const char *what)
{
	const void *p = get(rd, off, len, what);
	if (!p)
		return -EBADMSG;
	memcpy(dst, p, len);
	return 0;
}

/* The file offset of a virtual address, through the PT_LOAD that maps it
 * from the file. */
static int vaddr_to_offset(const struct elf_reader *rd, uint64_t vaddr, uint64_t *ret)
{
	for (size_t i = 0; i < rd->n_loads; i++) {
		const Elf64_Phdr *p = &rd->loads[i];
		if (vaddr >= p->p_vaddr && vaddr - p->p_vaddr < p->p_filesz) {
			*ret = p->p_offset + (vaddr - p->p_vaddr);
			return 0;
		}
	}
	return errmsg_set(rd->reterr_msg, -EBADMSG,
			  "address 0x%llx of the dynamic section is in no loaded segment",
			  (unsigned long long)vaddr);
}

/* A NUL-terminated string at index i of the dynamic string table. */
static int dynstr(const struct elf_reader *rd, uint64_t i, const char **ret)
{
	if (i >= rd->strsz)
		return errmsg_set(rd->reterr_msg, -EBADMSG,
				  "string %llu is past the end of the string table",
				  (unsigned long long)i);
	const char *s = rd->strtab + i;
	if (!memchr(s, '\0', rd->strsz - i))
		return errmsg_set(rd->reterr_msg, -EBADMSG,
				  "string %llu of the string table does not end",
				  (unsigned long long)i);
	*ret = s;
	return 0;
}

static int push_dynstr(const struct elf_reader *rd, uint64_t i, char ***l)
{
	const char *s;
	int r = dynstr(rd, i, &s);
	if (r < 0)
		return r;
	if (strv_length(*l) >= ELF_VERSIONS_MAX)
		return errmsg_set(rd->reterr_msg, -EBADMSG,
				  "more than %d names in the dynamic section", ELF_VERSIONS_MAX);
	return strv_extend(l, s) < 0 ? errmsg_oom(rd->reterr_msg) : 0;
}

/* The version needs: a chain of Elf64_Verneed, each with a chain of
 * Elf64_Vernaux (one per version of that file). */
static int read_verneed(struct elf_reader *rd, uint64_t off, uint64_t count, struct elf_info *info)
{
	size_t total = 0;
	for (uint64_t k = 0; k < count && k < ELF_VERSIONS_MAX; k++) {
		Elf64_Verneed vn;
		int r = get_into(rd, &vn, off, sizeof(vn), "a version need");
		if (r < 0)
			return r;
		const char *file;
		r = dynstr(rd, vn.vn_file, &file);
		if (r < 0)
			return r;
		uint64_t aoff = off + vn.vn_aux;
		for (unsigned a = 0; a < vn.vn_cnt; a++) {
			Elf64_Vernaux va;
			if (++total > ELF_VERSIONS_MAX)
				return errmsg_set(rd->reterr_msg, -EBADMSG,
						  "more than %d version needs", ELF_VERSIONS_MAX);
			r = get_into(rd, &va, aoff, sizeof(va), "a version need");
			if (r < 0)
				return r;
			if (strv_extend(&info->need_file, file) < 0)
				return errmsg_oom(rd->reterr_msg);
			r = push_dynstr(rd, va.vna_name, &info->need_version);
			if (r < 0)
				return r;
			if (va.vna_next == 0)
				break;
			aoff += va.vna_next;
		}
		if (vn.vn_next == 0)
			break;
		off += vn.vn_next;
	}
	return 0;
}

/* The version definitions: Elf64_Verdef, each naming itself in its first
 * Elf64_Verdaux (later ones name its parents). */
static int read_verdef(struct elf_reader *rd, uint64_t off, uint64_t count, struct elf_info *info)
{
	for (uint64_t k = 0; k < count && k < ELF_VERSIONS_MAX; k++) {
		Elf64_Verdef vd;
		Elf64_Verdaux va;
		int r = get_into(rd, &vd, off, sizeof(vd), "a version definition");
		if (r < 0)
			return r;
		if (vd.vd_cnt > 0) {
			r = get_into(rd, &va, off + vd.vd_aux, sizeof(va), "a version definition");
			if (r < 0)
				return r;
			r = push_dynstr(rd, va.vda_name, &info->defined);
			if (r < 0)
				return r;
		}
		if (vd.vd_next == 0)
			break;
		off += vd.vd_next;
	}
	return 0;
}

struct dyn_values {
	uint64_t strtab, strsz, soname, verneed, verneednum, verdef, verdefnum;
	bool has_strtab, has_soname;
	uint64_t needed[ELF_NEEDED_MAX];
	size_t n_needed;
};

static int read_dynamic(struct elf_reader *rd, const Elf64_Phdr *dyn, struct elf_info *info)
{
	struct dyn_values v = {};
	uint64_t n = MIN(dyn->p_filesz / sizeof(Elf64_Dyn), (uint64_t)ELF_DYNS_MAX);
	const uint8_t *dyns = get(rd, dyn->p_offset, n * sizeof(Elf64_Dyn), "the dynamic segment");
	if (!dyns)
		return -EBADMSG;
	for (uint64_t k = 0; k < n; k++) {
		Elf64_Dyn d;
		memcpy(&d, dyns + k * sizeof(d), sizeof(d));
		if (d.d_tag == DT_NULL)
			break;
		switch (d.d_tag) {
		case DT_NEEDED:
			if (v.n_needed >= ELF_NEEDED_MAX)
				return errmsg_set(rd->reterr_msg, -EBADMSG,
						  "more than %d NEEDED libraries", ELF_NEEDED_MAX);
			v.needed[v.n_needed++] = d.d_un.d_val;
			break;
		case DT_STRTAB:
			v.strtab = d.d_un.d_ptr, v.has_strtab = true;
			break;
		case DT_STRSZ:
			v.strsz = d.d_un.d_val;
			break;
		case DT_SONAME:
			v.soname = d.d_un.d_val, v.has_soname = true;
			break;
		case DT_VERNEED:
			v.verneed = d.d_un.d_ptr;
			break;
		case DT_VERNEEDNUM:
			v.verneednum = d.d_un.d_val;
			break;
		case DT_VERDEF:
			v.verdef = d.d_un.d_ptr;
			break;
		case DT_VERDEFNUM:
			v.verdefnum = d.d_un.d_val;
			break;
		}
	}
	if (!v.has_strtab)
		return v.n_needed > 0 || v.has_soname
			       ? errmsg_set(rd->reterr_msg, -EBADMSG,
					    "the dynamic section names libraries but has no string "
					    "table")
			       : 0;
	uint64_t off;
	int r = vaddr_to_offset(rd, v.strtab, &off);
	if (r < 0)
		return r;
	if (v.strsz > ELF_STRTAB_MAX)
		return errmsg_set(rd->reterr_msg, -EBADMSG, "a string table of %llu bytes",
				  (unsigned long long)v.strsz);
	rd->strtab = malloc(v.strsz + 1);
	if (!rd->strtab)
		return errmsg_oom(rd->reterr_msg);
	r = get_into(rd, rd->strtab, off, v.strsz, "the string table");
	if (r < 0)
		return r;
	rd->strsz = v.strsz;

	for (size_t k = 0; k < v.n_needed; k++) {
		r = push_dynstr(rd, v.needed[k], &info->needed);
		if (r < 0)
			return r;
	}
	if (v.has_soname) {
		const char *s;
		r = dynstr(rd, v.soname, &s);
		if (r < 0)
			return r;
		info->soname = strdup(s);
		if (!info->soname)
			return errmsg_oom(rd->reterr_msg);
	}
	if (v.verneednum > 0) {
		r = vaddr_to_offset(rd, v.verneed, &off);
		if (r < 0 || (r = read_verneed(rd, off, v.verneednum, info)) < 0)
			return r;
	}
	if (v.verdefnum > 0) {
		r = vaddr_to_offset(rd, v.verdef, &off);
		if (r < 0 || (r = read_verdef(rd, off, v.verdefnum, info)) < 0)
			return r;
	}
	return 0;
}

static int read_program_headers(struct elf_reader *rd, const Elf64_Ehdr *eh, struct elf_info *info)
{
	if (eh->e_phnum == 0)
		return 0;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > ELF_PHDRS_MAX)
		return errmsg_set(rd->reterr_msg, -EBADMSG, "the program header table is damaged");
	_cleanup_free_ Elf64_Phdr *ph = malloc(eh->e_phnum * sizeof(Elf64_Phdr));
	if (!ph)
		return errmsg_oom(rd->reterr_msg);
	int r = get_into(rd, ph, eh->e_phoff, eh->e_phnum * sizeof(Elf64_Phdr),
			 "the program header table");
	if (r < 0)
		return r;
	const Elf64_Phdr *dyn = NULL;
	for (unsigned k = 0; k < eh->e_phnum; k++) {
		if (ph[k].p_type == PT_LOAD) {
			if (rd->n_loads >= ELF_LOADS_MAX)
				return errmsg_set(rd->reterr_msg, -EBADMSG,
						  "more than %d loaded segments", ELF_LOADS_MAX);
			rd->loads[rd->n_loads++] = ph[k];
		} else if (ph[k].p_type == PT_DYNAMIC)
			dyn = &ph[k];
		else if (ph[k].p_type == PT_INTERP) {
			const char *p = ph[k].p_filesz > 0 && ph[k].p_filesz <= 4096
						? get(rd, ph[k].p_offset, ph[k].p_filesz,
						      "the program interpreter's name")
						: NULL;
			if (!p || !memchr(p, '\0', ph[k].p_filesz))
				return errmsg_set(rd->reterr_msg, -EBADMSG,
						  "the program interpreter's name is damaged");
			free(info->interp);
			info->interp = strdup(p);
			if (!info->interp)
				return errmsg_oom(rd->reterr_msg);
		}
	}
	return dyn ? read_dynamic(rd, dyn, info) : 0;
}

static int read_elf(struct elf_reader *rd, struct elf_info **ret)
{
	char **reterr_msg = rd->reterr_msg;
	uint8_t b[sizeof(Elf64_Ehdr)] = {};
	size_t have = (size_t)MIN(rd->n, (uint64_t)sizeof(b));
	int r = have > 0 ? get_into(rd, b, 0, have, "the ELF header") : 0;
	if (r < 0)
		return r;
	if (have < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG) != 0)
		return errmsg_set(reterr_msg, -EMEDIUMTYPE, "not an ELF file");
	_cleanup_(elf_info_freep) struct elf_info *info = calloc(1, sizeof(*info));
	if (!info)
		return errmsg_oom(reterr_msg);
	info->class = b[EI_CLASS];
	info->data = b[EI_DATA];
	if ((info->class != ELFCLASS32 && info->class != ELFCLASS64) ||
	    (info->data != ELFDATA2LSB && info->data != ELFDATA2MSB))
		return errmsg_set(reterr_msg, -EBADMSG, "unknown ELF class %u or byte order %u",
				  b[EI_CLASS], b[EI_DATA]);
	/* e_machine sits at 18 in both classes */
	if (have < 20)
		return errmsg_set(reterr_msg, -EBADMSG, "the ELF header is cut short");
	info->machine = info->data == ELFDATA2LSB ? (uint16_t)(b[18] | b[19] << 8)
						  : (uint16_t)(b[18] << 8 | b[19]);
	if (info->class != ELFCLASS64 || info->data != ELFDATA2LSB) {
		info->partial = true;
		*ret = TAKE_PTR(info);
		return 0;
	}
	Elf64_Ehdr eh;
	if (have < sizeof(eh))
		return errmsg_set(reterr_msg, -EBADMSG, "the ELF header is cut short");
	memcpy(&eh, b, sizeof(eh));
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "an ELF file of type %u, neither a program nor a library",
				  eh.e_type);
	r = read_program_headers(rd, &eh, info);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(info);
	return 0;
}

int elf_read(elf_pread_fn pread, void *userdata, uint64_t size, struct elf_info **ret,
	     char **reterr_msg)
{
	struct elf_reader rd = {
		.pread = pread, .userdata = userdata, .n = size, .reterr_msg = reterr_msg
	};
	int r = read_elf(&rd, ret);
	free(rd.scratch);
	free(rd.strtab);
	return r;
}

struct buffer {
	const uint8_t *p;
	size_t n;
};

static int buffer_pread(void *userdata, void *dst, size_t n, uint64_t off)
{
	const struct buffer *b = userdata;
	memcpy(dst, b->p + off, n); /* get() checked the range */
	return 0;
}

int elf_parse(const void *buf, size_t n, struct elf_info **ret, char **reterr_msg)
{
	struct buffer b = { buf, n };
	return elf_read(buffer_pread, &b, n, ret, reterr_msg);
}

struct elf_info *elf_info_free(struct elf_info *i)
{
	if (!i)
		return NULL;
	free(i->interp);
	free(i->soname);
	strv_free(i->needed);
	strv_free(i->need_file);
	strv_free(i->need_version);
	strv_free(i->defined);
	free(i);
	return NULL;
}

static const struct {
	uint16_t machine;
	const char *name;
	const char *triplet;
} machines[] = {
	{ EM_X86_64, "x86-64", "x86_64-linux-gnu" },
	{ EM_AARCH64, "aarch64", "aarch64-linux-gnu" },
	{ EM_386, "i386", "i386-linux-gnu" },
	{ EM_ARM, "arm", "arm-linux-gnueabihf" },
	{ EM_PPC64, "ppc64", "powerpc64le-linux-gnu" },
	{ EM_S390, "s390x", "s390x-linux-gnu" },
	{ EM_RISCV, "riscv64", "riscv64-linux-gnu" },
};

const char *elf_machine_name(uint16_t machine)
{
	for (size_t i = 0; i < ELEMENTSOF(machines); i++)
		if (machines[i].machine == machine)
			return machines[i].name;
	return NULL;
}

const char *elf_machine_triplet(uint16_t machine)
{
	for (size_t i = 0; i < ELEMENTSOF(machines); i++)
		if (machines[i].machine == machine)
			return machines[i].triplet;
	return NULL;
}
