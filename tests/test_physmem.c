/*
 * test_physmem.c - sparse physical memory: frames, table pages, usage,
 * limits, and that data frames cost no contents.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>

#include "sim/physmem.h"
#include "sim/pt_format.h"

#define KiB(n) ((uint64_t)(n) << 10)
#define MiB(n) ((uint64_t)(n) << 20)
#define GiB(n) ((uint64_t)(n) << 30)


static struct physmem *mk(uint64_t base, uint64_t limit)
{
	struct physmem *pm = physmem_new(base, limit);
	cr_assert_not_null(pm);
	return pm;
}

static uint64_t alloc(struct physmem *pm, enum page_size ps)
{
	uint64_t pa = 0;
	int rc = physmem_alloc(pm, ps, &pa);
	cr_assert_eq(rc, 0, "physmem_alloc(%s): %d", ps_name(ps), rc);
	return pa;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Frames of every size, interleaved: each aligned to its size, never 0,
 * below the limit, and no two overlapping. */
Test(physmem, frames_aligned_and_disjoint)
{
	struct physmem *pm = mk(0, GiB(16));
	enum { N4 = 600, N2 = 40, N1 = 3 };
	struct {
		uint64_t start, end;
	} r[N4 + N2 + N1 + 8];
	unsigned n = 0;
	for (unsigned i = 0; i < N4; i++) {
		uint64_t pa = alloc(pm, PS_4K);
		cr_assert_eq(pa & (KiB(4) - 1), 0, "4k frame 0x%llx", (unsigned long long)pa);
		r[n].start = pa, r[n++].end = pa + KiB(4);
		if (i % 20 == 0) {
			pa = alloc(pm, PS_2M);
			cr_assert_eq(pa & (MiB(2) - 1), 0, "2m frame 0x%llx", (unsigned long long)pa);
			r[n].start = pa, r[n++].end = pa + MiB(2);
		}
		if (i % 250 == 0) {
			pa = alloc(pm, PS_1G);
			cr_assert_eq(pa & (GiB(1) - 1), 0, "1g frame 0x%llx", (unsigned long long)pa);
			r[n].start = pa, r[n++].end = pa + GiB(1);
		}
	}
	for (unsigned i = 0; i < 4; i++) {
		uint64_t pa;
		cr_assert_eq(physmem_alloc_table(pm, &pa), 0);
		r[n].start = pa, r[n++].end = pa + KiB(4);
	}
	qsort(r, n, sizeof r[0], cmp_u64); /* sorts by start: the first member */
	cr_assert_neq(r[0].start, 0, "frame 0 handed out");
	for (unsigned i = 1; i < n; i++)
		cr_assert_geq(r[i].start, r[i - 1].end, "frames [0x%llx,0x%llx) and [0x%llx,0x%llx) overlap",
			      (unsigned long long)r[i - 1].start, (unsigned long long)r[i - 1].end,
			      (unsigned long long)r[i].start, (unsigned long long)r[i].end);
	cr_assert_leq(r[n - 1].end, GiB(16));

	struct physmem_usage u;
	physmem_usage(pm, &u);
	cr_assert_eq(u.frames[PS_4K], N4);
	cr_assert_eq(u.frames[PS_2M], 30); /* i % 20 == 0 for i < 600 */
	cr_assert_eq(u.frames[PS_1G], N1);
	cr_assert_eq(u.table_pages, 4);
	cr_assert_eq(u.bytes_in_use, N4 * KiB(4) + 30 * MiB(2) + N1 * GiB(1) + 4 * KiB(4));
	physmem_free(pm);
}

Test(physmem, release_then_alloc_reuses)
{
	struct physmem *pm = mk(0, GiB(8));
	uint64_t a = alloc(pm, PS_4K), b = alloc(pm, PS_4K);
	uint64_t m = alloc(pm, PS_2M), g = alloc(pm, PS_1G);
	physmem_release(pm, a, PS_4K);
	physmem_release(pm, m, PS_2M);
	physmem_release(pm, g, PS_1G);
	cr_assert_eq(alloc(pm, PS_4K), a);
	cr_assert_eq(alloc(pm, PS_2M), m);
	cr_assert_eq(alloc(pm, PS_1G), g);
	cr_assert_neq(alloc(pm, PS_4K), b);

	uint64_t t;
	cr_assert_eq(physmem_alloc_table(pm, &t), 0);
	physmem_write(pm, t + 8, 0x1234);
	physmem_release_table(pm, t);
	cr_assert_null(physmem_table(pm, t), "a released table page has no contents");
	uint64_t t2;
	cr_assert_eq(physmem_alloc_table(pm, &t2), 0);
	cr_assert_eq(t2, t, "the freed table frame is reused");
	cr_assert_eq(physmem_read(pm, t2 + 8), 0, "a reused table page starts zeroed");
	physmem_free(pm);
}

