/*
 * kvmh_run.c - run one workload natively and in the guest, phase by phase.
 *
 * Notes:
 *  - A phase is the stretch between two wl_phase markers; phase 0 runs from
 *    the start to the first marker and includes the wl_map calls.  Both runs
 *    execute the same freestanding object code.
 *  - Accesses per phase come from the simulator build of the same workload
 *    (same parameters, same seed: the same operations), so cycles per access
 *    divide by the count the simulator would see.
 *  - The guest's phase 0 starts at its START doorbell, after it has touched
 *    every page of its own payload, so KVM's faults on the payload are not
 *    counted.
 *  - Guest cycles are guest TSC cycles without the doorbells that stand for
 *    guest-kernel work (map, switch, fork, exit, syscall, phase) and with
 *    those that stand for a VM exit (CR8, port I/O, exception); see
 *    kvmh_guest.h.  Guest wall time includes every doorbell.  KVM
 *    statistics deltas include the phase doorbell's own exit.
 *  - KVM VM statistics that are levels, not counters (pages_4k, pages_2m,
 *    pages_1g, ...), are reported as their value at the end of the phase.
 *  - kvmmmu tracepoint counts come from kvmh_trace where tracefs and
 *    perf_event_open allow, else one line says why not.  Counting costs:
 *    every KVM exit then also runs the tracepoints and switches the perf
 *    events, so --counters off (KVM statistics only) is for timing.
 *  - The TSC frequency is measured against CLOCK_MONOTONIC over 20 ms; the
 *    TSC is invariant on the hosts here (constant_tsc).
 */
#include "kvmh_run.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "kvmh_ept.h"
#include "kvmh_host.h"
#include "kvmh_native.h"
#include "kvmh_perf.h"
#include "kvmh_stats.h"
#include "kvmh_trace.h"
#include "workloads/wl.h"

#define MAX_SEGS 64

struct seg {
	uint64_t id;
	uint64_t accesses;
	double n_ns;
	uint64_t n_cycles;
	uint64_t n_perf[KVMH_PERF_N];
	double g_ns;
	uint64_t g_cycles;
	struct kvmh_guest_counts gn;
	uint64_t g_perf[KVMH_PERF_N];
	uint64_t vm_d[KVMH_STATS_MAX], vcpu_d[KVMH_STATS_MAX];
	uint64_t vm_now[KVMH_STATS_MAX]; /* levels at the end of the phase */
	uint64_t tr_d[KVMH_TRACE_MAX];
};

struct balloon {
	bool done;
	uint64_t bytes, at_phase;
	bool at_end;
	long rss_before, rss_after, rss_deflated; /* KiB */
	uint64_t touch_pages, touch_cycles;
	double touch_ns;
	uint64_t touch_pf_fixed;
	struct kvmh_region ranges[8];
	unsigned nranges;
};

struct runner {
	const struct kvmh_run_opts *o;
	struct seg segs[MAX_SEGS];
	unsigned nsim, nnat, ngst;
	uint64_t tsc0;
	double ns0;
	uint64_t perf0[KVMH_PERF_N];
	uint64_t vm0[KVMH_STATS_MAX], vcpu0[KVMH_STATS_MAX];
	struct kvmh_perf perf;
	struct kvmh_trace tr;
	uint64_t tr0[KVMH_TRACE_MAX];
	struct kvmh_stats vms, vcpus;
	bool have_stats;
	double tsc_hz;
	struct balloon bal;
	struct kvmh_guest *g;
	struct vmerr err;
	int bal_rc;
};

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double measure_tsc_hz(void)
{
	double t0 = now_ns();
	uint64_t c0 = __rdtsc();
	while (now_ns() - t0 < 20e6)
		;
	return (double)(__rdtsc() - c0) / ((now_ns() - t0) * 1e-9);
}

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* --- accesses per phase, from the simulator build ------------------------ */

static int count_flush(void *arg, const struct vm_event *ev, size_t n)
{
	struct runner *r = arg;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind == EV_ACCESS)
			r->segs[r->nsim - 1].accesses++;
		else if (ev[i].kind == EV_PHASE && r->nsim < MAX_SEGS)
			r->segs[r->nsim++].id = ev[i].arg;
	}
	return 0;
}

