/*
 * abi.h - what the CPL3 guest payload and the harness agree on: the guest
 * address map, the shared page, and the doorbell operations.
 *
 * Included by the freestanding guest runtime and by the host; no libc.
 *
 * Guest-physical map (set-up (b): the workload runs at CPL3, the harness is
 * its kernel):
 *
 *   0x0000_1000  GDT            slot "sys", supervisor-only, identity-mapped
 *   0x0000_2000  TSS
 *   0x0100_0000  page tables    slot "pt", 16 MiB, mapped only for calibrate
 *   0x0030_0000  shared page    slot "shared", U=1 W=1, VA = GPA
 *   0x0040_0000  payload        slot "payload", 4 MiB: code, data, bss, stack
 *                               at the top; VA = GPA (linker script); two 2 MiB
 *                               guest pages, so a fork copies 2 entries, not 1024
 *   0x0080_0000  echo list      slot "echo", 8 MiB, U=1 W=1, VA = GPA: the
 *                               page-table writes the guest is to make itself
 *   0xc000_0000  doorbell       no memory slot: a store is KVM_EXIT_MMIO
 *   0xc000_1000  kick           no memory slot; calibrate registers an ioeventfd
 *                               there, so a store exits but is served in the kernel
 *   0x1_0000_0000 and up        one data slot per wl_map, 2 MiB aligned
 *
 * Doorbell: the guest fills op/arg[] in the shared page, stores the op code
 * to KVMH_DOORBELL_VA, and reads ret when the store completes (the harness
 * serves the exit before resuming the vCPU).
 */
#ifndef KVMH_GUEST_ABI_H
#define KVMH_GUEST_ABI_H

#include <stdint.h>

#define KVMH_GDT_GPA 0x1000ull
#define KVMH_TSS_GPA 0x2000ull
#define KVMH_SYS_GPA 0x0ull
#define KVMH_SYS_SIZE 0x10000ull
#define KVMH_PT_GPA 0x1000000ull
#define KVMH_PT_SIZE (16ull << 20)
#define KVMH_SHARED_GPA 0x300000ull
#define KVMH_SHARED_VA KVMH_SHARED_GPA
#define KVMH_PAYLOAD_GPA 0x400000ull
#define KVMH_PAYLOAD_VA KVMH_PAYLOAD_GPA
#define KVMH_PAYLOAD_SIZE (4ull << 20)
#define KVMH_STACK_TOP (KVMH_PAYLOAD_VA + KVMH_PAYLOAD_SIZE)
#define KVMH_ECHO_GPA 0x800000ull
#define KVMH_ECHO_VA KVMH_ECHO_GPA
#define KVMH_ECHO_SIZE (8ull << 20)
#define KVMH_DOORBELL_GPA 0xc0000000ull
#define KVMH_DOORBELL_VA KVMH_DOORBELL_GPA
#define KVMH_KICK_GPA (KVMH_DOORBELL_GPA + 0x1000)
#define KVMH_KICK_VA KVMH_KICK_GPA
#define KVMH_DATA_GPA 0x100000000ull
#define KVMH_SELFTEST_VA 0x0000300000000000ull
/* With opts.pt_view (calibrate) or opts.guest_ptw, the page-table slot is
 * also mapped here, user-writable, so the guest can write its own
 * page-table entries. */
#define KVMH_PTVIEW_VA 0x0000400000000000ull

#define KVMH_MAGIC 0x6b766d68766d7369ull /* "ismvhmvk" */

