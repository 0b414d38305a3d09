/*
 * kvmh_ept.h - the EPT/NPT toggle: reload kvm_intel (ept=) or kvm_amd (npt=)
 * with the requested setting, and put the original back afterwards, also
 * on failure and on SIGINT/SIGTERM.
 *
 * Refuses (VM_EUSAGE, one-line message) where there is nothing to toggle:
 * shadow-only hosts such as PVM, or when not root.
 */
#ifndef KVMH_EPT_H
#define KVMH_EPT_H

#include <stdbool.h>

#include "kvmh_host.h"
#include "sim/error.h"

/* 0 when the host now runs with TDP on/off as asked (maybe unchanged). */
int kvmh_ept_apply(const struct kvmh_host *h, bool on, struct vmerr *err);
/* Restore the original setting if kvmh_ept_apply changed it; idempotent. */
void kvmh_ept_restore(void);

#endif
