/* SPDX-License-Identifier: MIT */
/*
 * The ptrace session with a target process (DESIGN.md D4): seize every thread, run system
 * calls inside the target through a `syscall` instruction it already has (the vDSO's), read
 * and write its memory, and let it go exactly as it was.
 */
#ifndef BPFINJECT_INJECTOR_H
#define BPFINJECT_INJECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bpfinject/common.h>
#include <bpfinject/jit.h>
#include <bpfinject/target.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bpfi_injector;

struct bpfi_injector_opts {
	size_t sz;
	unsigned int timeout_ms; /* per wait for a thread to stop; 0: 2000 ms */
	/* Hold only the main thread (enough for remote system calls): the others run on. Only
	 * patching needs every thread stopped (D4). */
	bool one_thread;
	/* The caller already traces every thread of the process (it is the supervisor of a
	 * spawned tree, bpfi_tree_spawn()): stop them with PTRACE_INTERRUPT instead of seizing,
	 * and at detach continue them (a group-stopped one with PTRACE_LISTEN), still traced. */
	bool borrow;
};
#define bpfi_injector_opts__last_field borrow

/**
 * @brief **bpfi_injector_attach()** seizes every thread of @pid (rescanning /proc/PID/task
 * until no thread is new) and stops them all. On failure nothing is left attached.
 * @return 0, or -ESRCH (no such process, or it exited), -EPERM (not permitted, or already
 * traced: the log says which), -ETIMEDOUT, with one line in @log
 */
int bpfi_injector_attach(pid_t pid, const struct bpfi_injector_opts *opts,
			 struct bpfi_injector **ret_inj, struct bpfi_log *log);

/**
 * @brief **bpfi_injector_detach()** restores every thread's registers (with syscall-restart
 * handling) and lets the target run. NULL is a no-op.
 */
void bpfi_injector_detach(struct bpfi_injector *inj);

pid_t bpfi_injector_pid(const struct bpfi_injector *inj);
unsigned int bpfi_injector_nr_threads(const struct bpfi_injector *inj);

/**
 * @brief **bpfi_injector_syscall()** runs system call @nr with @args (up to 6) in the target,
 * on its main thread, through a `syscall` instruction of the target's vDSO.
 * @return 0 and the raw result (-errno on failure inside the target) in @ret, or a negative
 * errno when the remote call itself failed (target died: -ESRCH; seccomp: -EPERM)
 */
int bpfi_injector_syscall(struct bpfi_injector *inj, long nr, const long *args, int nargs,
			  long *ret, struct bpfi_log *log);

/** @brief **bpfi_injector_read()** / **bpfi_injector_write()**: the target's memory, through
 * /proc/PID/mem (writes reach read-only text, as ptrace's FOLL_FORCE does). */
int bpfi_injector_read(struct bpfi_injector *inj, uint64_t addr, void *buf, size_t len,
		       struct bpfi_log *log);
int bpfi_injector_write(struct bpfi_injector *inj, uint64_t addr, const void *buf, size_t len,
			struct bpfi_log *log);

/**
 * @brief **bpfi_injector_send_fd()** gives the target a duplicate of our @fd (over a unix
 * socket, SCM_RIGHTS; close-on-exec in the target). @return 0 and its number there
 */
int bpfi_injector_send_fd(struct bpfi_injector *inj, int fd, int *ret_target_fd,
			  struct bpfi_log *log);

/**
 * @brief **bpfi_injector_map_fd()** maps @target_fd (MAP_SHARED, @prot) in the target; with
 * @near non-zero, within rel32 reach (±2 GiB) of it, as trampolines must be.
 * @return 0 and the address in the target
 */
int bpfi_injector_map_fd(struct bpfi_injector *inj, int target_fd, size_t size, int prot,
			 uint64_t near, uint64_t *ret_addr, struct bpfi_log *log);

/**
 * @brief **bpfi_stub_image()** the stub built into bpfinject: position-independent bytes
 * starting with a struct bpfi_stub_header, valid for the life of the process.
 */
int bpfi_stub_image(const uint8_t **ret_image, size_t *ret_size, struct bpfi_log *log);

/**
 * @brief **bpfi_elf_find_function()** finds function @name in the ELF file @path (.symtab,
 * .dynsym, then the separate debug file found by build id; `name` matches versioned symbols).
 * @param ret_off  the function's offset in the file (what a uprobe names)
 * @param ret_size its size in bytes (0 when the symbol does not say), may be NULL
 * @return 0, or -ENOENT / -ENOEXEC with one line in @log
 */
