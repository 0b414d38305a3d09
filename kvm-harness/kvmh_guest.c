/*
 * kvmh_guest.c - set-up (b): the harness as the CPL3 payload's kernel.
 *
 * Notes:
 *  - Mappings are pre-populated at wl_map time by default: at CPL3 on a PVM
 *    host any guest page fault ends in KVM_EXIT_SHUTDOWN (notes/kvm-host.md).
 *    What the first touch of a page measures is then KVM's own shadow fault
 *    (pf_fixed), as in the simulator's shadow model.
 *  - Demand paging (opts.demand) works too, because on these hosts the
 *    registers and CR2 survive the shutdown: the harness maps the page at
 *    CR2, writes the saved registers back and resumes.  Each guest fault then
 *    costs a full exit; only a not-present fault inside a mapped region is
 *    served, so any other exception is still reported.
 *  - Guest page-table entries written by the harness bypass KVM's write
 *    protection of guest tables.  Adding an entry is safe (a missing shadow
 *    entry faults and KVM re-walks the guest table), but removing or
 *    narrowing one is not.  With opts.guest_ptw (the default of `run`) the
 *    guest repeats every write itself (the echo, guest/abi.h), so KVM sees
 *    it as a guest kernel's write; after a narrowing change the guest rings
 *    SYNC and the harness invalidates as Linux would: INVLPG of each page
 *    up to 33, in a CPL0 detour (emulated on PVM), else a CR3 reload.
 *    Without it (or if the echo list overflows) unmap and protect end by
 *    deleting and re-adding the affected data slots, which makes KVM drop
 *    every shadow entry into them.
 *  - Each process has its own tables and its own list of regions, so two
 *    processes can map different memory at the same address (ctxswitch,
 *    compile).  fork gives the child the parent's mappings over the same
 *    memory (shared, not copy-on-write): enough to switch address spaces
 *    and exercise CR3 writes, which is what the MMU models compare.
 *  - A memory slot is deleted when no region uses it any more (unmap,
 *    exit), so slots and host memory are recycled.  An exited process's
 *    table pages go to a limbo list: KVM may still hold shadow pages for
 *    them, which a reused page would then meet with stale entries.  When
 *    the free list runs dry the page-table slot is reloaded once (KVM drops
 *    those shadow pages) and the limbo pages become free.
 *  - wlrt_exception(0) is a real divide error; on these hosts it ends in a
 *    shutdown with the registers intact, and the harness resumes after the
 *    instruction (its address is in the shared page).
 *  - A CR3 switch is done by the harness between runs with KVM_SET_SREGS,
 *    as a CPL0 detour would be emulated instruction by instruction here.
 */
#include "kvmh_guest.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#include "sim/event.h"
#include "sim/pt_format.h"

extern const char kvmh_payload_start[], kvmh_payload_end[];

static volatile sig_atomic_t kvmh_timed_out;
static struct kvm_run *volatile running;

static void on_alarm(int sig)
{
	(void)sig;
	kvmh_timed_out = 1;
	if (running)
		running->immediate_exit = 1;
}

/* --- guest page tables through pt_map ------------------------------------ */

static uint64_t *pt_entry(struct kvmh_guest *g, uint64_t pa)
{
	if (pa >= KVMH_PT_GPA && pa + 8 <= KVMH_PT_GPA + KVMH_PT_SIZE)
		return (uint64_t *)((char *)g->pt_slot->hva + (pa - KVMH_PT_GPA));
	return kvmh_vm_hva(&g->vm, pa, 8);
}

static uint64_t pt_read(void *arg, uint64_t pa)
{
	uint64_t *e = pt_entry(arg, pa);
	return e ? *e : 0;
}

static void pt_write(void *arg, uint64_t pa, uint64_t val)
{
	struct kvmh_guest *g = arg;
	uint64_t *e = pt_entry(g, pa);
	if (!e)
		return;
	*e = val;
	if (!g->echo_on || pa < KVMH_PT_GPA || pa >= KVMH_PT_GPA + KVMH_PT_SIZE)
		return;
	uint64_t n = g->sh->echo_n;
	if (n == KVMH_ECHO_MAX) {
		g->echo_full = true;
		return;
	}
	g->echo[n] = (struct kvmh_echo){KVMH_PTVIEW_VA + (pa - KVMH_PT_GPA), val};
	g->sh->echo_n = n + 1;
	g->n.echo_writes++;
}

static int pt_grow(struct kvmh_guest *g)
{
	size_t cap = g->pt_cap ? 2 * g->pt_cap : 256;
	gpa_t *f = realloc(g->pt_free, cap * sizeof *f);
	if (f)
		g->pt_free = f;
	gpa_t *l = realloc(g->pt_limbo, cap * sizeof *l);
	if (l)
		g->pt_limbo = l;
	if (!f || !l)
		return VM_ENOMEM;
	g->pt_cap = cap;
	return 0;
}

