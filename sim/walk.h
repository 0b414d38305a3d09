/*
 * walk.h - the one page walker, for every format and both dimensions.
 *
 * walk_run() walks one table from a start level down to a leaf.  It reads
 * each entry through a struct walk_io, so the same loop serves a native
 * walk (entries read from physical memory), a shadow-table walk, and the
 * guest dimension of a two-dimensional walk, whose fetch hook first
 * translates the entry's guest-physical address through the host table
 * (itself a walk_run) and records those references too.  The reference
 * count of a 2D walk therefore falls out of the code.
 *
 * A struct walk_rec records every memory reference in order:
 *
 *   ref[i] = { dim (guest/host), level, table, entry address, entry value,
 *              where it was served, its cycles }
 */
#ifndef VMSIM_WALK_H
#define VMSIM_WALK_H

#include "pt_format.h"

#define WALK_MAX_REFS 48 /* (5+1)*(5+1)-1 = 35 for a 5/5 2D walk, plus slack */
#define WALK_MAX_NOTES 16

enum walk_dim { WALK_GUEST = 0, WALK_HOST = 1, WALK_SHADOW = 2 };

/* Where one reference was served. */
enum walk_src { WS_L1 = 0, WS_L2, WS_L3, WS_MEM, WS_FIXED, WS_COUNT };

struct walk_ref {
	uint8_t dim, level, src, pad;
	uint32_t cycles;
	uint64_t table;      /* table base, in the walked table's address space */
	uint64_t entry_addr; /* entry address, in the same space */
	uint64_t entry_pa;   /* physical address actually read (host-physical in 2D walks) */
	uint64_t value;
};

/* Notes attached to a walk for the explanation (walk command). */
struct walk_note {
	uint8_t dim;
	int8_t pwc_level;  /* level of the PWC hit the walk started below, -1 none */
	int8_t ntlb_hit;   /* 2D: 1 if the final gPA came from the nested TLB */
	uint64_t addr;     /* the address this walk translated */
};

struct walk_rec {
	unsigned n;
	unsigned nnotes;
	unsigned max_refs, max_notes; /* 0: count nothing, keep nothing (the run loop) */
	struct walk_ref ref[WALK_MAX_REFS];
	struct walk_note note[WALK_MAX_NOTES];
};

/* Start a record that keeps every reference (walk command, tests). */
static inline void walk_rec_reset(struct walk_rec *r)
{
	r->n = r->nnotes = 0;
	r->max_refs = WALK_MAX_REFS;
	r->max_notes = WALK_MAX_NOTES;
}

/* A record that keeps nothing: the run loop's walks are charged and
 * counted, but nobody reads their references, and writing a 48-byte
 * record per reference was a tenth of a nested walk's instructions. */
static inline void walk_rec_quiet(struct walk_rec *r) { r->n = r->nnotes = r->max_refs = r->max_notes = 0; }

static inline bool walk_rec_note(struct walk_rec *r) { return r->nnotes < r->max_notes; }

struct walk_io {
	/* Read the entry at entry_addr (in the walked table's space) for a
	 * reference at level; record it (and any inner references) in rec.
	 * 0, or a negative code if the inner dimension faulted. */
	int (*fetch)(void *arg, uint64_t table, uint64_t entry_addr, unsigned level, uint64_t *val,
		     struct walk_rec *rec);
	/* Write back an entry whose A or D bit the walk set. */
	void (*store)(void *arg, uint64_t entry_addr, uint64_t val);
	void *arg;
};

/* Access rights a walk checks, as PTE_PERM_* bits: what the access needs. */
enum walk_fault { WALK_OK = 0, WALK_NOT_PRESENT = 1, WALK_PROTECTION = 2, WALK_INNER = 3 };

struct walk_out {
	enum walk_fault fault;
	int inner_rc;          /* WALK_INNER: the fetch hook's code */
	unsigned level;        /* leaf level, or the level that faulted */
	uint64_t leaf;         /* leaf entry value (after A/D updates) */
	uint64_t leaf_addr;    /* leaf entry address */
	uint64_t pa;           /* translated address */
	unsigned perms;        /* PTE_PERM_* combined over the levels */
	uint64_t next_table[PT_MAX_LEVELS]; /* [L]: table the level-L entry pointed to, for PWC fills */
	unsigned top;          /* level the walk started at */
};

/*
 * Walk va from `table` at `level` (the level whose table that is) down to a
 * leaf.  need: PTE_PERM_W / _U / _X the access requires.  With set_ad, A is
 * set in every entry used and D in the leaf when need has W, as x86
 * hardware does, written back through io->store.
 */
void walk_run(const struct pt_format *f, uint64_t table, unsigned level, uint64_t va,
	      unsigned need, bool set_ad, const struct walk_io *io, struct walk_rec *rec,
	      struct walk_out *out);

/* The same walk, inline: where io is a constant of the caller, the fetch
 * and store hooks become direct calls the compiler can inline (the nested
 * walk's hot path; walk.c's notes say how the walk works). */
static inline __attribute__((always_inline)) void
walk_run_inline(const struct pt_format *f, uint64_t table, unsigned level, uint64_t va,
		unsigned need, bool set_ad, const struct walk_io *io, struct walk_rec *rec,
		struct walk_out *out)
{
	uint64_t entry_addr[PT_MAX_LEVELS], entry[PT_MAX_LEVELS];
	uint64_t all = ~UINT64_C(0), any = 0; /* AND and OR of the entries on the path */
	unsigned top = level;

	out->top = top;
	for (;;) {
		uint64_t ea = table + pt_index(f, va, level) * PT_ENTRY_SIZE;
		uint64_t e;
		int rc = io->fetch(io->arg, table, ea, level, &e, rec);
		if (rc < 0) {
			out->fault = WALK_INNER;
			out->inner_rc = rc;
			out->level = level;
			return;
		}
		entry_addr[level] = ea;
		entry[level] = e;
		if (!pt_is_present(f, e)) {
			out->fault = WALK_NOT_PRESENT;
			out->level = level;
			out->leaf = e;
			out->leaf_addr = ea;
			return;
		}
		all &= e;
		any |= e;
		if (pt_is_leaf(f, e, level))
			break;
		table = pt_next_table(f, e);
		out->next_table[level] = table;
		level--;
	}

	uint64_t leaf = entry[level];
	out->level = level;
	out->leaf_addr = entry_addr[level];
	out->perms = pt_perms_path(f, all, any) | pt_perms_gad(f, leaf);
	out->pa = pt_leaf_pa(f, leaf, level, va);
	if ((out->perms & need) != need) {
		out->fault = WALK_PROTECTION;
		out->leaf = leaf;
		return;
	}
	if (set_ad) {
		for (unsigned l = top; l > level; l--)
			if (!(entry[l] & f->accessed))
				io->store(io->arg, entry_addr[l], entry[l] | f->accessed);
		uint64_t nl = leaf | f->accessed;
		if (need & PTE_PERM_W)
			nl |= f->dirty;
		if (nl != leaf) {
			io->store(io->arg, entry_addr[level], nl);
			leaf = nl;
		}
		out->perms |= pt_perms_gad(f, leaf) & (PTE_PERM_A | PTE_PERM_D);
	}
	out->leaf = leaf;
	out->fault = WALK_OK;
}

#endif
