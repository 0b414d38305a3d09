/*
 * kvmh_calib.c - VM exit, shadow fault and page-table-write costs, measured.
 *
 * Notes:
 *  - Each cost is measured in the CPL3 guest of set-up (b), timed with the
 *    guest TSC (rdtsc at CPL3), so doorbells are outside the timed loops;
 *    the exit round trip is timed on the host around many doorbells.
 *  - Shadow fault: first write to each 4 KiB page of 16 MiB whose guest PTEs
 *    are present and whose host pages are present (prefaulted), so the time
 *    is KVM's shadow fault alone, not the host's page allocation.  With A/D
 *    preset KVM prefetches neighbouring entries: the per-page cost drops and
 *    pf_fixed counts one per prefetch group.
 *  - Page-table writes: the guest rewrites one of its own entries (the page
 *    tables are mapped user-writable for this run only).  A write to a
 *    shadowed PDE is emulated (mmu_pte_write); after 3 writes with no use of
 *    the table in between KVM unshadows it (mmu_flooded) and later writes
 *    run natively.  So each round is 2 writes, then a touch below the entry
 *    (which walks the table and resets the flood count), and the cost is the
 *    write time divided by the mmu_pte_write delta.  A leaf-PTE write does
 *    not emulate: the first one faults and marks the table unsync
 *    (mmu_unsync), later ones are native (measured: one unsync in 50 rounds,
 *    re-entering with KVM_SET_SREGS does not re-protect the table), so the
 *    leaf cost is an average over writes, almost all native.
 *  - Costs include the outer hypervisor when this host is itself a VM.
 */
#include "kvmh_calib.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <x86intrin.h>

#include "kvmh_guest.h"
#include "kvmh_host.h"
#include "kvmh_stats.h"
#include "sim/event.h"

#define REGION_PAGES 4096u
#define VA_A 0x0000500000000000ull /* A/D clear */
#define VA_B 0x0000510000000000ull /* A/D preset */
#define VA_C 0x0000520000000000ull /* demand-mapped */

struct calib {
	struct kvmh_guest g;
	struct kvmh_stats vcpu, vm;
	double tsc_hz;
	struct vmerr err;
};

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static uint64_t stat_of(struct kvmh_stats *s, const char *name)
{
	uint64_t v[KVMH_STATS_MAX];
	int i = kvmh_stats_find(s, name);
	if (i < 0 || kvmh_stats_read(s, v) < 0)
		return 0;
	return v[i];
}

/* Run one command; returns guest cycles outside doorbells, or 0 on error. */
static int guest_cmd(struct calib *c, enum kvmh_cmd cmd, uint64_t a0, uint64_t a1,
		     uint64_t *cycles)
{
	uint64_t arg[3] = {a0, a1, 0};
	c->g.guest_cycles = 0;
	int rc = kvmh_guest_run(&c->g, cmd, arg, NULL, NULL, 0, 60, &c->err);
	*cycles = c->g.guest_cycles;
	return rc;
}

struct touch {
	double ns_per_page;
	double pf_fixed_per_page;
};

static int touch(struct calib *c, gva_t va, uint64_t pages, struct touch *t)
{
	uint64_t cyc, pf0 = stat_of(&c->vcpu, "pf_fixed");
	int rc = guest_cmd(c, KVMH_CMD_TOUCH, va, pages << 12, &cyc);
	t->ns_per_page = (double)cyc / c->tsc_hz * 1e9 / (double)pages;
	t->pf_fixed_per_page = (double)(stat_of(&c->vcpu, "pf_fixed") - pf0) / (double)pages;
	return rc;
}

struct ptw {
	double ns_per_write;     /* per trapped write (emulated, or unsync fault) */
	uint64_t writes, emulated, unsync, flooded;
};

