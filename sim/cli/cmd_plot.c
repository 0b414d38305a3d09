/*
 * cmd_plot.c - `vmsim plot`: draw an experiment's figures from runs.csv.
 *
 * For each [figure NAME] it writes DIR/NAME.dat (the figure's numbers, see
 * experiment.h), then runs gnuplot on results/plots/SCRIPT with
 *     dat='DIR/NAME.dat'; out='DIR/NAME'; caption='...'; [title, xlabel,
 *     ylabel]; nmarks=N; mark1=VALUE; mark1label='...' ...
 * and the script writes DIR/NAME.png and DIR/NAME.svg.  The same gnuplot
 * commands go to DIR/plot.sh, to redraw by hand after editing a script.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../config.h"
#include "../experiment.h"
#include "cli.h"
#include "common.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmsim plot DIR | EXPERIMENT.ini [-o DIR] [-f FIGURE]... [--data-only]\n\n"
		"Draw an experiment's figures from DIR/runs.csv (written by 'vmsim sweep') with\n"
		"gnuplot: for each [figure NAME] of the experiment, DIR/NAME.dat (the numbers\n"
		"drawn), DIR/NAME.png and DIR/NAME.svg.  DIR/plot.sh repeats the gnuplot\n"
		"commands, to redraw by hand after editing a script in results/plots/.\n\n"
		"  DIR            a sweep's output folder (it holds runs.csv and experiment.ini)\n"
		"  EXPERIMENT.ini the experiment; its output folder is results/NAME or -o DIR\n"
		"  -f FIGURE      draw only this figure (repeatable)\n"
		"  --data-only    write the .dat tables, do not run gnuplot\n\n"
		"gnuplot is needed to draw: apt-get install gnuplot-nox (scripts/setup.sh).\n"
		"Scripts are looked for in $VMSIM_PLOTS, ./results/plots and next to the\n"
		"vmsim binary's source tree.\n");
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[8192], cand[8400];
	snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
	for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(cand, sizeof cand, "%s/gnuplot", *d ? d : ".");
		if (access(cand, X_OK) == 0)
			return true;
	}
	return false;
}

/* results/plots/NAME: $VMSIM_PLOTS, ./results/plots, beside the experiment's
 * folder, and above the binary (build/vmsim -> results/plots). */
static int find_script(const char *name, const char *exp_path, char *out, size_t len)
{
	char base[3][PATH_MAX];
	int n = 0;
	const char *env = getenv("VMSIM_PLOTS");
	if (env && snprintf(out, len, "%s/%s", env, name) < (int)len && is_file(out))
		return 0;
	if (snprintf(out, len, "results/plots/%s", name) < (int)len && is_file(out))
		return 0;
	snprintf(base[n], sizeof base[n], "%s", exp_path);
	char *slash = strrchr(base[n], '/');
	if (slash) {
		*slash = 0;
		n++;
	}
	ssize_t l = readlink("/proc/self/exe", base[n], sizeof base[n] - 1);
	if (l > 0) {
		base[n][l] = 0;
		if ((slash = strrchr(base[n], '/')))
			*slash = 0;
		n++;
	}
	for (int i = 0; i < n; i++)
		for (int up = 1; up <= 3; up++) {
			char rel[32] = "";
			for (int k = 0; k < up; k++)
				strcat(rel, "../");
			if (snprintf(out, len, "%s/%sresults/plots/%s", base[i], rel, name) < (int)len &&
			    is_file(out))
				return 0;
		}
	return -1;
}

/* Append name='value' (gnuplot single quotes: '' is a quote). */
static void gp_var(char *buf, size_t len, const char *name, const char *value)
{
	size_t n = strlen(buf);
	n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s='", n ? "; " : "", name);
	for (; *value && n + 3 < len; value++) {
		if (*value == '\'')
			buf[n++] = '\'';
		buf[n++] = *value;
	}
	if (n + 2 < len) {
		buf[n++] = '\'';
		buf[n] = 0;
	}
}