/* Doorbell operations (the value stored to the doorbell). */
enum kvmh_op {
	KVMH_OP_MAP = 1,   /* arg0 va, arg1 len, arg2 prot */
	KVMH_OP_UNMAP,     /* arg0 va, arg1 len */
	KVMH_OP_PROTECT,   /* arg0 va, arg1 len, arg2 prot */
	KVMH_OP_SWITCH,    /* arg0 pid */
	KVMH_OP_FORK,      /* arg0 parent, arg1 child */
	KVMH_OP_EXIT,      /* arg0 pid */
	KVMH_OP_SYSCALL,   /* arg0 nr */
	KVMH_OP_IO_IN,     /* arg0 port; ret value */
	KVMH_OP_PHASE,     /* arg0 id */
	KVMH_OP_DONE,      /* the command finished: checksum, tsc fields valid */
	KVMH_OP_CR8,       /* arg0 the new TPR (a CPL3 guest cannot write CR8) */
	KVMH_OP_EXCEPTION, /* arg0 vector, for vectors the runtime cannot raise for real */
	KVMH_OP_START,     /* the payload's own pages are warm: measuring starts here */
	KVMH_OP_SYNC,      /* the echo list is written: now invalidate (INVLPG or CR3) */
	KVMH_OP_DETOUR,    /* end of a CPL0 detour (rung by the CPL0 stub) */
	KVMH_OP_COUNT
};

/* What the payload does when entered (set by the harness before KVM_RUN). */
enum kvmh_cmd {
	KVMH_CMD_WORKLOAD = 1, /* run wl_name with p[] */
	KVMH_CMD_TOUCH,        /* one word per page of [arg0, arg0+arg1): arg2 0 load then
				  store, 1 store only, 2 load only */
	KVMH_CMD_CRASH,        /* load from arg0 (unmapped): a guest page fault */
	KVMH_CMD_PING,         /* arg0 doorbell round trips, then DONE */
	KVMH_CMD_SELFTEST,     /* arg0: 0 fork/switch, 1 use after unmap, 2 write after
				  protect, 3 spin forever */
	KVMH_CMD_PTWRITE,      /* rewrite the 8 bytes at arg0 (a page-table entry) arg1 times */
	KVMH_CMD_CPUID,        /* arg0 CPUID instructions (leaf 0) */
	KVMH_CMD_KICK,         /* arg0 stores to KVMH_KICK_VA */
	KVMH_CMD_DIVIDE,       /* arg0 divide errors (wlrt_exception(0)) */
};

#define KVMH_MAX_PARAMS 17 /* WL_MAX_PARAMS + the seed */

struct kvmh_shared {
	uint64_t magic;
	uint64_t cmd;
	uint64_t cmd_arg[3];
	char wl_name[32];
	uint64_t nparams; /* p[nparams - 1] is the seed */
	uint64_t p[KVMH_MAX_PARAMS];

	/* doorbell */
	uint64_t op;
	uint64_t arg[3];
	uint64_t ret;

	/* Guest TSC just before ringing and just after the previous ring
	 * returned: the guest-side time of a phase excludes the doorbells. */
	uint64_t tsc_ring;
	uint64_t tsc_resumed;
	uint64_t checksum;

	/* Set by the guest before it runs a workload: the guest-virtual
	 * address and length of the one instruction that raises #DE
	 * (wlrt_exception(0)).  A shutdown there is that exception, and the
	 * harness, as the guest's kernel, returns past it. */
	uint64_t de_rip, de_len;

	/* Guest page-table writes (opts.guest_ptw).  The harness computes every
	 * change to the guest's tables, writes it, and lists it in the echo
	 * slot as (address in the page-table view, value); the guest then makes
	 * the same stores itself, so KVM sees them as a guest kernel's writes
	 * (trapped where it write-protects the table).  echo_n entries wait;
	 * with echo_sync set the guest rings SYNC afterwards so the harness can
	 * invalidate what the writes narrowed.  After a demand fault the guest
	 * is resumed at tramp_rip, which makes the stores and returns to
	 * resume_rip.  invlpg_rip is the CPL0 stub: INVLPG (%rax), ring DETOUR. */
	uint64_t echo_n, echo_sync;
	uint64_t tramp_rip, resume_rip, invlpg_rip;
};

struct kvmh_echo {
	uint64_t va, val;
};
#define KVMH_ECHO_MAX (KVMH_ECHO_SIZE / sizeof(struct kvmh_echo))

#endif