static int count_accesses(struct runner *r, const struct wl_desc *d, const uint64_t *p)
{
	static struct vm_event buf[4096];
	struct ev_sink s = {.buf = buf, .cap = VM_ARRAY_SIZE(buf), .flush = count_flush, .arg = r};
	r->nsim = 1;
	return wl_generate(d, p, &s);
}

/* --- marks ----------------------------------------------------------------- */

static void native_mark(void *arg, uint64_t id, bool done)
{
	struct runner *r = arg;
	uint64_t tsc = __rdtsc(), pf[KVMH_PERF_N];
	double ns = now_ns();
	kvmh_perf_read(&r->perf, pf);
	if (r->nnat < MAX_SEGS) {
		struct seg *s = &r->segs[r->nnat];
		s->n_ns = ns - r->ns0;
		s->n_cycles = tsc - r->tsc0;
		for (unsigned i = 0; i < KVMH_PERF_N; i++)
			s->n_perf[i] = pf[i] - r->perf0[i];
	}
	r->nnat++;
	if (!done && r->nnat < MAX_SEGS)
		r->segs[r->nnat].id = id;
	memcpy(r->perf0, pf, sizeof pf);
	r->ns0 = now_ns();
	r->tsc0 = __rdtsc();
}

static void snap_stats(struct runner *r, uint64_t *vm, uint64_t *vcpu)
{
	if (!r->have_stats)
		return;
	kvmh_stats_read(&r->vms, vm);
	kvmh_stats_read(&r->vcpus, vcpu);
}

static void inflate(struct runner *r);

static void guest_mark(void *arg, struct kvmh_guest *g, enum kvmh_mark what, uint64_t id)
{
	struct runner *r = arg;
	uint64_t pf[KVMH_PERF_N], vm[KVMH_STATS_MAX], vcpu[KVMH_STATS_MAX], tr[KVMH_TRACE_MAX];
	double ns = now_ns();
	kvmh_perf_read(&r->perf, pf);
	kvmh_trace_read(&r->tr, tr);
	snap_stats(r, vm, vcpu);
	if (what != KVMH_MARK_START && r->ngst < MAX_SEGS) {
		struct seg *s = &r->segs[r->ngst];
		s->g_ns = ns - r->ns0;
		s->g_cycles = g->guest_cycles;
		s->gn = g->n;
		for (unsigned i = 0; i < KVMH_PERF_N; i++)
			s->g_perf[i] = pf[i] - r->perf0[i];
		for (unsigned i = 0; i < r->tr.n; i++)
			s->tr_d[i] = tr[i] - r->tr0[i];
		for (unsigned i = 0; r->have_stats && i < r->vms.n; i++) {
			s->vm_d[i] = vm[i] - r->vm0[i];
			s->vm_now[i] = vm[i];
		}
		for (unsigned i = 0; r->have_stats && i < r->vcpus.n; i++)
			s->vcpu_d[i] = vcpu[i] - r->vcpu0[i];
	}
	if (what != KVMH_MARK_START) {
		r->ngst++;
		if (what == KVMH_MARK_PHASE && r->ngst < MAX_SEGS)
			r->segs[r->ngst].id = id;
	}
	g->guest_cycles = 0;
	memset(&g->n, 0, sizeof g->n);
	if (what == KVMH_MARK_PHASE && r->o->balloon_mib && !r->bal.done &&
	    r->o->balloon_phase >= 0 && (uint64_t)r->o->balloon_phase == id)
		inflate(r);
	kvmh_perf_read(&r->perf, r->perf0);
	kvmh_trace_read(&r->tr, r->tr0);
	snap_stats(r, r->vm0, r->vcpu0);
	r->ns0 = now_ns();
}

/* --- balloon --------------------------------------------------------------- */

static void inflate(struct runner *r)
{
	struct balloon *b = &r->bal;
	b->done = true;
	b->rss_before = rss_kib();
	b->bytes = kvmh_guest_balloon(r->g, r->o->balloon_mib << 20, b->ranges,
				      VM_ARRAY_SIZE(b->ranges), &b->nranges);
	b->rss_after = rss_kib();
}

