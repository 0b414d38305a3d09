/*
 * entry.S - the CPL3 entry of the guest payload.  The harness sets RIP here
 * (and RSP, but we do not rely on it): set the stack, clear the frame
 * pointer, call kvmh_guest_main, which ends in the DONE doorbell.  If it
 * ever returns, `hlt` at CPL3 ends the VM in a shutdown the harness reports.
 */
	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	lea	__stack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	kvmh_guest_main
1:	hlt
	jmp	1b
	.size _start, . - _start

/* wlrt_exception(0): one divide by zero.  The harness, seeing the shutdown
 * at kvmh_de_insn (published in the shared page), resumes at kvmh_de_end. */
	.text
	.globl kvmh_divide_error, kvmh_de_insn, kvmh_de_end
	.type kvmh_divide_error, @function
kvmh_divide_error:
	xor	%eax, %eax
	xor	%edx, %edx
	xor	%ecx, %ecx
kvmh_de_insn:
	divl	%ecx
kvmh_de_end:
	ret
	.size kvmh_divide_error, . - kvmh_divide_error

	.section .note.GNU-stack, "", @progbits
