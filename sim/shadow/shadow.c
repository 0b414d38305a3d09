/*
 * shadow.c - the software MMU: shadow page tables kept in sync by traps,
 * under binary translation (bt) or trap-and-emulate VT-x (vtx).
 *
 * Notes (what is modelled; KVM's shadow MMU, arch/x86/kvm/mmu/, and Adams &
 * Agesen, ASPLOS 2006, section 4, describe the mechanisms):
 *  - The hardware walks only the shadow table (guest-virtual -> host-
 *    physical, one dimension, x86 format with the guest's levels), kept in
 *    host memory.  The VMM fills it lazily: a miss is a page fault that
 *    enters the VMM (a VM exit under vtx; a trap under bt), which walks the
 *    guest table in software and either fills the shadow entry (a hidden
 *    fault, invisible to the guest) or reflects the fault to the guest.
 *    A guest demand fault thus costs up to three VMM interventions: the
 *    hidden fault that reflects, the trap on the guest's PTE write, and the
 *    hidden fault that fills.
 *  - Guest page-table pages that have a shadow are write-protected: each
 *    guest write to one traps and is emulated; the VMM zaps the shadow entry
 *    the write makes stale (modern KVM zaps rather than updates).  Under bt
 *    with bt.adapt, the first such trap retranslates the writing code, and
 *    later writes cost a callout instead of a trap.
 *  - A/D bits: the VMM sets guest A bits when it fills, and maps a page
 *    whose guest D bit is clear read-only, so the first write traps and the
 *    VMM sets D (emulated A/D).
 *  - CR3 writes switch shadow roots through a cache of vmm.roots roots keyed
 *    by guest CR3 (LRU); a miss builds a new root and, when full, zaps the
 *    least recently used root's whole tree.
 *  - vmm.unsync (KVM's out-of-sync pages): the first trapped write to a
 *    shadowed leaf table lets it go out of sync; later writes run natively,
 *    and the table is resynchronised (its shadow entries dropped) on the
 *    next CR3 write; INVLPG drops the one entry.
 *  - vmm.prefetch (KVM PTE_PREFETCH_NUM = 8): a fill also fills the other
 *    present, accessed, host-backed entries of the aligned group.
 *  - Zapping upper-level shadow entries or shadow pages flushes the vCPU's
 *    paging-structure caches, which could point at freed shadow tables.
 *  - Several vCPUs share the shadow tables; every VMM handler that changes
 *    them takes the per-VM MMU lock (KVM's mmu_lock) for its duration, and
 *    waits while another vCPU's clock says it holds it (sim_mmu_lock).
 *  - Several VMs (sim/host.c): when the host takes a guest block away, every
 *    shadow leaf that maps it is zapped and the VM's TLBs and PWCs are
 *    flushed (which guest-virtual pages map it is not known).  The leaves
 *    are found through a reverse map kept only once the p2m is attached to
 *    a host: guest block -> (shadow entry, host frame, level), as KVM's
 *    rmap (gfn -> sptes).  Entries are not removed when a leaf is zapped
 *    for another reason; they are checked (the entry must still sit in a
 *    live shadow table and map that host frame) and pruned on use.
 *  - Not modelled: flood detection (unshadowing a table that is written
 *    often), shadow pages for a guest table reached at two levels, the
 *    guest kernel's own accesses (the stream holds user accesses only).
 */
#include <stdlib.h>
#include <string.h>

#include "../p2m.h"
#include "../sim.h"

#define NONE (~0ull)
#define MAX_ROOTS 4096

enum { FIXED = 0, REFLECT = 1 };

struct sp {
	hpa_t table;       /* shadow table page, in host memory */
	gpa_t gtable;      /* guest table it shadows; NONE for a direct page */
	hpa_t parent_spte; /* shadow entry pointing here; 0 for a root */
	uint8_t level;
	bool unsync;
	bool live;
};

struct root {
	gpa_t gcr3;
	uint32_t sp;
	uint64_t lru;
};

