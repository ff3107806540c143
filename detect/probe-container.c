/* SPDX-License-Identifier: MIT */
/*
 * probe-container.c - which container manager, if any, the running system
 * is under, by systemd's detect_container() and with its names: OpenVZ,
 * WSL, proot, the manager's own word (/run/host/container-manager, PID 1's
 * $container, /run/systemd/container), the files Podman and Docker leave
 * (/run/.containerenv, /.dockerenv), and a cgroup namespace
 * (container-other).
 *
 * These signals belong to the running system, not to a disk image: the
 * probe runs only for a live root (ctx->live) and sets v->container itself;
 * it never changes the hypervisor verdict.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/probe.h"
#include "lib/basic/fs.h"

#define ENVIRON_MAX (64u * 1024u)

static const char *const containers[] = {
	"lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman", "rkt", "wsl", "proot", "pouch",
};

/* Podman first: Docker's file may end up in any image (systemd). */
static const struct {
	const char *path;
	const char *name;
} container_files[] = {
	{ "run/.containerenv", "podman" },
	{ ".dockerenv", "docker" },
};

static const char *container_by_file(struct probe_ctx *ctx)
{
	for (size_t i = 0; i < ELEMENTSOF(container_files); i++)
		if (probe_exists(ctx, container_files[i].path)) {
			evidence_add(ctx, "container", "'/%s' exists: %s", container_files[i].path,
				     container_files[i].name);
			return container_files[i].name;
		}
	return NULL;
}

/* A manager's name as systemd translates it: "oci" says only that some
 * OCI runtime made it, so the files decide; an unknown name is a container
 * all the same. */
static const char *container_by_name(struct probe_ctx *ctx, const char *from, const char *name)
{
	_cleanup_free_ char *shown = value_show(name, strlen(name));

	evidence_add(ctx, "container", "%s '%s'", from, shown ? shown : "");
	if (streq(name, "oci")) {
		const char *f = container_by_file(ctx);
		return f ? f : "container-other";
	}
	for (size_t i = 0; i < ELEMENTSOF(containers); i++)
		if (streq(name, containers[i]))
			return containers[i];
	return "container-other";
}

/* The value of $container in PID 1's environment: 1 and *ret, 0 when it is
 * not set, -errno when the environment cannot be read (it needs
 * CAP_SYS_PTRACE; systemd ignores that failure too). */
static int pid1_environ_container(struct probe_ctx *ctx, char **ret)
{
	_cleanup_free_ char *env = NULL;
	size_t n;

	int r = fs_read_file_at(ctx->root_fd, "proc/1/environ", ENVIRON_MAX, &env, &n);
	if (r < 0)
		return r;
	return value_environ_get(env, n, "container", ret);
}

/* What the manager says: /run/host/container-manager, PID 1's $container
 * (our own environment when we are PID 1, where an empty value means
 * none), /run/systemd/container. *ret_none is set when PID 1 says none. */
static const char *container_by_manager(struct probe_ctx *ctx, bool *ret_none)
{
	_cleanup_free_ char *m = NULL;

	if (fs_read_line_at(ctx->root_fd, "run/host/container-manager", VALUE_MAX, &m) >= 0 && *m)
		return container_by_name(ctx, "/run/host/container-manager", m);
	if (ctx->at_slash && getpid() == 1) {
		const char *e = getenv("container");
		if (e && !*e) {
			evidence_add(ctx, "container", "PID 1 with an empty $container: none");
			*ret_none = true;
		}
		return e && *e ? container_by_name(ctx, "$container of PID 1", e) : NULL;
	}
	free(m);
	m = NULL;
	if (fs_read_line_at(ctx->root_fd, "run/systemd/container", VALUE_MAX, &m) >= 0 && *m)
		return container_by_name(ctx, "/run/systemd/container", m);
	free(m);
	m = NULL;
	if (pid1_environ_container(ctx, &m) > 0 && *m)
		return container_by_name(ctx, "$container of PID 1", m);
	return NULL;
}

/* systemd's running_in_cgroupns(), by the files it looks at. */
static bool in_cgroup_namespace(struct probe_ctx *ctx)
{
	if (!probe_exists(ctx, "proc/self/ns/cgroup"))
		return false;
	if (probe_exists(ctx, "sys/fs/cgroup/cgroup.controllers")) { /* cgroup v2 */
		if (!probe_exists(ctx, "sys/fs/cgroup/cgroup.events"))
			return false; /* only nested cgroups have it */
		if (probe_exists(ctx, "sys/fs/cgroup/cgroup.type"))
			return true; /* never in the root cgroup */
		return !probe_exists(ctx, "sys/kernel/cgroup/features"); /* old kernel */
	}
	if (!probe_exists(ctx, "sys/fs/cgroup/systemd"))
		return false;
	return !probe_exists(ctx, "sys/fs/cgroup/systemd/release_agent"); /* root only */
}

/* proot traces the processes it runs, without a PID namespace. */
static bool traced_by_proot(struct probe_ctx *ctx)
{
	_cleanup_free_ char *status = NULL, *comm = NULL;
	char path[64];
	size_t n;
	unsigned long pid;

	if (fs_read_file_at(ctx->root_fd, "proc/self/status", VALUE_MAX * 4, &status, &n) < 0)
		return false;
	const char *t = strstr(status, "\nTracerPid:");
	if (!t || sscanf(t + strlen("\nTracerPid:"), "%lu", &pid) != 1 || pid == 0 ||
	    pid > 0x3fffffffu)
		return false;
	snprintf(path, sizeof(path), "proc/%lu/comm", pid);
	if (fs_read_line_at(ctx->root_fd, path, VALUE_MAX, &comm) < 0)
		return false;
	return startswith(comm, "proot");
}

static const char *detect_container(struct probe_ctx *ctx)
{
	_cleanup_free_ char *release = NULL;
	bool none = false;

	if (probe_exists(ctx, "proc/vz") && !probe_exists(ctx, "proc/bc")) {
		evidence_add(ctx, "container", "/proc/vz without /proc/bc: openvz");
		return "openvz";
	}
	if (fs_read_line_at(ctx->root_fd, "proc/sys/kernel/osrelease", VALUE_MAX, &release) >= 0 &&
	    (strstr(release, "Microsoft") || strstr(release, "WSL"))) {
		evidence_add(ctx, "container", "kernel release names WSL: wsl");
		return "wsl";
	}
	if (traced_by_proot(ctx)) {
		evidence_add(ctx, "container", "traced by proot: proot");
		return "proot";
	}
	const char *c = container_by_manager(ctx, &none);
	if (c || none)
		return c;
	c = container_by_file(ctx);
	if (c)
		return c;
	if (in_cgroup_namespace(ctx)) {
		evidence_add(ctx, "container", "in a cgroup namespace: container-other");
		return "container-other";
	}
	return NULL;
}

static void run(struct probe_ctx *ctx)
{
	if (!ctx->live) {
		evidence_add(ctx, "container", "not asked: an offline root");
		return;
	}
	const char *c = detect_container(ctx);
	if (ctx->oom)
		return;
	if (!c) {
		evidence_add(ctx, "container", "none");
		return;
	}
	ctx->v->container = strdup(c);
	if (!ctx->v->container)
		ctx->oom = true;
}

const struct probe probe_container = { .name = "container", .run = run };
