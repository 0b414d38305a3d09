/*
 * test_workloads.c - the workload suite: event counts against each
 * workload's formula, determinism per seed, the two builds agreeing
 * (freestanding build run by wl-record vs the simulator's event stream),
 * the fixed-point maths behind Zipf, and parameter errors.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workloads/wl.h"
#include "workloads/wl_lib.h"

/* ---- collecting events ------------------------------------------------- */

struct evvec {
	struct vm_event *ev;
	size_t n, cap;
};

static int collect_flush(void *arg, const struct vm_event *ev, size_t n)
{
	struct evvec *v = arg;
	if (v->n + n > v->cap) {
		v->cap = (v->n + n) * 2;
		v->ev = realloc(v->ev, v->cap * sizeof *v->ev);
		if (!v->ev)
			return VM_ENOMEM;
	}
	memcpy(v->ev + v->n, ev, n * sizeof *ev);
	v->n += n;
	return 0;
}

/* The simulator build's events for spec; fails the test on a parse error. */
static struct evvec gen(const char *spec)
{
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	struct vmerr e = {{0}};
	int rc = wl_parse(spec, &d, p, &e);
	cr_assert_eq(rc, 0, "wl_parse(%s): %s", spec, e.msg);
	struct vm_event buf[256];
	struct evvec v = {0};
	struct ev_sink s = {.buf = buf, .cap = VM_ARRAY_SIZE(buf), .flush = collect_flush, .arg = &v};
	cr_assert_eq(wl_generate(d, p, &s), 0, "%s: wl_generate failed", spec);
	return v;
}

static size_t count(const struct evvec *v, int kind, int op)
{
	size_t n = 0;
	for (size_t i = 0; i < v->n; i++)
		if (v->ev[i].kind == kind && (op < 0 || v->ev[i].op == op))
			n++;
	return n;
}

#define ANY -1

/* ---- event counts against formulas -------------------------------------- */

Test(workloads, nanobenchmarks_counts)
{
	struct evvec v = gen("syscall:iters=1000,nr=60");
	cr_assert_eq(v.n, 1 + 1000);
	cr_assert_eq(count(&v, EV_SYSCALL, ANY), 1000);
	cr_assert_eq(v.ev[0].kind, EV_PHASE);
	cr_assert_eq(v.ev[1].arg, 60);
	free(v.ev);

	v = gen("io:iters=500,port=0x80");
	cr_assert_eq(v.n, 1 + 500);
	cr_assert_eq(count(&v, EV_IO, EV_IO_IN), 500);
	cr_assert_eq(v.ev[500].arg, 0x80);
	free(v.ev);

	v = gen("cr8wr:iters=100");
	cr_assert_eq(v.n, 1 + 100);
	cr_assert_eq(count(&v, EV_CR8, ANY), 100);
	cr_assert_eq(v.ev[1].arg, 0);
	cr_assert_eq(v.ev[2].arg, 1, "consecutive CR8 writes alternate 0, 1");
	free(v.ev);

	v = gen("divzero:iters=77");
	cr_assert_eq(v.n, 1 + 77);
	cr_assert_eq(count(&v, EV_EXCEPTION, ANY), 77);
	cr_assert_eq(v.ev[77].arg, 0, "vector 0 = #DE");
	free(v.ev);

	/* 1 + iters * 2 * depth: 3 calls then 3 returns per chain. */
	v = gen("callret:iters=10,depth=3");
	cr_assert_eq(v.n, 1 + 10 * 2 * 3);
	cr_assert_eq(count(&v, EV_CALLRET, EV_CALL), 30);
	cr_assert_eq(count(&v, EV_CALLRET, EV_RET), 30);
	cr_assert_eq(v.ev[1].addr, WL_CODE_BASE + 0x1000);
	cr_assert_eq(v.ev[3].addr, WL_CODE_BASE + 0x3000);
	cr_assert_eq(v.ev[4].op, EV_RET);
	cr_assert_eq(v.ev[4].addr, WL_CODE_BASE + 0x2000 + 0x15, "innermost return first");
	cr_assert_eq(v.ev[6].addr, WL_CODE_BASE + 0x15);
	free(v.ev);

	/* 1 + rounds * (map + pages + unmap) */
	v = gen("pgfault:pages=10,rounds=3");
	cr_assert_eq(v.n, 1 + 3 * (10 + 2));
	cr_assert_eq(count(&v, EV_MAP, ANY), 3);
	cr_assert_eq(count(&v, EV_ACCESS, EV_STORE), 30);
	cr_assert_eq(v.ev[3].addr - v.ev[2].addr, 4096, "one store per page");
	free(v.ev);

	/* 3 + 4 * iters */
	v = gen("ptemod:iters=20");
	cr_assert_eq(v.n, 3 + 4 * 20);
	cr_assert_eq(count(&v, EV_PROTECT, ANY), 40);
	cr_assert_eq(v.ev[3].op, VM_PROT_R);
	cr_assert_eq(v.ev[5].op, VM_PROT_R | VM_PROT_W);
	free(v.ev);

	/* 4 + 4 * iters */
	v = gen("cr3switch:iters=20");
	cr_assert_eq(v.n, 4 + 4 * 20);
	cr_assert_eq(count(&v, EV_SWITCH, ANY), 40);
	cr_assert_eq(count(&v, EV_FORK, ANY), 1);
	cr_assert_eq(v.ev[2].arg, 2, "pid 1 forks pid 2");
	cr_assert_eq(v.ev[5].pid, 2, "the load after switching to 2 is pid 2's");
	free(v.ev);
}

