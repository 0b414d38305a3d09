/*
 * test_walk.c - the one walker, against tables built by hand.
 *
 * For every format and leaf size a table is built with pt_map over a
 * malloc'd memory that hands out table pages in order from MEM_BASE, then
 * walked with walk_run from the root.  The fetch hook records each reference
 * the way the native MMU does; the store hook counts write-backs.  Expected
 * references are computed from the index bits of the VA and the known table
 * addresses:
 *
 *   table at level L = MEM_BASE + (levels-1-L) * 4096
 *   entry at level L = table(L) + index(L) * 8
 *
 * Bit values, from the SDM/APM (not from struct pt_format):
 *   x86/NPT: P=0x1 RW=0x2 US=0x4 A=0x20 D=0x40 PS=0x80 NX=1<<63
 *   EPT:     R=0x1 W=0x2 X=0x4 WB=0x30 PS=0x80 A=0x100 D=0x200
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "sim/error.h"
#include "sim/walk.h"

#define MEM_BASE 0x100000ull
#define MEM_PAGES 32

struct mem {
	uint64_t *w;
	unsigned used;
	unsigned stores, fetches;
	int fail_level; /* fetch at this level returns an inner error; -1 none */
};

static struct mem mem;

static uint64_t *slot(uint64_t pa)
{
	cr_assert(pa >= MEM_BASE && pa < MEM_BASE + (uint64_t)mem.used * 4096 && !(pa & 7),
		  "entry address 0x%llx outside the tables", (unsigned long long)pa);
	return &mem.w[(pa - MEM_BASE) / 8];
}

static uint64_t m_read(void *arg, uint64_t pa) { return *slot(pa); }
static void m_write(void *arg, uint64_t pa, uint64_t v) { *slot(pa) = v; }
static int m_alloc(void *arg, uint64_t *pa)
{
	if (mem.used == MEM_PAGES)
		return VM_ELIMIT;
	*pa = MEM_BASE + (uint64_t)mem.used++ * 4096;
	return 0;
}

static const struct pt_mem_ops ops = {m_read, m_write, m_alloc, NULL};

static int fetch(void *arg, uint64_t table, uint64_t ea, unsigned level, uint64_t *val,
		 struct walk_rec *rec)
{
	mem.fetches++;
	if ((int)level == mem.fail_level)
		return VM_ELIMIT;
	*val = *slot(ea);
	cr_assert_lt(rec->n, WALK_MAX_REFS);
	rec->ref[rec->n++] = (struct walk_ref){.dim = WALK_GUEST, .level = (uint8_t)level,
					       .table = table, .entry_addr = ea, .entry_pa = ea,
					       .value = *val};
	return 0;
}

static void store(void *arg, uint64_t ea, uint64_t val)
{
	mem.stores++;
	*slot(ea) = val;
}

static const struct walk_io io = {fetch, store, NULL};

static uint64_t fresh(void)
{
	free(mem.w);
	memset(&mem, 0, sizeof mem);
	mem.w = calloc(MEM_PAGES, 4096);
	cr_assert_not_null(mem.w);
	mem.fail_level = -1;
	uint64_t root = 0;
	m_alloc(NULL, &root);
	return root;
}

static bool is_ept(const struct pt_format *f) { return f->kind == PT_EPT; }
static uint64_t bit_a(const struct pt_format *f) { return is_ept(f) ? 0x100 : 0x20; }
static uint64_t bit_d(const struct pt_format *f) { return is_ept(f) ? 0x200 : 0x40; }
#define BIT_W 0x2ull     /* x86 RW and EPT W are both bit 1 */
#define TABLE_BITS 0x7ull /* x86 P|RW|US, EPT R|W|X */

static uint64_t leaf_bits(const struct pt_format *f, unsigned level, bool writable)
{
	uint64_t e = level ? 0x80 : 0;
	if (is_ept(f))
		e |= 0x1 | 0x30 | (writable ? 0x2 : 0);
	else
		e |= 0x1 | 0x4 | (1ull << 63) | (writable ? 0x2 : 0);
	return e;
}

