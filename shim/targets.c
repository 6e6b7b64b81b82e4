// SPDX-License-Identifier: MIT
/*
 * The processes an unmodified tool's probes run in (BPFINJECT_PIDS): injected with what the
 * tool attached through the runtime — by the same code as the bpfinject command's
 * (cli/inject.c) — whenever the tool waits and its attachments have changed, and put back
 * when it exits. Messages go to the tool's stderr, one line each, "bpfinject-shim: ...".
 */
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/injector.h>
#include <bpfinject/runtime.h>

#include "../cli/cli_internal.h"
#include "shim_internal.h"

#define MAX_TARGETS 64

static struct {
	bool on;
	bool busy; /* inside a sync: the injector's own waits must not start another */
	pid_t pids[MAX_TARGETS];
	unsigned int nr;
	struct cli_target cts[MAX_TARGETS];
	uint64_t signature; /* of the attachments the targets carry */
} shim;

/* cli/inject.c reports through this, as in the command. */
void cli__warn(const char *thing, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bpfinject-shim: warning: %s: ", thing);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void shim__start(void)
{
	const char *env = getenv("BPFINJECT_PIDS");
	char *end;

	if (!env || !*env)
		return;
	cli__catch_all = getenv("BPFINJECT_CATCH_ALL") != NULL; /* as --catch-all does */
	for (const char *p = env; *p && shim.nr < MAX_TARGETS; p = end + (*end == ',')) {
		long pid = strtol(p, &end, 10);

		if (end == p || pid <= 0 || (*end && *end != ',')) {
			fprintf(stderr,
				"bpfinject-shim: BPFINJECT_PIDS: '%s' is not a list of pids\n",
				env);
			exit(2);
		}
		shim.pids[shim.nr++] = (pid_t)pid;
	}
}

/*
 * The runtime comes up with the tool's first bpf(2) or perf_event_open(2), not at load: a
 * process that inherits the preload and never asks (a shell the tool runs) pays nothing.
 */
bool shim__runtime(void)
{
	struct bpfi_runtime_opts o = { .sz = sizeof(o), .backend = BPFI_JIT_X86_64 };
	char buf[CLI_REASON_MAX] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	const char *verify = getenv("BPFINJECT_VERIFY");

	if (shim.on || !shim.nr)
		return shim.on;
	if (verify && !strcmp(verify, "kernel"))
		o.verify = BPFI_VERIFY_KERNEL;
	else if (verify && !strcmp(verify, "both"))
		o.verify = BPFI_VERIFY_BOTH;
	if (bpfi_runtime_init(&o, &log)) {
		buf[strcspn(buf, "\n")] = '\0';
		fprintf(stderr, "bpfinject-shim: %s\n", buf);
		exit(2);
	}
	shim.on = true;
	return true;
}

struct signature {
	uint64_t hash;
	unsigned int enabled;
};

static int sign_one(const struct bpfi_runtime_attach *a, void *cookie)
{
	struct signature *sig = cookie;

	if (a->enabled) {
		sig->hash =
			(sig->hash ^ ((uint64_t)a->perf_id << 32 | a->prog_id)) * 0x100000001b3ull;
		sig->enabled++;
	}
	return 0;
}

void shim__sync(void)
{
	struct signature sig = { .hash = 0xcbf29ce484222325ull };

	if (!shim.on || shim.busy)
		return;
	bpfi_runtime_foreach_attach(sign_one, &sig);
	if (sig.hash == shim.signature)
		return;
	shim.busy = true;
	for (unsigned int i = 0; i < shim.nr; i++) {
		struct cli_target *ct = &shim.cts[i];
		char buf[CLI_REASON_MAX] = "";
		struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

		if (ct->t)
			cli__detach(ct, false, NULL); /* the new set replaces the old one */
		if (!sig.enabled)
			continue; /* the tool took everything out (it is ending) */
		if (cli__inject(ct, shim.pids[i], NULL, &log)) {
			buf[strcspn(buf, "\n")] = '\0';
			fprintf(stderr, "bpfinject-shim: process %d: %s\n", shim.pids[i], buf);
			ct->t = NULL;
			continue;
		}
		fprintf(stderr, "bpfinject-shim: attached %u probe%s to process %d\n", ct->probes,
			ct->probes == 1 ? "" : "s", shim.pids[i]);
	}
	shim.signature = sig.hash;
	shim.busy = false;
}

void shim__stop(void)
{
	/*
	 * Busy from here: the restore's own waits (nanosleep, poll) come through our interposers,
	 * and a sync started from them would detach the very targets being detached. An exit in
	 * the middle of a sync leaves them as they are (`bpfinject list` shows them, `detach`
	 * removes them) rather than undo half-done work.
	 */
	if (!shim.on || shim.busy)
		return;
	shim.busy = true;
	for (unsigned int i = 0; i < shim.nr; i++) {
		char buf[CLI_REASON_MAX] = "";
		struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

		if (!shim.cts[i].t)
			continue;
		if (cli__detach(&shim.cts[i], false, &log)) {
			buf[strcspn(buf, "\n")] = '\0';
			fprintf(stderr, "bpfinject-shim: process %d: %s\n", shim.pids[i], buf);
		}
	}
	shim.on = false;
}

/*
 * "CATEGORY/EVENT" of a path ".../events/CATEGORY/EVENT/@file" under tracefs or debugfs, when
 * it names a syscall event of the built-in table. @ret_sc: NULL for raw_syscalls.
 */
static bool syscall_event_of(const char *path, const char *file, char *event, size_t size,
			     const struct bpfi_syscall **ret_sc)
{
	static const char *const roots[] = { "/sys/kernel/tracing/events/",
					     "/sys/kernel/debug/tracing/events/" };
	size_t len, flen = strlen(file);
	const char *rest = NULL;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]) && !rest; i++) {
		if (!strncmp(path, roots[i], strlen(roots[i])))
			rest = path + strlen(roots[i]);
	}
	len = rest ? strlen(rest) : 0;
	if (!rest || len <= flen + 1 || len - flen - 1 >= size || strcmp(rest + len - flen, file) ||
	    rest[len - flen - 1] != '/')
		return false;
	memcpy(event, rest, len - flen - 1);
	event[len - flen - 1] = '\0';
	*ret_sc = NULL;
	if (!strcmp(event, "raw_syscalls/sys_enter") || !strcmp(event, "raw_syscalls/sys_exit"))
		return true;
	return !strncmp(event, "syscalls/", 9) && !bpfi_syscall_by_name(event + 9, ret_sc, NULL);
}

bool shim__tracepoint_exists(const char *path)
{
	const struct bpfi_syscall *sc;
	char event[128];

	return syscall_event_of(path, "format", event, sizeof(event), &sc) ||
	       syscall_event_of(path, "id", event, sizeof(event), &sc);
}

/* ".../events/CATEGORY/EVENT/id" of tracefs or debugfs: the built-in id of a syscall event. */
bool shim__tracepoint_id_text(const char *path, char *text, size_t size)
{
	const struct bpfi_syscall *sc;
	struct bpfi_syscall_ids ids;
	char event[128];

	if (!syscall_event_of(path, "id", event, sizeof(event), &sc))
		return false;
	if (!sc) {
		bpfi_syscall_live_ids(NULL, NULL, &ids, NULL);
		snprintf(text, size, "%u\n", strstr(event, "exit") ? ids.exit : ids.enter);
		return true;
	}
	if (bpfi_syscall_live_ids(sc, NULL, &ids, NULL))
		return false;
	snprintf(text, size, "%u\n", !strncmp(event + 9, "sys_exit_", 9) ? ids.exit : ids.enter);
	return true;
}
