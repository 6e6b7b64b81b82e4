/* SPDX-License-Identifier: MIT */
/*
 * Shared state of the verifier passes: the environment built by bpfi_verifier_check(), the
 * abstract register and stack states of check.c, and the prototypes that cross files.
 */
#ifndef BPFINJECT_VERIFIER_INTERNAL_H
#define BPFINJECT_VERIFIER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <bpfinject/common.h>
#include <bpfinject/insn.h>
#include <bpfinject/verifier.h>

/*
 * Limits of the exploration (the kernel's values where it has one, so that a program the
 * kernel accepts is not refused for size here).
 */
/* Instructions simulated over all paths: the kernel's BPF_COMPLEXITY_LIMIT_INSNS. */
#define VERIFIER_MAX_PROCESSED 1000000
/* Branches waiting to be explored: the kernel's BPF_COMPLEXITY_LIMIT_JMP_SEQ. */
#define VERIFIER_MAX_PENDING 8192
/*
 * States kept for pruning. Each costs ~1-6 KiB; 32768 bounds the memory to well under 256 MiB
 * while the kernel's own programs (a few hundred prune points) never come close.
 */
#define VERIFIER_MAX_STORED_STATES 32768
/* States kept per instruction: past this, more rarely prune (the kernel evicts by misses). */
#define VERIFIER_MAX_STATES_PER_INSN 64
/* Acquired references (ringbuf records) held at once; the kernel has no fixed limit. */
#define VERIFIER_MAX_REFS 16
/* Largest variable offset added to a pointer: the kernel's BPF_MAX_VAR_OFF (1 << 29). */
#define VERIFIER_MAX_VAR_OFF (1LL << 29)

/* Abstract register types (kernel enum bpf_reg_type, the subset this stage tracks). */
enum vreg_type {
	VREG_NOT_INIT = 0,
	VREG_SCALAR,
	VREG_PTR_TO_CTX,
	VREG_PTR_TO_STACK,
	VREG_CONST_PTR_TO_MAP,
	VREG_PTR_TO_MAP_VALUE,
	VREG_PTR_TO_MAP_VALUE_OR_NULL,
	VREG_PTR_TO_MEM,
	VREG_PTR_TO_MEM_OR_NULL,
	VREG_PTR_TO_FUNC,
};

/*
 * One register. SCALAR: the unsigned range [umin, umax] (a known constant when equal).
 * Pointers: the byte offset range [omin, omax] from the object's start (the frame pointer
 * for PTR_TO_STACK). @id links copies of one maybe-NULL pointer so a NULL check on one
 * refines all; @ref_obj_id names the acquired reference (ringbuf record) it points into.
 */
struct vreg {
	uint8_t type;
	uint8_t frameno; /* PTR_TO_STACK: frame the pointer points into */
	uint32_t id; /* *_OR_NULL: NULL-check identity */
	uint32_t ref_obj_id;
	uint32_t mem_size; /* PTR_TO_MEM*: bytes; PTR_TO_FUNC: first insn of the subprogram */
	uint64_t umin, umax;
	int64_t omin, omax;
	const struct bpfi_verifier_map *map;
};

/* Stack byte kinds (kernel STACK_INVALID / STACK_MISC / STACK_SPILL, plus known bytes). */
enum vslot_type {
	VSLOT_INVALID = 0, /* never written on this path */
	VSLOT_MISC, /* written, value unknown */
	VSLOT_CONST, /* written with a known byte (in val[]) */
	VSLOT_SPILL, /* part of an 8-byte register spill (in spill) */
};

/* Eight bytes of stack, [-8 * (i + 1), -8 * i) for slot i. */
struct vslot {
	uint8_t type[8];
	uint8_t val[8];
	struct vreg spill;
};

static inline bool verifier__slot_has_spill(const struct vslot *s)
{
	int b;

	for (b = 0; b < 8; b++)
		if (s->type[b] == VSLOT_SPILL)
			return true;
	return false;
}

/* One call frame: its registers and the part of its stack touched so far. */
struct vframe {
	struct vreg regs[MAX_BPF_REG];
	uint32_t callsite; /* insn of the call that made this frame; unused for frame 0 */
	uint32_t subprog;
	bool is_callback; /* a bpf_loop callback: R0 goes nowhere, the caller gets a scalar */
	/*
	 * A callback's view of its callers at entry, widened until one more run of the callback
	 * changes nothing in their stacks (so it covers every iteration); owned by the frame.
	 */
	struct vstate *cb_entry;
	uint32_t nslots;
	struct vslot *slots;
};

struct vref {
	uint32_t id;
	uint32_t insn;
};

/*
 * A verifier state: the frames of one path. Stored copies (checkpoints) form a tree through
 * @parent; @live counts the paths still being explored below a checkpoint, which may prune
 * others only once it reaches 0 (every path below it was found safe).
 */
