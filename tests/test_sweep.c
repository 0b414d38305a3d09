/* test_sweep.c - experiment files, run lists, `vmsim sweep`: resume, stable
 * columns, failed runs, shards and their merge. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "sim/experiment.h"
#include "sim/stats.h"
#include "sim/sweep.h"

static void setup(void) { tl_mkdtemp("test_sweep"); }
static void teardown(void) { tl_rmtemp(); }

/* Run a shell command in the scratch directory; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = tl_sh(NULL, fmt, ap);
	va_end(ap);
	return rc;
}

/* Rows of a runs.csv (lines after the header). */
static int rows(const char *path)
{
	char *t = read_file(path);
	int n = -1;
	for (char *p = t; *p; p++)
		n += *p == '\n';
	free(t);
	return n;
}

/* Four runs: two modes x two L2 TLB sizes, a few hundred accesses each. */
static const char *four_runs =
	"[experiment]\n"
	"name = four\n"
	"modes = native, nested\n"
	"[workload stride]\n"
	"pages = 16\n"
	"passes = 4\n"
	"[sweep]\n"
	"tlb.l2.entries = 768, 1536\n";

/* ---- the experiment file ---- */

Test(experiment, ranges_lists_and_run_order, .init = setup, .fini = teardown)
{
	write_file(tpath("e.ini"), "[experiment]\nmodes = native, ept\n"
				   "[workload chase]\npages = 1..64 *4, 16..32 +16\nsteps = 1k\n"
				   "[sweep]\nguest.page+host.page = 4k/4k, 2M/2m\n");
	struct experiment e;
	struct vmerr err = {{0}};
	cr_assert_eq(exp_load(&e, tpath("e.ini"), 0, &err), 0, "%s", err.msg);
	cr_assert_str_eq(e.name, "e");
	/* pages 1, 4, 16, 64, then 32 (16 is already there) */
	cr_assert_eq(e.wl[0].p[0].n, 5);
	cr_assert_str_eq(e.wl[0].p[0].v[4], "32");
	cr_assert_str_eq(e.wl[0].p[1].v[0], "1024", "1k is 1024, as workload parameters read it");
	cr_assert_eq(e.nruns, 5 * 2 * 2);
	struct exp_run r;
	exp_run_get(&e, 0, &r);
	cr_assert_str_eq(r.mode, "native");
	exp_run_get(&e, 1, &r);
	cr_assert_str_eq(r.mode, "nested", "ept is an alias of nested; modes vary fastest");
	cr_assert_str_eq(r.pval[0], "1");
	exp_run_get(&e, 3, &r);
	cr_assert_str_eq(r.kval[0], "2m", "values are spelled as the config prints them");
	cr_assert_str_eq(r.kval[1], "2m");
	exp_run_get(&e, 19, &r);
	cr_assert_str_eq(r.pval[0], "32");
	char spec[256], key0[17], key1[17];
	exp_run_spec(&e, &r, spec, sizeof spec);
	cr_assert_str_eq(spec, "chase:pages=32,steps=1024,seed=1");
	exp_run_get(&e, 18, &r);
	exp_run_key(&e, &r, key0);
	exp_run_get(&e, 19, &r);
	exp_run_key(&e, &r, key1);
	cr_assert_str_neq(key0, key1);
	cr_assert_eq(strlen(key0), 16);
	exp_free(&e);
}

Test(experiment, errors_name_file_and_line, .init = setup, .fini = teardown)
{
	struct experiment e;
	struct vmerr err = {{0}};
	write_file(tpath("a.ini"), "[experiment]\nmodes = native\n[workload gups]\nmb = 4\nbogus = 1\n");
	cr_assert_eq(exp_load(&e, tpath("a.ini"), 0, &err), VM_EINPUT);
	cr_assert(strstr(err.msg, "a.ini:5:") && strstr(err.msg, "bogus"), "%s", err.msg);
	exp_free(&e);
	write_file(tpath("b.ini"), "[workload gups]\n[sweep]\ntlb.l2.entries = 512\n");
	cr_assert_eq(exp_load(&e, tpath("b.ini"), 0, &err), VM_EINPUT);
	cr_assert(strstr(err.msg, "tlb.l2.entries=512") && strstr(err.msg, "ways"),
		  "a combination that makes no valid machine is refused up front: %s", err.msg);
	exp_free(&e);
	write_file(tpath("c.ini"), "[experiment]\nconfig = configs/no-such.ini\n[workload gups]\n");
	cr_assert_eq(exp_load(&e, tpath("c.ini"), 0, &err), VM_EINPUT);
	cr_assert(strstr(err.msg, "no-such.ini") && strstr(err.msg, "tried"), "%s", err.msg);
	exp_free(&e);
	write_file(tpath("d.ini"), "[experiment]\nmodes = native, qemu\n[workload gups]\n");
	cr_assert_eq(exp_load(&e, tpath("d.ini"), 0, &err), VM_EINPUT);
	cr_assert(strstr(err.msg, "d.ini:2:") && strstr(err.msg, "qemu"), "%s", err.msg);
	exp_free(&e);
}

