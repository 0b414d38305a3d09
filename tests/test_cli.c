/*
 * test_cli.c - `vmsim run` as a user meets it: the JSON and CSV reports,
 * exit statuses, one-line errors, -o only on success, --help.
 *
 * The binary is $VMSIM (set by ctest), else the one in the build tree.
 * Numbers come from the same 32-page stride test_sim.c works out by hand:
 * 320 loads, 64 L1 and L2 misses, 64 walks of 67 references, 32 faults.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STRIDE "stride:pages=32,passes=10"

static char dir[sizeof VMSIM_BINARY_DIR + 64];
static char out_path[sizeof dir + 16], err_path[sizeof dir + 16];

static void mkdir_tmp(void)
{
	cr_assert_eq(system("mkdir -p '" VMSIM_BINARY_DIR "/test-tmp'"), 0);
	snprintf(dir, sizeof dir, "%s/test-tmp/cli-XXXXXX", VMSIM_BINARY_DIR);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(out_path, sizeof out_path, "%s/stdout", dir);
	snprintf(err_path, sizeof err_path, "%s/stderr", dir);
	fclose(fopen(out_path, "w")); /* so counting the directory's files sees them from the start */
	fclose(fopen(err_path, "w"));
}

static void rm_tmp(void)
{
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(cli, .init = mkdir_tmp, .fini = rm_tmp);

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	size_t r;
	while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n < 2)
			b = realloc(b, cap *= 2);
	}
	b[n] = 0;
	fclose(f);
	return b;
}

static unsigned lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

struct res {
	int status;
	char *out, *err;
};

/* Run "$VMSIM ARGS" (ARGS is shell text); stdout and stderr are captured. */
static struct res vmsim(const char *args)
{
	const char *bin = getenv("VMSIM");
	if (!bin)
		bin = VMSIM_BINARY_DIR "/vmsim";
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", bin, args, out_path, err_path);
	int st = system(cmd);
	cr_assert(WIFEXITED(st), "%s: did not exit normally (status 0x%x)", cmd, st);
	struct res r = {WEXITSTATUS(st), slurp(out_path), slurp(err_path)};
	cr_assert_not_null(r.out);
	cr_assert_not_null(r.err);
	return r;
}

static void res_free(struct res *r)
{
	free(r->out);
	free(r->err);
}

static double num(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsNumber(v), "JSON has no number '%s'", k);
	return v->valuedouble;
}

static const char *str(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsString(v), "JSON has no string '%s'", k);
	return v->valuestring;
}

static void check_stride_json(cJSON *o)
{
	cr_assert_str_eq(str(o, "mode"), "native");
	cr_assert(strncmp(str(o, "workload"), "stride:", 7) == 0, "workload '%s'", str(o, "workload"));
	cr_assert_not_null(strstr(str(o, "workload"), "pages=32"));
	cr_assert_str_eq(str(o, "config"), "built-in defaults");
	cr_assert_eq(num(o, "accesses"), 320);
	cr_assert_eq(num(o, "tlb_l1_misses"), 64);
	cr_assert_eq(num(o, "tlb_l2_misses"), 64);
	cr_assert_eq(num(o, "walks"), 64);
	cr_assert_eq(num(o, "walk_refs"), 67);
	cr_assert_eq(num(o, "page_faults"), 32);
	/* cycles is the sum of the cycles_* categories; per access divides it. */
	double sum = 0;
	for (cJSON *it = o->child; it; it = it->next)
		if (!strncmp(it->string, "cycles_", 7) && strcmp(it->string, "cycles_per_access"))
			sum += it->valuedouble;
	cr_assert_gt(num(o, "cycles"), 0);
	cr_assert_eq(num(o, "cycles"), sum);
	cr_assert_lt(fabs(num(o, "cycles_per_access") - sum / 320), 1e-9);
}

Test(cli, run_json)
{
	struct res r = vmsim("run -w " STRIDE " --json");
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert_eq(lines(r.out), 1, "one JSON object on one line:\n%s", r.out);
	cJSON *o = cJSON_Parse(r.out);
	cr_assert(cJSON_IsObject(o), "not a JSON object: %s", r.out);
	check_stride_json(o);
	cJSON_Delete(o);
	res_free(&r);
}

