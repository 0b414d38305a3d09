/*
 * cmd_bench.c - `vmsim bench`: the simulator's throughput against its limits.
 *
 * Each case runs one event stream twice: simulated (source -> sim_consume),
 * and with the simulation taken out (a workload into a sink that discards
 * the batches, or a .vmt file decoded by vmt_read and dropped).  The second
 * rate is the most the first could reach: the "limit".  Both go through a
 * bench_meter (sim/bench.h): a warm-up, then several windows whose median
 * is reported.  Rates are accesses per second: events per second times the
 * share of accesses among the events the simulator consumed (1 for stride,
 * gups and the replayed trace but for the single map).
 *
 * Peak memory is measured in a child (this binary again, --rss-child, so the
 * parent's own heap is not counted): it runs a 64 GiB gups, natively and
 * nested, and prints its VmHWM and the page-table bytes the simulation holds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../traces/vmt.h"
#include "../../workloads/wl.h"
#include "../bench.h"
#include "../sim.h"
#include "cli.h"

#define BATCH 4096
#define M 1000000.0
#define MIB (1024.0 * 1024.0)
#define CLI_MAX_SETS_BENCH 64

static struct vm_event batch[BATCH];

enum bench_src { SRC_WORKLOAD, SRC_REPLAY };

/* Targets (DESIGN.md "Performance", issue 9). */
struct target {
	double min_rate;  /* accesses/s, 0: none */
	double min_ratio; /* of the limit, 0: none */
};

struct bench_case {
	const char *name;  /* for --only */
	const char *title;
	const char *mode;
	enum bench_src src;
	/* The stream; each run stops once its windows are measured. */
	const char *spec, *quick_spec;
	uint64_t warmup, window, quick_warmup, quick_window; /* events */
	struct target target;
	const char *limit_what;
	bool one_thread; /* the target is single-threaded (DESIGN.md): never the worker */
};

/*
 * Warm-ups.  gups over 4 GiB touches 2^20 pages at random: after 8 M
 * updates (16 M events) all but e^-8 = 0.03% are mapped, so the windows
 * see the steady state of a table that is already populated, as HPCC's
 * RandomAccess does after its initialisation.  compile is periodic from its
 * first wave; the warm-up covers a few waves.
 */
static const struct bench_case cases[] = {
	{"tlb-hit", "native, TLB-hit stream (stride over 32 pages)", "native", SRC_WORKLOAD,
	 "stride:pages=32,passes=100000000", NULL, 1u << 20, 64u << 20, 1u << 20, 16u << 20,
	 {100 * M, 0.5}, "generate", true},
	{"gups-native", "native, gups over 4 GiB", "native", SRC_WORKLOAD,
	 "gups:mb=4096,updates=1g", NULL, 16u << 20, 8u << 20, 4u << 20, 2u << 20, {0, 0},
	 "generate", false},
	{"gups-nested", "nested, gups over 4 GiB (4k guest, 4k host)", "nested", SRC_WORKLOAD,
	 "gups:mb=4096,updates=1g", NULL, 16u << 20, 4u << 20, 4u << 20, 1u << 20, {10 * M, 0},
	 "generate", false},
	{"compile-vtx", "vtx, compile (make -j8 process churn)", "vtx", SRC_WORKLOAD,
	 "compile:tasks=1000000", NULL, 1u << 20, 2u << 20, 256u << 10, 1u << 20, {0, 0},
	 "generate", false},
	{"replay", "native, replay of a .vmt trace (stream)", "native", SRC_REPLAY,
	 "stream:elems=4m,reps=8", "stream:elems=1m,reps=8", 1u << 20, 32u << 20, 1u << 20,
	 8u << 20, {0, 0.5}, "decode", false},
};

struct bench_opts {
	char *sets[CLI_MAX_SETS_BENCH];
	int nsets;
	bool quick;
	bool no_lookahead;
	unsigned threads; /* 2: the PTE cache model on a worker where sim_set_async allows */
	unsigned windows;
	const char *only;
	const char *tmpdir;
};

struct rate {
	double events;   /* median events/s */
	double accesses; /* median accesses/s */
	double share;    /* accesses / events consumed */
	uint64_t consumed;
	bool async;      /* the cache model ran on a second thread */
};

/* ---- sources ---- */

