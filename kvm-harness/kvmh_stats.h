/*
 * kvmh_stats.h - KVM binary statistics (KVM_GET_STATS_FD) of a VM or vCPU.
 *
 * The file starts with a header (struct kvm_stats_header) that says where the
 * descriptors and the data are; each descriptor names one statistic and gives
 * its offset in the data block (Documentation/virt/kvm/api.rst, 4.133).
 * Names and offsets are always read from the descriptors.  Histograms and
 * multi-element statistics are skipped: only one-value counters are kept.
 */
#ifndef KVMH_STATS_H
#define KVMH_STATS_H

#include <stdint.h>

#include "sim/error.h"

#define KVMH_STATS_MAX 128

struct kvmh_stats {
	int fd;
	unsigned n;
	uint32_t data_offset;
	char name[KVMH_STATS_MAX][48];
	uint32_t offset[KVMH_STATS_MAX];
	uint32_t flags[KVMH_STATS_MAX];
};

/* owner_fd: a VM or vCPU fd.  -errno if the kernel has no binary stats. */
int kvmh_stats_open(struct kvmh_stats *s, int owner_fd, struct vmerr *err);
void kvmh_stats_close(struct kvmh_stats *s);
/* vals[i] for each of the s->n statistics. */
int kvmh_stats_read(const struct kvmh_stats *s, uint64_t *vals);
/* Index of the statistic called name, or -1. */
int kvmh_stats_find(const struct kvmh_stats *s, const char *name);
/* True for counters whose difference means something (cumulative). */
int kvmh_stats_is_cumulative(const struct kvmh_stats *s, unsigned i);

#endif
