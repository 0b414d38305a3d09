/*
 * test_host.c - several VMs on one host (issue 7, "Several VMs"): the
 * balloon, host swapping and double paging counted exactly, one VM equal
 * to the single-VM model, VPID at VM switches, and functional equivalence
 * under memory pressure.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sim/host.h"
#include "sim/p2m.h"
#include "workloads/wl.h"

static const char *const vmodes[] = {"nested", "vtx", "bt", "pv"};
#define NMODES (sizeof vmodes / sizeof vmodes[0])

#define BASE 0x100000000000ull /* 16 TiB: 2 MiB aligned, so one page table covers 2 MiB */
#define PG(i) (BASE + (uint64_t)(i) * 4096)
#define LOAD(a) ((struct vm_event){.kind = EV_ACCESS, .op = EV_LOAD, .size = 8, .pid = 1, .addr = (a)})
#define STORE(a) ((struct vm_event){.kind = EV_ACCESS, .op = EV_STORE, .size = 8, .pid = 1, .addr = (a)})
#define MAP(a, l) ((struct vm_event){.kind = EV_MAP, .op = VM_PROT_R | VM_PROT_W, .pid = 1, .addr = (a), .arg = (l)})
#define UNMAP(a, l) ((struct vm_event){.kind = EV_UNMAP, .pid = 1, .addr = (a), .arg = (l)})

static struct cfg conf(const char *const *sets, int n)
{
	struct cfg c;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&c, NULL, (char *const *)sets, n, &err), 0, "%s", err.msg);
	return c;
}

/* A host with one VM under mode, driven by hand (host_consume). */
static struct host *one_vm(const char *mode, const char *const *sets, int n)
{
	struct cfg c = conf(sets, n);
	struct vmerr err = {{0}};
	struct host *h = host_new(&c, &err);
	cr_assert_not_null(h, "%s", err.msg);
	cr_assert_eq(host_add_vm(h, &c, mmu_find(mode), NULL, &err), 0, "%s", err.msg);
	return h;
}

static void run1(struct host *h, unsigned vm, struct vm_event ev)
{
	struct vmerr err = {{0}};
	cr_assert_eq(host_consume(h, vm, &ev, 1, &err), 0, "%s", err.msg);
}

static uint64_t host_used(struct host *h)
{
	struct host_meminfo m;
	host_meminfo(h, &m);
	return m.used_bytes;
}

static gpa_t gpa_of(struct sim *s, gva_t va)
{
	gpa_t gpa = 0;
	cr_assert_eq(gos_translate(s->os, gos_find(s->os, 1), va, &gpa), 0, "0x%llx not mapped",
		     (unsigned long long)va);
	return gpa;
}

/* ---- the balloon ---- */

struct balloon_watch {
	const gpa_t *frames;
	size_t n;
	uint64_t touches; /* accesses that reached a (former) balloon frame */
};

static void watch(void *arg, uint32_t pid, gva_t va, gpa_t gpa)
{
	struct balloon_watch *w = arg;
	for (size_t i = 0; i < w->n; i++)
		if ((gpa & ~0xfffull) == w->frames[i])
			w->touches++;
}

/*
 * 256 pages are stored to and unmapped: their frames go back to the
 * guest's free pool, still backed by host frames.  A balloon of 100 pages
 * takes 100 of them, so exactly 100 host frames (409600 bytes) are freed,
 * none of the 100 frames stays in the p2m, and 400 more pages touched
 * afterwards never land on one.  After deflation the free pool hands the
 * same 100 frames out first: the next 100 new pages are exactly those.
 */
