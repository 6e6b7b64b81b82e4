/* SPDX-License-Identifier: MIT */
/*
 * The catch-all's pieces that C cannot express (stub/catchall.c).
 *
 * int64_t stub_clone_jump(const uint64_t *gregs, int64_t nr)
 *   clone/clone3 with a new stack, made with the caller's own registers (gregs: the signal
 *   frame's, struct sigcontext order). The parent comes back here with the result. The child
 *   starts on its new stack, whose top two words below the initial %rsp hold the caller's
 *   rip and flags (written by fork_call): it arms itself, then returns 0 there with every
 *   register and the flags the caller had, as if it had made the call itself: rcx the rip
 *   and r11 the flags, as the kernel's `syscall` leaves them (issue 11).
 *
 * void stub_sigreturn_at(uint64_t rsp)
 *   The caller's own rt_sigreturn, made from the stub: %rsp back on its signal frame.
 *
 * void stub_sigsys_restorer(void)
 *   The handler's sa_restorer: its rt_sigreturn must come from inside the stub too.
 *
 * int64_t stub_int80(const uint64_t *gregs)
 *   A 32-bit system call (`int $0x80` in a 64-bit process) made again from the stub with the
 *   caller's registers: eax, ebx, ecx, edx, esi, edi, ebp.
 */
#define G_R8  0
#define G_R9  8
#define G_R10 16
#define G_R12 32
#define G_R13 40
#define G_R14 48
#define G_R15 56
#define G_RDI 64
#define G_RSI 72
#define G_RBP 80
#define G_RBX 88
#define G_RDX 96

	.text
	.globl	stub_clone_jump
	.hidden	stub_clone_jump
	.type	stub_clone_jump, @function
stub_clone_jump:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rsi			/* nr */
	mov	%rdi, %rcx		/* rcx: the syscall clobbers it anyway */
	mov	G_R8(%rcx), %r8
	mov	G_R9(%rcx), %r9
	mov	G_R10(%rcx), %r10
	mov	G_R12(%rcx), %r12
	mov	G_R13(%rcx), %r13
	mov	G_R14(%rcx), %r14
	mov	G_R15(%rcx), %r15
	mov	G_RBP(%rcx), %rbp
	mov	G_RBX(%rcx), %rbx
	mov	G_RDX(%rcx), %rdx
	mov	G_RSI(%rcx), %rsi
	mov	G_RDI(%rcx), %rdi
	mov	(%rsp), %rax
	syscall
	test	%rax, %rax
	jz	1f
	add	$8, %rsp		/* parent (or error): our registers back */
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
1:	sub	$16, %rsp		/* child: (%rsp) the caller's flags, 8(%rsp) its rip */
	push	%rdi
	push	%rsi
	push	%rdx
	push	%r8
	push	%r9
	push	%r10
	cld
	call	stub_catchall_child
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdx
	pop	%rsi
	pop	%rdi
	mov	$0, %eax		/* the child's result */
	mov	(%rsp), %r11		/* the flags, in r11 too as after a `syscall` */
	popfq
	mov	(%rsp), %rcx		/* the return address, in rcx too */
	ret
	.size	stub_clone_jump, . - stub_clone_jump

	.globl	stub_sigreturn_at
	.hidden	stub_sigreturn_at
	.type	stub_sigreturn_at, @function
stub_sigreturn_at:
	mov	%rdi, %rsp
	mov	$15, %eax
	syscall
	ud2
	.size	stub_sigreturn_at, . - stub_sigreturn_at

	.globl	stub_sigsys_restorer
	.hidden	stub_sigsys_restorer
	.type	stub_sigsys_restorer, @function
stub_sigsys_restorer:
	mov	$15, %eax
	syscall
	ud2
	.size	stub_sigsys_restorer, . - stub_sigsys_restorer

	.globl	stub_int80
	.hidden	stub_int80
	.type	stub_int80, @function
stub_int80:
	push	%rbx
	push	%rbp
	mov	%rdi, %r8
	mov	104(%r8), %eax		/* G_RAX */
	mov	88(%r8), %ebx		/* G_RBX */
	mov	112(%r8), %ecx		/* G_RCX */
	mov	G_RDX(%r8), %edx
	mov	G_RSI(%r8), %esi
	mov	G_RDI(%r8), %edi
	mov	G_RBP(%r8), %ebp
	int	$0x80
	movslq	%eax, %rax		/* a 32-bit result, sign-extended as the kernel does */
	pop	%rbp
	pop	%rbx
	ret
	.size	stub_int80, . - stub_int80

	.section .note.GNU-stack, "", @progbits
