/*
 * test_tlb.c - the generic set-associative cache: geometry, replacement,
 * contexts, invalidation.
 *
 * Page numbers are chosen so the set is easy to see: with S sets, page n
 * lives in set n % S.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "sim/tlb/tlb.h"

#define PG(n) ((uint64_t)(n) << 12) /* address of 4 KiB page n */
#define C4K 0
#define C2M 1

static const uint32_t CTX = 0x1001; /* VPID 1, PCID 1 */

static void make(struct tlb *t, unsigned entries, unsigned ways, enum tlb_policy p)
{
	struct tlb_geom g = {.entries = entries, .ways = ways, .policy = p, .classes = 1,
			     .shift = {12}};
	struct vmerr err = {{0}};
	int rc = tlb_init(t, &g, &err);
	cr_assert_eq(rc, 0, "tlb_init(%u x %u, %s): %d %s", entries, ways, tlb_policy_name(p),
		     rc, err.msg);
}

static void make_4k_2m(struct tlb *t, unsigned entries, unsigned ways)
{
	struct tlb_geom g = {.entries = entries, .ways = ways, .policy = TLB_LRU,
			     .classes = 1u << C4K | 1u << C2M, .shift = {12, 21}};
	struct vmerr err = {{0}};
	cr_assert_eq(tlb_init(t, &g, &err), 0, "%s", err.msg);
}

static bool hits(struct tlb *t, uint64_t addr, unsigned c, uint32_t ctx)
{
	return tlb_lookup(t, addr, c, ctx) != NULL;
}

/* ---- geometry ---- */

Test(tlb, geometry_sets)
{
	struct tlb t;

	make(&t, 64, 4, TLB_LRU);
	cr_assert_eq(t.sets, 16);
	cr_assert(t.pow2);
	cr_assert_eq(t.set_mask, 15);
	tlb_free(&t);

	make(&t, 1536, 12, TLB_LRU); /* Skylake STLB */
	cr_assert_eq(t.sets, 128);
	cr_assert(t.pow2);
	tlb_free(&t);

	make(&t, 48, 4, TLB_LRU);
	cr_assert_eq(t.sets, 12);
	cr_assert_not(t.pow2);
	cr_assert_eq(t.fastmod_m, UINT64_MAX / 12 + 1);
	tlb_free(&t);

	make(&t, 32, 32, TLB_PLRU); /* fully associative */
	cr_assert_eq(t.sets, 1);
	cr_assert_eq(t.ways, 32);
	tlb_free(&t);

	make(&t, 7, 1, TLB_RANDOM); /* direct-mapped, 7 sets */
	cr_assert_eq(t.sets, 7);
	tlb_free(&t);
}

/* fastmod must agree with % for every set count that is not a power of two. */
Test(tlb, set_of_non_pow2_is_mod)
{
	static const unsigned sets[] = {3, 5, 6, 7, 12, 24, 96, 100, 1000};
	for (unsigned i = 0; i < VM_ARRAY_SIZE(sets); i++) {
		struct tlb t;
		make(&t, sets[i] * 2, 2, TLB_LRU);
		cr_assert_eq(t.sets, sets[i]);
		for (uint64_t n = 0; n < 100000; n++)
			cr_assert_eq(tlb_set_of(&t, n), n % sets[i], "n %lu sets %u",
				     (unsigned long)n, sets[i]);
		for (uint64_t n = UINT32_MAX - 1000; n <= UINT32_MAX; n++)
			cr_assert_eq(tlb_set_of(&t, n), n % sets[i]);
		tlb_free(&t);
	}
}

static void expect_reject(struct tlb_geom g, const char *needle)
{
	struct tlb t;
	struct vmerr err = {{0}};
	int rc = tlb_init(&t, &g, &err);
	cr_assert_eq(rc, VM_EINPUT, "geometry %u x %u accepted (rc %d)", g.entries, g.ways, rc);
	cr_assert(strstr(err.msg, needle), "message \"%s\" lacks \"%s\"", err.msg, needle);
}

