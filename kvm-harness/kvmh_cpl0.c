/*
 * kvmh_cpl0.c - guest set-up (a): boot the CPL0 guest kernel
 * (guest/kernel.c) with the workload's user payload (guest/urt_a.c) and
 * run it to its DONE doorbell.
 *
 * Notes:
 *  - One memory slot "ram" (KVMA_RAM_SIZE at GPA 0) holds everything; the
 *    harness copies the two images in, writes the boot page, builds boot
 *    tables that identity-map the slot with 2 MiB pages (sim/pt_format's
 *    pt_map) and enters the kernel at CPL0 in long mode (KVM_SET_SREGS).
 *    From there the kernel builds and switches its own page tables, GDT,
 *    TSS and IDT; the harness never writes a guest page table again.
 *  - Every trap is the guest's own: on the PVM host here, too, a CPL3
 *    exception is delivered through the guest kernel's IDT (set-up (b)'s
 *    shutdowns come from having no IDT), and the kernel's CPL0 code is
 *    emulated by KVM.  The one PVM quirk: `int $0x80` at CPL3 arrives as
 *    #UD at the instruction (and SYSCALL does not leave CPL3: its first
 *    fetch at LSTAR faults as a user fetch), so the kernel's #UD handler
 *    serves an `int $0x80` it finds there (counted, ud_int80).  The
 *    harness sees two doorbells (START, DONE) plus one per phase.
 */
#include "kvmh_cpl0.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kvmh_native.h"
#include "sim/pt_format.h"
#include "workloads/wl.h"

extern const char kvma_kernel_start[], kvma_kernel_end[], kvma_user_start[], kvma_user_end[];

static const char *const supported[] = {"stride", "gups", "chase", "pgfault", "syscall",
					"divzero", "stream", "matmul", "callret", "ptemod", "kvstore", "bfs",
					"cr3switch", "ctxswitch", "forkwait", "compile"};

const char *kvmh_cpl0_refuse(const char *name)
{
	for (unsigned i = 0; i < sizeof supported / sizeof *supported; i++)
		if (strcmp(name, supported[i]) == 0)
			return NULL;
	return "set-up (a)'s guest kernel serves map, unmap, protect, fork, exit, switch, "
	       "system calls, phases and #DE; it runs stride, gups, chase, pgfault, syscall, "
	       "divzero, stream, matmul, callret, ptemod, kvstore, bfs, cr3switch, ctxswitch, "
	       "forkwait and compile (16 processes live at once), not io or cr8wr (no port I/O "
	       "or CR8 service): use --setup b";
}

struct ctx {
	struct kvmh_vm vm;
	char *ram;
	gpa_t bootpt_next;
	struct kvma_boot *boot;
};

static volatile sig_atomic_t timed_out;
static struct kvm_run *volatile running;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
	if (running)
		running->immediate_exit = 1;
}

static uint64_t ram_read(void *arg, uint64_t pa)
{
	struct ctx *c = arg;
	return pa + 8 <= KVMA_RAM_SIZE ? *(uint64_t *)(c->ram + pa) : 0;
}

static void ram_write(void *arg, uint64_t pa, uint64_t val)
{
	struct ctx *c = arg;
	if (pa + 8 <= KVMA_RAM_SIZE)
		*(uint64_t *)(c->ram + pa) = val;
}

static int bootpt_alloc(void *arg, uint64_t *pa)
{
	struct ctx *c = arg;
	if (c->bootpt_next + 4096 > KVMA_BOOTPT_GPA + KVMA_BOOTPT_SIZE)
		return VM_ELIMIT;
	*pa = c->bootpt_next;
	c->bootpt_next += 4096;
	return 0;
}

/* Boot tables: identity map of the slot (2 MiB pages) and the doorbell. */
static int boot_tables(struct ctx *c, gpa_t *root)
{
	struct pt_mem_ops m = {ram_read, ram_write, bootpt_alloc, c};
	const unsigned ad = PTE_PERM_A | PTE_PERM_D;
	c->bootpt_next = KVMA_BOOTPT_GPA;
	int rc = bootpt_alloc(c, root);
	for (gpa_t a = 0; rc == 0 && a < KVMA_RAM_SIZE; a += 2u << 20) {
		unsigned perms = PTE_PERM_W | ad;
		if (a < KVMA_BOOT_GPA)
			perms |= PTE_PERM_X; /* the kernel */
		else if (a < KVMA_POOL_GPA)
			perms |= PTE_PERM_U | PTE_PERM_X; /* boot page, user payload */
		rc = pt_map(&pt_x86_4, &m, *root, a, a, PS_2M, perms);
	}
	if (rc == 0)
		rc = pt_map(&pt_x86_4, &m, *root, KVMA_DOORBELL_GPA, KVMA_DOORBELL_GPA, PS_4K,
			    PTE_PERM_W | ad);
	return rc;
}