static int sim_for(const char *mode_name, char *const *sets, int nsets, bool lookahead,
		   unsigned threads, struct sim **out, struct vmerr *err)
{
	struct cfg cfg;
	int rc = cfg_load(&cfg, NULL, sets, nsets, err);
	if (rc < 0)
		return rc;
	const struct mmu_ops *mode = mmu_find(mode_name);
	if (!mode)
		return vmerr_set(err, VM_EUSAGE, "bench: no mode '%s'", mode_name);
	*out = sim_new(&cfg, mode, err);
	if (!*out)
		return VM_ENOMEM;
	sim_set_lookahead(*out, lookahead);
	sim_set_async(*out, threads == 2);
	return 0;
}

/* Feed meter from the workload spec; 0 once the windows are complete. */
static int feed_workload(const char *spec, struct bench_meter *m, struct vmerr *err)
{
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	int rc = wl_parse(spec, &d, p, err);
	if (rc < 0)
		return rc;
	struct ev_sink sink = {.buf = batch, .cap = BATCH, .flush = bench_meter_flush, .arg = m};
	rc = wl_generate(d, p, &sink);
	if (rc == BENCH_DONE)
		return 0;
	if (rc < 0)
		return rc;
	return vmerr_set(err, VM_EINPUT,
			 "bench: %s ended after %" PRIu64 " events, before %u windows of %" PRIu64
			 " after a warm-up of %" PRIu64 "; give it more events",
			 spec, m->events, m->want, m->window, m->warmup);
}

static int feed_trace(const char *path, struct bench_meter *m, struct vmerr *err)
{
	struct vmt_meta meta;
	struct vmt_reader *r = vmt_reader_open(path, &meta, err);
	if (!r)
		return VM_EINPUT;
	long n;
	int rc = 0;
	while ((n = vmt_read(r, batch, BATCH, err)) > 0)
		if ((rc = bench_meter_flush(m, batch, (size_t)n)) < 0)
			break;
	vmt_reader_close(r);
	if (n < 0)
		return (int)n;
	if (rc == BENCH_DONE)
		return 0;
	if (rc < 0)
		return rc;
	return vmerr_set(err, VM_EINPUT, "bench: %s holds %" PRIu64 " events, too few for %u windows "
			 "of %" PRIu64 " after a warm-up of %" PRIu64, path, m->events, m->want,
			 m->window, m->warmup);
}

static int write_trace(const char *spec, const char *path, struct vmerr *err)
{
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	int rc = wl_parse(spec, &d, p, err);
	if (rc < 0)
		return rc;
	struct vmt_meta meta = {0};
	snprintf(meta.workload, sizeof meta.workload, "%s", d->name);
	wl_format_params(d, p, meta.params, sizeof meta.params);
	meta.seed = p[d->nparams];
	struct vmt_writer *w = vmt_writer_open(path, &meta, err);
	if (!w)
		return VM_EIO;
	struct ev_sink sink = {.buf = batch, .cap = BATCH, .flush = vmt_sink_flush, .arg = w};
	rc = wl_generate(d, p, &sink);
	if (rc < 0) {
		vmt_writer_error(w, err);
		vmt_writer_abort(w);
		return rc;
	}
	return vmt_writer_close(w, err);
}

/* One measured run: simulated under mode, or (mode NULL) the source alone. */
static int measure(const struct bench_case *b, const struct bench_opts *o, const char *src,
		   const char *mode, struct rate *out, struct vmerr *err)
{
	struct sim *s = NULL;
	int rc;
	if (mode && (rc = sim_for(mode, o->sets, o->nsets, !o->no_lookahead,
				  b->one_thread ? 1 : o->threads, &s, err)) < 0)
		return rc;
	out->async = s && s->pq;
	struct bench_meter m;
	bench_meter_init(&m, s ? sim_consume : bench_discard, s, o->quick ? b->quick_warmup : b->warmup,
			 o->quick ? b->quick_window : b->window, o->windows);
	rc = b->src == SRC_WORKLOAD ? feed_workload(src, &m, err) : feed_trace(src, &m, err);
	if (rc < 0 && s && s->err)
		vmerr_set(err, rc, "bench %s: %s", b->name, s->errmsg.msg);
	out->events = bench_meter_median(&m);
	out->consumed = m.events;
	out->share = 1;
	if (s) {
		sim_finish(s);
		if (m.events)
			out->share = (double)s->st.accesses / (double)m.events;
		sim_free(s);
	}
	out->accesses = out->events * out->share;
	return rc;
}

/* ---- peak memory (child) ---- */

