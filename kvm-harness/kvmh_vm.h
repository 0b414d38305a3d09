/*
 * kvmh_vm.h - the VMM core: one VM on /dev/kvm, memory slots backed by
 * anonymous memory, one vCPU in 64-bit mode, the raw run call.
 *
 * Return codes: 0 or -errno from the failing ioctl/mmap, with a one-line
 * message in the struct vmerr saying what to do.  The body of struct
 * kvmh_vm is public because the guest set-up and the tests read the run
 * structure and the slots directly.
 */
#ifndef KVMH_VM_H
#define KVMH_VM_H

#include <linux/kvm.h>
#include <stdio.h>

#include "sim/error.h"
#include "sim/types.h"

typedef uint64_t hva_t;

/* Slots live at once (ids are reused after kvmh_vm_del_slot).  KVM allows
 * KVM_CAP_NR_MEMSLOTS, 32764 on current x86 kernels, 509 on old ones. */
#define KVMH_MAX_SLOTS 1024

struct kvmh_slot {
	const char *name; /* "pt", "payload", "data", ... */
	uint32_t id;
	bool live;        /* registered with KVM */
	bool used;        /* the entry holds a slot (false after kvmh_vm_del_slot) */
	gpa_t gpa;
	uint64_t size;
	void *hva;        /* aligned start inside [map, map + map_len) */
	void *map;
	size_t map_len;
};

struct kvmh_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct kvmh_slot slots[KVMH_MAX_SLOTS];
	unsigned nslots; /* entries in use or freed: ids below this */
};

/* Open /dev/kvm, check the API, create the VM and its one vCPU. */
int kvmh_vm_open(struct kvmh_vm *vm, struct vmerr *err);
void kvmh_vm_close(struct kvmh_vm *vm);

/* thp: 1 MADV_HUGEPAGE, 0 MADV_NOHUGEPAGE, -1 leave the system default.
 * align: host alignment of the backing (2 MiB lets KVM map huge sptes). */
int kvmh_vm_add_slot(struct kvmh_vm *vm, const char *name, gpa_t gpa, uint64_t size,
		     uint64_t align, int thp, struct kvmh_slot **out, struct vmerr *err);

/* Delete the slot from KVM and add it back with the same memory.  KVM
 * then drops every shadow entry that maps it: how changes the harness makes
 * to guest page tables from outside (unmap, protect) reach the shadow MMU. */
int kvmh_vm_reload_slot(struct kvmh_vm *vm, struct kvmh_slot *s, struct vmerr *err);

/* Remove the slot from KVM (which drops every shadow entry into it) and
 * free its memory; its id is reused by a later kvmh_vm_add_slot. */
int kvmh_vm_del_slot(struct kvmh_vm *vm, struct kvmh_slot *s, struct vmerr *err);

/* Host address of [gpa, gpa + len) if one slot holds it all, else NULL. */
void *kvmh_vm_hva(struct kvmh_vm *vm, gpa_t gpa, uint64_t len);

/* Set up the vCPU for 64-bit mode at CPL3 (set-up (b)): CR0/CR4/EFER,
 * GDT/TSS/segments, CR3 = root; rip/rsp as given. */
int kvmh_vm_set_long_mode_user(struct kvmh_vm *vm, gpa_t gdt_gpa, gpa_t tss_gpa, gpa_t root,
			       uint64_t rip, uint64_t rsp, struct vmerr *err);
int kvmh_vm_set_cr3(struct kvmh_vm *vm, gpa_t root, struct vmerr *err);

/* Make KVM reload the current CR3 as a guest MOV to CR3 would (its MMU is
 * reset and, on the next entry, every out-of-sync shadow table is synced):
 * two KVM_SET_SREGS, through another CR3 value and back. */
int kvmh_vm_reload_cr3(struct kvmh_vm *vm, gpa_t other, struct vmerr *err);

/* A CPL0 detour: save the registers, continue at rip at CPL0 with rax set;
 * kvmh_vm_restore puts the saved state back afterwards. */
struct kvmh_vm_saved {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};
int kvmh_vm_enter_cpl0(struct kvmh_vm *vm, uint64_t rip, uint64_t rax, struct kvmh_vm_saved *s,
		       struct vmerr *err);
int kvmh_vm_restore(struct kvmh_vm *vm, const struct kvmh_vm_saved *s, struct vmerr *err);

/* KVM_RUN once: 0 (see vm->run->exit_reason) or -errno (-EINTR on a signal). */
int kvmh_vm_run(struct kvmh_vm *vm);

/* Print RIP, RSP, RFLAGS, the GPRs, CR0/2/3/4, EFER and CS/SS to f, each
 * line prefixed. */
void kvmh_vm_dump_regs(struct kvmh_vm *vm, FILE *f, const char *prefix);

const char *kvmh_exit_name(uint32_t reason);

#endif
