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
	walk_run_inline(f, table, level, va, need, set_ad, io, rec, out);
}
