/*
 * tlb.h - one generic set-associative translation cache.
 *
 * Every TLB (L1 iTLB, L1 dTLB per page size or shared, the STLB), every
 * paging-structure cache, the nested TLB and the PTE data-cache model is an
 * instance of struct tlb.  An instance is keyed by (number, size class,
 * context): the number is an address shifted right by the class's shift
 * (a TLB: va >> 12 / 21 / 30; a PDE cache: va >> 21; a data cache: pa >> 6).
 *
 * Context: 32 bits, (VPID/ASID << 12) | PCID.  An entry matches a lookup when
 * ((entry.ctx ^ ctx) & entry.ctx_mask) == 0, so a global entry is inserted
 * with ctx_mask = TLB_CTX_VPID_MASK and matches every PCID of its VM.
 *
 * The struct body is public because the hit path (tlb_lookup) is inline:
 * it is the simulator's hot path.
 */
#ifndef VMSIM_TLB_H
#define VMSIM_TLB_H

#include "../error.h"
#include "../types.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define TLB_MAX_CLASSES 5
#define TLB_CTX_PCID_MASK 0x00000fffu
#define TLB_CTX_VPID_MASK 0xfffff000u
#define TLB_CTX_ALL 0xffffffffu
/* LRU stamps stay below 2^31 so four can be compared as signed 32-bit
 * lanes (SSE2 has no unsigned compare); padding ways hold TLB_AGE_PAD. */
#define TLB_CLOCK_MAX 0x7ffffffeu
#define TLB_AGE_PAD 0x7fffffffu

static inline uint32_t tlb_ctx(unsigned vpid, unsigned pcid)
{
	return ((uint32_t)vpid << 12) | (pcid & TLB_CTX_PCID_MASK);
}

enum tlb_policy { TLB_LRU = 0, TLB_PLRU = 1, TLB_RANDOM = 2 };

struct tlb_geom {
	unsigned entries; /* > 0 */
	unsigned ways;    /* 1..entries, entries % ways == 0; ways == entries: fully associative */
	enum tlb_policy policy;
	unsigned classes; /* bit c set: this instance holds size class c */
	uint8_t shift[TLB_MAX_CLASSES]; /* number = address >> shift[c] */
};

struct tlb_entry {
	uint64_t key; /* tlb_key(number, class); 0 = invalid */
	uint32_t ctx;
	uint32_t ctx_mask;
	uint64_t val; /* the user's payload */
};

/*
 * Layout.  Entries are set-major; the keys are copied into a second array,
 * each set padded to a multiple of four with zero keys, so the hit path
 * compares four keys per step without touching ctx or val:
 *
 *   e:    | set 0: way 0 .. way W-1 | set 1: ... |          (24-byte entries)
 *   keys: | set 0: k0 .. kW-1 0 0   | set 1: ... |          (kstride per set)
 *
 * keys[set * kstride + w] == e[set * ways + w].key always; only tlb.c writes
 * either.  Sets wider than 64 ways (fully associative caches) take an
 * out-of-line path.
 */
struct tlb {
	struct tlb_entry *e;
	uint64_t *keys;
	unsigned sets, ways;
	unsigned kstride;    /* ways rounded up to a multiple of 4 */
	uint64_t set_mask;   /* sets - 1 when sets is a power of two */
	uint64_t fastmod_m;  /* otherwise: Lemire's fastmod constant for sets */
	bool pow2;
	enum tlb_policy policy;
	unsigned classes;
	uint8_t shift[TLB_MAX_CLASSES];
	uint32_t *age;       /* TLB_LRU: one stamp per way, kstride per set like keys; the
				padding ways hold TLB_AGE_PAD, above every stamp */
	uint32_t clock;      /* TLB_LRU time; stamps are renumbered when it reaches TLB_CLOCK_MAX */
	uint32_t *scratch;   /* TLB_LRU: ways words for renumbering, allocated once */
	uint64_t *plru;      /* TLB_PLRU: plru_words tree words per set, see tlb.c */
	uint64_t *plru_path; /* TLB_PLRU with plru_words == 1: per way w, the tree bits on
				w's path ([2w]) and the values a hit on w leaves in them ([2w+1]) */
	unsigned plru_leaves; /* ways rounded up to a power of two */
	unsigned plru_words;
	uint64_t rng;        /* TLB_RANDOM state */
	unsigned valid;      /* live entries, for tests and reports */
};

