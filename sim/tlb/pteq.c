/*
 * pteq.c - the worker side of the PTE-reference queue (see pteq.h).
 *
 * Notes:
 *  - One ring, one producer (the run loop), one consumer (the worker).  The
 *    producer writes entries and publishes its position every PTEQ_PUBLISH
 *    entries (release), so the worker's line is not pulled across cores per
 *    reference; the worker publishes its position after each run it takes.
 *  - The worker prefetches the model's L2 and L3 sets PTEQ_AHEAD references
 *    ahead: it knows the addresses before it needs them, which the
 *    sequential model, probing inside the walk, does not.
 *  - Idle, the worker spins a little (a walk publishes again within
 *    microseconds) and then sleeps on a futex, so a run that stops walking,
 *    or a test suite run in parallel, does not keep a core busy.  The
 *    sleep flag is the classic store-then-load on both sides, sequentially
 *    consistent, so a wake-up cannot be lost.
 */
#define _GNU_SOURCE
#include "pteq.h"

#include <linux/futex.h>
#include <pthread.h>
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

/* The thread handle lives after the struct, in the same allocation. */
struct pteq_alloc {
	struct pteq q;
	pthread_t th;
};

static pthread_t *thread_of(struct pteq *q) { return &((struct pteq_alloc *)q)->th; }

struct pteq *pteq_start(struct dcache *dc)
{
	struct pteq_alloc *a = aligned_alloc(64, (sizeof *a + 63) & ~(size_t)63);
	if (!a)
		return NULL;
	memset(a, 0, sizeof *a);
	struct pteq *q = &a->q;
	q->dc = *dc;
	if (pthread_create(&a->th, NULL, worker, q) != 0) {
		free(a);
		return NULL;
	}
	memset(dc, 0, sizeof *dc);
	return q;
}

static void wake(struct pteq *q)
{
	if (atomic_load(&q->sleeping) && atomic_exchange(&q->sleeping, 0))
		futex_wake(&q->sleeping);
}

void pteq_publish_(struct pteq *q)
{
	atomic_store(&q->pub, q->head);
	wake(q);
	/* Room for the next PTEQ_PUBLISH entries before the next look. */
	if (q->head - q->tail_seen > PTEQ_CAP - PTEQ_PUBLISH) {
		unsigned spins = 0;
		while ((q->tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire)),
		       q->head - q->tail_seen > PTEQ_CAP - PTEQ_PUBLISH)
			if (++spins % 1024 == 0)
				sched_yield();
			else
				cpu_relax();
	}
}

void pteq_sync(struct pteq *q, struct pteq_sums *delta)
{
	if (atomic_load_explicit(&q->pub, memory_order_relaxed) != q->head) {
		atomic_store(&q->pub, q->head);
		wake(q);
	}
	unsigned spins = 0;
	while ((q->tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire)) != q->head)
		if (++spins % 1024 == 0)
			sched_yield();
		else
			cpu_relax();
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
	pthread_join(*thread_of(q), NULL);
	*dc = q->dc;
	free(q);
}
