// SPDX-License-Identifier: GPL-2.0
/*
 * ALLOC: zeroed memory in blocks of the largest order available, so the
 * sg_table stays short.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/sort.h>

#include "dmabuf_sg.h"

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

static void dmabuf_sg_alloc_release_pages(struct dmabuf_sg_buffer *buf)
{
	unsigned long i;

	for (i = 0; i < buf->nr_parts && buf->parts[i]; i++)
		__free_pages(buf->parts[i], compound_order(buf->parts[i]));
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
 * Take one block of at most *max_order pages fitting in @remaining pages.
 * An order that fails once is not tried again for this buffer: *max_order
 * steps down past it.
 */
static struct page *dmabuf_sg_alloc_block(unsigned long remaining,
					  unsigned int *max_order)
{
	unsigned int order = min_t(unsigned int, *max_order, ilog2(remaining));
	struct page *page;

	for (;;) {
		page = alloc_pages(dmabuf_sg_alloc_gfp(order), order);
		if (page || !order)
			return page;
		*max_order = --order;
	}
}

static int dmabuf_sg_alloc_cmp_pfn(const void *a, const void *b)
{
	unsigned long pa = page_to_pfn(*(struct page *const *)a);
	unsigned long pb = page_to_pfn(*(struct page *const *)b);

	return pa < pb ? -1 : pa > pb;
}

/*
 * Fill buf->parts with the head pages of the blocks, in allocation order.
 * Return: the number of blocks, or -errno with every block freed.
 */
static long dmabuf_sg_alloc_blocks(struct dmabuf_sg_buffer *buf,
				   unsigned int max_order)
{
	unsigned long done = 0;
	long nblocks = 0;

	if (buf->flags & DMABUF_SG_ALLOC_CONTIGUOUS) {
		buf->parts[0] = alloc_pages(DMABUF_SG_ALLOC_CONTIG_GFP, max_order);
		return buf->parts[0] ? 1 : -ENOMEM;
	}
	while (done < buf->npages) {
		struct page *page;

		if (fatal_signal_pending(current))
			goto err_free_blocks;
		page = dmabuf_sg_alloc_block(buf->npages - done, &max_order);
		if (!page)
			goto err_free_blocks;
		buf->parts[nblocks++] = page;
		done += 1UL << compound_order(page);
	}
	return nblocks;

err_free_blocks:
	dmabuf_sg_alloc_release_pages(buf);
	memset(buf->parts, 0, nblocks * sizeof(*buf->parts));
	return fatal_signal_pending(current) ? -EINTR : -ENOMEM;
}

/*
 * Walk the blocks sorted by physical address, merging neighbours into runs.
 * With @table NULL only count the runs; otherwise fill its entries.
 */
static unsigned int dmabuf_sg_alloc_runs(const struct dmabuf_sg_buffer *buf,
					 long nblocks, struct sg_table *table)
{
	struct scatterlist *sg = table ? table->sgl : NULL;
	struct page *start = NULL;
	unsigned int runs = 0;
	size_t len = 0;
	long b;

	for (b = 0; b <= nblocks; b++) {
		struct page *head = b < nblocks ? buf->parts[b] : NULL;
		size_t block = head ? PAGE_SIZE << compound_order(head) : 0;

		if (head && start && len + block <= DMABUF_SG_ALLOC_MAX_SEGMENT &&
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
	return runs;
}

/*
 * Sort the blocks by physical address, count them per order, and describe
 * the buffer with one SG entry per physically contiguous run.
 */
static int dmabuf_sg_alloc_table(struct dmabuf_sg_buffer *buf, long nblocks)
{
	long b;
	int ret;

	sort(buf->parts, nblocks, sizeof(*buf->parts),
	     dmabuf_sg_alloc_cmp_pfn, NULL);
	for (b = 0; b < nblocks; b++)
		buf->blocks[compound_order(buf->parts[b])]++;
	ret = sg_alloc_table(&buf->table, dmabuf_sg_alloc_runs(buf, nblocks, NULL),
			     GFP_KERNEL);
	if (ret)
		return ret;
	dmabuf_sg_alloc_runs(buf, nblocks, &buf->table);
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

/**
 * dmabuf_sg_alloc_create() - allocate a zeroed buffer
 * @size: bytes, not zero; rounded up to whole pages.
 * @flags: DMABUF_SG_ALLOC_* flags.
 *
 * Return: a live buffer ready for export, or an ERR_PTR(): -EINVAL, -EFBIG,
 * -ENOSPC (global cap), -ENOMEM, -EINTR.  Nothing stays allocated on error.
 */
struct dmabuf_sg_buffer *dmabuf_sg_alloc_create(size_t size, u32 flags)
{
	unsigned int max_order = READ_ONCE(dmabuf_sg_max_order);
	struct dmabuf_sg_buffer *buf;
	unsigned long npages;
	long nblocks;
	int ret;

	ret = dmabuf_sg_alloc_check(size, flags, max_order);
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
	/* Room for the worst case: every block of order 0. */
	buf = dmabuf_sg_buffer_new(&dmabuf_sg_alloc_kind, size, npages);
	if (!buf) {
		ret = -ENOMEM;
		goto err_unreserve;
	}
	buf->flags = flags;

	nblocks = dmabuf_sg_alloc_blocks(buf, max_order);
	if (nblocks < 0) {
		ret = nblocks;
		goto err_free_buf;
	}
	ret = dmabuf_sg_alloc_table(buf, nblocks);
	if (ret)
		goto err_free_pages;
	dmabuf_sg_stats_buffer_live(buf);
	return buf;

err_free_pages:
	dmabuf_sg_alloc_release_pages(buf);
err_free_buf:
	dmabuf_sg_buffer_free(buf);
err_unreserve:
	dmabuf_sg_stats_unreserve(size);
err_count_failure:
	dmabuf_sg_stats_failure(DMABUF_SG_KIND_ALLOC);
	return ERR_PTR(ret);
}
