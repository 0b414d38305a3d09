/*
 * fuzz_champsim.c - libFuzzer harness for the ChampSim importer
 * (traces/champsim.c).
 *
 * The input is a file as trace_import_champsim finds it: raw input_instr
 * records, or an xz or gzip stream of them (chosen by the magic bytes).
 * Properties: no out-of-bounds access or leak (sanitizers); on success the
 * return value is the number of events the sink received, each an access of
 * pid 3 with a non-zero address where it is a load or store; on failure
 * there is a message.
 */
#include "fuzz_common.h"
#include "traces/vmt.h"

int fuzz_champsim(const uint8_t *data, size_t size)
{
	static struct vm_event keep[1024];
	struct vm_event batch[64];
	struct fuzz_collect c = {.ev = keep, .cap = 1024};
	struct ev_sink sink = {.buf = batch, .cap = 64, .flush = fuzz_collect_flush, .arg = &c};
	struct vmerr err = {{0}};
	long n = trace_import_champsim(fuzz_memfile(0, data, size), 3, &sink, &err);
	if (n < 0) {
		FUZZ_CHECK(err.msg[0], "import failed (%ld) without a message", n);
		return 0;
	}
	FUZZ_CHECK((uint64_t)n == c.total, "returned %ld events, the sink got %llu", n,
		   (unsigned long long)c.total);
	for (size_t i = 0; i < c.n; i++) {
		const struct vm_event *e = &keep[i];
		FUZZ_CHECK(e->kind == EV_ACCESS && e->op <= EV_FETCH && e->pid == 3 &&
				   (e->op == EV_FETCH || e->addr != 0),
			   "event %zu: kind %u op %u pid %u addr 0x%llx", i, e->kind, e->op, e->pid,
			   (unsigned long long)e->addr);
	}
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_champsim(data, size); }
#endif