static void sh_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* The marks' values from the profile the runs used, with the fixed sets. */
static void mark_vars(const struct experiment *e, const struct exp_figure *f,
		      const struct exp_table *t, char *vars, size_t len)
{
	if (!f->marks.n)
		return;
	int cc = exp_table_col(t, "config");
	const char *prof = cc >= 0 && t->nrows ? exp_cell(t, 0, (unsigned)cc) : "builtin";
	struct cfg cfg;
	struct vmerr err;
	if (cfg_load(&cfg, strcmp(prof, "builtin") ? prof : NULL, e->sets.v, (int)e->sets.n, &err) <
	    0) {
		fprintf(stderr, "vmsim plot: figure %s: no marks: %s\n", f->name, err.msg);
		return;
	}
	unsigned n = 0;
	for (unsigned i = 0; i < f->marks.n; i++) {
		char key[128], val[64], name[32];
		snprintf(key, sizeof key, "%s", f->marks.v[i]);
		char *colon = strchr(key, ':');
		if (colon)
			*colon = 0;
		if (cfg_get(&cfg, key, val, sizeof val) < 0)
			continue;
		n++;
		snprintf(name, sizeof name, "mark%u", n);
		size_t l = strlen(vars);
		snprintf(vars + l, len - l, "; %s=%s", name, val);
		snprintf(name, sizeof name, "mark%ulabel", n);
		gp_var(vars, len, name, colon ? colon + 1 : key);
	}
	size_t l = strlen(vars);
	snprintf(vars + l, len - l, "; nmarks=%u", n);
}

static int run_gnuplot(const char *vars, const char *script)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", "-e", vars, script, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static bool nonempty(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size > 0;
}

