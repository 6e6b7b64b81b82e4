/* SPDX-License-Identifier: MIT */
/* The only place GNU extensions appear: attribute and builtin wrappers. */
#ifndef BPFINJECT_COMPILER_H
#define BPFINJECT_COMPILER_H

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _packed_       __attribute__((packed))
#define _noinline_     __attribute__((noinline))
#define _hidden_       __attribute__((visibility("hidden")))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define likely(x)      __builtin_expect(!!(x), 1)
#define unlikely(x)    __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define BPFI_MIN(a, b) ((a) < (b) ? (a) : (b))
#define BPFI_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Returns the pointer and leaves NULL behind, for handing ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                             \
	({                                      \
		__typeof__(p) _take_tmp_ = (p); \
		(p) = NULL;                     \
		_take_tmp_;                     \
	})

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			func(*p);               \
	}

#endif
