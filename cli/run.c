// SPDX-License-Identifier: MIT
/*
 * `bpfinject run -p PID... [--catch-all] [--verify MODE] -- TOOL ARGS`: an unmodified eBPF tool (a libbpf-tools
 * binary, a libbpf skeleton program) with its probes in the given processes instead of the
 * kernel. It execs TOOL with the shim preloaded (shim/, DESIGN.md D1) and the targets in
 * BPFINJECT_PIDS (BPFINJECT_CATCH_ALL: syscall tracepoints with the catch-all); the tool runs as
 * it always does, its output is its own.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"

#define MAX_PIDS 64

/* The shim next to this bpfinject: in the build tree, or installed beside its libraries. */
static int find_shim(char *path, size_t size)
{
	static const char *const rel[] = { "../shim/libbpfinject-shim.so",
					   "../lib/x86_64-linux-gnu/libbpfinject-shim.so",
					   "../lib/libbpfinject-shim.so" };
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	slash[1] = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(path, size, "%s%s", exe, rel[i]);
		if (!access(path, R_OK))
			return 0;
	}
	return -ENOENT;
}

int cli__cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "catch-all", no_argument, NULL, 'C' },
		{ "verify", required_argument, NULL, 'K' },
		{ 0 },
	};
	char shim[PATH_MAX], list[MAX_PIDS * 12] = "", *preload;
	pid_t pids[MAX_PIDS];
	unsigned int nr = 0;
	int c, dashdash = argc;
	size_t len = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	}
	while ((c = getopt_long(dashdash, argv, "p:", opts, NULL)) != -1) {
		if (c == 'C') {
			setenv("BPFINJECT_CATCH_ALL", "1", 1);
			continue;
		}
		if (c == 'K') {
			/* checked here, so that a typo is one line before the tool starts */
			if (cli__parse_verify(optarg))
				return EXIT_FAILURE;
			setenv("BPFINJECT_VERIFY", optarg, 1);
			continue;
		}
		if (c != 'p')
			return 2;
		if (cli__parse_pid(optarg, pids, &nr, MAX_PIDS))
			return EXIT_FAILURE;
	}
	if (dashdash == argc || dashdash + 1 == argc)
		return cli__err(
			"usage",
			"bpfinject run -p PID... [--catch-all] [--verify MODE] -- TOOL [ARGS]");
	if (!nr)
		return cli__err(argv[dashdash + 1], "no target: give -p PID");
	if (find_shim(shim, sizeof(shim)))
		return cli__err("run", "libbpfinject-shim.so not found next to bpfinject");
	for (unsigned int i = 0; i < nr; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", i ? "," : "",
					(int)pids[i]);
	/* After whatever the user preloads already. */
	preload = getenv("LD_PRELOAD");
	if (preload && *preload) {
		size_t n = strlen(preload) + strlen(shim) + 2;
		char *both = malloc(n);

		if (!both)
			return cli__err("run", "%s", strerror(ENOMEM));
		snprintf(both, n, "%s:%s", preload, shim);
		setenv("LD_PRELOAD", both, 1);
		free(both);
	} else {
		setenv("LD_PRELOAD", shim, 1);
	}
	setenv("BPFINJECT_PIDS", list, 1);
	execvp(argv[dashdash + 1], argv + dashdash + 1);
	return cli__err(argv[dashdash + 1], "%s", strerror(errno));
}
