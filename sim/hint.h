/*
 * hint.h - where leaf page tables live in the simulator's memory, remembered
 * per 2 MiB region, so the run loop can start the host's loads of a coming
 * walk before the walk itself (sim.c, "look-ahead").
 *
 * On a large random footprint a walk's references are host cache misses:
 * the guest PTE, then (nested) the host PTE its value names.  Each miss
 * costs about as much as the rest of the walk, and inside one walk they
 * cannot overlap.  Across the events of a batch they can: a few events
 * ahead, the run loop looks the event's region up here and prefetches the
 * entry its walk will read.
 *
 * A hint is never trusted.  It only chooses an address to prefetch, and a
 * prefetch of a wrong or freed address changes nothing: it does not fault
 * and the model never reads through it.  So slots are never invalidated
 * (a table freed or remapped leaves a stale slot, which costs one useless
 * prefetch), and the statistics cannot depend on this file.  Reading
 * through a hint (nested look-ahead reads the guest PTE to find the host
 * PTE) is another matter: the table may have been freed.  Each slot keeps
 * the memory's count of released tables when it was filled
 * (physmem_tables_freed); a reader reads only if no table went since.
 *
 * Direct-mapped, HINT_SLOTS slots of 40 bytes: 160 KiB, enough for an
 * 8 GiB footprint of 4 KiB pages without conflicts; larger footprints
 * overwrite each other's slots and prefetch less.
 */
#ifndef VMSIM_HINT_H
#define VMSIM_HINT_H

#include "types.h"

#define HINT_SLOTS 4096u
#define HINT_REGION_SHIFT 21 /* one leaf table maps 2 MiB */

struct hint_slot {
	uint64_t key;
	const uint64_t *table; /* the leaf table's 512 entries; NULL: empty */
	uint64_t pa;           /* its simulated physical address (what the PTE cache model sees) */
	uint64_t freed;        /* physmem_tables_freed() of its memory when recorded */
	uint64_t at;           /* the table's address in the space it was walked in (gpa of a
				  guest table under nested paging, else pa) */
};

struct hint {
	struct hint_slot slot[HINT_SLOTS];
};

/* Key of the region holding addr in the table space named by salt (e.g. a
 * CR3); consecutive regions of one space take consecutive slots. */
static inline uint64_t hint_key(uint64_t addr, uint64_t salt)
{
	return (addr >> HINT_REGION_SHIFT) ^ (salt * UINT64_C(0x9E3779B97F4A7C15));
}

static inline void hint_put(struct hint *h, uint64_t key, const uint64_t *table, uint64_t pa,
			    uint64_t freed, uint64_t at)
{
	h->slot[key & (HINT_SLOTS - 1)] = (struct hint_slot){
		.key = key, .table = table, .pa = pa & ~UINT64_C(0xfff), .freed = freed,
		.at = at & ~UINT64_C(0xfff)};
}

/* Record the leaf table holding entry, the entry a walk read at simulated
 * address pa and at address `at` in the walked space; freed:
 * physmem_tables_freed() of that memory now. */
static inline void hint_put_entry(struct hint *h, uint64_t key, const uint64_t *entry, uint64_t pa,
				  uint64_t freed, uint64_t at)
{
	hint_put(h, key, entry - ((pa >> 3) & 511), pa, freed, at);
}

/*
 * A walk about to read the entry at ea of the leaf table at `table` (same
 * space as `at`): the entry's pointer, from the slot for key, if the slot
 * names that very table and no table of its memory has been released since
 * it was recorded (freed_now): then the table page is the same allocation.
 * NULL otherwise; the caller looks the table up.  This one reads through a
 * hint, so it checks what hint_get does not.
 */
static inline uint64_t *hint_leaf_entry(const struct hint *h, uint64_t key, uint64_t table,
					uint64_t ea, uint64_t freed_now)
{
	const struct hint_slot *x = &h->slot[key & (HINT_SLOTS - 1)];
	if (x->key != key || !x->table || x->at != table || x->freed != freed_now)
		return NULL;
	return (uint64_t *)x->table + ((ea >> 3) & 511);
}

/* The slot remembered for key, or NULL. */
static inline const struct hint_slot *hint_get(const struct hint *h, uint64_t key)
{
	const struct hint_slot *x = &h->slot[key & (HINT_SLOTS - 1)];
	return x->key == key && x->table ? x : NULL;
}

/* The entry a 4 KiB-leaf walk of addr reads in that table. */
static inline const uint64_t *hint_entry(const uint64_t *table, uint64_t addr)
{
	return &table[(addr >> 12) & 511];
}

#endif