Test(physmem, table_pages_read_back)
{
	struct physmem *pm = mk(0, GiB(4));
	uint64_t t1, t2;
	cr_assert_eq(physmem_alloc_table(pm, &t1), 0);
	cr_assert_eq(physmem_alloc_table(pm, &t2), 0);
	cr_assert_eq(t1 & 0xfff, 0);
	cr_assert_neq(t1, t2);
	uint64_t *page = physmem_table(pm, t1);
	cr_assert_not_null(page);
	for (unsigned i = 0; i < 512; i++)
		cr_assert_eq(page[i], 0, "entry %u of a new table is 0x%llx", i,
			     (unsigned long long)page[i]);
	for (unsigned i = 0; i < 512; i++)
		physmem_write(pm, t1 + i * 8, 0xabc00000000ull + i);
	physmem_write(pm, t2 + 511 * 8, 0x77);
	for (unsigned i = 0; i < 512; i++)
		cr_assert_eq(physmem_read(pm, t1 + i * 8), 0xabc00000000ull + i);
	cr_assert_eq(physmem_read(pm, t2 + 511 * 8), 0x77);
	cr_assert_eq(physmem_read(pm, t2), 0);
	/* Any address inside the page finds the page. */
	cr_assert_eq(physmem_table(pm, t1 + 0x7f8), page);
	cr_assert_eq(page[3], 0xabc00000003ull);

	uint64_t data = alloc(pm, PS_4K);
	cr_assert_null(physmem_table(pm, data));
	cr_assert_eq(physmem_read(pm, data + 16), 0, "a data frame reads as 0");
	physmem_free(pm);
}

Test(physmem, write_to_data_frame_aborts, .signal = SIGABRT)
{
	struct physmem *pm = mk(0, GiB(4));
	uint64_t data = alloc(pm, PS_4K);
	physmem_write(pm, data, 1);
}

Test(physmem, usage_counters)
{
	struct physmem *pm = mk(0, GiB(8));
	struct physmem_usage u;
	physmem_usage(pm, &u);
	cr_assert_eq(u.frames[PS_4K] + u.frames[PS_2M] + u.frames[PS_1G], 0);
	cr_assert_eq(u.table_pages, 0);
	cr_assert_eq(u.bytes_in_use, 0);

	uint64_t f4[3], t[3];
	for (int i = 0; i < 3; i++) {
		f4[i] = alloc(pm, PS_4K);
		cr_assert_eq(physmem_alloc_table(pm, &t[i]), 0);
	}
	uint64_t f2 = alloc(pm, PS_2M);
	physmem_usage(pm, &u);
	cr_assert_eq(u.frames[PS_4K], 3);
	cr_assert_eq(u.frames[PS_2M], 1);
	cr_assert_eq(u.table_pages, 3);
	cr_assert_eq(u.table_pages_peak, 3);
	cr_assert_eq(u.bytes_in_use, 6 * KiB(4) + MiB(2));

	physmem_release_table(pm, t[0]);
	physmem_release_table(pm, t[1]);
	physmem_release(pm, f4[2], PS_4K);
	physmem_usage(pm, &u);
	cr_assert_eq(u.table_pages, 1);
	cr_assert_eq(u.table_pages_peak, 3, "the peak stays");
	cr_assert_eq(u.frames[PS_4K], 2);
	cr_assert_eq(u.bytes_in_use, 3 * KiB(4) + MiB(2));

	/* Splitting a 2 MiB frame into 512 4 KiB frames moves the count, not
	 * the bytes. */
	physmem_split(pm, PS_2M);
	physmem_usage(pm, &u);
	cr_assert_eq(u.frames[PS_2M], 0);
	cr_assert_eq(u.frames[PS_4K], 2 + 512);
	cr_assert_eq(u.bytes_in_use, 3 * KiB(4) + MiB(2));
	for (unsigned i = 0; i < 512; i++)
		physmem_release(pm, f2 + i * KiB(4), PS_4K);
	physmem_release(pm, f4[0], PS_4K);
	physmem_release(pm, f4[1], PS_4K);
	physmem_release_table(pm, t[2]);
	physmem_usage(pm, &u);
	cr_assert_eq(u.frames[PS_4K] + u.frames[PS_2M] + u.frames[PS_1G], 0);
	cr_assert_eq(u.table_pages, 0);
	cr_assert_eq(u.bytes_in_use, 0);
	physmem_free(pm);
}

/* 4 GiB with frame 0 kept free holds three 1 GiB frames (1, 2 and 3 GiB);
 * the fourth is VM_ELIMIT.  The first GiB is carved into smaller frames.
 * A 4 MiB memory holds one 2 MiB frame ([2 MiB, 4 MiB)) beside 511 4 KiB
 * frames ([4 KiB, 2 MiB)); or, once those 511 are gone, 512 more 4 KiB frames
 * carved from that 2 MiB: 1023 in all.  Releasing makes room. */