/* Split one CSV line (RFC 4180 quoting) into fields; returns the count. */
static unsigned csv_split(char *line, char **f, unsigned max)
{
	unsigned n = 0;
	char *p = line;
	for (;;) {
		cr_assert_lt(n, max);
		char *w = p;
		f[n++] = w;
		if (*p == '"') {
			p++;
			for (;;) {
				cr_assert(*p, "unterminated quote");
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
		} else {
			while (*p && *p != ',' && *p != '\n')
				*w++ = *p++;
		}
		char c = *p;
		*w = 0;
		if (c != ',')
			return n;
		p++;
	}
}

static int col(char **h, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(h[i], name))
			return (int)i;
	cr_assert_fail("CSV has no column '%s'", name);
	return -1;
}

Test(cli, run_csv)
{
	struct res r = vmsim("run -w " STRIDE " --csv");
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert_eq(lines(r.out), 2, "a header and one row:\n%s", r.out);
	char *row = strchr(r.out, '\n') + 1;
	row[-1] = 0;
	char *h[512], *v[512];
	unsigned nh = csv_split(r.out, h, 512), nv = csv_split(row, v, 512);
	cr_assert_eq(nh, nv, "header has %u columns, row %u", nh, nv);

	/* The same columns, in the same order, as the JSON object's keys. */
	struct res j = vmsim("run -w " STRIDE " --json");
	cJSON *o = cJSON_Parse(j.out);
	cr_assert_not_null(o);
	unsigned i = 0;
	for (cJSON *it = o->child; it; it = it->next, i++) {
		cr_assert_lt(i, nh);
		cr_assert_str_eq(h[i], it->string, "column %u", i);
		if (cJSON_IsString(it))
			cr_assert_str_eq(v[i], it->valuestring, "%s", h[i]);
		else
			cr_assert_lt(fabs(strtod(v[i], NULL) - it->valuedouble), 1e-3, "%s: %s vs %g",
				     h[i], v[i], it->valuedouble);
	}
	cr_assert_eq(i, nh);
	cr_assert_str_eq(v[col(h, nh, "mode")], "native");
	cr_assert(strncmp(v[col(h, nh, "workload")], "stride:pages=32,", 16) == 0, "%s",
		  v[col(h, nh, "workload")]);
	cr_assert_str_eq(v[col(h, nh, "config")], "built-in defaults");
	cr_assert_str_eq(v[col(h, nh, "accesses")], "320");
	cr_assert_str_eq(v[col(h, nh, "tlb_l1_misses")], "64");
	cr_assert_str_eq(v[col(h, nh, "tlb_l2_misses")], "64");
	cr_assert_str_eq(v[col(h, nh, "walks")], "64");
	cr_assert_str_eq(v[col(h, nh, "walk_refs")], "67");
	cr_assert_str_eq(v[col(h, nh, "page_faults")], "32");
	col(h, nh, "cycles");
	col(h, nh, "cycles_per_access");
	cJSON_Delete(o);
	res_free(&j);
	res_free(&r);
}

Test(cli, run_text_default)
{
	struct res r = vmsim("run -w " STRIDE);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "page faults"));
	cr_assert_not_null(strstr(r.out, "320"));
	res_free(&r);
}

