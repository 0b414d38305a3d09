/*
 * cmd_trace.c - `vmsim trace`: generate, inspect and import .vmt traces.
 *
 *   vmsim trace gen -w WORKLOAD[:k=v,...] [-o FILE]
 *   vmsim trace info [--time] FILE
 *   vmsim trace cat FILE
 *   vmsim trace import --from lackey|champsim [-o FILE] [INPUT|-]
 *
 * Output rule for gen and import: -o FILE, or "-o -" for stdout; without -o
 * the trace goes to stdout when stdout is not a terminal (pipelines), and it
 * is an error on a terminal.  A file appears at -o only when the command
 * completes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../traces/vmt.h"
#include "../../workloads/wl.h"
#include "cli.h"

#define BATCH 4096

static const char trace_usage[] =
	"usage: vmsim trace SUBCOMMAND [ARGS...]\n\n"
	"  gen     -w WORKLOAD[:k=v,...] [-o FILE]   write a workload's events as a .vmt trace\n"
	"  info    [--time] FILE                     header, record counts, bytes per access\n"
	"  cat     FILE                              one line per event\n"
	"  import  --from lackey|champsim [-o FILE] [INPUT|-]\n"
	"                                            convert a foreign trace to .vmt\n\n"
	"FILE may be '-' (stdin/stdout).  Without -o, gen and import write to stdout\n"
	"when it is not a terminal.  'vmsim trace SUBCOMMAND --help' for details;\n"
	"the format is specified in traces/FORMAT.md.\n";

static const char gen_usage[] =
	"usage: vmsim trace gen -w WORKLOAD[:k=v,...] [-o FILE]\n\n"
	"Run a built-in workload (see 'vmsim workloads') and write its events to a\n"
	".vmt trace.  The header records the workload, its parameters (defaults\n"
	"included) and the seed.  A summary goes to stderr.\n\n"
	"  -w, --workload SPEC   e.g. stride:pages=512,passes=20 or gups:mb=64,seed=7\n"
	"  -o, --output FILE     the trace; '-' for stdout (default: stdout if it is\n"
	"                        not a terminal).  Nothing is left at FILE on failure.\n";

static const char info_usage[] =
	"usage: vmsim trace info [--time] FILE\n\n"
	"Print the header (version, flags, workload, parameters, seed), the number of\n"
	"blocks and records, records per kind and per access op, the file size and\n"
	"compressed bytes per access.  Decodes the whole trace, so it also checks it.\n\n"
	"  --time   add the decode rate (events per second)\n";

static const char cat_usage[] =
	"usage: vmsim trace cat FILE\n\n"
	"Print one line per event: 'cpuV pid P KIND ...'.  FILE may be '-'.\n";

static const char import_usage[] =
	"usage: vmsim trace import --from lackey|champsim [-o FILE] [INPUT|-]\n\n"
	"Convert a foreign trace into .vmt.  INPUT defaults to stdin.\n\n"
	"  --from lackey     output of valgrind --tool=lackey --trace-mem=yes; other\n"
	"                    lines (==PID== commentary, program output) are skipped:\n"
	"                      valgrind --tool=lackey --trace-mem=yes --log-fd=1 PROG |\n"
	"                        vmsim trace import --from lackey -o prog.vmt\n"
	"  --from champsim   ChampSim input_instr records (raw, .xz or .gz)\n"
	"  -o, --output FILE the trace; '-' for stdout (default: stdout if it is not\n"
	"                    a terminal).  Nothing is left at FILE on failure.\n"
	"All events get pid 1 and vCPU 0.\n";

/* Match "-s VAL", "--long VAL" or "--long=VAL" at argv[*i]; 1 if matched. */
static int opt_arg(int argc, char **argv, int *i, const char *s, const char *l,
		   const char **val, const char *cmd, int *bad)
{
	const char *a = argv[*i];
	size_t ll = strlen(l);
	if (strncmp(a, l, ll) == 0 && a[ll] == '=') {
		*val = a + ll + 1;
		return 1;
	}
	if (strcmp(a, l) != 0 && (!s || strcmp(a, s) != 0))
		return 0;
	if (*i + 1 >= argc) {
		*bad = cli_usage_error(cmd, "%s needs a value", a);
		return 1;
	}
	*val = argv[++*i];
	return 1;
}

