/*
 * sim.h - one simulated machine: vCPUs with their TLBs and caches, the
 * guest-OS model, the MMU mode, the statistics, and the run loop that eats
 * event batches.
 *
 * The struct bodies are public for the MMU modes (sim/, sim/shadow/,
 * sim/nested/) and the tests; other users go through the functions.
 *
 * TLB entries, in every mode, map a virtual page to the final physical
 * page: val = page base | PTE_PERM_* bits (W U X G A D in bits 0..5).
 */
#ifndef VMSIM_SIM_H
#define VMSIM_SIM_H

#include "config.h"
#include "event.h"
#include "gos.h"
#include "hint.h"
#include "physmem.h"
#include "stats.h"
#include "tlb/dcache.h"
#include "tlb/pteq.h"
#include "tlb/pwc.h"
#include "tlb/tlb.h"
#include "walk.h"

#define SIM_MAX_VCPUS 64
#define SIM_LOCK_HISTORY 1024
#define SIM_MAX_PENDING_VA 33 /* Linux tlb_single_page_flush_ceiling */
#define TLB_VAL_PERMS 0x3full

struct sim;
struct p2m;

struct vcpu {
	unsigned id, vpid;
	struct tlb l1d[PS_COUNT]; /* split: one per size; else [0] holds every size */
	struct tlb l1i[2];        /* 4 KiB, and 2 MiB (1 GiB pages as 2 MiB pieces) */
	struct tlb l2, l2_1g;
	bool have_l2_1g;
	bool l1d_d4;    /* l1d[0] has the geometry the specialised hit loop takes (sim.c) */
	struct pwc pwc; /* paging-structure caches of the table the hardware walks */
	uint32_t ctx;   /* tlb_ctx(vpid, pcid) of what runs now */
	struct gos_proc *cur;
	uint64_t opcount[4]; /* accesses by op */
	int64_t busy;        /* cycles charged to this vCPU besides its accesses' own */
	/* Invalidations another vCPU's kernel operation owes this one, sent as
	 * one shootdown IPI when that operation ends. */
	struct {
		const struct gos_proc *p;
		bool full;
		unsigned nva;
		gva_t va[SIM_MAX_PENDING_VA];
	} pend;
};

/* What a successful translation puts in the TLBs. */
struct mmu_fill {
	uint64_t pa_page; /* final physical page base (host-physical when virtualized) */
	enum page_size ps;
	unsigned perms;   /* PTE_PERM_* */
};

enum { MMU_OK = 0, MMU_GUEST_FAULT = 1 };

/*
 * A memory-virtualization technique: chosen once per run, called only off
 * the TLB-hit path.
 */
struct mmu_ops {
	const char *name;
	const char *desc;
	/* Page faults enter the VMM first (shadow paging): a TLB hit that lacks
	 * a right goes to fill, not straight to the guest kernel. */
	bool vmm_sees_faults;
	int (*init)(struct sim *s, struct vmerr *err);
	void (*fini)(struct sim *s);
	/* TLB miss: walk and fill *out, MMU_GUEST_FAULT if the guest's own
	 * tables do not allow the access, or a negative error. */
	int (*fill)(struct sim *s, struct vcpu *c, gva_t va, unsigned need, struct mmu_fill *out,
		    struct walk_rec *rec);
	/* Physical address from fill -> guest-physical (functional checks). */
	gpa_t (*to_gpa)(struct sim *s, uint64_t pa);
	/* Guest kernel events; any may be NULL. */
	void (*pt_write)(struct sim *s, gpa_t entry, uint64_t old, uint64_t val);
	void (*cr3_write)(struct sim *s, struct vcpu *c);
	void (*invlpg)(struct sim *s, struct vcpu *c, const struct gos_proc *p, gva_t va);
	void (*flush)(struct sim *s, const struct gos_proc *p);
	void (*table_freed)(struct sim *s, gpa_t table);
	/* The guest takes a page fault (before gos_fault handles it). */
	void (*guest_fault)(struct sim *s, struct vcpu *c, gva_t va);
	/* A sensitive instruction: syscall, I/O, CR8, exception, call/ret. */
	void (*sensitive)(struct sim *s, struct vcpu *c, const struct vm_event *ev);
	/* Virtualization costs of a shootdown IPI: sent by from, received by to. */
	void (*ipi_send)(struct sim *s, struct vcpu *from);
	void (*ipi_recv)(struct sim *s, struct vcpu *to);
	/* Empty the mode's own caches (walk --cold). */
	void (*cold)(struct sim *s);
	/* A guest kernel operation (fault, map, unmap, protect, fork, exit)
	 * finished after writing n page-table entries. */
	void (*kernel_op_done)(struct sim *s, struct vcpu *c, uint64_t n);
	/* Look-ahead, optional, with no effect on the model (sim/hint.h): start
	 * the host's loads of what a walk of va by c is going to read.  The run
	 * loop calls stage 0 some events before the access and stage 1 fewer,
	 * so stage 1 may read what stage 0 prefetched. */
	void (*prefetch)(struct sim *s, const struct vcpu *c, gva_t va, unsigned stage);

