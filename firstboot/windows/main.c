/* SPDX-License-Identifier: MIT */
/*
 * main.c - enlighten-firstboot.exe: detect, compare with the last boot,
 * plan the matching profile's [Windows] section, apply it as one
 * transaction, report; at most one restart, asked for once, at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

#define EXIT_FAILED 1 /* the run failed; the report and the event log say why */
#define EXIT_USAGE 2

struct opts {
	struct win_detect_opts detect;
	const char *profiles, *drivers, *installers, *state_dir, *tools_dir;
	const char *trigger;
	bool detect_only, dry_run, no_reboot;
};

struct run_ctx {
	const struct opts *o;
	char *state_path, *report_path;
	struct verdict *v;
	struct win_report rep;
};

static void say(const char *fmt, ...) _printf_(1, 2);
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("enlighten-firstboot: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int help(void)
{
	printf("Usage: enlighten-firstboot.exe [--first-boot | --boot | --detect | --dry-run] "
	       "[--no-reboot]\n"
	       "       [--profiles DIR] [--drivers DIR] [--installers DIR] [--state-dir DIR]\n"
	       "       [--tools-dir DIR] [--cpuid-file FILE] [--smbios-file FILE] [--devices-file "
	       "FILE]\n"
	       "\n"
	       "Detect the hypervisor and converge Windows on its profile's [Windows] section.\n"
	       "\n"
	       "  --first-boot         the run SetupComplete.cmd starts once after setup\n"
	       "  --boot               the run the scheduled task starts at every boot\n"
	       "  --detect             print the verdict as JSON (as enlighten-detect --json)\n"
	       "  --dry-run            print the plan as JSON and change nothing\n"
	       "  --no-reboot          never restart; the report says when one is due\n"
	       "  --profiles DIR       the profile matrix (default: profiles beside the program)\n"
	       "  --drivers DIR        staged driver packages (default: "
	       "%%SystemDrive%%\\Drivers\\enlighten)\n"
	       "  --installers DIR     installers (default: installers beside the program)\n"
	       "  --state-dir DIR      state.json and report.json (default: "
	       "%%ProgramData%%\\enlighten)\n"
	       "  --tools-dir DIR      where pnputil, msiexec, dism and shutdown are (default: "
	       "System32)\n"
	       "  --cpuid-file FILE    take CPUID from a table instead of the instruction\n"
	       "  --smbios-file FILE   take the SMBIOS table from a file instead of the firmware\n"
	       "  --devices-file FILE  take hardware ids from a file instead of SetupAPI\n"
	       "  -h, --help           show this help\n"
	       "  -V, --version        show the version\n"
	       "\n"
	       "Exit status: 0 converged or unchanged, 1 the run failed (see report.json and\n"
	       "the Application event log), 2 usage error.\n");
	return 0;
}

/* The folder of the program, for the defaults beside it. */
static char *program_dir(void)
{
	char path[MAX_PATH];
	DWORD n = GetModuleFileNameA(NULL, path, sizeof(path));
	if (n == 0 || n >= sizeof(path))
		return strdup(".");
	char *slash = strrchr(path, '\\');
	if (slash)
		*slash = '\0';
	return strdup(path);
}

static char *env_path(const char *var, const char *fallback, const char *tail)
{
	const char *v = getenv(var);
	return strjoin(v && *v ? v : fallback, tail);
}

/* The run's end: report.json, KVP, the event log; returns the exit status. */
static int finish(struct run_ctx *c, const char *result, const char *error)
{
	c->rep.result = result;
	c->rep.error = error;
	int r = report_write(c->report_path, &c->rep);
	if (r < 0)
		say("cannot write the report '%s': %s", c->report_path, strerror(-r));
	if (c->v && (r = report_kvp(&c->rep)) < 0)
		say("cannot write the KVP records: %s", strerror(-r));
	if (error) {
		say("%s", error);
		report_event(true, "enlighten-firstboot: %s", error);
		return EXIT_FAILED;
	}
	report_event(false, "enlighten-firstboot: profile %s, %s%s", c->rep.profile, result,
		     c->rep.reboot ? ", restart due" : "");
	say("profile %s: %s%s", c->rep.profile, result, c->rep.reboot ? ", restart due" : "");
	return 0;
}

static int fail(struct run_ctx *c, const char *fmt, ...) _printf_(2, 3);
static int fail(struct run_ctx *c, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return finish(c, "failed", msg ? msg : "out of memory");
}

static int converge(struct run_ctx *c, const struct profile_set *set, const struct profile *want,
		    struct win_state *st)
{
	const struct opts *o = c->o;
	const struct tools tools = { .dir = o->tools_dir };
	struct apply_ctx ac = { .tools = &tools, .state_path = c->state_path, .v = c->v };
	_cleanup_free_ char *msg = NULL;
	struct plan plan = {};
	struct apply_result res = {};
	const struct plan_paths pp = { .drivers = o->drivers, .installers = o->installers };
	const struct profile *old = st->profile ? profile_set_find(set, st->profile) : NULL;

	int r = plan_build(old, want, &pp, &plan, &msg);
	if (r < 0) {
		state_save(c->state_path, st->profile, "failed", msg, NULL);
		return fail(c, "cannot plan profile '%s': %s", profile_name(want),
			    msg ? msg : strerror(-r));
	}
	c->rep.plan = &plan;
	if (o->dry_run) {
		struct jbuf b = {};
		plan_to_json(&plan, &b);
		printf("%s\n", b.p ? b.p : "");
		free(b.p);
		plan_done(&plan);
		return 0;
	}
	r = apply_plan(&ac, &plan, &res);
	c->rep.steps = res.log.p;
	c->rep.reboot = res.reboot;
	if (r < 0) {
		state_save(c->state_path, st->profile, "failed", res.error, NULL);
		r = fail(c, "profile '%s' not applied, the done steps undone: %s",
			 profile_name(want), res.error ? res.error : strerror(-r));
	} else if ((r = state_save(c->state_path, profile_name(want), "complete", NULL, NULL)) < 0)
		r = fail(c, "cannot write the state '%s': %s", c->state_path, strerror(-r));
	else
		r = finish(c, "complete", NULL);
	if (r == 0 && res.reboot && !o->no_reboot) {
		/* the one restart of this run, for everything that asked */
		const char *argv[] = { "/r",
				       "/t",
				       "30",
				       "/d",
				       "p:2:4",
				       "/c",
				       "enlighten: integration components installed",
				       NULL };
		unsigned long code;
		if (run_tool(&tools, "shutdown", argv, &code) < 0 || code != 0)
			say("a restart is due; shutdown.exe did not schedule it");
	}
	c->rep.plan = NULL;
	plan_done(&plan);
	apply_result_done(&res);
	return r;
}

static int run(struct run_ctx *c)
{
	const struct opts *o = c->o;
	_cleanup_free_ char *msg = NULL;
	_cleanup_profile_set_ struct profile_set *set = NULL;
	struct win_state st = {};
	const struct profile *want = NULL;

	int r = win_detect(&o->detect, &c->v, &msg);
	if (r < 0)
		return fail(c, "detection failed: %s", msg ? msg : strerror(-r));
	c->rep.v = c->v;
	r = profile_set_load(o->profiles, &set, &msg);
	if (r < 0)
		return fail(c, "cannot load the profile matrix '%s': %s", o->profiles,
			    msg ? msg : strerror(-r));
	r = profile_set_match(set, hypervisor_to_string(c->v->hypervisor),
			      role_to_string(c->v->role), xen_mode_to_string(c->v->xen_mode),
			      &want);
	if (r == -ENOENT && !(want = profile_set_find(set, c->v->profile)))
		return fail(c, "no profile in '%s' matches %s %s", o->profiles,
			    hypervisor_to_string(c->v->hypervisor), role_to_string(c->v->role));
	if (r < 0 && r != -ENOENT)
		return fail(c, "two profiles in '%s' match %s %s equally", o->profiles,
			    hypervisor_to_string(c->v->hypervisor), role_to_string(c->v->role));
	c->rep.profile = profile_name(want);

	r = state_load(c->state_path, &st, &msg);
	if (r < 0 && r != -ENOENT)
		return fail(c, "%s; move it away to start afresh", msg ? msg : strerror(-r));
	c->rep.previous = st.profile;
	if (st.journal) {
		/* a run stopped in the middle: back to where it started */
		struct apply_result res = {};
		const struct tools tools = { .dir = o->tools_dir };
		struct apply_ctx ac = { .tools = &tools, .state_path = c->state_path };
		r = apply_rollback(&ac, st.journal, &res);
		apply_result_done(&res);
		if (r < 0) {
			state_done(&st);
			return fail(c, "the journal in '%s' does not parse", c->state_path);
		}
		free(st.result);
		st.result = NULL;
	}
	c->rep.changed =
		!streq_ptr(st.profile, profile_name(want)) || !streq_ptr(st.result, "complete");
	if (!c->rep.changed && !o->dry_run) {
		state_done(&st);
		return finish(c, "unchanged", NULL); /* the fast path of every boot */
	}
	r = converge(c, set, want, &st);
	state_done(&st);
	return r;
}

enum {
	O_FIRST = 256,
	O_BOOT,
	O_DETECT,
	O_DRY,
	O_NOREBOOT,
	O_PROFILES,
	O_DRIVERS,
	O_INSTALLERS,
	O_STATE,
	O_TOOLS,
	O_CPUID,
	O_SMBIOS,
	O_DEVICES
};

/* The options into o: -1 to go on, or the exit code to stop with. */
static int parse_args(int argc, char *argv[], struct opts *o)
{
	static const struct option options[] = {
		{ "first-boot", no_argument, NULL, O_FIRST },
		{ "boot", no_argument, NULL, O_BOOT },
		{ "detect", no_argument, NULL, O_DETECT },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "no-reboot", no_argument, NULL, O_NOREBOOT },
		{ "profiles", required_argument, NULL, O_PROFILES },
		{ "drivers", required_argument, NULL, O_DRIVERS },
		{ "installers", required_argument, NULL, O_INSTALLERS },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "tools-dir", required_argument, NULL, O_TOOLS },
		{ "cpuid-file", required_argument, NULL, O_CPUID },
		{ "smbios-file", required_argument, NULL, O_SMBIOS },
		{ "devices-file", required_argument, NULL, O_DEVICES },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			return help();
		case 'V':
			printf("enlighten-firstboot.exe %s\n", VERSION);
			return 0;
		case O_FIRST:
			o->trigger = "first-boot";
			break;
		case O_BOOT:
			o->trigger = "boot";
			break;
		case O_DETECT:
			o->detect_only = true;
			break;
		case O_DRY:
			o->dry_run = true;
			break;
		case O_NOREBOOT:
			o->no_reboot = true;
			break;
		case O_PROFILES:
			o->profiles = optarg;
			break;
		case O_DRIVERS:
			o->drivers = optarg;
			break;
		case O_INSTALLERS:
			o->installers = optarg;
			break;
		case O_STATE:
			o->state_dir = optarg;
			break;
		case O_TOOLS:
			o->tools_dir = optarg;
			break;
		case O_CPUID:
			o->detect.cpuid_file = optarg;
			break;
		case O_SMBIOS:
			o->detect.smbios_file = optarg;
			break;
		case O_DEVICES:
			o->detect.devices_file = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	if (optind < argc) {
		say("unexpected argument '%s' (see --help)", argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

/* --detect: the verdict printed, nothing changed. */
static int detect_only(const struct opts *o)
{
	_cleanup_free_ char *msg = NULL;
	struct verdict *v = NULL;
	int r = win_detect(&o->detect, &v, &msg);
	if (r < 0) {
		say("detection failed: %s", msg ? msg : strerror(-r));
		return EXIT_USAGE;
	}
	r = verdict_print(v);
	verdict_free(v);
	return r < 0 ? EXIT_USAGE : 0;
}

int main(int argc, char *argv[])
{
	_cleanup_free_ char *dir = program_dir(), *def_profiles = NULL, *def_installers = NULL,
			    *def_drivers = NULL, *def_state = NULL;
	struct opts o = { .trigger = "manual" };
	int r = parse_args(argc, argv, &o);
	if (r >= 0)
		return r;
	def_profiles = strjoin(dir ? dir : ".", "\\profiles");
	def_installers = strjoin(dir ? dir : ".", "\\installers");
	def_drivers = env_path("SystemDrive", "C:", "\\Drivers\\enlighten");
	def_state = env_path("ProgramData", "C:\\ProgramData", "\\enlighten");
	if (!def_profiles || !def_installers || !def_drivers || !def_state) {
		say("out of memory");
		return EXIT_USAGE;
	}
	o.profiles = o.profiles ? o.profiles : def_profiles;
	o.installers = o.installers ? o.installers : def_installers;
	o.drivers = o.drivers ? o.drivers : def_drivers;
	o.state_dir = o.state_dir ? o.state_dir : def_state;
	if (o.detect_only)
		return detect_only(&o);

	struct run_ctx ctx = { .o = &o, .rep.trigger = o.trigger };
	r = win_mkdir_p(o.state_dir);
	if (r < 0) {
		say("cannot make the state folder '%s': %s", o.state_dir, strerror(-r));
		return EXIT_FAILED;
	}
	ctx.state_path = strjoin(o.state_dir, "\\state.json");
	ctx.report_path = strjoin(o.state_dir, "\\report.json");
	if (!ctx.state_path || !ctx.report_path) {
		say("out of memory");
		return EXIT_USAGE;
	}
	r = run(&ctx);
	verdict_free(ctx.v);
	free(ctx.state_path);
	free(ctx.report_path);
	return r;
}
