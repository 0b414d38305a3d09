/*
 * kernel.c - guest set-up (a): a tiny kernel at CPL0 under which the
 * workload runs at CPL3.
 *
 * Notes:
 *  - Its own GDT (kernel code/data, user data/code in SYSRET order, a TSS
 *    whose RSP0 is the trap stack), its own IDT: #PF demand-maps the page
 *    at CR2 in the running process's tables, #DE counts and skips the
 *    divide, int $0x80 serves the wlrt_* hooks, any other vector is
 *    reported to the harness through the doorbell and the kernel halts.
 *  - Page tables: one root per process, built here from the pool the
 *    harness gives (bump allocator, 4 KiB pages, never reused, so pages
 *    come zeroed from the slot's fresh anonymous memory).  The low half's
 *    first PML4 entry (kernel, boot page, user payload, pool, doorbell) is
 *    copied from the boot tables into every root.
 *  - Entry bits hand-coded: sim/pt_format.h keeps them as data in
 *    pt_format.c (pt_x86_4), which is not built freestanding; these are
 *    the same x86-64 bits.
 *  - fork shares memory with the parent (as set-up (b) does); exit frees
 *    the process entry but not its pool pages.
 *  - wl_map only records the region; its pages are mapped on first touch
 *    (demand paging, as the simulator's guest kernel does).
 */
#include "abi_a.h"

#define BOOT ((volatile struct kvma_boot *)KVMA_BOOT_GPA)

/* x86-64 page-table entry bits (= pt_x86_4 in sim/pt_format.c). */
#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

/* The workload's VM_PROT_* (workloads/wl.h). */
#define PROT_W 2u
#define PROT_X 4u

struct kvma_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, err;
	uint64_t rip, cs, rflags, rsp, ss;
};

void kvma_main(void);
void kvma_trap(struct kvma_frame *f);
void kvma_enter_user(uint64_t rip, uint64_t rsp) __attribute__((noreturn));
extern char kvma_trap_stack_top[];

#define ISRS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) \
	X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(128)
#define DECL(n) extern char kvma_isr##n[];
ISRS(DECL)

static uint64_t gdt[7] __attribute__((aligned(16)));
static uint8_t tss[0x68] __attribute__((aligned(16)));
static uint64_t idt[256 * 2] __attribute__((aligned(4096)));

struct region {
	uint64_t va, len;
	unsigned prot;
};
#define MAX_REGIONS 32
#define MAX_PROCS 16
struct proc {
	uint32_t pid;
	int used, exited;
	uint64_t root;
	struct region r[MAX_REGIONS];
	unsigned nr;
};
static struct proc procs[MAX_PROCS];
static struct proc *cur;
static uint64_t boot_root, pool_next;

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

static void ring(uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2)
{
	BOOT->op = op;
	BOOT->arg[0] = a0;
	BOOT->arg[1] = a1;
	BOOT->arg[2] = a2;
	*(volatile uint64_t *)KVMA_DOORBELL_GPA = op;
}

static void __attribute__((noreturn)) fatal(uint64_t what, uint64_t rip, uint64_t detail)
{
	ring(KVMA_OP_FATAL, what, rip, detail);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static uint64_t page_alloc(void)
{
	if (pool_next + 4096 > BOOT->pool_end)
		fatal(0x100 + KVMA_UNSUP_NOMEM, 0, pool_next);
	uint64_t pa = pool_next;
	pool_next += 4096;
	BOOT->pages_used++;
	return pa; /* never handed out before: zero */
}

/* The level-0 entry for va under root; tables made on the way if create. */
static volatile uint64_t *walk(uint64_t root, uint64_t va, int create)
{
	uint64_t table = root;
	for (int level = 3; level > 0; level--) {
		volatile uint64_t *e = (volatile uint64_t *)table + ((va >> (12 + 9 * level)) & 511);
		if (!(*e & PTE_P)) {
			if (!create)
				return 0;
			*e = page_alloc() | PTE_P | PTE_W | PTE_U | PTE_A;
		}
		table = *e & PTE_ADDR;
	}
	return (volatile uint64_t *)table + ((va >> 12) & 511);
}

static struct proc *proc_get(uint32_t pid)
{
	struct proc *free = 0;
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		if (procs[i].used && procs[i].pid == pid)
			return &procs[i];
		if (!procs[i].used && !free)
			free = &procs[i];
	}
	if (!free)
		fatal(0x100 + KVMA_UNSUP_NOMEM, 0, pid);
	free->used = 1;
	free->exited = 0;
	free->pid = pid;
	free->nr = 0;
	free->root = page_alloc();
	((volatile uint64_t *)free->root)[0] = ((volatile uint64_t *)boot_root)[0];
	return free;
}