Test(workloads, memory_workload_counts)
{
	struct evvec v = gen("stride:pages=16,passes=3");
	cr_assert_eq(v.n, 1 + 16 * 3);
	free(v.ev);

	v = gen("gups:mb=1,updates=1000");
	cr_assert_eq(v.n, 1 + 2 * 1000);
	free(v.ev);

	/* 1 map + pages stores + 1 phase + steps loads */
	v = gen("chase:pages=100,steps=1000");
	cr_assert_eq(v.n, 1 + 100 + 1 + 1000);
	cr_assert_eq(count(&v, EV_ACCESS, EV_LOAD), 1000);
	{
		/* One cycle through every page: the first 100 loads hit 100
		 * distinct pages, and load i+100 repeats load i. */
		const struct vm_event *ld = v.ev + 102;
		unsigned char seen[100] = {0};
		for (int i = 0; i < 100; i++) {
			uint64_t pg = (ld[i].addr - WL_SLOT(43)) / 4096;
			cr_assert_lt(pg, 100);
			cr_assert_eq(seen[pg], 0, "page %" PRIu64 " visited twice in a cycle", pg);
			seen[pg] = 1;
			cr_assert_eq(ld[i].addr % 4096, (pg % 64) * 64, "node at cache line pg%%64");
		}
		for (int i = 0; i < 900; i++)
			cr_assert_eq(ld[i].addr, ld[i + 100].addr);
	}
	free(v.ev);

	/* 3 maps + 3n + reps * (4 + 10n) */
	v = gen("stream:elems=100,reps=2");
	cr_assert_eq(v.n, 3 + 3 * 100 + 2 * (4 + 10 * 100));
	cr_assert_eq(count(&v, EV_PHASE, ANY), 8);
	free(v.ev);

	/* naive: 3 + 2n^2 + 1 + 2n^3 + n^2 */
	v = gen("matmul:n=6");
	cr_assert_eq(v.n, 3 + 2 * 36 + 1 + 2 * 216 + 36);
	free(v.ev);
	/* blocked, T = ceil(6/4) = 2: 3 + 2n^2 + 1 + 2n^3 + 2 T n^2 */
	v = gen("matmul:n=6,block=4");
	cr_assert_eq(v.n, 3 + 2 * 36 + 1 + 2 * 216 + 2 * 2 * 36);
	free(v.ev);

	/* 2 maps + 2 keys + 1 + 2 ops */
	v = gen("kvstore:keys=1000,ops=500");
	cr_assert_eq(v.n, 2 + 2 * 1000 + 1 + 2 * 500);
	free(v.ev);

	/* 6 + 7V + 3E, E = stores into the edge array */
	v = gen("bfs:vertices=500,degree=4");
	size_t e = 0;
	for (size_t i = 0; i < v.n; i++)
		if (v.ev[i].kind == EV_ACCESS && v.ev[i].op == EV_STORE &&
		    v.ev[i].addr >> 38 == (WL_SLOT(47) + (1ull << 38)) >> 38)
			e++;
	cr_assert_geq(e, 500, "every vertex has at least its ring edge");
	cr_assert_leq(e, 500 * 7, "at most 2*degree-1 edges per vertex");
	cr_assert_eq(v.n, 6 + 7 * 500 + 3 * e, "V=500 E=%zu", e);
	free(v.ev);
}

