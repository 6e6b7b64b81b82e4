// SPDX-License-Identifier: MIT
/*
 * BPF_PROG_LOAD: check the program (verifier/), resolve its map references to addresses in
 * this process, compile it (jit/) or keep it for the interpreter, and publish it in env.progs
 * for tail calls. Also PROG_BIND_MAP and program info.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/maps.h>
#include <bpfinject/verifier.h>

#include "common/compiler.h"
#include "runtime_internal.h"

#define U64_PTR(x) ((void *)(unsigned long)(x))
/* BPF_COMPLEXITY_LIMIT_INSNS: the most a privileged loader may hand the kernel. */
#define RT_MAX_INSNS 1000000
/* log_true_size (Linux 6.4) follows core_relo_rec_size; Debian 12's UAPI header predates it. */
#define RT_ATTR_LOG_TRUE_SIZE_OFF 140

/* One map an ld_imm64 of the program names, resolved once for the check and the relocation. */
struct load_map {
	int fd;
	struct rt_obj *obj;
	struct bpfi_verifier_map vmap;
};

struct load_ctx {
	union bpf_attr *attr;
	struct load_map *maps;
	uint32_t nr_maps;
	struct bpfi_log *log;
};

static bool is_ld_imm64(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW);
}

static bool is_map_ref(uint8_t src)
{
	return src == BPF_PSEUDO_MAP_FD || src == BPF_PSEUDO_MAP_VALUE ||
	       src == BPF_PSEUDO_MAP_IDX || src == BPF_PSEUDO_MAP_IDX_VALUE;
}

static struct load_map *find_map(struct load_ctx *ctx, int fd)
{
	for (uint32_t i = 0; i < ctx->nr_maps; i++) {
		if (ctx->maps[i].fd == fd)
			return &ctx->maps[i];
	}
	return NULL;
}

static const struct bpfi_verifier_map *map_by_fd(int fd, void *cookie)
{
	struct load_map *m = find_map(cookie, fd);

	return m ? &m->vmap : NULL;
}

static const void *array_value(struct bpfi_map_hdr *hdr)
{
	uint32_t zero = 0;

	return bpfi_map_lookup_elem(hdr, &zero, 0);
}

static int ctx_add_map(struct load_ctx *ctx, int fd, struct load_map **ret)
{
	struct load_map *m, *maps;
	struct bpfi_map_hdr *hdr;
	int err;

	m = find_map(ctx, fd);
	if (m) {
		*ret = m;
		return 0;
	}
	maps = reallocarray(ctx->maps, ctx->nr_maps + 1, sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	ctx->maps = maps;
	m = &maps[ctx->nr_maps];
	memset(m, 0, sizeof(*m));
	err = runtime__obj_lookup_fd(fd, RT_MAP, &m->obj);
	if (err)
		return bpfi_log_err(ctx->log, err, "fd %d is not pointing to valid bpf_map", fd);
	ctx->nr_maps++;
	hdr = m->obj->map.hdr;
	m->fd = fd;
	m->vmap.type = hdr->type;
	m->vmap.key_size = hdr->key_size;
	m->vmap.value_size = hdr->value_size;
	m->vmap.max_entries = hdr->max_entries;
	m->vmap.map_flags = hdr->map_flags;
	m->vmap.frozen = atomic_load(&hdr->frozen);
	/* A frozen read-only array is .rodata: its bytes let the check fold branches on it. */
	if (m->vmap.frozen && hdr->type == BPF_MAP_TYPE_ARRAY &&
	    (hdr->map_flags & BPF_F_RDONLY_PROG))
		m->vmap.frozen_value = array_value(hdr);
	*ret = m;
	return 0;
}

/*
 * fd_array[@idx] as the kernel's copy_from_bpfptr() reads it: an index past the caller's
 * array is -EFAULT, not a crash of the caller (the shim serves an unmodified tool's calls).
 */
static int read_fd_array(const int *fd_array, int32_t idx, int32_t *ret_fd)
{
	struct iovec local = { .iov_base = ret_fd, .iov_len = sizeof(*ret_fd) };
	struct iovec remote = { .iov_base = (void *)(fd_array + idx), .iov_len = sizeof(*ret_fd) };

	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)sizeof(*ret_fd))
		return -EFAULT;
	return 0;
}