int bpfi_elf_find_function(const char *path, const char *name, uint64_t *ret_off,
			   uint64_t *ret_size, struct bpfi_log *log);

/**
 * @brief **bpfi_elf_function_at()** the function of @path that contains file offset @off:
 * its start (a file offset) and size (.symtab, .dynsym, then the debug file); a function of
 * unknown size (0) only where it starts exactly at @off. @return 0 or -ENOENT (no symbol covers it)
 */
int bpfi_elf_function_at(const char *path, uint64_t off, uint64_t *ret_func_off, uint64_t *ret_size,
			 struct bpfi_log *log);

/**
 * @brief **bpfi_elf_image_symbol()** the value of function @name in the dynamic symbol table
 * of an ELF image already in memory (the vDSO). @return 0, -ENOENT or -ENOEXEC
 */
int bpfi_elf_image_symbol(const void *image, size_t size, const char *name, uint64_t *ret_value);

/** @brief **bpfi_elf_function_name_at()** the same, with the function's name in @name. */
int bpfi_elf_function_name_at(const char *path, uint64_t off, uint64_t *ret_func_off,
			      uint64_t *ret_size, char *name, size_t name_size,
			      struct bpfi_log *log);

/**
 * @brief **bpfi_retprobe_check()** may a return probe go on the function at file offset
 * @func_off (@func_size bytes, 0 if unknown) of @path? Refused: any function of a Go module
 * (Go's runtime reads the return addresses it would replace), and a function an exception
 * can unwind through (in a module that throws or catches, one that calls anything).
 * @return 0, or -EOPNOTSUPP with the reason in one line in @log
 */
int bpfi_retprobe_check(const char *path, uint64_t func_off, uint64_t func_size,
			struct bpfi_log *log);

/**
 * @brief **bpfi_proc_find_module()** the path of the file @pid has mapped under @name: an
 * absolute path as given, or (libbpf's rule) a file whose base name starts with @name, as in
 * `libc.so.6`. @return 0, or -ENOENT "process N has not mapped 'NAME'"
 */
int bpfi_proc_find_module(pid_t pid, const char *name, char *ret_path, size_t size,
			  struct bpfi_log *log);

/**
 * @brief **bpfi_proc_offset_to_addr()** where offset @file_off of @file is mapped executable
 * in @pid. @return 0, or -ENOENT with one line in @log
 */
int bpfi_proc_offset_to_addr(pid_t pid, const char *file, uint64_t file_off, uint64_t *ret_addr,
			     struct bpfi_log *log);

/**
 * @brief **bpfi_injector_spawn()** starts @argv[0] (searched in PATH) with @argv, held at the
 * first instruction of its main() (found by symbol, or through __libc_start_main when the
 * binary is stripped). The process is our child. On failure it is killed.
 */
int bpfi_injector_spawn(char *const argv[], struct bpfi_injector **ret_inj, struct bpfi_log *log);

/*
 * A spawned command followed exactly through fork and exec (spawn.c): we stay the ptrace
 * tracer of its whole process tree (fork, vfork, clone and exec events; no EXITKILL, so the
 * tree runs on if we die), and every process of it that execs is held at its new main()
 * before any of its code runs, for the caller to inject. Every other stop is made
 * transparent: signals are delivered, group-stops kept (PTRACE_LISTEN: SIGCONT still
 * wakes them), exits collected so that real parents get theirs.
 */
struct bpfi_tree;
struct bpfi_target;

/**
 * bpfi_tree_exec_fn - a process of the tree has exec'd.
 * @inj: a borrowed session holding it at its new main() (bpfi_injector_opts.borrow), owned
 *       by the callee: hand it to bpfi_target_open() as opts->inj (which takes it over) or
 *       bpfi_injector_detach() it; either lets the process go on. NULL when it could not be
 *       held there (@why says why): it runs on without probes.
 */
typedef void (*bpfi_tree_exec_fn)(pid_t pid, struct bpfi_injector *inj, const char *why,
				  void *cookie);

/**
 * @brief **bpfi_tree_spawn()** starts @argv as bpfi_injector_spawn() does, as the root of a
 * followed tree. @ret_inj holds it at main (borrowed, as for bpfi_tree_exec_fn).
 */
