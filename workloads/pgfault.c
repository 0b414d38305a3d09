/*
 * pgfault - demand-paging cost: `rounds` times, map a fresh region of
 * `pages` pages, first-touch each page with one 8-byte store, and unmap it.
 * Every touch is a page fault and a page-table write in the guest.
 *
 * Events: 1 phase + rounds * (1 map + pages stores + 1 unmap).
 */
#include "wl.h"

#define PGFAULT_BASE WL_SLOT(40)

static const struct wl_param params[] = {
	{"pages", 16384, "pages mapped and touched per round (64 MiB)"},
	{"rounds", 64, "map/touch/unmap rounds"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t pages = p[0] ? p[0] : 1;
	wl_phase(c, 1);
	for (uint64_t r = 0; r < p[1] && !wl_failed(c); r++) {
		wl_map(c, PGFAULT_BASE, pages * WL_PAGE, VM_PROT_R | VM_PROT_W);
		for (uint64_t i = 0; i < pages; i++)
			wl_store(c, PGFAULT_BASE + i * WL_PAGE, 8, r + i);
		wl_unmap(c, PGFAULT_BASE, pages * WL_PAGE);
	}
}

const struct wl_desc wl_pgfault = {
	.name = "pgfault",
	.desc = "map `pages` fresh pages, first-touch each, unmap; `rounds` times",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
