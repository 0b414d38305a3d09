/* cmd_config.c - `vmsim config`: print every key with its value. */
#include <getopt.h>

#include "cli.h"
#include "common.h"

int cmd_config(int argc, char **argv)
{
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	struct run_args a = {0};
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		int r = cli_common_opt("config", &a, opt, optarg);
		if (r < 0)
			return 2;
		if (r)
			continue;
		if (opt == 'h') {
			printf("usage: vmsim config [-c CONFIG] [-s SECTION.KEY=VALUE]...\n\n"
			       "Print every configuration key, its value after CONFIG and the overrides,\n"
			       "and what it means, as an INI file that 'vmsim run -c' accepts.\n");
			return 0;
		}
		return cli_usage_error("config", "unknown option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error("config", "unexpected argument '%s'", argv[optind]);
	struct cfg cfg;
	struct vmerr err = {{0}};
	int rc = cfg_load(&cfg, a.config, a.sets, a.nsets, &err);
	if (rc < 0)
		return cli_fail(rc, &err);
	cfg_print(&cfg, stdout);
	return 0;
}
