/*
 * gups - random read-modify-write of 8-byte words over `mb` MiB (HPCC
 * RandomAccess style).  Events: 1 map, then 2 * updates accesses (a load and
 * a store to the same word per update).
 */
#include "wl.h"

#define GUPS_BASE 0x0000200000000000ull /* 32 TiB: 1 GiB aligned */

static const struct wl_param params[] = {
	{"mb", 64, "table size in MiB"},
	{"updates", 1u << 20, "number of read-modify-write updates"},
	{"threads", 1, "threads (vCPUs) sharing the updates, 64 at a time in turn"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t bytes = p[0] << 20;
	uint64_t words = bytes / 8;
	uint64_t s = p[3] ? p[3] : 1;
	wl_map(c, GUPS_BASE, bytes ? bytes : 8, VM_PROT_R | VM_PROT_W);
	if (!words)
		return;
	for (uint64_t i = 0; i < p[1]; i++) {
		wl_thread_of(c, i, p[2]);
		uint64_t va = GUPS_BASE + (wl_rand(&s) % words) * 8;
		uint64_t v = wl_load(c, va, 8);
		wl_store(c, va, 8, v ^ i);
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
	c->vcpu = 0;
}

const struct wl_desc wl_gups = {
	.name = "gups",
	.desc = "random read-modify-write over `mb` MiB, `updates` times (TLB-hostile)",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
