/*
 * nested.c - hardware-assisted MMU: EPT (Intel) or NPT (AMD).
 *
 * Notes:
 *  - The two-dimensional walk is the guest walker (walk_run over the guest
 *    table) whose fetch hook first translates the guest-physical address of
 *    the entry through the host table, then reads the entry at the host
 *    address.  The final guest-physical address is translated the same way.
 *    A cold walk therefore makes n*(m+1) + m = (n+1)(m+1)-1 references for an
 *    n-level guest and an m-level host table (Bhargava et al., ASPLOS 2008,
 *    Fig. 2), fewer where either has large leaves.
 *  - Caches on the path: the guest-dimension PWC (keyed by guest-virtual
 *    address), a nested TLB (guest-physical -> host-physical, keyed by host
 *    leaf), and host-dimension PWCs (keyed by guest-physical address), each
 *    tagged with the VPID, each sized in the config and able to be switched
 *    off.
 *  - A TLB entry's page size is the smaller of the guest and the host leaf.
 *  - Host memory is allocated on the guest's first touch: the host walk
 *    finds no entry, an EPT violation exits to the VMM, which backs the
 *    block (p2m_back) and resumes; the access then walks again from scratch.
 *  - Guest page faults, CR3 writes and INVLPG do not exit; port I/O always
 *    exits; CR8 writes exit unless the TPR shadow is on.  Without VPID every
 *    exit flushes the guest's TLB entries and PWCs, but not the nested TLB
 *    or host PWCs, which hold guest-physical mappings tagged by EPTP
 *    (SDM 28.3.1).
 *  - When the host takes a block away from the VM (balloon, host swap,
 *    working-set sampling; sim/host.c), it zaps the EPT leaf and issues a
 *    single-context INVEPT, as KVM's MMU notifier does (kvm_flush_remote_tlbs):
 *    every guest-physical and combined mapping of the VM goes, on every
 *    vCPU (nested TLB, host PWCs, TLBs and guest PWCs).  A flush of the
 *    whole VM rather than of one address, as the hardware offers.
 */
#include <stdlib.h>

#include "../p2m.h"
#include "../sim.h"

#define VIOLATION (-1000) /* private: a host walk found no entry */

struct nested {
	struct p2m p2m;
	struct tlb ntlb[SIM_MAX_VCPUS];
	bool have_ntlb;
	struct pwc hpwc[SIM_MAX_VCPUS];
	gpa_t fault_gpa;
	struct hint hint_host; /* the host's leaf tables by guest-physical region */
	uint64_t hint_hkey;    /* key of the host walk in flight */
	struct vcpu *c; /* vCPU whose walk is in flight (for the hooks) */
	struct sim *s;
};

static struct nested *N(struct sim *s) { return s->mode_state; }

static int host_fetch(void *arg, uint64_t table, uint64_t ea, unsigned level, uint64_t *val,
		      struct walk_rec *rec)
{
	struct nested *n = arg;
	const uint64_t *e = sim_fetch_entry(&n->hint_host, n->hint_hkey, n->p2m.hpm, table, ea, level);
	*val = e ? *e : 0;
	n->s->st.nested_walk_refs++;
	sim_walk_ref(n->s, rec, WALK_HOST, level, table, ea, ea, *val);
	return 0;
}

static void host_store(void *arg, uint64_t ea, uint64_t val)
{
	struct nested *n = arg;
	physmem_write(n->p2m.hpm, ea, val);
}