struct shadow {
	struct p2m p2m;
	bool bt;
	const struct pt_format *sf;
	struct sp *sps;
	size_t nsp, cap;
	uint32_t *free_ids;
	size_t nfree;
	struct u64map by_gtable; /* guest table gpa -> sp id */
	struct u64map by_table;  /* shadow table hpa -> sp id */
	struct root roots[MAX_ROOTS];
	unsigned nroots;
	uint64_t clock;
	hpa_t cur_root[SIM_MAX_VCPUS]; /* each vCPU's shadow root (its CR3) */
	unsigned bt_seen; /* bit per event kind whose kernel handler BT has translated */
	bool bt_adapted;
	struct sim *s;
	/* Reverse map, with a host only: guest block -> chain of rmap entries. */
	struct u64map rm_head; /* block gpa -> index + 1 of the first entry */
	struct rmap_ent {
		hpa_t spte, hpa;
		uint32_t next; /* index + 1; 0 ends the chain */
		uint8_t level;
	} *rm;
	size_t nrm, caprm;
	uint32_t rm_free; /* index + 1 of the first free entry */
};

static struct shadow *SH(struct sim *s) { return s->mode_state; }

/* ---- entering the VMM ---- */

static void enter(struct sim *s, struct vcpu *c, uint64_t *reason, uint32_t vtx_handler,
		  bool callout)
{
	struct shadow *sh = SH(s);
	if (sh->bt) {
		s->st.vmm_traps++;
		s->st.cycles_exit += callout ? s->cfg.bt_callout : s->cfg.bt_trap;
	} else {
		sim_vm_exit(s, c, reason, s->cfg.vtx_exit, vtx_handler);
	}
}

/* VMM work on shadow state: under the per-VM MMU lock when several vCPUs
 * run (sim_mmu_lock), then the handler's cycles. */
static void vmm_work(struct sim *s, uint32_t cycles)
{
	sim_mmu_lock(s, cycles);
	s->st.cycles_vmm += cycles;
}

/* BT translates each kind of kernel handler once. */
static void bt_warm(struct sim *s, unsigned kind)
{
	struct shadow *sh = SH(s);
	if (sh->bt && !(sh->bt_seen & (1u << kind))) {
		sh->bt_seen |= 1u << kind;
		s->st.bt_translations++;
		s->st.cycles_bt += s->cfg.bt_translate;
	}
}
#define BT_PAGE_FAULT EV_KIND_COUNT /* a kind of its own for the #PF handler */

/* ---- shadow pages ---- */

static int sp_new(struct shadow *sh, gpa_t gtable, unsigned level, uint32_t *id)
{
	struct sim *s = sh->s;
	hpa_t t;
	int rc = physmem_alloc_table(sh->p2m.hpm, &t);
	if (rc < 0)
		return vmerr_set(&s->errmsg, rc, "host memory exhausted allocating a shadow table");
	uint32_t i;
	if (sh->nfree) {
		i = sh->free_ids[--sh->nfree];
	} else {
		if (sh->nsp == sh->cap) {
			size_t nc = sh->cap ? sh->cap * 2 : 256;
			struct sp *n = realloc(sh->sps, nc * sizeof *n);
			uint32_t *f = realloc(sh->free_ids, nc * sizeof *f);
			if (!n || !f) {
				if (n)
					sh->sps = n;
				if (f)
					sh->free_ids = f;
				return vmerr_set(&s->errmsg, VM_ENOMEM, "out of memory");
			}
			sh->sps = n;
			sh->free_ids = f;
			sh->cap = nc;
		}
		i = (uint32_t)sh->nsp++;
	}
	sh->sps[i] = (struct sp){.table = t, .gtable = gtable, .level = (uint8_t)level, .live = true};
	if (u64map_put(&sh->by_table, t, i) < 0 ||
	    (gtable != NONE && u64map_put(&sh->by_gtable, gtable, i) < 0))
		return vmerr_set(&s->errmsg, VM_ENOMEM, "out of memory");
	s->st.shadow_pages++;
	*id = i;
	return 0;
}

static struct sp *sp_of_table(struct shadow *sh, hpa_t t)
{
	uint64_t *v = u64map_get(&sh->by_table, t);
	return v ? &sh->sps[*v] : NULL;
}

static struct sp *sp_of_gtable(struct shadow *sh, gpa_t g)
{
	uint64_t *v = u64map_get(&sh->by_gtable, g);
	return v ? &sh->sps[*v] : NULL;
}

static void flush_pwcs(struct sim *s)
{
	for (unsigned i = 0; i < s->ncpu; i++)
		pwc_flush_all(&s->cpu[i].pwc);
}

