/*
 * pteq.h - the PTE data-cache model on a second thread.
 *
 * What a page-walk reference costs (which cache level serves it) never
 * changes what the walk does next: the TLBs, the PWCs and the page tables
 * decide the walk, the cache model only prices it.  So the walk need not
 * wait for the price.  The run loop pushes each reference's physical
 * address into this single-producer, single-consumer ring, and a worker
 * thread runs dcache_access on them in the same order the sequential
 * model would, adding up the cycles and where each was served.  The model
 * sees the same sequence, so every counter comes out identical; the
 * sequential run (vmsim run --threads 1) is the reference the tests hold
 * it to.  This is the functional/timing split of simulators such as
 * ZSim's bound-weave, at its smallest.
 *
 * The producer calls pteq_sync before anyone reads the counters or the
 * model: then the worker has taken every pushed reference and the sums
 * are folded in.  Nothing else of the simulator is shared with the worker.
 */
#ifndef VMSIM_PTEQ_H
#define VMSIM_PTEQ_H

#include <pthread.h>
#include <stdatomic.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dcache.h"

#define PTEQ_CAP (1u << 14)   /* entries; a power of two */
#define PTEQ_PUBLISH 256u     /* entries the producer writes between publications */

/* What the worker has added up since it started (monotonic). */
struct pteq_sums {
	uint64_t cycles;
	uint64_t served[DCACHE_LEVELS + 1];
};

struct pteq {
	/* Producer's line: its position and its last look at the worker's. */
	_Alignas(64) uint64_t head;
	uint64_t tail_seen;
	struct pteq_sums folded; /* sums already handed to the caller */
	/* Shared: what the producer has published, and whether the worker sleeps. */
	_Alignas(64) _Atomic uint64_t pub;
	_Atomic int sleeping;
	_Atomic int stop;
	/* Worker's lines: the model itself is moved in here, so that its clocks
	 * and counters, written per reference, share no line with the run
	 * loop's (inside struct sim they did, and the run went slower on two
	 * threads than on one). */
	_Alignas(64) _Atomic uint64_t tail;
	struct pteq_sums sums;
	struct dcache dc;
	pthread_t thread; /* the producer's, for pteq_stop */
	_Alignas(64) uint64_t buf[PTEQ_CAP];
};

/* Start a worker and move the model *dc into it (*dc is zeroed); between
 * pteq_sync and the next push the caller may use it as q->dc.  NULL if the
 * thread cannot start: *dc is left as it was. */
struct pteq *pteq_start(struct dcache *dc);
/* Let the worker take everything pushed, stop it, move the model back into
 * *dc and free q.  Nothing if q is NULL. */
void pteq_stop(struct pteq *q, struct dcache *dc);

void pteq_publish_(struct pteq *q);

/* Queue one reference at physical address pa. */
static inline void pteq_push(struct pteq *q, uint64_t pa)
{
#if defined(__SSE2__) && defined(__x86_64__)
	_mm_stream_si64((long long *)&q->buf[q->head & (PTEQ_CAP - 1)], (long long)pa);
#else
	q->buf[q->head & (PTEQ_CAP - 1)] = pa;
#endif
	if (VM_UNLIKELY((++q->head & (PTEQ_PUBLISH - 1)) == 0))
		pteq_publish_(q);
}

/* Wait until the worker has taken every reference pushed so far; add to
 * *delta what it summed since the last sync (cycles, served by level). */
void pteq_sync(struct pteq *q, struct pteq_sums *delta);

#endif
