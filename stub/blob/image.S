/* SPDX-License-Identifier: MIT */
/* The stub image (stub.bin) embedded in the injector, between two hidden symbols. */
	.section .rodata.bpfi_stub, "a"
	.balign	4096
	.globl	bpfi_stub_image_start
	.hidden	bpfi_stub_image_start
bpfi_stub_image_start:
	.incbin	STUB_BIN
	.globl	bpfi_stub_image_end
	.hidden	bpfi_stub_image_end
bpfi_stub_image_end:

	.section .note.GNU-stack, "", @progbits
