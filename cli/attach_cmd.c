// SPDX-License-Identifier: MIT
/*
 * The main job: `bpfinject [-p PID]... OBJ [-- CMD ARGS]`. Loads OBJ through the runtime,
 * attaches its programs as libbpf would, injects them into every target (or starts CMD with
 * them in place from its first instruction of main), prints what they output while they run,
 * and on Ctrl-C, SIGTERM, the end of --duration or the targets' exit takes every byte back
 * (or leaves them with --persist) and prints the maps. Also `detach -p PID` and `list`.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpfinject/injector.h>
#include <bpfinject/runtime.h>

#include "cli_internal.h"

#define MAX_TARGETS	 64
#define MAX_ATTACH_SPECS 32
#define MAX_LINKS	 256

volatile sig_atomic_t cli__stop_requested;

struct run_args {
	pid_t pids[MAX_TARGETS];
	unsigned int nr_pids;
	char **cmd; /* after "--", or NULL */
	const char *obj;
	double duration; /* seconds, 0: until Ctrl-C */
	bool persist;
	bool json;
	bool no_verify;
	const char *event_type;
	const char *attach[MAX_ATTACH_SPECS]; /* PROG=[PATH:]FUNC[+OFF] */
	unsigned int nr_attach;
	struct bpf_link *links[MAX_LINKS]; /* what libbpf attached, destroyed at exit */
	unsigned int nr_links;
};

struct events {
	const struct btf *btf;
	int32_t type_id; /* --event-type, or -1 for hex */
	bool json;
	unsigned long n;
};