/* Free sp and everything below it, and unlink it from its parent. */
static void sp_zap(struct shadow *sh, struct sp *sp)
{
	struct sim *s = sh->s;
	struct physmem *hpm = sh->p2m.hpm;
	if (sp->level > 0) {
		for (unsigned i = 0; i < PT_ENTRIES; i++) {
			uint64_t e = physmem_read(hpm, sp->table + i * PT_ENTRY_SIZE);
			if (pt_is_present(sh->sf, e) && !pt_is_leaf(sh->sf, e, sp->level)) {
				struct sp *child = sp_of_table(sh, pt_next_table(sh->sf, e));
				if (child) {
					child->parent_spte = 0; /* the parent goes too */
					sp_zap(sh, child);
				}
			}
		}
	}
	if (sp->parent_spte)
		physmem_write(hpm, sp->parent_spte, 0);
	uint32_t id = (uint32_t)(sp - sh->sps);
	u64map_del(&sh->by_table, sp->table);
	if (sp->gtable != NONE)
		u64map_del(&sh->by_gtable, sp->gtable);
	for (unsigned r = 0; r < sh->nroots; r++)
		if (sh->roots[r].sp == id) {
			for (unsigned v = 0; v < SIM_MAX_VCPUS; v++)
				if (sh->cur_root[v] == sp->table)
					sh->cur_root[v] = 0;
			sh->roots[r] = sh->roots[--sh->nroots];
			break;
		}
	physmem_release_table(hpm, sp->table);
	sp->live = false;
	sh->free_ids[sh->nfree++] = id;
	s->st.shadow_zaps++;
	vmm_work(s, s->cfg.vmm_zap);
}

/* Drop the shadow entry at spte; zap the shadow subtree it points to. */
static void zap_spte(struct shadow *sh, hpa_t spte, unsigned level)
{
	struct physmem *hpm = sh->p2m.hpm;
	uint64_t e = physmem_read(hpm, spte);
	if (!pt_is_present(sh->sf, e))
		return;
	if (!pt_is_leaf(sh->sf, e, level)) {
		struct sp *child = sp_of_table(sh, pt_next_table(sh->sf, e));
		if (child)
			sp_zap(sh, child);
		flush_pwcs(sh->s);
	}
	physmem_write(hpm, spte, 0);
}

/* ---- reverse map: which shadow leaves map a guest block ---- */

/* Does the rmap entry still describe a live shadow leaf? */
static bool rmap_live(struct shadow *sh, const struct rmap_ent *r)
{
	if (!sp_of_table(sh, r->spte & ~0xfffull))
		return false;
	uint64_t e = physmem_read(sh->p2m.hpm, r->spte);
	return pt_is_present(sh->sf, e) && pt_is_leaf(sh->sf, e, r->level) &&
	       pt_leaf_pa(sh->sf, e, r->level, 0) == r->hpa;
}

static void rmap_free_ent(struct shadow *sh, uint32_t i)
{
	sh->rm[i].next = sh->rm_free;
	sh->rm_free = i + 1;
}

/* The shadow leaf at spte (level) now maps block gpa to host frame hpa. */
static void rmap_add(struct shadow *sh, gpa_t gpa, hpa_t spte, hpa_t hpa, unsigned level)
{
	if (!sh->p2m.owner)
		return; /* a VM alone: nobody takes memory away */
	gpa &= ~(ps_bytes((enum page_size)level) - 1);
	uint64_t *head = u64map_get(&sh->rm_head, gpa);
	uint32_t keep = 0, *tail = &keep;
	bool there = false;
	/* Drop dead entries on the way; spte may be there already. */
	for (uint32_t i = head ? (uint32_t)*head : 0, next; i; i = next) {
		struct rmap_ent *r = &sh->rm[i - 1];
		next = r->next;
		if (!rmap_live(sh, r)) {
			rmap_free_ent(sh, i - 1);
			continue;
		}
		there |= r->spte == spte && r->hpa == hpa;
		*tail = i;
		tail = &r->next;
	}
	*tail = 0;
	if (!there) {
		uint32_t n = sh->rm_free;
		if (n) {
			sh->rm_free = sh->rm[n - 1].next;
		} else {
			if (sh->nrm == sh->caprm) {
				size_t nc = sh->caprm ? sh->caprm * 2 : 1024;
				struct rmap_ent *nr = realloc(sh->rm, nc * sizeof *nr);
				if (nr) {
					sh->rm = nr;
					sh->caprm = nc;
				}
			}
			if (sh->nrm < sh->caprm)
				n = (uint32_t)++sh->nrm;
		}
		if (n) { /* else out of memory: the leaf goes only with its table */
			sh->rm[n - 1] = (struct rmap_ent){.spte = spte, .hpa = hpa, .next = keep,
							  .level = (uint8_t)level};
			keep = n;
		}
	}
	if (keep)
		u64map_put(&sh->rm_head, gpa, keep);
	else
		u64map_del(&sh->rm_head, gpa);
}

