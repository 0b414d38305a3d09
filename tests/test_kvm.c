/*
 * test_kvm.c - vmsim-kvm on this host's /dev/kvm.
 *
 * Every test runs the vmsim-kvm binary ($VMSIM_KVM, or
 * VMSIM_BINARY_DIR/kvm-harness/vmsim-kvm) and checks the numbers it reports.
 * Where /dev/kvm is not usable the tests skip and say why.
 *
 * The first-touch counts are compared with what the simulator's shadow
 * model (vtx) predicts for the same set-up: `vmsim run -m vtx` where a config
 * expresses it, else the model driven here with events that put it in the
 * harness's starting state.  KVM's pf_fixed counts the shadow faults it
 * fixed: the model's hidden_faults + ad_emulations.
 *
 * Keep the whole file under about 30 s: --counters off where perf events and
 * tracepoints are not needed (each tracepoint takes tens of ms to set up).
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/sim.h"
#include "testkvm.h"

static void need_kvm(void) { need_kvm_for("test_kvm"); }

/* Run bin with args (a shell fragment); stdout and stderr apart. */
static struct out run_bin(const char *bin, const char *args) { return run_cmd(NULL, bin, args, 30); }

static struct out run(const char *args) { return run_bin(kvm_bin(), args); }

static cJSON *bin_json(const char *bin, const char *args)
{
	char a[1024];
	snprintf(a, sizeof a, "%s --json", args);
	struct out o = run_bin(bin, a);
	cr_assert_eq(o.status, 0, "%s %s: exit %d\n%s", bin, a, o.status, o.err);
	cJSON *j = cJSON_Parse(o.out);
	cr_assert_not_null(j, "%s %s: not JSON:\n%s", bin, a, o.out);
	free(o.out);
	free(o.err);
	return j;
}

static cJSON *run_json(const char *args) { return bin_json(kvm_bin(), args); }

static double num(const cJSON *j, const char *path)
{
	/* "a.b.c" with arrays indexed by number: "phases.0.guest.kvm_vcpu.pf_fixed" */
	char buf[256], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	const cJSON *c = j;
	for (char *k = strtok_r(buf, ".", &save); k && c; k = strtok_r(NULL, ".", &save))
		c = cJSON_IsArray(c) ? cJSON_GetArrayItem(c, atoi(k)) : cJSON_GetObjectItem(c, k);
	cr_assert(cJSON_IsNumber(c), "no number at %s", path);
	return c->valuedouble;
}

#define PAGES 4096
#define STRIDE "stride:pages=4096,passes=1,write=1"

/* What `vmsim run -m vtx` predicts KVM fixes: hidden_faults + ad_emulations.
 * The harness's guest has no PCID (the hosts here offer none). */
static double model_faults_fixed(const char *spec, double *reflected)
{
	char args[512];
	snprintf(args, sizeof args, "run -m vtx -s tlb.pcid=off -w %s", spec);
	cJSON *j = bin_json(vmsim_bin(), args);
	double v = num(j, "hidden_faults") + num(j, "ad_emulations");
	if (reflected)
		*reflected = num(j, "guest_faults_reflected");
	cJSON_Delete(j);
	return v;
}

static void expect_within(double measured, double predicted, double rel, const char *what)
{
	double d = measured > predicted ? measured - predicted : predicted - measured;
	cr_expect(d <= rel * predicted, "%s: KVM %.0f, model %.0f (more than %.0f%% apart)", what,
		  measured, predicted, rel * 100);
}

/* The guest's kernel (vmsim-kvm) maps each page at its first touch, as the
 * model's guest kernel does: one guest fault, one shadow fault per page. */
Test(kvm, first_touch_on_demand_matches_model)
{
	need_kvm();
	double reflected, pred = model_faults_fixed(STRIDE, &reflected);
	cr_assert_eq(pred, PAGES, "the model itself: %.0f", pred);
	cJSON *j = run_json("run -w " STRIDE " --no-native --demand on --counters off");
	expect_within(num(j, "phases.0.guest.kvm_vcpu.pf_fixed"), pred, 0.02, "pf_fixed");
	cr_expect_eq(num(j, "phases.0.guest.kvm_vcpu.pf_guest"), reflected);
	cJSON_Delete(j);
}

