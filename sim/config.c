/*
 * config.c - one table of keys drives defaults, parsing, range checks,
 * overrides and printing, so a key cannot be parsed one way and printed
 * another.
 *
 * Notes:
 *  - The defaults here are the values in configs/default.ini, which carries
 *    the public source of each number; tests/test_config.c checks that
 *    loading that file changes nothing.
 *  - inih reports the line of the first error when the handler returns 0; the
 *    handler keeps the first message and config.c joins the two.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pt_format.h"
#include "tlb/tlb.h"

enum key_type { K_U32, K_U64, K_BOOL, K_ENUM, K_STR };

struct key {
	const char *section, *name;
	enum key_type type;
	size_t off;
	uint64_t min, max;
	const char *const *names; /* K_ENUM: value i is names[i]; NULL-terminated */
	const char *def;
	const char *help;
};

static const char *const page_names[] = {"4k", "2m", "1g", NULL};
static const char *const format_names[] = {"x86", "ept", "npt", NULL};
static const char *const policy_names[] = {"lru", "plru", "random", NULL};
static const char *const pte_names[] = {"cache", "fixed", NULL};
static const char *const reclaim_names[] = {"balloon", "swap", NULL};
static const char *const balloon_names[] = {"static", "auto", NULL};

#define OFF(f) offsetof(struct cfg, f)
#define U32(s, n, f, lo, hi, d, h) {s, n, K_U32, OFF(f), lo, hi, NULL, d, h}
#define U64(s, n, f, lo, hi, d, h) {s, n, K_U64, OFF(f), lo, hi, NULL, d, h}
#define BOOL(s, n, f, d, h) {s, n, K_BOOL, OFF(f), 0, 1, NULL, d, h}
#define ENUM(s, n, f, nm, d, h) {s, n, K_ENUM, OFF(f), 0, 0, nm, d, h}
#define STR(s, n, f, d, h) {s, n, K_STR, OFF(f), 0, sizeof(((struct cfg *)0)->f), NULL, d, h}
#define CACHE(s, n, f, de, dw, h)                                                      \
	U32(s, n ".entries", f.entries, 0, 1u << 20, de, h " entries (0 = none)"),     \
	U32(s, n ".ways", f.ways, 1, 1u << 20, dw, h " associativity (= entries: fully associative)")