struct vstate {
	struct vframe *frames[BPFI_MAX_CALL_FRAMES];
	uint32_t curframe;
	uint32_t insn_idx;
	uint32_t nrefs;
	struct vref refs[VERIFIER_MAX_REFS];
	struct vstate *parent;
	uint32_t live;
};

/* Per-instruction facts found by cfg.c. */
enum {
	AUX_LDIMM_SECOND = 1 << 0, /* second slot of an ld_imm64 */
	AUX_PRUNE_POINT = 1 << 1, /* states are stored and compared here */
	AUX_SEEN = 1 << 2, /* reached by the CFG walk */
	AUX_EXECUTED = 1 << 3, /* executed on some path do_check followed */
};

struct insn_aux {
	uint8_t flags;
	uint16_t live_regs; /* registers read before written from here on (bit n: Rn) */
	uint32_t subprog;
	const struct bpfi_verifier_map *map; /* ld_imm64 of a map fd or map value */
};

struct subprog_info {
	uint32_t start;
	uint32_t end; /* one past the last insn */
	uint32_t stack_depth; /* deepest stack byte any path touched in it */
	uint32_t tail_call_insn; /* its first tail call on a checked path, if has_tail_call */
	bool has_tail_call;
};

struct state_list {
	struct vstate *st;
	struct state_list *next;
};

struct bpfi_verifier_env {
	const struct bpf_insn *insns;
	uint32_t insn_cnt;
	uint32_t prog_type;
	uint32_t ctx_size;
	const struct bpfi_verifier_map *(*map_by_fd)(int fd, void *cookie);
	bool (*helper_known)(int32_t id, void *cookie);
	void *cookie;
	uint8_t *insn_live;
	struct bpfi_verifier_fact *facts; /* optional output (opts->facts) */
	bool strict_stack;
	struct bpfi_log *log;
	bool trace;

	struct insn_aux *aux;
	struct subprog_info *subprogs;
	uint32_t subprog_cnt;

	/* do_check */
	struct vstate *cur;
	struct vstate **pending;
	uint32_t pending_len, pending_cap;
	struct state_list **explored;
	uint32_t stored_states;
	uint32_t insn_processed;
	uint32_t id_gen;
	uint32_t max_pending;
	uint8_t *call_edges; /* [caller * subprog_cnt + callee]: a call seen on a checked path */
};

static inline struct vframe *verifier__cur_frame(const struct bpfi_verifier_env *env)
{
	return env->cur->frames[env->cur->curframe];
}

static inline struct vreg *verifier__reg(const struct bpfi_verifier_env *env, uint32_t regno)
{
	return &verifier__cur_frame(env)->regs[regno];
}

/*
 * Facts for opts->facts (verifier.c): a memory access through a pointer of @type, a helper's
 * memory argument, the region a helper's r0 (or an ld_imm64) points into. No-ops without it.
 */
void verifier__note_mem(const struct bpfi_verifier_env *env, uint32_t i, uint8_t type);
void verifier__note_arg(const struct bpfi_verifier_env *env, uint32_t i, uint32_t regno,
			uint8_t type, uint64_t size, bool write);
void verifier__note_ret(const struct bpfi_verifier_env *env, uint32_t i, const struct vreg *r);

/*
 * Tests only (tests/test_verifier.c, the checked execution mode): checks to skip, so that a
 * test can show a checked run catches what a weakened check lets through. 0 otherwise.
 */
#define VERIFIER_WEAKEN_MAP_BOUND (1u << 0) /* the upper bound of map value accesses */
#define VERIFIER_WEAKEN_REG_INIT  (1u << 1) /* reads of never written registers */
extern unsigned int verifier__test_weaken;

/* Every read of a register goes through here: "R%d !read_ok" as the kernel says. */
int verifier__check_reg_read(const struct bpfi_verifier_env *env, uint32_t insn, uint32_t regno);

/*
 * The one log line of a rejection, "insn N: <what>", returning @err. Kernel wording where
 * tools match on it (bpftrace looks for "unknown func" / "invalid func").
 */
