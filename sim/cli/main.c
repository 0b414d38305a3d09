/* main.c - vmsim's entry point: dispatch to a command. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_fail(int code, const struct vmerr *e)
{
	fprintf(stderr, "vmsim: %s\n", e && e->msg[0] ? e->msg : "failed");
	return vmerr_exit_status(code);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vmsim %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'vmsim %s --help')\n", cmd);
	return 2;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

static int not_built(const char *cmd)
{
	fprintf(stderr, "vmsim %s: this command is not built yet\n", cmd);
	return 1;
}

#define WEAK_CMD(name)                                                                \
	__attribute__((weak)) int cmd_##name(int argc, char **argv)                   \
	{                                                                             \
		(void)argc;                                                           \
		(void)argv;                                                           \
		return not_built(#name);                                              \
	}
WEAK_CMD(run)
WEAK_CMD(walk)
WEAK_CMD(trace)
WEAK_CMD(workloads)
WEAK_CMD(sweep)
WEAK_CMD(plot)
WEAK_CMD(bench)
WEAK_CMD(validate)
WEAK_CMD(config)
WEAK_CMD(host)

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} cmds[] = {
	{"run", cmd_run, "simulate a workload or trace under one MMU mode and print statistics"},
	{"walk", cmd_walk, "explain every memory reference of one translation"},
	{"trace", cmd_trace, "generate, inspect and import .vmt traces (gen, info, cat, import)"},
	{"workloads", cmd_workloads, "list the built-in workloads and their parameters"},
	{"config", cmd_config, "print every configuration key with its value and source"},
	{"sweep", cmd_sweep, "run an experiment's Cartesian product into runs.csv"},
	{"plot", cmd_plot, "draw an experiment's figures from runs.csv with gnuplot"},
	{"bench", cmd_bench, "measure the simulator's own throughput against its limits"},
	{"validate", cmd_validate, "compare the simulator with the KVM harness on one workload"},
	{"host", cmd_host, "run several VMs on one host sharing its memory (ballooning, host swapping)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmsim COMMAND [ARGS...]\n\n"
		   "vmsim simulates address translation natively and under virtualization\n"
		   "(binary translation, VT-x shadow paging, EPT/NPT nested paging, PV).\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'vmsim COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts("vmsim 0.1");
		return 0;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vmsim: unknown command '%s' (see 'vmsim --help')\n", argv[1]);
	return 2;
}
