/*
 * test_modes.c - the virtualized MMU models (issue 3): 2D walk reference
 * counts, the shadow-paging interventions, page-table-write traps, VPID,
 * and functional equivalence of every mode.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

#define BASE 0x100000000000ull
#define LOAD(a) {.kind = EV_ACCESS, .op = EV_LOAD, .size = 8, .pid = 1, .addr = (a)}
#define STORE(a) {.kind = EV_ACCESS, .op = EV_STORE, .size = 8, .pid = 1, .addr = (a)}
#define MAP(a, l) {.kind = EV_MAP, .op = VM_PROT_R | VM_PROT_W, .pid = 1, .addr = (a), .arg = (l)}

/* ---- the cold 2D walk ---- */

struct walk_case {
	unsigned g, h;
	char hpage[3];
	unsigned refs; /* worked out by hand: (n+1)(m+1)-1, minus what large host leaves skip */
};

/*
 * With every cache off, each of the n guest references and the final gPA
 * needs a host walk of m references, or m-1 / m-2 when the host maps the
 * block with a 2 MiB / 1 GiB leaf: refs = n + (n+1) * host walk length.
 */
static struct walk_case cases[] = {
	{4, 4, "4k", 24}, {4, 4, "2m", 19}, {4, 4, "1g", 14},
	{4, 5, "4k", 29}, {4, 5, "2m", 24}, {4, 5, "1g", 19},
	{5, 4, "4k", 29}, {5, 4, "2m", 23}, {5, 4, "1g", 17},
	{5, 5, "4k", 35}, {5, 5, "2m", 29}, {5, 5, "1g", 23},
};