static const struct pt_format *const all[] = {&pt_x86_4, &pt_x86_5, &pt_ept_4,
					      &pt_ept_5, &pt_npt_4, &pt_npt_5};

struct fl {
	unsigned fi; /* index into all[]: Criterion runs each test in a new process,
		       * so parameters carry no pointers */
	unsigned leaf;
	bool write;
};

static const unsigned idx[5] = {0x0a1, 0x1e2, 0x033, 0x0c4, 0x055};
static const uint64_t leaf_pa[3] = {0x7654000ull, 0x40a00000ull, 0xc0000000ull};

static uint64_t test_va(const struct pt_format *f)
{
	uint64_t va = 0xabc;
	for (unsigned l = 0; l < f->levels; l++)
		va |= (uint64_t)idx[l] << (12 + 9 * l);
	return va;
}

static uint64_t table_at(const struct pt_format *f, unsigned level)
{
	return MEM_BASE + (uint64_t)(f->levels - 1 - level) * 4096;
}

ParameterizedTestParameters(walk, by_hand)
{
	static struct fl p[36];
	unsigned n = 0;
	for (unsigned i = 0; i < 6; i++)
		for (unsigned l = 0; l < 3; l++)
			for (unsigned w = 0; w < 2; w++)
				p[n++] = (struct fl){i, l, w};
	return cr_make_param_array(struct fl, p, n);
}

/* levels-leaf references, each at the address and with the value worked out
 * from the VA; A set on every entry used, D on the leaf of a write only. */
ParameterizedTest(struct fl *p, walk, by_hand)
{
	const struct pt_format *f = all[p->fi];
	uint64_t root = fresh();
	uint64_t va = test_va(f);
	uint64_t size = 1ull << (12 + 9 * p->leaf);
	cr_assert_eq(pt_map(f, &ops, root, va & ~(size - 1), leaf_pa[p->leaf],
			    (enum page_size)p->leaf, PTE_PERM_W | PTE_PERM_U),
		     0);

	struct walk_rec rec;
	struct walk_out out;
	walk_rec_reset(&rec);
	unsigned need = PTE_PERM_U | (p->write ? PTE_PERM_W : 0);
	walk_run(f, root, f->levels - 1, va, need, true, &io, &rec, &out);

	unsigned nref = f->levels - p->leaf;
	cr_assert_eq(out.fault, WALK_OK, "%s leaf %u: fault %d", f->name, p->leaf, out.fault);
	cr_assert_eq(rec.n, nref, "%s leaf %u: %u references, want %u", f->name, p->leaf, rec.n,
		     nref);
	cr_assert_eq(mem.fetches, nref);
	cr_assert_eq(out.level, p->leaf);
	cr_assert_eq(out.top, f->levels - 1);
	cr_assert_eq(out.pa, leaf_pa[p->leaf] + (va & (size - 1)), "%s leaf %u: pa 0x%llx", f->name,
		     p->leaf, (unsigned long long)out.pa);

	for (unsigned i = 0; i < nref; i++) {
		unsigned level = f->levels - 1 - i;
		uint64_t table = table_at(f, level);
		uint64_t ea = table + idx[level] * 8;
		uint64_t want = level == p->leaf ? leaf_pa[p->leaf] | leaf_bits(f, level, true)
						 : (table + 4096) | TABLE_BITS;
		cr_assert_eq(rec.ref[i].level, level, "%s ref %u", f->name, i);
		cr_assert_eq(rec.ref[i].table, table, "%s ref %u: table 0x%llx", f->name, i,
			     (unsigned long long)rec.ref[i].table);
		cr_assert_eq(rec.ref[i].entry_addr, ea, "%s ref %u: entry 0x%llx, want 0x%llx", f->name,
			     i, (unsigned long long)rec.ref[i].entry_addr, (unsigned long long)ea);
		cr_assert_eq(rec.ref[i].value, want, "%s ref %u: value 0x%llx, want 0x%llx", f->name,
			     i, (unsigned long long)rec.ref[i].value, (unsigned long long)want);
		if (level > p->leaf)
			cr_assert_eq(out.next_table[level], table + 4096);

		/* After the walk: A everywhere, D only on a written leaf. */
		uint64_t after = *slot(ea);
		uint64_t want_after = want | bit_a(f);
		if (level == p->leaf && p->write)
			want_after |= bit_d(f);
		cr_assert_eq(after, want_after, "%s level %u after the walk: 0x%llx, want 0x%llx",
			     f->name, level, (unsigned long long)after, (unsigned long long)want_after);
	}
	cr_assert_eq(mem.stores, nref, "one write-back per entry whose A (or D) changed");
	cr_assert_eq(out.leaf, *slot(table_at(f, p->leaf) + idx[p->leaf] * 8));
	cr_assert_eq(out.leaf_addr, table_at(f, p->leaf) + idx[p->leaf] * 8);
	unsigned want_perms = PTE_PERM_W | PTE_PERM_U | PTE_PERM_A | (p->write ? PTE_PERM_D : 0);
	cr_assert_eq(out.perms, want_perms, "%s: perms 0x%x, want 0x%x", f->name, out.perms,
		     want_perms);

	/* A second walk of the same kind changes nothing. */
	mem.stores = 0;
	walk_rec_reset(&rec);
	walk_run(f, root, f->levels - 1, va, need, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_OK);
	cr_assert_eq(mem.stores, 0u);
}