/*
 * Resolves every map reference: fd_array indexes (MAP_IDX forms) become fds in @insns (the
 * copy the check sees), each map is looked up once, and value offsets are range-checked.
 */
static int resolve_maps(struct load_ctx *ctx, struct bpf_insn *insns, uint32_t cnt)
{
	const int *fd_array = U64_PTR(ctx->attr->fd_array);
	struct load_map *m = NULL;
	int err;

	for (uint32_t i = 0; i < cnt; i++) {
		struct bpf_insn *insn = &insns[i];
		bool value;

		if (!is_ld_imm64(insn) || !is_map_ref(insn->src_reg))
			continue;
		if (i + 1 >= cnt)
			return bpfi_log_err(ctx->log, -EINVAL, "insn %u: invalid bpf_ld_imm64 insn",
					    i);
		value = insn->src_reg == BPF_PSEUDO_MAP_VALUE ||
			insn->src_reg == BPF_PSEUDO_MAP_IDX_VALUE;
		if (insn->src_reg == BPF_PSEUDO_MAP_IDX ||
		    insn->src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
			if (!fd_array)
				return bpfi_log_err(ctx->log, -EPROTO,
						    "insn %u: fd_idx without fd_array is invalid",
						    i);
			if (insn->imm < 0)
				return bpfi_log_err(ctx->log, -EINVAL,
						    "insn %u: invalid fd_array index %d", i,
						    insn->imm);
			err = read_fd_array(fd_array, insn->imm, &insn->imm);
			if (err)
				return bpfi_log_err(ctx->log, err,
						    "insn %u: fd_array[%d] cannot be read", i,
						    insn->imm);
			insn->src_reg = value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
		}
		err = ctx_add_map(ctx, insn->imm, &m);
		if (err)
			return err;
		if (value && (m->vmap.type != BPF_MAP_TYPE_ARRAY || m->vmap.max_entries != 1))
			return bpfi_log_err(ctx->log, -EINVAL,
					    "insn %u: direct value access on map type %u", i,
					    m->vmap.type);
		if (value && (uint32_t)insns[i + 1].imm >= m->vmap.value_size)
			return bpfi_log_err(
				ctx->log, -EINVAL,
				"insn %u: invalid access to map value pointer, value_size=%u off=%u",
				i, m->vmap.value_size, (uint32_t)insns[i + 1].imm);
		i++;
	}
	return 0;
}

/*
 * @xlated: map references become plain ld_imm64 of the map header's address (MAP_FD) or of
 * the value + off (MAP_VALUE) in this process. @dump: the kernel's bpf_insn_prepare_dump()
 * form (imm = map id) for OBJ_GET_INFO_BY_FD. BPF_PSEUDO_FUNC stays for the backends.
 */
static void relocate(struct load_ctx *ctx, struct bpf_insn *xlated, struct bpf_insn *dump,
		     uint32_t cnt)
{
	for (uint32_t i = 0; i + 1 < cnt; i++) {
		struct bpf_insn *insn = &xlated[i];
		const struct load_map *m;
		uint64_t addr;

		if (!is_ld_imm64(insn) || !is_map_ref(insn->src_reg))
			continue;
		m = find_map(ctx, insn->imm);
		if (insn->src_reg == BPF_PSEUDO_MAP_VALUE)
			addr = (uint64_t)(uintptr_t)array_value(m->obj->map.hdr) +
			       (uint32_t)xlated[i + 1].imm;
		else
			addr = (uint64_t)(uintptr_t)m->obj->map.hdr;
		dump[i].imm = (int32_t)m->obj->id;
		insn->src_reg = 0;
		insn->imm = (int32_t)(uint32_t)addr;
		xlated[i + 1].imm = (int32_t)(uint32_t)(addr >> 32);
		i++;
	}
}