static int pt_alloc(void *arg, uint64_t *pa)
{
	struct kvmh_guest *g = arg;
	if (!g->npt_free && g->pt_next + 4096 > KVMH_PT_GPA + KVMH_PT_SIZE && g->npt_limbo) {
		/* Make KVM forget the shadow pages of the freed tables first. */
		struct vmerr e;
		if (kvmh_vm_reload_slot(&g->vm, g->pt_slot, &e) < 0)
			return VM_EIO;
		g->n.pt_reloads++;
		memcpy(g->pt_free, g->pt_limbo, g->npt_limbo * sizeof *g->pt_limbo);
		g->npt_free = g->npt_limbo;
		g->npt_limbo = 0;
	}
	if (g->npt_free) {
		*pa = g->pt_free[--g->npt_free];
		memset(pt_entry(g, *pa), 0, 4096);
		return 0;
	}
	if (g->pt_next + 4096 > KVMH_PT_GPA + KVMH_PT_SIZE)
		return VM_ELIMIT;
	*pa = g->pt_next;
	g->pt_next += 4096; /* slot memory is fresh anonymous memory: zero */
	return 0;
}

/* Put table and every table below it in limbo. */
static int pt_free_tree(struct kvmh_guest *g, gpa_t table, unsigned level);

static const struct pt_format *const fmt = &pt_x86_4;

static struct pt_mem_ops ops(struct kvmh_guest *g)
{
	return (struct pt_mem_ops){pt_read, pt_write, pt_alloc, g};
}

static int pt_free_tree(struct kvmh_guest *g, gpa_t table, unsigned level)
{
	if (level > 0)
		for (unsigned i = 0; i < PT_ENTRIES; i++) {
			uint64_t e = pt_read(g, table + i * PT_ENTRY_SIZE);
			if (pt_is_present(fmt, e) && !pt_is_leaf(fmt, e, level)) {
				int rc = pt_free_tree(g, pt_next_table(fmt, e), level - 1);
				if (rc < 0)
					return rc;
			}
		}
	if (g->npt_limbo + g->npt_free >= g->pt_cap && pt_grow(g) < 0)
		return VM_ENOMEM;
	g->pt_limbo[g->npt_limbo++] = table;
	return 0;
}

static unsigned perms_of(unsigned prot, bool ad)
{
	unsigned p = PTE_PERM_U;
	if (prot & VM_PROT_W)
		p |= PTE_PERM_W;
	if (prot & VM_PROT_X)
		p |= PTE_PERM_X;
	if (ad)
		p |= PTE_PERM_A | PTE_PERM_D;
	return p;
}

