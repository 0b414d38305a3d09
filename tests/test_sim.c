/*
 * test_sim.c - the native run loop: TLB reach, faults, PCIDs, huge pages,
 * and the functional check (every access's guest-physical address equals a
 * software walk of the guest's table).
 *
 * How the counts are worked out by hand.  A first touch of a page misses the
 * L1 and L2 TLBs and walks; the walk finds nothing, the guest kernel maps the
 * page, and the retried access misses both TLBs again and walks again.  So a
 * first touch costs 2 L1 misses, 2 L2 misses, 2 walks and 1 page fault; a
 * later touch of a page still in the L1 dTLB costs nothing.
 *
 * Default machine: L1 dTLB 64 entries x 4 ways (16 sets), STLB 1536 x 12
 * (128 sets), LRU; consecutive pages go to consecutive sets.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"
#include "workloads/wl.h"

#define KiB(n) ((uint64_t)(n) << 10)
#define MiB(n) ((uint64_t)(n) << 20)
#define GiB(n) ((uint64_t)(n) << 30)
#define REG 0x0000100000000000ull /* where stride maps: 16 TiB, 1 GiB aligned */
#define RW (VM_PROT_R | VM_PROT_W)


/* A native machine: defaults plus "section.key=value" overrides. */
static struct sim *mk(const char *const *ov, int n)
{
	struct cfg c;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&c, NULL, (char *const *)ov, n, &err), 0, "%s", err.msg);
	struct sim *s = sim_new(&c, &mmu_native, &err);
	cr_assert_not_null(s, "sim_new: %s", err.msg);
	return s;
}

static void run_wl(struct sim *s, const char *spec)
{
	static struct vm_event buf[1024];
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	struct vmerr err = {{0}};
	cr_assert_eq(wl_parse(spec, &d, p, &err), 0, "%s", err.msg);
	struct ev_sink sink = {.buf = buf, .cap = 1024, .flush = sim_consume, .arg = s};
	int rc = wl_generate(d, p, &sink);
	cr_assert_eq(rc, 0, "%s: %d %s", spec, rc, s->errmsg.msg);
	sim_finish(s);
}

/* Events built by hand. */
static struct vm_event ev[8192];
static size_t nev;

static void put(uint8_t kind, uint8_t op, uint32_t pid, uint64_t addr, uint64_t arg)
{
	cr_assert_lt(nev, sizeof ev / sizeof ev[0]);
	ev[nev++] = (struct vm_event){.kind = kind, .op = op, .size = 8, .pid = pid, .addr = addr,
				      .arg = arg};
}

static void touch(uint32_t pid, uint8_t op, uint64_t va, unsigned pages)
{
	for (unsigned i = 0; i < pages; i++)
		put(EV_ACCESS, op, pid, va + i * KiB(4), 0);
}

static void feed(struct sim *s)
{
	int rc = sim_consume(s, ev, nev);
	cr_assert_eq(rc, 0, "sim_consume: %d %s", rc, s->errmsg.msg);
	nev = 0;
}

#define EQ(field, want)                                                                        \
	cr_assert_eq(s->st.field, (uint64_t)(want), #field " = %llu, want %llu",               \
		     (unsigned long long)s->st.field, (unsigned long long)(want))

/* 32 pages fit the L1 dTLB (2 per set): only the first pass misses. */
Test(sim, stride_within_l1)
{
	const char *ov[] = {"memory.pte=fixed"}; /* 42 cycles per entry fetch */
	struct sim *s = mk(ov, 1);
	run_wl(s, "stride:pages=32,passes=10");
	EQ(accesses, 320);
	EQ(loads, 320);
	EQ(tlb_l1_misses, 64);
	EQ(tlb_l2_misses, 64);
	EQ(tlb_l2_hits, 0);
	EQ(walks, 64);
	EQ(page_faults, 32);
	EQ(faults_demand_4k, 32);
	EQ(tlb_l1_hits, 320 - 32);
	/* Page 0: 1 reference (empty PML4E), then 4.  Pages 1..31 start below a
	 * PDE-cache hit: 1 reference each, twice. */
	EQ(walk_refs, 1 + 4 + 31 * 2);
	EQ(pwc_hits_pde, 62);
	EQ(maps, 1);
	EQ(context_switches, 1);
	/* Cycles: 4 per access, 2500 per fault, 2000 for the switch and 1000 for
	 * the map, 42 per walk reference; L1 hits cost no extra; each of the 64
	 * L1 misses pays the 9-cycle STLB lookup before its walk. */
	EQ(cycles_base, 320 * 4);
	EQ(cycles_fault, 32 * 2500);
	EQ(cycles_os, 2000 + 1000);
	EQ(cycles_walk, 67 * 42);
	EQ(cycles_tlb, 64 * 9);
	cr_assert_eq(stats_cycles(&s->st), 1280 + 80000 + 3000 + 67 * 42 + 64 * 9);
	sim_free(s);
}

