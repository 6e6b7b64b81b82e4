// SPDX-License-Identifier: MIT
/*
 * `bpfinject fault`: fault injection without writing eBPF, for CI. It generates the program
 * itself (no clang at run time) and loads it through the same path as any object, checked:
 *
 *   bpfinject fault --syscall write --errno EIO --probability 0.01 -- ./test
 *   bpfinject fault --func malloc --return 0 --nth 1000 -p PID
 *
 * The program counts the calls that pass the filters (--tid, --path-prefix), and overrides the
 * ones chosen by --after, --nth and --probability (a seeded xorshift, so --seed repeats a run)
 * with bpf_override_return. The count of injected faults is printed at the end.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <getopt.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/injector.h>
#include <bpfinject/runtime.h>

#include "cli_internal.h"

#define MAX_INSNS  256
#define MAX_PREFIX 64

/* The state the program keeps in its one-entry array map. */
struct fault_state {
	uint64_t calls; /* calls that passed the filters */
	uint64_t injected; /* faults injected */
	uint64_t rng; /* xorshift64 state, seeded by --seed */
};

struct fault_args {
	const char *syscall;
	const char *func; /* [PATH:]FUNC */
	long ret; /* the value the call returns instead */
	double probability; /* 0..1 */
	uint64_t nth, after;
	uint32_t tid;
	const char *path_prefix;
	uint64_t seed;
	double duration;
	pid_t pids[64];
	unsigned int nr_pids;
	char **cmd;
};

struct gen {
	struct bpf_insn insns[MAX_INSNS];
	unsigned int n;
	int out_jumps[32]; /* indexes of jumps to the common exit, patched at the end */
	unsigned int nr_out;
};

static void emit(struct gen *g, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (g->n < MAX_INSNS)
		g->insns[g->n] = (struct bpf_insn){
			.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
		};
	g->n++;
}

static void emit_ld_map(struct gen *g, uint8_t dst, int map_fd)
{
	emit(g, BPF_LD | BPF_IMM | BPF_DW, dst, BPF_PSEUDO_MAP_FD, 0, map_fd);
	emit(g, 0, 0, 0, 0, 0);
}

/* A conditional jump to the common exit ("this call is not faulted"). */
static void emit_skip_if(struct gen *g, uint8_t op, uint8_t dst, int32_t imm)
{
	if (g->nr_out < 32)
		g->out_jumps[g->nr_out++] = (int)g->n;
	emit(g, BPF_JMP | op | BPF_K, dst, 0, 0, imm);
}

static void emit_skip_if_reg(struct gen *g, uint8_t op, uint8_t dst, uint8_t src)
{
	if (g->nr_out < 32)
		g->out_jumps[g->nr_out++] = (int)g->n;
	emit(g, BPF_JMP | op | BPF_X, dst, src, 0, 0);
}

/* r1 = 64-bit constant (ld_imm64) */
static void emit_ld_imm64(struct gen *g, uint8_t dst, uint64_t v)
{
	emit(g, BPF_LD | BPF_IMM | BPF_DW, dst, 0, 0, (int32_t)(uint32_t)v);
	emit(g, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

/*
 * --path-prefix: the path argument (at @arg_off in the context) read into the stack, its
 * first bytes compared with the prefix one by one.
 */
static void emit_path_filter(struct gen *g, const char *prefix, int16_t arg_off)
{
	size_t len = strlen(prefix);

	emit(g, BPF_LDX | BPF_MEM | BPF_DW, BPFI_REG_3, BPFI_REG_6, arg_off, 0);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_1, BPFI_REG_10, 0, 0);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, BPFI_REG_1, 0, 0, -(MAX_PREFIX + 8));
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, BPFI_REG_2, 0, 0, (int32_t)len + 1);
	emit(g, BPF_JMP | BPF_CALL, 0, 0, 0, 114); /* bpf_probe_read_user_str */
	emit_skip_if(g, BPF_JSLT, BPFI_REG_0, (int32_t)len + 1);
	for (size_t i = 0; i < len; i++) {
		emit(g, BPF_LDX | BPF_MEM | BPF_B, BPFI_REG_1, BPFI_REG_10,
		     (int16_t)(-(MAX_PREFIX + 8) + (int)i), 0);
		emit_skip_if(g, BPF_JNE, BPFI_REG_1, (unsigned char)prefix[i]);
	}
}