/* Guest PTEs written at map time, A/D clear: KVM prefetches only accessed
 * entries, so it still fixes one fault per page, as the model fills one. */
Test(kvm, first_touch_populated_matches_model)
{
	need_kvm();
	double pred = model_faults_fixed(STRIDE, NULL);
	cJSON *j = run_json("run -w " STRIDE " --no-native --counters off");
	expect_within(num(j, "phases.0.guest.kvm_vcpu.pf_fixed"), pred, 0.02, "pf_fixed");
	cJSON_Delete(j);
}

static struct vm_event ev(uint8_t kind, uint8_t op, uint32_t pid, uint64_t addr, uint64_t arg)
{
	return (struct vm_event){.kind = kind, .op = op, .size = 8, .pid = pid, .addr = addr,
				 .arg = arg};
}

/*
 * The model driven into the harness's state for --ad on --prefault on
 * (guest PTEs present with A and D, host frames backed, no shadow entries),
 * which no config key expresses: a first pass of stores demand-maps and
 * backs every page (the VMM sets A, the kernel D), a CR3 write resyncs the
 * leaf tables that went out of sync (dropping their shadow entries); the
 * second pass is the harness's first touch.  Returns the second pass's
 * hidden_faults + ad_emulations.
 */
static double model_prefetch_faults(unsigned pages)
{
	const uint64_t base = 0x0000100000000000ull; /* stride's */
	struct cfg cfg;
	struct vmerr err = {{0}};
	char *sets[] = {"tlb.pcid=off"};
	cr_assert_eq(cfg_load(&cfg, NULL, sets, 1, &err), 0, "%s", err.msg);
	struct sim *s = sim_new(&cfg, &mmu_vtx, &err);
	cr_assert_not_null(s, "%s", err.msg);
	static struct vm_event e[2 * PAGES + 4];
	size_t n = 0;
	e[n++] = ev(EV_MAP, VM_PROT_R | VM_PROT_W, 1, base, (uint64_t)pages << 12);
	for (unsigned i = 0; i < pages; i++)
		e[n++] = ev(EV_ACCESS, EV_STORE, 1, base + ((uint64_t)i << 12), 0);
	e[n++] = ev(EV_SWITCH, 0, 2, 0, 0);
	e[n++] = ev(EV_SWITCH, 0, 1, 0, 0);
	cr_assert_eq(sim_consume(s, e, n), 0, "%s", s->errmsg.msg);
	uint64_t before = s->st.hidden_faults + s->st.ad_emulations;
	n = 0;
	for (unsigned i = 0; i < pages; i++)
		e[n++] = ev(EV_ACCESS, EV_STORE, 1, base + ((uint64_t)i << 12), 1);
	cr_assert_eq(sim_consume(s, e, n), 0, "%s", s->errmsg.msg);
	sim_finish(s);
	double fixed = (double)(s->st.hidden_faults + s->st.ad_emulations - before);
	cr_expect_gt(s->st.shadow_prefetched, 0, "the model prefetched nothing");
	sim_free(s);
	return fixed;
}

/* With A/D preset and the host pages present KVM prefetches 8 entries per
 * fault (PTE_PREFETCH_NUM); so does the model (vmm.prefetch = 8). */
Test(kvm, first_touch_prefetch_matches_model)
{
	need_kvm();
	double pred = model_prefetch_faults(PAGES);
	cr_assert_eq(pred, PAGES / 8, "the model itself: %.0f", pred);
	cJSON *j = run_json("run -w " STRIDE " --no-native --ad on --prefault on --counters off");
	expect_within(num(j, "phases.0.guest.kvm_vcpu.pf_fixed"), pred, 0.02, "pf_fixed");
	cJSON_Delete(j);
}

