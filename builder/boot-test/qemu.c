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

static int strv_extendf(char ***l, const char *fmt, ...) _printf_(2, 3);
static int strv_extendf(char ***l, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int k = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	return strv_extend(l, s);
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
	ADD("-drive");
	if (m->ahci_disk) {
		ADDF("if=none,id=disk0,format=%s,file=%s,cache=unsafe", m->disk_format, m->disk);
		ADD("-device");
		ADD("ide-hd,drive=disk0,bus=ide.0,bootindex=0");
	} else if (m->disk2) {
		/* the firmware must start the first disk's loader, not the second's */
		ADDF("if=none,id=disk0,format=%s,file=%s,cache=unsafe", m->disk_format, m->disk);
		ADD("-device");
		ADD("virtio-blk-pci,drive=disk0,bootindex=0");
	} else
		ADDF("if=virtio,format=%s,file=%s,cache=unsafe", m->disk_format, m->disk);
	if (m->disk2) {
		ADD("-drive");
		ADDF("if=none,id=disk1,format=qcow2,file=%s,cache=unsafe", m->disk2);
		ADD("-device");
		ADDF("virtio-blk-pci,drive=disk1,serial=%s", m->disk2_serial);
	}
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
	const char *refusal; /* or NULL */
	char *refused;	     /* the line with refusal in it */
	const char *const *milestones;
	uint64_t start;
	uint64_t *usec_milestone;
};

/* Takes the marker and what follows it on the line, trailing white space and
 * control characters removed. */
