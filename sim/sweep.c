/*
 * sweep.c - run an experiment's runs in worker processes into runs.csv;
 * resume, shard, merge, and hand the job list to Slurm.
 *
 * Notes:
 *  - One process per run (fork): a run that crashes or runs out of memory
 *    costs only its own row, which records how it died, and every run
 *    starts from the same clean state.  Workers send their row through a
 *    pipe; only the parent writes runs.csv, one row per write() on an
 *    O_APPEND descriptor, so no row is ever half there or there twice.
 *  - measure = phase: the statistics at the workload's phase-1 marker are
 *    taken from a copy of the simulator finished there (sim_finish folds
 *    derived counters; it must not touch the live one, whose run goes on),
 *    and subtracted at the end.  Every counter only grows, so the difference
 *    is what the measured part did.
 *  - Workers ask the kernel to kill them if the parent dies (Slurm's time
 *    limit, Ctrl-C), so no orphan keeps computing a row nobody will write.
 */
#define _GNU_SOURCE
#include "sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "sim.h"

#define ROW_MAX 16384
#define SETS_MAX (EXP_MAX_KEYS + 256)

/* ---- files ---- */

int sweep_mkdirs(const char *path, struct vmerr *err)
{
	char p[4096];
	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
		return vmerr_set(err, VM_EINPUT, "%s: path too long", path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			return vmerr_set(err, VM_EIO, "%s: cannot create folder: %s", p, strerror(errno));
		*s = c;
		if (!c)
			break;
	}
	return 0;
}

/* The whole file, NUL-terminated; *len its size.  NULL with errno set. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap + 1);
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *b2 = realloc(buf, 2 * cap + 1);
			if (!b2) {
				free(buf);
				buf = NULL;
				errno = ENOMEM;
				break;
			}
			buf = b2;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf) {
		buf[n] = 0;
		*len = n;
	}
	return buf;
}

/* Write data to path.tmp.PID and rename it over path. */
static int write_atomic(const char *path, const char *data, size_t len, struct vmerr *err)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return vmerr_set(err, VM_EIO, "%s: cannot write: %s", tmp, strerror(errno));
	size_t w = fwrite(data, 1, len, f);
	if (fclose(f) != 0 || w != len) {
		unlink(tmp);
		return vmerr_set(err, VM_EIO, "%s: write failed (disk full?)", tmp);
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return vmerr_set(err, VM_EIO, "%s: cannot rename into place: %s", path, strerror(e));
	}
	return 0;
}

/* DIR/experiment.ini: the experiment as run, for 'vmsim plot DIR'.  A
 * leading [experiment] section names it and its origin, so the copy keeps
 * the name its file name gave it. */
