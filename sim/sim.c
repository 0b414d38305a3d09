/*
 * sim.c - the run loop: events in, TLB lookups, walks on a miss, the
 * guest-OS model for everything else.
 *
 * Notes:
 *  - The hit path is inline in sim_consume: one lookup in the 4 KiB L1
 *    array, a permission test against a precomputed mask, two counters;
 *    runs of loads and stores in the usual dTLB geometry go through one
 *    loop specialised for it (hit_run_d4).  Everything else (other page
 *    sizes, the L2 TLB, walks, faults, other events) is out of line.
 *  - Cycles: each access costs cpu.access_cycles; an L1 TLB hit adds
 *    tlb.l1.latency, an L2 hit tlb.l2.latency, a walk the cost of each
 *    entry fetch (cache model or fixed).  Those derived from counts (base,
 *    L1 latency) are added once in sim_finish, off the hot path.
 *  - A hit whose entry lacks the permission the access needs raises the
 *    page fault at once, as x86 may, without a walk; a store through an
 *    entry with D clear re-walks to set D (a "dirty assist").
 *  - Instruction fetches of 1 GiB pages are cached in the iTLB's 2 MiB
 *    array as 2 MiB pieces, as Intel's iTLBs have no 1 GiB entries.
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include "sim.h"

#include "p2m.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define NEED_INVALID (1ull << 62) /* never set in an entry: unknown ops miss and are refused */

static bool hit_d4_geometry(const struct tlb *t);

/* ---- modes ---- */

static const struct mmu_ops *const modes[] = {&mmu_native, &mmu_bt, &mmu_vtx, &mmu_nested, &mmu_pv};

static const struct {
	const char *alias, *name;
} aliases[] = {{"ept", "nested"}, {"npt", "nested"}};

const struct mmu_ops *mmu_find(const char *name)
{
	for (size_t i = 0; i < VM_ARRAY_SIZE(aliases); i++)
		if (!strcmp(name, aliases[i].alias))
			name = aliases[i].name;
	for (size_t i = 0; i < VM_ARRAY_SIZE(modes); i++)
		if (!strcmp(name, modes[i]->name))
			return modes[i];
	return NULL;
}

const char *mmu_names(void)
{
	static char buf[128];
	buf[0] = 0;
	for (size_t i = 0; i < VM_ARRAY_SIZE(modes); i++) {
		strncat(buf, i ? ", " : "", sizeof buf - strlen(buf) - 1);
		strncat(buf, modes[i]->name, sizeof buf - strlen(buf) - 1);
	}
	return buf;
}

/* ---- set-up ---- */

static int tlb_make(struct tlb *t, const struct cfg_cache *cc, unsigned classes,
		    enum tlb_policy pol, const char *name, struct vmerr *err)
{
	struct tlb_geom g = {.entries = cc->entries, .ways = cc->ways, .policy = pol,
			     .classes = classes, .shift = {12, 21, 30}};
	int rc = tlb_init(t, &g, err);
	if (rc < 0) {
		char m[sizeof err->msg];
		snprintf(m, sizeof m, "%s", err ? err->msg : "");
		return vmerr_set(err, rc, "%s: %s", name, m);
	}
	return 0;
}

static void vcpu_free(struct vcpu *c)
{
	for (int i = 0; i < PS_COUNT; i++)
		if (c->l1d[i].e)
			tlb_free(&c->l1d[i]);
	for (int i = 0; i < 2; i++)
		if (c->l1i[i].e)
			tlb_free(&c->l1i[i]);
	if (c->l2.e)
		tlb_free(&c->l2);
	if (c->have_l2_1g)
		tlb_free(&c->l2_1g);
	pwc_free(&c->pwc);
}

static int vcpu_init(struct sim *s, struct vcpu *c, unsigned id, struct vmerr *err)
{
	const struct cfg *cf = &s->cfg;
	enum tlb_policy pol = (enum tlb_policy)cf->policy;
	int rc;
	memset(c, 0, sizeof *c);
	c->id = id;
	c->vpid = 1 + id; /* VPID 0 is the host's (SDM 28.1) */
	if (cf->l1d_split) {
		rc = tlb_make(&c->l1d[PS_4K], &cf->l1d, 1u << PS_4K, pol, "tlb.l1d", err);
		if (!rc && cf->l1d_2m.entries)
			rc = tlb_make(&c->l1d[PS_2M], &cf->l1d_2m, 1u << PS_2M, pol, "tlb.l1d_2m", err);
		if (!rc && cf->l1d_1g.entries)
			rc = tlb_make(&c->l1d[PS_1G], &cf->l1d_1g, 1u << PS_1G, pol, "tlb.l1d_1g", err);
	} else {
		rc = tlb_make(&c->l1d[0], &cf->l1d, 7, pol, "tlb.l1d", err);
	}
	if (!rc && cf->l1i.entries)
		rc = tlb_make(&c->l1i[0], &cf->l1i, 1u << PS_4K, pol, "tlb.l1i", err);
	if (!rc && cf->l1i_2m.entries)
		rc = tlb_make(&c->l1i[1], &cf->l1i_2m, 1u << PS_2M, pol, "tlb.l1i_2m", err);
	if (!rc)
		rc = tlb_make(&c->l2, &cf->l2, cf->l2_holds_1g ? 7 : 3, pol, "tlb.l2", err);
	if (!rc && !cf->l2_holds_1g && cf->l2_1g.entries) {
		rc = tlb_make(&c->l2_1g, &cf->l2_1g, 1u << PS_1G, pol, "tlb.l2_1g", err);
		c->have_l2_1g = rc == 0;
	}
	if (!rc)
		rc = pwc_init(&c->pwc, cf->pwc, cf->guest_levels, cf->pwc_enabled, pol, err);
	if (rc < 0)
		vcpu_free(c);
	c->ctx = tlb_ctx(c->vpid, 0);
	c->l1d_d4 = rc == 0 && hit_d4_geometry(&c->l1d[0]);
	return rc;
}

static void hook_pt_write(void *arg, gpa_t ea, uint64_t old, uint64_t val)
{
	struct sim *s = arg;
	if (s->mode->pt_write)
		s->mode->pt_write(s, ea, old, val);
}

static uint32_t proc_ctx(const struct sim *s, const struct vcpu *c, const struct gos_proc *p)
{
	return tlb_ctx(c->vpid, s->cfg.pcid ? p->pcid : 0);
}

static uint64_t bit(const struct vcpu *c) { return 1ull << c->id; }

/* Queue an invalidation for a vCPU other than the one running the kernel
 * operation; a second process's, or more than the ceiling, becomes a flush. */
static void queue_remote(struct vcpu *c, const struct gos_proc *p, bool full, gva_t va)
{
	if (c->pend.p && c->pend.p != p)
		full = true; /* two address spaces in one operation: flush both */
	if (!c->pend.p)
		c->pend.p = p;
	if (full || c->pend.nva == SIM_MAX_PENDING_VA)
		c->pend.full = true;
	else
		c->pend.va[c->pend.nva++] = va;
}

