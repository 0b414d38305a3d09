/*
 * event.h - the one event record every source produces and the run loop eats.
 *
 * Sources (workload generators, the .vmt reader, importers) deliver events in
 * batches through a struct ev_sink: the producer appends, and when the buffer
 * is full the sink hands the whole batch to its consumer.  No source makes one
 * call per access into the model.
 *
 * Layout (24 bytes, no padding):
 *
 *   0      1    2      3      4        8              16             24
 *   +------+----+------+------+--------+--------------+--------------+
 *   | kind | op | size | vcpu |  pid   |     addr     |     arg      |
 *   +------+----+------+------+--------+--------------+--------------+
 *
 * What op, addr and arg mean depends on kind:
 *
 *   kind          op                  addr          arg
 *   EV_ACCESS     EV_LOAD/STORE/FETCH virtual addr  -
 *   EV_SWITCH     -                   -             -      (pid = process now running)
 *   EV_MAP        VM_PROT_* bits      start         length (bytes)
 *   EV_UNMAP      -                   start         length
 *   EV_PROTECT    VM_PROT_* bits      start         length
 *   EV_FORK       -                   -             child pid (pid = parent)
 *   EV_EXIT       -                   -             -      (pid = process that exits)
 *   EV_SYSCALL    -                   -             syscall number
 *   EV_IO         EV_IO_IN / OUT      -             port
 *   EV_CR8        -                   -             new TPR value
 *   EV_EXCEPTION  -                   -             vector (e.g. 0 for #DE)
 *   EV_CALLRET    EV_CALL / EV_RET    target/return address
 *   EV_PHASE      -                   -             phase number
 *
 * pid is authoritative on every event: an access whose pid is not the process
 * running on its vCPU implies a context switch to that pid.
 */
#ifndef VMSIM_EVENT_H
#define VMSIM_EVENT_H

#include "types.h"

enum ev_kind {
	EV_ACCESS = 0,
	EV_SWITCH,
	EV_MAP,
	EV_UNMAP,
	EV_PROTECT,
	EV_FORK,
	EV_EXIT,
	EV_SYSCALL,
	EV_IO,
	EV_CR8,
	EV_EXCEPTION,
	EV_CALLRET,
	EV_PHASE,
	EV_KIND_COUNT
};

enum ev_access_op { EV_LOAD = 0, EV_STORE = 1, EV_FETCH = 2 };
enum { EV_IO_IN = 0, EV_IO_OUT = 1 };
enum { EV_CALL = 0, EV_RET = 1 };

/* Protection bits carried in op by EV_MAP and EV_PROTECT. */
enum { VM_PROT_R = 1, VM_PROT_W = 2, VM_PROT_X = 4 };

struct vm_event {
	uint8_t kind;
	uint8_t op;
	uint8_t size;
	uint8_t vcpu;
	uint32_t pid;
	uint64_t addr;
	uint64_t arg;
};

_Static_assert(sizeof(struct vm_event) == 24, "vm_event layout is part of the trace tools");

const char *ev_kind_name(enum ev_kind k);      /* "access", "switch", ... */
int ev_kind_parse(const char *s);              /* enum ev_kind, or -1 */
/* One event as one line of text (no newline), as `vmsim trace cat` prints it. */
int ev_format(const struct vm_event *ev, char *buf, size_t len);

/*
 * A batch buffer between a producer and a consumer.  The consumer's flush
 * returns 0 or a negative code; the first error sticks in err and later
 * flushes are dropped, so a producer may check err only now and then.
 */
struct ev_sink {
	struct vm_event *buf;
	size_t n, cap;
	int (*flush)(void *arg, const struct vm_event *ev, size_t n);
	void *arg;
	int err;
};

/* Hand the buffered events to the consumer; returns sink->err. */
int ev_sink_flush(struct ev_sink *s);

static inline struct vm_event *ev_sink_next(struct ev_sink *s)
{
	if (VM_UNLIKELY(s->n == s->cap))
		ev_sink_flush(s);
	return &s->buf[s->n++];
}

static inline void ev_sink_put(struct ev_sink *s, uint8_t kind, uint8_t op, uint8_t size,
			       uint8_t vcpu, uint32_t pid, uint64_t addr, uint64_t arg)
{
	struct vm_event *e = ev_sink_next(s);
	e->kind = kind;
	e->op = op;
	e->size = size;
	e->vcpu = vcpu;
	e->pid = pid;
	e->addr = addr;
	e->arg = arg;
}

#endif
