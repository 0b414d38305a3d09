/*
 * dcache.h - the data-cache model page-table-entry fetches go through.
 *
 * A page walk reads one entry per level; where that read is served (L1, L2,
 * L3 or memory) decides what the walk costs.  Each level is a struct tlb
 * keyed by 64-byte line (class 0, shift 6, context 0).  See dcache.c for
 * what is modelled and what is not.
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
	enum tlb_policy policy;
};

struct dcache {
	struct tlb lvl[DCACHE_LEVELS];
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

/* Empty every level (e.g. to model a cold cache).  Counters are kept. */
void dcache_flush(struct dcache *d);

#endif