Test(experiment, named_sweeps_add_up, .init = setup, .fini = teardown)
{
	write_file(tpath("e.ini"), "[workload stride]\n"
				   "[sweep small]\ntlb.l2.entries = 768, 1536\n"
				   "[sweep nopwc]\npwc.enabled = off\n");
	struct experiment e;
	struct vmerr err = {{0}};
	cr_assert_eq(exp_load(&e, tpath("e.ini"), 0, &err), 0, "%s", err.msg);
	cr_assert_eq(e.nruns, 3, "2 + 1 runs, not 2 x 1");
	cr_assert(e.sweep_col);
	struct exp_run r;
	exp_run_get(&e, 2, &r);
	cr_assert_str_eq(r.block->name, "nopwc");
	cr_assert_str_eq(r.kval[0], "1536", "a key the sweep leaves alone keeps the profile's value");
	cr_assert_str_eq(r.kval[1], "off");
	char *sets[8], store[512];
	cr_assert_eq(exp_run_sets(&e, &r, sets, 8, store, sizeof store), 1);
	cr_assert_str_eq(sets[0], "pwc.enabled=off");
	exp_free(&e);
}

/* ---- runs.csv ---- */

Test(sweep, measured_phase_excludes_setup, .init = setup, .fini = teardown)
{
	write_file(tpath("e.ini"), "[experiment]\nmeasure = phase\n[workload chase]\npages = 64\nsteps = 1000\n");
	struct experiment e;
	struct vmerr err = {{0}};
	cr_assert_eq(exp_load(&e, tpath("e.ini"), 0, &err), 0, "%s", err.msg);
	struct exp_run r;
	struct stats st;
	exp_run_get(&e, 0, &r);
	cr_assert_eq(sweep_one(&e, &r, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.accesses, 1000, "the chase's 1000 loads, not its 64 setup stores");
	cr_assert_eq(st.stores, 0);
	cr_assert_eq(st.page_faults, 0, "setup took the faults");
	exp_free(&e);
}

Test(sweep, interrupted_then_resumed_has_each_run_once, .init = setup, .fini = teardown)
{
	const char *v = vmsim();
	write_file(tpath("four.ini"), four_runs);
	cr_assert_eq(sh("'%s' sweep four.ini -o out -j 2 -q --stop-after 2", v), 0);
	cr_assert_eq(rows(tpath("out/runs.csv")), 2, "stopped after two rows");
	cr_assert_eq(sh("'%s' sweep four.ini -o out -q 2>/dev/null", v), 2,
		     "an existing runs.csv needs --resume or --force");
	/* A torn last line (a crash mid-write elsewhere) is dropped, not kept. */
	FILE *f = fopen(tpath("out/runs.csv"), "a");
	fputs("3,0123", f);
	fclose(f);
	cr_assert_eq(sh("'%s' sweep four.ini -o out -j 2 -q --resume", v), 0);
	cr_assert_eq(rows(tpath("out/runs.csv")), 4);
	char *t = read_file(tpath("out/runs.csv"));
	char *line = strchr(t, '\n') + 1;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(atoi(line), i, "rows sorted by run, each once");
		line = strchr(line, '\n') + 1;
	}
	free(t);
	/* Resuming a complete sweep runs nothing and changes nothing. */
	char *before = read_file(tpath("out/runs.csv"));
	cr_assert_eq(sh("'%s' sweep four.ini -o out -q --resume", v), 0);
	char *after = read_file(tpath("out/runs.csv"));
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
}

Test(sweep, resume_refuses_rows_of_a_changed_experiment, .init = setup, .fini = teardown)
{
	const char *v = vmsim();
	write_file(tpath("four.ini"), four_runs);
	cr_assert_eq(sh("'%s' sweep four.ini -o out -q --stop-after 1 -j 1", v), 0);
	char *changed = strdup(four_runs);
	strstr(changed, "passes = 4")[9] = '5';
	write_file(tpath("four.ini"), changed);
	free(changed);
	cr_assert_eq(sh("'%s' sweep four.ini -o out -q --resume 2>err.txt", v), 2);
	char *msg = read_file(tpath("err.txt"));
	cr_assert(strstr(msg, "changed since") && strstr(msg, "--force"), "%s", msg);
	free(msg);
	cr_assert_eq(sh("'%s' sweep four.ini -o out -q --force", v), 0);
	cr_assert_eq(rows(tpath("out/runs.csv")), 4);
}

