/*
 * tlb.c - the generic set-associative translation cache.
 *
 * Notes:
 *  - A set is chosen by number mod sets (number = address >> shift of the
 *    class).  Power-of-two set counts use a mask; any other count uses
 *    Lemire's fastmod on the low 32 bits of the number, which only affects
 *    how numbers spread over sets: the full key is always compared.  Real
 *    TLBs hash or XOR-fold upper bits into the index; this model does not.
 *  - Every class an instance holds shares its sets, as a unified second-level
 *    TLB does (Skylake's STLB: 1536 entries, 12 ways, 4 KiB and 2 MiB pages;
 *    Intel 64 and IA-32 Architectures Optimization Reference Manual, the
 *    Skylake microarchitecture's TLB parameters).  An instance per class
 *    models split L1 TLBs.
 *  - LRU is exact: each hit stamps the entry with a 32-bit clock; when the
 *    clock would wrap, each set's stamps are renumbered 1..ways in the same
 *    order, which keeps every decision unchanged.
 *  - Tree-PLRU is the textbook binary tree of (leaves - 1) bits per set over
 *    ways rounded up to a power of two; a bit says which half to evict from
 *    next.  Leaves past the last way are never chosen: where a bit points at
 *    a half with no real way, the walk takes the other half.  Hardware with
 *    a non-power-of-two way count (e.g. 12-way) uses vendor-specific trees;
 *    this one is a stand-in.
 *  - Random uses xorshift64 (Marsaglia 2003) seeded with a fixed constant,
 *    so runs repeat exactly.
 *  - A set may hold two entries with the same key under different contexts,
 *    as hardware does for different PCIDs.  Insert refreshes in place only an
 *    entry with the same key, ctx and ctx_mask.
 */
#include "tlb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Far beyond any real translation or data cache (a 1 GiB cache of 64-byte
 * lines is 16 Mi entries); the cap keeps size arithmetic from overflowing. */
#define TLB_MAX_ENTRIES (1u << 26)
#define TLB_RNG_SEED UINT64_C(0x9e3779b97f4a7c15) /* any non-zero value; fixed for repeatability */

static unsigned round_pow2(unsigned x)
{
	unsigned p = 1;
	while (p < x)
		p <<= 1;
	return p;
}

static int check_geom(const struct tlb_geom *g, struct vmerr *err)
{
	if (g->entries == 0)
		return vmerr_set(err, VM_EINPUT,
				 "tlb: 0 entries; give the cache at least one entry");
	if (g->entries > TLB_MAX_ENTRIES)
		return vmerr_set(err, VM_EINPUT,
				 "tlb: %u entries is more than the %u this model allows; "
				 "check the entries setting",
				 g->entries, TLB_MAX_ENTRIES);
	if (g->ways == 0)
		return vmerr_set(err, VM_EINPUT,
				 "tlb: %u entries with 0 ways; use ways >= 1 (ways == entries "
				 "makes it fully associative)",
				 g->entries);
	if (g->ways > g->entries)
		return vmerr_set(err, VM_EINPUT,
				 "tlb: %u ways but only %u entries; use ways <= entries "
				 "(ways == entries is fully associative)",
				 g->ways, g->entries);
	if (g->entries % g->ways != 0)
		return vmerr_set(err, VM_EINPUT,
				 "tlb: %u entries do not split into %u-way sets (%u left over); "
				 "make entries a multiple of ways, e.g. %u or %u",
				 g->entries, g->ways, g->entries % g->ways,
				 g->entries - g->entries % g->ways,
				 g->entries - g->entries % g->ways + g->ways);
	if ((unsigned)g->policy > TLB_RANDOM)
		return vmerr_set(err, VM_EINPUT,
				 "tlb: replacement policy %d is unknown; use lru, plru or random",
				 (int)g->policy);
	if (g->classes == 0)
		return vmerr_set(err, VM_EINPUT,
				 "tlb: no size class selected (classes = 0); set bit c for each "
				 "class c the cache holds");
	if (g->classes >> TLB_MAX_CLASSES)
		return vmerr_set(err, VM_EINPUT,
				 "tlb: classes mask 0x%x names a class >= %d; only classes "
				 "0..%d exist",
				 g->classes, TLB_MAX_CLASSES, TLB_MAX_CLASSES - 1);
	for (unsigned c = 0; c < TLB_MAX_CLASSES; c++)
		if ((g->classes >> c & 1) && (g->shift[c] < 4 || g->shift[c] > 63))
			return vmerr_set(err, VM_EINPUT,
					 "tlb: class %u has shift %u; use 4..63 (12 for 4 KiB "
					 "pages, 21 for 2 MiB, 6 for 64-byte lines)",
					 c, (unsigned)g->shift[c]);
	return 0;
}

