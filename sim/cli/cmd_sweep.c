/* cmd_sweep.c - `vmsim sweep`: run an experiment's Cartesian product into runs.csv. */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sweep.h"
#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmsim sweep EXPERIMENT.ini [-j N] [-o DIR] [--resume [--retry-failed] | --force]\n"
		"       vmsim sweep EXPERIMENT.ini --shard K/N [-j N] [-o DIR] [--resume]\n"
		"       vmsim sweep EXPERIMENT.ini --emit-slurm DIR [--shards N] [--cpus N]\n"
		"       vmsim sweep EXPERIMENT.ini --merge DIR\n"
		"       vmsim sweep EXPERIMENT.ini --list\n\n"
		"Run every combination of an experiment's modes, workloads, workload parameters\n"
		"and swept config keys, each in its own worker process, and write one row per\n"
		"run -- every parameter, every statistic -- to DIR/runs.csv (default\n"
		"results/NAME/runs.csv); the experiment is copied to DIR/experiment.ini for\n"
		"'vmsim plot DIR'.  A failed run is recorded with its error and the others go on.\n"
		"The exit status is 0 when every run has its row, failed ones included.  The\n"
		"format of experiments is described in sim/experiment.h and results/README.md.\n\n"
		"  -j N              worker processes (default: every CPU this process may use)\n"
		"  -o DIR            output folder (default results/NAME, with --shard\n"
		"                    results/NAME/shards/K)\n"
		"  --resume          keep the rows already in runs.csv and run only the missing runs\n"
		"  --retry-failed    with --resume: run the failed runs again too\n"
		"  --force           start over, replacing an existing runs.csv\n"
		"  --shard K/N       run only shard K of N (run i belongs to shard i mod N)\n"
		"  --emit-slurm DIR  write a Slurm job array (one task per shard), a merge job and\n"
		"                    submit.sh into DIR; nothing runs here\n"
		"  --shards N        shards (array tasks) for --emit-slurm (default: runs, at most 64)\n"
		"  --cpus N          CPUs (workers) per array task (default 1)\n"
		"  --merge DIR       merge DIR/shards/*/runs.csv into DIR/runs.csv, sorted by run,\n"
		"                    as a local sweep writes it\n"
		"  --list            print the runs (index, key, mode, workload, overrides) and exit\n"
		"  -q                no progress output\n"
		"  --stop-after N    (testing) stop after N rows, as if the sweep were killed\n");
}

struct progress {
	const char *name;
	bool tty, quiet;
	uint64_t last_shown;
};

static void fmt_time(char *buf, size_t len, double s)
{
	unsigned t = s < 0 ? 0 : (unsigned)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, len, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%u:%02u", t / 60, t % 60);
}

static void show(void *arg, const struct sweep_status *st)
{
	struct progress *p = arg;
	if (p->quiet)
		return;
	uint64_t have = st->present + st->done;
	if (!p->tty) {
		if (!st->run) {
			fprintf(stderr, "sweep %s: %" PRIu64 " runs, %" PRIu64 " to do\n", p->name,
				st->total, st->total - st->present);
			return;
		}
		fprintf(stderr, "sweep %s: %" PRIu64 "/%" PRIu64 " run %" PRIu64 " %s %s %.2f s%s%s\n",
			p->name, have, st->total, st->run->index, st->run->mode,
			st->run->w->desc->name, st->run_seconds, st->error ? " FAILED: " : "",
			st->error ? st->error : "");
		return;
	}
	if (st->error)
		fprintf(stderr, "\r\033[Krun %" PRIu64 " (%s %s) failed: %s\n", st->run->index,
			st->run->mode, st->run->w->desc->name, st->error);
	char el[32], eta[32] = "?";
	fmt_time(el, sizeof el, st->elapsed);
	if (st->done)
		fmt_time(eta, sizeof eta,
			 st->elapsed / (double)st->done * (double)(st->total - have));
	const int width = 30;
	int fill = st->total ? (int)((double)have / (double)st->total * width) : width;
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = 0;
	fprintf(stderr, "\r\033[K%s [%s] %" PRIu64 "/%" PRIu64 " done, %" PRIu64 " failed, %s, ETA %s",
		p->name, bar, have, st->total, st->failed, el, have == st->total ? "0:00" : eta);
}

