/*
 * kvmh_native.c - wlrt_* for the host-process run.
 *
 * Notes:
 *  - One host process stands in for all of the workload's processes, as in
 *    workloads/fs/wl_record.c, but each process keeps its own mappings:
 *    every wl_map gets its own memory (a "backing"), each process a list of
 *    regions over backings (fork shares the parent's, as the guest does).
 *    Two processes may map different backings at the same address
 *    (ctxswitch, compile): at a switch, a backing in the way is parked
 *    elsewhere with mremap and the incoming process's own is moved home.
 *    Moving pages is not copying them, so a switch costs two mremap calls
 *    per conflicting backing: the native stand-in for a context switch.
 *  - io_in returns 0, fetch is a load and cr8 does nothing (a process
 *    cannot write CR8), exactly as the guest's values, so both runs compute
 *    the same checksum.
 *  - wlrt_exception(0) is a real divide error: SIGFPE, whose handler
 *    returns past the instruction (the host kernel's exception delivery
 *    round trip).  Other vectors do nothing.
 *  - A syscall is a real one (getppid), the cheapest that enters the kernel.
 */
#define _GNU_SOURCE
#define VMSIM_FREESTANDING /* the freestanding declarations of wl.h */
#include "kvmh_native.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "workloads/wl.h"

struct backing {
	uint64_t va, len; /* home */
	void *park;       /* where it is while another backing is at home; NULL: at home */
	unsigned refs;    /* regions over it */
};

struct nregion {
	uint32_t pid;
	uint64_t va, len;
	unsigned prot;
	unsigned b;       /* rt.bk index */
};

static struct {
	int thp;
	kvmh_native_mark_fn mark;
	void *arg;
	uint32_t cur;
	struct backing *bk;
	unsigned nbk, capbk;
	struct nregion *rg;
	unsigned nrg, caprg;
} rt;