int bpfi_tree_spawn(char *const argv[], struct bpfi_tree **ret_tree, struct bpfi_injector **ret_inj,
		    struct bpfi_log *log);

/**
 * @brief **bpfi_tree_poll()** handles every stop and exit the tree has reported, without
 * blocking; @on_exec is called (synchronously) for each process that exec'd.
 * @return the number of events handled
 */
int bpfi_tree_poll(struct bpfi_tree *tree, bpfi_tree_exec_fn on_exec, void *cookie);

/** @brief the root's pid. */
pid_t bpfi_tree_root(const struct bpfi_tree *tree);

/**
 * @brief **bpfi_tree_traces()** whether task @tid is in the tree and has not exited (its
 * exit reaches the tracer first: a process its parent has yet to collect is not traced).
 */
bool bpfi_tree_traces(const struct bpfi_tree *tree, pid_t tid);

/**
 * @brief **bpfi_tree_root_exited()** whether the root has exited (it is reaped by
 * bpfi_tree_poll()), and then its wait status in @ret_status (may be NULL).
 */
bool bpfi_tree_root_exited(const struct bpfi_tree *tree, int *ret_status);

/**
 * @brief **bpfi_tree_detach()** lets go of every task of the tree (PTRACE_DETACH with the
 * signal it was about to receive, if any), leaving them running (or stopped, if they were
 * group-stopped), and frees @tree. NULL is a no-op.
 * @return the root's wait status if it has exited (and was reaped here or by
 * bpfi_tree_poll()), else -1: it is then an ordinary child again, for waitpid
 */
int bpfi_tree_detach(struct bpfi_tree *tree);

/**
 * @brief **bpfi_target_set_traced()** whether we are the tracer of the target's process (a
 * process of a bpfi_tree: bpfi_target_open() sets it when given a borrowed session). While
 * set, the target is held with borrowed sessions; clear it after bpfi_tree_detach().
 */
void bpfi_target_set_traced(struct bpfi_target *t, bool traced);

/* The patch at a hooked site: `jmp rel32` to its trampoline. */
#define BPFI_PATCH_LEN 5
/* Room for the relocated instructions of one site plus the jump back (x86 insns <= 15 bytes,
 * a relocated rel8 branch grows to rel32, an out-of-range jump back takes 14 bytes). */
#define BPFI_RELOC_MAX 128

/**
 * struct bpfi_relocation - the first instructions of a function, moved elsewhere.
 * @patch_len: bytes of whole instructions the 5-byte jump replaces at the site
 * @code_len:  bytes of @code: the instructions relocated, then a jump back to the site +
 *             @patch_len (omitted when the last one was an unconditional jump or a return)
 */
struct bpfi_relocation {
	uint32_t patch_len;
	uint32_t code_len;
	uint8_t code[BPFI_RELOC_MAX];
};

/**
 * @brief **bpfi_hook_relocate()** decides whether the entry of a function can take a 5-byte
 * jump, and produces its displaced instructions relocated to run at @new_addr (RIP-relative
 * operands and relative branches retargeted, rel8 branches widened).
 * @param func      the function's bytes, as far as it is known to extend (@func_len): the whole
 *                  body is scanned for branches into the bytes being replaced
 * @param func_addr the address those bytes have in the target
 * @return 0, or -EINVAL with one line saying why the site cannot be patched safely (too short
 * before a return, a call or syscall inside the window, a branch into it, an instruction that
 * cannot move)
 */
int bpfi_hook_relocate(const uint8_t *func, size_t func_len, uint64_t func_addr, uint64_t new_addr,
		       struct bpfi_relocation *ret_reloc, struct bpfi_log *log);

/**
 * @brief **bpfi_hook_relocate_call()** the same, choosing how a call that ends the window
 * moves: @unwindable_call (what bpfi_hook_relocate() does) pushes its original return
 * address and jumps, so that unwinders and Go's tracebacks see the address the code had,
 * at the price of the callee's return being mispredicted (about 35 ns here); otherwise the
 * call is made from the relocated code and returns there (no unwinder can pass it: for
 * modules without exceptions or Go).
 */
int bpfi_hook_relocate_call(const uint8_t *func, size_t func_len, uint64_t func_addr,
			    uint64_t new_addr, bool unwindable_call,
			    struct bpfi_relocation *ret_reloc, struct bpfi_log *log);

