// SPDX-License-Identifier: MIT
/*
 * `bpfinject dump OBJ [-d]`: the programs of an object with their load-time check result, its
 * maps with their BTF types, and with -d each program disassembled.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

static const char dump_usage[] =
	"usage: bpfinject dump OBJ [-d] [--backend jit|interp] [--verify ours|kernel|both]\n";

/* A C spelling of BTF type @id ("__u64", "struct arg_stat", "char[16]") for the map table. */
static void type_name(const struct btf *btf, uint32_t id, char *buf, size_t size)
{
	const struct btf_type *t = btf && id ? btf__type_by_id(btf, id) : NULL;
	const char *name, *kw = "";
	char inner[64];

	if (!t) {
		snprintf(buf, size, "-");
		return;
	}
	name = btf__name_by_offset(btf, t->name_off);
	switch (btf_kind(t)) {
	case BTF_KIND_STRUCT:
		kw = "struct ";
		break;
	case BTF_KIND_UNION:
		kw = "union ";
		break;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		kw = "enum ";
		break;
	case BTF_KIND_DATASEC:
		kw = "datasec ";
		break;
	case BTF_KIND_ARRAY:
		type_name(btf, btf_array(t)->type, inner, sizeof(inner));
		snprintf(buf, size, "%s[%u]", inner, btf_array(t)->nelems);
		return;
	case BTF_KIND_PTR:
		type_name(btf, t->type, inner, sizeof(inner));
		snprintf(buf, size, "%s *", inner);
		return;
	case BTF_KIND_CONST:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		type_name(btf, t->type, buf, size);
		return;
	default:
		break;
	}
	snprintf(buf, size, "%s%s", kw, name && name[0] ? name : "(anon)");
}

/* Column widths: the longest cell of the column, at least its header. */
struct prog_cols {
	int name, section, type;
};

static void prog_widths(const struct cli_obj *o, struct prog_cols *w)
{
	struct bpf_program *prog;

	*w = (struct prog_cols){ 4, 7, 4 };
	for (prog = bpf_object__next_program(o->obj, NULL); prog;
	     prog = bpf_object__next_program(o->obj, prog)) {
		w->name = BPFI_MAX(w->name, (int)strlen(bpf_program__name(prog)));
		w->section = BPFI_MAX(w->section, (int)strlen(bpf_program__section_name(prog)));
		w->type =
			BPFI_MAX(w->type, (int)strlen(cli__prog_type_str(bpf_program__type(prog))));
	}
}

static void print_progs(const struct cli_obj *o, bool no_verify)
{
	static const char *const oks[] = { "ok", "ok (the kernel's check)",
					   "ok (ours and the kernel's)" };
	const char *ok = no_verify ? "not checked (--no-verify)" : oks[cli__verify_mode];
	struct bpf_program *prog;
	struct prog_cols w;

	prog_widths(o, &w);
	printf("programs:\n  %-*s  %-*s  %-*s  %6s  %s\n", w.name, "name", w.section, "section",
	       w.type, "type", "insns", "check");
	for (prog = bpf_object__next_program(o->obj, NULL); prog;
	     prog = bpf_object__next_program(o->obj, prog)) {
		const struct cli_prog_result *r = cli__obj_result(o, bpf_program__name(prog));

		printf("  %-*s  %-*s  %-*s  %6zu  %s%s\n", w.name, bpf_program__name(prog),
		       w.section, bpf_program__section_name(prog), w.type,
		       cli__prog_type_str(bpf_program__type(prog)), bpf_program__insn_cnt(prog),
		       r && r->rejected ? "rejected: " : ok, r && r->rejected ? r->reason : "");
	}
}

static void print_maps(const struct cli_obj *o)
{
	const struct btf *btf = bpf_object__btf(o->obj);
	int wname = 4, wtype = 4;
	struct bpf_map *map;
	char kname[96], vname[96], flags[16];

	for (map = bpf_object__next_map(o->obj, NULL); map;
	     map = bpf_object__next_map(o->obj, map)) {
		wname = BPFI_MAX(wname, (int)strlen(bpf_map__name(map)));
		wtype = BPFI_MAX(wtype, (int)strlen(cli__map_type_str(bpf_map__type(map))));
	}
	printf("maps:\n  %-*s  %-*s  %5s  %6s  %11s  %6s  %s\n", wname, "name", wtype, "type",
	       "key", "value", "max_entries", "flags", "btf key -> value");
	for (map = bpf_object__next_map(o->obj, NULL); map;
	     map = bpf_object__next_map(o->obj, map)) {
		type_name(btf, bpf_map__btf_key_type_id(map), kname, sizeof(kname));
		type_name(btf, bpf_map__btf_value_type_id(map), vname, sizeof(vname));
		snprintf(flags, sizeof(flags), "0x%x", bpf_map__map_flags(map));
		printf("  %-*s  %-*s  %5u  %6u  %11u  %6s  %s -> %s\n", wname, bpf_map__name(map),
		       wtype, cli__map_type_str(bpf_map__type(map)), bpf_map__key_size(map),
		       bpf_map__value_size(map), bpf_map__max_entries(map), flags, kname, vname);
	}
}

