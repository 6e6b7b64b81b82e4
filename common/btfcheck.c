// SPDX-License-Identifier: MIT
/*
 * The strict BTF and .BTF.ext check (bpfinject/btfcheck.h). libbpf 1.1 checks little more
 * than the header and record sizes: a type id out of range, a string offset past the string
 * section or a typedef that names itself reach code that follows them and crashes or loops
 * (issue 11 A6: 52 of 4,355 mutated objects). The rules are the kernel's where it has one
 * (btf_check_all_metas(), btf_check_all_types()) and libbpf 1.3's btf_sanity_check() where
 * it does not. Blobs may sit at any alignment: every record is copied out before it is read.
 */
#include <errno.h>
#include <linux/btf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpfinject/btfcheck.h>

#define BTF_EXT_MAGIC 0xeB9F
/* libbpf's struct btf_ext_header: the part every version has, then the CO-RE part. */
#define BTF_EXT_HDR_MIN	 24u
#define BTF_EXT_HDR_CORE 32u
/* The last CO-RE relocation kind libbpf 1.1 knows (BPF_CORE_TYPE_MATCH). */
#define CORE_RELO_KIND_MAX 12u

struct view {
	const uint8_t *types;
	uint32_t types_len;
	const char *strs;
	uint32_t str_len;
	uint32_t nr; /* the last type id; 0 is void */
	uint32_t *off; /* off[id]: where type id starts in @types */
};

static uint32_t rd32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static struct btf_type type_at(const struct view *v, uint32_t id)
{
	struct btf_type t;

	memcpy(&t, v->types + v->off[id], sizeof(t));
	return t;
}

/* Entry @i after the struct btf_type of @id, @size bytes each. */
static const uint8_t *extra_at(const struct view *v, uint32_t id, uint32_t i, size_t size)
{
	return v->types + v->off[id] + sizeof(struct btf_type) + (size_t)i * size;
}

static uint32_t kind_of(const struct view *v, uint32_t id)
{
	return id ? BTF_INFO_KIND(type_at(v, id).info) : BTF_KIND_UNKN;
}

/* Bytes that follow struct btf_type for @kind with @vlen entries; -1: unknown kind. */
static long type_extra(uint32_t kind, uint32_t vlen)
{
	switch (kind) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return (long)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_ENUM64:
		return (long)vlen * sizeof(struct btf_enum64);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	default:
		return -1;
	}
}

static bool str_ok(const struct view *v, uint32_t off)
{
	return off < v->str_len;
}

/* The header and the section bounds (the kernel's btf_parse_hdr(), btf_parse_str_sec()). */
static int parse_hdr(const uint8_t *data, size_t size, struct view *v, struct bpfi_log *log)
{
	struct btf_header hdr;
	uint32_t end;

	if (size < sizeof(hdr))
		return bpfi_log_err(log, -EINVAL, "btf_header not found");
	if (size > UINT32_MAX)
		return bpfi_log_err(log, -EINVAL, "BTF larger than 4 GiB");
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.magic != BTF_MAGIC)
		return bpfi_log_err(log, -EINVAL, "Invalid magic");
	if (hdr.version != BTF_VERSION)
		return bpfi_log_err(log, -ENOTSUP, "Unsupported version");
	if (hdr.flags)
		return bpfi_log_err(log, -ENOTSUP, "Unsupported flags");
	if (hdr.hdr_len < sizeof(hdr) || hdr.hdr_len > size)
		return bpfi_log_err(log, -EINVAL, "Unsupported btf_header");
	end = (uint32_t)size - hdr.hdr_len;
	if (hdr.type_off % 4 || (uint64_t)hdr.type_off + hdr.type_len > end ||
	    (uint64_t)hdr.str_off + hdr.str_len > end ||
	    (uint64_t)hdr.type_off + hdr.type_len > hdr.str_off)
		return bpfi_log_err(log, -EINVAL, "Invalid section offset or length");
	v->types = data + hdr.hdr_len + hdr.type_off;
	v->types_len = hdr.type_len;
	v->strs = (const char *)data + hdr.hdr_len + hdr.str_off;
	v->str_len = hdr.str_len;
	if (!v->str_len || v->strs[0] || v->strs[v->str_len - 1])
		return bpfi_log_err(log, -EINVAL, "Invalid string section");
	return 0;
}

