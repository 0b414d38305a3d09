/*
 * kvstore - a key-value store serving `ops` requests whose keys follow a
 * Zipf distribution (YCSB's default skew is theta = 0.99), `update` per cent
 * of them writes.
 *
 * Notes:
 *  - The index is an array of 16-byte slots (key, value offset); key k lives
 *    in slot perm(k), perm a keyed random bijection.  That is a collision-
 *    free hash: every lookup is one probe.  Real tables at load factor < 1
 *    add an occasional second probe, which this ignores; in exchange the
 *    address of every lookup is known without reading the table.
 *  - Values are `vsize` bytes each in a separate array; a get loads the
 *    value's first word, a put stores it.
 *  - Popular keys are scattered over the table by perm, as hashing does.
 *
 * Events: 2 maps + 2 * keys setup stores (slot, value) + 1 phase +
 * 2 * ops (index load, then value load or store).
 */
#include "wl_lib.h"

#define KV_INDEX WL_SLOT(46)
#define KV_VALUES (WL_SLOT(46) + (1ull << 39)) /* index up to 512 GiB */

static const struct wl_param params[] = {
	{"keys", 1048576, "keys in the store (at most 2^36)"},
	{"ops", 2000000, "requests served"},
	{"theta", 99, "Zipf skew in hundredths (99 = 0.99; 0 = uniform)"},
	{"update", 5, "per cent of requests that are writes"},
	{"vsize", 64, "bytes per value (rounded up to 8)"},
	{"threads", 1, "threads (vCPUs) serving the requests, 64 at a time in turn"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t keys = p[0] ? p[0] : 1, ops = p[1], theta = p[2], upd = p[3];
	uint64_t vsize = p[4] < 8 ? 8 : (p[4] + 7) & ~7ull;
	uint64_t s = p[6] ? p[6] : 1;
	if (keys > WL_ZIPF_NMAX)
		keys = WL_ZIPF_NMAX;
	if (vsize > (1ull << 20))
		vsize = 1ull << 20;
	struct wl_perm pm;
	struct wl_zipf z;
	wl_perm_init(&pm, keys, &s);
	wl_zipf_init(&z, keys, theta);

	wl_map(c, KV_INDEX, keys * 16, VM_PROT_R | VM_PROT_W);
	wl_map(c, KV_VALUES, keys * vsize, VM_PROT_R | VM_PROT_W);
	for (uint64_t k = 0; k < keys; k++) {
		uint64_t slot = wl_perm_map(&pm, k);
		wl_store(c, KV_INDEX + slot * 16, 8, k + 1);
		wl_store(c, KV_VALUES + slot * vsize, 8, k);
		if ((k & 0xffff) == 0 && wl_failed(c))
			return;
	}

	wl_phase(c, 1);
	for (uint64_t i = 0; i < ops; i++) {
		wl_thread_of(c, i, p[5]);
		uint64_t key = wl_zipf_draw(&z, &s) - 1;
		uint64_t slot = wl_perm_map(&pm, key);
		int put = wl_rand(&s) % 100 < upd;
		wl_load(c, KV_INDEX + slot * 16, 8);
		if (put)
			wl_store(c, KV_VALUES + slot * vsize, 8, i);
		else
			wl_load(c, KV_VALUES + slot * vsize, 8);
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
	c->vcpu = 0;
}

const struct wl_desc wl_kvstore = {
	.name = "kvstore",
	.desc = "hash-table gets/puts of `keys` keys, Zipf(`theta`/100)-distributed",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
