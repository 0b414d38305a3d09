/*
 * test_dcache.c - where a page-table read is served, and at what latency.
 *
 * The machine: L1 32 KiB 8-way (512 lines, 64 sets), L2 1 MiB 16-way
 * (16384 lines, 1024 sets), L3 8 MiB 16-way (131072 lines), latencies
 * 5 / 14 / 42 cycles, memory 200.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "sim/tlb/dcache.h"

#define LINE 64u
#define KIB 1024u

static const struct dcache_geom geom = {
	.lvl = {{32, 8, 5}, {1024, 16, 14}, {8192, 16, 42}},
	.mem_latency = 200,
	.policy = TLB_LRU,
};

static void make(struct dcache *d, const struct dcache_geom *g)
{
	struct vmerr err = {{0}};
	int rc = dcache_init(d, g, &err);
	cr_assert_eq(rc, 0, "dcache_init: %d %s", rc, err.msg);
}

Test(dcache, geometry)
{
	struct dcache d;
	make(&d, &geom);
	cr_assert_eq(d.lvl[0].sets, 64);
	cr_assert_eq(d.lvl[1].sets, 1024);
	cr_assert_eq(d.lvl[2].sets, 8192);
	dcache_free(&d);
}

Test(dcache, first_read_from_memory_then_l1)
{
	struct dcache d;
	unsigned lat = 0;
	make(&d, &geom);
	cr_assert_eq(dcache_access(&d, 0x12340, &lat), DCACHE_MEM);
	cr_assert_eq(lat, 200);
	cr_assert_eq(dcache_access(&d, 0x12340, &lat), 0);
	cr_assert_eq(lat, 5);
	/* the rest of the 64-byte line 0x12340..0x1237f is there too */
	cr_assert_eq(dcache_access(&d, 0x1237f, &lat), 0);
	/* the next line is not */
	cr_assert_eq(dcache_access(&d, 0x12380, &lat), DCACHE_MEM);
	cr_assert_eq(d.served[0], 2);
	cr_assert_eq(d.served[DCACHE_MEM], 2);
	cr_assert_eq(dcache_access(&d, 0x12380, NULL), 0);
	dcache_free(&d);
}

/* Read lines 0..n-1 of a region twice; count who served the second pass. */
static void second_pass(struct dcache *d, unsigned bytes, uint64_t served[4])
{
	unsigned lines = bytes / LINE;
	for (unsigned i = 0; i < lines; i++)
		dcache_access(d, 0x100000000ull + (uint64_t)i * LINE, NULL);
	memset(served, 0, 4 * sizeof *served);
	for (unsigned i = 0; i < lines; i++)
		served[dcache_access(d, 0x100000000ull + (uint64_t)i * LINE, NULL)]++;
}

Test(dcache, fits_l1_served_by_l1)
{
	struct dcache d;
	uint64_t s[4];
	make(&d, &geom);
	second_pass(&d, 16 * KIB, s); /* 256 lines: 4 per L1 set, 8 ways */
	cr_assert_eq(s[0], 256);
	dcache_free(&d);
}

/* 64 KiB = 1024 lines: 16 per L1 set cycling through 8 ways, so LRU misses
 * every time in L1; 1 per L2 set, so L2 serves all of them. */
Test(dcache, larger_than_l1_served_by_l2)
{
	struct dcache d;
	uint64_t s[4];
	make(&d, &geom);
	second_pass(&d, 64 * KIB, s);
	cr_assert_eq(s[0], 0);
	cr_assert_eq(s[1], 1024);
	unsigned lat;
	cr_assert_eq(dcache_access(&d, 0x100000000ull, &lat), 1);
	cr_assert_eq(lat, 14);
	dcache_free(&d);
}

/* 2 MiB = 32768 lines: 32 per L2 set through 16 ways (always missed), 4 per
 * L3 set (always held). */
Test(dcache, larger_than_l2_served_by_l3)
{
	struct dcache d;
	uint64_t s[4];
	make(&d, &geom);
	second_pass(&d, 2048 * KIB, s);
	cr_assert_eq(s[2], 32768);
	unsigned lat;
	cr_assert_eq(dcache_access(&d, 0x100000000ull, &lat), 2);
	cr_assert_eq(lat, 42);
	/* served by L3, filled into L1 and L2: next read is an L1 hit */
	cr_assert_eq(dcache_access(&d, 0x100000000ull, &lat), 0);
	dcache_free(&d);
}

Test(dcache, flush_sends_reads_back_to_memory)
{
	struct dcache d;
	make(&d, &geom);
	dcache_access(&d, 0x5000, NULL);
	cr_assert_eq(dcache_access(&d, 0x5000, NULL), 0);
	dcache_flush(&d);
	cr_assert_eq(dcache_access(&d, 0x5000, NULL), DCACHE_MEM);
	dcache_free(&d);
}

Test(dcache, absent_level_is_skipped)
{
	struct dcache_geom g = geom;
	g.lvl[2].kib = 0; /* no L3 */
	struct dcache d;
	uint64_t s[4];
	make(&d, &g);
	second_pass(&d, 2048 * KIB, s);
	cr_assert_eq(s[2], 0);
	cr_assert_eq(s[DCACHE_MEM], 32768);
	dcache_free(&d);
}

Test(dcache, bad_geometry_names_the_level)
{
	struct dcache_geom g = geom;
	struct dcache d;
	struct vmerr err = {{0}};
	g.lvl[1].ways = 12; /* 16384 lines do not split into 12-way sets */
	cr_assert_eq(dcache_init(&d, &g, &err), VM_EINPUT);
	cr_assert(strstr(err.msg, "L2: 1024 KiB is 16384 lines"), "%s", err.msg);
	cr_assert(strstr(err.msg, "12-way"), "%s", err.msg);

	g = geom;
	g.lvl[0].ways = 0;
	cr_assert_eq(dcache_init(&d, &g, &err), VM_EINPUT);
	cr_assert(strstr(err.msg, "L1"), "%s", err.msg);
}
