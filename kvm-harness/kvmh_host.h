/*
 * kvmh_host.h - what this host's KVM offers, and which guest set-up follows.
 *
 * Set-up (a): a CPL0 guest kernel (IDT, demand paging in its #PF handler),
 * for hosts with VMX/SVM, where guest CPL0 code runs natively.
 * Set-up (b): the workload at CPL3 with the harness as its kernel, for hosts
 * where CPL0 guest code is emulated (PVM): see notes/kvm-host.md.
 */
#ifndef KVMH_HOST_H
#define KVMH_HOST_H

#include <stdbool.h>
#include <stdio.h>

enum kvmh_mmu { KVMH_MMU_EPT, KVMH_MMU_NPT, KVMH_MMU_SHADOW };

struct kvmh_host {
	int api;               /* KVM_GET_API_VERSION, -errno if /dev/kvm won't open */
	char open_err[160];
	int cap_user_memory, cap_nr_vcpus, cap_max_vcpus, cap_nr_memslots, cap_stats_fd;
	int cap_immediate_exit;
	enum kvmh_mmu mmu;
	char tdp_param[64];    /* "/sys/module/kvm_intel/parameters/ept" or "" */
	char tdp_value[8];     /* its value: "Y", "N", "1", "0" */
	char tdp_mmu[8];       /* /sys/module/kvm/parameters/tdp_mmu, or "?" */
	bool pvm;
	bool hw_counters;
	char hw_why[128];
	char setup;            /* 'a' or 'b' */
	const char *setup_why;
};

void kvmh_host_probe(struct kvmh_host *h);
void kvmh_host_print(const struct kvmh_host *h, FILE *f);
const char *kvmh_mmu_name(enum kvmh_mmu m);

#endif