Test(tlb, bad_geometry_rejected_with_message)
{
	struct tlb_geom ok = {.entries = 64, .ways = 4, .policy = TLB_LRU, .classes = 1,
			      .shift = {12}};
	struct tlb_geom g;

	g = ok, g.entries = 0;
	expect_reject(g, "0 entries");
	g = ok, g.ways = 0;
	expect_reject(g, "0 ways");
	g = ok, g.entries = 4, g.ways = 8;
	expect_reject(g, "8 ways but only 4 entries");
	/* 48 = 9 * 5 + 3: the nearest multiples of 5 are 45 and 50 */
	g = ok, g.entries = 48, g.ways = 5;
	expect_reject(g, "48 entries do not split into 5-way sets (3 left over)");
	expect_reject(g, "e.g. 45 or 50");
	g = ok, g.classes = 0;
	expect_reject(g, "classes = 0");
	g = ok, g.classes = 1u << TLB_MAX_CLASSES;
	expect_reject(g, "0x20");
	g = ok, g.shift[0] = 2;
	expect_reject(g, "class 0 has shift 2");
	g = ok, g.classes = 3, g.shift[1] = 64;
	expect_reject(g, "class 1 has shift 64");
	g = ok, g.policy = (enum tlb_policy)7;
	expect_reject(g, "policy 7");
}

Test(tlb, policy_names)
{
	enum tlb_policy p;
	cr_assert_eq(tlb_policy_parse("lru", &p), 0);
	cr_assert_eq(p, TLB_LRU);
	cr_assert_eq(tlb_policy_parse("PLRU", &p), 0);
	cr_assert_eq(p, TLB_PLRU);
	cr_assert_eq(tlb_policy_parse("random", &p), 0);
	cr_assert_eq(p, TLB_RANDOM);
	cr_assert_eq(tlb_policy_parse("fifo", &p), -1);
	cr_assert_str_eq(tlb_policy_name(TLB_PLRU), "plru");
	cr_assert_str_eq(tlb_policy_name((enum tlb_policy)9), "?");
}

/* Every (number, class) pair has its own key; class 4 once collided with
 * number bit 0. */
Test(tlb, keys_distinct_across_classes)
{
	for (uint64_t n1 = 0; n1 < 64; n1++)
		for (unsigned c1 = 0; c1 < TLB_MAX_CLASSES; c1++) {
			cr_assert_neq(tlb_key(n1, c1), 0);
			for (uint64_t n2 = 0; n2 < 64; n2++)
				for (unsigned c2 = 0; c2 < TLB_MAX_CLASSES; c2++)
					if (n1 != n2 || c1 != c2)
						cr_assert_neq(tlb_key(n1, c1), tlb_key(n2, c2));
		}
}

/* ---- capacity ---- */

struct geo {
	unsigned entries, ways;
	enum tlb_policy policy;
};

ParameterizedTestParameters(tlb, fill_to_capacity_then_all_hit)
{
	static struct geo p[] = {
		{64, 4, TLB_LRU},    {64, 4, TLB_PLRU},     {64, 4, TLB_RANDOM},
		{1536, 12, TLB_LRU}, {1536, 12, TLB_PLRU},  {1536, 12, TLB_RANDOM},
		{48, 4, TLB_LRU},    {48, 4, TLB_PLRU},     {48, 4, TLB_RANDOM},
		{24, 3, TLB_PLRU},   {16, 16, TLB_LRU},     {128, 128, TLB_PLRU},
		{96, 96, TLB_LRU},   {100, 100, TLB_RANDOM}, {7, 1, TLB_LRU},
	};
	return cr_make_param_array(struct geo, p, VM_ARRAY_SIZE(p));
}

/* Pages 0..entries-1 put exactly `ways` pages in each set, so filling never
 * evicts, and afterwards every page hits with its own payload. */
ParameterizedTest(struct geo *g, tlb, fill_to_capacity_then_all_hit)
{
	struct tlb t;
	make(&t, g->entries, g->ways, g->policy);
	for (unsigned i = 0; i < g->entries; i++)
		cr_assert_eq(tlb_insert(&t, PG(i) + 0x123, C4K, CTX, TLB_CTX_ALL, 1000 + i), 0,
			     "%u x %u %s: page %u evicted something", g->entries, g->ways,
			     tlb_policy_name(g->policy), i);
	cr_assert_eq(t.valid, g->entries);
	for (unsigned i = 0; i < g->entries; i++) {
		struct tlb_entry *e = tlb_lookup(&t, PG(i) + 0xfff, C4K, CTX);
		cr_assert_not_null(e, "%u x %u %s: page %u missed", g->entries, g->ways,
				   tlb_policy_name(g->policy), i);
		cr_assert_eq(e->val, 1000 + i);
	}
	cr_assert_null(tlb_lookup(&t, PG(g->entries), C4K, CTX));

	/* One more page must evict exactly one entry of its own set. */
	uint64_t ev = tlb_insert(&t, PG(g->entries), C4K, CTX, TLB_CTX_ALL, 7);
	cr_assert_neq(ev, 0);
	uint64_t n = ev >> 4;
	cr_assert_lt(n, g->entries);
	cr_assert_eq(n % t.sets, g->entries % t.sets);
	cr_assert_eq(t.valid, g->entries);
	tlb_free(&t);
}

