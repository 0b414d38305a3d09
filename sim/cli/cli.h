/*
 * cli.h - the vmsim commands.  Each command is cmd_NAME(argc, argv) in its own
 * sim/cli/cmd_NAME.c, with argv[0] the command's name; it returns the exit
 * status (0 ok, 1 internal error, 2 usage or input error).  main.c holds weak
 * stand-ins that say a command is not built yet.
 */
#ifndef VMSIM_CLI_H
#define VMSIM_CLI_H

#include "../error.h"

int cmd_run(int argc, char **argv);
int cmd_walk(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_workloads(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_host(int argc, char **argv);

/* Print "vmsim: MSG" on stderr and return the exit status for code. */
int cli_fail(int code, const struct vmerr *e);
/* Print "vmsim CMD: FMT..." and a hint to --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True if argv has -h or --help. */
int cli_wants_help(int argc, char **argv);

#endif
