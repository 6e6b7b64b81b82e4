// SPDX-License-Identifier: MIT
/* Helpers of test_runtime: the test objects, libbpf loading, PROG_TEST_RUN, globals. */
#include "runtime_util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpfinject/runtime.h>

#include "test_bpf_paths.h"

/* The objects tests/bpf/meson.build compiled (BPFI_TEST_BPF_DIR). */
const char *obj_path(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", BPFI_TEST_BPF_DIR, name);
	return path;
}

void rt_start(enum bpfi_jit_backend backend)
{
	struct bpfi_runtime_opts opts = { .sz = sizeof(opts), .backend = backend };
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	ck_assert_msg(bpfi_runtime_init(&opts, &log) == 0, "runtime init: %s", buf);
}

struct bpf_object *load_obj(const char *name)
{
	struct bpf_object *obj = bpf_object__open_file(obj_path(name), NULL);
	int err;

	ck_assert_msg(obj != NULL, "open %s: %s", name, strerror(errno));
	err = bpf_object__load(obj);
	ck_assert_msg(err == 0, "load %s: %d", name, err);
	return obj;
}

int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	ck_assert_msg(prog != NULL, "program %s", name);
	return bpf_program__fd(prog);
}

int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	ck_assert_msg(map != NULL, "map %s", name);
	return bpf_map__fd(map);
}

/* What bpf_object__load_skeleton() does after load: the global's memory becomes the map's. */
void *remap_global(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	size_t sz, len;
	void *p, *m;
	int prot;

	ck_assert_msg(map != NULL, "map %s", name);
	p = (void *)bpf_map__initial_value(map, &sz);
	ck_assert_ptr_nonnull(p);
	len = (sz + 4095) & ~4095ul;
	prot = bpf_map__map_flags(map) & BPF_F_RDONLY_PROG ? PROT_READ : PROT_READ | PROT_WRITE;
	m = mmap(p, len, prot, MAP_SHARED | MAP_FIXED, bpf_map__fd(map), 0);
	ck_assert_msg(m == p, "remap %s: %s", name, strerror(errno));
	return m;
}

void *byte_off(void *base, size_t off)
{
	return (char *)base + off;
}

/* Offset of global @var in section @sec, from the object's BTF (what skeletons hard-code). */
size_t datasec_var_off(struct bpf_object *obj, const char *sec, const char *var)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *t;
	int id;

	id = btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC);
	ck_assert_int_gt(id, 0);
	t = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(t);
	for (int i = 0; i < btf_vlen(t); i++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);

		if (!strcmp(btf__name_by_offset(btf, v->name_off), var))
			return vs->offset;
	}
	ck_abort_msg("no %s in %s", var, sec);
	return 0;
}

/* PROG_TEST_RUN with a pt_regs whose first argument (di) is @arg. */
int run_kprobe(int fd, uint64_t arg, uint32_t repeat, uint32_t *ret_duration)
{
	uint64_t regs[PT_REGS_SLOTS] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = regs, .ctx_size_in = sizeof(regs),
		    .repeat = repeat);
	int err;

	regs[PT_REGS_DI_SLOT] = arg;
	err = bpf_prog_test_run_opts(fd, &opts);
	ck_assert_msg(err == 0, "test run: %d (%s)", err, strerror(errno));
	if (ret_duration)
		*ret_duration = opts.duration;
	return (int)opts.retval;
}

/* PROG_TEST_RUN of a raw tracepoint / tracepoint program on u64 slots. */
int run_args(int fd, const uint64_t *args, uint32_t nr)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = nr * 8);
	int err;

	err = bpf_prog_test_run_opts(fd, &opts);
	ck_assert_msg(err == 0, "test run: %d (%s)", err, strerror(errno));
	return (int)opts.retval;
}

void hand_skel_open(struct hand_skel *k)
{
	struct bpf_object_skeleton *s = calloc(1, sizeof(*s));
	FILE *f = fopen(obj_path("rt_basic.bpf.o"), "rb");
	long size;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	k->elf = malloc((size_t)size);
	ck_assert_int_eq(fread(k->elf, 1, (size_t)size, f), size);
	fclose(f);
	s->sz = sizeof(*s);
	s->name = "rt_basic";
	s->data = k->elf;
	s->data_sz = (size_t)size;
	s->obj = &k->obj;
	s->map_cnt = 3;
	s->map_skel_sz = sizeof(struct bpf_map_skeleton);
	s->maps = calloc(3, sizeof(struct bpf_map_skeleton));
	s->maps[0] = (struct bpf_map_skeleton){ ".rodata", &k->rodata, (void **)&k->rodata_p };
	s->maps[1] = (struct bpf_map_skeleton){ ".data", &k->data, (void **)&k->data_p };
	s->maps[2] = (struct bpf_map_skeleton){ ".bss", &k->bss, (void **)&k->bss_p };
	s->prog_cnt = 1;
	s->prog_skel_sz = sizeof(struct bpf_prog_skeleton);
	s->progs = calloc(1, sizeof(struct bpf_prog_skeleton));
	s->progs[0] = (struct bpf_prog_skeleton){ "count_arg", &k->count_arg, &k->link };
	k->s = s;
	ck_assert_int_eq(bpf_object__open_skeleton(s, NULL), 0);
}
