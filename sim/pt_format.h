/*
 * pt_format.h - page-table formats as const data, and a table builder that
 * works over any memory.
 *
 * Notes:
 *  - One struct pt_format describes one radix page-table format: how many
 *    levels, which levels may hold leaves, where each bit lives.  x86-64
 *    4-level and 5-level (LA57) paging, Intel EPT and AMD NPT are instances.
 *    Bit positions: Intel SDM Vol. 3A, 4.5 (4-level and 5-level paging,
 *    Tables 4-15 to 4-20) and 29.3.2 (EPT entries, Tables 29-1 to 29-6);
 *    AMD APM Vol. 2, 5.3 (long-mode page translation) and 15.25 (nested
 *    paging: the host table uses the long-mode format, and every guest access
 *    is checked as a user access, so host entries carry U=1).
 *  - Levels are numbered from the leaf: level 0 is the PT (4 KiB leaves),
 *    1 the PD (2 MiB), 2 the PDPT (1 GiB), 3 the PML4, 4 the PML5.  Each
 *    level indexes 9 bits of the address; entries are 8 bytes.
 *  - What differs between formats is data (the masks) plus two predicates:
 *    "is this entry present" (x86: P; EPT: any of R/W/X) and the permission
 *    encoding (x86: RW, US, NX; EPT: W, X, and R as the present bit).
 *
 *   x86-64 entry                       EPT entry
 *   63  62:52 51:12  8 7  6 5 ... 2 1 0   63 ... 51:12  10 9 8  7  6  5:3  2 1 0
 *   NX  ign   addr   G PS D A     US RW P     ign  addr  UX D A  PS IPAT MT X W R
 */
#ifndef VMSIM_PT_FORMAT_H
#define VMSIM_PT_FORMAT_H

#include "types.h"

#define PT_MAX_LEVELS 5
#define PT_ENTRIES 512u
#define PT_ENTRY_SIZE 8u

/* Permissions in format-independent form, for building and checking. */
enum {
	PTE_PERM_W = 1u << 0, /* writable */
	PTE_PERM_U = 1u << 1, /* user-accessible (x86 US; always set on EPT) */
	PTE_PERM_X = 1u << 2, /* executable (x86: NX clear; EPT: X set) */
	PTE_PERM_G = 1u << 3, /* global (x86 leaves only) */
	PTE_PERM_A = 1u << 4, /* build the entry with Accessed already set */
	PTE_PERM_D = 1u << 5, /* build the leaf with Dirty already set */
};

enum pt_kind { PT_X86 = 0, PT_EPT = 1, PT_NPT = 2 };

struct pt_format {
	const char *name;     /* "x86-64-4", "x86-64-5", "ept-4", "npt-5", ... */
	enum pt_kind kind;
	unsigned levels;      /* 4 or 5 */
	unsigned va_bits;     /* 48 or 57 */
	unsigned leaf_levels; /* bit L set: level L may map a leaf */
	uint64_t addr_mask;   /* bits 51:12: next table or 4 KiB frame */
	uint64_t present;     /* x86: P; EPT: R|W|X (any set means present) */
	uint64_t write;
	uint64_t user;        /* 0 on EPT */
	uint64_t exec;        /* EPT X: set means executable */
	uint64_t nx;          /* x86 NX: set means not executable */
	uint64_t accessed;
	uint64_t dirty;
	uint64_t huge;        /* PS */
	uint64_t global;      /* 0 on EPT/NPT host tables */
	uint64_t leaf_extra;  /* bits every leaf carries (EPT: memory type WB) */
	uint64_t table_bits;  /* bits every non-leaf entry carries */
};

extern const struct pt_format pt_x86_4, pt_x86_5, pt_ept_4, pt_ept_5, pt_npt_4, pt_npt_5;

/* The format of a kind with 4 or 5 levels; NULL if there is none. */
const struct pt_format *pt_format_get(enum pt_kind kind, unsigned levels);

static inline unsigned pt_level_shift(unsigned level) { return 12u + 9u * level; }

static inline unsigned pt_index(const struct pt_format *f, uint64_t va, unsigned level)
{
	(void)f;
	return (unsigned)(va >> pt_level_shift(level)) & (PT_ENTRIES - 1);
}

static inline bool pt_is_present(const struct pt_format *f, uint64_t pte)
{
	return (pte & f->present) != 0;
}

/* A present entry at this level maps a leaf (level 0 always; higher levels
 * when PS is set and the format allows a leaf there). */
static inline bool pt_is_leaf(const struct pt_format *f, uint64_t pte, unsigned level)
{
	return level == 0 || ((pte & f->huge) && (f->leaf_levels & (1u << level)));
}

static inline uint64_t pt_next_table(const struct pt_format *f, uint64_t pte)
{
	return pte & f->addr_mask;
}