static struct region *region_of(uint64_t va)
{
	for (unsigned i = 0; i < cur->nr; i++)
		if (va - cur->r[i].va < cur->r[i].len)
			return &cur->r[i];
	return 0;
}

static uint64_t leaf_bits(unsigned prot)
{
	uint64_t e = PTE_P | PTE_U;
	if (prot & PROT_W)
		e |= PTE_W;
	if (!(prot & PROT_X))
		e |= PTE_NX;
	return e;
}

static void page_fault(struct kvma_frame *f)
{
	uint64_t va = read_cr2();
	struct region *r = region_of(va);
	if (!r || (f->err & 1)) /* outside every region, or a protection fault */
		fatal(14, f->rip, va);
	volatile uint64_t *e = walk(cur->root, va, 1);
	*e = page_alloc() | leaf_bits(r->prot);
	BOOT->pf_served++;
}

/* The divide of wlrt_exception(0): [REX] F6/F7 with a register operand. */
static void divide_error(struct kvma_frame *f)
{
	const uint8_t *p = (const uint8_t *)f->rip;
	unsigned n = 0;
	if ((p[0] & 0xf0) == 0x40)
		n++;
	if ((p[n] != 0xf6 && p[n] != 0xf7) || (p[n + 1] >> 6) != 3)
		fatal(0, f->rip, p[n]);
	f->rip += n + 2;
	BOOT->de_served++;
}

/* Clear (prot < 0) or rewrite the present leaves of [va, va + len). */
static void change(uint64_t va, uint64_t len, int prot)
{
	for (uint64_t a = va & ~4095ull; a < va + len; a += 4096) {
		volatile uint64_t *e = walk(cur->root, a, 0);
		if (!e || !(*e & PTE_P))
			continue;
		*e = prot < 0 ? 0 : (*e & PTE_ADDR) | leaf_bits((unsigned)prot);
		invlpg(a);
		BOOT->invlpgs++;
	}
}

static void sys_unmap(uint64_t va, uint64_t len)
{
	change(va, len, -1);
	for (unsigned i = 0; i < cur->nr;) {
		struct region *r = &cur->r[i];
		if (r->va >= va && r->va + r->len <= va + len) {
			cur->r[i] = cur->r[--cur->nr];
			continue;
		}
		if (r->va < va + len && va < r->va + r->len) { /* partial: trim an end */
			if (r->va >= va) {
				r->len -= va + len - r->va;
				r->va = va + len;
			} else if (r->va + r->len <= va + len) {
				r->len = va - r->va;
			} else {
				fatal(0x100 + KVMA_UNSUP_PF, 0, va); /* a hole in the middle */
			}
		}
		i++;
	}
}

static void sys_protect(uint64_t va, uint64_t len, unsigned prot)
{
	for (unsigned i = 0; i < cur->nr; i++)
		if (cur->r[i].va >= va && cur->r[i].va + cur->r[i].len <= va + len)
			cur->r[i].prot = prot;
	change(va, len, (int)prot);
}

static void sys_switch(uint32_t pid)
{
	struct proc *old = cur;
	cur = proc_get(pid);
	if (old != cur && old->exited)
		old->used = 0;
	write_cr3(cur->root);
	BOOT->cr3_writes++;
}

/* The child gets the parent's regions and its user-half top-level entries:
 * the same lower tables, so the same memory (shared, not copy-on-write, as
 * in set-up (b)); its own root, so switching to it is a real CR3 write. */
static void sys_fork(uint32_t parent, uint32_t child)
{
	struct proc *p = proc_get(parent), *c = proc_get(child);
	for (unsigned i = 1; i < 256; i++)
		((volatile uint64_t *)c->root)[i] = ((volatile uint64_t *)p->root)[i];
	for (unsigned i = 0; i < p->nr; i++)
		c->r[i] = p->r[i];
	c->nr = p->nr;
}

/* Pool pages are not reclaimed (bump allocator); the entry is freed now, or
 * at the next switch if the process is running. */
static void sys_exit(uint32_t pid)
{
	for (unsigned i = 0; i < MAX_PROCS; i++)
		if (procs[i].used && procs[i].pid == pid) {
			if (&procs[i] == cur)
				procs[i].exited = 1;
			else
				procs[i].used = 0;
		}
}