/* gpa -> hpa through the nested TLB or a host walk.  0, or VIOLATION. */
static int host_translate(struct nested *n, struct vcpu *c, gpa_t gpa, unsigned need,
			  struct walk_rec *rec, hpa_t *hpa, enum page_size *hps)
{
	struct sim *s = n->s;
	uint32_t hctx = tlb_ctx(c->vpid, 0);
	bool seen = false; /* an entry was there, without the rights: the insert refreshes it */
	if (n->have_ntlb) {
		for (unsigned ps = 0; ps <= (unsigned)n->p2m.page; ps++) { /* no larger host leaf exists */
			struct tlb_entry *e = tlb_lookup(&n->ntlb[c->id], gpa, ps, hctx);
			seen |= e != NULL;
			if (e && (e->val & need) == need) {
				s->st.ntlb_hits++;
				*hps = (enum page_size)ps;
				*hpa = (e->val & ~TLB_VAL_PERMS) | (gpa & (ps_bytes(*hps) - 1));
				return 0;
			}
		}
		s->st.ntlb_misses++;
	}
	const struct pt_format *hf = n->p2m.f;
	uint64_t table = n->p2m.root;
	unsigned hit = pwc_find(&n->hpwc[c->id], gpa, hctx, &table);
	if (hit)
		s->st.hpwc_hits++;
	else
		table = n->p2m.root;
	if (walk_rec_note(rec))
		rec->note[rec->nnotes++] = (struct walk_note){.dim = WALK_HOST,
							      .pwc_level = hit ? (int8_t)hit : -1,
							      .addr = gpa};
	struct walk_io io = {host_fetch, host_store, n};
	struct walk_out w;
	n->hint_hkey = hint_key(gpa, 0);
	walk_run_inline(hf, table, hit ? hit - 1 : hf->levels - 1, gpa, need, true, &io, rec, &w);
	if (w.fault != WALK_OK) {
		n->fault_gpa = gpa;
		return VIOLATION;
	}
	for (unsigned l = w.top; l > w.level; l--)
		pwc_fill(&n->hpwc[c->id], gpa, hctx, l, w.next_table[l]);
	*hps = (enum page_size)w.level;
	*hpa = w.pa;
	if (n->have_ntlb) {
		uint64_t val = (w.pa & ~(ps_bytes(*hps) - 1)) | (w.perms & TLB_VAL_PERMS);
		if (seen)
			tlb_insert(&n->ntlb[c->id], gpa, w.level, hctx, TLB_CTX_ALL, val);
		else
			tlb_insert_new(&n->ntlb[c->id], gpa, w.level, hctx, TLB_CTX_ALL, val);
	}
	return 0;
}

static int guest_fetch(void *arg, uint64_t table, uint64_t ea, unsigned level, uint64_t *val,
		       struct walk_rec *rec)
{
	struct nested *n = arg;
	hpa_t hpa;
	enum page_size hps;
	/* The guest entry is read only after its address is translated, but
	 * where it lives in the simulator is known now: start the host's load
	 * of it (on a large table, a cache miss) under the host translation.
	 * host_translate changes host memory only, so the pointer stays valid. */
	uint64_t freed = physmem_tables_freed(n->s->gpm);
	const uint64_t *entry = level == 0 ? hint_leaf_entry(n->s->hint_guest, n->s->hint_gkey, table,
							     ea, freed)
					   : NULL;
	bool hinted = entry != NULL;
	if (!hinted)
		entry = physmem_entry(n->s->gpm, ea);
	if (entry)
		__builtin_prefetch(entry);
	int rc = host_translate(n, n->c, ea, PTE_PERM_U, rec, &hpa, &hps);
	if (rc < 0)
		return rc;
	/* Recorded again where it was not there, or where the table has moved
	 * in host memory (the look-ahead prefetches model sets by hpa). */
	if (level == 0 && entry &&
	    (!hinted || hint_get(n->s->hint_guest, n->s->hint_gkey)->pa != (hpa & ~UINT64_C(0xfff))))
		hint_put_entry(n->s->hint_guest, n->s->hint_gkey, entry, hpa, freed, table);
	*val = entry ? *entry : 0;
	sim_walk_ref(n->s, rec, WALK_GUEST, level, table, ea, hpa, *val);
	return 0;
}

static void guest_store(void *arg, uint64_t ea, uint64_t val)
{
	struct nested *n = arg;
	physmem_write(n->s->gpm, ea, val);
}

static int violation(struct sim *s, struct vcpu *c, struct nested *n)
{
	sim_vm_exit(s, c, &s->st.vm_exits_violation, s->cfg.nested_exit,
		    s->cfg.nested_violation + s->cfg.vmm_host_alloc);
	return p2m_back(&n->p2m, n->fault_gpa, &s->errmsg);
}