/* Deflate: the guest stores to every ballooned page again. */
static int deflate(struct runner *r)
{
	struct balloon *b = &r->bal;
	int pf = r->have_stats ? kvmh_stats_find(&r->vcpus, "pf_fixed") : -1;
	uint64_t v0[KVMH_STATS_MAX], v1[KVMH_STATS_MAX], v[KVMH_STATS_MAX];
	snap_stats(r, v, v0);
	r->g->mark = NULL;
	double t0 = now_ns();
	for (unsigned i = 0; i < b->nranges; i++) {
		uint64_t arg[3] = {b->ranges[i].va, b->ranges[i].len, 0};
		r->g->guest_cycles = 0;
		int rc = kvmh_guest_run(r->g, KVMH_CMD_TOUCH, arg, NULL, NULL, 0, r->o->timeout_s,
					&r->err);
		if (rc < 0)
			return rc;
		/* One doorbell (DONE): its cycles are the touch loop's. */
		b->touch_cycles += r->g->guest_cycles;
		b->touch_pages += b->ranges[i].len >> 12;
	}
	b->touch_ns = now_ns() - t0;
	snap_stats(r, v, v1);
	if (pf >= 0)
		b->touch_pf_fixed = v1[pf] - v0[pf];
	b->rss_deflated = rss_kib();
	return 0;
}

/* --- reports --------------------------------------------------------------- */

static double per(double x, uint64_t n) { return n ? x / (double)n : 0.0; }

static void print_perf(const uint64_t *v, bool hw)
{
	printf("    perf       page-faults %" PRIu64 ", task-clock %.3f ms, context-switches %" PRIu64,
	       v[KVMH_PERF_PAGE_FAULTS], (double)v[KVMH_PERF_TASK_CLOCK] * 1e-6,
	       v[KVMH_PERF_CTX_SWITCHES]);
	if (hw)
		printf(", cycles %" PRIu64 ", instructions %" PRIu64 ", dTLB-load-misses %" PRIu64,
		       v[KVMH_PERF_CYCLES], v[KVMH_PERF_INSNS], v[KVMH_PERF_DTLB_MISSES]);
	printf("\n");
}

/* Counters as "+delta", levels (pages_2m ...) as "=value". */
static void print_stats(const struct kvmh_stats *st, const uint64_t *d, const uint64_t *now,
			const char *label)
{
	int col = 0;
	for (unsigned i = 0; i < st->n; i++) {
		bool cum = kvmh_stats_is_cumulative(st, i);
		if (cum ? !d[i] : !now || !now[i])
			continue;
		if (col == 0)
			col = printf("    %-10s", label);
		col += printf(" %s %s%" PRIu64, st->name[i], cum ? "+" : "=", cum ? d[i] : now[i]);
		if (col > 90) {
			printf("\n");
			col = 0;
		}
	}
	if (col)
		printf("\n");
}

static const char *const op_names[KVMH_OP_COUNT] = {
	[KVMH_OP_MAP] = "map", [KVMH_OP_UNMAP] = "unmap", [KVMH_OP_PROTECT] = "protect",
	[KVMH_OP_SWITCH] = "switch", [KVMH_OP_FORK] = "fork", [KVMH_OP_EXIT] = "exit",
	[KVMH_OP_SYSCALL] = "syscall", [KVMH_OP_IO_IN] = "io_in", [KVMH_OP_PHASE] = "phase",
	[KVMH_OP_DONE] = "done", [KVMH_OP_CR8] = "cr8", [KVMH_OP_EXCEPTION] = "exception",
	[KVMH_OP_START] = "start", [KVMH_OP_SYNC] = "sync", [KVMH_OP_DETOUR] = "detour",
};

