/*
 * test_smp.c - several vCPUs (issue 7): shootdowns reach exactly the vCPUs
 * that may cache the mapping, IPIs cost exits unless posted, the shadow
 * MMU lock makes vtx stop scaling, and one vCPU is the single-vCPU model.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "testlib.h"

#define A 0x100000000000ull
#define ACC(cpu, p, a) {.kind = EV_ACCESS, .op = EV_LOAD, .size = 8, .vcpu = (cpu), .pid = (p), .addr = (a)}
#define MAP(cpu, p, a) {.kind = EV_MAP, .op = VM_PROT_R | VM_PROT_W, .vcpu = (cpu), .pid = (p), .addr = (a), .arg = 1 << 20}
#define UNMAP(cpu, p, a) {.kind = EV_UNMAP, .vcpu = (cpu), .pid = (p), .addr = (a), .arg = 4096}

/*
 * Process 1 runs on vCPUs 0 and 1, process 2 on vCPU 2.  Process 1 unmaps
 * a page on vCPU 0: one shootdown, one IPI (to vCPU 1 only); vCPU 1 then
 * misses on that page, vCPU 2 keeps its own entries.
 */
Test(smp, shootdown_reaches_exactly_the_vcpus_that_ran_the_space)
{
	const char *sets[] = {"machine.vcpus=3"};
	struct sim *s = tl_sim("native", sets, 1);
	struct vm_event warm[] = {
		MAP(0, 1, A), ACC(0, 1, A), ACC(0, 1, A + 4096), ACC(1, 1, A), ACC(1, 1, A + 4096),
		MAP(2, 2, A), ACC(2, 2, A), ACC(2, 2, A + 4096),
	};
	tl_feed(s, warm, sizeof warm / sizeof warm[0]);
	struct stats before = s->st;
	struct vm_event ev[] = {UNMAP(0, 1, A + 4096), ACC(2, 2, A + 4096), ACC(1, 1, A)};
	tl_feed(s, ev, 3);
	cr_expect_eq(s->st.shootdowns - before.shootdowns, 1);
	cr_expect_eq(s->st.ipis - before.ipis, 1, "only vCPU 1 ran process 1 besides vCPU 0");
	cr_expect_eq(s->st.tlb_l1_misses - before.tlb_l1_misses, 0,
		     "vCPU 2's entries and vCPU 1's other page survive");
	/* vCPU 1's entry for the unmapped page is gone: touching it faults. */
	struct vm_event again[] = {ACC(1, 1, A + 4096)};
	tl_feed(s, again, 1);
	cr_expect_eq(s->st.faults_segv - before.faults_segv, 1);
	sim_free(s);
}

/* Without PCIDs a vCPU that switched away flushed the space and leaves
 * its cpumask; with PCIDs its entries may remain, so it still gets the IPI. */
Test(smp, pcid_keeps_a_vcpu_in_the_mask)
{
	for (int pcid = 0; pcid <= 1; pcid++) {
		const char *sets[] = {"machine.vcpus=2", pcid ? "tlb.pcid=on" : "tlb.pcid=off"};
		struct sim *s = tl_sim("native", sets, 2);
		struct vm_event ev[] = {
			MAP(0, 1, A), ACC(0, 1, A), ACC(1, 1, A), /* both run process 1 */
			ACC(1, 3, A),                              /* vCPU 1 switches to 3 */
			UNMAP(0, 1, A),
		};
		tl_feed(s, ev, 5);
		cr_expect_eq(s->st.ipis, (uint64_t)pcid, "pcid=%d: %llu IPIs", pcid,
			     (unsigned long long)s->st.ipis);
		sim_free(s);
	}
}

/* Each shootdown IPI costs a VM exit on the sender and one on the receiver
 * unless interrupts are posted. */
Test(smp, ipis_exit_unless_posted)
{
	for (int posted = 0; posted <= 1; posted++) {
		const char *sets[] = {"machine.vcpus=2", posted ? "smp.posted=on" : "smp.posted=off"};
		struct sim *s = tl_sim("nested", sets, 2);
		struct vm_event ev[] = {MAP(0, 1, A), ACC(0, 1, A), ACC(1, 1, A), UNMAP(0, 1, A)};
		tl_feed(s, ev, 4);
		cr_expect_eq(s->st.ipis, 1);
		cr_expect_eq(s->st.vm_exits_ipi, posted ? 0u : 2u);
		sim_free(s);
	}
}