/**
 * @brief **bpfi_hook_check_branches()** for a site inside a function (func+offset): no branch
 * anywhere in the function's @func_len bytes may land in bytes 1..@len-1 of the window at
 * @win. @return 0 or -EINVAL with the branch named in @log
 */
int bpfi_hook_check_branches(const uint8_t *func, size_t func_len, uint64_t func_addr, uint64_t win,
			     uint32_t len, struct bpfi_log *log);

/**
 * @brief **bpfi_hook_check_boundary()** does @addr, inside the function whose first @func_len
 * bytes are @func (at @func_addr), start an instruction? Decodes the linear instruction
 * stream from the function's start. @return 0 or -EINVAL with one line in @log (inside an
 * instruction, or bytes that do not decode before it)
 */
int bpfi_hook_check_boundary(const uint8_t *func, size_t func_len, uint64_t func_addr,
			     uint64_t addr, struct bpfi_log *log);

/* Upper bound of one trampoline: frame code (~330 bytes) twice reloaded, plus relocations. */
#define BPFI_TRAMP_MAX 1024

/**
 * struct bpfi_tramp_opts - one function-entry trampoline.
 * @site_addr:     the hooked address (what the programs see as regs->ip)
 * @tramp_addr:    where the trampoline will live in the target
 * @reloc_addr:    the address @reloc was relocated for: @tramp_addr +
 *                 bpfi_tramp_reloc_offset()
 * @reloc:         the displaced instructions (bpfi_hook_relocate())
 * @dispatch_addr: `uint64_t dispatch(struct pt_regs *regs, uint64_t cookie)` in the target;
 *                 a non-zero result returns from the function at once with regs->ax
 * @cookie:        passed to dispatch (which site this is): a struct bpfi_site
 * @push_return_addr: `void push_return(uint64_t sp, struct bpfi_site *site)` in the target, or
 *                 0: at a function's first instruction, while the site has no entry program,
 *                 the trampoline only claims the return through it (no pt_regs is built)
 */
struct bpfi_tramp_opts {
	uint64_t site_addr;
	uint64_t tramp_addr;
	uint64_t reloc_addr;
	const struct bpfi_relocation *reloc;
	uint64_t dispatch_addr;
	uint64_t cookie;
	/* Not a function's first instruction: the flags are live there and are kept. */
	bool mid_function;
	uint64_t push_return_addr;
};

/**
 * @brief **bpfi_tramp_reloc_offset()** where a trampoline's displaced instructions start
 * (@push_return: the options will have a push_return_addr).
 */
size_t bpfi_tramp_reloc_offset(bool mid_function, bool push_return);

/**
 * @brief **bpfi_tramp_build()** writes the trampoline's machine code into @out.
 * @return 0 and its length, or -E2BIG / -EINVAL with one line in @log
 */
int bpfi_tramp_build(const struct bpfi_tramp_opts *opts, uint8_t *out, size_t size, size_t *ret_len,
		     struct bpfi_log *log);

/**
 * @brief **bpfi_tramp_build_return()** writes the return trampoline of a target: it calls
 * `uint64_t dispatch_return(struct pt_regs *regs, void *block)` and returns to the address
 * that gives. @return 0 and its length in @ret_len
 */
int bpfi_tramp_build_return(uint64_t dispatch_return, uint64_t block, uint8_t *out, size_t size,
			    size_t *ret_len, struct bpfi_log *log);

/*
 * An injected process: the stub, the arena, the target block and code areas mapped into it,
 * probes patched in and out. See injector/inject.c for the layout.
 */
struct bpfi_target;

struct bpfi_target_opts {
	size_t sz;
	int arena_fd; /* the session's arena (memfd); borrowed */
	unsigned int timeout_ms; /* per ptrace wait; 0: default */
	/* A session already holding the process stopped (bpfi_injector_spawn()): taken over (in
	 * every case: on failure it is let go), and the process stays stopped until
	 * bpfi_target_commit(). A borrowed one (bpfi_tree_exec_fn) makes the target traced
	 * (bpfi_target_set_traced()). NULL: attach by pid. */
	struct bpfi_injector *inj;
};
#define bpfi_target_opts__last_field inj

/**
 * @brief **bpfi_target_open()** maps the stub, the arena, a target block and per-thread state
 * into process @pid (stopping it only for the remote calls) and leaves it running, nothing
 * patched yet. On failure nothing is left stopped; what was mapped stays unused.
 */
