/*
 * sweep.h - running an experiment's runs into runs.csv: in worker processes,
 * resumably, one shard at a time for a batch system, and merging shards.
 *
 * runs.csv (one tidy row per run, a header line first):
 *
 *   run,key,mode,workload,wl.P...,SWEPT.KEY...,config,error,STATISTIC...,cycles,cycles_per_access
 *
 *   run       the run's index in the experiment (see experiment.h)
 *   key       16 hex digits naming everything the result depends on
 *   wl.P      every parameter of every workload in the experiment (empty where
 *             the run's workload has no such parameter), seed last
 *   SWEPT.KEY each config key of [sweep], in the canonical spelling
 *   config    the base profile read ("builtin": the built-in defaults)
 *   error     empty, or why the run failed (its statistics are then empty)
 *   STATISTIC every counter of sim/stats.h in its order, then cycles and
 *             cycles_per_access; with measure = phase they count only what
 *             follows the workload's phase-1 marker
 *
 * The columns depend on the experiment's axes, never on their values.  Only
 * the parent process writes, one complete row per write() on an O_APPEND
 * descriptor, so a killed sweep leaves whole rows; --resume skips every run
 * whose row is present.  A finished sweep sorts its rows by run, so a local
 * sweep and a merge of shards give the same bytes.
 *
 * Shards: run i belongs to shard i mod N.
 */
#ifndef VMSIM_SWEEP_H
#define VMSIM_SWEEP_H

#include "experiment.h"
#include "stats.h"

struct sweep_status {
	uint64_t total;   /* runs of this sweep (its shard) */
	uint64_t present; /* rows already there when it started (--resume) */
	uint64_t done;    /* finished by this invocation, failures included */
	uint64_t failed;
	double elapsed;   /* seconds since the start */
	/* The run that just finished (NULL for the first call, before any). */
	const struct exp_run *run;
	const char *error; /* its error, or NULL */
	double run_seconds;
	uint64_t running;  /* runs in progress now */
};

struct sweep_opts {
	const char *dir;      /* runs.csv and a copy of the experiment go here */
	unsigned jobs;        /* worker processes, >= 1 */
	bool resume;          /* keep the rows there and run what is missing */
	bool retry_failed;    /* with resume: drop failed rows and run them again */
	bool force;           /* start over if runs.csv exists */
	unsigned shard, nshards; /* nshards = 0: every run */
	uint64_t stop_after;  /* testing: stop (as if killed) after this many rows; 0 = no */
	void (*progress)(void *arg, const struct sweep_status *st);
	void *arg;
};

/* 0 when every run of the sweep has its row (failed ones included), 1 if
 * stopped by stop_after, or a negative error (a usage error if runs.csv
 * exists without resume or force, or holds rows of another experiment). */
int sweep_run(const struct experiment *e, const struct sweep_opts *o, struct vmerr *err);

/* Run r in this process: its statistics, or a negative error. */
int sweep_one(const struct experiment *e, const struct exp_run *r, struct stats *st,
	      struct vmerr *err);

/* The header line and one row (newline-terminated); st NULL for a failed
 * run with error.  Return the length, or 0 if len is too small. */
size_t sweep_header(const struct experiment *e, char *buf, size_t len);
size_t sweep_row(const struct experiment *e, const struct exp_run *r, const struct stats *st,
		 const char *error, char *buf, size_t len);

/* Merge every DIR/shards/K/runs.csv into DIR/runs.csv: every run exactly once,
 * sorted by run; a missing or foreign row is an error naming it. */
int sweep_merge(const struct experiment *e, const char *dir, struct vmerr *err);

/*
 * Write a Slurm job array over the experiment into dir: sweep.sbatch (task
 * k runs shard k of nshards into dir/shards/k), merge.sbatch, submit.sh
 * (both, the merge after the array succeeds) and logs/.  vmsim is the
 * binary the tasks run, cpus the CPUs (and workers) per task.
 */
int sweep_emit_slurm(const struct experiment *e, const char *dir, unsigned nshards,
		     unsigned cpus, const char *vmsim, struct vmerr *err);

/* mkdir -p */
int sweep_mkdirs(const char *path, struct vmerr *err);

#endif
