/*
 * config.h - the validated configuration of one run.
 *
 * Machine profiles are INI files (configs/NAME.ini) read with inih.  Every key
 * has a default (the values in configs/default.ini, kept equal by a test);
 * an unknown section or key, a malformed value or one out of range is an
 * error naming file:line and the key.  "-s section.key=value" overrides any
 * key after the file is read.
 *
 * struct cfg holds what the user said, checked; runtime structs (TLBs,
 * caches, the cost model) derive their shifts and masks from it once.
 */
#ifndef VMSIM_CONFIG_H
#define VMSIM_CONFIG_H

#include <stdio.h>

#include "error.h"
#include "types.h"

struct cfg_cache {
	uint32_t entries, ways;
};

struct cfg_dlevel {
	uint32_t kib, ways, latency;
};

enum pte_model { PTE_MODEL_CACHE = 0, PTE_MODEL_FIXED = 1 };

struct cfg {
	char source[256]; /* file read, or "built-in defaults" */

	/* [machine] */
	char name[64];
	uint32_t freq_mhz;
	uint32_t vcpus;

	/* [guest] [host] */
	uint32_t guest_levels, host_levels;
	uint32_t guest_page, host_page; /* enum page_size */
	uint32_t host_format;           /* enum pt_kind: PT_EPT or PT_NPT */
	uint64_t guest_mem_gb, host_mem_gb;

	/* [tlb] */
	bool pcid, vpid;
	uint32_t policy; /* enum tlb_policy */
	bool l1d_split;  /* L1 dTLB split by page size (Intel) or one array for all */
	struct cfg_cache l1d, l1d_2m, l1d_1g, l1i, l1i_2m, l2, l2_1g;
	bool l2_holds_1g; /* 1 GiB entries share the STLB (else l2_1g holds them) */
	uint32_t l1_latency, l2_latency;

	/* [pwc] paging-structure caches, index = level of the cached entry (1 = PDE) */
	bool pwc_enabled;
	struct cfg_cache pwc[5];

	/* [memory] how a page-table-entry fetch is charged */
	uint32_t pte_model; /* enum pte_model */
	uint32_t pte_latency;
	struct cfg_dlevel dl[3];
	uint32_t dram_latency;
	bool data_in_cache; /* data accesses go through the same cache model */

	/* [cpu] native costs, cycles */
	uint32_t access_cycles, page_fault_cycles, syscall_cycles, switch_cycles;
	uint32_t invlpg_cycles, io_cycles, exception_cycles, cr8_cycles, callret_cycles;
	uint32_t fork_cycles, exit_cycles, map_cycles;

	/* [vmm] the software MMU of bt and vtx (shadow paging), and host memory */
	uint32_t vmm_hidden_fault; /* software walk of the guest table + one shadow fill */
	uint32_t vmm_reflect;      /* inject a page fault into the guest */
	uint32_t vmm_ptwrite;      /* decode and emulate one trapped guest PTE write */
	uint32_t vmm_root_switch;  /* CR3 write: switch to a cached shadow root */
	uint32_t vmm_root_build;   /* CR3 write: build a new shadow root */
	uint32_t vmm_sync;         /* resynchronise one unsync shadow table */
	uint32_t vmm_zap;          /* zap one shadow table */
	uint32_t vmm_ad;           /* emulate an A/D update (first write to a read-only-mapped page) */
	uint32_t vmm_host_alloc;   /* back a guest frame with host memory on first touch */
	uint32_t vmm_roots;        /* shadow roots cached per VM */
	bool vmm_unsync;           /* KVM out-of-sync leaf tables */
	uint32_t vmm_prefetch;     /* shadow entries filled per fault (1 = no prefetch; KVM: 8) */

	/* [bt] binary translation: guest kernel code runs translated */
	uint32_t bt_trap;      /* a fault from guest code into the VMM and back (no VM exit) */
	uint32_t bt_callout;   /* translated code calling into the VMM */
	uint32_t bt_translate; /* translating one guest kernel handler (once per kind of event) */
	uint32_t bt_syscall, bt_io, bt_cr8, bt_exception, bt_callret, bt_cr3, bt_invlpg;
	bool bt_adapt;         /* a PTE write that trapped is retranslated into a callout */

