// SPDX-License-Identifier: GPL-2.0
/*
 * The page pool: blocks of freed ALLOC buffers, kept per order and zeroed
 * ahead of time, so that the next ALLOC of a similar size skips both the
 * page allocator and the zeroing of its pages (most of an ALLOC's time).
 *
 * Life of a block:
 *
 *   buffer freed --put--> dirty list --worker zeroes--> clean[order] --get--> ALLOC
 *
 * - dmabuf_sg_pool_put() takes a freed block onto the dirty list (or
 *   refuses it: pool off or full, or the block is charged to a memory
 *   cgroup) and queues the worker.
 * - The worker, on an unbound workqueue, takes one dirty block at a time
 *   off the list, zeroes every page of it, and only then puts it on the
 *   clean list of its order.  A block is on a clean list only after it was
 *   zeroed since its last user freed it: no data crosses between users.
 * - dmabuf_sg_pool_get() hands out clean blocks only; when none of the
 *   order is there, the caller allocates from the page allocator (with
 *   __GFP_ZERO), as without the pool.
 *
 * Bound: the pool_max_bytes parameter (root-writable; default 1/16 of RAM,
 * at most half of RAM, 0 turns the pool off).  A put that would exceed it
 * is refused, and lowering it gives back the excess at once (dirty blocks
 * first, then clean ones from the highest order down).  A block the worker
 * is zeroing is counted but cannot be taken; if the bound fell meanwhile,
 * the worker frees it when done.
 *
 * Memory pressure: a shrinker gives back blocks in the same order as
 * lowering the bound does (drop_caches reaches it too).  Module unload
 * gives back everything.
 *
 * Memory cgroups: a block charged to a cgroup (__GFP_ACCOUNT) is never
 * kept: only freeing a page uncharges it, and a cgroup's memory.current
 * must fall when its buffers are freed.  So the pool holds uncharged pages
 * only, and hands them only to allocations that would not be charged, or
 * charged to the root cgroup, which is the same thing: see
 * dmabuf_sg_pool_serves().
 */
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/shrinker.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "pool.h"

/* Not given at load: dmabuf_sg_pool_init() makes it 1/16 of RAM. */
#define DMABUF_SG_POOL_UNSET ULONG_MAX

static unsigned long dmabuf_sg_pool_max_bytes = DMABUF_SG_POOL_UNSET;

static void dmabuf_sg_pool_trim(unsigned long max_pages);

static unsigned long dmabuf_sg_pool_limit_bytes(void)
{
	return (totalram_pages() << PAGE_SHIFT) / 2;
}

static int dmabuf_sg_pool_param_set(const char *val,
				    const struct kernel_param *kp)
{
	unsigned long bytes;
	int ret;

	ret = kstrtoul(val, 0, &bytes);
	if (ret)
		return ret;
	if (bytes > dmabuf_sg_pool_limit_bytes())
		return -EINVAL;
	WRITE_ONCE(dmabuf_sg_pool_max_bytes, bytes);
	dmabuf_sg_pool_trim(bytes >> PAGE_SHIFT);
	return 0;
}

static const struct kernel_param_ops dmabuf_sg_pool_param_ops = {
	.set = dmabuf_sg_pool_param_set,
	.get = param_get_ulong,
};

module_param_cb(pool_max_bytes, &dmabuf_sg_pool_param_ops,
		&dmabuf_sg_pool_max_bytes, 0644);
MODULE_PARM_DESC(pool_max_bytes, "Bytes of freed ALLOC pages kept for reuse (default 1/16 of RAM, at most half, 0: no pool)");

/**
 * struct dmabuf_sg_pool - the pool; every field under @lock
 * @lock: protects the lists and counters.
 * @clean: zeroed blocks ready to hand out, per order (linked by page->lru).
 * @dirty: freed blocks waiting for the worker, any order.
 * @pages: pages held: clean, dirty and being zeroed.
 * @dirty_pages: pages on @dirty or being zeroed.
 * @clean_blocks: entries of each @clean list.
 * @hits: blocks handed out.
 * @misses: blocks asked for when @clean of that order was empty.
 * @reclaimed: pages the shrinker gave back.
 * @zeroed: pages the worker zeroed.
 */
struct dmabuf_sg_pool {
	spinlock_t lock;
	struct list_head clean[DMABUF_SG_ORDERS];
	struct list_head dirty;
	unsigned long pages;
	unsigned long dirty_pages;
	unsigned long clean_blocks[DMABUF_SG_ORDERS];
	u64 hits;
	u64 misses;
	u64 reclaimed;
	u64 zeroed;
};

/*
 * Statically initialised lock and dirty list: the parameter's setter may run
 * at load, before dmabuf_sg_pool_init(); it then finds @pages at 0 and
 * touches no list.
 */
static struct dmabuf_sg_pool dmabuf_sg_pool = {
	.lock = __SPIN_LOCK_UNLOCKED(dmabuf_sg_pool.lock),
	.dirty = LIST_HEAD_INIT(dmabuf_sg_pool.dirty),
};

