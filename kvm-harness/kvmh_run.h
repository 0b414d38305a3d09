/*
 * kvmh_run.h - `vmsim-kvm run`: the workload natively in this process and
 * in the guest, measured per phase, then the balloon.
 */
#ifndef KVMH_RUN_H
#define KVMH_RUN_H

#include "kvmh_guest.h"

struct kvmh_run_opts {
	const char *spec;          /* -w NAME[:k=v,...] */
	struct kvmh_guest_opts g;
	uint64_t balloon_mib;      /* 0: none */
	int64_t balloon_phase;     /* -1: after the workload */
	int ept;                   /* -1 leave, 0 off, 1 on */
	bool json;
	bool no_native;
	bool counters;             /* perf events and tracepoints (default on) */
	unsigned timeout_s;
};

/* Returns the exit status for main: 0, 1 (ours or the guest's), 2 (usage). */
int kvmh_run_main(const struct kvmh_run_opts *o);

#endif