static int console_line(struct console *c)
{
	c->line[c->len] = '\0';
	c->len = 0;
	for (unsigned i = 0; c->milestones && c->milestones[i] && i < QEMU_MILESTONES; i++)
		if (!c->usec_milestone[i] && strstr(c->line, c->milestones[i]))
			c->usec_milestone[i] = now_usec() - c->start;
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

int qemu_run(const struct qemu_machine *m, const char *marker, uint64_t timeout_usec,
	     uint64_t silence_usec, uint64_t grace_usec, const struct qemu_hook *hook,
	     struct qemu_result *ret)
{
	struct hook_thread ht = { .hook = hook };
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_close_ int console_fd = -EBADF, err_fd = -EBADF;
	int pipe_fd[2] = { -EBADF, -EBADF };
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
	struct qemu_result res = { .shutdown = SHUTDOWN_GUEST };
	struct console con = { .marker = marker,
			       .refusal = m->refusal,
			       .milestones = m->milestones,
			       .usec_milestone = res.usec_milestone };
	pid_t pid = 0;
	int r, status = 0;

	r = qemu_argv(m, &argv);
	if (r < 0)
		return r;
	console_fd = open(m->console_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (console_fd < 0)
		return negative_errno();
	err_fd = open(m->qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (err_fd < 0)
		return negative_errno();
	if (pipe2(pipe_fd, O_CLOEXEC) < 0)
		return negative_errno();
	con.log_fd = console_fd;

	interrupted = 0;
	sigemptyset(&sa.sa_mask);
	signals_set(&sa, &old_int, &old_term, &old_hup);

	uint64_t start = now_usec();
	con.start = start;
	r = spawn_qemu(argv, pipe_fd[1], err_fd, &pid);
	pipe_fd[1] = safe_close(pipe_fd[1]);
	if (r < 0) {
		safe_close(pipe_fd[0]);
		goto out;
	}

	int read_fd = pipe_fd[0];
	bool exited = false;
	int step = -1; /* no shutdown yet */
	uint64_t step_at = 0, next_try = 0;
	int sysrq_sent = 0;
	bool heard = false;

	while (!exited || read_fd >= 0) {
		if (!exited) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				exited = true;
		}
		if (read_fd >= 0) {
			struct pollfd p = { .fd = read_fd, .events = POLLIN };
			int k = poll(&p, 1, 100);
			if (k > 0) {
				char buf[4096];
				ssize_t n = read(read_fd, buf, sizeof(buf));
				if (n > 0) {
					heard = true;
					res.console_bytes += (uint64_t)n;
					r = console_feed(&con, buf, (size_t)n);
					if (r < 0) {
						kill(pid, SIGKILL);
						step = STEP_DONE;
					}
				} else if (n == 0 || (errno != EINTR && errno != EAGAIN))
					read_fd = safe_close(read_fd);
			}
		} else if (!exited) {
			poll(NULL, 0, 100);
		}
		if (exited)
			continue;

		uint64_t now = now_usec();
		if (step < 0) {
			if (con.found) {
				res.usec_line = now - start;
				step = STEP_WAIT;
				if (hook && pthread_create(&ht.thread, NULL, hook_main, &ht) == 0) {
					ht.started = true;
					step = STEP_HOOK;
				}
				step_at = now;
			} else if (con.refused) {
				step = STEP_QUIT; /* the firmware will not start it: stop it */
				step_at = now;
			} else if (silence_usec > 0 && !heard && now - start >= silence_usec) {
				res.silent = true;
				step = STEP_QUIT;
				step_at = now;
			} else if (now - start >= timeout_usec) {
				res.timed_out = true;
				step = STEP_QUIT; /* nothing to wait for: keep the log, stop it */
				step_at = now;
			}
		}
		if (interrupted && step < STEP_QUIT) {
			res.interrupted = true;
			step = STEP_QUIT;
			step_at = now;
		}
		if (step < 0)
			continue;

		uint64_t t = now - step_at;
		switch (step) {
		case STEP_HOOK:
			if (ht.done) {
				step = STEP_WAIT;
				step_at = now;
			}
			break;
		case STEP_WAIT:
			if (t >= 1 * USEC_PER_SEC) {
				step = STEP_ACPI;
				step_at = now;
				next_try = now;
			}
			break;
		case STEP_ACPI:
			if (now >= next_try) {
				if (qmp_execute(m->qmp_socket,
						"{\"execute\":\"system_powerdown\"}\n") >= 0)
					res.shutdown = SHUTDOWN_ACPI;
				next_try = now + 3 * USEC_PER_SEC;
			}
			if (t >= grace_usec / 2) {
				step = STEP_SYSRQ;
				step_at = now;
				next_try = now;
			}
			break;
		case STEP_SYSRQ:
			if (sysrq_sent < 3 && now >= next_try) {
				if (qmp_sysrq(m->qmp_socket, "suo"[sysrq_sent]) >= 0)
					res.shutdown = SHUTDOWN_SYSRQ;
				sysrq_sent++;
				next_try = now + 2 * USEC_PER_SEC;
			}
			if (t >= grace_usec / 2) {
				step = STEP_QUIT;
				step_at = now;
			}
			break;
		case STEP_QUIT:
			res.shutdown = SHUTDOWN_KILLED;
			(void)qmp_execute(m->qmp_socket, "{\"execute\":\"quit\"}\n");
			step = STEP_KILL;
			step_at = now;
			break;
		case STEP_KILL:
			if (t >= 5 * USEC_PER_SEC) {
				kill(pid, SIGKILL);
				step = STEP_DONE;
			}
			break;
		default:
			break;
		}
	}
	if (ht.started)
		pthread_join(ht.thread, NULL); /* QEMU is gone: its socket too */
	/* The last line may lack its newline. */
	if (con.len > 0) {
		r = console_line(&con);
		if (r < 0)
			goto out;
		if (r > 0 && !res.usec_line)
			res.usec_line = now_usec() - start;
	}
	res.usec_total = now_usec() - start;
	res.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	res.line = TAKE_PTR(con.found);
	res.refused = TAKE_PTR(con.refused);
	if (interrupted)
		res.interrupted = true;
	*ret = res;
	r = 0;
out:
	free(con.found);
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