Test(host, balloon_frees_n_host_frames_and_guest_keeps_off)
{
	for (size_t m = 0; m < NMODES; m++) {
		const char *sets[] = {"vm.maxmem_mib=16"};
		struct host *h = one_vm(vmodes[m], sets, 1);
		struct sim *s = host_vm(h, 0);
		run1(h, 0, MAP(BASE, 1 << 20));
		for (int i = 0; i < 256; i++)
			run1(h, 0, STORE(PG(i)));
		run1(h, 0, UNMAP(BASE, 1 << 20));

		uint64_t before = host_used(h);
		struct vmerr err = {{0}};
		cr_assert_eq(host_balloon(h, 0, 100, &err), 0, "%s", err.msg);
		cr_expect_eq(before - host_used(h), 100 * 4096, "%s: the balloon freed %lld bytes of host memory",
			     vmodes[m], (long long)(before - host_used(h)));
		cr_expect_eq(s->st.balloon_pages_in, 100);

		size_t n;
		const gpa_t *f = gos_balloon_frames(s->os, &n);
		cr_assert_eq(n, 100);
		static gpa_t frames[100];
		memcpy(frames, f, sizeof frames);
		struct p2m *p = s->mode->p2m(s);
		for (size_t i = 0; i < n; i++) {
			hpa_t hpa;
			enum page_size ps;
			cr_expect_neq(p2m_lookup(p, frames[i], &hpa, &ps), 0, "%s: balloon frame 0x%llx still backed",
				      vmodes[m], (unsigned long long)frames[i]);
		}

		struct balloon_watch w = {frames, 100, 0};
		sim_set_check(s, true, watch, &w);
		run1(h, 0, MAP(BASE + (4ull << 20), 2 << 20));
		for (int i = 0; i < 400; i++)
			run1(h, 0, STORE(BASE + (4ull << 20) + (uint64_t)i * 4096));
		cr_expect_eq(w.touches, 0, "%s: the guest touched a ballooned frame %llu times", vmodes[m],
			     (unsigned long long)w.touches);

		cr_assert_eq(host_balloon(h, 0, 0, &err), 0, "%s", err.msg);
		cr_expect_eq(s->st.balloon_pages_out, 100);
		for (int i = 400; i < 500; i++)
			run1(h, 0, STORE(BASE + (4ull << 20) + (uint64_t)i * 4096));
		cr_expect_eq(w.touches, 100, "%s: after deflation the next 100 pages reuse the frames (%llu)",
			     vmodes[m], (unsigned long long)w.touches);
		cr_expect_eq(s->check_failures, 0);
		host_free(h);
	}
}

/* ---- host swapping and double paging ---- */

/*
 * The guest has 1 MiB = 256 frames: its tables take 4 (PML4 from the
 * first event, then PDPT, PD and PT at the first fault), so loads of pages
 * 0..251 fill it exactly, with A set in every PTE.
 *
 *   host swaps out pages 0..9 and 100                host_swap_outs  11
 *   load page 252: no frame free, so the clock runs: the first sweep clears
 *     A on all 252 pages, the second finds page 0 with A clear: the guest
 *     must read page 0 to write it to its swap, but the host has swapped it
 *     out: the host swaps it in first                  double paging  1
 *   load pages 253..261: the hand moves on: pages 1..9, each host-swapped
 *                                                      double paging 10
 *                                                      host swap-ins 10
 *                                                      guest swap-outs 10
 *   load page 100 (still in the guest, not in host memory): swap-in, once
 *                                                      host swap-ins 11
 *   load page 100 again: nothing more                  host swap-ins 11
 *   load page 0: a guest swap-in; the clock takes page 10, which the host
 *     never swapped: no double paging                  guest swap-ins  1
 *                                                      guest swap-outs 11
 *                                                      double paging 10
 */
