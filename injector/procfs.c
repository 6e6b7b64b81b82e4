// SPDX-License-Identifier: MIT
/* What /proc says about a target: its threads, its state, its tracer, where its vDSO is. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

/* One line of /proc/PID/maps. */
struct map_line {
	unsigned long start, end, pgoff, ino;
	unsigned int dev_major, dev_minor;
	char perms[8];
	char path[512];
};

static bool parse_map_line(const char *line, struct map_line *m)
{
	m->path[0] = '\0';
	return sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %511[^\n]", &m->start, &m->end, m->perms,
		      &m->pgoff, &m->dev_major, &m->dev_minor, &m->ino, m->path) >= 7;
}

/* libbpf's rule for a name without a slash: a mapped file whose base name starts with it. */
static bool module_matches(const char *mapped, const char *name)
{
	const char *base = strrchr(mapped, '/');

	if (mapped[0] != '/')
		return false;
	if (strchr(name, '/'))
		return strcmp(mapped, name) == 0;
	return base && strncmp(base + 1, name, strlen(name)) == 0;
}

int bpfi_proc_find_module(pid_t pid, const char *name, char *ret_path, size_t size,
			  struct bpfi_log *log)
{
	char path[64], line[1024];
	struct map_line m;
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return bpfi_log_err(log, -ESRCH, "process %d: no such process", pid);
	while (fgets(line, sizeof(line), f)) {
		if (!parse_map_line(line, &m) || !module_matches(m.path, name))
			continue;
		snprintf(ret_path, size, "%s", m.path);
		err = 0;
		break;
	}
	fclose(f);
	if (err)
		return bpfi_log_err(log, err, "process %d has not mapped '%s'", pid, name);
	return 0;
}

int bpfi_proc_offset_to_addr(pid_t pid, const char *file, uint64_t file_off, uint64_t *ret_addr,
			     struct bpfi_log *log)
{
	char path[64], line[1024];
	struct map_line m;
	int err = -ENOENT;
	struct stat st;
	FILE *f;

	/* The same file under another name (/lib vs /usr/lib, a symlink): compare inodes. */
	if (stat(file, &st))
		return bpfi_log_err(log, -errno, "%s: %s", file, strerror(errno));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return bpfi_log_err(log, -ESRCH, "process %d: no such process", pid);
	while (fgets(line, sizeof(line), f)) {
		if (!parse_map_line(line, &m) || m.perms[2] != 'x')
			continue;
		/* overlayfs may show another device in maps than stat gives: the name decides then. */
		if (strcmp(m.path, file) &&
		    (m.ino != st.st_ino || makedev(m.dev_major, m.dev_minor) != st.st_dev))
			continue;
		if (file_off >= m.pgoff && file_off < m.pgoff + (m.end - m.start)) {
			*ret_addr = m.start + (file_off - m.pgoff);
			err = 0;
			break;
		}
	}
	fclose(f);
	if (err)
		return bpfi_log_err(
			log, err, "process %d: offset 0x%llx of %s is not in an executable mapping",
			pid, (unsigned long long)file_off, file);
	return 0;
}

int injector__file_at(pid_t pid, uint64_t addr, char *ret_path, size_t size)
{
	char path[64], line[1024];
	struct map_line m;
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		if (parse_map_line(line, &m) && addr >= m.start && addr < m.end &&
		    m.path[0] == '/') {
			snprintf(ret_path, size, "%s", m.path);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}
