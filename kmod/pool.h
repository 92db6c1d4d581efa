/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The page pool (pool.c): blocks of freed ALLOC buffers kept per order,
 * zeroed in the background, and handed to later ALLOCs.  See pool.c for the
 * design and the rule on charged pages.
 */
#ifndef DMABUF_SG_POOL_H
#define DMABUF_SG_POOL_H

#include <linux/types.h>

#include "dmabuf_sg.h"

struct mem_cgroup;
struct page;

/**
 * struct dmabuf_sg_pool_stats - a snapshot of the pool's counters
 * @pages: pages the pool holds now, zeroed or not (counted against the
 *	pool_max_bytes parameter).
 * @dirty_pages: of @pages, those still waiting to be zeroed.
 * @blocks: zeroed blocks ready to hand out, per order.
 * @hits: blocks an ALLOC took from the pool.
 * @misses: blocks an ALLOC asked the pool for and took from the page
 *	allocator instead (nothing zeroed of that order).
 * @reclaimed: pages the shrinker gave back to the page allocator.
 * @zeroed: pages zeroed by the pool's worker.
 */
struct dmabuf_sg_pool_stats {
	u64 pages;
	u64 dirty_pages;
	u64 blocks[DMABUF_SG_ORDERS];
	u64 hits;
	u64 misses;
	u64 reclaimed;
	u64 zeroed;
};

int dmabuf_sg_pool_init(void);
void dmabuf_sg_pool_exit(void);

bool dmabuf_sg_pool_serves(struct mem_cgroup *memcg);
struct page *dmabuf_sg_pool_get(unsigned int order);
bool dmabuf_sg_pool_put(struct page *page);
void dmabuf_sg_pool_read(struct dmabuf_sg_pool_stats *st);

#endif /* DMABUF_SG_POOL_H */