/* compile: 64 + 2 setup, then per wave of j: j (T + 6 + 2 pages) + 1. */
static size_t compile_events(size_t jobs, size_t tasks, size_t pages, size_t q)
{
	size_t turns = pages ? (pages + q - 1) / q : 1, n = 1 + 64 + 1;
	for (size_t started = 0; started < tasks; started += jobs) {
		size_t j = tasks - started < jobs ? tasks - started : jobs;
		n += j * (turns + 6 + 2 * pages) + 1;
	}
	return n;
}

Test(workloads, process_workload_counts)
{
	struct evvec v = gen("compile:jobs=3,tasks=7,pages=10,quantum=4,text=2");
	cr_assert_eq(v.n, compile_events(3, 7, 10, 4));
	cr_assert_eq(v.n, 272, "66 + 3 waves: 88 + 88 + 30");
	cr_assert_eq(count(&v, EV_FORK, ANY), 7);
	cr_assert_eq(count(&v, EV_EXIT, ANY), 7);
	cr_assert_eq(count(&v, EV_UNMAP, ANY), 7, "one exec per task");
	cr_assert_eq(count(&v, EV_SYSCALL, ANY), 7, "one wait4 per task");
	free(v.ev);
	v = gen("compile:jobs=4,tasks=8,pages=0");
	cr_assert_eq(v.n, compile_events(4, 8, 0, 32));
	free(v.ev);

	/* 2 + pages + iters (5 + touch) */
	v = gen("forkwait:iters=50,pages=4,touch=2");
	cr_assert_eq(v.n, 2 + 4 + 50 * (5 + 2));
	cr_assert_eq(count(&v, EV_FORK, ANY), 50);
	cr_assert_eq(v.ev[6 + 7].arg, 3, "fresh pid per child");
	free(v.ev);

	/* (procs-1) + procs (2 + pages) + 1 + rounds procs (3 + pages) */
	v = gen("ctxswitch:procs=3,pages=4,rounds=5");
	cr_assert_eq(v.n, 2 + 3 * (2 + 4) + 1 + 5 * 3 * (3 + 4));
	cr_assert_eq(count(&v, EV_MAP, ANY), 3, "one working set per process");
	free(v.ev);
}

/* A counting sink: default sizes without storing millions of events. */
static int count_flush(void *arg, const struct vm_event *ev, size_t n)
{
	(void)ev;
	*(size_t *)arg += n;
	return 0;
}

Test(workloads, default_sizes_are_moderate, .timeout = 120)
{
	for (unsigned i = 0; i < wl_count; i++) {
		const struct wl_desc *d;
		uint64_t p[WL_MAX_PARAMS + 1];
		cr_assert_eq(wl_parse(wl_all[i]->name, &d, p, NULL), 0);
		struct vm_event buf[4096];
		size_t n = 0;
		struct ev_sink s = {.buf = buf, .cap = 4096, .flush = count_flush, .arg = &n};
		cr_assert_eq(wl_generate(d, p, &s), 0);
		cr_log_info("%-10s %zu events at default size", d->name, n);
		cr_assert_leq(n, 20u * 1000 * 1000, "%s: %zu events at default", d->name, n);
		cr_assert_geq(n, 500, "%s: %zu events at default", d->name, n);
	}
}

/* ---- determinism -------------------------------------------------------- */

static int same(const struct evvec *a, const struct evvec *b)
{
	return a->n == b->n && memcmp(a->ev, b->ev, a->n * sizeof *a->ev) == 0;
}

Test(workloads, seed_determines_stream)
{
	static const char *const specs[][3] = {
		{"chase:pages=64,steps=500", "chase:pages=64,steps=500,seed=1",
		 "chase:pages=64,steps=500,seed=2"},
		{"gups:mb=1,updates=300", "gups:mb=1,updates=300,seed=1",
		 "gups:mb=1,updates=300,seed=9"},
		{"kvstore:keys=200,ops=300", "kvstore:keys=200,ops=300,seed=1",
		 "kvstore:keys=200,ops=300,seed=3"},
		{"bfs:vertices=200,degree=3", "bfs:vertices=200,degree=3,seed=1",
		 "bfs:vertices=200,degree=3,seed=5"},
	};
	for (size_t i = 0; i < VM_ARRAY_SIZE(specs); i++) {
		struct evvec a = gen(specs[i][0]), b = gen(specs[i][1]), c = gen(specs[i][2]);
		cr_assert(same(&a, &b), "%s: the default seed is 1 and repeats", specs[i][0]);
		cr_assert_not(same(&a, &c), "%s: another seed gives another stream", specs[i][2]);
		free(a.ev);
		free(b.ev);
		free(c.ev);
	}
}

