/* registry.c - the list of built-in workloads and the NAME:k=v,... parser. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl.h"

#define WL(n, sym) extern const struct wl_desc sym;
#include "wl_list.h"
#undef WL

const struct wl_desc *const wl_all[] = {
#define WL(n, sym) &sym,
#include "wl_list.h"
#undef WL
};
const unsigned wl_count = VM_ARRAY_SIZE(wl_all);

const struct wl_desc *wl_find(const char *name)
{
	for (unsigned i = 0; i < wl_count; i++)
		if (strcmp(wl_all[i]->name, name) == 0)
			return wl_all[i];
	return NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	/* Decimal or 0x hex; never octal: "pages=010" means ten, as in the
	 * freestanding parser (fs/wl_fs.c). */
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	if (hex && !isxdigit((unsigned char)s[2]))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, hex ? 16 : 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int wl_parse(const char *spec, const struct wl_desc **dp, uint64_t p[WL_MAX_PARAMS + 1],
	     struct vmerr *err)
{
	char name[64];
	const char *colon = strchr(spec, ':');
	size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (nlen == 0 || nlen >= sizeof name)
		return vmerr_set(err, VM_EINPUT, "workload '%s': expected NAME[:key=value,...]", spec);
	memcpy(name, spec, nlen);
	name[nlen] = 0;

	const struct wl_desc *d = wl_find(name);
	if (!d) {
		char list[384] = "";
		for (unsigned i = 0; i < wl_count; i++) {
			strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
			strncat(list, wl_all[i]->name, sizeof list - strlen(list) - 1);
		}
		return vmerr_set(err, VM_EINPUT, "unknown workload '%s' (known: %s; see 'vmsim workloads')",
				 name, list);
	}
	for (unsigned i = 0; i < d->nparams; i++)
		p[i] = d->params[i].def;
	p[d->nparams] = 1; /* seed */

	if (colon) {
		char buf[512];
		if (strlen(colon + 1) >= sizeof buf)
			return vmerr_set(err, VM_EINPUT, "workload '%s': parameters too long", name);
		strcpy(buf, colon + 1);
		char *save = NULL;
		for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(kv, '=');
			if (!eq)
				return vmerr_set(err, VM_EINPUT,
						 "workload '%s': parameter '%s' needs a value (key=value)",
						 name, kv);
			*eq = 0;
			int idx = -1;
			if (strcmp(kv, "seed") == 0)
				idx = (int)d->nparams;
			for (unsigned i = 0; i < d->nparams && idx < 0; i++)
				if (strcmp(kv, d->params[i].name) == 0)
					idx = (int)i;
			if (idx < 0) {
				char list[256] = "";
				for (unsigned i = 0; i < d->nparams; i++) {
					strncat(list, d->params[i].name, sizeof list - strlen(list) - 1);
					strncat(list, ", ", sizeof list - strlen(list) - 1);
				}
				strncat(list, "seed", sizeof list - strlen(list) - 1);
				return vmerr_set(err, VM_EINPUT,
						 "workload '%s': unknown parameter '%s' (known: %s)", name,
						 kv, list);
			}
			if (parse_u64(eq + 1, &p[idx]) < 0)
				return vmerr_set(err, VM_EINPUT,
						 "workload '%s': parameter %s='%s' is not an unsigned "
						 "integer (suffixes k, m, g allowed)",
						 name, kv, eq + 1);
		}
	}
	*dp = d;
	return 0;
}

void wl_format_params(const struct wl_desc *d, const uint64_t *p, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (unsigned i = 0; i <= d->nparams && off < len; i++) {
		const char *k = i < d->nparams ? d->params[i].name : "seed";
		int n = snprintf(buf + off, len - off, "%s%s=%" PRIu64, i ? "," : "", k, p[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

int wl_generate(const struct wl_desc *d, const uint64_t *p, struct ev_sink *sink)
{
	struct wl_ctx c = {.sink = sink, .pid = 1, .vcpu = 0};
	d->run(&c, p);
	for (unsigned i = 0; i < c.nback; i++)
		free(c.back[i].mem);
	return ev_sink_flush(sink);
}

/* Backed regions: the host copy of memory whose contents steer a workload. */

static struct wl_backing *backing_of(struct wl_ctx *c, uint64_t va, unsigned size)
{
	for (unsigned i = 0; i < c->nback; i++) {
		struct wl_backing *b = &c->back[i];
		if (va - b->va < b->len && b->len - (va - b->va) >= size)
			return b;
	}
	return NULL;
}

uint64_t wl__backed_load(struct wl_ctx *c, uint64_t va, unsigned size)
{
	struct wl_backing *b = backing_of(c, va, size);
	uint64_t v = 0;
	if (b)
		memcpy(&v, b->mem + (va - b->va), size <= 8 ? size : 8);
	return v;
}

void wl__backed_store(struct wl_ctx *c, uint64_t va, unsigned size, uint64_t val)
{
	struct wl_backing *b = backing_of(c, va, size);
	if (b)
		memcpy(b->mem + (va - b->va), &val, size <= 8 ? size : 8);
}

void wl__back(struct wl_ctx *c, uint64_t va, uint64_t len)
{
	if (c->nback == WL_MAX_BACKED) {
		fprintf(stderr, "wl__back: more than %d backed regions (va 0x%" PRIx64 ")\n",
			WL_MAX_BACKED, va);
		abort();
	}
	uint8_t *mem = len <= SIZE_MAX ? calloc(1, (size_t)len) : NULL;
	if (!mem) {
		if (!c->sink->err)
			c->sink->err = VM_ENOMEM;
		return;
	}
	c->back[c->nback++] = (struct wl_backing){.va = va, .len = len, .mem = mem};
}

uint64_t wl_threads(const struct wl_desc *d, const uint64_t *p)
{
	for (unsigned i = 0; i < d->nparams; i++)
		if (!strcmp(d->params[i].name, "threads"))
			return p[i] ? p[i] : 1;
	return 1;
}