static void hook_invlpg(void *arg, const struct gos_proc *p, gva_t va)
{
	struct sim *s = arg;
	struct vcpu *self = s->cur_cpu;
	/* Without PCIDs only the running address space can have entries. */
	if (s->cfg.pcid || self->cur == p) {
		sim_tlb_invlpg(s, self, proc_ctx(s, self, p), va);
		if (self->cur == p)
			s->st.cycles_os += s->cfg.invlpg_cycles;
		if (s->mode->invlpg)
			s->mode->invlpg(s, self, p, va);
	}
	for (unsigned i = 0; i < s->ncpu; i++)
		if (&s->cpu[i] != self && (p->cpumask & bit(&s->cpu[i])))
			queue_remote(&s->cpu[i], p, false, va);
}

static void hook_flush(void *arg, const struct gos_proc *p)
{
	struct sim *s = arg;
	struct vcpu *self = s->cur_cpu;
	if (s->cfg.pcid || self->cur == p)
		sim_tlb_flush(s, self, proc_ctx(s, self, p), TLB_CTX_ALL, true);
	for (unsigned i = 0; i < s->ncpu; i++)
		if (&s->cpu[i] != self && (p->cpumask & bit(&s->cpu[i])))
			queue_remote(&s->cpu[i], p, true, 0);
	if (s->mode->flush)
		s->mode->flush(s, p);
}

/*
 * End of a kernel operation: one shootdown to every vCPU that may cache
 * what the operation changed (Linux flush_tlb_mm_range -> one IPI per
 * target in mm_cpumask).  The initiator pays smp.ipi; each receiver pays
 * smp.shootdown on its own clock, plus what the mode charges for
 * delivering an IPI into a VM.
 */
static void shootdown(struct sim *s)
{
	struct vcpu *self = s->cur_cpu;
	unsigned targets = 0;
	for (unsigned i = 0; i < s->ncpu; i++) {
		struct vcpu *c = &s->cpu[i];
		if (!c->pend.p)
			continue;
		uint64_t t0 = sim_charged(&s->st);
		uint32_t ctx = proc_ctx(s, c, c->pend.p);
		if (c->pend.full)
			sim_tlb_flush(s, c, ctx, TLB_CTX_ALL, true);
		else
			for (unsigned k = 0; k < c->pend.nva; k++)
				sim_tlb_invlpg(s, c, ctx, c->pend.va[k]);
		s->st.cycles_os += s->cfg.smp_shootdown;
		if (s->mode->ipi_recv)
			s->mode->ipi_recv(s, c);
		int64_t theirs = (int64_t)(sim_charged(&s->st) - t0);
		c->busy += theirs;
		self->busy -= theirs; /* the initiator's delta must not include it */
		c->pend.p = NULL;
		c->pend.full = false;
		c->pend.nva = 0;
		s->st.ipis++;
		targets++;
	}
	if (targets) {
		s->st.shootdowns++;
		s->st.cycles_os += s->cfg.smp_ipi;
		if (s->mode->ipi_send)
			s->mode->ipi_send(s, self);
	}
}

uint64_t sim_vcpu_clock(const struct sim *s, const struct vcpu *c)
{
	uint64_t n = c->opcount[0] + c->opcount[1] + c->opcount[2];
	return n * s->cfg.access_cycles + (uint64_t)c->busy;
}

/*
 * The lock is a resource reserved in time.  vCPUs' events are processed in
 * stream order, not in clock order, so "who holds it now" is not a question
 * the run loop can answer; instead each hold is an interval on the holder's
 * clock, and a request waits only while its interval would overlap a hold
 * by another vCPU.  Each vCPU's holds are appended in its clock order, so
 * each history is sorted and searched by bisection.
 */
