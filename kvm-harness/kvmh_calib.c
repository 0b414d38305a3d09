/*
 * kvmh_calib.c - this host's virtualization costs, measured, written as a
 * cost profile (INI) in the simulator's own keys, for `vmsim run -c`.
 *
 * Notes:
 *  - Every guest cost is measured in the CPL3 guest of set-up (b), timed
 *    with the guest TSC (rdtsc at CPL3) around a loop, so the doorbell that
 *    ends the loop is outside the time.  The doorbell round trip itself is
 *    timed on the host.  Costs include the outer hypervisor when this host
 *    is itself a VM, as it is on the PVM machines.
 *  - Each cost is the lowest of REPS repetitions (fresh pages for each):
 *    the machines here are shared 2-vCPU VMs, and interference only ever
 *    adds time.  A handler cost that comes out below zero (the exit was
 *    measured dearer than the whole) is written as 0 and said so.
 *  - Cycles are TSC cycles: [machine] freq_mhz is the measured TSC rate, so
 *    the simulator's ns-to-cycle conversions and these numbers agree.
 *  - The VM exit round trip is a loop of CPUID, which always exits under
 *    VMX and SVM and whose handler is trivial: the classic exit-latency
 *    probe.  Where CPUID does not exit (the vCPU's `exits` counter says so;
 *    PVM runs it natively at CPL3), it is a loop of stores to a page with
 *    no memory slot where an ioeventfd is registered: an MMIO exit served
 *    inside KVM (fault, instruction decode, eventfd signal) without
 *    returning to vmsim-kvm.  Any exit with a handler bounds the bare exit
 *    from above, so where a shadow fault (exit + shadow work) comes out
 *    cheaper than that probe (PVM's MMIO decode is dear), the cheapest
 *    shadow fault (read, write or dirty-bit) is the exit.  The split between
 *    exit and handler is then not observable here; their sums, which are
 *    what the model charges per event, stay exactly as measured.  If nothing
 *    exits, [vtx] exit is left out and every handler cost includes it.
 *  - A shadow fault (first store to a page whose guest PTE is present and
 *    whose host page is present) costs exit + handler; the handler part is
 *    written as [vmm] hidden_fault and [vtx] pf = 0, since the measurement
 *    does not split the #PF exit handler from the shadow work.  The same
 *    with the host page absent adds the host's allocation: [vmm] host_alloc.
 *    A load then a store to a fresh page takes two faults: the read fault
 *    maps the page read-only to catch the dirty bit, the store's fault sets
 *    D: [vmm] ad.  With A/D preset KVM prefetches neighbouring entries;
 *    the model charges nothing for prefetched entries, so that cost is
 *    only reported in a comment.
 *  - Page-table writes: the guest rewrites one of its own entries (the page
 *    tables are mapped user-writable for this run only).  A write to a
 *    shadowed PDE is emulated (mmu_pte_write); after 3 writes with no use of
 *    the table in between KVM unshadows it (mmu_flooded).  So each round is
 *    2 writes, then a touch below the entry, and the cost per emulated write
 *    gives [vmm] ptwrite.  A leaf-PTE write does not emulate: the first
 *    unsyncs the table, later ones are native; reported in a comment.
 *  - A guest page fault (guest PTE absent) ends in a shutdown that
 *    vmsim-kvm serves as the guest's kernel: it maps the page and resumes,
 *    and KVM's shadow fault follows.  The model charges a reflected fault
 *    exit + reflect, the kernel's cpu.page_fault_cycles, then the shadow
 *    fault: [vmm] reflect is the rest.
 *  - Port I/O and CR8 writes of the CPL3 guest are doorbells (MMIO exits to
 *    vmsim-kvm): [vtx] io and cr8 are the doorbell beyond the exit.  A
 *    divide error ends in a shutdown that vmsim-kvm serves: [vtx] exception.
 *  - [cpu] costs are those of this host's kernel, measured in this process:
 *    a first-touch anonymous page fault, getppid, mprotect, a SIGFPE
 *    round trip.  They are what the host-process run pays.
 *  - On an EPT/NPT host the exit and first-touch costs go to [nested] exit
 *    and violation instead (not exercised on the shadow-only hosts here).
 */