/* Zap every live leaf of block gpa's chain and forget the chain. */
static void rmap_zap(struct shadow *sh, gpa_t gpa)
{
	uint64_t *head = u64map_get(&sh->rm_head, gpa);
	if (!head)
		return;
	for (uint32_t i = (uint32_t)*head; i;) {
		struct rmap_ent *r = &sh->rm[i - 1];
		uint32_t next = r->next;
		if (rmap_live(sh, r))
			physmem_write(sh->p2m.hpm, r->spte, 0);
		rmap_free_ent(sh, i - 1);
		i = next;
	}
	u64map_del(&sh->rm_head, gpa);
}

/* ---- the VMM's page-fault handler ---- */

static int back(struct shadow *sh, gpa_t gpa, hpa_t *hpa, enum page_size *hps)
{
	struct sim *s = sh->s;
	if (p2m_lookup(&sh->p2m, gpa, hpa, hps) == 0)
		return 0;
	vmm_work(s, s->cfg.vmm_host_alloc);
	int rc = p2m_back(&sh->p2m, gpa, &s->errmsg);
	if (rc < 0)
		return rc;
	return p2m_lookup(&sh->p2m, gpa, hpa, hps) == 0 ? 0 : VM_EINPUT;
}

static unsigned shadow_perms(const struct pt_format *f, uint64_t gleaf, unsigned combined)
{
	unsigned p = combined & (PTE_PERM_W | PTE_PERM_U | PTE_PERM_X);
	p |= pt_perms(f, gleaf) & PTE_PERM_G;
	p |= PTE_PERM_A;
	if (gleaf & f->dirty)
		p |= PTE_PERM_D;
	else
		p &= ~PTE_PERM_W; /* the first write must trap so the VMM can set D */
	return p;
}

static void prefetch(struct shadow *sh, gpa_t gtable, hpa_t stable, unsigned idx)
{
	struct sim *s = sh->s;
	const struct pt_format *f = s->gfmt;
	unsigned n = s->cfg.vmm_prefetch;
	if (n <= 1)
		return;
	unsigned first = idx - idx % n;
	for (unsigned j = first; j < first + n && j < PT_ENTRIES; j++) {
		if (j == idx)
			continue;
		uint64_t ge = physmem_read(s->gpm, gtable + j * PT_ENTRY_SIZE);
		hpa_t spte = stable + j * PT_ENTRY_SIZE;
		if (!pt_is_present(f, ge) || !(ge & f->accessed) ||
		    pt_is_present(sh->sf, physmem_read(sh->p2m.hpm, spte)))
			continue;
		hpa_t hpa;
		enum page_size hps;
		if (p2m_lookup(&sh->p2m, pt_leaf_pa(f, ge, 0, 0), &hpa, &hps) < 0)
			continue; /* not backed: KVM's prefetch skips what is not resident */
		unsigned perms = shadow_perms(f, ge, pt_perms(f, ge));
		physmem_write(sh->p2m.hpm, spte, pt_make_leaf(sh->sf, hpa & ~0xfffull, 0, perms));
		rmap_add(sh, pt_leaf_pa(f, ge, 0, 0), spte, hpa & ~0xfffull, 0);
		s->st.shadow_prefetched++;
		s->st.shadow_fills++;
	}
}

