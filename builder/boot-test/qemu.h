/* SPDX-License-Identifier: MIT */
/*
 * qemu.h - one QEMU guest under OVMF or SeaBIOS: the KVM probe, the command line, a
 * live serial console scanned for one line, and a clean shutdown.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define QEMU_SYSTEM "qemu-system-x86_64"
#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS.fd"
#define SEABIOS "/usr/share/seabios/bios-256k.bin"
/* Secure Boot enforced, with Microsoft's keys enrolled (Debian's ovmf) */
#define OVMF_CODE_SB "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
#define OVMF_VARS_SB "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"

/* Tries device (normally /dev/kvm) the way QEMU would: open, check the API
 * version and create a VM. Returns 0 when KVM works, else -errno, with
 * *ret_reason (may be NULL) saying what failed in words. A node that exists
 * without a working KVM behind it gives an error here, not later in QEMU. */
int kvm_probe(const char *device, char **ret_reason);

/* A disk besides the boot disk: raw or qcow2 on virtio-blk, never booted. */
struct qemu_disk {
	const char *file;
	const char *format;
	const char *serial; /* /dev/disk/by-id/virtio-SERIAL, /sys/block/vdX/serial */
};

struct qemu_machine {
	const char *qemu;	      /* the binary, looked up in PATH */
	const char *ovmf_code;	      /* read-only firmware */
	const char *ovmf_vars;	      /* writable copy of the variable store */
	const char *bios;	      /* SeaBIOS instead of OVMF (-bios), or NULL */
	bool secure_boot;	      /* SMM and a secure flash: OVMF enforces Secure Boot */
	const char *refusal;	      /* a console line with this in it ends the wait, or NULL */
	const char *disk;	      /* the disk image */
	const char *disk_format;      /* "qcow2", "raw", ... */
	bool ahci_disk;		      /* on q35's AHCI controller instead of virtio-blk */
	bool disk_cdrom;	      /* a CD (read-only) on q35's AHCI controller */
	const char *disk2;	      /* a second disk (qcow2, virtio-blk), or NULL */
	const char *disk2_serial;     /* its serial number (/dev/disk/by-id/virtio-SERIAL) */
	const struct qemu_disk *more; /* further disks (their unused blocks unmapped) */
	unsigned n_more;
	const char *disk3;	  /* a third disk (raw, read-only, virtio-blk), or NULL */
	const char *disk3_serial; /* its serial number */
	bool kvm;
	unsigned memory_mib;
	const char *cpu;	   /* -cpu, or NULL for QEMU's default */
	const char *machine_extra; /* appended to -machine q35,..., or NULL */
	const char *nic_model;	   /* a NIC on a restricted user network, or NULL */
	const char *const *smbios; /* -smbios values, NULL-terminated, or NULL */
	const char *smbios_file;   /* binary SMBIOS structures (-smbios file=), or NULL */
	const char *kernel;	   /* direct boot: -kernel/-initrd/-append; NULL: firmware boot */
	const char *initrd;
	const char *append;
	const char *qmp_socket;	 /* path of the QMP socket QEMU creates */
	const char *qga_socket;	 /* the guest agent's channel (virtio-serial), or NULL */
	const char *console_log; /* everything the serial console printed */
	const char *qemu_log;	 /* QEMU's own stderr */
};

/* How the guest went away. */
enum qemu_shutdown {
	SHUTDOWN_GUEST,	 /* it powered off by itself */
	SHUTDOWN_ACPI,	 /* after an ACPI power button press (QMP system_powerdown) */
	SHUTDOWN_SYSRQ,	 /* after SysRq sync, remount read-only, power off */
	SHUTDOWN_KILLED, /* QMP quit or SIGKILL: nothing else worked */
	_SHUTDOWN_MAX,
};
const char *qemu_shutdown_to_string(enum qemu_shutdown s);

struct qemu_result {
	char *line;		/* the first console line containing the marker, or NULL */
	char *refused;		/* the line with m->refusal (it stopped the guest), or NULL */
	uint64_t usec_line;	/* from start to that line */
	uint64_t usec_total;	/* from start to QEMU's exit */
	bool timed_out;		/* no line before the timeout */
	bool silent;		/* the console printed nothing within silence_usec */
	uint64_t console_bytes; /* how much the console printed in all */
	enum qemu_shutdown shutdown;
	int exit_status;  /* QEMU's, 128 + N for signal N */
	bool interrupted; /* SIGINT, SIGTERM or SIGHUP arrived */
};

/* Builds QEMU's argv for m (a NULL-terminated array the caller frees with strv_free). */
int qemu_argv(const struct qemu_machine *m, char ***ret);

/* Where the run is, for the caller's tick. */
enum qemu_phase {
	QEMU_PHASE_BOOT,     /* waiting for the marker line */
	QEMU_PHASE_HOOK,     /* after_line runs */
	QEMU_PHASE_SHUTDOWN, /* the guest is being stopped */
};

/* What the caller hears of a run; each member may be NULL. */
struct qemu_hook {
	/* On a thread of its own once the marker line came, while the console
	 * is still being read; the shutdown starts when it returns. */
	void (*after_line)(void *userdata);
	/* On the caller's thread: each console line as it came (no newline),
	 * usec after QEMU's start. */
	void (*console_line)(void *userdata, const char *line, uint64_t usec);
	/* On the caller's thread, about ten times a second while QEMU runs. */
	void (*tick)(void *userdata, enum qemu_phase phase, uint64_t usec);
	void *userdata;
};

/* Runs the guest until its console prints a line containing marker or until
 * timeout_usec passes (or, with silence_usec > 0, until that long passes
 * without any console output at all: a guest that never starts), then shuts
 * it down: waits for the guest to power off by itself, presses the ACPI
 * power button, then SysRq, then quits it, within grace_usec. Returns 0 when
 * QEMU ran (whatever the guest did; see ret), -errno when it could not be
 * started or the logs written. SIGINT, SIGTERM and SIGHUP stop the guest and
 * set ret->interrupted. With hook, hook->after_line runs first, after the
 * line, and hook->console_line hears every line. */
int qemu_run(const struct qemu_machine *m, const char *marker, uint64_t timeout_usec,
	     uint64_t silence_usec, uint64_t grace_usec, const struct qemu_hook *hook,
	     struct qemu_result *ret);
void qemu_result_done(struct qemu_result *r);

uint64_t now_usec(void);