Test(host, double_paging_counted_exactly)
{
	for (size_t m = 0; m < NMODES; m++) {
		const char *sets[] = {"vm.maxmem_mib=1"};
		struct host *h = one_vm(vmodes[m], sets, 1);
		struct sim *s = host_vm(h, 0);
		sim_set_check(s, true, NULL, NULL);
		run1(h, 0, MAP(BASE, 2 << 20));
		for (int i = 0; i < 252; i++)
			run1(h, 0, LOAD(PG(i)));
		struct gos_meminfo gm;
		gos_meminfo(s->os, &gm);
		cr_assert_eq(gm.used_pages, 256, "%s: %llu guest pages used", vmodes[m],
			     (unsigned long long)gm.used_pages);
		cr_assert_eq(s->st.guest_swap_outs, 0);

		for (int i = 0; i < 10; i++)
			cr_assert_eq(host_swap_out(h, 0, gpa_of(s, PG(i))), 0);
		cr_assert_eq(host_swap_out(h, 0, gpa_of(s, PG(100))), 0);
		cr_expect_eq(s->st.host_swap_outs, 11);

		run1(h, 0, LOAD(PG(252)));
		cr_expect_eq(s->st.double_paging, 1, "%s: %llu", vmodes[m], (unsigned long long)s->st.double_paging);
		for (int i = 253; i < 262; i++)
			run1(h, 0, LOAD(PG(i)));
		cr_expect_eq(s->st.double_paging, 10, "%s: %llu", vmodes[m], (unsigned long long)s->st.double_paging);
		cr_expect_eq(s->st.host_swap_ins, 10, "%s: %llu", vmodes[m], (unsigned long long)s->st.host_swap_ins);
		cr_expect_eq(s->st.guest_swap_outs, 10);

		run1(h, 0, LOAD(PG(100)));
		cr_expect_eq(s->st.host_swap_ins, 11, "%s: %llu", vmodes[m], (unsigned long long)s->st.host_swap_ins);
		run1(h, 0, LOAD(PG(100)));
		cr_expect_eq(s->st.host_swap_ins, 11);

		run1(h, 0, LOAD(PG(0)));
		cr_expect_eq(s->st.guest_swap_ins, 1);
		cr_expect_eq(s->st.guest_swap_outs, 11);
		cr_expect_eq(s->st.double_paging, 10);
		cr_expect_eq(s->st.host_swap_ins, 11);
		cr_expect_eq(s->st.host_swap_outs, 11);
		cr_expect_eq(s->check_failures, 0, "%s", vmodes[m]);
		/* Swap I/O: 11 host outs, 11 host ins, 11 guest outs, 1 guest in. */
		cr_expect_eq(s->st.cycles_swap, 22 * s->cfg.swap_out_cycles + 12 * s->cfg.swap_in_cycles);
		host_free(h);
	}
}

Test(host, host_swap_out_then_touch_swaps_in_once)
{
	for (size_t m = 0; m < NMODES; m++) {
		struct host *h = one_vm(vmodes[m], NULL, 0);
		struct sim *s = host_vm(h, 0);
		sim_set_check(s, true, NULL, NULL);
		run1(h, 0, MAP(BASE, 1 << 20));
		run1(h, 0, STORE(PG(3)));
		uint64_t frames = s->st.host_frames;
		cr_assert_eq(host_swap_out(h, 0, gpa_of(s, PG(3))), 0);
		cr_expect_eq(s->st.host_swap_outs, 1);
		cr_expect_neq(host_swap_out(h, 0, gpa_of(s, PG(3))), 0, "not resident: nothing to swap");
		for (int i = 0; i < 4; i++)
			run1(h, 0, LOAD(PG(3)));
		cr_expect_eq(s->st.host_swap_ins, 1, "%s: %llu swap-ins", vmodes[m],
			     (unsigned long long)s->st.host_swap_ins);
		cr_expect_eq(s->st.host_frames, frames + 1, "the page comes back in a new frame");
		cr_expect_eq(s->st.guest_swap_ins + s->st.double_paging, 0);
		cr_expect_eq(s->check_failures, 0);
		host_free(h);
	}
}

/* ---- one VM is the single-VM model ---- */

static void run_alone(struct sim *s, const char *spec)
{
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	struct vmerr err = {{0}};
	cr_assert_eq(wl_parse(spec, &d, p, &err), 0, "%s", err.msg);
	static struct vm_event buf[4096];
	struct ev_sink sink = {.buf = buf, .cap = 4096, .flush = sim_consume, .arg = s};
	cr_assert_eq(wl_generate(d, p, &sink), 0, "%s: %s", spec, s->errmsg.msg);
	sim_finish(s);
}

