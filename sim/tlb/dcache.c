/*
 * dcache.c - a three-level data-cache model for page-table-entry reads.
 *
 * Notes:
 *  - It models where a page-walk read is served, not data: each level only
 *    remembers which 64-byte lines it holds.  Lines are physical addresses
 *    (gpa in native mode, hpa under nested paging); there are no contexts.
 *  - A level's latency is the load-to-use latency of a read that level
 *    serves, as published figures quote it (e.g. Intel's optimization manual
 *    and Agner Fog's microarchitecture guide give L1 4-5, L2 12-14, L3 ~40
 *    cycles on recent cores), not an increment added per level missed.
 *  - Fill on miss, non-inclusive, non-exclusive: a read served by level L is
 *    inserted into every level above L; nothing is written back down on an
 *    eviction, and evicting a line from L2 or L3 does not remove it from the
 *    levels above (real L3s are often inclusive or victim caches; here the
 *    difference only shows when a walk's lines thrash L2/L3).
 *  - Only page-walk reads go through this model; the workload's own data
 *    accesses do not, so the caches are as warm as page-table traffic alone
 *    makes them.  That understates pollution by data, which real walks see.
 *  - Writes (A/D bit updates) are treated as reads of the line; there is no
 *    dirty state, no write-back cost, no coherence, no prefetching, one core.
 *  - Replacement is the tlb module's (LRU, tree-PLRU or random) per set.
 */
#include "dcache.h"

#include <string.h>

int dcache_init(struct dcache *d, const struct dcache_geom *g, struct vmerr *err)
{
	static const char *const names[DCACHE_LEVELS] = {"L1", "L2", "L3"};
	int rc;

	memset(d, 0, sizeof *d);
	for (unsigned l = 0; l < DCACHE_LEVELS; l++) {
		d->latency[l] = g->lvl[l].latency;
		if (g->lvl[l].kib == 0)
			continue;
		/* 4 GiB is 64 Mi lines, the most a struct tlb holds; checked here
		 * so the message speaks of KiB, not entries. */
		if (g->lvl[l].kib > (1u << 22)) {
			rc = vmerr_set(err, VM_EINPUT,
				       "dcache %s: %u KiB is too large; use at most %u KiB (4 GiB)",
				       names[l], g->lvl[l].kib, 1u << 22);
			goto err;
		}
		unsigned lines = g->lvl[l].kib * (1024u >> DCACHE_LINE_SHIFT);
		if (g->lvl[l].ways == 0 || lines % g->lvl[l].ways != 0) {
			rc = vmerr_set(err, VM_EINPUT,
				       "dcache %s: %u KiB is %u lines of 64 bytes, which do not "
				       "split into %u-way sets; pick ways that divide %u",
				       names[l], g->lvl[l].kib, lines, g->lvl[l].ways, lines);
			goto err;
		}
		struct tlb_geom tg = {
			.entries = lines,
			.ways = g->lvl[l].ways,
			.policy = g->policy,
			.classes = 1,
			.shift = {DCACHE_LINE_SHIFT},
		};
		rc = tlb_init(&d->lvl[l], &tg, err);
		if (rc < 0)
			goto err;
		d->present[l] = true;
	}
	d->latency[DCACHE_MEM] = g->mem_latency;
	return 0;

err:
	dcache_free(d);
	return rc;
}

void dcache_free(struct dcache *d)
{
	for (unsigned l = 0; l < DCACHE_LEVELS; l++)
		if (d->present[l])
			tlb_free(&d->lvl[l]);
	memset(d, 0, sizeof *d);
}

unsigned dcache_access(struct dcache *d, uint64_t pa, unsigned *latency)
{
	unsigned l;
	for (l = 0; l < DCACHE_LEVELS; l++)
		if (d->present[l] && tlb_lookup(&d->lvl[l], pa, 0, 0))
			break;
	for (unsigned up = 0; up < l; up++)
		if (d->present[up])
			tlb_insert(&d->lvl[up], pa, 0, 0, TLB_CTX_ALL, 0);
	d->served[l]++;
	if (latency)
		*latency = d->latency[l];
	return l;
}

void dcache_flush(struct dcache *d)
{
	for (unsigned l = 0; l < DCACHE_LEVELS; l++)
		if (d->present[l])
			tlb_flush_all(&d->lvl[l]);
}
