/* SPDX-License-Identifier: MIT */
/* Helpers of test_runtime: the test objects, libbpf loading, PROG_TEST_RUN, globals. */
#ifndef BPFI_TESTS_RUNTIME_UTIL_H
#define BPFI_TESTS_RUNTIME_UTIL_H

#include <bpf/libbpf.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/jit.h>

#define PT_REGS_DI_SLOT 14 /* struct pt_regs: di at byte 112 */
#define PT_REGS_SLOTS	21 /* 168 bytes */
#define KERNEL_ENOTSUPP 524

/* Raw instructions, for the feature probes and hand-written programs. */
#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV0	INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0)
#define EXIT	INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define CALL(n) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, n)

/*
 * What bpftool gen skeleton would emit for rt_basic.bpf.o (.rodata, .data, .bss and
 * count_arg), written by hand: the flow libbpf-tools use.
 */
struct hand_skel {
	struct bpf_object *obj;
	struct bpf_map *rodata, *data, *bss;
	struct bpf_program *count_arg;
	struct bpf_link *link;
	char *rodata_p, *data_p, *bss_p;
	struct bpf_object_skeleton *s;
	void *elf;
};

const char *obj_path(const char *name);
void rt_start(enum bpfi_jit_backend backend);
struct bpf_object *load_obj(const char *name);
int prog_fd(struct bpf_object *obj, const char *name);
int map_fd(struct bpf_object *obj, const char *name);
void *remap_global(struct bpf_object *obj, const char *name);
void *byte_off(void *base, size_t off);
size_t datasec_var_off(struct bpf_object *obj, const char *sec, const char *var);
int run_kprobe(int fd, uint64_t arg, uint32_t repeat, uint32_t *ret_duration);
int run_args(int fd, const uint64_t *args, uint32_t nr);
void hand_skel_open(struct hand_skel *k);

#endif
