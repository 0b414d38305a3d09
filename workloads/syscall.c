/*
 * syscall - `iters` system calls, nothing else: the cost of one kernel entry
 * and exit (free natively and with VT-x; a trap to the VMM under binary
 * translation of a guest kernel).
 *
 * Events: 1 phase + iters syscalls (arg = nr).
 */
#include "wl.h"

static const struct wl_param params[] = {
	{"iters", 1000000, "system calls to make"},
	{"nr", 39, "system call number (39 = getpid on x86-64 Linux)"},
};

static void run(struct wl_ctx *c, const uint64_t *p)
{
	wl_phase(c, 1);
	for (uint64_t i = 0; i < p[0]; i++) {
		wl_syscall(c, p[1]);
		if ((i & 0xffff) == 0 && wl_failed(c))
			break;
	}
}

/* Not wl_syscall: that name is the operation in wl.h. */
const struct wl_desc wl_syscall_loop = {
	.name = "syscall",
	.desc = "`iters` system calls (kernel entry/exit cost)",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
