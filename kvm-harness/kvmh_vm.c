/*
 * kvmh_vm.c - the VMM core on /dev/kvm.
 *
 * Notes:
 *  - In the spirit of kvmtool and the KVM selftests (kernel
 *    Documentation/virt/kvm/api.rst for every ioctl used), written here.
 *  - Long mode is entered directly with KVM_SET_SREGS: no real-mode or
 *    protected-mode bootstrap, since on a PVM host CPL0 guest code is
 *    emulated at about 0.7 us per instruction (notes/kvm-host.md).
 *  - The GDT and a 64-bit TSS live in guest memory even though nothing in
 *    the guest loads a segment: KVM (and VMX entry checks on other hosts)
 *    want TR to describe a busy 64-bit TSS, and a later CPL0 guest (set-up
 *    (a)) needs them anyway.
 */
#include "kvmh_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* GDT layout: null, kernel code, kernel data, user data, user code, TSS.
 * User data sits below user code in the SYSRET order. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x18
#define SEL_UCODE 0x20
#define SEL_TSS 0x28

static int sys_err(struct vmerr *err, int e, const char *what, const char *hint)
{
	return vmerr_set(err, -e, "%s: %s%s%s", what, strerror(e), hint ? "; " : "",
			 hint ? hint : "");
}

int kvmh_vm_open(struct kvmh_vm *vm, struct vmerr *err)
{
	int rc;
	memset(vm, 0, sizeof *vm);
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		rc = -errno;
		sys_err(err, errno, "open /dev/kvm",
			errno == ENOENT ? "is KVM enabled (CONFIG_KVM, kvm_intel/kvm_amd/kvm_pvm loaded)?"
					: "is /dev/kvm readable and writable? are you in group kvm?");
		goto err;
	}
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		rc = -EINVAL;
		vmerr_set(err, rc, "/dev/kvm: KVM API version %d, expected %d; this kernel's KVM is "
			  "not supported", api, KVM_API_VERSION);
		goto err_kvm;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		rc = -errno;
		sys_err(err, errno, "KVM_CREATE_VM", "is another hypervisor holding VMX/SVM?");
		goto err_kvm;
	}
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0) {
		rc = -errno;
		sys_err(err, errno, "KVM_CREATE_VCPU", NULL);
		goto err_vm;
	}
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		rc = sz < 0 ? -errno : -EINVAL;
		sys_err(err, sz < 0 ? errno : EINVAL, "KVM_GET_VCPU_MMAP_SIZE", NULL);
		goto err_vcpu;
	}
	vm->run_size = (size_t)sz;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		rc = -errno;
		sys_err(err, errno, "mmap of the vCPU run structure", NULL);
		goto err_vcpu;
	}

	/* Guest CPUID = what KVM supports, so the guest sees NX, long mode. */
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = {.c.nent = 256};
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_SET_CPUID2, &cpuid) < 0) {
		rc = -errno;
		sys_err(err, errno, "KVM_GET_SUPPORTED_CPUID/KVM_SET_CPUID2", NULL);
		goto err_run;
	}
	return 0;

err_run:
	munmap(vm->run, vm->run_size);
err_vcpu:
	close(vm->vcpu_fd);
err_vm:
	close(vm->vm_fd);
err_kvm:
	close(vm->kvm_fd);
err:
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->run = NULL;
	return rc;
}

void kvmh_vm_close(struct kvmh_vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	for (unsigned i = 0; i < vm->nslots; i++)
		if (vm->slots[i].used)
			munmap(vm->slots[i].map, vm->slots[i].map_len);
	memset(vm, 0, sizeof *vm);
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
}

static int set_region(struct kvmh_vm *vm, struct kvmh_slot *s, bool live, struct vmerr *err)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id,
		.guest_phys_addr = s->gpa,
		.memory_size = live ? s->size : 0,
		.userspace_addr = (uint64_t)(uintptr_t)s->hva,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		int e = errno;
		return vmerr_set(err, -e,
				 "KVM_SET_USER_MEMORY_REGION slot %u '%s' gpa 0x%llx size 0x%llx: %s%s",
				 s->id, s->name, (unsigned long long)s->gpa,
				 (unsigned long long)s->size, strerror(e),
				 e == EINVAL ? " (too many slots, or overlapping ones?)" : "");
	}
	s->live = live;
	return 0;
}