Test(host, one_vm_without_pressure_equals_the_single_vm_model)
{
	static const char *const wls[] = {"stride:pages=3000,passes=2", "gups:mb=16,updates=20000",
					  "compile:jobs=2,tasks=12,pages=32", "forkwait:iters=20,pages=8"};
	/* The host splits the stream into quanta; a limit far above the
	 * footprint must change nothing either. */
	const char *sets[] = {"vmswitch.quantum=777", "overcommit.host_mib=4096"};
	for (size_t m = 0; m < NMODES; m++)
		for (size_t w = 0; w < sizeof wls / sizeof wls[0]; w++) {
			struct cfg c = conf(sets, w % 2 ? 2 : 1);
			struct vmerr err = {{0}};
			struct sim *alone = sim_new(&c, mmu_find(vmodes[m]), &err);
			cr_assert_not_null(alone, "%s", err.msg);
			run_alone(alone, wls[w]);

			struct host *h = host_new(&c, &err);
			cr_assert_not_null(h);
			struct host_src src;
			char ident[256];
			cr_assert_eq(host_src_workload(&src, wls[w], ident, sizeof ident, &err), 0, "%s", err.msg);
			cr_assert_eq(host_add_vm(h, &c, mmu_find(vmodes[m]), &src, &err), 0, "%s", err.msg);
			cr_assert_eq(host_run(h, &err), 0, "%s", err.msg);
			const struct stats *a = &alone->st, *b = &host_vm(h, 0)->st;
			for (unsigned i = 0; i < stats_count(); i++)
				cr_expect_eq(stats_value(a, i), stats_value(b, i), "%s under %s: %s is %llu alone, %llu on the host",
					     wls[w], vmodes[m], stats_name(i), (unsigned long long)stats_value(a, i),
					     (unsigned long long)stats_value(b, i));
			cr_expect_gt(a->accesses, 0);
			host_free(h);
			sim_free(alone);
		}
}

/* ---- VPID at VM switches ---- */

/*
 * Two VMs each map a page and load it 20 times; a quantum of one event
 * alternates them: VM 0's first event is no switch, so VM 0 is switched
 * to 20 times and VM 1 21 times.  With VPIDs each VM's entry survives the
 * other's turn: 19 of the 20 loads hit the L1 TLB.  Without, every VM
 * entry flushes: no load hits, and each switch is one more flush.
 */
Test(host, vpid_keeps_or_flushes_at_vm_switches)
{
	static struct vm_event ev[21];
	ev[0] = MAP(BASE, 1 << 20);
	for (int i = 1; i < 21; i++)
		ev[i] = LOAD(BASE);
	for (size_t m = 0; m < NMODES; m++) {
		uint64_t flushes[2][2];
		for (int vpid = 1; vpid >= 0; vpid--) {
			const char *sets[] = {"vmswitch.quantum=1", vpid ? "tlb.vpid=on" : "tlb.vpid=off"};
			struct cfg c = conf(sets, 2);
			struct vmerr err = {{0}};
			struct host *h = host_new(&c, &err);
			cr_assert_not_null(h);
			for (int v = 0; v < 2; v++) {
				struct host_src src;
				cr_assert_eq(host_src_events(&src, ev, 21), 0);
				cr_assert_eq(host_add_vm(h, &c, mmu_find(vmodes[m]), &src, &err), v, "%s", err.msg);
			}
			cr_assert_eq(host_run(h, &err), 0, "%s", err.msg);
			for (int v = 0; v < 2; v++) {
				struct sim *s = host_vm(h, (unsigned)v);
				cr_expect_eq(s->st.vm_switches, v ? 21u : 20u, "%s VM %d: %llu switches", vmodes[m], v,
					     (unsigned long long)s->st.vm_switches);
				cr_expect_eq(s->st.tlb_l1_hits, vpid ? 19u : 0u, "%s, VPID %s, VM %d: %llu L1 hits",
					     vmodes[m], vpid ? "on" : "off", v, (unsigned long long)s->st.tlb_l1_hits);
				cr_expect_eq(s->cpu[0].vpid, 1u + (unsigned)v * SIM_MAX_VCPUS, "distinct VPIDs");
				flushes[vpid][v] = s->st.tlb_flushes;
			}
			host_free(h);
		}
		/* Without VPID, exits flush too (vtx/nested): count the switches' own. */
		for (int v = 0; v < 2; v++)
			cr_expect_geq(flushes[0][v] - flushes[1][v], v ? 21u : 20u, "%s VM %d", vmodes[m], v);
	}
}

/* ---- functional equivalence under pressure ---- */

