/*
 * bfs - breadth-first search from vertex 0 over a seeded random graph in
 * CSR form (offsets, edges), with a distance array and a FIFO queue in
 * memory, as in Graph500's kernel 2.
 *
 * Notes:
 *  - Vertex v has 1 + h(v) % (2 degree - 1) out-edges (mean `degree`).  Its
 *    edge 0 goes to v + 1 (mod V), so every vertex is reached; the others go
 *    to h(v, j) % V.  h is a hash keyed by the seed, so the generator can
 *    recompute any edge instead of storing the edge array.
 *  - The search itself decides what to touch from the queue, offsets and
 *    distances, so those three regions are wl_map_backed: the simulator
 *    build keeps a host copy of them (16 bytes per vertex), never of the
 *    edges (4 bytes per edge).  Edge targets are loaded for real in the
 *    freestanding build and recomputed (wl_follow) in the simulator.
 *  - Vertex ids are 32-bit: at most 2^32 - 1 vertices and 2^36 edges.
 *
 * Events, with E the number of edges (= stores to the edge array):
 *   4 maps + (V + 1) offset stores + E edge stores + 1 phase
 *   + 2 (root's distance and queue slot)
 *   + V * 4 loads (queue slot, two offsets, own distance)
 *   + E * 2 loads (edge, its target's distance)
 *   + (V - 1) * 2 stores (distance and queue slot of each newly found vertex)
 *   = 6 + 7V + 3E.
 */
#include "wl_lib.h"

#define BFS_OFF WL_SLOT(47)
#define BFS_EDGES (WL_SLOT(47) + (1ull << 38))
#define BFS_DIST (WL_SLOT(47) + (2ull << 38))
#define BFS_QUEUE (WL_SLOT(47) + (3ull << 38))

static const struct wl_param params[] = {
	{"vertices", 131072, "vertices in the graph"},
	{"degree", 8, "mean out-degree: 1 .. 2*degree-1 edges per vertex (at most 4096)"},
	{"threads", 1, "threads (vCPUs) taking queue entries, 64 at a time in turn"},
};

struct graph {
	uint64_t v, key, spread;
};

static uint64_t out_degree(const struct graph *g, uint64_t u)
{
	return 1 + wl_hash2(g->key, u) % g->spread;
}

static uint64_t edge_target(const struct graph *g, uint64_t u, uint64_t j)
{
	if (j == 0)
		return u + 1 < g->v ? u + 1 : 0;
	return wl_hash2(g->key ^ (u << 1 | 1), j) % g->v;
}

static void run(struct wl_ctx *c, const uint64_t *p)
{
	uint64_t s = p[3] ? p[3] : 1;
	struct graph g = {.v = p[0] ? p[0] : 1, .key = wl_rand(&s)};
	if (g.v > 0xffffffffull)
		g.v = 0xffffffffull;
	uint64_t deg = p[1] ? p[1] : 1;
	if (deg > 4096)
		deg = 4096;
	g.spread = 2 * deg - 1;
	uint64_t emax = g.v * g.spread;
	if (emax > (1ull << 36))
		emax = 1ull << 36;

	wl_map_backed(c, BFS_OFF, (g.v + 1) * 8, VM_PROT_R | VM_PROT_W);
	wl_map(c, BFS_EDGES, emax * 4, VM_PROT_R | VM_PROT_W);
	wl_map_backed(c, BFS_DIST, g.v * 4, VM_PROT_R | VM_PROT_W);
	wl_map_backed(c, BFS_QUEUE, g.v * 4, VM_PROT_R | VM_PROT_W);
	if (wl_failed(c))
		return;

	uint64_t e = 0;
	for (uint64_t u = 0; u < g.v; u++) {
		wl_store(c, BFS_OFF + u * 8, 8, e);
		uint64_t d = out_degree(&g, u);
		for (uint64_t j = 0; j < d && e < emax; j++, e++)
			wl_store(c, BFS_EDGES + e * 4, 4, edge_target(&g, u, j));
		if ((u & 0xffff) == 0 && wl_failed(c))
			return;
	}
	wl_store(c, BFS_OFF + g.v * 8, 8, e);

	wl_phase(c, 1);
	uint64_t head = 0, tail = 1;
	wl_store(c, BFS_DIST, 4, 1); /* distance + 1: 0 means not yet seen */
	wl_store(c, BFS_QUEUE, 4, 0);
	while (head < tail) {
		wl_thread_of(c, head, p[2]);
		uint64_t u = wl_load(c, BFS_QUEUE + head * 4, 4);
		head++;
		uint64_t b = wl_load(c, BFS_OFF + u * 8, 8);
		uint64_t end = wl_load(c, BFS_OFF + (u + 1) * 8, 8);
		uint64_t du = wl_load(c, BFS_DIST + u * 4, 4);
		for (uint64_t k = b; k < end; k++) {
			uint64_t v = wl_follow(wl_load(c, BFS_EDGES + k * 4, 4),
					       edge_target(&g, u, k - b));
			if (wl_load(c, BFS_DIST + v * 4, 4) == 0) {
				wl_store(c, BFS_DIST + v * 4, 4, du + 1);
				wl_store(c, BFS_QUEUE + tail * 4, 4, v);
				tail++;
			}
		}
		if ((head & 0xffff) == 0 && wl_failed(c))
			break;
	}
	c->vcpu = 0;
}

const struct wl_desc wl_bfs = {
	.name = "bfs",
	.desc = "breadth-first search of a random CSR graph (`vertices`, mean `degree`)",
	.params = params,
	.nparams = VM_ARRAY_SIZE(params),
	.run = run,
};
