/*
 * wl_lib.h - integer-only helpers the workloads share, identical in both
 * builds: a keyed random permutation and a Zipf sampler.
 *
 * Notes:
 *  - wl_perm is a 4-round Feistel network on the smallest even number of
 *    bits that covers n, with cycle walking to stay inside [0, n) (Black and
 *    Rogaway, "Ciphers with arbitrary finite domains", CT-RSA 2002).  It is a
 *    bijection computed in O(1) memory, so a chase over 2^30 pages needs no
 *    permutation array; expected walks per call < 4.
 *  - wl_zipf draws ranks 1..n with P(r) ~ r^-theta.  No libm: weights come
 *    from fixed-point log2/exp2 (Q32).  Ranks 1..128 have one table entry
 *    each; above that, ranks are grouped in bands 1/8 as wide as their start
 *    (weight = band width * r_mid^-theta, uniform inside a band).  The head
 *    is exact and the tail is within a few per cent of true Zipf; the table
 *    is < 6 KiB, on the stack.  n <= 2^36 keeps the cumulative weight in 64
 *    bits.
 */
#ifndef VMSIM_WL_LIB_H
#define VMSIM_WL_LIB_H

#include "wl.h"

struct wl_perm {
	uint64_t n;
	unsigned half;   /* bits per Feistel half */
	uint64_t mask;   /* (1 << half) - 1 */
	uint64_t key[4];
};

static inline void wl_perm_init(struct wl_perm *pm, uint64_t n, uint64_t *seed)
{
	unsigned bits = 2;
	while (bits < 64 && (1ull << bits) < n)
		bits += 2;
	pm->n = n;
	pm->half = bits / 2;
	pm->mask = (pm->half >= 64) ? ~0ull : (1ull << pm->half) - 1;
	for (unsigned i = 0; i < 4; i++)
		pm->key[i] = wl_rand(seed);
}

static inline uint64_t wl_perm__round(uint64_t x, uint64_t k)
{
	x = (x ^ k) * 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return x;
}

/* The image of i (< n) under the permutation. */
static inline uint64_t wl_perm_map(const struct wl_perm *pm, uint64_t i)
{
	do {
		uint64_t l = i >> pm->half, r = i & pm->mask;
		for (unsigned k = 0; k < 4; k++) {
			uint64_t t = r;
			r = l ^ (wl_perm__round(r, pm->key[k]) & pm->mask);
			l = t;
		}
		i = (l << pm->half) | r;
	} while (i >= pm->n);
	return i;
}

/* A 64-bit hash of (a, b), for graph edges and per-item sizes. */
static inline uint64_t wl_hash2(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ull + b;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 32;
	return x;
}

/* log2(r) in Q32 for r >= 1, by repeated squaring of the mantissa. */
static inline uint64_t wl_log2_q32(uint64_t r)
{
	unsigned i = 63u - (unsigned)__builtin_clzll(r);
	uint64_t x = i >= 32 ? r >> (i - 32) : r << (32 - i); /* Q32 in [1, 2) */
	uint64_t y = (uint64_t)i << 32;
	for (int b = 31; b >= 0; b--) {
		x = (uint64_t)(((unsigned __int128)x * x) >> 32);
		if (x >= (2ull << 32)) {
			x >>= 1;
			y |= 1ull << b;
		}
	}
	return y;
}

/* 2^-y for y in Q32, result in Q32. */
static inline uint64_t wl_exp2_neg_q32(uint64_t y)
{
	/* 2^(-2^-k) in Q63, k = 1..32 (computed to 50 digits). */
	static const uint64_t tab[32] = {
		0x5a827999fcef3242ull, 0x6ba27e656b4eb57aull, 0x75606373ee921c97ull,
		0x7a92be8a92436616ull, 0x7d41d96db915019dull, 0x7e9f06067a4360baull,
		0x7f4f08ae3dc7c426ull, 0x7fa765aca88f6453ull, 0x7fd3ab290e46d769ull,
		0x7fe9d3a8e07bf086ull, 0x7ff4e9597bed93abull, 0x7ffa748dff8dc61full,
		0x7ffd3a3f50020332ull, 0x7ffe9d1dbc0a75aaull, 0x7fff4e8e6306ed59ull,
		0x7fffa74712c3cdfdull, 0x7fffd3a381b1fa29ull, 0x7fffe9d1beed018aull,
		0x7ffff4e8defb81d7ull, 0x7ffffa746f5f012full, 0x7ffffd3a37a7d0a8ull,
		0x7ffffe9d1bd1fc58ull, 0x7fffff4e8de8832dull, 0x7fffffa746f422d7ull,
		0x7fffffd3a37a09bbull, 0x7fffffe9d1bd02f2ull, 0x7ffffff4e8de80feull,
		0x7ffffffa746f4060ull, 0x7ffffffd3a37a028ull, 0x7ffffffe9d1bd012ull,
		0x7fffffff4e8de809ull, 0x7fffffffa746f404ull,
	};
	uint64_t whole = y >> 32;
	if (whole >= 32)
		return 0;
	uint64_t r = 1ull << 63;
	for (unsigned k = 0; k < 32; k++)
		if (y & (1ull << (31 - k)))
			r = (uint64_t)(((unsigned __int128)r * tab[k]) >> 63);
	return (r >> 31) >> whole;
}

#define WL_ZIPF_HEAD 128
#define WL_ZIPF_MAX 360 /* head + bands up to n = 2^36 */
#define WL_ZIPF_NMAX (1ull << 36)

struct wl_zipf {
	unsigned nb;
	uint64_t total;
	uint64_t cum[WL_ZIPF_MAX];       /* cumulative weight up to and with band b */
	uint64_t start[WL_ZIPF_MAX + 1]; /* first rank of band b; start[nb] = n + 1 */
};

/* Weight of rank r in Q24: r^-(theta/100). */
static inline uint64_t wl_zipf__w(uint64_t r, uint64_t theta_pct)
{
	return wl_exp2_neg_q32(theta_pct * wl_log2_q32(r) / 100) >> 8;
}

/* n in 1..WL_ZIPF_NMAX (callers clamp); theta in hundredths (99 = 0.99). */
static inline void wl_zipf_init(struct wl_zipf *z, uint64_t n, uint64_t theta_pct)
{
	uint64_t r = 1, sum = 0;
	unsigned b = 0;
	while (r <= n && b < WL_ZIPF_MAX) {
		uint64_t len = r <= WL_ZIPF_HEAD ? 1 : r >> 3;
		if (len > n - r + 1)
			len = n - r + 1;
		uint64_t w = wl_zipf__w(r + len / 2, theta_pct);
		sum += (w ? w : 1) * len;
		z->start[b] = r;
		z->cum[b] = sum;
		b++;
		r += len;
	}
	z->nb = b;
	z->start[b] = r;
	z->total = sum;
}

/* A rank in 1..n. */
static inline uint64_t wl_zipf_draw(const struct wl_zipf *z, uint64_t *seed)
{
	uint64_t u = wl_rand(seed) % z->total;
	unsigned lo = 0, hi = z->nb - 1;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (z->cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	uint64_t len = z->start[lo + 1] - z->start[lo];
	return z->start[lo] + (len > 1 ? wl_rand(seed) % len : 0);
}

#endif