Test(tlb, insert_same_page_refreshes_in_place)
{
	struct tlb t;
	make(&t, 16, 4, TLB_LRU);
	cr_assert_eq(tlb_insert(&t, PG(5), C4K, CTX, TLB_CTX_ALL, 1), 0);
	cr_assert_eq(tlb_insert(&t, PG(5) + 8, C4K, CTX, TLB_CTX_ALL, 2), 0);
	cr_assert_eq(t.valid, 1);
	cr_assert_eq(tlb_lookup(&t, PG(5), C4K, CTX)->val, 2);
	tlb_free(&t);
}

/* ---- replacement ---- */

/* 16 entries, 4 ways: 4 sets; pages 0, 4, 8, 12, 16, 20 all live in set 0. */
Test(tlb, lru_evicts_least_recently_used)
{
	struct tlb t;
	make(&t, 16, 4, TLB_LRU);
	for (unsigned p = 0; p <= 12; p += 4)
		tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p);
	/* use order, oldest first: 0 4 8 12; after touching 0 then 8: 4 12 0 8 */
	cr_assert(hits(&t, PG(0), C4K, CTX));
	cr_assert(hits(&t, PG(8), C4K, CTX));
	cr_assert_eq(tlb_insert(&t, PG(16), C4K, CTX, TLB_CTX_ALL, 16), tlb_key(4, C4K));
	cr_assert_not(hits(&t, PG(4), C4K, CTX));
	/* now 12 0 8 16 */
	cr_assert_eq(tlb_insert(&t, PG(20), C4K, CTX, TLB_CTX_ALL, 20), tlb_key(12, C4K));
	cr_assert(hits(&t, PG(0), C4K, CTX));
	cr_assert(hits(&t, PG(8), C4K, CTX));
	cr_assert(hits(&t, PG(16), C4K, CTX));
	cr_assert(hits(&t, PG(20), C4K, CTX));
	cr_assert_eq(t.valid, 4);
	tlb_free(&t);
}

/* The clock is about to wrap; renumbering must keep the order. */
Test(tlb, lru_survives_clock_wrap)
{
	struct tlb t;
	make(&t, 4, 4, TLB_LRU);
	for (unsigned p = 0; p < 4; p++) /* way p holds page p, stamps 1..4 */
		tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p);
	t.clock = TLB_CLOCK_MAX - 2;
	cr_assert(hits(&t, PG(1), C4K, CTX)); /* stamp MAX-1 */
	cr_assert(hits(&t, PG(0), C4K, CTX)); /* stamp MAX */
	cr_assert(hits(&t, PG(3), C4K, CTX)); /* renumber: 2,3,1,0 -> 1..4; page 3 gets 5 */
	cr_assert_lt(t.clock, 16);
	/* oldest first: 2 1 0 3 */
	cr_assert_eq(tlb_insert(&t, PG(4), C4K, CTX, TLB_CTX_ALL, 4), tlb_key(2, C4K));
	cr_assert_eq(tlb_insert(&t, PG(5), C4K, CTX, TLB_CTX_ALL, 5), tlb_key(1, C4K));
	cr_assert_eq(tlb_insert(&t, PG(6), C4K, CTX, TLB_CTX_ALL, 6), tlb_key(0, C4K));
	tlb_free(&t);
}

/*
 * LRU against a reference model, on a random mix of look-ups, inserts and
 * INVLPGs over two sets of 6 ways, with the clock pushed to its wrap now
 * and then.  The reference keeps a 64-bit last-use time per way (0:
 * invalid) and fills the lowest invalid way, else the least recently used:
 * the rule tlb_insert's zero stamps stand for.  A dropped way must be
 * refilled before any older valid one is evicted, also across a wrap.
 */