ParameterizedTestParameters(modes, cold_2d_walk_refs)
{
	return cr_make_param_array(struct walk_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct walk_case *wc, modes, cold_2d_walk_refs)
{
	char g[32], h[32], hp[32];
	snprintf(g, sizeof g, "guest.levels=%u", wc->g);
	snprintf(h, sizeof h, "host.levels=%u", wc->h);
	snprintf(hp, sizeof hp, "host.page=%s", wc->hpage);
	const char *sets[] = {g, h, hp, "pwc.enabled=off", "hpwc.enabled=off", "ntlb.enabled=off"};
	struct sim *s = tl_sim("nested", sets, 6);
	struct vm_event ev[] = {MAP(BASE, 1 << 20), LOAD(BASE + 0x1234)};
	tl_feed(s, ev, 2);
	sim_cold(s);
	struct walk_rec rec;
	struct mmu_fill fill;
	struct vmerr err = {{0}};
	cr_assert_eq(sim_explain(s, 1, BASE + 0x1234, &rec, &fill, &err), MMU_OK, "%s", err.msg);
	cr_expect_eq(rec.n, wc->refs, "guest %u / host %u / host leaf %s: %u references, expected %u",
		     wc->g, wc->h, wc->hpage, rec.n, wc->refs);
	unsigned host = 0;
	for (unsigned i = 0; i < rec.n; i++)
		host += rec.ref[i].dim == WALK_HOST;
	cr_expect_eq(rec.n - host, wc->g, "guest references: %u", rec.n - host);
	sim_free(s);
}

Test(modes, caches_cut_the_2d_walk)
{
	/* Translating page B again right after touching it: the guest PDE cache
	 * skips three guest levels, and the nested TLB holds both the PT page's
	 * and B's guest-physical pages, so only the guest PTE read remains: 1.
	 * Without the nested TLB, each of those two host translations starts
	 * below a host PDE-cache hit: 1 host reference each, 3 in all. */
	for (int ntlb = 1; ntlb >= 0; ntlb--) {
		const char *sets[] = {ntlb ? "ntlb.enabled=on" : "ntlb.enabled=off"};
		struct sim *s = tl_sim("nested", sets, 1);
		struct vm_event ev[] = {MAP(BASE, 1 << 20), LOAD(BASE), LOAD(BASE + 0x1000)};
		tl_feed(s, ev, 3);
		struct walk_rec rec;
		struct mmu_fill fill;
		struct vmerr err = {{0}};
		cr_assert_eq(sim_explain(s, 1, BASE + 0x1000, &rec, &fill, &err), MMU_OK, "%s", err.msg);
		cr_expect_eq(rec.n, ntlb ? 1u : 3u, "nTLB %s: %u references", ntlb ? "on" : "off", rec.n);
		sim_free(s);
	}
}

/* ---- shadow paging ---- */

Test(modes, shadow_guest_fault_takes_three_interventions)
{
	/* Page A makes the guest's tables and gets them shadowed; then the
	 * first touch of page B, in the same page table, costs exactly:
	 * (1) a hidden fault that finds no guest entry and reflects the #PF,
	 * (2) a trap on the guest kernel's PTE write, (3) a hidden fault that
	 * fills the shadow entry.  Under vtx each is a VM exit. */
	const char *sets[] = {"vmm.unsync=off", "vmm.prefetch=1"};
	struct sim *s = tl_sim("vtx", sets, 2);
	struct vm_event ev[] = {MAP(BASE, 1 << 20), LOAD(BASE), LOAD(BASE + 0x1000)};
	tl_feed(s, ev, 2);
	struct stats before = s->st;
	tl_feed(s, ev + 2, 1);
	cr_expect_eq(s->st.guest_faults_reflected - before.guest_faults_reflected, 1);
	cr_expect_eq(s->st.pt_write_traps - before.pt_write_traps, 1);
	cr_expect_eq(s->st.hidden_faults - before.hidden_faults, 1);
	cr_expect_eq(s->st.vm_exits_pf - before.vm_exits_pf, 3, "%llu #PF exits",
		     (unsigned long long)(s->st.vm_exits_pf - before.vm_exits_pf));
	cr_expect_eq(s->st.vm_exits - before.vm_exits, 3);
	cr_expect_eq(s->st.page_faults - before.page_faults, 1);
	sim_free(s);
}

Test(modes, bt_interventions_are_traps_not_exits)
{
	const char *sets[] = {"vmm.unsync=off", "vmm.prefetch=1", "bt.adapt=off"};
	struct sim *s = tl_sim("bt", sets, 3);
	struct vm_event ev[] = {MAP(BASE, 1 << 20), LOAD(BASE), LOAD(BASE + 0x1000)};
	tl_feed(s, ev, 2);
	struct stats before = s->st;
	tl_feed(s, ev + 2, 1);
	cr_expect_eq(s->st.vm_exits, 0);
	cr_expect_eq(s->st.vmm_traps - before.vmm_traps, 3);
	sim_free(s);
}

Test(modes, pt_write_traps_counted_exactly)
{
	/* stride over 100 pages of one page table (400 KiB from a 2 MiB
	 * boundary).  The guest's root is shadowed from the first CR3 write, so
	 * the first fault's PML4E write traps; its PDPTE, PDE and PTE go into
	 * fresh tables nothing shadows yet.  Each of the other 99 first touches
	 * writes one PTE into the now shadowed PT: 1 + 99 = 100 traps with
	 * unsync off.  With unsync on the PT traps once and goes out of sync:
	 * 1 + 1 = 2. */
	const char *off[] = {"vmm.unsync=off"};
	struct sim *s = tl_sim("vtx", off, 1);
	tl_run_workload(s, "stride:pages=100,passes=2");
	cr_expect_eq(s->st.pt_writes, 4 + 99);
	cr_expect_eq(s->st.pt_write_traps, 100, "%llu traps", (unsigned long long)s->st.pt_write_traps);
	sim_free(s);

	const char *on[] = {"vmm.unsync=on"};
	s = tl_sim("vtx", on, 1);
	tl_run_workload(s, "stride:pages=100,passes=2");
	cr_expect_eq(s->st.pt_write_traps, 2);
	cr_expect_eq(s->st.shadow_unsyncs, 1);
	sim_free(s);
}

Test(modes, ad_bits_are_emulated)
{
	/* A load maps the page read-only in the shadow (guest D clear); the
	 * store that follows traps once so the VMM can set the guest's D. */
	struct sim *s = tl_sim("vtx", NULL, 0);
	struct vm_event ev[] = {MAP(BASE, 1 << 20), LOAD(BASE), STORE(BASE), STORE(BASE)};
	tl_feed(s, ev, 4);
	cr_expect_eq(s->st.ad_emulations, 1);
	gpa_t gpa;
	cr_assert_eq(gos_translate(s->os, gos_find(s->os, 1), BASE, &gpa), 0);
	sim_free(s);
}

Test(modes, shadow_roots_are_cached)
{
	/* Two processes alternating: each CR3 write after the first two hits
	 * the root cache (4 roots by default). */
	struct sim *s = tl_sim("vtx", NULL, 0);
	struct vm_event ev[8];
	for (int i = 0; i < 8; i++)
		ev[i] = (struct vm_event){.kind = EV_ACCESS, .op = EV_LOAD, .size = 8,
					  .pid = 1 + (uint32_t)(i % 2), .addr = BASE};
	tl_feed(s, ev, 8);
	cr_expect_eq(s->st.shadow_root_builds, 2);
	cr_expect_eq(s->st.shadow_root_switches, 6);
	sim_free(s);

	const char *one[] = {"vmm.roots=1"};
	s = tl_sim("vtx", one, 1);
	tl_feed(s, ev, 8);
	cr_expect_eq(s->st.shadow_root_builds, 8, "one root: every switch rebuilds");
	sim_free(s);
}

/* ---- VPID ---- */

Test(modes, vpid_off_flushes_on_every_exit)
{
	/* load, I/O (an exit), load, I/O, ...: with VPID the loads after the
	 * first hit the TLB; without, every exit flushes and every load misses. */
	struct vm_event ev[41];
	ev[0] = (struct vm_event)MAP(BASE, 1 << 20);
	for (int i = 0; i < 20; i++) {
		ev[1 + 2 * i] = (struct vm_event)LOAD(BASE);
		ev[2 + 2 * i] = (struct vm_event){.kind = EV_IO, .pid = 1, .arg = 0x510};
	}
	struct sim *s = tl_sim("nested", NULL, 0);
	tl_feed(s, ev, 41);
	sim_finish(s);
	cr_expect_eq(s->st.vm_exits_io, 20);
	cr_expect_eq(s->st.tlb_l1_hits, 19);
	uint64_t flushes_on = s->st.tlb_flushes;
	sim_free(s);

	const char *off[] = {"tlb.vpid=off"};
	s = tl_sim("nested", off, 1);
	tl_feed(s, ev, 41);
	sim_finish(s);
	cr_expect_eq(s->st.vm_exits_io, 20);
	cr_expect_eq(s->st.tlb_l1_hits, 0, "%llu hits", (unsigned long long)s->st.tlb_l1_hits);
	cr_expect_eq(s->st.tlb_flushes - flushes_on, s->st.vm_exits, "one flush per exit");
	sim_free(s);
}

/* ---- functional equivalence ---- */

struct trail {
	uint64_t n, hash;
};

static void record(void *arg, uint32_t pid, gva_t va, gpa_t gpa)
{
	struct trail *t = arg;
	t->n++;
	t->hash = (t->hash ^ pid ^ (va * 31) ^ (gpa * 0x9E3779B97F4A7C15ull)) * 0x100000001b3ull;
}

static const char *const workloads[] = {
	"stride:pages=300,passes=3", "gups:mb=16,updates=20000", "chase:pages=512,steps=5000",
	"compile:jobs=2,tasks=12,pages=32", "forkwait:iters=20,pages=8", "ctxswitch:procs=3,pages=16,rounds=20",
	"kvstore:keys=4096,ops=5000", "bfs:vertices=2048", "ptemod:iters=200", "pgfault:pages=64,rounds=3",
};
static const char *const all_modes[] = {"native", "bt", "vtx", "nested", "pv"};

Test(modes, functional_equivalence)
{
	/* Every mode resolves every access to the same guest-physical address,
	 * and each agrees with a software walk of the guest's tables. */
	for (size_t w = 0; w < sizeof workloads / sizeof workloads[0]; w++) {
		struct trail ref = {0};
		for (size_t m = 0; m < sizeof all_modes / sizeof all_modes[0]; m++) {
			const char *sets[] = {"guest.page=2m", "host.page=2m"};
			struct sim *s = tl_sim(all_modes[m], sets, w % 2 ? 2 : 0);
			struct trail t = {0};
			sim_set_check(s, true, record, &t);
			tl_run_workload(s, workloads[w]);
			cr_expect_eq(s->check_failures, 0, "%s under %s: %llu wrong translations",
				     workloads[w], all_modes[m], (unsigned long long)s->check_failures);
			cr_expect_gt(t.n, 0, "%s touched memory", workloads[w]);
			if (m == 0)
				ref = t;
			else
				cr_expect(t.n == ref.n && t.hash == ref.hash,
					  "%s: %s resolves differently from native (%llu vs %llu accesses)",
					  workloads[w], all_modes[m], (unsigned long long)t.n,
					  (unsigned long long)ref.n);
			sim_free(s);
		}
	}
}

/* ---- the look-ahead (sim/hint.h) only prefetches ---- */

static unsigned hint_slots_used(const struct hint *h)
{
	unsigned n = 0;
	for (unsigned i = 0; i < HINT_SLOTS; i++)
		n += h->slot[i].table != NULL;
	return n;
}

Test(modes, lookahead_changes_no_counter)
{
	/* The same run with the look-ahead on and off gives every counter the
	 * same value: a prefetch that read through the model (a dcache_access
	 * instead of a dcache_prefetch, a TLB look-up) would change some. */
	/* compile: processes exit and their tables go while hints to them
	 * remain (under ASan, reading through one would be caught). */
	static const char *const wls[] = {"gups:mb=64,updates=40000", "ctxswitch:procs=3,pages=16,rounds=20",
					  "forkwait:iters=20,pages=8", "chase:pages=512,steps=5000",
					  "compile:jobs=2,tasks=12,pages=32"};
	static const char *const modes[] = {"native", "nested"};
	for (size_t m = 0; m < 2; m++)
		for (size_t w = 0; w < sizeof wls / sizeof wls[0]; w++) {
			struct sim *on = tl_sim(modes[m], NULL, 0), *off = tl_sim(modes[m], NULL, 0);
			cr_assert(on->lookahead, "%s looks ahead by default", modes[m]);
			sim_set_lookahead(off, false);
			tl_run_workload(on, wls[w]);
			tl_run_workload(off, wls[w]);
			cr_expect_gt(hint_slots_used(on->hint_guest), 0, "%s %s: the walks left hints",
				     modes[m], wls[w]);
			cr_expect(memcmp(&on->st, &off->st, sizeof on->st) == 0,
				  "%s %s: counters differ with the look-ahead on (walk cycles %llu vs %llu)",
				  modes[m], wls[w], (unsigned long long)on->st.cycles_walk,
				  (unsigned long long)off->st.cycles_walk);
			sim_free(on);
			sim_free(off);
		}
}

/* ---- the cache model on a second thread (tlb/pteq.h) prices, in order ---- */

Test(modes, async_cache_model_changes_no_counter)
{
	/* Each mode and workload run with the PTE cache model on this thread
	 * and on a worker: every counter the same, and a recorded walk after
	 * the run (priced in order, on the worker's model) the same reference
	 * by reference.  The worker is refused with two vCPUs and without a
	 * cache model. */
	static const char *const wls[] = {"gups:mb=64,updates=40000", "ctxswitch:procs=3,pages=16,rounds=20",
					  "forkwait:iters=20,pages=8", "chase:pages=512,steps=5000",
					  "compile:jobs=2,tasks=12,pages=32"};
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("one CPU: sim_set_async keeps the model on the run loop's thread");
	for (size_t m = 0; m < sizeof all_modes / sizeof all_modes[0]; m++)
		for (size_t w = 0; w < sizeof wls / sizeof wls[0]; w++) {
			struct sim *one = tl_sim(all_modes[m], NULL, 0), *two = tl_sim(all_modes[m], NULL, 0);
			tl_run_workload(one, wls[w]);
			cr_assert(sim_set_async(two, true), "%s %s: worker refused", all_modes[m], wls[w]);
			cr_assert_not_null(two->pq);
			tl_run_workload(two, wls[w]);
			cr_expect(memcmp(&one->st, &two->st, sizeof one->st) == 0,
				  "%s %s: counters differ on two threads (walk cycles %llu vs %llu, "
				  "from memory %llu vs %llu)", all_modes[m], wls[w],
				  (unsigned long long)one->st.cycles_walk,
				  (unsigned long long)two->st.cycles_walk,
				  (unsigned long long)one->st.pte_from_mem,
				  (unsigned long long)two->st.pte_from_mem);
			cr_expect_gt(one->st.walk_refs, 0, "%s %s walked", all_modes[m], wls[w]);
			if (one->have_first) {
				static struct walk_rec r1, r2;
				struct mmu_fill f1, f2;
				struct vmerr err = {{0}};
				int rc1 = sim_explain(one, one->first_pid, one->first_va, &r1, &f1, &err);
				int rc2 = sim_explain(two, two->first_pid, two->first_va, &r2, &f2, &err);
				cr_assert_eq(rc1, rc2);
				cr_assert_eq(r1.n, r2.n, "%s %s: %u vs %u references", all_modes[m],
					     wls[w], r1.n, r2.n);
				for (unsigned i = 0; i < r1.n; i++)
					cr_expect(r1.ref[i].src == r2.ref[i].src &&
							  r1.ref[i].cycles == r2.ref[i].cycles,
						  "%s %s: reference %u served by %u vs %u", all_modes[m],
						  wls[w], i, r1.ref[i].src, r2.ref[i].src);
			}
			sim_free(one);
			sim_free(two);
		}
	/* No cache model (memory.pte=fixed): nothing to move.  Two vCPUs: the
	 * shadow-MMU lock reads their clocks mid-batch. */
	static const char *const fixed[] = {"memory.pte=fixed"}, *const smp[] = {"machine.vcpus=2"};
	struct sim *s = tl_sim("nested", fixed, 1);
	cr_expect_not(sim_set_async(s, true), "memory.pte=fixed has no cache model to move");
	cr_expect_null(s->pq);
	sim_free(s);
	s = tl_sim("vtx", smp, 1);
	cr_expect_not(sim_set_async(s, true), "two vCPUs keep the model on one thread");
	cr_expect_null(s->pq);
	sim_free(s);
}

/* A walk reads a leaf entry through a hint slot only if the slot names the
 * table being walked and no table was released since it was recorded. */
Test(modes, hint_leaf_entry_checks_table_and_frees)
{
	static struct hint h;
	static uint64_t table[512];
	uint64_t key = hint_key(0x40201000, 0x5000), ea = 0xabc000 + 5 * 8;
	hint_put_entry(&h, key, &table[5], 0x1234000 + 5 * 8, 7, 0xabc000);
	cr_assert_eq(hint_leaf_entry(&h, key, 0xabc000, ea + 8, 7), &table[6]);
	cr_assert_null(hint_leaf_entry(&h, key, 0xabd000, 0xabd000 + 8, 7), "another table");
	cr_assert_null(hint_leaf_entry(&h, key, 0xabc000, ea, 8), "a table was released since");
	cr_assert_null(hint_leaf_entry(&h, key ^ 1, 0xabc000, ea, 7), "another region");
}