#define _GNU_SOURCE
#include "kvmh_calib.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <x86intrin.h>

#include "kvmh_guest.h"
#include "kvmh_host.h"
#include "kvmh_stats.h"
#include "sim/event.h"

#define REPS 5
#define REGION_PAGES 1024u /* per repetition */
/* Region kinds, each rep at its own address (VA_x + rep * VA_STEP). */
#define VA_A 0x0000500000000000ull /* prefaulted, A/D clear: store faults */
#define VA_B 0x0000510000000000ull /* prefaulted, A/D clear: load, then store */
#define VA_C 0x0000520000000000ull /* host pages absent */
#define VA_D 0x0000530000000000ull /* prefaulted, A/D preset: prefetch */
#define VA_E 0x0000540000000000ull /* demand-mapped: guest page faults */
#define VA_STEP (1ull << 32)
#define CPUIDS 4000u
#define KICKS 4000u
#define PINGS 400u
#define DIVIDES 60u
#define DEMAND_PAGES 128u

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

/* Run one command; *cycles gets the guest cycles outside the final doorbell. */
static int guest_cmd(struct calib *c, enum kvmh_cmd cmd, uint64_t a0, uint64_t a1, uint64_t a2,
		     uint64_t *cycles)
{
	uint64_t arg[3] = {a0, a1, a2};
	c->g.guest_cycles = 0;
	int rc = kvmh_guest_run(&c->g, cmd, arg, NULL, NULL, 0, 60, &c->err);
	*cycles = c->g.guest_cycles;
	return rc;
}

struct touch {
	double cyc_per_page;
	double pf_fixed_per_page;
};

enum { LOAD_STORE = 0, STORE = 1, LOAD = 2 };

/* Keeps the lowest time of the repetitions in *t (t->cyc_per_page 0: none yet). */
static int touch(struct calib *c, gva_t va, uint64_t pages, unsigned mode, struct touch *t)
{
	uint64_t cyc, pf0 = stat_of(&c->vcpu, "pf_fixed");
	int rc = guest_cmd(c, KVMH_CMD_TOUCH, va, pages << 12, mode, &cyc);
	double per = (double)cyc / (double)pages;
	if (rc == 0 && (t->cyc_per_page == 0 || per < t->cyc_per_page)) {
		t->cyc_per_page = per;
		t->pf_fixed_per_page = (double)(stat_of(&c->vcpu, "pf_fixed") - pf0) / (double)pages;
	}
	return rc;
}

static void keep_min(double *best, double v)
{
	if (*best == 0 || v < *best)
		*best = v;
}

struct ptw {
	double cyc_per_write; /* per trapped write (emulated, or unsync fault) */
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
	uint64_t u0 = stat_of(&c->vm, "mmu_unsync"), total = 0, cyc, least = ~0ull;
	for (unsigned i = 0; i < rounds; i++) {
		int rc = guest_cmd(c, KVMH_CMD_PTWRITE, KVMH_PTVIEW_VA + (ea - KVMH_PT_GPA),
				   per_round, 0, &cyc);
		if (rc < 0)
			return rc;
		total += cyc;
		if (cyc < least)
			least = cyc;
		if ((rc = guest_cmd(c, KVMH_CMD_TOUCH, va, 4096, LOAD_STORE, &cyc)) < 0)
			return rc;
	}
	w->writes = (uint64_t)rounds * per_round;
	w->emulated = stat_of(&c->vm, "mmu_pte_write") - e0;
	w->unsync = stat_of(&c->vm, "mmu_unsync") - u0;
	w->flooded = stat_of(&c->vm, "mmu_flooded") - f0;
	/* Emulated PDE writes: every round's writes trap, so the quietest round
	 * is the cost.  Leaf writes: one trap in all, so the average. */
	if (level == 0)
		w->cyc_per_write = (double)total / (double)w->writes;
	else
		w->cyc_per_write = w->emulated >= w->writes ? (double)least / per_round
				   : w->emulated ? (double)total / (double)w->emulated : 0;
	return 0;
}

