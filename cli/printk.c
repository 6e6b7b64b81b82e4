// SPDX-License-Identifier: MIT
/* Output shared by the commands that run programs: trace_printk lines and BTF-typed records. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bpfinject/runtime.h>

#include "cli_internal.h"

/* trace_pipe's layout (a non-NULL @cookie asks for JSON): "comm-pid [cpu] seconds.micros: bpf_trace_printk: message" */
void cli__print_printk(const struct bpfi_printk_line *l, void *cookie)
{
	size_t len = strlen(l->msg);
	char comm[sizeof(l->comm) + 1];

	snprintf(comm, sizeof(comm), "%.*s", (int)sizeof(l->comm), l->comm);
	if (len && l->msg[len - 1] == '\n')
		len--;
	if (cookie) { /* JSON: one object per line */
		printf("{\"trace_printk\":{\"comm\":");
		cli__json_string(stdout, comm, SIZE_MAX);
		printf(",\"pid\":%u,\"cpu\":%u,\"ts_ns\":%" PRIu64 ",\"msg\":", l->tid, l->cpu,
		       l->ts_ns);
		cli__json_string(stdout, l->msg, len);
		printf("}}\n");
		fflush(stdout);
		return;
	}
	printf("%16s-%-7u [%03u] %5" PRIu64 ".%06" PRIu64 ": bpf_trace_printk: %.*s\n", comm,
	       l->tid, l->cpu, l->ts_ns / 1000000000u, l->ts_ns / 1000u % 1000000u, (int)len,
	       l->msg);
	fflush(stdout);
}

static void dump_printf(void *ctx, const char *fmt, va_list args) _printf_(2, 0);
static void dump_printf(void *ctx, const char *fmt, va_list args)
{
	vfprintf(ctx, fmt, args);
}

void cli__btf_plain(FILE *out, const struct btf *btf, uint32_t type_id, const void *data,
		    size_t size)
{
	LIBBPF_OPTS(btf_dump_type_data_opts, o, .compact = true, .emit_zeroes = true);
	struct btf_dump *d = btf_dump__new(btf, dump_printf, out, NULL);

	if (!d)
		return;
	btf_dump__dump_type_data(d, type_id, data, size, &o);
	btf_dump__free(d);
}