int kvmh_vm_add_slot(struct kvmh_vm *vm, const char *name, gpa_t gpa, uint64_t size,
		     uint64_t align, int thp, struct kvmh_slot **out, struct vmerr *err)
{
	unsigned id = 0;
	while (id < vm->nslots && vm->slots[id].used)
		id++;
	if (id == KVMH_MAX_SLOTS)
		return vmerr_set(err, -ENOSPC, "memory slot '%s': all %d slots in use (does the "
				 "workload map more regions at once than that?)", name, KVMH_MAX_SLOTS);
	if (align < 4096)
		align = 4096;
	size = (size + 4095) & ~4095ull;
	struct kvmh_slot *s = &vm->slots[id];
	memset(s, 0, sizeof *s);
	s->name = name;
	s->id = id;
	s->gpa = gpa;
	s->size = size;
	s->map_len = size + align - 4096;
	s->map = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->map == MAP_FAILED)
		return sys_err(err, errno, "mmap of guest memory", "is the memory limit too low?");
	s->hva = (void *)(((uintptr_t)s->map + align - 1) & ~(uintptr_t)(align - 1));
	if (thp >= 0)
		(void)madvise(s->hva, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	int rc = set_region(vm, s, true, err);
	if (rc < 0) {
		munmap(s->map, s->map_len);
		return rc;
	}
	s->used = true;
	if (id == vm->nslots)
		vm->nslots++;
	if (out)
		*out = s;
	return 0;
}

int kvmh_vm_del_slot(struct kvmh_vm *vm, struct kvmh_slot *s, struct vmerr *err)
{
	int rc = s->live ? set_region(vm, s, false, err) : 0;
	if (rc < 0)
		return rc;
	munmap(s->map, s->map_len);
	memset(s, 0, sizeof *s);
	return 0;
}

int kvmh_vm_reload_slot(struct kvmh_vm *vm, struct kvmh_slot *s, struct vmerr *err)
{
	int rc = set_region(vm, s, false, err);
	return rc < 0 ? rc : set_region(vm, s, true, err);
}

void *kvmh_vm_hva(struct kvmh_vm *vm, gpa_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < vm->nslots; i++) {
		struct kvmh_slot *s = &vm->slots[i];
		if (s->used && gpa >= s->gpa && gpa - s->gpa + len <= s->size)
			return (char *)s->hva + (gpa - s->gpa);
	}
	return NULL;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code, unsigned dpl)
{
	memset(s, 0, sizeof *s);
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = (uint8_t)dpl;
	s->s = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

int kvmh_vm_set_long_mode_user(struct kvmh_vm *vm, gpa_t gdt_gpa, gpa_t tss_gpa, gpa_t root,
			       uint64_t rip, uint64_t rsp, struct vmerr *err)
{
	uint64_t *gdt = kvmh_vm_hva(vm, gdt_gpa, 8 * 8);
	uint8_t *tss = kvmh_vm_hva(vm, tss_gpa, 0x68);
	if (!gdt || !tss)
		return vmerr_set(err, -EFAULT, "GDT at 0x%llx or TSS at 0x%llx is not in guest memory",
				 (unsigned long long)gdt_gpa, (unsigned long long)tss_gpa);
	memset(tss, 0, 0x68);
	tss[0x66] = 0x68; /* I/O map base past the limit: no I/O bitmap */
	gdt[0] = 0;
	gdt[SEL_KCODE / 8] = 0x00af9b000000ffffull;
	gdt[SEL_KDATA / 8] = 0x00cf93000000ffffull;
	gdt[SEL_UDATA / 8] = 0x00cff3000000ffffull;
	gdt[SEL_UCODE / 8] = 0x00affb000000ffffull;
	gdt[SEL_TSS / 8] = 0x67 | ((tss_gpa & 0xffffff) << 16) | (0x8bull << 40) |
			   (((tss_gpa >> 24) & 0xff) << 56);
	gdt[SEL_TSS / 8 + 1] = tss_gpa >> 32;

	struct kvm_sregs sr;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return sys_err(err, errno, "KVM_GET_SREGS", NULL);
	sr.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
	sr.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT; /* no PCIDE: not offered here */
	sr.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	sr.cr3 = root;
	sr.gdt.base = gdt_gpa; /* identity-mapped, supervisor-only */
	sr.gdt.limit = 8 * 8 - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	seg(&sr.cs, SEL_UCODE | 3, 0xb, true, 3);
	seg(&sr.ss, SEL_UDATA | 3, 0x3, false, 3);
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss;
	memset(&sr.tr, 0, sizeof sr.tr);
	sr.tr.base = tss_gpa;
	sr.tr.limit = 0x67;
	sr.tr.selector = SEL_TSS;
	sr.tr.type = 0xb;
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof sr.ldt);
	sr.ldt.type = 2;
	sr.ldt.unusable = 1;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return sys_err(err, errno, "KVM_SET_SREGS (64-bit, CPL3)",
			       "does this host's KVM accept long mode set directly?");

	struct kvm_regs regs;
	memset(&regs, 0, sizeof regs);
	regs.rip = rip;
	regs.rsp = rsp;
	regs.rflags = 0x2;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return sys_err(err, errno, "KVM_SET_REGS", NULL);
	return 0;
}

