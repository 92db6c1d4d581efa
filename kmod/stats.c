// SPDX-License-Identifier: GPL-2.0
/*
 * Statistics and the global cap.  The counters are shown as read-only
 * attributes of the misc device, in /sys/class/misc/dmabuf_sg/stats/:
 *
 *   live_buffers      buffers alive now (allocated and pinned)
 *   live_views        views alive now (they hold no memory of their own)
 *   allocated_bytes   bytes of live ALLOC buffers
 *   pinned_bytes      bytes of live PIN buffers (whole pages)
 *   reserved_bytes    bytes counted against max_total_bytes
 *   alloc_failures    ALLOC requests refused for want of memory or room
 *   pin_failures      PIN requests refused for want of memory or room,
 *                     or because the range could not be pinned
 *   blocks_per_order  live allocated blocks of each order, order 0 first
 *                     (pages per order = blocks << order)
 *
 * and the page pool's (pool.c):
 *
 *   pool_bytes                 bytes the pool holds, zeroed or not
 *   pool_dirty_bytes           of those, bytes waiting to be zeroed
 *   pool_blocks_per_order      zeroed blocks ready, per order, order 0 first
 *   pool_hits, pool_misses     blocks ALLOC took from the pool, and blocks
 *                              it asked for in vain
 *   pool_reclaimed_bytes       bytes the shrinker gave back
 *   pool_zeroed_bytes          bytes the pool's worker zeroed
 */
#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/sysfs.h>

#include "dmabuf_sg.h"
#include "pool.h"

/**
 * struct dmabuf_sg_stats - module-wide counters
 * @reserved: bytes of live buffers and of buffers being created.
 * @live_buffers: buffers alive.
 * @live_views: views alive.
 * @allocated: bytes of live ALLOC buffers.
 * @pinned: bytes of live PIN buffers.
 * @alloc_failures: failed ALLOC requests (past input validation).
 * @pin_failures: failed PIN requests (past input validation).
 * @blocks: live allocated blocks per order.
 */
struct dmabuf_sg_stats {
	atomic64_t reserved;
	atomic64_t live_buffers;
	atomic64_t live_views;
	atomic64_t allocated;
	atomic64_t pinned;
	atomic64_t alloc_failures;
	atomic64_t pin_failures;
	atomic64_t blocks[DMABUF_SG_ORDERS];
};

static struct dmabuf_sg_stats dmabuf_sg_stats;

/**
 * dmabuf_sg_stats_reserve() - count bytes against max_total_bytes
 * @bytes: size of the buffer about to be created.
 *
 * Return: 0, or -ENOSPC (nothing counted) when the cap would be exceeded.
 */
int dmabuf_sg_stats_reserve(size_t bytes)
{
	s64 total = atomic64_add_return(bytes, &dmabuf_sg_stats.reserved);

	if (total > READ_ONCE(dmabuf_sg_max_total_bytes)) {
		atomic64_sub(bytes, &dmabuf_sg_stats.reserved);
		return -ENOSPC;
	}
	return 0;
}

/**
 * dmabuf_sg_stats_unreserve() - undo dmabuf_sg_stats_reserve()
 * @bytes: what was reserved.
 */
void dmabuf_sg_stats_unreserve(size_t bytes)
{
	atomic64_sub(bytes, &dmabuf_sg_stats.reserved);
}

static atomic64_t *dmabuf_sg_stats_bytes(const struct dmabuf_sg_buffer *buf)
{
	return buf->ops->kind == DMABUF_SG_KIND_PIN ?
		&dmabuf_sg_stats.pinned : &dmabuf_sg_stats.allocated;
}

/**
 * dmabuf_sg_stats_buffer_live() - count a buffer whose pages are in place
 * @buf: the buffer, its size reserved (a view reserves nothing: it only
 *	counts in live_views).
 */
void dmabuf_sg_stats_buffer_live(const struct dmabuf_sg_buffer *buf)
{
	unsigned int order;

	if (buf->ops->kind == DMABUF_SG_KIND_VIEW) {
		atomic64_inc(&dmabuf_sg_stats.live_views);
		return;
	}
	atomic64_inc(&dmabuf_sg_stats.live_buffers);
	atomic64_add(buf->size, dmabuf_sg_stats_bytes(buf));
	if (buf->ops->kind != DMABUF_SG_KIND_ALLOC)
		return;
	for (order = 0; order < DMABUF_SG_ORDERS; order++)
		atomic64_add(buf->blocks[order], &dmabuf_sg_stats.blocks[order]);
}

/**
 * dmabuf_sg_stats_buffer_dead() - uncount a live buffer and its reservation
 * @buf: the buffer, about to give back its pages.
 */
void dmabuf_sg_stats_buffer_dead(const struct dmabuf_sg_buffer *buf)
{
	unsigned int order;

	if (buf->ops->kind == DMABUF_SG_KIND_VIEW) {
		atomic64_dec(&dmabuf_sg_stats.live_views);
		return;
	}
	if (buf->ops->kind == DMABUF_SG_KIND_ALLOC)
		for (order = 0; order < DMABUF_SG_ORDERS; order++)
			atomic64_sub(buf->blocks[order],
				     &dmabuf_sg_stats.blocks[order]);
	atomic64_sub(buf->size, dmabuf_sg_stats_bytes(buf));
	atomic64_dec(&dmabuf_sg_stats.live_buffers);
	dmabuf_sg_stats_unreserve(buf->size);
}

