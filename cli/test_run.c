// SPDX-License-Identifier: MIT
/*
 * `bpfinject test-run OBJ PROG`: runs one program in this process through PROG_TEST_RUN, as
 * `bpftool prog run` does against the kernel, then shows r0, the time per run, every map of
 * the object formatted by its BTF types, and what the program printed with trace_printk.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpfinject/runtime.h>

#include "cli_internal.h"

/* A context bigger than this is not a context (pt_regs is 168 bytes). */
#define CTX_MAX (1 << 20)

static const char test_run_usage[] =
	"usage: bpfinject test-run OBJ PROG [--ctx-in FILE] [--repeat N] [--json]\n"
	"                          [--backend jit|interp] [--no-verify]\n"
	"                          [--verify ours|kernel|both]\n";

struct test_run_args {
	const char *path, *prog, *ctx_file;
	uint32_t repeat;
	bool json, no_verify;
	enum bpfi_jit_backend backend;
};

/* @return 0, or an exit status (after the one-line message) */
static int parse_args(int argc, char **argv, struct test_run_args *a)
{
	static const struct option opts[] = {
		{ "ctx-in", required_argument, NULL, 'c' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "backend", required_argument, NULL, 'b' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "verify", required_argument, NULL, 'K' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	/* repeat 0 is not passed on: the kernel rejects it for some program types (raw_tp). */
	*a = (struct test_run_args){ .backend = BPFI_JIT_X86_64 };
	while ((c = getopt_long(argc, argv, "c:r:jvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->ctx_file = optarg;
			break;
		case 'r': {
			uint64_t v;

			if (cli__parse_uint("--repeat", optarg, 1, UINT32_MAX, &v))
				return EXIT_FAILURE;
			a->repeat = (uint32_t)v;
			break;
		}
		case 'j':
			a->json = true;
			break;
		case 'b':
			if (cli__parse_backend(optarg, &a->backend))
				return cli__err("--backend", "'%s': expected jit or interp",
						optarg);
			break;
		case 'N':
			a->no_verify = true;
			break;
		case 'K':
			if (cli__parse_verify(optarg))
				return EXIT_FAILURE;
			break;
		case 'v':
			arg_verbose++;
			break;
		case 'h':
			fputs(test_run_usage, stdout);
			exit(EXIT_SUCCESS);
		default:
			fputs(test_run_usage, stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		cli__err("test-run",
			 argc - optind < 2 ? "missing OBJ or PROG" : "too many arguments");
		fputs(test_run_usage, stderr);
		return 2;
	}
	a->path = argv[optind];
	a->prog = argv[optind + 1];
	return 0;
}

static int read_ctx(const char *path, void **ret_buf, size_t *ret_size)
{
	struct stat st;
	FILE *f;
	void *buf;
	size_t n;

	f = fopen(path, "rbe");
	if (!f)
		return cli__err(path, "%s", strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CTX_MAX) {
		fclose(f);
		return cli__err(path, "not a regular file of at most %d bytes", CTX_MAX);
	}
	buf = calloc(1, st.st_size ? (size_t)st.st_size : 1);
	n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (!buf || n != (size_t)st.st_size) {
		free(buf);
		return cli__err(path, "cannot read");
	}
	*ret_buf = buf;
	*ret_size = n;
	return 0;
}

static const char *backend_str(enum bpfi_jit_backend b)
{
	return b == BPFI_JIT_INTERP ? "interp" : "jit";
}

struct ringbuf_count {
	unsigned records;
	size_t bytes;
};

static int count_record(void *ctx, void *data, size_t size)
{
	struct ringbuf_count *c = ctx;

	c->records++;
	c->bytes += size;
	return 0;
}

/*
 * The records a ring buffer holds, counted by consuming them with libbpf's own consumer (so
 * this also checks that the runtime's ring buffer layout is the kernel's).
 */
static int count_ringbuf(const struct bpf_map *map, struct ringbuf_count *ret)
{
	struct ring_buffer *rb;
	int n;

	memset(ret, 0, sizeof(*ret));
	rb = ring_buffer__new(bpf_map__fd(map), count_record, ret, NULL);
	if (!rb)
		return -errno;
	n = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return n < 0 ? n : 0;
}

/* Why a map is not listed, for the plain output. */
static const char *not_dumped_reason(const struct bpf_map *map)
{
	switch (bpf_map__type(map)) {
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_USER_RINGBUF:
		return "ring buffer, consumed with ring_buffer__poll()";
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
		return "perf buffer, consumed with perf_buffer__poll()";
	default:
		return "holds fds of this process";
	}
}

static void print_maps_plain(const struct cli_obj *o)
{
	const struct btf *btf = bpf_object__btf(o->obj);
	struct ringbuf_count rc;
	struct bpf_map *map;
	int err;

	for (map = bpf_object__next_map(o->obj, NULL); map;
	     map = bpf_object__next_map(o->obj, map)) {
		if (bpf_map__is_internal(map) && !cli__map_is_dumpable(map))
			continue;
		printf("\nmap '%s' (%s, key %u B, value %u B, max_entries %u)", bpf_map__name(map),
		       cli__map_type_str(bpf_map__type(map)), bpf_map__key_size(map),
		       bpf_map__value_size(map), bpf_map__max_entries(map));
		if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF && !count_ringbuf(map, &rc))
			printf(": %u record%s pending (%zu bytes)", rc.records,
			       rc.records == 1 ? "" : "s", rc.bytes);
		if (!cli__map_is_dumpable(map)) {
			printf(", not dumped: %s\n", not_dumped_reason(map));
			continue;
		}
		printf(":\n");
		err = cli__map_dump_plain(stdout, map, btf);
		if (err)
			cli__warn(bpf_map__name(map), "cannot dump: %s", strerror(-err));
	}
}

static void print_maps_json(const struct cli_obj *o)
{
	const struct btf *btf = bpf_object__btf(o->obj);
	struct bpf_map *map;
	bool first = true;
	int err;

	fputs("\"maps\":[", stdout);
	for (map = bpf_object__next_map(o->obj, NULL); map;
	     map = bpf_object__next_map(o->obj, map)) {
		struct ringbuf_count rc;

		if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF && !count_ringbuf(map, &rc)) {
			fprintf(stdout, "%s{\"name\":", first ? "" : ",");
			first = false;
			cli__json_string(stdout, bpf_map__name(map), SIZE_MAX);
			printf(",\"type\":\"ringbuf\",\"pending_records\":%u,\"pending_bytes\":%zu}",
			       rc.records, rc.bytes);
			continue;
		}
		if (!cli__map_is_dumpable(map))
			continue;
		fprintf(stdout, "%s{\"name\":", first ? "" : ",");
		first = false;
		cli__json_string(stdout, bpf_map__name(map), SIZE_MAX);
		printf(",\"type\":\"%s\",\"entries\":", cli__map_type_str(bpf_map__type(map)));
		err = cli__map_dump_json(stdout, map, btf);
		if (err)
			cli__warn(bpf_map__name(map), "cannot dump: %s", strerror(-err));
		fputc('}', stdout);
	}
	fputc(']', stdout);
}

struct printk_out {
	bool json;
	unsigned n;
};

/* JSON records, or trace_pipe's layout (cli__print_printk, shared with the attach flow). */
static void print_printk(const struct bpfi_printk_line *l, void *cookie)
{
	struct printk_out *p = cookie;
	size_t len = strlen(l->msg);
	char comm[sizeof(l->comm) + 1];

	if (!p->json) {
		if (!p->n++)
			printf("\ntrace_printk:\n");
		cli__print_printk(l, NULL);
		return;
	}
	snprintf(comm, sizeof(comm), "%.*s", (int)sizeof(l->comm), l->comm);
	if (len && l->msg[len - 1] == '\n')
		len--;
	printf("%s{\"comm\":", p->n++ ? "," : "");
	cli__json_string(stdout, comm, SIZE_MAX);
	printf(",\"pid\":%u,\"cpu\":%u,\"ts_ns\":%" PRIu64 ",\"msg\":", l->tid, l->cpu, l->ts_ns);
	cli__json_string(stdout, l->msg, len);
	fputc('}', stdout);
}

static int run(const struct test_run_args *a, const struct cli_obj *o, const void *ctx,
	       size_t ctx_size)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(o->obj, a->prog);
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = ctx, .ctx_size_in = (uint32_t)ctx_size,
		    .repeat = (int)a->repeat);
	struct printk_out pk = { .json = a->json };
	uint32_t runs = a->repeat ? a->repeat : 1;
	char thing[96];

	snprintf(thing, sizeof(thing), "prog '%s'", a->prog);
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &topts))
		return cli__err(thing, "test run failed: %s", strerror(errno));
	if (a->json) {
		printf("{\"prog\":");
		cli__json_string(stdout, a->prog, SIZE_MAX);
		printf(",\"retval\":%u,\"duration_ns\":%u,\"repeat\":%u,\"backend\":\"%s\",",
		       topts.retval, topts.duration, runs, backend_str(a->backend));
		print_maps_json(o);
		printf(",\"trace_printk\":[");
		bpfi_runtime_drain_printk(print_printk, &pk);
		printf("]}\n");
		return 0;
	}
	printf("retval: %u (%#x)\nduration: %u ns per run (%u run%s, %s)\n", topts.retval,
	       topts.retval, topts.duration, runs, runs == 1 ? "" : "s", backend_str(a->backend));
	print_maps_plain(o);
	bpfi_runtime_drain_printk(print_printk, &pk);
	return 0;
}

int cli__cmd_test_run(int argc, char **argv)
{
	struct test_run_args a;
	struct cli_obj o;
	void *ctx = NULL;
	size_t ctx_size = 0;
	int ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	if (a.ctx_file && read_ctx(a.ctx_file, &ctx, &ctx_size))
		return EXIT_FAILURE;
	ret = EXIT_FAILURE;
	if (cli__runtime_start(a.backend, a.no_verify))
		goto out;
	if (cli__obj_load(a.path, a.prog, &o))
		goto out;
	for (size_t i = 0; i < o.nr_progs; i++)
		if (o.progs[i].rejected)
			cli__warn(a.path, "prog '%s' rejected, not loaded: %s", o.progs[i].name,
				  o.progs[i].reason);
	ret = run(&a, &o, ctx, ctx_size) ? EXIT_FAILURE : EXIT_SUCCESS;
	cli__obj_close(&o);
out:
	free(ctx);
	return ret;
}
