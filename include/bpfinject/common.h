/* SPDX-License-Identifier: MIT */
/* Shared value types of every part: the message buffer that carries one line per failure. */
#ifndef BPFINJECT_COMMON_H
#define BPFINJECT_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels: 0 logs only errors, BPFI_LOG_TRACE adds verifier/JIT traces. */
#define BPFI_LOG_TRACE 2

/**
 * struct bpfi_log - a bounded, caller-owned message buffer (kernel log.c, libbpf log_buf).
 * @buf:   caller-owned storage, may be NULL (then only @len is tracked)
 * @size:  capacity of @buf including the terminating NUL
 * @len:   bytes the full text needed; @len >= @size means the text was truncated
 * @level: 0 for errors only, BPFI_LOG_TRACE for traces too
 *
 * Writing never allocates and never overflows; the text stays NUL-terminated.
 */
struct bpfi_log {
	char *buf;
	size_t size;
	size_t len;
	unsigned level;
};

/**
 * @brief **bpfi_log_err()** appends one line (a newline is added) and returns @err,
 * so that a failure site is one statement: `return bpfi_log_err(log, -EINVAL, "...");`.
 * @param log may be NULL
 * @return @err
 */
int bpfi_log_err(struct bpfi_log *log, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** @brief **bpfi_log_printf()** appends text as given (no newline added). */
void bpfi_log_printf(struct bpfi_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** @brief **bpfi_log_reset()** empties the buffer, keeping its storage and level. */
void bpfi_log_reset(struct bpfi_log *log);

#ifdef __cplusplus
}
#endif

#endif
