// SPDX-License-Identifier: MIT
/*
 * The bpfinject command: global options, subcommand dispatch, and the one place that turns
 * failures into the single `bpfinject: <thing>: <reason>` line of DESIGN.md §6.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/common.h>
#include <bpfinject/runtime.h>

#include "cli_internal.h"

#ifndef BPFI_VERSION
#define BPFI_VERSION "unknown"
#endif

int arg_verbose;

/* libbpf reports failures as several lines on its print callback; we keep the last warning
 * so that a failure can still be explained in one line when -v is off. */
static char libbpf_last_warn[CLI_REASON_MAX];
/* The last warning about one program ("prog 'NAME': ..."): names the program that failed. */
static char libbpf_prog_warn[CLI_REASON_MAX];
/* Maps libbpf created since the last clear, from its debug messages: after a failed load it
 * has closed their fds, but the rejected program's instructions still name them. */
#define MAX_CREATED_MAPS 64
static struct cli_map_name created_maps[MAX_CREATED_MAPS];
static size_t nr_created_maps;

static const char usage_text[] =
	"usage: bpfinject [-p PID]... [options] OBJ [-- CMD ARGS]\n"
	"       bpfinject [-v] <command> [options]\n"
	"\n"
	"Runs the uprobe and uretprobe programs of OBJ inside running processes (-p, repeatable)\n"
	"or inside CMD, started with them in place from the first instruction of main. Prints\n"
	"trace_printk lines and ring/perf buffer records while they run; on Ctrl-C, SIGTERM or\n"
	"the end of --duration restores every patched byte and prints the maps.\n"
	"  -p, --pid PID                 a process to attach to (repeatable)\n"
	"  -a, --attach PROG=[PATH:]FUNC[+OFF]\n"
	"                                attach PROG (a plain SEC(\"uprobe\")/SEC(\"uretprobe\")) to\n"
	"                                FUNC, in PATH or the target's executable\n"
	"  -d, --duration SECONDS        detach after this long\n"
	"      --persist                 leave the programs in place and exit\n"
	"      --catch-all               syscall tracepoints also see calls made where no site\n"
	"                                could be rewritten (Syscall User Dispatch: a signal per\n"
	"                                such call, about 2 us)\n"
	"      --event-type STRUCT       print ring/perf buffer records as this BTF struct\n"
	"      --json                    JSON output\n"
	"      --no-verify               skip the load-time check (unsafe)\n"
	"      --verify ours|kernel|both whose check a program must pass (default ours; kernel\n"
	"                                and both load it into the running kernel too: root)\n"
	"\n"
	"commands:\n"
	"  detach -p PID                 remove programs left with --persist\n"
	"  list                          processes carrying programs, their probes and hits\n"
	"  fault (--syscall NAME --errno ERR | --func [PATH:]FUNC --return VAL)\n"
	"        [--probability P] [--nth N] [--after N] [--path-prefix DIR] [--tid TID]\n"
	"        [--seed S] [--duration S] [--catch-all] (-p PID... | -- CMD ARGS)\n"
	"                                fault injection without writing eBPF: the chosen calls\n"
	"                                fail (or return VAL); prints how many were injected\n"
	"  run -p PID... [--catch-all] [--verify MODE] -- TOOL [ARGS]\n"
	"                                an unmodified eBPF tool (libbpf-tools, a libbpf skeleton\n"
	"                                program) with its probes in those processes (the shim)\n"
	"  dump OBJ [-d]                 list the programs (with the load-time check result) and\n"
	"                                maps of an eBPF object; -d disassembles the programs\n"
	"  test-run OBJ PROG [options]   run PROG once or --repeat N times through PROG_TEST_RUN,\n"
	"                                then print r0, the time per run, the maps and the\n"
	"                                trace_printk output\n"
	"      --ctx-in FILE             context bytes (e.g. a struct pt_regs for a uprobe)\n"
	"      --repeat N                run N times (default 1)\n"
	"      --json                    JSON output\n"
	"      --backend jit|interp      how the program runs (default jit)\n"
	"      --no-verify               skip the load-time check (unsafe)\n"
	"      --verify ours|kernel|both whose check (dump, test-run and run take it too)\n"
	"\n"
	"options:\n"
	"  -v, --verbose                 show libbpf's messages (twice: debug messages too)\n"
	"  -h, --help                    show this help\n"
	"      --version                 show the version\n";

