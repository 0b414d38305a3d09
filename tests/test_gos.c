/*
 * test_gos.c - the guest-OS model writes the entries a real x86-64 kernel
 * would, and tells the MMU about every write, INVLPG and flush.
 *
 * Each test builds a model over its own physmem with hooks that record every
 * call, then reads the entries back from guest-physical memory and compares
 * them with values written out by hand from the SDM bit positions:
 *
 *   P=0x1 RW=0x2 US=0x4 A=0x20 D=0x40 PS=0x80 COW(avail)=0x200 NX=1<<63
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sim/event.h"
#include "sim/gos.h"

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define COW 0x200ull
#define NX (1ull << 63)
#define ADDR 0x000ffffffffff000ull
#define FLAGS (~ADDR) /* every bit that is not the address */

#define KiB(n) ((uint64_t)(n) << 10)
#define MiB(n) ((uint64_t)(n) << 20)
#define GiB(n) ((uint64_t)(n) << 30)

#define REG 0x0000100000000000ull /* 16 TiB: PML4 index 0x20, 1 GiB aligned */
#define RW_PROT (VM_PROT_R | VM_PROT_W)


#define MAXREC 4096

static struct env {
	struct cfg cfg;
	struct physmem *pm;
	struct stats st;
	struct gos *g;
	struct pt_mem_ops raw;
	/* what the hooks saw */
	unsigned writes, invlpgs, flushes, freed;
	struct {
		gpa_t ea;
		uint64_t old, val;
	} w[MAXREC];
	gva_t inv_va[MAXREC];
	const struct gos_proc *inv_p[MAXREC];
	const struct gos_proc *flush_p[64];
} E;

static void h_write(void *arg, gpa_t ea, uint64_t old, uint64_t val)
{
	if (E.writes < MAXREC)
		E.w[E.writes] = (typeof(E.w[0])){ea, old, val};
	E.writes++;
}

static void h_invlpg(void *arg, const struct gos_proc *p, gva_t va)
{
	if (E.invlpgs < MAXREC) {
		E.inv_va[E.invlpgs] = va;
		E.inv_p[E.invlpgs] = p;
	}
	E.invlpgs++;
}

static void h_flush(void *arg, const struct gos_proc *p)
{
	if (E.flushes < 64)
		E.flush_p[E.flushes] = p;
	E.flushes++;
}

static void h_freed(void *arg, gpa_t table)
{
	cr_assert_not_null(physmem_table(E.pm, table), "table_freed(0x%llx) after it was freed",
			   (unsigned long long)table);
	for (unsigned i = 0; i < 512; i++)
		cr_assert_eq(physmem_read(E.pm, table + i * 8), 0,
			     "table 0x%llx freed with entry %u = 0x%llx", (unsigned long long)table, i,
			     (unsigned long long)physmem_read(E.pm, table + i * 8));
	E.freed++;
}

static void setup(enum page_size max_page)
{
	memset(&E, 0, sizeof E);
	cfg_defaults(&E.cfg);
	E.cfg.guest_page = max_page;
	E.pm = physmem_new(0, GiB(64));
	cr_assert_not_null(E.pm);
	struct gos_hooks h = {h_write, h_invlpg, h_flush, h_freed, NULL};
	E.g = gos_new(&E.cfg, E.pm, &E.st, &h);
	cr_assert_not_null(E.g);
	physmem_pt_ops(E.pm, &E.raw);
}

static void teardown(void)
{
	gos_free(E.g);
	physmem_free(E.pm);
}

static void reset_seen(void) { E.writes = E.invlpgs = E.flushes = E.freed = 0; }

static struct gos_proc *proc(uint32_t pid)
{
	struct gos_proc *p;
	struct vmerr err = {{0}};
	cr_assert_eq(gos_get(E.g, pid, &p, &err), 0, "%s", err.msg);
	return p;
}

static void map(struct gos_proc *p, gva_t va, uint64_t len, unsigned prot)
{
	struct vmerr err = {{0}};
	cr_assert_eq(gos_map(E.g, p, va, len, prot, &err), 0, "map 0x%llx: %s",
		     (unsigned long long)va, err.msg);
}