/*
 * Simulated page-table bytes: the guest's table pages (exact, from its
 * physmem), plus under nested paging the host (EPT/NPT) tables, which the
 * mode keeps private: their leaf pages are ceil(host_frames / 512) because
 * the guest's frames are handed out densely and each backed 4 KiB frame is
 * one host PTE; the levels above are a few pages (so the figure is a lower
 * bound within 0.1%).  Shadow modes would add shadow_pages.
 */
struct rss_case {
	const char *name, *mode, *spec, *quick_spec;
};

static const struct rss_case rss_cases[] = {
	{"rss", "native", "gups:mb=65536,updates=4m", "gups:mb=65536,updates=1m"},
	{"rss-nested", "nested", "gups:mb=65536,updates=16m", "gups:mb=65536,updates=512k"},
};

struct rss_result {
	uint64_t guest_table_bytes, host_frames, shadow_pages, peak_rss, accesses;
	double seconds;
};

static uint64_t rss_table_bytes(const struct rss_result *r)
{
	return r->guest_table_bytes + (r->host_frames + 511) / 512 * 4096 + r->shadow_pages * 4096;
}

/* vmsim bench --rss-child MODE SPEC [KEY=VALUE...]: run, print
 * "guest_table_bytes host_frames shadow_pages vmhwm_bytes accesses". */
static int rss_child(const char *mode, const char *spec, char *const *sets, int nsets)
{
	struct vmerr err = {{0}};
	struct sim *s = NULL;
	int rc = sim_for(mode, sets, nsets, true, 2, &s, &err);
	if (rc < 0)
		return cli_fail(rc, &err);
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	if ((rc = wl_parse(spec, &d, p, &err)) < 0) {
		sim_free(s);
		return cli_fail(rc, &err);
	}
	struct ev_sink sink = {.buf = batch, .cap = BATCH, .flush = sim_consume, .arg = s};
	if ((rc = wl_generate(d, p, &sink)) < 0) {
		vmerr_set(&err, rc, "%s", s->errmsg.msg);
		sim_free(s);
		return cli_fail(rc, &err);
	}
	sim_finish(s);
	struct physmem_usage u;
	physmem_usage(s->gpm, &u);
	printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
	       u.table_pages_peak * 4096, s->st.host_frames, s->st.shadow_pages, bench_peak_rss(),
	       s->st.accesses);
	sim_free(s);
	return 0;
}

static int rss_measure(const struct bench_opts *o, const char *mode, const char *spec,
		       struct rss_result *r, struct vmerr *err)
{
	char *args[CLI_MAX_SETS_BENCH + 8];
	int na = 0;
	args[na++] = "vmsim";
	args[na++] = "bench";
	args[na++] = "--rss-child";
	args[na++] = (char *)mode;
	args[na++] = (char *)spec;
	for (int i = 0; i < o->nsets; i++)
		args[na++] = o->sets[i];
	args[na] = NULL;
	int fd[2];
	if (pipe(fd) < 0)
		return vmerr_set(err, VM_EIO, "bench: pipe: %s", strerror(errno));
	fflush(stdout);
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return vmerr_set(err, VM_EIO, "bench: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		/* exec, not just fork: a fresh address space counts only the child's pages */
		execv("/proc/self/exe", args);
		fprintf(stderr, "vmsim bench: cannot run /proc/self/exe: %s\n", strerror(errno));
		_exit(1);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	int got = f ? fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
			     &r->guest_table_bytes, &r->host_frames, &r->shadow_pages, &r->peak_rss,
			     &r->accesses)
		    : 0;
	if (f)
		fclose(f);
	else
		close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	r->seconds = bench_now() - t0;
	if (got != 5 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return vmerr_set(err, VM_EIO, "bench: the peak-memory child (%s %s) failed", mode,
				 spec);
	return 0;
}

/* ---- report ---- */

static void print_machine(void)
{
	char model[256] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "model name", 10)) {
				char *c = strchr(line, ':');
				if (c) {
					snprintf(model, sizeof model, "%s", c + 2);
					model[strcspn(model, "\n")] = 0;
				}
				break;
			}
		fclose(f);
	}
	struct utsname u;
	uname(&u);
	printf("machine: %s, %ld CPUs online, %s %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
	       u.sysname, u.release);
}