Test(physmem, limit)
{
	struct physmem *pm = mk(0, GiB(4));
	uint64_t g[3];
	for (int i = 0; i < 3; i++) {
		g[i] = alloc(pm, PS_1G);
		cr_assert_lt(g[i] + GiB(1), GiB(4) + 1, "frame 0x%llx crosses the limit",
			     (unsigned long long)g[i]);
		cr_assert_geq(g[i], GiB(1));
	}
	uint64_t pa = 0x5a5a;
	cr_assert_eq(physmem_alloc(pm, PS_1G, &pa), VM_ELIMIT);
	struct physmem_usage u;
	physmem_usage(pm, &u);
	cr_assert_eq(u.frames[PS_1G], 3, "failed allocations are not counted");
	cr_assert_lt(alloc(pm, PS_2M), GiB(1), "2 MiB frames come from the first GiB");
	physmem_release(pm, g[1], PS_1G);
	cr_assert_eq(alloc(pm, PS_1G), g[1]);
	physmem_free(pm);

	pm = mk(0, MiB(4));
	for (int i = 0; i < 511; i++) {
		uint64_t f = alloc(pm, PS_4K);
		cr_assert(f >= KiB(4) && f < MiB(2), "4 KiB frame 0x%llx", (unsigned long long)f);
	}
	cr_assert_eq(alloc(pm, PS_2M), MiB(2));
	cr_assert_eq(physmem_alloc(pm, PS_4K, &pa), VM_ELIMIT);
	cr_assert_eq(physmem_alloc_table(pm, &pa), VM_ELIMIT);
	cr_assert_eq(physmem_alloc(pm, PS_2M, &pa), VM_ELIMIT);
	cr_assert_eq(physmem_alloc(pm, PS_1G, &pa), VM_ELIMIT);
	physmem_usage(pm, &u);
	cr_assert_eq(u.frames[PS_4K], 511);
	cr_assert_eq(u.frames[PS_2M], 1);
	physmem_free(pm);

	pm = mk(0, MiB(4));
	int n = 0;
	while (physmem_alloc(pm, PS_4K, &pa) == 0)
		n++;
	cr_assert_eq(n, 1023);
	physmem_free(pm);
}

/* The header's contract: only frame 0 is kept free, and frames are handed out
 * below the limit.  A 1 GiB memory must hold 4 KiB frames and table pages
 * (guest.mem_gb=1 is a valid config). */
Test(physmem, one_gib_memory_has_frames)
{
	struct physmem *pm = mk(0, GiB(1));
	uint64_t pa = 0;
	int rc = physmem_alloc(pm, PS_4K, &pa);
	cr_expect_eq(rc, 0, "physmem_new(0, 1 GiB): a 4 KiB frame gives %d (frames below 1 GiB "
		     "are never handed out)", rc);
	cr_expect_eq(physmem_alloc_table(pm, &pa), 0);
	if (rc == 0) {
		cr_assert_neq(pa, 0);
		cr_assert_lt(pa, GiB(1));
	}
	physmem_free(pm);
}

/* A 64 GiB footprint of data frames creates no page contents: the memory
 * model grows with page tables, not with the footprint. */
Test(physmem, sparse)
{
	struct physmem *pm = mk(0, GiB(128));
	for (unsigned i = 0; i < 32; i++) /* 32 GiB of 1 GiB frames */
		alloc(pm, PS_1G);
	uint64_t last = 0;
	for (unsigned i = 0; i < 16384 - 512; i++) /* 31 GiB of 2 MiB frames */
		last = alloc(pm, PS_2M);
	for (unsigned i = 0; i < 262144; i++) /* 1 GiB of 4 KiB frames */
		alloc(pm, PS_4K);
	struct physmem_usage u;
	physmem_usage(pm, &u);
	cr_assert_eq(u.bytes_in_use, GiB(64));
	cr_assert_eq(u.table_pages, 0);
	cr_assert_eq(u.table_pages_peak, 0);
	cr_assert_null(physmem_table(pm, last));
	physmem_free(pm);
}

Test(physmem, pt_ops_build_a_table)
{
	struct physmem *pm = mk(0, GiB(4));
	struct pt_mem_ops ops;
	physmem_pt_ops(pm, &ops);
	uint64_t root;
	cr_assert_eq(physmem_alloc_table(pm, &root), 0);
	cr_assert_eq(pt_map(&pt_x86_4, &ops, root, 0x7000, 0x9000, PS_4K, PTE_PERM_U), 0);
	struct physmem_usage u;
	physmem_usage(pm, &u);
	cr_assert_eq(u.table_pages, 4, "root, PDPT, PD, PT");
	uint64_t pte, ea;
	cr_assert_eq(pt_lookup(&pt_x86_4, &ops, root, 0x7abc, &pte, &ea), 0);
	cr_assert_eq(pt_leaf_pa(&pt_x86_4, pte, 0, 0x7abc), 0x9abc);
	cr_assert_eq(physmem_read(pm, ea), pte);
	physmem_free(pm);
}
