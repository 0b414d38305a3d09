/*
 * pt_format.c - the x86-64, EPT and NPT formats and the generic builder.
 *
 * Notes:
 *  - Bit positions: Intel SDM Vol. 3A 4.5 and 29.3.2; AMD APM Vol. 2 5.3.
 *  - MAXPHYADDR is taken as 52, the architectural maximum, so addr_mask is
 *    bits 51:12.  Machines with fewer physical bits would reserve the top
 *    ones; the simulator never allocates that high.
 *  - EPT leaves carry memory type WB (6, bits 5:3), as KVM sets for RAM.
 *  - 1 GiB leaves are allowed at level 2 in every format (x86 needs
 *    CPUID.80000001H:EDX.Page1GB; EPT needs IA32_VMX_EPT_VPID_CAP bit 17).
 */
#include "pt_format.h"

#include "error.h"

#define BIT(n) (1ull << (n))
#define ADDR_52 0x000ffffffffff000ull

#define X86_FORMAT(nm, lv, vab, kd)                                                           \
	{                                                                                     \
		.name = nm, .kind = kd, .levels = lv, .va_bits = vab, .leaf_levels = 0x7,     \
		.addr_mask = ADDR_52, .present = BIT(0), .write = BIT(1), .user = BIT(2),     \
		.exec = 0, .nx = BIT(63), .accessed = BIT(5), .dirty = BIT(6),                \
		.huge = BIT(7), .global = (kd) == PT_X86 ? BIT(8) : 0, .leaf_extra = 0,       \
		.table_bits = BIT(0) | BIT(1) | BIT(2),                                       \
	}

/* EPT: R W X in bits 0..2; present means any of them (SDM 29.3.2). */
#define EPT_FORMAT(nm, lv, vab)                                                               \
	{                                                                                     \
		.name = nm, .kind = PT_EPT, .levels = lv, .va_bits = vab, .leaf_levels = 0x7, \
		.addr_mask = ADDR_52, .present = BIT(0) | BIT(1) | BIT(2), .write = BIT(1),   \
		.user = 0, .exec = BIT(2), .nx = 0, .accessed = BIT(8), .dirty = BIT(9),      \
		.huge = BIT(7), .global = 0, .leaf_extra = 6ull << 3,                         \
		.table_bits = BIT(0) | BIT(1) | BIT(2),                                       \
	}

const struct pt_format pt_x86_4 = X86_FORMAT("x86-64-4", 4, 48, PT_X86);
const struct pt_format pt_x86_5 = X86_FORMAT("x86-64-5", 5, 57, PT_X86);
const struct pt_format pt_npt_4 = X86_FORMAT("npt-4", 4, 48, PT_NPT);
const struct pt_format pt_npt_5 = X86_FORMAT("npt-5", 5, 57, PT_NPT);
const struct pt_format pt_ept_4 = EPT_FORMAT("ept-4", 4, 48);
const struct pt_format pt_ept_5 = EPT_FORMAT("ept-5", 5, 57);

const struct pt_format *pt_format_get(enum pt_kind kind, unsigned levels)
{
	static const struct pt_format *const tab[3][2] = {
		{&pt_x86_4, &pt_x86_5}, {&pt_ept_4, &pt_ept_5}, {&pt_npt_4, &pt_npt_5}};
	if ((unsigned)kind > PT_NPT || (levels != 4 && levels != 5))
		return NULL;
	return tab[kind][levels - 4];
}

uint64_t pt_make_table(const struct pt_format *f, uint64_t table_pa)
{
	return (table_pa & f->addr_mask) | f->table_bits;
}

uint64_t pt_make_leaf(const struct pt_format *f, uint64_t pa, unsigned level, unsigned perms)
{
	uint64_t e = (pa & f->addr_mask) | f->leaf_extra;
	if (f->kind == PT_EPT)
		e |= BIT(0); /* readable: every mapping of RAM is */
	else
		e |= f->present;
	if (perms & PTE_PERM_W)
		e |= f->write;
	if (perms & PTE_PERM_U)
		e |= f->user;
	if (perms & PTE_PERM_X)
		e |= f->exec;
	else
		e |= f->nx;
	if (perms & PTE_PERM_G)
		e |= f->global;
	if (perms & PTE_PERM_A)
		e |= f->accessed;
	if (perms & PTE_PERM_D)
		e |= f->dirty;
	if (level > 0)
		e |= f->huge;
	return e;
}

