/*
 * kvmh_native.c - wlrt_* for the host-process run.
 *
 * Notes:
 *  - One address space: switch, fork and exit are counted, not carried out
 *    (a host process cannot become another one mid-loop); the workloads'
 *    addresses do not depend on them, so the checksum still matches.
 *  - io_in returns 0 and fetch is a load, exactly as in the guest runtime,
 *    so both runs compute the same checksum.
 *  - A syscall is a real one (getppid), the cheapest that enters the kernel.
 */
#define VMSIM_FREESTANDING /* the freestanding struct wl_ctx */
#include "kvmh_native.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "workloads/wl.h"

extern const struct wl_desc *const kvmh_fs_workloads[];

static struct {
	int thp;
	kvmh_native_mark_fn mark;
	void *arg;
	struct {
		uint64_t va, len;
	} maps[64];
	unsigned nmaps;
} rt;

void wlrt_map(uint64_t va, uint64_t len, unsigned prot)
{
	len = (len + 4095) & ~4095ull;
	int p = (prot & VM_PROT_R ? PROT_READ : 0) | (prot & VM_PROT_W ? PROT_WRITE : 0) |
		(prot & VM_PROT_X ? PROT_EXEC : 0);
	void *a = mmap((void *)va, len, p, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
			   MAP_NORESERVE, -1, 0);
	if (a != (void *)va) {
		/* The workload would fault on its next access: stop here instead. */
		int e = a == MAP_FAILED ? errno : EEXIST;
		fprintf(stderr, "vmsim-kvm: host-process run: mmap of [0x%llx, +0x%llx) at its fixed "
			"address failed: %s\n", (unsigned long long)va, (unsigned long long)len,
			strerror(e));
		exit(1);
	}
	if (rt.thp >= 0)
		madvise(a, len, rt.thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (rt.nmaps < VM_ARRAY_SIZE(rt.maps))
		rt.maps[rt.nmaps++].va = va, rt.maps[rt.nmaps - 1].len = len;
}

void wlrt_unmap(uint64_t va, uint64_t len) { munmap((void *)va, len); }

void wlrt_protect(uint64_t va, uint64_t len, unsigned prot)
{
	int p = (prot & VM_PROT_R ? PROT_READ : 0) | (prot & VM_PROT_W ? PROT_WRITE : 0) |
		(prot & VM_PROT_X ? PROT_EXEC : 0);
	mprotect((void *)va, (len + 4095) & ~4095ull, p);
}

void wlrt_switch(uint32_t pid) { (void)pid; }
void wlrt_fork(uint32_t parent, uint32_t child) { (void)parent, (void)child; }
void wlrt_exit(uint32_t pid) { (void)pid; }
void wlrt_syscall(uint64_t nr) { (void)nr, (void)syscall(SYS_getppid); }
uint64_t wlrt_io_in(uint16_t port) { return (void)port, 0; }
void wlrt_fetch(uint64_t va) { (void)*(volatile uint8_t *)va; }

void wlrt_phase(uint64_t id)
{
	if (rt.mark)
		rt.mark(rt.arg, id, false);
}

static const struct wl_desc *find(const char *name)
{
	for (unsigned i = 0; kvmh_fs_workloads[i]; i++)
		if (strcmp(kvmh_fs_workloads[i]->name, name) == 0)
			return kvmh_fs_workloads[i];
	return NULL;
}

bool kvmh_native_has(const char *name) { return find(name) != NULL; }

int kvmh_native_run(const char *name, const uint64_t *p, int thp, kvmh_native_mark_fn mark,
		    void *arg, uint64_t *checksum, struct vmerr *err)
{
	const struct wl_desc *d = find(name);
	if (!d)
		return vmerr_set(err, VM_EINPUT, "workload '%s' is not in the freestanding build "
				 "(kvm-harness/CMakeLists.txt KVMH_WORKLOADS)", name);
	memset(&rt, 0, sizeof rt);
	rt.thp = thp;
	rt.mark = mark;
	rt.arg = arg;
	struct wl_ctx c = {.pid = 1, .vcpu = 0, .checksum = 0};
	d->run(&c, p);
	if (mark)
		mark(arg, 0, true);
	for (unsigned i = 0; i < rt.nmaps; i++)
		munmap((void *)rt.maps[i].va, rt.maps[i].len);
	*checksum = c.checksum;
	return 0;
}
