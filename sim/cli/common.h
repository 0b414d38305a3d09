/*
 * common.h - what `run`, `walk` and friends share: the options that choose a
 * configuration, a mode and an event source, and feeding that source into a
 * simulator; writing an output file only when the command completes.
 */
#ifndef VMSIM_CLI_COMMON_H
#define VMSIM_CLI_COMMON_H

#include <stdio.h>

#include "../config.h"
#include "../sim.h"
#include "../../workloads/wl.h"

#define CLI_MAX_SETS 256

struct run_args {
	const char *config;   /* -c */
	const char *mode;     /* -m */
	const char *workload; /* -w */
	const char *trace;    /* -t */
	char *sets[CLI_MAX_SETS];
	int nsets;
	const char *out;      /* -o */
	bool json, csv;
};

/* Options every simulating command takes, for getopt_long tables. */
#define CLI_COMMON_SHORT "c:m:w:t:s:o:"

/* Handle one of the common options; 1 if it was one, 0 if not, -1 (after
 * printing the error) if its argument is bad. */
int cli_common_opt(const char *cmd, struct run_args *a, int opt, const char *arg);

/* Check the combination and build the configuration and the mode.  The
 * mode name, resolved, goes in *mode. */
int cli_setup(const char *cmd, const struct run_args *a, struct cfg *cfg,
	      const struct mmu_ops **mode, struct vmerr *err);

/* Run the source (workload or trace) through the simulator; ident gets
 * "NAME:params" or "trace:FILE". */
int cli_feed(const struct run_args *a, struct sim *s, char *ident, size_t ilen,
	     struct vmerr *err);

/* Output that appears at its path only when complete: stdout if path is
 * NULL or "-", else PATH.tmp.<pid> renamed on commit. */
struct cli_out {
	FILE *f;
	const char *path;
	char tmp[4096];
};
int cli_out_open(struct cli_out *o, const char *path, struct vmerr *err);
int cli_out_commit(struct cli_out *o, struct vmerr *err);
void cli_out_abort(struct cli_out *o);

#endif
