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


/* After a demand fault with page-table writes to echo, the harness resumes
 * the guest here instead of at the faulting instruction: make the writes
 * (kvmh_echo_resume, which returns where to go on) with every register and
 * the flags kept, then return there. */
	.globl kvmh_echo_tramp
	.type kvmh_echo_tramp, @function
kvmh_echo_tramp:
	lea	-8(%rsp), %rsp	/* 88(%rsp) below: the resume address; lea keeps the flags */
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	pushfq
	push	%rbx
	mov	%rsp, %rbx
	and	$-16, %rsp
	cld
	call	kvmh_echo_resume
	mov	%rbx, %rsp
	mov	%rax, 88(%rsp)
	pop	%rbx
	popfq
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	ret
	.size kvmh_echo_tramp, . - kvmh_echo_tramp

/* Run at CPL0 by the harness (a detour; emulated on PVM hosts): INVLPG of
 * the address in %rax, then ring DETOUR so the harness takes the vCPU back. */
	.globl kvmh_invlpg_stub
	.type kvmh_invlpg_stub, @function
kvmh_invlpg_stub:
	invlpg	(%rax)
	mov	$0xc0000000, %edx	/* KVMH_DOORBELL_VA */
	movq	$15, (%rdx)		/* KVMH_OP_DETOUR */
1:	hlt
	jmp	1b
	.size kvmh_invlpg_stub, . - kvmh_invlpg_stub

	.section .note.GNU-stack, "", @progbits