ParameterizedTestParameters(walk, permissions)
{
	static unsigned fi[] = {0, 1, 2, 3, 4, 5};
	return cr_make_param_array(unsigned, fi, 6);
}

/* A read-only leaf refuses a write; a read-only upper entry does too (the
 * rights combine over the levels); a refused walk sets no A/D bit. */
ParameterizedTest(unsigned *pf, walk, permissions)
{
	const struct pt_format *f = all[*pf];
	uint64_t root = fresh();
	const uint64_t ro = 0x1000, rw = 0x40000000, va_x = 0x80000000;
	cr_assert_eq(pt_map(f, &ops, root, ro, 0x5000, PS_4K, PTE_PERM_U), 0);
	cr_assert_eq(pt_map(f, &ops, root, rw, 0x6000, PS_4K, PTE_PERM_U | PTE_PERM_W), 0);
	cr_assert_eq(pt_map(f, &ops, root, va_x, 0x7000, PS_4K, PTE_PERM_U | PTE_PERM_X), 0);
	struct walk_rec rec;
	struct walk_out out;

	walk_rec_reset(&rec);
	walk_run(f, root, f->levels - 1, ro + 8, PTE_PERM_U | PTE_PERM_W, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_PROTECTION, "%s: write to a read-only leaf", f->name);
	cr_assert_eq(out.level, 0u);
	cr_assert_eq(mem.stores, 0u, "%s: a refused walk wrote back %u entries", f->name, mem.stores);
	walk_rec_reset(&rec);
	walk_run(f, root, f->levels - 1, ro + 8, PTE_PERM_U, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_OK);
	cr_assert_eq(out.pa, 0x5008);

	/* Executable only where the leaf allows it. */
	walk_rec_reset(&rec);
	walk_run(f, root, f->levels - 1, rw, PTE_PERM_U | PTE_PERM_X, false, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_PROTECTION, "%s: fetch from a no-exec leaf", f->name);
	walk_rec_reset(&rec);
	walk_run(f, root, f->levels - 1, va_x, PTE_PERM_U | PTE_PERM_X, false, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_OK);

	/* Clear W in the level-2 entry above rw: the writable leaf no longer
	 * allows a write. */
	uint64_t pml = table_at(f, f->levels - 1);
	uint64_t e = *slot(pml + 0);
	uint64_t l2_table = e & f->addr_mask;
	if (f->levels == 5)
		l2_table = *slot(l2_table) & f->addr_mask;
	uint64_t l2e = l2_table + 1 * 8; /* PDPT index of 0x40000000 is 1 */
	cr_assert(*slot(l2e) & 1, "%s: no PDPTE at 0x%llx", f->name, (unsigned long long)l2e);
	*slot(l2e) &= ~BIT_W;
	mem.stores = 0;
	walk_rec_reset(&rec);
	walk_run(f, root, f->levels - 1, rw, PTE_PERM_U | PTE_PERM_W, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_PROTECTION, "%s: RW clear in the PDPTE", f->name);
	cr_assert_eq(out.perms & PTE_PERM_W, 0u);
	cr_assert_eq(mem.stores, 0u);

	if (!is_ept(f)) {
		/* US clear higher up: a user access is refused. */
		*slot(l2e) |= BIT_W;
		*slot(l2e) &= ~0x4ull;
		walk_rec_reset(&rec);
		walk_run(f, root, f->levels - 1, rw, PTE_PERM_U, true, &io, &rec, &out);
		cr_assert_eq(out.fault, WALK_PROTECTION, "%s: US clear in the PDPTE", f->name);
		/* NX set higher up: no fetch from an executable leaf below. */
		uint64_t xe = l2_table + 2 * 8; /* 0x80000000: PDPT index 2 */
		*slot(xe) |= 1ull << 63;
		walk_rec_reset(&rec);
		walk_run(f, root, f->levels - 1, va_x, PTE_PERM_U | PTE_PERM_X, true, &io, &rec, &out);
		cr_assert_eq(out.fault, WALK_PROTECTION, "%s: NX set in the PDPTE", f->name);
	}
}

