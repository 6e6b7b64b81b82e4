// SPDX-License-Identifier: MIT
/*
 * Programs compiled for another process of the session (DESIGN.md D2): the same checked and
 * relocated instructions as for this process, with every map address moved from our mapping
 * of the arena to the target's, then JIT'd against the target's helpers and env.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_internal.h"

static bool is_map_ld(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW) &&
	       (insn->src_reg == BPF_PSEUDO_MAP_FD || insn->src_reg == BPF_PSEUDO_MAP_VALUE);
}

/*
 * prog->xlated holds our addresses where prog->insns (the dump form) still says which
 * ld_imm64 loads a map: only those are rebased, so a constant that happens to look like an
 * arena address is left alone.
 */
static void rebase_maps(const struct rt_prog *prog, struct bpf_insn *out, uint64_t from,
			uint64_t to)
{
	for (uint32_t i = 0; i + 1 < prog->insn_cnt; i++) {
		uint64_t addr;

		if (!is_map_ld(&prog->insns[i]))
			continue;
		addr = (uint64_t)(uint32_t)out[i].imm | (uint64_t)(uint32_t)out[i + 1].imm << 32;
		addr = addr - from + to;
		out[i].imm = (int32_t)(uint32_t)addr;
		out[i + 1].imm = (int32_t)(uint32_t)(addr >> 32);
		i++;
	}
}

int bpfi_runtime_prog_compile_for(uint32_t prog_id, uint64_t arena_addr,
				  const struct bpfi_jit_opts *opts,
				  struct bpfi_jit_image **ret_image, struct bpfi_log *log)
{
	struct rt_obj *obj = runtime__obj_get_id(prog_id, RT_PROG);
	struct bpf_insn *insns;
	size_t bytes;
	int err;

	if (!obj)
		return bpfi_log_err(log, -ENOENT, "no program with id %u", prog_id);
	bytes = (size_t)obj->prog.insn_cnt * sizeof(*insns);
	insns = malloc(bytes);
	if (!insns) {
		runtime__obj_put(obj);
		return -ENOMEM;
	}
	memcpy(insns, obj->prog.xlated, bytes);
	rebase_maps(&obj->prog, insns, (uint64_t)(uintptr_t)bpfi_arena_base(runtime__rt.arena),
		    arena_addr);
	err = bpfi_jit_compile(insns, obj->prog.insn_cnt, opts, ret_image, log);
	free(insns);
	runtime__obj_put(obj);
	return err;
}

int bpfi_runtime_map_arena_off(int map_fd, uint64_t *ret_off)
{
	struct rt_obj *obj = runtime__obj_get_fd(map_fd, RT_MAP);

	if (!obj)
		return -EBADF;
	*ret_off = obj->map.hdr->self_off;
	runtime__obj_put(obj);
	return 0;
}
