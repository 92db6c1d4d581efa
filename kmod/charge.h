/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory-cgroup charging of ALLOC buffers (charge.c): the pages of a buffer
 * are charged to the memory cgroup of the process it is allocated for (a
 * pidfd given with DMABUF_SG_ALLOC_CHARGE_PIDFD, else the caller), so that
 * memory.max limits them and the OOM killer sees them where they belong.
 *
 * How: the block allocator adds dmabuf_sg_charge_gfp() (__GFP_ACCOUNT) to its
 * gfp flags and allocates between dmabuf_sg_charge_begin() and
 * dmabuf_sg_charge_end() (set_active_memcg()).  Each page then carries the
 * charge itself (a kmem charge in page->memcg_data, counted in memory.current
 * and as "kernel" in memory.stat) until it is freed to the page allocator,
 * which uncharges it.  So the memcg reference taken by
 * dmabuf_sg_charge_get_*() is needed only while allocating and is dropped by
 * dmabuf_sg_charge_put() right after.  The page pool keeps uncharged pages
 * only and serves only allocations that charge nothing (pool.c states the
 * rule): a buffer charged to a memory cgroup takes fresh pages and gives
 * them back to the page allocator when freed, so memory.current falls.
 */
#ifndef DMABUF_SG_CHARGE_H
#define DMABUF_SG_CHARGE_H

#include <linux/gfp.h>
#include <linux/memcontrol.h>
#include <linux/types.h>

/**
 * struct dmabuf_sg_charge - where the pages of one ALLOC are charged
 * @memcg: a reference on the memory cgroup to charge, or NULL when nothing
 *	is charged: the process is in the root memory cgroup (which has no
 *	limit and does not count kernel pages) or memory cgroups are
 *	disabled.
 */
struct dmabuf_sg_charge {
	struct mem_cgroup *memcg;
};

int dmabuf_sg_charge_get_caller(struct dmabuf_sg_charge *charge);
int dmabuf_sg_charge_get_pidfd(struct dmabuf_sg_charge *charge, u32 pidfd);
void dmabuf_sg_charge_put(struct dmabuf_sg_charge *charge);
struct mem_cgroup *dmabuf_sg_charge_begin(const struct dmabuf_sg_charge *charge);
void dmabuf_sg_charge_end(struct mem_cgroup *old);

/* The gfp flags a charged allocation adds to its own. */
static inline gfp_t dmabuf_sg_charge_gfp(const struct dmabuf_sg_charge *charge)
{
	return charge->memcg ? __GFP_ACCOUNT : 0;
}

#endif /* DMABUF_SG_CHARGE_H */
