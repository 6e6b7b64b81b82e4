// SPDX-License-Identifier: MIT
/*
 * Targets left behind with --persist: found again by the name of their target block's memfd
 * in /proc/PID/maps, listed, and taken back (`bpfinject detach -p PID`, `bpfinject list`).
 * The block records every site with its original bytes, so any bpfinject can restore them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "injector_internal.h"

#define BLOCK_NAME "/memfd:bpfinject-target"

/* The address range of @pid's target block, if it has one. */
static int find_block(pid_t pid, unsigned long *ret_start, unsigned long *ret_end)
{
	char path[64], line[1024];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, BLOCK_NAME))
			continue;
		if (sscanf(line, "%lx-%lx", ret_start, ret_end) == 2)
			err = 0;
		break;
	}
	fclose(f);
	return err;
}

int bpfi_target_find(pid_t pid, struct bpfi_target **ret_t, struct bpfi_log *log)
{
	unsigned long start, end;
	struct bpfi_target *t;
	char path[96];
	void *block;
	int err, fd;

	err = find_block(pid, &start, &end);
	if (err == -ESRCH)
		return bpfi_log_err(log, err, "process %d: no such process", pid);
	if (err)
		return bpfi_log_err(log, err, "process %d carries no bpfinject programs", pid);
	if (end - start < sizeof(struct bpfi_target_hdr))
		return bpfi_log_err(log, -EINVAL,
				    "process %d carries a block of another bpfinject version", pid);
	/* map_files gives the memfd itself, so the host maps the very same block. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, start, end);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return bpfi_log_err(log, -errno, "%s: %s", path, strerror(errno));
	block = mmap(NULL, sizeof(struct bpfi_target_hdr), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     0);
	if (block == MAP_FAILED) {
		err = -errno;
		close(fd);
		return bpfi_log_err(log, err, "mapping the target block of %d: %s", pid,
				    strerror(-err));
	}
	t = calloc(1, sizeof(*t));
	if (t)
		t->sites = calloc(BPFI_MAX_SITES, sizeof(*t->sites));
	/* Another version's block may be laid out otherwise (or be shorter than ours). */
	if (!t || !t->sites || ((struct bpfi_target_hdr *)block)->magic != BPFI_TARGET_MAGIC ||
	    ((struct bpfi_target_hdr *)block)->version != BPFI_TARGET_VERSION ||
	    ((struct bpfi_target_hdr *)block)->self != start) {
		err = t && t->sites
			      ? bpfi_log_err(log, -EINVAL, "process %d: not a bpfinject block", pid)
			      : -ENOMEM;
		if (t)
			free(t->sites);
		free(t);
		munmap(block, sizeof(struct bpfi_target_hdr));
		close(fd);
		return err;
	}
	t->pid = pid;
	t->block_fd = fd;
	t->block = block;
	t->block_addr = start;
	t->stub = t->block->stub;
	t->arena = (uint64_t)(uintptr_t)t->block->env.arena;
	for (uint32_t i = 0; i < atomic_load(&t->block->nr_sites) && i < BPFI_MAX_SITES; i++) {
		struct bpfi_site *s = &t->block->sites[i];
		struct pending_site *ps = &t->sites[t->nr_sites++];

		ps->site = s;
		ps->addr = s->addr;
		ps->patch_len = s->patch_len;
		ps->patched = s->patched;
		memcpy(ps->orig, s->orig, BPFI_PATCH_LEN);
		memcpy(ps->jmp, s->jump, BPFI_PATCH_LEN);
	}
	*ret_t = t;
	return 0;
}

void bpfi_target_set_owner(struct bpfi_target *t, pid_t owner)
{
	t->block->owner = (uint64_t)owner;
}

void bpfi_target_add_map(struct bpfi_target *t, const char *name, uint32_t type, uint32_t id,
			 uint64_t arena_off)
{
	struct bpfi_target_map *m;

	if (t->block->nr_maps >= BPFI_TARGET_MAX_MAPS)
		return;
	m = &t->block->maps[t->block->nr_maps++];
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->type = type;
	m->id = id;
	m->arena_off = arena_off;
}

pid_t bpfi_target_pid(const struct bpfi_target *t)
{
	return t->pid;
}

int bpfi_target_list(void (*fn)(pid_t pid, const struct bpfi_target_hdr *block, void *cookie),
		     void *cookie)
{
	struct bpfi_target_hdr *block = malloc(sizeof(*block));
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (!block)
		return -ENOMEM;
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		unsigned long start, end;
		char path[64];
		int fd;

		if (pid <= 0 || find_block(pid, &start, &end))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (pread(fd, block, sizeof(*block), (off_t)start) == (ssize_t)sizeof(*block) &&
		    block->magic == BPFI_TARGET_MAGIC && block->version == BPFI_TARGET_VERSION) {
			fn(pid, block, cookie);
			n++;
		}
		close(fd);
	}
	if (d)
		closedir(d);
	free(block);
	return n;
}
