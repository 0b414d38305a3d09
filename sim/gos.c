/*
 * gos.c - the guest-OS model.
 *
 * Notes (what a Linux/x86-64 kernel does, and what is simplified):
 *  - Demand paging: the first touch of a page faults; the kernel allocates a
 *    frame and writes a leaf with P, US, RW per the region, NX unless the
 *    region is executable, and D already set on a write fault (Linux
 *    do_anonymous_page: pte_mkdirty for writes).  A is left to the hardware
 *    walk that retries the access.  There is no shared zero page: a read
 *    fault allocates a frame too (a simplification).
 *  - Page size (guest.page): the largest size not above it whose aligned
 *    block lies inside the region and whose slot is free, as THP does for
 *    anonymous memory.  A process that has never mapped anything (a trace
 *    from an importer) treats all of the user half as one anonymous rwx
 *    region.
 *  - fork copies the parent's leaves into fresh child tables, making every
 *    one read-only and copy-on-write in both (Linux copy_page_range does so
 *    for writable private mappings; read-only ones are marked too so that a
 *    later mprotect cannot expose a shared frame), then flushes the
 *    parent's TLB entries (dup_mmap -> flush_tlb_mm).  Shared frames are
 *    reference-counted; a shared huge page that must be split is copied
 *    first.
 *  - unmap and protect split a huge page they cover only in part (as THP
 *    split does), rewrite the leaves, and invalidate: one INVLPG per page up
 *    to 33 pages, else a full flush (Linux tlb_single_page_flush_ceiling,
 *    arch/x86/mm/tlb.c).  Emptied page-table pages are kept until exit.
 *  - exit clears every entry (zap) and frees every table, as exit_mmap does.
 *  - Costs: cpu.page_fault_cycles per fault, cpu.map_cycles per
 *    map/unmap/protect, cpu.fork_cycles and cpu.exit_cycles; the page-table
 *    writes themselves cost nothing natively (the modes charge traps).
 *  - Memory pressure (vm.maxmem_mib > 0 only): the limit is a budget on the
 *    guest's physmem.  Reclaim is a clock (second chance) over the resident
 *    4 KiB data pages, kept as an array of (pid, va) in the order they were
 *    mapped (a FIFO with second chance); an entry whose mapping has gone
 *    is dropped when the hand reaches it, and the array is compacted, in
 *    order, when dead entries outnumber live ones.  A page whose PTE has A
 *    cleared through the notifying ops, without an INVLPG (Linux x86
 *    ptep_clear_flush_young does not flush either), and is passed over;
 *    the first with A clear is the victim: written to the guest's swap
 *    (swap.out_cycles), its PTE replaced by a swap entry (one PT write and
 *    one INVLPG, as try_to_unmap_one), its frame freed.  Huge leaves and
 *    frames shared by copy-on-write are never victims (Linux would split
 *    the one and unmap every sharer of the other).  A touch of a swapped
 *    page is a page fault that reads it back (swap.in_cycles) into a new
 *    frame mapped with the region's rights.  fork copies swap entries (the
 *    slot is then shared; each process reads its own copy back).  Writes
 *    to the swap are synchronous: the faulting process waits for them.
 *    Every victim is written: there is no swap cache (Linux skips the write
 *    for a clean page whose copy is still in the swap cache, so read-mostly
 *    guests swap out more cheaply than modelled; the host's swap is
 *    modelled the same way, so the comparison stays even).
 *  - The balloon driver pins whole 4 KiB frames taken from the guest's
 *    allocator (its free pool first, so frames the host had backed go
 *    first; when the budget is full the clock reclaims to make room).
 */
#include "gos.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "u64map.h"

#define TLB_FLUSH_CEILING 33 /* Linux tlb_single_page_flush_ceiling */

struct gos {
	const struct cfg *cfg;
	const struct pt_format *f;
	struct physmem *pm;
	struct stats *st;
	struct gos_hooks h;
	enum page_size max_page;
	gva_t user_top;
	struct gos_proc **procs;
	size_t nprocs, cap;
	struct u64map shared; /* frame address -> references, only when > 1 */
	struct pt_mem_ops ops, raw;
	unsigned next_pcid;

	/* Memory pressure: only with vm.maxmem_mib. */
	bool limited;
	struct gos_mem_hooks mh;
	struct resident {
		uint32_t pid;
		gva_t va;
	} *res;                   /* the clock's pages; pid 0 marks a dead entry */
	size_t nres, capres, hand, ndead;
	uint64_t next_slot;       /* swap slots: 1, 2, ... */
	uint64_t *free_slots;
	size_t nfree_slots, capfree_slots;
	struct u64map slot_refs;  /* slot -> sharers, only when > 1 (after fork) */
	uint64_t swapped;         /* slots in use */
	gpa_t *balloon;
	size_t nballoon, capballoon;
};

static uint64_t reclaim_cb(void *arg, uint64_t need);

/* ---- memory access: the kernel's writes notify the MMU mode ---- */

