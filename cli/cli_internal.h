/* SPDX-License-Identifier: MIT */
/*
 * The bpfinject command: what the subcommand files share (error reporting, opening and
 * loading an object through the runtime, disassembly, map formatting).
 */
#ifndef BPFI_CLI_INTERNAL_H
#define BPFI_CLI_INTERNAL_H

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <bpfinject/insn.h>
#include <bpfinject/jit.h>
#include <bpfinject/runtime.h>

#include "common/compiler.h"

/* -v: libbpf's own messages go to stderr (main.c). */
extern int arg_verbose;

/* Why a program could not be loaded: the check's one line, or libbpf's. */
#define CLI_REASON_MAX 512

struct cli_map_name {
	int fd;
	char name[64];
};

struct cli_prog_result {
	char name[64];
	bool rejected;
	char reason[CLI_REASON_MAX];
	/* A rejected program as it was sent to the check (relocated), with the map fds it used
	 * then and their names, so that -d shows the instruction the reason refers to. */
	struct bpf_insn *insns;
	size_t insn_cnt;
	struct cli_map_name *maps;
	size_t nr_maps;
};

/* An object opened and loaded through the runtime, with the check result of each program. */
struct cli_obj {
	struct bpf_object *obj;
	const char *path;
	struct cli_prog_result *progs;
	size_t nr_progs;
};

/* main.c */
int cli__err(const char *thing, const char *fmt, ...) _printf_(2, 3);
void cli__warn(const char *thing, const char *fmt, ...) _printf_(2, 3);
const char *cli__libbpf_last_warning(void);
const char *cli__libbpf_prog_warning(void);
const struct cli_map_name *cli__libbpf_created_maps(size_t *ret_n);
void cli__libbpf_clear(void);
int cli__runtime_start(enum bpfi_jit_backend backend, bool no_verify);
/* --verify ours|kernel|both, for every command that loads programs; 0 or an error printed */
extern enum bpfi_verify_mode cli__verify_mode;
int cli__parse_verify(const char *s);
const char *cli__verify_mode_str(void);
int cli__parse_backend(const char *s, enum bpfi_jit_backend *ret_backend);

/* object.c */
int cli__obj_check_file(const char *path);
int cli__obj_load(const char *path, const char *keep_prog, struct cli_obj *ret_obj);
void cli__obj_close(struct cli_obj *o);
const struct cli_prog_result *cli__obj_result(const struct cli_obj *o, const char *name);
const char *cli__map_name_by_fd(const struct cli_obj *o, int fd);
const char *cli__rejected_map_name(const struct cli_prog_result *r, int fd);
const char *cli__prog_type_str(enum bpf_prog_type type);
const char *cli__map_type_str(enum bpf_map_type type);

/* disasm.c */
struct cli_disasm_ctx {
	/* Name of the map whose fd an ld_imm64 holds, or NULL. */
	const char *(*map_name)(int fd, void *cookie);
	void *cookie;
};

int cli__disasm_insn(char *buf, size_t size, const struct bpf_insn *insns, size_t cnt, size_t idx,
		     const struct cli_disasm_ctx *ctx);
void cli__disasm_prog(FILE *out, const struct bpf_insn *insns, size_t cnt,
		      const struct cli_disasm_ctx *ctx);

/* mapfmt.c: maps formatted by their BTF types, as bpftool map dump does */
bool cli__map_is_dumpable(const struct bpf_map *map);
int cli__map_dump_plain(FILE *out, const struct bpf_map *map, const struct btf *btf);
int cli__map_dump_json(FILE *out, const struct bpf_map *map, const struct btf *btf);

/* btfjson.c */
void cli__json_string(FILE *out, const char *s, size_t len);
void cli__btf_json(FILE *out, const struct btf *btf, uint32_t type_id, const void *data,
		   size_t size);
void cli__hex_json(FILE *out, const void *data, size_t size);

/* dump.c, test_run.c */
int cli__cmd_dump(int argc, char **argv);
int cli__cmd_test_run(int argc, char **argv);

/* inject.c: what libbpf attached, injected into one process */
#define CLI_MAX_PROGS 256