int bpfi_target_open(pid_t pid, const struct bpfi_target_opts *opts, struct bpfi_target **ret_t,
		     struct bpfi_log *log);
/** @brief **bpfi_target_close()** frees the host side; the target keeps what it has. */
void bpfi_target_close(struct bpfi_target *t);

/** @brief the host's view of the target block (counters, tables). */
struct bpfi_target_hdr *bpfi_target_block(const struct bpfi_target *t);
/** @brief where the arena is in the target: JIT'd code addresses maps through it. */
uint64_t bpfi_target_arena_addr(const struct bpfi_target *t);
/** @brief JIT options for code that runs in this target (helpers, env, tail calls). */
void bpfi_target_jit_opts(const struct bpfi_target *t, struct bpfi_jit_opts *opts,
			  uint64_t helper_addrs[BPFI_HELPER_MAX]);

/**
 * @brief **bpfi_target_add_code()** copies @code into an executable area of the target
 * (within ±2 GiB of @near when non-zero). @return 0 and its address there
 */
int bpfi_target_add_code(struct bpfi_target *t, const void *code, size_t len, uint64_t near,
			 uint64_t *ret_addr, struct bpfi_log *log);
/** @brief **bpfi_target_set_prog()** names program @id's code for tail calls. */
int bpfi_target_set_prog(struct bpfi_target *t, uint32_t id, uint64_t fn, uint64_t tail_entry);

/**
 * @brief **bpfi_target_add_probe()** runs @prog_fn (a bpfi_jit_fn in the target) at entry to
 * (or, with @retprobe, at return from) the code at @addr, in the function starting at @func of
 * @func_size bytes (0: unknown). The site is planned now and patched by commit.
 */
int bpfi_target_add_probe(struct bpfi_target *t, uint64_t addr, uint64_t func, uint64_t func_size,
			  bool retprobe, uint64_t prog_fn, struct bpfi_log *log);

/**
 * @brief **bpfi_target_commit()** writes every planned jump, in one stop of every thread, at a
 * moment no thread is inside the bytes replaced. All or nothing.
 */
int bpfi_target_commit(struct bpfi_target *t, struct bpfi_log *log);

/**
 * @brief **bpfi_target_restore()** puts every patched byte back and stops the programs; code
 * a thread may still be in, or return into, stays mapped.
 */
int bpfi_target_restore(struct bpfi_target *t, struct bpfi_log *log);

/**
 * @brief **bpfi_target_find()** takes back a target left with --persist (or by a bpfinject
 * that died): its block is found by name and mapped again; bpfi_target_restore() then removes
 * every patch. @return 0, -ESRCH, or -ENOENT "process N carries no bpfinject programs"
 */
int bpfi_target_find(pid_t pid, struct bpfi_target **ret_t, struct bpfi_log *log);

/** @brief records who holds the target: our pid, or 0 when leaving it with --persist. */
void bpfi_target_set_owner(struct bpfi_target *t, pid_t owner);
pid_t bpfi_target_pid(const struct bpfi_target *t);

/**
 * @brief **bpfi_target_add_map()** records a map the target's programs use (shown by
 * `bpfinject list`); @arena_off is where its header is in the arena. Past
 * BPFI_TARGET_MAX_MAPS maps, the others are simply not listed.
 */
void bpfi_target_add_map(struct bpfi_target *t, const char *name, uint32_t type, uint32_t id,
			 uint64_t arena_off);

/**
 * @brief **bpfi_target_list()** calls @fn for every process that carries a target block
 * (a snapshot of it). @return how many
 */
int bpfi_target_list(void (*fn)(pid_t pid, const struct bpfi_target_hdr *block, void *cookie),
		     void *cookie);

/* ---- Syscall tracepoints (issue 4): the event table, syscall sites, site trampolines ---- */

/**
 * struct bpfi_tp_field - one field of a tracefs event record, as its `format` file says.
 */
struct bpfi_tp_field {
	const char *type; /* "const char *", "int", ... */
	const char *name;
	uint16_t offset;
	uint16_t size;
	bool is_signed;
};

