/*
 * error.h - how library code reports an error to whoever decides to exit.
 *
 * Library functions return 0 (or a count) on success and a negative code on
 * failure, and write one line for the user into a struct vmerr: the file, the
 * line or offset, the value, and what to do.  Only main() turns a code into an
 * exit status: VM_EINPUT and VM_EUSAGE are the user's to fix (exit 2),
 * anything else is ours (exit 1).
 */
#ifndef VMSIM_ERROR_H
#define VMSIM_ERROR_H

enum {
	VM_EUSAGE = -2,  /* bad command line */
	VM_EINPUT = -3,  /* bad input file, config, trace, parameter */
	VM_EIO = -5,     /* the system refused a read or write */
	VM_ENOMEM = -12, /* out of memory */
	VM_ELIMIT = -28, /* a simulated resource ran out (e.g. physical memory) */
};

struct vmerr {
	char msg[512];
};

/* Format the message and return code, so callers can write
 *     return vmerr_set(e, VM_EINPUT, "%s:%d: ...", file, line);
 * e may be NULL. */
int vmerr_set(struct vmerr *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Exit status main() uses for a code: 0, 1 or 2. */
int vmerr_exit_status(int code);

#endif