/* Every record complete and of a known kind; fills v->off and v->nr. */
static int walk_types(struct view *v, struct bpfi_log *log)
{
	uint32_t off = 0, id = 1;

	v->off = calloc(v->types_len / sizeof(struct btf_type) + 2, sizeof(*v->off));
	if (!v->off)
		return -ENOMEM;
	while (off < v->types_len) {
		struct btf_type t;
		long extra;

		if (v->types_len - off < sizeof(t))
			return bpfi_log_err(log, -EINVAL, "[%u] type truncated", id);
		memcpy(&t, v->types + off, sizeof(t));
		extra = type_extra(BTF_INFO_KIND(t.info), BTF_INFO_VLEN(t.info));
		if (extra < 0)
			return bpfi_log_err(log, -EINVAL, "[%u] invalid kind:%u", id,
					    BTF_INFO_KIND(t.info));
		if ((uint64_t)v->types_len - off - sizeof(t) < (uint64_t)extra)
			return bpfi_log_err(log, -EINVAL, "[%u] type truncated", id);
		v->off[id] = off;
		off += sizeof(t) + (uint32_t)extra;
		id++;
	}
	v->nr = id - 1;
	return 0;
}

static bool size_is(uint32_t size, uint32_t mask)
{
	return size <= 16 && (mask >> size) & 1;
}

/* @ref: a type id named by @id; void is allowed only where C allows it. */
static int check_ref(const struct view *v, uint32_t id, uint32_t ref, bool void_ok,
		     struct bpfi_log *log)
{
	if (ref > v->nr)
		return bpfi_log_err(log, -EINVAL, "[%u] invalid type_id %u (last is %u)", id, ref,
				    v->nr);
	if (!ref && !void_ok)
		return bpfi_log_err(log, -EINVAL, "[%u] invalid type_id 0 (void)", id);
	return 0;
}

static int check_members(const struct view *v, uint32_t id, const struct btf_type *t,
			 struct bpfi_log *log)
{
	uint32_t i, vlen = BTF_INFO_VLEN(t->info);
	bool bitfields = BTF_INFO_KFLAG(t->info);
	int err;

	for (i = 0; i < vlen; i++) {
		struct btf_member m;
		uint32_t bit_off;

		memcpy(&m, extra_at(v, id, i, sizeof(m)), sizeof(m));
		if (!str_ok(v, m.name_off))
			return bpfi_log_err(log, -EINVAL, "[%u] member %u: invalid name_offset:%u",
					    id, i, m.name_off);
		if ((err = check_ref(v, id, m.type, false, log)))
			return err;
		bit_off = bitfields ? BTF_MEMBER_BIT_OFFSET(m.offset) : m.offset;
		if (bit_off / 8 > t->size)
			return bpfi_log_err(log, -EINVAL,
					    "[%u] member %u: offset %u bits past the size %u", id,
					    i, bit_off, t->size);
	}
	return 0;
}

static int check_proto(const struct view *v, uint32_t id, const struct btf_type *t,
		       struct bpfi_log *log)
{
	uint32_t i, vlen = BTF_INFO_VLEN(t->info);
	int err;

	if ((err = check_ref(v, id, t->type, true, log)))
		return err;
	for (i = 0; i < vlen; i++) {
		struct btf_param p;

		memcpy(&p, extra_at(v, id, i, sizeof(p)), sizeof(p));
		if (!str_ok(v, p.name_off))
			return bpfi_log_err(log, -EINVAL, "[%u] param %u: invalid name_offset:%u",
					    id, i, p.name_off);
		/* void only as the last one: "...". */
		if ((err = check_ref(v, id, p.type, i + 1 == vlen, log)))
			return err;
	}
	return 0;
}

static int check_enum(const struct view *v, uint32_t id, const struct btf_type *t, size_t esize,
		      struct bpfi_log *log)
{
	uint32_t i, vlen = BTF_INFO_VLEN(t->info);

	if (!size_is(t->size, 1u << 1 | 1u << 2 | 1u << 4 | 1u << 8))
		return bpfi_log_err(log, -EINVAL, "[%u] invalid enum size %u", id, t->size);
	for (i = 0; i < vlen; i++)
		if (!str_ok(v, rd32(extra_at(v, id, i, esize))))
			return bpfi_log_err(log, -EINVAL, "[%u] enumerator %u: invalid name_offset",
					    id, i);
	return 0;
}

static int check_datasec(const struct view *v, uint32_t id, const struct btf_type *t,
			 struct bpfi_log *log)
{
	uint32_t i, vlen = BTF_INFO_VLEN(t->info), kind;
	int err;