void cli__on_signal(int sig)
{
	(void)sig;
	cli__stop_requested = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One record from a ring or perf buffer: formatted by its BTF type, or as hex. */
static void print_event(struct events *ev, const void *data, size_t size)
{
	const uint8_t *b = data;

	ev->n++;
	if (ev->type_id >= 0 && ev->json) {
		cli__btf_json(stdout, ev->btf, (uint32_t)ev->type_id, data, size);
		fputc('\n', stdout);
	} else if (ev->type_id >= 0) {
		cli__btf_plain(stdout, ev->btf, (uint32_t)ev->type_id, data, size);
		fputc('\n', stdout);
	} else if (ev->json) {
		printf("{\"event\":");
		cli__hex_json(stdout, data, size);
		printf("}\n");
	} else {
		printf("event (%zu bytes):", size);
		for (size_t i = 0; i < size; i++)
			printf("%s%02x", i % 16 ? " " : "\n  ", b[i]);
		fputc('\n', stdout);
	}
	fflush(stdout);
}

/*
 * Ring and perf buffers live in the arena, which every target can write (maps_internal.h): a
 * record's length is input. libbpf maps a ring's data twice, so a record that starts in it can
 * be read for up to the ring's size; longer ones are corrupt and dropped. And at most a ring's
 * worth of records per poll (ring_budget, reset before each): a forged producer position must
 * not keep us in libbpf's loop (a callback's error ends it).
 */
#define MAX_RINGS 16
struct ring_ctx {
	struct events *ev;
	size_t max; /* the ring's size less a record header */
};
static struct ring_ctx ring_ctxs[MAX_RINGS];
static long ring_budget, ring_budget_full;

static int on_ringbuf(void *cookie, void *data, size_t size)
{
	struct ring_ctx *rc = cookie;

	if (--ring_budget < 0)
		return -E2BIG;
	if (size <= rc->max)
		print_event(rc->ev, data, size);
	return 0;
}

/*
 * libbpf hands us the raw sample after its perf_event_header and u32 size, in the ring or in
 * its copy of a record that wraps: the size is trusted no further than the record's header
 * (read once), which libbpf checked against the buffer.
 */
static void on_perf_sample(void *cookie, int cpu, void *data, __u32 size)
{
	uint16_t rec = *(volatile uint16_t *)(void *)((char *)data - 6); /* header.size */

	(void)cpu;
	if (rec < 12 || size > (uint32_t)rec - 12)
		return;
	print_event(cookie, data, size);
}

static void on_perf_lost(void *cookie, int cpu, __u64 n)
{
	(void)cookie;
	fprintf(stderr, "bpfinject: warning: cpu %d: %llu events lost\n", cpu,
		(unsigned long long)n);
}

static int keep_link(struct run_args *a, struct bpf_link *link)
{
	if (a->nr_links == MAX_LINKS) {
		bpf_link__destroy(link);
		return cli__err("attach", "more than %d attachments", MAX_LINKS);
	}
	a->links[a->nr_links++] = link;
	return 0;
}

/* The executable -a FUNC refers to when it names no file: CMD's, or the first target's. */
static int default_exe(const struct run_args *a, char *path, size_t size)
{
	char link[64];
	ssize_t n;

	if (a->cmd) {
		const char *dirs = strchr(a->cmd[0], '/') ? "" : getenv("PATH");
		char *copy, *dir, *save = NULL;

		if (!dirs || !dirs[0]) {
			snprintf(path, size, "%s", a->cmd[0]);
			return access(path, X_OK) ? -errno : 0;
		}
		copy = strdup(dirs);
		for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			snprintf(path, size, "%s/%s", dir, a->cmd[0]);
			if (!access(path, X_OK)) {
				free(copy);
				return 0;
			}
		}
		free(copy);
		return -ENOENT;
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", a->pids[0]);
	n = readlink(link, path, size - 1);
	if (n <= 0)
		return -errno;
	path[n] = '\0';
	return 0;
}

/* -a PROG=[PATH:]FUNC[+OFF] or PROG=[PATH:]ADDR, taken apart. */
struct attach_parts {
	char prog[128], path[512], func[256]; /* func "" with ADDR: a file offset */
	uint64_t off;
};

/*
 * The spec's syntax, checked when the options are read (before anything is loaded): OFF is
 * a whole number (decimal or 0x...), and an ADDR (a FUNC that starts with a digit) too.
 */
static int parse_attach(const char *spec, struct attach_parts *p)
{
	const char *eq = strchr(spec, '='), *where, *colon, *plus;
	size_t n;

	memset(p, 0, sizeof(*p));
	if (!eq || eq == spec || !eq[1])
		return cli__err(spec, "expected PROG=[PATH:]FUNC[+OFFSET] or PROG=[PATH:]ADDRESS");
	n = (size_t)(eq - spec);
	if (n >= sizeof(p->prog) || strlen(eq + 1) >= sizeof(p->path))
		return cli__err(spec, "too long");
	memcpy(p->prog, spec, n);
	where = eq + 1;
	colon = strrchr(where, ':');
	if (colon)
		snprintf(p->path, sizeof(p->path), "%.*s", (int)(colon - where), where);
	where = colon ? colon + 1 : where;
	if (where[0] >= '0' && where[0] <= '9') {
		if (!cli__uint_ok(where, 0, INT64_MAX, &p->off))
			return cli__err(spec, "'%s': expected a file offset (a whole number)",
					where);
		return 0;
	}
	plus = strchr(where, '+');
	n = plus ? (size_t)(plus - where) : strlen(where);
	if (!n || n >= sizeof(p->func))
		return cli__err(spec, "expected a function name before the offset");
	memcpy(p->func, where, n);
	if (plus && !cli__uint_ok(plus + 1, 0, INT32_MAX, &p->off))
		return cli__err(spec, "'%s': expected an offset from 0 to %d (decimal or 0x...)",
				plus + 1, INT32_MAX);
	return 0;
}

/*
 * FUNC+OFF within FUNC: a known size, and an offset inside it (whether it starts an
 * instruction is decided when it is patched, by decoding from FUNC's start). @path is
 * checked only where we can open it ourselves (a path, or a module of the first target).
 */
static int check_func_offset(const struct run_args *a, const struct attach_parts *p,
			     const char *spec)
{
	char file[512];
	uint64_t foff, fsize = 0;

	if (!p->func[0] || !p->off)
		return 0;
	if (strchr(p->path, '/'))
		snprintf(file, sizeof(file), "%s", p->path);
	else if (!a->nr_pids ||
		 bpfi_proc_find_module(a->pids[0], p->path, file, sizeof(file), NULL))
		return 0;
	if (bpfi_elf_find_function(file, p->func, &foff, &fsize, NULL))
		return 0; /* libbpf says what is wrong with the name */
	if (!fsize)
		return cli__err(spec,
				"%s has no size in the symbol table: cannot check that +%" PRIu64
				" is inside it",
				p->func, p->off);
	if (p->off >= fsize)
		return cli__err(spec, "+%" PRIu64 " is past the end of %s (%" PRIu64 " bytes)",
				p->off, p->func, fsize);
	return 0;
}

/* -a PROG=[PATH:]FUNC[+OFF]: a uprobe for a program whose section names no target. */
static int attach_spec(struct bpf_object *obj, const char *spec, struct run_args *a)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct attach_parts p;
	struct bpf_program *prog;
	struct bpf_link *link;

	if (parse_attach(spec, &p))
		return EXIT_FAILURE;
	prog = bpf_object__find_program_by_name(obj, p.prog);
	if (!prog)
		return cli__err(p.prog, "no such program in the object");
	if (!p.path[0] && default_exe(a, p.path, sizeof(p.path)))
		return cli__err(spec, "no file named, and the target's executable was not found");
	if (check_func_offset(a, &p, spec))
		return EXIT_FAILURE;
	uo.func_name = p.func[0] ? p.func : NULL;
	uo.retprobe = !strncmp(bpf_program__section_name(prog), "uretprobe", 9);
	link = bpf_program__attach_uprobe_opts(prog, -1, p.path, p.off, &uo);
	if (!link) {
		const char *why = cli__libbpf_last_warning();

		return cli__err(spec, "%s", why[0] ? why : strerror(errno));
	}
	return keep_link(a, link);
}

