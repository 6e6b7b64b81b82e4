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
};
#define bpfi_injector_opts__last_field timeout_ms

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
 * @cookie:        passed to dispatch (which site this is)
 */
struct bpfi_tramp_opts {
	uint64_t site_addr;
	uint64_t tramp_addr;
	uint64_t reloc_addr;
	const struct bpfi_relocation *reloc;
	uint64_t dispatch_addr;
	uint64_t cookie;
};

/** @brief **bpfi_tramp_reloc_offset()** where a trampoline's displaced instructions start. */
size_t bpfi_tramp_reloc_offset(void);

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
};
#define bpfi_target_opts__last_field timeout_ms

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
 * @brief **bpfi_target_list()** calls @fn for every process that carries a target block
 * (a snapshot of it). @return how many
 */
int bpfi_target_list(void (*fn)(pid_t pid, const struct bpfi_target_hdr *block, void *cookie),
		     void *cookie);

#ifdef __cplusplus
}
#endif

#endif