/* 0, or VM_EINPUT with a message naming the geometry, or VM_ENOMEM. */
int tlb_init(struct tlb *t, const struct tlb_geom *g, struct vmerr *err);
void tlb_free(struct tlb *t);

/*
 * Key of number n in class c; never 0.
 *
 *   63                         4 3     1   0
 *  +----------------------------+-------+---+
 *  |  number (low 60 bits)      | class | 1 |
 *  +----------------------------+-------+---+
 *
 * Classes run 0..4, so the class needs three bits; bit 0 keeps a valid key
 * non-zero.  tlb_init requires shift >= 4, so no number loses a bit.
 */
static inline uint64_t tlb_key(uint64_t n, unsigned c) { return (n << 4) | ((uint64_t)c << 1) | 1; }

static inline unsigned tlb_set_of(const struct tlb *t, uint64_t n)
{
	if (VM_LIKELY(t->pow2))
		return (unsigned)(n & t->set_mask);
	/* Lemire, Kaser, Kurz, "Faster remainder by direct computation", 2019. */
	uint64_t low = t->fastmod_m * (uint32_t)n;
	return (unsigned)(((__uint128_t)low * t->sets) >> 64);
}

void tlb_touch_(struct tlb *t, unsigned set, unsigned way); /* replacement update on a hit */
struct tlb_entry *tlb_lookup_wide_(struct tlb *t, unsigned set, uint64_t key, uint32_t ctx);

/* The common cases of tlb_touch_, inline: the call cost about a third of an
 * L1-TLB hit (64x4 LRU, in-order stream: 2.5 -> 1.6 ns). */
static inline void tlb_hit_(struct tlb *t, unsigned set, unsigned way)
{
	switch (t->policy) {
	case TLB_LRU:
		if (VM_LIKELY(t->clock < TLB_CLOCK_MAX)) {
			t->age[(size_t)set * t->kstride + way] = ++t->clock;
			return;
		}
		break;
	case TLB_PLRU:
		if (VM_LIKELY(t->plru_words == 1)) {
			uint64_t *b = &t->plru[set];
			*b = (*b & ~t->plru_path[2 * way]) | t->plru_path[2 * way + 1];
			return;
		}
		break;
	case TLB_RANDOM:
		return;
	}
	tlb_touch_(t, set, way);
}

/* Bit w set: keys k[w] == key, for w < kstride (<= 64).  All ways are
 * compared without early exit: a loop that stopped at the hit way
 * mispredicted whenever the hit way changed, and on a random-order hit
 * stream cost 8.4 ns against 2.2 ns for this (64x4, LRU). */
static inline uint64_t tlb_match_(const uint64_t *k, unsigned kstride, uint64_t key)
{
	uint64_t hit = 0;
#if defined(__SSE2__)
	/* SSE2 has no 64-bit compare: compare 32-bit halves, then AND each
	 * key's low-half and high-half results. */
	__m128i kk = _mm_set1_epi64x((long long)key);
	for (unsigned w = 0; w < kstride; w += 4) {
		__m128 a = _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_load_si128((const __m128i *)&k[w]), kk));
		__m128 b = _mm_castsi128_ps(
			_mm_cmpeq_epi32(_mm_load_si128((const __m128i *)&k[w + 2]), kk));
		__m128 lo = _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
		__m128 hi = _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
		hit |= (uint64_t)_mm_movemask_ps(_mm_and_ps(lo, hi)) << w;
	}