/*
 * SEC("tracepoint/syscalls/sys_enter_X"), ("tp/raw_syscalls/sys_exit") and the like: the
 * event id comes from tracefs when it is readable and from bpfinject's own table when not
 * (a container, no root), so these attach where libbpf's tracefs lookup would fail. The
 * perf event goes through the runtime like libbpf's own.
 */
static bool calls_helper(const struct bpf_program *prog, int32_t id)
{
	const struct bpf_insn *insns = bpf_program__insns(prog);
	size_t n = bpf_program__insn_cnt(prog);

	for (size_t i = 0; i < n; i++) {
		if (insns[i].code == (BPF_JMP | BPF_CALL) && !insns[i].src_reg &&
		    insns[i].imm == id)
			return true;
	}
	return false;
}

static struct bpf_link *attach_syscall_tracepoint(struct bpf_program *prog, const char *sec,
						  const char **ret_why)
{
	const char *ev = strchr(sec, '/') + 1, *name;
	const struct bpfi_syscall *sc = NULL;
	struct perf_event_attr attr = { .type = PERF_TYPE_TRACEPOINT, .size = sizeof(attr) };
	struct bpfi_syscall_ids ids;
	bool exit;
	int fd;

	if (!strncmp(ev, "raw_syscalls/", 13)) {
		name = ev + 13;
	} else {
		name = ev + 9; /* "syscalls/" */
		if (bpfi_syscall_by_name(name, &sc, NULL)) {
			errno = ENOENT;
			return NULL;
		}
	}
	exit = !strncmp(name, "sys_exit", 8);
	/* A syscall that has run cannot be overridden: say so now rather than fail each call. */
	if (exit && calls_helper(prog, 58)) {
		*ret_why = "bpf_override_return cannot work there: the syscall has already run";
		return NULL;
	}
	if (bpfi_syscall_live_ids(sc, NULL, &ids, NULL)) {
		errno = ENOENT;
		return NULL;
	}
	attr.config = exit ? ids.exit : ids.enter;
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return NULL;
	return bpf_program__attach_perf_event(prog, fd);
}

static bool is_syscall_tracepoint(const char *sec)
{
	const char *ev = strchr(sec, '/');

	return (!strncmp(sec, "tracepoint/", 11) || !strncmp(sec, "tp/", 3)) && ev &&
	       (!strncmp(ev + 1, "syscalls/sys_enter_", 19) ||
		!strncmp(ev + 1, "syscalls/sys_exit_", 18) ||
		!strcmp(ev + 1, "raw_syscalls/sys_enter") ||
		!strcmp(ev + 1, "raw_syscalls/sys_exit"));
}

/* Is @name attached by a -a PROG=... of its own (its section is then only its type)? */
static bool attached_by_spec(const struct run_args *a, const char *name)
{
	size_t len = strlen(name);

	for (unsigned int i = 0; i < a->nr_attach; i++) {
		if (!strncmp(a->attach[i], name, len) && a->attach[i][len] == '=')
			return true;
	}
	return false;
}

