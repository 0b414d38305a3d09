/*
 * ptemod - page-table writes: one page is made read-only and writable
 * again `iters` times, with a load after the first and a store after the
 * second so the changed entry is walked again.  Under shadow paging each
 * protect is a trapped guest page-table write.
 *
 * Events: 1 map + 1 store + 1 phase + iters * (protect R, load, protect RW,
 * store) = 3 + 4 * iters.
 */
#include "wl.h"

#define PTEMOD_BASE WL_SLOT(41)

static const struct wl_param params[] = {
	{"iters", 500000, "protect/unprotect pairs"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	wl_map(c, PTEMOD_BASE, WL_PAGE, VM_PROT_R | VM_PROT_W);
	wl_store(c, PTEMOD_BASE, 8, 1);
	wl_phase(c, 1);
	for (uint64_t i = 0; i < p[0]; i++) {
		wl_protect(c, PTEMOD_BASE, WL_PAGE, VM_PROT_R);
		wl_load(c, PTEMOD_BASE, 8);
		wl_protect(c, PTEMOD_BASE, WL_PAGE, VM_PROT_R | VM_PROT_W);
		wl_store(c, PTEMOD_BASE, 8, i);
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
}

const struct wl_desc wl_ptemod = {
	.name = "ptemod",
	.desc = "make one page read-only and writable again, `iters` times",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