static int vmm_page_fault(struct sim *s, struct vcpu *c, gva_t va, unsigned need)
{
	struct shadow *sh = SH(s);
	const struct pt_format *f = s->gfmt;
	uint64_t gt[PT_MAX_LEVELS], ge[PT_MAX_LEVELS], gea[PT_MAX_LEVELS];
	unsigned top = f->levels - 1, lg = 0;
	unsigned combined = PTE_PERM_W | PTE_PERM_U | PTE_PERM_X;

	/* Walk the guest table in software. */
	gt[top] = c->cur->cr3;
	for (int l = (int)top; l >= 0; l--) {
		gea[l] = gt[l] + pt_index(f, va, (unsigned)l) * PT_ENTRY_SIZE;
		ge[l] = physmem_read(s->gpm, gea[l]);
		if (!pt_is_present(f, ge[l]))
			return REFLECT;
		combined &= pt_perms(f, ge[l]);
		if (pt_is_leaf(f, ge[l], (unsigned)l)) {
			lg = (unsigned)l;
			break;
		}
		gt[l - 1] = pt_next_table(f, ge[l]);
	}
	if ((combined & need & (PTE_PERM_W | PTE_PERM_U | PTE_PERM_X)) !=
	    (need & (PTE_PERM_W | PTE_PERM_U | PTE_PERM_X)))
		return REFLECT;

	/* Emulate the hardware's A/D updates in the guest table. */
	bool ad = false;
	for (unsigned l = top; l >= lg && l <= top; l--) {
		uint64_t want = ge[l] | f->accessed;
		if (l == lg && (need & PTE_PERM_W) && !(ge[l] & f->dirty)) {
			want |= f->dirty;
			ad = true;
		}
		if (want != ge[l]) {
			physmem_write(s->gpm, gea[l], want);
			ge[l] = want;
		}
		if (l == 0)
			break;
	}

	gpa_t gpa = pt_leaf_pa(f, ge[lg], lg, va);
	hpa_t hpa;
	enum page_size hps;
	int rc = back(sh, gpa, &hpa, &hps);
	if (rc < 0)
		return rc;
	unsigned sl = lg < (unsigned)hps ? lg : (unsigned)hps;

	/* Build the shadow path down to the leaf. */
	struct physmem *hpm = sh->p2m.hpm;
	hpa_t table = sh->cur_root[c->id];
	for (unsigned l = top; l > sl; l--) {
		hpa_t spte = table + pt_index(sh->sf, va, l) * PT_ENTRY_SIZE;
		uint64_t se = physmem_read(hpm, spte);
		if (pt_is_present(sh->sf, se) && !pt_is_leaf(sh->sf, se, l)) {
			table = pt_next_table(sh->sf, se);
			continue;
		}
		if (pt_is_present(sh->sf, se))
			zap_spte(sh, spte, l); /* a leaf of another size is in the way */
		uint32_t id;
		struct sp *existing = l - 1 >= lg ? sp_of_gtable(sh, gt[l - 1]) : NULL;
		if (existing) {
			/* Shadowed under another path (should not happen with private
			 * tables): start that shadow afresh here. */
			sp_zap(sh, existing);
		}
		rc = sp_new(sh, l - 1 >= lg ? gt[l - 1] : NONE, l - 1, &id);
		if (rc < 0)
			return rc;
		sh->sps[id].parent_spte = spte;
		physmem_write(hpm, spte, pt_make_table(sh->sf, sh->sps[id].table));
		table = sh->sps[id].table;
	}
	hpa_t spte = table + pt_index(sh->sf, va, sl) * PT_ENTRY_SIZE;
	bool was_present = pt_is_present(sh->sf, physmem_read(hpm, spte));
	uint64_t page = hpa & ~(ps_bytes((enum page_size)sl) - 1);
	physmem_write(hpm, spte, pt_make_leaf(sh->sf, page, sl, shadow_perms(f, ge[lg], combined)));
	rmap_add(sh, gpa, spte, page, sl);
	if (ad && was_present) {
		s->st.ad_emulations++;
		vmm_work(s, s->cfg.vmm_ad);
	} else {
		s->st.hidden_faults++;
		s->st.shadow_fills++;
		vmm_work(s, s->cfg.vmm_hidden_fault);
		if (sl == 0 && lg == 0)
			prefetch(sh, gt[0], table, pt_index(f, va, 0));
	}
	return FIXED;
}

/* ---- hardware walk of the shadow table ---- */

static int shadow_fetch(void *arg, uint64_t table, uint64_t ea, unsigned level, uint64_t *val,
			struct walk_rec *rec)
{
	struct sim *s = arg;
	*val = physmem_read(SH(s)->p2m.hpm, ea);
	sim_walk_ref(s, rec, WALK_SHADOW, level, table, ea, ea, *val);
	return 0;
}

static void shadow_store(void *arg, uint64_t ea, uint64_t val)
{
	struct sim *s = arg;
	physmem_write(SH(s)->p2m.hpm, ea, val);
}