static struct shrinker *dmabuf_sg_pool_shrinker;

static void dmabuf_sg_pool_zero_work(struct work_struct *work);
static DECLARE_WORK(dmabuf_sg_pool_zero, dmabuf_sg_pool_zero_work);

static unsigned long dmabuf_sg_pool_max_pages(void)
{
	return READ_ONCE(dmabuf_sg_pool_max_bytes) >> PAGE_SHIFT;
}

/*
 * Move blocks to @out until the pool holds at most @target pages: dirty
 * ones first (nothing spent on them yet), then clean ones from the highest
 * order down (the blocks the rest of the system misses most).
 * Return: pages moved.  Caller holds the lock.
 */
static unsigned long dmabuf_sg_pool_take_locked(unsigned long target,
						struct list_head *out)
{
	struct dmabuf_sg_pool *pool = &dmabuf_sg_pool;
	unsigned long taken = 0, n;
	struct page *page, *next;
	int order;

	list_for_each_entry_safe(page, next, &pool->dirty, lru) {
		if (pool->pages <= target)
			return taken;
		n = 1UL << compound_order(page);
		list_move(&page->lru, out);
		pool->pages -= n;
		pool->dirty_pages -= n;
		taken += n;
	}
	for (order = DMABUF_SG_ORDERS - 1; order >= 0; order--) {
		while (pool->pages > target && !list_empty(&pool->clean[order])) {
			page = list_first_entry(&pool->clean[order], struct page, lru);
			list_move(&page->lru, out);
			pool->clean_blocks[order]--;
			pool->pages -= 1UL << order;
			taken += 1UL << order;
		}
	}
	return taken;
}

static void dmabuf_sg_pool_free_list(struct list_head *blocks)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, blocks, lru) {
		list_del(&page->lru);
		__free_pages(page, compound_order(page));
	}
}

/* Give back blocks until the pool holds at most @max_pages pages. */
static void dmabuf_sg_pool_trim(unsigned long max_pages)
{
	LIST_HEAD(blocks);

	spin_lock(&dmabuf_sg_pool.lock);
	dmabuf_sg_pool_take_locked(max_pages, &blocks);
	spin_unlock(&dmabuf_sg_pool.lock);
	dmabuf_sg_pool_free_list(&blocks);
}

/*
 * Zero the dirty blocks one at a time, outside the lock, then make them
 * clean; a block the pool no longer has room for (the bound fell while it
 * was being zeroed) goes back to the page allocator.
 */
static void dmabuf_sg_pool_zero_work(struct work_struct *work)
{
	struct dmabuf_sg_pool *pool = &dmabuf_sg_pool;
	unsigned int order;
	struct page *page;
	unsigned long i, n;

	for (;;) {
		spin_lock(&pool->lock);
		page = list_first_entry_or_null(&pool->dirty, struct page, lru);
		if (page)
			list_del(&page->lru);
		spin_unlock(&pool->lock);
		if (!page)
			return;

		order = compound_order(page);
		n = 1UL << order;
		for (i = 0; i < n; i++) {
			clear_highpage(page + i);
			cond_resched();
		}

		spin_lock(&pool->lock);
		pool->dirty_pages -= n;
		pool->zeroed += n;
		if (pool->pages <= dmabuf_sg_pool_max_pages()) {
			list_add(&page->lru, &pool->clean[order]);
			pool->clean_blocks[order]++;
			page = NULL;
		} else {
			pool->pages -= n;
		}
		spin_unlock(&pool->lock);
		if (page)
			__free_pages(page, order);
	}
}

static unsigned long dmabuf_sg_pool_count(struct shrinker *shrinker,
					  struct shrink_control *sc)
{
	unsigned long pages = READ_ONCE(dmabuf_sg_pool.pages);

	return pages ?: SHRINK_EMPTY;
}

static unsigned long dmabuf_sg_pool_scan(struct shrinker *shrinker,
					 struct shrink_control *sc)
{
	struct dmabuf_sg_pool *pool = &dmabuf_sg_pool;
	unsigned long freed;
	LIST_HEAD(blocks);

	spin_lock(&pool->lock);
	freed = dmabuf_sg_pool_take_locked(pool->pages > sc->nr_to_scan ?
					   pool->pages - sc->nr_to_scan : 0,
					   &blocks);
	pool->reclaimed += freed;
	spin_unlock(&pool->lock);
	dmabuf_sg_pool_free_list(&blocks);
	return freed ?: SHRINK_STOP;
}

/*
 * Whether @memcg is the root memory cgroup.  root_mem_cgroup is not
 * exported (so mem_cgroup_is_root() cannot be used by a module), but the
 * root is the one cgroup without a parent.  With the controller disabled
 * nothing is ever charged, which is the root's case too.
 */
static bool dmabuf_sg_pool_memcg_is_root(struct mem_cgroup *memcg)
{
#ifdef CONFIG_MEMCG
	return mem_cgroup_disabled() || !memcg->css.parent;
#else
	return true;
#endif
}

