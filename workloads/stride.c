/*
 * stride - touch `pages` locations `stride` bytes apart, `passes` times.
 *
 * With stride 4096 each access lands on its own 4 KiB page: the classic probe
 * of TLB reach.  Events: 1 map, then pages * passes loads (or stores with
 * write=1).
 */
#include "wl.h"

#define STRIDE_BASE 0x0000100000000000ull /* 16 TiB: 1 GiB aligned */

static const struct wl_param params[] = {
	{"pages", 64, "number of locations touched per pass"},
	{"stride", 4096, "bytes between consecutive locations"},
	{"passes", 10, "passes over the locations"},
	{"write", 0, "1: store instead of load"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t pages = p[0], stride = p[1], passes = p[2];
	uint64_t len = pages * stride;
	wl_map(c, STRIDE_BASE, len ? len : 1, VM_PROT_R | VM_PROT_W);
	for (uint64_t pass = 0; pass < passes && !wl_failed(c); pass++)
		for (uint64_t i = 0; i < pages; i++) {
			if (p[3])
				wl_store(c, STRIDE_BASE + i * stride, 8, i);
			else
				wl_load(c, STRIDE_BASE + i * stride, 8);
		}
}

const struct wl_desc wl_stride = {
	.name = "stride",
	.desc = "touch `pages` locations `stride` bytes apart, `passes` times (TLB reach)",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