/* Which argument of a path-taking syscall is the path (sys_enter record offset), or -1. */
static int path_arg_offset(const char *syscall_name)
{
	static const struct {
		const char *name;
		int arg;
	} paths[] = {
		{ "open", 0 },	     { "openat", 1 },	  { "openat2", 1 },  { "creat", 0 },
		{ "stat", 0 },	     { "newstat", 0 },	  { "lstat", 0 },    { "newlstat", 0 },
		{ "newfstatat", 1 }, { "statx", 1 },	  { "access", 0 },   { "faccessat", 1 },
		{ "faccessat2", 1 }, { "unlink", 0 },	  { "unlinkat", 1 }, { "mkdir", 0 },
		{ "mkdirat", 1 },    { "rmdir", 0 },	  { "rename", 0 },   { "renameat", 1 },
		{ "renameat2", 1 },  { "truncate", 0 },	  { "execve", 0 },   { "chdir", 0 },
		{ "readlink", 0 },   { "readlinkat", 1 },
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (!strcmp(paths[i].name, syscall_name))
			return BPFI_SYSCALL_ARGS_OFF + 8 * paths[i].arg;
	}
	return -1;
}

/*
 * The program. Registers: r6 ctx, r7 the state, r8 this call's number.
 *   filters (tid, path) -> calls++ -> after/nth/probability -> injected++ -> override
 */
static int generate(struct gen *g, const struct fault_args *a, int map_fd, int path_off)
{
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_6, BPFI_REG_1, 0, 0);
	if (a->tid) {
		emit(g, BPF_JMP | BPF_CALL, 0, 0, 0, 14); /* bpf_get_current_pid_tgid */
		emit(g, BPF_ALU | BPF_MOV | BPF_X, BPFI_REG_0, BPFI_REG_0, 0, 0); /* low 32 bits */
		emit_skip_if(g, BPF_JNE, BPFI_REG_0, (int32_t)a->tid);
	}
	if (a->path_prefix)
		emit_path_filter(g, a->path_prefix, (int16_t)path_off);
	/* r7 = lookup(state, &key 0) */
	emit(g, BPF_ST | BPF_MEM | BPF_W, BPFI_REG_10, 0, -4, 0);
	emit_ld_map(g, BPFI_REG_1, map_fd);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_2, BPFI_REG_10, 0, 0);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, BPFI_REG_2, 0, 0, -4);
	emit(g, BPF_JMP | BPF_CALL, 0, 0, 0, 1); /* bpf_map_lookup_elem */
	emit_skip_if(g, BPF_JEQ, BPFI_REG_0, 0);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_7, BPFI_REG_0, 0, 0);
	/* r8 = ++calls (atomic fetch-add) */
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, BPFI_REG_8, 0, 0, 1);
	emit(g, BPF_STX | BPF_ATOMIC | BPF_DW, BPFI_REG_7, BPFI_REG_8, 0, BPF_ADD | BPF_FETCH);
	emit(g, BPF_ALU64 | BPF_ADD | BPF_K, BPFI_REG_8, 0, 0, 1);
	if (a->after) {
		emit_ld_imm64(g, BPFI_REG_1, a->after);
		emit_skip_if_reg(g, BPF_JLE, BPFI_REG_8, BPFI_REG_1);
	}
	if (a->nth) {
		emit_ld_imm64(g, BPFI_REG_1, a->nth);
		emit_skip_if_reg(g, BPF_JNE, BPFI_REG_8, BPFI_REG_1);
	}
	if (a->probability < 1.0) {
		/* rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17 (xorshift64) */
		emit(g, BPF_LDX | BPF_MEM | BPF_DW, BPFI_REG_1, BPFI_REG_7, 16, 0);
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_2, BPFI_REG_1, 0, 0);
		emit(g, BPF_ALU64 | BPF_LSH | BPF_K, BPFI_REG_2, 0, 0, 13);
		emit(g, BPF_ALU64 | BPF_XOR | BPF_X, BPFI_REG_1, BPFI_REG_2, 0, 0);
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_2, BPFI_REG_1, 0, 0);
		emit(g, BPF_ALU64 | BPF_RSH | BPF_K, BPFI_REG_2, 0, 0, 7);
		emit(g, BPF_ALU64 | BPF_XOR | BPF_X, BPFI_REG_1, BPFI_REG_2, 0, 0);
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_2, BPFI_REG_1, 0, 0);
		emit(g, BPF_ALU64 | BPF_LSH | BPF_K, BPFI_REG_2, 0, 0, 17);
		emit(g, BPF_ALU64 | BPF_XOR | BPF_X, BPFI_REG_1, BPFI_REG_2, 0, 0);
		emit(g, BPF_STX | BPF_MEM | BPF_DW, BPFI_REG_7, BPFI_REG_1, 16, 0);
		/* faulted when the top 32 bits fall under probability * 2^32 */
		emit(g, BPF_ALU64 | BPF_RSH | BPF_K, BPFI_REG_1, 0, 0, 32);
		emit_ld_imm64(g, BPFI_REG_2, (uint64_t)(a->probability * 4294967296.0));
		emit_skip_if_reg(g, BPF_JGE, BPFI_REG_1, BPFI_REG_2);
	}
	/* injected++; bpf_override_return(ctx, ret) */
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, BPFI_REG_1, 0, 0, 1);
	emit(g, BPF_STX | BPF_ATOMIC | BPF_DW, BPFI_REG_7, BPFI_REG_1, 8, BPF_ADD);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, BPFI_REG_1, BPFI_REG_6, 0, 0);
	emit_ld_imm64(g, BPFI_REG_2, (uint64_t)a->ret);
	emit(g, BPF_JMP | BPF_CALL, 0, 0, 0, 58); /* bpf_override_return */
	/* out: */
	for (unsigned int i = 0; i < g->nr_out; i++)
		g->insns[g->out_jumps[i]].off = (int16_t)(g->n - (unsigned int)g->out_jumps[i] - 1);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, BPFI_REG_0, 0, 0, 0);
	emit(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return g->n <= MAX_INSNS && g->nr_out < 32 ? 0 : -E2BIG;
}

