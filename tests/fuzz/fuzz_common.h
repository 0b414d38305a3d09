/*
 * fuzz_common.h - what the libFuzzer harnesses in tests/fuzz/ share.
 *
 * Each harness is one file, fuzz_NAME.c, with a function
 *     int fuzz_NAME(const uint8_t *data, size_t size);
 * that feeds one input to one entry point of vmsim and aborts (with the
 * values involved) when a property the entry point promises does not hold.
 * The file also defines LLVMFuzzerTestOneInput unless FUZZ_NO_ENTRY is
 * defined: tests/test_regress_fuzz.c includes every harness that way and
 * replays the saved inputs through the same functions in the normal build.
 *
 * Entry points that take a path get a memfd, named /proc/self/fd/N: no disk
 * traffic and nothing left behind.
 */
#ifndef VMSIM_FUZZ_COMMON_H
#define VMSIM_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/event.h"

/* Abort with a message: libFuzzer saves the input, the test fails. */
#define FUZZ_CHECK(cond, ...)                                                         \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz: %s:%d: check '%s' failed: ", __FILE__, \
				__LINE__, #cond);                                     \
			fprintf(stderr, __VA_ARGS__);                                 \
			fputc('\n', stderr);                                          \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* A reusable in-memory file holding exactly data[0..size-1]; which = 0 or 1
 * (two files at once).  Returns its path, or aborts if the system refuses. */
static inline const char *fuzz_memfile(unsigned which, const void *data, size_t size)
{
	static int fd[2] = {-1, -1};
	static char path[2][64];
	if (fd[which] < 0) {
		fd[which] = memfd_create("vmsim-fuzz", 0);
		FUZZ_CHECK(fd[which] >= 0, "memfd_create failed");
		snprintf(path[which], sizeof path[which], "/proc/self/fd/%d", fd[which]);
	}
	FUZZ_CHECK(ftruncate(fd[which], 0) == 0, "ftruncate failed");
	size_t off = 0;
	while (off < size) {
		ssize_t n = pwrite(fd[which], (const char *)data + off, size - off, (off_t)off);
		FUZZ_CHECK(n > 0, "pwrite failed");
		off += (size_t)n;
	}
	return path[which];
}

/* An ev_sink consumer that keeps the first `cap` events and counts all. */
struct fuzz_collect {
	struct vm_event *ev;
	size_t n, cap;
	uint64_t total;
};

static inline int fuzz_collect_flush(void *arg, const struct vm_event *ev, size_t n)
{
	struct fuzz_collect *c = arg;
	c->total += n;
	for (size_t i = 0; i < n && c->n < c->cap; i++)
		c->ev[c->n++] = ev[i];
	return 0;
}

#endif