static const char *map_name_cb(int fd, void *cookie)
{
	return cli__map_name_by_fd(cookie, fd);
}

static const char *rejected_map_name_cb(int fd, void *cookie)
{
	return cli__rejected_map_name(cookie, fd);
}

static void print_disasm(const struct cli_obj *o)
{
	struct cli_disasm_ctx ctx = { .map_name = map_name_cb, .cookie = (void *)o };
	struct bpf_program *prog;

	for (prog = bpf_object__next_program(o->obj, NULL); prog;
	     prog = bpf_object__next_program(o->obj, prog)) {
		const struct cli_prog_result *r = cli__obj_result(o, bpf_program__name(prog));

		if (r && r->rejected && r->insns) {
			/* As the check saw it: relocated, with the maps of that attempt. */
			struct cli_disasm_ctx rctx = { .map_name = rejected_map_name_cb,
						       .cookie = (void *)r };

			printf("\nprog '%s' (section '%s', %zu insns, rejected: %s):\n",
			       bpf_program__name(prog), bpf_program__section_name(prog),
			       r->insn_cnt, r->reason);
			cli__disasm_prog(stdout, r->insns, r->insn_cnt, &rctx);
			continue;
		}
		printf("\nprog '%s' (section '%s', %zu insns%s):\n", bpf_program__name(prog),
		       bpf_program__section_name(prog), bpf_program__insn_cnt(prog),
		       r && r->rejected ? ", rejected, as in the object file" : "");
		cli__disasm_prog(stdout, bpf_program__insns(prog), bpf_program__insn_cnt(prog),
				 &ctx);
	}
}

int cli__cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "disasm", no_argument, NULL, 'd' },
		{ "backend", required_argument, NULL, 'b' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "verify", required_argument, NULL, 'K' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum bpfi_jit_backend backend = BPFI_JIT_X86_64;
	bool disasm = false, no_verify = false;
	struct cli_obj o;
	size_t nprogs = 0, nmaps = 0, rejected = 0, i;
	struct bpf_map *map;
	int c;

	while ((c = getopt_long(argc, argv, "dvh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			disasm = true;
			break;
		case 'b':
			if (cli__parse_backend(optarg, &backend))
				return cli__err("--backend", "'%s': expected jit or interp",
						optarg);
			break;
		case 'N':
			no_verify = true;
			break;
		case 'K':
			if (cli__parse_verify(optarg))
				return EXIT_FAILURE;
			break;
		case 'v':
			arg_verbose++;
			break;
		case 'h':
			fputs(dump_usage, stdout);
			return EXIT_SUCCESS;
		default:
			fputs(dump_usage, stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		cli__err("dump", argc - optind ? "too many arguments" : "missing OBJ");
		fputs(dump_usage, stderr);
		return 2;
	}
	if (cli__runtime_start(backend, no_verify))
		return EXIT_FAILURE;
	if (cli__obj_load(argv[optind], NULL, &o))
		return EXIT_FAILURE;
	for (map = bpf_object__next_map(o.obj, NULL); map; map = bpf_object__next_map(o.obj, map))
		nmaps++;
	nprogs = o.nr_progs;
	for (i = 0; i < o.nr_progs; i++)
		rejected += o.progs[i].rejected;
	printf("%s: %zu program%s (%zu rejected), %zu map%s\n\n", o.path, nprogs,
	       nprogs == 1 ? "" : "s", rejected, nmaps, nmaps == 1 ? "" : "s");
	print_progs(&o, no_verify);
	putchar('\n');
	print_maps(&o);
	if (disasm)
		print_disasm(&o);
	fflush(stdout);
	for (i = 0; i < o.nr_progs; i++)
		if (o.progs[i].rejected)
			cli__err(o.path, "prog '%s' rejected: %s", o.progs[i].name,
				 o.progs[i].reason);
	cli__obj_close(&o);
	/* Like a compiler: listing a bad object succeeds, but says so in the exit status. */
	return rejected ? EXIT_FAILURE : EXIT_SUCCESS;
}