/**
 * struct bpfi_syscall - one x86-64 system call and its tracefs events.
 * @nr:       its number
 * @name:     its name in <asm/unistd_64.h> ("stat", "umount2")
 * @event:    the suffix of its events (`syscalls/sys_enter_EVENT`): usually @name, but
 *            "newstat", "umount", ...; NULL when the kernel has no event for it
 * @enter_id: id of sys_enter_EVENT on the kernel the table was generated on (0: none)
 * @exit_id:  id of sys_exit_EVENT
 * @nr_args:  fields of the sys_enter record after `__syscall_nr`, each an 8-byte slot at
 *            16 + 8 * i; @args describes them. sys_exit has `long ret` at 16.
 */
struct bpfi_syscall {
	int nr;
	const char *name;
	const char *event;
	uint32_t enter_id;
	uint32_t exit_id;
	unsigned int nr_args;
	const struct bpfi_tp_field *args;
};

/* The fixed part of every syscall record: the common header and `__syscall_nr` at 8. */
#define BPFI_SYSCALL_ARGS_OFF 16
#define BPFI_SYSCALL_RET_OFF  16

/** @brief **bpfi_syscall_table()** every known syscall, by number. @return the count */
size_t bpfi_syscall_table(const struct bpfi_syscall **ret_table);

/**
 * @brief **bpfi_syscall_by_name()** finds "openat", "sys_enter_openat", "sys_exit_openat" or
 * "syscalls/sys_enter_openat". @return 0, or -ENOENT "no syscall named 'foo'"
 */
int bpfi_syscall_by_name(const char *name, const struct bpfi_syscall **ret, struct bpfi_log *log);
/** @brief **bpfi_syscall_by_nr()** @return 0, or -ENOENT */
int bpfi_syscall_by_nr(long nr, const struct bpfi_syscall **ret, struct bpfi_log *log);
/**
 * @brief **bpfi_syscall_by_event_id()** the syscall whose sys_enter (@ret_exit false) or
 * sys_exit (@ret_exit true) event has @id in the built-in table. @return 0, or -ENOENT
 */
int bpfi_syscall_by_event_id(uint32_t id, const struct bpfi_syscall **ret, bool *ret_exit,
			     struct bpfi_log *log);

/** @brief ids of raw_syscalls/sys_enter and sys_exit in the built-in table. */
void bpfi_syscall_raw_ids(uint32_t *ret_enter, uint32_t *ret_exit);

/**
 * struct bpfi_syscall_ids - the ids a program or perf_event_open must use on this kernel.
 * @live: read from tracefs now (false: tracefs was not readable, the built-in ids)
 */
struct bpfi_syscall_ids {
	uint32_t enter;
	uint32_t exit;
	bool live;
};

/**
 * @brief **bpfi_syscall_live_ids()** the event ids of @sc (NULL: raw_syscalls) on the running
 * kernel: read from @tracefs (NULL: /sys/kernel/tracing, then /sys/kernel/debug/tracing) when
 * readable, else the built-in ones. Ids are handed out at boot in registration order, so
 * another kernel version or config (or a module adding events) may number them differently.
 * @return 0, or -ENOENT when @sc has no event
 */
int bpfi_syscall_live_ids(const struct bpfi_syscall *sc, const char *tracefs,
			  struct bpfi_syscall_ids *ret, struct bpfi_log *log);

/**
 * struct bpfi_syscall_site - one `syscall` instruction found in a module.
 * @addr:         its address (file virtual address + the bias given to the scan)
 * @win_addr:     start of the bytes a jump would replace: whole instructions ending with
 *                the `syscall` (@win_len >= BPFI_PATCH_LEN bytes)
 * @nr:           the syscall number when a `mov $nr, %eax` sets it in the same block,
 *                else -1 (read from %rax at run time, as in the syscall() wrapper)
 * @rewritable:   the window is safe to replace; else @reason says why not
 * @restart_safe: the `syscall` bytes stay intact behind the jump, so a thread that the
 *                kernel restarts at it (signal + SA_RESTART) still runs it
 */
struct bpfi_syscall_site {
	uint64_t addr;
	uint64_t win_addr;
	uint8_t win_len;
	bool rewritable;
	bool restart_safe;
	int nr;
	const char *reason;
};

/** struct bpfi_syscall_scan - the sites of one module, by address. */
struct bpfi_syscall_scan {
	struct bpfi_syscall_site *sites;
	size_t nr_sites;
	size_t nr_rewritable;
	size_t nr_const; /* sites whose number is a constant */
};

/**
 * @brief **bpfi_syscall_scan_code()** finds the `syscall` instructions that a linear sweep
 * of @code (mapped at @addr) decodes, and classifies each. @starts (may be NULL) lists
 * addresses where decoding must resynchronise (function starts), sorted.
 * Appends to @scan. @return 0 or -ENOMEM
 */