static int nested_fill(struct sim *s, struct vcpu *c, gva_t va, unsigned need,
		       struct mmu_fill *out, struct walk_rec *rec)
{
	struct nested *n = N(s);
	n->c = c;
	s->hint_gkey = sim_hint_key(c, va);
	unsigned hneed = PTE_PERM_U | (need & (PTE_PERM_W | PTE_PERM_X));
	for (int attempt = 0; attempt < 64; attempt++) {
		struct walk_io io = {guest_fetch, guest_store, n};
		struct walk_out w;
		uint64_t table = c->cur->cr3;
		unsigned hit = pwc_find(&c->pwc, va, c->ctx, &table);
		if (hit) {
			if (hit == 1) s->st.pwc_hits_pde++;
			else if (hit == 2) s->st.pwc_hits_pdpte++;
			else if (hit == 3) s->st.pwc_hits_pml4e++;
			else s->st.pwc_hits_pml5e++;
		}
		if (walk_rec_note(rec))
			rec->note[rec->nnotes++] = (struct walk_note){
				.dim = WALK_GUEST, .pwc_level = hit ? (int8_t)hit : -1, .addr = va};
		s->st.walks++;
		walk_run_inline(s->gfmt, table, hit ? hit - 1 : s->gfmt->levels - 1, va,
				need & ~(unsigned)PTE_PERM_D, true, &io, rec, &w);
		if (w.fault == WALK_INNER) {
			int rc = violation(s, c, n);
			if (rc < 0)
				return rc;
			continue;
		}
		if (w.fault != WALK_OK)
			return MMU_GUEST_FAULT;
		for (unsigned l = w.top; l > w.level; l--)
			pwc_fill(&c->pwc, va, c->ctx, l, w.next_table[l]);
		hpa_t hpa;
		enum page_size hps;
		if (host_translate(n, c, w.pa, hneed, rec, &hpa, &hps) < 0) {
			int rc = violation(s, c, n);
			if (rc < 0)
				return rc;
			continue;
		}
		out->ps = (enum page_size)w.level < hps ? (enum page_size)w.level : hps;
		out->pa_page = hpa & ~(ps_bytes(out->ps) - 1);
		out->perms = w.perms;
		return MMU_OK;
	}
	return vmerr_set(&s->errmsg, VM_EINPUT, "internal: nested walk of 0x%llx keeps faulting",
			 (unsigned long long)va);
}

/* Look-ahead: stage 0 the guest PTE of va; stage 1 reads it (prefetched by
 * then) if its table cannot have been freed since the hint was recorded,
 * and if it maps a 4 KiB page, prefetches the host PTE of that guest page;
 * and the cache-model sets both reads will probe.  Only prefetches: host
 * hints are never read through. */
static void nested_prefetch(struct sim *s, const struct vcpu *c, gva_t va, unsigned stage)
{
	const struct hint_slot *g = sim_prefetch_guest_pte(s, c, va, stage);
	if (!g || stage == 0 || g->freed != physmem_tables_freed(s->gpm))
		return;
	uint64_t pte = *hint_entry(g->table, va);
	if (!pt_is_present(s->gfmt, pte))
		return;
	gpa_t gpa = pt_leaf_pa(s->gfmt, pte, 0, va);
	const struct hint_slot *h = hint_get(&N(s)->hint_host, hint_key(gpa, 0));
	if (!h)
		return;
	__builtin_prefetch(hint_entry(h->table, gpa));
	if (sim_dc_prefetch(s))
		dcache_prefetch(&s->dc, h->pa + ((gpa >> 9) & 0xff8));
}

static gpa_t nested_to_gpa(struct sim *s, uint64_t hpa) { return p2m_to_gpa(&N(s)->p2m, hpa); }