static const char *fatal_what(uint64_t what)
{
	static const char *const u[] = {
		[KVMA_UNSUP_IO] = "port I/O is not served", [KVMA_UNSUP_CR8] = "CR8 writes are not served",
		[KVMA_UNSUP_EXCEPTION] = "only vector 0 of wl_exception is served",
		[KVMA_UNSUP_SYSCALL_NR] = "unknown system call",
		[KVMA_UNSUP_NOMEM] = "out of pool pages, regions or processes",
		[KVMA_UNSUP_PF] = "unmap of a hole inside a region is not served",
		[KVMA_UNSUP_RANGE] = "wl_map below 512 GiB (the kernel's) or past the user half"};
	if (what == 14)
		return "page fault outside every mapped region, or a protection fault";
	if (what < 32)
		return "unexpected exception";
	if (what >= 0x100 && what - 0x100 < sizeof u / sizeof *u && u[what - 0x100])
		return u[what - 0x100];
	return "?";
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int loop(struct ctx *c, unsigned timeout_s, struct kvmh_cpl0_result *res, struct vmerr *err)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	sigaction(SIGALRM, &sa, &old);
	timed_out = 0;
	running = c->vm.run;
	alarm(timeout_s);
	int rc = 0;
	for (;;) {
		if (timed_out) {
			rc = vmerr_set(err, -ETIMEDOUT, "set-up (a): the guest did not finish in %u s",
				       timeout_s);
			kvmh_vm_dump_regs(&c->vm, stderr, "  ");
			break;
		}
		int r = kvmh_vm_run(&c->vm);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			rc = vmerr_set(err, r, "KVM_RUN: %s", strerror(-r));
			break;
		}
		res->exits++;
		struct kvm_run *run = c->vm.run;
		if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write &&
		    run->mmio.phys_addr == KVMA_DOORBELL_GPA) {
			uint64_t op = c->boot->op;
			if (op == KVMA_OP_START || op == KVMA_OP_PHASE) {
				res->phases += op == KVMA_OP_PHASE;
				continue;
			}
			if (op == KVMA_OP_DONE)
				break;
			if (op == KVMA_OP_FATAL) {
				uint64_t w = c->boot->arg[0];
				fprintf(stderr, "vmsim-kvm: set-up (a) guest kernel stopped: %s (%s%llu, "
					"rip 0x%llx, detail 0x%llx, error code 0x%llx, cs 0x%llx)\n", fatal_what(w),
					w >= 0x100 ? "what " : "vector ",
					(unsigned long long)(w >= 0x100 ? w - 0x100 : w),
					(unsigned long long)c->boot->arg[1],
					(unsigned long long)c->boot->arg[2],
					(unsigned long long)c->boot->fatal_err,
					(unsigned long long)c->boot->fatal_cs);
				rc = vmerr_set(err, -EIO, "the guest kernel reported a fatal event");
				break;
			}
		}
		fprintf(stderr, "vmsim-kvm: set-up (a): unexpected exit %s (%u); guest registers:\n",
			kvmh_exit_name(run->exit_reason), run->exit_reason);
		kvmh_vm_dump_regs(&c->vm, stderr, "  ");
		rc = vmerr_set(err, -EIO, "set-up (a): the guest stopped with exit %s",
			       kvmh_exit_name(run->exit_reason));
		break;
	}
	alarm(0);
	running = NULL;
	sigaction(SIGALRM, &old, NULL);
	return rc;
}

