/*
 * abi_a.h - guest set-up (a): what the CPL0 guest kernel (kernel.c), its
 * CPL3 user runtime (urt_a.c) and the harness (kvmh_cpl0.c) agree on.
 * Freestanding; no libc.
 *
 * Guest-physical map, all in one memory slot "ram" of KVMA_RAM_SIZE at GPA 0
 * (identity-mapped by the boot tables the harness builds, 2 MiB pages):
 *
 *   0x0001_0000  boot page tables (harness-built; the kernel copies their
 *                low-half PML4 entry into every process root it builds)
 *   0x0010_0000  kernel image (kernel.ld), supervisor-only; its stack and its
 *                GDT/TSS/IDT are in its bss
 *   0x0020_0000  boot page (struct kvma_boot): U=1 W=1, the workload name and
 *                parameters in, the kernel's counters and the doorbell
 *                arguments out
 *   0x0040_0000  user payload (the workloads + urt_a.c, guest.ld), U=1, stack
 *                at the top (0x80_0000)
 *   0x0080_0000  page pool: the kernel's bump allocator for its page tables
 *                and the workload's demand-mapped pages (supervisor-only)
 *   0xc000_0000  doorbell (no slot: a store is KVM_EXIT_MMIO), supervisor
 *
 * System calls: `int $0x80` from CPL3, rax = KVMA_SYS_*, rdi/rsi/rdx the
 * arguments, the result in rax.
 */
#ifndef KVMH_GUEST_ABI_A_H
#define KVMH_GUEST_ABI_A_H

#include <stdint.h>

#define KVMA_RAM_SIZE (64ull << 20)
#define KVMA_BOOTPT_GPA 0x10000ull
#define KVMA_BOOTPT_SIZE 0x10000ull
#define KVMA_KERNEL_GPA 0x100000ull
#define KVMA_BOOT_GPA 0x200000ull
#define KVMA_USER_GPA 0x400000ull
#define KVMA_USER_SIZE (4ull << 20)
#define KVMA_POOL_GPA 0x800000ull
#define KVMA_DOORBELL_GPA 0xc0000000ull
#define KVMA_MAGIC 0x6b766d612d637030ull /* "0pc-amvk" */

/* System call numbers (rax of int $0x80). */
enum kvma_sys {
	KVMA_SYS_MAP = 1,  /* va, len, prot: record the region; pages come on first touch */
	KVMA_SYS_UNMAP,    /* va, len: clear the PTEs, INVLPG each present one */
	KVMA_SYS_PROTECT,  /* va, len, prot: rewrite the PTEs, INVLPG each */
	KVMA_SYS_SWITCH,   /* pid: CR3 := that process's root (built on first use) */
	KVMA_SYS_SYSCALL,  /* nr: counted, nothing else (the syscall workload) */
	KVMA_SYS_PHASE,    /* id: doorbell to the harness */
	KVMA_SYS_DONE,     /* checksum: doorbell, then hlt */
	KVMA_SYS_UNSUPPORTED, /* which (enum kvma_unsup): report and halt */
	KVMA_SYS_FORK,     /* parent, child: the child shares the parent's memory */
	KVMA_SYS_EXIT,     /* pid: free its process entry */
};

/* Doorbell operations (the value the kernel stores to the doorbell). */
enum kvma_op {
	KVMA_OP_START = 1, /* the kernel is up, about to iretq to the workload */
	KVMA_OP_PHASE,     /* arg0 id */
	KVMA_OP_DONE,      /* arg0 checksum */
	KVMA_OP_FATAL,     /* arg0 vector (or 0x100 + what), arg1 rip, arg2 cr2 / detail */
};

/* Unsupported hooks, reported with KVMA_OP_FATAL arg0 = 0x100 + this. */
enum kvma_unsup {
	KVMA_UNSUP_FORK = 1, KVMA_UNSUP_EXIT, KVMA_UNSUP_IO, KVMA_UNSUP_CR8,
	KVMA_UNSUP_EXCEPTION, KVMA_UNSUP_SYSCALL_NR, KVMA_UNSUP_NOMEM, KVMA_UNSUP_PF,
	KVMA_UNSUP_RANGE
};

#define KVMA_MAX_PARAMS 17

struct kvma_boot {
	uint64_t magic;
	/* in */
	char wl_name[32];
	uint64_t p[KVMA_MAX_PARAMS];
	uint64_t pool_end;  /* GPA: the pool is [KVMA_POOL_GPA, pool_end) */
	uint64_t user_entry, user_stack;
	/* doorbell */
	uint64_t op, arg[3];
	/* out: what the kernel did */
	uint64_t pf_served;   /* #PF handled by mapping a page (demand paging) */
	uint64_t de_served;   /* #DE counted and skipped */
	uint64_t syscalls;    /* every int $0x80 */
	uint64_t sys_nr;      /* KVMA_SYS_SYSCALL ones (the workload's system calls) */
	uint64_t cr3_writes;  /* address-space switches */
	uint64_t invlpgs;
	uint64_t pages_used;  /* pool pages handed out (tables and data) */
	uint64_t checksum;
	uint64_t ud_int80;    /* int $0x80 that arrived as #UD (PVM hosts) */
	uint64_t fatal_err, fatal_cs; /* error code and CS of the last trap's frame
					 (what a FATAL report prints) */
};

#endif
