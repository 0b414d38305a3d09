/*
 * gos.h - the guest-OS model, shared by every MMU mode.
 *
 * It owns processes (an address space with a CR3 and a PCID, and a sorted
 * list of regions), demand-pages on first touch, and carries out map, unmap,
 * protect, fork (copy-on-write) and exit.  It writes real x86-64 entries
 * into simulated guest-physical memory, and reports through struct gos_hooks
 * every page-table write, every INVLPG and every flush it asks for: that is
 * where the MMU modes differ (a native MMU ignores the writes, a shadow MMU
 * traps them).
 *
 * Context switches are the caller's (struct sim owns the vCPUs); exit leaves
 * it to the caller to stop running the process first.
 */
#ifndef VMSIM_GOS_H
#define VMSIM_GOS_H

#include "config.h"
#include "physmem.h"
#include "pt_format.h"
#include "stats.h"

/* x86 "available" bit 9 (ignored by the MMU) marks a copy-on-write leaf. */
#define GOS_PTE_COW (1ull << 9)

/*
 * A swapped-out page is a non-present leaf, as Linux keeps a swap entry in
 * a non-present PTE: the MMU ignores every bit but P, so the kernel is free
 * to use them.
 *
 *   63       52 51                    12 11  10 9    1   0
 *   +----------+------------------------+------+---+----+---+
 *   |    0     |     swap slot (> 0)    |  0   | 1 | 0  | 0 |   P = 0
 *   +----------+------------------------+------+---+----+---+
 *                                               GOS_PTE_SWAP
 *
 * Only 4 KiB leaves are swapped; a touch of one faults, and gos_fault reads
 * the page back (a swap-in).
 */
#define GOS_PTE_SWAP (1ull << 9)
#define GOS_SWAP_SLOT_MASK 0x000ffffffffff000ull

static inline bool gos_pte_is_swap(uint64_t pte) { return !(pte & 1) && (pte & GOS_PTE_SWAP); }

struct gos_vma {
	gva_t start, end; /* [start, end), 4 KiB aligned */
	unsigned prot;    /* VM_PROT_* */
};

struct gos_proc {
	uint32_t pid;
	uint16_t pcid;
	gpa_t cr3;
	bool implicit; /* never mapped anything: every user address is anonymous rwx */
	uint64_t cpumask; /* vCPUs that may hold its TLB entries (kept by the sim, like mm_cpumask) */
	struct gos_vma *vma;
	size_t nvma, cap;
};

struct gos_hooks {
	/* The kernel wrote a page-table entry (entry_gpa) from old to val. */
	void (*pt_write)(void *arg, gpa_t entry_gpa, uint64_t old, uint64_t val);
	/* INVLPG va in p's address space. */
	void (*invlpg)(void *arg, const struct gos_proc *p, gva_t va);
	/* Flush p's TLB entries (non-global), e.g. after fork or a large unmap. */
	void (*flush)(void *arg, const struct gos_proc *p);
	/* A page-table page is being freed (after its entries were cleared). */
	void (*table_freed)(void *arg, gpa_t table);
	void *arg;
};

struct gos;

struct gos *gos_new(const struct cfg *cfg, struct physmem *gpm, struct stats *st,
		    const struct gos_hooks *hooks);
void gos_free(struct gos *g);

const struct pt_format *gos_format(const struct gos *g);
struct physmem *gos_mem(const struct gos *g);

/* The process with pid, or NULL. */
struct gos_proc *gos_find(struct gos *g, uint32_t pid);
/* Find or create (an empty, implicit address space). */
int gos_get(struct gos *g, uint32_t pid, struct gos_proc **out, struct vmerr *err);

enum { GOS_FIXED = 0, GOS_SEGV = 1 };
/*
 * A page fault at va needing PTE_PERM_* `need` (the walk failed): demand-map,
 * copy-on-write, or refuse.  GOS_FIXED (retry the access), GOS_SEGV (the
 * access is not allowed; counted and dropped), or a negative error (guest
 * memory exhausted).
 */
int gos_fault(struct gos *g, struct gos_proc *p, gva_t va, unsigned need, struct vmerr *err);

int gos_map(struct gos *g, struct gos_proc *p, gva_t va, uint64_t len, unsigned prot,
	    struct vmerr *err);
int gos_unmap(struct gos *g, struct gos_proc *p, gva_t va, uint64_t len, struct vmerr *err);
int gos_protect(struct gos *g, struct gos_proc *p, gva_t va, uint64_t len, unsigned prot,
		struct vmerr *err);
int gos_fork(struct gos *g, struct gos_proc *parent, uint32_t child_pid, struct vmerr *err);
/* Tear down p's tables and frames and forget it. */
void gos_exit(struct gos *g, struct gos_proc *p);

/* Software lookup without side effects: 0 and the guest-physical address
 * of va, or -1 if not mapped. */
int gos_translate(struct gos *g, const struct gos_proc *p, gva_t va, gpa_t *gpa);

/* pt_mem_ops over guest-physical memory that do NOT notify (for hardware
 * A/D updates and software walks). */
void gos_raw_ops(struct gos *g, struct pt_mem_ops *ops);

/* ---- memory pressure: maxmem, guest swapping, the balloon driver ----
 *
 * With vm.maxmem_mib set, the guest's memory is a budget on its physmem
 * (data frames, page tables and balloon frames all count).  An allocation
 * that would pass it reclaims first: a clock over the resident 4 KiB data
 * pages picks a victim, which is written to the guest's swap and unmapped
 * (see gos.c).  Without it nothing here runs. */

/* What the host learns of guest memory (sim/host.c sets these; a VM alone
 * has none).  Either may be NULL. */
struct gos_mem_hooks {
	/* The kernel is about to read frame gpa to write it to its swap: the
	 * host must make the frame resident (double paging if it was not). */
	void (*page_read)(void *arg, gpa_t gpa);
	/* The balloon driver pinned frame gpa: the host may drop its backing. */
	void (*balloon_pinned)(void *arg, gpa_t gpa);
	void *arg;
};
void gos_set_mem_hooks(struct gos *g, const struct gos_mem_hooks *h);

struct gos_meminfo {
	uint64_t limit_pages;   /* vm.maxmem_mib in 4 KiB pages; 0 = no limit */
	uint64_t used_pages;    /* data frames + page tables + balloon, 4 KiB pages */
	uint64_t balloon_pages; /* frames the balloon driver holds */
	uint64_t swapped_pages; /* pages in the guest's swap */
};
void gos_meminfo(const struct gos *g, struct gos_meminfo *m);

/*
 * Inflate or deflate the balloon to target 4 KiB pages.  Inflating takes
 * free guest frames, swapping process pages out when there are none, pins
 * them and tells the host (balloon_pinned); deflating gives frames back to
 * the guest's free pool.  0; or VM_ELIMIT (in err) when nothing more can
 * be reclaimed, with the balloon left as large as it got.
 */
int gos_balloon_set(struct gos *g, uint64_t target, struct vmerr *err);

/* The frames the balloon holds now (n of them), for tests. */
const gpa_t *gos_balloon_frames(const struct gos *g, size_t *n);

#endif
