/*
 * compile - process churn like `make -j jobs`: the make process (pid 1)
 * starts `tasks` short-lived compiler processes, `jobs` at a time.  Each
 * child is forked from make, execs (unmaps the heap it inherited, maps a
 * fresh text and heap), runs from its text while it fills `pages` heap
 * pages, and exits; make then reaps it with wait4.  Heavy in page-table
 * writes, address-space creation and teardown, and context switches.
 *
 * Schedule: tasks run in waves of `jobs`.  In a wave make forks every child,
 * then the children run round-robin, `quantum` pages per turn, T =
 * max(1, ceil(pages / quantum)) turns each; then make runs and waits for
 * each of them.  Child pids are 2, 3, ... in fork order.
 *
 * Events: setup 1 map + 64 stores (make's heap) + 1 phase, then per wave of
 * j children:  j forks + j*T switches + 3j (exec: unmap, map text, map heap)
 * + 2j*pages (a fetch from text and a store to heap per page) + j exits
 * + 1 switch to make + j wait4 syscalls
 *   = j * (T + 6 + 2 * pages) + 1.
 */
#include "wl.h"

#define MAKE_HEAP WL_SLOT(48)
#define MAKE_PAGES 64
#define CC_TEXT (WL_SLOT(48) + (1ull << 38))
#define CC_HEAP (WL_SLOT(48) + (2ull << 38))
#define SYS_WAIT4 61
#define MAX_JOBS 256

static const struct wl_param params[] = {
	{"jobs", 8, "processes running at once (make -j; at most 256)"},
	{"tasks", 2048, "processes started in total"},
	{"pages", 256, "heap pages each process touches"},
	{"text", 16, "text pages each process fetches from"},
	{"quantum", 32, "pages a process touches per turn before a switch"},
	{"threads", 1, "vCPUs: child k runs on vCPU k % threads, make on vCPU 0"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t jobs = p[0] ? p[0] : 1, tasks = p[1], pages = p[2];
	uint64_t text = p[3] ? p[3] : 1, q = p[4] ? p[4] : 1;
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	uint64_t turns = pages ? (pages + q - 1) / q : 1;
	uint32_t next_pid = 2;

	wl_map(c, MAKE_HEAP, MAKE_PAGES * WL_PAGE, VM_PROT_R | VM_PROT_W);
	for (uint64_t i = 0; i < MAKE_PAGES; i++)
		wl_store(c, MAKE_HEAP + i * WL_PAGE, 8, i);
	wl_phase(c, 1);

	for (uint64_t started = 0; started < tasks && !wl_failed(c);) {
		uint64_t j = tasks - started < jobs ? tasks - started : jobs;
		uint32_t first = next_pid;
		for (uint64_t k = 0; k < j; k++)
			wl_fork(c, next_pid++);
		started += j;
		for (uint64_t t = 0; t < turns; t++)
			for (uint64_t k = 0; k < j; k++) {
				uint32_t pid = first + (uint32_t)k;
				c->vcpu = (uint8_t)(k % (p[5] > WL_MAX_THREADS ? WL_MAX_THREADS : (p[5] ? p[5] : 1)));
				wl_switch(c, pid);
				if (t == 0) {
					wl_unmap(c, MAKE_HEAP, MAKE_PAGES * WL_PAGE);
					wl_map(c, CC_TEXT, text * WL_PAGE, VM_PROT_R | VM_PROT_X);
					wl_map(c, CC_HEAP, (pages ? pages : 1) * WL_PAGE,
					       VM_PROT_R | VM_PROT_W);
				}
				uint64_t end = (t + 1) * q < pages ? (t + 1) * q : pages;
				for (uint64_t i = t * q; i < end; i++) {
					wl_fetch(c, CC_TEXT + (i % text) * WL_PAGE);
					wl_store(c, CC_HEAP + i * WL_PAGE, 8, i);
				}
				if (t == turns - 1)
					wl_exit(c, pid);
			}
		c->vcpu = 0;
		wl_switch(c, 1);
		for (uint64_t k = 0; k < j; k++)
			wl_syscall(c, SYS_WAIT4);
	}
}

const struct wl_desc wl_compile = {
	.name = "compile",
	.desc = "parallel-build process churn: fork, exec, touch, exit (`jobs` at once)",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