/* Against a reference LRU, for each row width tlb_insert has its own copy
 * of (4, 8, 12, 16 key slots: 4, 6, 12, 16 ways) and the general one (20),
 * with half the inserts of absent pages through tlb_insert_new. */
ParameterizedTestParameters(tlb, lru_matches_reference_with_drops_and_wraps)
{
	static unsigned ways[] = {4, 6, 12, 16, 20};
	return cr_make_param_array(unsigned, ways, sizeof ways / sizeof ways[0]);
}

ParameterizedTest(unsigned *ways, tlb, lru_matches_reference_with_drops_and_wraps)
{
	enum { MAXW = 20, SETS = 2 };
	const int WAYS = (int)*ways;
	struct tlb t;
	make(&t, (unsigned)WAYS * SETS, (unsigned)WAYS, TLB_LRU);
	uint64_t key[SETS][MAXW] = {{0}}, used[SETS][MAXW] = {{0}}, now = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned drops = 0, wraps = 0, refills = 0, news = 0;
	for (unsigned i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t page = (x >> 8) % (uint64_t)(2 * WAYS * SETS); /* twice the ways per set */
		unsigned set = (unsigned)(page % SETS), op = (unsigned)(x % 8);
		uint64_t k = tlb_key(page, C4K);
		int w = -1;
		for (int j = 0; j < WAYS; j++)
			if (key[set][j] == k)
				w = j;
		if (op == 0 && (x >> 40) % 16 == 0 &&
		    t.clock < TLB_CLOCK_MAX - (uint32_t)((x >> 20) % 4)) {
			/* Forward only: a clock set back would stamp below live
			 * stamps, which the model never does. */
			t.clock = TLB_CLOCK_MAX - (uint32_t)((x >> 20) % 4);
			wraps++;
		}
		if (op <= 1) { /* look-up */
			bool hit = hits(&t, PG(page), C4K, CTX);
			cr_assert_eq(hit, w >= 0, "step %u: page %llu hit %d, reference %d", i,
				     (unsigned long long)page, hit, w >= 0);
			if (w >= 0)
				used[set][w] = ++now;
		} else if (op <= 4) { /* insert */
			uint64_t want = 0;
			bool fresh = w < 0 && (x >> 51) % 2 == 0; /* the promise holds: try the new path */
			if (w < 0) {
				w = 0;
				for (int j = 1; j < WAYS; j++)
					if (used[set][j] < used[set][w])
						w = j;
				want = key[set][w];
				refills += want == 0 && used[set][WAYS - 1] != 0;
				key[set][w] = k;
			}
			used[set][w] = ++now;
			uint64_t got = fresh ? tlb_insert_new(&t, PG(page), C4K, CTX, TLB_CTX_ALL, page)
					     : tlb_insert(&t, PG(page), C4K, CTX, TLB_CTX_ALL, page);
			news += fresh;
			cr_assert_eq(got, want,
				     "%d ways, step %u: insert of page %llu evicted key %llx, "
				     "reference %llx",
				     WAYS, i, (unsigned long long)page, (unsigned long long)got,
				     (unsigned long long)want);
		} else { /* INVLPG */
			unsigned n = tlb_inval_addr(&t, PG(page), CTX, TLB_CTX_ALL);
			cr_assert_eq(n, w >= 0 ? 1u : 0u, "step %u: INVLPG dropped %u", i, n);
			if (w >= 0) {
				key[set][w] = 0;
				used[set][w] = 0;
				drops++;
			}
		}
		unsigned valid = 0;
		for (int a = 0; a < SETS; a++)
			for (int j = 0; j < WAYS; j++)
				valid += key[a][j] != 0;
		cr_assert_eq(t.valid, valid, "step %u: %u valid, reference %u", i, t.valid, valid);
	}
	cr_assert_gt(drops, 1000);
	cr_assert_gt(wraps, 100);
	cr_assert_gt(refills, 100, "a dropped way was refilled after its set had filled");
	cr_assert_gt(news, 1000);
	tlb_free(&t);
}

/*
 * Tree-PLRU, 4 ways, one set (pages 0, 4, 8, 12 in ways 0..3).  Tree nodes:
 * 1 = root (0: evict from ways 0-1, 1: from ways 2-3), 2 = ways 0/1,
 * 3 = ways 2/3; a use points every node on its path away from it.
 *   fill 0,4,8,12   -> after way 3: root 0, node2 0 (way 1 used last), node3 0
 *   touch page 0    -> root 1, node2 1
 *   victim: root 1 -> right half, node3 0 -> way 2 = page 8.
 * True LRU would evict page 4 (use order 4 8 12 0), so this tells them apart.
 */
