/*
 * p2m.h - guest-physical to host-physical: the VMM's map of guest memory.
 *
 * A host page table in EPT or NPT format (host.format, host.levels) over
 * host-physical memory, filled on the guest's first touch of each
 * guest-physical block: the VMM allocates a host frame of host.page (the
 * largest leaf not above it whose aligned block fits) and writes the entry.
 * Under nested paging the hardware walks this table; under shadow paging
 * and PV the VMM consults it in software.  A reverse map (host frame ->
 * guest block) serves the functional checks.
 */
#ifndef VMSIM_P2M_H
#define VMSIM_P2M_H

#include "config.h"
#include "physmem.h"
#include "pt_format.h"
#include "stats.h"
#include "u64map.h"

struct p2m {
	const struct pt_format *f;
	struct physmem *hpm;
	hpa_t root;
	enum page_size page;
	struct stats *st;
	struct u64map rmap; /* host frame base -> (guest block base | size) */
	struct pt_mem_ops ops;
	uint64_t guest_limit;
};

int p2m_init(struct p2m *p, const struct cfg *cfg, struct stats *st, struct vmerr *err);
void p2m_free(struct p2m *p);

/* Software lookup: 0 with the host address of gpa and the host leaf size,
 * or -1 if gpa is not backed yet. */
int p2m_lookup(const struct p2m *p, gpa_t gpa, hpa_t *hpa, enum page_size *ps);

/* Back the block holding gpa with a new host frame and map it (what the
 * VMM does on an EPT violation).  0 or a negative error (host memory full). */
int p2m_back(struct p2m *p, gpa_t gpa, struct vmerr *err);

/* Host address -> guest-physical address, or ~0 if hpa backs no guest memory. */
gpa_t p2m_to_gpa(const struct p2m *p, hpa_t hpa);

#endif