Test(kvm, balloon_64mib_drops_rss_and_deflates)
{
	need_kvm();
	cJSON *j = run_json("run -w stride:pages=16384,passes=1,write=1 --no-native --balloon 64");
	double before = num(j, "balloon.rss_before_kib"), after = num(j, "balloon.rss_after_kib");
	double back = num(j, "balloon.rss_deflated_kib");
	cr_expect_eq(num(j, "balloon.bytes"), 64 << 20);
	cr_expect(before - after >= 60 * 1024, "VmRSS %.0f -> %.0f KiB: dropped less than 60 MiB",
		  before, after);
	cr_expect_eq(num(j, "balloon.touch_pages"), 16384);
	cr_expect(back - after >= 60 * 1024, "after deflate VmRSS %.0f KiB (inflated %.0f)", back,
		  after);
	cJSON_Delete(j);
}

static void expect_same_checksum(const char *args)
{
	cJSON *j = run_json(args);
	const cJSON *g = cJSON_GetObjectItem(j, "checksum_guest");
	const cJSON *n = cJSON_GetObjectItem(j, "checksum_native");
	cr_assert(cJSON_IsString(g) && cJSON_IsString(n), "%s", args);
	cr_expect_str_eq(g->valuestring, n->valuestring, "%s", args);
	cJSON_Delete(j);
}

Test(kvm, guest_checksum_equals_host_process)
{
	need_kvm();
	cJSON *j = run_json("run -w gups:mb=8,updates=50000,seed=7 --counters off");
	const cJSON *g = cJSON_GetObjectItem(j, "checksum_guest");
	cr_assert(cJSON_IsString(g));
	cr_expect_str_neq(g->valuestring, "0xcbf29ce484222325", "gups must load values");
	cJSON_Delete(j);
	expect_same_checksum("run -w gups:mb=8,updates=50000,seed=7 --counters off");
}

/* Loads that depend on what was stored, across the whole suite's kinds:
 * a pointer chase with the pages mapped on demand (the echo trampoline must
 * keep every register and flag), per-process memory at one address
 * (ctxswitch), data-dependent addresses (bfs, kvstore), protect/unprotect
 * with INVLPG detours (ptemod), process churn (compile), exceptions. */
Test(kvm, guest_checksum_equals_host_process_across_the_suite)
{
	need_kvm();
	static const char *const runs[] = {
		"run -w chase:pages=512,steps=5000 --demand on --counters off",
		"run -w ctxswitch:procs=4,pages=16,rounds=10 --counters off",
		"run -w bfs:vertices=2048,degree=4 --counters off",
		"run -w kvstore:keys=2048,ops=5000 --counters off",
		"run -w ptemod:iters=50 --counters off",
		"run -w compile:jobs=4,tasks=24,pages=8,text=2,quantum=4 --counters off",
		"run -w matmul:n=16,block=4 --counters off",
		"run -w divzero:iters=50 --counters off",
	};
	for (unsigned i = 0; i < sizeof runs / sizeof runs[0]; i++)
		expect_same_checksum(runs[i]);
}

/* ctxswitch maps different memory at one address in each process: the
 * native run must keep them apart, or the sums would mix. */
