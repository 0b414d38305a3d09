/*
 * cr8wr - `iters` writes of CR8 (the task-priority register), alternating
 * 0 and 1 so that every write changes the value.  Classic VT-x exits on each
 * unless TPR shadowing is on; binary translation emulates it.
 *
 * Events: 1 phase + iters EV_CR8 (arg = new TPR: i & 1).
 */
#include "wl.h"

static const struct wl_param params[] = {
	{"iters", 1000000, "CR8 writes to make"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	wl_phase(c, 1);
	for (uint64_t i = 0; i < p[0]; i++) {
		wl_cr8(c, i & 1);
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
}

const struct wl_desc wl_cr8wr = {
	.name = "cr8wr",
	.desc = "`iters` CR8 (TPR) writes, alternating 0 and 1",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
