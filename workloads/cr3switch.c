/*
 * cr3switch - address-space switches: pid 1 forks pid 2 and the two take
 * turns `iters` times, each loading one word of a shared-at-fork page after
 * it is switched in (so the switch's TLB flush, or its absence with PCID,
 * shows up as a miss or a hit).
 *
 * Events: 1 map + 1 store + 1 fork + 1 phase + iters * (switch 2, load,
 * switch 1, load) = 4 + 4 * iters.
 */
#include "wl.h"

#define CR3SWITCH_BASE WL_SLOT(42)

static const struct wl_param params[] = {
	{"iters", 500000, "round trips pid 1 -> pid 2 -> pid 1"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	wl_map(c, CR3SWITCH_BASE, WL_PAGE, VM_PROT_R | VM_PROT_W);
	wl_store(c, CR3SWITCH_BASE, 8, 1);
	wl_fork(c, 2);
	wl_phase(c, 1);
	for (uint64_t i = 0; i < p[0]; i++) {
		wl_switch(c, 2);
		wl_load(c, CR3SWITCH_BASE, 8);
		wl_switch(c, 1);
		wl_load(c, CR3SWITCH_BASE, 8);
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
}

const struct wl_desc wl_cr3switch = {
	.name = "cr3switch",
	.desc = "switch between two processes `iters` times, one load after each",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