/* "uprobe/PATH:FUNC+xyz": libbpf's sscanf stops at the '+' and attaches FUNC+0. */
static bool bad_section_offset(const char *sec)
{
	const char *colon = strrchr(sec, ':'), *plus = colon ? strchr(colon, '+') : NULL;
	uint64_t off;

	return plus && !cli__uint_ok(plus + 1, 0, INT32_MAX, &off);
}

/* Attaches what libbpf can attach by section name; the runtime records it. */
static int attach_programs(struct cli_obj *o, struct run_args *a)
{
	struct bpf_program *prog;
	struct bpf_link *link;
	const char *why;

	for (unsigned int i = 0; i < a->nr_attach; i++) {
		if (attach_spec(o->obj, a->attach[i], a))
			return EXIT_FAILURE;
	}
	bpf_object__for_each_program(prog, o->obj)
	{
		const char *sec = bpf_program__section_name(prog);
		bool named = strchr(sec, '/') != NULL;

		if (!named || !bpf_program__autoload(prog) ||
		    attached_by_spec(a, bpf_program__name(prog)))
			continue;
		if (strncmp(sec, "uprobe", 6) && strncmp(sec, "uretprobe", 9) &&
		    !is_syscall_tracepoint(sec)) {
			cli__warn(bpf_program__name(prog),
				  "section '%s' is not a uprobe, uretprobe or syscall tracepoint: "
				  "not attached",
				  sec);
			continue;
		}
		if (bad_section_offset(sec))
			return cli__err(bpf_program__name(prog),
					"section '%s': the offset after '+' is not a whole number",
					sec);
		cli__libbpf_clear();
		why = NULL;
		link = is_syscall_tracepoint(sec) ? attach_syscall_tracepoint(prog, sec, &why)
						  : bpf_program__attach(prog);
		if (!link) {
			if (!why)
				why = cli__libbpf_last_warning();

			return cli__err(bpf_program__name(prog), "cannot attach '%s': %s", sec,
					why[0] ? why : strerror(errno));
		}
		if (keep_link(a, link))
			return EXIT_FAILURE;
	}
	return 0;
}

/* Ring buffers and perf buffers of the object, read while the programs run. */
static int open_event_buffers(struct cli_obj *o, struct events *ev, struct ring_buffer **ret_rb,
			      struct perf_buffer **pbs, unsigned int *nr_pbs)
{
	struct ring_buffer *rb = NULL;
	unsigned int nr_rings = 0;
	struct bpf_map *map;

	bpf_object__for_each_map(map, o->obj)
	{
		if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF) {
			struct ring_ctx *rc = &ring_ctxs[nr_rings];

			if (nr_rings == MAX_RINGS)
				return cli__err(bpf_map__name(map), "too many ring buffers");
			nr_rings++;
			rc->ev = ev;
			rc->max = bpf_map__max_entries(map) - 8;
			ring_budget_full += bpf_map__max_entries(map) / 8 + 1;
			if (!rb)
				rb = ring_buffer__new(bpf_map__fd(map), on_ringbuf, rc, NULL);
			else if (ring_buffer__add(rb, bpf_map__fd(map), on_ringbuf, rc))
				return cli__err(bpf_map__name(map), "cannot read the ring buffer");
			if (!rb)
				return cli__err(bpf_map__name(map), "cannot read the ring buffer");
		} else if (bpf_map__type(map) == BPF_MAP_TYPE_PERF_EVENT_ARRAY &&
			   *nr_pbs < MAX_TARGETS) {
			struct perf_buffer *pb = perf_buffer__new(
				bpf_map__fd(map), 64, on_perf_sample, on_perf_lost, ev, NULL);

			if (!pb)
				return cli__err(bpf_map__name(map), "cannot read the perf buffer");
			pbs[(*nr_pbs)++] = pb;
		}
	}
	*ret_rb = rb;
	return 0;
}

/* Is a target still there? A spawned one is reaped when it exits. */
bool cli__target_alive(struct cli_target *ct)
{
	int status;

	if (ct->spawned) {
		pid_t r = waitpid(ct->pid, &status, WNOHANG);

		if (r == ct->pid) {
			ct->exit_status =
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			return false;
		}
		return r == 0;
	}
	return kill(ct->pid, 0) == 0 || errno == EPERM;
}