static int fault(struct gos_proc *p, gva_t va, unsigned need)
{
	struct vmerr err = {{0}};
	int rc = gos_fault(E.g, p, va, need, &err);
	cr_assert_geq(rc, 0, "fault at 0x%llx: %d %s", (unsigned long long)va, rc, err.msg);
	return rc;
}

/* Entry at level in the walk of va; 0 if a table above is missing. */
static uint64_t entry(const struct gos_proc *p, gva_t va, unsigned level, uint64_t *ea_out)
{
	uint64_t table = p->cr3;
	for (unsigned l = gos_format(E.g)->levels - 1;; l--) {
		uint64_t ea = table + ((va >> (12 + 9 * l)) & 511) * 8;
		uint64_t e = physmem_read(E.pm, ea);
		if (l == level) {
			if (ea_out)
				*ea_out = ea;
			return e;
		}
		if (!(e & P) || (e & PS))
			return 0;
		table = e & ADDR;
	}
}

static uint64_t leaf(const struct gos_proc *p, gva_t va, unsigned *level)
{
	uint64_t pte, ea;
	int l = pt_lookup(gos_format(E.g), &E.raw, p->cr3, va, &pte, &ea);
	if (level)
		*level = (unsigned)l;
	return l < 0 ? 0 : pte;
}

static void usage(struct physmem_usage *u) { physmem_usage(E.pm, u); }

/* ---- demand paging ---- */

Test(gos, demand_write_fault_4k, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *p = proc(1);
	cr_assert_eq(p->cr3 & 0xfff, 0);
	cr_assert_not_null(physmem_table(E.pm, p->cr3));
	map(p, REG, 16 * KiB(4), RW_PROT);
	reset_seen();
	gva_t va = REG + 3 * KiB(4) + 0x10;
	cr_assert_eq(fault(p, va, PTE_PERM_U | PTE_PERM_W), GOS_FIXED);

	/* PML4E, PDPTE, PDE: present, writable, user, pointing at a new (zeroed
	 * but for one entry) table; A left for the hardware, NX clear. */
	uint64_t ea[4];
	for (unsigned l = 3; l >= 1; l--) {
		uint64_t e = entry(p, va, l, &ea[l]);
		cr_assert_eq(e & FLAGS, P | RW | US, "level %u entry 0x%llx: flags 0x%llx, want 0x7", l,
			     (unsigned long long)e, (unsigned long long)(e & FLAGS));
		cr_assert_not_null(physmem_table(E.pm, e & ADDR), "level %u points at a non-table", l);
	}
	cr_assert_eq(ea[3], p->cr3 + 0x20 * 8, "PML4 index of 16 TiB is 0x20");
	/* The PTE: P|RW|US|D with NX (the region is not executable), A clear. */
	uint64_t pte = entry(p, va, 0, &ea[0]);
	cr_assert_eq(ea[0], (entry(p, va, 1, NULL) & ADDR) + 3 * 8);
	cr_assert_eq(pte & FLAGS, NX | D | US | RW | P, "PTE 0x%llx: flags 0x%llx, want NX|D|US|RW|P",
		     (unsigned long long)pte, (unsigned long long)(pte & FLAGS));
	uint64_t frame = pte & ADDR;
	cr_assert_eq(frame & 0xfff, 0);
	cr_assert_neq(frame, 0);
	cr_assert_null(physmem_table(E.pm, frame), "the data frame is a table page");
	gpa_t gpa;
	cr_assert_eq(gos_translate(E.g, p, va, &gpa), 0);
	cr_assert_eq(gpa, frame + 0x10);

	/* Four kernel writes, in walk order, each from 0, and each reported. */
	cr_assert_eq(E.st.pt_writes, 4);
	cr_assert_eq(E.writes, 4);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(E.w[i].ea, ea[3 - i], "write %u at 0x%llx, want 0x%llx", i,
			     (unsigned long long)E.w[i].ea, (unsigned long long)ea[3 - i]);
		cr_assert_eq(E.w[i].old, 0);
		cr_assert_eq(E.w[i].val, physmem_read(E.pm, ea[3 - i]));
	}
	cr_assert_eq(E.invlpgs + E.flushes, 0, "nothing to invalidate on a not-present fault");
	cr_assert_eq(E.st.page_faults, 1);
	cr_assert_eq(E.st.faults_demand_4k, 1);
	cr_assert_eq(E.st.pt_pages, 4, "the root and three tables");
	struct physmem_usage u;
	usage(&u);
	cr_assert_eq(u.frames[PS_4K], 1);
	cr_assert_eq(u.table_pages, 4);

	/* The next page of the same PT costs one write and no table. */
	cr_assert_eq(fault(p, REG + 4 * KiB(4), PTE_PERM_U | PTE_PERM_W), GOS_FIXED);
	cr_assert_eq(E.st.pt_writes, 5);
	cr_assert_eq(E.st.pt_pages, 4);
}

