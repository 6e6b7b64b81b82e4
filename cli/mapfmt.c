// SPDX-License-Identifier: MIT
/*
 * Map contents as `bpftool map dump` shows them: keys and values formatted by their BTF types
 * (libbpf's btf_dump for the plain form, btfjson.c for --json), per-CPU values per CPU, and
 * the .bss/.data/.rodata sections with their variables.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

/* Arrays bigger than this are shown without their all-zero elements in the plain form. */
#define PLAIN_ZERO_HIDE_MIN 8

bool cli__map_is_dumpable(const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);

	switch (bpf_map__type(map)) {
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_USER_RINGBUF:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_CGROUP_ARRAY:
	case BPF_MAP_TYPE_STRUCT_OPS:
		/* Events are consumed, not looked up; fd arrays hold fds of this process. */
		return false;
	default:
		break;
	}
	/* .kconfig is filled by libbpf from the running kernel, not by the program. */
	return !(bpf_map__is_internal(map) && name && !strcmp(name, ".kconfig"));
}

static bool is_percpu(const struct bpf_map *map)
{
	switch (bpf_map__type(map)) {
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		return true;
	default:
		return false;
	}
}

static bool is_datasec(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf && id ? btf__type_by_id(btf, id) : NULL;

	return t && btf_is_datasec(t);
}

static bool all_zero(const void *data, size_t size)
{
	const uint8_t *b = data;
	size_t i;

	for (i = 0; i < size; i++)
		if (b[i])
			return false;
	return true;
}

/* One map entry with its key and raw value (all CPUs' copies for per-CPU maps). */
struct entry_iter {
	int fd;
	uint32_t key_size, value_size, stride, nr_cpus;
	uint8_t *key, *next, *value;
	bool started;
	/* Keys left to visit: the map's own maximum. Its chains are in the arena, which targets
	 * can write, so a corrupted map could otherwise make get_next_key go round for ever. */
	uint64_t left;
};

static int iter_init(struct entry_iter *it, const struct bpf_map *map)
{
	int cpus = is_percpu(map) ? libbpf_num_possible_cpus() : 1;

	memset(it, 0, sizeof(*it));
	if (cpus <= 0)
		return cpus ? cpus : -EINVAL;
	it->fd = bpf_map__fd(map);
	it->key_size = bpf_map__key_size(map);
	it->value_size = bpf_map__value_size(map);
	/* Per-CPU values come one per possible CPU, each rounded up to 8 bytes (the ABI). */
	it->stride = is_percpu(map) ? (it->value_size + 7) & ~7u : it->value_size;
	it->nr_cpus = (uint32_t)cpus;
	it->left = (uint64_t)bpf_map__max_entries(map) * 2 + 16; /* and deleted keys' restarts */
	it->key = calloc(1, it->key_size + 8);
	it->next = calloc(1, it->key_size + 8);
	it->value = calloc(it->nr_cpus, it->stride + 8);
	if (!it->key || !it->next || !it->value)
		return -ENOMEM;
	return 0;
}

static void iter_done(struct entry_iter *it)
{
	free(it->key);
	free(it->next);
	free(it->value);
}

/* @return 1 with the next entry in key/value, 0 at the end, or a negative errno. */
static int iter_next(struct entry_iter *it)
{
	for (;;) {
		if (!it->left--)
			return 0;
		if (bpf_map_get_next_key(it->fd, it->started ? it->key : NULL, it->next)) {
			return errno == ENOENT ? 0 : -errno;
		}
		it->started = true;
		memcpy(it->key, it->next, it->key_size);
		if (!bpf_map_lookup_elem(it->fd, it->key, it->value))
			return 1;
		/* Deleted between get_next_key and lookup (another process): skip it. */
		if (errno != ENOENT)
			return -errno;
	}
}

/* Where btf_dump_printf() writes: set around each btf_dump__dump_type_data() call. */
static FILE *dump_stream;

static void btf_dump_printf(void *ctx, const char *fmt, va_list args) _printf_(2, 0);
static void btf_dump_printf(void *ctx, const char *fmt, va_list args)
{
	vfprintf(dump_stream ? dump_stream : ctx, fmt, args);
}

/*
 * libbpf's btf_dump prints char arrays element by element, (char[16])['b','p','f',]; bpftool
 * prints strings. Rewrites each such list whose elements are all plain characters as
 * (char[16])"bpf" while copying @in to @out.
 */
static void put_strings(FILE *out, const char *in)
{
	const char *p = in, *open, *q;

	while ((open = strstr(p, ")['"))) {
		char str[512];
		size_t n = 0;

		fwrite(p, 1, (size_t)(open - p) + 1, out);
		q = open + 2;
		/* Each element is 'c' followed by ','; the list ends with ']'. */
		while (q[0] == '\'' && q[1] && q[1] != '\'' && q[1] != '\\' && q[2] == '\'' &&
		       q[3] == ',' && n < sizeof(str) - 1) {
			str[n++] = q[1];
			q += 4;
		}
		if (*q == ']' && n) {
			fprintf(out, "\"%.*s\"", (int)n, str);
			p = q + 1;
		} else {
			p = open + 1;
		}
	}
	fputs(p, out);
}

