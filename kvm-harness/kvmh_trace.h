/*
 * kvmh_trace.h - counts of KVM tracepoints (kvmmmu:*, kvm:*) hit while this
 * thread runs the vCPU, through perf_event_open(PERF_TYPE_TRACEPOINT).
 *
 * The event ids are read from tracefs (events/<system>/<name>/id under
 * /sys/kernel/tracing or /sys/kernel/debug/tracing).  Where tracefs is not
 * mounted and we are root, it is mounted in a mount namespace of this
 * process's own (unshare), which nothing else sees.  Where that fails too,
 * n is 0 and why says what is missing.
 */
#ifndef KVMH_TRACE_H
#define KVMH_TRACE_H

#include <stdint.h>

#define KVMH_TRACE_MAX 24

struct kvmh_trace {
	unsigned n;
	const char *name[KVMH_TRACE_MAX]; /* "kvmmmu:kvm_mmu_set_spte" */
	int fd[KVMH_TRACE_MAX];
	char why[200];                    /* n == 0: why; else where the ids came from */
};

/* Open every tracepoint of the list that exists; 0 if at least one did. */
int kvmh_trace_open(struct kvmh_trace *t);
void kvmh_trace_read(const struct kvmh_trace *t, uint64_t *v);
void kvmh_trace_close(struct kvmh_trace *t);
/* Index of "system:name", or -1. */
int kvmh_trace_find(const struct kvmh_trace *t, const char *name);

#endif
