/* SPDX-License-Identifier: MIT */
/*
 * qemu.c - one QEMU guest under OVMF for boot tests. QEMU runs by argv
 * (fork and execvp, never a shell) in its own process group, killed when we
 * die, its serial console on a pipe that is copied to a log file and scanned
 * line by line, its stderr in a second log, and a QMP socket for the power button, SysRq and
 * quit. Nothing here prints: the caller reports.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "builder/boot-test/qemu.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
#define LINE_MAX_CONSOLE 4096

uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

int kvm_probe(const char *device, char **ret_reason)
{
	_cleanup_close_ int fd = open(device, O_RDWR | O_CLOEXEC);
	char *reason = NULL;
	int r;

	if (fd < 0) {
		r = negative_errno();
		if (asprintf(&reason, "cannot open '%s': %s", device, strerror(-r)) < 0)
			reason = NULL;
		goto fail;
	}
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		r = v < 0 ? negative_errno() : -EPROTO;
		if (asprintf(&reason, "'%s' is not a KVM device (KVM_GET_API_VERSION: %s)", device,
			     v < 0 ? strerror(-r) : "unexpected version") < 0)
			reason = NULL;
		goto fail;
	}
	_cleanup_close_ int vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		r = negative_errno();
		if (asprintf(&reason, "'%s' cannot create a VM (KVM_CREATE_VM: %s)", device,
			     strerror(-r)) < 0)
			reason = NULL;
		goto fail;
	}
	if (ret_reason)
		*ret_reason = NULL;
	return 0;
fail:
	if (ret_reason)
		*ret_reason = reason;
	else
		free(reason);
	return r;
}

static const char *const qemu_shutdown_table[_SHUTDOWN_MAX] = {
	[SHUTDOWN_GUEST] = "guest",
	[SHUTDOWN_ACPI] = "acpi",
	[SHUTDOWN_SYSRQ] = "sysrq",
	[SHUTDOWN_KILLED] = "killed",
};

const char *qemu_shutdown_to_string(enum qemu_shutdown s)
{
	return (unsigned)s < _SHUTDOWN_MAX ? qemu_shutdown_table[s] : NULL;
}

/* The boot disk's -drive (and -device), appended to *a. */
static int argv_boot_disk(const struct qemu_machine *m, char ***a)
{
	int r = strv_extend(a, "-drive");
#define ADD(s)                                                                                     \
	do {                                                                                       \
		if (r >= 0)                                                                        \
			r = strv_extend(a, (s));                                                   \
	} while (0)
#define ADDF(...)                                                                                  \
	do {                                                                                       \
		if (r >= 0)                                                                        \
			r = strv_extendf(a, __VA_ARGS__);                                          \
	} while (0)
	if (m->disk_cdrom) {
		ADDF("if=none,id=disk0,media=cdrom,readonly=on,format=%s,file=%s", m->disk_format,
		     m->disk);
		ADD("-device");
		ADD("ide-cd,drive=disk0,bus=ide.0,bootindex=0");
	} else if (m->ahci_disk) {
		ADDF("if=none,id=disk0,format=%s,file=%s,cache=unsafe", m->disk_format, m->disk);
		ADD("-device");
		ADD("ide-hd,drive=disk0,bus=ide.0,bootindex=0");
	} else if (m->disk2 || m->n_more) {
		/* the firmware must start the first disk's loader, not another's */
		ADDF("if=none,id=disk0,format=%s,file=%s,cache=unsafe", m->disk_format, m->disk);
		ADD("-device");
		ADD("virtio-blk-pci,drive=disk0,bootindex=0");
	} else
		ADDF("if=virtio,format=%s,file=%s,cache=unsafe", m->disk_format, m->disk);
	return r;
}

