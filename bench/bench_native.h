/* SPDX-License-Identifier: MIT */
/* The natively compiled kernels (compute_native.c), one per eBPF program of compute.bpf.c. */
#ifndef BPFI_BENCH_NATIVE_H
#define BPFI_BENCH_NATIVE_H

#include <stdint.h>

uint64_t native_loop(const uint64_t *ctx);
uint64_t native_fnv(const uint64_t *ctx);
uint64_t native_xxh(const uint64_t *ctx);
uint64_t native_memory(const uint64_t *ctx);
uint64_t native_sort(const uint64_t *ctx);
uint64_t native_fsm(const uint64_t *ctx);

#endif