static int map_range(struct kvmh_guest *g, gpa_t root, gva_t va, gpa_t pa, uint64_t len,
		     enum page_size ps, unsigned perms)
{
	struct pt_mem_ops m = ops(g);
	for (uint64_t off = 0; off < len; off += ps_bytes(ps)) {
		int rc = pt_map(fmt, &m, root, va + off, pa + off, ps, perms);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The mappings every address space has: GDT/TSS (supervisor), the shared
 * page, the payload and the doorbell. */
static int new_root(struct kvmh_guest *g, gpa_t *root)
{
	const unsigned ad = PTE_PERM_A | PTE_PERM_D;
	int rc = pt_alloc(g, root);
	if (rc == 0)
		rc = map_range(g, *root, KVMH_GDT_GPA, KVMH_GDT_GPA, 0x2000, PS_4K, PTE_PERM_W | ad);
	if (rc == 0)
		rc = map_range(g, *root, KVMH_SHARED_VA, KVMH_SHARED_GPA, 4096, PS_4K,
			       PTE_PERM_U | PTE_PERM_W | ad);
	if (rc == 0)
		rc = map_range(g, *root, KVMH_PAYLOAD_VA, KVMH_PAYLOAD_GPA, KVMH_PAYLOAD_SIZE, PS_2M,
			       PTE_PERM_U | PTE_PERM_W | PTE_PERM_X | ad);
	if (rc == 0)
		rc = map_range(g, *root, KVMH_DOORBELL_VA, KVMH_DOORBELL_GPA, 0x2000, PS_4K,
			       PTE_PERM_U | PTE_PERM_W | ad);
	if (rc == 0 && (g->o.pt_view || g->o.guest_ptw))
		rc = map_range(g, *root, KVMH_PTVIEW_VA, KVMH_PT_GPA, KVMH_PT_SIZE, PS_2M,
			       PTE_PERM_U | PTE_PERM_W | ad);
	if (rc == 0 && g->o.guest_ptw)
		rc = map_range(g, *root, KVMH_ECHO_VA, KVMH_ECHO_GPA, KVMH_ECHO_SIZE, PS_2M,
			       PTE_PERM_U | PTE_PERM_W | ad);
	return rc;
}

static struct kvmh_proc *proc_of(struct kvmh_guest *g, uint32_t pid)
{
	for (unsigned i = 0; i < g->nprocs; i++)
		if (g->procs[i].live && g->procs[i].pid == pid)
			return &g->procs[i];
	return NULL;
}

/* A new process entry (a free one if any), or NULL without memory. */
static struct kvmh_proc *proc_new(struct kvmh_guest *g, uint32_t pid)
{
	unsigned i = 0;
	while (i < g->nprocs && g->procs[i].live)
		i++;
	if (i == g->nprocs) {
		if (g->nprocs == g->cap_procs) {
			unsigned cap = g->cap_procs ? 2 * g->cap_procs : 16;
			struct kvmh_proc *n = realloc(g->procs, cap * sizeof *n);
			if (!n)
				return NULL;
			g->procs = n;
			g->cap_procs = cap;
		}
		g->nprocs++;
	}
	g->procs[i] = (struct kvmh_proc){.pid = pid, .live = true};
	return &g->procs[i];
}

int kvmh_guest_init(struct kvmh_guest *g, const struct kvmh_guest_opts *o, struct vmerr *err)
{
	struct kvmh_slot *s;
	int rc;
	memset(g, 0, sizeof *g);
	g->o = *o;
	rc = kvmh_vm_open(&g->vm, err);
	if (rc < 0)
		return rc;
	if ((rc = kvmh_vm_add_slot(&g->vm, "sys", KVMH_SYS_GPA, KVMH_SYS_SIZE, 0, -1, NULL, err)) < 0 ||
	    (rc = kvmh_vm_add_slot(&g->vm, "pt", KVMH_PT_GPA, KVMH_PT_SIZE, 0, 0, &g->pt_slot,
				   err)) < 0 ||
	    (rc = kvmh_vm_add_slot(&g->vm, "shared", KVMH_SHARED_GPA, 4096, 0, -1, &s, err)) < 0)
		goto err_vm;
	g->sh = s->hva;
	if ((rc = kvmh_vm_add_slot(&g->vm, "payload", KVMH_PAYLOAD_GPA, KVMH_PAYLOAD_SIZE, 0, 0, &s,
				   err)) < 0)
		goto err_vm;
	size_t img = (size_t)(kvmh_payload_end - kvmh_payload_start);
	if (img > KVMH_PAYLOAD_SIZE - 0x10000) {
		rc = vmerr_set(err, VM_ELIMIT, "guest payload is %zu bytes; the slot holds %llu",
			       img, KVMH_PAYLOAD_SIZE - 0x10000);
		goto err_vm;
	}
	memcpy(s->hva, kvmh_payload_start, img);
	if (o->guest_ptw) {
		if ((rc = kvmh_vm_add_slot(&g->vm, "echo", KVMH_ECHO_GPA, KVMH_ECHO_SIZE, 2u << 20, -1,
					   &s, err)) < 0)
			goto err_vm;
		g->echo = s->hva;
	}

	g->pt_next = KVMH_PT_GPA;
	g->data_next = KVMH_DATA_GPA;
	struct kvmh_proc *p = proc_new(g, 1);
	if (!p || pt_grow(g) < 0) {
		rc = vmerr_set(err, VM_ENOMEM, "out of memory");
		goto err_vm;
	}
	if ((rc = new_root(g, &p->root)) < 0) {
		vmerr_set(err, rc, "building the guest's base page tables failed (%d)", rc);
		goto err_vm;
	}
	g->cur = 0;
	g->cr3 = p->root;
	g->sh->magic = KVMH_MAGIC;
	return 0;

err_vm:
	kvmh_guest_fini(g);
	return rc;
}

void kvmh_guest_fini(struct kvmh_guest *g)
{
	kvmh_vm_close(&g->vm);
	free(g->procs);
	free(g->regions);
	free(g->pt_free);
	free(g->pt_limbo);
	g->procs = NULL;
	g->regions = NULL;
	g->pt_free = g->pt_limbo = NULL;
	g->nprocs = g->nregions = g->cap_procs = g->cap_regions = 0;
	g->npt_free = g->npt_limbo = g->pt_cap = 0;
}

/* --- regions ------------------------------------------------------------- */

static uint32_t cur_pid(const struct kvmh_guest *g) { return g->procs[g->cur].pid; }

static struct kvmh_region *region_of(struct kvmh_guest *g, uint32_t pid, gva_t va)
{
	for (unsigned i = 0; i < g->nregions; i++) {
		struct kvmh_region *r = &g->regions[i];
		if (r->pid == pid && va >= r->va && va - r->va < r->len)
			return r;
	}
	return NULL;
}

static int region_add(struct kvmh_guest *g, const struct kvmh_region *r)
{
	if (g->nregions == g->cap_regions) {
		unsigned cap = g->cap_regions ? 2 * g->cap_regions : 64;
		struct kvmh_region *n = realloc(g->regions, cap * sizeof *n);
		if (!n)
			return VM_ENOMEM;
		g->regions = n;
		g->cap_regions = cap;
	}
	g->regions[g->nregions++] = *r;
	return 0;
}

static void region_del(struct kvmh_guest *g, unsigned i)
{
	memmove(&g->regions[i], &g->regions[i + 1], (g->nregions - i - 1) * sizeof g->regions[0]);
	g->nregions--;
}

/* Split pid's region that straddles va into two at va. */
static int region_split(struct kvmh_guest *g, uint32_t pid, gva_t va)
{
	struct kvmh_region *r = region_of(g, pid, va);
	if (!r || r->va == va)
		return 0;
	struct kvmh_region tail = *r;
	uint64_t head = va - r->va;
	tail.va = va;
	tail.len = r->len - head;
	tail.off = r->off + head;
	r->len = head;
	return region_add(g, &tail); /* may move r: not used after */
}

/* Does a region of a process other than pid use [off, off+len) of slot? */
static bool slot_range_shared(struct kvmh_guest *g, uint32_t pid, const struct kvmh_slot *slot,
			      uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < g->nregions; i++) {
		const struct kvmh_region *r = &g->regions[i];
		if (r->pid != pid && r->slot == slot && r->off < off + len && off < r->off + r->len)
			return true;
	}
	return false;
}

static bool slot_used(struct kvmh_guest *g, const struct kvmh_slot *slot)
{
	for (unsigned i = 0; i < g->nregions; i++)
		if (g->regions[i].slot == slot)
			return true;
	return false;
}

/* After regions into slot went away or changed: delete the slot if nothing
 * uses it, else reload it so that KVM drops its shadow entries into it. */
static int slot_settle(struct kvmh_guest *g, struct kvmh_slot *slot, struct vmerr *err)
{
	if (!slot_used(g, slot)) {
		g->n.slot_deletes++;
		return kvmh_vm_del_slot(&g->vm, slot, err);
	}
	g->n.slot_reloads++;
	return kvmh_vm_reload_slot(&g->vm, slot, err);
}

/* --- the doorbell: the harness as the guest's kernel ---------------------- */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Host pages present before the guest touches them: KVM's shadow fault then
 * finds them without faulting the host, and can prefetch neighbouring
 * guest entries (it only prefetches host pages that are already there). */
static void prefault(void *hva, uint64_t len)
{
	if (madvise(hva, len, MADV_POPULATE_WRITE) == 0)
		return;
	for (uint64_t off = 0; off < len; off += 4096)
		((volatile char *)hva)[off] = 0;
}

static int do_map(struct kvmh_guest *g, gva_t va, uint64_t len, unsigned prot, struct vmerr *err)
{
	enum page_size ps = g->o.page;
	if (va & (ps_bytes(ps) - 1))
		ps = PS_4K;
	uint64_t gran = ps_bytes(ps);
	va &= ~4095ull;
	len = (len + gran - 1) & ~(gran - 1);
	uint32_t pid = cur_pid(g);
	for (unsigned i = 0; i < g->nregions; i++) {
		const struct kvmh_region *r = &g->regions[i];
		if (r->pid == pid && r->va < va + len && va < r->va + r->len)
			return vmerr_set(err, VM_EINPUT, "guest wl_map of [0x%llx, +0x%llx) in pid %u "
					 "overlaps its mapping at 0x%llx: unmap it first",
					 (unsigned long long)va, (unsigned long long)len, pid,
					 (unsigned long long)r->va);
	}
	uint64_t slot_len = (len + (2u << 20) - 1) & ~((2ull << 20) - 1);
	struct kvmh_slot *s;
	int rc = kvmh_vm_add_slot(&g->vm, "data", g->data_next, slot_len, 2u << 20, g->o.thp, &s,
				  err);
	if (rc < 0)
		return rc;
	g->data_next += slot_len;
	if (g->o.prefault)
		prefault(s->hva, slot_len);
	struct kvmh_region r = {pid, va, len, perms_of(prot, g->o.ad), ps, s, 0};
	rc = g->o.demand ? 0 : map_range(g, g->cr3, va, s->gpa, len, ps, r.perms);
	if (rc < 0) {
		kvmh_vm_del_slot(&g->vm, s, err);
		return vmerr_set(err, rc, "guest wl_map of [0x%llx, +0x%llx): page tables: %s",
				 (unsigned long long)va, (unsigned long long)len,
				 rc == VM_ELIMIT ? "the 16 MiB page-table slot is full"
						 : "overlaps a mapping of another page size");
	}
	if (region_add(g, &r) < 0)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	return 0;
}

int kvmh_guest_map(struct kvmh_guest *g, gva_t va, uint64_t len, unsigned prot,
		   struct vmerr *err)
{
	return do_map(g, va, len, prot, err);
}

gpa_t kvmh_guest_entry_gpa(struct kvmh_guest *g, gva_t va, unsigned level)
{
	gpa_t table = g->cr3;
	for (unsigned l = fmt->levels - 1;; l--) {
		gpa_t ea = table + pt_index(fmt, va, l) * PT_ENTRY_SIZE;
		if (l == level)
			return ea;
		uint64_t e = pt_read(g, ea);
		if (!pt_is_present(fmt, e) || pt_is_leaf(fmt, e, l))
			return 0;
		table = pt_next_table(fmt, e);
	}
}

/* Invalidate va after the echo (the SYNC doorbell): INVLPG each page up to
 * Linux's ceiling of 33, else reload CR3 (arch/x86/mm/tlb.c). */
static void want_invlpg(struct kvmh_guest *g, gva_t va)
{
	if (g->ninval < VM_ARRAY_SIZE(g->inval))
		g->inval[g->ninval++] = va;
	else
		g->inval_all = true;
}

/* Rewrite (protect) or clear (unmap) the running process's leaves in
 * [va, va+len) and update its regions.  With the echo, the guest repeats
 * the writes and rings SYNC, where the harness invalidates and deletes the
 * slots no region uses any more; without it, the data slots behind the
 * range are deleted or reloaded now so that KVM drops its shadow entries. */
static int do_change(struct kvmh_guest *g, gva_t va, uint64_t len, bool unmap, unsigned prot,
		     struct vmerr *err)
{
	struct pt_mem_ops m = ops(g);
	uint32_t pid = cur_pid(g);
	va &= ~4095ull;
	len = (len + 4095) & ~4095ull;
	for (uint64_t off = 0; off < len;) {
		uint64_t pte, ea;
		int level = pt_lookup(fmt, &m, g->cr3, va + off, &pte, &ea);
		if (level < 0) {
			off += 4096;
			continue;
		}
		uint64_t sz = ps_bytes((enum page_size)level);
		if (unmap)
			pt_write(g, ea, 0);
		else
			pt_write(g, ea, pt_make_leaf(fmt, pt_leaf_pa(fmt, pte, (unsigned)level, va + off),
						     (unsigned)level, perms_of(prot, g->o.ad)));
		want_invlpg(g, (va + off) & ~(sz - 1));
		off = ((va + off) & ~(sz - 1)) + sz - va;
	}
	if (region_split(g, pid, va) < 0 || region_split(g, pid, va + len) < 0)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	bool echo = g->echo_on && !g->echo_full;
	struct kvmh_slot *touched[16];
	unsigned nt = 0;
	for (unsigned i = 0; i < g->nregions;) {
		struct kvmh_region *r = &g->regions[i];
		if (r->pid != pid || r->va < va || r->va + r->len > va + len) {
			i++;
			continue;
		}
		unsigned k = 0;
		while (k < nt && touched[k] != r->slot)
			k++;
		if (k == nt) {
			if (nt == VM_ARRAY_SIZE(touched)) {
				int rc = kvmh_vm_reload_slot(&g->vm, r->slot, err);
				if (rc < 0)
					return rc;
			} else {
				touched[nt++] = r->slot;
			}
		}
		if (!unmap) {
			r->perms = perms_of(prot, g->o.ad);
			i++;
			continue;
		}
		if (!slot_range_shared(g, pid, r->slot, r->off, r->len))
			madvise((char *)r->slot->hva + r->off, r->len, MADV_DONTNEED);
		region_del(g, i);
	}
	for (unsigned i = 0; i < nt; i++) {
		if (echo) {
			/* Deleting now would zap the tables' shadows before the
			 * guest's writes reach them. */
			if (!slot_used(g, touched[i]) && g->ndead < VM_ARRAY_SIZE(g->dead))
				g->dead[g->ndead++] = touched[i];
			continue;
		}
		int rc = slot_settle(g, touched[i], err);
		if (rc < 0)
			return rc;
	}
	if (!echo) {
		g->ninval = 0;
		g->inval_all = false;
	}
	return 0;
}

/* The SYNC doorbell: the guest has repeated the writes; invalidate as the
 * kernel would, then delete the slots nothing uses any more. */
static int detour_invlpg(struct kvmh_guest *g, gva_t va, struct vmerr *err)
{
	struct kvmh_vm_saved sv;
	/* Timed apart: a detour is emulated CPL0 code here, far dearer than
	 * the guest's own INVLPG exit would be, so it is not guest time. */
	uint64_t t0 = __rdtsc();
	int rc = kvmh_vm_enter_cpl0(&g->vm, g->sh->invlpg_rip, va, &sv, err);
	if (rc < 0)
		return rc;
	for (;;) {
		rc = kvmh_vm_run(&g->vm);
		if (rc == -EINTR && !kvmh_timed_out)
			continue;
		if (rc < 0)
			return vmerr_set(err, KVMH_EGUEST, "INVLPG detour: KVM_RUN: %s", strerror(-rc));
		struct kvm_run *r = g->vm.run;
		uint64_t op = 0;
		if (r->exit_reason == KVM_EXIT_MMIO && r->mmio.is_write &&
		    (r->mmio.phys_addr & ~4095ull) == KVMH_DOORBELL_GPA)
			memcpy(&op, r->mmio.data, r->mmio.len < 8 ? r->mmio.len : 8);
		if (op != KVMH_OP_DETOUR)
			return vmerr_set(err, KVMH_EGUEST, "INVLPG detour at CPL0 ended in exit %u (%s), "
					 "not the DETOUR doorbell", r->exit_reason,
					 kvmh_exit_name(r->exit_reason));
		break;
	}
	g->n.invlpgs++;
	rc = kvmh_vm_restore(&g->vm, &sv, err);
	g->n.invlpg_cycles += __rdtsc() - t0;
	return rc;
}

static int do_sync(struct kvmh_guest *g, struct vmerr *err)
{
	int rc = 0;
	if (g->inval_all) {
		gpa_t other = KVMH_PT_GPA + KVMH_PT_SIZE - 4096;
		rc = kvmh_vm_reload_cr3(&g->vm, g->cr3 == other ? other - 4096 : other, err);
		g->n.cr3_reloads++;
	} else {
		for (unsigned i = 0; i < g->ninval && rc == 0; i++)
			rc = detour_invlpg(g, g->inval[i], err);
	}
	g->ninval = 0;
	g->inval_all = false;
	for (unsigned i = 0; i < g->ndead && rc == 0; i++)
		if (!slot_used(g, g->dead[i])) {
			g->n.slot_deletes++;
			rc = kvmh_vm_del_slot(&g->vm, g->dead[i], err);
		}
	g->ndead = 0;
	return rc;
}

struct copy_ctx {
	struct kvmh_guest *g;
	gpa_t root;
	int rc;
};

static void copy_leaf(void *arg, uint64_t va, unsigned level, uint64_t pte, uint64_t ea)
{
	(void)ea;
	struct copy_ctx *c = arg;
	struct pt_mem_ops m = ops(c->g);
	if (c->rc == 0)
		c->rc = pt_map(fmt, &m, c->root, va, pt_leaf_pa(fmt, pte, level, va),
			       (enum page_size)level, pt_perms(fmt, pte));
}

static int do_fork(struct kvmh_guest *g, uint32_t parent, uint32_t child, struct vmerr *err)
{
	struct kvmh_proc *pp = proc_of(g, parent);
	if (!pp || proc_of(g, child))
		return vmerr_set(err, VM_EINPUT, "guest fork %u -> %u: %s", parent, child,
				 !pp ? "no such parent" : "child pid exists");
	gpa_t proot = pp->root;
	struct copy_ctx c = {g, 0, pt_alloc(g, &c.root)};
	struct pt_mem_ops m = ops(g);
	if (c.rc == 0)
		pt_for_each_leaf(fmt, &m, proot, copy_leaf, &c);
	if (c.rc < 0)
		return vmerr_set(err, c.rc, "guest fork %u -> %u: the page-table slot is full", parent,
				 child);
	for (unsigned i = 0, n = g->nregions; i < n; i++)
		if (g->regions[i].pid == parent) {
			struct kvmh_region r = g->regions[i];
			r.pid = child;
			if (region_add(g, &r) < 0)
				return vmerr_set(err, VM_ENOMEM, "out of memory");
		}
	struct kvmh_proc *cp = proc_new(g, child); /* may move pp */
	if (!cp)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	cp->root = c.root;
	return 0;
}

static int proc_free(struct kvmh_guest *g, struct kvmh_proc *p, struct vmerr *err)
{
	int rc = pt_free_tree(g, p->root, fmt->levels - 1);
	p->live = false;
	return rc < 0 ? vmerr_set(err, rc, "out of memory") : 0;
}

static int do_switch(struct kvmh_guest *g, uint32_t pid, struct vmerr *err)
{
	struct kvmh_proc *prev = &g->procs[g->cur];
	struct kvmh_proc *p = proc_of(g, pid);
	if (p && p->exited)
		return vmerr_set(err, VM_EINPUT, "guest switch to pid %u, which has exited", pid);
	if (!p) {
		gpa_t root;
		int rc = new_root(g, &root);
		if (rc < 0)
			return vmerr_set(err, rc, "guest switch to pid %u: page-table slot full", pid);
		if (!(p = proc_new(g, pid)))
			return vmerr_set(err, VM_ENOMEM, "out of memory");
		p->root = root;
		prev = &g->procs[g->cur]; /* proc_new may have moved it */
	}
	if (p != prev)
		g->n.cr3_switches++;
	g->cur = (unsigned)(p - g->procs);
	g->cr3 = p->root;
	if (prev != p && prev->exited) {
		int rc = proc_free(g, prev, err);
		if (rc < 0)
			return rc;
	}
	return kvmh_vm_set_cr3(&g->vm, g->cr3, err);
}

/* Drop every mapping of pid; free its tables now, or at the next switch if
 * it is the one running (its CR3 is still loaded until then). */
static int do_exit(struct kvmh_guest *g, uint32_t pid, struct vmerr *err)
{
	struct kvmh_proc *p = proc_of(g, pid);
	if (!p || p->exited)
		return vmerr_set(err, VM_EINPUT, "guest exit of pid %u: no such process", pid);
	struct kvmh_slot *slots[64];
	unsigned ns = 0;
	for (unsigned i = 0; i < g->nregions;) {
		struct kvmh_region *r = &g->regions[i];
		if (r->pid != pid) {
			i++;
			continue;
		}
		if (!slot_range_shared(g, pid, r->slot, r->off, r->len))
			madvise((char *)r->slot->hva + r->off, r->len, MADV_DONTNEED);
		unsigned k = 0;
		while (k < ns && slots[k] != r->slot)
			k++;
		if (k == ns && ns < VM_ARRAY_SIZE(slots))
			slots[ns++] = r->slot;
		region_del(g, i);
	}
	/* Slots still used by others keep their (shared) entries: no reload. */
	for (unsigned k = 0; k < ns; k++)
		if (!slot_used(g, slots[k])) {
			g->n.slot_deletes++;
			int rc = kvmh_vm_del_slot(&g->vm, slots[k], err);
			if (rc < 0)
				return rc;
		}
	if (p == &g->procs[g->cur]) {
		p->exited = true;
		return 0;
	}
	return proc_free(g, p, err);
}

/* Time spent in a doorbell that stands for a VM exit is the workload's. */
static bool exit_like(uint64_t op)
{
	return op == KVMH_OP_CR8 || op == KVMH_OP_IO_IN || op == KVMH_OP_EXCEPTION;
}

/* The operations that write the guest's page tables. */
static int kernel_op(struct kvmh_guest *g, uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2,
		     struct vmerr *err)
{
	switch (op) {
	case KVMH_OP_MAP:
		return do_map(g, a0, a1, (unsigned)a2, err);
	case KVMH_OP_UNMAP:
		return do_change(g, a0, a1, true, 0, err);
	case KVMH_OP_PROTECT:
		return do_change(g, a0, a1, false, (unsigned)a2, err);
	case KVMH_OP_SWITCH:
		return do_switch(g, (uint32_t)a0, err);
	default:
		return do_fork(g, (uint32_t)a0, (uint32_t)a1, err);
	}
}

/* 1 when the command is done, 0 to continue, negative on error. */
static int doorbell(struct kvmh_guest *g, uint64_t op, struct vmerr *err)
{
	struct kvmh_shared *sh = g->sh;
	uint64_t a0 = sh->arg[0], a1 = sh->arg[1], a2 = sh->arg[2];
	if (g->prev_ring)
		g->guest_cycles += sh->tsc_resumed - g->prev_ring;
	g->guest_cycles += sh->tsc_ring - sh->tsc_resumed;
	g->prev_ring = exit_like(op) ? sh->tsc_ring : 0;
	g->n.doorbells++;
	if (op < KVMH_OP_COUNT)
		g->n.op[op]++;
	sh->ret = 0;
	if (op >= KVMH_OP_MAP && op <= KVMH_OP_FORK) {
		g->echo_on = g->o.guest_ptw;
		g->echo_full = false;
		int rc = kernel_op(g, op, a0, a1, a2, err);
		g->echo_on = false;
		if (g->echo_full) {
			sh->echo_n = 0; /* the slots were reloaded instead */
			g->ninval = 0;
			g->inval_all = false;
		}
		if (g->ninval || g->inval_all || g->ndead)
			sh->echo_sync = 1;
		return rc;
	}
	switch (op) {
	case KVMH_OP_SYNC:
		return do_sync(g, err);
	case KVMH_OP_EXIT:
		return do_exit(g, (uint32_t)a0, err);
	case KVMH_OP_SYSCALL:
	case KVMH_OP_IO_IN:
	case KVMH_OP_CR8:
	case KVMH_OP_EXCEPTION:
		return 0; /* io_in reads 0, as in the host-process run */
	case KVMH_OP_START:
		if (g->mark)
			g->mark(g->mark_arg, g, KVMH_MARK_START, 0);
		return 0;
	case KVMH_OP_PHASE:
		if (a0 != ~0ull && g->mark)
			g->mark(g->mark_arg, g, KVMH_MARK_PHASE, a0);
		return 0;
	case KVMH_OP_DONE:
		g->checksum = a0;
		if (g->mark)
			g->mark(g->mark_arg, g, KVMH_MARK_DONE, 0);
		return 1;
	default:
		return vmerr_set(err, KVMH_EGUEST, "guest rang the doorbell with unknown op %llu",
				 (unsigned long long)op);
	}
}

/* A shutdown the harness serves as the guest's kernel: a not-present fault
 * inside a region mapped on demand (map the page), or the divide error of
 * wlrt_exception(0) (skip the instruction).  1 if served, 0 if not ours. */
static int serve_shutdown(struct kvmh_guest *g, struct vmerr *err)
{
	struct kvm_regs regs;
	struct kvm_sregs sr;
	if (ioctl(g->vm.vcpu_fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(g->vm.vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return 0;
	if (g->sh->de_len && regs.rip == g->sh->de_rip) {
		regs.rip += g->sh->de_len;
		g->n.exceptions++;
	} else {
		struct kvmh_region *r = g->o.demand ? region_of(g, cur_pid(g), sr.cr2) : NULL;
		struct pt_mem_ops m = ops(g);
		uint64_t pte, ea;
		if (!r || pt_lookup(fmt, &m, g->cr3, sr.cr2, &pte, &ea) >= 0)
			return 0;
		uint64_t sz = ps_bytes(r->ps);
		gva_t va = sr.cr2 & ~(sz - 1);
		g->echo_on = g->o.guest_ptw;
		g->echo_full = false;
		int rc = pt_map(fmt, &m, g->cr3, va, r->slot->gpa + r->off + (va - r->va), r->ps,
				r->perms);
		g->echo_on = false;
		if (rc < 0)
			return vmerr_set(err, rc, "demand fault at 0x%llx: page-table slot full",
					 (unsigned long long)sr.cr2);
		if (g->echo_full)
			g->sh->echo_n = 0;
		if (g->sh->echo_n) {
			/* Resume in the trampoline: it makes the writes, then
			 * retries the faulting instruction. */
			g->sh->resume_rip = regs.rip;
			regs.rip = g->sh->tramp_rip;
		}
		g->n.demand_faults++;
	}
	if (ioctl(g->vm.vcpu_fd, KVM_SET_SREGS, &sr) < 0 || ioctl(g->vm.vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return vmerr_set(err, -errno, "resuming after a shutdown: restoring the registers: %s",
				 strerror(errno));
	return 1;
}

/* CR2 survives the shutdown on the hosts here: name the likely cause. */
static const char *shutdown_hint(struct kvmh_guest *g, char *buf, size_t len)
{
	struct kvm_sregs sr;
	if (ioctl(g->vm.vcpu_fd, KVM_GET_SREGS, &sr) < 0 || !sr.cr2)
		return "";
	struct pt_mem_ops m = ops(g);
	uint64_t pte, ea;
	int level = pt_lookup(fmt, &m, g->cr3, sr.cr2, &pte, &ea);
	snprintf(buf, len, "; CR2 0x%llx is %s", (unsigned long long)sr.cr2,
		 level < 0 ? "not mapped in the guest: a page fault on an address no wl_map covers"
			   : "mapped: a protection fault (write to read-only, or user bit)?");
	return buf;
}

static void report(struct kvmh_guest *g, const char *what)
{
	fprintf(stderr, "vmsim-kvm: guest stopped: %s\n", what);
	kvmh_vm_dump_regs(&g->vm, stderr, "vmsim-kvm:   ");
}

int kvmh_guest_run(struct kvmh_guest *g, enum kvmh_cmd cmd, const uint64_t arg[3],
		   const char *name, const uint64_t *p, unsigned np, unsigned timeout_s,
		   struct vmerr *err)
{
	struct kvmh_shared *sh = g->sh;
	char what[200];
	int rc;

	sh->cmd = cmd;
	for (unsigned i = 0; i < 3; i++)
		sh->cmd_arg[i] = arg ? arg[i] : 0;
	if (name) {
		snprintf(sh->wl_name, sizeof sh->wl_name, "%s", name);
		sh->nparams = np;
		for (unsigned i = 0; i < np && i < KVMH_MAX_PARAMS; i++)
			sh->p[i] = p[i];
	}
	sh->tsc_resumed = sh->tsc_ring = 0;
	g->prev_ring = 0;
	rc = kvmh_vm_set_long_mode_user(&g->vm, KVMH_GDT_GPA, KVMH_TSS_GPA, g->cr3, KVMH_PAYLOAD_VA,
					KVMH_STACK_TOP, err);
	if (rc < 0)
		return rc;

	struct sigaction sa = {.sa_handler = on_alarm}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old); /* no SA_RESTART: KVM_RUN returns -EINTR */
	kvmh_timed_out = 0;
	running = g->vm.run;
	g->vm.run->immediate_exit = 0;
	alarm(timeout_s);

	for (;;) {
		rc = kvmh_vm_run(&g->vm);
		struct kvm_run *r = g->vm.run;
		if (rc == -EINTR || rc == -EAGAIN) {
			if (!kvmh_timed_out)
				continue;
			snprintf(what, sizeof what, "did not finish within %u s (timeout)", timeout_s);
			report(g, what);
			rc = vmerr_set(err, KVMH_EGUEST, "guest timed out after %u s; raise --timeout "
					    "if the workload is just long", timeout_s);
			break;
		}
		if (rc < 0) {
			rc = vmerr_set(err, rc, "KVM_RUN: %s", strerror(-rc));
			break;
		}
		switch (r->exit_reason) {
		case KVM_EXIT_MMIO:
			if (r->mmio.is_write && (r->mmio.phys_addr & ~4095ull) == KVMH_DOORBELL_GPA) {
				uint64_t op = 0;
				memcpy(&op, r->mmio.data, r->mmio.len < 8 ? r->mmio.len : 8);
				rc = doorbell(g, op, err);
				if (rc < 0) {
					report(g, err->msg);
					break;
				}
				if (rc == 1) {
					rc = 0;
					goto out;
				}
				continue;
			}
			snprintf(what, sizeof what, "MMIO %s of %u bytes at gpa 0x%llx (not the doorbell: "
				 "a stray pointer in the payload?)", r->mmio.is_write ? "write" : "read",
				 r->mmio.len, (unsigned long long)r->mmio.phys_addr);
			report(g, what);
			rc = vmerr_set(err, KVMH_EGUEST, "guest: %s", what);
			break;
		case KVM_EXIT_SHUTDOWN:
			rc = serve_shutdown(g, err);
			if (rc == 1)
				continue;
			if (rc < 0) {
				report(g, err->msg);
				break;
			}
			report(g, "KVM_EXIT_SHUTDOWN: an exception the CPL3 guest cannot handle (page "
				  "fault, #GP, #UD, hlt/out/int3 at CPL3) or a triple fault");
			rc = vmerr_set(err, KVMH_EGUEST, "guest shut down (registers above)%s",
				       shutdown_hint(g, what, sizeof what));
			break;
		case KVM_EXIT_FAIL_ENTRY:
			snprintf(what, sizeof what, "KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx",
				 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
			report(g, what);
			rc = vmerr_set(err, KVMH_EGUEST, "guest entry failed: %s", what);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			snprintf(what, sizeof what, "KVM_EXIT_INTERNAL_ERROR, suberror %u",
				 r->internal.suberror);
			report(g, what);
			rc = vmerr_set(err, KVMH_EGUEST, "KVM internal error: %s", what);
			break;
		default:
			snprintf(what, sizeof what, "unexpected exit %u (%s)", r->exit_reason,
				 kvmh_exit_name(r->exit_reason));
			report(g, what);
			rc = vmerr_set(err, KVMH_EGUEST, "guest: %s", what);
			break;
		}
		break;
	}
out:
	alarm(0);
	running = NULL;
	sigaction(SIGALRM, &old, NULL);
	return rc;
}

uint64_t kvmh_guest_balloon(struct kvmh_guest *g, uint64_t bytes, struct kvmh_region *ranges,
			    unsigned max, unsigned *nranges)
{
	uint64_t done = 0;
	uint32_t pid = cur_pid(g);
	*nranges = 0;
	for (unsigned i = 0; i < g->nregions && done < bytes; i++) {
		struct kvmh_region *r = &g->regions[i];
		if (r->pid != pid)
			continue;
		uint64_t n = r->len < bytes - done ? r->len : bytes - done;
		if (madvise((char *)r->slot->hva + r->off, n, MADV_DONTNEED) < 0)
			continue;
		if (*nranges < max) {
			ranges[*nranges] = *r;
			ranges[(*nranges)++].len = n;
		}
		done += n;
	}
	return done;
}