	/* ---- several VMs on one host (sim/host.c); NULL in native ---- */
	/* The VMM's guest-physical -> host-physical map. */
	struct p2m *(*p2m)(struct sim *s);
	/* The host removed gpa's block (size ps) from the p2m (ballooned,
	 * swapped out, sampled): drop every cached translation that reaches it. */
	void (*gpa_unmapped)(struct sim *s, gpa_t gpa, enum page_size ps);
};

const struct mmu_ops *mmu_find(const char *name);
/* "native, bt, vtx, nested (ept, npt), pv" for messages. */
const char *mmu_names(void);

struct sim {
	struct cfg cfg;
	const struct mmu_ops *mode;
	void *mode_state;
	struct stats st;
	struct physmem *gpm;
	struct gos *os;
	const struct pt_format *gfmt;
	struct dcache dc;
	bool use_dcache;
	/* The cache model on a worker thread (sim_set_async; tlb/pteq.h), or
	 * NULL. */
	struct pteq *pq;
	struct vcpu cpu[SIM_MAX_VCPUS];
	unsigned ncpu;
	unsigned max_ps;        /* largest page a TLB entry can map in this run (probes stop there) */
	uint64_t need[256];     /* PTE_PERM_* an access op needs; unknown ops need an impossible bit */
	uint64_t hot_need[256]; /* what the inline hit path demands: need, or impossible when checking */
	struct vcpu *cur_cpu;  /* the vCPU whose event is being handled */
	uint64_t slow_t0;      /* sim_charged() when that event's slow path began */
	/* Recent holds of the shadow-MMU lock by each vCPU, in clock order:
	 * SIM_LOCK_HISTORY per vCPU (allocated only when the lock is modelled). */
	struct sim_hold { uint64_t start, end; } *lock_held;
	unsigned lock_n[SIM_MAX_VCPUS], lock_next[SIM_MAX_VCPUS];
	struct walk_rec rec; /* scratch record of the last walk */
	/* Look-ahead (modes with a prefetch op): the guest's leaf tables by
	 * region, the key of the walk in flight, and per stage the index of
	 * the next event of this batch not yet looked at. */
	bool lookahead; /* on by default; off only to measure what it gains */
	struct hint *hint_guest;
	uint64_t hint_gkey;
	size_t pf_next[2];
	uint64_t pf_last[2]; /* per stage, the address last prefetched for */
	int err;
	struct vmerr errmsg;
	bool have_first;
	gva_t first_va;
	uint32_t first_pid;
	/* Functional check (tests): every access's guest-physical address is
	 * compared with a software walk of the guest's tables. */
	bool check;
	uint64_t check_failures;
	void (*on_access)(void *arg, uint32_t pid, gva_t va, gpa_t gpa);
	void *on_access_arg;
};

struct sim *sim_new(const struct cfg *cfg, const struct mmu_ops *mode, struct vmerr *err);
/* Turn the functional check on (every access leaves the inline path) and/or
 * a callback told each access's guest-physical address. */
void sim_set_check(struct sim *s, bool check,
		   void (*on_access)(void *arg, uint32_t pid, gva_t va, gpa_t gpa), void *arg);
void sim_free(struct sim *s);
/* Turn the look-ahead prefetch on (the default) or off.  It never changes a
 * result, only how fast one is produced (tests check both give the same). */
void sim_set_lookahead(struct sim *s, bool on);
/*
 * Run the PTE cache model on a second thread (on) or on this one (off, the
 * default).  It changes no result, only the wall time.  Refused (returns
 * false, and the model stays here) without a cache model, with more than
 * one vCPU (the shadow-MMU lock reads vCPU clocks in the middle of a
 * batch), or on a machine with one CPU.  Call it before the first event.
 */
bool sim_set_async(struct sim *s, bool on);
/* The cache model: in the worker's queue while sim_set_async is on, and
 * then only to be used right after sim_pte_sync. */
static inline struct dcache *sim_dc(struct sim *s) { return s->pq ? &s->pq->dc : &s->dc; }
/* Fold what the worker has priced into the counters.  sim_finish does so
 * first; anything reading st, a vCPU's clock or the model before then must
 * (between batches too: the worker may still be behind). */
void sim_pte_sync(struct sim *s);

/* ev_sink flush function: run a batch.  0, or the first error (sticky). */
int sim_consume(void *sim, const struct vm_event *ev, size_t n);

/* Fold derived counters into st; call once after the last batch. */
void sim_finish(struct sim *s);

/* Cycles charged so far to the categories that are not derived from counts
 * (every cycles_* counter but cycles_base).  Keep it in step with stats.h. */
static inline uint64_t sim_charged(const struct stats *st)
{
	return st->cycles_tlb + st->cycles_walk + st->cycles_fault + st->cycles_os +
	       st->cycles_exit + st->cycles_vmm + st->cycles_bt + st->cycles_lock + st->cycles_swap;
}

/* A vCPU's clock: its accesses' own cycles plus what was charged to it. */
uint64_t sim_vcpu_clock(const struct sim *s, const struct vcpu *c);