Test(gos, demand_read_and_exec_faults, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *p = proc(1);
	map(p, REG, MiB(1), RW_PROT);
	map(p, REG + GiB(1), MiB(1), VM_PROT_R | VM_PROT_X);
	map(p, REG + GiB(2), MiB(1), VM_PROT_R);

	/* A read fault maps the page per the region, without D. */
	cr_assert_eq(fault(p, REG + 0x5008, PTE_PERM_U), GOS_FIXED);
	cr_assert_eq(leaf(p, REG + 0x5008, NULL) & FLAGS, NX | US | RW | P);
	/* Executable region: NX clear; not writable. */
	cr_assert_eq(fault(p, REG + GiB(1) + 0x2000, PTE_PERM_U | PTE_PERM_X), GOS_FIXED);
	cr_assert_eq(leaf(p, REG + GiB(1) + 0x2000, NULL) & FLAGS, US | P);
	/* Read-only region. */
	cr_assert_eq(fault(p, REG + GiB(2), PTE_PERM_U), GOS_FIXED);
	cr_assert_eq(leaf(p, REG + GiB(2), NULL) & FLAGS, NX | US | P);
	cr_assert_eq(E.st.page_faults, 3);
	cr_assert_eq(E.st.faults_demand_4k, 3);
	cr_assert_eq(E.st.faults_segv, 0);
}

Test(gos, demand_2m, .fini = teardown)
{
	setup(PS_2M);
	struct gos_proc *p = proc(1);
	map(p, REG, MiB(2), RW_PROT);
	reset_seen();
	cr_assert_eq(fault(p, REG + 0x1234, PTE_PERM_U | PTE_PERM_W), GOS_FIXED);
	unsigned level;
	uint64_t pde = leaf(p, REG + 0x1234, &level);
	cr_assert_eq(level, 1, "a 2 MiB leaf in the PD");
	cr_assert_eq(pde & FLAGS, NX | PS | D | US | RW | P, "PDE flags 0x%llx",
		     (unsigned long long)(pde & FLAGS));
	cr_assert_eq(pde & ADDR & (MiB(2) - 1), 0, "2 MiB frame 0x%llx not aligned",
		     (unsigned long long)(pde & ADDR));
	cr_assert_eq(E.writes, 3, "PML4E, PDPTE, PDE");
	cr_assert_eq(E.st.faults_demand_2m, 1);
	cr_assert_eq(E.st.faults_demand_4k, 0);
	struct physmem_usage u;
	usage(&u);
	cr_assert_eq(u.frames[PS_2M], 1);
	cr_assert_eq(u.frames[PS_4K], 0);
	gpa_t gpa;
	cr_assert_eq(gos_translate(E.g, p, REG + 0x1fffff, &gpa), 0);
	cr_assert_eq(gpa, (pde & ADDR) + 0x1fffff);

	/* A region too small for a 2 MiB page gets 4 KiB pages. */
	map(p, REG + GiB(1), MiB(1), RW_PROT);
	cr_assert_eq(fault(p, REG + GiB(1) + 0x3000, PTE_PERM_U), GOS_FIXED);
	leaf(p, REG + GiB(1) + 0x3000, &level);
	cr_assert_eq(level, 0);

	/* A region that starts 4 KiB past an aligned block: its first block is
	 * 4 KiB pages, the whole aligned block inside it is one 2 MiB page. */
	gva_t r = REG + GiB(2) + KiB(4);
	map(p, r, MiB(4), RW_PROT);
	cr_assert_eq(fault(p, r, PTE_PERM_U), GOS_FIXED);
	leaf(p, r, &level);
	cr_assert_eq(level, 0);
	cr_assert_eq(fault(p, REG + GiB(2) + MiB(2) + 5, PTE_PERM_U), GOS_FIXED);
	leaf(p, REG + GiB(2) + MiB(2), &level);
	cr_assert_eq(level, 1);
	cr_assert_eq(E.st.faults_demand_2m, 2);
	cr_assert_eq(E.st.faults_demand_4k, 2);
}

