/*
 * test_labs.c - every lab in labs/ as a teacher meets it: the steps run
 * (at small sizes), the checker accepts the reference answers, rejects each
 * plausible wrong answer naming its key, reports every missing answer, and
 * exits 2 when it cannot check at all.
 *
 * The binary is $VMSIM (set by ctest), else the one in the build tree.  The
 * checkers cache simulation results under test-tmp/labs-cache in the build
 * tree, keyed by a checksum of the vmsim binary and the arguments (see
 * labs/lib/lab.sh), so the example, wrong and empty answers of one lab share
 * one set of runs, and a rebuilt vmsim never meets a stale result.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LABS VMSIM_SOURCE_DIR "/labs"

static const char *vmsim_bin(void)
{
	const char *b = getenv("VMSIM");
	return b && *b ? b : VMSIM_BINARY_DIR "/vmsim";
}

struct res {
	int status;
	char *out; /* stdout and stderr together */
};

/* Run a shell command line with the labs' environment; capture its output. */
static struct res sh(const char *fmt, const char *a, const char *b)
{
	char line[4096], cmd[8192];
	snprintf(line, sizeof line, fmt, a, b);
	snprintf(cmd, sizeof cmd,
		 "mkdir -p '" VMSIM_BINARY_DIR "/test-tmp/labs-cache' && "
		 "export VMSIM='%s' VMSIM_LAB_CACHE='" VMSIM_BINARY_DIR "/test-tmp/labs-cache' && "
		 "{ %s ; } 2>&1",
		 vmsim_bin(), line);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	size_t cap = 1 << 16, n = 0, r;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += r;
		if (cap - n < 2) {
			buf = realloc(buf, cap *= 2);
			cr_assert_not_null(buf);
		}
	}
	buf[n] = 0;
	int st = pclose(p);
	cr_assert(WIFEXITED(st), "%s: did not exit normally (status 0x%x)\n%s", line, st, buf);
	return (struct res){WEXITSTATUS(st), buf};
}

/* ---- answers files ---- */

#define MAX_KEYS 64

struct answers {
	unsigned n;
	char key[MAX_KEYS][64], val[MAX_KEYS][256];
};

static void trim(char *s)
{
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	size_t lead = strspn(s, " \t");
	memmove(s, s + lead, strlen(s + lead) + 1);
}

/* The `key = value` lines of a file, as labs/lib/lab.sh reads them. */
static struct answers read_answers(const char *path)
{
	struct answers a = {0};
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	char line[512];
	while (fgets(line, sizeof line, f)) {
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = 0;
		trim(line);
		trim(eq + 1);
		if (!*line)
			continue;
		cr_assert_lt(a.n, MAX_KEYS, "%s: more than %d keys", path, MAX_KEYS);
		snprintf(a.key[a.n], sizeof a.key[0], "%.*s", (int)sizeof a.key[0] - 1, line);
		snprintf(a.val[a.n], sizeof a.val[0], "%.*s", (int)sizeof a.val[0] - 1, eq + 1);
		a.n++;
	}
	fclose(f);
	cr_assert_gt(a.n, 0, "%s has no answers", path);
	return a;
}

static const char *lookup(const struct answers *a, const char *key)
{
	for (unsigned i = 0; i < a->n; i++)
		if (!strcmp(a->key[i], key))
			return a->val[i];
	return NULL;
}