/* The maps a program keeps a reference to: each distinct map once, by id. */
static int hold_maps(struct rt_prog *prog, struct load_ctx *ctx)
{
	prog->map_ids = calloc(ctx->nr_maps ? ctx->nr_maps : 1, sizeof(*prog->map_ids));
	if (!prog->map_ids)
		return -ENOMEM;
	for (uint32_t i = 0; i < ctx->nr_maps; i++) {
		runtime__obj_get(ctx->maps[i].obj);
		prog->map_ids[prog->nr_maps++] = ctx->maps[i].obj->id;
	}
	return 0;
}

/* Compiles for this process: helpers at rt.helpers, env at &rt.env, tail calls through us. */
static int jit_prog(struct rt_prog *prog, struct bpfi_log *log)
{
	struct runtime *rt = &runtime__rt;
	uint64_t helper_addrs[BPFI_HELPER_MAX];
	struct bpfi_jit_opts opts = {
		.sz = sizeof(opts),
		.env_addr = (uint64_t)(uintptr_t)&rt->env,
		.helper_addrs = helper_addrs,
		.nr_helpers = BPFI_HELPER_MAX,
		.unwind_helper_id = -1,
		.tail_call_addr = (uint64_t)(uintptr_t)bpfi_tail_call_target,
	};
	int err;

	for (int i = 0; i < BPFI_HELPER_MAX; i++)
		helper_addrs[i] = (uint64_t)(uintptr_t)rt->helpers[i];
	err = bpfi_jit_compile(prog->xlated, prog->insn_cnt, &opts, &prog->image, log);
	if (!err)
		err = bpfi_jit_image_load(prog->image, &prog->jit_func, log);
	if (err) {
		bpfi_jit_image_free(prog->image);
		prog->image = NULL;
		prog->jit_func = NULL;
		return err;
	}
	prog->jited = true;
	return 0;
}

/*
 * Code the check found dead once .rodata constants are folded may call helpers that do not
 * exist (libbpf poisons calls to maps it did not create; tools keep optional helpers behind
 * flags), which the backends refuse to compile. The kernel overwrites dead instructions
 * (sanitize_dead_code(): `ja -1`); we write `exit`, so that a check bug that lets a run reach
 * them ends the program instead of hanging the thread. The entry is always live: if it is not
 * marked, the check did not report liveness and nothing is touched.
 */
static void sanitize_dead_code(struct bpf_insn *insns, uint32_t cnt, const uint8_t *live)
{
	if (!live[0])
		return;
	for (uint32_t i = 0; i < cnt; i++) {
		if (!live[i])
			insns[i] = (struct bpf_insn){ .code = BPF_JMP | BPF_EXIT };
	}
}

static bool prog_type_supported(uint32_t type)
{
	switch (type) {
	case BPF_PROG_TYPE_SOCKET_FILTER:
	case BPF_PROG_TYPE_KPROBE:
	case BPF_PROG_TYPE_TRACEPOINT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
	case BPF_PROG_TYPE_PERF_EVENT:
		return true;
	default:
		return false;
	}
}

static bool license_is_gpl(const char *license)
{
	static const char *const gpl[] = {
		"GPL",		"GPL v2",	"GPL and additional rights",
		"Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL",
	};

	for (size_t i = 0; i < ARRAY_SIZE(gpl); i++) {
		if (!strcmp(license, gpl[i]))
			return true;
	}
	return false;
}

/*
 * The program tag as the kernel's bpf_prog_calc_tag(): SHA-1 of the instructions with the
 * immediates of map references zeroed (both halves of the ld_imm64), first 8 bytes.
 */