Test(gos, demand_1g, .fini = teardown)
{
	setup(PS_1G);
	struct gos_proc *p = proc(1);
	map(p, REG, GiB(1), RW_PROT);
	cr_assert_eq(fault(p, REG + 0x12345678, PTE_PERM_U), GOS_FIXED);
	unsigned level;
	uint64_t e = leaf(p, REG, &level);
	cr_assert_eq(level, 2);
	cr_assert_eq(e & FLAGS, NX | PS | US | RW | P);
	cr_assert_eq(e & ADDR & (GiB(1) - 1), 0);
	cr_assert_eq(E.st.faults_demand_1g, 1);
}

/* A process that never mapped anything treats the user half as rwx. */
Test(gos, implicit_process, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *p = proc(7);
	cr_assert(p->implicit);
	cr_assert_eq(fault(p, 0x400000, PTE_PERM_U | PTE_PERM_X), GOS_FIXED);
	cr_assert_eq(leaf(p, 0x400000, NULL) & FLAGS, US | RW | P);
	cr_assert_eq(fault(p, 0x00007ffffffff000ull, PTE_PERM_U | PTE_PERM_W), GOS_FIXED);
	cr_assert_eq(fault(p, 0x0000800000000000ull, PTE_PERM_U), GOS_SEGV, "kernel half");
	cr_assert_eq(E.st.faults_segv, 1);
	cr_assert_eq(E.st.page_faults, 2);
}

/* ---- refused faults ---- */

Test(gos, segv, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *p = proc(1);
	map(p, REG, MiB(1), RW_PROT);
	map(p, REG + GiB(1), MiB(1), VM_PROT_R);
	reset_seen();
	cr_assert_eq(fault(p, REG + MiB(1), PTE_PERM_U), GOS_SEGV, "just past the region");
	cr_assert_eq(fault(p, REG - 8, PTE_PERM_U), GOS_SEGV, "just before it");
	cr_assert_eq(fault(p, 0x1000, PTE_PERM_U | PTE_PERM_W), GOS_SEGV);
	cr_assert_eq(fault(p, REG + GiB(1), PTE_PERM_U | PTE_PERM_W), GOS_SEGV, "write, read-only");
	cr_assert_eq(fault(p, REG, PTE_PERM_U | PTE_PERM_X), GOS_SEGV, "fetch, no exec");
	cr_assert_eq(fault(p, 0xffff800000000000ull, PTE_PERM_U), GOS_SEGV, "kernel address");
	cr_assert_eq(E.st.faults_segv, 6);
	cr_assert_eq(E.st.page_faults, 0);
	cr_assert_eq(E.writes, 0, "a refused fault writes nothing");
	cr_assert_eq(E.st.pt_writes, 0);
	struct physmem_usage u;
	usage(&u);
	cr_assert_eq(u.frames[PS_4K], 0);
}

/* ---- copy-on-write ---- */