	for (i = 0; i < vlen; i++) {
		struct btf_var_secinfo s;

		memcpy(&s, extra_at(v, id, i, sizeof(s)), sizeof(s));
		if ((err = check_ref(v, id, s.type, false, log)))
			return err;
		kind = kind_of(v, s.type);
		/* FUNC: an extern kernel function in .ksyms. */
		if (kind != BTF_KIND_VAR && kind != BTF_KIND_FUNC)
			return bpfi_log_err(log, -EINVAL,
					    "[%u] entry %u: type %u is not a variable", id, i,
					    s.type);
	}
	return 0;
}

static int check_decl_tag(const struct view *v, uint32_t id, const struct btf_type *t,
			  struct bpfi_log *log)
{
	int32_t comp = (int32_t)rd32(extra_at(v, id, 0, 4));
	uint32_t kind, vlen;
	struct btf_type target;
	int err;

	if ((err = check_ref(v, id, t->type, false, log)))
		return err;
	if (comp < 0)
		return comp == -1 ? 0
				  : bpfi_log_err(log, -EINVAL, "[%u] invalid component_idx %d", id,
						 comp);
	target = type_at(v, t->type);
	kind = BTF_INFO_KIND(target.info);
	/* A function's component is a parameter of its prototype (checked before: FUNC's type
	 * is a FUNC_PROTO). */
	if (kind == BTF_KIND_FUNC)
		target = type_at(v, target.type), kind = BTF_INFO_KIND(target.info);
	vlen = BTF_INFO_VLEN(target.info);
	if ((kind != BTF_KIND_STRUCT && kind != BTF_KIND_UNION && kind != BTF_KIND_FUNC_PROTO) ||
	    (uint32_t)comp >= vlen)
		return bpfi_log_err(log, -EINVAL, "[%u] invalid component_idx %d", id, comp);
	return 0;
}

/* Pass 1: what each type refers to exists and is of the kind its place needs. */
static int check_type(const struct view *v, uint32_t id, bool func_done, struct bpfi_log *log)
{
	struct btf_type t = type_at(v, id);
	uint32_t kind = BTF_INFO_KIND(t.info), vlen = BTF_INFO_VLEN(t.info), data;
	struct btf_array a;
	int err;

	if (!str_ok(v, t.name_off))
		return bpfi_log_err(log, -EINVAL, "[%u] invalid name_offset:%u", id, t.name_off);
	switch (kind) {
	case BTF_KIND_INT:
		data = rd32(extra_at(v, id, 0, 4));
		if (!size_is(t.size, 1u << 1 | 1u << 2 | 1u << 4 | 1u << 8 | 1u << 16) ||
		    BTF_INT_BITS(data) > t.size * 8 ||
		    BTF_INT_OFFSET(data) + BTF_INT_BITS(data) > t.size * 8)
			return bpfi_log_err(log, -EINVAL, "[%u] invalid int size %u or bits 0x%x",
					    id, t.size, data);
		return 0;
	case BTF_KIND_FLOAT:
		if (!size_is(t.size, 1u << 2 | 1u << 4 | 1u << 8 | 1u << 12 | 1u << 16))
			return bpfi_log_err(log, -EINVAL, "[%u] invalid float size %u", id, t.size);
		return 0;
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		return check_ref(v, id, t.type, true, log);
	case BTF_KIND_VAR:
		return check_ref(v, id, t.type, false, log);
	case BTF_KIND_FUNC:
		if ((err = check_ref(v, id, t.type, false, log)))
			return err;
		if (kind_of(v, t.type) != BTF_KIND_FUNC_PROTO)
			return bpfi_log_err(log, -EINVAL, "[%u] func type %u is not a prototype",
					    id, t.type);
		return vlen > BTF_FUNC_EXTERN
			       ? bpfi_log_err(log, -EINVAL, "[%u] invalid func linkage %u", id,
					      vlen)
			       : 0;
	case BTF_KIND_ARRAY:
		memcpy(&a, extra_at(v, id, 0, sizeof(a)), sizeof(a));
		if ((err = check_ref(v, id, a.type, false, log)) ||
		    (err = check_ref(v, id, a.index_type, false, log)))
			return err;
		return 0;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return check_members(v, id, &t, log);
	case BTF_KIND_ENUM:
		return check_enum(v, id, &t, sizeof(struct btf_enum), log);
	case BTF_KIND_ENUM64:
		return check_enum(v, id, &t, sizeof(struct btf_enum64), log);
	case BTF_KIND_FUNC_PROTO:
		return check_proto(v, id, &t, log);
	case BTF_KIND_DATASEC:
		return check_datasec(v, id, &t, log);
	case BTF_KIND_DECL_TAG:
		/* Needs every FUNC checked (its prototype), so it waits for pass 2. */
		return func_done ? check_decl_tag(v, id, &t, log) : 0;
	default:
		return 0;
	}
}

