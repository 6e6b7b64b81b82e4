/* SPDX-License-Identifier: MIT */
/*
 * The runtime's object model, shared by the files of runtime/ (kubo-style: prototypes grouped
 * by the file that defines them).
 *
 * Every object (map, program, BTF, link, perf event) is a real fd: a memfd named after the
 * object, so close/dup/fcntl behave as for kernel objects. The object is found from any fd
 * that refers to it by the memfd's inode number (dup'ed fds share it), never by fd number.
 * Objects are reference counted by the fds we handed out and by internal users (a map held by
 * a program, a program held by a link); the last put frees it.
 */
#ifndef BPFI_RUNTIME_INTERNAL_H
#define BPFI_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <bpfinject/arena.h>
#include <bpfinject/helpers.h>
#include <bpfinject/jit.h>
#include <bpfinject/runtime.h>

/* Object ids and program slots: ids index env.progs, so they are small and bounded. */
#define RT_MAX_PROGS 4096
#define RT_MAX_OBJS  65536

enum rt_kind {
	RT_MAP = 1,
	RT_PROG,
	RT_BTF,
	RT_LINK,
	RT_PERF,
};

struct rt_map {
	struct bpfi_map_hdr *hdr;	/* in the arena */
	uint32_t btf_fd_id;		/* BTF object id, 0 if none */
	uint32_t btf_key_type_id;
	uint32_t btf_value_type_id;
	uint32_t map_extra;
};

struct rt_prog {
	uint32_t type;			/* enum bpf_prog_type */
	uint32_t expected_attach_type;
	uint32_t insn_cnt;
	struct bpf_insn *insns;		/* as loaded (pseudo ld_imm64 still present) */
	struct bpf_insn *xlated;	/* relocated for this process: maps resolved to addresses */
	struct bpfi_jit_image *image;	/* NULL when running with the interpreter */
	bpfi_jit_fn jit_func;
	uint32_t nr_maps;
	uint32_t *map_ids;		/* maps the program uses (held) */
	char license[128];
	uint8_t tag[8];
};

struct rt_btf {
	void *data;
	uint32_t size;
};

struct rt_link {
	uint32_t prog_id;
	uint32_t attach_type;		/* enum bpf_attach_type */
	uint32_t perf_id;		/* the perf event the link attaches to, 0 if none */
};

/* A perf event: a uprobe/tracepoint attach point (recorded), or a BPF_OUTPUT buffer. */
struct rt_perf {
	uint32_t type;			/* PERF_TYPE_* or the uprobe PMU's type */
	uint64_t config, config1, config2;
	char *path;			/* uprobe: config1 read as a string, owned */
	pid_t pid;
	int cpu;
	bool enabled;
	uint32_t prog_id;		/* attached program (IOC_SET_BPF or a link), 0 if none */
	uint64_t cookie;
	uint64_t perfbuf_off;		/* BPF_OUTPUT: perf buffer in the arena, 0 until mmap */
	uint32_t data_pages;
};

struct rt_obj {
	enum rt_kind kind;
	uint32_t id;			/* per kind, as the kernel numbers them */
	int refs;
	ino_t ino;			/* of the memfd: the key from any fd */
	char name[16];
	union {
		struct rt_map map;
		struct rt_prog prog;
		struct rt_btf btf;
		struct rt_link link;
		struct rt_perf perf;
	};
};

/* The process-wide state: the kernel we stand in for. Guarded by lock. */
struct runtime {
	pthread_mutex_t lock;
	bool active;
	struct bpfi_runtime_opts opts;
	struct bpfi_arena *arena;
	struct bpfi_env env;
	bpfi_helper_fn helpers[BPFI_HELPER_MAX];
	struct bpfi_prog_entry progs[RT_MAX_PROGS];	/* env.progs, by program id */
	struct rt_obj **objs;				/* every live object */
	uint32_t nr_objs, cap_objs;
	uint32_t next_id[RT_PERF + 1];
};

extern struct runtime runtime__rt;

/* objects.c */
int runtime__obj_new(enum rt_kind kind, const char *name, struct rt_obj **ret_obj, int *ret_fd);
struct rt_obj *runtime__obj_get_fd(int fd, enum rt_kind kind);	/* takes a ref; NULL: -EBADF/-EINVAL */
struct rt_obj *runtime__obj_get_id(uint32_t id, enum rt_kind kind);
void runtime__obj_put(struct rt_obj *obj);
int runtime__obj_close_fd(int fd);	/* drops the fd's reference; the caller closes the fd */

/* bpf_cmd.c: one function per bpf command, attr already copied and size-checked */
long runtime__bpf(int cmd, void *attr, unsigned int size);

/* prog.c */
int runtime__prog_load(void *attr, unsigned int size);
int runtime__prog_test_run(void *attr, unsigned int size);

/* perf.c */
long runtime__perf_event_open(void *attr, pid_t pid, int cpu, int group_fd, unsigned long flags);
long runtime__perf_ioctl(struct rt_obj *obj, unsigned long request, unsigned long arg);
int runtime__link_create(void *attr, unsigned int size);

/* mmap.c */
void *runtime__mmap(struct rt_obj *obj, void *addr, size_t len, int prot, int flags, off_t off);

/* epoll.c */
int runtime__epoll_ctl(int epfd, int op, int fd, void *event, bool *ret_handled);
int runtime__epoll_wait(int epfd, void *events, int maxevents, int timeout);

#endif
