/*
 * wl.h - the interface a workload is written against, and the registry.
 *
 * A workload is one C file in workloads/ with a run function that calls the
 * wl_* operations below.  The file is built twice:
 *   - into the simulator (this header's default), where each call appends one
 *     event to the current batch (struct ev_sink);
 *   - freestanding for the KVM guest (VMSIM_FREESTANDING), where each call
 *     performs the operation for real (see workloads/wl_freestanding.h).
 * The same parameters and seed give the same operations in both builds, so
 * a workload's addresses must never depend on values it loads.
 */
#ifndef VMSIM_WL_H
#define VMSIM_WL_H

#include <stdint.h>

#ifndef VMSIM_FREESTANDING
#include "../sim/error.h"
#include "../sim/event.h"
#endif

#define WL_MAX_PARAMS 16

struct wl_param {
	const char *name;
	uint64_t def;
	const char *desc;
};

struct wl_ctx;

struct wl_desc {
	const char *name;
	const char *desc; /* one line */
	const struct wl_param *params;
	unsigned nparams;
	/* p[i] is params[i]'s value; p[nparams] is the seed. */
	void (*run)(struct wl_ctx *c, const uint64_t *p);
};

/* Small deterministic PRNG (xorshift64*), the same in both builds. */
static inline uint64_t wl_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

#ifndef VMSIM_FREESTANDING

/* The simulator build: every operation becomes an event. */
struct wl_ctx {
	struct ev_sink *sink;
	uint32_t pid;  /* the process the workload is acting as now */
	uint8_t vcpu;
};

static inline uint64_t wl_load(struct wl_ctx *c, uint64_t va, unsigned size)
{
	ev_sink_put(c->sink, EV_ACCESS, EV_LOAD, (uint8_t)size, c->vcpu, c->pid, va, 0);
	return 0;
}
static inline void wl_store(struct wl_ctx *c, uint64_t va, unsigned size, uint64_t val)
{
	(void)val;
	ev_sink_put(c->sink, EV_ACCESS, EV_STORE, (uint8_t)size, c->vcpu, c->pid, va, 0);
}
static inline void wl_fetch(struct wl_ctx *c, uint64_t va)
{
	ev_sink_put(c->sink, EV_ACCESS, EV_FETCH, 1, c->vcpu, c->pid, va, 0);
}
static inline void wl_map(struct wl_ctx *c, uint64_t va, uint64_t len, unsigned prot)
{
	ev_sink_put(c->sink, EV_MAP, (uint8_t)prot, 0, c->vcpu, c->pid, va, len);
}
static inline void wl_unmap(struct wl_ctx *c, uint64_t va, uint64_t len)
{
	ev_sink_put(c->sink, EV_UNMAP, 0, 0, c->vcpu, c->pid, va, len);
}
static inline void wl_protect(struct wl_ctx *c, uint64_t va, uint64_t len, unsigned prot)
{
	ev_sink_put(c->sink, EV_PROTECT, (uint8_t)prot, 0, c->vcpu, c->pid, va, len);
}
static inline void wl_switch(struct wl_ctx *c, uint32_t pid)
{
	c->pid = pid;
	ev_sink_put(c->sink, EV_SWITCH, 0, 0, c->vcpu, pid, 0, 0);
}
static inline void wl_fork(struct wl_ctx *c, uint32_t child)
{
	ev_sink_put(c->sink, EV_FORK, 0, 0, c->vcpu, c->pid, 0, child);
}
static inline void wl_exit(struct wl_ctx *c, uint32_t pid)
{
	ev_sink_put(c->sink, EV_EXIT, 0, 0, c->vcpu, pid, 0, 0);
}
static inline void wl_syscall(struct wl_ctx *c, uint64_t nr)
{
	ev_sink_put(c->sink, EV_SYSCALL, 0, 0, c->vcpu, c->pid, 0, nr);
}
static inline uint64_t wl_io_in(struct wl_ctx *c, uint16_t port)
{
	ev_sink_put(c->sink, EV_IO, EV_IO_IN, 1, c->vcpu, c->pid, 0, port);
	return 0;
}
static inline void wl_phase(struct wl_ctx *c, uint64_t id)
{
	ev_sink_put(c->sink, EV_PHASE, 0, 0, c->vcpu, c->pid, 0, id);
}
/* True once the consumer has failed: long loops may stop early. */
static inline int wl_failed(const struct wl_ctx *c) { return c->sink->err != 0; }

/* Registry (workloads/registry.c). */
extern const struct wl_desc *const wl_all[];
extern const unsigned wl_count;
const struct wl_desc *wl_find(const char *name);

/*
 * Parse "NAME[:k=v,...]" into *d and p[0..nparams] (p[nparams] = seed,
 * from "seed=" or default 1).  Values are unsigned integers with an
 * optional k/m/g suffix (x1024).  VM_EINPUT with a message naming the
 * workload and the bad parameter; unknown names list what exists.
 */
int wl_parse(const char *spec, const struct wl_desc **d, uint64_t p[WL_MAX_PARAMS + 1],
	     struct vmerr *err);

/* Canonical "k=v,..." of every parameter (defaults included), for headers
 * and reports. */
void wl_format_params(const struct wl_desc *d, const uint64_t *p, char *buf, size_t len);

/* Run the workload into sink, flush, and return sink->err. */
int wl_generate(const struct wl_desc *d, const uint64_t *p, struct ev_sink *sink);

#endif /* !VMSIM_FREESTANDING */

#endif