int cli__err(const char *thing, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bpfinject: %s: ", thing);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

void cli__warn(const char *thing, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bpfinject: warning: %s: ", thing);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) _printf_(2, 0);
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[CLI_REASON_MAX];
	const char *msg;
	size_t n;
	va_list copy;

	va_copy(copy, ap);
	vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	if (level == LIBBPF_DEBUG && nr_created_maps < MAX_CREATED_MAPS) {
		struct cli_map_name *m = &created_maps[nr_created_maps];

		if (sscanf(line, "libbpf: map '%63[^']': created successfully, fd=%d", m->name,
			   &m->fd) == 2)
			nr_created_maps++;
	}
	if (level == LIBBPF_WARN) {
		/* Keep the first line of the message, without libbpf's "libbpf: " prefix. */
		n = strcspn(line, "\n");
		line[n] = '\0';
		msg = strncmp(line, "libbpf: ", 8) ? line : line + 8;
		if (n)
			snprintf(libbpf_last_warn, sizeof(libbpf_last_warn), "%s", msg);
		if (!strncmp(msg, "prog '", 6))
			snprintf(libbpf_prog_warn, sizeof(libbpf_prog_warn), "%s", msg);
	}
	if (arg_verbose >= 2 || (arg_verbose == 1 && level != LIBBPF_DEBUG))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

const char *cli__libbpf_last_warning(void)
{
	return libbpf_last_warn;
}

const char *cli__libbpf_prog_warning(void)
{
	return libbpf_prog_warn;
}

const struct cli_map_name *cli__libbpf_created_maps(size_t *ret_n)
{
	*ret_n = nr_created_maps;
	return created_maps;
}

void cli__libbpf_clear(void)
{
	nr_created_maps = 0;
	libbpf_last_warn[0] = '\0';
	libbpf_prog_warn[0] = '\0';
}

int cli__parse_backend(const char *s, enum bpfi_jit_backend *ret_backend)
{
	if (!strcmp(s, "jit") || !strcmp(s, "x86_64"))
		*ret_backend = BPFI_JIT_X86_64;
	else if (!strcmp(s, "interp") || !strcmp(s, "interpreter"))
		*ret_backend = BPFI_JIT_INTERP;
	else
		return -EINVAL;
	return 0;
}

enum bpfi_verify_mode cli__verify_mode = BPFI_VERIFY_OURS;

int cli__parse_verify(const char *s)
{
	if (!strcmp(s, "ours"))
		cli__verify_mode = BPFI_VERIFY_OURS;
	else if (!strcmp(s, "kernel"))
		cli__verify_mode = BPFI_VERIFY_KERNEL;
	else if (!strcmp(s, "both"))
		cli__verify_mode = BPFI_VERIFY_BOTH;
	else
		return cli__err("--verify", "'%s': expected ours, kernel or both", s);
	return 0;
}

const char *cli__verify_mode_str(void)
{
	static const char *const names[] = { "ours", "kernel", "both" };

	return names[cli__verify_mode];
}

int cli__runtime_start(enum bpfi_jit_backend backend, bool no_verify)
{
	struct bpfi_runtime_opts opts = {
		.sz = sizeof(opts),
		.backend = backend,
		.no_verify = no_verify,
		.verify = cli__verify_mode,
	};
	char buf[CLI_REASON_MAX] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	int err;

	if (no_verify && cli__verify_mode != BPFI_VERIFY_OURS)
		return cli__err("--no-verify", "cannot be combined with --verify %s",
				cli__verify_mode_str());
	if (no_verify)
		cli__warn("--no-verify",
			  "programs run without the load-time check: a bad program can crash");
	err = bpfi_runtime_init(&opts, &log);
	if (err) {
		buf[strcspn(buf, "\n")] = '\0';
		return cli__err(cli__verify_mode != BPFI_VERIFY_OURS ? "--verify" : "runtime", "%s",
				buf[0] ? buf : strerror(-err));
	}
	return 0;
}

/* The attach form starts with -p, a .o file, or an option only it takes. */
static bool is_attach_command(const char *arg)
{
	static const char *const commands[] = { "dump",	 "test-run", "detach", "list",
						"fault", "run",	     "help" };
	size_t len = strlen(arg);

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(arg, commands[i]))
			return false;
	}
	if (arg[0] == '-')
		return !strcmp(arg, "-p") || !strncmp(arg, "--pid", 5) || !strcmp(arg, "-a") ||
		       !strncmp(arg, "--attach", 8) || !strncmp(arg, "--duration", 10) ||
		       !strcmp(arg, "--persist") || !strcmp(arg, "--catch-all") ||
		       !strcmp(arg, "--json") || !strncmp(arg, "--event-type", 12) ||
		       !strcmp(arg, "--no-verify") || !strncmp(arg, "--verify", 8) ||
		       !strcmp(arg, "-d");
	return len > 2 && !strcmp(arg + len - 2, ".o");
}

static int usage(FILE *out, int ret)
{
	fputs(usage_text, out);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *cmd;
	int c, ret;

	libbpf_set_print(libbpf_print);
	/* No subcommand: the main job, `bpfinject [-p PID]... OBJ [-- CMD]`, parses all of argv. */
	if (argc > 1 && is_attach_command(argv[1])) {
		optind = 0;
		ret = cli__cmd_attach(argc, argv);
		goto out;
	}
	/* '+': stop at the subcommand, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			arg_verbose++;
			break;
		case 'h':
			return usage(stdout, EXIT_SUCCESS);
		case 'V':
			printf("bpfinject %s (libbpf %s)\n", BPFI_VERSION, libbpf_version_string());
			return EXIT_SUCCESS;
		default:
			fputs("bpfinject: try 'bpfinject --help'\n", stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs("bpfinject: missing command (try 'bpfinject --help')\n", stderr);
		return 2;
	}
	cmd = argv[optind];
	/* Each subcommand parses its own argv, starting at its name. */
	argc -= optind;
	argv += optind;
	optind = 0;
	if (!strcmp(cmd, "dump"))
		ret = cli__cmd_dump(argc, argv);
	else if (!strcmp(cmd, "test-run"))
		ret = cli__cmd_test_run(argc, argv);
	else if (!strcmp(cmd, "detach"))
		ret = cli__cmd_detach(argc, argv);
	else if (!strcmp(cmd, "list"))
		ret = cli__cmd_list(argc, argv);
	else if (!strcmp(cmd, "fault"))
		ret = cli__cmd_fault(argc, argv);
	else if (!strcmp(cmd, "run"))
		ret = cli__cmd_run(argc, argv);
	else if (!strcmp(cmd, "help"))
		ret = usage(stdout, EXIT_SUCCESS);
	else {
		cli__err(cmd, "unknown command (try 'bpfinject --help')");
		ret = 2;
	}
out:
	if (bpfi_runtime_active())
		bpfi_runtime_fini();
	return ret;
}
