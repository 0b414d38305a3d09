/*
 * experiment.c - experiment files, their runs, and the tables behind their
 * figures.  See experiment.h for the file format and the run order.
 *
 * Notes:
 *  - Everything a run depends on is checked at load time: a workload value
 *    goes through wl_parse, a config value through cfg_set on a scratch
 *    configuration (and comes back in cfg_get's canonical spelling), so the
 *    columns of runs.csv hold the values the simulator actually used.
 *  - inih does not tell a handler its line, and calls nothing for a section
 *    without keys, so the file is first scanned for its section headers:
 *    that gives workloads their order and empty [workload NAME] sections a
 *    place in the run list.
 */
#include "experiment.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sim.h"
#include "stats.h"

#define EXP_MAX_RANGE 4096 /* values one range may expand to */

/* ---- lists ---- */

int exp_list_add(struct exp_list *l, const char *s)
{
	if (l->n == l->cap) {
		unsigned cap = l->cap ? 2 * l->cap : 8;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

void exp_list_free(struct exp_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int exp_list_split(struct exp_list *l, const char *s, char sep)
{
	char *buf = strdup(s), *p = buf;
	if (!buf)
		return -1;
	int rc = 0;
	for (;;) {
		char *q = strchr(p, sep);
		if (q)
			*q = 0;
		char *t = trim(p);
		if (*t && exp_list_add(l, t) < 0) {
			rc = -1;
			break;
		}
		if (!q)
			break;
		p = q + 1;
	}
	free(buf);
	return rc;
}

static int list_has(const struct exp_list *l, const char *s)
{
	for (unsigned i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return 1;
	return 0;
}

uint64_t exp_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* ---- numbers and ranges ---- */

/* Unsigned decimal or 0x hex with an optional k/m/g suffix (x1024), as
 * workload parameters take them. */
static int parse_num(const char *s, uint64_t *out)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, hex ? 16 : 10);
	if (errno || end == s + (hex ? 2 : 0))
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*trim(end) || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/*
 * Append item to l: a plain value, or a range "A..B *F" (A, A*F, ... <= B) or
 * "A..B +S" (A, A+S, ... <= B).  Returns 0, or -1 with msg set.
 */
static int expand_item(struct exp_list *l, const char *item, char *msg, size_t mlen)
{
	const char *dots = strstr(item, "..");
	if (!dots)
		return exp_list_add(l, item) < 0 ? (snprintf(msg, mlen, "out of memory"), -1) : 0;
	char a[64], b[64];
	const char *op = strpbrk(dots + 2, "*+");
	if (!op || (size_t)(dots - item) >= sizeof a || (size_t)(op - dots - 2) >= sizeof b) {
		snprintf(msg, mlen, "range '%s': expected A..B *FACTOR or A..B +STEP", item);
		return -1;
	}
	memcpy(a, item, (size_t)(dots - item));
	a[dots - item] = 0;
	memcpy(b, dots + 2, (size_t)(op - dots - 2));
	b[op - dots - 2] = 0;
	uint64_t lo, hi, step;
	if (parse_num(trim(a), &lo) < 0 || parse_num(trim(b), &hi) < 0 ||
	    parse_num(trim((char *)(uintptr_t)(op + 1)), &step) < 0) {
		snprintf(msg, mlen, "range '%s': A, B and the step must be unsigned integers "
			 "(suffixes k, m, g allowed)", item);
		return -1;
	}
	bool mul = *op == '*';
	if (lo > hi || (mul && (step < 2 || lo == 0)) || (!mul && step == 0)) {
		snprintf(msg, mlen, "range '%s': needs A <= B and a factor >= 2 (with A > 0) "
			 "or a step >= 1", item);
		return -1;
	}
	unsigned n = 0;
	for (uint64_t v = lo; v <= hi; n++) {
		if (n == EXP_MAX_RANGE) {
			snprintf(msg, mlen, "range '%s': more than %d values", item, EXP_MAX_RANGE);
			return -1;
		}
		char num[32];
		snprintf(num, sizeof num, "%" PRIu64, v);
		if (exp_list_add(l, num) < 0) {
			snprintf(msg, mlen, "out of memory");
			return -1;
		}
		uint64_t next = mul ? v * step : v + step;
		if ((mul && next / step != v) || next <= v)
			break; /* overflow */
		v = next;
	}
	return 0;
}

static int expand_list(struct exp_list *l, const char *value, char *msg, size_t mlen)
{
	struct exp_list items = {0};
	if (exp_list_split(&items, value, ',') < 0) {
		snprintf(msg, mlen, "out of memory");
		return -1;
	}
	int rc = 0;
	for (unsigned i = 0; i < items.n && rc == 0; i++)
		rc = expand_item(l, items.v[i], msg, mlen);
	exp_list_free(&items);
	return rc;
}

/* ---- reading the file ---- */

struct parse_ctx {
	struct experiment *e;
	char msg[512];
	bool failed;
	bool seen_name, seen_config;
};

static int set_str(char *dst, size_t len, const char *v, const char *what, struct parse_ctx *pc)
{
	if (strlen(v) >= len) {
		snprintf(pc->msg, sizeof pc->msg, "%s: longer than %zu characters", what, len - 1);
		return 0;
	}
	strcpy(dst, v);
	return 1;
}

static struct exp_workload *find_wl(struct experiment *e, const char *name)
{
	for (unsigned i = 0; i < e->nwl; i++)
		if (!strcmp(e->wl[i].desc->name, name))
			return &e->wl[i];
	return NULL;
}

static int param_index(const struct wl_desc *d, const char *name)
{
	if (!strcmp(name, "seed"))
		return (int)d->nparams;
	for (unsigned i = 0; i < d->nparams; i++)
		if (!strcmp(name, d->params[i].name))
			return (int)i;
	return -1;
}

static int on_experiment(struct parse_ctx *pc, const char *name, const char *value)
{
	struct experiment *e = pc->e;
	if (!strcmp(name, "name")) {
		for (const char *p = value; *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr("-_.", *p)) {
				snprintf(pc->msg, sizeof pc->msg,
					 "name '%s': use letters, digits, '-', '_' and '.' (it names a folder)",
					 value);
				return 0;
			}
		pc->seen_name = true;
		return set_str(e->name, sizeof e->name, value, "name", pc);
	}
	if (!strcmp(name, "title"))
		return set_str(e->title, sizeof e->title, value, "title", pc);
	if (!strcmp(name, "origin"))
		return set_str(e->origin, sizeof e->origin, value, "origin", pc);
	if (!strcmp(name, "config")) {
		pc->seen_config = true;
		return set_str(e->config, sizeof e->config, strcmp(value, "builtin") ? value : "",
			       "config", pc);
	}
	if (!strcmp(name, "measure")) {
		if (strcmp(value, "phase") && strcmp(value, "all")) {
			snprintf(pc->msg, sizeof pc->msg, "measure = %s: expected phase or all", value);
			return 0;
		}
		e->measure_phase = !strcmp(value, "phase");
		return 1;
	}
	if (!strcmp(name, "set")) {
		const char *eq = strchr(value, '=');
		struct cfg scratch;
		struct vmerr err;
		char key[128];
		cfg_defaults(&scratch);
		if (!eq || (size_t)(eq - value) >= sizeof key) {
			snprintf(pc->msg, sizeof pc->msg, "set = %s: expected section.key=value", value);
			return 0;
		}
		memcpy(key, value, (size_t)(eq - value));
		key[eq - value] = 0;
		if (cfg_set(&scratch, trim(key), trim((char *)(uintptr_t)(eq + 1)), "set", &err) < 0) {
			snprintf(pc->msg, sizeof pc->msg, "%s", err.msg);
			return 0;
		}
		char norm[256];
		snprintf(norm, sizeof norm, "%s=%s", trim(key), trim((char *)(uintptr_t)(eq + 1)));
		return exp_list_add(&e->sets, norm) == 0;
	}
	if (!strcmp(name, "modes")) {
		struct exp_list l = {0};
		if (exp_list_split(&l, value, ',') < 0)
			return 0;
		for (unsigned i = 0; i < l.n; i++) {
			const struct mmu_ops *m = mmu_find(l.v[i]);
			if (!m) {
				snprintf(pc->msg, sizeof pc->msg, "modes: unknown mode '%s' (modes: %s)",
					 l.v[i], mmu_names());
				exp_list_free(&l);
				return 0;
			}
			if (list_has(&e->modes, m->name)) {
				snprintf(pc->msg, sizeof pc->msg, "modes: '%s' listed twice", l.v[i]);
				exp_list_free(&l);
				return 0;
			}
			exp_list_add(&e->modes, m->name);
		}
		exp_list_free(&l);
		return 1;
	}
	snprintf(pc->msg, sizeof pc->msg,
		 "unknown key '%s' in [experiment] (name, title, config, set, modes, measure, origin)",
		 name);
	return 0;
}

static int on_workload(struct parse_ctx *pc, const char *wname, const char *name, const char *value)
{
	struct exp_workload *w = find_wl(pc->e, wname);
	if (!w) { /* cannot happen: every section was registered by the scan */
		snprintf(pc->msg, sizeof pc->msg, "unknown workload '%s'", wname);
		return 0;
	}
	int idx = param_index(w->desc, name);
	if (idx < 0) {
		char list[256] = "";
		for (unsigned i = 0; i < w->desc->nparams; i++) {
			strncat(list, w->desc->params[i].name, sizeof list - strlen(list) - 1);
			strncat(list, ", ", sizeof list - strlen(list) - 1);
		}
		snprintf(pc->msg, sizeof pc->msg, "workload %s has no parameter '%s' (known: %sseed)",
			 wname, name, list);
		return 0;
	}
	if (!w->given[idx])
		exp_list_free(&w->p[idx]); /* drop the default */
	w->given[idx] = true;
	struct exp_list raw = {0};
	if (expand_list(&raw, value, pc->msg, sizeof pc->msg) < 0) {
		exp_list_free(&raw);
		return 0;
	}
	for (unsigned i = 0; i < raw.n; i++) {
		char spec[256];
		const struct wl_desc *d;
		uint64_t p[WL_MAX_PARAMS + 1];
		struct vmerr err;
		snprintf(spec, sizeof spec, "%s:%s=%s", wname, name, raw.v[i]);
		if (wl_parse(spec, &d, p, &err) < 0) {
			snprintf(pc->msg, sizeof pc->msg, "%s", err.msg);
			exp_list_free(&raw);
			return 0;
		}
		char num[32];
		snprintf(num, sizeof num, "%" PRIu64, p[idx]);
		if (!list_has(&w->p[idx], num)) /* overlapping ranges: each value once */
			exp_list_add(&w->p[idx], num);
	}
	exp_list_free(&raw);
	return 1;
}

static struct exp_axis *axis_with_key(struct experiment *e, unsigned block, const char *key)
{
	for (unsigned a = 0; a < e->naxes; a++)
		for (unsigned k = 0; k < e->axes[a].nkeys; k++)
			if (e->axes[a].block == block && !strcmp(e->axes[a].keys[k], key))
				return &e->axes[a];
	return NULL;
}

static bool is_swept(const struct experiment *e, const char *key)
{
	for (unsigned k = 0; k < e->nkcols; k++)
		if (!strcmp(e->kcols[k], key))
			return true;
	return false;
}

static int kcol_of(struct experiment *e, const char *key)
{
	for (unsigned k = 0; k < e->nkcols; k++)
		if (!strcmp(e->kcols[k], key))
			return (int)k;
	if (e->nkcols == EXP_MAX_KEYS)
		return -1;
	e->kcols[e->nkcols] = strdup(key);
	return e->kcols[e->nkcols] ? (int)e->nkcols++ : -1;
}

static int block_of(struct parse_ctx *pc, const char *name)
{
	struct experiment *e = pc->e;
	for (unsigned b = 0; b < e->nblocks; b++)
		if (!strcmp(e->blocks[b].name, name))
			return (int)b;
	if (strlen(name) >= sizeof e->blocks[0].name || strpbrk(name, ", \"")) {
		snprintf(pc->msg, sizeof pc->msg, "[sweep %s]: name a sweep with at most %zu "
			 "characters, without spaces, commas or quotes", name,
			 sizeof e->blocks[0].name - 1);
		return -1;
	}
	struct exp_block *nb = realloc(e->blocks, (e->nblocks + 1) * sizeof *nb);
	if (!nb)
		return -1;
	e->blocks = nb;
	memset(&nb[e->nblocks], 0, sizeof *nb);
	strcpy(nb[e->nblocks].name, name);
	return (int)e->nblocks++;
}

static int on_sweep(struct parse_ctx *pc, const char *bname, const char *name, const char *value)
{
	struct experiment *e = pc->e;
	struct exp_list keys = {0}, raw = {0};
	int ok = 0, block = block_of(pc, bname);
	if (block < 0)
		goto out;
	if (exp_list_split(&keys, name, '+') < 0)
		goto out;
	if (keys.n == 0 || keys.n > EXP_MAX_ZIP) {
		snprintf(pc->msg, sizeof pc->msg, "[sweep] %s: zip 1 to %d keys with '+'", name,
			 EXP_MAX_ZIP);
		goto out;
	}
	/* A repeated line appends to the axis it started. */
	struct exp_axis *ax = axis_with_key(e, (unsigned)block, keys.v[0]);
	if (ax) {
		bool same = ax->nkeys == keys.n;
		for (unsigned k = 0; same && k < keys.n; k++)
			same = !strcmp(ax->keys[k], keys.v[k]);
		if (!same) {
			snprintf(pc->msg, sizeof pc->msg, "[sweep] %s: key %s is already on another axis",
				 name, keys.v[0]);
			goto out;
		}
	} else {
		for (unsigned k = 0; k < keys.n; k++) {
			if (axis_with_key(e, (unsigned)block, keys.v[k])) {
				snprintf(pc->msg, sizeof pc->msg, "[sweep] %s: key %s is already on another axis",
					 name, keys.v[k]);
				goto out;
			}
		}
		struct exp_axis *na = realloc(e->axes, (e->naxes + 1) * sizeof *na);
		if (!na)
			goto out;
		e->axes = na;
		ax = &e->axes[e->naxes++];
		memset(ax, 0, sizeof *ax);
		ax->block = (unsigned)block;
		ax->nkeys = keys.n;
		for (unsigned k = 0; k < keys.n; k++) {
			int kc = kcol_of(e, keys.v[k]);
			ax->keys[k] = strdup(keys.v[k]);
			if (kc < 0 || !ax->keys[k]) {
				snprintf(pc->msg, sizeof pc->msg, "[sweep]: more than %d swept keys",
					 EXP_MAX_KEYS);
				goto out;
			}
			ax->kcol[k] = (unsigned)kc;
		}
	}
	if (keys.n == 1) {
		if (expand_list(&raw, value, pc->msg, sizeof pc->msg) < 0)
			goto out;
	} else if (exp_list_split(&raw, value, ',') < 0)
		goto out;
	for (unsigned i = 0; i < raw.n; i++) {
		struct exp_list tup = {0};
		if (keys.n > 1)
			exp_list_split(&tup, raw.v[i], '/');
		else
			exp_list_add(&tup, raw.v[i]);
		if (tup.n != keys.n) {
			snprintf(pc->msg, sizeof pc->msg, "[sweep] %s: value '%s' needs %u parts separated by '/'",
				 name, raw.v[i], keys.n);
			exp_list_free(&tup);
			goto out;
		}
		char canon[EXP_MAX_ZIP][128];
		for (unsigned k = 0; k < keys.n; k++) {
			struct cfg scratch;
			struct vmerr err;
			cfg_defaults(&scratch);
			if (cfg_set(&scratch, keys.v[k], tup.v[k], "[sweep]", &err) < 0) {
				snprintf(pc->msg, sizeof pc->msg, "%s", err.msg);
				exp_list_free(&tup);
				goto out;
			}
			cfg_get(&scratch, keys.v[k], canon[k], sizeof canon[k]);
		}
		exp_list_free(&tup);
		bool dup = false; /* overlapping ranges: each value once */
		for (unsigned t = 0; t < ax->nvals && !dup; t++) {
			dup = true;
			for (unsigned k = 0; dup && k < keys.n; k++)
				dup = !strcmp(ax->vals.v[t * keys.n + k], canon[k]);
		}
		if (dup)
			continue;
		for (unsigned k = 0; k < keys.n; k++)
			exp_list_add(&ax->vals, canon[k]);
		ax->nvals++;
	}
	ok = 1;
out:
	exp_list_free(&keys);
	exp_list_free(&raw);
	return ok;
}

static struct exp_figure *find_fig(struct experiment *e, const char *name)
{
	for (unsigned i = 0; i < e->nfig; i++)
		if (!strcmp(e->fig[i].name, name))
			return &e->fig[i];
	return NULL;
}

const struct exp_figure *exp_figure_find(const struct experiment *e, const char *name)
{
	return find_fig((struct experiment *)(uintptr_t)e, name);
}

static int on_figure(struct parse_ctx *pc, const char *fname, const char *name, const char *value)
{
	struct exp_figure *f = find_fig(pc->e, fname);
	if (!f)
		return 0;
#define STR(field)                                                                                 \
	if (!strcmp(name, #field))                                                                 \
		return set_str(f->field, sizeof f->field, value, #field, pc);
	STR(script)
	STR(x)
	STR(series)
	STR(panel)
	STR(baseline)
	STR(xlabel)
	STR(ylabel)
	STR(title)
#undef STR
	if (!strcmp(name, "per")) { /* a list: continuation lines append */
		size_t n = strlen(f->per);
		if (n + strlen(value) + 3 > sizeof f->per) {
			snprintf(pc->msg, sizeof pc->msg, "figure %s: per: too long", fname);
			return 0;
		}
		snprintf(f->per + n, sizeof f->per - n, "%s%s", n ? ", " : "", value);
		return 1;
	}
	if (!strcmp(name, "y")) {
		struct exp_list l = {0};
		exp_list_split(&l, value, ',');
		for (unsigned i = 0; i < l.n; i++) {
			if (f->ny == EXP_MAX_Y) {
				snprintf(pc->msg, sizeof pc->msg, "figure %s: more than %d y columns", fname,
					 EXP_MAX_Y);
				exp_list_free(&l);
				return 0;
			}
			f->y[f->ny++] = strdup(l.v[i]);
		}
		exp_list_free(&l);
		return 1;
	}
	if (!strcmp(name, "where"))
		return exp_list_split(&f->where, value, ',') == 0;
	if (!strcmp(name, "marks")) {
		struct exp_list l = {0};
		exp_list_split(&l, value, ',');
		for (unsigned i = 0; i < l.n; i++) {
			char key[128];
			struct cfg scratch;
			snprintf(key, sizeof key, "%s", l.v[i]);
			char *colon = strchr(key, ':');
			if (colon)
				*colon = 0;
			char v[64];
			cfg_defaults(&scratch);
			if (cfg_get(&scratch, trim(key), v, sizeof v) < 0) {
				snprintf(pc->msg, sizeof pc->msg, "figure %s: marks: unknown config key '%s'",
					 fname, trim(key));
				exp_list_free(&l);
				return 0;
			}
			exp_list_add(&f->marks, l.v[i]);
		}
		exp_list_free(&l);
		return 1;
	}
	snprintf(pc->msg, sizeof pc->msg,
		 "unknown key '%s' in [figure %s] (script, x, series, panel, y, per, baseline, where, "
		 "marks, xlabel, ylabel, title)", name, fname);
	return 0;
}

static int on_line(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *pc = user;
	if (pc->failed)
		return 1;
	int ok;
	if (!strcmp(section, "experiment"))
		ok = on_experiment(pc, name, value);
	else if (!strncmp(section, "workload ", 9))
		ok = on_workload(pc, trim((char *)(uintptr_t)(section + 9)), name, value);
	else if (!strcmp(section, "sweep"))
		ok = on_sweep(pc, "", name, value);
	else if (!strncmp(section, "sweep ", 6))
		ok = on_sweep(pc, trim((char *)(uintptr_t)(section + 6)), name, value);
	else if (!strncmp(section, "figure ", 7))
		ok = on_figure(pc, trim((char *)(uintptr_t)(section + 7)), name, value);
	else {
		snprintf(pc->msg, sizeof pc->msg,
			 "unknown section [%s] (experiment, workload NAME, sweep [NAME], figure NAME)",
			 section);
		ok = 0;
	}
	if (!ok) {
		if (!pc->msg[0])
			snprintf(pc->msg, sizeof pc->msg, "out of memory");
		pc->failed = true;
	}
	return ok;
}

/* Register [workload NAME] and [figure NAME] sections in file order. */
static int scan_sections(struct experiment *e, const char *path, struct vmerr *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return vmerr_set(err, VM_EINPUT, "%s: cannot read experiment: %s", path, strerror(errno));
	char line[1024];
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		lineno++;
		char *t = trim(line);
		if (*t != '[')
			continue;
		char *close = strchr(t, ']');
		if (!close)
			continue; /* inih reports it */
		*close = 0;
		char *sec = trim(t + 1);
		if (!strncmp(sec, "workload ", 9)) {
			char *name = trim(sec + 9);
			const struct wl_desc *d = wl_find(name);
			if (!d) {
				char list[384] = "";
				for (unsigned i = 0; i < wl_count; i++) {
					strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
					strncat(list, wl_all[i]->name, sizeof list - strlen(list) - 1);
				}
				rc = vmerr_set(err, VM_EINPUT, "%s:%d: unknown workload '%s' (known: %s)",
					       path, lineno, name, list);
				break;
			}
			if (find_wl(e, name)) {
				rc = vmerr_set(err, VM_EINPUT,
					       "%s:%d: [workload %s] appears twice; one section per workload",
					       path, lineno, name);
				break;
			}
			struct exp_workload *nw = realloc(e->wl, (e->nwl + 1) * sizeof *nw);
			if (!nw) {
				rc = vmerr_set(err, VM_ENOMEM, "out of memory");
				break;
			}
			e->wl = nw;
			struct exp_workload *w = &e->wl[e->nwl++];
			memset(w, 0, sizeof *w);
			w->desc = d;
			for (unsigned i = 0; i <= d->nparams; i++) {
				char num[32];
				snprintf(num, sizeof num, "%" PRIu64, i < d->nparams ? d->params[i].def : 1);
				exp_list_add(&w->p[i], num);
			}
		} else if (!strncmp(sec, "figure ", 7)) {
			char *name = trim(sec + 7);
			if (find_fig(e, name) || !*name || strlen(name) >= sizeof e->fig[0].name ||
			    strpbrk(name, "/ ")) {
				rc = vmerr_set(err, VM_EINPUT,
					       "%s:%d: [figure %s]: figure names must be unique, non-empty, "
					       "without '/' or spaces", path, lineno, name);
				break;
			}
			struct exp_figure *nf = realloc(e->fig, (e->nfig + 1) * sizeof *nf);
			if (!nf) {
				rc = vmerr_set(err, VM_ENOMEM, "out of memory");
				break;
			}
			e->fig = nf;
			struct exp_figure *fg = &e->fig[e->nfig++];
			memset(fg, 0, sizeof *fg);
			strcpy(fg->name, name);
		}
	}
	fclose(f);
	return rc;
}

static int file_exists(const char *p)
{
	FILE *f = fopen(p, "r");
	if (f)
		fclose(f);
	return f != NULL;
}

/* The base profile as written, else beside the experiment, else in the
 * experiment folder's parent (the repository root for experiments/X.ini). */
static int resolve_config(struct experiment *e, struct vmerr *err)
{
	if (!e->config[0])
		return 0;
	char dir[4096], tried[3][4096], list[1024] = "";
	snprintf(dir, sizeof dir, "%s", e->path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	int n = 0;
	const char *fmt[3] = {"%s%s", "%s/%s", "%s/../%s"};
	for (int i = 0; i < (e->config[0] == '/' ? 1 : 3); i++) {
		if (snprintf(tried[n], sizeof tried[n], fmt[i], i ? dir : "", e->config) >=
		    (int)sizeof tried[n])
			continue;
		if (file_exists(tried[n])) {
			snprintf(e->config_path, sizeof e->config_path, "%s", tried[n]);
			return 0;
		}
		if (strlen(list) + strlen(tried[n]) + 3 < sizeof list)
			strcat(strcat(list, n ? ", " : ""), tried[n]);
		n++;
	}
	return vmerr_set(err, VM_EINPUT,
			 "%s: [experiment] config = %s: no such profile (tried %s); run from the "
			 "repository root, or name an existing file (see configs/) or 'builtin'",
			 e->path, e->config, list);
}

static int hash_file(const char *path, uint64_t *h, struct vmerr *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return vmerr_set(err, VM_EINPUT, "%s: cannot read: %s", path, strerror(errno));
	unsigned char buf[8192];
	size_t n;
	*h = EXP_FNV_INIT;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		*h = exp_fnv(*h, buf, n);
	fclose(f);
	return 0;
}

static void add_col(struct experiment *e, const char *name)
{
	char col[80];
	snprintf(col, sizeof col, "wl.%s", name);
	for (unsigned i = 0; i < e->nwcols; i++)
		if (!strcmp(e->wcols[i], col))
			return;
	if (e->nwcols < EXP_MAX_COLS)
		e->wcols[e->nwcols++] = strdup(col);
}

static int check_figures(struct experiment *e, struct vmerr *err)
{
	for (unsigned i = 0; i < e->nfig; i++) {
		struct exp_figure *f = &e->fig[i];
		if (!f->script[0] || !f->x[0] || !f->ny)
			return vmerr_set(err, VM_EINPUT, "%s: [figure %s] needs script, x and y", e->path,
					 f->name);
		if (strchr(f->script, '/') || strstr(f->script, ".."))
			return vmerr_set(err, VM_EINPUT,
					 "%s: [figure %s] script = %s: name a file in results/plots/",
					 e->path, f->name, f->script);
		if (f->baseline[0] && !strchr(f->baseline, '='))
			return vmerr_set(err, VM_EINPUT,
					 "%s: [figure %s] baseline = %s: expected COLUMN=VALUE (e.g. mode=native)",
					 e->path, f->name, f->baseline);
		for (unsigned w = 0; w < f->where.n; w++)
			if (!strchr(f->where.v[w], '='))
				return vmerr_set(err, VM_EINPUT,
						 "%s: [figure %s] where = %s: expected COLUMN=VALUE", e->path,
						 f->name, f->where.v[w]);
	}
	return 0;
}

/* Keys that are fine one by one may clash together (entries not a multiple
 * of ways): load every combination of each block's values once, up front. */
static int check_combinations(struct experiment *e, struct vmerr *err)
{
	char **sets = malloc((e->sets.n + EXP_MAX_KEYS + 1) * sizeof *sets);
	char *store = malloc(EXP_MAX_KEYS * 256 + 1);
	int rc = 0;
	if (!sets || !store) {
		rc = vmerr_set(err, VM_ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned s = 0; s < e->sets.n; s++)
		sets[s] = e->sets.v[s];
	for (unsigned b = 0; b < e->nblocks && rc == 0; b++) {
		if (e->blocks[b].nvals > 100000)
			continue;
		for (uint64_t i = 0; i < e->blocks[b].nvals && rc == 0; i++) {
			uint64_t x = i;
			unsigned m = 0;
			for (unsigned a = e->naxes; a-- > 0;) {
				const struct exp_axis *ax = &e->axes[a];
				if (ax->block != b)
					continue;
				unsigned t = (unsigned)(x % ax->nvals);
				x /= ax->nvals;
				for (unsigned j = 0; j < ax->nkeys; j++, m++) {
					char *slot = store + (size_t)m * 256;
					snprintf(slot, 256, "%s=%s", ax->keys[j], ax->vals.v[t * ax->nkeys + j]);
					sets[e->sets.n + m] = slot;
				}
			}
			struct cfg cfg;
			struct vmerr e2;
			if (cfg_load(&cfg, e->config_path[0] ? e->config_path : NULL, sets,
				     (int)(e->sets.n + m), &e2) < 0) {
				char combo[512] = "";
				for (unsigned j = 0; j < m; j++)
					snprintf(combo + strlen(combo), sizeof combo - strlen(combo), "%s%s",
						 j ? " " : "", sets[e->sets.n + j]);
				rc = vmerr_set(err, VM_EINPUT, "%s: [sweep%s%s] the combination %s does not "
					       "make a valid machine: %s", e->path, e->blocks[b].name[0] ? " " : "",
					       e->blocks[b].name, combo, e2.msg);
			}
		}
	}
out:
	free(sets);
	free(store);
	return rc;
}

int exp_load(struct experiment *e, const char *path, unsigned flags, struct vmerr *err)
{
	memset(e, 0, sizeof *e);
	e->measure_phase = true;
	snprintf(e->path, sizeof e->path, "%s", path);
	int rc = scan_sections(e, path, err);
	if (rc < 0)
		return rc;
	struct parse_ctx pc = {.e = e};
	int line = ini_parse(path, on_line, &pc);
	if (line < 0)
		return vmerr_set(err, VM_EINPUT, "%s: cannot read experiment: %s", path,
				 line == -1 ? strerror(errno) : "out of memory");
	if (line > 0)
		return vmerr_set(err, VM_EINPUT, "%s:%d: %s", path, line,
				 pc.failed ? pc.msg
					   : "syntax error (expected key = value or [section]; lines are "
					     "limited to 200 characters: continue a list on an indented line)");
	if (!pc.seen_name) {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		snprintf(e->name, sizeof e->name, "%s", base);
		char *dot = strrchr(e->name, '.');
		if (dot && dot != e->name)
			*dot = 0;
	}
	if (!e->modes.n)
		exp_list_add(&e->modes, "native");
	if (!e->nwl)
		return vmerr_set(err, VM_EINPUT, "%s: no [workload NAME] section: nothing to run", path);
	for (unsigned b = 0; b < e->nblocks; b++)
		if (e->nblocks > 1 && !e->blocks[b].name[0])
			return vmerr_set(err, VM_EINPUT, "%s: several [sweep] sections: name each one "
					 "([sweep NAME]), the name goes in the 'sweep' column", path);
	if (!e->nblocks) { /* no [sweep]: one combination, the base profile */
		if (!(e->blocks = calloc(1, sizeof *e->blocks)))
			return vmerr_set(err, VM_ENOMEM, "out of memory");
		e->nblocks = 1;
	}
	e->sweep_col = e->nblocks > 1;
	for (unsigned b = 0; b < e->nblocks; b++) {
		e->blocks[b].nvals = 1;
		for (unsigned a = 0; a < e->naxes; a++)
			if (e->axes[a].block == b)
				e->blocks[b].nvals *= e->axes[a].nvals;
		e->blocks[b].first = e->ncombos;
		e->ncombos += e->blocks[b].nvals;
	}
	for (unsigned s = 0; s < e->sets.n; s++) {
		char key[128];
		snprintf(key, sizeof key, "%s", e->sets.v[s]);
		*strchr(key, '=') = 0;
		if (is_swept(e, key))
			return vmerr_set(err, VM_EINPUT,
					 "%s: %s is both a fixed 'set' and a [sweep] axis; keep one", path, key);
	}
	if (!(flags & EXP_LOAD_NO_CONFIG)) {
		if ((rc = resolve_config(e, err)) < 0)
			return rc;
		if (e->config_path[0] && (rc = hash_file(e->config_path, &e->config_hash, err)) < 0)
			return rc;
		/* The profile and the fixed overrides must load as they are. */
		struct cfg cfg;
		rc = cfg_load(&cfg, e->config_path[0] ? e->config_path : NULL, e->sets.v,
			      (int)e->sets.n, err);
		if (rc < 0)
			return rc;
		for (unsigned k = 0; k < e->nkcols; k++) {
			char v[256];
			cfg_get(&cfg, e->kcols[k], v, sizeof v);
			e->kdef[k] = strdup(v);
		}
		if ((rc = check_combinations(e, err)) < 0)
			return rc;
	}
	for (unsigned k = 0; k < e->nkcols; k++)
		if (!e->kdef[k] && !(e->kdef[k] = strdup("")))
			return vmerr_set(err, VM_ENOMEM, "out of memory");
	if ((rc = check_figures(e, err)) < 0)
		return rc;

	uint64_t per = e->modes.n * e->ncombos;
	for (unsigned i = 0; i < e->nwl; i++) {
		struct exp_workload *w = &e->wl[i];
		w->first = e->nruns;
		w->nruns = per;
		for (unsigned j = 0; j <= w->desc->nparams; j++) {
			w->nruns *= w->p[j].n;
			if (j < w->desc->nparams)
				add_col(e, w->desc->params[j].name);
		}
		e->nruns += w->nruns;
	}
	add_col(e, "seed");
	return 0;
}

void exp_free(struct experiment *e)
{
	exp_list_free(&e->sets);
	exp_list_free(&e->modes);
	for (unsigned i = 0; i < e->nwl; i++)
		for (unsigned j = 0; j <= WL_MAX_PARAMS; j++)
			exp_list_free(&e->wl[i].p[j]);
	free(e->wl);
	for (unsigned a = 0; a < e->naxes; a++) {
		for (unsigned k = 0; k < e->axes[a].nkeys; k++)
			free(e->axes[a].keys[k]);
		exp_list_free(&e->axes[a].vals);
	}
	free(e->axes);
	free(e->blocks);
	for (unsigned k = 0; k < e->nkcols; k++) {
		free(e->kcols[k]);
		free(e->kdef[k]);
	}
	for (unsigned i = 0; i < e->nfig; i++) {
		for (unsigned y = 0; y < e->fig[i].ny; y++)
			free(e->fig[i].y[y]);
		exp_list_free(&e->fig[i].where);
		exp_list_free(&e->fig[i].marks);
	}
	free(e->fig);
	for (unsigned i = 0; i < e->nwcols; i++)
		free(e->wcols[i]);
	memset(e, 0, sizeof *e);
}

/* ---- runs ---- */

void exp_run_get(const struct experiment *e, uint64_t i, struct exp_run *r)
{
	memset(r, 0, sizeof *r);
	r->index = i;
	unsigned wi = 0;
	while (wi + 1 < e->nwl && i >= e->wl[wi].first + e->wl[wi].nruns)
		wi++;
	const struct exp_workload *w = &e->wl[wi];
	uint64_t x = i - w->first;
	r->w = w;
	r->mode = e->modes.v[x % e->modes.n];
	x /= e->modes.n;
	uint64_t c = x % e->ncombos;
	x /= e->ncombos;
	unsigned b = 0;
	while (b + 1 < e->nblocks && c >= e->blocks[b].first + e->blocks[b].nvals)
		b++;
	r->block = &e->blocks[b];
	c -= e->blocks[b].first;
	for (unsigned k = 0; k < e->nkcols; k++)
		r->kval[k] = e->kdef[k];
	for (unsigned a = e->naxes; a-- > 0;) {
		const struct exp_axis *ax = &e->axes[a];
		if (ax->block != b)
			continue;
		unsigned t = (unsigned)(c % ax->nvals);
		c /= ax->nvals;
		for (unsigned k = 0; k < ax->nkeys; k++) {
			r->kval[ax->kcol[k]] = ax->vals.v[t * ax->nkeys + k];
			r->kswept[ax->kcol[k]] = true;
		}
	}
	for (unsigned j = w->desc->nparams + 1; j-- > 0;) {
		r->pval[j] = w->p[j].v[x % w->p[j].n];
		x /= w->p[j].n;
	}
}

void exp_run_spec(const struct experiment *e, const struct exp_run *r, char *buf, size_t len)
{
	(void)e;
	const struct wl_desc *d = r->w->desc;
	size_t n = (size_t)snprintf(buf, len, "%s:", d->name);
	for (unsigned j = 0; j <= d->nparams && n < len; j++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", j ? "," : "",
				      j < d->nparams ? d->params[j].name : "seed", r->pval[j]);
}

int exp_run_sets(const struct experiment *e, const struct exp_run *r, char **out, int max,
		 char *store, size_t len)
{
	int n = 0;
	size_t used = 0;
	for (unsigned s = 0; s < e->sets.n; s++) {
		if (n == max)
			return -1;
		out[n++] = e->sets.v[s];
	}
	for (unsigned k = 0; k < e->nkcols; k++) {
		if (!r->kswept[k])
			continue; /* the base profile's value */
		int w = snprintf(store + used, len - used, "%s=%s", e->kcols[k], r->kval[k]);
		if (n == max || w < 0 || (size_t)w >= len - used)
			return -1;
		out[n++] = store + used;
		used += (size_t)w + 1;
	}
	return n;
}

void exp_run_key(const struct experiment *e, const struct exp_run *r, char key[17])
{
	char spec[1024];
	uint64_t h = EXP_FNV_INIT;
#define MIX(s) (h = exp_fnv(h, (s), strlen(s) + 1))
	MIX("mode");
	MIX(r->mode);
	exp_run_spec(e, r, spec, sizeof spec);
	MIX(spec);
	MIX(r->block->name);
	for (unsigned k = 0; k < e->nkcols; k++) {
		if (!r->kswept[k])
			continue; /* the profile's value: its bytes are hashed below */
		MIX(e->kcols[k]);
		MIX(r->kval[k]);
	}
	MIX("config");
	MIX(e->config);
	h = exp_fnv(h, &e->config_hash, sizeof e->config_hash);
	for (unsigned s = 0; s < e->sets.n; s++)
		MIX(e->sets.v[s]);
	MIX(e->measure_phase ? "measure=phase" : "measure=all");
#undef MIX
	snprintf(key, 17, "%016" PRIx64, h);
}

/* ---- runs.csv as a table ---- */

unsigned exp_csv_split(char *line, char **fields, unsigned max)
{
	unsigned n = 0;
	char *p = line;
	for (;;) {
		char *start = p, *w = p;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else if (!*p) {
					break;
				} else {
					*w++ = *p++;
				}
			}
			while (*p && *p != ',')
				p++;
		} else {
			while (*p && *p != ',')
				p++;
			w = p;
		}
		char sep = *p;
		*w = 0;
		if (n < max)
			fields[n] = start;
		n++;
		if (sep != ',')
			break;
		p++;
	}
	return n;
}

int exp_table_col(const struct exp_table *t, const char *name)
{
	for (unsigned i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i], name))
			return (int)i;
	return -1;
}

void exp_table_free(struct exp_table *t)
{
	free(t->cols);
	free(t->cells);
	free(t->mem);
	memset(t, 0, sizeof *t);
}

int exp_table_read(struct exp_table *t, const char *path, struct vmerr *err)
{
	memset(t, 0, sizeof *t);
	FILE *f = fopen(path, "rb");
	if (!f)
		return vmerr_set(err, VM_EINPUT, "%s: cannot read: %s", path, strerror(errno));
	size_t cap = 1 << 16, len = 0, n;
	char *mem = malloc(cap + 1);
	while (mem && (n = fread(mem + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *m2 = realloc(mem, 2 * cap + 1);
			if (!m2) {
				free(mem);
				mem = NULL;
				break;
			}
			mem = m2;
			cap *= 2;
		}
	}
	fclose(f);
	if (!mem)
		return vmerr_set(err, VM_ENOMEM, "%s: out of memory", path);
	mem[len] = 0;
	t->mem = mem;
	/* A trailing line without its newline is an interrupted write: not a row. */
	char *end = strrchr(mem, '\n');
	if (!end) {
		exp_table_free(t);
		return vmerr_set(err, VM_EINPUT, "%s: empty (no header line)", path);
	}
	end[1] = 0;
	uint64_t lines = 0;
	for (char *p = mem; *p; p++)
		lines += *p == '\n';
	char *line = mem, *nl = strchr(line, '\n');
	*nl = 0;
	char *count = strdup(line);
	unsigned nc = count ? exp_csv_split(count, NULL, 0) : 1;
	free(count);
	t->cols = malloc(nc * sizeof *t->cols);
	t->cells = malloc((lines ? lines : 1) * nc * sizeof *t->cells);
	if (!t->cols || !t->cells) {
		exp_table_free(t);
		return vmerr_set(err, VM_ENOMEM, "%s: out of memory", path);
	}
	t->ncols = exp_csv_split(line, t->cols, nc);
	for (line = nl + 1; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = 0;
		if (!*line)
			continue;
		char **row = &t->cells[t->nrows * nc];
		unsigned got = exp_csv_split(line, row, nc);
		if (got != nc) {
			uint64_t r = t->nrows + 2;
			exp_table_free(t);
			return vmerr_set(err, VM_EINPUT, "%s:%" PRIu64 ": %u fields, the header has %u",
					 path, r, got, nc);
		}
		t->nrows++;
	}
	return 0;
}

/* ---- figure tables ---- */

struct colref {
	unsigned n;
	int c[EXP_MAX_ZIP];
};

static int colref_resolve(const struct exp_table *t, const struct exp_figure *f, const char *what,
			  const char *spec, struct colref *r, struct vmerr *err)
{
	struct exp_list parts = {0};
	r->n = 0;
	if (!spec[0])
		return 0;
	exp_list_split(&parts, spec, '+');
	for (unsigned i = 0; i < parts.n; i++) {
		int c = exp_table_col(t, parts.v[i]);
		if (c < 0 || r->n == EXP_MAX_ZIP) {
			int rc = vmerr_set(err, VM_EINPUT,
					   "[figure %s] %s = %s: runs.csv has no column '%s' (see its header "
					   "line: mode, workload, wl.*, swept keys, statistics)",
					   f->name, what, spec, parts.v[i]);
			exp_list_free(&parts);
			return rc;
		}
		r->c[r->n++] = c;
	}
	exp_list_free(&parts);
	return 0;
}

static void colref_value(const struct exp_table *t, uint64_t row, const struct colref *r, char *buf,
			 size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < r->n && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "/" : "", exp_cell(t, row, r->c[i]));
}

static unsigned intern(struct exp_list *l, const char *s)
{
	for (unsigned i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return i;
	exp_list_add(l, s);
	return l->n - 1;
}

static double num(const char *s)
{
	char *end;
	if (!*s)
		return NAN;
	double v = strtod(s, &end);
	return *end ? NAN : v;
}

/* Parameter columns of a runs.csv: mode up to (not including) config. */
static int param_cols(const struct exp_table *t, int *first, int *end, struct vmerr *err)
{
	*first = exp_table_col(t, "mode");
	*end = exp_table_col(t, "config");
	if (*first < 0 || *end < *first)
		return vmerr_set(err, VM_EINPUT, "not a runs.csv written by 'vmsim sweep' (no mode .. "
				 "config columns)");
	return 0;
}

struct fig_ctx {
	const struct exp_table *t;
	const struct exp_figure *f;
	int pfirst, pend, errcol, runcol, wlcol;
	struct colref x, series, panel, where[16];
	const char *wherev[16];
	unsigned nwhere;
	int y[EXP_MAX_Y];
	int per;                /* column, or -1 */
	struct exp_list permap; /* "workload:column" pairs */
	int bcol;
	const char *bval;
	/* x as scaled numbers: "COL/N", or per workload "gups:wl.mb, chase:wl.pages/256" */
	struct xterm {
		char wl[64]; /* "" = every workload */
		int col;
		double mul;
	} xm[16];
	unsigned nxm;
	/* baseline rows sorted by the hash of their other parameters */
	struct bent { uint64_t h, row; } *base;
	uint64_t nbase;
};

static uint64_t sig_hash(const struct fig_ctx *c, uint64_t row)
{
	uint64_t h = EXP_FNV_INIT;
	for (int i = c->pfirst; i < c->pend; i++)
		if (i != c->bcol)
			h = exp_fnv(h, exp_cell(c->t, row, (unsigned)i),
				    strlen(exp_cell(c->t, row, (unsigned)i)) + 1);
	return h;
}

static int same_params(const struct fig_ctx *c, uint64_t a, uint64_t b)
{
	for (int i = c->pfirst; i < c->pend; i++)
		if (i != c->bcol &&
		    strcmp(exp_cell(c->t, a, (unsigned)i), exp_cell(c->t, b, (unsigned)i)))
			return 0;
	return 1;
}

static int bent_cmp(const void *a, const void *b)
{
	const struct bent *x = a, *y = b;
	return x->h < y->h ? -1 : x->h > y->h;
}

/* The row's x: the column(s) as text, or a scaled number. */
static void x_value(const struct fig_ctx *c, uint64_t r, char *buf, size_t len)
{
	if (!c->nxm) {
		colref_value(c->t, r, &c->x, buf, len);
		return;
	}
	const char *w = exp_cell(c->t, r, (unsigned)c->wlcol);
	buf[0] = 0;
	for (unsigned i = 0; i < c->nxm; i++)
		if (!c->xm[i].wl[0] || !strcmp(c->xm[i].wl, w)) {
			double v = num(exp_cell(c->t, r, (unsigned)c->xm[i].col));
			if (!isnan(v))
				snprintf(buf, len, "%.6g", v * c->xm[i].mul);
			return;
		}
}

static int x_setup(struct fig_ctx *c, const struct exp_figure *f, struct vmerr *err)
{
	if (!strpbrk(f->x, ":/*"))
		return colref_resolve(c->t, f, "x", f->x, &c->x, err);
	struct exp_list terms = {0};
	int rc = 0;
	exp_list_split(&terms, f->x, ',');
	for (unsigned i = 0; i < terms.n && rc == 0; i++) {
		struct xterm *xt = &c->xm[c->nxm];
		char *t = terms.v[i], *colon = strchr(t, ':'), *op;
		if (c->nxm == VM_ARRAY_SIZE(c->xm) || (!colon && terms.n > 1)) {
			rc = vmerr_set(err, VM_EINPUT, "[figure %s] x = %s: expected COLUMN, COLUMN/N, "
				       "COLUMN*N or a list of WORKLOAD:COLUMN[/N]", f->name, f->x);
			break;
		}
		xt->wl[0] = 0;
		if (colon) {
			*colon = 0;
			snprintf(xt->wl, sizeof xt->wl, "%s", trim(t));
			t = colon + 1;
		}
		xt->mul = 1;
		if ((op = strpbrk(t, "/*"))) {
			double n = num(trim(op + 1));
			if (isnan(n) || n == 0) {
				rc = vmerr_set(err, VM_EINPUT, "[figure %s] x: '%s' is not a non-zero number",
					       f->name, op + 1);
				break;
			}
			xt->mul = *op == '/' ? 1 / n : n;
			*op = 0;
		}
		if ((xt->col = exp_table_col(c->t, trim(t))) < 0) {
			rc = vmerr_set(err, VM_EINPUT, "[figure %s] x = %s: runs.csv has no column '%s'",
				       f->name, f->x, trim(t));
			break;
		}
		c->nxm++;
	}
	exp_list_free(&terms);
	return rc;
}

static bool row_ok(const struct fig_ctx *c, uint64_t r)
{
	return !*exp_cell(c->t, r, (unsigned)c->errcol);
}

static bool row_kept(const struct fig_ctx *c, uint64_t r)
{
	if (!row_ok(c, r))
		return false;
	for (unsigned w = 0; w < c->nwhere; w++) {
		char v[256];
		colref_value(c->t, r, &c->where[w], v, sizeof v);
		if (strcmp(v, c->wherev[w]))
			return false;
	}
	return true;
}

/* y[j] of row r divided by its per column. */
static double yval(const struct fig_ctx *c, uint64_t r, unsigned j)
{
	double v = num(exp_cell(c->t, r, (unsigned)c->y[j]));
	int per = c->per;
	if (c->permap.n) {
		per = -1;
		const char *w = exp_cell(c->t, r, (unsigned)c->wlcol);
		for (unsigned i = 0; i + 1 < c->permap.n; i += 2)
			if (!strcmp(c->permap.v[i], w))
				per = exp_table_col(c->t, c->permap.v[i + 1]);
		if (per < 0)
			return NAN;
	}
	if (per >= 0) {
		double d = num(exp_cell(c->t, r, (unsigned)per));
		v = d != 0 ? v / d : NAN;
	}
	return v;
}

static double cell_value(const struct fig_ctx *c, uint64_t r, unsigned j)
{
	double v = yval(c, r, j);
	if (c->bcol < 0)
		return v;
	uint64_t h = sig_hash(c, r);
	size_t lo = 0, hi = c->nbase;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->base[mid].h < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->nbase && c->base[lo].h == h; lo++)
		if (same_params(c, r, c->base[lo].row)) {
			double b = yval(c, c->base[lo].row, j);
			return b != 0 ? v / b : NAN;
		}
	return NAN;
}

static int fig_setup(struct fig_ctx *c, const struct exp_figure *f, const struct exp_table *t,
		     struct vmerr *err)
{
	int rc;
	c->t = t;
	c->f = f;
	c->per = c->bcol = -1;
	if ((rc = param_cols(t, &c->pfirst, &c->pend, err)) < 0)
		return rc;
	c->errcol = exp_table_col(t, "error");
	c->runcol = exp_table_col(t, "run");
	c->wlcol = exp_table_col(t, "workload");
	if (c->errcol < 0 || c->runcol < 0 || c->wlcol < 0)
		return vmerr_set(err, VM_EINPUT, "not a runs.csv written by 'vmsim sweep' (no run, "
				 "workload or error column)");
	if ((rc = x_setup(c, f, err)) < 0 ||
	    (rc = colref_resolve(t, f, "series", f->series, &c->series, err)) < 0 ||
	    (rc = colref_resolve(t, f, "panel", f->panel, &c->panel, err)) < 0)
		return rc;
	for (unsigned j = 0; j < f->ny; j++) {
		c->y[j] = exp_table_col(t, f->y[j]);
		if (c->y[j] < 0)
			return vmerr_set(err, VM_EINPUT, "[figure %s] y = %s: runs.csv has no column '%s' "
					 "(statistics are listed by 'vmsim run --csv')", f->name,
					 f->y[j], f->y[j]);
	}
	if (f->where.n > VM_ARRAY_SIZE(c->where))
		return vmerr_set(err, VM_EINPUT, "[figure %s]: more than %zu where conditions",
				 f->name, VM_ARRAY_SIZE(c->where));
	for (unsigned w = 0; w < f->where.n; w++) {
		char col[256];
		snprintf(col, sizeof col, "%s", f->where.v[w]);
		*strchr(col, '=') = 0; /* check_figures made sure there is one */
		if ((rc = colref_resolve(t, f, "where", trim(col), &c->where[w], err)) < 0)
			return rc;
		const char *v = strchr(f->where.v[w], '=') + 1;
		while (isspace((unsigned char)*v))
			v++;
		c->wherev[w] = v; /* its end was trimmed when the list was split */
		c->nwhere++;
	}
	if (strchr(f->per, ':')) {
		struct exp_list pairs = {0};
		exp_list_split(&pairs, f->per, ',');
		for (unsigned i = 0; i < pairs.n; i++) {
			char *colon = strchr(pairs.v[i], ':');
			if (!colon || exp_table_col(t, trim(colon + 1)) < 0) {
				rc = vmerr_set(err, VM_EINPUT,
					       "[figure %s] per: '%s' is not WORKLOAD:COLUMN with a column "
					       "of runs.csv", f->name, pairs.v[i]);
				exp_list_free(&pairs);
				return rc;
			}
			*colon = 0;
			exp_list_add(&c->permap, trim(pairs.v[i]));
			exp_list_add(&c->permap, trim(colon + 1));
		}
		exp_list_free(&pairs);
	} else if (f->per[0] && (c->per = exp_table_col(t, f->per)) < 0) {
		return vmerr_set(err, VM_EINPUT, "[figure %s] per = %s: runs.csv has no such column",
				 f->name, f->per);
	}
	if (f->baseline[0]) {
		char col[128];
		snprintf(col, sizeof col, "%s", f->baseline);
		*strchr(col, '=') = 0;
		c->bcol = exp_table_col(t, trim(col));
		c->bval = trim(strchr(f->baseline, '=') + 1);
		if (c->bcol < c->pfirst || c->bcol >= c->pend)
			return vmerr_set(err, VM_EINPUT,
					 "[figure %s] baseline = %s: '%s' is not a parameter column of "
					 "runs.csv", f->name, f->baseline, trim(col));
		c->base = malloc((t->nrows ? t->nrows : 1) * sizeof *c->base);
		if (!c->base)
			return vmerr_set(err, VM_ENOMEM, "out of memory");
		for (uint64_t r = 0; r < t->nrows; r++)
			if (row_ok(c, r) && !strcmp(exp_cell(t, r, (unsigned)c->bcol), c->bval))
				c->base[c->nbase++] = (struct bent){sig_hash(c, r), r};
		qsort(c->base, c->nbase, sizeof *c->base, bent_cmp);
	}
	return 0;
}

static void fig_free(struct fig_ctx *c)
{
	exp_list_free(&c->permap);
	free(c->base);
}

static void put_field(FILE *out, const char *s)
{
	if (*s && !strpbrk(s, " \t\"#"))
		fputs(s, out);
	else {
		fputc('"', out);
		for (; *s; s++)
			fputc(*s == '"' ? '\'' : *s, out);
		fputc('"', out);
	}
}

int exp_figure_data(const struct experiment *e, const struct exp_figure *f,
		    const struct exp_table *t, FILE *out, uint64_t *nfailed, struct vmerr *err)
{
	struct fig_ctx c = {0};
	struct exp_list panels = {0}, xs = {0}, series = {0};
	double *val = NULL;
	int64_t *owner = NULL;
	unsigned *where = NULL, *xorder = NULL;
	int rc = fig_setup(&c, f, t, err);
	if (rc < 0)
		goto out;
	*nfailed = 0;
	where = malloc((t->nrows ? t->nrows : 1) * 3 * sizeof *where);
	if (!where) {
		rc = vmerr_set(err, VM_ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t r = 0; r < t->nrows; r++) {
		if (!row_ok(&c, r))
			(*nfailed)++;
		if (!row_kept(&c, r))
			continue;
		char v[256];
		colref_value(t, r, &c.panel, v, sizeof v);
		where[3 * r] = intern(&panels, v);
		x_value(&c, r, v, sizeof v);
		if (!v[0]) { /* no x for this row's workload */
			where[3 * r] = UINT_MAX;
			continue;
		}
		where[3 * r + 1] = intern(&xs, v);
		colref_value(t, r, &c.series, v, sizeof v);
		where[3 * r + 2] = intern(&series, v);
	}
	size_t width = (size_t)(series.n ? series.n : 1) * f->ny;
	size_t ncell = (size_t)panels.n * xs.n * width;
	val = malloc((ncell ? ncell : 1) * sizeof *val);
	owner = malloc((ncell ? ncell : 1) * sizeof *owner);
	if (!val || !owner) {
		rc = vmerr_set(err, VM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ncell; i++) {
		val[i] = NAN;
		owner[i] = -1;
	}
	for (uint64_t r = 0; r < t->nrows; r++) {
		if (!row_kept(&c, r) || where[3 * r] == UINT_MAX)
			continue;
		size_t base = ((size_t)where[3 * r] * xs.n + where[3 * r + 1]) * width +
			      (size_t)where[3 * r + 2] * f->ny;
		if (owner[base] >= 0) {
			uint64_t o = (uint64_t)owner[base];
			const char *diff = "?";
			for (int i = c.pfirst; i < c.pend; i++)
				if (strcmp(exp_cell(t, o, (unsigned)i), exp_cell(t, r, (unsigned)i))) {
					diff = t->cols[i];
					break;
				}
			rc = vmerr_set(err, VM_EINPUT,
				       "[figure %s]: runs %s and %s land in one place of the figure; they "
				       "differ in %s (%s vs %s): add '%s' to x, series or panel, or keep "
				       "one value with 'where = %s=...'",
				       f->name, exp_cell(t, o, (unsigned)c.runcol),
				       exp_cell(t, r, (unsigned)c.runcol), diff,
				       exp_table_col(t, diff) >= 0 ? exp_cell(t, o, (unsigned)exp_table_col(t, diff)) : "",
				       exp_table_col(t, diff) >= 0 ? exp_cell(t, r, (unsigned)exp_table_col(t, diff)) : "",
				       diff, diff);
			goto out;
		}
		for (unsigned j = 0; j < f->ny; j++) {
			owner[base + j] = (int64_t)r;
			val[base + j] = cell_value(&c, r, j);
		}
	}

	/* Numeric x values are drawn in numeric order, whatever the run order. */
	xorder = malloc((xs.n ? xs.n : 1) * sizeof *xorder);
	if (!xorder) {
		rc = vmerr_set(err, VM_ENOMEM, "out of memory");
		goto out;
	}
	bool numeric = true;
	for (unsigned x = 0; x < xs.n; x++) {
		xorder[x] = x;
		numeric &= !isnan(num(xs.v[x]));
	}
	for (unsigned a = 1; numeric && a < xs.n; a++) /* insertion sort: few values */
		for (unsigned b = a; b > 0 && num(xs.v[xorder[b - 1]]) > num(xs.v[xorder[b]]); b--) {
			unsigned tmp = xorder[b];
			xorder[b] = xorder[b - 1];
			xorder[b - 1] = tmp;
		}

	fprintf(out, "# vmsim plot: figure %s of experiment %s (%s)\n", f->name, e->name, e->path);
	fprintf(out, "# rows: %s; columns: %s%s%s; values: %s", f->x,
		f->series[0] ? f->series : "-", f->ny > 1 ? " x " : "", f->ny > 1 ? "y" : "",
		f->y[0]);
	for (unsigned j = 1; j < f->ny; j++)
		fprintf(out, ", %s", f->y[j]);
	if (f->per[0])
		fprintf(out, " per %s", f->per);
	if (f->baseline[0])
		fprintf(out, ", divided by the run with %s", f->baseline);
	fprintf(out, "\n# %" PRIu64 " failed runs left out; NaN: no run\n", *nfailed);
	for (unsigned p = 0; p < panels.n; p++) {
		if (p)
			fputs("\n\n", out);
		if (f->panel[0])
			fprintf(out, "# panel: %s\n", panels.v[p]);
		put_field(out, c.nxm > 1 ? "x" : f->x); /* a per-workload x has no one name */
		for (unsigned s = 0; s < (series.n ? series.n : 1); s++)
			for (unsigned j = 0; j < f->ny; j++) {
				char title[320];
				if (!f->series[0])
					snprintf(title, sizeof title, "%s", f->y[j]);
				else if (f->ny == 1)
					snprintf(title, sizeof title, "%s", series.v[s]);
				else
					snprintf(title, sizeof title, "%s %s", series.v[s], f->y[j]);
				fputc(' ', out);
				put_field(out, title);
			}
		fputc('\n', out);
		for (unsigned xi = 0; xi < xs.n; xi++) {
			unsigned x = xorder[xi];
			size_t base = ((size_t)p * xs.n + x) * width;
			bool any = false;
			for (size_t k = 0; k < width; k++)
				any |= owner[base + k] >= 0;
			if (!any)
				continue;
			put_field(out, xs.v[x]);
			for (size_t k = 0; k < width; k++) {
				if (isnan(val[base + k]))
					fputs(" NaN", out);
				else
					fprintf(out, " %.6g", val[base + k]);
			}
			fputc('\n', out);
		}
	}
	if (ferror(out))
		rc = vmerr_set(err, VM_EIO, "[figure %s]: write failed", f->name);
out:
	fig_free(&c);
	exp_list_free(&panels);
	exp_list_free(&xs);
	exp_list_free(&series);
	free(val);
	free(owner);
	free(where);
	free(xorder);
	return rc;
}

void exp_figure_caption(const struct experiment *e, const struct exp_figure *f,
			const struct exp_table *t, char *buf, size_t len)
{
	struct fig_ctx c = {0};
	struct vmerr err;
	struct exp_list wls = {0};
	size_t n = 0;
	buf[0] = 0;
	if (fig_setup(&c, f, t, &err) < 0)
		goto out;
	int cfgcol = exp_table_col(t, "config");
	const char *config = NULL;
	for (uint64_t r = 0; r < t->nrows; r++)
		if (row_kept(&c, r)) {
			intern(&wls, exp_cell(t, r, (unsigned)c.wlcol));
			if (!config)
				config = exp_cell(t, r, (unsigned)cfgcol);
		}
	n += (size_t)snprintf(buf + n, len - n, "config %s", config ? config : "?");
	if (wls.n > 3) {
		n += (size_t)snprintf(buf + n, len - n, " | workloads");
		for (unsigned i = 0; i < wls.n && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, "%s %s", i ? "," : "", wls.v[i]);
		n += (size_t)snprintf(buf + n, len - n, " (parameters: runs.csv)");
	} else {
		for (unsigned i = 0; i < wls.n && n < len; i++) {
			n += (size_t)snprintf(buf + n, len - n, " | %s", wls.v[i]);
			/* Each wl.* column its rows fill: fixed value, or swept. */
			char swept[256] = "";
			for (int col = c.pfirst; col < c.pend && n < len; col++) {
				if (strncmp(t->cols[col], "wl.", 3))
					continue;
				const char *first = NULL;
				bool varies = false;
				for (uint64_t r = 0; r < t->nrows; r++) {
					if (!row_kept(&c, r) ||
					    strcmp(exp_cell(t, r, (unsigned)c.wlcol), wls.v[i]))
						continue;
					const char *v = exp_cell(t, r, (unsigned)col);
					if (!first)
						first = v;
					else if (strcmp(first, v))
						varies = true;
				}
				if (!first || !*first)
					continue;
				if (varies)
					snprintf(swept + strlen(swept), sizeof swept - strlen(swept), "%s%s",
						 swept[0] ? "," : "", t->cols[col] + 3);
				else
					n += (size_t)snprintf(buf + n, len - n, " %s=%s", t->cols[col] + 3,
							      first);
			}
			if (swept[0] && n < len)
				n += (size_t)snprintf(buf + n, len - n, " (%s swept)", swept);
		}
	}
	if (n < len)
		snprintf(buf + n, len - n, " | %s | %s",
			 e->measure_phase ? "measured phase" : "whole run",
			 e->origin[0] ? e->origin : e->path);
out:
	fig_free(&c);
	exp_list_free(&wls);
}