static void print_counts(const struct kvmh_guest_counts *n)
{
	int col;
	bool first = true;
	printf("    harness    doorbells %" PRIu64, n->doorbells);
	for (unsigned i = 1; i < KVMH_OP_COUNT; i++)
		if (n->op[i]) {
			printf("%s%s %" PRIu64, first ? " (" : ", ", op_names[i], n->op[i]);
			first = false;
		}
	printf("%s\n", first ? "" : ")");
	const struct {
		const char *name;
		uint64_t v;
	} more[] = {
		{"guest page faults served", n->demand_faults}, {"divide errors served", n->exceptions},
{"slot reloads", n->slot_reloads},
		{"slot deletes", n->slot_deletes}, {"page-table slot reloads", n->pt_reloads},
		{"page-table writes echoed", n->echo_writes}, {"INVLPG detours", n->invlpgs},
		{"CR3 reloads", n->cr3_reloads}, {"CR3 switches", n->cr3_switches},
	};
	col = 0;
	for (unsigned i = 0; i < VM_ARRAY_SIZE(more); i++)
		if (more[i].v)
			col += printf("%s%s %" PRIu64, col ? ", " : "               ", more[i].name,
				      more[i].v);
	if (col)
		printf("\n");
}

static void print_trace(const struct kvmh_trace *t, const uint64_t *d)
{
	int col = 0;
	for (unsigned i = 0; i < t->n; i++) {
		if (!d[i])
			continue;
		if (col == 0)
			col = printf("    %-10s", "tracepts");
		col += printf(" %s +%" PRIu64, strchr(t->name[i], ':') + 1, d[i]);
		if (col > 90) {
			printf("\n");
			col = 0;
		}
	}
	if (col)
		printf("\n");
}

static void print_text(struct runner *r, const struct kvmh_host *h, const char *spec_canon,
		       uint64_t ck_native, uint64_t ck_guest)
{
	const struct kvmh_run_opts *o = r->o;
	printf("workload    %s\n", spec_canon);
	printf("host        %s%s, guest set-up (b) CPL3 payload, harness as kernel\n",
	       kvmh_mmu_name(h->mmu), h->pvm ? ", PVM" : "");
	printf("options     guest pages %s, host THP %s, A/D preset %s, host prefault %s, guest "
	       "PTEs %s, written %s, TSC %.3f GHz\n", ps_name(o->g.page),
	       o->g.thp < 0 ? "default" : o->g.thp ? "on" : "off", o->g.ad ? "on" : "off",
	       o->g.prefault ? "on" : "off", o->g.demand ? "on fault" : "at map",
	       o->g.guest_ptw ? "by the guest too (echo)" : "by vmsim-kvm only", r->tsc_hz * 1e-9);
	if (!o->counters)
		printf("counters    off (--counters off): no perf events, no tracepoints\n");
	else if (!h->hw_counters)
		printf("counters    hardware counters are not available here (%s); "
		       "perf software events reported instead\n", h->hw_why);
	else
		printf("counters    hardware counters via perf_event_open (%s)\n", h->hw_why);
	if (r->tr.n)
		printf("tracepoints %u kvm/kvmmmu tracepoints counted (%s)\n", r->tr.n, r->tr.why);
	else if (o->counters)
		printf("tracepoints kvmmmu tracepoint counts not available: %s\n", r->tr.why);
	if (!o->no_native)
		printf("checksum    native 0x%016" PRIx64 ", guest 0x%016" PRIx64 " (%s)\n", ck_native,
		       ck_guest, ck_native == ck_guest ? "match" : "MISMATCH");
	else
		printf("checksum    guest 0x%016" PRIx64 "\n", ck_guest);
	for (unsigned k = 0; k < r->ngst && k < MAX_SEGS; k++) {
		struct seg *s = &r->segs[k];
		printf("phase %-5" PRIu64 " %" PRIu64 " accesses\n", s->id, s->accesses);
		if (!o->no_native) {
			printf("  native    %.3f ms, %.1f cycles/access\n", s->n_ns * 1e-6,
			       per((double)s->n_cycles, s->accesses));
			print_perf(s->n_perf, h->hw_counters);
		}
		printf("  guest     %.3f ms wall, %.3f ms in guest, %.1f cycles/access\n",
		       s->g_ns * 1e-6, (double)s->g_cycles / r->tsc_hz * 1e3,
		       per((double)s->g_cycles, s->accesses));
		print_counts(&s->gn);
		print_perf(s->g_perf, h->hw_counters);
		if (r->have_stats) {
			print_stats(&r->vcpus, s->vcpu_d, NULL, "KVM vCPU");
			print_stats(&r->vms, s->vm_d, s->vm_now, "KVM VM");
		}
		print_trace(&r->tr, s->tr_d);
	}
	struct balloon *b = &r->bal;
	if (b->done) {
		printf("balloon     inflate %" PRIu64 " MiB at %s: VmRSS %.1f MiB -> %.1f MiB\n",
		       b->bytes >> 20, o->balloon_phase < 0 ? "the end" : "the phase marker",
		       b->rss_before / 1024.0, b->rss_after / 1024.0);
		printf("            deflate (guest re-touches %" PRIu64 " pages): %.2f us/page in "
		       "guest, %.2f us/page wall, pf_fixed +%" PRIu64 ", VmRSS -> %.1f MiB\n",
		       b->touch_pages, per((double)b->touch_cycles / r->tsc_hz * 1e6, b->touch_pages),
		       per(b->touch_ns * 1e-3, b->touch_pages), b->touch_pf_fixed,
		       b->rss_deflated / 1024.0);
	}
}

