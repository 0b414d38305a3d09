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

	.section .note.GNU-stack, "", @progbits