Test(gos, fork_cow, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *par = proc(1);
	map(par, REG, 4 * KiB(4), RW_PROT);
	for (unsigned i = 0; i < 4; i++)
		fault(par, REG + i * KiB(4), PTE_PERM_U | PTE_PERM_W);
	uint64_t before[4];
	for (unsigned i = 0; i < 4; i++)
		before[i] = leaf(par, REG + i * KiB(4), NULL);
	reset_seen();
	struct vmerr err = {{0}};
	cr_assert_eq(gos_fork(E.g, par, 2, &err), 0, "%s", err.msg);
	struct gos_proc *ch = gos_find(E.g, 2);
	cr_assert_not_null(ch);
	cr_assert_neq(ch->cr3, par->cr3);
	cr_assert_neq(ch->pcid, par->pcid);
	cr_assert_eq(E.st.forks, 1);

	/* Both sides: read-only, COW, same frame, D kept. */
	for (unsigned i = 0; i < 4; i++) {
		uint64_t pp = leaf(par, REG + i * KiB(4), NULL), cp = leaf(ch, REG + i * KiB(4), NULL);
		cr_assert_eq(pp, (before[i] & ~RW) | COW, "parent page %u: 0x%llx", i,
			     (unsigned long long)pp);
		cr_assert_eq(cp, pp, "child page %u: 0x%llx, parent 0x%llx", i, (unsigned long long)cp,
			     (unsigned long long)pp);
	}
	cr_assert_eq(E.flushes, 1, "the parent's TLB is flushed once");
	cr_assert_eq(E.flush_p[0], par);
	struct physmem_usage u;
	usage(&u);
	cr_assert_eq(u.frames[PS_4K], 4, "fork copies no frame");
	cr_assert_eq(u.table_pages, 8, "two roots and two PDPT/PD/PT chains");

	/* The child writes page 0: a new frame, writable, not COW; the parent keeps
	 * the old one, still read-only. */
	reset_seen();
	uint64_t old_frame = before[0] & ADDR;
	cr_assert_eq(fault(ch, REG + 8, PTE_PERM_U | PTE_PERM_W), GOS_FIXED);
	uint64_t cp = leaf(ch, REG, NULL), pp = leaf(par, REG, NULL);
	cr_assert_neq(cp & ADDR, old_frame, "the child still uses the shared frame");
	cr_assert_eq(cp & (RW | COW | P | US), RW | P | US, "child leaf 0x%llx",
		     (unsigned long long)cp);
	cr_assert_eq(pp & ADDR, old_frame);
	cr_assert_eq(pp & (RW | COW), COW);
	cr_assert_eq(E.st.faults_cow, 1);
	cr_assert_eq(E.invlpgs, 1, "one INVLPG for the rewritten present entry");
	cr_assert_eq(E.inv_p[0], ch);
	cr_assert_eq(E.inv_va[0] & ~0xfffull, REG);
	usage(&u);
	cr_assert_eq(u.frames[PS_4K], 5);

	/* The parent, now the only user of the old frame, writes: it keeps the
	 * frame and gets W back. */
	cr_assert_eq(fault(par, REG, PTE_PERM_U | PTE_PERM_W), GOS_FIXED);
	pp = leaf(par, REG, NULL);
	cr_assert_eq(pp & ADDR, old_frame);
	cr_assert_eq(pp & (RW | COW), RW);
	cr_assert_eq(E.st.faults_cow, 2);
	usage(&u);
	cr_assert_eq(u.frames[PS_4K], 5);

	/* Untouched pages still translate to the same frame in both. */
	gpa_t a, b;
	cr_assert_eq(gos_translate(E.g, par, REG + 3 * KiB(4), &a), 0);
	cr_assert_eq(gos_translate(E.g, ch, REG + 3 * KiB(4), &b), 0);
	cr_assert_eq(a, b);
}

/* A read-only private page shared by fork must not become writable in
 * one process while the other still maps it: mprotect(PROT_WRITE) after fork
 * leaves it to the COW fault (Linux copy_page_range write-protects every
 * private page of a COW mapping, and mprotect does not upgrade a shared
 * anonymous page). */
Test(gos, fork_readonly_then_protect_rw_stays_cow, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *par = proc(1);
	map(par, REG, KiB(4), VM_PROT_R);
	fault(par, REG, PTE_PERM_U);
	struct vmerr err = {{0}};
	cr_assert_eq(gos_fork(E.g, par, 2, &err), 0);
	struct gos_proc *ch = gos_find(E.g, 2);
	cr_assert_eq(gos_protect(E.g, par, REG, KiB(4), RW_PROT, &err), 0);
	uint64_t pp = leaf(par, REG, NULL), cp = leaf(ch, REG, NULL);
	cr_assert((pp & ADDR) != (cp & ADDR) || !(pp & RW),
		  "parent leaf 0x%llx is writable and maps the child's frame (child 0x%llx)",
		  (unsigned long long)pp, (unsigned long long)cp);
}