Test(tlb, plru_evicts_hand_computed_victim)
{
	struct tlb t;
	make(&t, 16, 4, TLB_PLRU);
	for (unsigned p = 0; p <= 12; p += 4)
		tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p);
	cr_assert(hits(&t, PG(0), C4K, CTX));
	cr_assert_eq(tlb_insert(&t, PG(16), C4K, CTX, TLB_CTX_ALL, 16), tlb_key(8, C4K));
	/* page 16 took way 2: root 0, node3 1 -> left half, node2 1 -> way 1 = page 4 */
	cr_assert_eq(tlb_insert(&t, PG(20), C4K, CTX, TLB_CTX_ALL, 20), tlb_key(4, C4K));
	tlb_free(&t);
}

/*
 * Three ways: the tree has 4 leaves and leaf 3 does not exist.
 *   fill a,b,c (ways 0,1,2) -> root 0, node2 0, node3 1 (points at leaf 3)
 *   victim: root 0 -> left, node2 0 -> way 0 = a; d replaces it
 *   using way 0 sets root 1, node2 1
 *   victim: root 1 -> right, node3 1 -> leaf 3 does not exist -> way 2 = c
 */
Test(tlb, plru_non_pow2_never_picks_missing_way)
{
	struct tlb t;
	make(&t, 3, 3, TLB_PLRU);
	for (unsigned p = 0; p < 3; p++)
		tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p);
	cr_assert_eq(tlb_insert(&t, PG(3), C4K, CTX, TLB_CTX_ALL, 3), tlb_key(0, C4K));
	cr_assert_eq(tlb_insert(&t, PG(4), C4K, CTX, TLB_CTX_ALL, 4), tlb_key(2, C4K));
	tlb_free(&t);
}

/* Any way count: a stream of new pages always evicts a page that was there,
 * and the set stays full with the newest page present. */
Test(tlb, plru_any_way_count_stays_consistent)
{
	static const unsigned ways[] = {2, 3, 5, 6, 7, 12, 20, 63, 64, 65, 100};
	for (unsigned i = 0; i < VM_ARRAY_SIZE(ways); i++) {
		unsigned w = ways[i];
		struct tlb t;
		make(&t, w, w, TLB_PLRU);
		bool in[4096] = {false};
		for (unsigned p = 0; p < 4096; p++) {
			if (p % 3 == 0 && p > 0)
				(void)tlb_lookup(&t, PG(p - 1), C4K, CTX);
			uint64_t ev = tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p);
			if (p < w) {
				cr_assert_eq(ev, 0);
			} else {
				cr_assert_neq(ev, 0, "%u ways: page %u evicted nothing", w, p);
				cr_assert(in[ev >> 4], "%u ways: evicted page %lu was not present", w,
					  (unsigned long)(ev >> 4));
				in[ev >> 4] = false;
			}
			in[p] = true;
			cr_assert(hits(&t, PG(p), C4K, CTX));
			cr_assert_eq(t.valid, p < w ? p + 1 : w);
		}
		tlb_free(&t);
	}
}

/* 128-way fully associative goes through the out-of-line wide path. */
Test(tlb, fully_associative_wide)
{
	struct tlb t;
	make(&t, 128, 128, TLB_LRU);
	for (unsigned p = 0; p < 128; p++)
		tlb_insert(&t, PG(p * 7), C4K, CTX, TLB_CTX_ALL, p);
	cr_assert(hits(&t, PG(0), C4K, CTX));
	/* oldest is now page 7 (inserted second) */
	cr_assert_eq(tlb_insert(&t, PG(5), C4K, CTX, TLB_CTX_ALL, 0), tlb_key(7, C4K));
	cr_assert_eq(tlb_lookup(&t, PG(127 * 7), C4K, CTX)->val, 127);
	tlb_free(&t);

	make(&t, 128, 128, TLB_PLRU);
	for (unsigned p = 0; p < 128; p++)
		tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p);
	/* a left-to-right fill leaves every node pointing left: way 0 */
	cr_assert_eq(tlb_insert(&t, PG(500), C4K, CTX, TLB_CTX_ALL, 0), tlb_key(0, C4K));
	tlb_free(&t);
}

