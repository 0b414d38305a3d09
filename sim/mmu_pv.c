/*
 * mmu_pv.c - paravirtual MMU (Xen-style direct paging).
 *
 * Notes (Barham et al., "Xen and the Art of Virtualization", SOSP 2003,
 * section 3.3.2; Xen's mmu_update and mmuext_op hypercalls):
 *  - The guest's page tables hold machine (host-physical) frame numbers and
 *    the hardware walks them directly: one dimension, as native, with the
 *    references landing at host addresses.  vmsim keeps the guest's tables
 *    in guest-physical form and translates through the p2m in software, at
 *    no cost, to stand for that.
 *  - Page-table pages are read-only to the guest: every update is validated
 *    by the hypervisor.  Updates made by one kernel operation (a fault, map,
 *    unmap, protect, fork, exit) are batched into mmu_update hypercalls of
 *    up to pv.batch entries each, as Linux does in lazy-MMU mode.
 *  - CR3 writes and INVLPG/flushes are hypercalls (mmuext_op); system calls,
 *    exceptions and page faults bounce through the hypervisor; I/O and TPR
 *    updates are hypercalls or event-channel operations.
 *  - Guest memory is populated when the domain is built; vmsim backs it on
 *    first touch without charging anything.
 *  - Xen takes memory from a PV guest only through its balloon driver,
 *    which unmaps the frames first; it does not swap PV memory behind the
 *    guest's back.  vmsim lets the host swap a PV guest anyway, for
 *    comparison with the other modes: the VM's TLBs and PWCs are flushed
 *    (the guest's tables would otherwise name a machine frame it no longer
 *    owns) and the next walk's p2m lookup brings the page back.
 */
#include <stdlib.h>

#include "p2m.h"
#include "sim.h"

struct pv {
	struct p2m p2m;
	struct sim *s;
};

static struct pv *PV(struct sim *s) { return s->mode_state; }

static hpa_t machine(struct sim *s, gpa_t gpa)
{
	struct pv *pv = PV(s);
	hpa_t hpa;
	enum page_size ps;
	if (p2m_lookup(&pv->p2m, gpa, &hpa, &ps) == 0)
		return hpa;
	if (p2m_back(&pv->p2m, gpa, &s->errmsg) < 0 || p2m_lookup(&pv->p2m, gpa, &hpa, &ps) < 0) {
		if (!s->err)
			s->err = VM_ELIMIT;
		return 0;
	}
	return hpa;
}

static int pv_fetch(void *arg, uint64_t table, uint64_t ea, unsigned level, uint64_t *val,
		    struct walk_rec *rec)
{
	struct sim *s = arg;
	*val = physmem_read(s->gpm, ea);
	sim_walk_ref(s, rec, WALK_GUEST, level, table, ea, machine(s, ea), *val);
	return 0;
}

static void pv_store(void *arg, uint64_t ea, uint64_t val)
{
	struct sim *s = arg;
	physmem_write(s->gpm, ea, val);
}

static int pv_fill(struct sim *s, struct vcpu *c, gva_t va, unsigned need, struct mmu_fill *out,
		   struct walk_rec *rec)
{
	struct walk_io io = {pv_fetch, pv_store, s};
	struct walk_out w;
	int rc = mmu_walk_1d(s, c, s->gfmt, c->cur->cr3, va, need, &io, rec, &w);
	if (rc != MMU_OK)
		return rc;
	out->ps = (enum page_size)w.level;
	hpa_t hpa = machine(s, w.pa);
	/* Xen backs a guest superpage with a machine superpage or not at all;
	 * the p2m's host.page caps the leaf the same way. */
	enum page_size hps = PS_4K;
	hpa_t h;
	p2m_lookup(&PV(s)->p2m, w.pa, &h, &hps);
	if (hps < out->ps)
		out->ps = hps;
	out->pa_page = hpa & ~(ps_bytes(out->ps) - 1);
	out->perms = w.perms;
	return s->err ? s->err : MMU_OK;
}

