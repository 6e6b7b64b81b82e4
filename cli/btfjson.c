// SPDX-License-Identifier: MIT
/*
 * JSON from BTF-described bytes (ints, chars and strings, arrays, structs and unions with
 * bitfields, enums, floats, pointers, data sections), shaped like bpftool's `-j map dump`.
 * libbpf only formats BTF data as C, so this one is ours.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "cli_internal.h"

/* Nesting deeper than this is printed as null: BTF from a file can be cyclic or absurd. */
#define MAX_DEPTH 32

static void btf_value(FILE *out, const struct btf *btf, uint32_t id, const uint8_t *data,
		      size_t size, int depth);

void cli__json_string(FILE *out, const char *s, size_t len)
{
	size_t i;

	fputc('"', out);
	for (i = 0; i < len && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* bpftool prints bytes without BTF as an array of "0x.." strings. */
void cli__hex_json(FILE *out, const void *data, size_t size)
{
	const uint8_t *b = data;
	size_t i;

	fputc('[', out);
	for (i = 0; i < size; i++)
		fprintf(out, "%s\"0x%02x\"", i ? "," : "", b[i]);
	fputc(']', out);
}

static uint64_t read_uint(const uint8_t *data, size_t size)
{
	uint64_t v = 0;

	/* Little-endian, any size up to 8. */
	memcpy(&v, data, size > 8 ? 8 : size);
	return v;
}

static int64_t sign_extend(uint64_t v, unsigned bits)
{
	if (bits == 0 || bits >= 64)
		return (int64_t)v;
	if (v & (1ULL << (bits - 1)))
		v |= ~0ULL << bits;
	return (int64_t)v;
}

/* An int of @bits bits starting @bit_off bits into @data (bitfields and plain ints alike). */
static void int_value(FILE *out, uint8_t encoding, unsigned bit_off, unsigned bits,
		      const uint8_t *data, size_t size)
{
	uint64_t v;

	if (bits > 64 || bit_off + bits > size * 8 || (bit_off + bits > 64 && bits <= 64)) {
		size_t i;

		/* __int128 and oddities: hex of the bytes, most significant first. */
		fputs("\"0x", out);
		for (i = size; i > 0; i--)
			fprintf(out, "%02x", data[i - 1]);
		fputc('"', out);
		return;
	}
	v = read_uint(data, size) >> bit_off;
	if (bits < 64)
		v &= (1ULL << bits) - 1;
	if (encoding & BTF_INT_BOOL)
		fputs(v ? "true" : "false", out);
	else if ((encoding & BTF_INT_CHAR) && bits == 8 && isprint((int)v))
		fprintf(out, "\"%c\"", (char)v == '"' || (char)v == '\\' ? '?' : (char)v);
	else if (encoding & BTF_INT_SIGNED)
		fprintf(out, "%" PRId64, sign_extend(v, bits));
	else
		fprintf(out, "%" PRIu64, v);
}

static bool is_char_type(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, btf__resolve_type(btf, id));
	const char *name;

	if (!t || !btf_is_int(t) || t->size != 1)
		return false;
	name = btf__name_by_offset(btf, t->name_off);
	return (btf_int_encoding(t) & BTF_INT_CHAR) || (name && strstr(name, "char"));
}

/* A char array that holds a NUL-terminated printable string is shown as a string. */
static bool is_string(const uint8_t *data, size_t n)
{
	size_t i;

	for (i = 0; i < n && data[i]; i++)
		if (!isprint(data[i]) && !isspace(data[i]))
			return false;
	return i < n;
}

static void array_value(FILE *out, const struct btf *btf, const struct btf_type *t,
			const uint8_t *data, size_t size, int depth)
{
	const struct btf_array *arr = btf_array(t);
	long elem_size = btf__resolve_size(btf, arr->type);
	uint32_t i;

	if (elem_size <= 0 || (uint64_t)elem_size * arr->nelems > size) {
		fputs("null", out);
		return;
	}
	if (elem_size == 1 && is_char_type(btf, arr->type) && is_string(data, arr->nelems)) {
		cli__json_string(out, (const char *)data, arr->nelems);
		return;
	}
	fputc('[', out);
	for (i = 0; i < arr->nelems; i++) {
		if (i)
			fputc(',', out);
		btf_value(out, btf, arr->type, data + (size_t)i * elem_size, elem_size, depth + 1);
	}
	fputc(']', out);
}

/*
 * The members of a struct or union as "name": value pairs; members of an anonymous struct or
 * union are listed in place, as C lets one name them. @first tracks the separating commas.
 */
static void members(FILE *out, const struct btf *btf, const struct btf_type *t, const uint8_t *data,
		    size_t size, int depth, bool *first)
{
	const struct btf_member *m = btf_members(t);
	unsigned i, vlen = btf_vlen(t);

	for (i = 0; i < vlen; i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		uint32_t bit_off = btf_member_bit_offset(t, i);
		uint32_t bf_size = btf_member_bitfield_size(t, i);
		uint32_t id = btf__resolve_type(btf, m->type);
		const struct btf_type *mt = btf__type_by_id(btf, id);
		long msize = btf__resolve_size(btf, m->type);
		size_t byte_off = bit_off / 8;

		if (!mt || msize < 0 || byte_off > size)
			continue;
		if ((!name || !name[0]) && (btf_is_struct(mt) || btf_is_union(mt))) {
			if ((size_t)msize <= size - byte_off)
				members(out, btf, mt, data + byte_off, msize, depth + 1, first);
			continue;
		}
		fprintf(out, "%s", *first ? "" : ",");
		*first = false;
		cli__json_string(out, name ? name : "", SIZE_MAX);
		fputc(':', out);
		if (bf_size) {
			/* Bitfield: read from the containing bytes, at most 8 of them. */
			size_t avail = size - byte_off;

			int_value(out, btf_is_int(mt) ? btf_int_encoding(mt) : 0, bit_off % 8,
				  bf_size, data + byte_off, avail < 8 ? avail : 8);
		} else if ((size_t)msize <= size - byte_off) {
			btf_value(out, btf, m->type, data + byte_off, msize, depth + 1);
		} else {
			fputs("null", out);
		}
	}
}

static void enum_value(FILE *out, const struct btf *btf, const struct btf_type *t,
		       const uint8_t *data, size_t size)
{
	uint64_t raw = read_uint(data, size < t->size ? size : t->size);
	unsigned i, vlen = btf_vlen(t);
	const char *name = NULL;

	if (btf_is_enum(t)) {
		const struct btf_enum *e = btf_enum(t);

		for (i = 0; i < vlen; i++, e++)
			if ((uint32_t)e[0].val == (uint32_t)raw)
				name = btf__name_by_offset(btf, e->name_off);
	} else {
		const struct btf_enum64 *e = btf_enum64(t);

		for (i = 0; i < vlen; i++, e++)
			if (btf_enum64_value(e) == raw)
				name = btf__name_by_offset(btf, e->name_off);
	}
	if (name)
		cli__json_string(out, name, SIZE_MAX);
	else
		fprintf(out, "%" PRIu64, raw);
}

static void datasec_value(FILE *out, const struct btf *btf, const struct btf_type *t,
			  const uint8_t *data, size_t size, int depth)
{
	const struct btf_var_secinfo *vsi = btf_var_secinfos(t);
	unsigned i, vlen = btf_vlen(t);

	/* bpftool: {".bss": [{"var": value}, ...]} */
	fputc('{', out);
	cli__json_string(out, btf__name_by_offset(btf, t->name_off), SIZE_MAX);
	fputs(":[", out);
	for (i = 0; i < vlen; i++, vsi++) {
		const struct btf_type *var = btf__type_by_id(btf, vsi->type);

		if (!var || (uint64_t)vsi->offset + vsi->size > size)
			continue;
		fprintf(out, "%s{", i ? "," : "");
		cli__json_string(out, btf__name_by_offset(btf, var->name_off), SIZE_MAX);
		fputc(':', out);
		btf_value(out, btf, btf_is_var(var) ? var->type : vsi->type, data + vsi->offset,
			  vsi->size, depth + 1);
		fputc('}', out);
	}
	fputs("]}", out);
}

static void btf_value(FILE *out, const struct btf *btf, uint32_t id, const uint8_t *data,
		      size_t size, int depth)
{
	const struct btf_type *t;
	bool first = true;

	id = btf__resolve_type(btf, id);
	t = btf__type_by_id(btf, id);
	if (!t || depth > MAX_DEPTH) {
		fputs("null", out);
		return;
	}
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		if (t->size > size)
			break;
		int_value(out, btf_int_encoding(t), btf_int_offset(t), btf_int_bits(t), data,
			  t->size);
		return;
	case BTF_KIND_PTR:
		if (size < 8)
			break;
		fprintf(out, "\"0x%" PRIx64 "\"", read_uint(data, 8));
		return;
	case BTF_KIND_ARRAY:
		array_value(out, btf, t, data, size, depth);
		return;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		fputc('{', out);
		members(out, btf, t, data, size, depth, &first);
		fputc('}', out);
		return;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		enum_value(out, btf, t, data, size);
		return;
	case BTF_KIND_FLOAT:
		if (t->size == 4 && size >= 4) {
			float f;

			memcpy(&f, data, 4);
			fprintf(out, "%.9g", (double)f);
			return;
		}
		if (t->size == 8 && size >= 8) {
			double d;

			memcpy(&d, data, 8);
			fprintf(out, "%.17g", d);
			return;
		}
		break;
	case BTF_KIND_DATASEC:
		datasec_value(out, btf, t, data, size, depth);
		return;
	case BTF_KIND_VAR:
		btf_value(out, btf, t->type, data, size, depth + 1);
		return;
	default:
		break;
	}
	fputs("null", out);
}

void cli__btf_json(FILE *out, const struct btf *btf, uint32_t type_id, const void *data,
		   size_t size)
{
	if (!btf || !type_id)
		cli__hex_json(out, data, size);
	else
		btf_value(out, btf, type_id, data, size, 0);
}