/* Edge @i out of @id for the loop check; false when there are no more. Pointers end the walk
 * (struct list { struct list *next; } is fine), everything else is followed. */
static bool edge(const struct view *v, uint32_t id, uint32_t i, uint32_t *ret)
{
	struct btf_type t = type_at(v, id);
	uint32_t kind = BTF_INFO_KIND(t.info), vlen = BTF_INFO_VLEN(t.info);
	struct btf_array a;

	switch (kind) {
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_VAR:
	case BTF_KIND_FUNC:
	case BTF_KIND_DECL_TAG:
		*ret = t.type;
		return i == 0;
	case BTF_KIND_ARRAY:
		memcpy(&a, extra_at(v, id, 0, sizeof(a)), sizeof(a));
		*ret = i ? a.index_type : a.type;
		return i < 2;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		if (i >= vlen)
			return false;
		*ret = rd32(extra_at(v, id, i, sizeof(struct btf_member)) + 4);
		return true;
	case BTF_KIND_FUNC_PROTO:
		if (i > vlen)
			return false;
		*ret = i ? rd32(extra_at(v, id, i - 1, sizeof(struct btf_param)) + 4) : t.type;
		return true;
	case BTF_KIND_DATASEC:
		if (i >= vlen)
			return false;
		*ret = rd32(extra_at(v, id, i, sizeof(struct btf_var_secinfo)));
		return true;
	default:
		return false;
	}
}

/* Pass 3: no loop of types except through a pointer (the kernel's "Loop detected"); libbpf
 * follows typedef and modifier chains without a bound. Depth-first, with an explicit stack. */
static int check_loops(const struct view *v, struct bpfi_log *log)
{
	uint8_t *state = calloc(v->nr + 1, 1); /* 0 unseen, 1 on the stack, 2 done */
	uint32_t *stack = calloc(v->nr + 1, sizeof(*stack));
	uint32_t *next = calloc(v->nr + 1, sizeof(*next));
	uint32_t root, depth, id, to;
	int err = 0;

	if (!state || !stack || !next) {
		err = -ENOMEM;
		goto out;
	}
	for (root = 1; root <= v->nr && !err; root++) {
		if (state[root])
			continue;
		depth = 0;
		stack[depth++] = root;
		state[root] = 1;
		next[root] = 0;
		while (depth) {
			id = stack[depth - 1];
			if (!edge(v, id, next[id]++, &to)) {
				state[id] = 2;
				depth--;
				continue;
			}
			if (!to || state[to] == 2)
				continue;
			if (state[to] == 1) {
				err = bpfi_log_err(log, -EINVAL, "[%u] type loop through [%u]", id,
						   to);
				break;
			}
			state[to] = 1;
			next[to] = 0;
			stack[depth++] = to;
		}
	}
out:
	free(state);
	free(stack);
	free(next);
	return err;
}

/* ---- .BTF.ext ---- */

struct ext_sec {
	const char *what;
	uint32_t min_rec;
};

/* One record of section @s (func_info 0, line_info 1, core_relo 2) at @rec. */
static int check_ext_rec(const struct view *v, int s, const uint8_t *rec, uint32_t i,
			 struct bpfi_log *log)
{
	uint32_t insn_off = rd32(rec), a = rd32(rec + 4), b = rd32(rec + 8), c = rd32(rec + 12);

	if (insn_off % 8)
		return bpfi_log_err(log, -EINVAL, "record %u: insn_off %u not a multiple of 8", i,
				    insn_off);
	if (s == 0) {
		if (!a || a > v->nr || kind_of(v, a) != BTF_KIND_FUNC)
			return bpfi_log_err(log, -EINVAL, "func_info %u: type %u is not a function",
					    i, a);
	} else if (s == 1) {
		if (!str_ok(v, a) || !str_ok(v, b))
			return bpfi_log_err(log, -EINVAL, "line_info %u: invalid string offset", i);
	} else {
		const char *spec;

		if (!a || a > v->nr)
			return bpfi_log_err(log, -EINVAL, "core_relo %u: invalid type_id %u", i, a);
		if (!str_ok(v, b) || c > CORE_RELO_KIND_MAX)
			return bpfi_log_err(log, -EINVAL,
					    "core_relo %u: invalid access string or kind %u", i, c);
		/* libbpf parses the access string as "N(:N)*". */
		spec = v->strs + b;
		if (!spec[0] || strspn(spec, "0123456789:") != strlen(spec))
			return bpfi_log_err(log, -EINVAL, "core_relo %u: invalid access string", i);
	}
	return 0;
}