/* ---- unmap, protect ---- */

Test(gos, unmap_invlpg_up_to_33_pages, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *p = proc(1);
	map(p, REG, 40 * KiB(4), RW_PROT);
	for (unsigned i = 0; i < 40; i++)
		fault(p, REG + i * KiB(4), PTE_PERM_U);
	reset_seen();
	uint64_t writes0 = E.st.pt_writes;
	struct vmerr err = {{0}};
	cr_assert_eq(gos_unmap(E.g, p, REG, 33 * KiB(4), &err), 0);
	cr_assert_eq(E.invlpgs, 33);
	cr_assert_eq(E.flushes, 0);
	for (unsigned i = 0; i < 33; i++) {
		cr_assert_eq(E.inv_va[i], REG + i * KiB(4));
		cr_assert_eq(E.inv_p[i], p);
		uint64_t ea;
		cr_assert_eq(entry(p, REG + i * KiB(4), 0, &ea), 0, "page %u still mapped", i);
	}
	for (unsigned i = 33; i < 40; i++)
		cr_assert_neq(leaf(p, REG + i * KiB(4), NULL), 0, "page %u was unmapped", i);
	cr_assert_eq(E.st.pt_writes - writes0, 33);
	cr_assert_eq(E.st.invlpgs, 33);
	cr_assert_eq(E.st.unmaps, 1);
	struct physmem_usage u;
	usage(&u);
	cr_assert_eq(u.frames[PS_4K], 7);
	/* The region is gone too. */
	cr_assert_eq(fault(p, REG, PTE_PERM_U), GOS_SEGV);
}

Test(gos, unmap_34_pages_flushes, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *p = proc(1);
	map(p, REG, 34 * KiB(4), RW_PROT);
	for (unsigned i = 0; i < 34; i++)
		fault(p, REG + i * KiB(4), PTE_PERM_U);
	reset_seen();
	struct vmerr err = {{0}};
	cr_assert_eq(gos_unmap(E.g, p, REG, 34 * KiB(4), &err), 0);
	cr_assert_eq(E.invlpgs, 0);
	cr_assert_eq(E.flushes, 1);
	cr_assert_eq(E.flush_p[0], p);
	cr_assert_eq(E.writes, 34);
	struct physmem_usage u;
	usage(&u);
	cr_assert_eq(u.frames[PS_4K], 0);
}

Test(gos, protect_read_only, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *p = proc(1);
	map(p, REG, 4 * KiB(4), RW_PROT);
	uint64_t before[4];
	for (unsigned i = 0; i < 4; i++) {
		fault(p, REG + i * KiB(4), PTE_PERM_U | PTE_PERM_W);
		before[i] = leaf(p, REG + i * KiB(4), NULL);
		cr_assert_eq(before[i] & FLAGS, NX | D | US | RW | P);
	}
	reset_seen();
	struct vmerr err = {{0}};
	cr_assert_eq(gos_protect(E.g, p, REG, 4 * KiB(4), VM_PROT_R, &err), 0);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(leaf(p, REG + i * KiB(4), NULL), before[i] & ~RW,
			     "page %u: 0x%llx", i, (unsigned long long)leaf(p, REG + i * KiB(4), NULL));
	cr_assert_eq(E.writes, 4);
	cr_assert_eq(E.invlpgs, 4);
	cr_assert_eq(E.st.protects, 1);
	cr_assert_eq(fault(p, REG, PTE_PERM_U | PTE_PERM_W), GOS_SEGV);
	cr_assert_eq(E.st.faults_segv, 1);

	/* Back to read-write: W again, same frames, no fault needed. */
	cr_assert_eq(gos_protect(E.g, p, REG, 4 * KiB(4), RW_PROT, &err), 0);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(leaf(p, REG + i * KiB(4), NULL), before[i]);
	/* Protecting to what is already there writes nothing. */
	reset_seen();
	cr_assert_eq(gos_protect(E.g, p, REG, 4 * KiB(4), RW_PROT, &err), 0);
	cr_assert_eq(E.writes + E.invlpgs + E.flushes, 0);
}

