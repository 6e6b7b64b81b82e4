// SPDX-License-Identifier: MIT
/*
 * From what libbpf attached to what runs in a process: every uprobe and uretprobe the
 * runtime recorded (libbpf's perf_event_open + LINK_CREATE) becomes a probe in the target,
 * running its program JIT-compiled for that process.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/injector.h>
#include <bpfinject/runtime.h>

#include "cli_internal.h"

struct inject_ctx {
	struct cli_target *ct;
	struct bpfi_jit_opts opts;
	uint64_t helper_addrs[BPFI_HELPER_MAX];
	struct bpfi_log *log;
	int err;
	unsigned int probes;
	unsigned int skipped;
	unsigned int syscall_progs;
	char skip_reason[600];
};

bool cli__catch_all;

/* The program's code in the target, compiled and copied there on first use. */
static int prog_code(struct inject_ctx *c, uint32_t prog_id, uint64_t *ret_fn)
{
	struct cli_target *ct = c->ct;
	struct bpfi_jit_image *img = NULL;
	uint64_t fn;
	int err;

	for (unsigned int i = 0; i < ct->nr_progs; i++) {
		if (ct->progs[i].id == prog_id) {
			*ret_fn = ct->progs[i].fn;
			return 0;
		}
	}
	if (ct->nr_progs == CLI_MAX_PROGS)
		return bpfi_log_err(c->log, -E2BIG, "more than %d programs", CLI_MAX_PROGS);
	err = bpfi_runtime_prog_compile_for(prog_id, bpfi_target_arena_addr(ct->t), &c->opts, &img,
					    c->log);
	if (!err)
		err = bpfi_target_add_code(ct->t, bpfi_jit_image_code(img),
					   bpfi_jit_image_size(img), 0, &fn, c->log);
	if (!err)
		err = bpfi_target_set_prog(ct->t, prog_id, fn,
					   fn + bpfi_jit_image_tail_offset(img));
	bpfi_jit_image_free(img);
	if (err)
		return err;
	ct->progs[ct->nr_progs].id = prog_id;
	ct->progs[ct->nr_progs++].fn = fn;
	*ret_fn = fn;
	return 0;
}

/* A syscall tracepoint: its program runs at the rewritten syscall sites of the target. */
static int add_tracepoint(struct inject_ctx *c, const struct bpfi_runtime_attach *a)
{
	uint64_t fn;
	int err;

	err = prog_code(c, a->prog_id, &fn);
	if (!err)
		err = bpfi_target_add_syscall_event(c->ct->t, a->name, (uint32_t)a->config, fn,
						    c->log);
	if (err) {
		c->err = err;
		return 1;
	}
	c->syscall_progs++;
	c->probes++;
	return 0;
}

static int add_attach(const struct bpfi_runtime_attach *a, void *cookie)
{
	struct inject_ctx *c = cookie;
	pid_t pid = bpfi_target_pid(c->ct->t);
	uint64_t addr, func_off, func_size = 0, func, fn;
	int err;

	if (!a->enabled || (a->pid != -1 && a->pid != pid))
		return 0;
	if (a->perf_type == PERF_TYPE_TRACEPOINT)
		return add_tracepoint(c, a);
	if (!a->uprobe)
		return 0;
	/* Before anything is compiled into the target: a return probe that would kill it. */
	if (a->retprobe && !bpfi_elf_function_at(a->name, a->offset, &func_off, &func_size, NULL)) {
		/* Only at the first instruction is the return address where it replaces it. */
		if (a->offset != func_off)
			err = bpfi_log_err(c->log, -EINVAL,
					   "%s: offset 0x%llx is +%llu into its function: a return "
					   "probe goes on a function's first instruction",
					   a->name, (unsigned long long)a->offset,
					   (unsigned long long)(a->offset - func_off));
		else
			err = bpfi_retprobe_check(a->name, func_off, func_size, c->log);
		if (err) {
			c->err = err;
			return 1;
		}
	}
	err = prog_code(c, a->prog_id, &fn);
	if (err) {
		c->err = err;
		return 1;
	}
	/*
	 * A uprobe for every process (libbpf's pid -1) fires where its file is mapped, as in the
	 * kernel: a target without that file is skipped, and said so. With nothing left to attach
	 * in a target, the reason becomes the error.
	 */
	if (bpfi_proc_offset_to_addr(pid, a->name, a->offset, &addr, NULL)) {
		c->skipped++;
		if (!c->skip_reason[0])
			snprintf(c->skip_reason, sizeof(c->skip_reason),
				 "process %d has not mapped %s", pid, a->name);
		return 0;
	}
	/*
	 * The function around the offset: the injector decodes it from its start to check that
	 * the offset starts an instruction. An offset no symbol accounts for cannot be checked.
	 */
	if (bpfi_elf_function_at(a->name, a->offset, &func_off, &func_size, NULL)) {
		c->err = bpfi_log_err(c->log, -EINVAL,
				      "%s: offset 0x%llx is in no function its symbols describe: "
				      "cannot check that it starts an instruction",
				      a->name, (unsigned long long)a->offset);
		return 1;
	}
	func = addr - (a->offset - func_off);
	err = bpfi_target_add_probe(c->ct->t, addr, func, func_size, a->retprobe, fn, c->log);
	if (err) {
		c->err = err;
		return 1;
	}
	c->probes++;
	return 0;
}

/* The next loaded program's id after @id, asked of the runtime itself (no libbpf: the shim
 * carries this file too). */
