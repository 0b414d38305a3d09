/*
 * kvmh_perf.h - counters through perf_event_open.
 *
 * Software events of this process (page-faults, task-clock,
 * context-switches) always; hardware events (cycles, instructions,
 * dTLB-load-misses) where the host PMU counts them.  notes/kvm-host.md found
 * none on the PVM machines; others (as root) do count, so this is probed:
 * an event that opens but never runs or counts 0 is "not available".
 * task-clock includes the time the vCPU spends in KVM_RUN, since the vCPU
 * runs on this thread.
 */
#ifndef KVMH_PERF_H
#define KVMH_PERF_H

#include <stdint.h>

enum {
	KVMH_PERF_PAGE_FAULTS,
	KVMH_PERF_TASK_CLOCK,
	KVMH_PERF_CTX_SWITCHES,
	KVMH_PERF_CYCLES, /* hardware from here on */
	KVMH_PERF_INSNS,
	KVMH_PERF_DTLB_MISSES,
	KVMH_PERF_N
};
#define KVMH_PERF_FIRST_HW KVMH_PERF_CYCLES

struct kvmh_perf {
	int fd[KVMH_PERF_N]; /* -1 where the event could not be opened */
};

extern const char *const kvmh_perf_names[KVMH_PERF_N];

/* Probe the hardware events: 0 if they open and count, else a negative
 * code; why[] says what failed. */
int kvmh_perf_hw_probe(char *why, unsigned long len);
void kvmh_perf_open(struct kvmh_perf *p);
void kvmh_perf_read(const struct kvmh_perf *p, uint64_t v[KVMH_PERF_N]);
void kvmh_perf_close(struct kvmh_perf *p);

#endif
