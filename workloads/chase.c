/*
 * chase - a randomised pointer chase over `pages` pages: the classic
 * measurement of TLB reach (one dependent load per step, each to another
 * page, in an order no prefetcher can follow).
 *
 * The visiting order is one random cycle through all pages: position i of
 * the cycle is page perm(i), perm a keyed random bijection (wl_perm, keys
 * from wl_rand and the seed), so no permutation array is needed at any size.
 * Page pg holds its node at cache line pg % 64, so nodes do not all compete
 * for one cache set.  Setup stores into every node the address of the next
 * one; the chase then follows the loaded pointers (freestanding) or the same
 * addresses recomputed (simulator).
 *
 * Events: 1 map + pages stores + 1 phase + steps loads.
 */
#include "wl_lib.h"

#define CHASE_BASE WL_SLOT(43)

static const struct wl_param params[] = {
	{"pages", 65536, "pages in the cycle (one node each; 256 MiB)"},
	{"steps", 2000000, "dependent loads in the measured chase"},
};

static uint64_t node(uint64_t pg) { return CHASE_BASE + pg * WL_PAGE + ((pg & 63) << 6); }

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t n = p[0] ? p[0] : 1, steps = p[1];
	uint64_t s = p[2] ? p[2] : 1;
	struct wl_perm pm;
	wl_perm_init(&pm, n, &s);

	wl_map(c, CHASE_BASE, n * WL_PAGE, VM_PROT_R | VM_PROT_W);
	uint64_t first = node(wl_perm_map(&pm, 0)), cur = first;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t next = i + 1 < n ? node(wl_perm_map(&pm, i + 1)) : first;
		wl_store(c, cur, 8, next);
		cur = next;
		if ((i & 0xffff) == 0 && wl_failed(c))
			return;
	}

	wl_phase(c, 1);
	uint64_t va = first;
	for (uint64_t i = 0; i < steps; i++) {
		uint64_t v = wl_load(c, va, 8);
		va = wl_follow(v, node(wl_perm_map(&pm, (i + 1) % n)));
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
}

const struct wl_desc wl_chase = {
	.name = "chase",
	.desc = "random pointer chase through `pages` pages, `steps` loads (TLB reach)",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