static uint64_t k_read(void *arg, uint64_t ea)
{
	struct gos *g = arg;
	return physmem_read(g->pm, ea);
}

static void k_write(void *arg, uint64_t ea, uint64_t val)
{
	struct gos *g = arg;
	uint64_t old = physmem_read(g->pm, ea);
	physmem_write(g->pm, ea, val);
	g->st->pt_writes++;
	if (g->h.pt_write)
		g->h.pt_write(g->h.arg, ea, old, val);
}

static int k_alloc(void *arg, uint64_t *pa)
{
	struct gos *g = arg;
	int rc = physmem_alloc_table(g->pm, pa);
	if (rc == 0)
		g->st->pt_pages++;
	return rc;
}

static void raw_write(void *arg, uint64_t ea, uint64_t val)
{
	struct gos *g = arg;
	physmem_write(g->pm, ea, val);
}

struct gos *gos_new(const struct cfg *cfg, struct physmem *gpm, struct stats *st,
		    const struct gos_hooks *hooks)
{
	struct gos *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->cfg = cfg;
	g->f = pt_format_get(PT_X86, cfg->guest_levels);
	g->pm = gpm;
	g->st = st;
	if (hooks)
		g->h = *hooks;
	g->max_page = (enum page_size)cfg->guest_page;
	g->user_top = 1ull << (g->f->va_bits - 1);
	g->ops = (struct pt_mem_ops){k_read, k_write, k_alloc, g};
	g->raw = (struct pt_mem_ops){k_read, raw_write, k_alloc, g};
	if (u64map_init(&g->shared, 64) < 0) {
		free(g);
		return NULL;
	}
	if (cfg->vm_maxmem_mib) {
		g->limited = true;
		g->next_slot = 1;
		physmem_set_budget(gpm, cfg->vm_maxmem_mib << 20, reclaim_cb, g);
	}
	return g;
}

void gos_free(struct gos *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nprocs; i++) {
		free(g->procs[i]->vma);
		free(g->procs[i]);
	}
	free(g->procs);
	u64map_free(&g->shared);
	u64map_free(&g->slot_refs);
	free(g->res);
	free(g->free_slots);
	free(g->balloon);
	free(g);
}

const struct pt_format *gos_format(const struct gos *g) { return g->f; }
struct physmem *gos_mem(const struct gos *g) { return g->pm; }
void gos_raw_ops(struct gos *g, struct pt_mem_ops *ops) { *ops = g->raw; }

struct gos_proc *gos_find(struct gos *g, uint32_t pid)
{
	for (size_t i = 0; i < g->nprocs; i++)
		if (g->procs[i]->pid == pid)
			return g->procs[i];
	return NULL;
}

static int proc_new(struct gos *g, uint32_t pid, struct gos_proc **out, struct vmerr *err)
{
	struct gos_proc *p = calloc(1, sizeof *p);
	if (!p)
		return vmerr_set(err, VM_ENOMEM, "out of memory creating process %u", pid);
	if (g->nprocs == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 16;
		struct gos_proc **np = realloc(g->procs, nc * sizeof *np);
		if (!np) {
			free(p);
			return vmerr_set(err, VM_ENOMEM, "out of memory creating process %u", pid);
		}
		g->procs = np;
		g->cap = nc;
	}
	int rc = k_alloc(g, &p->cr3);
	if (rc < 0) {
		free(p);
		return vmerr_set(err, rc, "guest memory exhausted creating process %u (guest.mem_gb=%llu)",
				 pid, (unsigned long long)g->cfg->guest_mem_gb);
	}
	p->pid = pid;
	p->pcid = (uint16_t)(1 + g->next_pcid++ % 4095);
	p->implicit = true;
	g->procs[g->nprocs++] = p;
	*out = p;
	return 0;
}

int gos_get(struct gos *g, uint32_t pid, struct gos_proc **out, struct vmerr *err)
{
	*out = gos_find(g, pid);
	return *out ? 0 : proc_new(g, pid, out, err);
}

/* ---- frames shared by copy-on-write ---- */

static unsigned frame_refs(struct gos *g, uint64_t pa)
{
	uint64_t *v = u64map_get(&g->shared, pa);
	return v ? (unsigned)*v : 1;
}

static int frame_share(struct gos *g, uint64_t pa)
{
	return u64map_put(&g->shared, pa, frame_refs(g, pa) + 1);
}

static void frame_put(struct gos *g, uint64_t pa, enum page_size ps)
{
	uint64_t *v = u64map_get(&g->shared, pa);
	if (v) {
		if (--*v <= 1)
			u64map_del(&g->shared, pa);
		return;
	}
	physmem_release(g->pm, pa, ps);
}

static uint64_t leaf_frame(const struct pt_format *f, uint64_t pte, unsigned level)
{
	return pt_leaf_pa(f, pte, level, 0) & ~(ps_bytes((enum page_size)level) - 1);
}

/* ---- regions ---- */

