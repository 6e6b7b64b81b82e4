// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness of the object loader: the input is an eBPF object file, and it goes
 * through `bpfinject dump -d` as the command runs it (our ELF and BTF checks, libbpf's open
 * and load through the runtime, the load-time check, the JIT, the disassembly). The command's
 * main is built in under another name (tests/fuzz/meson.build); its output goes nowhere, so
 * that only a crash or a sanitizer report is seen.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int bpfi_cli_main(int argc, char **argv);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int obj_fd = -1;
static char obj_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *null = fopen("/dev/null", "w");

	/* The command's messages (one line per bad object) would drown libFuzzer's; libFuzzer
	 * and the sanitizers keep writing to fd 2. */
	if (!null)
		abort();
	stdout = null;
	stderr = null;
	obj_fd = memfd_create("fuzz.bpf.o", MFD_CLOEXEC);
	if (obj_fd < 0)
		abort();
	snprintf(obj_path, sizeof(obj_path), "/proc/self/fd/%d", obj_fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = { "bpfinject", "dump", "-d", obj_path, NULL };

	if (ftruncate(obj_fd, 0) || pwrite(obj_fd, data, size, 0) != (ssize_t)size)
		abort();
	bpfi_cli_main(4, argv);
	return 0;
}