static cJSON *stats_json(const struct kvmh_stats *st, const uint64_t *d, bool levels)
{
	cJSON *o = cJSON_CreateObject();
	for (unsigned i = 0; i < st->n; i++)
		if (!kvmh_stats_is_cumulative(st, i) == levels)
			cJSON_AddNumberToObject(o, st->name[i], (double)d[i]);
	return o;
}

static cJSON *counts_json(const struct kvmh_guest_counts *n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "doorbells", (double)n->doorbells);
	cJSON *ops = cJSON_AddObjectToObject(o, "doorbell_ops");
	for (unsigned i = 1; i < KVMH_OP_COUNT; i++)
		cJSON_AddNumberToObject(ops, op_names[i], (double)n->op[i]);
	cJSON_AddNumberToObject(o, "guest_page_faults", (double)n->demand_faults);
	cJSON_AddNumberToObject(o, "divide_errors", (double)n->exceptions);
	cJSON_AddNumberToObject(o, "slot_reloads", (double)n->slot_reloads);
	cJSON_AddNumberToObject(o, "slot_deletes", (double)n->slot_deletes);
	cJSON_AddNumberToObject(o, "pt_slot_reloads", (double)n->pt_reloads);
	cJSON_AddNumberToObject(o, "echo_writes", (double)n->echo_writes);
	cJSON_AddNumberToObject(o, "invlpg_detours", (double)n->invlpgs);
	cJSON_AddNumberToObject(o, "invlpg_detour_cycles", (double)n->invlpg_cycles);
	cJSON_AddNumberToObject(o, "cr3_reloads", (double)n->cr3_reloads);
	cJSON_AddNumberToObject(o, "cr3_switches", (double)n->cr3_switches);
	return o;
}

static cJSON *trace_json(const struct kvmh_trace *t, const uint64_t *d)
{
	cJSON *o = cJSON_CreateObject();
	for (unsigned i = 0; i < t->n; i++)
		cJSON_AddNumberToObject(o, t->name[i], (double)d[i]);
	return o;
}

static cJSON *perf_json(const uint64_t *v)
{
	cJSON *o = cJSON_CreateObject();
	for (unsigned i = 0; i < KVMH_PERF_N; i++)
		cJSON_AddNumberToObject(o, kvmh_perf_names[i], (double)v[i]);
	return o;
}