static const struct key keys[] = {
	STR("machine", "name", name, "skylake-client", "profile name, shown in reports"),
	U32("machine", "freq_mhz", freq_mhz, 100, 10000, "4000", "core clock, MHz (for ns-to-cycle conversions)"),
	U32("machine", "vcpus", vcpus, 1, 64, "1", "vCPUs (raised to a workload's threads= if fewer)"),

	U32("guest", "levels", guest_levels, 4, 5, "4", "guest page-table levels: 4 or 5 (LA57)"),
	ENUM("guest", "page", guest_page, page_names, "4k", "largest guest leaf where aligned: 4k, 2m, 1g"),
	U64("guest", "mem_gb", guest_mem_gb, 1, 1u << 22, "4096", "guest-physical memory size, GiB"),
	U32("host", "levels", host_levels, 4, 5, "4", "host (EPT/NPT) levels: 4 or 5"),
	ENUM("host", "page", host_page, page_names, "4k", "largest host leaf where aligned: 4k, 2m, 1g"),
	ENUM("host", "format", host_format, format_names, "ept", "host table format: ept or npt"),
	U64("host", "mem_gb", host_mem_gb, 1, 1u << 22, "4096", "host-physical memory size, GiB"),

	BOOL("tlb", "pcid", pcid, "on", "PCID-tagged TLB entries survive CR3 writes"),
	BOOL("tlb", "vpid", vpid, "on", "VPID/ASID-tagged entries survive VM exits"),
	ENUM("tlb", "policy", policy, policy_names, "lru", "replacement: lru, plru, random"),
	BOOL("tlb", "l1d.split", l1d_split, "on", "L1 dTLB has one array per page size"),
	CACHE("tlb", "l1d", l1d, "64", "4", "L1 dTLB (4 KiB pages; all sizes if not split)"),
	CACHE("tlb", "l1d_2m", l1d_2m, "32", "4", "L1 dTLB for 2 MiB pages"),
	CACHE("tlb", "l1d_1g", l1d_1g, "4", "4", "L1 dTLB for 1 GiB pages"),
	CACHE("tlb", "l1i", l1i, "128", "8", "L1 iTLB for 4 KiB pages"),
	CACHE("tlb", "l1i_2m", l1i_2m, "8", "8", "L1 iTLB for 2 MiB pages (1 GiB pages as 2 MiB pieces)"),
	CACHE("tlb", "l2", l2, "1536", "12", "unified L2 TLB (STLB), 4 KiB and 2 MiB"),
	CACHE("tlb", "l2_1g", l2_1g, "16", "4", "L2 TLB for 1 GiB pages"),
	U32("tlb", "l1.latency", l1_latency, 0, 1000, "0", "cycles added by an L1 TLB hit"),
	U32("tlb", "l2.latency", l2_latency, 0, 1000, "9", "cycles added by an L2 TLB hit"),

	BOOL("pwc", "enabled", pwc_enabled, "on", "paging-structure caches on"),
	CACHE("pwc", "pde", pwc[1], "32", "8", "PDE cache (skips to the PT)"),
	CACHE("pwc", "pdpte", pwc[2], "8", "4", "PDPTE cache (skips to the PD)"),
	CACHE("pwc", "pml4e", pwc[3], "4", "4", "PML4E cache (skips to the PDPT)"),
	CACHE("pwc", "pml5e", pwc[4], "2", "2", "PML5E cache (skips to the PML4)"),

	ENUM("memory", "pte", pte_model, pte_names, "cache", "page-table fetch cost: cache model or fixed latency"),
	U32("memory", "pte_latency", pte_latency, 0, 100000, "42", "cycles per PTE fetch with memory.pte=fixed"),
	U32("memory", "l1.kib", dl[0].kib, 1, 1u << 20, "32", "L1 data cache size, KiB"),
	U32("memory", "l1.ways", dl[0].ways, 1, 1024, "8", "L1 data cache ways"),
	U32("memory", "l1.latency", dl[0].latency, 0, 100000, "4", "L1 data cache hit latency, cycles"),
	U32("memory", "l2.kib", dl[1].kib, 1, 1u << 20, "256", "L2 cache size, KiB"),
	U32("memory", "l2.ways", dl[1].ways, 1, 1024, "4", "L2 cache ways"),
	U32("memory", "l2.latency", dl[1].latency, 0, 100000, "12", "L2 hit latency, cycles"),
	U32("memory", "l3.kib", dl[2].kib, 1, 1u << 22, "8192", "L3 cache size, KiB"),
	U32("memory", "l3.ways", dl[2].ways, 1, 1024, "16", "L3 cache ways"),
	U32("memory", "l3.latency", dl[2].latency, 0, 100000, "42", "L3 hit latency, cycles"),
	U32("memory", "dram_latency", dram_latency, 0, 1000000, "246", "DRAM latency, cycles"),
	BOOL("memory", "data", data_in_cache, "off", "data accesses also go through the cache model: not built yet, on is refused"),

	U32("cpu", "access_cycles", access_cycles, 0, 100000, "4", "cycles per access, translation aside"),
	U32("cpu", "page_fault_cycles", page_fault_cycles, 0, 10000000, "2500", "guest kernel page-fault handling"),
	U32("cpu", "syscall_cycles", syscall_cycles, 0, 10000000, "150", "null system call round trip"),
	U32("cpu", "switch_cycles", switch_cycles, 0, 10000000, "2000", "context switch, TLB effects aside"),
	U32("cpu", "invlpg_cycles", invlpg_cycles, 0, 10000000, "100", "one INVLPG"),
	U32("cpu", "io_cycles", io_cycles, 0, 10000000, "3378", "one port I/O instruction"),
	U32("cpu", "exception_cycles", exception_cycles, 0, 10000000, "500", "exception delivery and return"),
	U32("cpu", "cr8_cycles", cr8_cycles, 0, 10000000, "20", "MOV to CR8 (TPR)"),
	U32("cpu", "callret_cycles", callret_cycles, 0, 10000000, "2", "call/return pair"),
	U32("cpu", "fork_cycles", fork_cycles, 0, 100000000, "50000", "fork, page-table copy aside"),
	U32("cpu", "exit_cycles", exit_cycles, 0, 100000000, "30000", "exit, page-table teardown aside"),
	U32("cpu", "map_cycles", map_cycles, 0, 10000000, "1000", "mmap/munmap/mprotect system call"),

#define CYC(s, n, f, d, h) U32(s, n, f, 0, 100000000, d, h)
	CYC("vmm", "hidden_fault", vmm_hidden_fault, "500", "VMM handler: walk the guest table in software and fill a shadow entry"),
	CYC("vmm", "reflect", vmm_reflect, "500", "VMM handler: inject a page fault into the guest"),
	CYC("vmm", "ptwrite", vmm_ptwrite, "3083", "VMM handler: decode and emulate a trapped guest PTE write"),
	CYC("vmm", "root_switch", vmm_root_switch, "500", "VMM handler: CR3 write that hits the shadow-root cache"),
	CYC("vmm", "root_build", vmm_root_build, "3000", "VMM handler: CR3 write that builds a new shadow root"),
	CYC("vmm", "sync", vmm_sync, "2000", "VMM handler: resynchronise one unsync shadow table"),
	CYC("vmm", "zap", vmm_zap, "1000", "VMM handler: zap one shadow table"),
	CYC("vmm", "ad", vmm_ad, "500", "VMM handler: emulate a dirty-bit update"),
	CYC("vmm", "host_alloc", vmm_host_alloc, "2500", "VMM: back a guest frame with host memory"),
	U32("vmm", "roots", vmm_roots, 1, 4096, "4", "shadow roots cached per VM"),
	BOOL("vmm", "unsync", vmm_unsync, "on", "out-of-sync shadow leaf tables (KVM)"),
	U32("vmm", "prefetch", vmm_prefetch, 1, 512, "8", "shadow entries filled per fault (1 = none)"),

	CYC("bt", "trap", bt_trap, "2334", "fault from guest code into the VMM and back"),
	CYC("bt", "callout", bt_callout, "390", "translated code calling into the VMM"),
	CYC("bt", "translate", bt_translate, "2000", "translating one guest kernel handler (once per kind of event)"),
	CYC("bt", "syscall", bt_syscall, "2000", "a system call beyond native, entering the VMM included"),
	CYC("bt", "io", bt_io, "0", "port I/O beyond native, the callout included"),
	CYC("bt", "cr8", bt_cr8, "0", "extra cycles of a CR8 write (translated in line)"),
	CYC("bt", "exception", bt_exception, "2334", "an exception beyond native, the trap into the VMM included"),
	CYC("bt", "callret", bt_callret, "40", "extra cycles of a call/return pair in translated code"),
	CYC("bt", "cr3", bt_cr3, "390", "the callout of a CR3 write, shadow work aside"),
	CYC("bt", "invlpg", bt_invlpg, "390", "the callout of an INVLPG, shadow work aside"),
	BOOL("bt", "adapt", bt_adapt, "on", "retranslate PTE-writing code into callouts"),

	CYC("vtx", "exit", vtx_exit, "784", "VM exit + VM entry round trip"),
	CYC("vtx", "io", vtx_io, "8654", "I/O exit handler"),
	CYC("vtx", "cr8", vtx_cr8, "516", "CR8 exit handler"),
	CYC("vtx", "exception", vtx_exception, "0", "exception exit handler; 0: #DE is not in the exception bitmap and does not exit"),
	CYC("vtx", "cr3", vtx_cr3, "516", "CR3 exit handler, shadow work aside"),
	CYC("vtx", "invlpg", vtx_invlpg, "516", "INVLPG exit handler, shadow work aside"),
	CYC("vtx", "pf", vtx_pf, "516", "#PF exit handler, shadow work aside"),
	BOOL("vtx", "tpr_shadow", vtx_tpr_shadow, "on", "TPR shadow: CR8 writes do not exit"),

	CYC("nested", "exit", nested_exit, "784", "VM exit + VM entry round trip"),
	CYC("nested", "io", nested_io, "8654", "I/O exit handler"),
	CYC("nested", "cr8", nested_cr8, "516", "CR8 exit handler"),
	CYC("nested", "violation", nested_violation, "1016", "EPT/NPT violation handler, host allocation aside"),
	BOOL("nested", "tpr_shadow", nested_tpr_shadow, "on", "TPR shadow: CR8 writes do not exit"),
	BOOL("ntlb", "enabled", ntlb_enabled, "on", "nested TLB (guest-physical -> host-physical) on"),
	U32("ntlb", "entries", ntlb.entries, 0, 1u << 20, "16", "nested TLB entries (0 = none)"),
	U32("ntlb", "ways", ntlb.ways, 1, 1u << 20, "4", "nested TLB associativity"),
	BOOL("hpwc", "enabled", hpwc_enabled, "on", "host-dimension paging-structure caches on"),
	CACHE("hpwc", "pde", hpwc[1], "32", "8", "host PDE cache"),
	CACHE("hpwc", "pdpte", hpwc[2], "8", "4", "host PDPTE cache"),
	CACHE("hpwc", "pml4e", hpwc[3], "4", "4", "host PML4E cache"),
	CACHE("hpwc", "pml5e", hpwc[4], "2", "2", "host PML5E cache"),

	CYC("smp", "ipi", smp_ipi, "4000", "shootdown initiator: send the IPIs and wait for the acks"),
	CYC("smp", "shootdown", smp_shootdown, "2000", "shootdown receiver: interrupt, invalidate, acknowledge"),
	BOOL("smp", "posted", smp_posted, "off", "posted interrupts / IPI virtualization: IPIs cause no VM exits"),
	CYC("smp", "ipi_exit", smp_ipi_exit, "516", "VMM handler of an IPI-send (ICR write) exit"),
	CYC("smp", "inject_exit", smp_inject_exit, "516", "VMM handler that injects an interrupt into a receiver"),
	BOOL("smp", "lock", smp_lock, "on", "shadow-MMU updates serialise on one per-VM lock"),
	CYC("smp", "lock_cycles", smp_lock_cycles, "40", "acquire and release the MMU lock, uncontended"),
	CYC("pv", "hypercall", pv_hypercall, "1228", "one hypercall round trip"),
	U32("pv", "batch", pv_batch, 1, 4096, "32", "PTE updates per batched mmu_update hypercall"),
	CYC("pv", "update", pv_update, "100", "validating one PTE update"),
	CYC("pv", "syscall", pv_syscall, "300", "extra cycles of a system call (through the hypervisor)"),
	CYC("pv", "io", pv_io, "1000", "extra cycles of an I/O request"),
	CYC("pv", "cr8", pv_cr8, "100", "extra cycles of a TPR update"),
	CYC("pv", "exception", pv_exception, "500", "extra cycles of an exception (bounced by the hypervisor)"),
	CYC("pv", "cr3", pv_cr3, "500", "extra cycles of a CR3 switch hypercall"),
	CYC("pv", "invlpg", pv_invlpg, "300", "extra cycles of an INVLPG hypercall"),

	/* Memory pressure and several VMs on one host (sim/host.c). */
	U64("vm", "maxmem_mib", vm_maxmem_mib, 0, 1u << 30, "0", "guest-physical memory, MiB; the guest swaps when full (0 = no limit)"),
	U64("vm", "memory_mib", vm_memory_mib, 0, 1u << 30, "0", "balloon target, MiB (0 = maxmem_mib: no balloon)"),
	CYC("swap", "in_cycles", swap_in_cycles, "602353", "read one 4 KiB page from swap (guest or host)"),
	CYC("swap", "out_cycles", swap_out_cycles, "602353", "write one 4 KiB page to swap (guest or host)"),
	U64("overcommit", "host_mib", host_mib, 0, 1u << 30, "0", "host memory the VMs share, MiB (0 = no limit)"),
	ENUM("overcommit", "reclaim", reclaim, reclaim_names, "balloon", "host reclaim: balloon (then swap) or swap"),
	ENUM("overcommit", "balloon", balloon_policy, balloon_names, "static", "balloon targets: static (vm.memory_mib) or auto (working set)"),
	U32("overcommit", "free_pct", free_pct, 0, 50, "6", "inflate balloons when free host memory falls below this per cent"),
	U32("overcommit", "sample", ws_sample, 1, 100000, "100", "pages sampled per VM per working-set period (balloon=auto)"),
	U64("overcommit", "interval", ws_interval, 1, 1ull << 40, "1000000", "events of a VM per working-set period (balloon=auto)"),
	U32("vmswitch", "quantum", vm_quantum, 1, 1u << 30, "10000", "events a VM runs before the host CPU switches to the next"),
	CYC("vmswitch", "cycles", vm_switch_cycles, "2784", "switching the host CPU from one VM to another"),
};

