/*
 * config.h - the validated configuration of one run.
 *
 * Machine profiles are INI files (configs/NAME.ini) read with inih.  Every key
 * has a default (the values in configs/default.ini, kept equal by a test);
 * an unknown section or key, a malformed value or one out of range is an
 * error naming file:line and the key.  "-s section.key=value" overrides any
 * key after the file is read.
 *
 * struct cfg holds what the user said, checked; runtime structs (TLBs,
 * caches, the cost model) derive their shifts and masks from it once.
 */
#ifndef VMSIM_CONFIG_H
#define VMSIM_CONFIG_H

#include <stdio.h>

#include "error.h"
#include "types.h"

struct cfg_cache {
	uint32_t entries, ways;
};

struct cfg_dlevel {
	uint32_t kib, ways, latency;
};

enum pte_model { PTE_MODEL_CACHE = 0, PTE_MODEL_FIXED = 1 };

struct cfg {
	char source[256]; /* file read, or "built-in defaults" */

	/* [machine] */
	char name[64];
	uint32_t freq_mhz;

	/* [guest] [host] */
	uint32_t guest_levels, host_levels;
	uint32_t guest_page, host_page; /* enum page_size */
	uint32_t host_format;           /* enum pt_kind: PT_EPT or PT_NPT */
	uint64_t guest_mem_gb, host_mem_gb;

	/* [tlb] */
	bool pcid, vpid;
	uint32_t policy; /* enum tlb_policy */
	bool l1d_split;  /* L1 dTLB split by page size (Intel) or one array for all */
	struct cfg_cache l1d, l1d_2m, l1d_1g, l1i, l1i_2m, l2, l2_1g;
	bool l2_holds_1g; /* 1 GiB entries share the STLB (else l2_1g holds them) */
	uint32_t l1_latency, l2_latency;

	/* [pwc] paging-structure caches, index = level of the cached entry (1 = PDE) */
	bool pwc_enabled;
	struct cfg_cache pwc[5];

	/* [memory] how a page-table-entry fetch is charged */
	uint32_t pte_model; /* enum pte_model */
	uint32_t pte_latency;
	struct cfg_dlevel dl[3];
	uint32_t dram_latency;
	bool data_in_cache; /* data accesses go through the same cache model */

	/* [cpu] native costs, cycles */
	uint32_t access_cycles, page_fault_cycles, syscall_cycles, switch_cycles;
	uint32_t invlpg_cycles, io_cycles, exception_cycles, cr8_cycles, callret_cycles;
	uint32_t fork_cycles, exit_cycles, map_cycles;
};

/* Built-in defaults only. */
void cfg_defaults(struct cfg *c);

/*
 * Defaults, then path (if not NULL), then each "section.key=value" of
 * overrides.  0, or VM_EINPUT with "FILE:LINE: key: what" in err.
 */
int cfg_load(struct cfg *c, const char *path, char *const *overrides, int n_overrides,
	     struct vmerr *err);

/* Set one key from text ("section.key", "value"); origin names it in errors. */
int cfg_set(struct cfg *c, const char *dotted_key, const char *value, const char *origin,
	    struct vmerr *err);

/* Print every key as INI, with each key's help text as a comment. */
void cfg_print(const struct cfg *c, FILE *f);

/* One key's value as text, for reports: 0, or -1 if no such key. */
int cfg_get(const struct cfg *c, const char *dotted_key, char *buf, size_t len);

/* Number of keys, and the dotted name of key i (for sweeps and listings). */
unsigned cfg_key_count(void);
const char *cfg_key_name(unsigned i, char *buf, size_t len);

#endif