static int vma_reserve(struct gos_proc *p, size_t extra)
{
	if (p->nvma + extra <= p->cap)
		return 0;
	size_t nc = p->cap ? p->cap * 2 : 8;
	while (nc < p->nvma + extra)
		nc *= 2;
	struct gos_vma *nv = realloc(p->vma, nc * sizeof *nv);
	if (!nv)
		return VM_ENOMEM;
	p->vma = nv;
	p->cap = nc;
	return 0;
}

static const struct gos_vma *vma_find(const struct gos_proc *p, gva_t va)
{
	size_t lo = 0, hi = p->nvma;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (va < p->vma[mid].start)
			hi = mid;
		else if (va >= p->vma[mid].end)
			lo = mid + 1;
		else
			return &p->vma[mid];
	}
	return NULL;
}

/* Cut [s, e) out of the region list, splitting regions that straddle it. */
static int vma_cut(struct gos_proc *p, gva_t s, gva_t e)
{
	if (vma_reserve(p, 1) < 0)
		return VM_ENOMEM;
	size_t out = 0;
	struct gos_vma split = {0};
	bool have_split = false;
	for (size_t i = 0; i < p->nvma; i++) {
		struct gos_vma v = p->vma[i];
		if (v.end <= s || v.start >= e) {
			p->vma[out++] = v;
			continue;
		}
		if (v.start < s && v.end > e) {
			split = (struct gos_vma){e, v.end, v.prot};
			have_split = true;
			v.end = s;
			p->vma[out++] = v;
			continue;
		}
		if (v.start < s) {
			v.end = s;
			p->vma[out++] = v;
		} else if (v.end > e) {
			v.start = e;
			p->vma[out++] = v;
		}
	}
	p->nvma = out;
	if (have_split) {
		size_t i = p->nvma;
		while (i > 0 && p->vma[i - 1].start > split.start) {
			p->vma[i] = p->vma[i - 1];
			i--;
		}
		p->vma[i] = split;
		p->nvma++;
	}
	return 0;
}

static int vma_insert(struct gos_proc *p, gva_t s, gva_t e, unsigned prot)
{
	if (vma_reserve(p, 1) < 0)
		return VM_ENOMEM;
	size_t i = p->nvma;
	while (i > 0 && p->vma[i - 1].start > s) {
		p->vma[i] = p->vma[i - 1];
		i--;
	}
	p->vma[i] = (struct gos_vma){s, e, prot};
	p->nvma++;
	return 0;
}

/* Regions inside [s, e) take prot; holes stay holes. */
static int vma_protect(struct gos_proc *p, gva_t s, gva_t e, unsigned prot)
{
	size_t n = p->nvma;
	struct gos_vma *old = malloc((n ? n : 1) * sizeof *old);
	if (!old)
		return VM_ENOMEM;
	memcpy(old, p->vma, n * sizeof *old);
	int rc = vma_cut(p, s, e);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		gva_t a = old[i].start > s ? old[i].start : s;
		gva_t b = old[i].end < e ? old[i].end : e;
		if (a < b)
			rc = vma_insert(p, a, b, prot);
	}
	free(old);
	return rc;
}

static unsigned prot_perms(unsigned prot)
{
	unsigned perms = PTE_PERM_U;
	if (prot & VM_PROT_W)
		perms |= PTE_PERM_W;
	if (prot & VM_PROT_X)
		perms |= PTE_PERM_X;
	return perms;
}

/* ---- walking a range of one address space ---- */

typedef int (*leaf_fn)(struct gos *g, struct gos_proc *p, uint64_t ea, uint64_t pte,
		       unsigned level, gva_t va, void *arg);

/* Replace the huge leaf at ea (level 1 or 2) by a table of smaller leaves. */
static int split_leaf(struct gos *g, struct gos_proc *p, uint64_t ea, uint64_t pte,
		      unsigned level, gva_t va)
{
	const struct pt_format *f = g->f;
	uint64_t t;
	int rc = k_alloc(g, &t);
	if (rc < 0)
		return rc;
	uint64_t base = leaf_frame(f, pte, level);
	uint64_t sz = ps_bytes((enum page_size)(level - 1));
	unsigned perms = pt_perms(f, pte);
	uint64_t cow = pte & GOS_PTE_COW;
	if (frame_refs(g, base) > 1) {
		/* A shared huge page is copied before it is split (a COW break),
		 * so that reference counts stay per frame of one size. */
		uint64_t copy;
		rc = physmem_alloc(g->pm, (enum page_size)level, &copy);
		if (rc < 0)
			return rc;
		frame_put(g, base, (enum page_size)level);
		base = copy;
		cow = 0;
		g->st->faults_cow++;
	}
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		k_write(g, t + i * PT_ENTRY_SIZE, pt_make_leaf(f, base + i * sz, level - 1, perms) | cow);
	k_write(g, ea, pt_make_table(f, t));
	physmem_split(g->pm, (enum page_size)level);
	g->st->invlpgs++;
	if (g->h.invlpg)
		g->h.invlpg(g->h.arg, p, va);
	return 0;
}