int cmd_plot(int argc, char **argv)
{
	static const struct option longopts[] = {{"data-only", no_argument, NULL, 'D'},
						 {"help", no_argument, NULL, 'h'}, {0}};
	const char *only[64], *outdir = NULL;
	unsigned nonly = 0;
	bool data_only = false;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (nonly == VM_ARRAY_SIZE(only))
				return cli_usage_error("plot", "too many -f options");
			only[nonly++] = optarg;
			break;
		case 'o': outdir = optarg; break;
		case 'D': data_only = true; break;
		case 'h': usage(stdout); return 0;
		default:
			return cli_usage_error("plot", "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("plot", "give one results folder or experiment (e.g. vmsim plot "
				       "results/tlb-reach)");
	const char *arg = argv[optind];
	char dir[PATH_MAX], exp_path[PATH_MAX + 32], csv[PATH_MAX + 32];
	struct vmerr err = {{0}};
	struct experiment e;
	int rc;
	if (is_dir(arg)) {
		snprintf(dir, sizeof dir, "%s", outdir ? outdir : arg);
		snprintf(exp_path, sizeof exp_path, "%s/experiment.ini", arg);
		if (!is_file(exp_path)) {
			vmerr_set(&err, VM_EINPUT, "%s: no experiment.ini here: is it a folder 'vmsim "
				  "sweep' wrote?", arg);
			return cli_fail(VM_EINPUT, &err);
		}
	} else {
		snprintf(exp_path, sizeof exp_path, "%s", arg);
	}
	rc = exp_load(&e, exp_path, EXP_LOAD_NO_CONFIG, &err);
	if (rc < 0) {
		exp_free(&e);
		return cli_fail(rc, &err);
	}
	if (!is_dir(arg))
		snprintf(dir, sizeof dir, "%s", outdir ? outdir : "");
	if (!dir[0])
		snprintf(dir, sizeof dir, "results/%s", e.name);
	snprintf(csv, sizeof csv, "%s/runs.csv", is_dir(arg) ? arg : dir);
	for (unsigned i = 0; i < nonly; i++)
		if (!exp_figure_find(&e, only[i])) {
			vmerr_set(&err, VM_EUSAGE, "%s has no [figure %s]", exp_path, only[i]);
			exp_free(&e);
			return cli_fail(VM_EUSAGE, &err);
		}
	if (!e.nfig) {
		vmerr_set(&err, VM_EINPUT, "%s has no [figure NAME] section: nothing to draw", exp_path);
		exp_free(&e);
		return cli_fail(VM_EINPUT, &err);
	}
	struct exp_table t;
	if ((rc = exp_table_read(&t, csv, &err)) < 0) {
		if (!is_file(csv))
			vmerr_set(&err, VM_EINPUT, "%s: no such file: run 'vmsim sweep %s' first", csv,
				  exp_path);
		exp_free(&e);
		return cli_fail(rc, &err);
	}
	bool gp = !data_only && have_gnuplot();
	if (!data_only && !gp)
		fprintf(stderr, "vmsim plot: gnuplot is not installed, so only the .dat tables are "
				"written; install it with 'apt-get install gnuplot-nox' (or run "
				"scripts/setup.sh) and run 'vmsim plot %s' again\n", dir);

	char shpath[PATH_MAX + 32];
	snprintf(shpath, sizeof shpath, "%s/plot.sh", dir);
	struct cli_out sh;
	bool sh_ok = cli_out_open(&sh, shpath, &err) == 0;
	if (sh_ok)
		fprintf(sh.f, "#!/bin/sh\n# Redraw the figures of %s from the .dat tables "
			      "(written by 'vmsim plot %s').\n# Run from the folder vmsim plot ran "
			      "in.\nset -e\n", e.name, arg);
	int failures = 0;
	bool table_ok[256] = {false};
	if (e.nfig > VM_ARRAY_SIZE(table_ok)) {
		fprintf(stderr, "vmsim plot: %s: more than %zu figures\n", exp_path,
			VM_ARRAY_SIZE(table_ok));
		e.nfig = VM_ARRAY_SIZE(table_ok);
	}
	/* Every table first (a script may read another figure's table), then
	 * the drawings asked for. */
	for (unsigned i = 0; i < e.nfig; i++) {
		const struct exp_figure *f = &e.fig[i];
		char dat[PATH_MAX + 80];
		snprintf(dat, sizeof dat, "%s/%s.dat", dir, f->name);
		struct cli_out o;
		uint64_t nfailed = 0;
		if ((rc = cli_out_open(&o, dat, &err)) < 0 ||
		    (rc = exp_figure_data(&e, f, &t, o.f, &nfailed, &err)) < 0) {
			if (o.f)
				cli_out_abort(&o);
			fprintf(stderr, "vmsim plot: %s: %s\n", exp_path, err.msg);
			failures++;
			continue;
		}
		if ((rc = cli_out_commit(&o, &err)) < 0) {
			fprintf(stderr, "vmsim plot: %s\n", err.msg);
			failures++;
			continue;
		}
		table_ok[i] = true;
		if (nfailed && i == 0)
			fprintf(stderr, "vmsim plot: %" PRIu64 " failed runs are left out (see the error "
					"column of %s)\n", nfailed, csv);
	}
	for (unsigned i = 0; i < e.nfig; i++) {
		const struct exp_figure *f = &e.fig[i];
		bool wanted = !nonly;
		for (unsigned k = 0; k < nonly; k++)
			wanted |= !strcmp(only[k], f->name);
		if (!wanted || !table_ok[i])
			continue;
		char dat[PATH_MAX + 80], out[PATH_MAX + 80], script[PATH_MAX];
		snprintf(dat, sizeof dat, "%s/%s.dat", dir, f->name);
		snprintf(out, sizeof out, "%s/%s", dir, f->name);
		if (!strcmp(f->script, "none")) { /* a table another figure's script reads */
			printf("%s\n", dat);
			continue;
		}
		if (find_script(f->script, e.path, script, sizeof script) < 0) {
			fprintf(stderr, "vmsim plot: figure %s: script results/plots/%s not found (set "
					"VMSIM_PLOTS to the folder that holds it)\n", f->name, f->script);
			failures++;
			continue;
		}
		char vars[8192] = "", caption[1024];
		exp_figure_caption(&e, f, &t, caption, sizeof caption);
		gp_var(vars, sizeof vars, "dat", dat);
		gp_var(vars, sizeof vars, "out", out);
		gp_var(vars, sizeof vars, "caption", caption);
		if (f->title[0])
			gp_var(vars, sizeof vars, "title", f->title);
		if (f->xlabel[0])
			gp_var(vars, sizeof vars, "xlabel", f->xlabel);
		if (f->ylabel[0])
			gp_var(vars, sizeof vars, "ylabel", f->ylabel);
		mark_vars(&e, f, &t, vars, sizeof vars);
		if (sh_ok) {
			fputs("gnuplot -e ", sh.f);
			sh_quote(sh.f, vars);
			fputc(' ', sh.f);
			sh_quote(sh.f, script);
			fputc('\n', sh.f);
		}
		if (!gp) {
			printf("%s\n", dat);
			continue;
		}
		char png[PATH_MAX + 90], svg[PATH_MAX + 90];
		snprintf(png, sizeof png, "%s.png", out);
		snprintf(svg, sizeof svg, "%s.svg", out);
		unlink(png);
		unlink(svg);
		int st = run_gnuplot(vars, script);
		if (st != 0 || !nonempty(png) || !nonempty(svg)) {
			fprintf(stderr, "vmsim plot: figure %s: gnuplot %s failed (status %d)%s; the "
					"numbers are in %s\n", f->name, script, st,
				st == 127 ? ": cannot run gnuplot" : "", dat);
			failures++;
			continue;
		}
		printf("%s %s\n", png, svg);
	}
	if (sh_ok) {
		if (cli_out_commit(&sh, &err) == 0)
			chmod(shpath, 0755);
		else
			fprintf(stderr, "vmsim plot: %s\n", err.msg);
	}
	exp_table_free(&t);
	exp_free(&e);
	if (!data_only && !gp)
		return 2;
	if (failures) {
		fprintf(stderr, "vmsim plot: %d figure%s not drawn\n", failures, failures > 1 ? "s" : "");
		return 1;
	}
	return 0;
}