static char *field(struct cfg *c, const struct key *k) { return (char *)c + k->off; }

static int set_key(struct cfg *c, const struct key *k, const char *val, char *msg, size_t mlen)
{
	char *p = field(c, k);
	char *end;
	unsigned long long v;

	switch (k->type) {
	case K_U32:
	case K_U64:
		errno = 0;
		v = strtoull(val, &end, 0);
		if (errno || end == val || *end || val[0] == '-') {
			snprintf(msg, mlen, "%s.%s: '%s' is not an unsigned integer", k->section, k->name, val);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(msg, mlen, "%s.%s: %s is out of range [%" PRIu64 ", %" PRIu64 "]",
				 k->section, k->name, val, k->min, k->max);
			return -1;
		}
		if (k->type == K_U32)
			*(uint32_t *)p = (uint32_t)v;
		else
			*(uint64_t *)p = v;
		return 0;
	case K_BOOL:
		if (!strcasecmp(val, "on") || !strcasecmp(val, "yes") || !strcasecmp(val, "true") ||
		    !strcmp(val, "1"))
			*(bool *)p = true;
		else if (!strcasecmp(val, "off") || !strcasecmp(val, "no") ||
			 !strcasecmp(val, "false") || !strcmp(val, "0"))
			*(bool *)p = false;
		else {
			snprintf(msg, mlen, "%s.%s: '%s' is not on or off", k->section, k->name, val);
			return -1;
		}
		return 0;
	case K_ENUM:
		for (unsigned i = 0; k->names[i]; i++)
			if (!strcasecmp(val, k->names[i])) {
				*(uint32_t *)p = i;
				return 0;
			}
		{
			char list[128] = "";
			for (unsigned i = 0; k->names[i]; i++) {
				strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
				strncat(list, k->names[i], sizeof list - strlen(list) - 1);
			}
			snprintf(msg, mlen, "%s.%s: '%s' is not one of %s", k->section, k->name, val, list);
		}
		return -1;
	case K_STR:
		/* What cfg_print writes must read back: inih takes ';' and '#' as
		 * comments and strips blanks at either end. */
		if (strpbrk(val, ";#\n\r") || (val[0] && (isspace((unsigned char)val[0]) ||
						       isspace((unsigned char)val[strlen(val) - 1])))) {
			snprintf(msg, mlen, "%s.%s: '%s' may not contain ';' or '#' or start or end with a blank",
				 k->section, k->name, val);
			return -1;
		}
		if (strlen(val) >= k->max) {
			snprintf(msg, mlen, "%s.%s: value longer than %" PRIu64 " characters", k->section,
				 k->name, k->max - 1);
			return -1;
		}
		strcpy(p, val);
		return 0;
	}
	return -1;
}