#else
	for (unsigned w = 0; w < kstride; w++)
		hit |= (uint64_t)(k[w] == key) << w;
#endif
	return hit;
}

/*
 * Look up addr (an address, not a number) in class c under ctx.  Returns the
 * entry or NULL; a hit updates the replacement state.
 */
static inline struct tlb_entry *tlb_lookup(struct tlb *t, uint64_t addr, unsigned c, uint32_t ctx)
{
	uint64_t n = addr >> t->shift[c];
	uint64_t key = tlb_key(n, c);
	unsigned set = tlb_set_of(t, n);
	if (VM_UNLIKELY(t->kstride > 64))
		return tlb_lookup_wide_(t, set, key, ctx);
	/* Several ways may hold the key under different contexts. */
	for (uint64_t hit = tlb_match_(&t->keys[(size_t)set * t->kstride], t->kstride, key); hit;
	     hit &= hit - 1) {
		unsigned w = (unsigned)__builtin_ctzll(hit);
		struct tlb_entry *e = &t->e[(size_t)set * t->ways + w];
		if (((e->ctx ^ ctx) & e->ctx_mask) == 0) {
			tlb_hit_(t, set, w);
			return e;
		}
	}
	return NULL;
}

/*
 * Insert (or refresh) the entry for addr in class c.  A matching entry is
 * overwritten in place; otherwise an invalid way is used, else the policy's
 * victim.  Returns the evicted entry's key (0 if none was evicted) so callers
 * can count evictions.
 */
uint64_t tlb_insert(struct tlb *t, uint64_t addr, unsigned c, uint32_t ctx, uint32_t ctx_mask,
		    uint64_t val);
/* tlb_insert of an entry the caller knows is not there: it has just looked
 * addr up in class c under ctx (tlb_lookup) and found nothing, and nothing
 * was inserted since (a lookup that finds no entry under ctx means none has
 * this key and ctx, whatever its mask).  The same result, without the
 * search for an entry to refresh.  The sanitizer build checks the promise. */
uint64_t tlb_insert_new(struct tlb *t, uint64_t addr, unsigned c, uint32_t ctx, uint32_t ctx_mask,
			uint64_t val);

/* INVLPG: drop every entry, of every class held, whose range contains addr
 * and whose context matches ctx under (entry.ctx_mask & match_mask).
 * Globals are dropped too, as INVLPG does.  Returns how many were dropped. */
unsigned tlb_inval_addr(struct tlb *t, uint64_t addr, uint32_t ctx, uint32_t match_mask);

/* Drop entries whose ctx matches under match_mask; keep_global keeps entries
 * inserted with ctx_mask == TLB_CTX_VPID_MASK (MOV to CR3 without PCID keeps
 * global pages).  As everywhere, the entry's own ctx_mask applies too, so a
 * global entry matches every PCID of its VPID.  Examples:
 *   one PCID of one VM:   ctx = tlb_ctx(v, p), match_mask = TLB_CTX_ALL
 *   a whole VM (INVVPID): ctx = tlb_ctx(v, 0), match_mask = TLB_CTX_VPID_MASK
 * Returns how many were dropped. */
unsigned tlb_flush_ctx(struct tlb *t, uint32_t ctx, uint32_t match_mask, bool keep_global);

/* Drop everything. */
void tlb_flush_all(struct tlb *t);

/* Exact LRU over a row of 32-bit stamps (the data-cache model keeps its
 * own rows, in the same way): the way with the oldest stamp, lowest way on
 * a tie; and the row renumbered 1..ways in the same order (scratch: ways
 * words), so a clock about to wrap can restart at ways. */
unsigned tlb_lru_oldest(const uint32_t *a, unsigned ways);
void tlb_lru_rank(uint32_t *a, unsigned ways, uint32_t *scratch);

/* Parse "lru", "plru", "random". 0 or -1. */
int tlb_policy_parse(const char *s, enum tlb_policy *out);
const char *tlb_policy_name(enum tlb_policy p);

#endif