/* One info section: a record size, then per ELF section a name, a count and the records. */
static int check_ext_sec(const struct view *v, int s, const uint8_t *p, uint32_t len,
			 struct bpfi_log *log)
{
	static const struct ext_sec secs[] = { { "func_info", 8 },
					       { "line_info", 16 },
					       { "core_relo", 16 } };
	uint32_t rec_size, off = 4, name, n, i;
	int err;

	if (!len)
		return 0;
	if (len < 4)
		return bpfi_log_err(log, -EINVAL, ".BTF.ext %s: no record size", secs[s].what);
	rec_size = rd32(p);
	if (rec_size < secs[s].min_rec || rec_size % 4)
		return bpfi_log_err(log, -EINVAL, ".BTF.ext %s: invalid record size %u",
				    secs[s].what, rec_size);
	while (off < len) {
		if (len - off < 8)
			return bpfi_log_err(log, -EINVAL, ".BTF.ext %s: truncated", secs[s].what);
		name = rd32(p + off);
		n = rd32(p + off + 4);
		off += 8;
		if (!str_ok(v, name) || !v->strs[name])
			return bpfi_log_err(log, -EINVAL, ".BTF.ext %s: invalid section name",
					    secs[s].what);
		if (!n || (uint64_t)n * rec_size > len - off)
			return bpfi_log_err(log, -EINVAL, ".BTF.ext %s: invalid record count %u",
					    secs[s].what, n);
		for (i = 0; i < n; i++, off += rec_size) {
			/* Records are read 16 bytes at a time; func_info ones are 8. */
			uint8_t rec[16] = { 0 };

			memcpy(rec, p + off, rec_size < 16 ? rec_size : 16);
			if ((err = check_ext_rec(v, s, rec, i, log)))
				return err;
		}
	}
	return 0;
}

static int check_ext(const struct view *v, const uint8_t *ext, size_t size, struct bpfi_log *log)
{
	uint32_t hdr[8] = { 0 }, hdr_len, end;
	uint16_t magic;
	int s, err;

	if (size < BTF_EXT_HDR_MIN)
		return bpfi_log_err(log, -EINVAL, ".BTF.ext: header truncated");
	if (size > UINT32_MAX)
		return bpfi_log_err(log, -EINVAL, ".BTF.ext larger than 4 GiB");
	memcpy(&magic, ext, 2);
	if (magic != BTF_EXT_MAGIC)
		return bpfi_log_err(log, -EINVAL, ".BTF.ext: invalid magic");
	if (ext[2] != 1)
		return bpfi_log_err(log, -ENOTSUP, ".BTF.ext: unsupported version %u", ext[2]);
	if (ext[3])
		return bpfi_log_err(log, -ENOTSUP, ".BTF.ext: unsupported flags");
	hdr_len = rd32(ext + 4);
	if (hdr_len < BTF_EXT_HDR_MIN || hdr_len > size || hdr_len % 4)
		return bpfi_log_err(log, -EINVAL, ".BTF.ext: invalid header length %u", hdr_len);
	memcpy(hdr, ext, hdr_len < sizeof(hdr) ? hdr_len : sizeof(hdr));
	end = (uint32_t)size - hdr_len;
	/* hdr[2..3] func_info, [4..5] line_info, [6..7] core_relo (if the header has it). */
	for (s = 0; s < (hdr_len >= BTF_EXT_HDR_CORE ? 3 : 2); s++) {
		uint32_t off = hdr[2 + 2 * s], len = hdr[3 + 2 * s];

		if (!len)
			continue;
		if (off % 4 || (uint64_t)off + len > end)
			return bpfi_log_err(log, -EINVAL, ".BTF.ext: section %d out of bounds", s);
		if ((err = check_ext_sec(v, s, ext + hdr_len + off, len, log)))
			return err;
	}
	return 0;
}

int bpfi_btf_check(const void *btf, size_t btf_size, const void *ext, size_t ext_size,
		   struct bpfi_log *log)
{
	struct view v = { 0 };
	uint32_t id;
	int err;

	if ((err = parse_hdr(btf, btf_size, &v, log)) || (err = walk_types(&v, log)))
		goto out;
	for (id = 1; id <= v.nr; id++)
		if ((err = check_type(&v, id, false, log)))
			goto out;
	for (id = 1; id <= v.nr; id++)
		if (BTF_INFO_KIND(type_at(&v, id).info) == BTF_KIND_DECL_TAG &&
		    (err = check_type(&v, id, true, log)))
			goto out;
	if ((err = check_loops(&v, log)))
		goto out;
	if (ext)
		err = check_ext(&v, ext, ext_size, log);
out:
	free(v.off);
	return err;
}