static const char *verdict(bool ok) { return ok ? "PASS" : "MISS"; }

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmsim bench [--quick] [--windows N] [--only NAME[,NAME...]] [--tmpdir DIR]\n"
		"                   [--no-lookahead] [--threads 1|2] [-s SECTION.KEY=VALUE]...\n\n"
		"Measure the simulator's throughput (accesses per second, built-in default\n"
		"machine) beside the rate at which the same events are only produced or\n"
		"decoded, and the peak memory of a 64 GiB gups beside the page-table bytes\n"
		"it simulates.  Each figure is the median of N windows after a warm-up.\n\n"
		"  --quick         shorter windows and warm-ups (a smoke test; noisier)\n"
		"  --windows N     windows per measurement, 1..%d (default 5; quick 3)\n"
		"  --only NAMES    run only these: tlb-hit, gups-native, gups-nested,\n"
		"                  compile-vtx, replay, rss, rss-nested\n"
		"  --tmpdir DIR    where the replay trace is written (default $TMPDIR or /tmp)\n"
		"  --no-lookahead  do not prefetch the page-table entries of coming walks\n"
		"                  (results are identical; shows what the prefetch gains)\n"
		"  --threads N     2 (default): the PTE cache model runs on a second thread\n"
		"                  where a run allows it (one vCPU, memory.pte=cache), and the\n"
		"                  rate says \"(2 threads)\"; 1: everything on one thread.\n"
		"                  tlb-hit is always one thread (its target is single-threaded)\n"
		"  -s KEY=VALUE    change the machine, e.g. -s memory.pte=fixed (the targets\n"
		"                  are defined on the built-in defaults)\n\n"
		"Targets (DESIGN.md): TLB-hit >= 100 M/s and >= 50%% of its generate rate;\n"
		"nested gups >= 10 M/s; replay >= 50%% of decode-only; peak RSS <= 2 x\n"
		"simulated page-table bytes + 64 MiB.  Misses are reported, not fatal.\n",
		BENCH_MAX_WINDOWS);
}

