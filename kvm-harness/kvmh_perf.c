/* kvmh_perf.c - hardware-counter probe and software events. */
#include "kvmh_perf.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *const kvmh_perf_names[KVMH_PERF_N] = {
	"page-faults", "task-clock-ns", "context-switches", "cycles", "instructions",
	"dTLB-load-misses"};

#define DTLB_READ_MISS                                                                        \
	(PERF_COUNT_HW_CACHE_DTLB | (PERF_COUNT_HW_CACHE_OP_READ << 8) |                      \
	 (PERF_COUNT_HW_CACHE_RESULT_MISS << 16))

static const struct {
	uint32_t type;
	uint64_t config;
} events[KVMH_PERF_N] = {
	{PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
	{PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
	{PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
	{PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
	{PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
	{PERF_TYPE_HW_CACHE, DTLB_READ_MISS},
};

static int perf_open(uint32_t type, uint64_t config)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = type;
	a.config = config;
	a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

int kvmh_perf_hw_probe(char *why, unsigned long len)
{
	for (unsigned i = KVMH_PERF_FIRST_HW; i < KVMH_PERF_N; i++) {
		int fd = perf_open(events[i].type, events[i].config);
		if (fd < 0) {
			int e = errno;
			snprintf(why, len, "perf_event_open(%s): %s", kvmh_perf_names[i], strerror(e));
			return -e;
		}
		volatile uint64_t x = 0;
		for (unsigned k = 0; k < 1000000; k++)
			x += k;
		uint64_t v[3] = {0, 0, 0};
		int n = (int)read(fd, v, sizeof v);
		close(fd);
		if (n != (int)sizeof v || v[2] == 0 || (i == KVMH_PERF_CYCLES && v[0] == 0)) {
			snprintf(why, len, "perf_event_open(%s) opens but does not count", kvmh_perf_names[i]);
			return -ENODEV;
		}
	}
	snprintf(why, len, "cycles, instructions and dTLB-load-misses count");
	return 0;
}

void kvmh_perf_open(struct kvmh_perf *p)
{
	char why[8];
	bool hw = kvmh_perf_hw_probe(why, sizeof why) == 0;
	for (unsigned i = 0; i < KVMH_PERF_N; i++)
		p->fd[i] = i < KVMH_PERF_FIRST_HW || hw ? perf_open(events[i].type, events[i].config)
						       : -1;
}

void kvmh_perf_read(const struct kvmh_perf *p, uint64_t v[KVMH_PERF_N])
{
	for (unsigned i = 0; i < KVMH_PERF_N; i++) {
		uint64_t r[3];
		v[i] = p->fd[i] >= 0 && read(p->fd[i], r, sizeof r) == (ssize_t)sizeof r ? r[0] : 0;
	}
}

void kvmh_perf_close(struct kvmh_perf *p)
{
	for (unsigned i = 0; i < KVMH_PERF_N; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
}