static int parse_errno(const char *s, long *ret)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {
		{ "EPERM", EPERM },	      { "ENOENT", ENOENT },
		{ "EINTR", EINTR },	      { "EIO", EIO },
		{ "ENXIO", ENXIO },	      { "EBADF", EBADF },
		{ "EAGAIN", EAGAIN },	      { "ENOMEM", ENOMEM },
		{ "EACCES", EACCES },	      { "EFAULT", EFAULT },
		{ "EBUSY", EBUSY },	      { "EEXIST", EEXIST },
		{ "ENODEV", ENODEV },	      { "EINVAL", EINVAL },
		{ "ENFILE", ENFILE },	      { "EMFILE", EMFILE },
		{ "EFBIG", EFBIG },	      { "ENOSPC", ENOSPC },
		{ "ESPIPE", ESPIPE },	      { "EROFS", EROFS },
		{ "EPIPE", EPIPE },	      { "ENOSYS", ENOSYS },
		{ "ETIMEDOUT", ETIMEDOUT },   { "ECONNREFUSED", ECONNREFUSED },
		{ "ECONNRESET", ECONNRESET }, { "EDQUOT", EDQUOT },
	};
	uint64_t v;

	if (cli__uint_ok(s, 1, 4095, &v)) {
		*ret = -(long)v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(names[i].name, s)) {
			*ret = -names[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct fault_args *a)
{
	static const struct option opts[] = {
		{ "syscall", required_argument, NULL, 's' },
		{ "func", required_argument, NULL, 'f' },
		{ "errno", required_argument, NULL, 'e' },
		{ "return", required_argument, NULL, 'r' },
		{ "probability", required_argument, NULL, 'P' },
		{ "nth", required_argument, NULL, 'n' },
		{ "after", required_argument, NULL, 'A' },
		{ "tid", required_argument, NULL, 't' },
		{ "path-prefix", required_argument, NULL, 'x' },
		{ "seed", required_argument, NULL, 'S' },
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "catch-all", no_argument, NULL, 'C' },
		{ 0 },
	};
	bool have_errno = false, have_ret = false;
	int c, dashdash = argc;

	a->probability = 1.0;
	a->seed = (uint64_t)time(NULL) * 2654435761u;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			a->cmd = argv + i + 1;
			break;
		}
	}
	while ((c = getopt_long(dashdash, argv, "p:d:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->syscall = optarg;
			break;
		case 'f':
			a->func = optarg;
			break;
		case 'e':
			if (parse_errno(optarg, &a->ret))
				return cli__err(
					optarg,
					"not an errno name (EIO, ENOSPC, ...) or a number from 1 to 4095");
			have_errno = true;
			break;
		case 'r': {
			int64_t v;

			if (cli__parse_int("--return", optarg, INT64_MIN, INT64_MAX, &v))
				return EXIT_FAILURE;
			a->ret = (long)v;
			have_ret = true;
			break;
		}
		case 'P':
			/* Below 2^-32 the generated program's threshold is 0: it would never fire. */
			if (cli__parse_real("--probability", optarg, 1.0 / 4294967296.0, false, 1.0,
					    "a probability", &a->probability))
				return EXIT_FAILURE;
			break;
		case 'n':
			if (cli__parse_uint("--nth", optarg, 1, UINT64_MAX, &a->nth))
				return EXIT_FAILURE;
			break;
		case 'A':
			if (cli__parse_uint("--after", optarg, 0, UINT64_MAX, &a->after))
				return EXIT_FAILURE;
			break;
		case 'S':
			if (cli__parse_uint("--seed", optarg, 0, UINT64_MAX, &a->seed))
				return EXIT_FAILURE;
			break;
		case 't': {
			uint64_t v;

			/* Compared with the low 32 bits of bpf_get_current_pid_tgid(). */
			if (cli__parse_uint("--tid", optarg, 1, CLI_PID_MAX, &v))
				return EXIT_FAILURE;
			a->tid = (uint32_t)v;
			break;
		}
		case 'x':
			a->path_prefix = optarg;
			if (strlen(optarg) == 0 || strlen(optarg) >= MAX_PREFIX)
				return cli__err(optarg, "--path-prefix must be 1 to %d bytes",
						MAX_PREFIX - 1);
			break;
		case 'p':
			if (cli__parse_pid(optarg, a->pids, &a->nr_pids, 64))
				return EXIT_FAILURE;
			break;
		case 'd':
			if (cli__parse_duration(optarg, &a->duration))
				return EXIT_FAILURE;
			break;
		case 'C':
			cli__catch_all = true;
			break;
		default:
			return 2;
		}
	}
	if (!a->syscall == !a->func)
		return cli__err("fault", "give one of --syscall NAME or --func [PATH:]FUNC");
	if (a->syscall && !have_errno)
		return cli__err("fault", "--syscall needs --errno (the error the call fails with)");
	if (a->func && !have_ret)
		return cli__err("fault", "--func needs --return (the value the function returns)");
	if (a->path_prefix && (!a->syscall || path_arg_offset(a->syscall) < 0))
		return cli__err("--path-prefix", "only with a syscall that takes a path");
	if (!a->nr_pids && !a->cmd)
		return cli__err("fault", "no target: give -p PID or -- CMD ARGS");
	if (a->cmd && !a->cmd[0])
		return cli__err("--", "no command after --");
	return 0;
}