static void print_maps(struct cli_obj *o, bool json)
{
	const struct btf *btf = bpf_object__btf(o->obj);
	struct bpf_map *map;
	bool first = true;

	if (json)
		printf("{\"maps\":[");
	bpf_object__for_each_map(map, o->obj)
	{
		if (!cli__map_is_dumpable(map))
			continue;
		if (json) {
			printf("%s{\"name\":", first ? "" : ",");
			cli__json_string(stdout, bpf_map__name(map), SIZE_MAX);
			printf(",\"entries\":");
			cli__map_dump_json(stdout, map, btf);
			putchar('}');
		} else {
			printf("\nmap %s:\n", bpf_map__name(map));
			cli__map_dump_plain(stdout, map, btf);
		}
		first = false;
	}
	if (json)
		printf("]}\n");
}

/* Runs until a signal, --duration, or every target is gone. */
static void event_loop(struct cli_target *cts, unsigned int *nr, const struct run_args *a,
		       struct ring_buffer *rb, struct perf_buffer **pbs, unsigned int nr_pbs)
{
	unsigned int n = *nr;
	double end = a->duration > 0 ? now_s() + a->duration : 0;
	/* A followed command's processes wait in their stops for us: we sleep on those (then
	 * look at the buffers without waiting; the runtime looks at them every 10 ms anyway). */
	bool follow = cli__follow_active();

	while (!cli__stop_requested && (!end || now_s() < end)) {
		unsigned int alive = 0;

		if (follow) {
			cli__follow_run(cts, nr, MAX_TARGETS, rb || nr_pbs ? 10 : 100);
			n = *nr;
		}
		ring_budget = ring_budget_full;
		if (rb)
			ring_buffer__poll(rb, nr_pbs || follow ? 0 : 100);
		for (unsigned int i = 0; i < nr_pbs; i++)
			perf_buffer__poll(pbs[i], i + 1 == nr_pbs && !follow ? 100 : 0);
		if (!rb && !nr_pbs && !follow)
			usleep(100000);
		bpfi_runtime_drain_printk(cli__print_printk, (void *)(uintptr_t)a->json);
		for (unsigned int i = 0; i < n; i++) {
			bool up = follow ? cli__follow_alive(&cts[i])
					 : cts[i].t && cli__target_alive(&cts[i]);

			alive += up;
			if (up && cts[i].t)
				cli__cover_new_modules(&cts[i]);
		}
		if (!alive)
			break;
	}
	cli__follow_end(cts, n); /* every task let go; the probes are restored after */
	ring_budget = ring_budget_full;
	if (rb)
		ring_buffer__consume(rb);
	for (unsigned int i = 0; i < nr_pbs; i++)
		perf_buffer__consume(pbs[i]);
	bpfi_runtime_drain_printk(cli__print_printk, (void *)(uintptr_t)a->json);
}

int cli__parse_pid(const char *arg, pid_t *pids, unsigned int *nr, unsigned int max)
{
	uint64_t pid;

	if (*nr == max)
		return cli__err("-p", "at most %u processes", max);
	if (!cli__uint_ok(arg, 1, CLI_PID_MAX, &pid))
		return cli__err("-p", "'%s': not a process id (a number from 1 to %d)", arg,
				CLI_PID_MAX);
	pids[(*nr)++] = (pid_t)pid;
	return 0;
}

/* Up to a year: long enough for any run, short enough that the end is a real time. */
#define CLI_DURATION_MAX (365.0 * 24 * 3600)