bool pt_va_canonical(const struct pt_format *f, uint64_t va)
{
	/* Bits 63:va_bits-1 must all equal bit va_bits-1. */
	int64_t s = (int64_t)(va << (64 - f->va_bits)) >> (64 - f->va_bits);
	return (uint64_t)s == va;
}

int pt_map(const struct pt_format *f, const struct pt_mem_ops *m, uint64_t root, uint64_t va,
	   uint64_t pa, enum page_size ps, unsigned perms)
{
	return pt_map_entry(f, m, root, va, (unsigned)ps, pt_make_leaf(f, pa, (unsigned)ps, perms));
}

int pt_map_entry(const struct pt_format *f, const struct pt_mem_ops *m, uint64_t root,
		 uint64_t va, unsigned leaf, uint64_t entry)
{
	uint64_t table = root;

	for (unsigned level = f->levels - 1; level > leaf; level--) {
		uint64_t ea = table + pt_index(f, va, level) * PT_ENTRY_SIZE;
		uint64_t e = m->read(m->arg, ea);
		if (!pt_is_present(f, e)) {
			uint64_t t;
			int rc = m->alloc_table(m->arg, &t);
			if (rc < 0)
				return rc;
			e = pt_make_table(f, t);
			m->write(m->arg, ea, e);
		} else if (pt_is_leaf(f, e, level)) {
			return VM_EINPUT; /* a larger page already maps va */
		}
		table = pt_next_table(f, e);
	}
	uint64_t ea = table + pt_index(f, va, leaf) * PT_ENTRY_SIZE;
	uint64_t old = m->read(m->arg, ea);
	if (leaf > 0 && pt_is_present(f, old) && !pt_is_leaf(f, old, leaf))
		return VM_EINPUT; /* a table of smaller pages is in the way */
	m->write(m->arg, ea, entry);
	return 0;
}

int pt_lookup(const struct pt_format *f, const struct pt_mem_ops *m, uint64_t root, uint64_t va,
	      uint64_t *pte, uint64_t *entry_pa)
{
	uint64_t table = root;
	for (int level = (int)f->levels - 1; level >= 0; level--) {
		uint64_t ea = table + pt_index(f, va, (unsigned)level) * PT_ENTRY_SIZE;
		uint64_t e = m->read(m->arg, ea);
		*entry_pa = ea;
		*pte = e;
		if (!pt_is_present(f, e))
			return -1;
		if (pt_is_leaf(f, e, (unsigned)level))
			return level;
		table = pt_next_table(f, e);
	}
	return -1; /* not reached: level 0 is always a leaf */
}

static void for_each(const struct pt_format *f, const struct pt_mem_ops *m, uint64_t table,
		     unsigned level, uint64_t va_base,
		     void (*fn)(void *, uint64_t, unsigned, uint64_t, uint64_t), void *arg)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uint64_t ea = table + i * PT_ENTRY_SIZE;
		uint64_t e = m->read(m->arg, ea);
		if (!pt_is_present(f, e))
			continue;
		uint64_t va = va_base | ((uint64_t)i << pt_level_shift(level));
		if (level == f->levels - 1 && (va >> (f->va_bits - 1)) & 1)
			va |= ~0ull << f->va_bits; /* sign-extend the upper half */
		if (pt_is_leaf(f, e, level))
			fn(arg, va, level, e, ea);
		else
			for_each(f, m, pt_next_table(f, e), level - 1, va, fn, arg);
	}
}

void pt_for_each_leaf(const struct pt_format *f, const struct pt_mem_ops *m, uint64_t root,
		      void (*fn)(void *arg, uint64_t va, unsigned level, uint64_t pte,
				 uint64_t entry_pa),
		      void *arg)
{
	for_each(f, m, root, f->levels - 1, 0, fn, arg);
}