/* The bits on way w's path from the root, and the values a hit on w leaves
 * in them (each points away from w).  Nodes are numbered heap-style from 1;
 * leaf w is node leaves + w. */
static void plru_path(unsigned leaves, unsigned w, uint64_t *bits, uint64_t *vals)
{
	*bits = *vals = 0;
	for (unsigned node = leaves + w; node > 1; node >>= 1) {
		unsigned parent = node >> 1;
		*bits |= UINT64_C(1) << parent;
		if (!(node & 1)) /* w is in the left half: evict from the right next */
			*vals |= UINT64_C(1) << parent;
	}
}

/* Every stamp 0 (invalid), every padding way TLB_AGE_PAD. */
static void age_reset(struct tlb *t)
{
	for (size_t i = 0; i < (size_t)t->sets * t->kstride; i++)
		t->age[i] = i % t->kstride < t->ways ? 0 : TLB_AGE_PAD;
}

int tlb_init(struct tlb *t, const struct tlb_geom *g, struct vmerr *err)
{
	memset(t, 0, sizeof *t);
	int rc = check_geom(g, err);
	if (rc < 0)
		return rc;

	t->ways = g->ways;
	t->sets = g->entries / g->ways;
	t->pow2 = (t->sets & (t->sets - 1)) == 0;
	t->set_mask = t->sets - 1;
	if (!t->pow2)
		t->fastmod_m = UINT64_C(0xFFFFFFFFFFFFFFFF) / t->sets + 1;
	t->policy = g->policy;
	t->classes = g->classes;
	memcpy(t->shift, g->shift, sizeof t->shift);
	t->rng = TLB_RNG_SEED;

	size_t ebytes = (size_t)g->entries * sizeof *t->e;
	t->e = aligned_alloc(64, (ebytes + 63) & ~(size_t)63);
	if (!t->e)
		goto nomem;
	memset(t->e, 0, ebytes);
	t->kstride = (t->ways + 3) & ~3u;
	/* 64-byte aligned: the hit path loads keys 16 bytes at a time. */
	size_t kbytes = (size_t)t->sets * t->kstride * sizeof *t->keys;
	t->keys = aligned_alloc(64, (kbytes + 63) & ~(size_t)63);
	if (!t->keys)
		goto nomem;
	memset(t->keys, 0, kbytes);

	switch (t->policy) {
	case TLB_LRU:
		/* 16-byte aligned rows of kstride stamps: the victim loads four at a time */
		t->age = aligned_alloc(64, (kbytes / 2 + 63) & ~(size_t)63);
		t->scratch = calloc(t->ways, sizeof *t->scratch);
		if (!t->age || !t->scratch)
			goto nomem;
		age_reset(t);
		break;
	case TLB_PLRU:
		t->plru_leaves = round_pow2(t->ways);
		/* node numbers run 1..leaves-1; bit i of word i/64 */
		t->plru_words = (t->plru_leaves + 63) / 64;
		t->plru = calloc((size_t)t->sets * t->plru_words, sizeof *t->plru);
		if (!t->plru)
			goto nomem;
		if (t->plru_words == 1) {
			t->plru_path = malloc(2 * (size_t)t->ways * sizeof *t->plru_path);
			if (!t->plru_path)
				goto nomem;
			for (unsigned w = 0; w < t->ways; w++)
				plru_path(t->plru_leaves, w, &t->plru_path[2 * w],
					  &t->plru_path[2 * w + 1]);
		}
		break;
	case TLB_RANDOM:
		break;
	}
	return 0;

nomem:
	tlb_free(t);
	return vmerr_set(err, VM_ENOMEM, "tlb: out of memory for %u entries x %zu bytes",
			 g->entries, sizeof(struct tlb_entry));
}

void tlb_free(struct tlb *t)
{
	free(t->e);
	free(t->keys);
	free(t->age);
	free(t->plru);
	free(t->plru_path);
	free(t->scratch);
	memset(t, 0, sizeof *t);
}

