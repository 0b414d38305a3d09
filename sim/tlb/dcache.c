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
 *  - Replacement is exact LRU per set: every hit or fill stamps the way
 *    with the level's 32-bit clock; a fill takes the lowest invalid way, else
 *    the oldest stamp (lowest way on a tie).  Before the clock wraps, each
 *    set's stamps are renumbered 1..ways in the same order.  These are the
 *    decisions the generic struct tlb with TLB_LRU makes, which this model
 *    used until its three scattered arrays per set became the cost of a walk.
 *  - One access probes the levels top down and remembers each set it looked
 *    at, so the fills after a miss do not search again; the L2 and L3 sets
 *    are prefetched before L1 is probed, since most walk references of a
 *    large footprint miss L1.
 */
#include "dcache.h"

#include <stdlib.h>
#include <string.h>

#define DCACHE_MAX_KIB (1u << 22) /* 4 GiB: 64 Mi lines */

static void level_free(struct dcache_level *v)
{
	free(v->blk);
	free(v->scratch);
	memset(v, 0, sizeof *v);
}

static int level_init(struct dcache_level *v, unsigned lines, unsigned ways)
{
	memset(v, 0, sizeof *v);
	v->ways = ways;
	v->sets = lines / ways;
	v->pow2 = (v->sets & (v->sets - 1)) == 0;
	v->set_mask = v->sets - 1;
	if (!v->pow2)
		v->fastmod_m = UINT64_C(0xFFFFFFFFFFFFFFFF) / v->sets + 1;
	v->ktags = (ways + 3) & ~3u;
	/* tags, then ways 32-bit stamps; the block a whole number of 64-byte lines */
	v->stride = (v->ktags + (ways + 1) / 2 + 7) & ~7u;
	size_t bytes = (size_t)v->sets * v->stride * sizeof *v->blk;
	v->blk = aligned_alloc(64, bytes);
	v->scratch = malloc(ways * sizeof *v->scratch);
	if (!v->blk || !v->scratch) {
		level_free(v);
		return VM_ENOMEM;
	}
	memset(v->blk, 0, bytes);
	return 0;
}

int dcache_init(struct dcache *d, const struct dcache_geom *g, struct vmerr *err)
{
	static const char *const names[DCACHE_LEVELS] = {"L1", "L2", "L3"};
	int rc;

	memset(d, 0, sizeof *d);
	if (g->policy != TLB_LRU)
		return vmerr_set(err, VM_EINPUT, "dcache: only LRU replacement is modelled (policy %s)",
				 tlb_policy_name(g->policy));
	for (unsigned l = 0; l < DCACHE_LEVELS; l++) {
		d->latency[l] = g->lvl[l].latency;
		if (g->lvl[l].kib == 0)
			continue;
		if (g->lvl[l].kib > DCACHE_MAX_KIB) {
			rc = vmerr_set(err, VM_EINPUT,
				       "dcache %s: %u KiB is too large; use at most %u KiB (4 GiB)",
				       names[l], g->lvl[l].kib, DCACHE_MAX_KIB);
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
		if (level_init(&d->lvl[l], lines, g->lvl[l].ways) < 0) {
			rc = vmerr_set(err, VM_ENOMEM, "dcache %s: out of memory for %u lines",
				       names[l], lines);
			goto err;
		}
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
			level_free(&d->lvl[l]);
	memset(d, 0, sizeof *d);
}

static inline uint32_t *stamps(const struct dcache_level *v, uint64_t *b)
{
	return (uint32_t *)(b + v->ktags);
}

/* The way holding tag in set block b, or -1. */
static inline int find(const struct dcache_level *v, const uint64_t *b, uint64_t tag)
{
	if (VM_LIKELY(v->ktags <= 64)) {
		uint64_t m = tlb_match_(b, v->ktags, tag);
		return m ? __builtin_ctzll(m) : -1;
	}
	for (unsigned w = 0; w < v->ways; w++)
		if (b[w] == tag)
			return (int)w;
	return -1;
}

/* Renumber each set's stamps 1..ways in their current order, so the clock
 * can restart at ways without changing which line is oldest. */
static void renumber(struct dcache_level *v)
{
	for (unsigned s = 0; s < v->sets; s++)
		tlb_lru_rank(stamps(v, v->blk + (size_t)s * v->stride), v->ways, v->scratch);
	v->clock = v->ways;
}

static inline void touch(struct dcache_level *v, uint64_t *b, unsigned w)
{
	if (VM_UNLIKELY(v->clock == UINT32_MAX))
		renumber(v);
	stamps(v, b)[w] = ++v->clock;
}

/* Put tag, known to be absent, into set block b: the lowest invalid way,
 * else the least recently used. */
static void fill(struct dcache_level *v, uint64_t *b, uint64_t tag)
{
	unsigned w = v->ways;
	if (VM_LIKELY(v->ktags <= 64)) {
		uint64_t empty = tlb_match_(b, v->ktags, 0);
		if (v->ways < 64)
			empty &= (UINT64_C(1) << v->ways) - 1;
		if (empty)
			w = (unsigned)__builtin_ctzll(empty);
	} else {
		for (unsigned i = 0; i < v->ways && w == v->ways; i++)
			if (!b[i])
				w = i;
	}
	if (w == v->ways)
		w = tlb_lru_oldest(stamps(v, b), v->ways);
	b[w] = tag;
	touch(v, b, w);
}

unsigned dcache_access(struct dcache *d, uint64_t pa, unsigned *latency)
{
	uint64_t line = pa >> DCACHE_LINE_SHIFT, tag = line + 1;
	uint64_t *blk[DCACHE_LEVELS] = {NULL, NULL, NULL};
	unsigned l;

	for (l = 0; l < DCACHE_LEVELS; l++)
		if (d->present[l]) {
			blk[l] = dcache_set_of(&d->lvl[l], line);
			if (l)
				__builtin_prefetch(blk[l]);
		}
	for (l = 0; l < DCACHE_LEVELS; l++) {
		if (!blk[l])
			continue;
		int w = find(&d->lvl[l], blk[l], tag);
		if (w >= 0) {
			touch(&d->lvl[l], blk[l], (unsigned)w);
			break;
		}
	}
	for (unsigned up = 0; up < l; up++)
		if (blk[up])
			fill(&d->lvl[up], blk[up], tag);
	d->served[l]++;
	if (latency)
		*latency = d->latency[l];
	return l;
}

void dcache_flush(struct dcache *d)
{
	for (unsigned l = 0; l < DCACHE_LEVELS; l++)
		if (d->present[l]) {
			struct dcache_level *v = &d->lvl[l];
			memset(v->blk, 0, (size_t)v->sets * v->stride * sizeof *v->blk);
			v->clock = 0;
		}
}
