/*
 * wl_record.c - `wl-record`: runs one workload of the freestanding build as
 * an ordinary host process and records what it does, for the test that the
 * two builds of a workload make the same operations.
 *
 *   wl-record OUT NAME P0 ... Pn     p[] as wl_parse fills it (Pn = seed)
 *   wl-record OUT SPEC               "NAME:k=v,...", parsed by wl_fs_parse
 *
 * OUT receives one struct vm_event (24 bytes, host order) per operation, in
 * the form the simulator build would have produced; the checksum of every
 * loaded value goes to stdout.  Exit 0, 1 if the workload touched memory
 * its current process has not mapped (or mapped without that permission),
 * 2 for bad arguments.
 *
 * Notes: this is the recording shim implementation of wlrt_*, linked with
 * the traced variant of the freestanding library (wlrt_trace sees every load
 * and store before it happens).  Memory is real: wlrt_map is mmap at the
 * workload's own address.  One host process stands in for all of the
 * workload's processes, so the shim keeps each pid's mappings as a list and
 * the real mapping is the union: a range is unmapped or reprotected only when
 * no other live pid maps it.  Values may then be shared between pids where
 * a real OS would copy, but no workload's addresses depend on such values
 * (see wl.h), which is exactly what the comparison checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../wl.h"

struct region {
	uint32_t pid;
	unsigned prot;
	uint64_t va, len;
};

static FILE *out;
static uint32_t cur = 1;
static struct region *regs;
static size_t nregs, capregs;

static void emit(uint8_t kind, uint8_t op, uint8_t size, uint32_t pid, uint64_t addr,
		 uint64_t arg)
{
	struct vm_event e = {.kind = kind, .op = op, .size = size, .vcpu = 0, .pid = pid,
			     .addr = addr, .arg = arg};
	if (fwrite(&e, sizeof e, 1, out) != 1) {
		perror("wl-record: write");
		exit(1);
	}
}

static uint64_t page_up(uint64_t len) { return (len + WL_PAGE - 1) & ~(WL_PAGE - 1); }

static int overlaps(const struct region *r, uint64_t va, uint64_t len)
{
	return va < r->va + r->len && r->va < va + len;
}

/* Does any pid other than `except` map part of [va, va+len)? */
static int held_by_other(uint32_t except, uint64_t va, uint64_t len)
{
	for (size_t i = 0; i < nregs; i++)
		if (regs[i].pid != except && overlaps(&regs[i], va, len))
			return 1;
	return 0;
}

static int host_prot(unsigned prot)
{
	return PROT_READ | ((prot & VM_PROT_W) ? PROT_WRITE : 0);
}

static void add_region(uint32_t pid, uint64_t va, uint64_t len, unsigned prot)
{
	if (nregs == capregs) {
		capregs = capregs ? 2 * capregs : 64;
		regs = realloc(regs, capregs * sizeof *regs);
		if (!regs) {
			perror("wl-record");
			exit(1);
		}
	}
	regs[nregs++] = (struct region){.pid = pid, .prot = prot, .va = va, .len = len};
}

/* Drop pid's regions inside [va, va+len) (all of them if len is 0); give the
 * memory back where no other pid maps it. */
static void drop(uint32_t pid, uint64_t va, uint64_t len)
{
	for (size_t i = 0; i < nregs;) {
		struct region r = regs[i];
		if (r.pid == pid && (len == 0 || (r.va >= va && r.va + r.len <= va + len))) {
			regs[i] = regs[--nregs];
			if (!held_by_other(pid, r.va, r.len))
				munmap((void *)(uintptr_t)r.va, r.len);
			continue;
		}
		i++;
	}
}

