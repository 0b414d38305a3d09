/*
 * wl.h - the interface a workload is written against, and the registry.
 *
 * A workload is one C file in workloads/ with a run function that calls the
 * wl_* operations below.  The file is built twice:
 *   - into the simulator (this header's default), where each call appends one
 *     event to the current batch (struct ev_sink);
 *   - freestanding for the KVM guest (VMSIM_FREESTANDING), where each call
 *     performs the operation for real through the wlrt_* runtime below
 *     (built by workloads/freestanding.cmake).
 * The same parameters and seed give the same operations in both builds, so
 * a workload's addresses must never depend on values it loads.  Where the
 * real program would follow a pointer it has loaded (a pointer chase, a CSR
 * edge list), it writes wl_follow(loaded, known): the freestanding build
 * follows the loaded value for real, the simulator build uses the value the
 * generator knows; the recording-shim test checks the two agree.
 *
 * Conventions every workload keeps:
 *  - the initial process is pid 1; children get fresh pids 2, 3, ...;
 *  - each workload owns a 1 TiB slot of virtual addresses, WL_SLOT(n);
 *  - EV_PHASE 1 marks the start of the measured part where there is setup
 *    before it (stride and gups have none and emit no phase);
 *  - no floating point: the freestanding build has no libm and is compiled
 *    with -mgeneral-regs-only, so the guest need not enable SSE.
 */
#ifndef VMSIM_WL_H
#define VMSIM_WL_H

#include <stdint.h>

/* event.h needs only <stdint.h>, <stddef.h> and <stdbool.h>, which a
 * freestanding compiler provides: both builds share its constants. */
#include "../sim/event.h"
#ifndef VMSIM_FREESTANDING
#include "../sim/error.h"
#endif

#define WL_MAX_PARAMS 16

/* Virtual-address slot n (1 TiB each).  stride and gups predate the slots and
 * sit at 16 and 32 TiB; the others use 40 + k, all below the 128 TiB user
 * half of 4-level paging. */
#define WL_SLOT(n) ((uint64_t)(n) << 40)
#define WL_PAGE 4096ull
/* Synthetic code addresses (fetches, call targets). */
#define WL_CODE_BASE 0x0000000000400000ull

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

/*
 * Several threads: work item i of a loop belongs to thread
 * (i / WL_THREAD_CHUNK) % threads, which runs on vCPU of the same number.
 * The sequence of operations does not depend on the thread count; only the
 * vCPU each one runs on does.
 */
#define WL_THREAD_CHUNK 64
#define WL_MAX_THREADS 64
static inline void wl_thread_of(struct wl_ctx *c, uint64_t item, uint64_t threads);

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
#define WL_MAX_BACKED 4

/* A region whose contents the simulator build keeps (see wl_map_backed). */
struct wl_backing {
	uint64_t va, len;
	uint8_t *mem;
};

struct wl_ctx {
	struct ev_sink *sink;
	uint32_t pid;  /* the process the workload is acting as now */
	uint8_t vcpu;
	unsigned nback; /* 0 for almost every workload: loads then cost nothing */
	struct wl_backing back[WL_MAX_BACKED];
};

/* Out of line (registry.c): only workloads with backed regions get here. */
uint64_t wl__backed_load(struct wl_ctx *c, uint64_t va, unsigned size);
void wl__backed_store(struct wl_ctx *c, uint64_t va, unsigned size, uint64_t val);
void wl__back(struct wl_ctx *c, uint64_t va, uint64_t len);

static inline uint64_t wl_load(struct wl_ctx *c, uint64_t va, unsigned size)
{
	ev_sink_put(c->sink, EV_ACCESS, EV_LOAD, (uint8_t)size, c->vcpu, c->pid, va, 0);
	if (VM_UNLIKELY(c->nback))
		return wl__backed_load(c, va, size);
	return 0;
}
static inline void wl_store(struct wl_ctx *c, uint64_t va, unsigned size, uint64_t val)
{
	ev_sink_put(c->sink, EV_ACCESS, EV_STORE, (uint8_t)size, c->vcpu, c->pid, va, 0);
	if (VM_UNLIKELY(c->nback))
		wl__backed_store(c, va, size, val);
}
/* The value the generator knows stands in for the loaded one. */
#define wl_follow(loaded, known) ((void)(loaded), (known))
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
static inline void wl_cr8(struct wl_ctx *c, uint64_t tpr)
{
	ev_sink_put(c->sink, EV_CR8, 0, 0, c->vcpu, c->pid, 0, tpr);
}
static inline void wl_exception(struct wl_ctx *c, unsigned vector)
{
	ev_sink_put(c->sink, EV_EXCEPTION, 0, 0, c->vcpu, c->pid, 0, vector);
}
/* A call to target / a return to retaddr.  The workload also makes the call
 * in C, so the freestanding build executes a real call and ret. */
