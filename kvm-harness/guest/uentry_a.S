/* uentry_a.S - the CPL3 entry of the set-up (a) user payload (linked with
 * guest.ld at KVMH_PAYLOAD_VA); the kernel iretqs here. */
	.section .text.entry, "ax"
	.globl _start
_start:
	lea	__stack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	kvma_user_main
1:	jmp	1b

	.section .note.GNU-stack, "", @progbits
