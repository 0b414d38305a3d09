/*
 * fuzz_wlparse.c - libFuzzer harness for the workload-parameter parser
 * (workloads/registry.c: wl_parse, wl_format_params).
 *
 * Input: a spec "NAME[:k=v,...]" (cut at the first NUL).  Properties: no
 * out-of-bounds access (sanitizers); a failure has a message; a spec that
 * parses formats (wl_format_params) to "k=v,..." that parses back to the
 * same values.
 */
#include "fuzz_common.h"
#include "workloads/wl.h"

int fuzz_wlparse(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1);
	FUZZ_CHECK(spec, "out of memory");
	memcpy(spec, data, size);
	spec[size] = 0;
	const struct wl_desc *d = NULL;
	uint64_t p[WL_MAX_PARAMS + 1], q[WL_MAX_PARAMS + 1];
	struct vmerr err = {{0}};
	int rc = wl_parse(spec, &d, p, &err);
	free(spec);
	if (rc < 0) {
		FUZZ_CHECK(err.msg[0], "wl_parse failed (%d) without a message", rc);
		return 0;
	}
	FUZZ_CHECK(d && d->nparams <= WL_MAX_PARAMS, "wl_parse succeeded without a workload");
	char canon[1024];
	size_t nl = strlen(d->name);
	memcpy(canon, d->name, nl);
	canon[nl] = ':';
	wl_format_params(d, p, canon + nl + 1, sizeof canon - nl - 1);
	const struct wl_desc *d2 = NULL;
	rc = wl_parse(canon, &d2, q, &err);
	FUZZ_CHECK(rc == 0, "'%s' does not parse back: %s", canon, err.msg);
	FUZZ_CHECK(d2 == d, "'%s' parses to another workload", canon);
	for (unsigned i = 0; i <= d->nparams; i++)
		FUZZ_CHECK(p[i] == q[i], "'%s': parameter %u was %llu, is %llu", canon, i,
			   (unsigned long long)p[i], (unsigned long long)q[i]);
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_wlparse(data, size); }
#endif
