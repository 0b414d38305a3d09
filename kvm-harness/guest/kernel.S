/*
 * kernel.S - the entry and the trap stubs of the set-up (a) guest kernel
 * (CPL0).  The harness enters kvma_start at CPL0 in long mode over its boot
 * tables.  Every vector of the IDT goes to a stub that pushes a dummy error
 * code where the CPU pushes none, then the vector, then all general
 * registers (struct kvma_frame in kernel.c), calls kvma_trap and returns
 * with iretq.  System calls are `int $0x80` (a DPL-3 gate).
 */
	.section .text.entry, "ax"
	.globl kvma_start
kvma_start:
	lea	kvma_stack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	kvma_main
1:	hlt
	jmp	1b

	.text
/* kvma_enter_user(rip, rsp): iretq to CPL3 (user code 0x23, user data 0x1b). */
	.globl kvma_enter_user
kvma_enter_user:
	pushq	$0x1b
	pushq	%rsi
	pushq	$0x2
	pushq	$0x23
	pushq	%rdi
	iretq

.macro STUB vec, err
	.globl kvma_isr\vec
kvma_isr\vec:
	.if \err == 0
	pushq	$0
	.endif
	pushq	$\vec
	jmp	kvma_common
.endm

	STUB 0,0
	STUB 1,0
	STUB 2,0
	STUB 3,0
	STUB 4,0
	STUB 5,0
	STUB 6,0
	STUB 7,0
	STUB 8,1
	STUB 9,0
	STUB 10,1
	STUB 11,1
	STUB 12,1
	STUB 13,1
	STUB 14,1
	STUB 15,0
	STUB 16,0
	STUB 17,1
	STUB 18,0
	STUB 19,0
	STUB 20,0
	STUB 21,1
	STUB 128,0

kvma_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	kvma_trap
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp	/* vector, error code */
	iretq

	.section .note.GNU-stack, "", @progbits