static void print_json(struct runner *r, const struct kvmh_host *h, const char *spec_canon,
		       uint64_t ck_native, uint64_t ck_guest)
{
	const struct kvmh_run_opts *o = r->o;
	char hex[24];
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "workload", spec_canon);
	cJSON_AddStringToObject(j, "mmu", kvmh_mmu_name(h->mmu));
	cJSON_AddBoolToObject(j, "pvm", h->pvm);
	cJSON_AddStringToObject(j, "setup", "b");
	cJSON_AddStringToObject(j, "guest_page", ps_name(o->g.page));
	cJSON_AddNumberToObject(j, "host_thp", o->g.thp);
	cJSON_AddBoolToObject(j, "ad_preset", o->g.ad);
	cJSON_AddBoolToObject(j, "host_prefault", o->g.prefault);
	cJSON_AddBoolToObject(j, "demand", o->g.demand);
	cJSON_AddBoolToObject(j, "guest_ptw", o->g.guest_ptw);
	cJSON_AddNumberToObject(j, "tsc_hz", r->tsc_hz);
	cJSON_AddBoolToObject(j, "counters", o->counters);
	cJSON_AddBoolToObject(j, "hw_counters", h->hw_counters && o->counters);
	cJSON_AddStringToObject(j, "hw_counters_why", h->hw_why);
	cJSON_AddBoolToObject(j, "tracepoints", r->tr.n > 0);
	cJSON_AddStringToObject(j, "tracepoints_why", r->tr.why);
	snprintf(hex, sizeof hex, "0x%016" PRIx64, ck_guest);
	cJSON_AddStringToObject(j, "checksum_guest", hex);
	if (!o->no_native) {
		snprintf(hex, sizeof hex, "0x%016" PRIx64, ck_native);
		cJSON_AddStringToObject(j, "checksum_native", hex);
		cJSON_AddBoolToObject(j, "checksum_match", ck_native == ck_guest);
	}
	cJSON *ph = cJSON_AddArrayToObject(j, "phases");
	for (unsigned k = 0; k < r->ngst && k < MAX_SEGS; k++) {
		struct seg *s = &r->segs[k];
		cJSON *p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "id", (double)s->id);
		cJSON_AddNumberToObject(p, "accesses", (double)s->accesses);
		if (!o->no_native) {
			cJSON *n = cJSON_AddObjectToObject(p, "native");
			cJSON_AddNumberToObject(n, "wall_ns", s->n_ns);
			cJSON_AddNumberToObject(n, "cycles", (double)s->n_cycles);
			cJSON_AddNumberToObject(n, "cycles_per_access", per((double)s->n_cycles, s->accesses));
			cJSON_AddItemToObject(n, "perf", perf_json(s->n_perf));
		}
		cJSON *g = cJSON_AddObjectToObject(p, "guest");
		cJSON_AddNumberToObject(g, "wall_ns", s->g_ns);
		cJSON_AddNumberToObject(g, "cycles", (double)s->g_cycles);
		cJSON_AddNumberToObject(g, "cycles_per_access", per((double)s->g_cycles, s->accesses));
		cJSON_AddNumberToObject(g, "doorbells", (double)s->gn.doorbells);
		cJSON_AddNumberToObject(g, "guest_page_faults", (double)s->gn.demand_faults);
		cJSON_AddItemToObject(g, "harness", counts_json(&s->gn));
		cJSON_AddItemToObject(g, "perf", perf_json(s->g_perf));
		if (r->have_stats) {
			cJSON_AddItemToObject(g, "kvm_vcpu", stats_json(&r->vcpus, s->vcpu_d, false));
			cJSON_AddItemToObject(g, "kvm_vm", stats_json(&r->vms, s->vm_d, false));
			cJSON_AddItemToObject(g, "kvm_vm_levels", stats_json(&r->vms, s->vm_now, true));
		}
		if (r->tr.n)
			cJSON_AddItemToObject(g, "tracepoints", trace_json(&r->tr, s->tr_d));
		cJSON_AddItemToArray(ph, p);
	}
	struct balloon *b = &r->bal;
	if (b->done) {
		cJSON *bj = cJSON_AddObjectToObject(j, "balloon");
		cJSON_AddNumberToObject(bj, "bytes", (double)b->bytes);
		cJSON_AddNumberToObject(bj, "rss_before_kib", (double)b->rss_before);
		cJSON_AddNumberToObject(bj, "rss_after_kib", (double)b->rss_after);
		cJSON_AddNumberToObject(bj, "rss_deflated_kib", (double)b->rss_deflated);
		cJSON_AddNumberToObject(bj, "touch_pages", (double)b->touch_pages);
		cJSON_AddNumberToObject(bj, "touch_guest_ns_per_page",
					per((double)b->touch_cycles / r->tsc_hz * 1e9, b->touch_pages));
		cJSON_AddNumberToObject(bj, "touch_wall_ns_per_page", per(b->touch_ns, b->touch_pages));
		cJSON_AddNumberToObject(bj, "touch_pf_fixed", (double)b->touch_pf_fixed);
	}
	char *txt = cJSON_Print(j);
	if (txt)
		printf("%s\n", txt);
	free(txt);
	cJSON_Delete(j);
}