/**
 * dmabuf_sg_pool_serves() - may an allocation take its pages from the pool
 * @memcg: the memory cgroup the allocation's pages are charged to, or NULL
 *	when they are not charged (no __GFP_ACCOUNT).
 *
 * The pool holds uncharged pages only, so it serves allocations that are
 * not charged, or charged to the root cgroup (where __GFP_ACCOUNT charges
 * nothing).  Allocations for any other cgroup must take charged pages from
 * the page allocator.
 *
 * Return: true when the pool is on and may serve the allocation.
 */
bool dmabuf_sg_pool_serves(struct mem_cgroup *memcg)
{
	if (!READ_ONCE(dmabuf_sg_pool_max_bytes))
		return false;
	return !memcg || dmabuf_sg_pool_memcg_is_root(memcg);
}

/**
 * dmabuf_sg_pool_get() - a zeroed block from the pool
 * @order: the block's order.
 *
 * Only for allocations dmabuf_sg_pool_serves() allowed.  Counts a hit or a
 * miss.
 *
 * Return: the head page of a zeroed block of @order pages (compound for
 * orders above 0, as the page allocator gave it), or NULL when the pool
 * has no zeroed block of that order.
 */
struct page *dmabuf_sg_pool_get(unsigned int order)
{
	struct dmabuf_sg_pool *pool = &dmabuf_sg_pool;
	struct page *page;

	spin_lock(&pool->lock);
	page = list_first_entry_or_null(&pool->clean[order], struct page, lru);
	if (page) {
		list_del(&page->lru);
		pool->clean_blocks[order]--;
		pool->pages -= 1UL << order;
		pool->hits++;
	} else {
		pool->misses++;
	}
	spin_unlock(&pool->lock);
	return page;
}

/**
 * dmabuf_sg_pool_put() - offer a freed block to the pool
 * @page: head page of a block of an ALLOC buffer, off every list; no one
 *	maps or reads it any more.
 *
 * Return: true when the pool kept the block (it will be zeroed before
 * anyone gets it again); false when the caller must free it: the pool is
 * off or full, or the block is charged to a memory cgroup.
 */
bool dmabuf_sg_pool_put(struct page *page)
{
	struct dmabuf_sg_pool *pool = &dmabuf_sg_pool;
	unsigned long n = 1UL << compound_order(page);
	bool kept = false;

	if (PageMemcgKmem(page))
		return false;
	spin_lock(&pool->lock);
	if (pool->pages + n <= dmabuf_sg_pool_max_pages()) {
		list_add_tail(&page->lru, &pool->dirty);
		pool->pages += n;
		pool->dirty_pages += n;
		kept = true;
	}
	spin_unlock(&pool->lock);
	if (kept)
		queue_work(system_unbound_wq, &dmabuf_sg_pool_zero);
	return kept;
}

/**
 * dmabuf_sg_pool_read() - a consistent snapshot of the counters
 * @st: filled in.
 */
void dmabuf_sg_pool_read(struct dmabuf_sg_pool_stats *st)
{
	struct dmabuf_sg_pool *pool = &dmabuf_sg_pool;
	unsigned int order;

	spin_lock(&pool->lock);
	st->pages = pool->pages;
	st->dirty_pages = pool->dirty_pages;
	for (order = 0; order < DMABUF_SG_ORDERS; order++)
		st->blocks[order] = pool->clean_blocks[order];
	st->hits = pool->hits;
	st->misses = pool->misses;
	st->reclaimed = pool->reclaimed;
	st->zeroed = pool->zeroed;
	spin_unlock(&pool->lock);
}

/**
 * dmabuf_sg_pool_init() - set the default bound and register the shrinker
 *
 * Return: 0 or -ENOMEM.
 */
int dmabuf_sg_pool_init(void)
{
	unsigned int order;

	for (order = 0; order < DMABUF_SG_ORDERS; order++)
		INIT_LIST_HEAD(&dmabuf_sg_pool.clean[order]);
	if (dmabuf_sg_pool_max_bytes == DMABUF_SG_POOL_UNSET)
		dmabuf_sg_pool_max_bytes = (totalram_pages() << PAGE_SHIFT) / 16;
	dmabuf_sg_pool_shrinker = dmabuf_sg_shrinker_create(dmabuf_sg_pool_count,
							    dmabuf_sg_pool_scan,
							    "dmabuf_sg-pool");
	return dmabuf_sg_pool_shrinker ? 0 : -ENOMEM;
}

/**
 * dmabuf_sg_pool_exit() - give every block back; no buffer may be left
 */
void dmabuf_sg_pool_exit(void)
{
	dmabuf_sg_shrinker_destroy(dmabuf_sg_pool_shrinker);
	cancel_work_sync(&dmabuf_sg_pool_zero);
	dmabuf_sg_pool_trim(0);
	WARN_ON(dmabuf_sg_pool.pages);
}
