/*
 * host.c - several VMs on one host: see host.h.
 *
 * Notes (what is modelled; [Waldspurger 2002] is C. Waldspurger, "Memory
 * Resource Management in VMware ESX Server", OSDI 2002):
 *  - One host CPU runs the VMs round-robin, vmswitch.quantum events each,
 *    in the order they were added; a VM whose stream ends drops out.  A
 *    switch costs the incoming VM vmswitch.cycles (counted vm_switches).
 *    A VM's cycles are the host CPU time it took: every vCPU of every VM
 *    runs on the one host CPU, so the host's run time is the sum over the
 *    VMs (not a VM's makespan_cycles, which assumes its vCPUs run at once).
 *    What the host charges a VM between its events goes on vCPU 0's clock.
 *    Each VM's vCPU n gets VPID 1 + VM * SIM_MAX_VCPUS + n.  With tlb.vpid
 *    on, a VM's TLB entries survive other VMs' turns; with it off, every VM
 *    entry flushes, so the incoming VM starts with empty TLBs and PWCs.
 *    Each VM keeps TLB structures of its own: the capacity the VMs would
 *    share on one physical TLB is not modelled (with VPIDs, their entries
 *    would also evict each other).  Nested TLBs and host PWCs survive
 *    switches either way: they are tagged by EPTP (SDM 28.3.1).
 *  - Host memory: every VM's p2m (and shadow tables) lives in one host
 *    physmem whose budget is overcommit.host_mib.  Host page tables and
 *    shadow pages count against it but are never reclaimed.
 *  - Host swapping (when an allocation finds the budget full, whatever the
 *    policy; [Waldspurger 2002] 3.3: ESX falls back to paging when
 *    ballooning cannot keep up): the victim VM is the one whose resident
 *    pages exceed its target by the most (the most resident if none
 *    exceeds it); the victim page is chosen at random among its resident
 *    4 KiB data pages ([Waldspurger 2002] 3.3: a randomized policy, so as
 *    not to fight the guest's own LRU), from a fixed-seed xorshift: a random
 *    slot of the p2m's reverse map, then the next eligible entry.  Guest
 *    page-table pages are never picked (a simplification: shadow paging
 *    reads them in software without going through the p2m), nor the page
 *    backed last (it is being mapped).  A swap-out unmaps the p2m leaf,
 *    frees the host frame and calls the mode's gpa_unmapped; the next touch
 *    (EPT violation, shadow fill, PV p2m lookup) finds the page in the
 *    host's swap and reads it back: a swap-in.  Both cost swap.*_cycles;
 *    the VM whose allocation needed the room waits for the swap-out, the
 *    VM that touches the page for the swap-in.
 *  - Double paging ([Waldspurger 2002] 3.1): when a guest swaps out a page
 *    the host has already swapped out, the guest must read it first, so
 *    the host swaps it in (a host swap-in, and one double_paging event)
 *    just for the guest to write it to its own swap and free it.
 *  - Ballooning (overcommit.reclaim=balloon): between events, when free host
 *    memory falls below overcommit.free_pct of the budget, the host asks
 *    every VM's balloon driver for its target: balloon = maxmem - target.
 *    Pinned frames leave the p2m (gpa_unmapped) and their host frames, or
 *    their host swap slots, are freed.  Each batch of 256 pages (Linux
 *    virtio_balloon VIRTIO_BALLOON_ARRAY_PFNS_MAX) is one virtqueue
 *    notification, charged as a port-I/O event in the VM.  With static
 *    targets (vm.memory_mib) a balloon, once inflated, stays.
 *  - Automatic targets (overcommit.balloon=auto), after ESX's working-set
 *    sampling ([Waldspurger 2002] 5.3): every overcommit.interval events of
 *    a VM, overcommit.sample of its resident data pages, picked at random,
 *    are taken out of the p2m with their frames kept; a touch maps the frame
 *    back and counts.  At the end of the period the fraction touched times
 *    the resident pages is the sample, fed to a slow (gain 1/8) and a fast
 *    (gain 1/2) moving average; the estimate is the larger, so it follows
 *    increases quickly and decreases slowly, as ESX's does (ESX also keeps
 *    a third, intra-period average).  Targets: the host's memory, less the
 *    free_pct reserve and what host tables use, shared in proportion to
 *    (estimate + a quarter of an equal share), no VM above its maxmem,
 *    nor, when its guest reports at least maxmem/32 free (as the virtio
 *    balloon's statistics queue does, VIRTIO_BALLOON_S_MEMFREE), above what
 *    it uses plus maxmem/16 (water-filling).  New targets are applied
 *    after each period while the VMs' maxmem together exceed the host,
 *    except moves under maxmem/16 (sampling noise), and in full whenever
 *    free memory is low.
 *  - Not modelled: page sharing, memory compression, swap clustering and
 *    readahead, asynchronous write-back (every swap I/O is waited for),
 *    the virtual disk's own I/O exits.
 */
