/* u64map.c - see u64map.h. */
#include "u64map.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

static inline size_t slot(const struct u64map *m, uint64_t k)
{
	return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 17) & (m->cap - 1);
}

int u64map_init(struct u64map *m, size_t hint)
{
	size_t cap = 16;
	while (cap < hint * 2)
		cap *= 2;
	m->e = calloc(cap, sizeof *m->e);
	m->cap = cap;
	m->n = 0;
	if (!m->e) {
		m->cap = 0;
		return VM_ENOMEM;
	}
	return 0;
}

void u64map_free(struct u64map *m)
{
	free(m->e);
	m->e = NULL;
	m->cap = m->n = 0;
}

uint64_t *u64map_get(const struct u64map *m, uint64_t key)
{
	uint64_t k = key + 1;
	if (!m->cap)
		return NULL;
	for (size_t s = slot(m, k);; s = (s + 1) & (m->cap - 1)) {
		if (m->e[s].k == k)
			return &m->e[s].v;
		if (!m->e[s].k)
			return NULL;
	}
}

static int grow(struct u64map *m)
{
	struct u64map n;
	if (u64map_init(&n, m->cap) < 0)
		return VM_ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->e[i].k) {
			size_t s = slot(&n, m->e[i].k);
			while (n.e[s].k)
				s = (s + 1) & (n.cap - 1);
			n.e[s] = m->e[i];
			n.n++;
		}
	u64map_free(m);
	*m = n;
	return 0;
}

int u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	uint64_t *p = u64map_get(m, key);
	if (p) {
		*p = val;
		return 0;
	}
	if (!m->cap || (m->n + 1) * 2 > m->cap) {
		if (!m->cap && u64map_init(m, 16) < 0)
			return VM_ENOMEM;
		if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
			return VM_ENOMEM;
	}
	uint64_t k = key + 1;
	size_t s = slot(m, k);
	while (m->e[s].k)
		s = (s + 1) & (m->cap - 1);
	m->e[s] = (struct u64map_slot){k, val};
	m->n++;
	return 0;
}

int u64map_del(struct u64map *m, uint64_t key)
{
	uint64_t k = key + 1;
	if (!m->cap)
		return 0;
	size_t s = slot(m, k);
	while (m->e[s].k && m->e[s].k != k)
		s = (s + 1) & (m->cap - 1);
	if (!m->e[s].k)
		return 0;
	m->e[s].k = 0;
	size_t hole = s;
	for (size_t j = (s + 1) & (m->cap - 1); m->e[j].k; j = (j + 1) & (m->cap - 1)) {
		size_t home = slot(m, m->e[j].k);
		bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
		if (movable) {
			m->e[hole] = m->e[j];
			m->e[j].k = 0;
			hole = j;
		}
	}
	m->n--;
	return 1;
}

void u64map_clear(struct u64map *m)
{
	if (m->cap) {
		memset(m->e, 0, m->cap * sizeof *m->e);
		m->n = 0;
	}
}
