/* kvmh_stats.c - reading KVM binary statistics by name. */
#include "kvmh_stats.h"

#include <errno.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int kvmh_stats_open(struct kvmh_stats *s, int owner_fd, struct vmerr *err)
{
	struct kvm_stats_header h;
	int rc;
	memset(s, 0, sizeof *s);
	s->fd = ioctl(owner_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0)
		return vmerr_set(err, -errno, "KVM_GET_STATS_FD: %s (needs Linux 5.14 or later)",
				 strerror(errno));
	if (pread(s->fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
		rc = vmerr_set(err, -EIO, "KVM stats: short read of the header");
		goto err_fd;
	}
	size_t dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	char *descs = malloc(dsz * h.num_desc);
	if (!descs) {
		rc = vmerr_set(err, -ENOMEM, "KVM stats: out of memory for %u descriptors", h.num_desc);
		goto err_fd;
	}
	if (pread(s->fd, descs, dsz * h.num_desc, h.desc_offset) != (ssize_t)(dsz * h.num_desc)) {
		rc = vmerr_set(err, -EIO, "KVM stats: short read of %u descriptors at offset %u",
			       h.num_desc, h.desc_offset);
		goto err_descs;
	}
	s->data_offset = h.data_offset;
	for (unsigned i = 0; i < h.num_desc && s->n < KVMH_STATS_MAX; i++) {
		const struct kvm_stats_desc *d = (const void *)(descs + i * dsz);
		unsigned type = d->flags & KVM_STATS_TYPE_MASK;
		if (d->size != 1 || type == KVM_STATS_TYPE_LINEAR_HIST ||
		    type == KVM_STATS_TYPE_LOG_HIST)
			continue;
		snprintf(s->name[s->n], sizeof s->name[0], "%.*s", (int)h.name_size, d->name);
		s->offset[s->n] = d->offset;
		s->flags[s->n] = d->flags;
		s->n++;
	}
	free(descs);
	return 0;

err_descs:
	free(descs);
err_fd:
	close(s->fd);
	s->fd = -1;
	return rc;
}

void kvmh_stats_close(struct kvmh_stats *s)
{
	if (s->fd > 0)
		close(s->fd);
	s->fd = -1;
}

int kvmh_stats_read(const struct kvmh_stats *s, uint64_t *vals)
{
	for (unsigned i = 0; i < s->n; i++)
		if (pread(s->fd, &vals[i], 8, s->data_offset + s->offset[i]) != 8)
			return -EIO;
	return 0;
}

int kvmh_stats_find(const struct kvmh_stats *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return (int)i;
	return -1;
}

int kvmh_stats_is_cumulative(const struct kvmh_stats *s, unsigned i)
{
	return (s->flags[i] & KVM_STATS_TYPE_MASK) == KVM_STATS_TYPE_CUMULATIVE;
}