static void nested_sensitive(struct sim *s, struct vcpu *c, const struct vm_event *ev)
{
	const struct cfg *cf = &s->cfg;
	if (ev->kind == EV_IO)
		sim_vm_exit(s, c, &s->st.vm_exits_io, cf->nested_exit, cf->nested_io);
	else if (ev->kind == EV_CR8 && !cf->nested_tpr_shadow)
		sim_vm_exit(s, c, &s->st.vm_exits_cr8, cf->nested_exit, cf->nested_cr8);
}

static void nested_ipi_send(struct sim *s, struct vcpu *from)
{
	if (!s->cfg.smp_posted)
		sim_vm_exit(s, from, &s->st.vm_exits_ipi, s->cfg.nested_exit, s->cfg.smp_ipi_exit);
}

static void nested_ipi_recv(struct sim *s, struct vcpu *to)
{
	if (!s->cfg.smp_posted)
		sim_vm_exit(s, to, &s->st.vm_exits_ipi, s->cfg.nested_exit, s->cfg.smp_inject_exit);
}

static void nested_cold(struct sim *s)
{
	struct nested *n = N(s);
	for (unsigned i = 0; i < SIM_MAX_VCPUS; i++) {
		if (n->have_ntlb)
			tlb_flush_all(&n->ntlb[i]);
		pwc_flush_all(&n->hpwc[i]);
	}
}

static struct p2m *nested_p2m(struct sim *s) { return &N(s)->p2m; }

static void nested_gpa_unmapped(struct sim *s, gpa_t gpa, enum page_size ps)
{
	struct nested *n = N(s);
	for (unsigned i = 0; i < s->ncpu; i++) {
		struct vcpu *c = &s->cpu[i];
		if (n->have_ntlb)
			tlb_flush_all(&n->ntlb[c->id]);
		pwc_flush_all(&n->hpwc[c->id]);
		sim_tlb_flush(s, c, 0, 0, false);
	}
}

static void nested_fini(struct sim *s)
{
	struct nested *n = N(s);
	if (!n)
		return;
	for (unsigned i = 0; i < SIM_MAX_VCPUS; i++) {
		if (n->have_ntlb && n->ntlb[i].e)
			tlb_free(&n->ntlb[i]);
		pwc_free(&n->hpwc[i]);
	}
	p2m_free(&n->p2m);
	free(n);
	s->mode_state = NULL;
}

static int nested_init(struct sim *s, struct vmerr *err)
{
	struct nested *n = calloc(1, sizeof *n);
	if (!n)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	s->mode_state = n;
	n->s = s;
	int rc = p2m_init(&n->p2m, &s->cfg, &s->st, err);
	if (rc < 0) {
		free(n);
		s->mode_state = NULL;
		return rc;
	}
	n->have_ntlb = s->cfg.ntlb_enabled && s->cfg.ntlb.entries;
	for (unsigned i = 0; i < SIM_MAX_VCPUS && rc == 0; i++) {
		if (n->have_ntlb) {
			struct tlb_geom g = {.entries = s->cfg.ntlb.entries, .ways = s->cfg.ntlb.ways,
					     .policy = (enum tlb_policy)s->cfg.policy, .classes = 7,
					     .shift = {12, 21, 30}};
			rc = tlb_init(&n->ntlb[i], &g, err);
		}
		if (rc == 0)
			rc = pwc_init(&n->hpwc[i], s->cfg.hpwc, s->cfg.host_levels, s->cfg.hpwc_enabled,
				      (enum tlb_policy)s->cfg.policy, err);
	}
	if (rc < 0)
		nested_fini(s);
	return rc;
}

const struct mmu_ops mmu_nested = {
	.name = "nested",
	.desc = "hardware-assisted CPU and MMU: 2D walks through EPT/NPT (aliases ept, npt)",
	.init = nested_init,
	.fini = nested_fini,
	.fill = nested_fill,
	.prefetch = nested_prefetch,
	.to_gpa = nested_to_gpa,
	.sensitive = nested_sensitive,
	.cold = nested_cold,
	.ipi_send = nested_ipi_send,
	.ipi_recv = nested_ipi_recv,
	.p2m = nested_p2m,
	.gpa_unmapped = nested_gpa_unmapped,
};