static const struct sim_hold *overlap(const struct sim *s, unsigned v, uint64_t a, uint64_t b)
{
	unsigned n = s->lock_n[v];
	if (!n)
		return NULL;
	const struct sim_hold *h = &s->lock_held[(size_t)v * SIM_LOCK_HISTORY];
	unsigned first = n < SIM_LOCK_HISTORY ? 0 : s->lock_next[v];
	/* The last hold (in clock order) that starts before b. */
	unsigned lo = 0, hi = n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (h[(first + mid) % SIM_LOCK_HISTORY].start < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct sim_hold *x = &h[(first + lo - 1) % SIM_LOCK_HISTORY];
	return x->end > a ? x : NULL;
}

void sim_mmu_lock(struct sim *s, uint64_t hold)
{
	if (!s->cfg.smp_lock || s->ncpu == 1)
		return;
	if (!s->lock_held) {
		s->lock_held = calloc((size_t)s->ncpu * SIM_LOCK_HISTORY, sizeof *s->lock_held);
		if (!s->lock_held)
			return; /* no memory for the history: the lock costs only its cycles */
	}
	struct vcpu *c = s->cur_cpu;
	uint64_t now = sim_vcpu_clock(s, c) + (sim_charged(&s->st) - s->slow_t0);
	uint64_t len = hold + s->cfg.smp_lock_cycles;
	uint64_t start = now;
	for (int moved = 1, rounds = 0; moved && rounds < 256; rounds++) {
		moved = 0;
		for (unsigned v = 0; v < s->ncpu; v++) {
			const struct sim_hold *x = v == c->id ? NULL : overlap(s, v, start, start + len);
			if (x) {
				start = x->end;
				moved = 1;
			}
		}
	}
	uint64_t wait = start - now;
	s->st.lock_acquisitions++;
	if (wait)
		s->st.lock_waits++;
	s->st.cycles_lock += wait + s->cfg.smp_lock_cycles;
	struct sim_hold *h = &s->lock_held[(size_t)c->id * SIM_LOCK_HISTORY + s->lock_next[c->id]];
	h->start = start;
	h->end = start + len;
	s->lock_next[c->id] = (s->lock_next[c->id] + 1) % SIM_LOCK_HISTORY;
	if (s->lock_n[c->id] < SIM_LOCK_HISTORY)
		s->lock_n[c->id]++;
}

static void hook_table_freed(void *arg, gpa_t table)
{
	struct sim *s = arg;
	if (s->mode->table_freed)
		s->mode->table_freed(s, table);
}

struct sim *sim_new(const struct cfg *cfg, const struct mmu_ops *mode, struct vmerr *err)
{
	struct sim *s = calloc(1, sizeof *s);
	if (!s) {
		vmerr_set(err, VM_ENOMEM, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	s->mode = mode;
	s->gfmt = pt_format_get(PT_X86, cfg->guest_levels);
	s->gpm = physmem_new(0, cfg->guest_mem_gb << 30);
	struct gos_hooks h = {hook_pt_write, hook_invlpg, hook_flush, hook_table_freed, s};
	s->os = s->gpm ? gos_new(&s->cfg, s->gpm, &s->st, &h) : NULL;
	if (!s->os) {
		vmerr_set(err, VM_ENOMEM, "out of memory");
		goto fail;
	}
	/* A TLB entry maps at most the guest's largest page, and under a VMM at
	 * most the host's too (entries take the smaller leaf). */
	s->max_ps = cfg->guest_page;
	if (mode->p2m && cfg->host_page < s->max_ps)
		s->max_ps = cfg->host_page;
	for (int i = 0; i < 256; i++)
		s->need[i] = NEED_INVALID;
	s->need[EV_LOAD] = PTE_PERM_U;
	s->need[EV_STORE] = PTE_PERM_U | PTE_PERM_W | PTE_PERM_D;
	s->need[EV_FETCH] = PTE_PERM_U | PTE_PERM_X;
	memcpy(s->hot_need, s->need, sizeof s->need);

	if (cfg->pte_model == PTE_MODEL_CACHE) {
		struct dcache_geom g = {.mem_latency = cfg->dram_latency, .policy = TLB_LRU};
		for (int i = 0; i < 3; i++) {
			g.lvl[i].kib = cfg->dl[i].kib;
			g.lvl[i].ways = cfg->dl[i].ways;
			g.lvl[i].latency = cfg->dl[i].latency;
		}
		if (dcache_init(&s->dc, &g, err) < 0)
			goto fail;
		s->use_dcache = true;
	}
	s->ncpu = cfg->vcpus < SIM_MAX_VCPUS ? cfg->vcpus : SIM_MAX_VCPUS;
	s->cur_cpu = &s->cpu[0];
	for (unsigned i = 0; i < s->ncpu; i++)
		if (vcpu_init(s, &s->cpu[i], i, err) < 0) {
			s->ncpu = i;
			goto fail;
		}
	s->lookahead = mode->prefetch != NULL;
	if (mode->prefetch && !(s->hint_guest = calloc(1, sizeof *s->hint_guest))) {
		vmerr_set(err, VM_ENOMEM, "out of memory");
		goto fail;
	}
	if (mode->init && mode->init(s, err) < 0) {
		s->mode = &mmu_native; /* nothing of the failed mode to tear down */
		goto fail;
	}
	return s;
fail:
	sim_free(s);
	return NULL;
}

void sim_set_check(struct sim *s, bool check,
		   void (*on_access)(void *arg, uint32_t pid, gva_t va, gpa_t gpa), void *arg)
{
	s->check = check;
	s->on_access = on_access;
	s->on_access_arg = arg;
	/* Checking needs host -> guest-physical; call this before the first event. */
	if ((check || on_access) && s->mode->p2m && s->mode->p2m(s))
		s->mode->p2m(s)->rmap_on = true;
	for (int i = 0; i < 256; i++)
		s->hot_need[i] = (check || on_access) ? NEED_INVALID : s->need[i];
}

void sim_set_lookahead(struct sim *s, bool on) { s->lookahead = on && s->mode->prefetch; }

static unsigned online_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

bool sim_set_async(struct sim *s, bool on)
{
	if (!on || !s->use_dcache || s->ncpu != 1 || online_cpus() < 2) {
		if (s->pq) {
			sim_pte_sync(s);
			pteq_stop(s->pq, &s->dc);
			s->pq = NULL;
		}
		return false;
	}
	if (!s->pq)
		s->pq = pteq_start(&s->dc);
	return s->pq != NULL;
}

void sim_pte_sync(struct sim *s)
{
	if (!s->pq)
		return;
	struct pteq_sums d = {0};
	pteq_sync(s->pq, &d);
	s->st.cycles_walk += d.cycles;
	s->st.pte_from_l1 += d.served[WS_L1];
	s->st.pte_from_l2 += d.served[WS_L2];
	s->st.pte_from_l3 += d.served[WS_L3];
	s->st.pte_from_mem += d.served[WS_MEM];
	s->cpu[0].busy += (int64_t)d.cycles; /* one vCPU: sim_set_async */
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	if (s->mode && s->mode->fini)
		s->mode->fini(s);
	for (unsigned i = 0; i < s->ncpu; i++)
		vcpu_free(&s->cpu[i]);
	pteq_stop(s->pq, &s->dc);
	if (s->use_dcache)
		dcache_free(&s->dc);
	free(s->lock_held);
	free(s->hint_guest);
	gos_free(s->os);
	physmem_free(s->gpm);
	free(s);
}

/* ---- TLB maintenance ---- */

void sim_vm_exit(struct sim *s, struct vcpu *c, uint64_t *reason, uint32_t exit_cycles,
		 uint32_t handler_cycles)
{
	s->st.vm_exits++;
	if (reason)
		(*reason)++;
	s->st.cycles_exit += exit_cycles;
	s->st.cycles_vmm += handler_cycles;
	if (!s->cfg.vpid)
		sim_tlb_flush(s, c, 0, 0, false);
}

void sim_tlb_flush(struct sim *s, struct vcpu *c, uint32_t ctx, uint32_t mask, bool keep_global)
{
	unsigned n = 0;
	for (int i = 0; i < PS_COUNT; i++)
		if (c->l1d[i].e)
			n += tlb_flush_ctx(&c->l1d[i], ctx, mask, keep_global);
	for (int i = 0; i < 2; i++)
		if (c->l1i[i].e)
			n += tlb_flush_ctx(&c->l1i[i], ctx, mask, keep_global);
	n += tlb_flush_ctx(&c->l2, ctx, mask, keep_global);
	if (c->have_l2_1g)
		n += tlb_flush_ctx(&c->l2_1g, ctx, mask, keep_global);
	pwc_flush_ctx(&c->pwc, ctx, mask);
	s->st.tlb_flushes++;
	s->st.tlb_flushed_entries += n;
}

void sim_tlb_invlpg(struct sim *s, struct vcpu *c, uint32_t ctx, gva_t va)
{
	unsigned n = 0;
	for (int i = 0; i < PS_COUNT; i++)
		if (c->l1d[i].e)
			n += tlb_inval_addr(&c->l1d[i], va, ctx, TLB_CTX_ALL);
	for (int i = 0; i < 2; i++)
		if (c->l1i[i].e)
			n += tlb_inval_addr(&c->l1i[i], va, ctx, TLB_CTX_ALL);
	n += tlb_inval_addr(&c->l2, va, ctx, TLB_CTX_ALL);
	if (c->have_l2_1g)
		n += tlb_inval_addr(&c->l2_1g, va, ctx, TLB_CTX_ALL);
	/* INVLPG drops every paging-structure-cache entry of the PCID (SDM 4.10.4.1). */
	pwc_flush_ctx(&c->pwc, ctx, TLB_CTX_ALL);
	s->st.tlb_flushed_entries += n;
}

void sim_cold(struct sim *s)
{
	for (unsigned i = 0; i < s->ncpu; i++) {
		struct vcpu *c = &s->cpu[i];
		for (int j = 0; j < PS_COUNT; j++)
			if (c->l1d[j].e)
				tlb_flush_all(&c->l1d[j]);
		for (int j = 0; j < 2; j++)
			if (c->l1i[j].e)
				tlb_flush_all(&c->l1i[j]);
		tlb_flush_all(&c->l2);
		if (c->have_l2_1g)
			tlb_flush_all(&c->l2_1g);
		pwc_flush_all(&c->pwc);
	}
	if (s->use_dcache) {
		sim_pte_sync(s);
		dcache_flush(sim_dc(s));
	}
	if (s->mode->cold)
		s->mode->cold(s);
}

/* ---- walks ---- */

unsigned sim_pte_cost(struct sim *s, uint64_t pa, uint8_t *src)
{
	if (s->cfg.pte_model == PTE_MODEL_FIXED) {
		*src = WS_FIXED;
		return s->cfg.pte_latency;
	}
	unsigned lat;
	unsigned lvl = dcache_access(sim_dc(s), pa, &lat); /* in order: see sim_walk_ref */
	*src = (uint8_t)lvl; /* WS_L1..WS_MEM follow the dcache levels */
	return lat;
}

void sim_walk_ref_here_(struct sim *s, struct walk_rec *rec, uint8_t dim, unsigned level,
			uint64_t table, uint64_t entry_addr, uint64_t entry_pa, uint64_t value)
{
	sim_pte_sync(s); /* a recorded walk needs each price now: price in order */
	uint8_t src;
	unsigned cyc = sim_pte_cost(s, entry_pa, &src);
	s->st.cycles_walk += cyc;
	switch (src) {
	case WS_L1: s->st.pte_from_l1++; break;
	case WS_L2: s->st.pte_from_l2++; break;
	case WS_L3: s->st.pte_from_l3++; break;
	case WS_MEM: s->st.pte_from_mem++; break;
	default: break;
	}
	if (rec->n < rec->max_refs)
		rec->ref[rec->n++] = (struct walk_ref){.dim = dim, .level = (uint8_t)level, .src = src,
						       .cycles = cyc, .table = table,
						       .entry_addr = entry_addr, .entry_pa = entry_pa,
						       .value = value};
}

/* ---- the access path ---- */

static inline uint64_t *l1_hit_counter(struct sim *s, unsigned cls)
{
	return cls == PS_4K ? &s->st.tlb_l1_hits_4k
	       : cls == PS_2M ? &s->st.tlb_l1_hits_2m
			      : &s->st.tlb_l1_hits_1g;
}

/* Probe every L1 array that could hold va for this op (4 KiB first). */
static struct tlb_entry *l1_probe(struct vcpu *c, uint8_t op, gva_t va, unsigned *cls,
				  unsigned max_ps)
{
	struct tlb_entry *e;
	/* Empty arrays (e.g. the 2 MiB and 1 GiB ones when all pages are 4 KiB)
	 * are not searched. */
	if (op == EV_FETCH) {
		if (c->l1i[0].valid && (e = tlb_lookup(&c->l1i[0], va, PS_4K, c->ctx))) {
			*cls = PS_4K;
			return e;
		}
		if (max_ps >= PS_2M && c->l1i[1].valid && (e = tlb_lookup(&c->l1i[1], va, PS_2M, c->ctx))) {
			*cls = PS_2M;
			return e;
		}
		return NULL;
	}
	for (unsigned ps = 0; ps <= max_ps; ps++) {
		struct tlb *t = c->l1d[0].classes & (1u << ps) ? &c->l1d[0] : &c->l1d[ps];
		if (t->valid && (e = tlb_lookup(t, va, ps, c->ctx))) {
			*cls = ps;
			return e;
		}
	}
	return NULL;
}

static struct tlb_entry *l2_probe(struct vcpu *c, gva_t va, unsigned *cls, unsigned max_ps)
{
	struct tlb_entry *e;
	for (unsigned ps = 0; ps <= max_ps; ps++) {
		struct tlb *t = (c->l2.classes & (1u << ps)) ? &c->l2 : (c->have_l2_1g ? &c->l2_1g : NULL);
		if (t && t->valid && (e = tlb_lookup(t, va, ps, c->ctx))) {
			*cls = ps;
			return e;
		}
	}
	return NULL;
}

static void l1_fill(struct vcpu *c, uint8_t op, gva_t va, unsigned ps, uint64_t page,
		    unsigned perms)
{
	uint32_t mask = (perms & PTE_PERM_G) ? TLB_CTX_VPID_MASK : TLB_CTX_ALL;
	if (op == EV_FETCH) {
		if (ps == PS_4K) {
			if (c->l1i[0].e)
				tlb_insert(&c->l1i[0], va, PS_4K, c->ctx, mask, page | perms);
		} else if (c->l1i[1].e) {
			uint64_t piece = page + (va & (ps_bytes((enum page_size)ps) - 1) & ~(ps_bytes(PS_2M) - 1));
			tlb_insert(&c->l1i[1], va, PS_2M, c->ctx, mask, piece | perms);
		}
		return;
	}
	struct tlb *t = c->l1d[0].classes & (1u << ps) ? &c->l1d[0] : &c->l1d[ps];
	if (t->e)
		tlb_insert(t, va, ps, c->ctx, mask, page | perms);
}

static void l2_fill(struct vcpu *c, gva_t va, unsigned ps, uint64_t page, unsigned perms)
{
	uint32_t mask = (perms & PTE_PERM_G) ? TLB_CTX_VPID_MASK : TLB_CTX_ALL;
	struct tlb *t = (c->l2.classes & (1u << ps)) ? &c->l2 : (c->have_l2_1g ? &c->l2_1g : NULL);
	if (t)
		tlb_insert(t, va, ps, c->ctx, mask, page | perms);
}

static void tlb_drop(struct vcpu *c, gva_t va)
{
	for (int i = 0; i < PS_COUNT; i++)
		if (c->l1d[i].e)
			tlb_inval_addr(&c->l1d[i], va, c->ctx, TLB_CTX_ALL);
	for (int i = 0; i < 2; i++)
		if (c->l1i[i].e)
			tlb_inval_addr(&c->l1i[i], va, c->ctx, TLB_CTX_ALL);
	tlb_inval_addr(&c->l2, va, c->ctx, TLB_CTX_ALL);
	if (c->have_l2_1g)
		tlb_inval_addr(&c->l2_1g, va, c->ctx, TLB_CTX_ALL);
}

static void check_access(struct sim *s, struct vcpu *c, gva_t va, uint64_t pa)
{
	gpa_t want = 0, got = s->mode->to_gpa ? s->mode->to_gpa(s, pa) : pa;
	if (gos_translate(s->os, c->cur, va, &want) < 0 || want != got)
		s->check_failures++;
	if (s->on_access)
		s->on_access(s->on_access_arg, c->cur->pid, va, got);
}

static int fail(struct sim *s, int rc)
{
	if (!s->err)
		s->err = rc;
	return rc;
}

static void access_slow(struct sim *s, struct vcpu *c, uint8_t op, gva_t va)
{
	uint64_t need = s->need[op];
	struct tlb_entry *e;
	unsigned cls = 0;

	if (VM_UNLIKELY(need == NEED_INVALID)) {
		fail(s, vmerr_set(&s->errmsg, VM_EINPUT, "access with invalid operation %u at 0x%llx",
				  op, (unsigned long long)va));
		return;
	}
	if (VM_UNLIKELY(!s->have_first)) {
		s->have_first = true;
		s->first_va = va;
		s->first_pid = c->cur->pid;
	}
	c->opcount[op]++;
	for (int attempt = 0; attempt < 4; attempt++) {
		e = l1_probe(c, op, va, &cls, s->max_ps);
		if (e) {
			if ((e->val & need) == need) {
				(*l1_hit_counter(s, cls))++;
				goto done;
			}
			goto refused;
		}
		s->st.tlb_l1_misses++;
		if (op == EV_FETCH)
			s->st.tlb_l1i_misses++;
		else
			s->st.tlb_l1d_misses++;
		/* The STLB lookup takes its latency whether it hits or not: a walk
		 * starts only after it misses. */
		s->st.cycles_tlb += s->cfg.l2_latency;
		e = l2_probe(c, va, &cls, s->max_ps);
		if (e) {
			if ((e->val & need) == need) {
				s->st.tlb_l2_hits++;
				if (cls == PS_4K)
					s->st.tlb_l2_hits_4k++;
				else if (cls == PS_2M)
					s->st.tlb_l2_hits_2m++;
				else
					s->st.tlb_l2_hits_1g++;
				uint64_t val = e->val;
				l1_fill(c, op, va, cls, val & ~TLB_VAL_PERMS, (unsigned)(val & TLB_VAL_PERMS));
				if (VM_UNLIKELY(s->check || s->on_access))
					check_access(s, c, va, (val & ~TLB_VAL_PERMS) +
							     (va & (ps_bytes((enum page_size)cls) - 1)));
				return;
			}
			goto refused;
		}
		s->st.tlb_l2_misses++;
	walk:;
		struct mmu_fill fill;
		walk_rec_quiet(&s->rec);
		int rc = s->mode->fill(s, c, va, (unsigned)need, &fill, &s->rec);
		if (rc < 0) {
			fail(s, rc);
			return;
		}
		if (rc == MMU_OK) {
			if (fill.ps == PS_4K)
				s->st.tlb_l2_misses_4k++;
			else if (fill.ps == PS_2M)
				s->st.tlb_l2_misses_2m++;
			else
				s->st.tlb_l2_misses_1g++;
			l2_fill(c, va, fill.ps, fill.pa_page, fill.perms & TLB_VAL_PERMS);
			l1_fill(c, op, va, fill.ps, fill.pa_page, fill.perms & TLB_VAL_PERMS);
			if (VM_UNLIKELY(s->check || s->on_access))
				check_access(s, c, va, fill.pa_page + (va & (ps_bytes(fill.ps) - 1)));
			return;
		}
		goto fault;
	refused:
		/* W present but D clear: the hardware re-walks to set D. */
		if ((need & PTE_PERM_W) && (e->val & PTE_PERM_W) && !(e->val & PTE_PERM_D) &&
		    (e->val & need & ~(uint64_t)PTE_PERM_D) == (need & ~(uint64_t)PTE_PERM_D)) {
			s->st.dirty_assists++;
			goto walk;
		}
		/* A page fault drops the TLB entries for the faulting address
		 * (SDM 4.10.4.1); under shadow paging the VMM sees it first. */
		tlb_drop(c, va);
		if (s->mode->vmm_sees_faults)
			goto walk;
	fault:
		if (s->mode->guest_fault)
			s->mode->guest_fault(s, c, va);
		uint64_t w0 = s->st.pt_writes;
		rc = gos_fault(s->os, c->cur, va, (unsigned)(need & ~(uint64_t)PTE_PERM_D), &s->errmsg);
		if (s->mode->kernel_op_done)
			s->mode->kernel_op_done(s, c, s->st.pt_writes - w0);
		shootdown(s);
		if (rc < 0) {
			fail(s, rc);
			return;
		}
		if (rc == GOS_SEGV)
			return; /* the access is dropped, as a killed instruction would be */
	}
	fail(s, vmerr_set(&s->errmsg, VM_EINPUT,
			  "internal: access to 0x%llx by pid %u still faults after the kernel fixed it",
			  (unsigned long long)va, c->cur->pid));
	return;
done:
	if (VM_UNLIKELY(s->check || s->on_access))
		check_access(s, c, va, (e->val & ~TLB_VAL_PERMS) + (va & (ps_bytes((enum page_size)cls) - 1)));
}

/* ---- other events ---- */

static int switch_to(struct sim *s, struct vcpu *c, uint32_t pid)
{
	struct gos_proc *p;
	int rc = gos_get(s->os, pid, &p, &s->errmsg);
	if (rc < 0)
		return rc;
	if (c->cur == p)
		return 0;
	if (c->cur && !s->cfg.pcid)
		c->cur->cpumask &= ~bit(c); /* its entries go with the flush below */
	c->cur = p;
	p->cpumask |= bit(c);
	s->st.context_switches++;
	s->st.cr3_writes++;
	s->st.cycles_os += s->cfg.switch_cycles;
	if (s->cfg.pcid) {
		c->ctx = tlb_ctx(c->vpid, p->pcid); /* MOV CR3 with bit 63 set: no flush */
	} else {
		c->ctx = tlb_ctx(c->vpid, 0);
		sim_tlb_flush(s, c, c->ctx, TLB_CTX_ALL, true);
	}
	if (s->mode->cr3_write)
		s->mode->cr3_write(s, c);
	return 0;
}

static int kernel_op(struct sim *s, struct vcpu *c, const struct vm_event *e);

static int event_slow(struct sim *s, const struct vm_event *e)
{
	if (e->vcpu >= s->ncpu)
		return vmerr_set(&s->errmsg, VM_EINPUT,
				 "event on vCPU %u, but the machine has %u (set -s machine.vcpus=%u)",
				 e->vcpu, s->ncpu, e->vcpu + 1u);
	struct vcpu *c = &s->cpu[e->vcpu];
	int rc;

	if (e->kind >= EV_KIND_COUNT)
		return vmerr_set(&s->errmsg, VM_EINPUT, "unknown event kind %u", e->kind);
	if (e->kind != EV_EXIT && (!c->cur || c->cur->pid != e->pid)) {
		rc = switch_to(s, c, e->pid);
		if (rc < 0)
			return rc;
	}
	switch ((enum ev_kind)e->kind) {
	case EV_ACCESS:
		access_slow(s, c, e->op, e->addr);
		return s->err;
	case EV_SWITCH:
		return 0; /* done above */
	case EV_MAP:
	case EV_UNMAP:
	case EV_PROTECT:
	case EV_FORK:
	case EV_EXIT: {
		uint64_t w0 = s->st.pt_writes;
		rc = kernel_op(s, c, e);
		if (rc == 0 && s->mode->kernel_op_done)
			s->mode->kernel_op_done(s, c, s->st.pt_writes - w0);
		shootdown(s);
		return rc;
	}
	case EV_SYSCALL:
		s->st.syscalls++;
		s->st.cycles_os += s->cfg.syscall_cycles;
		break;
	case EV_IO:
		s->st.io_ops++;
		s->st.cycles_os += s->cfg.io_cycles;
		break;
	case EV_CR8:
		s->st.cr8_writes++;
		s->st.cycles_os += s->cfg.cr8_cycles;
		break;
	case EV_EXCEPTION:
		s->st.exceptions++;
		s->st.cycles_os += s->cfg.exception_cycles;
		break;
	case EV_CALLRET:
		s->st.callrets++;
		s->st.cycles_os += s->cfg.callret_cycles;
		break;
	case EV_PHASE:
		s->st.phases++;
		return 0;
	case EV_KIND_COUNT:
		break;
	}
	if (s->mode->sensitive)
		s->mode->sensitive(s, c, e);
	return 0;
}

/* The guest kernel's memory-management calls. */
static int kernel_op(struct sim *s, struct vcpu *c, const struct vm_event *e)
{
	switch (e->kind) {
	case EV_MAP:
		return gos_map(s->os, c->cur, e->addr, e->arg, e->op, &s->errmsg);
	case EV_UNMAP:
		return gos_unmap(s->os, c->cur, e->addr, e->arg, &s->errmsg);
	case EV_PROTECT:
		return gos_protect(s->os, c->cur, e->addr, e->arg, e->op, &s->errmsg);
	case EV_FORK:
		if (e->arg > UINT32_MAX)
			return vmerr_set(&s->errmsg, VM_EINPUT, "fork: child pid %llu out of range",
					 (unsigned long long)e->arg);
		return gos_fork(s->os, c->cur, (uint32_t)e->arg, &s->errmsg);
	case EV_EXIT: {
		struct gos_proc *p = gos_find(s->os, e->pid);
		if (!p)
			return vmerr_set(&s->errmsg, VM_EINPUT, "exit of process %u, which does not exist",
					 e->pid);
		for (unsigned i = 0; i < s->ncpu; i++)
			if (s->cpu[i].cur == p)
				s->cpu[i].cur = NULL; /* the next event switches to someone */
		gos_exit(s->os, p);
		return 0;
	}
	}
	return 0;
}

/*
 * The hit loop.  Most runs are loads and stores hitting a 4-way dTLB under
 * exact LRU; for those hit_run_d4 does the whole lookup in one loop, with
 * the geometry, the policy and the clock's headroom settled once per run.
 * That loop is bound by how many operations an event costs more than by the
 * latency of one lookup, so on x86-64 with AVX2 it compares the four keys
 * in one instruction and moves the key arithmetic and the entry's tests
 * from the integer units, which it keeps busy, to the vector unit, which it
 * leaves idle (Zen 5, stride over 32 pages, generator included: 12.2 ->
 * 9.4 cycles per event against the integer version).
 */

/*
 * An event's header as one little-endian word: kind | op << 8 | size << 16 |
 * vcpu << 24 | pid << 32.  HDR_DATA_MASK keeps kind, vcpu, pid and op's
 * upper seven bits, so one compare accepts exactly the loads and stores
 * (op 0 or 1, any size) by one process on one vCPU.
 */
#define HDR_DATA_MASK 0xffffffffff00feffull
#define HDR_STORE 0x100ull /* op's low bit: 0 load, 1 store */

static inline uint64_t ev_hdr(const struct vm_event *e)
{
	uint64_t h;
	memcpy(&h, e, sizeof h);
	return h;
}

#if defined(__x86_64__)
#define HIT_AVX2 1

/* Bit w set: the four keys at k (32-byte aligned) hold tlb_key(*va >> 12,
 * PS_4K).  The key is made in the vector unit from the address in memory:
 * (va >> 8) with its low nibble forced to 0001. */
static inline __attribute__((target("avx2"))) unsigned match4_avx2(const uint64_t *k, const uint64_t *va)
{
	__m256i key = _mm256_set1_epi64x((long long)*va);
	key = _mm256_xor_si256(_mm256_or_si256(_mm256_srli_epi64(key, 8), _mm256_set1_epi64x(0xf)),
			       _mm256_set1_epi64x(0xe));
	__m256i eq = _mm256_cmpeq_epi64(_mm256_load_si256((const __m256i *)k), key);
	return (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(eq));
}

/*
 * Nonzero unless x matches the context and holds the rights, given
 * c = {ctx, 0, ~0, ~0} and n = {~0, 0, need} in 32-bit lanes: one 16-byte
 * load of ctx, ctx_mask and val, and
 *   t = {x.ctx ^ ctx, x.ctx_mask, ~val}, s = {x.ctx_mask, x.ctx_mask, ~val},
 *   t & s & n = {(x.ctx ^ ctx) & x.ctx_mask, 0, ~val & need},
 * which is zero exactly when both of tlb_lookup's and hit_run's tests pass.
 */
static inline __attribute__((target("avx2"))) int entry_bad_avx2(const struct tlb_entry *x, __m128i c,
								  const __m128i *n)
{
	__m128i t = _mm_xor_si128(_mm_loadu_si128((const __m128i *)&x->ctx), c);
	__m128i s = _mm_shuffle_epi32(t, _MM_SHUFFLE(3, 2, 1, 1));
	return !_mm_testz_si128(t, _mm_and_si128(s, _mm_load_si128(n)));
}
#endif

/* What one step of hit_run_d4 has found out about an event before acting. */
struct d4_probe {
	uint64_t h;     /* header */
	size_t set4;    /* set * 4: index of the set's way 0 */
	unsigned hit;   /* bit w: way w holds the key (0 also when h is not ours) */
};

static inline __attribute__((always_inline)) struct d4_probe
d4_probe(const struct vm_event *e, const uint64_t *keys, uint64_t set4_mask, uint64_t hdr,
	 const bool avx2)
{
	struct d4_probe p = {.h = ev_hdr(e), .set4 = (size_t)((e->addr >> 10) & set4_mask)};
	const uint64_t *k = &keys[p.set4];
#ifdef HIT_AVX2
	if (avx2) {
		p.hit = match4_avx2(k, &e->addr);
		return p;
	}
#endif
	p.hit = (unsigned)tlb_match_(k, 4, tlb_key(e->addr >> 12, PS_4K));
	if ((p.h & HDR_DATA_MASK) != hdr)
		p.hit = 0;
	return p;
}

/*
 * Loads and stores by the run's process that hit a dTLB of 4-way
 * power-of-two sets under exact LRU whose clock cannot reach TLB_CLOCK_MAX
 * before the batch ends: hit_d4_ok has checked all that.  Each hit
 * stamps its entry exactly as tlb_hit_ does.  Stops, without a side effect,
 * at the first event it cannot finish (any other event, a miss, a key under
 * another context: other ways may match; an entry that lacks the rights),
 * and leaves the batch's last event alone: the caller's generic step takes
 * either.  Returns the index reached and adds the stores among the hits to
 * *stores (the rest are loads).
 *
 * Software-pipelined: event e + 1 is probed (header, key compare) before
 * event e's entry is tested, so the probe's chain of loads starts early
 * instead of queueing behind the previous event's tests.  Probing reads
 * only events, keys and entries, which the loop does not write.
 *
 * Inlined with avx2 constant into the two versions below, each out of line
 * so that its loop has the registers to itself.
 */
static inline __attribute__((always_inline)) size_t
d4_loop(struct tlb *t, uint64_t hdr, uint32_t ctx, uint64_t need0, uint64_t need1,
	const struct vm_event *ev, size_t i, size_t n, uint64_t *stores, const bool avx2)
{
	const uint64_t *keys = t->keys;
	const uint64_t set4_mask = t->set_mask << 2;
	const struct tlb_entry *te = t->e;
	uint32_t *age = t->age;
	uint32_t clock = t->clock;
	uint64_t st = 0; /* HDR_STORE per store */
	if (n - i < 2)
		return i;
#ifdef HIT_AVX2
	/* entry_bad_avx2's n for a load and a store, at byte offsets 0 and
	 * HDR_STORE: h & HDR_STORE picks one without a shift. */
	__m128i nv[HDR_STORE / sizeof(__m128i) + 1];
	nv[0] = _mm_set_epi64x((long long)need0, 0xffffffffll);
	nv[HDR_STORE / sizeof(__m128i)] = _mm_set_epi64x((long long)need1, 0xffffffffll);
	const __m128i cv = _mm_set_epi32(-1, -1, 0, (int)ctx);
#endif
	/* Events ev[i .. n-2] at end + o, o running up to 0 in steps of one event. */
	const char *end = (const char *)(ev + n - 1);
	intptr_t o = -(intptr_t)((n - 1 - i) * sizeof *ev);

	struct d4_probe p = d4_probe((const struct vm_event *)(end + o), keys, set4_mask, hdr, avx2);
	for (; o != 0; o += (intptr_t)sizeof *ev) {
		const struct vm_event *e = (const struct vm_event *)(end + o);
		struct d4_probe next = d4_probe(e + 1, keys, set4_mask, hdr, avx2);
#ifdef HIT_AVX2
		if (avx2 && (p.h & HDR_DATA_MASK) != hdr)
			break;
#endif
		if (!p.hit)
			break;
		size_t idx = p.set4 + (unsigned)__builtin_ctz(p.hit); /* lowest matching way */
		const struct tlb_entry *x = &te[idx];
		uint64_t sb = p.h & HDR_STORE;
#ifdef HIT_AVX2
		if (avx2) {
			if (entry_bad_avx2(x, cv, (const __m128i *)((const char *)nv + sb)))
				break;
		} else
#endif
		{
			uint64_t nd = sb ? need1 : need0;
			if ((((x->ctx ^ ctx) & x->ctx_mask) | (nd & ~x->val)) != 0)
				break;
		}
		age[idx] = ++clock;
		st += sb;
		p = next;
	}
	t->clock = clock;
	*stores += st / HDR_STORE;
	return n - 1 - (size_t)-o / sizeof *ev;
}

/* Both loops start on a 64-byte boundary: where the linker happened to put
 * them moved the TLB-hit rate by 4% between builds that differed elsewhere. */
#ifdef HIT_AVX2
static __attribute__((noinline, aligned(64), target("avx2,bmi"))) size_t
hit_run_d4_avx2(struct tlb *t, uint64_t hdr, uint32_t ctx, uint64_t need0, uint64_t need1,
		const struct vm_event *ev, size_t i, size_t n, uint64_t *stores)
{
	return d4_loop(t, hdr, ctx, need0, need1, ev, i, n, stores, true);
}
#endif

static __attribute__((noinline, aligned(64))) size_t
hit_run_d4_base(struct tlb *t, uint64_t hdr, uint32_t ctx, uint64_t need0, uint64_t need1,
		const struct vm_event *ev, size_t i, size_t n, uint64_t *stores)
{
	return d4_loop(t, hdr, ctx, need0, need1, ev, i, n, stores, false);
}

#ifdef HIT_AVX2
static bool have_avx2(void)
{
	/* Every AVX2 processor has BMI1 too; with TZCNT the compiler knows the
	 * way number is small and spares a sign extension. */
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi");
}
#endif

static size_t hit_run_d4(struct tlb *t, uint64_t hdr, uint32_t ctx, const uint64_t need[2],
			 const struct vm_event *ev, size_t i, size_t n, uint64_t *stores)
{
#ifdef HIT_AVX2
	if (have_avx2())
		return hit_run_d4_avx2(t, hdr, ctx, need[0], need[1], ev, i, n, stores);
#endif
	return hit_run_d4_base(t, hdr, ctx, need[0], need[1], ev, i, n, stores);
}

/* hit_run_d4 takes t: 4-way power-of-two sets of 4 KiB entries under exact
 * LRU.  Fixed from set-up on (vcpu.l1d_d4). */
static bool hit_d4_geometry(const struct tlb *t)
{
	return t->keys && t->policy == TLB_LRU && t->pow2 && t->ways == 4 && t->kstride == 4 &&
	       t->shift[PS_4K] == 12;
}

/* ... and can run over ev[i .. n-1]: there is more than the last event,
 * which it leaves alone, and its clock cannot wrap on the way. */
static bool hit_d4_ok(const struct vcpu *c, size_t i, size_t n)
{
	return c->l1d_d4 && n - i >= 2 && (uint64_t)c->l1d[0].clock + (n - i) < TLB_CLOCK_MAX;
}

/*
 * A run of accesses by the process on one vCPU that all hit the 4 KiB L1
 * dTLB/iTLB with the rights they need: the hot path.  What is fixed for the
 * run (pid, context, rights) lives in locals, so the counter stores cannot
 * make the compiler reload it; the counters are folded in once at the end.
 * The generic step below takes each event until two in a row have hit,
 * then hands the run to hit_run_d4 (loads and stores in the common dTLB
 * geometry), whose entry costs about what it saves on two events, so a
 * stream that alternates misses and hits (gups: load misses, store hits)
 * never pays it.  Wherever hit_run_d4 stops (a fetch, a key held under
 * several contexts, the batch's last event) the generic step takes that
 * event and counts afresh; the run ends at the first event that is not
 * such a hit.  Other geometries and policies, and a clock about to wrap,
 * stay with the generic step (hit_d4_ok).
 * Returns the index of the first event that leaves the run.
 */
static size_t hit_run(struct sim *s, struct vcpu *c, const struct vm_event *ev, size_t i, size_t n)
{
	const uint8_t v = (uint8_t)c->id;
	const uint32_t pid = c->cur->pid, ctx = c->ctx;
	const uint64_t need[3] = {s->hot_need[0], s->hot_need[1], s->hot_need[2]};
	struct tlb *td = &c->l1d[0], *ti = &c->l1i[0];
	uint64_t ops[3] = {0, 0, 0};
	unsigned streak = 0; /* hits in a row by the generic step */
	for (;;) {
		if (streak == 2 && hit_d4_ok(c, i, n)) {
			const uint64_t hdr = (uint64_t)pid << 32 | (uint64_t)v << 24 | EV_ACCESS;
			size_t i0 = i;
			uint64_t st = 0;
			i = hit_run_d4(td, hdr, ctx, need, ev, i, n, &st);
			ops[0] += (i - i0) - st;
			ops[1] += st;
			streak = 0;
		}
		if (i == n)
			break;
		const struct vm_event *e = &ev[i];
		if (e->kind != EV_ACCESS || e->vcpu != v || e->pid != pid || e->op > EV_FETCH)
			break;
		struct tlb_entry *te = tlb_lookup(e->op == EV_FETCH ? ti : td, e->addr, PS_4K, ctx);
		if (!te || (te->val & need[e->op]) != need[e->op])
			break;
		ops[e->op]++;
		i++;
		streak++;
	}
	c->opcount[0] += ops[0];
	c->opcount[1] += ops[1];
	c->opcount[2] += ops[2];
	s->st.tlb_l1_hits_4k += ops[0] + ops[1] + ops[2];
	return i;
}

/*
 * Look-ahead: before the slow path takes event i, the mode's prefetch op is
 * run on the accesses up to PF_AHEAD0 events ahead (stage 0) and PF_AHEAD1
 * ahead (stage 1), each event at most once per stage.  The distances are
 * a few slow accesses (gups alternates a load that walks and a store that
 * hits), so a prefetched line has a walk's time to arrive and is not yet
 * evicted.  Hit runs never look ahead: their events cost a few cycles.
 */
#define PF_AHEAD0 8
#define PF_AHEAD1 4

/* Not inlined: in sim_consume it cost the TLB-hit stream 4% (51.8 -> 49.7%
 * of the generate rate), though hits never call it. */
static __attribute__((noinline)) void look_ahead(struct sim *s, const struct vm_event *ev, size_t i,
						 size_t n)
{
	static const size_t ahead[2] = {PF_AHEAD0, PF_AHEAD1};
	for (unsigned stage = 0; stage < 2; stage++) {
		size_t j = s->pf_next[stage] > i ? s->pf_next[stage] : i + 1;
		size_t end = i + ahead[stage] < n ? i + ahead[stage] : n;
		uint64_t last = s->pf_last[stage];
		for (; j < end; j++) {
			const struct vm_event *e = &ev[j];
			/* The next access to the same page (gups' store after its
			 * load) would prefetch the same lines again. */
			if (e->kind != EV_ACCESS || e->vcpu >= s->ncpu || ((e->addr ^ last) >> 12) == 0)
				continue;
			const struct vcpu *c = &s->cpu[e->vcpu];
			if (c->cur && e->pid == c->cur->pid)
				s->mode->prefetch(s, c, e->addr, stage);
			last = e->addr;
		}
		s->pf_last[stage] = last;
		if (end > s->pf_next[stage])
			s->pf_next[stage] = end;
	}
}

int sim_consume(void *arg, const struct vm_event *ev, size_t n)
{
	struct sim *s = arg;
	if (s->err)
		return s->err;
	s->pf_next[0] = s->pf_next[1] = 0;
	s->pf_last[0] = s->pf_last[1] = UINT64_MAX; /* (a hint: a miss costs nothing) */
	for (size_t i = 0; i < n; i++) {
		const struct vm_event *e = &ev[i];
		struct vcpu *c = &s->cpu[e->vcpu < s->ncpu ? e->vcpu : 0];
		if (VM_LIKELY(e->kind == EV_ACCESS && e->vcpu < s->ncpu && c->cur &&
			      e->pid == c->cur->pid)) {
			i = hit_run(s, c, ev, i, n);
			if (i == n)
				break;
			e = &ev[i];
			c = &s->cpu[e->vcpu < s->ncpu ? e->vcpu : 0];
		}
		s->cur_cpu = c;
		s->slow_t0 = sim_charged(&s->st);
		if (e->kind == EV_ACCESS && e->vcpu < s->ncpu && c->cur && e->pid == c->cur->pid) {
			if (s->lookahead)
				look_ahead(s, ev, i, n);
			access_slow(s, c, e->op, e->addr);
		} else {
			int rc = event_slow(s, e);
			if (rc < 0)
				return fail(s, rc);
		}
		c->busy += (int64_t)(sim_charged(&s->st) - s->slow_t0);
		if (VM_UNLIKELY(s->err))
			return s->err;
	}
	return 0;
}

void sim_finish(struct sim *s)
{
	sim_pte_sync(s);
	struct stats *st = &s->st;
	st->loads = st->stores = st->fetches = 0;
	st->makespan_cycles = 0;
	for (unsigned i = 0; i < s->ncpu; i++) {
		const struct vcpu *c = &s->cpu[i];
		st->loads += c->opcount[EV_LOAD];
		st->stores += c->opcount[EV_STORE];
		st->fetches += c->opcount[EV_FETCH];
		uint64_t clock = sim_vcpu_clock(s, c);
		if (clock > st->makespan_cycles)
			st->makespan_cycles = clock;
	}
	st->accesses = st->loads + st->stores + st->fetches;
	st->tlb_l1_hits = st->tlb_l1_hits_4k + st->tlb_l1_hits_2m + st->tlb_l1_hits_1g;
	st->cycles_base = st->accesses * s->cfg.access_cycles;
	st->cycles_tlb += st->tlb_l1_hits * s->cfg.l1_latency;
}

int sim_explain(struct sim *s, uint32_t pid, gva_t va, struct walk_rec *rec, struct mmu_fill *out,
		struct vmerr *err)
{
	struct vcpu *c = &s->cpu[0];
	s->cur_cpu = c;
	int rc = switch_to(s, c, pid);
	if (rc < 0)
		return vmerr_set(err, rc, "%s", s->errmsg.msg);
	walk_rec_reset(rec);
	rc = s->mode->fill(s, c, va, PTE_PERM_U, out, rec);
	if (rc < 0)
		return vmerr_set(err, rc, "%s", s->errmsg.msg);
	return rc;
}
