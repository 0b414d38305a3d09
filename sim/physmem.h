/*
 * physmem.h - sparse simulated physical memory and its frame allocator.
 *
 * One instance models one physical address space: guest-physical for the
 * guest-OS model, host-physical for the VMM.  Only page-table pages have
 * contents (a 4 KiB array of 512 entries, found by frame number through a
 * hash table); data frames are numbers handed out and taken back.  So the
 * simulator's memory grows with page-table pages, not with the footprint.
 *
 * Allocation is chunked: 1 GiB frames come from a bump pointer, 2 MiB frames
 * are carved from a current 1 GiB chunk, 4 KiB frames from a current 2 MiB
 * chunk; freed frames go on a free list per size and are reused first.
 *
 * The struct is opaque; physmem_table() is the walker's way in.
 */
#ifndef VMSIM_PHYSMEM_H
#define VMSIM_PHYSMEM_H

#include "error.h"
#include "types.h"

struct physmem;

struct physmem_usage {
	uint64_t frames[PS_COUNT]; /* data frames in use, by size */
	uint64_t table_pages;      /* page-table pages in use */
	uint64_t table_pages_peak;
	uint64_t bytes_in_use;     /* data frames + table pages, in bytes */
};

/* limit: size of the address space in bytes (frames are never handed out
 * at or above it); base: first address handed out (frame 0 is kept free so
 * that 0 never names a frame). */
struct physmem *physmem_new(uint64_t base, uint64_t limit);
void physmem_free(struct physmem *pm);

/* A data frame of size ps: 0 and *pa, or VM_ELIMIT / VM_ENOMEM. */
int physmem_alloc(struct physmem *pm, enum page_size ps, uint64_t *pa);
void physmem_release(struct physmem *pm, uint64_t pa, enum page_size ps);

/* A zero-filled page-table page: 0 and *pa, or an error. */
int physmem_alloc_table(struct physmem *pm, uint64_t *pa);
void physmem_release_table(struct physmem *pm, uint64_t pa);

/* The 512 entries of the table page containing pa, or NULL if pa is not a
 * table page. */
uint64_t *physmem_table(const struct physmem *pm, uint64_t pa);

/* Read and write one 8-byte entry of a table page; reading a frame that is
 * not a table page gives 0, writing one aborts (a model bug). */
uint64_t physmem_read(const struct physmem *pm, uint64_t pa);
/* Where the entry at pa lives, or NULL if pa is not in a table page: a
 * caller can prefetch it and read it later (valid until the page is freed). */
uint64_t *physmem_entry(const struct physmem *pm, uint64_t pa);
void physmem_write(struct physmem *pm, uint64_t pa, uint64_t val);
/* How many table pages were released so far: a pointer from physmem_table
 * or physmem_entry is still valid while this count has not changed. */
uint64_t physmem_tables_freed(const struct physmem *pm);

/* A data frame of size ps is now used as 512 frames of the next size down
 * (a huge page was split); only the accounting changes. */
void physmem_split(struct physmem *pm, enum page_size ps);

void physmem_usage(const struct physmem *pm, struct physmem_usage *u);

/*
 * A budget on the bytes in use (data frames and table pages), below the
 * address-space limit: a guest's maxmem, or the host memory several VMs
 * share.  When an allocation would exceed it, reclaim(arg, need) is asked
 * to release at least need bytes (with physmem_release*) and returns the
 * bytes it released; 0 makes the allocation fail with VM_ELIMIT.  reclaim
 * must not allocate from this memory (a nested attempt gets VM_ELIMIT).
 * bytes = 0 removes the budget.
 */
void physmem_set_budget(struct physmem *pm, uint64_t bytes,
			uint64_t (*reclaim)(void *arg, uint64_t need), void *arg);
uint64_t physmem_budget(const struct physmem *pm);

/* pt_mem_ops over this memory (for pt_map and friends). */
struct pt_mem_ops;
void physmem_pt_ops(struct physmem *pm, struct pt_mem_ops *ops);

#endif