static int copy_experiment(const struct experiment *e, const char *dir, struct vmerr *err)
{
	char dst[4200];
	size_t len;
	snprintf(dst, sizeof dst, "%s/experiment.ini", dir);
	char *text = read_all(e->path, &len);
	if (!text)
		return vmerr_set(err, VM_EINPUT, "%s: cannot read: %s", e->path, strerror(errno));
	char head[8400];
	int hl = snprintf(head, sizeof head,
			  "; copied by vmsim sweep; the sweep ran this experiment\n"
			  "[experiment]\nname = %s\norigin = %s\n\n",
			  e->name, e->origin[0] ? e->origin : e->path);
	char *buf = malloc(len + (size_t)hl + 1);
	int rc;
	if (!buf)
		rc = vmerr_set(err, VM_ENOMEM, "out of memory");
	else {
		const char *body = text;
		/* A copy of a copy: keep one header. */
		if (!strncmp(text, head, strcspn(head, "\n") + 1)) {
			body = strstr(text, "\n\n");
			body = body ? body + 2 : text;
		}
		memcpy(buf, head, (size_t)hl);
		memcpy(buf + hl, body, len - (size_t)(body - text));
		rc = write_atomic(dst, buf, (size_t)hl + len - (size_t)(body - text), err);
	}
	free(buf);
	free(text);
	return rc;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- one run ---- */

struct feed {
	struct sim *s;
	bool measure_phase, snapped;
	struct stats snap;
};

static int feed_flush(void *arg, const struct vm_event *ev, size_t n)
{
	struct feed *f = arg;
	if (f->measure_phase && !f->snapped)
		for (size_t i = 0; i < n; i++)
			if (ev[i].kind == EV_PHASE && ev[i].arg == 1) {
				int rc = i ? sim_consume(f->s, ev, i) : 0;
				if (rc < 0)
					return rc;
				struct sim *copy = malloc(sizeof *copy);
				if (!copy)
					return VM_ENOMEM;
				sim_pte_sync(f->s); /* the copy shares the live run's queue, if any */
				memcpy(copy, f->s, sizeof *copy);
				sim_finish(copy);
				f->snap = copy->st;
				free(copy);
				f->snapped = true;
				return sim_consume(f->s, ev + i, n - i);
			}
	return sim_consume(f->s, ev, n);
}

int sweep_one(const struct experiment *e, const struct exp_run *r, struct stats *st,
	      struct vmerr *err)
{
	static struct vm_event batch[4096];
	char *sets[SETS_MAX], store[8192], spec[1024];
	int nsets = exp_run_sets(e, r, sets, SETS_MAX, store, sizeof store);
	if (nsets < 0)
		return vmerr_set(err, VM_EINPUT, "run %" PRIu64 ": too many config overrides",
				 r->index);
	struct cfg cfg;
	int rc = cfg_load(&cfg, e->config_path[0] ? e->config_path : NULL, sets, nsets, err);
	if (rc < 0)
		return rc;
	const struct mmu_ops *mode = mmu_find(r->mode);
	if (!mode)
		return vmerr_set(err, VM_EINPUT, "unknown mode '%s'", r->mode);
	exp_run_spec(e, r, spec, sizeof spec);
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	if ((rc = wl_parse(spec, &d, p, err)) < 0)
		return rc;
	cfg_need_vcpus(&cfg, wl_threads(d, p)); /* as vmsim run does */
	struct sim *s = sim_new(&cfg, mode, err);
	if (!s)
		return VM_EINPUT;
	struct feed f = {.s = s, .measure_phase = e->measure_phase};
	struct ev_sink sink = {.buf = batch, .cap = VM_ARRAY_SIZE(batch), .flush = feed_flush, .arg = &f};
	rc = wl_generate(d, p, &sink);
	if (rc < 0) {
		vmerr_set(err, rc, "workload %s under %s: %s", d->name, mode->name,
			  s->errmsg.msg[0] ? s->errmsg.msg : "failed");
		sim_free(s);
		return rc;
	}
	sim_finish(s);
	*st = s->st;
	if (f.snapped) {
		uint64_t *v = (uint64_t *)st;
		const uint64_t *b = (const uint64_t *)&f.snap;
		for (unsigned i = 0; i < stats_count(); i++)
			v[i] -= b[i];
	}
	sim_free(s);
	return 0;
}

/* ---- rows ---- */

struct out {
	char *buf;
	size_t len, n;
	bool over;
};

static void put(struct out *o, const char *s)
{
	size_t l = strlen(s);
	if (o->n + l + 1 > o->len) {
		o->over = true;
		return;
	}
	memcpy(o->buf + o->n, s, l + 1);
	o->n += l;
}

/* One CSV field: quoted when it holds a comma or quote; never a newline. */
static void put_field(struct out *o, const char *s, bool comma)
{
	if (comma)
		put(o, ",");
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	if (!quote) {
		put(o, s);
		return;
	}
	char tmp[1200];
	size_t n = 0;
	tmp[n++] = '"';
	for (; *s && n < sizeof tmp - 3; s++) {
		if (*s == '"')
			tmp[n++] = '"';
		tmp[n++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
	}
	tmp[n++] = '"';
	tmp[n] = 0;
	put(o, tmp);
}

size_t sweep_header(const struct experiment *e, char *buf, size_t len)
{
	struct out o = {buf, len, 0, false};
	put(&o, "run,key,mode,workload");
	for (unsigned i = 0; i < e->nwcols; i++)
		put_field(&o, e->wcols[i], true);
	if (e->sweep_col)
		put(&o, ",sweep");
	for (unsigned i = 0; i < e->nkcols; i++)
		put_field(&o, e->kcols[i], true);
	put(&o, ",config,error");
	for (unsigned i = 0; i < stats_count(); i++)
		put_field(&o, stats_name(i), true);
	put(&o, ",cycles,cycles_per_access\n");
	return o.over ? 0 : o.n;
}

size_t sweep_row(const struct experiment *e, const struct exp_run *r, const struct stats *st,
		 const char *error, char *buf, size_t len)
{
	struct out o = {buf, len, 0, false};
	char num[64], key[17];
	snprintf(num, sizeof num, "%" PRIu64, r->index);
	put(&o, num);
	exp_run_key(e, r, key);
	put_field(&o, key, true);
	put_field(&o, r->mode, true);
	put_field(&o, r->w->desc->name, true);
	for (unsigned i = 0; i < e->nwcols; i++) {
		const char *v = "";
		const struct wl_desc *d = r->w->desc;
		for (unsigned j = 0; j <= d->nparams; j++)
			if (!strcmp(e->wcols[i] + 3, j < d->nparams ? d->params[j].name : "seed"))
				v = r->pval[j];
		put_field(&o, v, true);
	}
	if (e->sweep_col)
		put_field(&o, r->block->name, true);
	for (unsigned i = 0; i < e->nkcols; i++)
		put_field(&o, r->kval[i], true);
	put_field(&o, e->config_path[0] ? e->config_path : "builtin", true);
	put_field(&o, st ? "" : (error && *error ? error : "failed"), true);
	for (unsigned i = 0; i < stats_count(); i++) {
		if (st)
			snprintf(num, sizeof num, "%" PRIu64, stats_value(st, i));
		put_field(&o, st ? num : "", true);
	}
	if (st) {
		snprintf(num, sizeof num, ",%" PRIu64 ",%.4f\n", stats_cycles(st),
			 stats_cycles_per_access(st));
		put(&o, num);
	} else
		put(&o, ",,\n");
	return o.over ? 0 : o.n;
}

/* ---- reading runs.csv back ---- */

struct row {
	uint64_t run;
	const char *line; /* without its newline */
	size_t len;
	bool failed;
};

struct rows {
	char *text;
	struct row *r;
	uint64_t n;
	size_t complete; /* bytes up to the end of the last whole line */
};

static void rows_free(struct rows *rs)
{
	free(rs->text);
	free(rs->r);
	memset(rs, 0, sizeof *rs);
}

/*
 * Read path's rows and check each belongs to e (header equal to ours, run
 * in range and in the shard, key equal to that run's).  A last line without
 * its newline is left out; rs->complete says where the whole lines end.
 */
static int rows_read(const struct experiment *e, const char *path, unsigned shard,
		     unsigned nshards, struct rows *rs, struct vmerr *err)
{
	char header[ROW_MAX];
	size_t hl = sweep_header(e, header, sizeof header), len;
	memset(rs, 0, sizeof *rs);
	rs->text = read_all(path, &len);
	if (!rs->text)
		return vmerr_set(err, VM_EINPUT, "%s: cannot read: %s", path, strerror(errno));
	char *end = strrchr(rs->text, '\n');
	rs->complete = end ? (size_t)(end - rs->text) + 1 : 0;
	if (rs->complete < hl || memcmp(rs->text, header, hl)) {
		rows_free(rs);
		return vmerr_set(err, VM_EUSAGE,
				 "%s: its columns are not this experiment's (%s): the experiment's axes "
				 "changed since; move it away, or start over with --force",
				 path, e->path);
	}
	uint64_t lines = 0;
	for (size_t i = hl; i < rs->complete; i++)
		lines += rs->text[i] == '\n';
	rs->r = calloc(lines ? lines : 1, sizeof *rs->r);
	if (!rs->r) {
		rows_free(rs);
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	}
	int errcol = 4 + (int)e->nwcols + e->sweep_col + (int)e->nkcols + 1;
	uint64_t lineno = 1;
	for (char *line = rs->text + hl; line < rs->text + rs->complete;) {
		char *nl = strchr(line, '\n');
		lineno++;
		if (nl == line) {
			line++;
			continue;
		}
		char copy[ROW_MAX], *f[EXP_MAX_COLS + EXP_MAX_KEYS + 8];
		size_t l = (size_t)(nl - line);
		if (l >= sizeof copy)
			l = sizeof copy - 1;
		memcpy(copy, line, l);
		copy[l] = 0;
		unsigned nf = exp_csv_split(copy, f, VM_ARRAY_SIZE(f));
		char *endp;
		uint64_t run = strtoull(f[0], &endp, 10);
		if (nf <= (unsigned)errcol || *endp || !*f[0] || run >= e->nruns ||
		    (nshards && run % nshards != shard)) {
			rows_free(rs);
			return vmerr_set(err, VM_EUSAGE,
					 "%s:%" PRIu64 ": not a run of %s%s (it has %" PRIu64 " runs%s); "
					 "move the file away or start over with --force",
					 path, lineno, e->path, nshards ? " in this shard" : "", e->nruns,
					 nshards ? "; run i belongs to shard i mod N" : "");
		}
		struct exp_run r;
		char key[17];
		exp_run_get(e, run, &r);
		exp_run_key(e, &r, key);
		if (strcmp(key, f[1])) {
			rows_free(rs);
			return vmerr_set(err, VM_EUSAGE,
					 "%s:%" PRIu64 ": run %" PRIu64 " has key %s, but %s now gives it "
					 "key %s: the experiment or its base profile changed since; move the "
					 "file away or start over with --force",
					 path, lineno, run, f[1], e->path, key);
		}
		rs->r[rs->n++] = (struct row){run, line, (size_t)(nl - line), *f[errcol] != 0};
		line = nl + 1;
	}
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	return x->run < y->run ? -1 : x->run > y->run;
}

/* Write header + rows (sorted by run, each once) to path atomically.
 * skip_failed leaves failed rows out. */
static int rows_write(const struct experiment *e, const char *path, struct row *r, uint64_t n,
		      bool skip_failed, struct vmerr *err)
{
	char header[ROW_MAX];
	size_t hl = sweep_header(e, header, sizeof header), total = hl;
	qsort(r, n, sizeof *r, row_cmp);
	for (uint64_t i = 0; i < n; i++)
		total += r[i].len + 1;
	char *buf = malloc(total + 1), *p = buf;
	if (!buf)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	memcpy(p, header, hl);
	p += hl;
	for (uint64_t i = 0; i < n; i++) {
		if (skip_failed && r[i].failed)
			continue;
		memcpy(p, r[i].line, r[i].len);
		p += r[i].len;
		*p++ = '\n';
	}
	int rc = write_atomic(path, buf, (size_t)(p - buf), err);
	free(buf);
	return rc;
}

/* ---- the worker pool ---- */

struct worker {
	pid_t pid;
	int fd;
	struct exp_run run;
	char *buf;
	size_t len, cap;
	double t0;
};

static void worker_child(const struct experiment *e, const struct exp_run *r, int fd)
{
	static char row[ROW_MAX];
	struct stats st;
	struct vmerr err = {{0}};
	pid_t parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	int rc = sweep_one(e, r, &st, &err);
	if (rc < 0 && !err.msg[0])
		snprintf(err.msg, sizeof err.msg, "failed (code %d)", rc);
	/* First line: the error (empty if none); then the row. */
	for (char *c = err.msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	size_t n = sweep_row(e, r, rc < 0 ? NULL : &st, err.msg, row, sizeof row);
	char head[600];
	int hn = snprintf(head, sizeof head, "%s\n", rc < 0 ? err.msg : "");
	if (write(fd, head, (size_t)hn) != hn)
		_exit(1);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, row + off, n - off);
		if (w <= 0)
			_exit(1);
		off += (size_t)w;
	}
	_exit(0);
}

static int worker_start(const struct experiment *e, uint64_t i, struct worker *w, struct vmerr *err)
{
	int fds[2];
	if (pipe(fds) < 0)
		return vmerr_set(err, VM_EIO, "pipe: %s", strerror(errno));
	exp_run_get(e, i, &w->run);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return vmerr_set(err, VM_EIO, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		worker_child(e, &w->run, fds[1]);
	}
	close(fds[1]);
	w->pid = pid;
	w->fd = fds[0];
	w->len = 0;
	w->t0 = now();
	return 0;
}

/* The row a finished worker produced, or one recording how it died.
 * *error gets its error (static storage) or NULL. */
static size_t worker_row(const struct experiment *e, struct worker *w, int status, char *row,
			 size_t len, const char **error)
{
	static char msg[600];
	char *nl = w->len ? memchr(w->buf, '\n', w->len) : NULL;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && nl && w->buf[w->len - 1] == '\n' &&
	    (size_t)(w->buf + w->len - (nl + 1)) < len) {
		size_t n = (size_t)(w->buf + w->len - (nl + 1));
		memcpy(row, nl + 1, n);
		*nl = 0;
		snprintf(msg, sizeof msg, "%s", w->buf);
		*error = msg[0] ? msg : NULL;
		return n;
	}
	if (WIFSIGNALED(status))
		snprintf(msg, sizeof msg, "the run died: signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)),
			 WTERMSIG(status) == SIGKILL ? "; out of memory?" : "");
	else
		snprintf(msg, sizeof msg, "the run exited with status %d without a result",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	*error = msg;
	return sweep_row(e, &w->run, NULL, msg, row, len);
}

static int worker_read(struct worker *w)
{
	if (w->cap - w->len < 4096) {
		size_t cap = w->cap ? 2 * w->cap : ROW_MAX + 1024;
		char *b = realloc(w->buf, cap);
		if (!b)
			return -1;
		w->buf = b;
		w->cap = cap;
	}
	ssize_t n = read(w->fd, w->buf + w->len, w->cap - w->len);
	if (n < 0)
		return errno == EINTR ? 1 : -1;
	w->len += (size_t)n;
	return n > 0;
}

static void workers_kill(struct worker *ws, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		kill(ws[i].pid, SIGKILL);
		waitpid(ws[i].pid, NULL, 0);
		close(ws[i].fd);
	}
}

