/* SPDX-License-Identifier: MIT */
/*
 * The stub image's header, at offset 0 (struct bpfi_stub_header in target.h): the offsets of
 * its entry points, computed by the linker as differences within one section, so the image
 * needs no relocation wherever it is mapped.
 */
	.section .stub_header, "a"
	.globl	stub_header
	.hidden	stub_header
	.balign	8
stub_header:
	.long	0x42555453			/* magic = BPFI_STUB_MAGIC ("STUB") */
	.long	3				/* version */
	.long	__stub_end - stub_header	/* size of the image */
	.long	bpfi_helpers_fill - stub_header	/* helpers_fill */
	.long	stub_dispatch_entry - stub_header	/* dispatch_entry */
	.long	stub_dispatch_return - stub_header	/* dispatch_return */
	.long	bpfi_tail_call_target - stub_header	/* tail_call_target */
	.long	bpfi_interp_run - stub_header	/* interp_run */
	.long	stub_syscall_enter - stub_header	/* syscall_enter */
	.long	stub_syscall_exit - stub_header	/* syscall_exit */
	.long	stub_sigsys - stub_header	/* sigsys_handler */
	.long	stub_sigsys_restorer - stub_header	/* sigsys_restorer */
	.long	stub_dispatch_push_return - stub_header	/* dispatch_push_return */
	.long	0				/* pad */
	.quad	0				/* block: written by the injector at upload */

	.section .note.GNU-stack, "", @progbits