ParameterizedTestParameters(walk, not_present_level)
{
	static struct fl p[18];
	for (unsigned i = 0; i < 6; i++)
		for (unsigned l = 0; l < 3; l++)
			p[i * 3 + l] = (struct fl){i, l, false};
	return cr_make_param_array(struct fl, p, 18);
}

/* Clearing the entry at level L of a mapped 4 KiB page stops the walk there:
 * WALK_NOT_PRESENT at L after levels-L references. */
ParameterizedTest(struct fl *p, walk, not_present_level)
{
	const struct pt_format *f = all[p->fi];
	uint64_t root = fresh();
	uint64_t va = test_va(f);
	cr_assert_eq(pt_map(f, &ops, root, va & ~0xfffull, 0x9000, PS_4K, PTE_PERM_U), 0);
	unsigned level = p->leaf; /* here: the level to clear */
	uint64_t ea = table_at(f, level) + idx[level] * 8;
	/* Keep everything but the present bit(s): EPT needs R, W and X all clear. */
	*slot(ea) &= ~(is_ept(f) ? 0x7ull : 0x1ull);
	struct walk_rec rec;
	struct walk_out out;
	walk_rec_reset(&rec);
	walk_run(f, root, f->levels - 1, va, PTE_PERM_U, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_NOT_PRESENT, "%s", f->name);
	cr_assert_eq(out.level, level, "%s: stopped at %u, want %u", f->name, out.level, level);
	cr_assert_eq(rec.n, f->levels - level);
	cr_assert_eq(out.leaf_addr, ea);
	cr_assert_eq(mem.stores, 0u);
}