static int range_walk(struct gos *g, struct gos_proc *p, uint64_t table, unsigned level,
		      gva_t base, gva_t s, gva_t e, leaf_fn fn, void *arg)
{
	const struct pt_format *f = g->f;
	uint64_t sz = 1ull << pt_level_shift(level);
	gva_t end_of_table = base + PT_ENTRIES * sz;
	const uint64_t *t = physmem_table(g->pm, table);
	for (gva_t va = (s > base ? s : base) & ~(sz - 1); va < e && va < end_of_table; va += sz) {
		uint64_t ea = table + pt_index(f, va, level) * PT_ENTRY_SIZE;
		uint64_t pte = t[pt_index(f, va, level)];
		if (!pt_is_present(f, pte)) {
			if (level == 0 && gos_pte_is_swap(pte)) {
				int rc = fn(g, p, ea, pte, level, va, arg);
				if (rc < 0)
					return rc;
			}
			continue;
		}
		if (pt_is_leaf(f, pte, level)) {
			if (va >= s && va + sz <= e) {
				int rc = fn(g, p, ea, pte, level, va, arg);
				if (rc < 0)
					return rc;
				continue;
			}
			int rc = split_leaf(g, p, ea, pte, level, va);
			if (rc < 0)
				return rc;
			pte = t[pt_index(f, va, level)];
		}
		int rc = range_walk(g, p, pt_next_table(f, pte), level - 1, va, s > va ? s : va,
				    e < va + sz ? e : va + sz, fn, arg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int walk_user(struct gos *g, struct gos_proc *p, gva_t s, gva_t e, leaf_fn fn, void *arg)
{
	return range_walk(g, p, p->cr3, g->f->levels - 1, 0, s, e, fn, arg);
}

/* After rewriting leaves in [s, e): INVLPG each rewritten page, or flush. */
struct inval {
	bool flush;
	unsigned changed;
};

static void inval_leaf(struct gos *g, struct gos_proc *p, struct inval *iv, gva_t va)
{
	iv->changed++;
	if (iv->flush)
		return;
	g->st->invlpgs++;
	if (g->h.invlpg)
		g->h.invlpg(g->h.arg, p, va);
}

static void inval_done(struct gos *g, struct gos_proc *p, struct inval *iv)
{
	if (iv->flush && iv->changed && g->h.flush)
		g->h.flush(g->h.arg, p);
}

/* ---- memory pressure: the clock, swap slots, the balloon ---- */

void gos_set_mem_hooks(struct gos *g, const struct gos_mem_hooks *h)
{
	if (h)
		g->mh = *h;
	else
		memset(&g->mh, 0, sizeof g->mh);
}

static void res_add(struct gos *g, uint32_t pid, gva_t va)
{
	if (!g->limited)
		return;
	if (g->nres == g->capres) {
		size_t nc = g->capres ? g->capres * 2 : 1024;
		struct resident *n = realloc(g->res, nc * sizeof *n);
		if (!n)
			return; /* the page is just never a reclaim candidate */
		g->res = n;
		g->capres = nc;
	}
	g->res[g->nres++] = (struct resident){pid, va & ~0xfffull};
}

/* The present 4 KiB leaf that entry i names, or false if it has gone. */
static bool res_lookup(struct gos *g, size_t i, struct gos_proc **pp, uint64_t *ea, uint64_t *pte)
{
	struct gos_proc *p = g->res[i].pid ? gos_find(g, g->res[i].pid) : NULL;
	if (!p)
		return false;
	int level = pt_lookup(g->f, &g->raw, p->cr3, g->res[i].va, pte, ea);
	*pp = p;
	return level == 0;
}

static void res_drop(struct gos *g, size_t i)
{
	if (g->res[i].pid) {
		g->res[i].pid = 0;
		g->ndead++;
	}
}

/* Squeeze dead entries out, keeping the order and the hand's place. */
static void res_compact(struct gos *g)
{
	size_t out = 0, hand = 0;
	for (size_t i = 0; i < g->nres; i++) {
		if (i == g->hand)
			hand = out;
		if (g->res[i].pid)
			g->res[out++] = g->res[i];
	}
	g->hand = g->hand < g->nres ? hand : out;
	g->nres = out;
	g->ndead = 0;
}

static uint64_t slot_alloc(struct gos *g)
{
	g->swapped++;
	if (g->nfree_slots)
		return g->free_slots[--g->nfree_slots];
	return g->next_slot++;
}

static void slot_put(struct gos *g, uint64_t slot)
{
	uint64_t *v = u64map_get(&g->slot_refs, slot);
	if (v) {
		if (--*v <= 1)
			u64map_del(&g->slot_refs, slot);
		return;
	}
	g->swapped--;
	if (g->nfree_slots == g->capfree_slots) {
		size_t nc = g->capfree_slots ? g->capfree_slots * 2 : 256;
		uint64_t *n = realloc(g->free_slots, nc * sizeof *n);
		if (!n)
			return; /* the slot is not reused */
		g->free_slots = n;
		g->capfree_slots = nc;
	}
	g->free_slots[g->nfree_slots++] = slot;
}

static int slot_share(struct gos *g, uint64_t slot)
{
	uint64_t *v = u64map_get(&g->slot_refs, slot);
	return u64map_put(&g->slot_refs, slot, v ? *v + 1 : 2);
}

static void swap_out(struct gos *g, struct gos_proc *p, uint64_t ea, uint64_t pte, gva_t va)
{
	uint64_t frame = leaf_frame(g->f, pte, 0);
	if (g->mh.page_read)
		g->mh.page_read(g->mh.arg, frame);
	uint64_t slot = slot_alloc(g);
	k_write(g, ea, (slot << 12) | GOS_PTE_SWAP);
	g->st->invlpgs++;
	if (g->h.invlpg)
		g->h.invlpg(g->h.arg, p, va);
	frame_put(g, frame, PS_4K);
	g->st->guest_swap_outs++;
	g->st->cycles_swap += g->cfg->swap_out_cycles;
}

/* One turn of the clock: swap one page out.  False if nothing can go. */
static bool reclaim_one(struct gos *g)
{
	if (g->ndead > g->nres / 2)
		res_compact(g);
	/* Two sweeps: the first may only clear A bits. */
	for (size_t steps = 2 * g->nres + 2; g->nres && steps; steps--) {
		if (g->hand >= g->nres)
			g->hand = 0;
		size_t i = g->hand++;
		struct gos_proc *p;
		uint64_t ea, pte;
		if (!res_lookup(g, i, &p, &ea, &pte)) {
			res_drop(g, i);
			continue;
		}
		if (frame_refs(g, leaf_frame(g->f, pte, 0)) > 1)
			continue;
		if (pte & g->f->accessed) {
			k_write(g, ea, pte & ~g->f->accessed);
			continue;
		}
		gva_t va = g->res[i].va;
		res_drop(g, i);
		swap_out(g, p, ea, pte, va);
		return true;
	}
	return false;
}

/* The guest's physmem budget is full: free at least need bytes. */
static uint64_t reclaim_cb(void *arg, uint64_t need)
{
	struct gos *g = arg;
	uint64_t freed = 0;
	while (freed < need && reclaim_one(g))
		freed += 4096;
	return freed;
}

/* Stale entries pile up where pages come and go without pressure: drop
 * them when the array is twice the data frames in use. */
static void res_prune(struct gos *g)
{
	struct physmem_usage u;
	physmem_usage(g->pm, &u);
	if (g->nres < 2 * u.frames[PS_4K] + 1024)
		return;
	for (size_t i = 0; i < g->nres; i++) {
		struct gos_proc *p;
		uint64_t ea, pte;
		if (!res_lookup(g, i, &p, &ea, &pte))
			res_drop(g, i);
	}
	res_compact(g);
}

void gos_meminfo(const struct gos *g, struct gos_meminfo *m)
{
	struct physmem_usage u;
	physmem_usage(g->pm, &u);
	m->limit_pages = g->cfg->vm_maxmem_mib << 8;
	m->used_pages = u.bytes_in_use >> 12;
	m->balloon_pages = g->nballoon;
	m->swapped_pages = g->swapped;
}

int gos_balloon_set(struct gos *g, uint64_t target, struct vmerr *err)
{
	while (g->nballoon < target) {
		if (g->nballoon == g->capballoon) {
			size_t nc = g->capballoon ? g->capballoon * 2 : 1024;
			gpa_t *n = realloc(g->balloon, nc * sizeof *n);
			if (!n)
				return vmerr_set(err, VM_ENOMEM, "out of memory");
			g->balloon = n;
			g->capballoon = nc;
		}
		uint64_t frame;
		int rc = physmem_alloc(g->pm, PS_4K, &frame);
		if (rc < 0)
			return vmerr_set(err, rc, "balloon: the guest has nothing left to give at %zu of "
					 "%llu pages", g->nballoon, (unsigned long long)target);
		g->balloon[g->nballoon++] = frame;
		g->st->balloon_pages_in++;
		if (g->mh.balloon_pinned)
			g->mh.balloon_pinned(g->mh.arg, frame);
	}
	while (g->nballoon > target) {
		physmem_release(g->pm, g->balloon[--g->nballoon], PS_4K);
		g->st->balloon_pages_out++;
	}
	return 0;
}

const gpa_t *gos_balloon_frames(const struct gos *g, size_t *n)
{
	*n = g->nballoon;
	return g->balloon;
}

/* A touch of a swapped-out page: read it back into a new frame. */
static int swap_in(struct gos *g, struct gos_proc *p, gva_t va, uint64_t ea, uint64_t pte,
		   unsigned prot, unsigned need, struct vmerr *err)
{
	uint64_t frame;
	int rc = physmem_alloc(g->pm, PS_4K, &frame);
	if (rc < 0)
		return vmerr_set(err, rc, "guest memory exhausted at a swap-in at 0x%llx: nothing left "
				 "to swap out (vm.maxmem_mib=%llu)", (unsigned long long)va,
				 (unsigned long long)g->cfg->vm_maxmem_mib);
	unsigned perms = prot_perms(prot) | ((need & PTE_PERM_W) ? PTE_PERM_D : 0);
	k_write(g, ea, pt_make_leaf(g->f, frame, 0, perms));
	slot_put(g, (pte & GOS_SWAP_SLOT_MASK) >> 12);
	g->st->guest_swap_ins++;
	g->st->cycles_swap += g->cfg->swap_in_cycles;
	res_add(g, p->pid, va);
	return GOS_FIXED;
}

/* ---- faults ---- */

int gos_fault(struct gos *g, struct gos_proc *p, gva_t va, unsigned need, struct vmerr *err)
{
	const struct pt_format *f = g->f;
	gva_t rstart = 0, rend = g->user_top;
	unsigned prot = VM_PROT_R | VM_PROT_W | VM_PROT_X;

	if (va >= g->user_top)
		goto segv;
	if (!p->implicit) {
		const struct gos_vma *v = vma_find(p, va);
		if (!v)
			goto segv;
		rstart = v->start;
		rend = v->end;
		prot = v->prot;
	}
	if (((need & PTE_PERM_W) && !(prot & VM_PROT_W)) ||
	    ((need & PTE_PERM_X) && !(prot & VM_PROT_X)))
		goto segv;

	g->st->page_faults++;
	g->st->cycles_fault += g->cfg->page_fault_cycles;

	uint64_t pte, ea;
	int level = pt_lookup(f, &g->raw, p->cr3, va, &pte, &ea);
	if (level < 0 && gos_pte_is_swap(pte))
		return swap_in(g, p, va, ea, pte, prot, need, err);
	if (level >= 0) {
		/* Present: a protection fault the region allows. */
		uint64_t frame = leaf_frame(f, pte, (unsigned)level);
		uint64_t npte;
		if ((need & PTE_PERM_W) && (pte & GOS_PTE_COW) && frame_refs(g, frame) > 1) {
			uint64_t nf;
			int rc = physmem_alloc(g->pm, (enum page_size)level, &nf);
			if (rc < 0)
				return vmerr_set(err, rc, "guest memory exhausted at a copy-on-write fault "
						 "(guest.mem_gb=%llu)", (unsigned long long)g->cfg->guest_mem_gb);
			frame_put(g, frame, (enum page_size)level);
			npte = pt_make_leaf(f, nf, (unsigned)level,
					    prot_perms(prot) | PTE_PERM_A | PTE_PERM_D |
						    (pt_perms(f, pte) & PTE_PERM_G));
			g->st->faults_cow++;
			if (level == 0)
				res_add(g, p->pid, va);
		} else {
			if (pte & GOS_PTE_COW)
				g->st->faults_cow++; /* last sharer: reuse the frame */
			npte = pt_make_leaf(f, frame, (unsigned)level,
					    prot_perms(prot) | (pt_perms(f, pte) &
								(PTE_PERM_A | PTE_PERM_D | PTE_PERM_G)) |
						    ((need & PTE_PERM_W) ? PTE_PERM_D : 0));
		}
		k_write(g, ea, npte);
		g->st->invlpgs++;
		if (g->h.invlpg)
			g->h.invlpg(g->h.arg, p, va);
		return GOS_FIXED;
	}

	for (int ps = (int)g->max_page; ps >= PS_4K; ps--) {
		uint64_t sz = ps_bytes((enum page_size)ps);
		gva_t b = va & ~(sz - 1);
		if (b < rstart || b + sz > rend)
			continue;
		uint64_t frame;
		int rc = physmem_alloc(g->pm, (enum page_size)ps, &frame);
		if (rc == VM_ELIMIT && g->limited && ps > PS_4K)
			continue; /* no room for a huge page under maxmem: map a smaller one */
		if (rc < 0)
			return vmerr_set(err, rc, "guest memory exhausted at a page fault at 0x%llx "
					 "(guest.mem_gb=%llu, vm.maxmem_mib=%llu)", (unsigned long long)va,
					 (unsigned long long)g->cfg->guest_mem_gb,
					 (unsigned long long)g->cfg->vm_maxmem_mib);
		unsigned perms = prot_perms(prot) | ((need & PTE_PERM_W) ? PTE_PERM_D : 0);
		rc = pt_map(f, &g->ops, p->cr3, b, frame, (enum page_size)ps, perms);
		if (rc == VM_EINPUT) { /* smaller pages already live in this block */
			physmem_release(g->pm, frame, (enum page_size)ps);
			continue;
		}
		if (rc < 0)
			return vmerr_set(err, rc, "guest memory exhausted allocating a page table");
		if (ps == PS_4K) {
			g->st->faults_demand_4k++;
			res_add(g, p->pid, va);
			if (g->limited && (g->nres & 1023) == 0)
				res_prune(g);
		} else if (ps == PS_2M)
			g->st->faults_demand_2m++;
		else
			g->st->faults_demand_1g++;
		return GOS_FIXED;
	}
	return vmerr_set(err, VM_EINPUT, "internal: no page size fits 0x%llx", (unsigned long long)va);

segv:
	g->st->faults_segv++;
	return GOS_SEGV;
}

/* ---- map, unmap, protect ---- */

static int check_range(struct gos *g, const char *what, gva_t va, uint64_t len, gva_t *s,
		       gva_t *e, struct vmerr *err)
{
	*s = va & ~0xfffull;
	*e = (va + len + 0xfff) & ~0xfffull;
	if (len == 0 || va + len < va || *e > g->user_top)
		return vmerr_set(err, VM_EINPUT,
				 "%s 0x%llx length 0x%llx: not inside the user address space [0, 0x%llx)",
				 what, (unsigned long long)va, (unsigned long long)len,
				 (unsigned long long)g->user_top);
	return 0;
}

static int zap_leaf(struct gos *g, struct gos_proc *p, uint64_t ea, uint64_t pte, unsigned level,
		    gva_t va, void *arg)
{
	if (gos_pte_is_swap(pte)) { /* nothing in a TLB: just drop the slot */
		k_write(g, ea, 0);
		slot_put(g, (pte & GOS_SWAP_SLOT_MASK) >> 12);
		return 0;
	}
	k_write(g, ea, 0);
	frame_put(g, leaf_frame(g->f, pte, level), (enum page_size)level);
	inval_leaf(g, p, arg, va);
	return 0;
}

static int unmap_range(struct gos *g, struct gos_proc *p, gva_t s, gva_t e)
{
	struct inval iv = {.flush = ((e - s) >> 12) > TLB_FLUSH_CEILING};
	int rc = vma_cut(p, s, e);
	if (rc == 0)
		rc = walk_user(g, p, s, e, zap_leaf, &iv);
	inval_done(g, p, &iv);
	return rc;
}

int gos_map(struct gos *g, struct gos_proc *p, gva_t va, uint64_t len, unsigned prot,
	    struct vmerr *err)
{
	gva_t s, e;
	int rc = check_range(g, "map", va, len, &s, &e, err);
	if (rc < 0)
		return rc;
	g->st->maps++;
	g->st->cycles_os += g->cfg->map_cycles;
	p->implicit = false;
	rc = unmap_range(g, p, s, e); /* MAP_FIXED replaces what was there */
	if (rc == 0)
		rc = vma_insert(p, s, e, prot);
	return rc < 0 ? vmerr_set(err, rc, "out of memory mapping 0x%llx", (unsigned long long)va) : 0;
}

int gos_unmap(struct gos *g, struct gos_proc *p, gva_t va, uint64_t len, struct vmerr *err)
{
	gva_t s, e;
	int rc = check_range(g, "unmap", va, len, &s, &e, err);
	if (rc < 0)
		return rc;
	g->st->unmaps++;
	g->st->cycles_os += g->cfg->map_cycles;
	rc = unmap_range(g, p, s, e);
	return rc < 0 ? vmerr_set(err, rc, "out of memory unmapping 0x%llx", (unsigned long long)va) : 0;
}

struct protect_arg {
	struct inval iv;
	unsigned prot;
};

static int protect_leaf(struct gos *g, struct gos_proc *p, uint64_t ea, uint64_t pte,
			unsigned level, gva_t va, void *arg)
{
	struct protect_arg *pa = arg;
	if (gos_pte_is_swap(pte))
		return 0; /* a swap-in takes the region's rights then */
	unsigned keep = pt_perms(g->f, pte) & (PTE_PERM_A | PTE_PERM_D | PTE_PERM_G);
	unsigned perms = prot_perms(pa->prot) | keep;
	if (pte & GOS_PTE_COW)
		perms &= ~PTE_PERM_W; /* stays read-only until the COW fault */
	uint64_t npte = pt_make_leaf(g->f, leaf_frame(g->f, pte, level), level, perms) |
			(pte & GOS_PTE_COW);
	if (npte != pte) {
		k_write(g, ea, npte);
		inval_leaf(g, p, &pa->iv, va);
	}
	return 0;
}

int gos_protect(struct gos *g, struct gos_proc *p, gva_t va, uint64_t len, unsigned prot,
		struct vmerr *err)
{
	gva_t s, e;
	int rc = check_range(g, "protect", va, len, &s, &e, err);
	if (rc < 0)
		return rc;
	g->st->protects++;
	g->st->cycles_os += g->cfg->map_cycles;
	if (p->implicit) {
		/* The implicit rwx address space becomes explicit so that the new
		 * protection lasts. */
		p->implicit = false;
		if (vma_insert(p, 0, g->user_top, VM_PROT_R | VM_PROT_W | VM_PROT_X) < 0)
			return vmerr_set(err, VM_ENOMEM, "out of memory");
	}
	if (vma_protect(p, s, e, prot) < 0)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	struct protect_arg pa = {.iv = {.flush = ((e - s) >> 12) > TLB_FLUSH_CEILING}, .prot = prot};
	rc = walk_user(g, p, s, e, protect_leaf, &pa);
	inval_done(g, p, &pa.iv);
	return rc < 0 ? vmerr_set(err, rc, "out of memory") : 0;
}

/* ---- fork and exit ---- */

struct fork_arg {
	struct gos_proc *child;
	bool wrprotected;
	int rc;
};

static int fork_leaf(struct gos *g, struct gos_proc *p, uint64_t ea, uint64_t pte, unsigned level,
		     gva_t va, void *arg)
{
	struct fork_arg *fa = arg;
	if (gos_pte_is_swap(pte)) {
		int rc = slot_share(g, (pte & GOS_SWAP_SLOT_MASK) >> 12);
		return rc < 0 ? rc : pt_map_entry(g->f, &g->ops, fa->child->cr3, va, 0, pte);
	}
	/* Every private page is shared copy-on-write, read-only ones too, so a
	 * later mprotect cannot make a shared frame writable. */
	uint64_t ro = (pte & ~g->f->write) | GOS_PTE_COW;
	if (ro != pte) {
		k_write(g, ea, ro);
		fa->wrprotected = true;
	}
	pte = ro;
	int rc = frame_share(g, leaf_frame(g->f, pte, level));
	if (rc == 0)
		rc = pt_map_entry(g->f, &g->ops, fa->child->cr3, va, level, pte);
	return rc;
}

int gos_fork(struct gos *g, struct gos_proc *parent, uint32_t child_pid, struct vmerr *err)
{
	if (gos_find(g, child_pid))
		return vmerr_set(err, VM_EINPUT, "fork: process %u already exists", child_pid);
	struct gos_proc *c;
	int rc = proc_new(g, child_pid, &c, err);
	if (rc < 0)
		return rc;
	g->st->forks++;
	g->st->cycles_os += g->cfg->fork_cycles;
	c->implicit = parent->implicit;
	if (vma_reserve(c, parent->nvma) < 0)
		return vmerr_set(err, VM_ENOMEM, "out of memory in fork");
	if (parent->nvma) /* an implicit parent has no regions and no array */
		memcpy(c->vma, parent->vma, parent->nvma * sizeof *c->vma);
	c->nvma = parent->nvma;
	struct fork_arg fa = {.child = c};
	rc = walk_user(g, parent, 0, g->user_top, fork_leaf, &fa);
	if (rc < 0)
		return vmerr_set(err, rc, "guest memory exhausted in fork (guest.mem_gb=%llu)",
				 (unsigned long long)g->cfg->guest_mem_gb);
	if (fa.wrprotected && g->h.flush)
		g->h.flush(g->h.arg, parent);
	return 0;
}

static void free_tree(struct gos *g, uint64_t table, unsigned level)
{
	const struct pt_format *f = g->f;
	const uint64_t *t = physmem_table(g->pm, table); /* one look-up per table, not per entry */
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uint64_t ea = table + i * PT_ENTRY_SIZE;
		uint64_t pte = t[i];
		if (!pt_is_present(f, pte)) {
			if (level == 0 && gos_pte_is_swap(pte)) {
				slot_put(g, (pte & GOS_SWAP_SLOT_MASK) >> 12);
				k_write(g, ea, 0);
			}
			continue;
		}
		if (pt_is_leaf(f, pte, level))
			frame_put(g, leaf_frame(f, pte, level), (enum page_size)level);
		else
			free_tree(g, pt_next_table(f, pte), level - 1);
		k_write(g, ea, 0);
	}
	if (g->h.table_freed)
		g->h.table_freed(g->h.arg, table);
	physmem_release_table(g->pm, table);
}

void gos_exit(struct gos *g, struct gos_proc *p)
{
	g->st->exits++;
	g->st->cycles_os += g->cfg->exit_cycles;
	free_tree(g, p->cr3, g->f->levels - 1);
	if (g->h.flush)
		g->h.flush(g->h.arg, p);
	for (size_t i = 0; i < g->nprocs; i++)
		if (g->procs[i] == p) {
			g->procs[i] = g->procs[--g->nprocs];
			break;
		}
	free(p->vma);
	free(p);
}

int gos_translate(struct gos *g, const struct gos_proc *p, gva_t va, gpa_t *gpa)
{
	uint64_t pte, ea;
	int level = pt_lookup(g->f, &g->raw, p->cr3, va, &pte, &ea);
	if (level < 0)
		return -1;
	*gpa = pt_leaf_pa(g->f, pte, (unsigned)level, va);
	return 0;
}