static const struct key *find_key(const char *section, const char *name, bool *section_known)
{
	*section_known = false;
	for (size_t i = 0; i < VM_ARRAY_SIZE(keys); i++) {
		if (strcmp(keys[i].section, section))
			continue;
		*section_known = true;
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	}
	return NULL;
}

void cfg_need_vcpus(struct cfg *c, uint64_t n)
{
	const uint64_t max = 64; /* the machine.vcpus range, SIM_MAX_VCPUS */
	if (n > max)
		n = max;
	if (n > c->vcpus)
		c->vcpus = (uint32_t)n;
}

void cfg_defaults(struct cfg *c)
{
	char msg[256];
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < VM_ARRAY_SIZE(keys); i++)
		if (set_key(c, &keys[i], keys[i].def, msg, sizeof msg) < 0) {
			fprintf(stderr, "vmsim: internal error: default %s\n", msg);
			abort();
		}
	strcpy(c->source, "built-in defaults");
}

/* Checks that involve more than one key.  On failure, bad names the key or
 * the cache ("tlb.l2": its .entries and .ways) whose setting to blame. */
static int cfg_check(const struct cfg *c, char *msg, size_t mlen, char *bad, size_t blen)
{
	const struct { const char *name; struct cfg_cache cc; } caches[] = {
		{"tlb.l1d", c->l1d}, {"tlb.l1d_2m", c->l1d_2m}, {"tlb.l1d_1g", c->l1d_1g},
		{"tlb.l1i", c->l1i}, {"tlb.l1i_2m", c->l1i_2m}, {"tlb.l2", c->l2},
		{"tlb.l2_1g", c->l2_1g}, {"pwc.pde", c->pwc[1]}, {"pwc.pdpte", c->pwc[2]},
		{"pwc.pml4e", c->pwc[3]}, {"pwc.pml5e", c->pwc[4]}, {"ntlb", c->ntlb},
		{"hpwc.pde", c->hpwc[1]}, {"hpwc.pdpte", c->hpwc[2]}, {"hpwc.pml4e", c->hpwc[3]},
		{"hpwc.pml5e", c->hpwc[4]},
	};
	for (size_t i = 0; i < VM_ARRAY_SIZE(caches); i++) {
		const struct cfg_cache *cc = &caches[i].cc;
		if (cc->entries && (cc->ways > cc->entries || cc->entries % cc->ways)) {
			snprintf(bad, blen, "%s", caches[i].name);
			snprintf(msg, mlen,
				 "%s: %u entries cannot be split into sets of %u ways (entries must be a "
				 "multiple of ways)",
				 caches[i].name, cc->entries, cc->ways);
			return -1;
		}
	}
	if (c->l1d.entries == 0 || c->l2.entries == 0) {
		snprintf(bad, blen, "%s", c->l1d.entries == 0 ? "tlb.l1d.entries" : "tlb.l2.entries");
		snprintf(msg, mlen, "tlb.l1d.entries and tlb.l2.entries must be at least 1");
		return -1;
	}
	if (c->data_in_cache) {
		snprintf(bad, blen, "memory.data");
		snprintf(msg, mlen, "memory.data=on: data accesses through the cache model are not "
				    "built yet (only page-walk reads use it); leave memory.data off");
		return -1;
	}
	if (c->host_format == PT_X86) {
		snprintf(bad, blen, "host.format");
		snprintf(msg, mlen, "host.format: x86 is the guest format; use ept or npt");
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		uint64_t lines = (uint64_t)c->dl[i].kib * 1024 / 64;
		if (lines % c->dl[i].ways) {
			snprintf(bad, blen, "memory.l%d", i + 1);
			snprintf(msg, mlen, "memory.l%d: %u KiB is not a whole number of %u-way sets of 64-byte lines",
				 i + 1, c->dl[i].kib, c->dl[i].ways);
			return -1;
		}
	}
	return 0;
}

