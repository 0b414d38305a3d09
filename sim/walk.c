/*
 * walk.c - the generic page walker.
 *
 * Notes:
 *  - Permissions are combined over the levels the way x86 does for user
 *    accesses with CR0.WP=1: writable only if every level has RW, user only
 *    if every level has US, executable only if no level has NX (Intel SDM
 *    Vol. 3A 4.6).  EPT combines R/W/X over the levels the same way (29.3.3).
 *  - A is set in every paging-structure entry used and D in the leaf of a
 *    write (SDM 4.8); the walker only does so when the translation succeeds,
 *    a simplification of hardware, which may set A on upper levels of a walk
 *    that then faults.
 */
#include "walk.h"

void walk_run(const struct pt_format *f, uint64_t table, unsigned level, uint64_t va,
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
