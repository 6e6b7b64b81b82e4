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

#include <linux/bpf.h>
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
	struct bpfi_map_hdr *hdr; /* in the arena */
	uint32_t btf_fd_id; /* BTF object id, 0 if none */
	uint32_t btf_key_type_id;
	uint32_t btf_value_type_id;
	uint32_t map_extra;
};

struct rt_prog {
	uint32_t type; /* enum bpf_prog_type */
	uint32_t expected_attach_type;
	uint32_t insn_cnt;
	struct bpf_insn *insns; /* as loaded; map refs as the kernel dumps them (imm = id) */
	struct bpf_insn *xlated; /* relocated for this process: maps resolved to addresses */
	struct bpfi_jit_image *image; /* NULL when running with the interpreter */
	bpfi_jit_fn jit_func;
	uint32_t nr_maps;
	uint32_t *map_ids; /* maps the program uses (held) */
	char license[128];
	uint8_t tag[8];
	uint32_t btf_id; /* prog_btf_fd's BTF object id, 0 if none */
	uint32_t uid; /* created_by_uid */
	uint64_t load_time; /* CLOCK_BOOTTIME ns, as bpf_prog_info.load_time */
	bool gpl;
	bool jited; /* jit_func is set (else the interpreter runs it) */
};

struct rt_btf {
	void *data;
	uint32_t size;
};

struct rt_link {
	uint32_t prog_id;
	uint32_t attach_type; /* enum bpf_attach_type */
	uint32_t perf_id; /* the perf event the link attaches to, 0 if none */
};

/* A perf event: a uprobe/tracepoint attach point (recorded), or a BPF_OUTPUT buffer. */
struct rt_perf {
	uint32_t type; /* PERF_TYPE_* or the uprobe PMU's type */
	uint64_t config, config1, config2;
	char *path; /* uprobe: config1 read as a string, owned */
	pid_t pid;
	int cpu;
	bool enabled;
	uint32_t prog_id; /* attached program (IOC_SET_BPF or a link), 0 if none */
	uint64_t cookie;
	uint64_t perfbuf_off; /* BPF_OUTPUT: perf buffer in the arena, 0 until mmap */
	uint32_t data_pages;
};

struct rt_obj {
	enum rt_kind kind;
	uint32_t id; /* per kind, as the kernel numbers them */
	int refs;
	bool fd_open; /* some fd of ours still names it (holds one of @refs) */
	ino_t ino; /* of the memfd: the key from any fd */
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
	struct bpfi_prog_entry progs[RT_MAX_PROGS]; /* env.progs, by program id */
	struct rt_obj **objs; /* every live object */
	uint32_t nr_objs, cap_objs;
	uint32_t next_id[RT_PERF + 1];
	dev_t memfd_dev; /* st_dev of every memfd (one tmpfs) */
	struct bpfi_map_hdr *printk_ring; /* env.printk_ring, also arena printk_off */
	bool finalizing; /* fini: puts no longer free */
};

/*
 * Locking: runtime__rt.lock is recursive. bpfi_runtime_bpf() holds it for a whole command
 * (PROG_TEST_RUN only while it takes its reference); the objects.c functions take it
 * themselves, so they may be called with or without it held. Lock order: epoll.c's
 * registrations lock may be held while taking runtime__rt.lock, never the other way round;
 * mmap.c's mappings lock is a leaf (taken last, e.g. by MAP_FREEZE under runtime__rt.lock).
 * Release hooks may run with runtime__rt.lock held by a bpf command.
 *
 * Return conventions: -errno as the raw system call. runtime__mmap() returns the address or
 * (void *)-errno (a value in [-4095, -1]), as the raw mmap system call.
 */
#define RT_ERR_PTR(err) ((void *)(long)(err))
#define RT_IS_ERR(p)	((unsigned long)(p) > -4096UL)

/* The kernel's internal ENOTSUPP: what a 6.x kernel returns for a missing map/prog op. */
#define RT_ENOTSUPP 524

extern struct runtime runtime__rt;

/* objects.c */
int runtime__obj_new(enum rt_kind kind, const char *name, struct rt_obj **ret_obj, int *ret_fd);
struct rt_obj *runtime__obj_get_fd(int fd,
				   enum rt_kind kind); /* takes a ref; NULL: -EBADF/-EINVAL */