/* Protecting one 4 KiB page of a 2 MiB leaf splits it: 512 leaves over the
 * same frames, only the first read-only. */
Test(gos, protect_splits_huge_page, .fini = teardown)
{
	setup(PS_2M);
	struct gos_proc *p = proc(1);
	map(p, REG, MiB(2), RW_PROT);
	fault(p, REG, PTE_PERM_U | PTE_PERM_W);
	unsigned level;
	uint64_t big = leaf(p, REG, &level);
	cr_assert_eq(level, 1);
	reset_seen();
	uint64_t inv0 = E.st.invlpgs;
	struct vmerr err = {{0}};
	cr_assert_eq(gos_protect(E.g, p, REG, KiB(4), VM_PROT_R, &err), 0);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = leaf(p, REG + i * KiB(4), &level);
		cr_assert_eq(level, 0, "page %u", i);
		cr_assert_eq(e & ADDR, (big & ADDR) + i * KiB(4));
		cr_assert_eq(e & (RW | P | US | D | PS), (i ? RW : 0) | P | US | D, "page %u: 0x%llx", i,
			     (unsigned long long)e);
	}
	struct physmem_usage u;
	usage(&u);
	cr_assert_eq(u.frames[PS_2M], 0);
	cr_assert_eq(u.frames[PS_4K], 512);
	cr_assert_eq(E.writes, 512 + 1 + 1, "512 new leaves, the PDE, the protected leaf");
	cr_assert_geq(E.invlpgs, 1);
	cr_assert_geq(E.st.invlpgs - inv0, 1);
}

/* stats.invlpgs ("INVLPG instructions") counts every INVLPG the model
 * issues, the one after a split included. */
Test(gos, split_invlpg_is_counted, .fini = teardown)
{
	setup(PS_2M);
	struct gos_proc *p = proc(1);
	map(p, REG, MiB(2), RW_PROT);
	fault(p, REG, PTE_PERM_U | PTE_PERM_W);
	reset_seen();
	uint64_t inv0 = E.st.invlpgs;
	struct vmerr err = {{0}};
	cr_assert_eq(gos_protect(E.g, p, REG, KiB(4), VM_PROT_R, &err), 0);
	cr_assert_eq(E.invlpgs, 2, "one for the split 2 MiB entry, one for the protected page");
	cr_assert_eq(E.st.invlpgs - inv0, E.invlpgs, "stats.invlpgs grew by %llu, the hook saw %u",
		     (unsigned long long)(E.st.invlpgs - inv0), E.invlpgs);
}

/* ---- exit ---- */

Test(gos, exit_frees_everything, .fini = teardown)
{
	setup(PS_2M);
	struct physmem_usage base, u;
	usage(&base);
	struct gos_proc *p = proc(1);
	map(p, REG, MiB(4), RW_PROT);
	map(p, REG + GiB(1), 40 * KiB(4), RW_PROT);
	fault(p, REG, PTE_PERM_U | PTE_PERM_W);
	fault(p, REG + MiB(2), PTE_PERM_U);
	for (unsigned i = 0; i < 40; i++)
		fault(p, REG + GiB(1) + i * KiB(4), PTE_PERM_U | PTE_PERM_W);
	struct vmerr err = {{0}};
	cr_assert_eq(gos_fork(E.g, p, 2, &err), 0, "%s", err.msg);
	struct gos_proc *c = gos_find(E.g, 2);
	fault(c, REG + GiB(1), PTE_PERM_U | PTE_PERM_W); /* a COW copy */
	fault(c, REG + 8, PTE_PERM_U | PTE_PERM_W);      /* a 2 MiB COW copy */
	cr_assert_eq(gos_unmap(E.g, p, REG + GiB(1) + KiB(4), 3 * KiB(4), &err), 0);
	cr_assert_eq(gos_protect(E.g, c, REG + GiB(1), 40 * KiB(4), VM_PROT_R, &err), 0);
	cr_assert_eq(E.st.faults_cow, 2);

	unsigned flushes = E.flushes;
	gos_exit(E.g, c);
	cr_assert_null(gos_find(E.g, 2));
	cr_assert_eq(E.flushes, flushes + 1);
	gos_exit(E.g, p);
	cr_assert_null(gos_find(E.g, 1));
	usage(&u);
	cr_assert_eq(u.table_pages, base.table_pages, "%llu table pages left",
		     (unsigned long long)u.table_pages);
	for (int s = 0; s < PS_COUNT; s++)
		cr_assert_eq(u.frames[s], base.frames[s], "%s frames: %llu left", ps_name(s),
			     (unsigned long long)u.frames[s]);
	cr_assert_eq(u.bytes_in_use, base.bytes_in_use);
	cr_assert_eq(E.st.exits, 2);
	cr_assert_eq(E.writes, E.st.pt_writes, "the hook saw %u writes, stats %llu", E.writes,
		     (unsigned long long)E.st.pt_writes);
	cr_assert_eq(E.freed, E.st.pt_pages, "every table allocated was reported freed");
}

