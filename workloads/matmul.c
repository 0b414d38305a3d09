/*
 * matmul - C = A * B for n x n matrices of 8-byte integers, naive (i, j, k
 * order: B walked by column, one page per element once a row exceeds a page)
 * or blocked in `block` x `block` tiles (the TLB- and cache-friendly form).
 *
 * Events: 3 maps + 2n^2 init stores (A, B; C starts zeroed) + 1 phase +
 *   naive (block=0):  2n^3 loads + n^2 stores of C;
 *   blocked:          2n^3 loads + T n^2 (load and store of C), T = ceil(n/block).
 */
#include "wl.h"

#define MATMUL_A WL_SLOT(45)
#define MATMUL_B (WL_SLOT(45) + (1ull << 38))
#define MATMUL_C (WL_SLOT(45) + (2ull << 38))

static const struct wl_param params[] = {
	{"n", 128, "matrix dimension (three n x n matrices of 8-byte words)"},
	{"block", 0, "tile size; 0 = naive i-j-k loops"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t n = p[0] ? p[0] : 1, bs = p[1];
	if (n > (1ull << 17))
		n = 1ull << 17; /* 2^34 words = 128 GiB per matrix */
	uint64_t bytes = n * n * 8;
#define A(i, k) (MATMUL_A + ((i) * n + (k)) * 8)
#define B(k, j) (MATMUL_B + ((k) * n + (j)) * 8)
#define C(i, j) (MATMUL_C + ((i) * n + (j)) * 8)
	wl_map(c, MATMUL_A, bytes, VM_PROT_R | VM_PROT_W);
	wl_map(c, MATMUL_B, bytes, VM_PROT_R | VM_PROT_W);
	wl_map(c, MATMUL_C, bytes, VM_PROT_R | VM_PROT_W);
	for (uint64_t i = 0; i < n; i++)
		for (uint64_t j = 0; j < n; j++) {
			wl_store(c, A(i, j), 8, i + j);
			wl_store(c, B(i, j), 8, i ^ j);
		}
	wl_phase(c, 1);
	if (bs == 0) {
		for (uint64_t i = 0; i < n && !wl_failed(c); i++)
			for (uint64_t j = 0; j < n; j++) {
				uint64_t sum = 0;
				for (uint64_t k = 0; k < n; k++) {
					/* two statements: the order of the loads is the stream */
					uint64_t a = wl_load(c, A(i, k), 8);
					sum += a * wl_load(c, B(k, j), 8);
				}
				wl_store(c, C(i, j), 8, sum);
			}
		return;
	}
	for (uint64_t ii = 0; ii < n && !wl_failed(c); ii += bs)
		for (uint64_t kk = 0; kk < n; kk += bs)
			for (uint64_t jj = 0; jj < n; jj += bs) {
				uint64_t ie = ii + bs < n ? ii + bs : n;
				uint64_t ke = kk + bs < n ? kk + bs : n;
				uint64_t je = jj + bs < n ? jj + bs : n;
				for (uint64_t i = ii; i < ie; i++)
					for (uint64_t j = jj; j < je; j++) {
						uint64_t sum = wl_load(c, C(i, j), 8);
						for (uint64_t k = kk; k < ke; k++) {
							uint64_t a = wl_load(c, A(i, k), 8);
							sum += a * wl_load(c, B(k, j), 8);
						}
						wl_store(c, C(i, j), 8, sum);
					}
			}
#undef A
#undef B
#undef C
}

const struct wl_desc wl_matmul = {
	.name = "matmul",
	.desc = "n x n integer matrix multiply, naive or blocked (`block` tiles)",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