/* Where each key got its value ("FILE:LINE" or "-s TEXT"), so that an
 * error involving several keys can name the setting to change. */
struct origins {
	char where[VM_ARRAY_SIZE(keys)][160];
};

struct parse_ctx {
	struct cfg *c;
	char msg[384];
	bool failed;
	const char *path;
	FILE *f;
	int line; /* counted by the reader: inih does not tell the handler */
	struct origins *o;
};

static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *pc = stream;
	char *r = fgets(str, num, pc->f);
	if (r)
		pc->line++;
	return r;
}

static int cfg_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *pc = user;
	bool section_known;
	if (pc->failed)
		return 1; /* inih already has the first error's line; keep its message */
	const struct key *k = find_key(section, name, &section_known);
	if (!k) {
		if (!section[0])
			snprintf(pc->msg, sizeof pc->msg,
				 "key '%s' is outside any [section] (see 'vmsim config')", name);
		else if (!section_known)
			snprintf(pc->msg, sizeof pc->msg, "unknown section [%s] (see 'vmsim config')", section);
		else
			snprintf(pc->msg, sizeof pc->msg, "unknown key '%s' in [%s] (see 'vmsim config')",
				 name, section);
		pc->failed = true;
		return 0;
	}
	if (set_key(pc->c, k, value, pc->msg, sizeof pc->msg) < 0) {
		pc->failed = true;
		return 0;
	}
	snprintf(pc->o->where[k - keys], sizeof pc->o->where[0], "%s:%d", pc->path, pc->line);
	return 1;
}