/* rounds x (per_round writes to the entry, then one touch of va). */
static int pt_write(struct calib *c, gva_t va, unsigned level, unsigned rounds,
		    unsigned per_round, struct ptw *w)
{
	gpa_t ea = kvmh_guest_entry_gpa(&c->g, va, level);
	if (!ea)
		return vmerr_set(&c->err, VM_EINPUT, "no level-%u entry for 0x%llx", level,
				 (unsigned long long)va);
	uint64_t e0 = stat_of(&c->vm, "mmu_pte_write"), f0 = stat_of(&c->vm, "mmu_flooded");
	uint64_t u0 = stat_of(&c->vm, "mmu_unsync"), total = 0, cyc;
	for (unsigned i = 0; i < rounds; i++) {
		int rc = guest_cmd(c, KVMH_CMD_PTWRITE, KVMH_PTVIEW_VA + (ea - KVMH_PT_GPA),
				   per_round, &cyc);
		if (rc < 0)
			return rc;
		total += cyc;
		if ((rc = guest_cmd(c, KVMH_CMD_TOUCH, va, 4096, &cyc)) < 0)
			return rc;
	}
	w->writes = (uint64_t)rounds * per_round;
	w->emulated = stat_of(&c->vm, "mmu_pte_write") - e0;
	w->unsync = stat_of(&c->vm, "mmu_unsync") - u0;
	w->flooded = stat_of(&c->vm, "mmu_flooded") - f0;
	uint64_t trapped = level == 0 ? w->writes : w->emulated;
	w->ns_per_write = trapped ? (double)total / c->tsc_hz * 1e9 / (double)trapped : 0;
	return 0;
}