static void fail(const char *what)
{
	/* The workload would fault on its next access: stop here. */
	fprintf(stderr, "vmsim-kvm: host-process run: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *grow(void *p, unsigned *cap, size_t elem)
{
	unsigned c = *cap ? 2 * *cap : 32;
	void *n = realloc(p, c * elem);
	if (!n)
		fail("out of memory");
	*cap = c;
	return n;
}

static int host_prot(unsigned prot)
{
	return (prot & VM_PROT_R ? PROT_READ : 0) | (prot & VM_PROT_W ? PROT_WRITE : 0) |
	       (prot & VM_PROT_X ? PROT_EXEC : 0);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Move backing i out of its home / back into it. */
static void park(unsigned i)
{
	struct backing *b = &rt.bk[i];
	void *to = mmap(NULL, b->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (to == MAP_FAILED)
		fail("reserving room to park a mapping");
	/* One protection over the whole backing merges it into one mapping,
	 * which mremap needs; the owner's protections come back at unpark. */
	mprotect((void *)b->va, b->len, PROT_READ | PROT_WRITE);
	if (mremap((void *)b->va, b->len, b->len, MREMAP_MAYMOVE | MREMAP_FIXED, to) == MAP_FAILED)
		fail("parking a mapping (mremap)");
	b->park = to;
}

static void unpark(unsigned i)
{
	struct backing *b = &rt.bk[i];
	if (mremap(b->park, b->len, b->len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)b->va) ==
	    MAP_FAILED)
		fail("bringing a mapping home (mremap)");
	b->park = NULL;
}

/* Make [va, va+len) free of backings at home other than keep. */
static void clear_home(uint64_t va, uint64_t len, unsigned keep)
{
	for (unsigned i = 0; i < rt.nbk; i++)
		if (i != keep && rt.bk[i].refs && !rt.bk[i].park &&
		    overlaps(rt.bk[i].va, rt.bk[i].len, va, len))
			park(i);
}

static void release(unsigned i)
{
	struct backing *b = &rt.bk[i];
	if (--b->refs)
		return;
	munmap(b->park ? b->park : (void *)b->va, b->len);
	b->park = NULL;
}

static void region_add(struct nregion r)
{
	if (rt.nrg == rt.caprg)
		rt.rg = grow(rt.rg, &rt.caprg, sizeof *rt.rg);
	rt.rg[rt.nrg++] = r;
}

static void region_del(unsigned i)
{
	memmove(&rt.rg[i], &rt.rg[i + 1], (rt.nrg - i - 1) * sizeof *rt.rg);
	rt.nrg--;
}

/* Split the current process's region that straddles va. */
static void region_split(uint64_t va)
{
	for (unsigned i = 0; i < rt.nrg; i++) {
		struct nregion *r = &rt.rg[i];
		if (r->pid == rt.cur && va > r->va && va < r->va + r->len) {
			struct nregion tail = *r;
			tail.va = va;
			tail.len = r->va + r->len - va;
			r->len = va - r->va;
			rt.bk[tail.b].refs++;
			region_add(tail);
			return;
		}
	}
}

void wlrt_map(uint64_t va, uint64_t len, unsigned prot)
{
	len = (len + 4095) & ~4095ull;
	clear_home(va, len, ~0u);
	void *a = mmap((void *)va, len, host_prot(prot),
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
	if (a != (void *)va) {
		if (a != MAP_FAILED)
			errno = EEXIST;
		fail("mmap at the workload's fixed address");
	}
	if (rt.thp >= 0)
		madvise(a, len, rt.thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	unsigned i = 0;
	while (i < rt.nbk && rt.bk[i].refs)
		i++;
	if (i == rt.nbk) {
		if (rt.nbk == rt.capbk)
			rt.bk = grow(rt.bk, &rt.capbk, sizeof *rt.bk);
		rt.nbk++;
	}
	rt.bk[i] = (struct backing){.va = va, .len = len, .refs = 1};
	region_add((struct nregion){rt.cur, va, len, prot, i});
}

void wlrt_unmap(uint64_t va, uint64_t len)
{
	len = (len + 4095) & ~4095ull;
	region_split(va);
	region_split(va + len);
	for (unsigned i = 0; i < rt.nrg;) {
		struct nregion *r = &rt.rg[i];
		if (r->pid != rt.cur || r->va < va || r->va + r->len > va + len) {
			i++;
			continue;
		}
		struct backing *b = &rt.bk[r->b];
		if (b->refs > 1 && (r->va != b->va || r->len != b->len)) {
			/* Part of a backing: give the pages back unless shared. */
			bool shared = false;
			for (unsigned k = 0; k < rt.nrg; k++)
				shared |= k != i && rt.rg[k].b == r->b && rt.rg[k].pid != rt.cur &&
					  overlaps(rt.rg[k].va, rt.rg[k].len, r->va, r->len);
			if (!shared)
				madvise((void *)r->va, r->len, MADV_DONTNEED);
		}
		release(r->b);
		region_del(i);
	}
}

void wlrt_protect(uint64_t va, uint64_t len, unsigned prot)
{
	len = (len + 4095) & ~4095ull;
	region_split(va);
	region_split(va + len);
	for (unsigned i = 0; i < rt.nrg; i++) {
		struct nregion *r = &rt.rg[i];
		if (r->pid == rt.cur && r->va >= va && r->va + r->len <= va + len)
			r->prot = prot;
	}
	mprotect((void *)va, len, host_prot(prot));
}

void wlrt_switch(uint32_t pid)
{
	if (pid == rt.cur)
		return;
	rt.cur = pid;
	for (unsigned i = 0; i < rt.nrg; i++) {
		struct nregion *r = &rt.rg[i];
		if (r->pid != pid)
			continue;
		if (rt.bk[r->b].park) {
			clear_home(rt.bk[r->b].va, rt.bk[r->b].len, r->b);
			unpark(r->b);
		}
		mprotect((void *)r->va, r->len, host_prot(r->prot));
	}
}

void wlrt_fork(uint32_t parent, uint32_t child)
{
	for (unsigned i = 0, n = rt.nrg; i < n; i++)
		if (rt.rg[i].pid == parent) {
			struct nregion r = rt.rg[i];
			r.pid = child;
			rt.bk[r.b].refs++;
			region_add(r);
		}
}

void wlrt_exit(uint32_t pid)
{
	for (unsigned i = 0; i < rt.nrg;) {
		if (rt.rg[i].pid != pid) {
			i++;
			continue;
		}
		release(rt.rg[i].b);
		region_del(i);
	}
}

void wlrt_syscall(uint64_t nr) { (void)nr, (void)syscall(SYS_getppid); }
uint64_t wlrt_io_in(uint16_t port) { return (void)port, 0; }
void wlrt_fetch(uint64_t va) { (void)*(volatile uint8_t *)va; }
void wlrt_cr8(uint64_t tpr) { (void)tpr; }

/* One divide by zero; on_sigfpe resumes at native_de_end. */
void kvmh_native_divide_error(void);
extern const char kvmh_native_de_insn[], kvmh_native_de_end[];
__asm__(".text\n"
	".globl kvmh_native_divide_error\n"
	".type kvmh_native_divide_error, @function\n"
	"kvmh_native_divide_error:\n"
	"	xor %eax, %eax\n"
	"	xor %edx, %edx\n"
	"	xor %ecx, %ecx\n"
	".globl kvmh_native_de_insn\n"
	"kvmh_native_de_insn:\n"
	"	divl %ecx\n"
	".globl kvmh_native_de_end\n"
	"kvmh_native_de_end:\n"
	"	ret\n"
	".size kvmh_native_divide_error, . - kvmh_native_divide_error\n");

static void on_sigfpe(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	ucontext_t *uc = ctx;
	if (uc->uc_mcontext.gregs[REG_RIP] != (greg_t)(uintptr_t)kvmh_native_de_insn) {
		signal(sig, SIG_DFL); /* a real bug: die of it */
		return;
	}
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)kvmh_native_de_end;
}

void wlrt_exception(unsigned vector)
{
	if (vector == 0)
		kvmh_native_divide_error();
}

void wlrt_phase(uint64_t id)
{
	if (rt.mark)
		rt.mark(rt.arg, id, false);
}

bool kvmh_native_has(const char *name) { return wl_fs_find(name) != NULL; }

int kvmh_native_run(const char *name, const uint64_t *p, int thp, kvmh_native_mark_fn mark,
		    void *arg, uint64_t *checksum, struct vmerr *err)
{
	if (!wl_fs_find(name))
		return vmerr_set(err, VM_EINPUT, "workload '%s' is not in the freestanding build", name);
	free(rt.bk);
	free(rt.rg);
	memset(&rt, 0, sizeof rt);
	rt.thp = thp;
	rt.mark = mark;
	rt.arg = arg;
	rt.cur = 1;
	struct sigaction sa = {.sa_sigaction = on_sigfpe, .sa_flags = SA_SIGINFO}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGFPE, &sa, &old);
	wl_run_freestanding(name, p, checksum);
	sigaction(SIGFPE, &old, NULL);
	if (mark)
		mark(arg, 0, true);
	for (unsigned i = 0; i < rt.nbk; i++)
		if (rt.bk[i].refs)
			munmap(rt.bk[i].park ? rt.bk[i].park : (void *)rt.bk[i].va, rt.bk[i].len);
	free(rt.bk);
	free(rt.rg);
	rt.bk = NULL;
	rt.rg = NULL;
	rt.nbk = rt.nrg = rt.capbk = rt.caprg = 0;
	return 0;
}