static bool selected(const struct bench_opts *o, const char *name)
{
	if (!o->only)
		return true;
	size_t n = strlen(name);
	for (const char *p = o->only; (p = strstr(p, name)); p += n)
		if ((p == o->only || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

static int run_case(const struct bench_case *b, const struct bench_opts *o, struct vmerr *err)
{
	char path[4096] = "", dir[4096] = "";
	const char *src = o->quick && b->quick_spec ? b->quick_spec : b->spec;
	int rc;
	if (b->src == SRC_REPLAY) {
		snprintf(dir, sizeof dir, "%s/vmsim-bench.XXXXXX", o->tmpdir);
		if (!mkdtemp(dir))
			return vmerr_set(err, VM_EINPUT, "bench: cannot make a directory in %s: %s "
					 "(name a writable one with --tmpdir DIR)", o->tmpdir,
					 strerror(errno));
		snprintf(path, sizeof path, "%s/replay.vmt", dir);
		if ((rc = write_trace(src, path, err)) < 0)
			goto out;
	}
	const char *feed = b->src == SRC_REPLAY ? path : src;
	struct rate lim, sim;
	/* The limit first: it also brings the code, and a trace file, into the caches. */
	if ((rc = measure(b, o, feed, NULL, &lim, err)) < 0 ||
	    (rc = measure(b, o, feed, b->mode, &sim, err)) < 0)
		goto out;
	lim.accesses = lim.events * sim.share;
	double ratio = lim.accesses > 0 ? sim.accesses / lim.accesses : 0;
	printf("%-12s %-48s\n", b->name, b->title);
	printf("             %s%s\n", b->src == SRC_REPLAY ? "trace of " : "", src);
	printf("             simulated %9.2f M accesses/s   %s only %9.2f M/s   ratio %5.1f%%%s\n",
	       sim.accesses / M, b->limit_what, lim.accesses / M, 100 * ratio,
	       sim.async ? "   (2 threads)" : "");
	if (b->target.min_rate || b->target.min_ratio) {
		bool ok_rate = sim.accesses >= b->target.min_rate;
		bool ok_ratio = ratio >= b->target.min_ratio;
		printf("             target:");
		if (b->target.min_rate)
			printf(" >= %.0f M/s %s", b->target.min_rate / M, verdict(ok_rate));
		if (b->target.min_ratio)
			printf("%s >= %.0f%% of %s %s", b->target.min_rate ? "," : "",
			       100 * b->target.min_ratio, b->limit_what, verdict(ok_ratio));
		printf("  => %s\n", verdict(ok_rate && ok_ratio));
	}
	fflush(stdout);
out:
	if (path[0])
		unlink(path);
	if (dir[0])
		rmdir(dir);
	return rc;
}

static int run_rss(const struct rss_case *rc_, const struct bench_opts *o, struct vmerr *err)
{
	struct rss_result r;
	const char *spec = o->quick ? rc_->quick_spec : rc_->spec;
	int rc = rss_measure(o, rc_->mode, spec, &r, err);
	if (rc < 0)
		return rc;
	uint64_t tables = rss_table_bytes(&r);
	double limit = 2.0 * (double)tables + 64 * MIB;
	printf("%-12s peak memory, %s gups over 64 GiB (child process)\n", rc_->name, rc_->mode);
	printf("             %s, %" PRIu64 " accesses in %.1f s\n", spec, r.accesses, r.seconds);
	printf("             peak RSS %.1f MiB   simulated page tables %.1f MiB", (double)r.peak_rss / MIB,
	       (double)tables / MIB);
	if (r.host_frames)
		printf(" (guest %.1f + host %.1f)", (double)r.guest_table_bytes / MIB,
		       (double)(tables - r.guest_table_bytes) / MIB);
	printf("\n             target: peak RSS <= 2 x tables + 64 MiB = %.1f MiB => %s\n",
	       limit / MIB, verdict((double)r.peak_rss <= limit));
	fflush(stdout);
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_opts o = {.windows = 0, .threads = 2};
	if (argc >= 4 && !strcmp(argv[1], "--rss-child"))
		return rss_child(argv[2], argv[3], argv + 4, argc - 4);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--quick")) {
			o.quick = true;
		} else if (!strcmp(a, "--no-lookahead")) {
			o.no_lookahead = true;
		} else if (!strcmp(a, "--windows") || !strcmp(a, "--only") || !strcmp(a, "--tmpdir") ||
			   !strcmp(a, "--threads") || !strcmp(a, "-s")) {
			if (i + 1 >= argc)
				return cli_usage_error("bench", "%s needs a value", a);
			char *v = argv[++i];
			if (!strcmp(a, "-s")) {
				if (o.nsets == CLI_MAX_SETS_BENCH)
					return cli_usage_error("bench", "more than %d -s options",
							       CLI_MAX_SETS_BENCH);
				o.sets[o.nsets++] = v;
			} else if (!strcmp(a, "--only")) {
				o.only = v;
			} else if (!strcmp(a, "--tmpdir")) {
				o.tmpdir = v;
			} else if (!strcmp(a, "--threads")) {
				if (strcmp(v, "1") && strcmp(v, "2"))
					return cli_usage_error("bench", "--threads takes 1 or 2, not '%s'", v);
				o.threads = (unsigned)(v[0] - '0');
			} else {
				char *end;
				unsigned long n = strtoul(v, &end, 10);
				if (*end || n < 1 || n > BENCH_MAX_WINDOWS)
					return cli_usage_error("bench", "--windows takes 1..%d, not '%s'",
							       BENCH_MAX_WINDOWS, v);
				o.windows = (unsigned)n;
			}
		} else {
			return cli_usage_error("bench", "unexpected argument '%s'", a);
		}
	}
	if (!o.windows)
		o.windows = o.quick ? 3 : 5;
	if (!o.tmpdir)
		o.tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	if (o.only) {
		bool known = false;
		for (size_t i = 0; i < VM_ARRAY_SIZE(rss_cases); i++)
			known |= selected(&o, rss_cases[i].name);
		for (size_t i = 0; i < VM_ARRAY_SIZE(cases); i++)
			known |= selected(&o, cases[i].name);
		if (!known)
			return cli_usage_error("bench", "--only '%s' names no benchmark", o.only);
	}

	print_machine();
	printf("rates: median of %u windows after a warm-up%s%s%s; machine model: built-in defaults",
	       o.windows, o.quick ? " (--quick: short windows)" : "",
	       o.no_lookahead ? ", look-ahead off" : "", o.threads == 1 ? ", one thread" : "");
	for (int i = 0; i < o.nsets; i++)
		printf(" -s %s", o.sets[i]);
	printf("\n\n");
	struct vmerr err = {{0}};
	for (size_t i = 0; i < VM_ARRAY_SIZE(cases); i++) {
		if (!selected(&o, cases[i].name))
			continue;
		int rc = run_case(&cases[i], &o, &err);
		if (rc < 0)
			return cli_fail(rc, &err);
	}
	for (size_t i = 0; i < VM_ARRAY_SIZE(rss_cases); i++) {
		if (!selected(&o, rss_cases[i].name))
			continue;
		int rc = run_rss(&rss_cases[i], &o, &err);
		if (rc < 0)
			return cli_fail(rc, &err);
	}
	return 0;
}
