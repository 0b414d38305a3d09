/*
 * physmem.c - sparse physical memory.
 *
 * Notes:
 *  - Table contents live in a u64map keyed by frame number; each value is
 *    a malloc'd 4 KiB page.
 *  - An optional budget (physmem_set_budget) caps the bytes in use below
 *    the address-space limit and calls back to reclaim when it is reached:
 *    that is how a guest's maxmem and a host shared by several VMs are
 *    modelled, without tying either to the layout of addresses.
 *  - Free lists grow with frees, so after a churn-heavy run the allocator
 *    holds 8 bytes per freed frame; that is bounded by the peak footprint
 *    divided by the frame size.
 */
#include "physmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt_format.h"
#include "u64map.h"

struct frame_list {
	uint64_t *pa;
	size_t n, cap;
};

struct physmem {
	uint64_t next, limit;        /* bump pointer for 1 GiB chunks */
	uint64_t cur[PS_COUNT];      /* current chunk to carve: [PS_4K] in a 2M chunk, [PS_2M] in a 1G chunk */
	uint64_t cur_end[PS_COUNT];
	struct frame_list free[PS_COUNT];
	struct u64map tables; /* frame number -> (uintptr_t) 4 KiB contents */
	struct physmem_usage use;
	uint64_t budget; /* 0: none */
	uint64_t (*reclaim)(void *arg, uint64_t need);
	void *reclaim_arg;
	bool in_reclaim;
	uint64_t tables_freed; /* table pages released so far (see physmem_tables_freed) */
};

struct physmem *physmem_new(uint64_t base, uint64_t limit)
{
	struct physmem *pm = calloc(1, sizeof *pm);
	if (!pm)
		return NULL;
	/* Frame 0 stays unused so that 0 never names a frame; the rest of the
	 * first GiB is carved as the first 2 MiB and 4 KiB chunks, so a small
	 * memory loses nothing. */
	uint64_t first = (base + 0xfff) & ~0xfffull;
	if (first == 0)
		first = 4096;
	uint64_t g = ps_bytes(PS_1G), m = ps_bytes(PS_2M);
	pm->next = (first + g - 1) & ~(g - 1);
	if (first < pm->next) {
		uint64_t m_start = (first + m - 1) & ~(m - 1);
		if (first < m_start) { /* 4 KiB frames up to the first 2 MiB boundary */
			pm->cur[PS_4K] = first;
			pm->cur_end[PS_4K] = m_start < limit ? m_start : (limit & ~0xfffull);
		}
		pm->cur[PS_2M] = m_start;
		pm->cur_end[PS_2M] = pm->next < limit ? pm->next : (limit & ~(m - 1));
		if (pm->cur_end[PS_2M] < pm->cur[PS_2M])
			pm->cur_end[PS_2M] = pm->cur[PS_2M];
		if (pm->cur_end[PS_4K] < pm->cur[PS_4K])
			pm->cur_end[PS_4K] = pm->cur[PS_4K];
	}
	pm->limit = limit;
	if (u64map_init(&pm->tables, 1024) < 0) {
		free(pm);
		return NULL;
	}
	return pm;
}

void physmem_free(struct physmem *pm)
{
	if (!pm)
		return;
	uint64_t key, val;
	for (size_t i = 0; i < pm->tables.cap; i++)
		if (u64map_slot(&pm->tables, i, &key, &val))
			free((void *)(uintptr_t)val);
	u64map_free(&pm->tables);
	for (int s = 0; s < PS_COUNT; s++)
		free(pm->free[s].pa);
	free(pm);
}

static int list_push(struct frame_list *l, uint64_t pa)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		uint64_t *np = realloc(l->pa, nc * sizeof *np);
		if (!np)
			return VM_ENOMEM;
		l->pa = np;
		l->cap = nc;
	}
	l->pa[l->n++] = pa;
	return 0;
}

static int alloc_frame(struct physmem *pm, enum page_size ps, uint64_t *pa)
{
	struct frame_list *fl = &pm->free[ps];
	if (fl->n) {
		*pa = fl->pa[--fl->n];
		return 0;
	}
	if (ps == PS_1G) {
		if (pm->next + ps_bytes(PS_1G) > pm->limit || pm->next + ps_bytes(PS_1G) < pm->next)
			return VM_ELIMIT;
		*pa = pm->next;
		pm->next += ps_bytes(PS_1G);
		return 0;
	}
	if (pm->cur[ps] == pm->cur_end[ps]) {
		uint64_t chunk;
		int rc = alloc_frame(pm, (enum page_size)(ps + 1), &chunk);
		if (rc < 0)
			return rc;
		pm->cur[ps] = chunk;
		pm->cur_end[ps] = chunk + ps_bytes((enum page_size)(ps + 1));
	}
	*pa = pm->cur[ps];
	pm->cur[ps] += ps_bytes(ps);
	return 0;
}

