/* SPDX-License-Identifier: MIT */
/*
 * windows.h - the Windows side of the builder: driver staging (win-drivers.c),
 * unattend.xml and SetupComplete.cmd (win-unattend.c), boot-critical storage
 * in the SYSTEM hive (win-hive.c), install.wim update (win-wim.c), the NTFS
 * slot (fs-ntfs.c), and the build that ties them together (win-image.c).
 *
 * Library-style code: no logging, -errno returns, and a message in
 * *reterr_msg (may be NULL) where there is more to say than the errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The class GUID of SCSI and RAID controllers ("SCSIAdapter"). */
#define WIN_CLASS_GUID_SCSIADAPTER "{4D36E97B-E325-11CE-BFC1-08002BE10318}"

/* ---- win-hive.c ---------------------------------------------------------- */

/* A driver that must start at boot for Windows to reach its boot disk. */
struct win_boot_driver {
	const char *service;	   /* Services\<service>, system32\drivers\<service>.sys */
	const char *group;	   /* load order group; NULL: "SCSI miniport" */
	const char *class_guid;	   /* NULL: WIN_CLASS_GUID_SCSIADAPTER */
	char *const *hardware_ids; /* NULL-terminated, e.g. "PCI\VEN_1AF4&DEV_1001" */
};

/* How the hardware ids were bound to the service (see docs/windows-image.md). */
enum win_hive_method {
	WIN_HIVE_CRITICAL_DEVICE_DATABASE, /* before Windows 8 / Server 2012 */
	WIN_HIVE_DRIVER_DATABASE,	   /* Windows 8 / Server 2012 and later */
};
const char *win_hive_method_to_string(enum win_hive_method m);

/* Checks a driver's service name and hardware ids (printable ASCII, ids of
 * the form BUS\ID); -EINVAL with a message naming the bad one. */
int win_boot_driver_check(const struct win_boot_driver *d, char **reterr_msg);

/* Registers each driver as a boot-start service in the SYSTEM hive file at
 * path (edited in place, committed only when every edit worked), bound to
 * its hardware ids the way the hive's Windows version expects: through the
 * DriverDatabase when the hive has one, else the CriticalDeviceDatabase of
 * the current control set. Service names and ids must be printable ASCII;
 * anything else gives -EINVAL with a message. */
int win_hive_add_boot_drivers(const char *path, const struct win_boot_driver *drivers, size_t n,
			      enum win_hive_method *ret_method, char **reterr_msg);

/* ---- win-unattend.c ------------------------------------------------------ */

/* Renders an unattend template: a line holding only "@DRIVER_PATHS@" becomes one
 * PathAndCredentials entry per folder in driver_dirs (Windows paths such as
 * "C:\Drivers\enlighten\xen-hvm\xenvbd"), each line indented like the
 * placeholder's; the paths are XML-escaped. Any other line (a comment that
 * names the placeholder too) is copied as it is. */
int win_unattend_render(const char *template_text, char *const *driver_dirs, char **ret_xml,
			char **reterr_msg);

/* SetupComplete.cmd (CRLF line ends): adds the staged drivers under
 * drivers_root to the driver store, then runs the Windows first-boot agent
 * at agent_path when the image has it. */
int win_setupcomplete_render(const char *drivers_root, const char *agent_path, bool every_boot,
			     char **ret);

/* ---- win-wim.c ----------------------------------------------------------- */

struct win_wim;

/* Opens a WIM and selects one image by 1-based index or by name; writable
 * for win_wim_overwrite. Messages call it name (the user's file, when path
 * is a temporary copy of it), or path when name is NULL. */
int win_wim_open(const char *path, const char *name, const char *image, bool writable,
		 struct win_wim **ret, char **reterr_msg);
void win_wim_free(struct win_wim *w);
static inline void win_wim_freep(struct win_wim **w)
{
	win_wim_free(*w);
}
#define _cleanup_win_wim_ __attribute__((__cleanup__(win_wim_freep)))

/* The selected image's index and name (owned by w). */
int win_wim_image_index(const struct win_wim *w);
const char *win_wim_image_name(const struct win_wim *w);

/* Extracts the regular file at wim_path (Windows or Unix separators, case
 * insensitive) of the selected image as dest_dir/<its base name>. */
int win_wim_extract_file(struct win_wim *w, const char *wim_path, const char *dest_dir,
			 char **reterr_msg);

/* Adds the host tree or file src at wim_path (merging directories,
 * replacing files). src must stay in place until the WIM is written or
 * applied. */
int win_wim_add(struct win_wim *w, const char *src, const char *wim_path, char **reterr_msg);

/* Commits every change to the (writable) WIM file itself, appending the
 * new data and metadata, as wimupdate does; every image is kept. */
int win_wim_overwrite(struct win_wim *w, char **reterr_msg);

/* Sets the LASTMODIFICATIONTIME wimlib wrote into the XML of the WIM at path
 * for image to epoch, so the same inputs give the same WIM (wimlib stamps
 * the time of writing). The XML keeps its length. */
int win_wim_pin_time(const char *path, int image, int64_t epoch);

/* Applies the selected image, with every change, to the NTFS volume in the
 * file or device at volume_path, through libntfs-3g (no mount, no root). */
int win_wim_apply_ntfs(struct win_wim *w, const char *volume_path, char **reterr_msg);

/* ---- fs-ntfs.c ----------------------------------------------------------- */

/* Makes an NTFS volume of size bytes in the regular file path (created or
 * truncated, sparse) with mkntfs, for a partition that starts at
 * part_start_sector (512-byte sectors) of its disk, and applies the WIM's
 * image into it. When epoch (Unix seconds) is not 0, the times libntfs-3g
 * stamped with the clock become epoch and none is later than it
 * (ntfs-normalize.h), so the same inputs give the same volume. */