static int shadow_fill(struct sim *s, struct vcpu *c, gva_t va, unsigned need,
		       struct mmu_fill *out, struct walk_rec *rec)
{
	struct shadow *sh = SH(s);
	struct walk_io io = {shadow_fetch, shadow_store, s};
	for (int attempt = 0; attempt < 8; attempt++) {
		struct walk_out w;
		if (!sh->cur_root[c->id]) /* the root was zapped under us: rebuild it */
			s->mode->cr3_write(s, c);
		int rc = mmu_walk_1d(s, c, sh->sf, sh->cur_root[c->id], va, need, &io, rec, &w);
		if (rc == MMU_OK) {
			out->ps = (enum page_size)w.level;
			out->pa_page = w.pa & ~(ps_bytes(out->ps) - 1);
			out->perms = w.perms;
			return MMU_OK;
		}
		enter(s, c, &s->st.vm_exits_pf, s->cfg.vtx_pf, false);
		rc = vmm_page_fault(s, c, va, need);
		if (rc < 0)
			return rc;
		if (rc == REFLECT) {
			s->st.guest_faults_reflected++;
			vmm_work(s, s->cfg.vmm_reflect);
			return MMU_GUEST_FAULT;
		}
	}
	return vmerr_set(&s->errmsg, VM_EINPUT, "internal: shadow fill of 0x%llx keeps faulting",
			 (unsigned long long)va);
}

/* ---- guest kernel events ---- */

static void shadow_pt_write(struct sim *s, gpa_t ea, uint64_t old, uint64_t val)
{
	struct shadow *sh = SH(s);
	struct sp *sp = sp_of_gtable(sh, ea & ~0xfffull);
	if (!sp || sp->unsync)
		return; /* not write-protected */
	struct vcpu *c = s->cur_cpu;
	bool callout = sh->bt && s->cfg.bt_adapt && sh->bt_adapted;
	enter(s, c, &s->st.vm_exits_pf, s->cfg.vtx_pf, callout);
	if (sh->bt && s->cfg.bt_adapt)
		sh->bt_adapted = true;
	s->st.pt_write_traps++;
	/* A retranslated write is emulated inside the callout itself (Adams &
	 * Agesen's ptemod under BT costs about one callout). */
	if (!callout)
		vmm_work(s, s->cfg.vmm_ptwrite);
	if (s->cfg.vmm_unsync && sp->level == 0) {
		sp->unsync = true;
		s->st.shadow_unsyncs++;
		return;
	}
	zap_spte(sh, sp->table + (ea & 0xfff), sp->level);
}

static void sync_all(struct sim *s)
{
	struct shadow *sh = SH(s);
	for (size_t i = 0; i < sh->nsp; i++) {
		struct sp *sp = &sh->sps[i];
		if (!sp->live || !sp->unsync)
			continue;
		for (unsigned j = 0; j < PT_ENTRIES; j++)
			physmem_write(sh->p2m.hpm, sp->table + j * PT_ENTRY_SIZE, 0);
		sp->unsync = false;
		s->st.shadow_syncs++;
		vmm_work(s, s->cfg.vmm_sync);
	}
}

static void switch_root(struct sim *s, struct vcpu *c)
{
	struct shadow *sh = SH(s);
	gpa_t g = c->cur->cr3;
	sh->clock++;
	for (unsigned r = 0; r < sh->nroots; r++)
		if (sh->roots[r].gcr3 == g) {
			sh->roots[r].lru = sh->clock;
			sh->cur_root[c->id] = sh->sps[sh->roots[r].sp].table;
			s->st.shadow_root_switches++;
			vmm_work(s, s->cfg.vmm_root_switch);
			return;
		}
	unsigned limit = s->cfg.vmm_roots < MAX_ROOTS ? s->cfg.vmm_roots : MAX_ROOTS;
	if (sh->nroots >= limit) {
		unsigned victim = 0;
		for (unsigned r = 1; r < sh->nroots; r++)
			if (sh->roots[r].lru < sh->roots[victim].lru)
				victim = r;
		sp_zap(sh, &sh->sps[sh->roots[victim].sp]);
		flush_pwcs(s);
	}
	struct sp *old = sp_of_gtable(sh, g);
	if (old) /* shadowed at another level: start afresh */
		sp_zap(sh, old);
	uint32_t id;
	if (sp_new(sh, g, s->gfmt->levels - 1, &id) < 0) {
		if (!s->err)
			s->err = VM_ENOMEM;
		return;
	}
	sh->roots[sh->nroots++] = (struct root){.gcr3 = g, .sp = id, .lru = sh->clock};
	sh->cur_root[c->id] = sh->sps[id].table;
	s->st.shadow_root_builds++;
	vmm_work(s, s->cfg.vmm_root_build);
}