Test(host, every_access_right_under_host_and_guest_pressure)
{
	static const char *const policies[][2] = {
		{"overcommit.reclaim=swap", "overcommit.balloon=static"},
		{"overcommit.reclaim=balloon", "overcommit.balloon=static"},
		{"overcommit.reclaim=balloon", "overcommit.balloon=auto"},
	};
	for (size_t m = 0; m < NMODES; m++)
		for (size_t p = 0; p < 3; p++) {
			const char *sets[] = {policies[p][0], policies[p][1], "overcommit.host_mib=12",
					      "overcommit.interval=20000", "vmswitch.quantum=5000"};
			struct cfg c = conf(sets, 5);
			struct vmerr err = {{0}};
			struct host *h = host_new(&c, &err);
			cr_assert_not_null(h);
			const char *wl[2] = {"stride:pages=3000,passes=2", "gups:mb=12,updates=20000"};
			for (int v = 0; v < 2; v++) {
				struct host_src src;
				char ident[256];
				cr_assert_eq(host_src_workload(&src, wl[v], ident, sizeof ident, &err), 0);
				struct cfg vc = c;
				vc.vm_maxmem_mib = 8;
				vc.vm_memory_mib = 5;
				cr_assert_eq(host_add_vm(h, &vc, mmu_find(vmodes[m]), &src, &err), v, "%s", err.msg);
				sim_set_check(host_vm(h, (unsigned)v), true, NULL, NULL);
			}
			cr_assert_eq(host_run(h, &err), 0, "%s %s: %s", vmodes[m], policies[p][0], err.msg);
			uint64_t reclaimed = 0;
			for (unsigned v = 0; v < 2; v++) {
				struct sim *s = host_vm(h, v);
				cr_expect_eq(s->check_failures, 0, "%s, %s %s, VM %u: %llu wrong translations",
					     vmodes[m], policies[p][0], policies[p][1], v,
					     (unsigned long long)s->check_failures);
				reclaimed += s->st.host_swap_outs + s->st.balloon_pages_in;
			}
			cr_expect_gt(reclaimed, 0, "16 MiB of guests on 12 MiB: the host reclaimed");
			struct host_meminfo hm;
			host_meminfo(h, &hm);
			cr_expect_leq(hm.peak_bytes, 12u << 20);
			host_free(h);
		}
}

/* The same with several vCPUs per VM: guest swap-outs are INVLPGs that
 * become shootdowns, host swap-outs flush every vCPU of the victim VM. */
Test(host, every_access_right_with_several_vcpus_per_vm)
{
	for (size_t m = 0; m < NMODES; m++)
		for (int p = 0; p < 2; p++) {
			const char *sets[] = {p ? "overcommit.reclaim=swap" : "overcommit.reclaim=balloon",
					      "overcommit.host_mib=14", "machine.vcpus=4", "vmswitch.quantum=3000"};
			struct cfg c = conf(sets, 4);
			struct vmerr err = {{0}};
			struct host *h = host_new(&c, &err);
			cr_assert_not_null(h);
			const char *wl[2] = {"compile:threads=4,jobs=16,tasks=64,pages=128", "gups:threads=2,mb=11,updates=40000"};
			for (int v = 0; v < 2; v++) {
				struct host_src src;
				char ident[256];
				cr_assert_eq(host_src_workload(&src, wl[v], ident, sizeof ident, &err), 0, "%s", err.msg);
				struct cfg vc = c;
				vc.vm_maxmem_mib = 12;
				vc.vm_memory_mib = 7;
				cr_assert_eq(host_add_vm(h, &vc, mmu_find(vmodes[m]), &src, &err), v, "%s", err.msg);
				sim_set_check(host_vm(h, (unsigned)v), true, NULL, NULL);
			}
			cr_assert_eq(host_run(h, &err), 0, "%s: %s", vmodes[m], err.msg);
			uint64_t reclaimed = 0;
			for (unsigned v = 0; v < 2; v++) {
				struct sim *s = host_vm(h, v);
				cr_expect_eq(s->check_failures, 0, "%s, %s, VM %u: %llu wrong translations", vmodes[m],
					     sets[0], v, (unsigned long long)s->check_failures);
				reclaimed += s->st.host_swap_outs + s->st.guest_swap_outs;
			}
			cr_expect_gt(reclaimed, 0);
			host_free(h);
		}
}