/* 64 entries, 4 ways: 16 sets.  Pages 64, 80, 96, ... all map to set 0, so
 * random replacement may only ever evict pages n with n % 16 == 0. */
Test(tlb, random_evicts_within_the_set_only)
{
	struct tlb t, u;
	make(&t, 64, 4, TLB_RANDOM);
	make(&u, 64, 4, TLB_RANDOM);
	for (unsigned p = 0; p < 64; p++) {
		tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p);
		tlb_insert(&u, PG(p), C4K, CTX, TLB_CTX_ALL, p);
	}
	unsigned way_hits[4] = {0};
	for (unsigned k = 0; k < 200; k++) {
		uint64_t p = 64 + 16 * k;
		uint64_t ev = tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p);
		cr_assert_neq(ev, 0);
		cr_assert_eq((ev >> 4) % 16, 0, "page %lu evicted from another set",
			     (unsigned long)(ev >> 4));
		/* same seed, same operations, same victims */
		cr_assert_eq(tlb_insert(&u, PG(p), C4K, CTX, TLB_CTX_ALL, p), ev);
		struct tlb_entry *e = tlb_lookup(&t, PG(p), C4K, CTX);
		way_hits[e - t.e]++;
	}
	for (unsigned w = 0; w < 4; w++)
		cr_assert_gt(way_hits[w], 20, "way %u chosen %u times of 200", w, way_hits[w]);
	for (unsigned p = 0; p < 64; p++)
		if (p % 16)
			cr_assert(hits(&t, PG(p), C4K, CTX), "page %u of set %u lost", p, p % 16);
	cr_assert_eq(t.valid, 64);
	tlb_free(&t);
	tlb_free(&u);
}

/* ---- contexts ---- */

Test(tlb, global_entry_matches_every_pcid_of_its_vpid)
{
	struct tlb t;
	make(&t, 64, 4, TLB_LRU);
	tlb_insert(&t, PG(1), C4K, tlb_ctx(1, 5), TLB_CTX_VPID_MASK, 11); /* global */
	tlb_insert(&t, PG(2), C4K, tlb_ctx(1, 5), TLB_CTX_ALL, 22);       /* not global */

	cr_assert(hits(&t, PG(1), C4K, tlb_ctx(1, 5)));
	cr_assert(hits(&t, PG(1), C4K, tlb_ctx(1, 9)));
	cr_assert(hits(&t, PG(1), C4K, tlb_ctx(1, 0)));
	cr_assert_not(hits(&t, PG(1), C4K, tlb_ctx(2, 5)), "global leaked into VPID 2");

	cr_assert(hits(&t, PG(2), C4K, tlb_ctx(1, 5)));
	cr_assert_not(hits(&t, PG(2), C4K, tlb_ctx(1, 9)));
	cr_assert_not(hits(&t, PG(2), C4K, tlb_ctx(2, 5)));
	tlb_free(&t);
}

/* The same page under two PCIDs is two entries, each with its own payload. */
Test(tlb, same_page_two_pcids_coexist)
{
	struct tlb t;
	make(&t, 64, 4, TLB_LRU);
	cr_assert_eq(tlb_insert(&t, PG(3), C4K, tlb_ctx(1, 1), TLB_CTX_ALL, 11), 0);
	cr_assert_eq(tlb_insert(&t, PG(3), C4K, tlb_ctx(1, 2), TLB_CTX_ALL, 22), 0);
	cr_assert_eq(t.valid, 2);
	cr_assert_eq(tlb_lookup(&t, PG(3), C4K, tlb_ctx(1, 1))->val, 11);
	cr_assert_eq(tlb_lookup(&t, PG(3), C4K, tlb_ctx(1, 2))->val, 22);
	cr_assert_null(tlb_lookup(&t, PG(3), C4K, tlb_ctx(1, 3)));
	tlb_free(&t);
}

/* ---- invalidation ---- */

/*
 * One instance holding 4 KiB (class 0) and 2 MiB (class 1) pages.
 * INVLPG 0x203abc must drop the 4 KiB page 0x203000 and the 2 MiB page
 * 0x200000, and nothing else.
 */
