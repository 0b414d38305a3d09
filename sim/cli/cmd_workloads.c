/* cmd_workloads.c - `vmsim workloads`: the built-in workloads and their parameters. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../../workloads/wl.h"
#include "cli.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: vmsim workloads [NAME...]\n\n"
		"List every built-in workload (or only the NAMEs given) with a one-line\n"
		"description and each parameter's default.  A workload is named on other\n"
		"commands as NAME:key=value,...  e.g. 'chase:pages=1m,steps=10m,seed=7'.\n"
		"Values are unsigned integers, decimal or 0x hex, with an optional k, m or\n"
		"g suffix (x1024).  Every workload also takes seed (default 1); unknown\n"
		"keys are an error.  The same parameters and seed give the same\n"
		"operations in the simulator and in the KVM guest.\n");
}

static void show(const struct wl_desc *d)
{
	printf("%-10s %s\n", d->name, d->desc);
	for (unsigned i = 0; i <= d->nparams; i++) {
		char kv[64];
		if (i < d->nparams)
			snprintf(kv, sizeof kv, "%s=%" PRIu64, d->params[i].name, d->params[i].def);
		else
			snprintf(kv, sizeof kv, "seed=1");
		printf("    %-18s %s\n", kv,
		       i < d->nparams ? d->params[i].desc
				       : "seed of the workload's PRNG (ignored where nothing is random)");
	}
}

int cmd_workloads(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		help(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			return cli_usage_error("workloads", "unknown option '%s'", argv[i]);
		if (!wl_find(argv[i]))
			return cli_usage_error("workloads", "no workload named '%s'", argv[i]);
	}
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			show(wl_find(argv[i]));
		return 0;
	}
	for (unsigned i = 0; i < wl_count; i++) {
		if (i)
			putchar('\n');
		show(wl_all[i]);
	}
	return 0;
}