void tlb_lru_rank(uint32_t *a, unsigned ways, uint32_t *scratch)
{
	for (unsigned i = 0; i < ways; i++) {
		unsigned rank = 1;
		for (unsigned j = 0; j < ways; j++)
			rank += a[j] < a[i] || (a[j] == a[i] && j < i);
		scratch[i] = rank;
	}
	memcpy(a, scratch, ways * sizeof *a);
}

/* Renumber each set's stamps 1..ways in their current order, so the clock
 * can restart at ways without changing which entry is oldest (invalid ways
 * stay below every valid one, as tlb_insert needs). */
static void lru_renumber(struct tlb *t)
{
	for (unsigned s = 0; s < t->sets; s++)
		tlb_lru_rank(&t->age[(size_t)s * t->kstride], t->ways, t->scratch);
	t->clock = t->ways;
}

static inline uint64_t *plru_set(struct tlb *t, unsigned set)
{
	return &t->plru[(size_t)set * t->plru_words];
}

static void plru_touch(struct tlb *t, unsigned set, unsigned way)
{
	uint64_t *b = plru_set(t, set);
	if (t->plru_words == 1) {
		*b = (*b & ~t->plru_path[2 * way]) | t->plru_path[2 * way + 1];
		return;
	}
	for (unsigned node = t->plru_leaves + way; node > 1; node >>= 1) {
		unsigned parent = node >> 1;
		uint64_t bit = UINT64_C(1) << (parent & 63);
		if (node & 1)
			b[parent >> 6] &= ~bit;
		else
			b[parent >> 6] |= bit;
	}
}

static unsigned plru_victim(struct tlb *t, unsigned set)
{
	const uint64_t *b = plru_set(t, set);
	unsigned node = 1, lo = 0;
	for (unsigned span = t->plru_leaves >> 1; span; span >>= 1) {
		bool right = b[node >> 6] >> (node & 63) & 1;
		if (right && lo + span < t->ways) {
			lo += span;
			node = 2 * node + 1;
		} else {
			node = 2 * node;
		}
	}
	return lo;
}

void tlb_touch_(struct tlb *t, unsigned set, unsigned way)
{
	switch (t->policy) {
	case TLB_LRU:
		if (VM_UNLIKELY(t->clock >= TLB_CLOCK_MAX))
			lru_renumber(t);
		t->clock++;
		t->age[(size_t)set * t->kstride + way] = t->clock;
		break;
	case TLB_PLRU:
		plru_touch(t, set, way);
		break;
	case TLB_RANDOM:
		break;
	}
}

struct tlb_entry *tlb_lookup_wide_(struct tlb *t, unsigned set, uint64_t key, uint32_t ctx)
{
	struct tlb_entry *s = &t->e[(size_t)set * t->ways];
	for (unsigned w = 0; w < t->ways; w++)
		if (s[w].key == key && ((s[w].ctx ^ ctx) & s[w].ctx_mask) == 0) {
			tlb_touch_(t, set, w);
			return &s[w];
		}
	return NULL;
}

unsigned tlb_lru_oldest(const uint32_t *a, unsigned ways)
{
	/* Which way wins is data-dependent: as a branch per way it mispredicted
	 * about once per scan (a third of tlb_insert on a random walk stream);
	 * written for conditional moves it does not.  The TLBs' own rows take
	 * lru_victim below, four stamps at a time; this serves the data-cache
	 * model, whose stamps use all 32 bits, and rows wider than 64 ways. */
	uint32_t best = a[0];
	unsigned v = 0;
	for (unsigned w = 1; w < ways; w++) {
		bool lt = a[w] < best;
		best = lt ? a[w] : best;
		v = lt ? w : v;
	}
	return v;
}

/*
 * The way with the oldest stamp of a kstride row (lowest way on a tie),
 * four lanes at a time: the minimum of the row, then the first lane equal
 * to it.  Padding lanes hold TLB_AGE_PAD, above every stamp.  Against the
 * scalar scan (a compare and two conditional moves per way, each waiting
 * for the last) it takes a third of the instructions on the 12-way STLB.
 */
