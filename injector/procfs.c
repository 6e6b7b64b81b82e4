// SPDX-License-Identifier: MIT
/* What /proc says about a target: its threads, its state, its tracer, where its vDSO is. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "injector_internal.h"

int injector__list_tasks(pid_t pid, pid_t **ret_tids, unsigned int *ret_n)
{
	char path[64];
	pid_t *tids = NULL;
	unsigned int n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(dir))) {
		long tid = strtol(de->d_name, NULL, 10);

		if (tid <= 0)
			continue;
		if (n == cap) {
			pid_t *grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(tids, cap * sizeof(*tids));
			if (!grown) {
				free(tids);
				closedir(dir);
				return -ENOMEM;
			}
			tids = grown;
		}
		tids[n++] = (pid_t)tid;
	}
	closedir(dir);
	*ret_tids = tids;
	*ret_n = n;
	return 0;
}

char injector__proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* The comm field may contain spaces and parentheses: the state follows the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

pid_t injector__tracer_pid(pid_t pid)
{
	char path[64], line[256];
	pid_t tracer = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	}
	fclose(f);
	return tracer;
}

int injector__find_vdso(pid_t pid, uint64_t *ret_start, uint64_t *ret_end)
{
	char path[64], line[512];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (!strstr(line, "[vdso]"))
			continue;
		if (sscanf(line, "%lx-%lx", &start, &end) == 2) {
			*ret_start = start;
			*ret_end = end;
			err = 0;
		}
		break;
	}
	fclose(f);
	return err;
}
