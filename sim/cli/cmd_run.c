/* cmd_run.c - `vmsim run`: simulate one workload or trace, print statistics. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "common.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmsim run [-c CONFIG] [-m MODE] (-w WORKLOAD[:k=v,...] | -t TRACE)\n"
		"                 [-s SECTION.KEY=VALUE]... [--json | --csv] [-o FILE] [--check]\n"
		"                 [--threads 1|2]\n\n"
		"Run an event stream through the guest-OS model and one MMU mode, then report\n"
		"TLB, walk, fault and cycle statistics.\n\n"
		"  -c CONFIG     machine profile (INI), e.g. configs/default.ini; default: built-in\n"
		"  -m MODE       %s (default native)\n"
		"  -w WORKLOAD   built-in workload, e.g. gups:mb=256,updates=1m (see 'vmsim workloads')\n"
		"  -t TRACE      a .vmt trace (see 'vmsim trace')\n"
		"  -s KEY=VALUE  override one config key, e.g. -s tlb.pcid=off (see 'vmsim config')\n"
		"  --json        one JSON object\n"
		"  --csv         a CSV header and one row\n"
		"  -o FILE       write the report to FILE (only if the run completes)\n"
		"  --check       compare every access's guest-physical address with a software\n"
		"                walk of the guest's tables (slow; for testing the model)\n"
		"  --threads N   2 (default): price page-walk reads in the PTE cache model on a\n"
		"                second thread, when the run has one vCPU and memory.pte=cache;\n"
		"                1: all on one thread.  The statistics are the same either way\n",
		mmu_names());
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'J'}, {"csv", no_argument, NULL, 'C'},
		{"check", no_argument, NULL, 'K'}, {"threads", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'}, {0}};
	struct run_args a = {0};
	bool check = false;
	unsigned threads = 2;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT "h", longopts, NULL)) != -1) {
		int r = cli_common_opt("run", &a, opt, optarg);
		if (r < 0)
			return 2;
		if (r)
			continue;
		switch (opt) {
		case 'J': a.json = true; break;
		case 'C': a.csv = true; break;
		case 'K': check = true; break;
		case 'T':
			if (strcmp(optarg, "1") && strcmp(optarg, "2"))
				return cli_usage_error("run", "--threads takes 1 or 2, not '%s'", optarg);
			threads = (unsigned)(optarg[0] - '0');
			break;
		case 'h': usage(stdout); return 0;
		default:
			return cli_usage_error("run", "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("run", "unexpected argument '%s'", argv[optind]);
	if (a.json && a.csv)
		return cli_usage_error("run", "--json and --csv exclude each other");

	struct vmerr err = {{0}};
	struct cfg cfg;
	const struct mmu_ops *mode;
	int rc = cli_setup("run", &a, &cfg, &mode, &err);
	if (rc < 0)
		return cli_fail(rc, &err);
	struct sim *s = sim_new(&cfg, mode, &err);
	if (!s)
		return cli_fail(VM_EINPUT, &err);
	if (check)
		sim_set_check(s, true, NULL, NULL);
	sim_set_async(s, threads == 2);
	char ident[512];
	rc = cli_feed(&a, s, ident, sizeof ident, &err);
	if (rc < 0) {
		sim_free(s);
		return cli_fail(rc, &err);
	}
	sim_finish(s);
	if (check && s->check_failures) {
		vmerr_set(&err, VM_EIO, "functional check failed: %llu accesses resolved to the wrong "
			  "guest-physical address under mode %s", (unsigned long long)s->check_failures,
			  mode->name);
		sim_free(s);
		return cli_fail(VM_EIO, &err);
	}

	struct cli_out o;
	rc = cli_out_open(&o, a.out, &err);
	if (rc < 0) {
		sim_free(s);
		return cli_fail(rc, &err);
	}
	struct stats_ident id = {.mode = mode->name, .workload = ident, .config = cfg.source};
	if (a.json)
		stats_print_json(&s->st, &id, o.f);
	else if (a.csv) {
		stats_print_csv_header(o.f);
		stats_print_csv_row(&s->st, &id, o.f);
	} else
		stats_print_text(&s->st, &id, o.f);
	sim_free(s);
	rc = cli_out_commit(&o, &err);
	return rc < 0 ? cli_fail(rc, &err) : 0;
}