struct bpfi_injector;
struct bpfi_log;
struct bpfi_printk_line;

struct cli_target {
	pid_t pid;
	bool spawned; /* started by us with -- CMD: our child */
	bool followed; /* the command or one of its exec'd descendants: traced (follow.c) */
	int exit_status; /* when a spawned one has exited */
	bool syscalls; /* has syscall tracepoint programs: new modules get their sites too */
	unsigned int nr_modules; /* executable file mappings seen when sites were last planned */
	struct bpfi_target *t;
	unsigned int probes;
	struct {
		uint32_t id;
		uint64_t fn; /* its code in the target */
	} progs[CLI_MAX_PROGS];
	unsigned int nr_progs;
};

/* --catch-all: syscall tracepoints also see calls no site rewrite serves (inject.c). */
extern bool cli__catch_all;

int cli__inject(struct cli_target *ct, pid_t pid, struct bpfi_injector *spawned,
		struct bpfi_log *log);
int cli__detach(struct cli_target *ct, bool persist, struct bpfi_log *log);
/*
 * follow.c: -- CMD's exec'd descendants injected too, exactly: we trace the command's tree.
 * cli__follow_enable() before cli__inject_targets() makes it start CMD that way
 * (cli__follow_spawn()). The event loop then sleeps in cli__follow_run() (which answers
 * the tree's stops as they come, for @ms: new slots in @cts for exec'd processes, exited
 * ones' slots freed; cli__follow() is one such look, without waiting), asks
 * cli__follow_alive() instead of cli__target_alive() (the command's exit is collected by
 * the tree), and ends with cli__follow_end() before the probes are restored.
 */
void cli__follow_enable(void);
bool cli__follow_enabled(void);
bool cli__follow_active(void);
int cli__follow_spawn(char **cmd, struct cli_target *ct, struct bpfi_log *log);
int cli__follow(struct cli_target *cts, unsigned int *n, unsigned int max);
void cli__follow_run(struct cli_target *cts, unsigned int *n, unsigned int max, int ms);
bool cli__follow_alive(struct cli_target *ct);
void cli__follow_end(struct cli_target *cts, unsigned int n);
/* Syscall sites of modules loaded since the last look (dlopen), planned and patched. */
int cli__cover_new_modules(struct cli_target *ct);

/* attach_cmd.c */
extern volatile sig_atomic_t cli__stop_requested;
void cli__on_signal(int sig);
int cli__inject_targets(const pid_t *pids, unsigned int nr_pids, char **cmd, struct cli_target *cts,
			unsigned int *ret_n);
bool cli__target_alive(struct cli_target *ct);
int cli__cmd_attach(int argc, char **argv);
/* -p PID (appended to @pids) and --duration SECONDS, shared by attach and fault. */
int cli__parse_pid(const char *arg, pid_t *pids, unsigned int *nr, unsigned int max);
int cli__parse_duration(const char *arg, double *ret);
int cli__cmd_detach(int argc, char **argv);
int cli__cmd_list(int argc, char **argv);

/*
 * args.c: a number option taken whole (no blanks, no stray sign or text, finite, in range),
 * or one line `bpfinject: OPT: 'TEXT': expected ...` naming the range and EXIT_FAILURE.
 * Decimal, or hexadecimal after 0x. cli__uint_ok() is the same test, silent.
 */
#define CLI_PID_MAX 4194304 /* the kernel's PID_MAX_LIMIT on 64-bit */
bool cli__uint_ok(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
int cli__parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *ret);
int cli__parse_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *ret);
/* @what: "a number of seconds"; @min_open: @min itself is refused */
int cli__parse_real(const char *opt, const char *s, double min, bool min_open, double max,
		    const char *what, double *ret);

/* fault.c */
int cli__cmd_fault(int argc, char **argv);
/* run.c */
int cli__cmd_run(int argc, char **argv);

/* printk.c: trace_printk lines as trace_pipe prints them */
void cli__print_printk(const struct bpfi_printk_line *line, void *cookie);
void cli__btf_plain(FILE *out, const struct btf *btf, uint32_t type_id, const void *data,
		    size_t size);

#endif
