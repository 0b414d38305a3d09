/*
 * test_pt_format.c - the page-table formats as data, and the table builder
 * (pt_map, pt_map_entry, pt_lookup, pt_for_each_leaf) over a little memory
 * of our own.
 *
 * Every expected entry is written out from the bit positions in the Intel SDM
 * (4.5, 29.3.2) and the AMD APM (5.3), not from the struct's masks, so a wrong
 * mask shows up as a wrong number:
 *
 *   x86/NPT: P=0x1 RW=0x2 US=0x4 A=0x20 D=0x40 PS=0x80 G=0x100 NX=1<<63
 *   EPT:     R=0x1 W=0x2 X=0x4 WB=6<<3=0x30 PS=0x80 A=0x100 D=0x200
 *
 * Tables come from a malloc'd array that hands out pages in order from
 * MEM_BASE, so the table at each level has an address one can write down:
 * root = page 0, then one new page per level on the way down.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "sim/error.h"
#include "sim/pt_format.h"

#define MEM_BASE 0x100000ull /* 1 MiB: table pages are handed out from here */
#define MEM_PAGES 64

#define X_P 0x1ull
#define X_RW 0x2ull
#define X_US 0x4ull
#define X_A 0x20ull
#define X_D 0x40ull
#define X_PS 0x80ull
#define X_G 0x100ull
#define X_NX (1ull << 63)
#define E_R 0x1ull
#define E_W 0x2ull
#define E_X 0x4ull
#define E_WB 0x30ull
#define E_A 0x100ull
#define E_D 0x200ull

struct mem {
	uint64_t *w;
	unsigned used, limit;
	unsigned writes, allocs;
};

static uint64_t *slot(struct mem *m, uint64_t pa)
{
	cr_assert(pa >= MEM_BASE && pa < MEM_BASE + (uint64_t)MEM_PAGES * 4096 && !(pa & 7),
		  "entry address 0x%llx outside the test memory", (unsigned long long)pa);
	cr_assert_lt((pa - MEM_BASE) / 4096, m->used, "entry 0x%llx in a page never handed out",
		     (unsigned long long)pa);
	return &m->w[(pa - MEM_BASE) / 8];
}

static uint64_t m_read(void *arg, uint64_t pa) { return *slot(arg, pa); }

static void m_write(void *arg, uint64_t pa, uint64_t v)
{
	struct mem *m = arg;
	*slot(m, pa) = v;
	m->writes++;
}

static int m_alloc(void *arg, uint64_t *pa)
{
	struct mem *m = arg;
	if (m->used == m->limit)
		return VM_ELIMIT;
	*pa = MEM_BASE + (uint64_t)m->used++ * 4096;
	m->allocs++;
	return 0;
}

static struct mem mem;
static struct pt_mem_ops ops = {m_read, m_write, m_alloc, &mem};

/* A fresh memory with the root table (page 0) already handed out. */
static uint64_t fresh(void)
{
	free(mem.w);
	memset(&mem, 0, sizeof mem);
	mem.w = calloc(MEM_PAGES, 4096);
	cr_assert_not_null(mem.w);
	mem.limit = MEM_PAGES;
	uint64_t root;
	m_alloc(&mem, &root);
	cr_assert_eq(root, MEM_BASE);
	mem.allocs = 0;
	return root;
}

static const struct pt_format *const all[] = {&pt_x86_4, &pt_x86_5, &pt_ept_4,
					      &pt_ept_5, &pt_npt_4, &pt_npt_5};

/* The format under test and a leaf level, as a Criterion parameter. */
struct fl {
	unsigned fi; /* index into all[]: Criterion runs each test in a new process,
		       * so parameters carry no pointers */
	unsigned leaf;
};

ParameterizedTestParameters(pt_format, map_lookup_by_hand)
{
	static struct fl p[18];
	for (unsigned i = 0; i < 6; i++)
		for (unsigned l = 0; l < 3; l++)
			p[i * 3 + l] = (struct fl){i, l};
	return cr_make_param_array(struct fl, p, 18);
}

/* Index of each level chosen so no two are equal and the address stays in the
 * lower (canonical) half: level 4 (LA57 only) 0x0a3, 3 0x0f1, 2 0x0a2,
 * 1 0x133, 0 0x055, offset 0x6d8. */
static const unsigned idx[5] = {0x055, 0x133, 0x0a2, 0x0f1, 0x0a3};

static uint64_t test_va(const struct pt_format *f)
{
	uint64_t va = 0x6d8;
	for (unsigned l = 0; l < f->levels; l++)
		va |= (uint64_t)idx[l] << (12 + 9 * l);
	return va;
}