static void bad_config_file(char *path, size_t len)
{
	snprintf(path, len, "%s/bad.ini", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("[tlb]\npcid = sometimes\n", f);
	fclose(f);
}

/* Usage and input errors: exit 2, nothing on stdout, one line on stderr
 * that says what is wrong. */
Test(cli, errors_exit_2_with_one_line)
{
	char cfgpath[sizeof dir + 16], bad_c[sizeof dir + 64];
	bad_config_file(cfgpath, sizeof cfgpath);
	snprintf(bad_c, sizeof bad_c, "run -w stride -c '%s'", cfgpath);
	const struct {
		const char *args, *says;
	} cases[] = {
		{"run -w nosuch", "nosuch"},
		{"run -w stride --bogus", "--bogus"},
		{"run -w stride -s tlb.pcid=maybe", "tlb.pcid=maybe"},
		{"run -w stride -s nosuch.key=1", "nosuch.key"},
		{bad_c, "bad.ini:2"},
		{"run -w stride -c /nonexistent/x.ini", "/nonexistent/x.ini"},
		{"run -w stride:bogus=1", "bogus"},
		{"run -w stride:pages=many", "many"},
		{"run -w stride --json --csv", "--csv"},
		{"run", "-w"},
		{"run -w stride extra", "extra"},
		{"run -w stride -m nosuchmode", "nosuchmode"},
		{"run -w stride --threads 3", "--threads takes 1 or 2"},
		{"bench --threads 0", "--threads takes 1 or 2"},
		{"nosuchcommand", "nosuchcommand"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct res r = vmsim(cases[i].args);
		cr_assert_eq(r.status, 2, "'%s': exit %d, stderr: %s", cases[i].args, r.status, r.err);
		cr_assert_eq(lines(r.err), 1, "'%s': stderr is not one line:\n%s", cases[i].args,
			     r.err);
		cr_assert_not_null(strstr(r.err, cases[i].says), "'%s': stderr does not say '%s': %s",
				   cases[i].args, cases[i].says, r.err);
		cr_assert_str_empty(r.out, "'%s' printed on stdout: %s", cases[i].args, r.out);
		res_free(&r);
	}
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static unsigned entries_in_dir(void)
{
	char cmd[sizeof dir + 32];
	snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	unsigned n = 0;
	cr_assert_eq(fscanf(p, "%u", &n), 1);
	pclose(p);
	return n;
}

/* -o FILE appears only when the run completes, and never half-written. */
Test(cli, output_file_only_on_success)
{
	char path[sizeof dir + 16], args[sizeof dir + 128];
	snprintf(path, sizeof path, "%s/report.json", dir);
	unsigned before = entries_in_dir();

	snprintf(args, sizeof args, "run -w nosuch --json -o '%s'", path);
	struct res r = vmsim(args);
	cr_assert_eq(r.status, 2);
	cr_assert_not(exists(path), "a failed run left %s", path);
	res_free(&r);

	snprintf(args, sizeof args, "run -w stride -s tlb.l2.entries=1000 --json -o '%s'", path);
	r = vmsim(args);
	cr_assert_eq(r.status, 2);
	cr_assert_not(exists(path));
	res_free(&r);

	/* A run that fails inside the model (no guest memory) leaves nothing. */
	snprintf(args, sizeof args, "run -w stride -s guest.mem_gb=1 --json -o '%s'", path);
	r = vmsim(args);
	if (r.status != 0) {
		cr_assert_eq(lines(r.err), 1, "%s", r.err);
		cr_assert_not(exists(path));
	}
	res_free(&r);
	unlink(path);
	cr_assert_eq(entries_in_dir(), before, "a failed run left a temporary file in %s", dir);

	snprintf(args, sizeof args, "run -w " STRIDE " --json -o '%s'", path);
	r = vmsim(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.out, "with -o nothing goes to stdout");
	char *txt = slurp(path);
	cr_assert_not_null(txt, "%s was not written", path);
	cJSON *o = cJSON_Parse(txt);
	cr_assert(cJSON_IsObject(o), "%s", txt);
	check_stride_json(o);
	cJSON_Delete(o);
	free(txt);
	res_free(&r);
	cr_assert_eq(entries_in_dir(), before + 1, "only the report is new");
}

Test(cli, check_option_passes)
{
	struct res r = vmsim("run -w gups:mb=8,updates=20000 --check --json");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cJSON *o = cJSON_Parse(r.out);
	cr_assert_not_null(o);
	cr_assert_eq(num(o, "accesses"), 40000);
	cJSON_Delete(o);
	res_free(&r);
}

/* The same report whether the PTE cache model runs on a second thread or not. */
Test(cli, threads_change_no_figure)
{
	struct res one = vmsim("run -m nested -w gups:mb=64,updates=50000 --json --threads 1");
	struct res two = vmsim("run -m nested -w gups:mb=64,updates=50000 --json --threads 2");
	cr_assert_eq(one.status, 0, "%s", one.err);
	cr_assert_eq(two.status, 0, "%s", two.err);
	cr_assert_str_eq(one.out, two.out);
	cJSON *o = cJSON_Parse(two.out);
	cr_assert_not_null(o);
	cr_assert_gt(num(o, "pte_from_mem") + num(o, "pte_from_l3"), 0, "the cache model priced walks");
	cJSON_Delete(o);
	res_free(&one);
	res_free(&two);
}

Test(cli, help)
{
	struct res r = vmsim("--help");
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out, "usage"));
	cr_assert_not_null(strstr(r.out, "run"));
	res_free(&r);

	r = vmsim("run --help");
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out, "usage: vmsim run"));
	cr_assert_not_null(strstr(r.out, "--json"));
	cr_assert_str_empty(r.err);
	res_free(&r);

	r = vmsim("");
	cr_assert_eq(r.status, 2, "no command is a usage error");
	res_free(&r);
}
