// SPDX-License-Identifier: MIT
/*
 * eBPF disassembler for `bpfinject dump -d`: the whole ISA of RFC 9669 (cpu v1-v4) in the
 * C-like syntax of llvm-objdump and bpftool, e.g. `r0 = *(u32 *)(r1 + 8)`, with helper
 * names and the maps that ld_imm64 instructions refer to.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpfinject/helpers.h>

#include "cli_internal.h"

/* A bounded string builder: output is cut, never overflowed. */
struct sbuf {
	char *buf;
	size_t size, len;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...) _printf_(2, 3);
static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->len >= sb->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->len += (size_t)n;
}

static const char *const size_names[] = { "u32", "u16", "u8", "u64" };
static const char *const ssize_names[] = { "s32", "s16", "s8", "s64" };

/* Indexed by BPF_OP() >> 4; NULL where the op is not a plain compound assignment. */
static const char *const alu_ops[16] = {
	"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", NULL, "%=", "^=", "=", "s>>=",
};

static const char *const jmp_ops[16] = {
	NULL, "==", ">", ">=", "&", "!=", "s>", "s>=", NULL, NULL, "<", "<=", "s<", "s<=",
};

static char reg_prefix(bool is64)
{
	return is64 ? 'r' : 'w';
}

static void disasm_alu(struct sbuf *sb, const struct bpf_insn *insn)
{
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;
	unsigned op = BPF_OP(insn->code);
	char p = reg_prefix(is64);
	const char *sym = alu_ops[op >> 4];

	if (op == BPF_NEG) {
		sb_printf(sb, "%c%u = -%c%u", p, insn->dst_reg, p, insn->dst_reg);
		return;
	}
	if (op == BPF_END) {
		/* ALU64 | END is the v4 unconditional bswap; ALU | END converts from/to LE or BE. */
		const char *kind =
			is64 ? "bswap" : (BPF_SRC(insn->code) == BPF_TO_BE ? "be" : "le");

		sb_printf(sb, "r%u = %s%d r%u", insn->dst_reg, kind, insn->imm, insn->dst_reg);
		return;
	}
	if (!sym) {
		sb_printf(sb, "invalid alu op 0x%02x", insn->code);
		return;
	}
	if ((op == BPF_DIV || op == BPF_MOD) && insn->off == 1)
		sym = op == BPF_DIV ? "s/=" : "s%=";
	if (op == BPF_MOV && BPF_SRC(insn->code) == BPF_X && insn->off) {
		/* v4 movsx: sign-extend the low 8/16/32 bits of src. */
		sb_printf(sb, "%c%u = (s%d)%c%u", p, insn->dst_reg, insn->off, p, insn->src_reg);
		return;
	}
	if (BPF_SRC(insn->code) == BPF_X)
		sb_printf(sb, "%c%u %s %c%u", p, insn->dst_reg, sym, p, insn->src_reg);
	else
		sb_printf(sb, "%c%u %s %d", p, insn->dst_reg, sym, insn->imm);
}

static void disasm_mem_ref(struct sbuf *sb, const struct bpf_insn *insn, int reg, bool sx)
{
	const char *const *names = sx ? ssize_names : size_names;

	sb_printf(sb, "*(%s *)(r%d %c %d)", names[BPF_SIZE(insn->code) >> 3], reg,
		  insn->off < 0 ? '-' : '+', insn->off < 0 ? -insn->off : insn->off);
}

/* The atomic forms, spelled as llvm-objdump does. */
static void disasm_atomic(struct sbuf *sb, const struct bpf_insn *insn)
{
	static const char *const fetch_names[16] = {
		[BPF_ADD >> 4] = "add",
		[BPF_OR >> 4] = "or",
		[BPF_AND >> 4] = "and",
		[BPF_XOR >> 4] = "xor",
	};
	bool is64 = BPF_SIZE(insn->code) == BPF_DW;
	char p = reg_prefix(is64);
	int op = insn->imm & ~BPF_FETCH;
	const char *sz = is64 ? "u64" : "u32";
	char sign = insn->off < 0 ? '-' : '+';
	int off = insn->off < 0 ? -insn->off : insn->off;

	if (BPF_SIZE(insn->code) != BPF_W && !is64) {
		sb_printf(sb, "invalid atomic size 0x%02x", insn->code);
	} else if (insn->imm == BPF_XCHG) {
		sb_printf(sb, "%c%u = xchg%s(r%u %c %d, %c%u)", p, insn->src_reg,
			  is64 ? "_64" : "32_32", insn->dst_reg, sign, off, p, insn->src_reg);
	} else if (insn->imm == BPF_CMPXCHG) {
		sb_printf(sb, "%c0 = cmpxchg%s(r%u %c %d, %c0, %c%u)", p, is64 ? "_64" : "32_32",
			  insn->dst_reg, sign, off, p, p, insn->src_reg);
	} else if (op >= 0 && op < 0x100 && !(op & 0x0f) && fetch_names[op >> 4]) {
		if (insn->imm & BPF_FETCH)
			sb_printf(sb, "%c%u = atomic_fetch_%s((%s *)(r%u %c %d), %c%u)", p,
				  insn->src_reg, fetch_names[op >> 4], sz, insn->dst_reg, sign, off,
				  p, insn->src_reg);
		else
			sb_printf(sb, "lock *(%s *)(r%u %c %d) %s %c%u", sz, insn->dst_reg, sign,
				  off, alu_ops[op >> 4], p, insn->src_reg);
	} else {
		sb_printf(sb, "invalid atomic op 0x%x", (unsigned)insn->imm);
	}
}

