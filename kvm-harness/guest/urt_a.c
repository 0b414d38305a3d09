/*
 * urt_a.c - the user runtime of set-up (a): the workload runs at CPL3 under
 * the guest kernel (kernel.c) and every wlrt_* hook is a system call,
 * `int $0x80` (rax = KVMA_SYS_*, rdi/rsi/rdx the arguments).
 *
 * int $0x80 rather than `syscall`: faults and system calls then enter the
 * kernel the same way (an IDT gate, the TSS's RSP0, one frame layout) and
 * leave it the same way (iretq), so the kernel has one entry and exit
 * path.  And on the PVM host here SYSCALL does not work for a guest like
 * this one: it jumps to LSTAR but stays at CPL3, so the kernel's entry
 * faults as a user fetch (measured: #PF error code 0x15, CS 0x23).  There
 * `int $0x80` arrives as #UD instead, which the kernel serves (kernel.c).
 *
 * Hooks the kernel does not serve (port I/O, CR8, exceptions
 * other than #DE) report themselves and stop the guest; the harness refuses
 * the workloads that use them before starting.
 */
#include "../../workloads/wl.h"
#include "abi_a.h"

#define BOOT ((const volatile struct kvma_boot *)KVMA_BOOT_GPA)

void kvma_user_main(void);

static uint64_t sys(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	uint64_t r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "memory");
	return r;
}

void wlrt_map(uint64_t va, uint64_t len, unsigned prot) { sys(KVMA_SYS_MAP, va, len, prot); }
void wlrt_unmap(uint64_t va, uint64_t len) { sys(KVMA_SYS_UNMAP, va, len, 0); }
void wlrt_protect(uint64_t va, uint64_t len, unsigned prot) { sys(KVMA_SYS_PROTECT, va, len, prot); }
void wlrt_switch(uint32_t pid) { sys(KVMA_SYS_SWITCH, pid, 0, 0); }
void wlrt_syscall(uint64_t nr) { sys(KVMA_SYS_SYSCALL, nr, 0, 0); }
void wlrt_phase(uint64_t id) { sys(KVMA_SYS_PHASE, id, 0, 0); }
void wlrt_fork(uint32_t parent, uint32_t child) { sys(KVMA_SYS_FORK, parent, child, 0); }
void wlrt_exit(uint32_t pid) { sys(KVMA_SYS_EXIT, pid, 0, 0); }
uint64_t wlrt_io_in(uint16_t port) { return sys(KVMA_SYS_UNSUPPORTED, KVMA_UNSUP_IO, port, 0); }
void wlrt_cr8(uint64_t tpr) { sys(KVMA_SYS_UNSUPPORTED, KVMA_UNSUP_CR8, tpr, 0); }
void wlrt_fetch(uint64_t va) { (void)*(volatile uint8_t *)va; }

/* Vector 0 is a real divide by zero: the kernel's #DE handler counts it and
 * returns past the 2-byte `divl %ecx`. */
void wlrt_exception(unsigned vector)
{
	if (vector == 0)
		__asm__ volatile("xor %%eax, %%eax; xor %%edx, %%edx; xor %%ecx, %%ecx; divl %%ecx"
				 ::: "rax", "rdx", "rcx", "cc");
	else
		sys(KVMA_SYS_UNSUPPORTED, KVMA_UNSUP_EXCEPTION, vector, 0);
}

void kvma_user_main(void)
{
	char name[32];
	uint64_t p[KVMA_MAX_PARAMS], sum = 0;
	for (unsigned i = 0; i < sizeof name; i++)
		name[i] = BOOT->wl_name[i];
	name[sizeof name - 1] = 0;
	for (unsigned i = 0; i < KVMA_MAX_PARAMS; i++)
		p[i] = BOOT->p[i];
	if (wl_run_freestanding(name, p, &sum) < 0)
		sum = ~0ull;
	sys(KVMA_SYS_DONE, sum, 0, 0);
	for (;;)
		;
}