int ntfs_make_from_wim(struct win_wim *w, const char *path, uint64_t size,
		       uint64_t part_start_sector, int64_t epoch, char **reterr_msg);

/* Copies all of src_fd into dst_fd at dst_offset, data extents only (holes
 * stay holes), with copy_file_range. */
int ntfs_copy_sparse(int src_fd, int dst_fd, uint64_t dst_offset);

/* ---- win-drivers.c ------------------------------------------------------- */

/* Caps on what one driver package may bring into the image. */
#define WIN_DRIVER_FILES_MAX 4096
#define WIN_DRIVER_BYTES_MAX (1024ULL * 1024 * 1024)

/* A driver package staged under \Drivers\enlighten\<profile>\<name>\. */
struct win_driver_pkg {
	char *profile;
	char *name;	     /* the package's folder name in the image */
	char *inf;	     /* its INF, relative to the folder ('/' separators) */
	char *class;	     /* the INF's Class= */
	char **hardware_ids; /* from the INF's models sections, NULL-terminated */
	char *image_dir;     /* "Drivers\enlighten\<profile>\<name>", Windows separators */
};
void win_driver_pkg_done(struct win_driver_pkg *p);

/* Stages the driver package at source for profile into
 * tree_fd/Drivers/enlighten/<profile>/<name>/: an INF directory, or a .cab,
 * .zip or .iso archive unpacked by lib/basic/extract.h into scratch_dir first.
 * Refuses, naming the package and the entry or the INF: symbolic links and
 * special files, names Windows cannot hold, more files or bytes than the
 * caps, no INF or more than one, an INF that does not parse (lib/basic/inf.h),
 * one without amd64 models, and one whose CatalogFile= is missing or names
 * a file the package does not have. */
int win_driver_stage(const char *profile, const char *source, int tree_fd, const char *scratch_dir,
		     struct win_driver_pkg *ret, char **reterr_msg);

/* The staged package file name (e.g. "xenvbd.sys") found case-insensitively
 * in the package's folder, as a path relative to the tree; -ENOENT if none. */
int win_driver_find_file(int tree_fd, const struct win_driver_pkg *p, const char *name,
			 char **ret_relpath);

/* ---- win-image.c --------------------------------------------------------- */

/* A driver package to stage for a profile. */
struct win_driver_source {
	const char *profile;
	const char *path;
};

/* A boot-critical service: hardware ids given, or (NULL) taken from the
 * staged package that carries <service>.sys. */
struct win_boot_spec {
	const char *service;
	char *const *hardware_ids;
};

struct win_image_opts {
	const char *wim;   /* the OEM's install.wim */
	const char *image; /* index or name; NULL: 1 */
	const struct win_driver_source *drivers;
	size_t n_drivers;
	const struct win_boot_spec *boot;
	size_t n_boot;
	const char *unattend_template; /* file; NULL: the installed template */
	const char *agent_path;	       /* NULL: WIN_AGENT_PATH */
	const char *agent_exe;	       /* enlighten-firstboot.exe to stage there, or NULL */
	const char *profiles_dir;      /* the matrix staged beside it (with agent_exe) */
	const char *const *installers; /* files for installers\ beside it (Installers=) */
	size_t n_installers;
	const char *tmpdir; /* where the staging tree goes; NULL: $TMPDIR */
	int64_t mtime;	    /* time stamp of every added file (SOURCE_DATE_EPOCH), and the
			     * time the NTFS volume's clock stamps become; 0: as made */

	const char *out_wim;  /* NULL: no WIM output */
	const char *out_ntfs; /* NULL: no NTFS volume */
	uint64_t ntfs_size;
	uint64_t ntfs_start_sector; /* of the partition it will fill */
	const char *out_esp;	    /* directory for the ESP's Windows files; NULL: none */
};

#define WIN_AGENT_PATH "C:\\Program Files\\enlighten\\enlighten-firstboot.exe"
#define WIN_DRIVERS_ROOT "C:\\Drivers\\enlighten"
/* Where the agent, its matrix (profiles\) and installers (installers\) go
 * in the image. */
#define WIN_AGENT_DIR "Program Files/enlighten"
#define WIN_AGENT_EXE_MAX (64 * 1024 * 1024)
#define WIN_INSTALLER_MAX (4ULL * 1024 * 1024 * 1024)

/* The enlighten-firstboot.exe to stage: path when given (a recipe's Agent=,
 * wim's --agent), else the one beside this program (a build tree), else
 * DATADIR/windows/, else ../share/enlighten/windows/ beside this program
 * (installed). -ENOENT with *reterr_msg saying how to get
 * it. */
int win_agent_find(const char *path, char **ret, char **reterr_msg);

/* Stages exe, every *.conf of profiles_dir (the matrix) and the n
 * installers (by their file names, into installers\) under WIN_AGENT_DIR
 * of the staging tree. */
int win_agent_stage(const char *exe, const char *profiles_dir, const char *const *installers,
		    size_t n, int tree_fd, char **reterr_msg);

struct win_image_result {
	enum win_hive_method hive_method;
	size_t n_packages;
	size_t n_boot;
	char *image_name; /* the selected image's name in the WIM, or NULL */
	char **packages;  /* "profile\package" of each staged package */
};
void win_image_result_done(struct win_image_result *r);

/* Stages the drivers, renders unattend.xml and SetupComplete.cmd, registers
 * the boot-critical services in the image's SYSTEM hive, adds all of it to
 * the selected image, then writes the outputs asked for. Each output is
 * written under a temporary name beside it and renamed when complete. */
int win_image_build(const struct win_image_opts *o, struct win_image_result *ret,
		    char **reterr_msg);
