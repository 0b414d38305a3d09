/* test_plot.c - `vmsim plot`: figure tables and every shipped gnuplot script. */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "sim/experiment.h"
#include "sim/stats.h"
#include "sim/sweep.h"

static const char *plots_env(void)
{
	static char env[600];
	snprintf(env, sizeof env, "VMSIM_PLOTS='%s/results/plots' ", VMSIM_SOURCE_DIR);
	return env;
}

static void setup(void) { tl_mkdtemp("test_plot"); }
static void teardown(void) { tl_rmtemp(); }

/* Run a shell command in the scratch directory; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = tl_sh(plots_env(), fmt, ap);
	va_end(ap);
	return rc;
}


static void need_gnuplot(void)
{
	if (system("command -v gnuplot >/dev/null 2>&1") != 0)
		cr_skip_test("gnuplot is not installed (apt-get install gnuplot-nox)");
}

static off_t size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/*
 * A made-up runs.csv for experiment file src in dir, as a sweep would
 * leave it (with the experiment copied to dir/experiment.ini): one row per
 * run, statistics that differ by mode and run, no simulation.
 */
static void fake_sweep(const char *src, const char *dir)
{
	struct experiment e;
	struct vmerr err = {{0}};
	cr_assert_eq(exp_load(&e, src, EXP_LOAD_NO_CONFIG, &err), 0, "%s", err.msg);
	char path[600], cmd[1400];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/experiment.ini'", dir, src, dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(path, sizeof path, "%s/runs.csv", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	static char line[16384];
	cr_assert_gt(sweep_header(&e, line, sizeof line), 0);
	fputs(line, f);
	for (uint64_t i = 0; i < e.nruns; i++) {
		struct exp_run r;
		struct stats st;
		memset(&st, 0, sizeof st);
		exp_run_get(&e, i, &r);
		unsigned m = 0;
		while (strcmp(e.modes.v[m], r.mode))
			m++;
		st.accesses = 1000;
		st.cycles_base = 4000 + 1500 * m + 10 * (i % 7);
		st.makespan_cycles = st.cycles_base / (1 + i % 4);
		st.tlb_l1_misses = 100 * (i % 10);
		st.tlb_l2_misses = 50 + 10 * (i % 5);
		st.walk_refs = st.tlb_l2_misses * (2 + i % 3);
		st.syscalls = st.io_ops = st.cr8_writes = st.page_faults = st.exceptions = 100;
		size_t n = sweep_row(&e, &r, &st, NULL, line, sizeof line);
		cr_assert_gt(n, 0);
		fwrite(line, 1, n, f);
	}
	fclose(f);
	exp_free(&e);
}

Test(plot, every_shipped_experiment_draws_png_and_svg, .init = setup, .fini = teardown)
{
	const char *v = vmsim();
	need_gnuplot();
	glob_t g;
	char pattern[512];
	snprintf(pattern, sizeof pattern, "%s/experiments/*.ini", VMSIM_SOURCE_DIR);
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no experiments in %s", pattern);
	cr_assert_geq(g.gl_pathc, 6);
	unsigned scripts_used = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct experiment e;
		struct vmerr err = {{0}};
		cr_assert_eq(exp_load(&e, g.gl_pathv[i], EXP_LOAD_NO_CONFIG, &err), 0, "%s", err.msg);
		char dir[600];
		snprintf(dir, sizeof dir, "%s/%s", tl_tmpdir, e.name);
		fake_sweep(g.gl_pathv[i], dir);
		cr_assert_eq(sh("'%s' plot '%s' >/dev/null 2>'%s/stderr.txt'", v, dir, dir), 0,
			     "vmsim plot %s failed", e.name);
		char errpath[700];
		snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
		char *errs = read_file(errpath);
		cr_assert(!strstr(errs, "warning"), "gnuplot warned while drawing %s:\n%s", e.name, errs);
		free(errs);
		for (unsigned f = 0; f < e.nfig; f++) {
			char out[800];
			snprintf(out, sizeof out, "%s/%s.dat", dir, e.fig[f].name);
			cr_assert_gt(size_of(out), 0, "%s has no table", out);
			if (!strcmp(e.fig[f].script, "none"))
				continue;
			scripts_used++;
			snprintf(out, sizeof out, "%s/%s.png", dir, e.fig[f].name);
			cr_assert_gt(size_of(out), 1000, "%s is empty", out);
			snprintf(out, sizeof out, "%s/%s.svg", dir, e.fig[f].name);
			cr_assert_gt(size_of(out), 1000, "%s is empty", out);
		}
		/* plot.sh redraws by hand. */
		char png[800];
		snprintf(png, sizeof png, "%s/%s.png", dir, e.fig[0].name);
		unlink(png);
		cr_assert_eq(sh("sh '%s/plot.sh' >/dev/null 2>&1", dir), 0);
		cr_assert_gt(size_of(png), 1000, "plot.sh did not redraw %s", png);
		exp_free(&e);
	}
	globfree(&g);
	/* Every script in results/plots is some figure's script, but for
	 * overcommit.gp, which scripts/overcommit.sh draws (its own test below). */
	snprintf(pattern, sizeof pattern, "%s/results/plots/*.gp", VMSIM_SOURCE_DIR);
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0);
	cr_assert_geq(scripts_used + 1, g.gl_pathc, "a script in results/plots is not drawn by any "
		      "experiment (so it is untested)");
	globfree(&g);
}