/* ---- one source, two builds --------------------------------------------- */

static const char *wl_record_path(void)
{
	static char path[4096];
	snprintf(path, sizeof path, "%s/wl-record", VMSIM_BINARY_DIR);
	return path;
}

/* Run wl-record (the freestanding build with the recording shim); return
 * its exit status and the recorded events in *out. */
static int record(char *const argv[], struct evvec *out)
{
	char tmpl[] = "/tmp/vmsim-wlrec-XXXXXX";
	int fd = mkstemp(tmpl);
	cr_assert_geq(fd, 0);
	close(fd);
	char *args[WL_MAX_PARAMS + 8];
	int n = 0;
	args[n++] = (char *)wl_record_path();
	args[n++] = tmpl;
	for (int i = 0; argv[i]; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 1); /* the checksum line */
		execv(args[0], args);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	FILE *f = fopen(tmpl, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	rewind(f);
	out->n = (size_t)sz / sizeof(struct vm_event);
	out->ev = malloc(sz ? (size_t)sz : 1);
	cr_assert_eq(fread(out->ev, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	unlink(tmpl);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void compare_streams(const char *spec, const struct evvec *sim, const struct evvec *fs)
{
	size_t n = sim->n < fs->n ? sim->n : fs->n;
	for (size_t i = 0; i < n; i++) {
		if (memcmp(&sim->ev[i], &fs->ev[i], sizeof sim->ev[i]) == 0)
			continue;
		char a[160], b[160];
		ev_format(&sim->ev[i], a, sizeof a);
		ev_format(&fs->ev[i], b, sizeof b);
		cr_assert_fail("%s: event %zu differs\n  simulator:    %s\n  freestanding: %s", spec,
			       i, a, b);
	}
	cr_assert_eq(sim->n, fs->n, "%s: %zu events in the simulator, %zu freestanding", spec,
		     sim->n, fs->n);
}

/* Every workload, small: the freestanding build, really loading and storing
 * in mmap'd memory, makes exactly the simulator build's operations. */
Test(workloads, freestanding_build_matches_simulator, .timeout = 120)
{
	static const char *const specs[] = {
		"syscall:iters=50",
		"io:iters=40,port=0x71",
		"cr8wr:iters=30",
		"callret:iters=20,depth=4",
		"pgfault:pages=16,rounds=3",
		"divzero:iters=25",
		"ptemod:iters=10",
		"cr3switch:iters=10",
		"stride:pages=32,passes=2,write=1",
		"chase:pages=300,steps=2000,seed=7",
		"gups:mb=2,updates=3000,seed=3",
		"stream:elems=1000,reps=2",
		"matmul:n=12",
		"matmul:n=12,block=5",
		"kvstore:keys=3000,ops=4000,update=30,seed=11",
		"bfs:vertices=2000,degree=5,seed=4",
		"compile:jobs=3,tasks=10,pages=20,quantum=7,text=3",
		"forkwait:iters=30,pages=5,touch=3",
		"ctxswitch:procs=4,pages=8,rounds=6",
	};
	if (access(wl_record_path(), X_OK) != 0)
		cr_assert_fail("%s is missing: build the wl-record target", wl_record_path());
	for (size_t i = 0; i < VM_ARRAY_SIZE(specs); i++) {
		const struct wl_desc *d;
		uint64_t p[WL_MAX_PARAMS + 1];
		cr_assert_eq(wl_parse(specs[i], &d, p, NULL), 0, "%s", specs[i]);
		/* p[] handed over as numbers, as a guest embedding receives it */
		char num[WL_MAX_PARAMS + 1][24], *argv[WL_MAX_PARAMS + 3];
		int n = 0;
		argv[n++] = (char *)d->name;
		for (unsigned k = 0; k <= d->nparams; k++) {
			snprintf(num[k], sizeof num[k], "%" PRIu64, p[k]);
			argv[n++] = num[k];
		}
		argv[n] = NULL;
		struct evvec sim = gen(specs[i]), fs;
		int st = record(argv, &fs);
		cr_assert_eq(st, 0, "%s: wl-record exited %d", specs[i], st);
		compare_streams(specs[i], &sim, &fs);
		free(fs.ev);

		/* and the guest-side parser (wl_fs_parse) reads the spec alike */
		char *argv2[] = {(char *)specs[i], NULL};
		st = record(argv2, &fs);
		cr_assert_eq(st, 0, "%s: wl-record (spec) exited %d", specs[i], st);
		compare_streams(specs[i], &sim, &fs);
		free(fs.ev);
		free(sim.ev);
	}
}

Test(workloads, recorder_rejects_bad_spec)
{
	char *argv[] = {"chase:nosuch=1", NULL};
	struct evvec fs;
	cr_assert_eq(record(argv, &fs), 2);
	free(fs.ev);
}

/* The guest must supply only wlrt_* (and memset/memcpy, which gcc may call
 * in any freestanding program; today it does not). */
Test(workloads, freestanding_library_needs_only_wlrt)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "nm -u %s/libvmsim_wl_freestanding.a 2>/dev/null",
		 VMSIM_BINARY_DIR);
	FILE *f = popen(cmd, "r");
	if (!f)
		cr_skip_test("cannot run nm");
	char line[256];
	int syms = 0;
	while (fgets(line, sizeof line, f)) {
		char sym[200];
		if (sscanf(line, " U %199s", sym) != 1)
			continue;
		syms++;
		int ok = strncmp(sym, "wlrt_", 5) == 0 || strncmp(sym, "wl_", 3) == 0 ||
			 strcmp(sym, "memset") == 0 || strcmp(sym, "memcpy") == 0;
		cr_expect(ok, "the freestanding library needs '%s'", sym);
	}
	int st = pclose(f);
	if (syms == 0 && st != 0)
		cr_skip_test("nm is not installed");
	cr_assert_gt(syms, 0);
}

/* ---- the maths behind kvstore -------------------------------------------- */

Test(workloads, fixed_point_log2_exp2)
{
	for (uint64_t r = 1; r < 5000000; r = r * 3 + 1) {
		double got = (double)wl_log2_q32(r) / 4294967296.0;
		cr_assert(fabs(got - log2((double)r)) < 1e-7, "log2(%" PRIu64 ") = %f", r, got);
	}
	for (uint64_t y = 0; y < (20ull << 32); y += 0x3456789aull) {
		double got = (double)wl_exp2_neg_q32(y) / 4294967296.0;
		double want = exp2(-(double)y / 4294967296.0);
		cr_assert(fabs(got - want) < 1e-8, "2^-%f = %f, want %f", y / 4294967296.0, got,
			  want);
	}
}

Test(workloads, zipf_frequencies)
{
	/* theta 0.99 over 1000 keys: P(rank 1) = 1 / sum r^-0.99 = 0.1328;
	 * rank 10 is 10^0.99 = 9.77 times rarer. */
	double h = 0;
	for (int r = 1; r <= 1000; r++)
		h += pow(r, -0.99);
	struct wl_zipf z;
	wl_zipf_init(&z, 1000, 99);
	uint64_t s = 42, hits1 = 0, hits10 = 0, n = 200000;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = wl_zipf_draw(&z, &s);
		cr_assert(r >= 1 && r <= 1000);
		hits1 += r == 1;
		hits10 += r == 10;
	}
	double p1 = (double)hits1 / n, p10 = (double)hits10 / n;
	cr_assert(fabs(p1 - 1 / h) < 0.005, "P(1) = %f, want %f", p1, 1 / h);
	cr_assert(fabs(p10 - pow(10, -0.99) / h) < 0.002, "P(10) = %f, want %f", p10,
		  pow(10, -0.99) / h);

	/* theta 0: uniform over 1..1000, so the top rank is about 1/1000. */
	wl_zipf_init(&z, 1000, 0);
	hits1 = 0;
	for (uint64_t i = 0; i < n; i++)
		hits1 += wl_zipf_draw(&z, &s) == 1;
	cr_assert(hits1 > 100 && hits1 < 320, "uniform: rank 1 drawn %" PRIu64 " times", hits1);
}

Test(workloads, perm_is_a_bijection)
{
	static const uint64_t sizes[] = {1, 2, 3, 17, 1000, 4096, 5001};
	for (size_t k = 0; k < VM_ARRAY_SIZE(sizes); k++) {
		uint64_t n = sizes[k], s = 5;
		struct wl_perm pm;
		wl_perm_init(&pm, n, &s);
		unsigned char *seen = calloc(n, 1);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t j = wl_perm_map(&pm, i);
			cr_assert_lt(j, n);
			cr_assert_eq(seen[j], 0, "n=%" PRIu64 ": %" PRIu64 " hit twice", n, j);
			seen[j] = 1;
		}
		free(seen);
	}
}

