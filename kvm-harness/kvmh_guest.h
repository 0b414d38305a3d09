/*
 * kvmh_guest.h - guest set-up (b): the payload runs at CPL3 and the harness
 * is its kernel.  The harness builds the guest's page tables in guest RAM
 * (with sim/pt_format's pt_map), backs each wl_map with its own memory slot,
 * keeps each process's mappings apart, serves the doorbell, and reports any
 * other exit with the guest registers.
 *
 * Return codes: 0, or a negative code with a message in struct vmerr;
 * KVMH_EGUEST when the guest stopped where it should not have (the report
 * with the registers has then been printed to stderr).
 *
 * Processes and memory:
 *
 *   proc (pid, root)  --owns-->  region (pid, va, len, perms)  --data in-->  slot
 *                                                               (one KVM memory slot
 *                                                                per wl_map; fork makes
 *                                                                the child's regions
 *                                                                point at the same slot)
 *
 * A slot is deleted when no region points into it any more; a process's
 * page-table pages are recycled once it has exited and is no longer running.
 */
#ifndef KVMH_GUEST_H
#define KVMH_GUEST_H

#include "guest/abi.h"
#include "kvmh_vm.h"

#define KVMH_EGUEST (-1000)

struct kvmh_guest_opts {
	enum page_size page; /* guest leaf size for data mappings: PS_4K or PS_2M */
	int thp;             /* host THP for data slots: 1 on, 0 off, -1 default */
	bool ad;             /* build data leaves with Accessed/Dirty preset */
	bool prefault;       /* populate the host backing of data slots at map time */
	bool demand;         /* write guest PTEs on first touch (fault), not at map */
	bool pt_view;        /* map the page tables user-writable at KVMH_PTVIEW_VA */
	bool guest_ptw;      /* the guest repeats the harness's page-table writes itself
				(the echo, guest/abi.h), so KVM sees them; else
				narrowing changes reload memory slots */
};

struct kvmh_region {
	uint32_t pid;
	gva_t va;
	uint64_t len;
	unsigned perms;         /* PTE_PERM_* of its leaves */
	enum page_size ps;
	struct kvmh_slot *slot;
	uint64_t off;           /* va's data is at slot->gpa + off */
};

struct kvmh_proc {
	uint32_t pid;
	gpa_t root;
	bool live;   /* false: the entry is free */
	bool exited; /* wl_exit seen while it was running: freed at the next switch */
};

/* What happened in the guest, counted by the harness (since reset). */
struct kvmh_guest_counts {
	uint64_t doorbells;
	uint64_t op[KVMH_OP_COUNT]; /* doorbells by operation */
	uint64_t demand_faults;     /* guest page faults served (--demand) */
	uint64_t exceptions;        /* divide errors served (wlrt_exception(0)) */
	uint64_t slot_reloads;      /* memory slots deleted and re-added (unmap, protect) */
	uint64_t slot_deletes;      /* memory slots deleted (unmap, exit) */
	uint64_t pt_reloads;        /* page-table slot reloads to recycle freed tables */
	uint64_t echo_writes;       /* page-table writes the guest repeated itself */
	uint64_t invlpgs;           /* INVLPGs done in CPL0 detours */
	uint64_t invlpg_cycles;     /* TSC cycles the detours took, ioctls included */
	uint64_t cr3_reloads;       /* CR3 reloads standing for a TLB flush */
	uint64_t cr3_switches;      /* switches to another address space (KVM_SET_SREGS) */
};

struct kvmh_guest;
enum kvmh_mark { KVMH_MARK_START, KVMH_MARK_PHASE, KVMH_MARK_DONE };
/* Called at the START doorbell, at each PHASE doorbell and at DONE. */
typedef void (*kvmh_mark_fn)(void *arg, struct kvmh_guest *g, enum kvmh_mark what,
			     uint64_t id);

struct kvmh_guest {
	struct kvmh_vm vm;
	struct kvmh_guest_opts o;
	struct kvmh_shared *sh; /* host view of the shared page */
	struct kvmh_slot *pt_slot;
	struct kvmh_echo *echo; /* host view of the echo slot */
	bool echo_on;           /* page-table writes are being echoed */
	bool echo_full;         /* the echo list overflowed in this operation */
	gva_t inval[33];        /* to INVLPG at the SYNC doorbell (Linux's ceiling) */
	unsigned ninval;
	bool inval_all;         /* more than that: reload CR3 */
	struct kvmh_slot *dead[64]; /* slots to delete at SYNC, after the echo */
	unsigned ndead;
	gpa_t pt_next, data_next;
	gpa_t *pt_free, *pt_limbo; /* free table pages; freed ones KVM may still shadow */
	size_t npt_free, npt_limbo, pt_cap;
	struct kvmh_proc *procs;
	unsigned nprocs, cap_procs;
	unsigned cur;           /* procs[cur] is running */
	gpa_t cr3;
	struct kvmh_region *regions;
	unsigned nregions, cap_regions;
	/* Guest TSC cycles since reset, without the doorbells that stand for
	 * guest-kernel work (map, switch, fork, exit, syscall, phase) but with
	 * those that stand for a VM exit a hardware guest takes too (CR8,
	 * port I/O, exception). */
	uint64_t guest_cycles;
	uint64_t prev_ring;     /* guest TSC at the last exit-like doorbell, or 0 */
	struct kvmh_guest_counts n;
	uint64_t checksum;      /* from the DONE doorbell */
	kvmh_mark_fn mark;
	void *mark_arg;
};

int kvmh_guest_init(struct kvmh_guest *g, const struct kvmh_guest_opts *o, struct vmerr *err);
void kvmh_guest_fini(struct kvmh_guest *g);

/* Enter the payload with cmd (KVMH_CMD_*), run until DONE.  For
 * KVMH_CMD_WORKLOAD, name and p[0..np) are the workload and its
 * parameters (the seed last). */
int kvmh_guest_run(struct kvmh_guest *g, enum kvmh_cmd cmd, const uint64_t arg[3],
		   const char *name, const uint64_t *p, unsigned np, unsigned timeout_s,
		   struct vmerr *err);

/* What a wl_map doorbell does, for the harness's own use (calibrate). */
int kvmh_guest_map(struct kvmh_guest *g, gva_t va, uint64_t len, unsigned prot,
		   struct vmerr *err);

/* Guest-physical address of the entry at level (0 PTE, 1 PDE, ...) on the
 * walk of va in the current address space; 0 if a table is missing. */
gpa_t kvmh_guest_entry_gpa(struct kvmh_guest *g, gva_t va, unsigned level);

/* Discard the backing of up to bytes of the running process's data memory
 * (MADV_DONTNEED), the first regions first.  Returns the bytes discarded;
 * ranges[] gets the guest-virtual ranges (at most max). */
uint64_t kvmh_guest_balloon(struct kvmh_guest *g, uint64_t bytes, struct kvmh_region *ranges,
			    unsigned max, unsigned *nranges);

#endif
