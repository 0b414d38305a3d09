/* p2m.c - see p2m.h. */
#include "p2m.h"

int p2m_init(struct p2m *p, const struct cfg *cfg, struct stats *st, struct vmerr *err)
{
	p->f = pt_format_get((enum pt_kind)cfg->host_format, cfg->host_levels);
	p->page = (enum page_size)cfg->host_page;
	p->st = st;
	p->guest_limit = cfg->guest_mem_gb << 30;
	p->hpm = physmem_new(0, cfg->host_mem_gb << 30);
	if (!p->hpm || u64map_init(&p->rmap, 1024) < 0) {
		physmem_free(p->hpm);
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	}
	physmem_pt_ops(p->hpm, &p->ops);
	if (physmem_alloc_table(p->hpm, &p->root) < 0) {
		p2m_free(p);
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	}
	return 0;
}

void p2m_free(struct p2m *p)
{
	u64map_free(&p->rmap);
	if (!p->shared_hpm)
		physmem_free(p->hpm);
	p->hpm = NULL;
}

int p2m_lookup(const struct p2m *p, gpa_t gpa, hpa_t *hpa, enum page_size *ps)
{
	uint64_t pte, ea;
	int level = pt_lookup(p->f, &p->ops, p->root, gpa, &pte, &ea);
	if (level < 0)
		return -1;
	*hpa = pt_leaf_pa(p->f, pte, (unsigned)level, gpa);
	*ps = (enum page_size)level;
	return 0;
}

int p2m_back(struct p2m *p, gpa_t gpa, struct vmerr *err)
{
	if (p->owner) {
		int rc = p->owner->back(p->owner->arg, p, gpa, err);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	for (int ps = (int)p->page; ps >= PS_4K; ps--) {
		uint64_t sz = ps_bytes((enum page_size)ps);
		gpa_t base = gpa & ~(sz - 1);
		if (base + sz > p->guest_limit && ps > PS_4K)
			continue;
		hpa_t frame;
		int rc = physmem_alloc(p->hpm, (enum page_size)ps, &frame);
		if (rc < 0)
			return vmerr_set(err, rc, "host memory exhausted backing guest-physical 0x%llx "
					 "(host.mem_gb)", (unsigned long long)gpa);
		/* Host mappings of RAM: read, write, execute; A and D left to the walks. */
		rc = pt_map(p->f, &p->ops, p->root, base, frame, (enum page_size)ps,
			    PTE_PERM_W | PTE_PERM_U | PTE_PERM_X);
		if (rc == VM_EINPUT) { /* smaller host pages already live here */
			physmem_release(p->hpm, frame, (enum page_size)ps);
			continue;
		}
		if (rc < 0)
			return vmerr_set(err, rc, "host memory exhausted allocating a host page table");
		if (p->rmap_on && u64map_put(&p->rmap, frame, base | (uint64_t)ps) < 0)
			return vmerr_set(err, VM_ENOMEM, "out of memory");
		p->st->host_frames++;
		return 0;
	}
	return vmerr_set(err, VM_EINPUT, "guest-physical 0x%llx is beyond guest memory",
			 (unsigned long long)gpa);
}

gpa_t p2m_to_gpa(const struct p2m *p, hpa_t hpa)
{
	for (int ps = PS_4K; ps < PS_COUNT; ps++) {
		uint64_t sz = ps_bytes((enum page_size)ps);
		const uint64_t *v = u64map_get(&p->rmap, hpa & ~(sz - 1));
		if (v && (*v & 3) == (uint64_t)ps)
			return (*v & ~3ull) + (hpa & (sz - 1));
	}
	return ~0ull;
}

int p2m_attach(struct p2m *p, struct physmem *hpm, const struct p2m_owner *owner,
	       struct vmerr *err)
{
	if (p->st->host_frames)
		return vmerr_set(err, VM_EINPUT, "internal: p2m attached after the VM ran");
	p->rmap_on = true; /* host reclaim walks it */
	hpa_t root;
	int rc = physmem_alloc_table(hpm, &root);
	if (rc < 0)
		return vmerr_set(err, rc, "host memory exhausted allocating a VM's host page table");
	if (!p->shared_hpm)
		physmem_free(p->hpm);
	p->hpm = hpm;
	p->root = root;
	p->shared_hpm = true;
	p->owner = owner;
	physmem_pt_ops(hpm, &p->ops);
	return 0;
}

int p2m_map(struct p2m *p, gpa_t gpa, hpa_t hpa, enum page_size ps, struct vmerr *err)
{
	gpa_t base = gpa & ~(ps_bytes(ps) - 1);
	int rc = pt_map(p->f, &p->ops, p->root, base, hpa, ps, PTE_PERM_W | PTE_PERM_U | PTE_PERM_X);
	if (rc == 0 && p->rmap_on)
		rc = u64map_put(&p->rmap, hpa, base | (uint64_t)ps);
	return rc < 0 ? vmerr_set(err, rc, "host memory exhausted mapping guest-physical 0x%llx",
				  (unsigned long long)gpa) : 0;
}

int p2m_unmap(struct p2m *p, gpa_t gpa, bool release, hpa_t *hpa, enum page_size *ps)
{
	uint64_t pte, ea;
	int level = pt_lookup(p->f, &p->ops, p->root, gpa, &pte, &ea);
	if (level < 0)
		return -1;
	*ps = (enum page_size)level;
	*hpa = pt_leaf_pa(p->f, pte, (unsigned)level, 0);
	p->ops.write(p->ops.arg, ea, 0);
	if (p->rmap_on)
		u64map_del(&p->rmap, *hpa);
	if (release)
		physmem_release(p->hpm, *hpa, *ps);
	return 0;
}
