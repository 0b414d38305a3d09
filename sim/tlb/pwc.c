/* pwc.c - paging-structure caches built from the generic cache. */
#include "pwc.h"

#include <string.h>

int pwc_init(struct pwc *p, const struct cfg_cache sizes[5], unsigned levels, bool enabled,
	     enum tlb_policy policy, struct vmerr *err)
{
	memset(p, 0, sizeof *p);
	p->levels = levels;
	p->enabled = enabled;
	for (unsigned l = 1; l < levels && l < 5; l++) {
		if (!sizes[l].entries)
			continue;
		struct tlb_geom g = {.entries = sizes[l].entries,
				     .ways = sizes[l].ways,
				     .policy = policy,
				     .classes = 1,
				     .shift = {(uint8_t)(12 + 9 * l)}};
		int rc = tlb_init(&p->lvl[l], &g, err);
		if (rc < 0) {
			pwc_free(p);
			return rc;
		}
		p->have[l] = true;
	}
	return 0;
}

void pwc_free(struct pwc *p)
{
	for (unsigned l = 0; l < 5; l++)
		if (p->have[l])
			tlb_free(&p->lvl[l]);
	memset(p->have, 0, sizeof p->have);
}

void pwc_flush_ctx(struct pwc *p, uint32_t ctx, uint32_t match_mask)
{
	for (unsigned l = 0; l < 5; l++)
		if (p->have[l])
			tlb_flush_ctx(&p->lvl[l], ctx, match_mask, false);
}

void pwc_flush_all(struct pwc *p)
{
	for (unsigned l = 0; l < 5; l++)
		if (p->have[l])
			tlb_flush_all(&p->lvl[l]);
}