/* 1024 pages: too many for the L1 (64), few enough for the STLB (8 per set of
 * 12 ways).  Later passes miss the L1 and hit the L2 on every access. */
/* The L1 dTLB's LRU clock runs past its renumbering point while the
 * specialised hit loop is taking runs of hits: every stamp stays below
 * TLB_CLOCK_MAX (the victim search compares stamps as signed lanes) and
 * every counter equals a run whose clock started at 0.  Runs of hits over
 * 16 pages at a time walk round 80 pages, more than the 64-entry L1 holds,
 * so victims are chosen all along. */
static void clock_run(struct sim *s)
{
	const struct tlb *t = &s->cpu[0].l1d[0];
	put(EV_MAP, RW, 1, REG, KiB(4) * 80);
	feed(s);
	for (unsigned r = 0; r < 600; r++) {
		for (unsigned rep = 0; rep < 4; rep++)
			touch(1, EV_LOAD, REG + (r * 16 % 80) * KiB(4), 16);
		if (r % 2 == 0)
			continue; /* two groups a batch: a run of hits ends in a miss */
		feed(s);
		for (unsigned i = 0; i < t->sets * t->kstride; i++)
			cr_assert_leq(t->age[i], TLB_CLOCK_MAX + 1u, "round %u: stamp %u is 0x%x", r, i,
				      t->age[i]);
	}
	sim_finish(s);
}

Test(sim, l1_clock_renumbers_under_the_hit_loop)
{
	struct sim *a = mk(NULL, 0), *b = mk(NULL, 0);
	b->cpu[0].l1d[0].clock = TLB_CLOCK_MAX - 20000;
	clock_run(a);
	clock_run(b);
	cr_assert(memcmp(&a->st, &b->st, sizeof a->st) == 0, "counters differ across a renumbering");
	cr_assert_lt(b->cpu[0].l1d[0].clock, 100000u, "the clock was renumbered");
	cr_assert_gt(a->st.tlb_l1_hits, 20000, "hits: %llu", (unsigned long long)a->st.tlb_l1_hits);
	cr_assert_gt(a->st.tlb_l1_misses, 5000, "misses: %llu",
		     (unsigned long long)a->st.tlb_l1_misses);
	sim_free(a);
	sim_free(b);
}

Test(sim, stride_within_stlb)
{
	struct sim *s = mk(NULL, 0);
	run_wl(s, "stride:pages=1024,passes=3");
	EQ(accesses, 3072);
	EQ(tlb_l1_misses, 2048 + 2 * 1024);
	EQ(tlb_l2_hits, 2 * 1024);
	EQ(tlb_l2_hits_4k, 2 * 1024);
	EQ(tlb_l2_misses, 2048);
	EQ(tlb_l1_hits, 0);
	EQ(page_faults, 1024);
	EQ(cycles_tlb, (2048 + 2 * 1024) * 9); /* tlb.l2.latency = 9 per STLB lookup, hit or miss */
	sim_free(s);
}

/* 4096 pages > 1536 STLB entries (32 per 12-way set, in order): LRU keeps
 * nothing useful, so every access of a later pass misses the L2 too. */
Test(sim, stride_beyond_stlb)
{
	struct sim *s = mk(NULL, 0);
	run_wl(s, "stride:pages=4096,passes=3");
	EQ(accesses, 3 * 4096);
	EQ(page_faults, 4096);
	EQ(tlb_l2_misses, 2 * 4096 + 2 * 4096);
	EQ(tlb_l1_misses, 2 * 4096 + 2 * 4096);
	EQ(tlb_l2_hits, 0);
	EQ(walks, 4 * 4096);
	sim_free(s);
}