int kvmh_cpl0_run(const char *name, const uint64_t *p, unsigned np, unsigned timeout_s,
		  struct kvmh_cpl0_result *res, struct vmerr *err)
{
	static struct ctx c;
	struct kvmh_slot *ram;
	gpa_t root;
	int rc;
	memset(res, 0, sizeof *res);
	size_t klen = (size_t)(kvma_kernel_end - kvma_kernel_start);
	size_t ulen = (size_t)(kvma_user_end - kvma_user_start);
	if (klen > KVMA_BOOT_GPA - KVMA_KERNEL_GPA || ulen > KVMA_USER_SIZE ||
	    np > KVMA_MAX_PARAMS || strlen(name) >= sizeof c.boot->wl_name)
		return vmerr_set(err, -EINVAL, "set-up (a): image, name or parameters too large");
	rc = kvmh_vm_open(&c.vm, err);
	if (rc < 0)
		return rc;
	rc = kvmh_vm_add_slot(&c.vm, "ram", 0, KVMA_RAM_SIZE, 2u << 20, -1, &ram, err);
	if (rc < 0)
		goto out;
	c.ram = ram->hva;
	memcpy(c.ram + KVMA_KERNEL_GPA, kvma_kernel_start, klen);
	memcpy(c.ram + KVMA_USER_GPA, kvma_user_start, ulen);
	c.boot = (struct kvma_boot *)(c.ram + KVMA_BOOT_GPA);
	c.boot->magic = KVMA_MAGIC;
	strcpy(c.boot->wl_name, name);
	memcpy(c.boot->p, p, np * sizeof *p);
	c.boot->pool_end = KVMA_RAM_SIZE;
	c.boot->user_entry = KVMA_USER_GPA;
	c.boot->user_stack = KVMA_USER_GPA + KVMA_USER_SIZE;
	if ((rc = boot_tables(&c, &root)) < 0) {
		vmerr_set(err, rc, "set-up (a): boot page tables do not fit");
		goto out;
	}
	/* 64-bit mode with a placeholder GDT/TSS at 0x1000/0x2000 (the kernel
	 * loads its own at once), then CS/SS switched to the kernel's. */
	struct kvmh_vm_saved saved;
	if ((rc = kvmh_vm_set_long_mode_user(&c.vm, 0x1000, 0x2000, root, KVMA_KERNEL_GPA,
					     KVMA_KERNEL_GPA, err)) < 0 ||
	    (rc = kvmh_vm_enter_cpl0(&c.vm, KVMA_KERNEL_GPA, 0, &saved, err)) < 0)
		goto out;
	double t0 = now_ns();
	rc = loop(&c, timeout_s, res, err);
	res->wall_ns = now_ns() - t0;
	res->checksum = c.boot->checksum;
	res->pf_served = c.boot->pf_served;
	res->de_served = c.boot->de_served;
	res->syscalls = c.boot->syscalls;
	res->sys_nr = c.boot->sys_nr;
	res->cr3_writes = c.boot->cr3_writes;
	res->invlpgs = c.boot->invlpgs;
	res->pages_used = c.boot->pages_used;
	res->ud_int80 = c.boot->ud_int80;
out:
	kvmh_vm_close(&c.vm);
	return rc;
}

int kvmh_cpl0_main(const char *spec, bool no_native, unsigned timeout_s)
{
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1], ck_native = 0;
	struct kvmh_cpl0_result res;
	struct vmerr err;
	const char *why;
	if (wl_parse(spec, &d, p, &err) < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", err.msg);
		return 2;
	}
	if ((why = kvmh_cpl0_refuse(d->name)) != NULL) {
		fprintf(stderr, "vmsim-kvm: workload '%s' not supported in set-up (a): %s\n", d->name,
			why);
		return 2;
	}
	if (!no_native && kvmh_native_run(d->name, p, -1, NULL, NULL, &ck_native, &err) < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", err.msg);
		return 1;
	}
	if (kvmh_cpl0_run(d->name, p, d->nparams + 1, timeout_s, &res, &err) < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", err.msg);
		return 1;
	}
	char canon[600];
	wl_format_params(d, p, canon, sizeof canon);
	printf("workload    %s:%s\n", d->name, canon);
	printf("set-up      (a) CPL0 guest kernel, workload at CPL3, int $0x80 system calls\n");
	printf("guest time  %.3f ms wall, %" PRIu64 " exits\n", res.wall_ns * 1e-6, res.exits);
	printf("kernel      page faults served %" PRIu64 ", #DE served %" PRIu64 ", system calls "
	       "%" PRIu64 " (workload's %" PRIu64 "), CR3 writes %" PRIu64 ", INVLPGs %" PRIu64
	       ", pool pages %" PRIu64 ", phases %" PRIu64 "\n",
	       res.pf_served, res.de_served, res.syscalls, res.sys_nr, res.cr3_writes, res.invlpgs,
	       res.pages_used, res.phases);
	printf("            int $0x80 that arrived as #UD: %" PRIu64 "%s\n", res.ud_int80,
	       res.ud_int80 ? " (this host's quirk; served as system calls)" : "");
	if (no_native) {
		printf("checksum    guest 0x%016" PRIx64 "\n", res.checksum);
		return 0;
	}
	printf("checksum    native 0x%016" PRIx64 ", guest 0x%016" PRIx64 " (%s)\n", ck_native,
	       res.checksum, ck_native == res.checksum ? "match" : "MISMATCH");
	return ck_native == res.checksum ? 0 : 1;
}