/*
 * Two 8 MiB guests each fill 7 MiB on a 12 MiB host.  With static balloon
 * targets of 5 MiB, once free host memory falls under 6 % each balloon
 * inflates to 8 - 5 = 3 MiB = 768 pages and stays; the guests swap what
 * no longer fits.  With host swapping instead no balloon moves.
 */
Test(host, static_targets_inflate_when_the_host_runs_short)
{
	for (int swap = 0; swap <= 1; swap++) {
		const char *sets[] = {"overcommit.host_mib=12", swap ? "overcommit.reclaim=swap" : "overcommit.reclaim=balloon",
				      "vm.maxmem_mib=8", "vm.memory_mib=5"};
		struct cfg c = conf(sets, 4);
		struct vmerr err = {{0}};
		struct host *h = host_new(&c, &err);
		cr_assert_not_null(h);
		for (int v = 0; v < 2; v++) {
			struct host_src src;
			char ident[256];
			cr_assert_eq(host_src_workload(&src, "stride:pages=1800,passes=2", ident, sizeof ident, &err), 0);
			cr_assert_eq(host_add_vm(h, &c, mmu_find("nested"), &src, &err), v, "%s", err.msg);
		}
		cr_assert_eq(host_run(h, &err), 0, "%s", err.msg);
		uint64_t host_swaps = 0;
		for (unsigned v = 0; v < 2; v++) {
			struct sim *s = host_vm(h, v);
			struct gos_meminfo gm;
			gos_meminfo(s->os, &gm);
			cr_expect_eq(gm.balloon_pages, swap ? 0u : 768u, "VM %u: balloon of %llu pages", v,
				     (unsigned long long)gm.balloon_pages);
			cr_expect_eq(s->st.balloon_pages_in, swap ? 0u : 768u);
			cr_expect_eq(s->st.balloon_pages_out, 0);
			if (!swap)
				cr_expect_gt(s->st.guest_swap_outs, 0, "VM %u: 7 MiB does not fit in 5", v);
			host_swaps += s->st.host_swap_outs;
		}
		if (swap)
			cr_expect_gt(host_swaps, 0);
		host_free(h);
	}
}

/* ---- the command line ---- */

static int vmsim_status(const char *args, char *err, size_t elen)
{
	const char *bin = getenv("VMSIM");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s 2>&1 >/dev/null", bin ? bin : VMSIM_BINARY_DIR "/vmsim", args);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(err, 1, elen - 1, p);
	err[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(host, cli_errors_are_one_line_exit_2)
{
	static const char *const bad[] = {
		"host",                                      /* no VM */
		"host --vm gups",                            /* no memory */
		"host --vm gups@0",                          /* zero MiB */
		"host --vm gups@64/32",                      /* memory above maxmem */
		"host -m native --vm gups@64",               /* no host dimension */
		"host --vm nosuch@64",                       /* unknown workload */
		"host --reclaim sometimes --vm gups@64",     /* bad policy */
		"host --json --csv --vm gups@64",
		"host --host-mem 64 -s host.page=2m --vm gups@64",
	};
	char err[2048];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int st = vmsim_status(bad[i], err, sizeof err);
		cr_expect_eq(st, 2, "'vmsim %s' exits %d", bad[i], st);
		size_t nl = 0;
		for (char *c = err; *c; c++)
			nl += *c == '\n';
		cr_expect_eq(nl, 1, "'vmsim %s' says: %s", bad[i], err);
	}
	cr_expect_eq(vmsim_status("host --help", err, sizeof err), 0);
}

Test(host, cli_csv_has_a_row_per_vm_and_a_total)
{
	const char *bin = getenv("VMSIM");
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "%s host --csv --host-mem 12 --vm stride:pages=3000,passes=2@5/8 --vm stride:pages=500@5/8",
		 bin ? bin : VMSIM_BINARY_DIR "/vmsim");
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char line[65536];
	int rows = 0;
	bool total = false;
	while (fgets(line, sizeof line, p)) {
		rows++;
		if (rows == 1)
			cr_expect(strstr(line, "double_paging") && strstr(line, "cycles_swap"), "header: %.200s", line);
		if (!strncmp(line, "total,", 6))
			total = true;
	}
	cr_expect_eq(pclose(p), 0);
	cr_expect_eq(rows, 4, "header, two VMs, total: %d lines", rows);
	cr_expect(total);
}
