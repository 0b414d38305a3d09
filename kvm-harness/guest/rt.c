/*
 * rt.c - the guest runtime of set-up (b): the workload runs at CPL3 and every
 * wlrt_* operation is a doorbell to the harness, which acts as the kernel.
 *
 * Notes:
 *  - Freestanding: no libc; gcc may still emit memset/memcpy calls, which
 *    guest/mem.c provides to every guest image.
 *  - The guest cannot take its own exceptions on this kind of host (see
 *    notes/kvm-host.md), so there is no IDT: a fault ends the VM in a
 *    shutdown.  The harness serves the ones it expects (a demand fault, the
 *    divide error of wlrt_exception(0), whose address is published in the
 *    shared page) and reports the others.
 *  - wlrt_cr8 cannot write CR8 at CPL3: it rings the doorbell, the exit a
 *    CR8 write without TPR shadowing would take.  wlrt_io_in rings it too:
 *    a real IN at CPL3 needs IOPL 3, which PVM clears from the guest's
 *    RFLAGS (the IN then ends in a shutdown).
 *  - Guest page-table writes: when the harness has changed the guest's
 *    tables it lists the writes in the echo slot, and the guest makes them
 *    again itself, through the user-writable view of the tables, right
 *    after the doorbell returns (or, after a demand fault, in the
 *    trampoline the harness resumes it at).  KVM then sees them as a guest
 *    kernel's writes: trapped and emulated, or unsyncing the table.  When
 *    the writes narrowed a mapping the guest rings SYNC, and the harness
 *    invalidates it as the kernel would (INVLPG, in a CPL0 detour, or a
 *    CR3 reload).
 *  - Before the workload starts, every page of the payload (code, data,
 *    stack) is touched and the START doorbell rung, so KVM's shadow faults
 *    on the payload itself are not counted against the workload.
 *  - Time is read with rdtsc at CPL3 (CR4.TSD is clear).  A phase's guest
 *    time runs from the return of one doorbell to the next ring, so the
 *    ~28 us doorbell round trips are not charged to the workload.
 */
#include "../../workloads/wl.h"
#include "abi.h"

#define SHARED ((volatile struct kvmh_shared *)KVMH_SHARED_VA)

/* entry.S: the divide instruction of wlrt_exception(0) and its end; the
 * echo trampoline; the CPL0 INVLPG stub (which rings KVMH_OP_DETOUR, 15). */
void kvmh_divide_error(void);
extern const char kvmh_de_insn[], kvmh_de_end[];
void kvmh_echo_tramp(void);
void kvmh_invlpg_stub(void);
_Static_assert(KVMH_OP_DETOUR == 15, "entry.S rings op 15 from the CPL0 stub");
extern const char __stack_top[];


static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t ring(uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2);

static void apply_echo(void)
{
	const volatile struct kvmh_echo *e = (const volatile struct kvmh_echo *)KVMH_ECHO_VA;
	uint64_t n = SHARED->echo_n;
	for (uint64_t i = 0; i < n; i++)
		*(volatile uint64_t *)e[i].va = e[i].val;
	SHARED->echo_n = 0;
}

/* Called by kvmh_echo_tramp: returns where the guest goes on. */
uint64_t kvmh_echo_resume(void);
uint64_t kvmh_echo_resume(void)
{
	apply_echo();
	return SHARED->resume_rip;
}

static uint64_t ring(uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2)
{
	SHARED->op = op;
	SHARED->arg[0] = a0;
	SHARED->arg[1] = a1;
	SHARED->arg[2] = a2;
	SHARED->tsc_ring = rdtsc();
	*(volatile uint64_t *)KVMH_DOORBELL_VA = op;
	uint64_t r = SHARED->ret;
	SHARED->tsc_resumed = rdtsc();
	if (SHARED->echo_n)
		apply_echo();
	if (SHARED->echo_sync) {
		SHARED->echo_sync = 0;
		ring(KVMH_OP_SYNC, 0, 0, 0);
	}
	return r;
}

void wlrt_map(uint64_t va, uint64_t len, unsigned prot) { ring(KVMH_OP_MAP, va, len, prot); }
void wlrt_unmap(uint64_t va, uint64_t len) { ring(KVMH_OP_UNMAP, va, len, 0); }
void wlrt_protect(uint64_t va, uint64_t len, unsigned prot) { ring(KVMH_OP_PROTECT, va, len, prot); }
void wlrt_switch(uint32_t pid) { ring(KVMH_OP_SWITCH, pid, 0, 0); }
void wlrt_fork(uint32_t parent, uint32_t child) { ring(KVMH_OP_FORK, parent, child, 0); }
void wlrt_exit(uint32_t pid) { ring(KVMH_OP_EXIT, pid, 0, 0); }
void wlrt_syscall(uint64_t nr) { ring(KVMH_OP_SYSCALL, nr, 0, 0); }
uint64_t wlrt_io_in(uint16_t port) { return ring(KVMH_OP_IO_IN, port, 0, 0); }
void wlrt_phase(uint64_t id) { ring(KVMH_OP_PHASE, id, 0, 0); }
void wlrt_cr8(uint64_t tpr) { ring(KVMH_OP_CR8, tpr, 0, 0); }

void wlrt_exception(unsigned vector)
{
	if (vector == 0)
		kvmh_divide_error();
	else
		ring(KVMH_OP_EXCEPTION, vector, 0, 0);
}

