/*
 * dcache.h - the data-cache model page-table-entry fetches go through.
 *
 * A page walk reads one entry per level; where that read is served (L1, L2,
 * L3 or memory) decides what the walk costs.  See dcache.c for what is
 * modelled and what is not.
 *
 * Each level is a set-associative array of 64-byte line tags with exact LRU.
 * It is not a struct tlb: a line needs no context, payload or size class,
 * and a set's tags and LRU stamps sit together in one block, so a look-up
 * and the fill that follows a miss touch one or two host cache lines per
 * level instead of three scattered ones (keys, entries, stamps).  On a
 * 4 GiB random walk the L3 model is larger than the host's L2, so that is
 * what a walk reference costs.
 *
 * The struct body is public so callers can embed it and read the counters.
 */
#ifndef VMSIM_DCACHE_H
#define VMSIM_DCACHE_H

#include "tlb.h"

#define DCACHE_LEVELS 3
#define DCACHE_MEM DCACHE_LEVELS /* the level dcache_access returns for memory */
#define DCACHE_LINE_SHIFT 6

struct dcache_geom {
	struct {
		unsigned kib;     /* capacity; 0 leaves the level out */
		unsigned ways;    /* (kib * 1024 / 64) % ways == 0 */
		unsigned latency; /* load-to-use cycles when this level serves the read */
	} lvl[DCACHE_LEVELS];
	unsigned mem_latency; /* cycles when memory serves it */
	enum tlb_policy policy; /* TLB_LRU only: the configuration offers no other */
};

/*
 * One level.  Set s is the block blk + s * stride (64-byte aligned):
 *
 *   | tag[0] .. tag[ways-1] 0 .. 0 | stamp[0] .. stamp[ways-1] | pad |
 *     uint64_t, padded to a            uint32_t
 *     multiple of 4 (ktags)
 *
 * tag = line number + 1 (0: invalid); a set is chosen by line number mod
 * sets, a mask for a power-of-two count, else Lemire's fastmod.
 */
struct dcache_level {
	uint64_t *blk;
	unsigned sets, ways;
	unsigned ktags;     /* ways rounded up to a multiple of 4 */
	unsigned stride;    /* uint64_t words per set block */
	uint64_t set_mask;  /* sets - 1 when sets is a power of two */
	uint64_t fastmod_m; /* otherwise: the fastmod constant */
	bool pow2;
	uint32_t clock;     /* LRU time; stamps are renumbered before it wraps */
	uint32_t *scratch;  /* ways words for renumbering, allocated once */
};

struct dcache {
	struct dcache_level lvl[DCACHE_LEVELS];
	bool present[DCACHE_LEVELS];
	unsigned latency[DCACHE_LEVELS + 1]; /* by level, memory last */
	uint64_t served[DCACHE_LEVELS + 1];  /* reads served by each level */
};

/* 0, or VM_EINPUT naming the level and value, or VM_ENOMEM. */
int dcache_init(struct dcache *d, const struct dcache_geom *g, struct vmerr *err);
void dcache_free(struct dcache *d);

/* Read the line holding pa.  Returns the level that served it (0 = L1,
 * 1 = L2, 2 = L3, DCACHE_MEM = memory), stores that level's latency in
 * *latency if latency is not NULL, and fills the line into every present
 * level above the one that served it. */
unsigned dcache_access(struct dcache *d, uint64_t pa, unsigned *latency);

/* The set block of a level that holds line. */
static inline uint64_t *dcache_set_of(const struct dcache_level *v, uint64_t line)
{
	size_t s;
	if (VM_LIKELY(v->pow2))
		s = line & v->set_mask;
	else /* Lemire, Kaser, Kurz, "Faster remainder by direct computation", 2019 */
		s = (size_t)(((__uint128_t)(v->fastmod_m * (uint32_t)line) * v->sets) >> 64);
	return v->blk + s * v->stride;
}

/* Start the host's loads of the L2 and L3 sets a read of pa would probe
 * (a hint for look-ahead: changes nothing in the model). */
static inline void dcache_prefetch(const struct dcache *d, uint64_t pa)
{
	uint64_t line = pa >> DCACHE_LINE_SHIFT;
	for (unsigned l = 1; l < DCACHE_LEVELS; l++) {
		if (!d->present[l])
			continue;
		const uint64_t *b = dcache_set_of(&d->lvl[l], line);
		for (unsigned o = 0; o < d->lvl[l].stride; o += 8)
			__builtin_prefetch(b + o);
	}
}

/* Empty every level (e.g. to model a cold cache).  Counters are kept. */
void dcache_flush(struct dcache *d);

#endif