/* Frame for a leaf of each size: aligned to that size. */
static const uint64_t leaf_pa[3] = {0x12345000ull, 0x40600000ull, 0x80000000ull};

static uint64_t table_bits(const struct pt_format *f)
{
	return f->kind == PT_EPT ? (E_R | E_W | E_X) : (X_P | X_RW | X_US);
}

/* Leaf of a writable, user, non-executable mapping, as built by pt_make_leaf. */
static uint64_t leaf_rw(const struct pt_format *f, uint64_t pa, unsigned level)
{
	uint64_t ps = level ? X_PS : 0;
	if (f->kind == PT_EPT)
		return pa | E_R | E_W | E_WB | ps;
	return pa | X_P | X_RW | X_US | X_NX | ps;
}

ParameterizedTest(struct fl *p, pt_format, map_lookup_by_hand)
{
	const struct pt_format *f = all[p->fi];
	uint64_t root = fresh();
	uint64_t va = test_va(f);
	unsigned top = f->levels - 1;

	cr_assert_eq(pt_map(f, &ops, root, va & ~((1ull << (12 + 9 * p->leaf)) - 1),
			    leaf_pa[p->leaf], (enum page_size)p->leaf, PTE_PERM_W | PTE_PERM_U),
		     0);
	/* One new table per level between the root and the leaf, one write each,
	 * plus the leaf. */
	cr_assert_eq(mem.allocs, top - p->leaf, "%s leaf %u: %u tables", f->name, p->leaf,
		     mem.allocs);
	cr_assert_eq(mem.writes, top - p->leaf + 1);

	for (unsigned l = top; l > p->leaf; l--) {
		uint64_t table = MEM_BASE + (uint64_t)(top - l) * 4096;
		uint64_t ea = table + idx[l] * 8;
		uint64_t want = (table + 4096) | table_bits(f);
		cr_assert_eq(m_read(&mem, ea), want, "%s level %u entry at 0x%llx: 0x%llx, want 0x%llx",
			     f->name, l, (unsigned long long)ea,
			     (unsigned long long)m_read(&mem, ea), (unsigned long long)want);
	}
	uint64_t leaf_table = MEM_BASE + (uint64_t)(top - p->leaf) * 4096;
	uint64_t leaf_ea = leaf_table + idx[p->leaf] * 8;
	uint64_t want_leaf = leaf_rw(f, leaf_pa[p->leaf], p->leaf);
	cr_assert_eq(m_read(&mem, leaf_ea), want_leaf, "%s leaf %u: 0x%llx, want 0x%llx", f->name,
		     p->leaf, (unsigned long long)m_read(&mem, leaf_ea),
		     (unsigned long long)want_leaf);

	uint64_t pte = 0, ea = 0;
	cr_assert_eq(pt_lookup(f, &ops, root, va, &pte, &ea), (int)p->leaf);
	cr_assert_eq(pte, want_leaf);
	cr_assert_eq(ea, leaf_ea);
	uint64_t off = va & ((1ull << (12 + 9 * p->leaf)) - 1);
	cr_assert_eq(pt_leaf_pa(f, pte, p->leaf, va), leaf_pa[p->leaf] + off);
	cr_assert_eq(pt_perms(f, pte), PTE_PERM_W | PTE_PERM_U);
}

ParameterizedTestParameters(pt_format, per_format)
{
	static unsigned fi[] = {0, 1, 2, 3, 4, 5};
	return cr_make_param_array(unsigned, fi, 6);
}

ParameterizedTest(unsigned *pf, pt_format, per_format)
{
	const struct pt_format *f = all[*pf];
	unsigned lv = strchr(f->name, '5') ? 5 : 4;
	cr_assert_eq(f->levels, lv, "%s", f->name);
	cr_assert_eq(f->va_bits, lv == 5 ? 57u : 48u);
	cr_assert_eq(pt_format_get(f->kind, lv), f);
	cr_assert_eq(f->leaf_levels & 7u, 7u, "%s: 4k, 2m and 1g leaves", f->name);
	cr_assert_eq(f->addr_mask, 0x000ffffffffff000ull);
}

Test(pt_format, get)
{
	cr_assert_eq(pt_format_get(PT_X86, 4), &pt_x86_4);
	cr_assert_eq(pt_format_get(PT_X86, 5), &pt_x86_5);
	cr_assert_eq(pt_format_get(PT_EPT, 4), &pt_ept_4);
	cr_assert_eq(pt_format_get(PT_EPT, 5), &pt_ept_5);
	cr_assert_eq(pt_format_get(PT_NPT, 4), &pt_npt_4);
	cr_assert_eq(pt_format_get(PT_NPT, 5), &pt_npt_5);
	cr_assert_null(pt_format_get(PT_X86, 3));
	cr_assert_null(pt_format_get(PT_X86, 6));
	cr_assert_null(pt_format_get((enum pt_kind)7, 4));
}