/* --- the host kernel's own costs, in this process -------------------------- */

struct native {
	double fault, syscall, mprotect, sigfpe; /* TSC cycles each */
};

void kvmh_calib_divide_error(void);
extern const char kvmh_calib_de_insn[], kvmh_calib_de_end[];
__asm__(".text\n"
	".globl kvmh_calib_divide_error\n"
	".type kvmh_calib_divide_error, @function\n"
	"kvmh_calib_divide_error:\n"
	"	xor %eax, %eax\n"
	"	xor %edx, %edx\n"
	"	xor %ecx, %ecx\n"
	".globl kvmh_calib_de_insn\n"
	"kvmh_calib_de_insn:\n"
	"	divl %ecx\n"
	".globl kvmh_calib_de_end\n"
	"kvmh_calib_de_end:\n"
	"	ret\n"
	".size kvmh_calib_divide_error, . - kvmh_calib_divide_error\n");

static void on_sigfpe(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ctx;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)kvmh_calib_de_end;
}

static int measure_native(struct native *n)
{
	const size_t len = (size_t)REGION_PAGES << 12;
	memset(n, 0, sizeof *n);
	struct sigaction sa = {.sa_sigaction = on_sigfpe, .sa_flags = SA_SIGINFO}, old;
	sigemptyset(&sa.sa_mask);
	for (unsigned rep = 0; rep < REPS; rep++) {
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return -1;
		madvise(m, len, MADV_NOHUGEPAGE);
		uint64_t t0 = __rdtsc();
		for (size_t off = 0; off < len; off += 4096)
			((volatile char *)m)[off] = 1;
		keep_min(&n->fault, (double)(__rdtsc() - t0) / REGION_PAGES);

		t0 = __rdtsc();
		for (unsigned i = 0; i < 2000; i++)
			(void)syscall(SYS_getppid);
		keep_min(&n->syscall, (double)(__rdtsc() - t0) / 2000);

		t0 = __rdtsc();
		for (unsigned i = 0; i < 1000; i++)
			mprotect(m, 4096, i & 1 ? PROT_READ | PROT_WRITE : PROT_READ);
		keep_min(&n->mprotect, (double)(__rdtsc() - t0) / 1000);
		munmap(m, len);

		sigaction(SIGFPE, &sa, &old);
		t0 = __rdtsc();
		for (unsigned i = 0; i < 400; i++)
			kvmh_calib_divide_error();
		keep_min(&n->sigfpe, (double)(__rdtsc() - t0) / 400);
		sigaction(SIGFPE, &old, NULL);
	}
	return 0;
}

/* --- the profile ------------------------------------------------------------ */

static uint64_t cyc(double v) { return v > 0 ? (uint64_t)(v + 0.5) : 0; }
static const char *clamped(double v)
{
	return v < 0 ? "   ; measured below zero: within the noise here" : "";
}

