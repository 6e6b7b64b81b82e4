// SPDX-License-Identifier: MIT
/*
 * The target's seccomp filters, evaluated here before each remote system call. A filter that
 * kills on a call we make (socket, under systemd's SystemCallFilter= or a container profile)
 * would turn our attach into the target's death; so we read the filters of the thread we
 * borrow (PTRACE_SECCOMP_GET_FILTER) and run them on the exact call first, as the kernel
 * would: every filter, the most restrictive action winning.
 *
 * Filters are per thread (installed without TSYNC they differ between threads), so each
 * thread's are read the first time a call runs on it. A filter we cannot read (no
 * CAP_SYS_ADMIN, a kernel without CONFIG_CHECKPOINT_RESTORE) makes every call refused: we
 * cannot tell a harmless call from a fatal one, and a probe could kill.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "injector_internal.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
/* The kernel's limits: BPF_MAXINSNS per filter, MAX_INSNS_PER_PATH over the chain. */
#define MAX_FILTER_INSNS 4096
#define MAX_FILTERS	 512

struct sc_prog {
	struct sock_filter *insns;
	unsigned int len;
};

struct injector_seccomp {
	int mode; /* 0, SECCOMP_MODE_STRICT, SECCOMP_MODE_FILTER */
	int read_err; /* filters present but unreadable: -errno of PTRACE_SECCOMP_GET_FILTER */
	struct sc_prog *progs; /* [0] is the most recently installed, run first */
	unsigned int nr;
};

/* "Seccomp:" of one thread: its mode. -1 when the line is missing (kernel without seccomp). */
static int status_mode(pid_t pid, pid_t tid)
{
	char path[64], line[256];
	int mode = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	}
	fclose(f);
	return mode;
}

void injector__seccomp_free(struct injector_seccomp *sc)
{
	if (!sc)
		return;
	for (unsigned int i = 0; i < sc->nr; i++)
		free(sc->progs[i].insns);
	free(sc->progs);
	free(sc);
}

int injector__seccomp_load(pid_t pid, pid_t tid, struct injector_seccomp **ret_sc)
{
	struct injector_seccomp *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return -ENOMEM;
	sc->mode = status_mode(pid, tid);
	if (sc->mode < 0)
		sc->mode = 0;
	while (sc->mode == SECCOMP_MODE_FILTER && !sc->read_err) {
		struct sock_filter *insns;
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)(long)sc->nr, NULL);
		struct sc_prog *grown;

		if (n < 0 && errno == ENOENT && sc->nr)
			break; /* past the oldest filter */
		if (n <= 0 || n > MAX_FILTER_INSNS || sc->nr >= MAX_FILTERS) {
			sc->read_err = n < 0 ? -errno : -EINVAL;
			break;
		}
		insns = calloc((size_t)n, sizeof(*insns));
		grown = realloc(sc->progs, (sc->nr + 1) * sizeof(*grown));
		if (grown)
			sc->progs = grown;
		if (!insns || !grown) {
			free(insns);
			injector__seccomp_free(sc);
			return -ENOMEM;
		}
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)(long)sc->nr, insns) != n) {
			sc->read_err = errno ? -errno : -EIO;
			free(insns);
			break;
		}
		sc->progs[sc->nr].insns = insns;
		sc->progs[sc->nr++].len = (unsigned int)n;
	}
	*ret_sc = sc;
	return 0;
}

/* A 32-bit word of seccomp_data at @off, as BPF_LD|BPF_W|BPF_ABS reads it. */
static bool data_word(const struct seccomp_data *d, uint32_t off, uint32_t *ret)
{
	if (off & 3 || off > sizeof(*d) - 4)
		return false;
	memcpy(ret, (const char *)d + off, 4);
	return true;
}

static uint32_t alu(uint16_t op, uint32_t a, uint32_t v, bool *ok)
{
	switch (op) {
	case BPF_ADD:
		return a + v;
	case BPF_SUB:
		return a - v;
	case BPF_MUL:
		return a * v;
	case BPF_DIV:
		*ok = v != 0;
		return v ? a / v : 0;
	case BPF_OR:
		return a | v;
	case BPF_AND:
		return a & v;
	case BPF_XOR:
		return a ^ v;
	case BPF_LSH:
		return v < 32 ? a << v : 0;
	case BPF_RSH:
		return v < 32 ? a >> v : 0;
	case BPF_NEG:
		return -a;
	default:
		*ok = false;
		return 0;
	}
}

/*
 * One classic BPF program over @d, with the instructions seccomp accepts (its
 * seccomp_check_filter(): no BPF_MOD, no BPF_ABS other than 32-bit words). Anything else, a jump out of the program or a division by zero
 * (which the kernel's checker would have refused, or which returns 0, a kill) answers
 * SECCOMP_RET_KILL_PROCESS: when in doubt, the call is not made.
 */