/* An instruction fetch from arbitrary data pages cannot be made safe at
 * CPL3 without executable mappings; a load of the byte stands in for it. */
void wlrt_fetch(uint64_t va) { (void)*(volatile uint8_t *)va; }

/* Touch every page of the payload (a load and a store of the same value,
 * harmless even to live stack frames) so that the workload's shadow faults
 * are its own, then tell the harness. */
static void warm_up(void)
{
	for (uint64_t va = KVMH_PAYLOAD_VA; va < (uint64_t)__stack_top; va += 4096) {
		volatile uint64_t *w = (volatile uint64_t *)va;
		*w = *w;
	}
	SHARED->checksum = 0;
	ring(KVMH_OP_START, 0, 0, 0);
}

static uint64_t run_workload(void)
{
	char name[32];
	uint64_t p[KVMH_MAX_PARAMS], sum = 0;
	for (unsigned i = 0; i < sizeof name; i++)
		name[i] = SHARED->wl_name[i];
	name[sizeof name - 1] = 0;
	for (unsigned i = 0; i < KVMH_MAX_PARAMS; i++)
		p[i] = SHARED->p[i];
	SHARED->de_rip = (uint64_t)kvmh_de_insn;
	SHARED->de_len = (uint64_t)(kvmh_de_end - kvmh_de_insn);
	warm_up();
	if (wl_run_freestanding(name, p, &sum) < 0)
		return ~0ull; /* the harness checked the name; cannot happen */
	return sum;
}

static uint64_t touch(uint64_t va, uint64_t len, uint64_t mode)
{
	uint64_t sum = 0;
	for (uint64_t off = 0; off < len; off += 4096) {
		volatile uint64_t *w = (volatile uint64_t *)(va + off);
		if (mode != 1)
			sum += *w;
		if (mode != 2)
			*w = off;
	}
	return sum;
}

/* Kernel services checked end to end, in isolation.
 * Variants 1 and 2 must end in a fault the harness reports, 3 in its
 * timeout. */
static uint64_t selftest(uint64_t variant)
{
	volatile uint64_t *a = (volatile uint64_t *)KVMH_SELFTEST_VA;
	uint64_t sum = 0;
	wlrt_map(KVMH_SELFTEST_VA, 8192, VM_PROT_R | VM_PROT_W);
	a[0] = 0x1111;
	switch (variant) {
	case 0:
		wlrt_fork(1, 2);
		wlrt_switch(2);
		sum = a[0];       /* the child sees the parent's memory (shared) */
		a[512] = 0x2222;
		wlrt_switch(1);
		sum = sum * 31 + a[512];
		wlrt_exit(2);
		break;
	case 1:
		wlrt_unmap(KVMH_SELFTEST_VA, 4096);
		sum = a[1]; /* must fault: the shadow entry has to be gone */
		break;
	case 2:
		wlrt_protect(KVMH_SELFTEST_VA, 8192, VM_PROT_R);
		sum = a[0];
		a[0] = 2; /* must fault: read-only now */
		break;
	case 3:
		for (;;) /* a hung guest: the harness's timeout must end it */
			__asm__ volatile("pause");
	}
	return sum;
}

void kvmh_guest_main(void);

void kvmh_guest_main(void)
{
	uint64_t sum = 0;
	SHARED->tsc_resumed = rdtsc();
	SHARED->tramp_rip = (uint64_t)kvmh_echo_tramp;
	SHARED->invlpg_rip = (uint64_t)kvmh_invlpg_stub;
	if (SHARED->echo_n)
		apply_echo();
	switch (SHARED->cmd) {
	case KVMH_CMD_WORKLOAD:
		sum = run_workload();
		break;
	case KVMH_CMD_TOUCH:
		sum = touch(SHARED->cmd_arg[0], SHARED->cmd_arg[1], SHARED->cmd_arg[2]);
		break;
	case KVMH_CMD_CRASH:
		sum = *(volatile uint64_t *)SHARED->cmd_arg[0];
		break;
	case KVMH_CMD_SELFTEST:
		sum = selftest(SHARED->cmd_arg[0]);
		break;
	case KVMH_CMD_PTWRITE: {
		volatile uint64_t *e = (volatile uint64_t *)SHARED->cmd_arg[0];
		for (uint64_t i = 0; i < SHARED->cmd_arg[1]; i++) {
			uint64_t v = *e;
			*e = v;
		}
		break;
	}
	case KVMH_CMD_CPUID:
		for (uint64_t i = 0; i < SHARED->cmd_arg[0]; i++) {
			uint32_t a = 0, b, c = 0, d;
			__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
			sum += a;
		}
		break;
	case KVMH_CMD_KICK:
		for (uint64_t i = 0; i < SHARED->cmd_arg[0]; i++)
			*(volatile uint64_t *)KVMH_KICK_VA = i;
		break;
	case KVMH_CMD_DIVIDE:
		SHARED->de_rip = (uint64_t)kvmh_de_insn;
		SHARED->de_len = (uint64_t)(kvmh_de_end - kvmh_de_insn);
		for (uint64_t i = 0; i < SHARED->cmd_arg[0]; i++)
			kvmh_divide_error();
		break;
	case KVMH_CMD_PING:
		for (uint64_t i = 0; i < SHARED->cmd_arg[0]; i++)
			ring(KVMH_OP_PHASE, ~0ull, 0, 0);
		break;
	}
	SHARED->checksum = sum;
	ring(KVMH_OP_DONE, sum, 0, 0);
}