static inline void wl_call(struct wl_ctx *c, uint64_t target)
{
	ev_sink_put(c->sink, EV_CALLRET, EV_CALL, 0, c->vcpu, c->pid, target, 0);
}
static inline void wl_ret(struct wl_ctx *c, uint64_t retaddr)
{
	ev_sink_put(c->sink, EV_CALLRET, EV_RET, 0, c->vcpu, c->pid, retaddr, 0);
}
/*
 * Map a region whose contents steer the workload (a BFS queue, visited
 * array): the simulator build keeps a zeroed host copy so wl_load returns
 * what wl_store wrote.  Host memory = len, so use it only where the data
 * cannot be recomputed (at most WL_MAX_BACKED regions, single process: the
 * copy is not per pid).  Out of memory sets the sink's error (wl_failed).
 */
static inline void wl_map_backed(struct wl_ctx *c, uint64_t va, uint64_t len, unsigned prot)
{
	wl_map(c, va, len, prot);
	wl__back(c, va, len);
}
/* True once the consumer has failed: long loops may stop early. */
static inline int wl_failed(const struct wl_ctx *c) { return c->sink->err != 0; }

/* Registry (workloads/registry.c). */
extern const struct wl_desc *const wl_all[];
extern const unsigned wl_count;
const struct wl_desc *wl_find(const char *name);

/*
 * Parse "NAME[:k=v,...]" into *d and p[0..nparams] (p[nparams] = seed,
 * from "seed=" or default 1).  Values are unsigned integers, decimal or 0x
 * hex, with an optional k/m/g suffix (x1024).  VM_EINPUT with a message naming the
 * workload and the bad parameter; unknown names list what exists.
 */
int wl_parse(const char *spec, const struct wl_desc **d, uint64_t p[WL_MAX_PARAMS + 1],
	     struct vmerr *err);

/* Canonical "k=v,..." of every parameter (defaults included), for headers
 * and reports. */
void wl_format_params(const struct wl_desc *d, const uint64_t *p, char *buf, size_t len);

/* The workload's threads= parameter (1 if it has none): its threads run on
 * vCPUs 0..threads-1, so a run needs at least that many. */
uint64_t wl_threads(const struct wl_desc *d, const uint64_t *p);

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

/* The runtime's operations (the embedding provides every one of them). */

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
/* Write CR8 (TPR).  At CPL3 this cannot be the real instruction: the guest
 * runtime traps to the harness, which stands in for it. */
void wlrt_cr8(uint64_t tpr);
/* Take exception `vector` once and come back (0 = #DE, divide error). */
void wlrt_exception(unsigned vector);

#ifdef WL_FS_TRACE
/* Only in the traced build (vmsim_wl_freestanding_traced): told of every
 * load, store (kind EV_ACCESS) and call/ret (EV_CALLRET) just before the
 * real operation, so a host shim can record the address stream. */
void wlrt_trace(unsigned kind, unsigned op, unsigned size, uint64_t addr);
#define WL__TRACE(kind, op, size, addr) wlrt_trace(kind, op, size, addr)
#else
#define WL__TRACE(kind, op, size, addr) ((void)0)
#endif

/*
 * Entry points (workloads/fs/wl_fs.c).  The embedding parses the spec on the
 * host with wl_parse (it has libc) and hands the guest the name and p[0..n]
 * (n = nparams, p[n] = seed: the same array wl_parse fills); or the guest
 * parses "NAME:k=v,..." itself with wl_fs_parse.  The run starts as pid 1.
 */
extern const struct wl_desc *const wl_fs_all[]; /* NULL-terminated */
const struct wl_desc *wl_fs_find(const char *name);
/* 0 and p filled, or -1 (unknown workload, unknown key, bad number). */
int wl_fs_parse(const char *spec, const struct wl_desc **d, uint64_t p[WL_MAX_PARAMS + 1]);
/* Run; *checksum gets the fold of every loaded value.  -1 if name unknown. */
int wl_run_freestanding(const char *name, const uint64_t *p, uint64_t *checksum);

static inline uint64_t wl_load(struct wl_ctx *c, uint64_t va, unsigned size)
{
	uint64_t v;
	WL__TRACE(EV_ACCESS, EV_LOAD, size, va);
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
	WL__TRACE(EV_ACCESS, EV_STORE, size, va);
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
static inline void wl_cr8(struct wl_ctx *c, uint64_t tpr) { (void)c; wlrt_cr8(tpr); }
static inline void wl_exception(struct wl_ctx *c, unsigned vector)
{
	(void)c;
	wlrt_exception(vector);
}
static inline void wl_call(struct wl_ctx *c, uint64_t target)
{
	(void)c;
	(void)target;
	WL__TRACE(EV_CALLRET, EV_CALL, 0, target);
}
static inline void wl_ret(struct wl_ctx *c, uint64_t retaddr)
{
	(void)c;
	(void)retaddr;
	WL__TRACE(EV_CALLRET, EV_RET, 0, retaddr);
}
static inline void wl_map_backed(struct wl_ctx *c, uint64_t va, uint64_t len, unsigned prot)
{
	wl_map(c, va, len, prot);
}
/* The real program follows the pointer it loaded; `known` is not evaluated. */
#define wl_follow(loaded, known) (loaded)

#endif /* VMSIM_FREESTANDING */

static inline void wl_thread_of(struct wl_ctx *c, uint64_t item, uint64_t threads)
{
	if (threads > WL_MAX_THREADS)
		threads = WL_MAX_THREADS;
	c->vcpu = threads > 1 ? (uint8_t)((item / WL_THREAD_CHUNK) % threads) : 0;
}

#endif
