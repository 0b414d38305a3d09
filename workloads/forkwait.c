/*
 * forkwait - the fork/exit/wait loop: pid 1 fills `pages` pages, then
 * `iters` times forks a child (a fresh pid each time), which writes `touch`
 * of the inherited pages (copy-on-write faults) and exits; the parent then
 * reaps it with wait4.
 *
 * Events: 1 map + pages stores + 1 phase + iters * (fork, switch to child,
 * touch stores, exit, switch to 1, wait4 syscall) = 2 + pages +
 * iters * (5 + touch), touch clamped to pages.
 */
#include "wl.h"

#define FORKWAIT_BASE WL_SLOT(49)
#define SYS_WAIT4 61

static const struct wl_param params[] = {
	{"iters", 200000, "fork/exit/wait cycles"},
	{"pages", 16, "pages the parent owns (and each child inherits)"},
	{"touch", 1, "inherited pages each child writes before exiting"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t pages = p[1] ? p[1] : 1;
	uint64_t touch = p[2] < pages ? p[2] : pages;
	wl_map(c, FORKWAIT_BASE, pages * WL_PAGE, VM_PROT_R | VM_PROT_W);
	for (uint64_t i = 0; i < pages; i++)
		wl_store(c, FORKWAIT_BASE + i * WL_PAGE, 8, i);
	wl_phase(c, 1);
	for (uint64_t i = 0; i < p[0]; i++) {
		uint32_t child = (uint32_t)(2 + i);
		wl_fork(c, child);
		wl_switch(c, child);
		for (uint64_t t = 0; t < touch; t++)
			wl_store(c, FORKWAIT_BASE + t * WL_PAGE, 8, i);
		wl_exit(c, child);
		wl_switch(c, 1);
		wl_syscall(c, SYS_WAIT4);
		if ((i & 0xfff) == 0 && wl_failed(c))
			break;
	}
}

const struct wl_desc wl_forkwait = {
	.name = "forkwait",
	.desc = "fork a child that writes `touch` pages and exits, wait; `iters` times",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