#include "host.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../traces/vmt.h"
#include "../workloads/wl.h"
#include "p2m.h"

#define BATCH 4096
#define BALLOON_BATCH 256 /* VIRTIO_BALLOON_ARRAY_PFNS_MAX */
#define WS_SLOW 8   /* gains 1/8 and 1/2 of the working-set moving averages */
#define WS_FAST 2
#define AUTO_SLACK 16 /* balloon=auto leaves moves under maxmem/16 alone */

struct hvm {
	struct host *h;
	unsigned idx;
	struct sim *s;
	struct p2m *p2m;
	struct p2m_owner owner;
	bool have_src, done;
	struct host_src src;
	struct vm_event *buf;
	size_t nbuf, pos;
	struct u64map swapped; /* guest page -> 1: in the host's swap */
	struct u64map sampled; /* guest page -> host frame: out of the p2m for sampling */
	gpa_t pinned;          /* the page backed last: never a victim */
	uint64_t maxmem, memory, target; /* guest pages */
	/* working-set sampling (balloon=auto) */
	uint64_t events, period_end, touched, nsampled;
	double ws_slow, ws_fast;
	uint64_t ws; /* max(ws_slow, ws_fast), pages */
	uint64_t cap; /* scratch for auto_targets */
	bool capped;
	uint64_t t0;  /* sim_charged() before a host action (see settle) */
};

struct host {
	struct cfg cfg;
	struct physmem *hpm;
	struct hvm **vm;
	unsigned nvm, cap;
	int cur;             /* VM on the host CPU, -1 before the first */
	struct hvm *running; /* VM whose events are being run now, if any */
	uint64_t rng;
	bool retarget;       /* balloon=auto: new targets to apply */
	uint64_t peak;
};