int cli__parse_duration(const char *arg, double *ret)
{
	return cli__parse_real("--duration", arg, 0, true, CLI_DURATION_MAX, "a number of seconds",
			       ret);
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "persist", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "event-type", required_argument, NULL, 'e' },
		{ "attach", required_argument, NULL, 'a' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "verify", required_argument, NULL, 'K' },
		{ "catch-all", no_argument, NULL, 'C' },
		{ 0 },
	};
	int c, dashdash = -1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	}
	if (dashdash > 0) {
		a->cmd = argv + dashdash + 1;
		argc = dashdash;
	}
	while ((c = getopt_long(argc, argv, "p:d:a:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cli__parse_pid(optarg, a->pids, &a->nr_pids, MAX_TARGETS))
				return EXIT_FAILURE;
			break;
		case 'd':
			if (cli__parse_duration(optarg, &a->duration))
				return EXIT_FAILURE;
			break;
		case 'P':
			a->persist = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'e':
			a->event_type = optarg;
			break;
		case 'a': {
			struct attach_parts p;

			if (a->nr_attach == MAX_ATTACH_SPECS)
				return cli__err("--attach", "at most %d", MAX_ATTACH_SPECS);
			if (parse_attach(optarg, &p))
				return EXIT_FAILURE;
			a->attach[a->nr_attach++] = optarg;
			break;
		}
		case 'N':
			a->no_verify = true;
			break;
		case 'K':
			if (cli__parse_verify(optarg))
				return EXIT_FAILURE;
			break;
		case 'C':
			cli__catch_all = true;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1)
		return cli__err("usage", "bpfinject [-p PID]... [options] OBJ [-- CMD ARGS]");
	a->obj = argv[optind];
	if (!a->nr_pids && !(a->cmd && a->cmd[0]))
		return cli__err(a->obj, "no target: give -p PID or -- CMD ARGS");
	if (a->cmd && !a->cmd[0])
		return cli__err("--", "no command after --");
	if (a->persist && a->cmd)
		return cli__err("--persist", "only with -p PID (a command we start ends with us)");
	return 0;
}

static int event_type_id(const struct cli_obj *o, const char *name)
{
	const struct btf *btf = bpf_object__btf(o->obj);
	int32_t id;

	if (!name)
		return -1;
	id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT) : -ENOENT;
	if (id < 0)
		return cli__err(name, "no struct of that name in the object's BTF"), -2;
	return id;
}

/* Injects into every target; on failure, takes back what was done. */
int cli__inject_targets(const pid_t *pids, unsigned int nr_pids, char **cmd, struct cli_target *cts,
			unsigned int *ret_n)
{
	char buf[CLI_REASON_MAX] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_injector *spawned = NULL;
	unsigned int n = 0;
	int err = 0;

	if (cmd && cli__follow_enabled()) {
		err = cli__follow_spawn(cmd, &cts[n], &log);
		if (!err)
			n++;
	} else if (cmd) {
		err = bpfi_injector_spawn(cmd, &spawned, &log);
		if (!err) {
			pid_t pid = bpfi_injector_pid(spawned);

			err = cli__inject(&cts[n], pid, spawned, &log);
			if (err) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
			} else {
				n++;
			}
		}
	}
	for (unsigned int i = 0; !err && i < nr_pids; i++) {
		err = cli__inject(&cts[n], pids[i], NULL, &log);
		if (!err)
			n++;
	}
	if (err) {
		buf[strcspn(buf, "\n")] = '\0';
		for (unsigned int i = 0; i < n; i++)
			cli__detach(&cts[i], false, NULL);
		return cli__err(cmd ? cmd[0] : "attach", "%s", buf[0] ? buf : strerror(-err));
	}
	*ret_n = n;
	return 0;
}

/* The object's maps, named in each target's block for `bpfinject list`. */
static void record_maps(struct cli_obj *o, struct cli_target *ct)
{
	struct bpf_map_info info;
	struct bpf_map *map;

	bpf_object__for_each_map(map, o->obj)
	{
		uint32_t len = sizeof(info);
		uint64_t off;

		memset(&info, 0, sizeof(info));
		if (bpfi_runtime_map_arena_off(bpf_map__fd(map), &off) ||
		    bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &len))
			continue;
		bpfi_target_add_map(ct->t, bpf_map__name(map), info.type, info.id, off);
	}
}

