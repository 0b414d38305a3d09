/*
 * pteq.c - the worker side of the PTE-reference queue (see pteq.h).
 *
 * Notes:
 *  - One ring, one producer (the run loop), one consumer (the worker).  The
 *    producer writes entries with non-temporal stores and publishes its
 *    position every PTEQ_PUBLISH entries (sfence, then a release store);
 *    the worker publishes its own after each run it takes.
 *  - Why non-temporal: with ordinary stores the producer, coming round the
 *    ring, wrote into lines the worker's cache still held, and each store
 *    then waited for that copy to be invalidated.  When the host put our
 *    two vCPUs on distant cores that wait cost the run loop a third of its
 *    speed (nested gups 4 GiB: 6.4-7.1 M/s against 9.0-9.5 with these
 *    stores; prefetchw ahead of the producer, or keeping the worker 512
 *    entries behind, changed nothing).  The worker reads the lines from
 *    memory instead, off the run loop's path.
 *  - The worker prefetches the model's L2 and L3 sets PTEQ_AHEAD references
 *    ahead: it knows the addresses before it needs them, which the
 *    sequential model, probing inside the walk, does not.
 *  - Idle, the worker spins a little (a walk publishes again within
 *    microseconds) and then sleeps on a futex, so a run that stops walking,
 *    or a test suite run in parallel, does not keep a core busy (see
 *    publish() for how a wake-up is not lost).
 */
#define _GNU_SOURCE
#include "pteq.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdbool.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PTEQ_AHEAD 8    /* references the worker prefetches ahead */
#define PTEQ_SPIN 20000 /* idle polls before the worker sleeps */

static void futex_wait(_Atomic int *addr, int val)
{
	syscall(SYS_futex, (int *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *addr)
{
	syscall(SYS_futex, (int *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void *worker(void *arg)
{
	struct pteq *q = arg;
	struct dcache *dc = &q->dc;
	uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	unsigned idle = 0;

	for (;;) {
		uint64_t p = atomic_load_explicit(&q->pub, memory_order_acquire);
		if (p == t) {
			if (atomic_load_explicit(&q->stop, memory_order_acquire))
				break;
			if (++idle < PTEQ_SPIN) {
				cpu_relax();
				continue;
			}
			idle = 0;
			atomic_store(&q->sleeping, 1);
			if (atomic_load(&q->pub) != t || atomic_load(&q->stop)) {
				atomic_store(&q->sleeping, 0);
				continue;
			}
			futex_wait(&q->sleeping, 1);
			continue;
		}
		idle = 0;
		for (; t < p; t++) {
			if (t + PTEQ_AHEAD < p)
				dcache_prefetch(dc, q->buf[(t + PTEQ_AHEAD) & (PTEQ_CAP - 1)]);
			unsigned lat;
			unsigned l = dcache_access(dc, q->buf[t & (PTEQ_CAP - 1)], &lat);
			q->sums.cycles += lat;
			q->sums.served[l]++;
		}
		atomic_store_explicit(&q->tail, t, memory_order_release);
	}
	return NULL;
}

struct pteq *pteq_start(struct dcache *dc)
{
	struct pteq *q = aligned_alloc(64, sizeof *q); /* a multiple of 64: its last member is */
	if (!q)
		return NULL;
	memset(q, 0, sizeof *q);
	q->dc = *dc;
	if (pthread_create(&q->thread, NULL, worker, q) != 0) {
		free(q);
		return NULL;
	}
	memset(dc, 0, sizeof *dc);
	return q;
}

/*
 * Make the producer's position visible.  Every PTEQ_PUBLISH entries this
 * is a plain release store and a plain look at the sleep flag: a fenced
 * store there (x86: a locked instruction) had to wait for the line the
 * worker polls, every time.  The plain look can miss a worker that is
 * just going to sleep; the paths that then wait for the worker (a full
 * ring, pteq_sync) publish fenced: store, full fence, load of the flag,
 * against the worker's store of the flag, fence, load of the position, so
 * one of the two sees the other.
 */
static void publish(struct pteq *q, bool fenced)
{
#if defined(__SSE2__)
	_mm_sfence(); /* the entries were written with non-temporal stores */
#endif
	atomic_store_explicit(&q->pub, q->head, memory_order_release);
	if (fenced)
		atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&q->sleeping, memory_order_relaxed) &&
	    atomic_exchange(&q->sleeping, 0))
		futex_wake(&q->sleeping);
}

/* Spin (then yield) until at most `behind` entries are left for the
 * worker, after a fenced publication. */
static void wait_tail(struct pteq *q, uint64_t behind)
{
	publish(q, true);
	unsigned spins = 0;
	while ((q->tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire)),
	       q->head - q->tail_seen > behind)
		if (++spins % 1024 == 0)
			sched_yield();
		else
			cpu_relax();
}

void pteq_publish_(struct pteq *q)
{
	publish(q, false);
	/* Room for the next PTEQ_PUBLISH entries before the next look. */
	if (q->head - q->tail_seen > PTEQ_CAP - PTEQ_PUBLISH)
		wait_tail(q, PTEQ_CAP - PTEQ_PUBLISH);
}

void pteq_sync(struct pteq *q, struct pteq_sums *delta)
{
	wait_tail(q, 0);
	delta->cycles += q->sums.cycles - q->folded.cycles;
	for (unsigned l = 0; l <= DCACHE_LEVELS; l++)
		delta->served[l] += q->sums.served[l] - q->folded.served[l];
	q->folded = q->sums;
}

void pteq_stop(struct pteq *q, struct dcache *dc)
{
	if (!q)
		return;
	struct pteq_sums ignored = {0};
	pteq_sync(q, &ignored);
	atomic_store(&q->stop, 1);
	atomic_store(&q->sleeping, 0);
	futex_wake(&q->sleeping);
	pthread_join(q->thread, NULL);
	*dc = q->dc;
	free(q);
}
