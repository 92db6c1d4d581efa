// SPDX-License-Identifier: GPL-2.0
/*
 * ALLOC: zeroed memory in blocks of the largest order available, so the
 * sg_table stays short.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/list.h>
#include <linux/list_sort.h>

#include "charge.h"
#include "dmabuf_sg.h"
#include "pool.h"

/*
 * High orders are opportunistic: no direct reclaim or compaction, no kswapd
 * wake-up, no retries, no warning; when they fail we step down an order.
 * Order 0 may reclaim but fails instead of invoking the OOM killer.
 */
#define DMABUF_SG_ALLOC_HIGH_GFP						\
	((GFP_HIGHUSER | __GFP_ZERO | __GFP_COMP | __GFP_NOWARN |		\
	  __GFP_NORETRY) & ~__GFP_RECLAIM)
#define DMABUF_SG_ALLOC_LOW_GFP						\
	(GFP_HIGHUSER | __GFP_ZERO | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)
/* One contiguous block was asked for: allow one light compaction attempt. */
#define DMABUF_SG_ALLOC_CONTIG_GFP						\
	(GFP_HIGHUSER | __GFP_ZERO | __GFP_COMP | __GFP_NOWARN | __GFP_NORETRY)

/* The largest SG entry: sg->length is an unsigned int. */
#define DMABUF_SG_ALLOC_MAX_SEGMENT (UINT_MAX & PAGE_MASK)

/*
 * The blocks are linked through the head page's lru, as in system_heap.
 * @to_pool: offer each block to the pool first (a freed buffer); blocks of
 * an ALLOC that failed for want of memory go straight back.
 */
static void dmabuf_sg_alloc_free_blocks(struct dmabuf_sg_buffer *buf,
					bool to_pool)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, &buf->blocks_list, lru) {
		list_del(&page->lru);
		if (!to_pool || !dmabuf_sg_pool_put(page))
			__free_pages(page, compound_order(page));
	}
}

static void dmabuf_sg_alloc_release_pages(struct dmabuf_sg_buffer *buf)
{
	dmabuf_sg_alloc_free_blocks(buf, true);
}

static const struct dmabuf_sg_buffer_kind dmabuf_sg_alloc_kind = {
	.kind = DMABUF_SG_KIND_ALLOC,
	.release_pages = dmabuf_sg_alloc_release_pages,
};

static gfp_t dmabuf_sg_alloc_gfp(unsigned int order)
{
	return order ? DMABUF_SG_ALLOC_HIGH_GFP : DMABUF_SG_ALLOC_LOW_GFP;
}

/*
 * Take one block of at most *max_order pages fitting in @remaining pages,
 * from the pool when @pooled and it has a zeroed one of that order, else
 * from the page allocator with @account (the charge's gfp flags).  An order
 * that fails once (for want of memory or of room below the memory cgroup's
 * limit) is not tried again for this buffer: *max_order steps down past it.
 */
static struct page *dmabuf_sg_alloc_block(unsigned long remaining,
					  unsigned int *max_order, bool pooled,
					  gfp_t account)
{
	unsigned int order = min_t(unsigned int, *max_order, ilog2(remaining));
	struct page *page;

	for (;;) {
		page = pooled ? dmabuf_sg_pool_get(order) : NULL;
		if (!page)
			page = alloc_pages(dmabuf_sg_alloc_gfp(order) | account,
					   order);
		if (page || !order)
			return page;
		*max_order = --order;
	}
}

static int dmabuf_sg_alloc_cmp_pfn(void *priv, const struct list_head *a,
				   const struct list_head *b)
{
	unsigned long pa = page_to_pfn(list_entry(a, struct page, lru));
	unsigned long pb = page_to_pfn(list_entry(b, struct page, lru));

	return pa < pb ? -1 : pa > pb;
}

/*
 * Put the blocks on buf->blocks_list, in allocation order, charged to
 * @charge's memory cgroup: the caller is inside dmabuf_sg_charge_begin().
 * The pool serves only allocations that charge nothing.
 * Return: 0, or -errno with every block freed.
 */
static int dmabuf_sg_alloc_blocks(struct dmabuf_sg_buffer *buf,
				  unsigned int max_order,
				  const struct dmabuf_sg_charge *charge)
{
	bool pooled = dmabuf_sg_pool_serves(charge->memcg);
	gfp_t account = dmabuf_sg_charge_gfp(charge);
	unsigned long done = 0;
	struct page *page;

	if (buf->flags & DMABUF_SG_ALLOC_CONTIGUOUS) {
		page = pooled ? dmabuf_sg_pool_get(max_order) : NULL;
		if (!page)
			page = alloc_pages(DMABUF_SG_ALLOC_CONTIG_GFP | account,
					   max_order);
		if (!page)
			return -ENOMEM;
		list_add_tail(&page->lru, &buf->blocks_list);
		return 0;
	}
	while (done < buf->npages) {
		if (fatal_signal_pending(current))
			goto err_free_blocks;
		page = dmabuf_sg_alloc_block(buf->npages - done, &max_order,
					     pooled, account);
		if (!page)
			goto err_free_blocks;
		list_add_tail(&page->lru, &buf->blocks_list);
		done += 1UL << compound_order(page);
	}
	return 0;

err_free_blocks:
	dmabuf_sg_alloc_free_blocks(buf, false);
	return fatal_signal_pending(current) ? -EINTR : -ENOMEM;
}

/*
 * Walk the blocks (sorted by physical address), merging neighbours into
 * runs.  With @table NULL only count the runs; otherwise fill its entries.
 */
static unsigned int dmabuf_sg_alloc_runs(struct dmabuf_sg_buffer *buf,
					 struct sg_table *table)
{
	struct scatterlist *sg = table ? table->sgl : NULL;
	struct page *head, *start = NULL;
	unsigned int runs = 0;
	size_t len = 0;