/* Does the checker's output have a line "  TAG  KEY..." for this key? */
static int has_line(const char *out, const char *tag, const char *key)
{
	char want[128];
	snprintf(want, sizeof want, "  %-7s  %s ", tag, key);
	size_t wl = strlen(want);
	for (const char *l = out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		if (!strncmp(l, want, wl) || (!strncmp(l, want, wl - 1) && l[wl - 1] == ':'))
			return 1;
	return 0;
}

static unsigned count_lines(const char *out, const char *tag)
{
	char want[32];
	snprintf(want, sizeof want, "  %-7s  ", tag);
	unsigned n = 0;
	for (const char *l = out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		n += !strncmp(l, want, strlen(want));
	return n;
}

/* ---- the four tests every lab gets ---- */

static void lab_files(const char *lab)
{
	static const char *const files[] = {"README.md", "check", "steps.sh", "answers.example",
					    "answers.wrong"};
	char path[512];
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(path, sizeof path, LABS "/%s/%s", lab, files[i]);
		struct stat sb;
		cr_assert_eq(stat(path, &sb), 0, "%s is missing", path);
		if (!strcmp(files[i], "check") || !strcmp(files[i], "steps.sh"))
			cr_assert(sb.st_mode & S_IXUSR, "%s is not executable", path);
	}
	/* labs/README.md lists the lab. */
	struct res r = sh("grep -c '%s' " LABS "/README.md%s", lab, "");
	cr_assert_eq(r.status, 0, "labs/README.md does not mention %s", lab);
	free(r.out);
}

static void lab_steps(const char *lab)
{
	lab_files(lab);
	struct res r = sh("SMALL=1 " LABS "/%s/steps.sh%s", lab, "");
	cr_assert_eq(r.status, 0, "%s/steps.sh with SMALL=1 exited %d:\n%s", lab, r.status, r.out);
	cr_assert_not_null(strstr(r.out, "$ "), "%s/steps.sh printed no command:\n%s", lab, r.out);
	cr_assert_null(strstr(r.out, "usage:"), "%s/steps.sh misused a script:\n%s", lab, r.out);
	free(r.out);
}

static void lab_example(const char *lab)
{
	char path[512];
	snprintf(path, sizeof path, LABS "/%s/answers.example", lab);
	struct answers ex = read_answers(path);
	struct res r = sh(LABS "/%s/check " LABS "/%s/answers.example", lab, lab);
	cr_assert_eq(r.status, 0, "%s rejects its own reference answers:\n%s", lab, r.out);
	for (unsigned i = 0; i < ex.n; i++)
		cr_assert(has_line(r.out, "right", ex.key[i]), "%s: no 'right' line for %s:\n%s", lab,
			  ex.key[i], r.out);
	cr_assert_eq(count_lines(r.out, "WRONG"), 0, "%s:\n%s", lab, r.out);
	cr_assert_eq(count_lines(r.out, "MISSING"), 0, "%s:\n%s", lab, r.out);
	char tally[64];
	snprintf(tally, sizeof tally, ": %u of %u right\n", ex.n, ex.n);
	cr_assert_not_null(strstr(r.out, tally), "%s: no tally '%s':\n%s", lab, tally + 2, r.out);
	free(r.out);
}

static void lab_wrong(const char *lab)
{
	char path[512];
	snprintf(path, sizeof path, LABS "/%s/answers.example", lab);
	struct answers ex = read_answers(path);
	snprintf(path, sizeof path, LABS "/%s/answers.wrong", lab);
	struct answers wr = read_answers(path);
	struct res r = sh(LABS "/%s/check " LABS "/%s/answers.wrong", lab, lab);
	cr_assert_eq(r.status, 1, "%s accepts its wrong answers (exit %d):\n%s", lab, r.status, r.out);
	unsigned differ = 0;
	for (unsigned i = 0; i < wr.n; i++) {
		const char *want = lookup(&ex, wr.key[i]);
		cr_assert_not_null(want, "%s: answers.wrong has %s, answers.example does not", lab,
				   wr.key[i]);
		if (!strcmp(want, wr.val[i])) {
			cr_assert(has_line(r.out, "right", wr.key[i]), "%s: %s is the reference answer:\n%s",
				  lab, wr.key[i], r.out);
			continue;
		}
		differ++;
		cr_assert(has_line(r.out, "WRONG", wr.key[i]), "%s: %s = %s not rejected:\n%s", lab,
			  wr.key[i], wr.val[i], r.out);
	}
	cr_assert_geq(differ, 5, "%s: answers.wrong tries only %u wrong answers", lab, differ);
	/* Every WRONG line explains itself: "key = value: why". */
	for (const char *l = strstr(r.out, "  WRONG"); l; l = strstr(l + 1, "  WRONG")) {
		const char *nl = strchr(l, '\n'), *colon = strstr(l, ": ");
		cr_assert(colon && (!nl || colon < nl) && (!nl || nl - colon > 20),
			  "%s: a WRONG line without an explanation: %.*s", lab,
			  (int)(nl ? nl - l : (long)strlen(l)), l);
	}
	free(r.out);
}

/* An empty answers file: every key the example answers is reported missing. */
static void lab_missing(const char *lab)
{
	char path[512];
	snprintf(path, sizeof path, LABS "/%s/answers.example", lab);
	struct answers ex = read_answers(path);
	struct res r = sh("f=$(mktemp) && echo '# nothing yet' >$f && " LABS "/%s/check $f; "
			  "s=$?; rm -f $f; exit $s%s",
			  lab, "");
	cr_assert_eq(r.status, 1, "%s, empty answers: exit %d:\n%s", lab, r.status, r.out);
	/* Checkers that need one answer to check the rest (lab 1's machine,
	 * lab 6's trace) stop at it; the others report every key. */
	unsigned missing = count_lines(r.out, "MISSING");
	cr_assert_geq(missing, 1, "%s:\n%s", lab, r.out);
	if (missing > 2)
		for (unsigned i = 0; i < ex.n; i++)
			cr_assert(has_line(r.out, "MISSING", ex.key[i]), "%s: %s not reported missing:\n%s",
				  lab, ex.key[i], r.out);
	free(r.out);
}

#define LAB_TESTS(id, dir)                                                   \
	Test(labs, id##_steps, .timeout = 120) { lab_steps(dir); }           \
	Test(labs, id##_check_accepts_example, .timeout = 120) { lab_example(dir); } \
	Test(labs, id##_check_rejects_wrong, .timeout = 120) { lab_wrong(dir); }   \
	Test(labs, id##_check_reports_missing, .timeout = 120) { lab_missing(dir); }

LAB_TESTS(lab01, "01-tlb-reach")
LAB_TESTS(lab02, "02-huge-pages")
LAB_TESTS(lab03, "03-tagged-tlbs")
LAB_TESTS(lab04, "04-2d-walks")
LAB_TESTS(lab05, "05-shadow-vs-nested")
LAB_TESTS(lab06, "06-real-program")

/* ---- what a checker does when it cannot check ---- */

Test(labs, check_usage_and_unreadable_file_exit_2)
{
	struct res r = sh(LABS "/04-2d-walks/check%s%s", "", "");
	cr_assert_eq(r.status, 2, "no argument: exit %d:\n%s", r.status, r.out);
	cr_assert_not_null(strstr(r.out, "usage:"), "%s", r.out);
	free(r.out);
	r = sh(LABS "/04-2d-walks/check /nonexistent/answers.txt%s%s", "", "");
	cr_assert_eq(r.status, 2, "unreadable file: exit %d:\n%s", r.status, r.out);
	cr_assert_not_null(strstr(r.out, "/nonexistent/answers.txt"), "%s", r.out);
	free(r.out);
}

Test(labs, check_without_vmsim_says_how_to_build)
{
	/* sh() exports VMSIM; an assignment before the command overrides it. */
	struct res r = sh("VMSIM=/nonexistent/vmsim " LABS "/04-2d-walks/check " LABS
			  "/04-2d-walks/answers.example%s%s",
			  "", "");
	cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.out);
	cr_assert_not_null(strstr(r.out, "scripts/build.sh"), "%s", r.out);
	free(r.out);
}

Test(labs, check_finds_vmsim_in_the_build_tree)
{
	/* Without $VMSIM the checker uses build/vmsim under the repository; skip
	 * when the build tree is elsewhere. */
	struct stat sb;
	if (stat(VMSIM_SOURCE_DIR "/build/vmsim", &sb) != 0)
		cr_skip_test("no build/vmsim in the source tree");
	struct res r = sh("env -u VMSIM " LABS "/04-2d-walks/check " LABS
			  "/04-2d-walks/answers.example%s%s",
			  "", "");
	cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.out);
	free(r.out);
}

Test(labs, lab01_unknown_machine_is_wrong)
{
	struct res r = sh("f=$(mktemp) && echo 'machine = z' >$f && " LABS
			  "/01-tlb-reach/check $f; s=$?; rm -f $f; exit $s%s%s",
			  "", "");
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.out);
	cr_assert(has_line(r.out, "WRONG", "machine"), "%s", r.out);
	free(r.out);
}

Test(labs, lab01_machines_are_valid_and_undisclosed_sizes_differ)
{
	/* Each profile loads, and its TLBs differ from the default machine's. */
	static const char *const m[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++) {
		struct res r = sh("\"$VMSIM\" config -c " LABS "/01-tlb-reach/machine-%s.ini | "
				  "awk '/^\\[tlb\\]/ { t = 1 } /^\\[pwc\\]/ { t = 0 } "
				  "t && ($1 == \"l1d.entries\" || $1 == \"l2.entries\") { print $3 }'%s",
				  m[i], "");
		cr_assert_eq(r.status, 0, "machine-%s.ini:\n%s", m[i], r.out);
		unsigned l1 = 0, l2 = 0;
		cr_assert_eq(sscanf(r.out, "%u %u", &l1, &l2), 2, "machine-%s: %s", m[i], r.out);
		cr_assert(l1 != 64 && l2 != 1536, "machine-%s has the default sizes %u, %u", m[i], l1, l2);
		free(r.out);
	}
}

Test(labs, lab06_rejects_a_trace_not_from_lackey)
{
	struct res r = sh("d=$(mktemp -d) && \"$VMSIM\" trace gen -w stride -o $d/t.vmt >/dev/null && "
			  "printf 'program = x\\ntrace = t.vmt\\n' >$d/a.txt && " LABS
			  "/06-real-program/check $d/a.txt; s=$?; rm -rf $d; exit $s%s%s",
			  "", "");
	cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.out);
	cr_assert(has_line(r.out, "WRONG", "trace"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "lackey"), "%s", r.out);
	free(r.out);
}
