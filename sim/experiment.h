/*
 * experiment.h - an experiment: a base machine profile, the axes to sweep and
 * the figures to draw, read from an INI file (experiments/NAME.ini), and the
 * list of runs -- the Cartesian product of its axes -- it stands for.
 *
 *   [experiment]
 *   name    = tlb-reach                  ; results/<name>/ (default: file name)
 *   title   = ...                        ; one line, for listings
 *   origin  = experiments/tlb-reach.ini  ; written by vmsim sweep into the copy
 *                                        ; it keeps in results/<name>/
 *   config  = configs/default.ini        ; base profile; "builtin" = built-in defaults
 *   set     = tlb.pcid=off               ; a fixed override (repeatable)
 *   modes   = native, nested             ; an axis
 *   measure = phase                      ; phase: count from the workload's phase-1
 *                                        ; marker (its setup excluded); all: everything
 *   [workload chase]                     ; one section per workload
 *   pages   = 1..65536 *2                ; a parameter axis: a value, a list "a, b, c"
 *   steps   = 200k                       ;   or a range "A..B *F" / "A..B +S"
 *   [sweep]
 *   tlb.l2.entries = 768, 1536           ; any config key with a list is an axis;
 *   guest.page+host.page = 4k/4k, 2m/2m  ; '+' zips keys into one axis
 *   [sweep NAME]                         ; several named sweeps add up: each is
 *                                        ; its own product, and a 'sweep' column
 *                                        ; says which one a run came from
 *   [figure NAME]                        ; see struct exp_figure
 *
 * A repeated key (or an indented continuation line) appends to its list.
 *
 * Runs are numbered 0..n-1: workloads in file order, then that workload's
 * parameter combinations (parameters in the workload's own order), then the
 * [sweep] sections and their axes in file order, then modes -- the last
 * varies fastest.  A run's
 * key is a hash of everything that decides its result (mode, workload and
 * parameters, swept values, the base profile's path and bytes, the fixed
 * overrides, the measure setting), so a row of runs.csv can be matched to its
 * run even after the experiment file is edited.
 *
 * Figures: each [figure NAME] turns the rows of runs.csv into a small table
 * (NAME.dat) that a gnuplot script in results/plots/ draws:
 *
 *   script   = lines.gp          ; results/plots/<script>
 *   x        = wl.pages          ; column (or a+b: joined with '/') for the rows
 *   series   = mode              ; column whose values become the table's columns
 *   panel    = workload          ; optional: one block (gnuplot index) per value
 *   y        = cycles            ; one or more statistics (a list: one table
 *                                ; column per series and y)
 *   per      = accesses          ; divide y by this column, or per workload:
 *                                ; "syscall:syscalls, io:io_ops"
 *   baseline = mode=native       ; divide by the same quantity of the run that
 *                                ; has this value and every other parameter equal
 *   where    = mode=nested       ; keep only matching rows (a list: all must hold)
 *   marks    = tlb.l2.entries:L2 TLB ; config values the script marks (label after ':')
 *   xlabel, ylabel, title        ; passed to the script, which has defaults
 *
 *   NAME.dat, for gnuplot ('#' lines are comments; blocks are separated by
 *   two blank lines, one per panel; NaN where a run is missing or failed):
 *
 *     # panel: gups
 *     "wl.mb"  "native"  "bt"  "nested"
 *     1        1         1.8   1.2
 *     4        1         2.1   1.4
 */
#ifndef VMSIM_EXPERIMENT_H
#define VMSIM_EXPERIMENT_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "../workloads/wl.h"

#define EXP_MAX_ZIP 8    /* keys zipped into one axis */
#define EXP_MAX_Y 8      /* statistics one figure plots */
#define EXP_MAX_KEYS 64  /* swept config keys, all axes together */
#define EXP_MAX_COLS 128 /* parameter columns */

/* A list of values (owned strings). */
struct exp_list {
	char **v;
	unsigned n, cap;
};

struct exp_axis {
	unsigned block;          /* the [sweep] section it belongs to */
	unsigned nkeys;
	char *keys[EXP_MAX_ZIP]; /* dotted config keys */
	unsigned kcol[EXP_MAX_ZIP]; /* their columns (kcols index) */
	/* values: nvals tuples of nkeys strings, tuple t at vals.v[t * nkeys] */
	struct exp_list vals;
	unsigned nvals;
};

/* One [sweep] or [sweep NAME] section: the product of its axes.  Blocks
 * add up: a run takes its config values from one block, and the base
 * profile's value for every key the block does not sweep. */
struct exp_block {
	char name[64];
	uint64_t nvals;  /* product of its axes' values */
	uint64_t first;  /* offset among all blocks' combinations */
};

struct exp_workload {
	const struct wl_desc *desc;
	/* One list per parameter, desc order, then the seed: canonical decimal. */
	struct exp_list p[WL_MAX_PARAMS + 1];
	bool given[WL_MAX_PARAMS + 1]; /* set in the file (else the default) */
	uint64_t nruns, first;         /* its runs are first .. first + nruns - 1 */
};

struct exp_figure {
	char name[64];
	char script[256];
	char x[128], series[128], panel[128];
	char *y[EXP_MAX_Y];
	unsigned ny;
	char per[512];
	char baseline[128];
	struct exp_list where;
	struct exp_list marks;
	char xlabel[128], ylabel[128], title[256];
};