int sweep_run(const struct experiment *e, const struct sweep_opts *o, struct vmerr *err)
{
	char path[4200];
	int rc;
	struct rows have = {0};
	struct worker *ws = NULL;
	uint8_t *present = NULL;
	uint64_t *todo = NULL;
	int fd = -1;
	if ((rc = sweep_mkdirs(o->dir, err)) < 0)
		return rc;
	snprintf(path, sizeof path, "%s/runs.csv", o->dir);
	present = calloc(e->nruns ? e->nruns : 1, 1);
	todo = malloc((e->nruns ? e->nruns : 1) * sizeof *todo);
	ws = calloc(o->jobs ? o->jobs : 1, sizeof *ws);
	if (!present || !todo || !ws) {
		rc = vmerr_set(err, VM_ENOMEM, "out of memory");
		goto out;
	}

	struct sweep_status st = {0};
	for (uint64_t i = 0; i < e->nruns; i++)
		st.total += !o->nshards || i % o->nshards == o->shard;

	if (access(path, F_OK) == 0 && o->force && unlink(path) < 0) {
		rc = vmerr_set(err, VM_EIO, "%s: cannot remove: %s", path, strerror(errno));
		goto out;
	}
	if (access(path, F_OK) == 0) {
		if (!o->resume) {
			rc = vmerr_set(err, VM_EUSAGE,
				       "%s exists: --resume runs only what is missing, --force starts over",
				       path);
			goto out;
		}
		if ((rc = rows_read(e, path, o->shard, o->nshards, &have, err)) < 0)
			goto out;
		for (uint64_t i = 0; i < have.n; i++) {
			if (present[have.r[i].run]) {
				rc = vmerr_set(err, VM_EUSAGE, "%s: run %" PRIu64 " appears twice; "
					       "remove one of its rows", path, have.r[i].run);
				goto out;
			}
			if (!(o->retry_failed && have.r[i].failed))
				present[have.r[i].run] = 1;
		}
		size_t len;
		char *cur = read_all(path, &len);
		bool partial = cur && len != have.complete;
		free(cur);
		if (o->retry_failed || partial) {
			/* Drop a torn last line (and failed rows to retry). */
			if ((rc = rows_write(e, path, have.r, have.n, o->retry_failed, err)) < 0)
				goto out;
		}
	} else {
		char header[ROW_MAX];
		size_t hl = sweep_header(e, header, sizeof header);
		if (!hl) {
			rc = vmerr_set(err, VM_EINPUT, "%s: too many columns", e->path);
			goto out;
		}
		if ((rc = write_atomic(path, header, hl, err)) < 0)
			goto out;
	}
	if ((rc = copy_experiment(e, o->dir, err)) < 0)
		goto out;

	uint64_t ntodo = 0;
	for (uint64_t i = 0; i < e->nruns; i++) {
		if (o->nshards && i % o->nshards != o->shard)
			continue;
		if (present[i])
			st.present++;
		else
			todo[ntodo++] = i;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		rc = vmerr_set(err, VM_EIO, "%s: cannot open for appending: %s", path, strerror(errno));
		goto out;
	}
	double t0 = now();
	if (o->progress)
		o->progress(o->arg, &st);

	unsigned running = 0, jobs = o->jobs ? o->jobs : 1;
	uint64_t next = 0;
	bool stopped = false;
	static char row[ROW_MAX];
	struct pollfd pfd[256];
	if (jobs > VM_ARRAY_SIZE(pfd))
		jobs = VM_ARRAY_SIZE(pfd);
	while (running || (next < ntodo && !stopped)) {
		while (!stopped && running < jobs && next < ntodo) {
			if ((rc = worker_start(e, todo[next], &ws[running], err)) < 0)
				goto kill;
			next++;
			running++;
		}
		for (unsigned i = 0; i < running; i++)
			pfd[i] = (struct pollfd){.fd = ws[i].fd, .events = POLLIN};
		if (poll(pfd, running, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = vmerr_set(err, VM_EIO, "poll: %s", strerror(errno));
			goto kill;
		}
		for (unsigned i = running; i-- > 0;) {
			if (!pfd[i].revents)
				continue;
			int r = worker_read(&ws[i]);
			if (r < 0) {
				rc = vmerr_set(err, VM_EIO, "reading a worker's result: %s", strerror(errno));
				goto kill;
			}
			if (r > 0)
				continue;
			/* EOF: the worker is done. */
			int status;
			close(ws[i].fd);
			while (waitpid(ws[i].pid, &status, 0) < 0 && errno == EINTR)
				;
			const char *error;
			size_t n = worker_row(e, &ws[i], status, row, sizeof row, &error);
			struct worker done = ws[i];
			ws[i] = ws[--running];
			ws[running] = done; /* keep its buffer for reuse */
			if (!n || write(fd, row, n) != (ssize_t)n) {
				rc = vmerr_set(err, VM_EIO, "%s: cannot append a row (disk full?)", path);
				goto kill;
			}
			st.done++;
			st.failed += error != NULL;
			st.run = &done.run;
			st.error = error;
			st.run_seconds = now() - done.t0;
			st.elapsed = now() - t0;
			st.running = running;
			if (o->progress)
				o->progress(o->arg, &st);
			if (o->stop_after && st.done >= o->stop_after && !stopped) {
				stopped = true;
				workers_kill(ws, running);
				running = 0;
				break;
			}
		}
	}
	close(fd);
	fd = -1;
	if (stopped) {
		rc = 1;
		goto out;
	}
	/* Every run of the sweep has its row: sort them by run. */
	rows_free(&have);
	if ((rc = rows_read(e, path, o->shard, o->nshards, &have, err)) < 0)
		goto out;
	rc = rows_write(e, path, have.r, have.n, false, err);
	goto out;
kill:
	workers_kill(ws, running);
out:
	if (fd >= 0)
		close(fd);
	if (ws)
		for (unsigned i = 0; i < (o->jobs ? o->jobs : 1); i++)
			free(ws[i].buf);
	free(ws);
	free(present);
	free(todo);
	rows_free(&have);
	return rc;
}

/* ---- shards ---- */

int sweep_merge(const struct experiment *e, const char *dir, struct vmerr *err)
{
	char sdir[4200], path[4500];
	snprintf(sdir, sizeof sdir, "%s/shards", dir);
	DIR *d = opendir(sdir);
	if (!d)
		return vmerr_set(err, VM_EINPUT, "%s: cannot open: %s (run the shards first: 'vmsim "
				 "sweep %s --shard K/N -o %s/shards/K')", sdir, strerror(errno), e->path,
				 dir);
	struct rows *sh = NULL;
	unsigned nsh = 0;
	struct row *all = NULL;
	uint64_t nall = 0;
	uint64_t *seen = calloc(e->nruns ? e->nruns : 1, sizeof *seen);
	int rc = 0;
	struct dirent *de;
	while (seen && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/runs.csv", sdir, de->d_name);
		if (access(path, F_OK) != 0)
			continue;
		struct rows *s2 = realloc(sh, (nsh + 1) * sizeof *sh);
		if (!s2) {
			rc = vmerr_set(err, VM_ENOMEM, "out of memory");
			break;
		}
		sh = s2;
		if ((rc = rows_read(e, path, 0, 0, &sh[nsh], err)) < 0)
			break;
		nsh++;
		struct row *a2 = realloc(all, (nall + sh[nsh - 1].n + 1) * sizeof *all);
		if (!a2) {
			rc = vmerr_set(err, VM_ENOMEM, "out of memory");
			break;
		}
		all = a2;
		for (uint64_t i = 0; i < sh[nsh - 1].n; i++) {
			struct row *r = &sh[nsh - 1].r[i];
			if (seen[r->run]) {
				rc = vmerr_set(err, VM_EINPUT, "%s: run %" PRIu64 " is also in another "
					       "shard; remove the stray shard folder", path, r->run);
				break;
			}
			seen[r->run] = 1;
			all[nall++] = *r;
		}
		if (rc < 0)
			break;
	}
	closedir(d);
	if (!seen && rc == 0)
		rc = vmerr_set(err, VM_ENOMEM, "out of memory");
	if (rc == 0 && nall != e->nruns) {
		char list[256] = "";
		unsigned listed = 0;
		for (uint64_t i = 0; i < e->nruns && listed < 8; i++)
			if (!seen[i]) {
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%" PRIu64,
					 listed ? ", " : "", i);
				listed++;
			}
		rc = vmerr_set(err, VM_EINPUT,
			       "%s: %" PRIu64 " of %" PRIu64 " runs have no row (runs %s%s): a shard "
			       "did not finish; run it again (run i is in shard i mod N) and merge again",
			       sdir, e->nruns - nall, e->nruns, list,
			       e->nruns - nall > listed ? ", ..." : "");
	}
	if (rc == 0) {
		snprintf(path, sizeof path, "%s/runs.csv", dir);
		rc = rows_write(e, path, all, nall, false, err);
	}
	if (rc == 0)
		rc = copy_experiment(e, dir, err);
	for (unsigned i = 0; i < nsh; i++)
		rows_free(&sh[i]);
	free(sh);
	free(all);
	free(seen);
	return rc;
}