int kvmh_vm_set_cr3(struct kvmh_vm *vm, gpa_t root, struct vmerr *err)
{
	struct kvm_sregs sr;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return sys_err(err, errno, "KVM_GET_SREGS", NULL);
	sr.cr3 = root;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return sys_err(err, errno, "KVM_SET_SREGS (CR3)", NULL);
	return 0;
}

int kvmh_vm_reload_cr3(struct kvmh_vm *vm, gpa_t other, struct vmerr *err)
{
	struct kvm_sregs sr;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return sys_err(err, errno, "KVM_GET_SREGS", NULL);
	gpa_t root = sr.cr3;
	sr.cr3 = other;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return sys_err(err, errno, "KVM_SET_SREGS (CR3 reload, away)", NULL);
	sr.cr3 = root;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return sys_err(err, errno, "KVM_SET_SREGS (CR3 reload, back)", NULL);
	return 0;
}

int kvmh_vm_enter_cpl0(struct kvmh_vm *vm, uint64_t rip, uint64_t rax, struct kvmh_vm_saved *s,
		       struct vmerr *err)
{
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &s->regs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s->sregs) < 0)
		return sys_err(err, errno, "KVM_GET_REGS/SREGS before a CPL0 detour", NULL);
	struct kvm_sregs sr = s->sregs;
	seg(&sr.cs, SEL_KCODE, 0xb, true, 0);
	seg(&sr.ss, SEL_KDATA, 0x3, false, 0);
	struct kvm_regs r = s->regs;
	r.rip = rip;
	r.rax = rax;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sr) < 0 || ioctl(vm->vcpu_fd, KVM_SET_REGS, &r) < 0)
		return sys_err(err, errno, "KVM_SET_REGS/SREGS for a CPL0 detour", NULL);
	return 0;
}

int kvmh_vm_restore(struct kvmh_vm *vm, const struct kvmh_vm_saved *s, struct vmerr *err)
{
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s->sregs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_SET_REGS, &s->regs) < 0)
		return sys_err(err, errno, "KVM_SET_REGS/SREGS after a CPL0 detour", NULL);
	return 0;
}

int kvmh_vm_run(struct kvmh_vm *vm)
{
	return ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0 ? -errno : 0;
}

void kvmh_vm_dump_regs(struct kvmh_vm *vm, FILE *f, const char *p)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "%sguest registers unavailable: %s\n", p, strerror(errno));
		return;
	}
	fprintf(f, "%sRIP %016llx  RSP %016llx  RFLAGS %016llx\n", p, r.rip, r.rsp, r.rflags);
	fprintf(f, "%sRAX %016llx  RBX %016llx  RCX %016llx  RDX %016llx\n", p, r.rax, r.rbx,
		r.rcx, r.rdx);
	fprintf(f, "%sRSI %016llx  RDI %016llx  RBP %016llx\n", p, r.rsi, r.rdi, r.rbp);
	fprintf(f, "%sR8  %016llx  R9  %016llx  R10 %016llx  R11 %016llx\n", p, r.r8, r.r9,
		r.r10, r.r11);
	fprintf(f, "%sCR0 %016llx  CR2 %016llx  CR3 %016llx  CR4 %016llx  EFER %llx\n", p,
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	fprintf(f, "%sCS %04x (DPL %u, L %u)  SS %04x\n", p, s.cs.selector, s.cs.dpl, s.cs.l,
		s.ss.selector);
}

const char *kvmh_exit_name(uint32_t reason)
{
	static const char *const n[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG", [KVM_EXIT_HLT] = "HLT", [KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN", [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY", [KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR", [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR", [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	};
	return reason < VM_ARRAY_SIZE(n) && n[reason] ? n[reason] : "?";
}