int bpfi_syscall_scan_code(const uint8_t *code, size_t len, uint64_t addr, const uint64_t *starts,
			   size_t nr_starts, struct bpfi_syscall_scan *scan, struct bpfi_log *log);

/**
 * @brief **bpfi_syscall_scan_file()** the sites of every executable section (or, with no
 * section headers, executable PT_LOAD segment) of the ELF file @path, at @bias + their
 * virtual address. @return 0, or -ENOENT / -ENOEXEC / -ENOMEM with one line in @log
 */
int bpfi_syscall_scan_file(const char *path, uint64_t bias, struct bpfi_syscall_scan *ret,
			   struct bpfi_log *log);
void bpfi_syscall_scan_free(struct bpfi_syscall_scan *scan);

/* The record a site trampoline builds for enter_dispatch: the tracefs sys_enter layout (also
 * raw_syscalls/sys_enter: `long id` at 8), then what the dispatcher may answer. The trampoline
 * leaves the common header zero: the dispatcher fills common_type and common_pid. */
struct bpfi_syscall_enter_rec {
	uint16_t common_type;
	uint8_t common_flags;
	uint8_t common_preempt_count;
	int32_t common_pid;
	int64_t nr; /* __syscall_nr (int at 8) / raw id (long at 8) */
	uint64_t args[6]; /* rdi, rsi, rdx, r10, r8, r9 */
	/* end of the tracefs record (64 bytes) */
	int64_t override_ret; /* enter_dispatch returned non-zero: the syscall's result */
	uint64_t reserved;
};

/* sys_exit_* and raw_syscalls/sys_exit. */
struct bpfi_syscall_exit_rec {
	uint16_t common_type;
	uint8_t common_flags;
	uint8_t common_preempt_count;
	int32_t common_pid;
	int64_t nr;
	int64_t ret;
};

#define BPFI_SCTRAMP_MAX 2048

/**
 * struct bpfi_sctramp_opts - one syscall site trampoline.
 * @site:          the site (rewritable), with @window its @site->win_len original bytes
 * @tramp_addr:    where the trampoline will live (within ±2 GiB of the site, else the jump
 *                 back takes 14 bytes and the patch cannot reach it: refused)
 * @enter_dispatch: `uint64_t enter(struct bpfi_syscall_enter_rec *rec, uint64_t cookie)`;
 *                 non-zero: the syscall does not run and returns rec->override_ret
 * @exit_dispatch: `void exit(struct bpfi_syscall_exit_rec *rec, uint64_t cookie)`
 * @via_gadgets:   the catch-all is on: each `syscall` is made by a gadget `syscall; jmp
 *                 back` inside the range Syscall User Dispatch lets through, reached with
 *                 `jmp [rip]` (14 bytes, nothing pushed); @gadget(@gadget_ctx, back) gives
 *                 one, or 0 when none is left (NULL: size the code, address 0)
 */
struct bpfi_sctramp_opts {
	const struct bpfi_syscall_site *site;
	const uint8_t *window;
	uint64_t tramp_addr;
	uint64_t enter_dispatch;
	uint64_t exit_dispatch;
	uint64_t cookie;
	bool via_gadgets;
	uint64_t (*gadget)(void *ctx, uint64_t back);
	void *gadget_ctx;
};

/** @brief **bpfi_sctramp_build()** writes the trampoline into @out. @return 0 and its length */
int bpfi_sctramp_build(const struct bpfi_sctramp_opts *opts, uint8_t *out, size_t size,
		       size_t *ret_len, struct bpfi_log *log);

/**
 * @brief **bpfi_sctramp_patch()** the bytes to write over the site's window: `jmp rel32` to
 * @tramp_addr, then the window's own remaining bytes (never run, except the `syscall` a
 * restarted thread may resume at). @patch has room for @site->win_len bytes.
 */
int bpfi_sctramp_patch(const struct bpfi_syscall_site *site, const uint8_t *window,
		       uint64_t tramp_addr, uint8_t *patch, struct bpfi_log *log);

/* ---- end of syscall tracepoints ---- */

/* ---- Syscall tracepoints in a target (issue 4): programs, sites planned and committed ---- */