/* Stores: the fault already sets D, so no dirty assist. */
Test(sim, stride_stores)
{
	struct sim *s = mk(NULL, 0);
	run_wl(s, "stride:pages=32,passes=4,write=1");
	EQ(stores, 128);
	EQ(tlb_l1_misses, 64);
	EQ(dirty_assists, 0);
	sim_free(s);
}

/* A load maps the page clean; the first store through the TLB entry walks
 * again to set D (once), later stores hit. */
Test(sim, dirty_assist)
{
	struct sim *s = mk(NULL, 0);
	put(EV_MAP, RW, 1, REG, KiB(4));
	put(EV_ACCESS, EV_LOAD, 1, REG, 0);
	put(EV_ACCESS, EV_STORE, 1, REG + 8, 0);
	put(EV_ACCESS, EV_STORE, 1, REG + 16, 0);
	put(EV_ACCESS, EV_LOAD, 1, REG + 24, 0);
	feed(s);
	sim_finish(s);
	EQ(page_faults, 1);
	EQ(dirty_assists, 1);
	EQ(walks, 3);
	EQ(tlb_l1_hits, 2);
	struct gos_proc *p = gos_find(s->os, 1);
	uint64_t pte, ea;
	struct pt_mem_ops ops;
	gos_raw_ops(s->os, &ops);
	cr_assert_eq(pt_lookup(s->gfmt, &ops, p->cr3, REG, &pte, &ea), 0);
	cr_assert_eq(pte & 0x60, 0x60, "A and D set by the walks: 0x%llx", (unsigned long long)pte);
	sim_free(s);
}

/* Two processes at the same virtual pages, alternating with SWITCH events.
 * Warm-up: 8 first touches each = 32 L1 misses.  Then 5 rounds of
 * (switch to 1, 8 loads, switch to 2, 8 loads). */
static struct sim *pcid_run(const char *pcid)
{
	char key[32];
	snprintf(key, sizeof key, "tlb.pcid=%s", pcid);
	const char *ov[] = {key};
	struct sim *s = mk(ov, 1);
	sim_set_check(s, true, NULL, NULL); /* a stale entry of the other process would show */
	put(EV_MAP, RW, 1, REG, 8 * KiB(4));
	put(EV_MAP, RW, 2, REG, 8 * KiB(4));
	touch(1, EV_LOAD, REG, 8);
	touch(2, EV_LOAD, REG, 8);
	for (int r = 0; r < 5; r++) {
		put(EV_SWITCH, 0, 1, 0, 0);
		touch(1, EV_LOAD, REG, 8);
		put(EV_SWITCH, 0, 2, 0, 0);
		touch(2, EV_LOAD, REG, 8);
	}
	feed(s);
	sim_finish(s);
	cr_assert_eq(s->check_failures, 0, "tlb.pcid=%s: %llu accesses went to the wrong frame",
		     pcid, (unsigned long long)s->check_failures);
	return s;
}

Test(sim, pcid_on_entries_survive_switches)
{
	struct sim *s = pcid_run("on");
	EQ(context_switches, 4 + 10);
	EQ(cr3_writes, 4 + 10);
	EQ(tlb_flushes, 0);
	EQ(tlb_l1_misses, 32);
	EQ(tlb_l2_misses, 32);
	EQ(accesses, 16 + 80);
	EQ(tlb_l1_hits, 80);
	sim_free(s);
}

Test(sim, pcid_off_every_switch_flushes)
{
	struct sim *s = pcid_run("off");
	EQ(context_switches, 4 + 10);
	EQ(tlb_flushes, 4 + 10);
	/* Every round: 16 loads right after a flush, each missing L1 and L2. */
	EQ(tlb_l1_misses, 32 + 5 * 16);
	EQ(tlb_l2_misses, 32 + 5 * 16);
	EQ(tlb_l1_hits, 0);
	EQ(page_faults, 16);
	sim_free(s);
}

/* guest.page=2m: 512 4 KiB pages in one aligned 2 MiB region are one fault
 * and one 2 MiB TLB entry. */
