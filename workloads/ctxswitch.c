/*
 * ctxswitch - `procs` processes in a ring, as in lmbench's lat_ctx: each in
 * turn receives the token (read syscall), sums its own `pages`-page working
 * set (one load per page), and passes the token on (write syscall) to the
 * next, which is switched in.  Every process maps its working set at the
 * same virtual address, so the ring measures how much of the TLB survives a
 * switch (nothing without PCID/ASID tags, all of it with enough capacity).
 *
 * Events: (procs - 1) forks + procs * (1 switch + 1 map + pages stores)
 * + 1 phase + rounds * procs * (1 switch + 1 read + pages loads + 1 write).
 */
#include "wl.h"

#define CTX_BASE WL_SLOT(50)
#define SYS_READ 0
#define SYS_WRITE 1

static const struct wl_param params[] = {
	{"procs", 4, "processes in the ring"},
	{"pages", 64, "working-set pages per process"},
	{"rounds", 4096, "times the token goes round the ring"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint32_t procs = p[0] ? (p[0] > 65536 ? 65536 : (uint32_t)p[0]) : 1;
	uint64_t pages = p[1];
	for (uint32_t k = 2; k <= procs; k++)
		wl_fork(c, k);
	for (uint32_t k = 1; k <= procs; k++) {
		wl_switch(c, k);
		wl_map(c, CTX_BASE, (pages ? pages : 1) * WL_PAGE, VM_PROT_R | VM_PROT_W);
		for (uint64_t i = 0; i < pages; i++)
			wl_store(c, CTX_BASE + i * WL_PAGE, 8, k + i);
	}
	wl_phase(c, 1);
	for (uint64_t r = 0; r < p[2] && !wl_failed(c); r++)
		for (uint32_t k = 1; k <= procs; k++) {
			wl_switch(c, k);
			wl_syscall(c, SYS_READ);
			for (uint64_t i = 0; i < pages; i++)
				wl_load(c, CTX_BASE + i * WL_PAGE, 8);
			wl_syscall(c, SYS_WRITE);
		}
}

const struct wl_desc wl_ctxswitch = {
	.name = "ctxswitch",
	.desc = "`procs` processes pass a token round a ring, each summing its working set",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