#if defined(__SSE2__)
/* Lane-wise minimum of four stamps (all below 2^31, so signed is right). */
static inline __m128i min4(__m128i a, __m128i b)
{
	__m128i gt = _mm_cmpgt_epi32(a, b);
	return _mm_or_si128(_mm_and_si128(gt, b), _mm_andnot_si128(gt, a));
}
#endif

static inline __attribute__((always_inline)) unsigned
lru_victim(const uint32_t *a, unsigned kstride, unsigned ways)
{
#if defined(__SSE2__)
	if (VM_LIKELY(kstride <= 64)) {
		__m128i m = _mm_load_si128((const __m128i *)a);
		for (unsigned w = 4; w < kstride; w += 4)
			m = min4(m, _mm_load_si128((const __m128i *)&a[w]));
		m = min4(m, _mm_shuffle_epi32(m, _MM_SHUFFLE(1, 0, 3, 2)));
		m = min4(m, _mm_shuffle_epi32(m, _MM_SHUFFLE(2, 3, 0, 1))); /* min in every lane */
		uint64_t eq = 0;
		for (unsigned w = 0; w < kstride; w += 4)
			eq |= (uint64_t)_mm_movemask_ps(_mm_castsi128_ps(
				      _mm_cmpeq_epi32(_mm_load_si128((const __m128i *)&a[w]), m)))
			      << w;
		return (unsigned)__builtin_ctzll(eq);
	}
#endif
	(void)kstride;
	return tlb_lru_oldest(a, ways);
}

static unsigned victim(struct tlb *t, unsigned set)
{
	switch (t->policy) {
	case TLB_LRU:
		return lru_victim(&t->age[(size_t)set * t->kstride], t->kstride, t->ways);
	case TLB_PLRU:
		return plru_victim(t, set);
	case TLB_RANDOM:
		break;
	}
	uint64_t x = t->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t->rng = x;
	/* Lemire's multiply-shift maps the high 32 bits onto 0..ways-1. */
	return (unsigned)(((x >> 32) * t->ways) >> 32);
}

/* One pass over a set's packed keys: bit w of *hit set where k[w] == key,
 * of *empty where k[w] == 0 (padding ways included; the caller masks). */
static inline void match2(const uint64_t *k, unsigned kstride, uint64_t key, uint64_t *hit,
			  uint64_t *empty)
{
#if defined(__SSE2__)
	__m128i kk = _mm_set1_epi64x((long long)key), zz = _mm_setzero_si128();
	uint64_t h = 0, z = 0;
	for (unsigned w = 0; w < kstride; w += 4) {
		__m128i x = _mm_load_si128((const __m128i *)&k[w]);
		__m128i y = _mm_load_si128((const __m128i *)&k[w + 2]);
		__m128 a = _mm_castsi128_ps(_mm_cmpeq_epi32(x, kk));
		__m128 b = _mm_castsi128_ps(_mm_cmpeq_epi32(y, kk));
		__m128 c = _mm_castsi128_ps(_mm_cmpeq_epi32(x, zz));
		__m128 d = _mm_castsi128_ps(_mm_cmpeq_epi32(y, zz));
		h |= (uint64_t)_mm_movemask_ps(_mm_and_ps(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
							  _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))))
		     << w;
		z |= (uint64_t)_mm_movemask_ps(_mm_and_ps(_mm_shuffle_ps(c, d, _MM_SHUFFLE(2, 0, 2, 0)),
							  _mm_shuffle_ps(c, d, _MM_SHUFFLE(3, 1, 3, 1))))
		     << w;
	}
	*hit = h;
	*empty = z;
#else
	*hit = tlb_match_(k, kstride, key);
	*empty = tlb_match_(k, kstride, 0);
#endif
}

/*
 * tlb_insert under LRU for rows of kstride (<= 64) key slots.  Every invalid
 * way's stamp is below every valid way's (drop and flush zero it, each fill
 * and hit stamps ++clock, and renumbering keeps the order), so the oldest
 * stamp is an invalid way if there is one and the LRU way if not: the rule
 * tlb_insert states, without looking for free ways.  Which invalid way is
 * taken can differ from the lowest, which nothing can observe: a way's
 * index decides no later hit or victim, since valid stamps never tie.
 */