Test(pt_format, x86_entry_bits)
{
	const struct pt_format *f = &pt_x86_4;
	cr_assert_eq(pt_make_table(f, 0x5000), 0x5000 | X_P | X_RW | X_US);
	cr_assert_eq(pt_make_leaf(f, 0x7000, 0, PTE_PERM_U), 0x7000 | X_P | X_US | X_NX);
	cr_assert_eq(pt_make_leaf(f, 0x7000, 0, PTE_PERM_U | PTE_PERM_X), 0x7000 | X_P | X_US);
	cr_assert_eq(pt_make_leaf(f, 0x7000, 0, PTE_PERM_W | PTE_PERM_G | PTE_PERM_X),
		     0x7000 | X_P | X_RW | X_G);
	cr_assert_eq(pt_make_leaf(f, 0x200000, 1, PTE_PERM_W | PTE_PERM_U | PTE_PERM_A | PTE_PERM_D),
		     0x200000 | X_P | X_RW | X_US | X_A | X_D | X_PS | X_NX);
	cr_assert_eq(pt_make_leaf(f, 0x40000000, 2, PTE_PERM_U | PTE_PERM_X),
		     0x40000000 | X_P | X_US | X_PS);
	/* Address bits above 51 never leak into the entry. */
	cr_assert_eq(pt_make_leaf(f, 0xfff0000000007000ull, 0, PTE_PERM_X), 0x0000000000007000ull | X_P);

	cr_assert(pt_is_present(f, X_P));
	cr_assert_not(pt_is_present(f, X_RW | X_US | X_A | X_D | 0x1000));
	cr_assert(pt_is_leaf(f, 0x1000 | X_P, 0));
	cr_assert_not(pt_is_leaf(f, 0x1000 | X_P, 1));
	cr_assert(pt_is_leaf(f, 0x1000 | X_P | X_PS, 1));
	cr_assert(pt_is_leaf(f, 0x1000 | X_P | X_PS, 2));
	cr_assert_eq(pt_perms(f, X_P | X_RW | X_US | X_A | X_D | X_G),
		     PTE_PERM_W | PTE_PERM_U | PTE_PERM_X | PTE_PERM_A | PTE_PERM_D | PTE_PERM_G);
	cr_assert_eq(pt_perms(f, X_P | X_NX), 0u);
}

/* NPT host tables are long-mode tables without global pages. */
Test(pt_format, npt_has_no_global)
{
	cr_assert_eq(pt_make_leaf(&pt_npt_4, 0x7000, 0, PTE_PERM_U | PTE_PERM_X | PTE_PERM_G),
		     0x7000 | X_P | X_US);
	cr_assert_eq(pt_make_leaf(&pt_npt_5, 0x7000, 0, PTE_PERM_W | PTE_PERM_U),
		     0x7000 | X_P | X_RW | X_US | X_NX);
}

Test(pt_format, ept_entry_bits)
{
	const struct pt_format *f = &pt_ept_4;
	cr_assert_eq(pt_make_table(f, 0x5000), 0x5000 | E_R | E_W | E_X);
	cr_assert_eq(pt_make_leaf(f, 0x7000, 0, PTE_PERM_U), 0x7000 | E_R | E_WB);
	cr_assert_eq(pt_make_leaf(f, 0x7000, 0, PTE_PERM_W | PTE_PERM_X), 0x7000 | E_R | E_W | E_X | E_WB);
	/* EPT A/D are bits 8 and 9 (SDM 29.3.5), not x86's 5 and 6. */
	cr_assert_eq(pt_make_leaf(f, 0x7000, 0, PTE_PERM_A | PTE_PERM_D), 0x7000 | E_R | E_WB | E_A | E_D);
	cr_assert_eq(pt_make_leaf(f, 0x200000, 1, 0), 0x200000 | E_R | E_WB | X_PS);
	cr_assert_eq(pt_make_leaf(f, 0x7000, 0, PTE_PERM_G), 0x7000 | E_R | E_WB, "no global in EPT");

	/* Present means any of R, W, X. */
	cr_assert(pt_is_present(f, E_R));
	cr_assert(pt_is_present(f, E_W));
	cr_assert(pt_is_present(f, E_X));
	cr_assert_not(pt_is_present(f, 0x1000 | E_WB | E_A | E_D | X_PS));
	/* Every EPT mapping is "user"; X means executable. */
	cr_assert_eq(pt_perms(f, E_R), PTE_PERM_U);
	cr_assert_eq(pt_perms(f, E_R | E_W | E_X | E_A | E_D),
		     PTE_PERM_U | PTE_PERM_W | PTE_PERM_X | PTE_PERM_A | PTE_PERM_D);
	cr_assert_eq(pt_perms(f, E_R | X_A | X_D), PTE_PERM_U, "bits 5/6 are memory type, not A/D");
}

