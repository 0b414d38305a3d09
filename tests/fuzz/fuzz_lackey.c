/*
 * fuzz_lackey.c - libFuzzer harness for the lackey importer (traces/lackey.c).
 *
 * The input is the text valgrind --tool=lackey would print.  Properties:
 * no out-of-bounds access or leak (sanitizers); on success the return value
 * is the number of events the sink received, every one an access of pid 7
 * on vCPU 0 with a size of 1..255 and an op of load, store or fetch; on
 * failure there is a message.
 */
#include "fuzz_common.h"
#include "traces/vmt.h"

int fuzz_lackey(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	FILE *f = fmemopen((void *)data, size, "r");
	FUZZ_CHECK(f, "fmemopen failed");
	static struct vm_event keep[1024];
	struct vm_event batch[64];
	struct fuzz_collect c = {.ev = keep, .cap = 1024};
	struct ev_sink sink = {.buf = batch, .cap = 64, .flush = fuzz_collect_flush, .arg = &c};
	struct vmerr err = {{0}};
	long n = trace_import_lackey(f, "fuzz", 7, &sink, &err);
	fclose(f);
	if (n < 0) {
		FUZZ_CHECK(err.msg[0], "import failed (%ld) without a message", n);
		return 0;
	}
	FUZZ_CHECK((uint64_t)n == c.total, "returned %ld events, the sink got %llu", n,
		   (unsigned long long)c.total);
	for (size_t i = 0; i < c.n; i++) {
		const struct vm_event *e = &keep[i];
		FUZZ_CHECK(e->kind == EV_ACCESS && e->op <= EV_FETCH && e->size >= 1 && e->pid == 7 &&
				   e->vcpu == 0 && e->arg == 0,
			   "event %zu: kind %u op %u size %u pid %u vcpu %u", i, e->kind, e->op,
			   e->size, e->pid, e->vcpu);
	}
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_lackey(data, size); }
#endif
