// SPDX-License-Identifier: MIT
/*
 * bpf_trace_printk: the kernel's format checks (bpf_bprintf_prepare) and formatting
 * (vsnprintf) without libc, written as a record into the trace_printk ring in the arena.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfinject/abi.h>
#include <bpfinject/helpers.h>
#include <bpfinject/maps.h>
#include <bpfinject/sys.h>

#include "stub_internal.h"

/* Up to three arguments, as the kernel's MAX_TRACE_PRINTK_VARARGS. */
#define PRINTK_ARGS 3

/* The message being built: @len counts every byte produced, even those past the buffer. */
struct pk_out {
	char buf[BPFI_PRINTK_MAX + 1];
	uint32_t len;
};

/* One conversion: the "[0 +-]*[1-9][0-9]*" prefix the kernel accepts, then the letter. */
struct pk_spec {
	uint32_t width;
	bool left, zero, plus, space;
};

static bool is_print(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static bool is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_punct(char c)
{
	return is_print(c) && c != ' ' && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
	       !(c >= 'A' && c <= 'Z');
}

/* What may follow %s and %p in the kernel: the end, a space or punctuation. */
static bool ends_conversion(char c)
{
	return c == '\0' || is_space(c) || is_punct(c);
}

static void put(struct pk_out *o, char c)
{
	if (o->len < BPFI_PRINTK_MAX)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct pk_out *o, uint32_t n, char c)
{
	while (n--)
		put(o, c);
}

/* An integer as the kernel's number(): sign, then zero or space padding to the width. */
static void put_num(struct pk_out *o, const struct pk_spec *sp, uint64_t v, bool neg,
		    unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	uint32_t nd = 0, total;
	char sign = 0;

	do {
		tmp[nd++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		sign = '-';
	else if (sp->plus)
		sign = '+';
	else if (sp->space)
		sign = ' ';
	total = nd + (sign ? 1 : 0);
	if (!sp->left && !sp->zero && sp->width > total)
		pad(o, sp->width - total, ' ');
	if (sign)
		put(o, sign);
	if (!sp->left && sp->zero && sp->width > total)
		pad(o, sp->width - total, '0');
	while (nd)
		put(o, tmp[--nd]);
	if (sp->left && sp->width > total)
		pad(o, sp->width - total, ' ');
}

/*
 * A string argument, read fault-safely straight into the message (a string the program
 * cannot read prints as empty, as in the kernel). Right-aligned strings are moved right
 * afterwards, since their length is known only once read.
 */
static void put_str(struct pk_out *o, const struct pk_spec *sp, uint64_t ptr, bool user)
{
	uint32_t start = o->len, slen = 0, padn, k;

	if (user && ptr < STUB_TASK_SIZE && start < BPFI_PRINTK_MAX) {
		long n = stub__read_user_str(o->buf + start, (const char *)(uintptr_t)ptr,
					     BPFI_PRINTK_MAX + 1 - start);

		if (n > 0)
			slen = (uint32_t)n - 1;
	}
	padn = sp->width > slen ? sp->width - slen : 0;
	if (!sp->left && padn) {
		for (k = slen; k-- > 0;) {
			if (start + padn + k < BPFI_PRINTK_MAX)
				o->buf[start + padn + k] = o->buf[start + k];
		}
		for (k = 0; k < padn && start + k < BPFI_PRINTK_MAX; k++)
			o->buf[start + k] = ' ';
		o->len = start + padn + slen;
		return;
	}
	o->len = start + slen;
	if (padn)
		pad(o, padn, ' ');
}

/*
 * An IP address as the kernel prints it: %pI4 "1.2.3.4", %pi4 "001.002.003.004", %pI6 eight
 * colon-separated groups of four hex digits, %pi6 the 32 digits alone. The kernel reads the
 * bytes from kernel memory, which here is the program's (user) memory; unreadable is zeros.
 */
static void put_ip(struct pk_out *o, bool dotted, uint32_t len, uint64_t ptr)
{
	static const struct pk_spec dec = { 0, false, false, false, false };
	static const struct pk_spec dec3 = { 3, false, true, false, false };
	static const struct pk_spec hex2 = { 2, false, true, false, false };
	uint8_t b[16];

	if (stub__read_user(b, (const void *)(uintptr_t)ptr, len) < 0)
		bpfi_memset(b, 0, len);
	for (uint32_t k = 0; k < len; k++) {
		if (len == 4) {
			if (k)
				put(o, '.');
			put_num(o, dotted ? &dec : &dec3, b[k], false, 10, false);
		} else {
			if (dotted && k && !(k & 1))
				put(o, ':');
			put_num(o, &hex2, b[k], false, 16, false);
		}
	}
}

/* Skips the flags and width after '%' into @sp; returns the index of the conversion letter. */
static uint32_t parse_spec(const char *fmt, uint32_t i, struct pk_spec *sp)
{
	*sp = (struct pk_spec){ 0, false, false, false, false };
	for (;; i++) {
		if (fmt[i] == '0')
			sp->zero = true;
		else if (fmt[i] == '+')
			sp->plus = true;
		else if (fmt[i] == '-')
			sp->left = true;
		else if (fmt[i] == ' ')
			sp->space = true;
		else
			break;
	}
	if (fmt[i] >= '1' && fmt[i] <= '9') {
		while (fmt[i] >= '0' && fmt[i] <= '9') {
			if (sp->width < BPFI_PRINTK_MAX)
				sp->width = sp->width * 10 + (uint32_t)(fmt[i] - '0');
			i++;
		}
	}
	if (sp->width > BPFI_PRINTK_MAX)
		sp->width = BPFI_PRINTK_MAX;
	return i;
}

/*
 * %p and its extensions: %p, %pK, %px as 16 hex digits (the kernel's unhashed form),
 * %ps, %pS, %pB as "0x..." (what the kernel prints for an address without a symbol),
 * %pks (kernel string: never readable here), %pus (user string), %pI4 %pi4 %pI6 %pi6
 * (addresses). Returns the index of the last character used, or -1 for a bad format.
 */
static int64_t put_pointer(struct pk_out *o, const char *fmt, uint32_t i, struct pk_spec *sp,
			   uint64_t arg)
{
	char ext = fmt[i + 1];

	if ((ext == 'k' || ext == 'u') && fmt[i + 2] == 's') {
		if (!ends_conversion(fmt[i + 3]))
			return -1;
		put_str(o, sp, arg, ext == 'u');
		return i + 2;
	}
	if (ext == 's' || ext == 'S' || ext == 'B') {
		put(o, '0');
		put(o, 'x');
		put_num(o, sp, arg, false, 16, false);
		return i + 1;
	}
	if ((ext == 'i' || ext == 'I') && (fmt[i + 2] == '4' || fmt[i + 2] == '6')) {
		put_ip(o, ext == 'I', fmt[i + 2] == '4' ? 4 : 16, arg);
		return i + 2;
	}
	if (!(ext == 'K' || ext == 'x' || ends_conversion(ext)))
		return -1;
	if (!sp->width) {
		sp->width = 16;
		sp->zero = true;
	}
	sp->plus = sp->space = false;
	put_num(o, sp, arg, false, 16, false);
	return ext == 'K' || ext == 'x' ? i + 1 : i;
}

/* %[l[l]]{d,i,u,x,X}: int-sized unless 'l' is given. Returns the last index, or -1. */
static int64_t put_int(struct pk_out *o, const char *fmt, uint32_t i, struct pk_spec *sp,
		       uint64_t arg)
{
	bool wide = false, neg = false;
	char c;

	if (fmt[i] == 'l') {
		wide = true;
		i++;
		if (fmt[i] == 'l')
			i++;
	}
	c = fmt[i];
	if (c != 'd' && c != 'i' && c != 'u' && c != 'x' && c != 'X')
		return -1;
	if (c == 'd' || c == 'i') {
		int64_t s = wide ? (int64_t)arg : (int64_t)(int32_t)arg;

		neg = s < 0;
		arg = neg ? 0 - (uint64_t)s : (uint64_t)s;
	} else {
		sp->plus = sp->space = false;
		if (!wide)
			arg = (uint32_t)arg;
	}
	put_num(o, sp, arg, neg, c == 'x' || c == 'X' ? 16 : 10, c == 'X');
	return i;
}

/*
 * Formats @fmt (@fmt_len bytes before its NUL) into @o with the kernel's rules: every byte
 * printable or a space, at most three conversions, only the conversions the kernel takes.
 * Returns 0 or -EINVAL; @o is meaningful only on success.
 */
static long format(struct pk_out *o, const char *fmt, uint32_t fmt_len, const uint64_t *args)
{
	uint32_t nargs = 0;
	struct pk_spec sp;

	for (uint32_t i = 0; i < fmt_len; i++) {
		int64_t last;

		if (!is_print(fmt[i]) && !is_space(fmt[i]))
			return -BPFI_EINVAL;
		if (fmt[i] != '%') {
			put(o, fmt[i]);
			continue;
		}
		if (fmt[i + 1] == '%') {
			put(o, '%');
			i++;
			continue;
		}
		if (nargs >= PRINTK_ARGS)
			return -BPFI_EINVAL;
		i = parse_spec(fmt, i + 1, &sp);
		if (fmt[i] == 'p') {
			last = put_pointer(o, fmt, i, &sp, args[nargs]);
		} else if (fmt[i] == 's') {
			if (!ends_conversion(fmt[i + 1]))
				return -BPFI_EINVAL;
			put_str(o, &sp, args[nargs], true);
			last = i;
		} else if (fmt[i] == 'c') {
			if (!sp.left && sp.width > 1)
				pad(o, sp.width - 1, ' ');
			put(o, (char)args[nargs]);
			if (sp.left && sp.width > 1)
				pad(o, sp.width - 1, ' ');
			last = i;
		} else {
			last = put_int(o, fmt, i, &sp, args[nargs]);
		}
		if (last < 0)
			return -BPFI_EINVAL;
		i = (uint32_t)last;
		nargs++;
	}
	return 0;
}

/* Appends the formatted line to the trace_printk ring, with who printed it and when. */
static void emit(const struct bpfi_env *env, const struct pk_out *o)
{
	uint32_t n = o->len < BPFI_PRINTK_MAX ? o->len : BPFI_PRINTK_MAX;
	struct bpfi_printk_rec *rec;

	rec = bpfi_ringbuf_reserve_tid(env->printk_ring, sizeof(*rec) + n + 1, 0, stub__tid(env));
	if (!rec)
		return;
	rec->ts_ns = stub__clock_ns(env, STUB_CLOCK_MONOTONIC);
	rec->pid = stub__tgid(env);
	rec->tid = stub__tid(env);
	rec->cpu = stub__current_cpu(env);
	bpfi_memset(rec->comm, 0, sizeof(rec->comm));
	bpfi_syscall2(BPFI_NR_prctl, STUB_PR_GET_NAME, (long)rec->comm);
	rec->len = n;
	bpfi_memcpy(rec->msg, o->buf, n);
	rec->msg[n] = '\0';
	bpfi_ringbuf_submit(env->arena, rec, 0);
}

/*
 * bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3). Returns what the kernel returns: the
 * length of the formatted text (bstr_printf), or -EINVAL for a format it would refuse.
 * As with the kernel's trace buffer, a full ring loses the line without failing the call; so
 * does an environment without a printk ring.
 */
STUB_HELPER(trace_printk)
{
	const char *fmt = (const char *)(uintptr_t)r1;
	uint32_t fmt_size = (uint32_t)r2;
	uint64_t args[PRINTK_ARGS] = { r3, r4, r5 };
	struct pk_out out;
	uint32_t fmt_len;
	long err;

	if (!fmt || !fmt_size)
		return stub_err(-BPFI_EINVAL);
	fmt_len = (uint32_t)bpfi_strnlen(fmt, fmt_size);
	if (fmt_len == fmt_size)
		return stub_err(-BPFI_EINVAL);
	out.len = 0;
	err = format(&out, fmt, fmt_len, args);
	if (err < 0)
		return stub_err(err);
	if (env->printk_ring)
		emit(env, &out);
	return out.len;
}