static int prog_tag(const struct bpf_insn *insns, uint32_t cnt, uint8_t tag[8])
{
	struct bpf_insn *dst = malloc((size_t)cnt * sizeof(*dst));
	uint8_t digest[20];

	if (!dst)
		return -ENOMEM;
	memcpy(dst, insns, (size_t)cnt * sizeof(*dst));
	for (uint32_t i = 0; i < cnt; i++) {
		if (is_ld_imm64(&dst[i]) && (dst[i].src_reg == BPF_PSEUDO_MAP_FD ||
					     dst[i].src_reg == BPF_PSEUDO_MAP_VALUE)) {
			dst[i].imm = 0;
			if (i + 1 < cnt && !dst[i + 1].code && !dst[i + 1].dst_reg &&
			    !dst[i + 1].src_reg && !dst[i + 1].off)
				dst[++i].imm = 0;
		}
	}
	runtime__sha1(dst, (size_t)cnt * sizeof(*dst), digest);
	memcpy(tag, digest, 8);
	free(dst);
	return 0;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void prog_free(struct rt_prog *prog);

/* PROG_LOAD's checks of the attr itself, before any work (kernel bpf_prog_load()). */
static int check_load_attr(const union bpf_attr *attr)
{
	if (attr->insn_cnt == 0 || attr->insn_cnt > RT_MAX_INSNS)
		return -E2BIG;
	if (!attr->insns)
		return -EFAULT;
	if (attr->prog_flags & ~(uint32_t)0x7f)
		return -EINVAL;
	if (attr->log_level & ~(uint32_t)7)
		return -EINVAL;
	if (attr->log_level && (!attr->log_buf || attr->log_size < 128))
		return -EINVAL;
	if (!attr->log_level && (attr->log_buf || attr->log_size))
		return -EINVAL;
	if (!prog_type_supported(attr->prog_type))
		return -EINVAL;
	return 0;
}

/* The kernel's verdict on the program as the check saw it (map references resolved to fds). */
static int kernel_check(struct load_ctx *ctx, const struct bpf_insn *insns, uint32_t cnt)
{
	struct rt_obj **objs = calloc(ctx->nr_maps ? ctx->nr_maps : 1, sizeof(*objs));
	int *fds = calloc(ctx->nr_maps ? ctx->nr_maps : 1, sizeof(*fds));
	int err;

	if (!objs || !fds) {
		free(objs);
		free(fds);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < ctx->nr_maps; i++) {
		objs[i] = ctx->maps[i].obj;
		fds[i] = ctx->maps[i].fd;
	}
	err = runtime__kernel_check(ctx->attr, insns, cnt, objs, fds, ctx->nr_maps, ctx->log);
	free(objs);
	free(fds);
	return err;
}

/* Check, relocate, compile: fills @prog from @attr. The caller frees @prog on failure. */
static int build_prog(struct rt_prog *prog, union bpf_attr *attr, struct bpfi_log *log)
{
	struct runtime *rt = &runtime__rt;
	struct load_ctx ctx = { .attr = attr, .log = log };
	struct bpfi_verifier_opts vopts = {
		.sz = sizeof(vopts),
		.prog_type = attr->prog_type,
		.map_by_fd = map_by_fd,
		.cookie = &ctx,
	};
	size_t bytes = (size_t)attr->insn_cnt * sizeof(struct bpf_insn);
	/*
	 * With --verify kernel our check still runs, for its liveness (dead branches under
	 * .rodata flags are compiled away, as the kernel does), but its verdict is not asked.
	 */
	bool ours = !rt->opts.no_verify && rt->opts.verify != BPFI_VERIFY_KERNEL;
	bool want_live = !rt->opts.no_verify;
	struct bpfi_log quiet = { 0 };
	uint8_t *live = NULL;
	int err;

	prog->insn_cnt = attr->insn_cnt;
	prog->insns = malloc(bytes);
	prog->xlated = malloc(bytes);
	if (want_live)
		live = vopts.insn_live = calloc(attr->insn_cnt, 1);
	if (!prog->insns || !prog->xlated || (want_live && !live)) {
		free(live);
		return -ENOMEM;
	}
	memcpy(prog->xlated, U64_PTR(attr->insns), bytes);
	err = resolve_maps(&ctx, prog->xlated, prog->insn_cnt);
	if (!err && ours)
		err = bpfi_verifier_check(prog->xlated, prog->insn_cnt, &vopts, log);
	else if (!err && want_live &&
		 bpfi_verifier_check(prog->xlated, prog->insn_cnt, &vopts, &quiet))
		memset(live, 0, attr->insn_cnt); /* partial liveness: touch nothing */
	if (!err && rt->opts.verify != BPFI_VERIFY_OURS)
		err = kernel_check(&ctx, prog->xlated, prog->insn_cnt);
	if (!err)
		err = hold_maps(prog, &ctx);
	if (!err) {
		memcpy(prog->insns, prog->xlated, bytes);
		relocate(&ctx, prog->xlated, prog->insns, prog->insn_cnt);
		err = prog_tag(prog->insns, prog->insn_cnt, prog->tag);
	}
	if (!err && live)
		sanitize_dead_code(prog->xlated, prog->insn_cnt, live);
	free(live);
	for (uint32_t i = 0; i < ctx.nr_maps; i++)
		runtime__obj_put(ctx.maps[i].obj);
	free(ctx.maps);
	if (err)
		return err;

	if (rt->opts.backend == BPFI_JIT_X86_64) {
		err = jit_prog(prog, log);
		/* A backend that cannot take this program leaves it to the interpreter. */
		if (err == -ENOTSUP)
			err = 0;
	}
	return err;
}

/* The verifier log as the kernel hands it back: -ENOSPC when it did not fit. */
static int finish_log(union bpf_attr *attr, unsigned int size, struct bpfi_log *log, int err,
		      uint32_t insn_cnt)
{
	/* (the check traces its own count at BPFI_LOG_TRACE) */
	if (!err && log->level && log->level < BPFI_LOG_TRACE)
		bpfi_log_printf(log,
				"processed %u insns (limit %u) max_states_per_insn 0 "
				"total_states 0 peak_states 0 mark_read 0\n",
				insn_cnt, RT_MAX_INSNS);
	if (size >= RT_ATTR_LOG_TRUE_SIZE_OFF + 4) {
		uint32_t true_size = log->level ? (uint32_t)log->len + 1 : 0;

		memcpy((char *)attr + RT_ATTR_LOG_TRUE_SIZE_OFF, &true_size, 4);
	}
	if (log->level && log->len >= log->size)
		return -ENOSPC;
	return err;
}

int runtime__prog_load(void *vattr, unsigned int size)
{
	union bpf_attr *attr = vattr;
	struct bpfi_log log = { .level = attr->log_level };
	struct rt_obj *obj = NULL;
	char name[BPF_OBJ_NAME_LEN];
	struct rt_prog prog = { 0 };
	int err, fd = -1;

	err = check_load_attr(attr);
	if (err)
		return err;
	err = runtime__name_copy(name, attr->prog_name, sizeof(name));
	if (err)
		return err;
	if (attr->log_level) {
		log.buf = U64_PTR(attr->log_buf);
		log.size = attr->log_size;
		log.buf[0] = 0;
	}
	prog.type = attr->prog_type;
	prog.expected_attach_type = attr->expected_attach_type;
	if (attr->license)
		strncpy(prog.license, U64_PTR(attr->license), sizeof(prog.license) - 1);
	prog.gpl = license_is_gpl(prog.license);
	prog.uid = (uint32_t)geteuid();
	prog.load_time = boottime_ns();
	if (attr->prog_btf_fd) {
		struct rt_obj *btf = runtime__obj_get_fd((int)attr->prog_btf_fd, RT_BTF);

		if (!btf) {
			err = -EBADF;
			goto out;
		}
		prog.btf_id = btf->id;
		runtime__obj_put(btf);
	}
	err = build_prog(&prog, attr, &log);
	err = finish_log(attr, size, &log, err, prog.insn_cnt);
	if (err)
		goto out;
	err = runtime__obj_new(RT_PROG, name, &obj, &fd);
	if (err)
		goto out;
	obj->prog = prog;
	runtime__rt.progs[obj->id] = (struct bpfi_prog_entry){
		.insns = prog.xlated,
		.insn_cnt = prog.insn_cnt,
		.jit_func = prog.jit_func,
		.tail_entry = prog.image ? (uint64_t)(uintptr_t)prog.jit_func +
						   bpfi_jit_image_tail_offset(prog.image)
					 : 0,
	};
	return fd;
out:
	prog_free(&prog);
	return err;
}

void runtime__prog_release(struct rt_obj *obj)
{
	struct rt_prog *prog = &obj->prog;

	/* Unpublished first: a tail call must not reach code that is being freed. */
	if (obj->id && obj->id < RT_MAX_PROGS && runtime__rt.progs[obj->id].insns == prog->xlated)
		memset(&runtime__rt.progs[obj->id], 0, sizeof(runtime__rt.progs[obj->id]));
	prog_free(prog);
}

static void prog_free(struct rt_prog *prog)
{
	for (uint32_t i = 0; i < prog->nr_maps; i++) {
		struct rt_obj *map = runtime__obj_get_id(prog->map_ids[i], RT_MAP);

		if (map) {
			runtime__obj_put(map);
			runtime__obj_put(map);
		}
	}
	free(prog->map_ids);
	bpfi_jit_image_free(prog->image);
	free(prog->insns);
	free(prog->xlated);
	memset(prog, 0, sizeof(*prog));
}

int runtime__prog_bind_map(union bpf_attr *attr)
{
	struct rt_obj *prog, *map;
	uint32_t *ids;
	int err = 0;

	if (attr->prog_bind_map.flags)
		return -EINVAL;
	err = runtime__obj_lookup_fd((int)attr->prog_bind_map.prog_fd, RT_PROG, &prog);
	if (err)
		return err;
	err = runtime__obj_lookup_fd((int)attr->prog_bind_map.map_fd, RT_MAP, &map);
	if (err)
		goto out_prog;
	for (uint32_t i = 0; i < prog->prog.nr_maps; i++) {
		if (prog->prog.map_ids[i] == map->id)
			goto out; /* already used: nothing to do, as the kernel */
	}
	ids = reallocarray(prog->prog.map_ids, prog->prog.nr_maps + 1, sizeof(*ids));
	if (!ids) {
		err = -ENOMEM;
		goto out;
	}
	ids[prog->prog.nr_maps++] = map->id;
	prog->prog.map_ids = ids;
	runtime__obj_get(map);
out:
	runtime__obj_put(map);
out_prog:
	runtime__obj_put(prog);
	return err;
}

/* Copies min(@ulen, @len) bytes of an array the caller asked for, if it gave a buffer. */
static void copy_array(uint64_t uptr, uint32_t ulen, const void *src, uint32_t len)
{
	if (uptr && ulen && src)
		memcpy(U64_PTR(uptr), src, BPFI_MIN(ulen, len));
}

int runtime__prog_get_info(struct rt_obj *obj, void *uinfo, uint32_t *info_len)
{
	const struct rt_prog *prog = &obj->prog;
	struct bpf_prog_info info = { 0 };
	uint32_t xlated_len = prog->insn_cnt * (uint32_t)sizeof(struct bpf_insn);
	uint32_t jited_len = prog->image ? (uint32_t)bpfi_jit_image_size(prog->image) : 0;

	/* Buffers and their sizes come from the caller's struct (kernel bpf_prog_get_info_by_fd). */
	if (uinfo)
		memcpy(&info, uinfo, BPFI_MIN(*info_len, (uint32_t)sizeof(info)));
	copy_array(info.xlated_prog_insns, info.xlated_prog_len, prog->insns, xlated_len);
	copy_array(info.jited_prog_insns, info.jited_prog_len,
		   prog->image ? bpfi_jit_image_code(prog->image) : NULL, jited_len);
	copy_array(info.map_ids, info.nr_map_ids * 4, prog->map_ids, prog->nr_maps * 4);
	info.type = prog->type;
	info.id = obj->id;
	memcpy(info.tag, prog->tag, sizeof(info.tag));
	info.xlated_prog_len = xlated_len;
	info.jited_prog_len = jited_len;
	info.nr_map_ids = prog->nr_maps;
	info.load_time = prog->load_time;
	info.created_by_uid = prog->uid;
	memcpy(info.name, obj->name, sizeof(info.name));
	info.gpl_compatible = prog->gpl;
	info.btf_id = prog->btf_id;
	info.verified_insns = prog->insn_cnt;
	/* Not kept: func/line info, jited symbols, tags of subprograms, run stats. */
	info.nr_jited_ksyms = 0;
	info.nr_jited_func_lens = 0;
	info.nr_func_info = 0;
	info.nr_line_info = 0;
	info.nr_jited_line_info = 0;
	info.nr_prog_tags = 0;
	return runtime__info_copy_out(uinfo, info_len, &info, sizeof(info));
}