/* m->more, appended to *a. */
static int argv_more_disks(const struct qemu_machine *m, char ***a)
{
	int r = 0;
	for (unsigned i = 0; i < m->n_more; i++) {
		ADD("-drive");
		ADDF("if=none,id=more%u,format=%s,file=%s,discard=unmap,detect-zeroes=unmap", i,
		     m->more[i].format, m->more[i].file);
		ADD("-device");
		ADDF("virtio-blk-pci,drive=more%u,serial=%s", i, m->more[i].serial);
	}
	return r;
#undef ADD
#undef ADDF
}

int qemu_argv(const struct qemu_machine *m, char ***ret)
{
	char **a = NULL;
	int r = 0;

#define ADD(s)                                                                                     \
	do {                                                                                       \
		if (r >= 0)                                                                        \
			r = strv_extend(&a, (s));                                                  \
	} while (0)
#define ADDF(...)                                                                                  \
	do {                                                                                       \
		if (r >= 0)                                                                        \
			r = strv_extendf(&a, __VA_ARGS__);                                         \
	} while (0)

	ADD(m->qemu);
	ADD("-name");
	ADD("enlighten-boot-test");
	ADD("-nodefaults");
	ADD("-no-user-config");
	ADD("-machine");
	ADDF("q35,accel=%s%s%s%s", m->kvm ? "kvm" : "tcg", m->secure_boot ? ",smm=on" : "",
	     m->machine_extra ? "," : "", m->machine_extra ?: "");
	if (m->secure_boot) {
		/* only SMM code may write the variable store: Secure Boot holds */
		ADD("-global");
		ADD("driver=cfi.pflash01,property=secure,value=on");
		/* OVMF's SMM build stalls in PEI under TCG with S3 on */
		ADD("-global");
		ADD("ICH9-LPC.disable_s3=1");
	}
	if (m->cpu) {
		ADD("-cpu");
		ADD(m->cpu);
	}
	ADD("-m");
	ADDF("%u", m->memory_mib);
	ADD("-smp");
	ADD("1");
	ADD("-display");
	ADD("none");
	ADD("-no-reboot");
	ADD("-serial");
	ADD("stdio");
	ADD("-qmp");
	ADDF("unix:%s,server=on,wait=off", m->qmp_socket);
	if (m->bios) {
		ADD("-bios");
		ADD(m->bios);
	} else {
		ADD("-drive");
		ADDF("if=pflash,format=raw,unit=0,readonly=on,file=%s", m->ovmf_code);
		ADD("-drive");
		ADDF("if=pflash,format=raw,unit=1,file=%s", m->ovmf_vars);
	}
	if (r >= 0)
		r = argv_boot_disk(m, &a);
	if (m->disk2) {
		ADD("-drive");
		ADDF("if=none,id=disk1,format=qcow2,file=%s,cache=unsafe", m->disk2);
		ADD("-device");
		ADDF("virtio-blk-pci,drive=disk1,serial=%s", m->disk2_serial);
	}
	if (m->disk3) {
		ADD("-drive");
		ADDF("if=none,id=disk2,format=raw,readonly=on,file=%s", m->disk3);
		ADD("-device");
		ADDF("virtio-blk-pci,drive=disk2,serial=%s", m->disk3_serial);
	}
	if (r >= 0)
		r = argv_more_disks(m, &a);
	if (m->qga_socket) {
		ADD("-chardev");
		ADDF("socket,path=%s,server=on,wait=off,id=qga0", m->qga_socket);
		ADD("-device");
		ADD("virtio-serial-pci,id=vser0");
		ADD("-device");
		ADD("virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0");
	}
	if (m->nic_model) {
		ADD("-netdev");
		ADD("user,id=net0,restrict=on");
		ADD("-device");
		ADDF("%s,netdev=net0,romfile=", m->nic_model);
	}
	if (m->smbios_file) {
		ADD("-smbios");
		ADDF("file=%s", m->smbios_file);
	}
	for (const char *const *s = m->smbios; s && *s; s++) {
		ADD("-smbios");
		ADD(*s);
	}
	if (m->kernel) {
		ADD("-kernel");
		ADD(m->kernel);
		if (m->initrd) {
			ADD("-initrd");
			ADD(m->initrd);
		}
		if (m->append) {
			ADD("-append");
			ADD(m->append);
		}
	}
#undef ADD
#undef ADDF
	if (r < 0) {
		strv_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* ---- QMP: one short connection per command ------------------------------ */

/* Reads until a line holding "return" or "error" (events are skipped) or the
 * deadline. Returns 0 for "return", -EIO for "error", -ETIMEDOUT. */
static int qmp_wait_reply(int fd, uint64_t deadline)
{
	char buf[8192];
	size_t len = 0;

	for (;;) {
		uint64_t now = now_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int k = poll(&p, 1, (int)((deadline - now) / USEC_PER_MSEC) + 1);
		if (k < 0 && errno != EINTR)
			return negative_errno();
		if (k <= 0)
			continue;
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno != EINTR)
			return negative_errno();
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			continue;
		len += (size_t)n;
		buf[len] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			bool ret_line = strstr(buf, "\"return\"") || strstr(buf, "\"QMP\"");
			bool err_line = strstr(buf, "\"error\"");
			size_t used = (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len - used + 1);
			len -= used;
			if (ret_line)
				return 0;
			if (err_line)
				return -EIO;
		}
		if (len == sizeof(buf) - 1)
			len = 0; /* a line longer than any reply we wait for: drop it */
	}
}