static const char *default_output(const char *cmd, const char *out, int *bad)
{
	if (out)
		return out;
	if (isatty(STDOUT_FILENO)) {
		*bad = cli_usage_error(cmd, "refusing to write a binary trace to a terminal; "
					    "use -o FILE or a pipe");
		return NULL;
	}
	return "-";
}

struct counting_writer {
	struct vmt_writer *w;
	uint64_t accesses;
};

static int count_flush(void *arg, const struct vm_event *ev, size_t n)
{
	struct counting_writer *cw = arg;
	for (size_t i = 0; i < n; i++)
		cw->accesses += ev[i].kind == EV_ACCESS;
	return vmt_sink_flush(cw->w, ev, n);
}

static int gen_main(int argc, char **argv)
{
	const char *cmd = "trace gen", *spec = NULL, *out = NULL;
	int bad = 0;
	if (cli_wants_help(argc, argv)) {
		fputs(gen_usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc && !bad; i++) {
		if (opt_arg(argc, argv, &i, "-w", "--workload", &spec, cmd, &bad) ||
		    opt_arg(argc, argv, &i, "-o", "--output", &out, cmd, &bad))
			continue;
		bad = cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
	}
	if (bad)
		return bad;
	if (!spec)
		return cli_usage_error(cmd, "-w WORKLOAD is required");
	if (!(out = default_output(cmd, out, &bad)))
		return bad;

	struct vmerr err = {{0}};
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	int rc = wl_parse(spec, &d, p, &err);
	if (rc < 0)
		return cli_fail(rc, &err);

	struct vmt_meta meta = {0};
	snprintf(meta.workload, sizeof meta.workload, "%s", d->name);
	wl_format_params(d, p, meta.params, sizeof meta.params);
	meta.seed = p[d->nparams];
	struct vmt_writer *w = vmt_writer_open(out, &meta, &err);
	if (!w)
		return cli_fail(VM_EIO, &err);

	static struct vm_event buf[BATCH];
	struct counting_writer cw = {.w = w};
	struct ev_sink sink = {.buf = buf, .cap = BATCH, .flush = count_flush, .arg = &cw};
	rc = wl_generate(d, p, &sink);
	if (rc < 0) {
		vmt_writer_error(w, &err);
		vmt_writer_abort(w);
		return cli_fail(rc, &err);
	}
	if ((rc = vmt_writer_flush(w, &err)) < 0) {
		vmt_writer_abort(w);
		return cli_fail(rc, &err);
	}
	uint64_t recs = vmt_writer_records(w), bytes = vmt_writer_bytes(w) + VMT_END_BYTES;
	if ((rc = vmt_writer_close(w, &err)) < 0)
		return cli_fail(rc, &err);
	fprintf(stderr,
		"%s: %s:%s: %" PRIu64 " records (%" PRIu64 " accesses), %" PRIu64
		" bytes, %.4f bytes/access\n",
		strcmp(out, "-") ? out : "<stdout>", d->name, meta.params, recs, cw.accesses, bytes,
		cw.accesses ? (double)bytes / (double)cw.accesses : 0.0);
	return 0;
}

struct counts {
	uint64_t kind[EV_KIND_COUNT];
	uint64_t op[3];
	uint64_t events;
};

static int info_main(int argc, char **argv)
{
	const char *cmd = "trace info", *path = NULL;
	int timeit = 0;
	if (cli_wants_help(argc, argv)) {
		fputs(info_usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--time") == 0)
			timeit = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
		else if (path)
			return cli_usage_error(cmd, "one FILE only ('%s' is extra)", argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return cli_usage_error(cmd, "FILE is required");

	struct vmerr err = {{0}};
	struct vmt_meta meta;
	struct vmt_reader *r = vmt_reader_open(path, &meta, &err);
	if (!r)
		return cli_fail(VM_EINPUT, &err);
	static struct vm_event buf[BATCH];
	struct counts c;
	memset(&c, 0, sizeof c);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long n;
	while ((n = vmt_read(r, buf, BATCH, &err)) > 0) {
		for (long i = 0; i < n; i++) {
			c.kind[buf[i].kind]++;
			if (buf[i].kind == EV_ACCESS && buf[i].op < 3)
				c.op[buf[i].op]++;
		}
		c.events += (uint64_t)n;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct vmt_stats st;
	vmt_reader_stats(r, &st);
	vmt_reader_close(r);
	if (n < 0)
		return cli_fail((int)n, &err);

	uint64_t acc = c.kind[EV_ACCESS];
	printf("file           %s\n", path);
	printf("version        %" PRIu32 "\n", meta.version);
	printf("flags          0x%" PRIx32 "\n", meta.flags);
	printf("workload       %s\n", meta.workload);
	printf("params         %s\n", meta.params);
	printf("seed           %" PRIu64 "\n", meta.seed);
	printf("blocks         %" PRIu64 "\n", st.blocks);
	printf("records        %" PRIu64 "\n", c.events);
	for (unsigned k = 0; k < EV_KIND_COUNT; k++) {
		if (!c.kind[k])
			continue;
		printf("  %-12s %" PRIu64, ev_kind_name((enum ev_kind)k), c.kind[k]);
		if (k == EV_ACCESS)
			printf(" (load %" PRIu64 ", store %" PRIu64 ", fetch %" PRIu64 ")", c.op[0],
			       c.op[1], c.op[2]);
		putchar('\n');
	}
	printf("accesses       %" PRIu64 "\n", acc);
	printf("file size      %" PRIu64 " bytes\n", st.bytes);
	printf("payload        %" PRIu64 " bytes before compression\n", st.payload_bytes);
	if (acc)
		printf("bytes/access   %.4f compressed, %.4f before compression\n",
		       (double)st.bytes / (double)acc, (double)st.payload_bytes / (double)acc);
	if (timeit) {
		double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
		printf("decode         %.3f s, %.1f M events/s\n", s,
		       s > 0 ? (double)c.events / s / 1e6 : 0.0);
	}
	return 0;
}

static int cat_main(int argc, char **argv)
{
	const char *cmd = "trace cat", *path = NULL;
	if (cli_wants_help(argc, argv)) {
		fputs(cat_usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
		if (path)
			return cli_usage_error(cmd, "one FILE only ('%s' is extra)", argv[i]);
		path = argv[i];
	}
	if (!path)
		return cli_usage_error(cmd, "FILE is required");

	struct vmerr err = {{0}};
	struct vmt_meta meta;
	struct vmt_reader *r = vmt_reader_open(path, &meta, &err);
	if (!r)
		return cli_fail(VM_EINPUT, &err);
	static struct vm_event buf[BATCH];
	char line[256];
	long n;
	int werr = 0;
	while (!werr && (n = vmt_read(r, buf, BATCH, &err)) > 0) {
		for (long i = 0; i < n; i++) {
			int len = ev_format(&buf[i], line, sizeof line - 1);
			if (len < 0)
				continue;
			if ((size_t)len > sizeof line - 2)
				len = (int)sizeof line - 2;
			line[len] = '\n';
			errno = 0;
			if (fwrite(line, 1, (size_t)len + 1, stdout) != (size_t)len + 1) {
				werr = errno ? errno : EIO;
				break;
			}
		}
	}
	vmt_reader_close(r);
	if (!werr && fflush(stdout) != 0)
		werr = errno ? errno : EIO;
	/* A reader that went away (`| head`) is not an error worth a message. */
	if (werr == EPIPE)
		return 0;
	if (werr) {
		fprintf(stderr, "vmsim trace cat: write failed: %s\n", strerror(werr));
		return 1;
	}
	if (n < 0)
		return cli_fail((int)n, &err);
	return 0;
}

static int import_main(int argc, char **argv)
{
	const char *cmd = "trace import", *from = NULL, *out = NULL, *in = NULL;
	int bad = 0;
	if (cli_wants_help(argc, argv)) {
		fputs(import_usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc && !bad; i++) {
		if (opt_arg(argc, argv, &i, NULL, "--from", &from, cmd, &bad) ||
		    opt_arg(argc, argv, &i, "-o", "--output", &out, cmd, &bad))
			continue;
		if (argv[i][0] == '-' && argv[i][1])
			bad = cli_usage_error(cmd, "unknown option '%s'", argv[i]);
		else if (in)
			bad = cli_usage_error(cmd, "one INPUT only ('%s' is extra)", argv[i]);
		else
			in = argv[i];
	}
	if (bad)
		return bad;
	if (!from)
		return cli_usage_error(cmd, "--from lackey|champsim is required");
	int lackey = strcmp(from, "lackey") == 0;
	if (!lackey && strcmp(from, "champsim") != 0)
		return cli_usage_error(cmd, "unknown --from '%s' (known: lackey, champsim)", from);
	if (!in)
		in = "-";
	if (!(out = default_output(cmd, out, &bad)))
		return bad;

	struct vmerr err = {{0}};
	FILE *f = NULL;
	if (lackey) {
		f = strcmp(in, "-") == 0 ? stdin : fopen(in, "r");
		if (!f) {
			vmerr_set(&err, VM_EINPUT, "%s: cannot open: %s", in, strerror(errno));
			return cli_fail(VM_EINPUT, &err);
		}
	}
	struct vmt_meta meta = {0};
	snprintf(meta.workload, sizeof meta.workload, "%s", from);
	const char *base = strrchr(in, '/');
	snprintf(meta.params, sizeof meta.params, "source=%s",
		 strcmp(in, "-") == 0 ? "<stdin>" : base ? base + 1 : in);
	struct vmt_writer *w = vmt_writer_open(out, &meta, &err);
	if (!w) {
		if (f && f != stdin)
			fclose(f);
		return cli_fail(VM_EIO, &err);
	}
	static struct vm_event buf[BATCH];
	struct ev_sink sink = {.buf = buf, .cap = BATCH, .flush = vmt_sink_flush, .arg = w};
	long n = lackey ? trace_import_lackey(f, strcmp(in, "-") == 0 ? "<stdin>" : in, 1, &sink, &err)
			: trace_import_champsim(in, 1, &sink, &err);
	if (f && f != stdin)
		fclose(f);
	if (n >= 0 && ev_sink_flush(&sink) < 0)
		n = sink.err;
	if (n < 0) {
		vmt_writer_error(w, &err); /* the writer's own message is the better one */
		vmt_writer_abort(w);
		return cli_fail((int)n, &err);
	}
	uint64_t recs = vmt_writer_records(w);
	int rc = vmt_writer_close(w, &err);
	if (rc < 0)
		return cli_fail(rc, &err);
	fprintf(stderr, "%s: imported %" PRIu64 " records from %s\n",
		strcmp(out, "-") ? out : "<stdout>", recs, strcmp(in, "-") ? in : "<stdin>");
	return 0;
}

int cmd_trace(int argc, char **argv)
{
	if (argc < 2) {
		fputs(trace_usage, stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		fputs(trace_usage, stdout);
		return 0;
	}
	if (strcmp(sub, "gen") == 0)
		return gen_main(argc - 1, argv + 1);
	if (strcmp(sub, "info") == 0)
		return info_main(argc - 1, argv + 1);
	if (strcmp(sub, "cat") == 0)
		return cat_main(argc - 1, argv + 1);
	if (strcmp(sub, "import") == 0)
		return import_main(argc - 1, argv + 1);
	return cli_usage_error("trace", "unknown subcommand '%s' (gen, info, cat, import)", sub);
}