static void syscall(struct kvma_frame *f)
{
	uint64_t nr = f->rax, a0 = f->rdi, a1 = f->rsi, a2 = f->rdx;
	BOOT->syscalls++;
	f->rax = 0;
	switch (nr) {
	case KVMA_SYS_MAP:
		/* The first 512 GiB are the kernel's (boot tables, 2 MiB leaves);
		 * the workloads map at 16 TiB and up. */
		if (a0 < (1ull << 39) || a0 + a1 > (1ull << 47) || a0 + a1 < a0)
			fatal(0x100 + KVMA_UNSUP_RANGE, f->rip, a0);
		if (cur->nr == MAX_REGIONS)
			fatal(0x100 + KVMA_UNSUP_NOMEM, f->rip, a0);
		cur->r[cur->nr++] = (struct region){a0, a1, (unsigned)a2};
		break;
	case KVMA_SYS_UNMAP:
		sys_unmap(a0, a1);
		break;
	case KVMA_SYS_PROTECT:
		sys_protect(a0, a1, (unsigned)a2);
		break;
	case KVMA_SYS_SWITCH:
		sys_switch((uint32_t)a0);
		break;
	case KVMA_SYS_FORK:
		sys_fork((uint32_t)a0, (uint32_t)a1);
		break;
	case KVMA_SYS_EXIT:
		sys_exit((uint32_t)a0);
		break;
	case KVMA_SYS_SYSCALL:
		BOOT->sys_nr++;
		break;
	case KVMA_SYS_PHASE:
		ring(KVMA_OP_PHASE, a0, 0, 0);
		break;
	case KVMA_SYS_DONE:
		BOOT->checksum = a0;
		ring(KVMA_OP_DONE, a0, 0, 0);
		for (;;)
			__asm__ volatile("cli; hlt");
	case KVMA_SYS_UNSUPPORTED:
		fatal(0x100 + a0, f->rip, a1);
	default:
		fatal(0x100 + KVMA_UNSUP_SYSCALL_NR, f->rip, nr);
	}
}

void kvma_trap(struct kvma_frame *f)
{
	BOOT->fatal_err = f->err;
	BOOT->fatal_cs = f->cs;
	switch (f->vector) {
	case 14:
		page_fault(f);
		return;
	case 0:
		divide_error(f);
		return;
	case 128:
		syscall(f);
		return;
	case 6:
		/* On PVM hosts `int $0x80` at CPL3 arrives as #UD at the
		 * instruction: serve it as the system call it is. */
		if (((const uint8_t *)f->rip)[0] == 0xcd && ((const uint8_t *)f->rip)[1] == 0x80) {
			f->rip += 2;
			BOOT->ud_int80++;
			syscall(f);
			return;
		}
		fatal(f->vector, f->rip, f->err);
	default:
		fatal(f->vector, f->rip, f->err);
	}
}

static void set_gate(unsigned v, const char *isr, unsigned dpl)
{
	uint64_t a = (uint64_t)isr;
	idt[2 * v] = (a & 0xffff) | (0x08ull << 16) | ((uint64_t)(0x8e | dpl << 5) << 40) |
		     ((a >> 16 & 0xffff) << 48);
	idt[2 * v + 1] = a >> 32;
}

void kvma_main(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d;
	uint64_t t = (uint64_t)tss;

	/* null, kernel code, kernel data, user data, user code, TSS (2 slots) */
	gdt[1] = 0x00af9b000000ffffull;
	gdt[2] = 0x00cf93000000ffffull;
	gdt[3] = 0x00cff3000000ffffull;
	gdt[4] = 0x00affb000000ffffull;
	gdt[5] = 0x67 | ((t & 0xffffff) << 16) | (0x89ull << 40) | (((t >> 24) & 0xff) << 56);
	gdt[6] = t >> 32;
	*(volatile uint64_t *)(tss + 4) = (uint64_t)kvma_trap_stack_top; /* RSP0 */
	tss[0x66] = 0x68; /* no I/O bitmap */
	d.limit = sizeof gdt - 1;
	d.base = (uint64_t)gdt;
	__asm__ volatile("lgdt %0" ::"m"(d));
	__asm__ volatile("ltr %w0" ::"r"(0x28));

#define GATE(n) set_gate(n, kvma_isr##n, n == 128 ? 3 : 0);
	ISRS(GATE)
	d.limit = sizeof idt - 1;
	d.base = (uint64_t)idt;
	__asm__ volatile("lidt %0" ::"m"(d));

	boot_root = read_cr3();
	pool_next = KVMA_POOL_GPA;
	cur = proc_get(1);
	write_cr3(cur->root);
	ring(KVMA_OP_START, 0, 0, 0);
	kvma_enter_user(BOOT->user_entry, BOOT->user_stack);
}