static int qmp_send(int fd, const char *cmd, uint64_t deadline)
{
	int r = fs_write_all(fd, cmd, strlen(cmd));
	if (r < 0)
		return r;
	return qmp_wait_reply(fd, deadline);
}

/* Connects to QEMU's QMP socket, negotiates and runs one command. */
static int qmp_execute(const char *socket_path, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();

	uint64_t deadline = now_usec() + 3 * USEC_PER_SEC;
	int r = qmp_wait_reply(fd, deadline); /* the greeting */
	if (r < 0)
		return r;
	r = qmp_send(fd, "{\"execute\":\"qmp_capabilities\"}\n", deadline);
	if (r < 0)
		return r;
	return qmp_send(fd, cmd, deadline);
}

static int qmp_sysrq(const char *socket_path, char key)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"send-key\",\"arguments\":{\"keys\":["
		 "{\"type\":\"qcode\",\"data\":\"alt\"},{\"type\":\"qcode\",\"data\":\"sysrq\"},"
		 "{\"type\":\"qcode\",\"data\":\"%c\"}]}}\n",
		 key);
	return qmp_execute(socket_path, cmd);
}

/* ---- the run -------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig _unused_)
{
	interrupted = 1;
}

struct console {
	int log_fd;
	const char *marker;
	char line[LINE_MAX_CONSOLE];
	size_t len;
	char *found;	     /* the marker line */
	uint64_t usec_found; /* when it came, from start: the stage tracker's time too */
	const char *refusal; /* or NULL */
	char *refused;	     /* the line with refusal in it */
	const struct qemu_hook *hook;
	uint64_t start;
};

/* Takes the marker and what follows it on the line, trailing white space and
 * control characters removed. */
static int console_line(struct console *c)
{
	uint64_t usec = now_usec() - c->start;
	c->line[c->len] = '\0';
	c->len = 0;
	if (c->hook && c->hook->console_line)
		c->hook->console_line(c->hook->userdata, c->line, usec);
	if (c->found || c->refused)
		return 0;
	if (c->refusal && strstr(c->line, c->refusal)) {
		c->refused = strdup(c->line);
		if (!c->refused)
			return -ENOMEM;
		return 1;
	}
	const char *m = strstr(c->line, c->marker);
	if (!m)
		return 0;
	char *s = strdup(m);
	if (!s)
		return -ENOMEM;
	size_t n = strlen(s);
	while (n > 0 && (unsigned char)s[n - 1] <= ' ')
		s[--n] = '\0';
	c->found = s;
	c->usec_found = usec;
	return 1;
}