/* A 2 MiB page shared by fork, then split in one process by a partial unmap:
 * after both exit every frame is back, and no count went below zero. */
Test(gos, fork_then_split_shared_huge_page, .fini = teardown)
{
	setup(PS_2M);
	struct gos_proc *p = proc(1);
	map(p, REG, MiB(2), RW_PROT);
	fault(p, REG, PTE_PERM_U | PTE_PERM_W);
	struct vmerr err = {{0}};
	cr_assert_eq(gos_fork(E.g, p, 2, &err), 0);
	struct gos_proc *c = gos_find(E.g, 2);
	cr_assert_eq(gos_unmap(E.g, c, REG, KiB(4), &err), 0);
	/* The parent still maps the first 4 KiB of its 2 MiB page: that frame
	 * must not be free. */
	uint64_t fr;
	gpa_t g0;
	cr_assert_eq(gos_translate(E.g, p, REG, &g0), 0);
	cr_assert_eq(physmem_alloc(E.pm, PS_4K, &fr), 0);
	cr_expect_neq(fr, g0, "the child's unmap freed frame 0x%llx, which the parent still maps",
		      (unsigned long long)g0);
	physmem_release(E.pm, fr, PS_4K);
	gos_exit(E.g, p);
	/* The child still maps REG + 4 KiB: its frame must still be in use. */
	struct physmem_usage u;
	usage(&u);
	cr_expect_lt(u.frames[PS_2M], 1000, "frames[2m] = %llu (underflow)",
		     (unsigned long long)u.frames[PS_2M]);
	cr_assert_eq(physmem_alloc(E.pm, PS_2M, &fr), 0);
	gpa_t g1;
	cr_assert_eq(gos_translate(E.g, c, REG + KiB(4), &g1), 0);
	cr_expect_neq(fr, g1 & ~(MiB(2) - 1),
		      "a new 2 MiB frame 0x%llx overlaps a page the child still maps",
		      (unsigned long long)fr);
	physmem_release(E.pm, fr, PS_2M);
	gos_exit(E.g, c);
	usage(&u);
	for (int s = 0; s < PS_COUNT; s++)
		cr_expect_eq(u.frames[s], 0, "%s frames: %llu left", ps_name(s),
			     (unsigned long long)u.frames[s]);
	cr_expect_eq(u.bytes_in_use, 0);
}

/* protect on a process that never mapped anything (its user half is one
 * implicit rwx region) must last: a later write to the read-only range is
 * refused, not silently made writable again. */
Test(gos, protect_on_implicit_process_lasts, .fini = teardown)
{
	setup(PS_4K);
	struct gos_proc *p = proc(1);
	fault(p, REG, PTE_PERM_U | PTE_PERM_W);
	struct vmerr err = {{0}};
	cr_assert_eq(gos_protect(E.g, p, REG, KiB(4), VM_PROT_R, &err), 0);
	cr_assert_eq(leaf(p, REG, NULL) & RW, 0);
	cr_assert_eq(fault(p, REG, PTE_PERM_U | PTE_PERM_W), GOS_SEGV,
		     "the write made the page writable again: leaf 0x%llx",
		     (unsigned long long)leaf(p, REG, NULL));
}