void wlrt_map(uint64_t va, uint64_t len, unsigned prot)
{
	emit(EV_MAP, (uint8_t)prot, 0, cur, va, len);
	len = page_up(len);
	int shared = held_by_other(cur, va, len);
	for (size_t i = 0; i < nregs && !shared; i++)
		shared = overlaps(&regs[i], va, len);
	/* Never clobber a mapping the shim did not make (libc, the stack). */
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		    (shared ? MAP_FIXED : MAP_FIXED_NOREPLACE);
	void *m = mmap((void *)(uintptr_t)va, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (m == MAP_FAILED || (uint64_t)(uintptr_t)m != va) {
		fprintf(stderr, "wl-record: mmap 0x%" PRIx64 " + 0x%" PRIx64 ": %s\n", va, len,
			strerror(errno));
		exit(1);
	}
	if (!shared)
		mprotect(m, len, host_prot(prot));
	add_region(cur, va, len, prot);
}

void wlrt_unmap(uint64_t va, uint64_t len)
{
	emit(EV_UNMAP, 0, 0, cur, va, len);
	drop(cur, va, page_up(len));
}

void wlrt_protect(uint64_t va, uint64_t len, unsigned prot)
{
	emit(EV_PROTECT, (uint8_t)prot, 0, cur, va, len);
	len = page_up(len);
	for (size_t i = 0; i < nregs; i++)
		if (regs[i].pid == cur && regs[i].va == va && regs[i].len == len)
			regs[i].prot = prot;
	if (!held_by_other(cur, va, len))
		mprotect((void *)(uintptr_t)va, len, host_prot(prot));
}

void wlrt_switch(uint32_t pid)
{
	cur = pid;
	emit(EV_SWITCH, 0, 0, pid, 0, 0);
}

void wlrt_fork(uint32_t parent, uint32_t child)
{
	emit(EV_FORK, 0, 0, parent, 0, child);
	for (size_t i = 0, n = nregs; i < n; i++)
		if (regs[i].pid == parent)
			add_region(child, regs[i].va, regs[i].len, regs[i].prot);
}

void wlrt_exit(uint32_t pid)
{
	emit(EV_EXIT, 0, 0, pid, 0, 0);
	drop(pid, 0, 0);
}

void wlrt_syscall(uint64_t nr) { emit(EV_SYSCALL, 0, 0, cur, 0, nr); }

uint64_t wlrt_io_in(uint16_t port)
{
	emit(EV_IO, EV_IO_IN, 1, cur, 0, port);
	return 0;
}

void wlrt_phase(uint64_t id) { emit(EV_PHASE, 0, 0, cur, 0, id); }
void wlrt_cr8(uint64_t tpr) { emit(EV_CR8, 0, 0, cur, 0, tpr); }
void wlrt_exception(unsigned vector) { emit(EV_EXCEPTION, 0, 0, cur, 0, vector); }

/* The access must fall inside one of the running process's regions, with
 * the permission it needs; otherwise the workload is wrong in both builds. */
static void check_access(unsigned op, uint64_t va, unsigned size)
{
	static const struct region *last;
	unsigned need = op == EV_STORE ? VM_PROT_W : op == EV_FETCH ? VM_PROT_X : VM_PROT_R;
	if (last && last >= regs && last < regs + nregs && last->pid == cur &&
	    va - last->va < last->len && last->len - (va - last->va) >= size &&
	    (last->prot & need))
		return;
	for (size_t i = 0; i < nregs; i++) {
		const struct region *r = &regs[i];
		if (r->pid == cur && va - r->va < r->len && r->len - (va - r->va) >= size &&
		    (r->prot & need)) {
			last = r;
			return;
		}
	}
	static const char *const ops[] = {"load", "store", "fetch"};
	fprintf(stderr, "wl-record: pid %" PRIu32 " %s of %u bytes at 0x%" PRIx64
		" outside its mappings (or without permission)\n",
		cur, ops[op], size, va);
	fflush(out);
	exit(1);
}

void wlrt_fetch(uint64_t va)
{
	check_access(EV_FETCH, va, 1);
	emit(EV_ACCESS, EV_FETCH, 1, cur, va, 0);
}

void wlrt_trace(unsigned kind, unsigned op, unsigned size, uint64_t addr)
{
	if (kind == EV_ACCESS)
		check_access(op, addr, size);
	emit((uint8_t)kind, (uint8_t)op, (uint8_t)size, cur, addr, 0);
}

int main(int argc, char **argv)
{
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	if (argc < 3) {
		fprintf(stderr, "usage: wl-record OUT NAME P0 ... Pn | wl-record OUT SPEC\n");
		return 2;
	}
	if (argc == 3) {
		if (wl_fs_parse(argv[2], &d, p) < 0) {
			fprintf(stderr, "wl-record: bad workload spec '%s'\n", argv[2]);
			return 2;
		}
	} else {
		d = wl_fs_find(argv[2]);
		if (!d || (unsigned)(argc - 3) != d->nparams + 1) {
			fprintf(stderr, "wl-record: '%s' is unknown or needs %u numbers\n", argv[2],
				d ? d->nparams + 1 : 0);
			return 2;
		}
		for (int i = 3; i < argc; i++)
			p[i - 3] = strtoull(argv[i], NULL, 0);
	}
	out = fopen(argv[1], "wb");
	if (!out) {
		fprintf(stderr, "wl-record: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	uint64_t sum;
	wl_run_freestanding(d->name, p, &sum);
	if (fclose(out) != 0) {
		perror("wl-record: close");
		return 1;
	}
	printf("checksum 0x%016" PRIx64 "\n", sum);
	return 0;
}