/* --- the command --------------------------------------------------------- */

int kvmh_run_main(const struct kvmh_run_opts *o)
{
	static struct runner r; /* large: per-phase statistics arrays */
	struct kvmh_host h;
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	uint64_t ck_native = 0;
	char canon[600], spec_canon[700];
	int rc;

	memset(&r, 0, sizeof r);
	r.o = o;
	if (wl_parse(o->spec, &d, p, &r.err) < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", r.err.msg);
		return 2;
	}
	if (!kvmh_native_has(d->name)) {
		fprintf(stderr, "vmsim-kvm: workload '%s' is not in the guest payload's freestanding "
			"build\n", d->name);
		return 2;
	}
	wl_format_params(d, p, canon, sizeof canon);
	snprintf(spec_canon, sizeof spec_canon, "%s:%s", d->name, canon);

	kvmh_host_probe(&h);
	if (o->ept >= 0 && kvmh_ept_apply(&h, o->ept == 1, &r.err) < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", r.err.msg);
		return vmerr_exit_status(VM_EUSAGE);
	}
	if (h.api < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", h.open_err);
		return 1;
	}
	r.tsc_hz = measure_tsc_hz();
	if (count_accesses(&r, d, p) < 0) {
		fprintf(stderr, "vmsim-kvm: counting the workload's accesses failed\n");
		return 1;
	}
	if (o->counters) {
		kvmh_perf_open(&r.perf);
		kvmh_trace_open(&r.tr);
	} else {
		for (unsigned i = 0; i < KVMH_PERF_N; i++)
			r.perf.fd[i] = -1;
		snprintf(r.tr.why, sizeof r.tr.why, "--counters off");
	}

	if (!o->no_native) {
		kvmh_perf_read(&r.perf, r.perf0);
		r.ns0 = now_ns();
		r.tsc0 = __rdtsc();
		if (kvmh_native_run(d->name, p, o->g.thp, native_mark, &r, &ck_native, &r.err) < 0) {
			fprintf(stderr, "vmsim-kvm: %s\n", r.err.msg);
			return 1;
		}
	}

	static struct kvmh_guest g;
	r.g = &g;
	rc = kvmh_guest_init(&g, &o->g, &r.err);
	if (rc < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", r.err.msg);
		return 1;
	}
	r.have_stats = kvmh_stats_open(&r.vms, g.vm.vm_fd, &r.err) == 0 &&
		       kvmh_stats_open(&r.vcpus, g.vm.vcpu_fd, &r.err) == 0;
	if (!r.have_stats)
		fprintf(stderr, "vmsim-kvm: KVM statistics not available: %s\n", r.err.msg);
	g.mark = guest_mark;
	g.mark_arg = &r;
	kvmh_perf_read(&r.perf, r.perf0);
	snap_stats(&r, r.vm0, r.vcpu0);
	r.ns0 = now_ns();
	rc = kvmh_guest_run(&g, KVMH_CMD_WORKLOAD, NULL, d->name, p, d->nparams + 1, o->timeout_s,
			    &r.err);
	if (rc == 0 && o->balloon_mib) {
		if (!r.bal.done)
			inflate(&r);
		rc = deflate(&r);
	}
	if (rc < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", r.err.msg);
		goto out;
	}
	if (o->json)
		print_json(&r, &h, spec_canon, ck_native, g.checksum);
	else
		print_text(&r, &h, spec_canon, ck_native, g.checksum);
	if (!o->no_native && ck_native != g.checksum)
		rc = -EIO;
out:
	if (r.have_stats) {
		kvmh_stats_close(&r.vms);
		kvmh_stats_close(&r.vcpus);
	}
	kvmh_perf_close(&r.perf);
	kvmh_trace_close(&r.tr);
	kvmh_guest_fini(&g);
	kvmh_ept_restore();
	return rc < 0 ? 1 : 0;
}
