/* payload_a_blob.S - set-up (a)'s flat images (guest kernel, user payload),
 * embedded so that vmsim-kvm is self-contained. */
	.section .rodata.kvmh_payload_a, "a"
	.balign 4096
	.globl kvma_kernel_start, kvma_kernel_end, kvma_user_start, kvma_user_end
kvma_kernel_start:
	.incbin KVMH_KERNEL_A_BIN
kvma_kernel_end:
	.balign 4096
kvma_user_start:
	.incbin KVMH_UPAYLOAD_A_BIN
kvma_user_end:

	.section .note.GNU-stack, "", @progbits
