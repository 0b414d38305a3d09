/*
 * divzero - `iters` divide errors (#DE, vector 0), each an exception the
 * guest kernel handles and returns from: the cost of exception delivery.
 *
 * Events: 1 phase + iters EV_EXCEPTION (arg = 0).
 */
#include "wl.h"

static const struct wl_param params[] = {
	{"iters", 1000000, "divide-by-zero exceptions to take"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	wl_phase(c, 1);
	for (uint64_t i = 0; i < p[0]; i++) {
		wl_exception(c, 0);
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
}

const struct wl_desc wl_divzero = {
	.name = "divzero",
	.desc = "`iters` divide-by-zero exceptions (#DE, vector 0)",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
