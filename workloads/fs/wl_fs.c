/*
 * wl_fs.c - entry points of the freestanding workload build: the table of
 * workloads, a spec parser, and the run call a guest runtime makes.
 *
 * No libc: the string handling is done by hand.  The parser accepts what
 * wl_parse accepts (decimal or 0x hex, k/m/g suffixes x1024, "seed") but
 * reports only failure; the host side gives the messages.
 */
#include "../wl.h"

#define WL(n, sym) extern const struct wl_desc sym;
#include "../wl_list.h"
#undef WL

const struct wl_desc *const wl_fs_all[] = {
#define WL(n, sym) &sym,
#include "../wl_list.h"
#undef WL
	0,
};

/* a[0..alen) equals the NUL-terminated b. */
static int name_is(const char *a, unsigned long alen, const char *b)
{
	unsigned long i = 0;
	for (; i < alen; i++)
		if (b[i] != a[i] || !b[i])
			return 0;
	return b[i] == 0;
}

static const struct wl_desc *find_n(const char *name, unsigned long len)
{
	for (unsigned i = 0; wl_fs_all[i]; i++)
		if (name_is(name, len, wl_fs_all[i]->name))
			return wl_fs_all[i];
	return 0;
}

const struct wl_desc *wl_fs_find(const char *name)
{
	unsigned long len = 0;
	while (name[len])
		len++;
	return find_n(name, len);
}

static int parse_num(const char *s, unsigned long len, uint64_t *out)
{
	uint64_t v = 0, base = 10;
	unsigned long i = 0;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		char ch = s[i];
		uint64_t d;
		if (ch >= '0' && ch <= '9')
			d = (uint64_t)(ch - '0');
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			d = (uint64_t)(ch - 'a' + 10);
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			d = (uint64_t)(ch - 'A' + 10);
		else
			break;
		if (v > (~0ull - d) / base)
			return -1;
		v = v * base + d;
	}
	unsigned shift = 0;
	if (i < len) {
		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -1;
		}
		if (++i != len || v > (~0ull >> shift))
			return -1;
	}
	*out = v << shift;
	return 0;
}

int wl_fs_parse(const char *spec, const struct wl_desc **dp, uint64_t p[WL_MAX_PARAMS + 1])
{
	unsigned long n = 0;
	while (spec[n] && spec[n] != ':')
		n++;
	const struct wl_desc *d = find_n(spec, n);
	if (!d)
		return -1;
	for (unsigned i = 0; i < d->nparams; i++)
		p[i] = d->params[i].def;
	p[d->nparams] = 1;
	const char *s = spec + n;
	while (*s) {
		s++; /* the ':' or ',' */
		unsigned long k = 0, v;
		while (s[k] && s[k] != '=' && s[k] != ',')
			k++;
		if (s[k] != '=')
			return -1;
		for (v = k + 1; s[v] && s[v] != ','; v++)
			;
		int idx = name_is(s, k, "seed") ? (int)d->nparams : -1;
		for (unsigned i = 0; i < d->nparams && idx < 0; i++)
			if (name_is(s, k, d->params[i].name))
				idx = (int)i;
		if (idx < 0 || parse_num(s + k + 1, v - k - 1, &p[idx]) < 0)
			return -1;
		s += v;
	}
	*dp = d;
	return 0;
}

int wl_run_freestanding(const char *name, const uint64_t *p, uint64_t *checksum)
{
	const struct wl_desc *d = wl_fs_find(name);
	if (!d)
		return -1;
	struct wl_ctx c = {.pid = 1, .vcpu = 0, .checksum = 0xcbf29ce484222325ull};
	d->run(&c, p);
	if (checksum)
		*checksum = c.checksum;
	return 0;
}