Test(sim, huge_page_one_fault)
{
	const char *ov[] = {"guest.page=2m"};
	struct sim *s = mk(ov, 1);
	run_wl(s, "stride:pages=512,passes=2");
	EQ(page_faults, 1);
	EQ(faults_demand_2m, 1);
	EQ(faults_demand_4k, 0);
	EQ(tlb_l1_misses, 2);
	EQ(tlb_l2_misses, 2);
	EQ(tlb_l2_misses_2m, 1);
	EQ(tlb_l1_hits_2m, 1024 - 1);
	struct physmem_usage u;
	physmem_usage(s->gpm, &u);
	cr_assert_eq(u.frames[PS_2M], 1);
	cr_assert_eq(u.frames[PS_4K], 0);
	sim_free(s);
}

static void count_access(void *arg, uint32_t pid, gva_t va, gpa_t gpa) { ++*(uint64_t *)arg; }

static void checked(const char *const *ov, int n, const char *spec)
{
	struct sim *s = mk(ov, n);
	uint64_t seen = 0;
	sim_set_check(s, true, count_access, &seen);
	run_wl(s, spec);
	cr_assert_eq(s->check_failures, 0, "%s: %llu wrong translations", spec,
		     (unsigned long long)s->check_failures);
	cr_assert_eq(seen, s->st.accesses, "%s: %llu accesses checked of %llu", spec,
		     (unsigned long long)seen, (unsigned long long)s->st.accesses);
	cr_assert_gt(seen, 0);
	sim_free(s);
}

Test(sim, check_stride_and_gups)
{
	checked(NULL, 0, "stride:pages=3000,passes=2,write=1");
	checked(NULL, 0, "gups:mb=16,updates=30000");
	const char *big[] = {"guest.page=2m"};
	checked(big, 1, "gups:mb=16,updates=30000");
	const char *l5[] = {"guest.levels=5", "tlb.pcid=off", "pwc.enabled=off"};
	checked(l5, 3, "gups:mb=8,updates=20000,seed=7");
}

/* fork, COW in both directions, unmap, protect, a refused store and two
 * exits, all checked against software walks. */
Test(sim, check_fork_cow_unmap_protect_exit)
{
	struct sim *s = mk(NULL, 0);
	uint64_t seen = 0;
	sim_set_check(s, true, count_access, &seen);
	put(EV_MAP, RW, 1, REG, 64 * KiB(4));
	touch(1, EV_STORE, REG, 64);                   /* 64 demand faults */
	put(EV_FORK, 0, 1, 0, 2);
	touch(1, EV_LOAD, REG, 64);
	touch(2, EV_STORE, REG, 16);                   /* 16 COW copies */
	touch(1, EV_STORE, REG, 8);                    /* 8 COW faults, last sharer */
	touch(2, EV_LOAD, REG, 64);
	put(EV_UNMAP, 0, 1, REG + 32 * KiB(4), 8 * KiB(4));
	touch(1, EV_LOAD, REG + 40 * KiB(4), 24);
	put(EV_PROTECT, VM_PROT_R, 2, REG, 64 * KiB(4));
	touch(2, EV_LOAD, REG, 64);
	put(EV_ACCESS, EV_STORE, 2, REG + 8, 0);       /* refused */
	put(EV_EXIT, 0, 2, 0, 0);
	touch(1, EV_LOAD, REG, 32);
	put(EV_EXIT, 0, 1, 0, 0);
	feed(s);
	sim_finish(s);
	cr_assert_eq(s->check_failures, 0, "%llu wrong translations",
		     (unsigned long long)s->check_failures);
	EQ(faults_cow, 16 + 8);
	EQ(faults_segv, 1);
	EQ(page_faults, 64 + 16 + 8);
	EQ(forks, 1);
	EQ(exits, 2);
	EQ(accesses, 64 + 64 + 16 + 8 + 64 + 24 + 64 + 1 + 32);
	cr_assert_eq(seen, s->st.accesses - 1, "every access but the refused one is checked");
	struct physmem_usage u;
	physmem_usage(s->gpm, &u);
	cr_assert_eq(u.frames[PS_4K] + u.frames[PS_2M] + u.frames[PS_1G], 0);
	cr_assert_eq(u.table_pages, 0);
	sim_free(s);
}