Test(pt_format, canonical_48)
{
	const struct pt_format *f = &pt_x86_4;
	cr_assert(pt_va_canonical(f, 0));
	cr_assert(pt_va_canonical(f, 0x00007fffffffffffull));
	cr_assert_not(pt_va_canonical(f, 0x0000800000000000ull));
	cr_assert_not(pt_va_canonical(f, 0x00ff000000000000ull));
	cr_assert(pt_va_canonical(f, 0xffff800000000000ull));
	cr_assert(pt_va_canonical(f, 0xffffffffffffffffull));
	cr_assert_not(pt_va_canonical(f, 0xfffe800000000000ull));
	cr_assert_not(pt_va_canonical(f, 0x8000000000000000ull));
	cr_assert(pt_va_canonical(&pt_ept_4, 0x00007fffffffffffull));
	cr_assert_not(pt_va_canonical(&pt_npt_4, 0x0001000000000000ull));
}

Test(pt_format, canonical_57)
{
	const struct pt_format *f = &pt_x86_5;
	cr_assert(pt_va_canonical(f, 0x00ffffffffffffffull));
	cr_assert(pt_va_canonical(f, 0x0000800000000000ull), "a 48-bit non-canonical VA is fine with LA57");
	cr_assert_not(pt_va_canonical(f, 0x0100000000000000ull));
	cr_assert(pt_va_canonical(f, 0xff00000000000000ull));
	cr_assert_not(pt_va_canonical(f, 0xfe00000000000000ull));
	cr_assert_not(pt_va_canonical(f, 0xffff800000000000ull & ~(1ull << 56)));
	cr_assert(pt_va_canonical(&pt_ept_5, 0x00ffffffffffffffull));
}

ParameterizedTestParameters(pt_format, map_conflicts)
{
	static unsigned fi[] = {0, 1, 2, 3, 4, 5};
	return cr_make_param_array(unsigned, fi, 6);
}

/* A 4 KiB page inside a 2 MiB leaf, and a 2 MiB leaf over a table of 4 KiB
 * pages, are refused and change nothing; an existing leaf of the same size
 * is overwritten in place. */
ParameterizedTest(unsigned *pf, pt_format, map_conflicts)
{
	const struct pt_format *f = all[*pf];
	uint64_t root = fresh();
	const uint64_t big = 0x40000000ull, small = 0x80000000ull;

	cr_assert_eq(pt_map(f, &ops, root, big, 0x200000, PS_2M, PTE_PERM_U), 0);
	unsigned w = mem.writes, a = mem.allocs;
	cr_assert_eq(pt_map(f, &ops, root, big + 0x5000, 0x9000, PS_4K, PTE_PERM_U), VM_EINPUT);
	cr_assert_eq(mem.writes, w, "%s: refused map wrote %u entries", f->name, mem.writes - w);
	cr_assert_eq(mem.allocs, a);

	cr_assert_eq(pt_map(f, &ops, root, small + 0x3000, 0x9000, PS_4K, PTE_PERM_U), 0);
	w = mem.writes;
	cr_assert_eq(pt_map(f, &ops, root, small, 0x400000, PS_2M, PTE_PERM_U), VM_EINPUT);
	cr_assert_eq(mem.writes, w);
	cr_assert_eq(pt_map(f, &ops, root, small, 0x40000000, PS_1G, PTE_PERM_U), VM_EINPUT);

	/* Same size again: overwritten, no new table. */
	a = mem.allocs;
	cr_assert_eq(pt_map(f, &ops, root, big, 0x600000, PS_2M, PTE_PERM_U | PTE_PERM_W), 0);
	cr_assert_eq(mem.allocs, a);
	uint64_t pte, ea;
	cr_assert_eq(pt_lookup(f, &ops, root, big + 0x1234, &pte, &ea), 1);
	cr_assert_eq(pt_leaf_pa(f, pte, 1, big + 0x1234), 0x601234ull);
	cr_assert_eq(pt_perms(f, pte) & PTE_PERM_W, (unsigned)PTE_PERM_W);
}