/* ---- parameters and the command ----------------------------------------- */

Test(workloads, bad_parameters_are_input_errors)
{
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	struct vmerr e;

	cr_assert_eq(wl_parse("chase:bogus=1", &d, p, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, "unknown parameter 'bogus'") && strstr(e.msg, "pages, steps, seed"),
		  "%s", e.msg);
	cr_assert_eq(wl_parse("chase:pages=lots", &d, p, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, "pages='lots'"), "%s", e.msg);
	cr_assert_eq(wl_parse("chase:pages", &d, p, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, "needs a value"), "%s", e.msg);
	cr_assert_eq(wl_parse("nosuch", &d, p, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, "unknown workload 'nosuch'") && strstr(e.msg, "ctxswitch"), "%s",
		  e.msg);
	cr_assert_eq(vmerr_exit_status(VM_EINPUT), 2);

	cr_assert_eq(wl_parse("kvstore:keys=2k,theta=0x10,seed=3", &d, p, &e), 0, "%s", e.msg);
	cr_assert_eq(p[0], 2048);
	cr_assert_eq(p[2], 16);
	cr_assert_eq(p[d->nparams], 3);
	cr_assert_eq(wl_parse("chase:pages=010", &d, p, &e), 0);
	cr_assert_eq(p[0], 10, "leading zeros are decimal, not octal");
	cr_assert_eq(wl_parse("chase:pages=0x", &d, p, &e), VM_EINPUT);
}

