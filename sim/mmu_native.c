/*
 * mmu_native.c - no virtualization: the hardware walks the guest's own
 * table (one dimension), with the paging-structure caches in front.
 */
#include "sim.h"

static int native_fetch(void *arg, uint64_t table, uint64_t ea, unsigned level, uint64_t *val,
			struct walk_rec *rec)
{
	struct sim *s = arg;
	const uint64_t *e = sim_fetch_entry(s->hint_guest, s->hint_gkey, s->gpm, table, ea, level);
	*val = e ? *e : 0;
	sim_walk_ref(s, rec, WALK_GUEST, level, table, ea, ea, *val);
	return 0;
}

static void native_store(void *arg, uint64_t ea, uint64_t val)
{
	struct sim *s = arg;
	physmem_write(s->gpm, ea, val);
}

static void count_pwc_hit(struct stats *st, unsigned level)
{
	switch (level) {
	case 1: st->pwc_hits_pde++; break;
	case 2: st->pwc_hits_pdpte++; break;
	case 3: st->pwc_hits_pml4e++; break;
	case 4: st->pwc_hits_pml5e++; break;
	}
}

/* One-dimensional walk of the table at root, shared with the shadow modes;
 * inline here so native_fill's hooks become direct calls. */
static inline __attribute__((always_inline)) int
walk_1d(struct sim *s, struct vcpu *c, const struct pt_format *f, uint64_t root, gva_t va,
	unsigned need, const struct walk_io *io, struct walk_rec *rec, struct walk_out *w)
{
	uint64_t table = root;
	unsigned hit = pwc_find(&c->pwc, va, c->ctx, &table);
	unsigned level = hit ? hit - 1 : f->levels - 1;
	if (hit)
		count_pwc_hit(&s->st, hit);
	if (walk_rec_note(rec))
		rec->note[rec->nnotes++] = (struct walk_note){.dim = WALK_GUEST,
							      .pwc_level = hit ? (int8_t)hit : -1,
							      .addr = va};
	s->st.walks++;
	walk_run_inline(f, table, level, va, need & ~(unsigned)PTE_PERM_D, true, io, rec, w);
	if (w->fault != WALK_OK)
		return MMU_GUEST_FAULT;
	for (unsigned l = w->top; l > w->level; l--)
		pwc_fill(&c->pwc, va, c->ctx, l, w->next_table[l]);
	return MMU_OK;
}

int mmu_walk_1d(struct sim *s, struct vcpu *c, const struct pt_format *f, uint64_t root,
		gva_t va, unsigned need, const struct walk_io *io, struct walk_rec *rec,
		struct walk_out *w)
{
	return walk_1d(s, c, f, root, va, need, io, rec, w);
}

static int native_fill(struct sim *s, struct vcpu *c, gva_t va, unsigned need,
		       struct mmu_fill *out, struct walk_rec *rec)
{
	struct walk_io io = {native_fetch, native_store, s};
	struct walk_out w;
	s->hint_gkey = sim_hint_key(c, va);
	int rc = walk_1d(s, c, s->gfmt, c->cur->cr3, va, need, &io, rec, &w);
	if (rc != MMU_OK)
		return rc;
	out->ps = (enum page_size)w.level;
	out->pa_page = w.pa & ~(ps_bytes(out->ps) - 1);
	out->perms = w.perms;
	return MMU_OK;
}

/* Look-ahead: the guest PTE of va, then the cache-model sets its read will
 * probe. */
static void native_prefetch(struct sim *s, const struct vcpu *c, gva_t va, unsigned stage)
{
	sim_prefetch_guest_pte(s, c, va, stage);
}

const struct mmu_ops mmu_native = {
	.name = "native",
	.desc = "no virtualization: the hardware walks the guest's table",
	.fill = native_fill,
	.prefetch = native_prefetch,
};
