// SPDX-License-Identifier: MIT
/*
 * `-- CMD` follows the command's descendants. A forked child inherits the probes (the same
 * patched text, the shared arena, a wiped per-thread state); a process that execs loses them
 * with its old image, so it is injected again. New processes are looked for each time the
 * event loop comes round (every 100 ms): what an exec'd child does before that is not seen.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/injector.h>

#include "cli_internal.h"

/* Our target block is mapped: the process carries the probes (or inherited them by fork). */
static bool carries_probes(pid_t pid)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "bpfinject-target") != NULL;
	if (f)
		fclose(f);
	return found;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

static bool descends_from(pid_t pid, pid_t root)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		pid = parent_of(pid);
		if (pid == root)
			return true;
	}
	return false;
}

static bool tracked(const struct cli_target *cts, unsigned int n, pid_t pid)
{
	for (unsigned int i = 0; i < n; i++) {
		if (cts[i].pid == pid)
			return true;
	}
	return false;
}

static void inject_child(struct cli_target *ct, pid_t pid, bool spawned)
{
	char buf[CLI_REASON_MAX] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	if (cli__inject(ct, pid, NULL, &log)) {
		buf[strcspn(buf, "\n")] = '\0';
		cli__warn("follow", "process %d: %s", pid, buf);
		ct->t = NULL;
		ct->pid = pid; /* remembered, not tried again */
		ct->spawned = spawned;
		return;
	}
	ct->spawned = spawned;
	fprintf(stderr, "bpfinject: attached %u probe%s to process %d (after exec)\n", ct->probes,
		ct->probes == 1 ? "" : "s", pid);
}

void cli__follow(struct cli_target *cts, unsigned int *n, unsigned int max, pid_t root)
{
	struct dirent *de;
	DIR *d;

	/* The command itself exec'd: its probes went with the old image. */
	for (unsigned int i = 0; i < *n; i++) {
		if (cts[i].pid == root && cts[i].t && cli__target_alive(&cts[i]) &&
		    !carries_probes(root)) {
			cli__detach(&cts[i], true, NULL); /* nothing left there to restore */
			inject_child(&cts[i], root, true);
		}
	}
	d = opendir("/proc");
	while (d && (de = readdir(d)) && *n < max) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);

		if (pid <= 1 || pid == root || tracked(cts, *n, pid) || carries_probes(pid) ||
		    !descends_from(pid, root))
			continue;
		inject_child(&cts[(*n)++], pid, false);
	}
	if (d)
		closedir(d);
}
