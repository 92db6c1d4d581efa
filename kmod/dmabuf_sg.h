/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmabuf_sg internal interfaces: the buffer shared by the create paths
 * (alloc.c, pin.c, view.c), the dma_buf_ops (buffer.c), the statistics
 * (stats.c) and the device (main.c).
 */
#ifndef DMABUF_SG_H
#define DMABUF_SG_H

#include <linux/dma-buf.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/types.h>

#include "compat.h"
#include "uapi/dmabuf_sg.h"

/* Orders this module can hand out: 0 .. DMABUF_SG_MAX_PAGE_ORDER. */
#define DMABUF_SG_ORDERS (DMABUF_SG_MAX_PAGE_ORDER + 1)

/* Module parameters (main.c), read with READ_ONCE(). */
extern unsigned int dmabuf_sg_max_order;
extern unsigned long dmabuf_sg_max_buffer_bytes;
extern unsigned long dmabuf_sg_max_total_bytes;

/*
 * The largest buffer the module can ever make, whatever max_buffer_bytes
 * says: a buffer's page list (PIN's, and the one vmap builds for any
 * buffer) is a single kvmalloc(), which refuses more than INT_MAX bytes
 * (with a warning).  Just under 1 TiB with 4 KiB pages.  Requests are
 * checked against it before their size is rounded up to whole pages, so
 * rounding cannot wrap.
 */
#define DMABUF_SG_MAX_PAGES ((unsigned long)INT_MAX / sizeof(struct page *))
#define DMABUF_SG_MAX_BYTES ((u64)DMABUF_SG_MAX_PAGES << PAGE_SHIFT)

struct dmabuf_sg_buffer;

/**
 * struct dmabuf_sg_buffer_kind - what differs between ALLOC, PIN and VIEW
 * @kind: DMABUF_SG_KIND_* reported by INFO.
 * @strict_read_only: a read-only buffer of this kind also refuses CPU
 *	access brackets for writing (-EPERM) and is exported without a vmap
 *	op; without it (PIN) vmap is PAGE_KERNEL_RO and brackets take any
 *	direction.
 * @release_pages: give back the pages (free, unpin, or for a view drop the
 *	reference on its parent).
 */
struct dmabuf_sg_buffer_kind {
	u32 kind;
	bool strict_read_only;
	void (*release_pages)(struct dmabuf_sg_buffer *buf);
};

/**
 * struct dmabuf_sg_buffer - one exported buffer (dma_buf->priv)
 * @ops: kind-specific callbacks.
 * @flags: creation flags (DMABUF_SG_ALLOC_*, DMABUF_SG_PIN_* or
 *	DMABUF_SG_VIEW_*).
 * @writable: CPU and devices may write (false for read-only pins and views).
 * @size: dma-buf size, whole pages.
 * @offset: offset of the first requested byte (PIN), 0 for ALLOC, offset
 *	in @parent's buffer (VIEW).
 * @length: requested length in bytes.
 * @npages: pages of the buffer (@size >> PAGE_SHIFT).
 * @parts: PIN: every pinned page, @nr_parts entries (unused ones NULL).
 * @nr_parts: capacity of @parts (0 for ALLOC).
 * @blocks_list: ALLOC: the head page of every block, linked by page->lru.
 * @parent: VIEW: the ALLOC or PIN dma-buf whose pages the view shares; the
 *	view holds a reference on it.  NULL for ALLOC and PIN.
 * @table: the buffer's sg_table, contiguous pages merged; the one
 *	description of the buffer's layout, used by mmap, vmap and attach.
 * @blocks: blocks per order the buffer was made of.
 * @lock: protects the fields below.
 * @attachments: list of &struct dmabuf_sg_attachment.
 * @nr_attached: entries of @attachments.
 * @nr_mapped: attachments mapped for DMA.
 * @vmap_count: references on @vaddr.
 * @vaddr: kernel mapping while @vmap_count > 0.
 */
struct dmabuf_sg_buffer {
	const struct dmabuf_sg_buffer_kind *ops;
	u32 flags;
	bool writable;
	size_t size;
	size_t offset;
	size_t length;
	unsigned long npages;
	struct page **parts;
	unsigned long nr_parts;
	struct list_head blocks_list;
	struct dma_buf *parent;
	struct sg_table table;
	u32 blocks[DMABUF_SG_ORDERS];

	struct mutex lock;
	struct list_head attachments;
	unsigned int nr_attached;
	unsigned int nr_mapped;
	unsigned int vmap_count;
	void *vaddr;
};

/**
 * struct dmabuf_sg_export - what the ioctls ask of a new dma-buf
 * @fd_flags: validated fd flags (O_CLOEXEC | access mode).
 * @name: NUL-terminated name, empty for none.
 */
struct dmabuf_sg_export {
	u32 fd_flags;
	const char *name;
};

/* buffer.c */
struct dmabuf_sg_buffer *dmabuf_sg_buffer_new(const struct dmabuf_sg_buffer_kind *ops,
					      size_t size, unsigned long nr_parts);
void dmabuf_sg_buffer_free(struct dmabuf_sg_buffer *buf);
struct dma_buf *dmabuf_sg_buffer_export(struct dmabuf_sg_buffer *buf,
					const struct dmabuf_sg_export *exp);
struct dmabuf_sg_buffer *dmabuf_sg_buffer_from_dmabuf(struct dma_buf *dmabuf);
void dmabuf_sg_buffer_info(struct dmabuf_sg_buffer *buf, struct dma_buf *dmabuf,
			   struct dmabuf_sg_info *info);
void dmabuf_sg_buffer_name(struct dma_buf *dmabuf, char name[DMABUF_SG_NAME_LEN]);

/* alloc.c */
struct dmabuf_sg_buffer *dmabuf_sg_alloc_create(size_t size, u32 flags,
						u32 pidfd);

/* pin.c */
struct dmabuf_sg_buffer *dmabuf_sg_pin_create(unsigned long addr, size_t len,
					      u32 flags);

/* view.c */
struct dmabuf_sg_buffer *dmabuf_sg_view_create(struct dma_buf *source,
					       u64 offset, u64 length, u32 flags);

/* stats.c */
int dmabuf_sg_stats_reserve(size_t bytes);
void dmabuf_sg_stats_unreserve(size_t bytes);
void dmabuf_sg_stats_buffer_live(const struct dmabuf_sg_buffer *buf);
void dmabuf_sg_stats_buffer_dead(const struct dmabuf_sg_buffer *buf);
void dmabuf_sg_stats_failure(u32 kind);
extern const struct attribute_group *dmabuf_sg_stats_groups[];

#endif /* DMABUF_SG_H */