/**
 * dmabuf_sg_stats_failure() - count a failed ALLOC or PIN request
 * @kind: DMABUF_SG_KIND_ALLOC or DMABUF_SG_KIND_PIN.
 */
void dmabuf_sg_stats_failure(u32 kind)
{
	atomic64_inc(kind == DMABUF_SG_KIND_PIN ? &dmabuf_sg_stats.pin_failures :
			&dmabuf_sg_stats.alloc_failures);
}

#define DMABUF_SG_STATS_ATTR(name, field)					\
static ssize_t name##_show(struct device *dev,					\
			   struct device_attribute *attr, char *page)		\
{										\
	return sysfs_emit(page, "%lld\n",					\
			  (long long)atomic64_read(&dmabuf_sg_stats.field));	\
}										\
static DEVICE_ATTR_RO(name)

DMABUF_SG_STATS_ATTR(live_buffers, live_buffers);
DMABUF_SG_STATS_ATTR(live_views, live_views);
DMABUF_SG_STATS_ATTR(allocated_bytes, allocated);
DMABUF_SG_STATS_ATTR(pinned_bytes, pinned);
DMABUF_SG_STATS_ATTR(reserved_bytes, reserved);
DMABUF_SG_STATS_ATTR(alloc_failures, alloc_failures);
DMABUF_SG_STATS_ATTR(pin_failures, pin_failures);

static ssize_t blocks_per_order_show(struct device *dev,
				     struct device_attribute *attr, char *page)
{
	unsigned int order;
	int len = 0;

	for (order = 0; order < DMABUF_SG_ORDERS; order++)
		len += sysfs_emit_at(page, len, "%s%lld", order ? " " : "",
				     (long long)atomic64_read(&dmabuf_sg_stats.blocks[order]));
	len += sysfs_emit_at(page, len, "\n");
	return len;
}
static DEVICE_ATTR_RO(blocks_per_order);

#define DMABUF_SG_STATS_POOL_ATTR(name, value)					\
static ssize_t name##_show(struct device *dev,					\
			   struct device_attribute *attr, char *page)		\
{										\
	struct dmabuf_sg_pool_stats st;						\
										\
	dmabuf_sg_pool_read(&st);						\
	return sysfs_emit(page, "%llu\n", (unsigned long long)(value));	\
}										\
static DEVICE_ATTR_RO(name)

DMABUF_SG_STATS_POOL_ATTR(pool_bytes, st.pages << PAGE_SHIFT);
DMABUF_SG_STATS_POOL_ATTR(pool_dirty_bytes, st.dirty_pages << PAGE_SHIFT);
DMABUF_SG_STATS_POOL_ATTR(pool_hits, st.hits);
DMABUF_SG_STATS_POOL_ATTR(pool_misses, st.misses);
DMABUF_SG_STATS_POOL_ATTR(pool_reclaimed_bytes, st.reclaimed << PAGE_SHIFT);
DMABUF_SG_STATS_POOL_ATTR(pool_zeroed_bytes, st.zeroed << PAGE_SHIFT);

static ssize_t pool_blocks_per_order_show(struct device *dev,
					  struct device_attribute *attr,
					  char *page)
{
	struct dmabuf_sg_pool_stats st;
	unsigned int order;
	int len = 0;

	dmabuf_sg_pool_read(&st);
	for (order = 0; order < DMABUF_SG_ORDERS; order++)
		len += sysfs_emit_at(page, len, "%s%llu", order ? " " : "",
				     (unsigned long long)st.blocks[order]);
	len += sysfs_emit_at(page, len, "\n");
	return len;
}
static DEVICE_ATTR_RO(pool_blocks_per_order);

static struct attribute *dmabuf_sg_stats_attrs[] = {
	&dev_attr_live_buffers.attr,
	&dev_attr_live_views.attr,
	&dev_attr_allocated_bytes.attr,
	&dev_attr_pinned_bytes.attr,
	&dev_attr_reserved_bytes.attr,
	&dev_attr_alloc_failures.attr,
	&dev_attr_pin_failures.attr,
	&dev_attr_blocks_per_order.attr,
	&dev_attr_pool_bytes.attr,
	&dev_attr_pool_dirty_bytes.attr,
	&dev_attr_pool_blocks_per_order.attr,
	&dev_attr_pool_hits.attr,
	&dev_attr_pool_misses.attr,
	&dev_attr_pool_reclaimed_bytes.attr,
	&dev_attr_pool_zeroed_bytes.attr,
	NULL
};

static const struct attribute_group dmabuf_sg_stats_group = {
	.name = "stats",
	.attrs = dmabuf_sg_stats_attrs,
};

/* Attribute groups of the misc device. */
const struct attribute_group *dmabuf_sg_stats_groups[] = {
	&dmabuf_sg_stats_group,
	NULL
};