static inline __attribute__((always_inline)) uint64_t
lru_insert(struct tlb *t, uint64_t key, unsigned set, uint32_t ctx, uint32_t ctx_mask, uint64_t val,
	   unsigned kstride, bool absent)
{
	uint64_t *k = &t->keys[(size_t)set * kstride];
	struct tlb_entry *s = &t->e[(size_t)set * t->ways];
	uint32_t *age = &t->age[(size_t)set * kstride];
	unsigned w;
	for (uint64_t hit = absent ? 0 : tlb_match_(k, kstride, key); VM_UNLIKELY(hit);
	     hit &= hit - 1) {
		w = (unsigned)__builtin_ctzll(hit);
		if (s[w].ctx == ctx && s[w].ctx_mask == ctx_mask) {
			s[w].val = val;
			tlb_hit_(t, set, w);
			return 0;
		}
	}
	w = lru_victim(age, kstride, t->ways);
	uint64_t old = k[w];
	t->valid += old == 0;
	s[w] = (struct tlb_entry){.key = key, .ctx = ctx, .ctx_mask = ctx_mask, .val = val};
	k[w] = key;
	/* tlb_hit_'s LRU case, written out on this row: calling tlb_hit_ here
	 * cost 0.4 G more instructions and 10% more cycles on nested gups
	 * (perf stat, 4 GiB, updates=16m minus 8m). */
	if (VM_LIKELY(t->clock < TLB_CLOCK_MAX))
		age[w] = ++t->clock;
	else
		tlb_touch_(t, set, w);
	return old;
}

/* tlb_insert; absent: tlb_insert_new's promise, so the LRU case need not
 * look for an entry to refresh. */
static inline __attribute__((always_inline)) uint64_t
insert(struct tlb *t, uint64_t addr, unsigned c, uint32_t ctx, uint32_t ctx_mask, uint64_t val,
       bool absent)
{
	uint64_t n = addr >> t->shift[c];
	uint64_t key = tlb_key(n, c);
	unsigned set = tlb_set_of(t, n);
	uint64_t *k = &t->keys[(size_t)set * t->kstride];
	struct tlb_entry *s = &t->e[(size_t)set * t->ways];
	unsigned w, free_w = t->ways;

	if (VM_LIKELY(t->policy == TLB_LRU && t->kstride <= 64)) {
		/* The row width as a constant in the common geometries, so the
		 * compare and victim loops unroll without bounds checks. */
		switch (t->kstride) {
		case 4: return lru_insert(t, key, set, ctx, ctx_mask, val, 4, absent);
		case 8: return lru_insert(t, key, set, ctx, ctx_mask, val, 8, absent);
		case 12: return lru_insert(t, key, set, ctx, ctx_mask, val, 12, absent);
		case 16: return lru_insert(t, key, set, ctx, ctx_mask, val, 16, absent);
		default: return lru_insert(t, key, set, ctx, ctx_mask, val, t->kstride, absent);
		}
	}
	/* The packed key copies decide, compared as the hit path does, in one
	 * pass for the key and for free ways; the 24-byte entries are read
	 * only where a key matches.  A refresh in place is rare. */
	if (VM_LIKELY(t->kstride <= 64)) {
		uint64_t hit, empty;
		match2(k, t->kstride, key, &hit, &empty);
		for (; VM_UNLIKELY(hit); hit &= hit - 1) {
			w = (unsigned)__builtin_ctzll(hit);
			if (s[w].ctx == ctx && s[w].ctx_mask == ctx_mask)
				goto refresh;
		}
		empty &= t->ways == 64 ? ~0ull : (1ull << t->ways) - 1;
		if (empty)
			free_w = (unsigned)__builtin_ctzll(empty);
	} else {
		for (w = 0; w < t->ways; w++) {
			if (k[w] == key && s[w].ctx == ctx && s[w].ctx_mask == ctx_mask)
				goto refresh;
			if (k[w] == 0 && free_w == t->ways)
				free_w = w;
		}
	}

	uint64_t evicted = 0;
	if (free_w < t->ways) {
		w = free_w;
		t->valid++;
	} else {
		w = victim(t, set);
		evicted = k[w]; /* the packed copy: already in cache, the entry may not be */
	}
	s[w] = (struct tlb_entry){.key = key, .ctx = ctx, .ctx_mask = ctx_mask, .val = val};
	k[w] = key;
	tlb_hit_(t, set, w);
	return evicted;

refresh:
	s[w].val = val;
	tlb_hit_(t, set, w);
	return 0;
}