/* Entering the VMM for a CR3 write: a VM exit, or a callout costing bt.cr3
 * in all (the profiles set it to one callout). */
static void cr3_entry(struct sim *s, struct vcpu *c)
{
	if (SH(s)->bt) {
		s->st.vmm_traps++;
		s->st.cycles_exit += s->cfg.bt_cr3;
	} else {
		sim_vm_exit(s, c, &s->st.vm_exits_cr3, s->cfg.vtx_exit, s->cfg.vtx_cr3);
	}
}

static void shadow_cr3_write(struct sim *s, struct vcpu *c)
{
	struct shadow *sh = SH(s);
	cr3_entry(s, c);
	if (sh->bt)
		bt_warm(s, EV_SWITCH);
	sync_all(s);
	switch_root(s, c);
}

static void shadow_invlpg(struct sim *s, struct vcpu *c, const struct gos_proc *p, gva_t va)
{
	struct shadow *sh = SH(s);
	if (c->cur != p || !sh->cur_root[c->id])
		return;
	if (sh->bt) { /* a callout costing bt.invlpg in all */
		s->st.vmm_traps++;
		s->st.cycles_exit += s->cfg.bt_invlpg;
	} else {
		sim_vm_exit(s, c, &s->st.vm_exits_invlpg, s->cfg.vtx_exit, s->cfg.vtx_invlpg);
	}
	/* Drop the shadow leaf for va (the next access refills it). */
	hpa_t table = sh->cur_root[c->id];
	for (int l = (int)sh->sf->levels - 1; l >= 0; l--) {
		hpa_t spte = table + pt_index(sh->sf, va, (unsigned)l) * PT_ENTRY_SIZE;
		uint64_t e = physmem_read(sh->p2m.hpm, spte);
		if (!pt_is_present(sh->sf, e))
			return;
		if (pt_is_leaf(sh->sf, e, (unsigned)l)) {
			struct sp *sp = sp_of_table(sh, table);
			if (sp && sp->unsync)
				vmm_work(s, s->cfg.vmm_sync);
			physmem_write(sh->p2m.hpm, spte, 0);
			return;
		}
		table = pt_next_table(sh->sf, e);
	}
}

/* The guest flushes its whole address space: a CR3 reload. */
static void shadow_flush(struct sim *s, const struct gos_proc *p)
{
	struct vcpu *c = s->cur_cpu;
	if (c->cur != p)
		return;
	cr3_entry(s, c);
	sync_all(s);
}

static void shadow_table_freed(struct sim *s, gpa_t table)
{
	struct shadow *sh = SH(s);
	struct sp *sp = sp_of_gtable(sh, table);
	if (sp) {
		sp_zap(sh, sp);
		flush_pwcs(s);
	}
}

static void shadow_guest_fault(struct sim *s, struct vcpu *c, gva_t va)
{
	bt_warm(s, BT_PAGE_FAULT);
}

static void shadow_sensitive(struct sim *s, struct vcpu *c, const struct vm_event *ev)
{
	struct shadow *sh = SH(s);
	const struct cfg *cf = &s->cfg;
	if (sh->bt) {
		bt_warm(s, ev->kind);
		/* bt.syscall, bt.io and bt.exception are what each costs beyond
		 * native in all, entry into the VMM included (the profiles derive
		 * them from Adams & Agesen's totals), so no trap is added here. */
		switch (ev->kind) {
		case EV_SYSCALL: s->st.vmm_traps++; s->st.cycles_vmm += cf->bt_syscall; break;
		case EV_IO: s->st.vmm_traps++; s->st.cycles_vmm += cf->bt_io; break;
		case EV_CR8: s->st.cycles_bt += cf->bt_cr8; break;
		case EV_EXCEPTION: s->st.vmm_traps++; s->st.cycles_vmm += cf->bt_exception; break;
		case EV_CALLRET: s->st.cycles_bt += cf->bt_callret; break;
		}
		return;
	}
	switch (ev->kind) {
	case EV_IO: sim_vm_exit(s, c, &s->st.vm_exits_io, cf->vtx_exit, cf->vtx_io); break;
	case EV_CR8:
		if (!cf->vtx_tpr_shadow)
			sim_vm_exit(s, c, &s->st.vm_exits_cr8, cf->vtx_exit, cf->vtx_cr8);
		break;
	case EV_EXCEPTION:
		if (cf->vtx_exception)
			sim_vm_exit(s, c, &s->st.vm_exits_exception, cf->vtx_exit, cf->vtx_exception);
		break;
	}
}

