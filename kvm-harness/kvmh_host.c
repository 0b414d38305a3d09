/* kvmh_host.c - probing /dev/kvm, the MMU mode, PVM and the counters. */
#include "kvmh_host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvmh_perf.h"

static int read_word(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static bool module_loaded(const char *name)
{
	char path[96], line[256];
	snprintf(path, sizeof path, "/sys/module/%s", name);
	if (access(path, F_OK) == 0)
		return true;
	FILE *f = fopen("/proc/modules", "r");
	if (!f)
		return false;
	size_t n = strlen(name);
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strncmp(line, name, n) == 0 && line[n] == ' ';
	fclose(f);
	return found;
}

const char *kvmh_mmu_name(enum kvmh_mmu m)
{
	return m == KVMH_MMU_EPT ? "EPT" : m == KVMH_MMU_NPT ? "NPT" : "shadow paging only";
}

static bool param_on(const char *v) { return v[0] == 'Y' || v[0] == 'y' || v[0] == '1'; }

void kvmh_host_probe(struct kvmh_host *h)
{
	memset(h, 0, sizeof *h);
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		h->api = -errno;
		snprintf(h->open_err, sizeof h->open_err, "open /dev/kvm: %s (%s)", strerror(errno),
			 errno == ENOENT ? "is KVM enabled in this kernel?"
					 : "is /dev/kvm readable? are you in group kvm?");
	} else {
		h->api = ioctl(fd, KVM_GET_API_VERSION, 0);
		h->cap_user_memory = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
		h->cap_nr_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
		h->cap_max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
		h->cap_nr_memslots = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
		h->cap_stats_fd = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD);
		h->cap_immediate_exit = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT);
		close(fd);
	}

	h->mmu = KVMH_MMU_SHADOW;
	if (read_word("/sys/module/kvm_intel/parameters/ept", h->tdp_value, sizeof h->tdp_value) == 0) {
		snprintf(h->tdp_param, sizeof h->tdp_param, "/sys/module/kvm_intel/parameters/ept");
		if (param_on(h->tdp_value))
			h->mmu = KVMH_MMU_EPT;
	} else if (read_word("/sys/module/kvm_amd/parameters/npt", h->tdp_value,
			     sizeof h->tdp_value) == 0) {
		snprintf(h->tdp_param, sizeof h->tdp_param, "/sys/module/kvm_amd/parameters/npt");
		if (param_on(h->tdp_value))
			h->mmu = KVMH_MMU_NPT;
	}
	if (read_word("/sys/module/kvm/parameters/tdp_mmu", h->tdp_mmu, sizeof h->tdp_mmu) < 0)
		snprintf(h->tdp_mmu, sizeof h->tdp_mmu, "?");
	h->pvm = module_loaded("kvm_pvm");
	h->hw_counters = kvmh_perf_hw_probe(h->hw_why, sizeof h->hw_why) == 0;

	if (h->pvm) {
		h->setup = 'b';
		h->setup_why = "PVM host: guest CPL0 code is emulated (~0.7 us/instruction), so "
			       "the workload runs at CPL3 and the harness acts as its kernel; "
			       "set-up (a)'s guest kernel runs too (--setup a), slowly";
	} else if (module_loaded("kvm_intel") || module_loaded("kvm_amd")) {
		h->setup = 'a';
		h->setup_why = "VMX/SVM host: guest CPL0 code runs natively, so a tiny guest kernel "
			       "handles page faults, CR3 switches and system calls itself";
	} else {
		h->setup = 'b';
		h->setup_why = "no kvm_intel/kvm_amd module: assuming CPL0 guest code may be "
			       "emulated, so the workload runs at CPL3 with the harness as kernel "
			       "(--setup a for the guest kernel)";
	}
}

void kvmh_host_print(const struct kvmh_host *h, FILE *f)
{
	if (h->api < 0)
		fprintf(f, "KVM:              not usable: %s\n", h->open_err);
	else
		fprintf(f, "KVM API version:  %d\n", h->api);
	if (h->api >= 0) {
		fprintf(f, "capabilities:     USER_MEMORY %d, NR_VCPUS %d, MAX_VCPUS %d, "
			   "NR_MEMSLOTS %d, BINARY_STATS_FD %d, IMMEDIATE_EXIT %d\n",
			h->cap_user_memory, h->cap_nr_vcpus, h->cap_max_vcpus, h->cap_nr_memslots,
			h->cap_stats_fd, h->cap_immediate_exit);
	}
	fprintf(f, "MMU mode:         %s", kvmh_mmu_name(h->mmu));
	if (h->tdp_param[0])
		fprintf(f, " (%s = %s)", h->tdp_param, h->tdp_value);
	else
		fprintf(f, " (no /sys/module/kvm_intel or /sys/module/kvm_amd)");
	fprintf(f, "; kvm.tdp_mmu = %s\n", h->tdp_mmu);
	fprintf(f, "EPT/NPT toggle:   %s\n",
		h->tdp_param[0] ? "possible as root (module reload)" : "not possible on this host");
	fprintf(f, "PVM:              %s\n", h->pvm ? "yes (module kvm_pvm loaded)" : "no");
	fprintf(f, "HW counters:      %s (%s)%s\n", h->hw_counters ? "available" : "not available",
		h->hw_why, h->hw_counters ? "" : "; perf software events are used instead");
	fprintf(f, "guest set-up:     (%c) %s\n", h->setup,
		h->setup == 'a' ? "CPL0 guest kernel" : "CPL3 workload, harness as kernel");
	fprintf(f, "  why:            %s\n", h->setup_why);
}
