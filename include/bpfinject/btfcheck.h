/* SPDX-License-Identifier: MIT */
/*
 * A strict check of BTF and .BTF.ext blobs before anything parses them: libbpf 1.1 trusts
 * type ids, string offsets and record sizes it never checked, and crashes on bad ones.
 */
#ifndef BPFINJECT_BTFCHECK_H
#define BPFINJECT_BTFCHECK_H

#include <stddef.h>

#include <bpfinject/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief **bpfi_btf_check()** checks a .BTF blob (@btf, @btf_size) and, if @ext is not NULL,
 * the .BTF.ext blob that refers to it: the header and sections in bounds, every type record
 * complete and of a known kind, every string offset inside the string section, every type id
 * in range and of the kind its place needs, no loop of types except through pointers, and
 * .BTF.ext records of valid sizes naming existing functions, strings and types.
 * @return 0, or -EINVAL (-ENOTSUP for a version or flags we do not know) with one line in
 * @log saying what is wrong (no trailing period); -ENOMEM.
 */
int bpfi_btf_check(const void *btf, size_t btf_size, const void *ext, size_t ext_size,
		   struct bpfi_log *log);

#ifdef __cplusplus
}
#endif

#endif