static int console_feed(struct console *c, const char *buf, size_t n)
{
	int r = fs_write_all(c->log_fd, buf, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || c->len == sizeof(c->line) - 1) {
			r = console_line(c);
			if (r < 0)
				return r;
			continue;
		}
		if (buf[i] != '\0')
			c->line[c->len++] = buf[i];
	}
	return 0;
}

/* fork and exec rather than posix_spawn, for PR_SET_PDEATHSIG: QEMU must not
 * outlive us, or a guest that never powers off would run on after a crash or
 * a kill of boot-test. Between fork and exec only async-signal-safe calls. */
static int spawn_qemu(char **argv, int out_fd, int err_fd, pid_t *ret_pid)
{
	int errpipe[2];
	pid_t parent = getpid();

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return negative_errno();
	pid_t pid = fork();
	if (pid < 0) {
		int r = negative_errno();
		safe_close(errpipe[0]);
		safe_close(errpipe[1]);
		return r;
	}
	if (pid == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigset_t none;
		int in, e;

		sigemptyset(&none);
		sigaction(SIGPIPE, &dfl, NULL);
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Own process group: Ctrl-C reaches us, and we stop the guest in order. */
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in >= 0 && dup2(in, STDIN_FILENO) >= 0 && dup2(out_fd, STDOUT_FILENO) >= 0 &&
		    dup2(err_fd, STDERR_FILENO) >= 0)
			execvp(argv[0], argv);
		e = errno;
		(void)!write(errpipe[1], &e, sizeof(e));
		_exit(127);
	}
	safe_close(errpipe[1]);
	int e = 0;
	ssize_t n;
	do
		n = read(errpipe[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	safe_close(errpipe[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -e;
	}
	*ret_pid = pid;
	return 0;
}

/* Phases after the line, as offsets from the moment each starts. */
enum {
	STEP_HOOK,  /* the caller looks inside the running guest */
	STEP_WAIT,  /* the guest may power off by itself */
	STEP_ACPI,  /* power button, again every few seconds */
	STEP_SYSRQ, /* SysRq s, u, o one second apart */
	STEP_QUIT,  /* QMP quit */
	STEP_KILL,  /* SIGKILL */
	STEP_DONE,
};

struct hook_thread {
	const struct qemu_hook *hook;
	pthread_t thread;
	bool started;
	volatile sig_atomic_t done;
};

static void *hook_main(void *userdata)
{
	struct hook_thread *h = userdata;
	h->hook->after_line(h->hook->userdata);
	h->done = 1;
	return NULL;
}

static void signals_set(const struct sigaction *sa, struct sigaction *old_int,
			struct sigaction *old_term, struct sigaction *old_hup)
{
	sigaction(SIGINT, sa, old_int);
	sigaction(SIGTERM, sa, old_term);
	sigaction(SIGHUP, sa, old_hup);
}

static void signals_restore(const struct sigaction *old_int, const struct sigaction *old_term,
			    const struct sigaction *old_hup)
{
	sigaction(SIGINT, old_int, NULL);
	sigaction(SIGTERM, old_term, NULL);
	sigaction(SIGHUP, old_hup, NULL);
}

/* One guest's run, from spawn to exit. */
struct run {
	const struct qemu_machine *m;
	const struct qemu_hook *hook;
	uint64_t timeout_usec, silence_usec, grace_usec;
	struct hook_thread ht;
	struct console con;
	struct qemu_result res;
	pid_t pid;
	int read_fd;
	bool exited;
	int status;
	int step; /* < 0: no shutdown yet */
	uint64_t start, step_at, next_try;
	int sysrq_sent;
	bool heard;
};

static void run_tick(struct run *s, uint64_t now)
{
	enum qemu_phase p = s->step < 0		   ? QEMU_PHASE_BOOT
			    : s->step == STEP_HOOK ? QEMU_PHASE_HOOK
						   : QEMU_PHASE_SHUTDOWN;
	if (s->hook && s->hook->tick)
		s->hook->tick(s->hook->userdata, p, now - s->start);
}

static void run_step(struct run *s, int step, uint64_t now)
{
	s->step = step;
	s->step_at = now;
	s->next_try = now;
}

/* Reads what the console has (waiting up to 100 ms for it). */
static void run_read(struct run *s)
{
	if (s->read_fd < 0) {
		if (!s->exited)
			poll(NULL, 0, 100);
		return;
	}
	struct pollfd p = { .fd = s->read_fd, .events = POLLIN };
	if (poll(&p, 1, 100) <= 0)
		return;
	char buf[4096];
	ssize_t n = read(s->read_fd, buf, sizeof(buf));
	if (n > 0) {
		s->heard = true;
		s->res.console_bytes += (uint64_t)n;
		if (console_feed(&s->con, buf, (size_t)n) < 0) {
			kill(s->pid, SIGKILL);
			s->step = STEP_DONE;
		}
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		s->read_fd = safe_close(s->read_fd);
}

/* Before the shutdown: whether to start it, and how. */
static void run_decide(struct run *s, uint64_t now)
{
	if (s->step < 0) {
		if (s->con.found) {
			s->res.usec_line = s->con.usec_found;
			run_step(s, STEP_WAIT, now);
			if (s->hook && s->hook->after_line &&
			    pthread_create(&s->ht.thread, NULL, hook_main, &s->ht) == 0) {
				s->ht.started = true;
				s->step = STEP_HOOK;
			}
		} else if (s->con.refused) {
			run_step(s, STEP_QUIT, now); /* the firmware will not start it */
		} else if (s->silence_usec > 0 && !s->heard && now - s->start >= s->silence_usec) {
			s->res.silent = true;
			run_step(s, STEP_QUIT, now);
		} else if (now - s->start >= s->timeout_usec) {
			s->res.timed_out = true;
			run_step(s, STEP_QUIT, now); /* nothing to wait for: keep the log */
		}
	}
	if (interrupted && s->step < STEP_QUIT) {
		s->res.interrupted = true;
		run_step(s, STEP_QUIT, now);
	}
}

/* The shutdown, one step at a time: the guest's own power-off, the ACPI
 * button, SysRq, quit, SIGKILL. */
static void run_shutdown(struct run *s, uint64_t now)
{
	uint64_t t = now - s->step_at;
	const char *qmp = s->m->qmp_socket;
	switch (s->step) {
	case STEP_HOOK:
		if (s->ht.done)
			run_step(s, STEP_WAIT, now);
		break;
	case STEP_WAIT:
		if (t >= 1 * USEC_PER_SEC)
			run_step(s, STEP_ACPI, now);
		break;
	case STEP_ACPI:
		if (now >= s->next_try) {
			if (qmp_execute(qmp, "{\"execute\":\"system_powerdown\"}\n") >= 0)
				s->res.shutdown = SHUTDOWN_ACPI;
			s->next_try = now + 3 * USEC_PER_SEC;
		}
		if (t >= s->grace_usec / 2)
			run_step(s, STEP_SYSRQ, now);
		break;
	case STEP_SYSRQ:
		if (s->sysrq_sent < 3 && now >= s->next_try) {
			if (qmp_sysrq(qmp, "suo"[s->sysrq_sent]) >= 0)
				s->res.shutdown = SHUTDOWN_SYSRQ;
			s->sysrq_sent++;
			s->next_try = now + 2 * USEC_PER_SEC;
		}
		if (t >= s->grace_usec / 2)
			run_step(s, STEP_QUIT, now);
		break;
	case STEP_QUIT:
		s->res.shutdown = SHUTDOWN_KILLED;
		(void)qmp_execute(qmp, "{\"execute\":\"quit\"}\n");
		run_step(s, STEP_KILL, now);
		break;
	case STEP_KILL:
		if (t >= 5 * USEC_PER_SEC) {
			kill(s->pid, SIGKILL);
			s->step = STEP_DONE;
		}
		break;
	default:
		break;
	}
}

/* Opens the logs and starts QEMU with its console on a pipe. */
static int run_start(struct run *s)
{
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_close_ int console_fd = -EBADF, err_fd = -EBADF;
	int pipe_fd[2];

	int r = qemu_argv(s->m, &argv);
	if (r < 0)
		return r;
	console_fd = open(s->m->console_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (console_fd < 0)
		return negative_errno();
	err_fd = open(s->m->qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (err_fd < 0)
		return negative_errno();
	if (pipe2(pipe_fd, O_CLOEXEC) < 0)
		return negative_errno();
	s->start = s->con.start = now_usec();
	r = spawn_qemu(argv, pipe_fd[1], err_fd, &s->pid);
	safe_close(pipe_fd[1]);
	if (r < 0) {
		safe_close(pipe_fd[0]);
		return r;
	}
	s->read_fd = pipe_fd[0];
	s->con.log_fd = TAKE_FD(console_fd);
	return 0;
}

/* After QEMU's exit: the last line, the times, the result. */
static int run_finish(struct run *s, struct qemu_result *ret)
{
	if (s->ht.started)
		pthread_join(s->ht.thread, NULL); /* QEMU is gone: its socket too */
	/* The last line may lack its newline. */
	if (s->con.len > 0) {
		int r = console_line(&s->con);
		if (r < 0)
			return r;
		if (r > 0 && !s->res.usec_line && s->con.found)
			s->res.usec_line = s->con.usec_found;
	}
	s->res.usec_total = now_usec() - s->start;
	s->res.exit_status =
		WIFEXITED(s->status) ? WEXITSTATUS(s->status) : 128 + WTERMSIG(s->status);
	s->res.line = TAKE_PTR(s->con.found);
	s->res.refused = TAKE_PTR(s->con.refused);
	if (interrupted)
		s->res.interrupted = true;
	*ret = s->res;
	return 0;
}

int qemu_run(const struct qemu_machine *m, const char *marker, uint64_t timeout_usec,
	     uint64_t silence_usec, uint64_t grace_usec, const struct qemu_hook *hook,
	     struct qemu_result *ret)
{
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
	struct run s = {
		.m = m,
		.hook = hook,
		.timeout_usec = timeout_usec,
		.silence_usec = silence_usec,
		.grace_usec = grace_usec,
		.ht = { .hook = hook },
		.con = { .log_fd = -EBADF, .marker = marker, .refusal = m->refusal, .hook = hook },
		.res = { .shutdown = SHUTDOWN_GUEST },
		.read_fd = -EBADF,
		.step = -1,
	};

	interrupted = 0;
	sigemptyset(&sa.sa_mask);
	signals_set(&sa, &old_int, &old_term, &old_hup);
	int r = run_start(&s);
	if (r < 0)
		goto out;
	uint64_t last_tick = 0;
	while (!s.exited || s.read_fd >= 0) {
		if (!s.exited && waitpid(s.pid, &s.status, WNOHANG) == s.pid)
			s.exited = true;
		run_read(&s);
		if (s.exited)
			continue;
		uint64_t now = now_usec();
		run_decide(&s, now);
		if (s.step >= 0)
			run_shutdown(&s, now);
		if (now - last_tick >= 100 * USEC_PER_MSEC) {
			run_tick(&s, now);
			last_tick = now;
		}
	}
	r = run_finish(&s, ret);
out:
	safe_close(s.con.log_fd);
	free(s.con.found);
	free(s.con.refused);
	signals_restore(&old_int, &old_term, &old_hup);
	return r;
}

void qemu_result_done(struct qemu_result *r)
{
	free(r->line);
	r->line = NULL;
	free(r->refused);
	r->refused = NULL;
}