uint64_t tlb_insert(struct tlb *t, uint64_t addr, unsigned c, uint32_t ctx, uint32_t ctx_mask,
		    uint64_t val)
{
	return insert(t, addr, c, ctx, ctx_mask, val, false);
}

uint64_t tlb_insert_new(struct tlb *t, uint64_t addr, unsigned c, uint32_t ctx, uint32_t ctx_mask,
			uint64_t val)
{
#ifdef VMSIM_CHECK_PROMISES
	/* The caller's promise, checked in the sanitizer build (the suite's
	 * second run): no entry to refresh. */
	uint64_t n = addr >> t->shift[c];
	unsigned set = tlb_set_of(t, n);
	const struct tlb_entry *s = &t->e[(size_t)set * t->ways];
	for (unsigned w = 0; w < t->ways; w++)
		if (s[w].key == tlb_key(n, c) && s[w].ctx == ctx) {
			fprintf(stderr, "internal: tlb_insert_new of 0x%llx (class %u, ctx 0x%x), "
					"which is there\n",
				(unsigned long long)addr, c, ctx);
			abort();
		}
#endif
	return insert(t, addr, c, ctx, ctx_mask, val, true);
}

static inline bool ctx_match(const struct tlb_entry *e, uint32_t ctx, uint32_t match_mask)
{
	return ((e->ctx ^ ctx) & e->ctx_mask & match_mask) == 0;
}

/* Both copies of the key go, and under LRU the stamp, which tlb_insert
 * reads as "invalid". */
static inline void drop(struct tlb *t, unsigned set, unsigned w)
{
	t->e[(size_t)set * t->ways + w].key = 0;
	t->keys[(size_t)set * t->kstride + w] = 0;
	if (t->age)
		t->age[(size_t)set * t->kstride + w] = 0;
	t->valid--;
}

unsigned tlb_inval_addr(struct tlb *t, uint64_t addr, uint32_t ctx, uint32_t match_mask)
{
	unsigned dropped = 0;
	for (unsigned c = 0; c < TLB_MAX_CLASSES; c++) {
		if (!(t->classes >> c & 1))
			continue;
		uint64_t n = addr >> t->shift[c];
		uint64_t key = tlb_key(n, c);
		unsigned set = tlb_set_of(t, n);
		const struct tlb_entry *s = &t->e[(size_t)set * t->ways];
		for (unsigned w = 0; w < t->ways; w++)
			if (s[w].key == key && ctx_match(&s[w], ctx, match_mask)) {
				drop(t, set, w);
				dropped++;
			}
	}
	return dropped;
}

unsigned tlb_flush_ctx(struct tlb *t, uint32_t ctx, uint32_t match_mask, bool keep_global)
{
	unsigned dropped = 0;
	for (unsigned set = 0; set < t->sets; set++) {
		const struct tlb_entry *s = &t->e[(size_t)set * t->ways];
		for (unsigned w = 0; w < t->ways; w++) {
			if (s[w].key == 0 || !ctx_match(&s[w], ctx, match_mask))
				continue;
			if (keep_global && s[w].ctx_mask == TLB_CTX_VPID_MASK)
				continue;
			drop(t, set, w);
			dropped++;
		}
	}
	return dropped;
}

void tlb_flush_all(struct tlb *t)
{
	size_t n = (size_t)t->sets * t->ways;
	memset(t->e, 0, n * sizeof *t->e);
	memset(t->keys, 0, (size_t)t->sets * t->kstride * sizeof *t->keys);
	if (t->age)
		age_reset(t);
	if (t->plru)
		memset(t->plru, 0, (size_t)t->sets * t->plru_words * sizeof *t->plru);
	t->clock = 0;
	t->valid = 0;
}

static const char *const policy_names[] = {"lru", "plru", "random"};

int tlb_policy_parse(const char *s, enum tlb_policy *out)
{
	for (unsigned i = 0; i < VM_ARRAY_SIZE(policy_names); i++)
		if (strcasecmp(s, policy_names[i]) == 0) {
			*out = (enum tlb_policy)i;
			return 0;
		}
	return -1;
}

const char *tlb_policy_name(enum tlb_policy p)
{
	return (unsigned)p < VM_ARRAY_SIZE(policy_names) ? policy_names[p] : "?";
}
