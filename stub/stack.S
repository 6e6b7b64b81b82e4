/* SPDX-License-Identifier: MIT */
/*
 * uint64_t stub_run_on_stack(bpfi_jit_fn fn, uint64_t ctx, uint64_t stack_top)
 *
 * Runs a program on the thread's private stack rather than on the target's own, which may be
 * small (a goroutine's, a coroutine's) or nearly full at the probed call.
 */
	.text
	.globl	stub_run_on_stack
	.hidden	stub_run_on_stack
	.type	stub_run_on_stack, @function
stub_run_on_stack:
	push	%rbp			/* rbp is callee-saved: it keeps the target's rsp */
	mov	%rsp, %rbp		/* saved = rsp */
	mov	%rdx, %rsp		/* rsp = stack_top */
	and	$-16, %rsp		/* aligned for the call */
	mov	%rdi, %rax		/* fn */
	mov	%rsi, %rdi		/* r1 = ctx */
	xor	%esi, %esi		/* r2 = 0 */
	call	*%rax			/* r0 = fn(ctx, 0) */
	mov	%rbp, %rsp		/* back on the target's stack */
	pop	%rbp
	ret
	.size	stub_run_on_stack, . - stub_run_on_stack

	.section .note.GNU-stack, "", @progbits