static int set_dotted(struct cfg *c, const char *dotted, const char *value, const char *origin,
		      struct origins *o, struct vmerr *err)
{
	char section[64], msg[384];
	const char *dot = strchr(dotted, '.');
	bool section_known;
	if (!dot || (size_t)(dot - dotted) >= sizeof section)
		return vmerr_set(err, VM_EINPUT, "%s: '%s' is not section.key", origin, dotted);
	memcpy(section, dotted, (size_t)(dot - dotted));
	section[dot - dotted] = 0;
	const struct key *k = find_key(section, dot + 1, &section_known);
	if (!k)
		return vmerr_set(err, VM_EINPUT, "%s: unknown key '%s' (see 'vmsim config')", origin,
				 dotted);
	if (set_key(c, k, value, msg, sizeof msg) < 0)
		return vmerr_set(err, VM_EINPUT, "%s: %s", origin, msg);
	if (o)
		snprintf(o->where[k - keys], sizeof o->where[0], "%s", origin);
	return 0;
}

int cfg_set(struct cfg *c, const char *dotted, const char *value, const char *origin,
	    struct vmerr *err)
{
	return set_dotted(c, dotted, value, origin, NULL, err);
}

/* The origin of whichever of two keys was set last by the user, or "". */
static const char *origin_of(const struct origins *o, const char *dotted_a, const char *dotted_b)
{
	const char *best = "";
	for (size_t i = 0; i < VM_ARRAY_SIZE(keys); i++) {
		char name[96];
		snprintf(name, sizeof name, "%s.%s", keys[i].section, keys[i].name);
		if ((!strcmp(name, dotted_a) || (dotted_b && !strcmp(name, dotted_b))) &&
		    o->where[i][0] && strcmp(o->where[i], best) > 0)
			best = o->where[i];
	}
	return best;
}