int cli__cmd_attach(int argc, char **argv)
{
	struct run_args a = { 0 };
	struct cli_target cts[MAX_TARGETS];
	struct perf_buffer *pbs[MAX_TARGETS];
	struct events ev = { .type_id = -1 };
	struct ring_buffer *rb = NULL;
	struct cli_obj o = { 0 };
	unsigned int n = 0, nr_pbs = 0;
	int ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	ret = cli__runtime_start(BPFI_JIT_X86_64, a.no_verify);
	if (ret)
		return ret;
	ret = cli__obj_load(a.obj, NULL, &o);
	if (ret)
		return ret;
	for (size_t i = 0; i < o.nr_progs; i++) {
		if (o.progs[i].rejected) {
			ret = cli__err(a.obj, "prog '%s' rejected: %s", o.progs[i].name,
				       o.progs[i].reason);
			goto out;
		}
	}
	ev.btf = bpf_object__btf(o.obj);
	ev.json = a.json;
	ev.type_id = event_type_id(&o, a.event_type);
	if (ev.type_id == -2 || attach_programs(&o, &a) ||
	    open_event_buffers(&o, &ev, &rb, pbs, &nr_pbs)) {
		ret = EXIT_FAILURE;
		goto out;
	}
	signal(SIGINT, cli__on_signal);
	signal(SIGTERM, cli__on_signal);
	if (a.cmd)
		cli__follow_enable(); /* its descendants too, through exec */
	ret = cli__inject_targets(a.pids, a.nr_pids, a.cmd, cts, &n);
	if (ret)
		goto out;
	for (unsigned int i = 0; i < n; i++)
		record_maps(&o, &cts[i]);
	for (unsigned int i = 0; i < n; i++)
		fprintf(stderr, "bpfinject: attached %u probe%s to process %d%s\n", cts[i].probes,
			cts[i].probes == 1 ? "" : "s", cts[i].pid,
			a.persist ? "; they stay after bpfinject exits (--persist)" : "");
	if (!a.persist)
		event_loop(cts, &n, &a, rb, pbs, nr_pbs);
	for (unsigned int i = 0; i < n; i++) {
		char buf[CLI_REASON_MAX] = "";
		struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

		if (!cli__target_alive(&cts[i])) {
			cli__detach(&cts[i], true, NULL); /* nothing left to restore */
			if (!cts[i].spawned)
				fprintf(stderr, "bpfinject: process %d exited\n", cts[i].pid);
		} else if (cli__detach(&cts[i], a.persist, &log)) {
			buf[strcspn(buf, "\n")] = '\0';
			ret = cli__err("detach", "%s", buf);
		}
	}
	if (!a.persist)
		print_maps(&o, a.json);
	for (unsigned int i = 0; i < n; i++) {
		if (cts[i].spawned && !ret)
			ret = cts[i].exit_status;
	}
out:
	for (unsigned int i = 0; i < a.nr_links; i++)
		bpf_link__destroy(a.links[i]);
	for (unsigned int i = 0; i < nr_pbs; i++)
		perf_buffer__free(pbs[i]);
	ring_buffer__free(rb);
	cli__obj_close(&o);
	return ret;
}

int cli__cmd_detach(int argc, char **argv)
{
	char buf[CLI_REASON_MAX] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };
	struct bpfi_target *t = NULL;
	pid_t pid;
	unsigned int nr = 0;
	int err;

	if (argc != 3 || strcmp(argv[1], "-p"))
		return cli__err("usage", "bpfinject detach -p PID");
	if (cli__parse_pid(argv[2], &pid, &nr, 1))
		return EXIT_FAILURE;
	err = bpfi_target_find(pid, &t, &log);
	if (!err) {
		err = bpfi_target_restore(t, &log);
		bpfi_target_close(t);
	}
	if (err) {
		buf[strcspn(buf, "\n")] = '\0';
		return cli__err("detach", "%s", buf[0] ? buf : strerror(-err));
	}
	printf("bpfinject: process %d: every patched byte restored\n", pid);
	return 0;
}

/* "handle_request+0x0 (demo_service)" for a site, from the mapping and the file's symbols. */
static void site_name(pid_t pid, uint64_t addr, char *out, size_t size)
{
	char path[64], line[1024], file[512] = "", func[128];
	unsigned long start, end, pgoff;
	uint64_t off = 0, func_off, func_size;
	FILE *f;

	snprintf(out, size, "0x%" PRIx64, addr);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %511s", &start, &end, &pgoff, file) ==
			    4 &&
		    addr >= start && addr < end) {
			off = addr - start + pgoff;
			break;
		}
		file[0] = '\0';
	}
	if (f)
		fclose(f);
	if (file[0] == '/' &&
	    !bpfi_elf_function_name_at(file, off, &func_off, &func_size, func, sizeof(func), NULL))
		snprintf(out, size, "%s+0x%" PRIx64 " (%s)", func, off - func_off,
			 strrchr(file, '/') + 1);
}