int verifier__reject(const struct bpfi_verifier_env *env, int err, uint32_t insn, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));
/* Trace output (only when the log level asks for it). */
void verifier__trace(const struct bpfi_verifier_env *env, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Register names for messages, kernel style ("scalar", "map_value_or_null", ...). */
const char *verifier__reg_type_str(uint8_t type);

/* cfg.c */
int verifier__check_cfg(struct bpfi_verifier_env *env);
/*
 * Successors of insn @i (0-2); a pseudo call or callback address also names its callee, else
 * @ret_callee is VERIFIER_NO_CALLEE (no insn index, however wrong, can be that: i + imm + 1
 * stays within 33 bits).
 */
#define VERIFIER_NO_CALLEE INT64_MIN
int verifier__insn_succs(const struct bpfi_verifier_env *env, uint32_t i, int64_t succ[2],
			 int64_t *ret_callee);
/* liveness.c */
int verifier__compute_liveness(struct bpfi_verifier_env *env);
/* check.c */
int verifier__do_check(struct bpfi_verifier_env *env);
/* check_mem.c */
int verifier__check_load(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn);
int verifier__check_store(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn);
int verifier__check_atomic(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn);
/* Memory a helper reads or writes: [R@regno, +@size) on the stack, a map value or a record. */
int verifier__check_helper_mem(struct bpfi_verifier_env *env, uint32_t i, uint32_t regno,
			       uint64_t size, bool write);
/* check_call.c */
int verifier__check_call(struct bpfi_verifier_env *env, uint32_t i, const struct bpf_insn *insn);
int verifier__check_exit(struct bpfi_verifier_env *env, uint32_t i, bool *ret_path_end);
/* stack_depth.c */
int verifier__check_max_stack_depth(struct bpfi_verifier_env *env);

/* bounds.c: pure value operations on scalar ranges (no env, no allocation) */
void bounds__set_const(struct vreg *r, uint64_t v);
void bounds__set_unknown(struct vreg *r);
bool bounds__is_const(const struct vreg *r);
uint64_t bounds__alu_const(uint8_t op, bool is64, uint64_t a, uint64_t b, int16_t off);
void bounds__alu(uint8_t op, bool is64, struct vreg *dst, const struct vreg *src, int16_t off);
int bounds__branch_taken(uint8_t op, bool is64, const struct vreg *a, const struct vreg *b);
void bounds__refine(uint8_t op, bool is64, bool taken, struct vreg *a, struct vreg *b);

/* states.c */
struct vstate *states__alloc(void);
void states__free(struct vstate *st);
int states__copy(struct vstate *dst, const struct vstate *src);
int states__grow_stack(struct vframe *f, uint32_t nslots);
int states__push(struct bpfi_verifier_env *env, uint32_t insn_idx, struct vstate **ret);
int states__pop(struct bpfi_verifier_env *env);
void states__path_done(struct bpfi_verifier_env *env);
int states__is_visited(struct bpfi_verifier_env *env, uint32_t insn_idx, bool *ret_prune);
void states__free_all(struct bpfi_verifier_env *env);
/* Stacks of frames [0, @nframes): does @old cover every value @cur may hold? */
bool states__stacks_cover(const struct vstate *old, const struct vstate *cur, uint32_t nframes);
/* Widens the stacks of frames [0, @nframes) of @into to also cover @other's. */
int states__join_stacks(struct vstate *into, const struct vstate *other, uint32_t nframes);
/* Replaces the stacks of frames [0, @nframes) of @dst by copies of @src's. */
int states__copy_stacks(struct vstate *dst, const struct vstate *src, uint32_t nframes);

/* helpers.c: prototypes of the helpers whose arguments are checked */
enum varg_type {
	VARG_DONTCARE = 0, /* not read */
	VARG_ANYTHING, /* any initialised value */
	VARG_CONST_MAP_PTR, /* a map from ld_imm64 */
	VARG_PTR_TO_MAP_KEY, /* initialised memory of the map's key_size */
	VARG_PTR_TO_MAP_VALUE,
	VARG_PTR_TO_MEM, /* readable memory, size in the next argument */
	VARG_PTR_TO_UNINIT_MEM, /* writable memory, size in the next argument */
	VARG_CONST_SIZE, /* bounded scalar > 0 */
	VARG_CONST_SIZE_OR_ZERO,
	VARG_CONST_ALLOC_SIZE, /* known constant (ringbuf_reserve) */
	VARG_PTR_TO_CTX,
	VARG_PTR_TO_ALLOC_MEM, /* an acquired ringbuf record; released by the call */
	VARG_PTR_TO_FUNC, /* a callback subprogram (bpf_loop) */
	VARG_PTR_TO_STACK_OR_NULL,
};

enum vret_type {
	VRET_INTEGER = 0,
	VRET_VOID,
	VRET_MAP_VALUE_OR_NULL,
	VRET_ALLOC_MEM_OR_NULL, /* acquires a reference */
};

struct helper_proto {
	const char *name;
	uint8_t ret;
	uint8_t args[5];
	uint32_t map_type; /* required type of the map argument, 0 for any */
};

/* NULL when the helper has no prototype here (its arguments are then not checked). */
const struct helper_proto *verifier__helper_proto(int32_t id);

/* Helper id of bpf_loop, whose callback is verified as a call. */
#define VERIFIER_FUNC_LOOP 181
/*
 * The most stack one JIT frame takes: BPFI_STACK_SIZE, 8 bytes of alignment, six saved
 * registers and the return address (jit/x86_64/jit.c plan_frame()).
 */
#define VERIFIER_JIT_FRAME_MAX (BPFI_STACK_SIZE + 8 + 6 * 8 + 8)
/* Helper id of bpf_tail_call. */
#define VERIFIER_FUNC_TAIL_CALL 12

#endif
