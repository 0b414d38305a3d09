/* registry.c - the list of built-in workloads and the NAME:k=v,... parser. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl.h"

extern const struct wl_desc wl_stride, wl_gups;

const struct wl_desc *const wl_all[] = {&wl_stride, &wl_gups};
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
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
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
		char list[256] = "";
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
	return ev_sink_flush(sink);
}