void physmem_set_budget(struct physmem *pm, uint64_t bytes,
			uint64_t (*reclaim)(void *arg, uint64_t need), void *arg)
{
	pm->budget = bytes;
	pm->reclaim = reclaim;
	pm->reclaim_arg = arg;
}

uint64_t physmem_budget(const struct physmem *pm) { return pm->budget; }

/* Make room for bytes more under the budget, reclaiming if need be. */
static int within_budget(struct physmem *pm, uint64_t bytes)
{
	while (pm->budget && pm->use.bytes_in_use + bytes > pm->budget) {
		if (!pm->reclaim || pm->in_reclaim)
			return VM_ELIMIT;
		pm->in_reclaim = true;
		uint64_t freed = pm->reclaim(pm->reclaim_arg, pm->use.bytes_in_use + bytes - pm->budget);
		pm->in_reclaim = false;
		if (!freed)
			return VM_ELIMIT;
	}
	return 0;
}

int physmem_alloc(struct physmem *pm, enum page_size ps, uint64_t *pa)
{
	int rc = within_budget(pm, ps_bytes(ps));
	if (rc < 0)
		return rc;
	rc = alloc_frame(pm, ps, pa);
	if (rc == 0) {
		pm->use.frames[ps]++;
		pm->use.bytes_in_use += ps_bytes(ps);
	}
	return rc;
}

void physmem_release(struct physmem *pm, uint64_t pa, enum page_size ps)
{
	if (list_push(&pm->free[ps], pa) < 0)
		return; /* out of memory for the free list: the frame is leaked, not reused */
	pm->use.frames[ps]--;
	pm->use.bytes_in_use -= ps_bytes(ps);
}

int physmem_alloc_table(struct physmem *pm, uint64_t *pa)
{
	int rc = within_budget(pm, 4096);
	if (rc < 0)
		return rc;
	uint64_t *page = calloc(PT_ENTRIES, sizeof *page);
	if (!page)
		return VM_ENOMEM;
	rc = alloc_frame(pm, PS_4K, pa);
	if (rc < 0) {
		free(page);
		return rc;
	}
	if (u64map_put(&pm->tables, *pa >> 12, (uint64_t)(uintptr_t)page) < 0) {
		free(page);
		list_push(&pm->free[PS_4K], *pa);
		return VM_ENOMEM;
	}
	pm->use.table_pages++;
	pm->use.bytes_in_use += 4096;
	if (pm->use.table_pages > pm->use.table_pages_peak)
		pm->use.table_pages_peak = pm->use.table_pages;
	return 0;
}

void physmem_release_table(struct physmem *pm, uint64_t pa)
{
	uint64_t *v = u64map_get(&pm->tables, pa >> 12);
	if (!v) {
		fprintf(stderr, "vmsim: internal error: releasing 0x%llx, not a table page\n",
			(unsigned long long)pa);
		abort();
	}
	free((void *)(uintptr_t)*v);
	pm->tables_freed++;
	u64map_del(&pm->tables, pa >> 12);
	pm->use.table_pages--;
	pm->use.bytes_in_use -= 4096;
	list_push(&pm->free[PS_4K], pa & ~0xfffull);
}

uint64_t *physmem_table(const struct physmem *pm, uint64_t pa)
{
	const uint64_t *v = u64map_get(&pm->tables, pa >> 12);
	return v ? (uint64_t *)(uintptr_t)*v : NULL;
}

uint64_t *physmem_entry(const struct physmem *pm, uint64_t pa)
{
	uint64_t *t = physmem_table(pm, pa);
	return t ? &t[(pa & 0xfff) >> 3] : NULL;
}

uint64_t physmem_read(const struct physmem *pm, uint64_t pa)
{
	const uint64_t *e = physmem_entry(pm, pa);
	return e ? *e : 0;
}

void physmem_write(struct physmem *pm, uint64_t pa, uint64_t val)
{
	uint64_t *t = physmem_table(pm, pa);
	if (!t) {
		fprintf(stderr, "vmsim: internal error: write of 0x%llx to 0x%llx, not a table page\n",
			(unsigned long long)val, (unsigned long long)pa);
		abort();
	}
	t[(pa & 0xfff) >> 3] = val;
}

uint64_t physmem_tables_freed(const struct physmem *pm) { return pm->tables_freed; }

void physmem_usage(const struct physmem *pm, struct physmem_usage *u)
{
	*u = pm->use;
}

static uint64_t ops_read(void *arg, uint64_t pa) { return physmem_read(arg, pa); }
static void ops_write(void *arg, uint64_t pa, uint64_t v) { physmem_write(arg, pa, v); }
static int ops_alloc(void *arg, uint64_t *pa) { return physmem_alloc_table(arg, pa); }

void physmem_pt_ops(struct physmem *pm, struct pt_mem_ops *ops)
{
	ops->read = ops_read;
	ops->write = ops_write;
	ops->alloc_table = ops_alloc;
	ops->arg = pm;
}

void physmem_split(struct physmem *pm, enum page_size ps)
{
	pm->use.frames[ps]--;
	pm->use.frames[ps - 1] += PT_ENTRIES;
}