Test(sweep, columns_do_not_depend_on_values, .init = setup, .fini = teardown)
{
	const char *v = vmsim();
	write_file(tpath("a.ini"), "[experiment]\nname = a\nmodes = native\n"
				   "[workload stride]\npages = 4\n[workload gups]\nmb = 1\nupdates = 100\n"
				   "[sweep]\ntlb.l2.entries = 768\n");
	write_file(tpath("b.ini"), "[experiment]\nname = b\nmodes = native, vtx\n"
				   "[workload stride]\npages = 8, 16\n[workload gups]\nmb = 2\nupdates = 50\n"
				   "[sweep]\ntlb.l2.entries = 1536, 3072\n");
	cr_assert_eq(sh("'%s' sweep a.ini -o a -q && '%s' sweep b.ini -o b -q", v, v), 0);
	char *a = read_file(tpath("a/runs.csv")), *b = read_file(tpath("b/runs.csv"));
	*strchr(a, '\n') = 0;
	*strchr(b, '\n') = 0;
	cr_assert_str_eq(a, b);
	const char *head = "run,key,mode,workload,wl.pages,wl.stride,wl.passes,wl.write,wl.mb,"
			   "wl.updates,wl.threads,wl.seed,tlb.l2.entries,config,error,accesses,";
	cr_assert(strncmp(a, head, strlen(head)) == 0, "parameters first, then every statistic: %s", a);
	/* Every statistic of sim/stats.h, in its order. */
	const char *p = strstr(a, ",error,") + 7;
	for (unsigned i = 0; i < stats_count(); i++) {
		size_t n = strlen(stats_name(i));
		cr_assert(!strncmp(p, stats_name(i), n) && p[n] == ',', "expected %s at '%.30s'",
			  stats_name(i), p);
		p += n + 1;
	}
	cr_assert_str_eq(p, "cycles,cycles_per_access");
	free(a);
	free(b);
}

Test(sweep, a_failed_run_is_a_row_and_the_others_go_on, .init = setup, .fini = teardown)
{
	const char *v = vmsim();
	/* 200000 locations 1 GiB apart do not fit the 128 TiB user half: the
	 * second run's map is refused; the others run. */
	write_file(tpath("f.ini"), "[experiment]\n"
				   "[workload stride]\nstride = 1073741824\npasses = 1\npages = 4, 200000, 8\n");
	cr_assert_eq(sh("'%s' sweep f.ini -o out -q", v), 0);
	struct exp_table t;
	struct vmerr err;
	cr_assert_eq(exp_table_read(&t, tpath("out/runs.csv"), &err), 0, "%s", err.msg);
	cr_assert_eq(t.nrows, 3);
	int ec = exp_table_col(&t, "error"), ac = exp_table_col(&t, "accesses");
	cr_assert_str_empty(exp_cell(&t, 0, ec));
	cr_assert(strstr(exp_cell(&t, 1, ec), "user address space"), "the second run fails: %s",
		  exp_cell(&t, 1, ec));
	cr_assert_str_empty(exp_cell(&t, 1, ac), "and has no statistics");
	cr_assert_str_empty(exp_cell(&t, 2, ec));
	cr_assert_str_eq(exp_cell(&t, 2, ac), "8");
	exp_table_free(&t);
}

Test(sweep, slurm_tasks_by_hand_do_their_shard_and_merge_equals_local, .init = setup,
     .fini = teardown)
{
	const char *v = vmsim();
	write_file(tpath("e.ini"), "[experiment]\nname = sh\nmodes = native, bt, nested\n"
				   "[workload stride]\npages = 4, 64\npasses = 2\n"
				   "[sweep]\ntlb.pcid = on, off\n");
	cr_assert_eq(sh("'%s' sweep e.ini -o local -q -j 2", v), 0);
	cr_assert_eq(rows(tpath("local/runs.csv")), 12);
	cr_assert_eq(sh("'%s' sweep e.ini --emit-slurm cluster --shards 5 >/dev/null", v), 0);
	char *script = read_file(tpath("cluster/sweep.sbatch"));
	cr_assert(strstr(script, "#SBATCH --array=0-4"), "%s", script);
	free(script);
	cr_assert_neq(sh("sh cluster/sweep.sbatch >/dev/null 2>&1"), 0,
		      "without SLURM_ARRAY_TASK_ID the task refuses to guess");
	for (int k = 0; k < 5; k++) {
		cr_assert_eq(sh("SLURM_ARRAY_TASK_ID=%d VMSIM='%s' sh cluster/sweep.sbatch 2>/dev/null", k, v),
			     0);
		char path[64];
		snprintf(path, sizeof path, "cluster/shards/%d/runs.csv", k);
		struct exp_table t;
		struct vmerr err;
		cr_assert_eq(exp_table_read(&t, tpath(path), &err), 0, "%s", err.msg);
		cr_assert_eq(t.nrows, k < 2 ? 3 : 2, "shard %d of 5 over 12 runs", k);
		for (uint64_t r = 0; r < t.nrows; r++)
			cr_assert_eq(atoi(exp_cell(&t, r, 0)) % 5, k, "run i belongs to shard i mod 5");
		exp_table_free(&t);
	}
	cr_assert_eq(sh("'%s' sweep e.ini --merge cluster >/dev/null", v), 0);
	char *local = read_file(tpath("local/runs.csv")), *merged = read_file(tpath("cluster/runs.csv"));
	cr_assert_str_eq(merged, local, "the merge writes what a local sweep writes");
	free(local);
	free(merged);
	/* A missing shard is named, not papered over. */
	cr_assert_eq(sh("rm -r cluster/shards/3 && '%s' sweep e.ini --merge cluster 2>err.txt", v), 2);
	char *msg = read_file(tpath("err.txt"));
	cr_assert(strstr(msg, "2 of 12 runs") && strstr(msg, "runs 3, 8"), "%s", msg);
	free(msg);
}