/* "  syscall tracepoints: 566 sites rewritten; sys_enter_write, raw_syscalls/sys_exit; ..." */
static void list_syscalls(const struct bpfi_sc_table *sc, uint32_t rewritten)
{
	const struct bpfi_sc_catch_all *c = &sc->catch_all;
	const char *sep = "; ";

	printf("  syscall tracepoints: %u site%s rewritten", rewritten, rewritten == 1 ? "" : "s");
	for (int exit = 0; exit < 2; exit++) {
		const struct bpfi_sc_event *raw = exit ? &sc->raw_exit : &sc->raw_enter;

		if (atomic_load(&raw->nr_progs)) {
			printf("%sraw_syscalls/sys_%s", sep, exit ? "exit" : "enter");
			sep = ", ";
		}
		for (int nr = 0; nr < BPFI_SC_NR_MAX; nr++) {
			const struct bpfi_syscall *sys;

			if (!atomic_load(exit ? &sc->exit[nr].nr_progs : &sc->enter[nr].nr_progs) ||
			    bpfi_syscall_by_nr(nr, &sys, NULL))
				continue;
			printf("%ssys_%s_%s", sep, exit ? "exit" : "enter", sys->event);
			sep = ", ";
		}
	}
	if (c->on)
		printf("; catch-all on, %" PRIu64 " call%s through it", (uint64_t)c->caught,
		       c->caught == 1 ? "" : "s");
	putchar('\n');
}

static void list_one(pid_t pid, const struct bpfi_target_hdr *b, void *cookie)
{
	uint32_t n = atomic_load(&b->nr_sites), patched = 0, sc_patched = 0;

	for (uint32_t i = 0; i < n && i < BPFI_MAX_SITES; i++)
		patched += b->sites[i].patched;
	for (uint32_t i = 0; i < b->sc.nr_sites && i < BPFI_SC_MAX_SITES; i++)
		sc_patched += b->sc.sites[i].state == BPFI_SC_SITE_PATCHED;
	if (!patched && !sc_patched)
		return; /* detached earlier: only the unused stub is left */
	(*(int *)cookie)++;
	/* A holder that died (a killed bpfinject or tool) left them as if persisted. */
	if (b->owner && kill((pid_t)b->owner, 0) && errno == ESRCH)
		printf("process %d: %u probe site%s patched (left by process %llu, gone: "
		       "`bpfinject detach -p %d` removes them)\n",
		       pid, patched, patched == 1 ? "" : "s", (unsigned long long)b->owner, pid);
	else
		printf("process %d: %u probe site%s patched (%s)\n", pid, patched,
		       patched == 1 ? "" : "s", b->owner ? "held by bpfinject" : "persisted");
	if (sc_patched)
		list_syscalls(&b->sc, sc_patched);
	for (uint32_t i = 0; i < b->nr_maps && i < BPFI_TARGET_MAX_MAPS; i++)
		printf("  map %-16.16s %s, id %u\n", b->maps[i].name,
		       cli__map_type_str((enum bpf_map_type)b->maps[i].type), b->maps[i].id);
	for (uint32_t i = 0; i < n && i < BPFI_MAX_SITES; i++) {
		const struct bpfi_site *s = &b->sites[i];
		char where[320];

		if (!s->patched)
			continue;
		site_name(pid, s->addr, where, sizeof(where));
		printf("  %s: %u entry, %u return program%s, %" PRIu64 " hits, %" PRIu64
		       " skipped\n",
		       where, s->nr_entry, s->nr_return, s->nr_return == 1 ? "" : "s",
		       (uint64_t)atomic_load(&s->hits), (uint64_t)atomic_load(&s->misses));
	}
}

int cli__cmd_list(int argc, char **argv)
{
	int shown = 0, n;

	(void)argv;
	if (argc != 1)
		return cli__err("usage", "bpfinject list");
	n = bpfi_target_list(list_one, &shown);
	if (n >= 0 && !shown)
		printf("no process carries bpfinject programs\n");
	return n < 0 ? EXIT_FAILURE : 0;
}