/* overcommit.gp draws the table scripts/overcommit.sh writes. */
Test(plot, overcommit_script_draws_its_table, .init = setup, .fini = teardown)
{
	need_gnuplot();
	write_file(tpath("o.dat"), "# test\nscenario swap balloon-static balloon-auto double-paging\n"
				   "\"2 VMs, 85%\" 1 1.10 1.14 0\n\"2 VMs, 110%\" 1 0.80 0.81 20141\n");
	cr_assert_eq(sh("gnuplot -e \"dat='o.dat'; out='o'\" '%s/results/plots/overcommit.gp' "
			"2>err.txt", VMSIM_SOURCE_DIR), 0);
	char *errs = read_file(tpath("err.txt"));
	cr_assert(!strstr(errs, "warning"), "gnuplot warned:\n%s", errs);
	free(errs);
	cr_assert_gt(size_of(tpath("o.png")), 1000);
	cr_assert_gt(size_of(tpath("o.svg")), 1000);
}

Test(plot, table_divides_by_the_native_run, .init = setup, .fini = teardown)
{
	const char *v = vmsim();
	write_file(tpath("e.ini"), "[experiment]\nname = t\nmodes = native, nested\n"
				   "[workload stride]\npages = 8, 4096\npasses = 20\n"
				   "[figure ratio]\nscript = none\nx = wl.pages\nseries = mode\n"
				   "y = cycles\nbaseline = mode=native\n"
				   "[figure perop]\nscript = none\nx = wl.pages\nseries = mode\n"
				   "y = cycles, walk_refs\nper = accesses\nwhere = mode=nested\n");
	cr_assert_eq(sh("'%s' sweep e.ini -o out -q && '%s' plot out >/dev/null", v, v), 0);
	struct exp_table t;
	struct vmerr err;
	cr_assert_eq(exp_table_read(&t, tpath("out/runs.csv"), &err), 0, "%s", err.msg);
	int cyc = exp_table_col(&t, "cycles"), acc = exp_table_col(&t, "accesses");
	double n8 = atof(exp_cell(&t, 0, cyc)), v8 = atof(exp_cell(&t, 1, cyc));
	double n4k = atof(exp_cell(&t, 2, cyc)), v4k = atof(exp_cell(&t, 3, cyc));
	cr_assert_gt(v4k, n4k, "2D walks cost more than 1D walks");
	char *dat = read_file(tpath("out/ratio.dat")), expect[256];
	snprintf(expect, sizeof expect, "wl.pages native nested\n8 1 %.6g\n4096 1 %.6g\n", v8 / n8,
		 v4k / n4k);
	cr_assert(strstr(dat, expect), "expected\n%s\nin\n%s", expect, dat);
	free(dat);
	dat = read_file(tpath("out/perop.dat"));
	snprintf(expect, sizeof expect, "\"nested cycles\" \"nested walk_refs\"\n8 %.6g ",
		 v8 / atof(exp_cell(&t, 1, acc)));
	cr_assert(strstr(dat, expect), "expected\n%s\nin\n%s", expect, dat);
	free(dat);
	exp_table_free(&t);
}

Test(plot, two_runs_in_one_place_is_an_error_that_says_what_to_do, .init = setup,
     .fini = teardown)
{
	const char *v = vmsim();
	write_file(tpath("e.ini"), "[experiment]\nname = t\nmodes = native, vtx\n"
				   "[workload stride]\npages = 8\n"
				   "[figure f]\nscript = none\nx = wl.pages\ny = cycles\n");
	cr_assert_eq(sh("'%s' sweep e.ini -o out -q && '%s' plot out >/dev/null 2>err.txt", v, v), 1);
	char *msg = read_file(tpath("err.txt"));
	cr_assert(strstr(msg, "differ in mode") && strstr(msg, "series"), "%s", msg);
	free(msg);
}

Test(plot, without_gnuplot_it_writes_tables_and_says_how_to_install, .init = setup,
     .fini = teardown)
{
	const char *v = vmsim();
	char src[600];
	snprintf(src, sizeof src, "%s/experiments/macro.ini", VMSIM_SOURCE_DIR);
	fake_sweep(src, tpath("macro"));
	cr_assert_eq(sh("mkdir empty && PATH=\"$PWD/empty\" '%s' plot macro >/dev/null 2>err.txt", v), 2);
	char *msg = read_file(tpath("err.txt"));
	cr_assert(strstr(msg, "apt-get install gnuplot-nox"), "%s", msg);
	free(msg);
	cr_assert_gt(size_of(tpath("macro/macro.dat")), 0);
}
