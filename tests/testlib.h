/*
 * testlib.h - helpers the tests share: a scratch directory per test, small
 * file I/O, running the vmsim binary through the shell, and building a
 * simulator from overrides.  Header-only; every function is static inline.
 */
#ifndef VMSIM_TESTLIB_H
#define VMSIM_TESTLIB_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/sim.h"
#include "workloads/wl.h"

/* One scratch directory per test process (Criterion forks per test). */
static char tl_tmpdir[256];

static inline void tl_mkdtemp(const char *name)
{
	snprintf(tl_tmpdir, sizeof tl_tmpdir, "/tmp/%s.XXXXXX", name);
	cr_assert_not_null(mkdtemp(tl_tmpdir));
}

static inline void tl_rmtemp(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tl_tmpdir);
	cr_assert_eq(system(cmd), 0);
}

/* tl_tmpdir/name, in one of eight rotating buffers. */
static inline const char *tpath(const char *name)
{
	static char buf[8][512];
	static int k;
	char *b = buf[k++ & 7];
	snprintf(b, 512, "%s/%s", tl_tmpdir, name);
	return b;
}

static inline void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* The whole file (up to 1 MiB), NUL-terminated; free() it. */
static inline char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot read %s", path);
	char *buf = malloc(1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* The vmsim binary: $VMSIM (ctest sets it), else the one in the build tree. */
static inline const char *vmsim(void)
{
	const char *v = getenv("VMSIM");
	return v ? v : VMSIM_BINARY_DIR "/vmsim";
}

/* Run "cd tl_tmpdir && ENV CMD" in the shell; its exit status (128 if it
 * did not exit). */
static inline int tl_sh(const char *env, const char *fmt, va_list ap)
{
	char cmd[4096], full[8192];
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	snprintf(full, sizeof full, "cd '%s' && %s%s", tl_tmpdir, env ? env : "", cmd);
	int st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A simulator in mode with "section.key=value" overrides. */
static inline struct sim *tl_sim(const char *mode, const char *const *sets, int nsets)
{
	struct cfg cfg;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&cfg, NULL, (char *const *)sets, nsets, &err), 0, "%s", err.msg);
	const struct mmu_ops *m = mmu_find(mode);
	cr_assert_not_null(m, "mode %s", mode);
	struct sim *s = sim_new(&cfg, m, &err);
	cr_assert_not_null(s, "%s", err.msg);
	return s;
}

static inline void tl_feed(struct sim *s, const struct vm_event *ev, size_t n)
{
	cr_assert_eq(sim_consume(s, ev, n), 0, "sim_consume: %s", s->errmsg.msg);
}

/* Generate a workload into s and finish the run. */
static inline void tl_run_workload(struct sim *s, const char *spec)
{
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	struct vmerr err = {{0}};
	cr_assert_eq(wl_parse(spec, &d, p, &err), 0, "%s", err.msg);
	static struct vm_event buf[4096];
	struct ev_sink sink = {.buf = buf, .cap = 4096, .flush = sim_consume, .arg = s};
	cr_assert_eq(wl_generate(d, p, &sink), 0, "%s: %s", spec, s->errmsg.msg);
	sim_finish(s);
}

#endif
