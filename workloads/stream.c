/*
 * stream - the four STREAM kernels (McCalpin) over three arrays of `elems`
 * 8-byte elements: copy c = a, scale b = 3c, add c = a + b, triad
 * a = b + 3c.  Integer arithmetic (no floating point in the freestanding
 * build); the memory traffic is the same.
 *
 * Events: 3 maps + 3 * elems init stores + reps * (4 phases + 10 * elems
 * accesses): copy and scale 2 per element, add and triad 3.
 * Phases 1..4 = copy, scale, add, triad (repeated each rep).
 */
#include "wl.h"

#define STREAM_A WL_SLOT(44)
#define STREAM_B (WL_SLOT(44) + (1ull << 38)) /* arrays up to 256 GiB each */
#define STREAM_C (WL_SLOT(44) + (2ull << 38))

static const struct wl_param params[] = {
	{"elems", 524288, "8-byte elements per array (4 MiB each)"},
	{"reps", 1, "repetitions of the four kernels"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t n = p[0] ? p[0] : 1;
	if (n > (1ull << 35))
		n = 1ull << 35;
	uint64_t bytes = n * 8;
	wl_map(c, STREAM_A, bytes, VM_PROT_R | VM_PROT_W);
	wl_map(c, STREAM_B, bytes, VM_PROT_R | VM_PROT_W);
	wl_map(c, STREAM_C, bytes, VM_PROT_R | VM_PROT_W);
	for (uint64_t i = 0; i < n; i++) {
		wl_store(c, STREAM_A + i * 8, 8, 1);
		wl_store(c, STREAM_B + i * 8, 8, 2);
		wl_store(c, STREAM_C + i * 8, 8, 0);
	}
	for (uint64_t r = 0; r < p[1] && !wl_failed(c); r++) {
		wl_phase(c, 1);
		for (uint64_t i = 0; i < n; i++)
			wl_store(c, STREAM_C + i * 8, 8, wl_load(c, STREAM_A + i * 8, 8));
		wl_phase(c, 2);
		for (uint64_t i = 0; i < n; i++)
			wl_store(c, STREAM_B + i * 8, 8, 3 * wl_load(c, STREAM_C + i * 8, 8));
		wl_phase(c, 3);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t a = wl_load(c, STREAM_A + i * 8, 8);
			uint64_t b = wl_load(c, STREAM_B + i * 8, 8);
			wl_store(c, STREAM_C + i * 8, 8, a + b);
		}
		wl_phase(c, 4);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t b = wl_load(c, STREAM_B + i * 8, 8);
			uint64_t cc = wl_load(c, STREAM_C + i * 8, 8);
			wl_store(c, STREAM_A + i * 8, 8, b + 3 * cc);
		}
	}
}

const struct wl_desc wl_stream = {
	.name = "stream",
	.desc = "STREAM copy/scale/add/triad over three arrays of `elems` words",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
