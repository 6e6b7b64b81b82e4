// SPDX-License-Identifier: MIT
/* The compute kernels of kernels.h compiled natively (clang -O2), called by bench_compute. */
#include "bench_native.h"
#include "kernels.h"

#define NATIVE(name)                                \
	uint64_t native_##name(const uint64_t *ctx) \
	{                                           \
		return bench_##name(ctx);           \
	}

NATIVE(loop)
NATIVE(fnv)
NATIVE(xxh)
NATIVE(memory)
NATIVE(sort)
NATIVE(fsm)