Test(tlb, inval_addr_drops_matching_page_of_each_class)
{
	struct tlb t;
	uint32_t a = tlb_ctx(1, 3);
	make_4k_2m(&t, 64, 4);
	tlb_insert(&t, 0x203000, C4K, a, TLB_CTX_ALL, 1);
	tlb_insert(&t, 0x204000, C4K, a, TLB_CTX_ALL, 2);
	tlb_insert(&t, 0x200000, C2M, a, TLB_CTX_ALL, 3);
	tlb_insert(&t, 0x400000, C2M, a, TLB_CTX_ALL, 4);
	cr_assert_eq(t.valid, 4);

	cr_assert_eq(tlb_inval_addr(&t, 0x203abc, a, TLB_CTX_ALL), 2);
	cr_assert_eq(t.valid, 2);
	cr_assert_not(hits(&t, 0x203000, C4K, a));
	cr_assert_not(hits(&t, 0x200000, C2M, a));
	cr_assert(hits(&t, 0x204000, C4K, a));
	cr_assert(hits(&t, 0x400000, C2M, a));
	tlb_free(&t);
}

Test(tlb, inval_addr_contexts_and_globals)
{
	struct tlb t;
	make(&t, 64, 4, TLB_LRU);
	tlb_insert(&t, PG(5), C4K, tlb_ctx(1, 3), TLB_CTX_VPID_MASK, 5); /* global */
	tlb_insert(&t, PG(6), C4K, tlb_ctx(1, 3), TLB_CTX_ALL, 6);
	tlb_insert(&t, PG(7), C4K, tlb_ctx(2, 3), TLB_CTX_ALL, 7);

	/* INVLPG under PCID 7 still drops the global (it is in every PCID) */
	cr_assert_eq(tlb_inval_addr(&t, PG(5), tlb_ctx(1, 7), TLB_CTX_ALL), 1);
	cr_assert_not(hits(&t, PG(5), C4K, tlb_ctx(1, 3)));
	/* page 6 belongs to PCID 3, not 4 ... */
	cr_assert_eq(tlb_inval_addr(&t, PG(6), tlb_ctx(1, 4), TLB_CTX_ALL), 0);
	cr_assert(hits(&t, PG(6), C4K, tlb_ctx(1, 3)));
	/* ... unless every PCID of the VPID is meant (INVVPID individual address) */
	cr_assert_eq(tlb_inval_addr(&t, PG(6), tlb_ctx(1, 4), TLB_CTX_VPID_MASK), 1);
	/* another VM's copy of a page is never touched */
	cr_assert_eq(tlb_inval_addr(&t, PG(7), tlb_ctx(1, 3), TLB_CTX_ALL), 0);
	cr_assert(hits(&t, PG(7), C4K, tlb_ctx(2, 3)));
	cr_assert_eq(t.valid, 1);
	tlb_free(&t);
}

/* 10 pages in each of (VPID 1, PCID 1), (1, 2), (2, 1) and (2, 2). */
static void fill_four_contexts(struct tlb *t)
{
	make(t, 64, 4, TLB_LRU);
	for (unsigned v = 1; v <= 2; v++)
		for (unsigned p = 1; p <= 2; p++)
			for (unsigned i = 0; i < 10; i++)
				tlb_insert(t, PG(i), C4K, tlb_ctx(v, p), TLB_CTX_ALL, v * 100 + p);
	cr_assert_eq(t->valid, 40);
}

Test(tlb, flush_ctx_one_pcid_of_one_vpid)
{
	struct tlb t;
	fill_four_contexts(&t);
	cr_assert_eq(tlb_flush_ctx(&t, tlb_ctx(1, 1), TLB_CTX_ALL, false), 10);
	cr_assert_eq(t.valid, 30);
	cr_assert_not(hits(&t, PG(0), C4K, tlb_ctx(1, 1)));
	cr_assert(hits(&t, PG(0), C4K, tlb_ctx(1, 2)));
	cr_assert(hits(&t, PG(0), C4K, tlb_ctx(2, 1)));
	tlb_free(&t);
}

/* match_mask = TLB_CTX_PCID_MASK compares the PCID only: PCID 1 goes in
 * both VPIDs, PCID 2 stays. */
Test(tlb, flush_ctx_by_pcid_keeps_other_pcids)
{
	struct tlb t;
	fill_four_contexts(&t);
	cr_assert_eq(tlb_flush_ctx(&t, tlb_ctx(0, 1), TLB_CTX_PCID_MASK, false), 20);
	for (unsigned i = 0; i < 10; i++) {
		cr_assert_not(hits(&t, PG(i), C4K, tlb_ctx(1, 1)));
		cr_assert_not(hits(&t, PG(i), C4K, tlb_ctx(2, 1)));
		cr_assert_eq(tlb_lookup(&t, PG(i), C4K, tlb_ctx(1, 2))->val, 102);
		cr_assert_eq(tlb_lookup(&t, PG(i), C4K, tlb_ctx(2, 2))->val, 202);
	}
	tlb_free(&t);
}

