/*
 * kvmh_cpl0.h - guest set-up (a): a tiny guest kernel at CPL0
 * (guest/kernel.c) with the workload at CPL3 under it (guest/urt_a.c).
 * The guest handles its own page faults, divide errors and system calls;
 * the harness only loads it and serves its doorbell.
 */
#ifndef KVMH_CPL0_H
#define KVMH_CPL0_H

#include "guest/abi_a.h"
#include "kvmh_vm.h"

struct kvmh_cpl0_result {
	uint64_t checksum;
	uint64_t pf_served, de_served, syscalls, sys_nr, cr3_writes, invlpgs, pages_used;
	uint64_t phases;
	uint64_t ud_int80; /* int $0x80 that arrived as #UD (PVM) */
	uint64_t exits;
	double wall_ns;
};

/* Workloads set-up (a) runs; NULL if name is one, else why not. */
const char *kvmh_cpl0_refuse(const char *name);

/* Boot the kernel, run the workload (p[] with the seed last), collect what
 * the kernel counted.  0, or a negative code with err set (a guest that
 * stopped where it should not have is reported with its registers on
 * stderr). */
int kvmh_cpl0_run(const char *name, const uint64_t *p, unsigned np, unsigned timeout_s,
		  struct kvmh_cpl0_result *res, struct vmerr *err);

/* `vmsim-kvm run --setup a`: the host-process run and the set-up (a) run of
 * spec, both checksums and the kernel's counts.  Exit status for main. */
int kvmh_cpl0_main(const char *spec, bool no_native, unsigned timeout_s);

#endif
