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

struct p2m;

/*
 * The host that owns the memory when several VMs share it (sim/host.c).
 * back is asked first whenever a guest block must be backed: it returns 1
 * if it mapped the block itself (p2m_map), 0 to let p2m_back allocate a
 * fresh frame, or a negative error.
 */
struct p2m_owner {
	int (*back)(void *arg, struct p2m *p, gpa_t gpa, struct vmerr *err);
	void *arg;
};

struct p2m {
	const struct pt_format *f;
	struct physmem *hpm;
	hpa_t root;
	enum page_size page;
	struct stats *st;
	struct u64map rmap; /* host frame base -> (guest block base | size), kept only if rmap_on */
	bool rmap_on;       /* the functional check or a host's reclaim reads it; else it would grow
			     * with the footprint for nothing */
	struct pt_mem_ops ops;
	uint64_t guest_limit;
	const struct p2m_owner *owner; /* NULL for a VM alone */
	bool shared_hpm;               /* hpm belongs to the host, not to this map */
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

/* Move an unused map onto host memory shared by several VMs, owned by
 * owner (the VM has not run yet: only the root table moves). */
int p2m_attach(struct p2m *p, struct physmem *hpm, const struct p2m_owner *owner,
	       struct vmerr *err);

/* Map the block of size ps at gpa to the existing host frame hpa. */
int p2m_map(struct p2m *p, gpa_t gpa, hpa_t hpa, enum page_size ps, struct vmerr *err);

/* Remove the leaf mapping gpa (host tables are kept): 0 with the host frame
 * and its size, or -1 if gpa is not backed.  The frame goes back to host
 * memory if release; otherwise the caller keeps it.  Whoever calls this
 * tells the MMU mode (mmu_ops.gpa_unmapped) so cached translations go. */
int p2m_unmap(struct p2m *p, gpa_t gpa, bool release, hpa_t *hpa, enum page_size *ps);

#endif