/**
 * @brief **bpfi_target_add_syscall_prog()** runs @prog_fn (a bpfi_jit_fn in the target) on
 * syscalls/sys_enter_X (@exit false) or sys_exit_X (@exit true) of syscall number @nr, or on
 * raw_syscalls/sys_enter / sys_exit when @nr is -1. The record's common_type is the event id
 * read from tracefs when readable, else the built-in one. Runs once sites are planned
 * (bpfi_target_plan_syscalls()) and committed (bpfi_target_commit()).
 * @return 0, -ENOENT (no such syscall, or it has no tracepoint), -E2BIG (too many programs)
 */
int bpfi_target_add_syscall_prog(struct bpfi_target *t, long nr, bool exit, uint64_t prog_fn,
				 struct bpfi_log *log);

/**
 * @brief **bpfi_target_add_syscall_event()** the same, for a tracepoint named as the runtime
 * records it: @name "syscalls:sys_enter_openat", "syscalls/sys_exit_read",
 * "raw_syscalls:sys_enter"; with @name NULL, by tracefs event id @id (the perf attr config).
 * @return 0, -ENOENT "no syscall tracepoint ..." or as bpfi_target_add_syscall_prog()
 */
int bpfi_target_add_syscall_event(struct bpfi_target *t, const char *name, uint32_t id,
				  uint64_t prog_fn, struct bpfi_log *log);

/* Distinct reasons kept per module, each with a count and the first address. */
#define BPFI_SC_REPORT_REASONS 6

/**
 * struct bpfi_syscall_module - what became of the syscall sites of one mapped module.
 * @found:     `syscall` instructions in its executable mapping
 * @planned:   sites given a trampoline (bpfi_target_plan_syscalls())
 * @rewritten: sites patched by bpfi_target_commit()
 * @why:       reasons the others were not, most frequent first after commit
 */
struct bpfi_syscall_module {
	char path[256];
	uint64_t bias;
	unsigned int found;
	unsigned int planned;
	unsigned int rewritten;
	unsigned int nr_why;
	struct {
		const char *reason;
		unsigned int count;
		uint64_t first_addr;
	} why[BPFI_SC_REPORT_REASONS];
};

/**
 * @brief **bpfi_target_plan_syscalls()** finds the `syscall` instructions of every module
 * the target has mapped executable (the executable, ld.so, libc, other libraries; not the
 * vDSO, not bpfinject's own code), builds a trampoline within ±2 GiB of each one that can be
 * rewritten safely, and plans its jump: bpfi_target_commit() writes them in the same stop as
 * uprobes, skipping (and reporting) a site a thread is inside at that moment;
 * bpfi_target_restore() puts every byte back. Calling it again plans only modules mapped
 * since (dlopen). @return 0, or a negative errno with one line in @log
 */
int bpfi_target_plan_syscalls(struct bpfi_target *t, struct bpfi_log *log);

/**
 * @brief **bpfi_target_syscall_report()** the modules seen so far, with their counts.
 * Valid until the next plan or close. @return the number of modules
 */
size_t bpfi_target_syscall_report(const struct bpfi_target *t,
				  const struct bpfi_syscall_module **ret_modules);

/**
 * @brief **bpfi_target_catch_all()** turns on the catch-all for system calls no rewritten
 * site serves (sites that could not be rewritten, code generated at run time, modules loaded
 * since): Syscall User Dispatch sends them to the stub as SIGSYS, where the programs run and
 * the call is made. Costs a signal per such call (see the README); rewritten sites keep their
 * cost. Call before bpfi_target_plan_syscalls(); bpfi_target_commit() arms every thread,
 * children arm themselves, bpfi_target_restore() disarms them. The SIGSYS action stays the
 * stub's after detach (it then acts as the default). At arming, threads that block SIGSYS
 * unblock it and handlers' masks lose it. Refused, with the reason, for a process that handles
 * SIGSYS or uses Syscall User Dispatch itself, and on kernels before 6.4. While it is on, rt_sigaction(SIGSYS) in the target fails with EINVAL and masks never
 * block SIGSYS. @return 0, or a negative errno with one line in @log
 */
int bpfi_target_catch_all(struct bpfi_target *t, struct bpfi_log *log);

/** @brief **bpfi_target_catch_all_caught()** system calls that came through the catch-all */
uint64_t bpfi_target_catch_all_caught(const struct bpfi_target *t);

/* ---- end of syscall tracepoints in a target ---- */

#ifdef __cplusplus
}
#endif

#endif
