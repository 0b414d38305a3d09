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

#define TLB_MAX_CLASSES 5
#define TLB_CTX_PCID_MASK 0x00000fffu
#define TLB_CTX_VPID_MASK 0xfffff000u
#define TLB_CTX_ALL 0xffffffffu

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
	uint64_t key; /* (number << 3) | (class << 0..2 packed, see tlb.c) ; 0 = invalid */
	uint32_t ctx;
	uint32_t ctx_mask;
	uint64_t val; /* the user's payload */
};

struct tlb {
	struct tlb_entry *e; /* sets * ways, set-major */
	uint32_t *age;       /* LRU stamps (TLB_LRU) or per-set PLRU bits (TLB_PLRU) */
	unsigned sets, ways;
	uint64_t set_mask;   /* sets - 1 when sets is a power of two */
	uint64_t fastmod_m;  /* otherwise: Lemire's fastmod constant for sets */
	bool pow2;
	enum tlb_policy policy;
	unsigned classes;
	uint8_t shift[TLB_MAX_CLASSES];
	uint32_t clock;      /* LRU time */
	uint64_t rng;        /* TLB_RANDOM state */
	unsigned valid;      /* live entries, for tests and reports */
};

/* 0, or VM_EINPUT with a message naming the geometry, or VM_ENOMEM. */
int tlb_init(struct tlb *t, const struct tlb_geom *g, struct vmerr *err);
void tlb_free(struct tlb *t);

/* Key of number n in class c; never 0. */
static inline uint64_t tlb_key(uint64_t n, unsigned c) { return (n << 3) | ((uint64_t)c << 1) | 1; }

static inline unsigned tlb_set_of(const struct tlb *t, uint64_t n)
{
	if (VM_LIKELY(t->pow2))
		return (unsigned)(n & t->set_mask);
	/* Lemire, Kaser, Kurz, "Faster remainder by direct computation", 2019. */
	uint64_t low = t->fastmod_m * (uint32_t)n;
	return (unsigned)(((__uint128_t)low * t->sets) >> 64);
}

void tlb_touch_(struct tlb *t, unsigned set, unsigned way); /* replacement update on a hit */

/*
 * Look up addr (an address, not a number) in class c under ctx.  Returns the
 * entry or NULL; a hit updates the replacement state.
 */
static inline struct tlb_entry *tlb_lookup(struct tlb *t, uint64_t addr, unsigned c, uint32_t ctx)
{
	uint64_t n = addr >> t->shift[c];
	uint64_t key = tlb_key(n, c);
	unsigned set = tlb_set_of(t, n);
	struct tlb_entry *s = &t->e[(size_t)set * t->ways];
	for (unsigned w = 0; w < t->ways; w++) {
		if (s[w].key == key && ((s[w].ctx ^ ctx) & s[w].ctx_mask) == 0) {
			if (t->policy != TLB_RANDOM)
				tlb_touch_(t, set, w);
			return &s[w];
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

/* INVLPG: drop every entry, of every class held, whose range contains addr
 * and whose context matches ctx under (entry.ctx_mask & match_mask).
 * Globals are dropped too, as INVLPG does.  Returns how many were dropped. */
unsigned tlb_inval_addr(struct tlb *t, uint64_t addr, uint32_t ctx, uint32_t match_mask);

/* Drop entries whose ctx matches under match_mask; keep_global keeps entries
 * inserted with ctx_mask == TLB_CTX_VPID_MASK (MOV to CR3 without PCID keeps
 * global pages).  Returns how many were dropped. */
unsigned tlb_flush_ctx(struct tlb *t, uint32_t ctx, uint32_t match_mask, bool keep_global);

/* Drop everything. */
void tlb_flush_all(struct tlb *t);

/* Parse "lru", "plru", "random". 0 or -1. */
int tlb_policy_parse(const char *s, enum tlb_policy *out);
const char *tlb_policy_name(enum tlb_policy p);

#endif
