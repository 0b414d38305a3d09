/*
 * pwc.h - paging-structure caches: one small cache per upper level.
 *
 * pwc->lvl[L] caches level-L entries (L >= 1: PDE, PDPTE, PML4E, PML5E),
 * keyed by the address bits that select them (addr >> (12 + 9L)); a hit
 * gives the table the level-L entry points to, so the walk resumes at level
 * L-1.  Intel SDM Vol. 3A 4.10.3.  The same structure serves the guest
 * dimension (keyed by guest-virtual address, tagged with PCID and VPID) and
 * the host dimension of nested walks (keyed by guest-physical address).
 */
#ifndef VMSIM_PWC_H
#define VMSIM_PWC_H

#include "../config.h"
#include "tlb.h"

struct pwc {
	struct tlb lvl[5];
	bool have[5];
	unsigned levels;
	bool enabled;
};

/* sizes[L] for L = 1..4 (index 0 unused); entries == 0 means no cache there. */
int pwc_init(struct pwc *p, const struct cfg_cache sizes[5], unsigned levels, bool enabled,
	     enum tlb_policy policy, struct vmerr *err);
void pwc_free(struct pwc *p);

/* Deepest hit: returns the level whose entry hit (1..levels-1) and the
 * next table in *table, or 0 if nothing hit. */
static inline unsigned pwc_find(struct pwc *p, uint64_t addr, uint32_t ctx, uint64_t *table)
{
	if (!p->enabled)
		return 0;
	for (unsigned l = 1; l < p->levels; l++) {
		if (!p->have[l])
			continue;
		struct tlb_entry *e = tlb_lookup(&p->lvl[l], addr, 0, ctx);
		if (e) {
			*table = e->val;
			return l;
		}
	}
	return 0;
}

/* Fill level `level` after a walk that pwc_find started below it: pwc_find
 * looked that level up and missed (it stops at the deepest hit, and the
 * walk fills only levels under it), so the entry is new. */
static inline void pwc_fill(struct pwc *p, uint64_t addr, uint32_t ctx, unsigned level,
			    uint64_t next_table)
{
	if (p->enabled && level >= 1 && level < p->levels && p->have[level])
		tlb_insert_new(&p->lvl[level], addr, 0, ctx, TLB_CTX_ALL, next_table);
}

void pwc_flush_ctx(struct pwc *p, uint32_t ctx, uint32_t match_mask);
void pwc_flush_all(struct pwc *p);

#endif