static void hypercall(struct sim *s, uint32_t handler)
{
	s->st.hypercalls++;
	s->st.cycles_exit += s->cfg.pv_hypercall;
	s->st.cycles_vmm += handler;
}

static void pv_kernel_op_done(struct sim *s, struct vcpu *c, uint64_t n)
{
	if (!n)
		return;
	uint64_t calls = (n + s->cfg.pv_batch - 1) / s->cfg.pv_batch;
	s->st.hypercalls += calls;
	s->st.pv_updates += n;
	s->st.cycles_exit += calls * s->cfg.pv_hypercall;
	s->st.cycles_vmm += n * s->cfg.pv_update;
}

static void pv_cr3_write(struct sim *s, struct vcpu *c) { hypercall(s, s->cfg.pv_cr3); }

static void pv_invlpg(struct sim *s, struct vcpu *c, const struct gos_proc *p, gva_t va)
{
	if (c->cur == p)
		hypercall(s, s->cfg.pv_invlpg);
}

static void pv_flush(struct sim *s, const struct gos_proc *p) { hypercall(s, s->cfg.pv_invlpg); }

static void pv_guest_fault(struct sim *s, struct vcpu *c, gva_t va)
{
	s->st.vmm_traps++;
	s->st.cycles_vmm += s->cfg.pv_exception;
}

static void pv_sensitive(struct sim *s, struct vcpu *c, const struct vm_event *ev)
{
	const struct cfg *cf = &s->cfg;
	switch (ev->kind) {
	case EV_SYSCALL: s->st.vmm_traps++; s->st.cycles_vmm += cf->pv_syscall; break;
	case EV_EXCEPTION: s->st.vmm_traps++; s->st.cycles_vmm += cf->pv_exception; break;
	case EV_IO: hypercall(s, cf->pv_io); break;
	case EV_CR8: hypercall(s, cf->pv_cr8); break;
	}
}

/* Xen flushes remote TLBs for the guest (mmuext_op TLB_FLUSH_MULTI): one
 * hypercall; the receivers take Xen's own interrupt, no guest upcall. */
static void pv_ipi_send(struct sim *s, struct vcpu *from) { hypercall(s, s->cfg.smp_ipi_exit); }

static gpa_t pv_to_gpa(struct sim *s, uint64_t hpa) { return p2m_to_gpa(&PV(s)->p2m, hpa); }

static struct p2m *pv_p2m(struct sim *s) { return &PV(s)->p2m; }

static void pv_gpa_unmapped(struct sim *s, gpa_t gpa, enum page_size ps)
{
	for (unsigned i = 0; i < s->ncpu; i++)
		sim_tlb_flush(s, &s->cpu[i], 0, 0, false);
}

static void pv_fini(struct sim *s)
{
	struct pv *pv = PV(s);
	if (!pv)
		return;
	p2m_free(&pv->p2m);
	free(pv);
	s->mode_state = NULL;
}

static int pv_init(struct sim *s, struct vmerr *err)
{
	struct pv *pv = calloc(1, sizeof *pv);
	if (!pv)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	pv->s = s;
	s->mode_state = pv;
	int rc = p2m_init(&pv->p2m, &s->cfg, &s->st, err);
	if (rc < 0) {
		free(pv);
		s->mode_state = NULL;
	}
	return rc;
}

const struct mmu_ops mmu_pv = {
	.name = "pv",
	.desc = "paravirtual MMU: the guest's tables are validated, updates are batched hypercalls",
	.init = pv_init,
	.fini = pv_fini,
	.fill = pv_fill,
	.to_gpa = pv_to_gpa,
	.cr3_write = pv_cr3_write,
	.invlpg = pv_invlpg,
	.flush = pv_flush,
	.guest_fault = pv_guest_fault,
	.sensitive = pv_sensitive,
	.kernel_op_done = pv_kernel_op_done,
	.ipi_send = pv_ipi_send,
	.p2m = pv_p2m,
	.gpa_unmapped = pv_gpa_unmapped,
};
