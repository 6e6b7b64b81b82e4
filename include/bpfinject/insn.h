/* SPDX-License-Identifier: MIT */
/*
 * The eBPF instruction (RFC 9669) for hosted and freestanding code alike. Hosted code gets the
 * kernel's UAPI definitions; the stub, which may include no system header, gets the same
 * layout and names from here.
 */
#ifndef BPFINJECT_INSN_H
#define BPFINJECT_INSN_H

#include <stdint.h>

#if __STDC_HOSTED__
#include <linux/bpf.h>
/* cpu v4 names newer than Debian 12's UAPI headers (Linux 6.1). */
#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80
#endif
#else
struct bpf_insn {
	uint8_t code;
	uint8_t dst_reg : 4;
	uint8_t src_reg : 4;
	int16_t off;
	int32_t imm;
};

#define BPF_CLASS(code) ((code)&0x07)
#define BPF_LD		0x00
#define BPF_LDX		0x01
#define BPF_ST		0x02
#define BPF_STX		0x03
#define BPF_ALU		0x04
#define BPF_JMP		0x05
#define BPF_JMP32	0x06
#define BPF_ALU64	0x07

#define BPF_SIZE(code) ((code)&0x18)
#define BPF_W	       0x00
#define BPF_H	       0x08
#define BPF_B	       0x10
#define BPF_DW	       0x18

#define BPF_MODE(code) ((code)&0xe0)
#define BPF_IMM	       0x00
#define BPF_ABS	       0x20
#define BPF_IND	       0x40
#define BPF_MEM	       0x60
#define BPF_MEMSX      0x80
#define BPF_ATOMIC     0xc0

#define BPF_OP(code) ((code)&0xf0)
#define BPF_ADD	     0x00
#define BPF_SUB	     0x10
#define BPF_MUL	     0x20
#define BPF_DIV	     0x30
#define BPF_OR	     0x40
#define BPF_AND	     0x50
#define BPF_LSH	     0x60
#define BPF_RSH	     0x70
#define BPF_NEG	     0x80
#define BPF_MOD	     0x90
#define BPF_XOR	     0xa0
#define BPF_MOV	     0xb0
#define BPF_ARSH     0xc0
#define BPF_END	     0xd0

#define BPF_JA	 0x00
#define BPF_JEQ	 0x10
#define BPF_JGT	 0x20
#define BPF_JGE	 0x30
#define BPF_JSET 0x40
#define BPF_JNE	 0x50
#define BPF_JSGT 0x60
#define BPF_JSGE 0x70
#define BPF_CALL 0x80
#define BPF_EXIT 0x90
#define BPF_JLT	 0xa0
#define BPF_JLE	 0xb0
#define BPF_JSLT 0xc0
#define BPF_JSLE 0xd0

#define BPF_SRC(code) ((code)&0x08)
#define BPF_K	      0x00
#define BPF_X	      0x08
#define BPF_TO_LE     0x00
#define BPF_TO_BE     0x08
#define BPF_FROM_LE   BPF_TO_LE
#define BPF_FROM_BE   BPF_TO_BE

#define BPF_FETCH   0x01
#define BPF_XCHG    (0xe0 | BPF_FETCH)
#define BPF_CMPXCHG (0xf0 | BPF_FETCH)

#define BPF_PSEUDO_MAP_FD	 1
#define BPF_PSEUDO_MAP_VALUE	 2
#define BPF_PSEUDO_BTF_ID	 3
#define BPF_PSEUDO_FUNC		 4
#define BPF_PSEUDO_MAP_IDX	 5
#define BPF_PSEUDO_MAP_IDX_VALUE 6
#define BPF_PSEUDO_CALL		 1
#define BPF_PSEUDO_KFUNC_CALL	 2

#define MAX_BPF_REG 11
#endif

/* Registers by name, for readable tables. */
#define BPFI_REG_0  0
#define BPFI_REG_1  1
#define BPFI_REG_2  2
#define BPFI_REG_3  3
#define BPFI_REG_4  4
#define BPFI_REG_5  5
#define BPFI_REG_6  6
#define BPFI_REG_7  7
#define BPFI_REG_8  8
#define BPFI_REG_9  9
#define BPFI_REG_10 10

/* Size of one eBPF stack frame, as in the kernel (MAX_BPF_STACK). */
#define BPFI_STACK_SIZE 512
/* Deepest bpf-to-bpf call chain (the kernel's MAX_CALL_FRAMES). */
#define BPFI_MAX_CALL_FRAMES 8
/* Tail calls allowed in one run (the kernel's MAX_TAIL_CALL_CNT). */
#define BPFI_MAX_TAIL_CALLS 33
/* Largest program we accept: the kernel's BPF_COMPLEXITY_LIMIT_INSNS. */
#define BPFI_MAX_INSNS 1000000

/* An instruction is an ld_imm64 (two slots) when its code is BPF_LD|BPF_IMM|BPF_DW. */
static inline int bpfi_insn_is_ldimm64(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW);
}

#endif