static unsigned cpus_available(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int list_runs(const struct experiment *e)
{
	printf("# %s: %" PRIu64 " runs; config %s\n", e->name, e->nruns,
	       e->config_path[0] ? e->config_path : "builtin");
	for (uint64_t i = 0; i < e->nruns; i++) {
		struct exp_run r;
		char key[17], spec[1024], *sets[EXP_MAX_KEYS + 256], store[8192];
		exp_run_get(e, i, &r);
		exp_run_key(e, &r, key);
		exp_run_spec(e, &r, spec, sizeof spec);
		printf("%" PRIu64 " %s -m %s -w %s", i, key, r.mode, spec);
		int n = exp_run_sets(e, &r, sets, (int)VM_ARRAY_SIZE(sets), store, sizeof store);
		for (int s = 0; s < n; s++)
			printf(" -s %s", sets[s]);
		putchar('\n');
	}
	return 0;
}

int cmd_sweep(int argc, char **argv)
{
	enum { O_RESUME = 256, O_RETRY, O_FORCE, O_SHARD, O_SLURM, O_SHARDS, O_CPUS, O_MERGE, O_LIST,
	       O_STOP };
	static const struct option longopts[] = {
		{"resume", no_argument, NULL, O_RESUME}, {"retry-failed", no_argument, NULL, O_RETRY},
		{"force", no_argument, NULL, O_FORCE}, {"shard", required_argument, NULL, O_SHARD},
		{"emit-slurm", required_argument, NULL, O_SLURM},
		{"shards", required_argument, NULL, O_SHARDS}, {"cpus", required_argument, NULL, O_CPUS},
		{"merge", required_argument, NULL, O_MERGE}, {"list", no_argument, NULL, O_LIST},
		{"stop-after", required_argument, NULL, O_STOP}, {"help", no_argument, NULL, 'h'},
		{0}};
	struct sweep_opts o = {0};
	const char *slurm = NULL, *merge = NULL, *dir = NULL;
	unsigned long long v, shards = 0, cpus = 1;
	bool list = false, quiet = false, sharded = false;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "j:o:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			if (parse_uint(optarg, 256, &v) < 0 || v == 0)
				return cli_usage_error("sweep", "-j %s: expected 1 to 256 workers", optarg);
			o.jobs = (unsigned)v;
			break;
		case 'o': dir = optarg; break;
		case 'q': quiet = true; break;
		case O_RESUME: o.resume = true; break;
		case O_RETRY: o.retry_failed = o.resume = true; break;
		case O_FORCE: o.force = true; break;
		case O_SHARD: {
			unsigned long long k, n;
			char buf[64], *slash;
			snprintf(buf, sizeof buf, "%s", optarg);
			slash = strchr(buf, '/');
			if (slash)
				*slash = 0;
			if (!slash || parse_uint(buf, UINT_MAX, &k) < 0 ||
			    parse_uint(slash + 1, UINT_MAX, &n) < 0 || n == 0 || k >= n)
				return cli_usage_error("sweep", "--shard %s: expected K/N with 0 <= K < N "
						       "(e.g. --shard $SLURM_ARRAY_TASK_ID/16)", optarg);
			o.shard = (unsigned)k;
			o.nshards = (unsigned)n;
			sharded = true;
			break;
		}
		case O_SLURM: slurm = optarg; break;
		case O_SHARDS:
			if (parse_uint(optarg, 100000, &shards) < 0 || shards == 0)
				return cli_usage_error("sweep", "--shards %s: expected 1 to 100000", optarg);
			break;
		case O_CPUS:
			if (parse_uint(optarg, 256, &cpus) < 0 || cpus == 0)
				return cli_usage_error("sweep", "--cpus %s: expected 1 to 256", optarg);
			break;
		case O_MERGE: merge = optarg; break;
		case O_LIST: list = true; break;
		case O_STOP:
			if (parse_uint(optarg, UINT64_MAX, &v) < 0 || v == 0)
				return cli_usage_error("sweep", "--stop-after %s: expected a positive count",
						       optarg);
			o.stop_after = v;
			break;
		case 'h': usage(stdout); return 0;
		default:
			return cli_usage_error("sweep", "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("sweep", optind < argc ? "give exactly one EXPERIMENT.ini"
							      : "which experiment? (e.g. experiments/tlb-reach.ini)");
	if (!!slurm + !!merge + list > 1 || ((slurm || merge || list) && (sharded || o.resume || o.force)))
		return cli_usage_error("sweep", "--emit-slurm, --merge and --list go alone");
	if (o.resume && o.force)
		return cli_usage_error("sweep", "--resume and --force exclude each other");

	/* Inside a Slurm array task, a sweep without --shard would run every
	 * run in every task: say so, and refuse a shard that is not the task's. */
	const char *task = getenv("SLURM_ARRAY_TASK_ID");
	if (task && *task && !slurm && !merge && !list) {
		unsigned long long t;
		if (!sharded)
			fprintf(stderr, "vmsim sweep: SLURM_ARRAY_TASK_ID=%s is set but --shard is not: "
					"this task runs every run (use --shard $SLURM_ARRAY_TASK_ID/N)\n",
				task);
		else if (parse_uint(task, UINT_MAX, &t) == 0 && t != o.shard)
			return cli_usage_error("sweep", "--shard %u/%u, but SLURM_ARRAY_TASK_ID is %s",
					       o.shard, o.nshards, task);
	}

	struct experiment e;
	struct vmerr err = {{0}};
	int rc = exp_load(&e, argv[optind], 0, &err);
	if (rc < 0) {
		exp_free(&e);
		return cli_fail(rc, &err);
	}
	char dbuf[4096];
	if (!dir) {
		if (sharded)
			snprintf(dbuf, sizeof dbuf, "results/%s/shards/%u", e.name, o.shard);
		else
			snprintf(dbuf, sizeof dbuf, "results/%s", e.name);
		dir = dbuf;
	}

	if (list) {
		rc = list_runs(&e);
	} else if (merge) {
		rc = sweep_merge(&e, merge, &err);
		if (rc == 0)
			printf("merged %" PRIu64 " runs into %s/runs.csv; draw with: vmsim plot %s\n",
			       e.nruns, merge, merge);
	} else if (slurm) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n <= 0)
			snprintf(self, sizeof self, "vmsim");
		else
			self[n] = 0;
		if (!shards)
			shards = e.nruns < 64 ? e.nruns : 64;
		rc = sweep_emit_slurm(&e, slurm, (unsigned)shards, (unsigned)cpus, self, &err);
		if (rc == 0)
			printf("wrote %s/sweep.sbatch (%llu array tasks over %" PRIu64 " runs), "
			       "%s/merge.sbatch and %s/submit.sh\n"
			       "submit both:       sh %s/submit.sh\n"
			       "one task by hand:  SLURM_ARRAY_TASK_ID=0 sh %s/sweep.sbatch\n",
			       slurm, shards < e.nruns ? shards : (unsigned long long)e.nruns, e.nruns,
			       slurm, slurm, slurm, slurm);
	} else {
		struct progress p = {.name = e.name, .tty = isatty(2), .quiet = quiet};
		if (!o.jobs)
			o.jobs = cpus_available();
		o.dir = dir;
		o.progress = show;
		o.arg = &p;
		rc = sweep_run(&e, &o, &err);
		if (p.tty && !quiet)
			fputc('\n', stderr);
		if (rc >= 0 && !quiet) {
			struct exp_table t;
			uint64_t failed = 0;
			char csv[4200];
			if (snprintf(csv, sizeof csv, "%s/runs.csv", dir) < (int)sizeof csv &&
			    exp_table_read(&t, csv, &err) == 0) {
				int ec = exp_table_col(&t, "error");
				for (uint64_t r = 0; ec >= 0 && r < t.nrows; r++)
					failed += *exp_cell(&t, r, (unsigned)ec) != 0;
				fprintf(stderr, "sweep %s: %s%" PRIu64 " rows in %s", e.name,
					rc == 1 ? "stopped early (--stop-after); " : "", t.nrows, csv);
				if (failed)
					fprintf(stderr, ", %" PRIu64 " failed (see its error column; "
						"--resume --retry-failed runs them again)", failed);
				fputc('\n', stderr);
				exp_table_free(&t);
			}
			rc = 0;
		}
	}
	exp_free(&e);
	return rc < 0 ? cli_fail(rc, &err) : 0;
}