static long perf_open(struct perf_event_attr *attr)
{
	return syscall(__NR_perf_event_open, attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
}

/* The event the program attaches to: sys_enter of the syscall, or a uprobe on the function. */
static int open_event(const struct fault_args *a, char *exe_path, size_t size)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	char buf[512] = "", func[256];
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	const struct bpfi_syscall *sc;
	struct bpfi_syscall_ids ids;
	const char *colon;
	uint64_t off;
	FILE *f;
	int type = -1;

	if (a->syscall) {
		if (bpfi_syscall_by_name(a->syscall, &sc, &log) ||
		    bpfi_syscall_live_ids(sc, NULL, &ids, &log))
			return cli__err(a->syscall, "no such system call with a tracepoint"), -1;
		attr.type = PERF_TYPE_TRACEPOINT;
		attr.config = ids.enter;
		return (int)perf_open(&attr);
	}
	colon = strrchr(a->func, ':');
	snprintf(func, sizeof(func), "%s", colon ? colon + 1 : a->func);
	if (colon) {
		snprintf(exe_path, size, "%.*s", (int)(colon - a->func), a->func);
	} else if (!exe_path[0]) {
		return cli__err(a->func, "name the file (PATH:FUNC) when no target gives one"), -1;
	}
	if (bpfi_elf_find_function(exe_path, func, &off, NULL, &log)) {
		buf[strcspn(buf, "\n")] = '\0';
		return cli__err(a->func, "%s", buf), -1;
	}
	f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	if (f) {
		if (fscanf(f, "%d", &type) != 1)
			type = -1;
		fclose(f);
	}
	attr.type = type < 0 ? 8 : (uint32_t)type; /* the runtime's uprobe PMU */
	attr.config1 = (uint64_t)(uintptr_t)exe_path;
	attr.config2 = off;
	return (int)perf_open(&attr);
}

/* The function's file when none is named: libc for a libc function, else the target's. */
static void default_file(const struct fault_args *a, char *path, size_t size)
{
	char link[64];
	ssize_t n;

	path[0] = '\0';
	if (a->nr_pids) {
		char libc[512];

		if (!bpfi_proc_find_module(a->pids[0], "libc.so", libc, sizeof(libc), NULL) &&
		    !bpfi_elf_find_function(libc, a->func, &(uint64_t){ 0 }, NULL, NULL)) {
			snprintf(path, size, "%s", libc);
			return;
		}
		snprintf(link, sizeof(link), "/proc/%d/exe", a->pids[0]);
		n = readlink(link, path, size - 1);
		path[n > 0 ? n : 0] = '\0';
	} else if (!access("/lib/x86_64-linux-gnu/libc.so.6", R_OK) &&
		   !bpfi_elf_find_function("/lib/x86_64-linux-gnu/libc.so.6", a->func,
					   &(uint64_t){ 0 }, NULL, NULL)) {
		snprintf(path, size, "/lib/x86_64-linux-gnu/libc.so.6");
	}
}