/* One vCPU: no lock, no IPIs, and the run time is the total cycles. */
Test(smp, one_vcpu_is_the_single_vcpu_model)
{
	const char *modes[] = {"native", "vtx", "nested"};
	for (int m = 0; m < 3; m++) {
		struct sim *s = tl_sim(modes[m], NULL, 0);
		tl_run_workload(s, "compile:tasks=24,jobs=4,pages=16");
		cr_expect_eq(s->st.lock_acquisitions, 0);
		cr_expect_eq(s->st.ipis, 0);
		cr_expect_eq(s->st.cycles_lock, 0);
		cr_expect_eq(s->st.makespan_cycles, stats_cycles(&s->st), "%s: %llu vs %llu", modes[m],
			     (unsigned long long)s->st.makespan_cycles,
			     (unsigned long long)stats_cycles(&s->st));
		sim_free(s);
	}
}

/*
 * compile on 8 vCPUs: under nested paging the run time drops below a
 * quarter of one vCPU's (not an eighth: make's forks and waits stay serial
 * on vCPU 0); under vtx the shadow-MMU lock makes vCPUs wait, so it scales
 * worse, and without the lock it waits never and runs faster.
 */
Test(smp, shadow_lock_limits_vtx_scaling)
{
	const char *nolock[] = {"smp.lock=off"};
	uint64_t t[2][2];
	const char *modes[] = {"vtx", "nested"};
	for (int m = 0; m < 2; m++)
		for (int k = 0; k < 2; k++) {
			struct cfg cfg;
			struct vmerr err = {{0}};
			cr_assert_eq(cfg_load(&cfg, NULL, NULL, 0, &err), 0);
			cfg.vcpus = k ? 8 : 1;
			struct sim *s = sim_new(&cfg, mmu_find(modes[m]), &err);
			tl_run_workload(s, k ? "compile:tasks=64,threads=8" : "compile:tasks=64");
			t[m][k] = s->st.makespan_cycles;
			if (m == 0 && k == 1)
				cr_expect_gt(s->st.lock_waits, 0);
			if (m == 1)
				cr_expect_eq(s->st.lock_acquisitions, 0);
			sim_free(s);
		}
	double vtx_speedup = (double)t[0][0] / (double)t[0][1];
	double nested_speedup = (double)t[1][0] / (double)t[1][1];
	cr_expect_gt(nested_speedup, 4.0, "nested speed-up %.2f", nested_speedup);
	cr_expect_lt(vtx_speedup, nested_speedup, "vtx %.2f vs nested %.2f", vtx_speedup, nested_speedup);

	struct cfg cfg;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&cfg, NULL, (char *const *)nolock, 1, &err), 0);
	cfg.vcpus = 8;
	struct sim *s = sim_new(&cfg, mmu_find("vtx"), &err);
	tl_run_workload(s, "compile:tasks=64,threads=8");
	cr_expect_eq(s->st.lock_waits, 0);
	cr_expect_lt(s->st.makespan_cycles, t[0][1], "without the lock vtx runs faster");
	sim_free(s);
}

/* Functional equivalence holds with several vCPUs in every mode. */
Test(smp, several_vcpus_translate_correctly)
{
	const char *modes[] = {"native", "bt", "vtx", "nested", "pv"};
	const char *w[] = {"gups:mb=8,updates=20000,threads=4", "compile:tasks=32,threads=4",
			   "kvstore:keys=4096,ops=8000,threads=3", "bfs:vertices=2048,threads=2"};
	for (int m = 0; m < 5; m++)
		for (int i = 0; i < 4; i++) {
			const char *sets[] = {"machine.vcpus=4"};
			struct sim *s = tl_sim(modes[m], sets, 1);
			sim_set_check(s, true, NULL, NULL);
			tl_run_workload(s, w[i]);
			cr_expect_eq(s->check_failures, 0, "%s under %s", w[i], modes[m]);
			sim_free(s);
		}
}
