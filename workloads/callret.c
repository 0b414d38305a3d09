/*
 * callret - `iters` times, a chain of `depth` nested calls and their
 * returns.  Free in hardware; under binary translation every ret is an
 * indirect branch the translator must look up, and chains deeper than the
 * return-stack buffer (16) lose its prediction.
 *
 * Code layout (synthetic): function l (0 = the loop) starts at
 * WL_CODE_BASE + l * 4096 and calls function l+1 from offset 0x10, a 5-byte
 * call, so the return address is base(l) + 0x15.
 *
 * Events: 1 phase + iters * 2 * depth EV_CALLRET (depth calls, then depth
 * rets, innermost first).
 */
#include "wl.h"

static const struct wl_param params[] = {
	{"iters", 1000000, "call chains to make"},
	{"depth", 1, "nested calls per chain (at most 1024)"},
};

static uint64_t fn_base(unsigned l) { return WL_CODE_BASE + (uint64_t)l * 4096; }

/* Not inlined, so the freestanding build makes a real call and ret per level. */
static __attribute__((noinline)) void nest(struct wl_ctx *c, unsigned l, unsigned depth)
{
	if (l == depth)
		return;
	wl_call(c, fn_base(l + 1));
	nest(c, l + 1, depth);
	__asm__ volatile("" ::: "memory"); /* keep the call a call, not a jump */
	wl_ret(c, fn_base(l) + 0x15);
}

static void run(struct wl_ctx *c, const uint64_t *p)
{
	unsigned depth = p[1] > 1024 ? 1024 : (unsigned)p[1];
	wl_phase(c, 1);
	for (uint64_t i = 0; i < p[0]; i++) {
		nest(c, 0, depth);
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
}

const struct wl_desc wl_callret = {
	.name = "callret",
	.desc = "`iters` chains of `depth` nested calls and returns",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