uint32_t injector__cbpf_run(const struct sock_filter *insns, unsigned int len,
			    const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

	for (unsigned int pc = 0; pc < len; pc++) {
		const struct sock_filter *in = &insns[pc];
		uint16_t cls = BPF_CLASS(in->code);
		uint32_t v;
		bool ok = true, taken;

		switch (cls) {
		case BPF_LD:
		case BPF_LDX:
			if (BPF_MODE(in->code) == BPF_ABS && cls == BPF_LD &&
			    BPF_SIZE(in->code) == BPF_W)
				ok = data_word(d, in->k, &v);
			else if (BPF_MODE(in->code) == BPF_IMM)
				v = in->k;
			else if (BPF_MODE(in->code) == BPF_MEM && in->k < BPF_MEMWORDS)
				v = mem[in->k];
			else if (BPF_MODE(in->code) == BPF_LEN)
				v = sizeof(*d);
			else
				ok = false;
			if (cls == BPF_LD)
				a = v;
			else
				x = v;
			break;
		case BPF_ST:
		case BPF_STX:
			if (in->k >= BPF_MEMWORDS)
				return SECCOMP_RET_KILL_PROCESS;
			mem[in->k] = cls == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			a = alu(BPF_OP(in->code), a, BPF_SRC(in->code) == BPF_X ? x : in->k, &ok);
			break;
		case BPF_JMP:
			v = BPF_SRC(in->code) == BPF_X ? x : in->k;
			if (BPF_OP(in->code) == BPF_JA) {
				if (in->k >= len - pc - 1)
					return SECCOMP_RET_KILL_PROCESS;
				pc += in->k;
				break;
			}
			switch (BPF_OP(in->code)) {
			case BPF_JEQ:
				taken = a == v;
				break;
			case BPF_JGT:
				taken = a > v;
				break;
			case BPF_JGE:
				taken = a >= v;
				break;
			case BPF_JSET:
				taken = a & v;
				break;
			default:
				return SECCOMP_RET_KILL_PROCESS;
			}
			v = taken ? in->jt : in->jf;
			if (v >= len - pc - 1)
				return SECCOMP_RET_KILL_PROCESS;
			pc += v;
			break;
		case BPF_RET:
			if (BPF_RVAL(in->code) == BPF_A)
				return a;
			if (BPF_RVAL(in->code) == BPF_K)
				return in->k;
			return SECCOMP_RET_KILL_PROCESS;
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX)
				x = a;
			else if (BPF_MISCOP(in->code) == BPF_TXA)
				a = x;
			else
				ok = false;
			break;
		default:
			ok = false;
			break;
		}
		if (!ok)
			return SECCOMP_RET_KILL_PROCESS;
	}
	return SECCOMP_RET_KILL_PROCESS; /* fell off the end */
}

/* The kernel's order: the lowest action as a signed number wins (KILL_PROCESS is negative). */
static int32_t action_rank(uint32_t ret)
{
	return (int32_t)(ret & SECCOMP_RET_ACTION_FULL);
}

uint32_t injector__seccomp_eval(const struct injector_seccomp *sc, const struct seccomp_data *d)
{
	uint32_t ret = SECCOMP_RET_ALLOW;

	if (sc->mode == SECCOMP_MODE_STRICT) {
		/* Strict mode: these four, or SIGKILL. */
		if (d->nr == SYS_read || d->nr == SYS_write || d->nr == SYS_exit ||
		    d->nr == SYS_rt_sigreturn)
			return SECCOMP_RET_ALLOW;
		return SECCOMP_RET_KILL_THREAD;
	}
	if (sc->mode != SECCOMP_MODE_FILTER)
		return SECCOMP_RET_ALLOW;
	if (sc->read_err)
		return SECCOMP_RET_KILL_PROCESS;
	for (unsigned int i = 0; i < sc->nr; i++) {
		uint32_t cur = injector__cbpf_run(sc->progs[i].insns, sc->progs[i].len, d);

		if (action_rank(cur) < action_rank(ret))
			ret = cur;
	}
	return ret;
}

const char *injector__seccomp_action_str(uint32_t action)
{
	switch (action & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS:
		return "kill the process (SECCOMP_RET_KILL_PROCESS)";
	case SECCOMP_RET_KILL_THREAD:
		return "kill the thread (SECCOMP_RET_KILL_THREAD)";
	case SECCOMP_RET_TRAP:
		return "send SIGSYS (SECCOMP_RET_TRAP)";
	case SECCOMP_RET_ERRNO:
		return "fail it (SECCOMP_RET_ERRNO)";
	case SECCOMP_RET_USER_NOTIF:
		return "hand it to a supervisor (SECCOMP_RET_USER_NOTIF)";
	case SECCOMP_RET_TRACE:
		return "hand it to a tracer (SECCOMP_RET_TRACE)";
	case SECCOMP_RET_LOG:
		return "log it (SECCOMP_RET_LOG)";
	case SECCOMP_RET_ALLOW:
		return "allow it";
	default:
		return "kill the process (an unknown action)";
	}
}

bool injector__seccomp_is_strict(const struct injector_seccomp *sc)
{
	return sc->mode == SECCOMP_MODE_STRICT;
}

int injector__seccomp_read_err(const struct injector_seccomp *sc)
{
	return sc->read_err;
}