/* As runtime__obj_get_fd() with the kernel's error: -EBADF (not an fd), -EINVAL (not ours/kind). */
int runtime__obj_lookup_fd(int fd, enum rt_kind kind, struct rt_obj **ret_obj);
struct rt_obj *runtime__obj_get_id(uint32_t id, enum rt_kind kind); /* takes a ref */
/* The smallest live id > @id of @kind, -ENOENT after the last (BPF_*_GET_NEXT_ID). */
int runtime__obj_next_id(uint32_t id, enum rt_kind kind, uint32_t *ret_id);
/* A new fd (>= 3, O_CLOEXEC) for @obj, as BPF_*_GET_FD_BY_ID: dups a live fd or makes one. */
int runtime__obj_new_fd(struct rt_obj *obj);
void runtime__obj_get(struct rt_obj *obj);
void runtime__obj_put(struct rt_obj *obj);
/* Closes @fd (raw system call); drops the fds' reference when no other fd names the object. */
int runtime__obj_close_fd(int fd);
bool runtime__obj_owns_fd(int fd);
void runtime__obj_free_all(void); /* bpfi_runtime_fini() */

/* map_cmd.c */
/* Copies an object name as the kernel's bpf_obj_name_cpy(): [A-Za-z0-9_.], -EINVAL otherwise. */
int runtime__name_copy(char *dst, const char *src, size_t size);
long runtime__map_cmd(int cmd, union bpf_attr *attr, unsigned int size);
int runtime__map_get_info(struct rt_obj *obj, void *info, uint32_t *info_len);

/* btf.c */
int runtime__btf_load(union bpf_attr *attr, unsigned int size);
int runtime__btf_get_info(struct rt_obj *obj, void *info, uint32_t *info_len);

/* prog.c: PROG_LOAD, PROG_BIND_MAP */
int runtime__prog_get_info(struct rt_obj *obj, void *info, uint32_t *info_len);
int runtime__prog_bind_map(union bpf_attr *attr);
void runtime__prog_release(struct rt_obj *obj);

/* sha1.c: the digest of @len bytes (program tags) */
void runtime__sha1(const void *data, size_t len, uint8_t out[20]);

/* bpf_cmd.c: dispatch; @attr already copied and size-checked */
long runtime__bpf(int cmd, void *attr, unsigned int size);
/* Copies the kernel-style info struct out: the caller's @info_len bounds what is written. */
int runtime__info_copy_out(void *uinfo, uint32_t *info_len, const void *info, uint32_t info_sz);

/* prog.c */
int runtime__prog_load(void *attr, unsigned int size);
int runtime__prog_test_run(void *attr, unsigned int size);

/* kernel_check.c: the running kernel's verdict (--verify kernel|both). @insns have their map
 * references as MAP_FD/MAP_VALUE of @map_fds, whose objects are @maps. */
int runtime__kernel_check(const union bpf_attr *attr, const struct bpf_insn *insns, uint32_t cnt,
			  struct rt_obj *const *maps, const int *map_fds, uint32_t nr_maps,
			  struct bpfi_log *log);
int runtime__kernel_check_available(struct bpfi_log *log);

/* perf.c */
long runtime__perf_event_open(void *attr, pid_t pid, int cpu, int group_fd, unsigned long flags);
long runtime__perf_ioctl(struct rt_obj *obj, unsigned long request, unsigned long arg);
/*
 * Called by runtime__obj_put() when the last reference to a perf event / link goes, before
 * the free, outside objects.c's own hold of runtime__rt.lock (a bpf command may still hold
 * it; it is recursive). They put the program and perf event they hold.
 */
void runtime__perf_release(struct rt_obj *obj);
/* perf_event_set_bpf_prog(): @perf keeps the caller's reference to @prog on success. */
int runtime__perf_attach_prog(struct rt_obj *perf, struct rt_obj *prog, uint64_t cookie);
void runtime__perf_detach_prog(struct rt_obj *perf);
int runtime__uprobe_pmu_type(void); /* -1: no uprobe PMU */

/* link.c */
int runtime__link_create(void *attr, unsigned int size);
int runtime__link_detach(void *attr, unsigned int size);
/* OBJ_GET_INFO_BY_FD of a link: copies struct bpf_link_info to @info, updates @info_len. */
int runtime__link_get_info(struct rt_obj *obj, void *info, uint32_t *info_len);
void runtime__link_release(struct rt_obj *obj);

/* mmap.c */
void *runtime__mmap(struct rt_obj *obj, void *addr, size_t len, int prot, int flags, off_t off);
/* Forgets the bookkeeping of our mappings in [addr, addr+len) and unmaps; -errno. */
int runtime__munmap(void *addr, size_t len, bool *ret_handled);
/* A writable mapping of map @map_id exists: MAP_FREEZE is then -EBUSY (bpf_map_write_active). */
bool runtime__map_mmapped_writable(uint32_t map_id);

/* epoll.c */
int runtime__epoll_ctl(int epfd, int op, int fd, void *event, bool *ret_handled);
int runtime__epoll_wait(int epfd, void *events, int maxevents, int timeout);

#endif