static int run_vmsim(const char *args, char *out, size_t len)
{
	const char *vmsim = getenv("VMSIM");
	if (!vmsim)
		cr_skip_test("VMSIM is not set (run through ctest)");
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", vmsim, args);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	size_t n = fread(out, 1, len - 1, f);
	out[n] = 0;
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(workloads, vmsim_workloads_lists_everything)
{
	static char out[1 << 16];
	cr_assert_eq(run_vmsim("workloads", out, sizeof out), 0, "%s", out);
	for (unsigned i = 0; i < wl_count; i++) {
		char line[64];
		snprintf(line, sizeof line, "%s ", wl_all[i]->name);
		cr_assert(strstr(out, line), "'%s' missing from:\n%s", wl_all[i]->name, out);
		for (unsigned k = 0; k < wl_all[i]->nparams; k++) {
			char kv[64];
			snprintf(kv, sizeof kv, "%s=%" PRIu64, wl_all[i]->params[k].name,
				 wl_all[i]->params[k].def);
			cr_assert(strstr(out, kv), "%s: '%s' missing", wl_all[i]->name, kv);
		}
	}
	cr_assert(strstr(out, "seed=1"));
	cr_assert_eq(run_vmsim("workloads --help", out, sizeof out), 0);
	cr_assert(strstr(out, "usage: vmsim workloads"));
	cr_assert_eq(run_vmsim("workloads chase", out, sizeof out), 0);
	cr_assert(strstr(out, "pages=65536") && !strstr(out, "gups"), "%s", out);
	cr_assert_eq(run_vmsim("workloads nosuch", out, sizeof out), 2, "%s", out);
	cr_assert(strstr(out, "no workload named 'nosuch'"), "%s", out);
}

/* A bad spec through the commands that take -w: exit 2 and one clear line.
 * Each check runs once that command is built (main.c's stand-in exits 1). */
Test(workloads, bad_spec_through_the_binary_exits_2)
{
	static char out[1 << 14];
	static const char *const cmds[][2] = {
		{"trace gen --help", "trace gen -w 'chase:bogus=1' -o /dev/null"},
		{"run --help", "run -w 'chase:bogus=1'"},
	};
	int tried = 0;
	for (size_t i = 0; i < VM_ARRAY_SIZE(cmds); i++) {
		if (run_vmsim(cmds[i][0], out, sizeof out) != 0)
			continue;
		tried++;
		cr_assert_eq(run_vmsim(cmds[i][1], out, sizeof out), 2, "vmsim %s: %s", cmds[i][1],
			     out);
		cr_assert(strstr(out, "unknown parameter 'bogus'"), "vmsim %s: %s", cmds[i][1],
			  out);
	}
	if (!tried)
		cr_skip_test("neither 'vmsim trace gen' nor 'vmsim run' is built yet");
}
