/*
 * u64map.h - a small open-addressing hash map from uint64_t to uint64_t.
 * Keys are stored as key + 1 so 0 marks an empty slot (key UINT64_MAX is
 * not allowed).  Linear probing, backward-shift deletion, kept half empty.
 */
#ifndef VMSIM_U64MAP_H
#define VMSIM_U64MAP_H

#include "types.h"

/* Keys and values sit side by side, so a look-up touches one cache line. */
struct u64map_slot {
	uint64_t k, v;
};

struct u64map {
	struct u64map_slot *e;
	size_t cap, n;
};

/* Slot i (0 <= i < cap) for iteration: 1 and its key and value if used. */
static inline int u64map_slot(const struct u64map *m, size_t i, uint64_t *key, uint64_t *val)
{
	if (!m->e[i].k)
		return 0;
	*key = m->e[i].k - 1;
	*val = m->e[i].v;
	return 1;
}

int u64map_init(struct u64map *m, size_t cap_hint);
void u64map_free(struct u64map *m);
/* Pointer to the value of key, or NULL. */
uint64_t *u64map_get(const struct u64map *m, uint64_t key);
/* Insert or overwrite; 0 or VM_ENOMEM. */
int u64map_put(struct u64map *m, uint64_t key, uint64_t val);
/* Remove key if present; returns 1 if it was. */
int u64map_del(struct u64map *m, uint64_t key);
void u64map_clear(struct u64map *m);

#endif