static uint64_t rnd(struct host *h)
{
	uint64_t x = h->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	h->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* ---- event sources ---- */

struct wl_thread {
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, done, cancel;
	const struct vm_event *batch; /* handed over by the generator, not yet read */
	size_t nbatch, pos;
	int rc;
	struct vm_event sinkbuf[BATCH];
};

/* The generator's sink: hand the batch over and wait until it is read. */
static int wl_thread_flush(void *arg, const struct vm_event *ev, size_t n)
{
	struct wl_thread *t = arg;
	pthread_mutex_lock(&t->mu);
	t->batch = ev;
	t->nbatch = n;
	t->pos = 0;
	pthread_cond_broadcast(&t->cv);
	while (t->batch && !t->cancel)
		pthread_cond_wait(&t->cv, &t->mu);
	int rc = t->cancel ? VM_EINPUT : 0;
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static void *wl_thread_main(void *arg)
{
	struct wl_thread *t = arg;
	struct ev_sink sink = {.buf = t->sinkbuf, .cap = BATCH, .flush = wl_thread_flush, .arg = t};
	int rc = wl_generate(t->d, t->p, &sink);
	pthread_mutex_lock(&t->mu);
	t->rc = rc;
	t->done = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

static long wl_thread_read(void *arg, struct vm_event *buf, size_t cap, struct vmerr *err)
{
	struct wl_thread *t = arg;
	if (!t->started) {
		if (pthread_create(&t->th, NULL, wl_thread_main, t) != 0)
			return vmerr_set(err, VM_ENOMEM, "workload %s: cannot start its thread", t->d->name);
		t->started = true;
	}
	pthread_mutex_lock(&t->mu);
	while (!t->batch && !t->done)
		pthread_cond_wait(&t->cv, &t->mu);
	long n = 0;
	if (t->batch) {
		n = (long)(t->nbatch - t->pos < cap ? t->nbatch - t->pos : cap);
		memcpy(buf, t->batch + t->pos, (size_t)n * sizeof *buf);
		t->pos += (size_t)n;
		if (t->pos == t->nbatch) {
			t->batch = NULL;
			pthread_cond_broadcast(&t->cv);
		}
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

static void wl_thread_close(void *arg)
{
	struct wl_thread *t = arg;
	if (t->started) {
		pthread_mutex_lock(&t->mu);
		t->cancel = true;
		pthread_cond_broadcast(&t->cv);
		pthread_mutex_unlock(&t->mu);
		pthread_join(t->th, NULL);
	}
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

int host_src_workload(struct host_src *src, const char *spec, char *ident, size_t ilen,
		      struct vmerr *err)
{
	struct wl_thread *t = calloc(1, sizeof *t);
	if (!t)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	int rc = wl_parse(spec, &t->d, t->p, err);
	if (rc < 0) {
		free(t);
		return rc;
	}
	char params[512];
	wl_format_params(t->d, t->p, params, sizeof params);
	snprintf(ident, ilen, "%s:%s", t->d->name, params);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	*src = (struct host_src){wl_thread_read, wl_thread_close, t};
	return 0;
}

static long trace_read(void *arg, struct vm_event *buf, size_t cap, struct vmerr *err)
{
	return vmt_read(arg, buf, cap, err);
}

static void trace_close(void *arg) { vmt_reader_close(arg); }

int host_src_trace(struct host_src *src, const char *path, char *ident, size_t ilen,
		   struct vmerr *err)
{
	struct vmt_meta meta;
	struct vmt_reader *r = vmt_reader_open(path, &meta, err);
	if (!r)
		return VM_EINPUT;
	snprintf(ident, ilen, "trace:%s", path);
	*src = (struct host_src){trace_read, trace_close, r};
	return 0;
}

struct mem_src {
	const struct vm_event *ev;
	size_t n, pos;
};

static long mem_read(void *arg, struct vm_event *buf, size_t cap, struct vmerr *err)
{
	struct mem_src *m = arg;
	size_t k = m->n - m->pos < cap ? m->n - m->pos : cap;
	memcpy(buf, m->ev + m->pos, k * sizeof *buf);
	m->pos += k;
	return (long)k;
}

int host_src_events(struct host_src *src, const struct vm_event *ev, size_t n)
{
	struct mem_src *m = calloc(1, sizeof *m);
	if (!m)
		return VM_ENOMEM;
	*m = (struct mem_src){ev, n, 0};
	*src = (struct host_src){mem_read, free, m};
	return 0;
}

/* ---- host memory: taking pages from VMs ---- */

/*
 * Host actions between events (a balloon moving, a swap-out by hand) charge
 * the VMs they touch outside sim_consume, which is what credits each vCPU's
 * clock: snap before, settle after, and vCPU 0 is charged.
 */
static void snap(struct host *h)
{
	for (unsigned i = 0; i < h->nvm; i++)
		h->vm[i]->t0 = sim_charged(&h->vm[i]->s->st);
}

static void settle(struct host *h)
{
	for (unsigned i = 0; i < h->nvm; i++) {
		struct sim *s = h->vm[i]->s;
		s->cpu[0].busy += (int64_t)(sim_charged(&s->st) - h->vm[i]->t0);
	}
}

static struct hvm *charged(struct host *h, struct hvm *v) { return h->running ? h->running : v; }

/* Is the p2m entry at reverse-map slot i a page the host may take? */
static bool eligible(struct hvm *v, size_t i, gpa_t *gpa)
{
	uint64_t frame, val;
	if (!u64map_slot(&v->p2m->rmap, i, &frame, &val) || (val & 3) != PS_4K)
		return false;
	*gpa = val & ~3ull;
	return *gpa != v->pinned && !physmem_table(v->s->gpm, *gpa);
}

/* A random eligible resident page of v: a random slot, then onwards. */
static bool pick_page(struct host *h, struct hvm *v, gpa_t *gpa)
{
	const struct u64map *m = &v->p2m->rmap;
	if (!m->n)
		return false;
	size_t start = (size_t)(rnd(h) & (m->cap - 1));
	for (size_t j = 0; j < m->cap; j++)
		if (eligible(v, (start + j) & (m->cap - 1), gpa))
			return true;
	return false;
}

static void unmapped(struct hvm *v, gpa_t gpa)
{
	if (v->s->mode->gpa_unmapped)
		v->s->mode->gpa_unmapped(v->s, gpa, PS_4K);
}

static bool swap_out_page(struct host *h, struct hvm *v, gpa_t gpa)
{
	hpa_t hpa;
	enum page_size ps;
	if (p2m_unmap(v->p2m, gpa, true, &hpa, &ps) < 0)
		return false;
	if (u64map_put(&v->swapped, gpa, 1) < 0)
		return false; /* out of memory: the page is simply lost to the model */
	v->s->st.host_swap_outs++;
	charged(h, v)->s->st.cycles_swap += h->cfg.swap_out_cycles;
	unmapped(v, gpa);
	return true;
}

static uint64_t resident(const struct hvm *v) { return v->p2m->rmap.n; }

/* The VM the host takes from: furthest over its target, else the largest. */
static struct hvm *victim_vm(struct host *h)
{
	struct hvm *best = NULL;
	int64_t best_over = INT64_MIN;
	for (unsigned i = 0; i < h->nvm; i++) {
		struct hvm *v = h->vm[i];
		if (!v->p2m->rmap.n)
			continue;
		int64_t over = (int64_t)resident(v) - (int64_t)v->target;
		if (over > best_over) {
			best_over = over;
			best = v;
		}
	}
	return best;
}

/* The budget is full: host-swap pages until need bytes are free. */
static uint64_t host_reclaim(void *arg, uint64_t need)
{
	struct host *h = arg;
	uint64_t freed = 0;
	while (freed < need) {
		struct hvm *v = victim_vm(h);
		gpa_t gpa;
		if (!v || !pick_page(h, v, &gpa)) {
			/* Try every VM before giving up. */
			bool any = false;
			for (unsigned i = 0; i < h->nvm && !any; i++)
				if (pick_page(h, h->vm[i], &gpa)) {
					v = h->vm[i];
					any = true;
				}
			if (!any)
				break;
		}
		if (!swap_out_page(h, v, gpa))
			break;
		freed += 4096;
	}
	return freed;
}

/* p2m_back asks here first: sampled pages come back as they were, swapped
 * pages are read back (into the fresh frame p2m_back then allocates). */
static int owner_back(void *arg, struct p2m *p, gpa_t gpa, struct vmerr *err)
{
	struct hvm *v = arg;
	gpa_t page = gpa & ~0xfffull;
	v->pinned = page;
	uint64_t *hp = u64map_get(&v->sampled, page);
	if (hp) {
		hpa_t hpa = *hp;
		u64map_del(&v->sampled, page);
		v->touched++;
		int rc = p2m_map(p, page, hpa, PS_4K, err);
		return rc < 0 ? rc : 1;
	}
	if (u64map_del(&v->swapped, page)) {
		v->s->st.host_swap_ins++;
		v->s->st.cycles_swap += v->h->cfg.swap_in_cycles;
	}
	return 0;
}

static void fail_vm(struct hvm *v, int rc, const struct vmerr *e)
{
	if (!v->s->err) {
		v->s->err = rc;
		v->s->errmsg = *e;
	}
}

/* The guest is about to read gpa (to swap it out): it must be resident. */
static void hook_page_read(void *arg, gpa_t gpa)
{
	struct hvm *v = arg;
	gpa_t page = gpa & ~0xfffull;
	bool swapped = u64map_get(&v->swapped, page) != NULL;
	if (!swapped && !u64map_get(&v->sampled, page))
		return;
	if (swapped)
		v->s->st.double_paging++;
	struct vmerr e = {{0}};
	int rc = p2m_back(v->p2m, page, &e);
	if (rc < 0)
		fail_vm(v, rc, &e);
}

/* The balloon pinned gpa: whatever backs it goes. */
static void hook_balloon_pinned(void *arg, gpa_t gpa)
{
	struct hvm *v = arg;
	gpa_t page = gpa & ~0xfffull;
	hpa_t hpa;
	enum page_size ps;
	uint64_t *hp;
	if (p2m_unmap(v->p2m, page, true, &hpa, &ps) == 0) {
		if (ps != PS_4K) {
			/* host.page > 4k is refused when memory is limited; without a
			 * limit a huge host page just goes whole. */
			v->s->mode->gpa_unmapped(v->s, page & ~(ps_bytes(ps) - 1), ps);
			return;
		}
		unmapped(v, page);
	} else if (u64map_del(&v->swapped, page)) {
		/* its swap slot is freed: nothing to read */
	} else if ((hp = u64map_get(&v->sampled, page))) {
		physmem_release(v->h->hpm, *hp, PS_4K);
		u64map_del(&v->sampled, page);
	}
}

/* ---- VMs ---- */

struct host *host_new(const struct cfg *hcfg, struct vmerr *err)
{
	struct host *h = calloc(1, sizeof *h);
	if (!h) {
		vmerr_set(err, VM_ENOMEM, "out of memory");
		return NULL;
	}
	h->cfg = *hcfg;
	h->cur = -1;
	h->rng = 0x9E3779B97F4A7C15ull;
	h->hpm = physmem_new(0, hcfg->host_mem_gb << 30);
	if (!h->hpm) {
		free(h);
		vmerr_set(err, VM_ENOMEM, "out of memory");
		return NULL;
	}
	if (hcfg->host_mib)
		physmem_set_budget(h->hpm, hcfg->host_mib << 20, host_reclaim, h);
	return h;
}

static void hvm_free(struct hvm *v)
{
	if (v->have_src && v->src.close)
		v->src.close(v->src.arg);
	sim_free(v->s);
	u64map_free(&v->swapped);
	u64map_free(&v->sampled);
	free(v->buf);
	free(v);
}

void host_free(struct host *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < h->nvm; i++)
		hvm_free(h->vm[i]);
	free(h->vm);
	physmem_free(h->hpm);
	free(h);
}

unsigned host_nvms(const struct host *h) { return h->nvm; }
struct sim *host_vm(struct host *h, unsigned vm) { return vm < h->nvm ? h->vm[vm]->s : NULL; }

int host_add_vm(struct host *h, const struct cfg *cfg, const struct mmu_ops *mode,
		const struct host_src *src, struct vmerr *err)
{
	if (!mode->p2m || !mode->gpa_unmapped)
		return vmerr_set(err, VM_EUSAGE, "mode %s has no host dimension: several VMs need a "
				 "virtualized mode (bt, vtx, nested, pv)", mode->name);
	if (h->cfg.host_mib && cfg->host_page != PS_4K)
		return vmerr_set(err, VM_EINPUT, "host.page=%s: a host with a memory limit "
				 "(overcommit.host_mib) swaps and balloons 4 KiB host pages; set "
				 "host.page=4k", ps_name((enum page_size)cfg->host_page));
	if (h->nvm == h->cap) {
		unsigned nc = h->cap ? h->cap * 2 : 4;
		struct hvm **n = realloc(h->vm, nc * sizeof *n);
		if (!n)
			return vmerr_set(err, VM_ENOMEM, "out of memory");
		h->vm = n;
		h->cap = nc;
	}
	struct hvm *v = calloc(1, sizeof *v);
	if (!v)
		return vmerr_set(err, VM_ENOMEM, "out of memory");
	v->h = h;
	v->idx = h->nvm;
	if (src) {
		v->src = *src;
		v->have_src = true;
	}
	v->s = sim_new(cfg, mode, err);
	if (!v->s || !(v->buf = malloc(BATCH * sizeof *v->buf)) || u64map_init(&v->swapped, 64) < 0 ||
	    u64map_init(&v->sampled, 64) < 0) {
		int rc = v->s ? vmerr_set(err, VM_ENOMEM, "out of memory") : VM_EINPUT;
		hvm_free(v);
		return rc;
	}
	v->p2m = mode->p2m(v->s);
	v->owner = (struct p2m_owner){owner_back, v};
	int rc = p2m_attach(v->p2m, h->hpm, &v->owner, err);
	if (rc < 0) {
		hvm_free(v);
		return rc;
	}
	struct gos_mem_hooks mh = {hook_page_read, hook_balloon_pinned, v};
	gos_set_mem_hooks(v->s->os, &mh);
	for (unsigned i = 0; i < v->s->ncpu; i++) {
		struct vcpu *c = &v->s->cpu[i];
		c->vpid = 1 + v->idx * SIM_MAX_VCPUS + c->id;
		c->ctx = tlb_ctx(c->vpid, 0);
	}
	v->maxmem = cfg->vm_maxmem_mib << 8;
	v->memory = cfg->vm_memory_mib ? cfg->vm_memory_mib << 8 : v->maxmem;
	v->target = v->memory;
	v->period_end = h->cfg.ws_interval;
	h->vm[h->nvm++] = v;
	return (int)v->idx;
}

/* ---- balloons and targets ---- */

static bool overcommitted(const struct host *h)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < h->nvm; i++)
		sum += h->vm[i]->maxmem;
	return h->cfg.host_mib && sum > (h->cfg.host_mib << 8);
}

/* Move v's balloon to leave the guest target pages; with slack, moves
 * smaller than that are not worth making. */
static int balloon_to(struct host *h, struct hvm *v, uint64_t target, uint64_t slack,
		      struct vmerr *err)
{
	if (!v->maxmem)
		return 0; /* no maxmem: the guest cannot be squeezed */
	uint64_t want = v->maxmem - (target < v->maxmem ? target : v->maxmem);
	struct gos_meminfo gm;
	gos_meminfo(v->s->os, &gm);
	uint64_t before = gm.balloon_pages;
	if ((want > before ? want - before : before - want) <= slack)
		return 0;
	int rc = host_balloon(h, v->idx, want, err);
	gos_meminfo(v->s->os, &gm);
	uint64_t moved = gm.balloon_pages > before ? gm.balloon_pages - before : before - gm.balloon_pages;
	/* One virtqueue notification per batch of pages: a port write. */
	struct vcpu *c = &v->s->cpu[0];
	for (uint64_t b = 0; c->cur && b < (moved + BALLOON_BATCH - 1) / BALLOON_BATCH; b++) {
		struct vm_event io = {.kind = EV_IO, .op = EV_IO_OUT, .size = 2, .pid = c->cur->pid,
				      .arg = 0xc010};
		int r = sim_consume(v->s, &io, 1);
		if (r < 0)
			return vmerr_set(err, r, "%s", v->s->errmsg.msg);
	}
	return rc == VM_ELIMIT ? 0 : rc; /* a balloon that cannot grow further is not an error */
}

/* Share what the host can give in proportion to weight, no VM above its
 * maxmem: water-filling. */
static void auto_targets(struct host *h)
{
	struct physmem_usage u;
	physmem_usage(h->hpm, &u);
	uint64_t budget = h->cfg.host_mib << 8, data = 0;
	for (unsigned i = 0; i < h->nvm; i++)
		data += resident(h->vm[i]) + h->vm[i]->sampled.n;
	uint64_t overhead = (u.bytes_in_use >> 12) > data ? (u.bytes_in_use >> 12) - data : 0;
	uint64_t reserve = budget * h->cfg.free_pct / 100;
	uint64_t avail = budget > overhead + reserve ? budget - overhead - reserve : 0;
	uint64_t floor = avail / (4 * (uint64_t)h->nvm), left = avail;
	for (unsigned i = 0; i < h->nvm; i++) {
		struct hvm *v = h->vm[i];
		/* A guest that reports free memory gets what it uses plus a margin. */
		struct gos_meminfo gm;
		gos_meminfo(v->s->os, &gm);
		uint64_t allowed = gm.limit_pages - gm.balloon_pages, used = gm.used_pages - gm.balloon_pages;
		v->cap = v->maxmem;
		if (v->maxmem && allowed >= used + v->maxmem / AUTO_SLACK / 2)
			v->cap = used + v->maxmem / AUTO_SLACK;
		v->capped = false;
	}
	for (bool again = true; again;) {
		again = false;
		double w = 0;
		for (unsigned i = 0; i < h->nvm; i++)
			if (!h->vm[i]->capped)
				w += (double)(h->vm[i]->ws + floor);
		for (unsigned i = 0; i < h->nvm && !again; i++) {
			struct hvm *v = h->vm[i];
			if (v->capped)
				continue;
			v->target = w > 0 ? (uint64_t)((double)left * (double)(v->ws + floor) / w) : 0;
			if (v->maxmem && v->target >= v->cap) {
				/* Capped: share what it cannot use among the others. */
				v->target = v->cap;
				v->capped = true;
				left -= v->cap < left ? v->cap : left;
				again = true;
			}
		}
	}
}

/* End of v's working-set period: estimate, re-target, and sample anew. */
static int ws_period(struct host *h, struct hvm *v, struct vmerr *err)
{
	if (v->nsampled) {
		/* Untouched samples go back where they were. */
		uint64_t gpa, hpa;
		for (size_t i = 0; i < v->sampled.cap; i++)
			if (u64map_slot(&v->sampled, i, &gpa, &hpa)) {
				int rc = p2m_map(v->p2m, gpa, hpa, PS_4K, err);
				if (rc < 0)
					return rc;
			}
		u64map_clear(&v->sampled);
		double sample = (double)resident(v) * (double)v->touched / (double)v->nsampled;
		v->ws_slow += (sample - v->ws_slow) / WS_SLOW;
		v->ws_fast += (sample - v->ws_fast) / WS_FAST;
		v->ws = (uint64_t)(v->ws_slow > v->ws_fast ? v->ws_slow : v->ws_fast);
		h->retarget = true;
	}
	v->touched = v->nsampled = 0;
	/* Sample: take pages out of the p2m, keeping their frames. */
	for (uint32_t k = 0; k < h->cfg.ws_sample; k++) {
		gpa_t gpa;
		hpa_t hpa;
		enum page_size ps;
		if (!pick_page(h, v, &gpa) || p2m_unmap(v->p2m, gpa, false, &hpa, &ps) < 0)
			break;
		if (u64map_put(&v->sampled, gpa, hpa) < 0)
			return vmerr_set(err, VM_ENOMEM, "out of memory");
		v->nsampled++;
		unmapped(v, gpa);
	}
	return 0;
}

/* Between events of v: the host's policy acts. */
static int policy(struct host *h, struct hvm *v, struct vmerr *err)
{
	struct physmem_usage u;
	physmem_usage(h->hpm, &u);
	if (u.bytes_in_use > h->peak)
		h->peak = u.bytes_in_use;
	if (!h->cfg.host_mib || h->cfg.reclaim != RECLAIM_BALLOON)
		return 0;
	bool autop = h->cfg.balloon_policy == BALLOON_AUTO;
	if (autop && v->events >= v->period_end) {
		v->period_end = v->events + h->cfg.ws_interval;
		int rc = ws_period(h, v, err);
		if (rc < 0)
			return rc;
	}
	uint64_t budget = h->cfg.host_mib << 20;
	bool low = budget - u.bytes_in_use < budget / 100 * h->cfg.free_pct;
	if (!low && !(autop && h->retarget && overcommitted(h)))
		return 0;
	if (autop) {
		auto_targets(h);
		h->retarget = false;
	}
	for (unsigned i = 0; i < h->nvm; i++) {
		struct hvm *w = h->vm[i];
		/* Under pressure every inflation counts; otherwise small moves
		 * would only chase the sampling noise. */
		uint64_t slack = autop && !low ? w->maxmem / AUTO_SLACK : 0;
		int rc = balloon_to(h, w, autop ? w->target : w->memory, slack, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int host_balloon(struct host *h, unsigned vm, uint64_t target, struct vmerr *err)
{
	if (vm >= h->nvm)
		return vmerr_set(err, VM_EINPUT, "no VM %u", vm);
	snap(h);
	int rc = gos_balloon_set(h->vm[vm]->s->os, target, err);
	settle(h);
	return rc;
}

int host_swap_out(struct host *h, unsigned vm, gpa_t gpa)
{
	if (vm >= h->nvm)
		return -1;
	snap(h);
	bool ok = swap_out_page(h, h->vm[vm], gpa & ~0xfffull);
	settle(h);
	return ok ? 0 : -1;
}

/* ---- the host CPU ---- */

static void switch_to(struct host *h, struct hvm *v)
{
	if (h->cur == (int)v->idx)
		return;
	if (h->cur >= 0) {
		struct sim *s = v->s;
		s->st.vm_switches++;
		s->st.cycles_exit += h->cfg.vm_switch_cycles;
		s->cpu[0].busy += h->cfg.vm_switch_cycles;
		/* Without VPIDs every VM entry flushes (SDM 28.3.3.1): whatever
		 * the VM had cached was flushed while the others ran. */
		if (!s->cfg.vpid)
			for (unsigned i = 0; i < s->ncpu; i++)
				sim_tlb_flush(s, &s->cpu[i], 0, 0, false);
	}
	h->cur = (int)v->idx;
}

static int run_events(struct host *h, struct hvm *v, const struct vm_event *ev, size_t n,
		      struct vmerr *err)
{
	switch_to(h, v);
	h->running = v;
	int rc = sim_consume(v->s, ev, n);
	h->running = NULL;
	v->events += n;
	if (rc < 0)
		return vmerr_set(err, rc, "VM %u: %s", v->idx, v->s->errmsg.msg);
	struct vmerr e = {{0}};
	rc = policy(h, v, &e);
	return rc < 0 ? vmerr_set(err, rc, "VM %u: %s", v->idx, e.msg) : 0;
}

int host_consume(struct host *h, unsigned vm, const struct vm_event *ev, size_t n,
		 struct vmerr *err)
{
	if (vm >= h->nvm)
		return vmerr_set(err, VM_EINPUT, "no VM %u", vm);
	return run_events(h, h->vm[vm], ev, n, err);
}

int host_run(struct host *h, struct vmerr *err)
{
	unsigned live = 0;
	for (unsigned i = 0; i < h->nvm; i++) {
		h->vm[i]->done = !h->vm[i]->have_src;
		live += !h->vm[i]->done;
	}
	while (live) {
		for (unsigned i = 0; i < h->nvm; i++) {
			struct hvm *v = h->vm[i];
			for (uint64_t left = h->cfg.vm_quantum; !v->done && left;) {
				if (v->pos == v->nbuf) {
					struct vmerr e = {{0}};
					long n = v->src.read(v->src.arg, v->buf, BATCH, &e);
					if (n < 0)
						return vmerr_set(err, (int)n, "VM %u: %s", i, e.msg);
					v->pos = 0;
					v->nbuf = (size_t)n;
					if (n == 0) {
						v->done = true;
						live--;
						break;
					}
				}
				size_t k = v->nbuf - v->pos;
				if (k > left)
					k = (size_t)left;
				if (h->cfg.balloon_policy == BALLOON_AUTO && v->period_end > v->events &&
				    k > v->period_end - v->events)
					k = (size_t)(v->period_end - v->events);
				int rc = run_events(h, v, v->buf + v->pos, k, err);
				if (rc < 0)
					return rc;
				v->pos += k;
				left -= k;
			}
		}
	}
	for (unsigned i = 0; i < h->nvm; i++)
		sim_finish(h->vm[i]->s);
	return 0;
}

/* ---- reports ---- */

void host_meminfo(const struct host *h, struct host_meminfo *m)
{
	struct physmem_usage u;
	physmem_usage(h->hpm, &u);
	m->limit_bytes = h->cfg.host_mib << 20;
	m->used_bytes = u.bytes_in_use;
	m->peak_bytes = h->peak > u.bytes_in_use ? h->peak : u.bytes_in_use;
}

void host_vm_meminfo(const struct host *h, unsigned vm, struct host_vm_meminfo *m)
{
	memset(m, 0, sizeof *m);
	if (vm >= h->nvm)
		return;
	const struct hvm *v = h->vm[vm];
	m->resident = resident(v) + v->sampled.n;
	m->swapped = v->swapped.n;
	m->target = v->target;
	m->ws = h->cfg.balloon_policy == BALLOON_AUTO ? v->ws : 0;
}
