/* SPDX-License-Identifier: MIT */
/*
 * Running eBPF: the freestanding interpreter (also carried by the stub) and the x86-64 JIT,
 * whose output is position-independent bytes that can be copied into another process.
 * Both take programs whose ld_imm64 pseudo forms were already resolved to plain addresses.
 */
#ifndef BPFINJECT_JIT_H
#define BPFINJECT_JIT_H

#include <stddef.h>
#include <stdint.h>

#include <bpfinject/common.h>
#include <bpfinject/helpers.h>
#include <bpfinject/insn.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief **bpfi_interp_run()** runs @insns to its exit with r1 = @r1, r2 = @r2, r10 the top of
 * a fresh stack (BPFI_STACK_SIZE per frame) and every other register 0.
 * Freestanding. Trusts the program's memory accesses (the verifier's job) but never its
 * control flow: a jump or call out of range, an unknown opcode, a call deeper than
 * BPFI_MAX_CALL_FRAMES or an unknown helper stops the run with an error.
 * @param env helpers, tail-call targets; borrowed
 * @param ret_r0 r0 at exit
 * @return 0, -BPFI_EINVAL (bad instruction at run time), -BPFI_E2BIG (call depth)
 */
int bpfi_interp_run(const struct bpf_insn *insns, uint32_t insn_cnt, uint64_t r1, uint64_t r2,
		    const struct bpfi_env *env, uint64_t *ret_r0);

enum bpfi_jit_backend {
	BPFI_JIT_INTERP = 0,
	BPFI_JIT_X86_64 = 1,
	BPFI_JIT_LLVM = 2,
};

/**
 * struct bpfi_jit_opts - where the compiled code will run (libbpf-style opts with a size).
 * @env_addr:         address of the struct bpfi_env in the process that runs the code
 * @helper_addrs:     helper id -> address in that process, @nr_helpers entries (0: unknown)
 * @unwind_helper_id: conformance suite's "unwind" helper (stop with r0 = 0 when it returns 0),
 *                    -1 for none
 * @tail_call_addr:   address of bpfi_tail_call_target() in that process, 0: tail calls fail
 */
struct bpfi_jit_opts {
	size_t sz;
	uint64_t env_addr;
	const uint64_t *helper_addrs;
	uint32_t nr_helpers;
	int32_t unwind_helper_id;
	uint64_t tail_call_addr;
};
#define bpfi_jit_opts__last_field tail_call_addr

struct bpfi_jit_image;

/**
 * @brief **bpfi_jit_compile()** translates @insns to x86-64. The image is plain bytes: calls
 * to helpers use absolute addresses from @opts, everything else is PC-relative, so the bytes
 * run wherever they are copied.
 * @return 0, -EINVAL (malformed program), -ENOTSUP, -E2BIG, -ENOMEM; one line in @log
 */
int bpfi_jit_compile(const struct bpf_insn *insns, uint32_t insn_cnt,
		     const struct bpfi_jit_opts *opts, struct bpfi_jit_image **ret_image,
		     struct bpfi_log *log);

/** @brief **bpfi_jit_image_code()** the image's bytes, owned by the image. */
const void *bpfi_jit_image_code(const struct bpfi_jit_image *image);
/** @brief **bpfi_jit_image_size()** the number of bytes of code. */
size_t bpfi_jit_image_size(const struct bpfi_jit_image *image);
/**
 * @brief **bpfi_jit_image_tail_offset()** offset of the tail-call entry in the code. The ABI:
 * jump there with the stack as at a function entry (return address on top), rdi = ctx and
 * eax = the tail calls made so far in this run.
 */
size_t bpfi_jit_image_tail_offset(const struct bpfi_jit_image *image);

/**
 * @brief **bpfi_jit_image_load()** maps the image executable in this process (RW, copy, then
 * RX: never writable and executable at once). The mapping lives until the image is freed.
 * @return 0 and the entry point in @ret_fn, or a negative errno
 */
int bpfi_jit_image_load(struct bpfi_jit_image *image, bpfi_jit_fn *ret_fn, struct bpfi_log *log);

/** @brief **bpfi_jit_image_free()** frees the image and unmaps it if loaded. NULL is a no-op. */
void bpfi_jit_image_free(struct bpfi_jit_image *image);

#ifdef __cplusplus
}
#endif

#endif
