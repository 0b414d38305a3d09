/*
 * kvmh_native.h - the host-process run: the same freestanding workload
 * objects as the guest payload, linked into vmsim-kvm with a runtime whose
 * wlrt_* are real system calls (mmap, munmap, mprotect).
 */
#ifndef KVMH_NATIVE_H
#define KVMH_NATIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/error.h"

/* Called at each wl_phase (done = false) and when the workload returns. */
typedef void (*kvmh_native_mark_fn)(void *arg, uint64_t id, bool done);

/* thp: 1 MADV_HUGEPAGE on mapped regions, 0 MADV_NOHUGEPAGE, -1 default. */
int kvmh_native_run(const char *name, const uint64_t *p, int thp, kvmh_native_mark_fn mark,
		    void *arg, uint64_t *checksum, struct vmerr *err);

/* Whether the freestanding build has the workload (the guest can run it). */
bool kvmh_native_has(const char *name);

#endif