static void shadow_ipi_send(struct sim *s, struct vcpu *from)
{
	if (SH(s)->bt) {
		enter(s, from, NULL, 0, true);
		s->st.cycles_vmm += s->cfg.smp_ipi_exit;
	} else if (!s->cfg.smp_posted) {
		sim_vm_exit(s, from, &s->st.vm_exits_ipi, s->cfg.vtx_exit, s->cfg.smp_ipi_exit);
	}
}

static void shadow_ipi_recv(struct sim *s, struct vcpu *to)
{
	if (SH(s)->bt) {
		enter(s, to, NULL, 0, false);
		s->st.cycles_vmm += s->cfg.smp_inject_exit;
	} else if (!s->cfg.smp_posted) {
		sim_vm_exit(s, to, &s->st.vm_exits_ipi, s->cfg.vtx_exit, s->cfg.smp_inject_exit);
	}
}

static gpa_t shadow_to_gpa(struct sim *s, uint64_t hpa) { return p2m_to_gpa(&SH(s)->p2m, hpa); }

static struct p2m *shadow_p2m(struct sim *s) { return &SH(s)->p2m; }

static void shadow_gpa_unmapped(struct sim *s, gpa_t gpa, enum page_size ps)
{
	struct shadow *sh = SH(s);
	/* A shadow leaf is never larger than the host leaf it maps. */
	for (int l = (int)ps; l >= PS_4K; l--) {
		uint64_t sz = ps_bytes((enum page_size)l);
		for (gpa_t b = gpa & ~(ps_bytes(ps) - 1); b < (gpa & ~(ps_bytes(ps) - 1)) + ps_bytes(ps); b += sz)
			rmap_zap(sh, b);
	}
	for (unsigned i = 0; i < s->ncpu; i++)
		sim_tlb_flush(s, &s->cpu[i], 0, 0, false);
}

static void shadow_fini(struct sim *s)
{
	struct shadow *sh = SH(s);
	if (!sh)
		return;
	p2m_free(&sh->p2m);
	u64map_free(&sh->by_gtable);
	u64map_free(&sh->by_table);
	u64map_free(&sh->rm_head);
	free(sh->rm);
	free(sh->sps);
	free(sh->free_ids);
	free(sh);
	s->mode_state = NULL;
}

static int shadow_init_common(struct sim *s, bool bt, struct vmerr *err)
{
	struct shadow *sh = calloc(1, sizeof *sh);
	if (!sh)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	s->mode_state = sh;
	sh->s = s;
	sh->bt = bt;
	sh->sf = s->gfmt;
	int rc = p2m_init(&sh->p2m, &s->cfg, &s->st, err);
	if (rc == 0 && (u64map_init(&sh->by_gtable, 256) < 0 || u64map_init(&sh->by_table, 256) < 0))
		rc = vmerr_set(err, VM_ENOMEM, "out of memory");
	if (rc < 0) {
		free(sh);
		s->mode_state = NULL;
	}
	return rc;
}

static int bt_init(struct sim *s, struct vmerr *err) { return shadow_init_common(s, true, err); }
static int vtx_init(struct sim *s, struct vmerr *err) { return shadow_init_common(s, false, err); }

#define SHADOW_OPS                                                                            \
	.vmm_sees_faults = true, .fini = shadow_fini, .fill = shadow_fill, .to_gpa = shadow_to_gpa,                    \
	.pt_write = shadow_pt_write, .cr3_write = shadow_cr3_write, .invlpg = shadow_invlpg,  \
	.flush = shadow_flush, .table_freed = shadow_table_freed,                             \
	.guest_fault = shadow_guest_fault, .sensitive = shadow_sensitive,                     \
	.ipi_send = shadow_ipi_send, .ipi_recv = shadow_ipi_recv, .p2m = shadow_p2m,          \
	.gpa_unmapped = shadow_gpa_unmapped

const struct mmu_ops mmu_bt = {
	.name = "bt",
	.desc = "software MMU (shadow tables), CPU virtualized by binary translation",
	.init = bt_init,
	SHADOW_OPS,
};

const struct mmu_ops mmu_vtx = {
	.name = "vtx",
	.desc = "software MMU (shadow tables), CPU virtualized by trap-and-emulate (VT-x, AMD-V)",
	.init = vtx_init,
	SHADOW_OPS,
};