/* Physical address that a leaf entry at level maps va to. */
static inline uint64_t pt_leaf_pa(const struct pt_format *f, uint64_t pte, unsigned level,
				  uint64_t va)
{
	uint64_t off = (1ull << pt_level_shift(level)) - 1;
	return (pte & f->addr_mask & ~off) | (va & off);
}

/* PTE_PERM_* of a present entry (A and D reported from the entry).  EPT
 * has no U/S bit: every EPT mapping counts as user.  x86 and NPT mark
 * "not executable" (NX), EPT "executable" (X).  Inline, without branches
 * on the entry: the walker calls it at every level. */
static inline unsigned pt_perms(const struct pt_format *f, uint64_t pte)
{
	unsigned u = f->user ? (pte & f->user) != 0 : 1;
	unsigned x = f->nx ? (pte & f->nx) == 0 : (pte & f->exec) != 0;
	return ((pte & f->write) != 0) * PTE_PERM_W | u * PTE_PERM_U | x * PTE_PERM_X |
	       ((pte & f->global) != 0) * PTE_PERM_G | ((pte & f->accessed) != 0) * PTE_PERM_A |
	       ((pte & f->dirty) != 0) * PTE_PERM_D;
}

/* PTE_PERM_W, _U and _X of a path of entries, given the AND and the OR of
 * their values: W and U only if every entry has them, X only if none has
 * NX (x86, NPT) or every one has X (EPT), as walk.c combines them. */
static inline unsigned pt_perms_path(const struct pt_format *f, uint64_t all, uint64_t any)
{
	unsigned u = f->user ? (all & f->user) != 0 : 1;
	unsigned x = f->nx ? (any & f->nx) == 0 : (all & f->exec) != 0;
	return ((all & f->write) != 0) * PTE_PERM_W | u * PTE_PERM_U | x * PTE_PERM_X;
}

/* pt_perms(f, pte) & (PTE_PERM_G | PTE_PERM_A | PTE_PERM_D), without the rest. */
static inline unsigned pt_perms_gad(const struct pt_format *f, uint64_t pte)
{
	return ((pte & f->global) != 0) * PTE_PERM_G | ((pte & f->accessed) != 0) * PTE_PERM_A |
	       ((pte & f->dirty) != 0) * PTE_PERM_D;
}

/* A non-leaf entry pointing at a table, with full permissions (the leaf
 * decides), as Linux and KVM build upper levels. */
uint64_t pt_make_table(const struct pt_format *f, uint64_t table_pa);

/* A leaf at level (0, 1 or 2) mapping pa with perms.  pa must be aligned
 * to the level's size. */
uint64_t pt_make_leaf(const struct pt_format *f, uint64_t pa, unsigned level, unsigned perms);

/* Canonical check: va fits the format's virtual address width. */
bool pt_va_canonical(const struct pt_format *f, uint64_t va);

/*
 * Building tables over any memory: the simulator's sparse physical memory,
 * the KVM harness's guest RAM.  Entries are read and written through these
 * hooks only, so a builder sees every page-table write.
 */
struct pt_mem_ops {
	uint64_t (*read)(void *arg, uint64_t entry_pa);
	void (*write)(void *arg, uint64_t entry_pa, uint64_t val);
	/* A new zero-filled table page; 0 or a negative code. */
	int (*alloc_table)(void *arg, uint64_t *table_pa);
	void *arg;
};

/*
 * Map va -> pa as a leaf of size ps under root, creating missing tables.
 * Returns 0; VM_EINPUT if a larger leaf already covers va, or a smaller
 * mapping's table sits where a large leaf should go; or the alloc error.
 * An existing leaf of the same size is overwritten.
 */
int pt_map(const struct pt_format *f, const struct pt_mem_ops *m, uint64_t root, uint64_t va,
	   uint64_t pa, enum page_size ps, unsigned perms);

/* Like pt_map, but install an exact leaf entry value at level (for copying
 * entries, e.g. fork). */
int pt_map_entry(const struct pt_format *f, const struct pt_mem_ops *m, uint64_t root,
		 uint64_t va, unsigned level, uint64_t entry);

/*
 * Look va up without side effects.  Returns the leaf level (0..2) and
 * fills *pte and *entry_pa, or -1 if not mapped (then *entry_pa is the
 * non-present entry's address and *pte its value, or 0 if a table was
 * missing higher up).
 */
int pt_lookup(const struct pt_format *f, const struct pt_mem_ops *m, uint64_t root, uint64_t va,
	      uint64_t *pte, uint64_t *entry_pa);

/* Call fn for every present leaf under root, in address order. */
void pt_for_each_leaf(const struct pt_format *f, const struct pt_mem_ops *m, uint64_t root,
		      void (*fn)(void *arg, uint64_t va, unsigned level, uint64_t pte,
				 uint64_t entry_pa),
		      void *arg);

#endif
