// SPDX-License-Identifier: MIT
/*
 * The kernel baseline of the probe benchmark: loads the same object into the real kernel
 * with the system's shared libbpf (no bpfinject routing) and attaches one program as a kernel
 * uprobe or uretprobe to FUNC in BINARY for PID, until killed. Needs root.
 * Usage: kernel_loader OBJ PROG BINARY FUNC PID
 */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_signal(int sig)
{
	(void)sig;
	done = 1;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_link *link;

	if (argc != 6) {
		fprintf(stderr, "usage: kernel_loader OBJ PROG BINARY FUNC PID\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "kernel_loader: cannot load %s into the kernel\n", argv[1]);
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog) {
		fprintf(stderr, "kernel_loader: no program %s\n", argv[2]);
		return 1;
	}
	uo.func_name = argv[4];
	uo.retprobe = strstr(bpf_program__section_name(prog), "uretprobe") != NULL;
	link = bpf_program__attach_uprobe_opts(prog, atoi(argv[5]), argv[3], 0, &uo);
	if (!link) {
		fprintf(stderr, "kernel_loader: cannot attach %s\n", argv[2]);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fprintf(stderr, "kernel_loader: attached\n");
	while (!done)
		pause();
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}