static bool next_prog_id(uint32_t id, uint32_t *ret_id)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.start_id = id;
	if (bpfi_runtime_bpf(BPF_PROG_GET_NEXT_ID, &attr, sizeof(attr)))
		return false;
	*ret_id = attr.next_id;
	return true;
}

/* Every loaded program, so that tail calls find their targets compiled there too. */
static int add_all_progs(struct inject_ctx *c)
{
	uint32_t id = 0;
	uint64_t fn;

	while (next_prog_id(id, &id)) {
		/* Programs our JIT cannot take stay out; only a tail call to them would fail. */
		if (prog_code(c, id, &fn) == -ENOMEM)
			return -ENOMEM;
	}
	return 0;
}

/* Executable file mappings of @pid: a new one is a library loaded since (dlopen). */
static unsigned int count_modules(pid_t pid)
{
	char path[64], line[1024];
	unsigned int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char perms[8] = "";

		if (sscanf(line, "%*s %7s", perms) == 1 && perms[2] == 'x' && strchr(line, '/'))
			n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* "bpfinject: process N: 523 of 526 syscall sites in libc.so.6 rewritten; 3 not: ..." */
static void report_syscall_sites(const struct cli_target *ct)
{
	const struct bpfi_syscall_module *mods;
	size_t n = bpfi_target_syscall_report(ct->t, &mods);

	for (size_t i = 0; i < n; i++) {
		const struct bpfi_syscall_module *m = &mods[i];
		const char *base = strrchr(m->path, '/');

		if (!m->found)
			continue;
		fprintf(stderr, "bpfinject: process %d: %u of %u syscall sites in %s rewritten",
			ct->pid, m->rewritten, m->found, base ? base + 1 : m->path);
		for (unsigned int w = 0; w < m->nr_why; w++)
			fprintf(stderr, "%s %u %s", w ? ";" : "; not:", m->why[w].count,
				m->why[w].reason);
		fputc('\n', stderr);
	}
}

int cli__inject(struct cli_target *ct, pid_t pid, struct bpfi_injector *spawned,
		struct bpfi_log *log)
{
	struct bpfi_target_opts o = {
		.sz = sizeof(o),
		.arena_fd = bpfi_arena_fd(bpfi_runtime_arena()),
		.inj = spawned,
	};
	struct inject_ctx c = { .ct = ct, .log = log };
	int err;

	memset(ct, 0, sizeof(*ct));
	ct->pid = pid;
	ct->spawned = spawned != NULL;
	err = bpfi_target_open(pid, &o, &ct->t, log);
	if (err)
		return err;
	bpfi_target_jit_opts(ct->t, &c.opts, c.helper_addrs);
	err = add_all_progs(&c);
	if (!err) {
		bpfi_runtime_foreach_attach(add_attach, &c);
		err = c.err;
	}
	if (!err && !c.probes && c.skipped)
		err = bpfi_log_err(log, -ENOENT, "%s", c.skip_reason);
	else if (!err && !c.probes)
		err = bpfi_log_err(log, -ENOENT, "no uprobe or uretprobe to attach in process %d",
				   pid);
	else if (!err && c.skipped)
		cli__warn("attach", "%s: %u probe%s not attached there", c.skip_reason, c.skipped,
			  c.skipped == 1 ? "" : "s");
	if (!err && !c.syscall_progs && cli__catch_all)
		err = bpfi_log_err(log, -EINVAL,
				   "--catch-all: the object has no syscall tracepoint program");
	else if (!err && c.syscall_progs && cli__catch_all)
		err = bpfi_target_catch_all(ct->t, log);
	if (!err && c.syscall_progs)
		err = bpfi_target_plan_syscalls(ct->t, log);
	if (!err)
		err = bpfi_target_commit(ct->t, log);
	if (!err && c.syscall_progs)
		report_syscall_sites(ct);
	if (err) {
		bpfi_target_close(ct->t); /* a spawned command is killed by the caller */
		ct->t = NULL;
		return err;
	}
	ct->probes = c.probes;
	ct->syscalls = c.syscall_progs != 0;
	ct->nr_modules = count_modules(pid);
	return 0;
}

int cli__cover_new_modules(struct cli_target *ct)
{
	char buf[512] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	unsigned int n;
	int err;

	if (!ct->t || !ct->syscalls || (n = count_modules(ct->pid)) == ct->nr_modules)
		return 0;
	ct->nr_modules = n;
	err = bpfi_target_plan_syscalls(ct->t, &log);
	if (!err)
		err = bpfi_target_commit(ct->t, &log);
	if (err) {
		buf[strcspn(buf, "\n")] = '\0';
		cli__warn("dlopen", "process %d: new module not covered: %s", ct->pid, buf);
		return err;
	}
	report_syscall_sites(ct);
	return 0;
}

int cli__detach(struct cli_target *ct, bool persist, struct bpfi_log *log)
{
	int err = 0;

	if (!ct->t)
		return 0;
	if (ct->syscalls && cli__catch_all && (!ct->followed || ct->spawned)) {
		unsigned long long n = bpfi_target_catch_all_caught(ct->t);

		fprintf(stderr,
			"bpfinject: process %d: %llu system call%s came through the catch-all\n",
			ct->pid, n, n == 1 ? "" : "s");
	}
	if (persist)
		bpfi_target_set_owner(ct->t, 0);
	else
		err = bpfi_target_restore(ct->t, log);
	bpfi_target_close(ct->t);
	ct->t = NULL;
	return err;
}
