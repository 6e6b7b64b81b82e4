// SPDX-License-Identifier: MIT
/* struct bpfi_log: bounded appends into a caller buffer, tracking the true length. */
#include <stdarg.h>
#include <stdio.h>

#include <bpfinject/common.h>

static void log_vappend(struct bpfi_log *log, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void log_vappend(struct bpfi_log *log, const char *fmt, va_list ap)
{
	size_t room = 0;
	char *dst = NULL;
	int n;

	if (log->buf && log->len + 1 < log->size) {
		dst = log->buf + log->len;
		room = log->size - log->len;
	}
	n = vsnprintf(dst, room, fmt, ap);
	if (n > 0)
		log->len += (size_t)n;
}

int bpfi_log_err(struct bpfi_log *log, int err, const char *fmt, ...)
{
	va_list ap;

	if (!log)
		return err;
	va_start(ap, fmt);
	log_vappend(log, fmt, ap);
	va_end(ap);
	bpfi_log_printf(log, "\n");
	return err;
}

void bpfi_log_printf(struct bpfi_log *log, const char *fmt, ...)
{
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	log_vappend(log, fmt, ap);
	va_end(ap);
}

void bpfi_log_reset(struct bpfi_log *log)
{
	if (!log)
		return;
	log->len = 0;
	if (log->buf && log->size)
		log->buf[0] = '\0';
}