Test(kvm, processes_keep_their_own_memory_at_one_address)
{
	need_kvm();
	cJSON *a = run_json("run -w ctxswitch:procs=2,pages=4,rounds=3 --counters off");
	cJSON *b = run_json("run -w ctxswitch:procs=1,pages=4,rounds=3 --counters off");
	cr_expect_str_neq(cJSON_GetObjectItem(a, "checksum_guest")->valuestring,
			  cJSON_GetObjectItem(b, "checksum_guest")->valuestring);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

/* More processes than the old limit of 16, each exiting: slots and tables
 * are recycled. */
Test(kvm, many_short_lived_processes)
{
	need_kvm();
	cJSON *j = run_json("run -w forkwait:iters=300,pages=4,touch=1 --counters off --no-native");
	cr_expect_eq(num(j, "phases.1.guest.harness.doorbell_ops.fork"), 300);
	cr_expect_eq(num(j, "phases.1.guest.harness.doorbell_ops.exit"), 300);
	cJSON_Delete(j);
}

/* ptemod in the guest: the guest's own PTE writes reach KVM (the first one
 * unsyncs the leaf table), and each protect is one INVLPG. */
Test(kvm, guest_page_table_writes_reach_kvm)
{
	need_kvm();
	cJSON *j = run_json("run -w ptemod:iters=20 --no-native");
	cr_expect_eq(num(j, "phases.1.guest.kvm_vcpu.invlpg"), 40);
	cr_expect_eq(num(j, "phases.1.guest.harness.invlpg_detours"), 40);
	cr_expect_eq(num(j, "phases.1.guest.harness.echo_writes"), 40);
	if (cJSON_IsTrue(cJSON_GetObjectItem(j, "tracepoints")))
		cr_expect_eq(num(j, "phases.0.guest.tracepoints.kvmmmu:kvm_mmu_unsync_page") +
				     num(j, "phases.1.guest.tracepoints.kvmmmu:kvm_mmu_unsync_page"),
			     1);
	else
		printf("test_kvm: tracepoints not available: %s\n",
		       cJSON_GetObjectItem(j, "tracepoints_why")->valuestring);
	cJSON_Delete(j);
}

/* Either the counts, or one line saying why not. */
Test(kvm, run_reports_tracepoints_or_why_not)
{
	need_kvm();
	struct out o = run("run -w stride:pages=64,passes=1 --no-native");
	cr_assert_eq(o.status, 0, "%s", o.err);
	const char *t = strstr(o.out, "tracepoints ");
	cr_assert_not_null(t, "%s", o.out);
	cr_expect(strstr(t, "counted") || strstr(t, "not available"), "%s", o.out);
	if (strstr(t, "counted"))
		cr_expect(strstr(o.out, "kvm_mmu_set_spte +") != NULL, "%s", o.out);
	out_free(&o);
}

Test(kvm, ept_toggle_refuses_on_shadow_only_host)
{
	need_kvm();
	struct out info = run("info");
	if (!strstr(info.out, "shadow paging only")) {
		out_free(&info);
		cr_skip("this host has EPT/NPT; the toggle would reload the module");
	}
	struct out o = run("run -w stride:pages=4 --ept off");
	cr_expect_eq(o.status, 2, "exit %d", o.status);
	cr_expect_str_empty(o.out);
	char *nl = strchr(o.err, '\n');
	cr_expect(nl && nl[1] == 0, "expected one line, got:\n%s", o.err);
	cr_expect(strstr(o.err, "no EPT/NPT") != NULL, "%s", o.err);
	out_free(&o);
	out_free(&info);
}

Test(kvm, crashing_guest_reports_registers)
{
	need_kvm();
	struct out o = run("crash 0xdead0000");
	cr_expect_eq(o.status, 1, "exit %d (-1: killed by the timeout, a hang)", o.status);
	cr_expect(strstr(o.err, "KVM_EXIT_SHUTDOWN") != NULL, "%s", o.err);
	cr_expect(strstr(o.err, "RIP ") && strstr(o.err, "RSP ") && strstr(o.err, "CR3 "), "%s",
		  o.err);
	cr_expect(strstr(o.err, "CR2 00000000dead0000") != NULL, "%s", o.err);
	out_free(&o);
}

Test(kvm, demand_paging_serves_one_guest_fault_per_page)
{
	need_kvm();
	cJSON *j = run_json("run -w gups:mb=2,updates=20000 --demand on");
	cr_expect_eq(num(j, "phases.0.guest.guest_page_faults"), 512, "2 MiB of 4 KiB pages");
	cr_expect_eq(num(j, "phases.0.guest.kvm_vcpu.pf_guest"), 512);
	const cJSON *g = cJSON_GetObjectItem(j, "checksum_guest");
	const cJSON *n = cJSON_GetObjectItem(j, "checksum_native");
	cr_assert(cJSON_IsString(g) && cJSON_IsString(n));
	cr_expect_str_eq(g->valuestring, n->valuestring);
	cJSON_Delete(j);
}

Test(kvm, fork_and_switch_share_memory_across_cr3)
{
	need_kvm();
	struct out o = run("selftest 0");
	cr_expect_eq(o.status, 0, "%s", o.err);
	/* child reads 0x1111, writes 0x2222 the parent then reads: 0x1111 * 31 + 0x2222 */
	cr_expect(strstr(o.out, "result 0x23331") != NULL, "%s", o.out);
	out_free(&o);
}

Test(kvm, use_after_unmap_faults)
{
	need_kvm();
	struct out o = run("selftest 1");
	cr_expect_eq(o.status, 1, "exit %d: the guest read an unmapped page", o.status);
	cr_expect(strstr(o.err, "CR2 0000300000000008") != NULL, "%s", o.err);
	out_free(&o);
}

/* Without the INVLPG (or, with --guest-ptw off, the slot reload) the stale
 * writable shadow entry lets this pass. */
Test(kvm, write_after_protect_faults)
{
	need_kvm();
	struct out o = run("selftest 2");
	cr_expect_eq(o.status, 1, "exit %d: the guest wrote a read-only page", o.status);
	cr_expect(strstr(o.err, "protection fault") != NULL, "%s", o.err);
	out_free(&o);
	setenv("VMSIM_KVM_GUEST_PTW", "off", 1);
	o = run("selftest 2");
	unsetenv("VMSIM_KVM_GUEST_PTW");
	cr_expect_eq(o.status, 1, "--guest-ptw off: exit %d", o.status);
	cr_expect(strstr(o.err, "protection fault") != NULL, "%s", o.err);
	out_free(&o);
}

/* The profile is in the simulator's own keys, which `vmsim config -c`
 * accepts (an unknown key would be an error there). */
Test(kvm, calibrate_writes_a_profile_vmsim_loads)
{
	need_kvm();
	char path[] = "/tmp/test_kvm_cost.XXXXXX", args[128];
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(args, sizeof args, "calibrate -o %s", path);
	struct out o = run(args);
	cr_assert_eq(o.status, 0, "%s", o.err);
	out_free(&o);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char line[256];
	unsigned found = 0;
	static const char *const keys[] = {"freq_mhz", "page_fault_cycles", "hidden_fault",
					   "host_alloc", "io"};
	while (fgets(line, sizeof line, f))
		for (unsigned i = 0; i < 5; i++) {
			double v;
			char fmt[64];
			snprintf(fmt, sizeof fmt, "%s = %%lf", keys[i]);
			if (sscanf(line, fmt, &v) == 1) {
				cr_expect(v >= 0, "%s = %g", keys[i], v);
				found |= 1u << i;
			}
		}
	fclose(f);
	cr_expect_eq(found, 0x1f, "missing keys in the profile (found mask 0x%x)", found);
	snprintf(args, sizeof args, "config -c %s", path);
	o = run_bin(vmsim_bin(), args);
	cr_expect_eq(o.status, 0, "vmsim config -c: %s", o.err);
	cr_expect(strstr(o.out, "name                 = kvm-") != NULL, "%s", o.out);
	out_free(&o);
	unlink(path);
}

Test(kvm, hung_guest_times_out_with_registers)
{
	need_kvm();
	struct out o = run("selftest 3");
	cr_expect_eq(o.status, 1, "exit %d (-1: killed by the outer timeout)", o.status);
	cr_expect(strstr(o.err, "timeout") && strstr(o.err, "RIP "), "%s", o.err);
	out_free(&o);
}

/* --- guest set-up (a): the CPL0 guest kernel ------------------------------
 * On this kind of host its CPL0 code is emulated (~0.7 us per instruction),
 * so the sizes are tiny: each run takes well under a second. */

struct setup_a {
	unsigned long long native, guest, pf, de, sys, sys_nr, cr3, invlpg, exits;
};

static struct setup_a run_setup_a(const char *spec)
{
	char args[512];
	struct setup_a a = {0};
	snprintf(args, sizeof args, "run --setup a -w %s", spec);
	struct out o = run(args);
	cr_assert_eq(o.status, 0, "%s: status %d\nstdout:\n%s\nstderr:\n%s", args, o.status, o.out,
		     o.err);
	const char *ck = strstr(o.out, "checksum    native ");
	const char *k = strstr(o.out, "kernel      page faults served ");
	const char *t = strstr(o.out, "guest time  ");
	cr_assert(ck && k && t, "%s: output:\n%s", args, o.out);
	cr_assert_eq(sscanf(ck, "checksum    native %llx, guest %llx", &a.native, &a.guest), 2,
		     "%s", ck);
	cr_assert_eq(sscanf(k, "kernel      page faults served %llu, #DE served %llu, system calls "
			    "%llu (workload's %llu), CR3 writes %llu, INVLPGs %llu", &a.pf, &a.de,
			    &a.sys, &a.sys_nr, &a.cr3, &a.invlpg), 6, "%s", k);
	cr_assert_eq(sscanf(strchr(t, ',') + 1, " %llu exits", &a.exits), 1, "%s", t);
	out_free(&o);
	return a;
}

Test(kvm, setup_a_stride_checksum_equals_host_process)
{
	need_kvm();
	struct setup_a a = run_setup_a("stride:pages=64,passes=2");
	cr_expect_eq(a.guest, a.native, "guest 0x%llx native 0x%llx", a.guest, a.native);
	cr_expect_neq(a.guest, 0xcbf29ce484222325ull, "stride must load values");
	cr_expect_eq(a.pf, 64, "one demand fault per page in the guest kernel: %llu", a.pf);
}

Test(kvm, setup_a_gups_checksum_equals_host_process)
{
	need_kvm();
	struct setup_a a = run_setup_a("gups:mb=1,updates=2000,seed=7");
	cr_expect_eq(a.guest, a.native, "guest 0x%llx native 0x%llx", a.guest, a.native);
	cr_expect_neq(a.guest, 0xcbf29ce484222325ull, "gups must load values");
}

/* pgfault maps, touches every page once and unmaps, each round: every first
 * touch is a #PF the guest kernel serves (no exit to the harness: START,
 * the phase and DONE are the only exits), every unmapped page an INVLPG. */
Test(kvm, setup_a_pgfault_first_touches_served_by_guest_kernel)
{
	need_kvm();
	struct setup_a a = run_setup_a("pgfault:pages=16,rounds=2");
	cr_expect_eq(a.pf, 32, "page faults served %llu, pages touched 32", a.pf);
	cr_expect_eq(a.invlpg, 32, "INVLPGs %llu", a.invlpg);
	cr_expect_eq(a.exits, 3, "exits %llu: the faults must not reach the harness", a.exits);
	cr_expect_eq(a.guest, a.native);
}

Test(kvm, setup_a_syscalls_served_by_guest_kernel)
{
	need_kvm();
	struct setup_a a = run_setup_a("syscall:iters=100");
	cr_expect_eq(a.sys_nr, 100, "workload system calls served %llu, iters 100", a.sys_nr);
	cr_expect_eq(a.exits, 3, "exits %llu", a.exits);
	a = run_setup_a("divzero:iters=20");
	cr_expect_eq(a.de, 20, "#DE served %llu", a.de);
	a = run_setup_a("cr3switch:iters=20");
	cr_expect_eq(a.cr3, 40, "CR3 writes %llu", a.cr3);
	cr_expect_eq(a.guest, a.native);
}

Test(kvm, setup_a_refuses_unsupported_workloads_and_auto_follows_info)
{
	need_kvm();
	struct out o = run("run --setup a -w io:iters=5");
	cr_expect_eq(o.status, 2);
	cr_expect(strstr(o.err, "not supported in set-up (a)") && strstr(o.err, "--setup b"), "%s",
		  o.err);
	out_free(&o);
	o = run("info");
	bool info_a = strstr(o.out, "guest set-up:     (a)") != NULL;
	out_free(&o);
	o = run("run --setup auto -w syscall:iters=10 --no-native");
	cr_expect_eq(o.status, 0, "%s", o.err);
	cr_expect(strstr(o.err, info_a ? "--setup auto: set-up (a)" : "--setup auto: set-up (b)"),
		  "%s", o.err);
	out_free(&o);
}
