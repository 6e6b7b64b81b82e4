// SPDX-License-Identifier: MIT
/*
 * The x86-64 syscall event table (DESIGN.md D5, D9): numbers, names, tracefs event ids and
 * sys_enter layouts, built in (syscall_table_data.h, generated from tracefs) so that syscall
 * tracepoints work where tracefs is not readable, and checked against tracefs where it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "injector_internal.h"
#include "syscall_table_data.h"

#define TABLE_LEN (sizeof(syscall_table) / sizeof(syscall_table[0]))

size_t bpfi_syscall_table(const struct bpfi_syscall **ret_table)
{
	*ret_table = syscall_table;
	return TABLE_LEN;
}

/* "syscalls/sys_enter_X", "sys_exit_X" and "X" all name X. */
static const char *strip_event_prefix(const char *name)
{
	static const char *const prefixes[] = { "syscalls/", "sys_enter_", "sys_exit_" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (!strncmp(name, prefixes[i], n))
			name += n;
	}
	return name;
}

int bpfi_syscall_by_name(const char *name, const struct bpfi_syscall **ret, struct bpfi_log *log)
{
	const char *bare = strip_event_prefix(name);

	for (size_t i = 0; i < TABLE_LEN; i++) {
		const struct bpfi_syscall *sc = &syscall_table[i];

		if (!strcmp(sc->name, bare) || (sc->event && !strcmp(sc->event, bare))) {
			*ret = sc;
			return 0;
		}
	}
	return bpfi_log_err(log, -ENOENT, "no syscall named '%s'", name);
}

int bpfi_syscall_by_nr(long nr, const struct bpfi_syscall **ret, struct bpfi_log *log)
{
	size_t lo = 0, hi = TABLE_LEN;

	/* The table is sorted by number (the generator sorts it). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (syscall_table[mid].nr == nr) {
			*ret = &syscall_table[mid];
			return 0;
		}
		if (syscall_table[mid].nr < nr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return bpfi_log_err(log, -ENOENT, "no syscall number %ld on x86-64", nr);
}

int bpfi_syscall_by_event_id(uint32_t id, const struct bpfi_syscall **ret, bool *ret_exit,
			     struct bpfi_log *log)
{
	for (size_t i = 0; id && i < TABLE_LEN; i++) {
		if (syscall_table[i].enter_id == id || syscall_table[i].exit_id == id) {
			*ret = &syscall_table[i];
			*ret_exit = syscall_table[i].exit_id == id;
			return 0;
		}
	}
	return bpfi_log_err(log, -ENOENT, "no syscall event with id %u (table from Linux %s)", id,
			    TABLE_KERNEL);
}

void bpfi_syscall_raw_ids(uint32_t *ret_enter, uint32_t *ret_exit)
{
	*ret_enter = RAW_ENTER_ID;
	*ret_exit = RAW_EXIT_ID;
}

/* The number in DIR/events/EVENT/id, or 0 when it cannot be read. */
static uint32_t read_event_id(const char *dir, const char *event)
{
	char path[512], buf[32];
	unsigned long id;
	ssize_t n;
	char *end;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/events/%s/id", dir, event) >= sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	id = strtoul(buf, &end, 10);
	return (end != buf && id <= UINT32_MAX) ? (uint32_t)id : 0;
}

/* Reads both ids from one tracefs mount. @return true when both were readable. */
static bool read_live(const char *dir, const char *enter, const char *exit,
		      struct bpfi_syscall_ids *ret)
{
	uint32_t e = read_event_id(dir, enter), x = read_event_id(dir, exit);

	if (!e || !x)
		return false;
	*ret = (struct bpfi_syscall_ids){ .enter = e, .exit = x, .live = true };
	return true;
}

int bpfi_syscall_live_ids(const struct bpfi_syscall *sc, const char *tracefs,
			  struct bpfi_syscall_ids *ret, struct bpfi_log *log)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char enter[96], exit[96];

	if (sc && !sc->event)
		return bpfi_log_err(log, -ENOENT, "syscall '%s' has no tracepoint on this kernel",
				    sc->name);
	if (sc) {
		snprintf(enter, sizeof(enter), "syscalls/sys_enter_%s", sc->event);
		snprintf(exit, sizeof(exit), "syscalls/sys_exit_%s", sc->event);
		*ret = (struct bpfi_syscall_ids){ .enter = sc->enter_id, .exit = sc->exit_id };
	} else {
		snprintf(enter, sizeof(enter), "raw_syscalls/sys_enter");
		snprintf(exit, sizeof(exit), "raw_syscalls/sys_exit");
		*ret = (struct bpfi_syscall_ids){ .enter = RAW_ENTER_ID, .exit = RAW_EXIT_ID };
	}
	if (tracefs) {
		read_live(tracefs, enter, exit, ret);
		return 0;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (read_live(dirs[i], enter, exit, ret))
			break;
	}
	return 0;
}
