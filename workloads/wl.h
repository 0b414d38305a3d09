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
#else
enum { VM_PROT_R = 1, VM_PROT_W = 2, VM_PROT_X = 4 };
#define VM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
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

#else /* VMSIM_FREESTANDING */

/*
 * The freestanding build: loads and stores are real; everything a kernel
 * would do goes to the runtime, wlrt_*, which the embedding provides: the
 * KVM guest runtime (kvm-harness/guest/, doorbell to the harness) or a host
 * process shim (mmap, recording for tests).  No libc.
 */
struct wl_ctx {
	uint32_t pid;
	uint8_t vcpu;
	uint64_t checksum; /* folds every loaded value: compared across builds */
};

void wlrt_map(uint64_t va, uint64_t len, unsigned prot);
void wlrt_unmap(uint64_t va, uint64_t len);
void wlrt_protect(uint64_t va, uint64_t len, unsigned prot);
void wlrt_switch(uint32_t pid);
void wlrt_fork(uint32_t parent, uint32_t child);
void wlrt_exit(uint32_t pid);
void wlrt_syscall(uint64_t nr);
uint64_t wlrt_io_in(uint16_t port);
void wlrt_fetch(uint64_t va);
void wlrt_phase(uint64_t id);

static inline uint64_t wl_load(struct wl_ctx *c, uint64_t va, unsigned size)
{
	uint64_t v;
	switch (size) {
	case 1: v = *(volatile uint8_t *)va; break;
	case 2: v = *(volatile uint16_t *)va; break;
	case 4: v = *(volatile uint32_t *)va; break;
	default: v = *(volatile uint64_t *)va; break;
	}
	c->checksum = (c->checksum ^ v) * 0x100000001b3ull;
	return v;
}
static inline void wl_store(struct wl_ctx *c, uint64_t va, unsigned size, uint64_t val)
{
	(void)c;
	switch (size) {
	case 1: *(volatile uint8_t *)va = (uint8_t)val; break;
	case 2: *(volatile uint16_t *)va = (uint16_t)val; break;
	case 4: *(volatile uint32_t *)va = (uint32_t)val; break;
	default: *(volatile uint64_t *)va = val; break;
	}
}
static inline void wl_fetch(struct wl_ctx *c, uint64_t va) { (void)c; wlrt_fetch(va); }
static inline void wl_map(struct wl_ctx *c, uint64_t va, uint64_t len, unsigned prot)
{
	(void)c;
	wlrt_map(va, len, prot);
}
static inline void wl_unmap(struct wl_ctx *c, uint64_t va, uint64_t len) { (void)c; wlrt_unmap(va, len); }
static inline void wl_protect(struct wl_ctx *c, uint64_t va, uint64_t len, unsigned prot)
{
	(void)c;
	wlrt_protect(va, len, prot);
}
static inline void wl_switch(struct wl_ctx *c, uint32_t pid) { c->pid = pid; wlrt_switch(pid); }
static inline void wl_fork(struct wl_ctx *c, uint32_t child) { wlrt_fork(c->pid, child); }
static inline void wl_exit(struct wl_ctx *c, uint32_t pid) { (void)c; wlrt_exit(pid); }
static inline void wl_syscall(struct wl_ctx *c, uint64_t nr) { (void)c; wlrt_syscall(nr); }
static inline uint64_t wl_io_in(struct wl_ctx *c, uint16_t port) { (void)c; return wlrt_io_in(port); }
static inline void wl_phase(struct wl_ctx *c, uint64_t id) { (void)c; wlrt_phase(id); }
static inline int wl_failed(const struct wl_ctx *c) { (void)c; return 0; }

#endif /* VMSIM_FREESTANDING */

#endif
