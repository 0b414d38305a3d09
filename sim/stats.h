/*
 * stats.h - every statistic vmsim reports, declared once.
 *
 * VM_STATS is an X-macro list X(name, unit, description).  It generates the
 * counters in struct stats and drives the text report, the JSON object and
 * the CSV columns, so a counter can never be printed under two names.  The
 * cycles_* counters are the cycle categories; their sum is reported as
 * `cycles`, and cycles / accesses as `cycles_per_access`.
 */
#ifndef VMSIM_STATS_H
#define VMSIM_STATS_H

#include <stdio.h>

#include "types.h"

#define VM_STATS(X)                                                                            \
	X(accesses, "count", "memory accesses (loads + stores + fetches)")                     \
	X(loads, "count", "loads")                                                             \
	X(stores, "count", "stores")                                                           \
	X(fetches, "count", "instruction fetches")                                             \
	X(tlb_l1_hits, "count", "L1 TLB hits (iTLB + dTLB)")                                   \
	X(tlb_l1_misses, "count", "L1 TLB misses")                                             \
	X(tlb_l1_hits_4k, "count", "L1 TLB hits on 4 KiB entries")                             \
	X(tlb_l1_hits_2m, "count", "L1 TLB hits on 2 MiB entries")                             \
	X(tlb_l1_hits_1g, "count", "L1 TLB hits on 1 GiB entries")                             \
	X(tlb_l1i_misses, "count", "L1 iTLB misses")                                           \
	X(tlb_l1d_misses, "count", "L1 dTLB misses")                                           \
	X(tlb_l2_hits, "count", "L2 TLB hits")                                                 \
	X(tlb_l2_misses, "count", "L2 TLB misses (each starts a walk)")                        \
	X(tlb_l2_hits_4k, "count", "L2 TLB hits on 4 KiB entries")                             \
	X(tlb_l2_hits_2m, "count", "L2 TLB hits on 2 MiB entries")                             \
	X(tlb_l2_hits_1g, "count", "L2 TLB hits on 1 GiB entries")                             \
	X(tlb_l2_misses_4k, "count", "L2 TLB misses resolved to a 4 KiB page")                 \
	X(tlb_l2_misses_2m, "count", "L2 TLB misses resolved to a 2 MiB page")                 \
	X(tlb_l2_misses_1g, "count", "L2 TLB misses resolved to a 1 GiB page")                 \
	X(tlb_flushes, "count", "full or per-context TLB flushes")                             \
	X(tlb_flushed_entries, "count", "TLB entries dropped by flushes and INVLPG")           \
	X(walks, "count", "page walks started by the hardware")                                \
	X(walk_refs, "count", "memory references made by page walks")                          \
	X(pwc_hits_pde, "count", "walks that started below a PDE-cache hit")                   \
	X(pwc_hits_pdpte, "count", "walks that started below a PDPTE-cache hit")               \
	X(pwc_hits_pml4e, "count", "walks that started below a PML4E-cache hit")               \
	X(pwc_hits_pml5e, "count", "walks that started below a PML5E-cache hit")               \
	X(pte_from_l1, "count", "page-table entries fetched from the L1 data cache")           \
	X(pte_from_l2, "count", "page-table entries fetched from the L2 cache")                \
	X(pte_from_l3, "count", "page-table entries fetched from the L3 cache")                \
	X(pte_from_mem, "count", "page-table entries fetched from memory")                     \
	X(dirty_assists, "count", "stores through a TLB entry with D clear (re-walk to set D)") \
	X(page_faults, "count", "page faults taken by the guest kernel")                       \
	X(faults_demand_4k, "count", "demand faults that mapped a 4 KiB page")                 \
	X(faults_demand_2m, "count", "demand faults that mapped a 2 MiB page")                 \
	X(faults_demand_1g, "count", "demand faults that mapped a 1 GiB page")                 \
	X(faults_cow, "count", "copy-on-write faults")                                         \
	X(faults_segv, "count", "accesses the guest kernel refused (no mapping or permission)") \
	X(pt_writes, "count", "page-table entries written by the guest kernel")                \
	X(pt_pages, "count", "guest page-table pages allocated")                               \
	X(cr3_writes, "count", "CR3 writes")                                                   \
	X(invlpgs, "count", "INVLPG instructions")                                             \
	X(context_switches, "count", "context switches")                                       \
	X(forks, "count", "forks")                                                             \
	X(exits, "count", "process exits")                                                     \
	X(maps, "count", "map calls")                                                          \
	X(unmaps, "count", "unmap calls")                                                      \
	X(protects, "count", "protect calls")                                                  \
	X(syscalls, "count", "system calls")                                                   \
	X(io_ops, "count", "port I/O instructions")                                            \
	X(cr8_writes, "count", "CR8 (TPR) writes")                                             \
	X(exceptions, "count", "exceptions other than page faults")                            \
	X(callrets, "count", "call/return events")                                             \
	X(phases, "count", "phase markers")                                                    \
	X(vm_exits, "count", "VM exits (vtx, nested)")                                         \
	X(vm_exits_io, "count", "VM exits for port I/O")                                       \
	X(vm_exits_cr8, "count", "VM exits for CR8 writes")                                    \
	X(vm_exits_cr3, "count", "VM exits for CR3 writes")                                    \
	X(vm_exits_invlpg, "count", "VM exits for INVLPG")                                     \
	X(vm_exits_pf, "count", "VM exits for page faults (shadow paging)")                    \
	X(vm_exits_exception, "count", "VM exits for other exceptions")                        \
	X(vm_exits_violation, "count", "VM exits for EPT/NPT violations")                      \
	X(vmm_traps, "count", "entries into the VMM without a VM exit (bt traps and callouts)") \
	X(shadow_fills, "count", "shadow entries filled")                                      \
	X(shadow_prefetched, "count", "shadow entries filled ahead by prefetch")               \
	X(pt_write_traps, "count", "guest page-table writes trapped by the VMM")               \
	X(hidden_faults, "count", "shadow misses the VMM fixed without the guest seeing them") \
	X(guest_faults_reflected, "count", "page faults the VMM passed to the guest")          \
	X(ad_emulations, "count", "dirty-bit updates emulated by the VMM")                     \
	X(shadow_root_switches, "count", "CR3 writes served from the shadow-root cache")       \
	X(shadow_root_builds, "count", "CR3 writes that built a new shadow root")              \
	X(shadow_syncs, "count", "unsync shadow tables resynchronised")                        \
	X(shadow_unsyncs, "count", "shadow tables let go out of sync")                         \
	X(shadow_zaps, "count", "shadow tables zapped")                                        \
	X(shadow_pages, "count", "shadow table pages allocated")                               \
	X(hypercalls, "count", "hypercalls (pv)")                                              \
	X(pv_updates, "count", "PTE updates validated by the hypervisor (pv)")                 \
	X(bt_translations, "count", "code blocks translated (bt)")                             \
	X(nested_walk_refs, "count", "walk references in the host dimension (nested)")         \
	X(ntlb_hits, "count", "nested TLB hits")                                               \
	X(ntlb_misses, "count", "nested TLB misses")                                           \
	X(hpwc_hits, "count", "host walks that started below a host PWC hit")                  \
	X(host_frames, "count", "host frames allocated for guest memory")                      \
	X(shootdowns, "count", "TLB shootdowns (kernel operations that interrupted other vCPUs)") \
	X(ipis, "count", "shootdown IPIs sent")                                                \
	X(vm_exits_ipi, "count", "VM exits to send or receive IPIs")                           \
	X(lock_acquisitions, "count", "shadow-MMU lock acquisitions (several vCPUs)")          \
	X(lock_waits, "count", "shadow-MMU lock acquisitions that had to wait")                \
	X(makespan_cycles, "cycles", "run time: the busiest vCPU's cycles")                    \
	X(balloon_pages_in, "count", "guest pages the balloon driver took (inflation)")         \
	X(balloon_pages_out, "count", "guest pages the balloon driver gave back (deflation)")     \
	X(host_swap_outs, "count", "guest pages the host swapped out without the guest knowing")  \
	X(host_swap_ins, "count", "guest pages the host swapped back in")                      \
	X(guest_swap_outs, "count", "pages the guest kernel swapped out to its own swap")       \
	X(guest_swap_ins, "count", "pages the guest kernel swapped back in")                   \
	X(double_paging, "count", "guest swap-outs of a page the host had swapped out")        \
	X(vm_switches, "count", "times the host CPU switched to this VM from another")          \
	X(cycles_base, "cycles", "the accesses themselves")                                    \
	X(cycles_tlb, "cycles", "L1 and L2 TLB hit latency")                                   \
	X(cycles_walk, "cycles", "page walks")                                                 \
	X(cycles_fault, "cycles", "guest page-fault handling")                                 \
	X(cycles_os, "cycles", "other guest kernel work: syscalls, switches, maps, I/O")      \
	X(cycles_exit, "cycles", "VM exit/entry transitions, BT traps and callouts, hypercalls") \
	X(cycles_vmm, "cycles", "VMM handlers: shadow paging, emulation, host allocation")     \
	X(cycles_bt, "cycles", "binary translation of new code blocks")                        \
	X(cycles_lock, "cycles", "waiting for and taking the shadow-MMU lock")                        \
	X(cycles_swap, "cycles", "swap I/O the VM waited for: guest and host swap-ins and swap-outs")

struct stats {
#define X(name, unit, desc) uint64_t name;
	VM_STATS(X)
#undef X
};

/* Extra identifying columns printed before the counters. */
struct stats_ident {
	const char *mode;
	const char *workload; /* "gups:mb=64,..." or "trace:FILE" */
	const char *config;   /* profile file, or "built-in defaults" */
};

uint64_t stats_cycles(const struct stats *s);
double stats_cycles_per_access(const struct stats *s);

void stats_print_text(const struct stats *s, const struct stats_ident *id, FILE *f);
/* One JSON object, newline-terminated. */
int stats_print_json(const struct stats *s, const struct stats_ident *id, FILE *f);
void stats_print_csv_header(FILE *f);
/* One CSV field, quoted (RFC 4180) only when it holds a comma, quote or newline. */
void stats_csv_field(FILE *f, const char *s);
void stats_print_csv_row(const struct stats *s, const struct stats_ident *id, FILE *f);

/* Name and value of counter i (0 <= i < stats_count()), for generic users. */
unsigned stats_count(void);
const char *stats_name(unsigned i);
uint64_t stats_value(const struct stats *s, unsigned i);

#endif