Test(tlb, flush_ctx_whole_vpid)
{
	struct tlb t;
	fill_four_contexts(&t);
	cr_assert_eq(tlb_flush_ctx(&t, tlb_ctx(2, 0), TLB_CTX_VPID_MASK, false), 20);
	cr_assert(hits(&t, PG(0), C4K, tlb_ctx(1, 1)));
	cr_assert(hits(&t, PG(0), C4K, tlb_ctx(1, 2)));
	cr_assert_not(hits(&t, PG(0), C4K, tlb_ctx(2, 2)));
	tlb_free(&t);
}

Test(tlb, flush_ctx_keep_global)
{
	struct tlb t;
	make(&t, 64, 4, TLB_LRU);
	tlb_insert(&t, PG(1), C4K, tlb_ctx(1, 1), TLB_CTX_ALL, 1);
	tlb_insert(&t, PG(2), C4K, tlb_ctx(1, 1), TLB_CTX_VPID_MASK, 2); /* global, VM 1 */
	tlb_insert(&t, PG(3), C4K, tlb_ctx(2, 1), TLB_CTX_VPID_MASK, 3); /* global, VM 2 */

	/* MOV to CR3 without PCID: non-global entries go, globals stay */
	cr_assert_eq(tlb_flush_ctx(&t, tlb_ctx(1, 1), TLB_CTX_ALL, true), 1);
	cr_assert_not(hits(&t, PG(1), C4K, tlb_ctx(1, 1)));
	cr_assert(hits(&t, PG(2), C4K, tlb_ctx(1, 1)));
	/* without keep_global, VM 1's global matches any of its PCIDs and goes;
	 * VM 2's global stays */
	cr_assert_eq(tlb_flush_ctx(&t, tlb_ctx(1, 6), TLB_CTX_ALL, false), 1);
	cr_assert_not(hits(&t, PG(2), C4K, tlb_ctx(1, 1)));
	cr_assert(hits(&t, PG(3), C4K, tlb_ctx(2, 9)));
	cr_assert_eq(t.valid, 1);
	tlb_free(&t);
}

Test(tlb, flush_all_empties_and_refills_without_eviction)
{
	struct tlb t;
	make(&t, 48, 4, TLB_PLRU);
	for (unsigned p = 0; p < 200; p++)
		tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p);
	cr_assert_eq(t.valid, 48);
	tlb_flush_all(&t);
	cr_assert_eq(t.valid, 0);
	for (unsigned p = 0; p < 200; p++)
		cr_assert_not(hits(&t, PG(p), C4K, CTX));
	for (unsigned p = 0; p < 48; p++)
		cr_assert_eq(tlb_insert(&t, PG(p), C4K, CTX, TLB_CTX_ALL, p), 0);
	tlb_free(&t);
}

/* ---- size classes ---- */

Test(tlb, classes_4k_and_2m_in_one_instance)
{
	struct tlb t;
	make_4k_2m(&t, 1536, 12);
	/* a 2 MiB page at 1 GiB covers 0x40000000..0x401fffff */
	tlb_insert(&t, 0x40000000, C2M, CTX, TLB_CTX_ALL, 1);
	cr_assert_eq(tlb_lookup(&t, 0x401fffff, C2M, CTX)->val, 1);
	cr_assert_not(hits(&t, 0x40200000, C2M, CTX));
	cr_assert_not(hits(&t, 0x40000000, C4K, CTX), "a 2 MiB entry answered a 4 KiB lookup");

	/* the 4 KiB page at the same address is a different entry */
	cr_assert_eq(tlb_insert(&t, 0x40000000, C4K, CTX, TLB_CTX_ALL, 2), 0);
	cr_assert_eq(t.valid, 2);
	cr_assert_eq(tlb_lookup(&t, 0x40000fff, C4K, CTX)->val, 2);
	cr_assert_eq(tlb_lookup(&t, 0x40000fff, C2M, CTX)->val, 1);
	cr_assert_not(hits(&t, 0x40001000, C4K, CTX));
	tlb_free(&t);
}