int cli__cmd_fault(int argc, char **argv)
{
	struct fault_args a = { 0 };
	struct fault_state st = { 0 };
	struct cli_target cts[64];
	char path[512] = "", logbuf[1024] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, po, .log_buf = logbuf, .log_size = sizeof(logbuf),
		    .log_level = 1);
	unsigned int n = 0;
	int ret, map_fd, prog_fd = -1, ev_fd, link_fd, key = 0;
	struct gen *g;
	double end;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	ret = cli__runtime_start(BPFI_JIT_X86_64, false);
	if (ret)
		return ret;
	map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fault_state", 4, sizeof(st), 1, NULL);
	st.rng = a.seed | 1;
	if (map_fd < 0 || bpf_map_update_elem(map_fd, &key, &st, BPF_ANY))
		return cli__err("fault", "cannot create its state map: %s", strerror(errno));
	g = calloc(1, sizeof(*g));
	if (!g || generate(g, &a, map_fd, a.syscall ? path_arg_offset(a.syscall) : 0)) {
		free(g);
		return cli__err("fault", "the generated program is too long");
	}
	prog_fd = bpf_prog_load(a.syscall ? BPF_PROG_TYPE_TRACEPOINT : BPF_PROG_TYPE_KPROBE,
				"fault", "GPL", g->insns, g->n, &po);
	free(g);
	if (prog_fd < 0) {
		logbuf[strcspn(logbuf, "\n")] = '\0';
		return cli__err("fault", "generated program rejected: %s",
				logbuf[0] ? logbuf : strerror(errno));
	}
	if (a.func)
		default_file(&a, path, sizeof(path));
	ev_fd = open_event(&a, path, sizeof(path));
	if (ev_fd < 0)
		return ev_fd == -1 ? EXIT_FAILURE : cli__err("fault", "%s", strerror(errno));
	link_fd = bpf_link_create(prog_fd, ev_fd, BPF_PERF_EVENT, NULL);
	if (link_fd < 0)
		return cli__err("fault", "cannot attach: %s", strerror(errno));
	signal(SIGINT, cli__on_signal);
	signal(SIGTERM, cli__on_signal);
	if (a.cmd)
		cli__follow_enable(); /* the command's exec'd descendants too (follow.c) */
	ret = cli__inject_targets(a.pids, a.nr_pids, a.cmd, cts, &n);
	if (ret)
		return ret;
	end = a.duration > 0 ? (double)time(NULL) + a.duration : 0;
	while (!cli__stop_requested && (!end || (double)time(NULL) < end)) {
		bool follow = cli__follow_active();
		unsigned int alive = 0;

		if (follow)
			cli__follow_run(cts, &n, sizeof(cts) / sizeof(cts[0]), 50);
		else
			usleep(50000);
		for (unsigned int i = 0; i < n; i++) {
			bool up = follow ? cli__follow_alive(&cts[i]) : cli__target_alive(&cts[i]);

			alive += up;
			if (up)
				cli__cover_new_modules(&cts[i]);
		}
		if (!alive)
			break;
	}
	cli__follow_end(cts, n); /* every task let go; the faults are taken out after */
	for (unsigned int i = 0; i < n; i++) {
		if (cts[i].spawned && !cli__target_alive(&cts[i]))
			cli__detach(&cts[i], true, NULL); /* it has exited: nothing to restore */
		else
			cli__detach(&cts[i], false, NULL);
	}
	bpf_map_lookup_elem(map_fd, &key, &st);
	fprintf(stderr, "bpfinject: injected %llu fault%s into %llu call%s of %s\n",
		(unsigned long long)st.injected, st.injected == 1 ? "" : "s",
		(unsigned long long)st.calls, st.calls == 1 ? "" : "s",
		a.syscall ? a.syscall : a.func);
	for (unsigned int i = 0; i < n; i++) {
		if (cts[i].spawned)
			ret = cts[i].exit_status;
	}
	close(link_fd);
	close(ev_fd);
	close(prog_fd);
	close(map_fd);
	return ret;
}
