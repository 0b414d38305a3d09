/* payload_blob.S - the flat guest payload image, embedded so that vmsim-kvm
 * is self-contained. */
	.section .rodata.kvmh_payload, "a"
	.balign 4096
	.globl kvmh_payload_start, kvmh_payload_end
kvmh_payload_start:
	.incbin KVMH_PAYLOAD_BIN
kvmh_payload_end:

	.section .note.GNU-stack, "", @progbits
