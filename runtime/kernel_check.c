// SPDX-License-Identifier: MIT
/*
 * The kernel's verdict on a program (--verify kernel|both, DESIGN.md D1: "where kernel eBPF
 * exists it can serve as a second verifier"). The program is loaded into the running kernel
 * as the same program type, with kernel maps of the same shape standing in for ours, then
 * unloaded at once: nothing of it ever runs in the kernel. A frozen read-only array (.rodata)
 * gets our bytes and is frozen too, so that the kernel folds the same dead branches we do
 * (libbpf poisons calls to helpers a tool does not use behind .rodata flags).
 *
 * The real bpf(2) is made with bpfi_syscall3(): in the CLI, libbpf's syscall() is wrapped, and
 * in the shim, syscall() itself is ours.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpfinject/maps.h>
#include <bpfinject/sys.h>

#include "common/compiler.h"
#include "runtime_internal.h"

/* Big enough for the kernel's log of a program of a few thousand instructions at level 1;
 * when it is not, the reason is the last line that fits. */
#define KLOG_SIZE (1u << 20)

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return bpfi_syscall3(SYS_bpf, cmd, (long)(uintptr_t)attr, sizeof(*attr));
}

static int kmap_new(const struct bpfi_map_hdr *hdr, const char *name)
{
	union bpf_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.map_type = hdr->type;
	a.key_size = hdr->key_size;
	a.value_size = hdr->value_size;
	a.max_entries = hdr->max_entries;
	a.map_flags = hdr->map_flags;
	memcpy(a.map_name, name, strnlen(name, sizeof(a.map_name) - 1));
	fd = sys_bpf(BPF_MAP_CREATE, &a);
	if (fd < 0 && a.map_name[0]) {
		/* Older kernels refuse some characters in names; the name does not matter here. */
		memset(a.map_name, 0, sizeof(a.map_name));
		fd = sys_bpf(BPF_MAP_CREATE, &a);
	}
	return (int)fd;
}

/* .rodata: the same bytes, frozen, so the kernel sees the constants the check folded. */
static int kmap_copy_frozen(int kfd, const struct bpfi_map_hdr *hdr)
{
	uint32_t zero = 0;
	const void *value = bpfi_map_lookup_elem((struct bpfi_map_hdr *)hdr, &zero, 0);
	union bpf_attr a;
	long err;

	if (!value)
		return -ENOENT;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)kfd;
	a.key = (uint64_t)(uintptr_t)&zero;
	a.value = (uint64_t)(uintptr_t)value;
	err = sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
	if (err)
		return (int)err;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)kfd;
	return (int)sys_bpf(BPF_MAP_FREEZE, &a);
}

/* The line of the kernel's log that says why: the last non-empty one before the summary. */
static void log_reason(const char *klog, char *out, size_t size)
{
	const char *best = NULL, *p = klog;
	size_t best_len = 0;

	while (*p) {
		size_t len = strcspn(p, "\n");

		if (len && strncmp(p, "processed ", 10) && strncmp(p, "verification time", 17) &&
		    strncmp(p, "stack depth", 11)) {
			best = p;
			best_len = len;
		}
		p += len;
		if (*p)
			p++;
	}
	if (!best) {
		snprintf(out, size, "(no log)");
		return;
	}
	snprintf(out, size, "%.*s", (int)BPFI_MIN(best_len, size - 1), best);
}

static int kprog_load(const union bpf_attr *attr, const struct bpf_insn *insns, uint32_t cnt,
		      char *klog, uint32_t klog_size)
{
	union bpf_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = attr->prog_type;
	a.expected_attach_type = attr->expected_attach_type;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = cnt;
	a.license = attr->license;
	a.prog_flags = attr->prog_flags;
	memcpy(a.prog_name, attr->prog_name, sizeof(a.prog_name));
	if (klog) {
		a.log_level = 1;
		a.log_buf = (uint64_t)(uintptr_t)klog;
		a.log_size = klog_size;
	}
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0) {
		bpfi_syscall2(SYS_close, fd, 0);
		return 0;
	}
	return (int)fd;
}

int runtime__kernel_check(const union bpf_attr *attr, const struct bpf_insn *insns, uint32_t cnt,
			  struct rt_obj *const *maps, const int *map_fds, uint32_t nr_maps,
			  struct bpfi_log *log)
{
	struct bpf_insn *kinsns = malloc((size_t)cnt * sizeof(*kinsns));
	int *kfds = calloc(nr_maps ? nr_maps : 1, sizeof(*kfds));
	char reason[256];
	char *klog = NULL;
	int err = 0;

	if (!kinsns || !kfds) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < nr_maps; i++)
		kfds[i] = -1;
	for (uint32_t i = 0; i < nr_maps && !err; i++) {
		const struct bpfi_map_hdr *hdr = maps[i]->map.hdr;

		kfds[i] = kmap_new(hdr, maps[i]->name);
		if (kfds[i] < 0) {
			err = kfds[i];
			bpfi_log_err(log, err,
				     "kernel verifier: map '%s' (type %u): cannot create: %s",
				     maps[i]->name, hdr->type, strerror(-err));
		} else if (atomic_load(&hdr->frozen) && hdr->type == BPF_MAP_TYPE_ARRAY &&
			   (hdr->map_flags & BPF_F_RDONLY_PROG)) {
			err = kmap_copy_frozen(kfds[i], hdr);
			if (err)
				bpfi_log_err(log, err,
					     "kernel verifier: map '%s': cannot freeze: %s",
					     maps[i]->name, strerror(-err));
		}
	}
	if (err)
		goto out;
	memcpy(kinsns, insns, (size_t)cnt * sizeof(*kinsns));
	for (uint32_t i = 0; i + 1 < cnt; i++) {
		struct bpf_insn *insn = &kinsns[i];

		if (insn->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (insn->src_reg == BPF_PSEUDO_MAP_FD || insn->src_reg == BPF_PSEUDO_MAP_VALUE) {
			for (uint32_t m = 0; m < nr_maps; m++) {
				if (map_fds[m] == insn->imm)
					insn->imm = kfds[m];
			}
		}
		i++;
	}
	/* The fast way first: no log. Only a refusal is worth the log's cost. */
	err = kprog_load(attr, kinsns, cnt, NULL, 0);
	if (!err)
		goto out;
	klog = calloc(1, KLOG_SIZE);
	if (klog && kprog_load(attr, kinsns, cnt, klog, KLOG_SIZE) != 0 && klog[0])
		log_reason(klog, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "%s", strerror(-err));
	bpfi_log_err(log, err, "kernel verifier: %s", reason);
out:
	for (uint32_t i = 0; kfds && i < nr_maps; i++) {
		if (kfds[i] >= 0)
			bpfi_syscall2(SYS_close, kfds[i], 0);
	}
	free(klog);
	free(kfds);
	free(kinsns);
	return err;
}

int runtime__kernel_check_available(struct bpfi_log *log)
{
	static const struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr a;
	int err;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.license = (uint64_t)(uintptr_t) "GPL";
	err = kprog_load(&a, ret0, ARRAY_SIZE(ret0), NULL, 0);
	if (err)
		return bpfi_log_err(log, err,
				    "the kernel's verifier cannot be asked here: bpf(2): %s",
				    strerror(-err));
	return 0;
}