int cfg_load(struct cfg *c, const char *path, char *const *ov, int nov, struct vmerr *err)
{
	char msg[384], bad[96] = "";
	struct origins *o = calloc(1, sizeof *o);
	int rc = 0;
	if (!o)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	cfg_defaults(c);
	if (path) {
		struct parse_ctx pc = {.c = c, .path = path, .o = o};
		pc.f = fopen(path, "r");
		if (!pc.f) {
			rc = vmerr_set(err, VM_EINPUT, "%s: cannot read config: %s", path, strerror(errno));
			goto out;
		}
		int line = ini_parse_stream(read_line, &pc, cfg_ini_line, &pc);
		fclose(pc.f);
		if (line != 0) {
			rc = vmerr_set(err, VM_EINPUT, "%s:%d: %s", path, line,
				       pc.failed ? pc.msg
						 : "syntax error (expected key = value or [section])");
			goto out;
		}
		snprintf(c->source, sizeof c->source, "%s", path);
	}
	for (int i = 0; i < nov; i++) {
		char key[128];
		const char *eq = strchr(ov[i], '=');
		if (!eq || (size_t)(eq - ov[i]) >= sizeof key) {
			rc = vmerr_set(err, VM_EINPUT, "-s %s: expected section.key=value", ov[i]);
			goto out;
		}
		memcpy(key, ov[i], (size_t)(eq - ov[i]));
		key[eq - ov[i]] = 0;
		char origin[160];
		snprintf(origin, sizeof origin, "-s %s", ov[i]);
		rc = set_dotted(c, key, eq + 1, origin, o, err);
		if (rc < 0)
			goto out;
	}
	if (cfg_check(c, msg, sizeof msg, bad, sizeof bad) < 0) {
		char a[128], b[128];
		snprintf(a, sizeof a, "%s.%s", bad, strncmp(bad, "memory.", 7) ? "entries" : "kib");
		snprintf(b, sizeof b, "%s.ways", bad);
		const char *where = origin_of(o, bad[0] ? a : "", bad[0] ? b : NULL);
		if (!where[0])
			where = origin_of(o, bad, NULL);
		rc = vmerr_set(err, VM_EINPUT, "%s: %s", where[0] ? where : (path ? path : "config"), msg);
	}
out:
	free(o);
	return rc;
}