static void disasm_mem(struct sbuf *sb, const struct bpf_insn *insn)
{
	switch (BPF_CLASS(insn->code)) {
	case BPF_LDX:
		if (BPF_MODE(insn->code) != BPF_MEM && BPF_MODE(insn->code) != BPF_MEMSX)
			break;
		sb_printf(sb, "r%u = ", insn->dst_reg);
		disasm_mem_ref(sb, insn, insn->src_reg, BPF_MODE(insn->code) == BPF_MEMSX);
		return;
	case BPF_ST:
		if (BPF_MODE(insn->code) != BPF_MEM)
			break;
		disasm_mem_ref(sb, insn, insn->dst_reg, false);
		sb_printf(sb, " = %d", insn->imm);
		return;
	case BPF_STX:
		if (BPF_MODE(insn->code) == BPF_ATOMIC) {
			disasm_atomic(sb, insn);
			return;
		}
		if (BPF_MODE(insn->code) != BPF_MEM)
			break;
		disasm_mem_ref(sb, insn, insn->dst_reg, false);
		sb_printf(sb, " = r%u", insn->src_reg);
		return;
	}
	sb_printf(sb, "invalid mem op 0x%02x", insn->code);
}

static void jump_target(struct sbuf *sb, size_t idx, int64_t delta)
{
	sb_printf(sb, "%s%" PRId64 " <%" PRId64 ">", delta < 0 ? "" : "+", delta,
		  (int64_t)idx + 1 + delta);
}

static void disasm_call(struct sbuf *sb, const struct bpf_insn *insn, size_t idx)
{
	const char *name;

	if (BPF_SRC(insn->code) == BPF_X) {
		/* callx: the helper id (or address) is in the register named by dst_reg. */
		sb_printf(sb, "callx r%u", insn->dst_reg);
		return;
	}
	switch (insn->src_reg) {
	case 0:
		name = bpfi_helper_name(insn->imm);
		if (name)
			sb_printf(sb, "call %s#%d", name, insn->imm);
		else
			sb_printf(sb, "call unknown#%d", insn->imm);
		return;
	case BPF_PSEUDO_CALL:
		sb_printf(sb, "call ");
		jump_target(sb, idx, insn->imm);
		return;
	case BPF_PSEUDO_KFUNC_CALL:
		sb_printf(sb, "call kfunc#%d", insn->imm);
		return;
	default:
		sb_printf(sb, "invalid call src_reg %u", insn->src_reg);
	}
}

static void disasm_jmp(struct sbuf *sb, const struct bpf_insn *insn, size_t idx)
{
	bool is32 = BPF_CLASS(insn->code) == BPF_JMP32;
	unsigned op = BPF_OP(insn->code);
	char p = reg_prefix(!is32);

	if (op == BPF_JA) {
		/* JMP32 | JA is the v4 gotol with its 32-bit offset in imm. */
		sb_printf(sb, is32 ? "gotol " : "goto ");
		jump_target(sb, idx, is32 ? insn->imm : insn->off);
		return;
	}
	if (op == BPF_CALL && !is32) {
		disasm_call(sb, insn, idx);
		return;
	}
	if (op == BPF_EXIT && !is32) {
		sb_printf(sb, "exit");
		return;
	}
	if (!jmp_ops[op >> 4]) {
		sb_printf(sb, "invalid jmp op 0x%02x", insn->code);
		return;
	}
	if (BPF_SRC(insn->code) == BPF_X)
		sb_printf(sb, "if %c%u %s %c%u goto ", p, insn->dst_reg, jmp_ops[op >> 4], p,
			  insn->src_reg);
	else
		sb_printf(sb, "if %c%u %s %d goto ", p, insn->dst_reg, jmp_ops[op >> 4], insn->imm);
	jump_target(sb, idx, insn->off);
}

