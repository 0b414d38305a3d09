/*
 * host.h - several VMs on one host: their event streams interleaved on one
 * host CPU, the host memory they share, and how the host takes memory back
 * when it runs out (ballooning, host swapping, or both).
 *
 * Each VM is a struct sim of its own (guest-OS model, MMU mode state,
 * vCPUs with their TLBs) whose p2m is moved onto the one host memory.  The
 * host runs the VMs round-robin, vmswitch.quantum events at a time; with
 * overcommit.host_mib set, that memory is a budget, and:
 *
 *   host memory full, at an allocation  -> host swap: a random data page of
 *                                          the VM furthest over its target
 *                                          leaves the p2m (swap-out); its
 *                                          next touch brings it back (swap-in)
 *   free memory < overcommit.free_pct    -> reclaim=balloon: each guest's
 *   (checked between events)                balloon driver inflates to its
 *                                          target; the host drops the pinned
 *                                          frames' backing
 *
 * A VM's target is vm.memory_mib (overcommit.balloon=static) or a share of
 * host memory by its sampled working set (auto; see host.c).
 *
 * The struct is opaque; host_vm() gives each VM's struct sim, whose stats
 * hold the VM's own counts.
 */
#ifndef VMSIM_HOST_H
#define VMSIM_HOST_H

#include "config.h"
#include "event.h"
#include "sim.h"

/* Where a VM's events come from: read fills buf with up to cap events and
 * returns how many, 0 at the end, or a negative error with err set. */
struct host_src {
	long (*read)(void *arg, struct vm_event *buf, size_t cap, struct vmerr *err);
	void (*close)(void *arg);
	void *arg;
};

/* A built-in workload ("NAME[:k=v,...]"), generated on a thread of its own
 * and handed over batch by batch, so any number of VMs interleave without
 * holding their streams in memory.  ident gets "NAME:params". */
int host_src_workload(struct host_src *src, const char *spec, char *ident, size_t ilen,
		      struct vmerr *err);
/* A .vmt trace; ident gets "trace:PATH". */
int host_src_trace(struct host_src *src, const char *path, char *ident, size_t ilen,
		   struct vmerr *err);
/* n events from memory (not copied: ev must outlive the run). */
int host_src_events(struct host_src *src, const struct vm_event *ev, size_t n);

struct host;

/* A host with hcfg's [overcommit] and [vmswitch] settings and no VMs. */
struct host *host_new(const struct cfg *hcfg, struct vmerr *err);
void host_free(struct host *h);

/*
 * Add a VM: its own configuration (its [vm] keys say its maxmem and
 * balloon target), a virtualized mode (not native) and, for host_run, its
 * events (the host then owns src; NULL to drive the VM with host_consume).
 * Returns the VM's index, or a negative error.
 */
int host_add_vm(struct host *h, const struct cfg *cfg, const struct mmu_ops *mode,
		const struct host_src *src, struct vmerr *err);

unsigned host_nvms(const struct host *h);
struct sim *host_vm(struct host *h, unsigned vm);

/* Run every VM's stream to its end, interleaved; then sim_finish each.
 * 0, or the first error, with err naming the VM. */
int host_run(struct host *h, struct vmerr *err);

/* Run n events on VM vm now, as the host CPU would (switching to it
 * first): for tests and for callers that interleave by hand. */
int host_consume(struct host *h, unsigned vm, const struct vm_event *ev, size_t n,
		 struct vmerr *err);

/* The host asks VM vm's balloon driver for a balloon of target pages. */
int host_balloon(struct host *h, unsigned vm, uint64_t target, struct vmerr *err);

/* The host swaps out guest page gpa of VM vm (4 KiB) behind the guest's
 * back.  0, or -1 if gpa is not resident in host memory. */
int host_swap_out(struct host *h, unsigned vm, gpa_t gpa);

struct host_meminfo {
	uint64_t limit_bytes;    /* overcommit.host_mib; 0 = none */
	uint64_t used_bytes;     /* host frames and host tables (p2m, shadow) in use */
	uint64_t peak_bytes;     /* the most used, sampled between events */
};
void host_meminfo(const struct host *h, struct host_meminfo *m);

/* One VM's memory as the host sees it, in 4 KiB pages. */
struct host_vm_meminfo {
	uint64_t resident;  /* guest pages backed by host frames */
	uint64_t swapped;   /* guest pages in the host's swap */
	uint64_t target;    /* the host's target for the VM (guest pages) */
	uint64_t ws;        /* working-set estimate (balloon=auto), else 0 */
};
void host_vm_meminfo(const struct host *h, unsigned vm, struct host_vm_meminfo *m);

#endif