	list_for_each_entry(head, &buf->blocks_list, lru) {
		size_t block = PAGE_SIZE << compound_order(head);

		if (start && len + block <= DMABUF_SG_ALLOC_MAX_SEGMENT &&
		    page_to_pfn(head) == page_to_pfn(start) + (len >> PAGE_SHIFT)) {
			len += block;
			continue;
		}
		if (start && sg) {
			sg_set_page(sg, start, len, 0);
			sg = sg_next(sg);
		}
		runs += !!start;
		start = head;
		len = block;
	}
	if (start && sg)
		sg_set_page(sg, start, len, 0);
	return runs + !!start;
}

/*
 * Sort the blocks by physical address, count them per order, and describe
 * the buffer with one SG entry per physically contiguous run.
 */
static int dmabuf_sg_alloc_table(struct dmabuf_sg_buffer *buf)
{
	struct page *head;
	int ret;

	list_sort(NULL, &buf->blocks_list, dmabuf_sg_alloc_cmp_pfn);
	list_for_each_entry(head, &buf->blocks_list, lru)
		buf->blocks[compound_order(head)]++;
	ret = sg_alloc_table(&buf->table, dmabuf_sg_alloc_runs(buf, NULL),
			     GFP_KERNEL);
	if (ret)
		return ret;
	dmabuf_sg_alloc_runs(buf, &buf->table);
	return 0;
}

static int dmabuf_sg_alloc_check(size_t size, u32 flags, unsigned int max_order)
{
	if (!size || (flags & ~DMABUF_SG_ALLOC_VALID_FLAGS))
		return -EINVAL;
	if (size > READ_ONCE(dmabuf_sg_max_buffer_bytes))
		return -EFBIG;
	if ((flags & DMABUF_SG_ALLOC_CONTIGUOUS) && get_order(size) > max_order)
		return -EFBIG;
	return 0;
}

/* Who is charged: @pidfd's process with DMABUF_SG_ALLOC_CHARGE_PIDFD. */
static int dmabuf_sg_alloc_charge_get(struct dmabuf_sg_charge *charge,
				      u32 flags, u32 pidfd)
{
	if (flags & DMABUF_SG_ALLOC_CHARGE_PIDFD)
		return dmabuf_sg_charge_get_pidfd(charge, pidfd);
	return dmabuf_sg_charge_get_caller(charge);
}

/*
 * Allocate the blocks in @charge's scope, then drop its memcg reference:
 * the pages carry their charge from here on.
 */
static int dmabuf_sg_alloc_charged_blocks(struct dmabuf_sg_buffer *buf,
					  unsigned int max_order,
					  struct dmabuf_sg_charge *charge)
{
	struct mem_cgroup *old = dmabuf_sg_charge_begin(charge);
	int ret = dmabuf_sg_alloc_blocks(buf, max_order, charge);

	dmabuf_sg_charge_end(old);
	dmabuf_sg_charge_put(charge);
	return ret;
}

/**
 * dmabuf_sg_alloc_create() - allocate a zeroed buffer
 * @size: bytes, not zero; rounded up to whole pages.
 * @flags: DMABUF_SG_ALLOC_* flags.
 * @pidfd: with DMABUF_SG_ALLOC_CHARGE_PIDFD, the pidfd of the process whose
 *	memory cgroup is charged; else unused, and the caller's is.
 *
 * Return: a live buffer ready for export, or an ERR_PTR(): -EINVAL, -EFBIG,
 * -EBADF, -EINVAL or -ESRCH (a bad @pidfd), -ENOSPC (global cap), -ENOMEM
 * (memory, or room below the memory cgroup's limit), -EINTR.  Nothing stays
 * allocated or charged on error.
 */
struct dmabuf_sg_buffer *dmabuf_sg_alloc_create(size_t size, u32 flags,
						u32 pidfd)
{
	unsigned int max_order = READ_ONCE(dmabuf_sg_max_order);
	struct dmabuf_sg_charge charge;
	struct dmabuf_sg_buffer *buf;
	unsigned long npages;
	int ret;

	ret = dmabuf_sg_alloc_check(size, flags, max_order);
	if (!ret)
		ret = dmabuf_sg_alloc_charge_get(&charge, flags, pidfd);
	if (ret)
		return ERR_PTR(ret);
	npages = PAGE_ALIGN(size) >> PAGE_SHIFT;
	size = npages << PAGE_SHIFT;
	if (flags & DMABUF_SG_ALLOC_CONTIGUOUS) {
		max_order = get_order(size);
		npages = 1UL << max_order;
		size = npages << PAGE_SHIFT;
	}

	ret = dmabuf_sg_stats_reserve(size);
	if (ret)
		goto err_count_failure;
	buf = dmabuf_sg_buffer_new(&dmabuf_sg_alloc_kind, size, 0);
	if (!buf) {
		ret = -ENOMEM;
		goto err_unreserve;
	}
	buf->flags = flags;

	ret = dmabuf_sg_alloc_charged_blocks(buf, max_order, &charge);
	if (ret)
		goto err_free_buf;
	ret = dmabuf_sg_alloc_table(buf);
	if (ret)
		goto err_free_pages;
	dmabuf_sg_stats_buffer_live(buf);
	return buf;

err_free_pages:
	dmabuf_sg_alloc_free_blocks(buf, false);
err_free_buf:
	dmabuf_sg_buffer_free(buf);
err_unreserve:
	dmabuf_sg_stats_unreserve(size);
err_count_failure:
	dmabuf_sg_stats_failure(DMABUF_SG_KIND_ALLOC);
	dmabuf_sg_charge_put(&charge);
	return ERR_PTR(ret);
}