static void map_ref(struct sbuf *sb, const char *kind, int ref, const struct cli_disasm_ctx *ctx)
{
	/* Names are known by fd only; an index (gen-loader form) is printed as it is. */
	bool by_fd = !strcmp(kind, "fd");
	const char *name = by_fd && ctx && ctx->map_name ? ctx->map_name(ref, ctx->cookie) : NULL;

	if (name)
		sb_printf(sb, "map[%s]", name);
	else
		sb_printf(sb, "map[%s:%d]", kind, ref);
}

static void disasm_ld(struct sbuf *sb, const struct bpf_insn *insns, size_t cnt, size_t idx,
		      const struct cli_disasm_ctx *ctx)
{
	const struct bpf_insn *insn = &insns[idx];
	uint64_t imm64;
	int32_t hi;

	if (BPF_MODE(insn->code) == BPF_ABS || BPF_MODE(insn->code) == BPF_IND) {
		/* Legacy packet access: r0 = *(size *)skb[...] */
		sb_printf(sb, "r0 = *(%s *)skb[", size_names[BPF_SIZE(insn->code) >> 3]);
		if (BPF_MODE(insn->code) == BPF_IND)
			sb_printf(sb, "r%u + ", insn->src_reg);
		sb_printf(sb, "%d]", insn->imm);
		return;
	}
	if (!bpfi_insn_is_ldimm64(insn)) {
		sb_printf(sb, "invalid ld op 0x%02x", insn->code);
		return;
	}
	if (idx + 1 >= cnt) {
		sb_printf(sb, "invalid ld_imm64: last instruction");
		return;
	}
	hi = insns[idx + 1].imm;
	imm64 = (uint64_t)(uint32_t)insn->imm | (uint64_t)(uint32_t)hi << 32;
	sb_printf(sb, "r%u = ", insn->dst_reg);
	switch (insn->src_reg) {
	case 0:
		sb_printf(sb, "0x%" PRIx64 " ll", imm64);
		return;
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_IDX:
		map_ref(sb, insn->src_reg == BPF_PSEUDO_MAP_FD ? "fd" : "idx", insn->imm, ctx);
		sb_printf(sb, " ll");
		return;
	case BPF_PSEUDO_MAP_VALUE:
	case BPF_PSEUDO_MAP_IDX_VALUE:
		map_ref(sb, insn->src_reg == BPF_PSEUDO_MAP_VALUE ? "fd" : "idx", insn->imm, ctx);
		sb_printf(sb, " + %d ll", hi);
		return;
	case BPF_PSEUDO_BTF_ID:
		sb_printf(sb, "btf_id[%d] ll", insn->imm);
		return;
	case BPF_PSEUDO_FUNC:
		sb_printf(sb, "func ");
		jump_target(sb, idx, insn->imm);
		return;
	default:
		sb_printf(sb, "invalid ld_imm64 src_reg %u", insn->src_reg);
	}
}

/**
 * cli__disasm_insn() writes instruction @idx of @insns as text into @buf.
 * @return the number of slots it occupies (2 for ld_imm64, else 1)
 */
int cli__disasm_insn(char *buf, size_t size, const struct bpf_insn *insns, size_t cnt, size_t idx,
		     const struct cli_disasm_ctx *ctx)
{
	const struct bpf_insn *insn = &insns[idx];
	struct sbuf sb = { .buf = buf, .size = size };

	if (size)
		buf[0] = '\0';
	switch (BPF_CLASS(insn->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		disasm_alu(&sb, insn);
		break;
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		disasm_mem(&sb, insn);
		break;
	case BPF_JMP:
	case BPF_JMP32:
		disasm_jmp(&sb, insn, idx);
		break;
	case BPF_LD:
		disasm_ld(&sb, insns, cnt, idx, ctx);
		return bpfi_insn_is_ldimm64(insn) && idx + 1 < cnt ? 2 : 1;
	}
	return 1;
}

static void print_bytes(FILE *out, const struct bpf_insn *insn)
{
	const unsigned char *b = (const unsigned char *)insn;
	int i;

	for (i = 0; i < 8; i++)
		fprintf(out, "%02x ", b[i]);
}

/* One line per instruction: index, the bytes (as llvm-objdump), the text. */
void cli__disasm_prog(FILE *out, const struct bpf_insn *insns, size_t cnt,
		      const struct cli_disasm_ctx *ctx)
{
	char text[256];
	size_t i = 0;
	int n;

	while (i < cnt) {
		n = cli__disasm_insn(text, sizeof(text), insns, cnt, i, ctx);
		fprintf(out, "%6zu: ", i);
		print_bytes(out, &insns[i]);
		fprintf(out, " %s\n", text);
		if (n == 2) {
			fprintf(out, "%6zu: ", i + 1);
			print_bytes(out, &insns[i + 1]);
			fputc('\n', out);
		}
		i += (size_t)n;
	}
}