int kvmh_calib_main(const char *out)
{
	static struct calib c;
	struct kvmh_host h;
	struct touch wr, rd, dirty, np, pref, hit, demand;
	struct ptw pte, pde;
	struct native nat;
	uint64_t cycles;
	int rc;

	kvmh_host_probe(&h);
	if (h.api < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", h.open_err);
		return 1;
	}
	double t0 = now_ns();
	uint64_t c0 = __rdtsc();
	while (now_ns() - t0 < 50e6)
		;
	c.tsc_hz = (double)(__rdtsc() - c0) / ((now_ns() - t0) * 1e-9);
	double mhz = c.tsc_hz * 1e-6;

	if (measure_native(&nat) < 0) {
		fprintf(stderr, "vmsim-kvm calibrate: mmap of the native test region failed: %m\n");
		return 1;
	}

	struct kvmh_guest_opts o = {.page = PS_4K, .thp = 0, .prefault = true, .pt_view = true};
	if ((rc = kvmh_guest_init(&c.g, &o, &c.err)) < 0)
		goto fail;
	if ((rc = kvmh_stats_open(&c.vcpu, c.g.vm.vcpu_fd, &c.err)) < 0 ||
	    (rc = kvmh_stats_open(&c.vm, c.g.vm.vm_fd, &c.err)) < 0)
		goto fail;

	/* Warm up (the first entry faults the payload in), then the exits. */
	if ((rc = guest_cmd(&c, KVMH_CMD_PING, 1, 0, 0, &cycles)) < 0 ||
	    (rc = guest_cmd(&c, KVMH_CMD_CPUID, 1, 0, 0, &cycles)) < 0)
		goto fail;
	uint64_t x0 = stat_of(&c.vcpu, "exits");
	if ((rc = guest_cmd(&c, KVMH_CMD_CPUID, CPUIDS, 0, 0, &cycles)) < 0)
		goto fail;
	uint64_t cpuid_exits = stat_of(&c.vcpu, "exits") - x0;
	bool cpuid_exits_all = cpuid_exits >= CPUIDS * 9 / 10;
	double exit_cyc = 0;
	for (unsigned rep = 0; cpuid_exits_all && rep < REPS; rep++) {
		if ((rc = guest_cmd(&c, KVMH_CMD_CPUID, CPUIDS, 0, 0, &cycles)) < 0)
			goto fail;
		keep_min(&exit_cyc, (double)cycles / CPUIDS);
	}
	uint64_t kick_exits = 0, kick_user = 0;
	bool kick_ok = false;
	if (!cpuid_exits_all) {
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		struct kvm_ioeventfd io = {.addr = KVMH_KICK_GPA, .len = 8, .fd = efd};
		if (efd >= 0 && ioctl(c.g.vm.vm_fd, KVM_IOEVENTFD, &io) == 0) {
			if ((rc = guest_cmd(&c, KVMH_CMD_KICK, 1, 0, 0, &cycles)) < 0)
				goto fail;
			x0 = stat_of(&c.vcpu, "exits");
			uint64_t m0 = stat_of(&c.vcpu, "mmio_exits");
			for (unsigned rep = 0; rep < REPS; rep++) {
				if ((rc = guest_cmd(&c, KVMH_CMD_KICK, KICKS, 0, 0, &cycles)) < 0)
					goto fail;
				keep_min(&exit_cyc, (double)cycles / KICKS);
			}
			kick_exits = stat_of(&c.vcpu, "exits") - x0;
			kick_user = stat_of(&c.vcpu, "mmio_exits") - m0;
			kick_ok = kick_exits >= REPS * KICKS * 9 / 10 && kick_user <= 2 * REPS;
			if (!kick_ok)
				exit_cyc = 0;
		}
		if (efd >= 0)
			close(efd);
	}

	double ring_cyc = 0, div_cyc = 0;
	if ((rc = guest_cmd(&c, KVMH_CMD_DIVIDE, 1, 0, 0, &cycles)) < 0)
		goto fail;
	for (unsigned rep = 0; rep < REPS; rep++) {
		t0 = now_ns();
		if ((rc = guest_cmd(&c, KVMH_CMD_PING, PINGS, 0, 0, &cycles)) < 0)
			goto fail;
		keep_min(&ring_cyc, (now_ns() - t0) / (PINGS + 1) * 1e-9 * c.tsc_hz);
		if ((rc = guest_cmd(&c, KVMH_CMD_DIVIDE, DIVIDES, 0, 0, &cycles)) < 0)
			goto fail;
		keep_min(&div_cyc, (double)cycles / DIVIDES);
	}

	const uint64_t len = (uint64_t)REGION_PAGES << 12;
	const unsigned rw = VM_PROT_R | VM_PROT_W;
	memset(&wr, 0, sizeof wr);
	rd = dirty = np = pref = hit = demand = wr;
	for (unsigned rep = 0; rep < REPS; rep++) {
		uint64_t d = rep * VA_STEP;
		c.g.o.prefault = true;
		if ((rc = kvmh_guest_map(&c.g, VA_A + d, len, rw, &c.err)) < 0 ||
		    (rc = touch(&c, VA_A + d, REGION_PAGES, STORE, &wr)) < 0 ||
		    (rc = touch(&c, VA_A + d, REGION_PAGES, STORE, &hit)) < 0 ||
		    (rc = kvmh_guest_map(&c.g, VA_B + d, len, rw, &c.err)) < 0 ||
		    (rc = touch(&c, VA_B + d, REGION_PAGES, LOAD, &rd)) < 0 ||
		    (rc = touch(&c, VA_B + d, REGION_PAGES, STORE, &dirty)) < 0)
			goto fail;
		c.g.o.prefault = false;
		if ((rc = kvmh_guest_map(&c.g, VA_C + d, len, rw, &c.err)) < 0 ||
		    (rc = touch(&c, VA_C + d, REGION_PAGES, STORE, &np)) < 0)
			goto fail;
		c.g.o.prefault = true;
		c.g.o.ad = true;
		if ((rc = kvmh_guest_map(&c.g, VA_D + d, len, rw, &c.err)) < 0 ||
		    (rc = touch(&c, VA_D + d, REGION_PAGES, STORE, &pref)) < 0)
			goto fail;
		c.g.o.ad = false;
		c.g.o.demand = true;
		if ((rc = kvmh_guest_map(&c.g, VA_E + d, DEMAND_PAGES << 12, rw, &c.err)) < 0 ||
		    (rc = touch(&c, VA_E + d, DEMAND_PAGES, STORE, &demand)) < 0)
			goto fail;
		c.g.o.demand = false;
	}
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
	bool tdp = h.mmu != KVMH_MMU_SHADOW;
	const char *vmm = tdp ? "nested" : "vmm";
	/* Handler costs are beyond the exit when the exit was measured. */
	double fault = wr.cyc_per_page / (wr.pf_fixed_per_page > 0 ? wr.pf_fixed_per_page : 1);
	double dfault = dirty.cyc_per_page / (dirty.pf_fixed_per_page > 0 ? dirty.pf_fixed_per_page : 1);
	double rfault = rd.cyc_per_page / (rd.pf_fixed_per_page > 0 ? rd.pf_fixed_per_page : 1);
	double least = fault < dfault ? fault : dfault;
	if (rfault < least)
		least = rfault;
	double probe = exit_cyc;
	bool fault_is_exit = exit_cyc > 0 && !tdp && least < exit_cyc;
	if (fault_is_exit)
		exit_cyc = least;
	double fault_h = fault - exit_cyc, ad_h = dfault - exit_cyc;
	double io_h = ring_cyc - exit_cyc, de_h = div_cyc - exit_cyc;
	double alloc = np.cyc_per_page - wr.cyc_per_page, pt_h = pde.cyc_per_write - exit_cyc;

	fprintf(f, "; vmsim cost profile measured by vmsim-kvm calibrate on %s (%s %s), %s\n",
		u.nodename, u.sysname, u.release, when);
	fprintf(f, "; Host: %s%s; guest set-up (b), a CPL3 payload with vmsim-kvm as its kernel.\n",
		kvmh_mmu_name(h.mmu), h.pvm ? ", PVM" : "");
	fprintf(f, "; Costs are in TSC cycles and include the outer hypervisor when this host is a "
		   "VM.\n; Keys not here keep their defaults (vmsim config -c THIS_FILE shows all).\n"
		   "; Load it with: vmsim run -c THIS_FILE -m %s ...\n\n", tdp ? "nested" : "vtx");
	fprintf(f, "[machine]\nname = kvm-%s\n", u.nodename);
	fprintf(f, "; TSC rate against CLOCK_MONOTONIC over 50 ms: %.3f GHz\n", c.tsc_hz * 1e-9);
	fprintf(f, "freq_mhz = %.0f\n\n", mhz);

	fprintf(f, "[cpu]\n");
	fprintf(f, "; Each cost is the lowest of %d repetitions.\n", REPS);
	fprintf(f, "; first store to each of %u fresh anonymous 4 KiB pages in a host process "
		   "(THP off):\n; a Linux demand fault here, zeroing included\n", REGION_PAGES);
	fprintf(f, "page_fault_cycles = %" PRIu64 "\n", cyc(nat.fault));
	fprintf(f, "; getppid() round trip, 2000 calls\n");
	fprintf(f, "syscall_cycles = %" PRIu64 "\n", cyc(nat.syscall));
	fprintf(f, "; mprotect() of one page, 1000 calls alternating R and RW\n");
	fprintf(f, "map_cycles = %" PRIu64 "\n", cyc(nat.mprotect));
	fprintf(f, "; divide error in a host process: SIGFPE delivered and returned from, 400 "
		   "times\n");
	fprintf(f, "exception_cycles = %" PRIu64 "\n\n", cyc(nat.sigfpe));

	fprintf(f, "[%s]\n", tdp ? "nested" : "vtx");
	if (cpuid_exits_all) {
		fprintf(f, "; CPUID in the guest (%u of them gave %" PRIu64 " exits), lowest per CPUID: VM exit, trivial "
			   "handler, VM entry\n", CPUIDS, cpuid_exits);
		fprintf(f, "exit = %" PRIu64 "\n", cyc(exit_cyc));
	} else if (kick_ok) {
		fprintf(f, "; CPUID does not exit here (%" PRIu64 " exits for %u); a store to an "
			   "ioeventfd address instead,\n; %u times (%" PRIu64 " exits, %" PRIu64
			   " to user space): exit, MMIO decode in KVM, entry: %.0f cycles\n",
			cpuid_exits, CPUIDS, REPS * KICKS, kick_exits, kick_user, probe);
		if (fault_is_exit)
			fprintf(f, "; the cheapest shadow fault (below) took less, %.0f cycles: any "
				   "exit with a handler bounds the\n; bare exit, so the exit is that, and "
				   "the work beyond it is what the others took more\n; (only the sums are "
				   "observable here)\n", least);
		fprintf(f, "exit = %" PRIu64 "\n", cyc(exit_cyc));
	} else {
		fprintf(f, "; neither CPUID (%" PRIu64 " exits for %u) nor an ioeventfd store (%" PRIu64
			   " exits, %" PRIu64 " to user space)\n; exits in the kernel here: no exit "
			   "cost measured; the handler costs below include the exit\n", cpuid_exits,
			CPUIDS, kick_exits, kick_user);
	}
	fprintf(f, "; MMIO doorbell round trip to vmsim-kvm (KVM_RUN returns to user space), %u "
		   "times: %.0f ns;\n; the CPL3 guest's port I/O and CR8 writes are such doorbells, so "
		   "the handler is that beyond the exit\n", PINGS, ring_cyc / mhz * 1e3);
	fprintf(f, "io = %" PRIu64 "%s\n", cyc(io_h), clamped(io_h));
	if (tdp) {
		fprintf(f, "; first store to a page, guest PTE present, host page present: the "
			   "EPT/NPT violation beyond the exit\n");
		fprintf(f, "violation = %" PRIu64 "%s\n\n", cyc(fault_h), clamped(fault_h));
	} else {
		fprintf(f, "cr8 = %" PRIu64 "%s\n", cyc(io_h), clamped(io_h));
		fprintf(f, "; divide error in the guest, %u times: a shutdown exit that vmsim-kvm "
			   "serves by resuming past the\n; instruction (the CPL3 guest cannot take its "
			   "own exceptions here), beyond the exit\n", DIVIDES);
		fprintf(f, "exception = %" PRIu64 "%s\n", cyc(de_h), clamped(de_h));
		fprintf(f, "; the #PF exit handler is not measured apart from the shadow work: all of "
			   "it is in vmm.hidden_fault\npf = 0\n\n");
	}

	fprintf(f, "[%s]\n", vmm);
	if (!tdp) {
		fprintf(f, "; first store to each of %u pages, guest PTE present with A/D clear, host "
			   "page present: %.0f cycles\n; and %.3f pf_fixed per page; the shadow fault "
			   "beyond the exit\n", REPS * REGION_PAGES, wr.cyc_per_page,
			wr.pf_fixed_per_page);
		fprintf(f, "hidden_fault = %" PRIu64 "%s\n", cyc(fault_h), clamped(fault_h));
		fprintf(f, "; a load (%.0f cycles, %.3f pf_fixed per page: mapped read-only while D is "
			   "clear), then a store:\n; %.0f cycles and %.3f pf_fixed per page to set D, "
			   "beyond the exit\n", rd.cyc_per_page, rd.pf_fixed_per_page,
			dirty.cyc_per_page, dirty.pf_fixed_per_page);
		fprintf(f, "ad = %" PRIu64 "%s\n", cyc(ad_h), clamped(ad_h));
	}
	fprintf(f, "; the same first stores with the host page absent: %.0f cycles per page, so "
		   "the host's\n; allocation of the page adds this much\n", np.cyc_per_page);
	fprintf(f, "host_alloc = %" PRIu64 "%s\n", cyc(alloc), clamped(alloc));
	if (!tdp) {
		double refl = demand.cyc_per_page - fault - exit_cyc - nat.fault;
		fprintf(f, "; a guest page fault served by vmsim-kvm (shutdown exit, map the page, "
			   "restore the registers,\n; resume) and the shadow fault that follows: %.0f "
			   "cycles; beyond that shadow fault,\n; an exit and cpu.page_fault_cycles, "
			   "this is the delivery of the fault to the guest's kernel\n",
			demand.cyc_per_page);
		fprintf(f, "reflect = %" PRIu64 "%s\n", cyc(refl), clamped(refl));
		fprintf(f, "; guest PDE write, trapped and emulated (%" PRIu64 " of %" PRIu64
			   " writes, mmu_flooded +%" PRIu64 "): %.0f cycles,\n; beyond the exit\n",
			pde.emulated, pde.writes, pde.flooded, pde.cyc_per_write);
		fprintf(f, "ptwrite = %" PRIu64 "%s\n", cyc(pt_h), clamped(pt_h));
	}
	fprintf(f, "\n; Measured, not used by a key:\n");
	fprintf(f, ";  with A/D preset KVM prefetched: %.3f pf_fixed and %.0f cycles per page "
		   "(%.0f per fault)\n", pref.pf_fixed_per_page, pref.cyc_per_page,
		pref.pf_fixed_per_page > 0 ? pref.cyc_per_page / pref.pf_fixed_per_page : 0.0);
	fprintf(f, ";  a store to a page already shadowed: %.1f cycles\n", hit.cyc_per_page);
	fprintf(f, ";  a guest leaf-PTE write, average of %" PRIu64 " (mmu_unsync +%" PRIu64
		   ", mmu_pte_write +%" PRIu64 "): %.0f cycles;\n;  the first unsyncs the table, "
		   "the rest run natively\n", pte.writes, pte.unsync, pte.emulated,
		pte.cyc_per_write);
	if (out) {
		fclose(f);
		printf("wrote %s: TSC %.0f MHz, exit %.0f, doorbell %.0f, shadow fault %.0f + exit, "
		       "host_alloc %.0f, ptwrite %.0f + exit cycles\n", out, mhz, exit_cyc, ring_cyc,
		       fault_h, alloc, pt_h);
	}
	rc = 0;
	goto out;

fail:
	fprintf(stderr, "vmsim-kvm calibrate: %s\n", c.err.msg);
out:
	kvmh_stats_close(&c.vcpu);
	kvmh_stats_close(&c.vm);
	kvmh_guest_fini(&c.g);
	return rc < 0 ? 1 : 0;
}