static void plain_data(FILE *out, struct btf_dump *d, const struct btf *btf, uint32_t id,
		       const void *data, size_t size)
{
	const uint8_t *b = data;
	size_t i;

	if (d && id) {
		LIBBPF_OPTS(btf_dump_type_data_opts, opts, .compact = true, .emit_zeroes = true);
		char *text = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&text, &len);
		int err;

		/* btf_dump writes to its own stream (btf_dump_printf): point it at ours. */
		if (mem) {
			dump_stream = mem;
			err = btf_dump__dump_type_data(d, id, data, size, &opts);
			fclose(mem);
			dump_stream = NULL;
			if (err >= 0 && text)
				put_strings(out, text);
			free(text);
			if (err >= 0)
				return;
		}
	}
	for (i = 0; i < size; i++)
		fprintf(out, "%s%02x", i ? " " : "", b[i]);
}

/* A data section as its variables, one per line: `calls = (__u64)1000`. */
static void plain_datasec(FILE *out, struct btf_dump *d, const struct btf *btf, uint32_t id,
			  const uint8_t *data, size_t size)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_var_secinfo *vsi = btf_var_secinfos(t);
	unsigned i, vlen = btf_vlen(t);

	for (i = 0; i < vlen; i++, vsi++) {
		const struct btf_type *var = btf__type_by_id(btf, vsi->type);

		if (!var || !btf_is_var(var) || (uint64_t)vsi->offset + vsi->size > size)
			continue;
		fprintf(out, "%s = ", btf__name_by_offset(btf, var->name_off));
		plain_data(out, d, btf, var->type, data + vsi->offset, vsi->size);
		fputc('\n', out);
	}
}

static void plain_entry(FILE *out, const struct bpf_map *map, struct btf_dump *d,
			const struct btf *btf, const struct entry_iter *it)
{
	uint32_t kid = bpf_map__btf_key_type_id(map), vid = bpf_map__btf_value_type_id(map);
	uint32_t cpu;

	/* A data section has a single element whose key (0) means nothing. */
	if (is_datasec(btf, vid) && !is_percpu(map)) {
		plain_datasec(out, d, btf, vid, it->value, it->value_size);
		return;
	}
	fputs("key: ", out);
	plain_data(out, d, btf, kid, it->key, it->key_size);
	if (!is_percpu(map)) {
		fputs("  ", out);
		fputs("value: ", out);
		plain_data(out, d, btf, vid, it->value, it->value_size);
		fputc('\n', out);
		return;
	}
	fputc('\n', out);
	for (cpu = 0; cpu < it->nr_cpus; cpu++) {
		fprintf(out, "  value (CPU %02u): ", cpu);
		plain_data(out, d, btf, vid, it->value + (size_t)cpu * it->stride, it->value_size);
		fputc('\n', out);
	}
}

int cli__map_dump_plain(FILE *out, const struct bpf_map *map, const struct btf *btf)
{
	struct btf_dump *d = btf ? btf_dump__new(btf, btf_dump_printf, out, NULL) : NULL;
	uint32_t vid = bpf_map__btf_value_type_id(map);
	bool hide_zero = (bpf_map__type(map) == BPF_MAP_TYPE_ARRAY ||
			  bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY) &&
			 bpf_map__max_entries(map) >= PLAIN_ZERO_HIDE_MIN;
	unsigned shown = 0, hidden = 0;
	struct entry_iter it;
	int err;

	err = iter_init(&it, map);
	while (!err && (err = iter_next(&it)) > 0) {
		err = 0;
		if (hide_zero && all_zero(it.value, (size_t)it.stride * it.nr_cpus)) {
			hidden++;
			continue;
		}
		plain_entry(out, map, d, btf, &it);
		shown++;
	}
	if (!err && !is_datasec(btf, vid)) {
		fprintf(out, "Found %u element%s", shown, shown == 1 ? "" : "s");
		if (hidden)
			fprintf(out, " (and %u all-zero element%s not shown)", hidden,
				hidden == 1 ? "" : "s");
		fputc('\n', out);
	}
	iter_done(&it);
	btf_dump__free(d);
	return err;
}

/* --json: [{"key": ..., "value": ...}, ...], per-CPU: "values": [{"cpu": N, "value": ...}] */
int cli__map_dump_json(FILE *out, const struct bpf_map *map, const struct btf *btf)
{
	uint32_t kid = bpf_map__btf_key_type_id(map), vid = bpf_map__btf_value_type_id(map);
	struct entry_iter it;
	bool first = true;
	uint32_t cpu;
	int err;

	fputc('[', out);
	err = iter_init(&it, map);
	while (!err && (err = iter_next(&it)) > 0) {
		err = 0;
		fprintf(out, "%s{", first ? "" : ",");
		first = false;
		if (!is_datasec(btf, vid)) {
			fputs("\"key\":", out);
			cli__btf_json(out, btf, kid, it.key, it.key_size);
			fputc(',', out);
		}
		if (!is_percpu(map)) {
			fputs("\"value\":", out);
			cli__btf_json(out, btf, vid, it.value, it.value_size);
		} else {
			fputs("\"values\":[", out);
			for (cpu = 0; cpu < it.nr_cpus; cpu++) {
				fprintf(out, "%s{\"cpu\":%u,\"value\":", cpu ? "," : "", cpu);
				cli__btf_json(out, btf, vid, it.value + (size_t)cpu * it.stride,
					      it.value_size);
				fputc('}', out);
			}
			fputc(']', out);
		}
		fputc('}', out);
	}
	fputc(']', out);
	iter_done(&it);
	return err;
}
