/*
 * io - `iters` port reads (in), each a VM exit to the device model.
 *
 * Events: 1 phase + iters EV_IO (op EV_IO_IN, arg = port).
 */
#include "wl.h"

static const struct wl_param params[] = {
	{"iters", 1000000, "port reads to make"},
	{"port", 0x510, "I/O port to read (1296 = 0x510: no in-kernel device claims it)"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	wl_phase(c, 1);
	for (uint64_t i = 0; i < p[0]; i++) {
		wl_io_in(c, (uint16_t)p[1]);
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
}

const struct wl_desc wl_io = {
	.name = "io",
	.desc = "`iters` port reads (in) from `port` (I/O exit cost)",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