Test(sim, fetch_uses_the_itlb)
{
	struct sim *s = mk(NULL, 0);
	put(EV_MAP, VM_PROT_R | VM_PROT_X, 1, REG, 4 * KiB(4));
	put(EV_MAP, RW, 1, REG + GiB(1), 4 * KiB(4));
	touch(1, EV_FETCH, REG, 4);
	touch(1, EV_FETCH, REG, 4);
	put(EV_ACCESS, EV_FETCH, 1, REG + GiB(1), 0); /* not executable */
	feed(s);
	sim_finish(s);
	EQ(fetches, 9);
	EQ(tlb_l1i_misses, 8 + 1); /* the refused fetch misses too, then faults */
	EQ(tlb_l1d_misses, 0);
	EQ(page_faults, 4);
	EQ(faults_segv, 1);
	EQ(tlb_l1_hits, 4);
	sim_free(s);
}

/* Switching without PCIDs flushes; an exit frees the process's memory. */
Test(sim, exit_returns_memory)
{
	struct sim *s = mk(NULL, 0);
	put(EV_MAP, RW, 1, REG, 100 * KiB(4));
	touch(1, EV_STORE, REG, 100);
	put(EV_EXIT, 0, 1, 0, 0);
	feed(s);
	struct physmem_usage u;
	physmem_usage(s->gpm, &u);
	cr_assert_eq(u.frames[PS_4K], 0);
	cr_assert_eq(u.table_pages, 0);
	cr_assert_null(gos_find(s->os, 1));
	/* The same pid again is a new, empty process: its first touch faults. */
	put(EV_ACCESS, EV_LOAD, 1, 0x400000, 0);
	feed(s);
	EQ(page_faults, 101);
	sim_free(s);
}

Test(sim, bad_events_are_errors)
{
	struct sim *s = mk(NULL, 0);
	put(EV_ACCESS, 7, 1, REG, 0);
	cr_assert_eq(sim_consume(s, ev, nev), VM_EINPUT);
	cr_assert_not_null(strstr(s->errmsg.msg, "invalid operation"), "%s", s->errmsg.msg);
	nev = 0;
	cr_assert_eq(sim_consume(s, ev, 0), VM_EINPUT, "errors are sticky");
	sim_free(s);

	s = mk(NULL, 0);
	put(EV_EXIT, 0, 9, 0, 0);
	cr_assert_eq(sim_consume(s, ev, nev), VM_EINPUT);
	nev = 0;
	sim_free(s);

	s = mk(NULL, 0);
	put(EV_FORK, 0, 1, 0, 1); /* a child with the parent's pid */
	cr_assert_eq(sim_consume(s, ev, nev), VM_EINPUT);
	nev = 0;
	sim_free(s);
}

/* guest.mem_gb=1 is a valid configuration; a 32-page stride fits easily. */
Test(sim, one_gib_guest_runs)
{
	const char *ov[] = {"guest.mem_gb=1"};
	struct sim *s = mk(ov, 1);
	static struct vm_event buf[256];
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	cr_assert_eq(wl_parse("stride:pages=32,passes=1", &d, p, NULL), 0);
	struct ev_sink sink = {.buf = buf, .cap = 256, .flush = sim_consume, .arg = s};
	int rc = wl_generate(d, p, &sink);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, s->errmsg.msg);
	sim_free(s);
}

/* With no L1 array for 1 GiB pages, a 1 GiB translation lives in the L2
 * only; the functional check must still work on an L2 hit. */
Test(sim, check_with_l2_only_1g)
{
	const char *ov[] = {"guest.page=1g", "tlb.l1d_1g.entries=0"};
	struct sim *s = mk(ov, 2);
	sim_set_check(s, true, NULL, NULL);
	put(EV_MAP, RW, 1, REG, GiB(1));
	put(EV_ACCESS, EV_LOAD, 1, REG, 0);
	put(EV_ACCESS, EV_LOAD, 1, REG + MiB(5), 0);
	feed(s);
	sim_finish(s);
	EQ(tlb_l2_hits_1g, 1);
	cr_assert_eq(s->check_failures, 0);
	sim_free(s);
}
