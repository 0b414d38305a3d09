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

/*
 * The data-cache model keeps its own set layout (tags beside LRU stamps)
 * but must decide exactly as the generic struct tlb with LRU does, which
 * it replaced.  The reference here is that: one struct tlb per level,
 * looked up top down, the line inserted into every level above the one
 * that served it.  Geometries include a non-power-of-two set count and a
 * way count that is not a multiple of four; the clocks start near the wrap
 * so both models renumber their stamps during the run.
 */
static unsigned ref_access(struct tlb lv[3], uint64_t pa)
{
	unsigned l;
	for (l = 0; l < 3; l++)
		if (tlb_lookup(&lv[l], pa, 0, 0))
			break;
	for (unsigned up = 0; up < l; up++)
		tlb_insert(&lv[up], pa, 0, 0, TLB_CTX_ALL, 0);
	return l;
}

Test(dcache, decides_as_the_generic_lru_cache)
{
	static const struct dcache_geom g = {
		.lvl = {{2, 4, 4}, {6, 6, 12}, {36, 12, 40}}, /* 8 sets; 16 sets of 6; 48 sets of 12 */
		.mem_latency = 200,
		.policy = TLB_LRU,
	};
	struct dcache d;
	struct tlb ref[3];
	struct vmerr err = {{0}};
	make(&d, &g);
	for (int l = 0; l < 3; l++) {
		struct tlb_geom tg = {.entries = g.lvl[l].kib * 16, .ways = g.lvl[l].ways,
				      .policy = TLB_LRU, .classes = 1, .shift = {6}};
		cr_assert_eq(tlb_init(&ref[l], &tg, &err), 0, "%s", err.msg);
		d.lvl[l].clock = ref[l].clock = UINT32_MAX - 5000u * (l + 1);
	}
	cr_assert_eq(d.lvl[2].sets, 48);

	uint64_t x = 88172645463325252ull, served[4] = {0};
	for (unsigned i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* 1024 lines, with a hot eighth, so every level serves some */
		uint64_t line = (x & 7) ? (x >> 8) % 128 : (x >> 8) % 1024;
		uint64_t pa = 0x40000000ull + line * LINE + (x >> 40) % LINE;
		unsigned want = ref_access(ref, pa), got = dcache_access(&d, pa, NULL);
		cr_assert_eq(got, want, "access %u (line %llu): served by %u, the reference says %u", i,
			     (unsigned long long)line, got, want);
		served[got]++;
	}
	for (int l = 0; l < 4; l++)
		cr_expect_gt(served[l], 1000, "level %d served %llu", l, (unsigned long long)served[l]);
	for (int l = 0; l < 3; l++) {
		cr_expect_lt(d.lvl[l].clock, 1000000u, "level %d's clock did not wrap", l);
		tlb_free(&ref[l]);
	}
	dcache_free(&d);
}