int kvmh_calib_main(const char *out)
{
	static struct calib c;
	struct kvmh_host h;
	struct touch fault, prefetch, hit, demand;
	struct ptw pte, pde;
	double exit_ns;
	uint64_t cyc;
	int rc;

	kvmh_host_probe(&h);
	if (h.api < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", h.open_err);
		return 1;
	}
	double t0 = now_ns();
	uint64_t c0 = __rdtsc();
	while (now_ns() - t0 < 20e6)
		;
	c.tsc_hz = (double)(__rdtsc() - c0) / ((now_ns() - t0) * 1e-9);

	struct kvmh_guest_opts o = {.page = PS_4K, .thp = 0, .prefault = true, .pt_view = true};
	if ((rc = kvmh_guest_init(&c.g, &o, &c.err)) < 0)
		goto fail_msg;
	if ((rc = kvmh_stats_open(&c.vcpu, c.g.vm.vcpu_fd, &c.err)) < 0 ||
	    (rc = kvmh_stats_open(&c.vm, c.g.vm.vm_fd, &c.err)) < 0)
		goto fail;

	/* Exit round trip: warm up (first entry faults the payload in), then time. */
	const uint64_t pings = 2000;
	if ((rc = guest_cmd(&c, KVMH_CMD_PING, 1, 0, &cyc)) < 0)
		goto fail;
	t0 = now_ns();
	if ((rc = guest_cmd(&c, KVMH_CMD_PING, pings, 0, &cyc)) < 0)
		goto fail;
	exit_ns = (now_ns() - t0) / (double)(pings + 1);

	if ((rc = kvmh_guest_map(&c.g, VA_A, REGION_PAGES << 12, VM_PROT_R | VM_PROT_W, &c.err)) < 0 ||
	    (rc = touch(&c, VA_A, REGION_PAGES, &fault)) < 0 ||
	    (rc = touch(&c, VA_A, REGION_PAGES, &hit)) < 0)
		goto fail;
	c.g.o.ad = true;
	if ((rc = kvmh_guest_map(&c.g, VA_B, REGION_PAGES << 12, VM_PROT_R | VM_PROT_W, &c.err)) < 0 ||
	    (rc = touch(&c, VA_B, REGION_PAGES, &prefetch)) < 0)
		goto fail;
	c.g.o.ad = false;
	c.g.o.demand = true;
	if ((rc = kvmh_guest_map(&c.g, VA_C, 1024 << 12, VM_PROT_R | VM_PROT_W, &c.err)) < 0 ||
	    (rc = touch(&c, VA_C, 1024, &demand)) < 0)
		goto fail;
	c.g.o.demand = false;
	if ((rc = pt_write(&c, VA_A, 0, 50, 1, &pte)) < 0 || (rc = pt_write(&c, VA_A, 1, 50, 2, &pde)) < 0)
		goto fail;

	FILE *f = out ? fopen(out, "w") : stdout;
	if (!f) {
		fprintf(stderr, "vmsim-kvm: cannot write %s: %m\n", out);
		rc = -1;
		goto out;
	}
	struct utsname u;
	uname(&u);
	time_t now = time(NULL);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "; vmsim-kvm calibrate on %s (%s %s), %s\n", u.nodename, u.sysname, u.release,
		when);
	fprintf(f, "; Costs measured in a CPL3 KVM guest; they include the outer hypervisor when this "
		   "host is a VM.\n");
	fprintf(f, "[host]\nmmu = %s\npvm = %s\ntsc_ghz = %.3f\n\n",
		h.mmu == KVMH_MMU_EPT ? "ept" : h.mmu == KVMH_MMU_NPT ? "npt" : "shadow",
		h.pvm ? "yes" : "no", c.tsc_hz * 1e-9);
	fprintf(f, "[cost]\n");
	fprintf(f, "; MMIO doorbell: guest store -> KVM_EXIT_MMIO -> vmsim-kvm -> KVM_RUN\n");
	fprintf(f, "vm_exit_ns = %.0f\n", exit_ns);
	fprintf(f, "; one shadow fault (pf_fixed): first load+store of 4 KiB pages, guest PTE "
		   "present, A/D clear:\n; %.0f ns and %.3f pf_fixed per page (read fault, then the "
		   "write fault that sets D)\n", fault.ns_per_page, fault.pf_fixed_per_page);
	fprintf(f, "shadow_fault_ns = %.0f\n", fault.ns_per_page / fault.pf_fixed_per_page);
	fprintf(f, "; same with A/D preset: KVM prefetches neighbours (pf_fixed %.3f/page)\n",
		prefetch.pf_fixed_per_page);
	fprintf(f, "shadow_fault_prefetch_ns_per_page = %.0f\n", prefetch.ns_per_page);
	fprintf(f, "; second write to the same pages (shadow entries present)\n");
	fprintf(f, "shadow_hit_ns_per_page = %.1f\n", hit.ns_per_page);
	fprintf(f, "; guest leaf-PTE write, average: the first faults and unsyncs the table, the "
		   "rest run natively\n; (%" PRIu64 " writes, mmu_unsync +%" PRIu64
		   ", mmu_pte_write +%" PRIu64 ")\n", pte.writes, pte.unsync, pte.emulated);
	fprintf(f, "pte_write_ns = %.0f\n", pte.ns_per_write);
	fprintf(f, "; guest PDE write, trapped and emulated: %" PRIu64 " of %" PRIu64
		   " writes emulated, mmu_flooded +%" PRIu64 "\n", pde.emulated, pde.writes, pde.flooded);
	fprintf(f, "pde_write_emul_ns = %.0f\n", pde.ns_per_write);
	fprintf(f, "; guest page fault served by vmsim-kvm (KVM_EXIT_SHUTDOWN, map, resume), "
		   "shadow fault included\n");
	fprintf(f, "guest_fault_ns = %.0f\n", demand.ns_per_page);
	if (out) {
		fclose(f);
		printf("wrote %s: vm_exit_ns %.0f, shadow_fault_ns %.0f, pte_write_ns %.0f, "
		       "pde_write_emul_ns %.0f, guest_fault_ns %.0f\n", out, exit_ns,
		       fault.ns_per_page / fault.pf_fixed_per_page, pte.ns_per_write, pde.ns_per_write,
		       demand.ns_per_page);
	}
	rc = 0;
	goto out;

fail_msg:
fail:
	fprintf(stderr, "vmsim-kvm calibrate: %s\n", c.err.msg);
out:
	kvmh_stats_close(&c.vcpu);
	kvmh_stats_close(&c.vm);
	kvmh_guest_fini(&c.g);
	return rc < 0 ? 1 : 0;
}