/*
 * The current vCPU takes the per-VM shadow-MMU lock for `hold` cycles of
 * VMM work: if another vCPU's clock says it still holds it, the wait is
 * charged (cycles_lock).  Nothing happens with one vCPU or smp.lock=off.
 */
void sim_mmu_lock(struct sim *s, uint64_t hold);

/* The guest-table hint key of va in the address space c runs now. */
static inline uint64_t sim_hint_key(const struct vcpu *c, gva_t va)
{
	return hint_key(va, c->cur->cr3);
}

/* The look-ahead prefetches the cache model's sets only while the model
 * runs on this thread (the worker prefetches its own). */
static inline bool sim_dc_prefetch(const struct sim *s) { return s->use_dcache && !s->pq; }

/* The look-ahead's guest-table part: stage 0 prefetches the guest PTE a
 * 4 KiB walk of va reads, stage 1 the cache-model sets that read probes.
 * Returns the hint slot, or NULL if va's leaf table is not known. */
static inline const struct hint_slot *sim_prefetch_guest_pte(struct sim *s, const struct vcpu *c,
							     gva_t va, unsigned stage)
{
	const struct hint_slot *g = hint_get(s->hint_guest, sim_hint_key(c, va));
	if (!g)
		return NULL;
	if (stage == 0)
		__builtin_prefetch(hint_entry(g->table, va));
	else if (sim_dc_prefetch(s))
		dcache_prefetch(&s->dc, g->pa + ((va >> 9) & 0xff8));
	return g;
}

/* The entry at ea of the table at `table` in pm, read at `level`: a leaf
 * table through the hint slot for key when the slot names that table
 * (hint_leaf_entry), else through the table map, recording the slot.  For
 * walks whose entry address is also what the hint records (native, and the
 * host dimension of nested walks).  NULL if no table is there. */
static inline const uint64_t *sim_fetch_entry(struct hint *h, uint64_t key, struct physmem *pm,
					      uint64_t table, uint64_t ea, unsigned level)
{
	if (level != 0)
		return physmem_entry(pm, ea);
	uint64_t freed = physmem_tables_freed(pm);
	const uint64_t *e = hint_leaf_entry(h, key, table, ea, freed);
	if (!e && (e = physmem_entry(pm, ea)))
		hint_put_entry(h, key, e, ea, freed, table);
	return e;
}

/* Cycles and source of one page-table-entry fetch at physical address pa. */
unsigned sim_pte_cost(struct sim *s, uint64_t pa, uint8_t *src);

void sim_walk_ref_here_(struct sim *s, struct walk_rec *rec, uint8_t dim, unsigned level,
			uint64_t table, uint64_t entry_addr, uint64_t entry_pa, uint64_t value);

/* Record one walk reference (bounded) and charge it: queued for the worker
 * (sim_set_async) when nobody records the walk, else priced here.  Inline:
 * the queued case is a nested walk's most frequent call. */
static inline void sim_walk_ref(struct sim *s, struct walk_rec *rec, uint8_t dim, unsigned level,
				uint64_t table, uint64_t entry_addr, uint64_t entry_pa,
				uint64_t value)
{
	s->st.walk_refs++;
	if (VM_LIKELY(s->pq && rec->max_refs == 0))
		pteq_push(s->pq, entry_pa);
	else
		sim_walk_ref_here_(s, rec, dim, level, table, entry_addr, entry_pa, value);
}

/*
 * A VM exit and entry on c: count it (and its reason), charge the
 * transition and the handler.  Without VPID every exit and entry flushes
 * the vCPU's linear and combined mappings (SDM 28.3.3.1): TLBs and PWCs.
 */
void sim_vm_exit(struct sim *s, struct vcpu *c, uint64_t *reason, uint32_t exit_cycles,
		 uint32_t handler_cycles);

/* TLB and PWC maintenance on one vCPU. */
void sim_tlb_flush(struct sim *s, struct vcpu *c, uint32_t ctx, uint32_t mask, bool keep_global);
void sim_tlb_invlpg(struct sim *s, struct vcpu *c, uint32_t ctx, gva_t va);

/* Translate va for process pid now, for the walk command: runs the mode's
 * fill with a fresh record (as the hardware would on a TLB miss). */
int sim_explain(struct sim *s, uint32_t pid, gva_t va, struct walk_rec *rec, struct mmu_fill *out,
		struct vmerr *err);
/* Empty every TLB, PWC and data cache (walk --cold). */
void sim_cold(struct sim *s);

extern const struct mmu_ops mmu_native, mmu_nested, mmu_bt, mmu_vtx, mmu_pv;

/* One-dimensional hardware walk of the table at root with the vCPU's PWC in
 * front (native and shadow modes).  MMU_OK or MMU_GUEST_FAULT. */
int mmu_walk_1d(struct sim *s, struct vcpu *c, const struct pt_format *f, uint64_t root,
		gva_t va, unsigned need, const struct walk_io *io, struct walk_rec *rec,
		struct walk_out *w);

#endif