struct experiment {
	char path[4096];    /* the file read */
	char name[128];     /* results/<name> */
	char title[256];
	char origin[4096];  /* in the copy a sweep keeps: the file it came from */
	char config[4096];  /* base profile as written; "" = built-in defaults */
	char config_path[4096]; /* resolved path ("" = built-in) */
	uint64_t config_hash;   /* FNV-1a of the profile's bytes (0 for built-in) */
	struct exp_list sets;   /* fixed "section.key=value" overrides */
	struct exp_list modes;
	bool measure_phase;
	struct exp_workload *wl;
	unsigned nwl;
	struct exp_axis *axes;
	unsigned naxes;
	struct exp_block *blocks; /* at least one, possibly without axes */
	unsigned nblocks;
	uint64_t ncombos;         /* sum of the blocks' nvals */
	struct exp_figure *fig;
	unsigned nfig;

	/* Derived once by exp_load. */
	uint64_t nruns;
	unsigned nwcols;                  /* workload parameter columns, "wl.NAME" */
	char *wcols[EXP_MAX_COLS];
	unsigned nkcols;                  /* swept config keys, first-seen order */
	char *kcols[EXP_MAX_KEYS];
	char *kdef[EXP_MAX_KEYS];         /* their base-profile values ("" if not loaded) */
	bool sweep_col;                   /* several blocks: runs.csv has a 'sweep' column */
};

/* One run, decoded from its index.  Strings point into the experiment. */
struct exp_run {
	uint64_t index;
	const char *mode;
	const struct exp_workload *w;
	const char *pval[WL_MAX_PARAMS + 1]; /* param values (desc order, seed last) */
	const char *kval[EXP_MAX_KEYS];      /* value of kcols[i] */
	bool kswept[EXP_MAX_KEYS];           /* kcols[i] is an axis of the run's block */
	const struct exp_block *block;
};

/*
 * Read and check an experiment: every workload, parameter value, config key
 * and value, mode and figure key is checked here, so a typo fails at once
 * (VM_EINPUT, "FILE:LINE: what") instead of as a column of failed runs.
 * The base profile is looked for as written, then beside the experiment
 * file and in its parent folder; a missing one is an error naming the paths
 * tried.  Free with exp_free (also after a failure).
 */
#define EXP_LOAD_NO_CONFIG 1u /* skip the base profile (plotting needs none) */
int exp_load(struct experiment *e, const char *path, unsigned flags, struct vmerr *err);
void exp_free(struct experiment *e);

/* Decode run i (0 <= i < nruns). */
void exp_run_get(const struct experiment *e, uint64_t i, struct exp_run *r);
/* "NAME:k=v,..." for wl_parse (every parameter, seed included). */
void exp_run_spec(const struct experiment *e, const struct exp_run *r, char *buf, size_t len);
/* The run's overrides: the fixed sets, then "key=value" of each swept key.
 * Writes at most max pointers into out (strings in store, len bytes); returns
 * how many, or -1 if they do not fit. */
int exp_run_sets(const struct experiment *e, const struct exp_run *r, char **out, int max,
		 char *store, size_t len);
/* The run's key: 16 hex digits (see the top of this file). */
void exp_run_key(const struct experiment *e, const struct exp_run *r, char key[17]);

/* FNV-1a 64 of n bytes, continuing from h (start with EXP_FNV_INIT). */
#define EXP_FNV_INIT 0xcbf29ce484222325ull
uint64_t exp_fnv(uint64_t h, const void *p, size_t n);

/* The figure called name, or NULL. */
const struct exp_figure *exp_figure_find(const struct experiment *e, const char *name);

/* The rows of a runs.csv, as text.  cell(t, r, c) is "" where empty. */
struct exp_table {
	unsigned ncols;
	char **cols;
	uint64_t nrows;
	char **cells; /* nrows * ncols */
	char *mem;
};
static inline const char *exp_cell(const struct exp_table *t, uint64_t r, unsigned c)
{
	return t->cells[r * t->ncols + c];
}
/* Read a runs.csv; a last line without its newline (an interrupted write)
 * is not a row.  Free with exp_table_free. */
int exp_table_read(struct exp_table *t, const char *path, struct vmerr *err);
void exp_table_free(struct exp_table *t);
/* -1 if there is no such column. */
int exp_table_col(const struct exp_table *t, const char *name);
/* Split one CSV line in place (RFC 4180 quoting, no newlines inside fields);
 * returns the number of fields, of which at most max are stored. */
unsigned exp_csv_split(char *line, char **fields, unsigned max);

/*
 * Write figure f's table from t to out (see the top of this file).  A name
 * the table lacks, or two runs landing in one cell, is VM_EINPUT with a
 * message saying what to change in the [figure] section.  *nfailed gets the
 * number of failed runs left out.
 */
int exp_figure_data(const struct experiment *e, const struct exp_figure *f,
		    const struct exp_table *t, FILE *out, uint64_t *nfailed, struct vmerr *err);

/* A one-line caption: the profile, the workloads and their fixed parameters
 * (swept ones are named as swept) of the rows the figure draws. */
void exp_figure_caption(const struct experiment *e, const struct exp_figure *f,
			const struct exp_table *t, char *buf, size_t len);

/* Split "a, b, c" into l (appending); 0 or -1 on out of memory. */
int exp_list_split(struct exp_list *l, const char *s, char sep);
int exp_list_add(struct exp_list *l, const char *s);
void exp_list_free(struct exp_list *l);

#endif