	/* [vtx] trap-and-emulate with shadow paging */
	uint32_t vtx_exit;     /* VM exit + VM entry round trip */
	uint32_t vtx_io, vtx_cr8, vtx_exception, vtx_cr3, vtx_invlpg, vtx_pf;
	bool vtx_tpr_shadow;   /* CR8 writes do not exit */

	/* [nested] trap-and-emulate with EPT/NPT */
	uint32_t nested_exit;
	uint32_t nested_io, nested_cr8, nested_violation;
	bool nested_tpr_shadow;
	struct cfg_cache ntlb;   /* nested TLB: guest-physical -> host-physical */
	bool ntlb_enabled;
	struct cfg_cache hpwc[5]; /* host-dimension paging-structure caches */
	bool hpwc_enabled;

	/* [smp] several vCPUs: TLB shootdowns and the shadow MMU lock */
	uint32_t smp_ipi;         /* initiator of a shootdown: send IPIs, wait for the acks */
	uint32_t smp_shootdown;   /* each receiver: interrupt, invalidate, acknowledge */
	bool smp_posted;          /* posted interrupts / IPI virtualization: IPIs cause no exits */
	uint32_t smp_ipi_exit;    /* VMM handler of the sender's ICR-write exit */
	uint32_t smp_inject_exit; /* VMM work to inject the interrupt into a receiver */
	bool smp_lock;            /* shadow-MMU updates serialise on one per-VM lock */
	uint32_t smp_lock_cycles; /* acquiring and releasing it, uncontended */

	/* [pv] paravirtual MMU: page-table updates are hypercalls */
	uint32_t pv_hypercall; /* one hypercall round trip */
	uint32_t pv_batch;     /* PTE updates per batched mmu_update hypercall */
	uint32_t pv_update;    /* validating one PTE update */
	uint32_t pv_syscall, pv_io, pv_cr8, pv_exception, pv_cr3, pv_invlpg;

	/* [vm] [swap] [overcommit] [vmswitch]: memory pressure and several VMs
	 * on one host (sim/host.c, vmsim host) */
	uint64_t vm_maxmem_mib;   /* guest-physical memory; 0 = no limit, no guest swapping */
	uint64_t vm_memory_mib;   /* balloon target; 0 = maxmem */
	uint32_t swap_in_cycles;  /* read one 4 KiB page from a swap device */
	uint32_t swap_out_cycles; /* write one 4 KiB page to a swap device */
	uint64_t host_mib;        /* host memory the VMs share; 0 = no limit */
	uint32_t reclaim;         /* enum cfg_reclaim */
	uint32_t balloon_policy;  /* enum cfg_balloon */
	uint32_t free_pct;        /* balloon when free host memory falls below this */
	uint32_t ws_sample;       /* pages sampled per VM per working-set period */
	uint64_t ws_interval;     /* events of a VM per working-set period */
	uint32_t vm_quantum;      /* events a VM runs before the host switches VMs */
	uint32_t vm_switch_cycles;
};

enum cfg_reclaim { RECLAIM_BALLOON = 0, RECLAIM_SWAP = 1 };
enum cfg_balloon { BALLOON_STATIC = 0, BALLOON_AUTO = 1 };

/* Raise machine.vcpus to n (a workload's threads), up to the model's limit. */
void cfg_need_vcpus(struct cfg *c, uint64_t n);

/* Built-in defaults only. */
void cfg_defaults(struct cfg *c);

/*
 * Defaults, then path (if not NULL), then each "section.key=value" of
 * overrides.  0, or VM_EINPUT with "FILE:LINE: key: what" in err.
 */
int cfg_load(struct cfg *c, const char *path, char *const *overrides, int n_overrides,
	     struct vmerr *err);

/* Set one key from text ("section.key", "value"); origin names it in errors. */
int cfg_set(struct cfg *c, const char *dotted_key, const char *value, const char *origin,
	    struct vmerr *err);

/* Print every key as INI, with each key's help text as a comment. */
void cfg_print(const struct cfg *c, FILE *f);

/* One key's value as text, for reports: 0, or -1 if no such key. */
int cfg_get(const struct cfg *c, const char *dotted_key, char *buf, size_t len);

/* Number of keys, and the dotted name of key i (for sweeps and listings). */
unsigned cfg_key_count(void);
const char *cfg_key_name(unsigned i, char *buf, size_t len);

#endif
