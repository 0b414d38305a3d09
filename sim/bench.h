/*
 * bench.h - measuring the simulator's own speed (`vmsim bench`).
 *
 * A meter sits between an event source and its consumer, as the flush
 * function of the source's struct ev_sink.  It passes every batch on and
 * reads the clock only between batches:
 *
 *   events: |---- warm-up ----|-- window 1 --|-- window 2 --| ... |-- window W --|
 *   clock:                    t0             t1             t2                tW
 *
 * Window i's rate is its events / (t_i - t_{i-1}); each window is one
 * repetition of the measurement, and bench_median() of them is the figure.
 * Boundaries fall on batch ends, so a window holds at least `window` events
 * and the rate uses the exact count.  Once the last window closes the meter
 * returns BENCH_DONE, which sticks in the sink and stops the source early
 * (workloads poll wl_failed; the replay loop checks the return value), so a
 * source may be given more events than the windows need.
 *
 * Time is CLOCK_MONOTONIC wall time: what a user waiting for a run sees.
 */
#ifndef VMSIM_BENCH_H
#define VMSIM_BENCH_H

#include "event.h"

#define BENCH_MAX_WINDOWS 16
/* Not an error: the meter has what it needs and asks the source to stop. */
#define BENCH_DONE (-1000)

struct bench_meter {
	int (*next)(void *arg, const struct vm_event *ev, size_t n);
	void *next_arg;
	uint64_t warmup, window; /* events */
	unsigned want;           /* windows to measure, <= BENCH_MAX_WINDOWS */
	uint64_t events;         /* passed on so far */
	bool open;               /* warm-up over: a window is being measured */
	uint64_t mark;           /* events at the start of the open window */
	double t_mark;
	unsigned nwin;
	double rate[BENCH_MAX_WINDOWS]; /* events per second of each closed window */
};

/* next(next_arg, ...) receives every batch; want is clamped to BENCH_MAX_WINDOWS. */
void bench_meter_init(struct bench_meter *m, int (*next)(void *, const struct vm_event *, size_t),
		      void *next_arg, uint64_t warmup, uint64_t window, unsigned want);

/* ev_sink flush function (arg: the meter): next's error, BENCH_DONE once
 * every window is measured, else 0. */
int bench_meter_flush(void *meter, const struct vm_event *ev, size_t n);

/* True when every window wanted was measured. */
static inline bool bench_meter_complete(const struct bench_meter *m) { return m->nwin == m->want; }

/* Median of the meter's windows (0 if none). */
double bench_meter_median(const struct bench_meter *m);

/* A consumer that drops every batch: the source alone, for the limit. */
int bench_discard(void *arg, const struct vm_event *ev, size_t n);

/* Median of v[0..n-1] (sorts v); 0 if n == 0. */
double bench_median(double *v, unsigned n);

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);

/* Peak resident set (VmHWM) of this process in bytes, or 0 if unknown. */
uint64_t bench_peak_rss(void);

#endif