Test(pt_format, map_alloc_failure_is_returned)
{
	uint64_t root = fresh();
	mem.limit = 2; /* the root and one more table */
	cr_assert_eq(pt_map(&pt_x86_4, &ops, root, 0x1000, 0x5000, PS_4K, PTE_PERM_U), VM_ELIMIT);
	uint64_t pte = 1, ea;
	cr_assert_eq(pt_lookup(&pt_x86_4, &ops, root, 0x1000, &pte, &ea), -1);
}

/* A lookup that stops early tells where: the first non-present entry. */
Test(pt_format, lookup_not_mapped)
{
	const struct pt_format *f = &pt_x86_4;
	uint64_t root = fresh();
	uint64_t pte = 99, ea = 0;
	cr_assert_eq(pt_lookup(f, &ops, root, 0x7f0000001000ull, &pte, &ea), -1);
	cr_assert_eq(ea, root + 0xfe * 8, "PML4 index of 0x7f0000001000 is 0xfe");
	cr_assert_eq(pte, 0);

	cr_assert_eq(pt_map(f, &ops, root, 0x7f0000001000ull, 0x5000, PS_4K, PTE_PERM_U), 0);
	cr_assert_eq(pt_lookup(f, &ops, root, 0x7f0000002000ull, &pte, &ea), -1);
	/* PT is the 4th page (root, PDPT, PD, PT); index 2. */
	cr_assert_eq(ea, MEM_BASE + 3 * 4096 + 2 * 8);
	cr_assert_eq(pte, 0);
}

Test(pt_format, map_entry_installs_exact_value)
{
	const struct pt_format *f = &pt_x86_4;
	uint64_t root = fresh();
	uint64_t e = 0x9000 | X_P | X_US | X_A | (1ull << 9) | (1ull << 52);
	cr_assert_eq(pt_map_entry(f, &ops, root, 0x3000, 0, e), 0);
	uint64_t pte, ea;
	cr_assert_eq(pt_lookup(f, &ops, root, 0x3000, &pte, &ea), 0);
	cr_assert_eq(pte, e);
}

struct seen {
	unsigned n;
	uint64_t va[16];
	unsigned level[16];
	uint64_t pte[16];
};

static void collect(void *arg, uint64_t va, unsigned level, uint64_t pte, uint64_t ea)
{
	struct seen *s = arg;
	cr_assert_lt(s->n, 16u);
	cr_assert_eq(m_read(&mem, ea), pte, "entry address and value disagree");
	s->va[s->n] = va;
	s->level[s->n] = level;
	s->pte[s->n++] = pte;
}

ParameterizedTestParameters(pt_format, for_each_leaf)
{
	static unsigned fi[] = {0, 1, 2, 3, 4, 5};
	return cr_make_param_array(unsigned, fi, 6);
}

/* Leaves of every size, including one in the upper half, are each seen once,
 * in address order, with their sign-extended address. */
ParameterizedTest(unsigned *pf, pt_format, for_each_leaf)
{
	const struct pt_format *f = all[*pf];
	uint64_t root = fresh();
	uint64_t upper = f->levels == 5 ? 0xff00000000000000ull : 0xffff800000000000ull;
	const struct {
		uint64_t va, pa;
		enum page_size ps;
	} m[] = {
		{0x1000, 0x11000, PS_4K},
		{0x2000, 0x12000, PS_4K},
		{0x7fe00000ull, 0x600000, PS_2M},
		{0x140000000ull, 0xc0000000ull, PS_1G},
		{0x00007ffffffff000ull, 0x13000, PS_4K},
		{upper, 0x14000, PS_4K},
		{upper + 0x40000000ull, 0x800000, PS_2M},
	};
	for (unsigned i = 0; i < VM_ARRAY_SIZE(m); i++)
		cr_assert_eq(pt_map(f, &ops, root, m[i].va, m[i].pa, m[i].ps, PTE_PERM_U), 0,
			     "%s: map %u", f->name, i);
	struct seen s = {0};
	pt_for_each_leaf(f, &ops, root, collect, &s);
	cr_assert_eq(s.n, VM_ARRAY_SIZE(m), "%s: %u leaves", f->name, s.n);
	for (unsigned i = 0; i < s.n; i++) {
		cr_assert_eq(s.va[i], m[i].va, "%s leaf %u: va 0x%llx, want 0x%llx", f->name, i,
			     (unsigned long long)s.va[i], (unsigned long long)m[i].va);
		cr_assert_eq(s.level[i], (unsigned)m[i].ps);
		cr_assert_eq(pt_leaf_pa(f, s.pte[i], s.level[i], s.va[i]), m[i].pa);
	}
}