/* EPT: an entry is present if any of R, W, X is set, even execute-only. */
Test(walk, ept_execute_only_is_present)
{
	const struct pt_format *f = &pt_ept_4;
	uint64_t root = fresh();
	cr_assert_eq(pt_map(f, &ops, root, 0x3000, 0x9000, PS_4K, PTE_PERM_X), 0);
	uint64_t ea = table_at(f, 0) + 3 * 8;
	*slot(ea) = 0x9000 | 0x4 | 0x30; /* X only */
	struct walk_rec rec;
	struct walk_out out;
	walk_rec_reset(&rec);
	walk_run(f, root, 3, 0x3010, PTE_PERM_X, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_OK);
	cr_assert_eq(out.pa, 0x9010);
	cr_assert_eq(*slot(ea), 0x9000 | 0x4 | 0x30 | 0x100, "EPT A is bit 8");
	walk_rec_reset(&rec);
	walk_run(f, root, 3, 0x3010, PTE_PERM_W, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_PROTECTION);

	/* A and D alone (bits 8, 9) are not "present". */
	*slot(ea) = 0x9000 | 0x100 | 0x200 | 0x30;
	walk_rec_reset(&rec);
	walk_run(f, root, 3, 0x3010, 0, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_NOT_PRESENT);
	cr_assert_eq(out.level, 0u);
}

/* Starting below the root, as after a PWC hit, fetches only the levels below. */
Test(walk, start_below_root)
{
	const struct pt_format *f = &pt_x86_4;
	uint64_t root = fresh();
	uint64_t va = test_va(f);
	cr_assert_eq(pt_map(f, &ops, root, va & ~0xfffull, 0x9000, PS_4K, PTE_PERM_U), 0);
	struct walk_rec rec;
	struct walk_out out;
	walk_rec_reset(&rec);
	walk_run(f, table_at(f, 1), 1, va, PTE_PERM_U, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_OK);
	cr_assert_eq(rec.n, 2u);
	cr_assert_eq(out.top, 1u);
	cr_assert_eq(rec.ref[0].entry_addr, table_at(f, 1) + idx[1] * 8);
	cr_assert_eq(rec.ref[1].entry_addr, table_at(f, 0) + idx[0] * 8);
	cr_assert_eq(out.pa, 0x9000 | (va & 0xfff));
	/* Only the entries used get A: the PDPTE and PML4E above stay as built. */
	cr_assert_eq(*slot(table_at(f, 3) + idx[3] * 8) & 0x20, 0u);
	cr_assert_eq(*slot(table_at(f, 2) + idx[2] * 8) & 0x20, 0u);
	cr_assert_eq(*slot(table_at(f, 1) + idx[1] * 8) & 0x20, 0x20u);
}

Test(walk, set_ad_off_writes_nothing)
{
	const struct pt_format *f = &pt_x86_5;
	uint64_t root = fresh();
	cr_assert_eq(pt_map(f, &ops, root, 0x200000, 0x400000, PS_2M, PTE_PERM_U | PTE_PERM_W), 0);
	struct walk_rec rec;
	struct walk_out out;
	walk_rec_reset(&rec);
	walk_run(f, root, 4, 0x2abcde, PTE_PERM_U | PTE_PERM_W, false, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_OK);
	cr_assert_eq(out.pa, 0x4abcde);
	cr_assert_eq(rec.n, 4u);
	cr_assert_eq(mem.stores, 0u);
	cr_assert_eq(out.perms & (PTE_PERM_A | PTE_PERM_D), 0u);
}

/* An inner (2D) failure is passed up with the level it happened at. */
Test(walk, inner_fault)
{
	const struct pt_format *f = &pt_x86_4;
	uint64_t root = fresh();
	cr_assert_eq(pt_map(f, &ops, root, 0x5000, 0x9000, PS_4K, PTE_PERM_U), 0);
	mem.fail_level = 1;
	struct walk_rec rec;
	struct walk_out out;
	walk_rec_reset(&rec);
	walk_run(f, root, 3, 0x5000, PTE_PERM_U, true, &io, &rec, &out);
	cr_assert_eq(out.fault, WALK_INNER);
	cr_assert_eq(out.inner_rc, VM_ELIMIT);
	cr_assert_eq(out.level, 1u);
	cr_assert_eq(rec.n, 2u);
	cr_assert_eq(mem.stores, 0u);
}