static void format_value(const struct cfg *c, const struct key *k, char *buf, size_t len)
{
	const char *p = (const char *)c + k->off;
	switch (k->type) {
	case K_U32: snprintf(buf, len, "%" PRIu32, *(const uint32_t *)p); break;
	case K_U64: snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p); break;
	case K_BOOL: snprintf(buf, len, "%s", *(const bool *)p ? "on" : "off"); break;
	case K_ENUM: snprintf(buf, len, "%s", k->names[*(const uint32_t *)p]); break;
	case K_STR: snprintf(buf, len, "%s", p); break;
	}
}

void cfg_print(const struct cfg *c, FILE *f)
{
	const char *sec = "";
	char val[128];
	fprintf(f, "; vmsim configuration from %s\n", c->source);
	for (size_t i = 0; i < VM_ARRAY_SIZE(keys); i++) {
		if (strcmp(sec, keys[i].section)) {
			sec = keys[i].section;
			fprintf(f, "\n[%s]\n", sec);
		}
		format_value(c, &keys[i], val, sizeof val);
		fprintf(f, "%-20s = %-16s ; %s\n", keys[i].name, val, keys[i].help);
	}
}

int cfg_get(const struct cfg *c, const char *dotted, char *buf, size_t len)
{
	for (size_t i = 0; i < VM_ARRAY_SIZE(keys); i++) {
		size_t sl = strlen(keys[i].section);
		if (!strncmp(dotted, keys[i].section, sl) && dotted[sl] == '.' &&
		    !strcmp(dotted + sl + 1, keys[i].name)) {
			format_value(c, &keys[i], buf, len);
			return 0;
		}
	}
	return -1;
}

unsigned cfg_key_count(void) { return VM_ARRAY_SIZE(keys); }

const char *cfg_key_name(unsigned i, char *buf, size_t len)
{
	if (i >= VM_ARRAY_SIZE(keys))
		return NULL;
	snprintf(buf, len, "%s.%s", keys[i].section, keys[i].name);
	return buf;
}
