/* bench.c - see bench.h. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_meter_init(struct bench_meter *m, int (*next)(void *, const struct vm_event *, size_t),
		      void *next_arg, uint64_t warmup, uint64_t window, unsigned want)
{
	memset(m, 0, sizeof *m);
	m->next = next;
	m->next_arg = next_arg;
	m->warmup = warmup;
	m->window = window ? window : 1;
	m->want = want < BENCH_MAX_WINDOWS ? want : BENCH_MAX_WINDOWS;
	if (warmup == 0) {
		m->open = true; /* the first window starts with the first event */
		m->t_mark = bench_now();
	}
}

int bench_meter_flush(void *meter, const struct vm_event *ev, size_t n)
{
	struct bench_meter *m = meter;
	int rc = m->next(m->next_arg, ev, n);
	if (rc < 0)
		return rc;
	m->events += n;
	if (!m->open) {
		if (m->events < m->warmup)
			return 0;
		/* The warm-up ended inside this batch: the first window opens now. */
		m->open = true;
		m->mark = m->events;
		m->t_mark = bench_now();
		return 0;
	}
	if (m->events - m->mark < m->window)
		return 0;
	double t = bench_now();
	if (m->nwin < m->want) {
		double dt = t - m->t_mark;
		m->rate[m->nwin++] = dt > 0 ? (double)(m->events - m->mark) / dt : 0;
	}
	m->mark = m->events;
	m->t_mark = t;
	return bench_meter_complete(m) ? BENCH_DONE : 0;
}

double bench_meter_median(const struct bench_meter *m)
{
	double v[BENCH_MAX_WINDOWS];
	memcpy(v, m->rate, m->nwin * sizeof v[0]);
	return bench_median(v, m->nwin);
}

int bench_discard(void *arg, const struct vm_event *ev, size_t n)
{
	(void)arg;
	(void)ev;
	(void)n;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median(double *v, unsigned n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

uint64_t bench_peak_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	char line[256];
	unsigned long long kib = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return (uint64_t)kib << 10;
}
