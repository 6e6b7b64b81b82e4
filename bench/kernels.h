/* SPDX-License-Identifier: MIT */
/*
 * The compute kernels of the benchmark, compiled twice from this one source: to eBPF
 * (compute.bpf.c, clang -O2 -target bpf) and natively (compute_native.c, clang -O2), so that
 * the JIT and the interpreter are compared with the same C. Each takes a context of 4 u64
 * (ctx[0] is a seed) and returns a checksum that the driver compares across the three.
 * Stack use stays under eBPF's 512 bytes; loops are bounded by constants.
 */
#ifndef BPFI_BENCH_KERNELS_H
#define BPFI_BENCH_KERNELS_H

#ifdef __bpf__
typedef unsigned long long bench_u64;
typedef unsigned int bench_u32;
typedef unsigned char bench_u8;
#else
#include <stdint.h>
typedef uint64_t bench_u64;
typedef uint32_t bench_u32;
typedef uint8_t bench_u8;
#endif

#define BENCH_INLINE static inline __attribute__((always_inline))

/* loop: a serial chain of multiply, shift, add and xor (an LCG folded into an accumulator). */
BENCH_INLINE bench_u64 bench_loop(const bench_u64 *ctx)
{
	bench_u64 x = ctx[0], acc = 0;
	bench_u32 i;

	for (i = 0; i < 1000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		acc += x >> 33;
		acc ^= acc << 7;
	}
	return acc;
}

/* xorshift64: the generator the other kernels fill their buffers with. */
BENCH_INLINE bench_u64 bench_xorshift(bench_u64 s)
{
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

/* fnv: fill 256 bytes on the stack, then FNV-1a 64 over them, byte by byte. */
BENCH_INLINE bench_u64 bench_fnv(const bench_u64 *ctx)
{
	bench_u64 words[32], s = ctx[0] | 1, h = 0xcbf29ce484222325ULL;
	const bench_u8 *buf = (const bench_u8 *)words;
	bench_u32 i;

	for (i = 0; i < 32; i++) {
		s = bench_xorshift(s);
		words[i] = s;
	}
	for (i = 0; i < 256; i++) {
		h ^= buf[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define XXH_P1 0x9E3779B185EBCA87ULL
#define XXH_P2 0xC2B2AE3D27D4EB4FULL
#define XXH_P3 0x165667B19E3779F9ULL

BENCH_INLINE bench_u64 bench_rotl(bench_u64 x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* xxh: xxHash64's four-lane round over 64 words (512 bytes of input generated in place). */
BENCH_INLINE bench_u64 bench_xxh(const bench_u64 *ctx)
{
	bench_u64 v1 = ctx[0] + XXH_P1 + XXH_P2, v2 = ctx[0] + XXH_P2, v3 = ctx[0],
		  v4 = ctx[0] - XXH_P1, s = ctx[0] | 1, h;
	bench_u32 i;

	for (i = 0; i < 16; i++) {
		s = bench_xorshift(s);
		v1 = bench_rotl(v1 + s * XXH_P2, 31) * XXH_P1;
		v2 = bench_rotl(v2 + (s ^ 0x5555) * XXH_P2, 31) * XXH_P1;
		v3 = bench_rotl(v3 + (s + 1) * XXH_P2, 31) * XXH_P1;
		v4 = bench_rotl(v4 + (s >> 3) * XXH_P2, 31) * XXH_P1;
	}
	h = bench_rotl(v1, 1) + bench_rotl(v2, 7) + bench_rotl(v3, 12) + bench_rotl(v4, 18);
	h ^= h >> 33;
	h *= XXH_P2;
	h ^= h >> 29;
	h *= XXH_P3;
	return h ^ (h >> 32);
}

/* memory: copy a 192-byte stack buffer 16 times, summing the copy's bytes after each. */
BENCH_INLINE bench_u64 bench_memory(const bench_u64 *ctx)
{
	bench_u64 src[24], dst[24], s = ctx[0] | 1, sum = 0;
	const bench_u8 *b = (const bench_u8 *)dst;
	bench_u32 i, r;

	for (i = 0; i < 24; i++) {
		s = bench_xorshift(s);
		src[i] = s;
	}
	for (r = 0; r < 16; r++) {
		__builtin_memcpy(dst, src, sizeof(dst));
		for (i = 0; i < sizeof(dst); i++)
			sum += b[i];
		src[r % 24] ^= sum;
	}
	return sum;
}

/* sort: insertion sort of 24 pseudo-random u32, data-dependent branches; a checksum after. */
BENCH_INLINE bench_u64 bench_sort(const bench_u64 *ctx)
{
	bench_u32 a[24];
	bench_u64 s = ctx[0] | 1, sum = 0;
	int i, j;

	for (i = 0; i < 24; i++) {
		s = bench_xorshift(s);
		a[i] = (bench_u32)s;
	}
	for (i = 1; i < 24; i++) {
		bench_u32 v = a[i];

		for (j = i - 1; j >= 0 && a[j] > v; j--)
			a[j + 1] = a[j];
		a[j + 1] = v;
	}
	for (i = 0; i < 24; i++)
		sum = sum * 31 + a[i];
	return sum;
}

/* fsm: a word/number/space tokenizer (a switch-driven state machine) over 256 bytes. */
BENCH_INLINE bench_u64 bench_fsm(const bench_u64 *ctx)
{
	bench_u64 words[32], s = ctx[0] | 1;
	const bench_u8 *buf = (const bench_u8 *)words;
	bench_u32 i, state = 0, nwords = 0, nnums = 0, nspaces = 0;

	for (i = 0; i < 32; i++) {
		s = bench_xorshift(s);
		words[i] = s;
	}
	for (i = 0; i < 256; i++) {
		bench_u32 c = buf[i] & 0x3f, cls = c < 10 ? 1 : (c < 48 ? 2 : 0);

		switch (state) {
		case 0: /* between tokens */
			if (cls == 1) {
				state = 1;
				nnums++;
			} else if (cls == 2) {
				state = 2;
				nwords++;
			} else {
				nspaces++;
			}
			break;
		case 1: /* in a number */
			if (cls == 2) {
				state = 2;
				nwords++;
			} else if (cls == 0) {
				state = 0;
			}
			break;
		default: /* in a word */
			if (cls == 0)
				state = 0;
			break;
		}
	}
	return (bench_u64)nwords << 32 | nnums << 16 | nspaces;
}

#endif
