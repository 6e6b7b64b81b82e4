// SPDX-License-Identifier: MIT
/*
 * bpfi_verifier_check(): the pipeline entry, shaped like the kernel's bpf_check(). Set up the
 * environment, run the passes in order, unwind once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/helpers.h>
#include <bpfinject/target.h>
#include <bpfinject/verifier.h>

#include "common/compiler.h"
#include "verifier_internal.h"

int verifier__reject(const struct bpfi_verifier_env *env, int err, uint32_t insn, const char *fmt,
		     ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return bpfi_log_err(env->log, err, "insn %u: %s", insn, what);
}

void verifier__trace(const struct bpfi_verifier_env *env, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!env->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	bpfi_log_printf(env->log, "%s", line);
}

unsigned int verifier__test_weaken;

static uint8_t region_of(uint8_t type)
{
	switch (type) {
	case VREG_PTR_TO_STACK:
		return BPFI_REGION_STACK;
	case VREG_PTR_TO_CTX:
		return BPFI_REGION_CTX;
	case VREG_PTR_TO_MAP_VALUE:
	case VREG_PTR_TO_MAP_VALUE_OR_NULL:
		return BPFI_REGION_MAP_VALUE;
	case VREG_PTR_TO_MEM:
	case VREG_PTR_TO_MEM_OR_NULL:
		return BPFI_REGION_MEM;
	default:
		return 0;
	}
}

void verifier__note_mem(const struct bpfi_verifier_env *env, uint32_t i, uint8_t type)
{
	if (env->facts)
		env->facts[i].mem |= region_of(type);
}

void verifier__note_arg(const struct bpfi_verifier_env *env, uint32_t i, uint32_t regno,
			uint8_t type, uint64_t size, bool write)
{
	struct bpfi_verifier_fact *f = env->facts ? &env->facts[i] : NULL;

	if (!f || regno < 1 || regno > 5)
		return;
	f->arg[regno - 1] |= region_of(type);
	f->arg_write |= write ? 1u << (regno - 1) : 0;
	if (size > f->arg_size[regno - 1])
		f->arg_size[regno - 1] = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
}

void verifier__note_ret(const struct bpfi_verifier_env *env, uint32_t i, const struct vreg *r)
{
	struct bpfi_verifier_fact *f = env->facts ? &env->facts[i] : NULL;
	uint8_t region = region_of(r->type);
	uint32_t size;

	if (!f || !region || region == BPFI_REGION_STACK || region == BPFI_REGION_CTX)
		return;
	size = region == BPFI_REGION_MEM ? r->mem_size : r->map->value_size;
	if (!f->ret || size < f->ret_size)
		f->ret_size = size;
	f->ret |= region;
	f->ret_off = (uint32_t)r->omin;
}

/* Context sizes by program type (the kernel's *_is_valid_access bounds). */
uint32_t bpfi_verifier_ctx_size(uint32_t prog_type)
{
	switch (prog_type) {
	case BPF_PROG_TYPE_KPROBE:
		return 168; /* x86-64 struct pt_regs */
	case BPF_PROG_TYPE_PERF_EVENT:
		return 168 + 16; /* struct bpf_perf_event_data */
	case BPF_PROG_TYPE_TRACEPOINT:
		return BPFI_TP_CTX_SIZE; /* PERF_MAX_TRACE_SIZE: the record is known at attach */
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return 12 * 8; /* u64 args[MAX_BPF_FUNC_ARGS] */
	case BPF_PROG_TYPE_SOCKET_FILTER:
		return sizeof(struct __sk_buff);
	default:
		return 0;
	}
}

static bool default_helper_known(int32_t id, void *cookie)
{
	(void)cookie;
	return bpfi_helper_is_known(id) != 0;
}

/* Copies the options the caller's struct has (opts->sz), defaulting the rest. */
static int init_env(struct bpfi_verifier_env *env, const struct bpf_insn *insns, uint32_t insn_cnt,
		    const struct bpfi_verifier_opts *opts, struct bpfi_log *log)
{
	struct bpfi_verifier_opts o = { 0 };

	if (opts) {
		if (opts->sz < offsetof(struct bpfi_verifier_opts, prog_type))
			return bpfi_log_err(log, -EINVAL, "insn 0: bad verifier opts size %zu",
					    opts->sz);
		memcpy(&o, opts, BPFI_MIN(opts->sz, sizeof(o)));
	}
	env->insns = insns;
	env->insn_cnt = insn_cnt;
	env->prog_type = o.prog_type;
	env->ctx_size = o.ctx_size ? o.ctx_size : bpfi_verifier_ctx_size(o.prog_type);
	env->map_by_fd = o.map_by_fd;
	env->helper_known = o.helper_known ? o.helper_known : default_helper_known;
	env->cookie = o.cookie;
	env->insn_live = o.insn_live;
	env->facts = o.facts;
	if (env->facts)
		memset(env->facts, 0, (size_t)insn_cnt * sizeof(*env->facts));
	env->strict_stack = o.strict_stack;
	env->log = log;
	env->trace = log && log->level >= BPFI_LOG_TRACE;
	env->aux = calloc(insn_cnt, sizeof(*env->aux));
	if (!env->aux)
		return bpfi_log_err(log, -ENOMEM, "insn 0: out of memory");
	env->explored = calloc(insn_cnt, sizeof(*env->explored));
	if (!env->explored)
		return bpfi_log_err(log, -ENOMEM, "insn 0: out of memory");
	return 0;
}

/* Which instructions some checked path executes (an ld_imm64 counts for both slots). */
static void report_live(const struct bpfi_verifier_env *env)
{
	uint32_t i;

	for (i = 0; i < env->insn_cnt; i++) {
		uint32_t at = (env->aux[i].flags & AUX_LDIMM_SECOND) ? i - 1 : i;

		env->insn_live[i] = (env->aux[at].flags & AUX_EXECUTED) != 0;
	}
}

int bpfi_verifier_check(const struct bpf_insn *insns, uint32_t insn_cnt,
			const struct bpfi_verifier_opts *opts, struct bpfi_log *log)
{
	struct bpfi_verifier_env env = { 0 };
	int err;

	if (!insns || !insn_cnt)
		return bpfi_log_err(log, -EINVAL, "insn 0: empty program");
	if (insn_cnt > BPFI_MAX_INSNS)
		return bpfi_log_err(log, -E2BIG, "insn %u: program of %u insns is too large",
				    BPFI_MAX_INSNS, insn_cnt);

	err = init_env(&env, insns, insn_cnt, opts, log);
	if (err)
		goto out;
	err = verifier__check_cfg(&env);
	if (err)
		goto out;
	err = verifier__compute_liveness(&env);
	if (err)
		goto out;
	err = verifier__do_check(&env);
	if (err)
		goto out;
	err = verifier__check_max_stack_depth(&env);
	if (err)
		goto out;
	if (env.insn_live)
		report_live(&env);
	if (env.trace)
		bpfi_log_printf(
			log, "processed %u insns (limit %u), stored states %u, peak pending %u\n",
			env.insn_processed, VERIFIER_MAX_PROCESSED, env.stored_states,
			env.max_pending);
out:
	states__free_all(&env);
	free(env.call_edges);
	free(env.explored);
	free(env.subprogs);
	free(env.aux);
	return err;
}