/* 'text' for sh, with ' as '\'' */
static void shq(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

static FILE *open_script(const char *dir, const char *name, char *path, size_t len,
			 struct vmerr *err)
{
	snprintf(path, len, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		vmerr_set(err, VM_EIO, "%s: cannot write: %s", path, strerror(errno));
	return f;
}

static int close_script(FILE *f, const char *path, struct vmerr *err)
{
	if (fclose(f) != 0)
		return vmerr_set(err, VM_EIO, "%s: write failed", path);
	chmod(path, 0755);
	return 0;
}

int sweep_emit_slurm(const struct experiment *e, const char *dir_in, unsigned nshards,
		     unsigned cpus, const char *vmsim, struct vmerr *err)
{
	char dir[PATH_MAX], exp[PATH_MAX], cwd[PATH_MAX], logs[PATH_MAX + 8], path[PATH_MAX + 64];
	int rc;
	snprintf(logs, sizeof logs, "%s/logs", dir_in);
	if ((rc = sweep_mkdirs(logs, err)) < 0)
		return rc;
	if (!realpath(dir_in, dir) || !realpath(e->path, exp) || !getcwd(cwd, sizeof cwd))
		return vmerr_set(err, VM_EIO, "%s: cannot resolve paths: %s", dir_in, strerror(errno));
	if (nshards == 0 || nshards > e->nruns)
		nshards = (unsigned)(e->nruns ? e->nruns : 1);

	FILE *f = open_script(dir, "sweep.sbatch", path, sizeof path, err);
	if (!f)
		return VM_EIO;
	fprintf(f, "#!/bin/sh\n"
		   "# Slurm job array for vmsim experiment %s: %u tasks over its %" PRIu64 " runs.\n"
		   "# Run i belongs to shard i mod %u; task K runs shard K into shards/K/runs.csv\n"
		   "# (and picks up where it stopped if run again).\n"
		   "# Submit the array and the merge after it:   sh %s/submit.sh\n"
		   "# Run one task by hand (exactly its shard):  SLURM_ARRAY_TASK_ID=0 sh %s/sweep.sbatch\n"
		   "#SBATCH --job-name=vmsim-%s\n"
		   "#SBATCH --array=0-%u\n"
		   "#SBATCH --cpus-per-task=%u\n"
		   "#SBATCH --output=%s/logs/sweep-%%A_%%a.out\n"
		   "set -eu\n"
		   ": \"${SLURM_ARRAY_TASK_ID:?is not set: submit with sbatch, or set it to a shard "
		   "0..%u to run one by hand}\"\n",
		e->name, nshards, e->nruns, nshards, dir, dir, e->name, nshards - 1, cpus, dir,
		nshards - 1);
	fputs("vmsim=${VMSIM:-", f);
	shq(f, vmsim);
	fputs("}\ncd ", f);
	shq(f, cwd);
	fputs("\nexec \"$vmsim\" sweep ", f);
	shq(f, exp);
	fprintf(f, " --shard \"$SLURM_ARRAY_TASK_ID/%u\" -j \"${SLURM_CPUS_PER_TASK:-%u}\" \\\n"
		   "\t--resume -o ", nshards, cpus);
	shq(f, dir);
	fputs("\"/shards/$SLURM_ARRAY_TASK_ID\"\n", f);
	if ((rc = close_script(f, path, err)) < 0)
		return rc;

	if (!(f = open_script(dir, "merge.sbatch", path, sizeof path, err)))
		return VM_EIO;
	fprintf(f, "#!/bin/sh\n"
		   "# Merge the shards of experiment %s into runs.csv (the same rows as a local\n"
		   "# sweep), then draw its figures if gnuplot is here.\n"
		   "#SBATCH --job-name=vmsim-%s-merge\n"
		   "#SBATCH --output=%s/logs/merge-%%j.out\n"
		   "set -eu\n"
		   "vmsim=${VMSIM:-",
		e->name, e->name, dir);
	shq(f, vmsim);
	fputs("}\ncd ", f);
	shq(f, cwd);
	fputs("\n\"$vmsim\" sweep ", f);
	shq(f, exp);
	fputs(" --merge ", f);
	shq(f, dir);
	fputs("\nif command -v gnuplot >/dev/null 2>&1; then\n\t\"$vmsim\" plot ", f);
	shq(f, dir);
	fputs("\nelse\n\techo \"gnuplot is not installed here: copy runs.csv home and run 'vmsim plot'\"\nfi\n",
	      f);
	if ((rc = close_script(f, path, err)) < 0)
		return rc;

	if (!(f = open_script(dir, "submit.sh", path, sizeof path, err)))
		return VM_EIO;
	fprintf(f, "#!/bin/sh\n"
		   "# Submit the job array, then the merge once every task has succeeded.\n"
		   "set -eu\n"
		   "cd \"$(dirname \"$0\")\"\n"
		   "jid=$(sbatch --parsable sweep.sbatch)\n"
		   "jid=${jid%%%%;*}\n"
		   "sbatch --dependency=afterok:\"$jid\" merge.sbatch\n"
		   "echo \"submitted job array $jid (%u tasks) and its merge\"\n",
		nshards);
	return close_script(f, path, err);
}
