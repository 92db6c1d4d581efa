// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_sg buffers as dma-bufs: the dma_buf_ops shared by allocated and
 * pinned buffers and views, and the export of a filled buffer.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "dmabuf_sg.h"

/**
 * struct dmabuf_sg_attachment - one device attached to a buffer
 * @node: entry of &dmabuf_sg_buffer.attachments.
 * @dev: the attached device.
 * @table: private copy of the buffer's sg_table, mapped for @dev.
 * @dir: direction of the current mapping.
 * @mapped: @table is DMA-mapped.
 */
struct dmabuf_sg_attachment {
	struct list_head node;
	struct device *dev;
	struct sg_table table;
	enum dma_data_direction dir;
	bool mapped;
};

static int dmabuf_sg_buffer_dup_table(struct sg_table *to,
				      const struct sg_table *from)
{
	struct scatterlist *src, *dst;
	unsigned int i;
	int ret;

	ret = sg_alloc_table(to, from->orig_nents, GFP_KERNEL);
	if (ret)
		return ret;
	dst = to->sgl;
	for_each_sgtable_sg(from, src, i) {
		sg_set_page(dst, sg_page(src), src->length, src->offset);
		dst = sg_next(dst);
	}
	return 0;
}

static int dmabuf_sg_buffer_attach(struct dma_buf *dmabuf,
				   struct dma_buf_attachment *attachment)
{
	struct dmabuf_sg_buffer *buf = dmabuf->priv;
	struct dmabuf_sg_attachment *a;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	ret = dmabuf_sg_buffer_dup_table(&a->table, &buf->table);
	if (ret)
		goto err_free_attachment;
	a->dev = attachment->dev;
	attachment->priv = a;

	mutex_lock(&buf->lock);
	list_add(&a->node, &buf->attachments);
	buf->nr_attached++;
	mutex_unlock(&buf->lock);
	return 0;

err_free_attachment:
	kfree(a);
	return ret;
}

static void dmabuf_sg_buffer_detach(struct dma_buf *dmabuf,
				    struct dma_buf_attachment *attachment)
{
	struct dmabuf_sg_buffer *buf = dmabuf->priv;
	struct dmabuf_sg_attachment *a = attachment->priv;

	mutex_lock(&buf->lock);
	list_del(&a->node);
	buf->nr_attached--;
	mutex_unlock(&buf->lock);

	sg_free_table(&a->table);
	kfree(a);
}

static struct sg_table *
dmabuf_sg_buffer_map(struct dma_buf_attachment *attachment,
		     enum dma_data_direction dir)
{
	struct dmabuf_sg_buffer *buf = attachment->dmabuf->priv;
	struct dmabuf_sg_attachment *a = attachment->priv;
	int ret;

	/*
	 * A read-only pin may hold pages shared with others, a read-only view
	 * is read-only by contract: never DMA into either.
	 */
	if (!buf->writable && dir != DMA_TO_DEVICE)
		return ERR_PTR(-EPERM);
	if (a->mapped)
		return ERR_PTR(-EBUSY);

	ret = dma_map_sgtable(attachment->dev, &a->table, dir, 0);
	if (ret)
		return ERR_PTR(ret);

	mutex_lock(&buf->lock);
	a->dir = dir;
	a->mapped = true;
	buf->nr_mapped++;
	mutex_unlock(&buf->lock);
	return &a->table;
}

static void dmabuf_sg_buffer_unmap(struct dma_buf_attachment *attachment,
				   struct sg_table *table,
				   enum dma_data_direction dir)
{
	struct dmabuf_sg_buffer *buf = attachment->dmabuf->priv;
	struct dmabuf_sg_attachment *a = attachment->priv;

	mutex_lock(&buf->lock);
	a->mapped = false;
	buf->nr_mapped--;
	mutex_unlock(&buf->lock);

	dma_unmap_sgtable(attachment->dev, table, a->dir, 0);
}

/* Sync @buf's kernel mapping and mapped attachments for the CPU or back. */
static void dmabuf_sg_buffer_sync(struct dmabuf_sg_buffer *buf, bool for_cpu)
{
	struct dmabuf_sg_attachment *a;

	mutex_lock(&buf->lock);
	if (buf->vmap_count && for_cpu)
		invalidate_kernel_vmap_range(buf->vaddr, buf->size);
	else if (buf->vmap_count)
		flush_kernel_vmap_range(buf->vaddr, buf->size);
	list_for_each_entry(a, &buf->attachments, node) {
		if (!a->mapped)
			continue;
		if (for_cpu)
			dma_sync_sgtable_for_cpu(a->dev, &a->table, a->dir);
		else
			dma_sync_sgtable_for_device(a->dev, &a->table, a->dir);
	}
	mutex_unlock(&buf->lock);
}

/*
 * CPU access brackets sync the buffer's own mappings and, for a view, those
 * of its parent, whose devices write the pages the view reads.  A strictly
 * read-only buffer (a read-only view) refuses a bracket for writing.
 */
static int dmabuf_sg_buffer_cpu_access(struct dmabuf_sg_buffer *buf,
				       enum dma_data_direction dir, bool begin)
{
	if (!buf->writable && buf->ops->strict_read_only &&
	    dir != DMA_FROM_DEVICE)
		return -EPERM;
	dmabuf_sg_buffer_sync(buf, begin);
	if (buf->parent)
		dmabuf_sg_buffer_sync(buf->parent->priv, begin);
	return 0;
}

static int dmabuf_sg_buffer_begin_cpu(struct dma_buf *dmabuf,
				      enum dma_data_direction dir)
{
	return dmabuf_sg_buffer_cpu_access(dmabuf->priv, dir, true);
}

static int dmabuf_sg_buffer_end_cpu(struct dma_buf *dmabuf,
				    enum dma_data_direction dir)
{
	return dmabuf_sg_buffer_cpu_access(dmabuf->priv, dir, false);
}

/*
 * Userspace mappings are shared PFN maps (VM_PFNMAP | VM_IO): no page
 * refcounting, and get_user_pages() refuses them, so pinning a dma-buf
 * mapping fails cleanly.  Private mappings are refused: remap_pfn_range()
 * cannot build a copy-on-write mapping piece by piece.  (VM_MAYSHARE, not
 * VM_SHARED: mmap() drops VM_SHARED from shared mappings of read-only files.)
 */
static int dmabuf_sg_buffer_mmap(struct dma_buf *dmabuf,
				 struct vm_area_struct *vma)
{
	struct dmabuf_sg_buffer *buf = dmabuf->priv;
	unsigned long addr = vma->vm_start;
	size_t skip = vma->vm_pgoff << PAGE_SHIFT;
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (!buf->writable) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		dmabuf_sg_vm_flags_clear(vma, VM_MAYWRITE);
	}

	for_each_sgtable_sg(&buf->table, sg, i) {
		size_t len = sg->length;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		len = min_t(size_t, len - skip, vma->vm_end - addr);
		ret = remap_pfn_range(vma, addr,
				      page_to_pfn(sg_page(sg)) + (skip >> PAGE_SHIFT),
				      len, vma->vm_page_prot);
		if (ret)
			return ret;
		addr += len;
		skip = 0;
		if (addr >= vma->vm_end)
			break;
	}
	return 0;
}

/* Map the whole buffer in kernel space, read-only for read-only pins. */
static void *dmabuf_sg_buffer_vmap_pages(struct dmabuf_sg_buffer *buf)
{
	struct sg_page_iter iter;
	struct page **pages;
	unsigned long i = 0;
	void *vaddr;

	pages = kvmalloc_array(buf->npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for_each_sgtable_page(&buf->table, &iter, 0)
		pages[i++] = sg_page_iter_page(&iter);
	vaddr = vmap(pages, buf->npages, VM_MAP,
		     buf->writable ? PAGE_KERNEL : PAGE_KERNEL_RO);
	kvfree(pages);
	return vaddr;
}

static int dmabuf_sg_buffer_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct dmabuf_sg_buffer *buf = dmabuf->priv;
	int ret = 0;

	mutex_lock(&buf->lock);
	if (!buf->vmap_count) {
		buf->vaddr = dmabuf_sg_buffer_vmap_pages(buf);
		if (!buf->vaddr)
			ret = -ENOMEM;
	}
	if (!ret) {
		buf->vmap_count++;
		iosys_map_set_vaddr(map, buf->vaddr);
	}
	mutex_unlock(&buf->lock);
	return ret;
}

static void dmabuf_sg_buffer_vunmap(struct dma_buf *dmabuf,
				    struct iosys_map *map)
{
	struct dmabuf_sg_buffer *buf = dmabuf->priv;

	mutex_lock(&buf->lock);
	if (!--buf->vmap_count) {
		vunmap(buf->vaddr);
		buf->vaddr = NULL;
	}
	mutex_unlock(&buf->lock);
	iosys_map_clear(map);
}

static void dmabuf_sg_buffer_release(struct dma_buf *dmabuf)
{
	dmabuf_sg_buffer_free(dmabuf->priv);
}

static const struct dma_buf_ops dmabuf_sg_buffer_ops = {
	.attach = dmabuf_sg_buffer_attach,
	.detach = dmabuf_sg_buffer_detach,
	.map_dma_buf = dmabuf_sg_buffer_map,
	.unmap_dma_buf = dmabuf_sg_buffer_unmap,
	.begin_cpu_access = dmabuf_sg_buffer_begin_cpu,
	.end_cpu_access = dmabuf_sg_buffer_end_cpu,
	.mmap = dmabuf_sg_buffer_mmap,
	.vmap = dmabuf_sg_buffer_vmap,
	.vunmap = dmabuf_sg_buffer_vunmap,
	.release = dmabuf_sg_buffer_release,
};

/*
 * Strictly read-only buffers (read-only views) offer no kernel mapping: an
 * importer writes through its vmap and cannot be told it is read-only.  The
 * op is left out rather than made to fail: dma_buf_vmap() meets an
 * exporter's vmap error with WARN_ON_ONCE (6.1 and 6.12 alike), which
 * userspace must not be able to trigger, while a missing op is a quiet
 * -EINVAL.
 */
static const struct dma_buf_ops dmabuf_sg_buffer_ro_ops = {
	.attach = dmabuf_sg_buffer_attach,
	.detach = dmabuf_sg_buffer_detach,
	.map_dma_buf = dmabuf_sg_buffer_map,
	.unmap_dma_buf = dmabuf_sg_buffer_unmap,
	.begin_cpu_access = dmabuf_sg_buffer_begin_cpu,
	.end_cpu_access = dmabuf_sg_buffer_end_cpu,
	.mmap = dmabuf_sg_buffer_mmap,
	.release = dmabuf_sg_buffer_release,
};

/**
 * dmabuf_sg_buffer_new() - an empty buffer for a create path to fill
 * @ops: kind-specific callbacks.
 * @size: dma-buf size, whole pages.
 * @nr_parts: entries of the page list PIN fills (0: none).
 *
 * Return: the buffer with its page list allocated (zeroed), or NULL.
 * The caller fills its pages and the table, then exports or frees it.
 */
struct dmabuf_sg_buffer *dmabuf_sg_buffer_new(const struct dmabuf_sg_buffer_kind *ops,
					      size_t size, unsigned long nr_parts)
{
	struct dmabuf_sg_buffer *buf;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return NULL;
	if (nr_parts) {
		buf->parts = kvcalloc(nr_parts, sizeof(*buf->parts), GFP_KERNEL);
		if (!buf->parts)
			goto err_free_buf;
	}
	buf->nr_parts = nr_parts;
	buf->ops = ops;
	buf->size = size;
	buf->length = size;
	buf->npages = size >> PAGE_SHIFT;
	buf->writable = true;
	mutex_init(&buf->lock);
	INIT_LIST_HEAD(&buf->attachments);
	INIT_LIST_HEAD(&buf->blocks_list);
	return buf;

err_free_buf:
	kfree(buf);
	return NULL;
}

/**
 * dmabuf_sg_buffer_free() - give back everything a buffer holds
 * @buf: a buffer from dmabuf_sg_buffer_new(), or NULL.
 *
 * Called by the create paths on error (before export, with the pages
 * already released by them) and by the dma-buf's release.  A buffer with
 * pages in its table counts as live in the statistics.
 */
void dmabuf_sg_buffer_free(struct dmabuf_sg_buffer *buf)
{
	if (!buf)
		return;
	if (buf->table.sgl) {
		if (buf->vmap_count)
			vunmap(buf->vaddr);
		buf->ops->release_pages(buf);
		dmabuf_sg_stats_buffer_dead(buf);
		sg_free_table(&buf->table);
	}
	mutex_destroy(&buf->lock);
	kvfree(buf->parts);
	kfree(buf);
}

static int dmabuf_sg_buffer_set_name(struct dma_buf *dmabuf, const char *name)
{
	char *copy;

	if (!name[0])
		return 0;
	copy = kstrdup(name, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	spin_lock(&dmabuf->name_lock);
	kfree(dmabuf->name);
	dmabuf->name = copy;
	spin_unlock(&dmabuf->name_lock);
	return 0;
}

/**
 * dmabuf_sg_buffer_export() - wrap a filled buffer in a dma-buf
 * @buf: buffer with pages and table, counted live in the statistics.
 * @exp: fd flags and name.
 *
 * On success the dma-buf owns @buf (freed by its release).  On failure @buf
 * is freed here.  No fd is installed: the caller reserves one, and installs
 * it once the reply reached userspace.
 *
 * Return: the dma-buf, or an ERR_PTR().
 */
struct dma_buf *dmabuf_sg_buffer_export(struct dmabuf_sg_buffer *buf,
					const struct dmabuf_sg_export *exp)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *dmabuf;
	int ret;

	info.ops = !buf->writable && buf->ops->strict_read_only ?
		&dmabuf_sg_buffer_ro_ops : &dmabuf_sg_buffer_ops;
	info.size = buf->size;
	info.flags = exp->fd_flags & O_ACCMODE;
	info.priv = buf;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		dmabuf_sg_buffer_free(buf);
		return dmabuf;
	}
	ret = dmabuf_sg_buffer_set_name(dmabuf, exp->name);
	if (ret) {
		dma_buf_put(dmabuf);
		return ERR_PTR(ret);
	}
	return dmabuf;
}

/**
 * dmabuf_sg_buffer_from_dmabuf() - this module's buffer behind a dma-buf
 * @dmabuf: any dma-buf.
 *
 * Return: the buffer, or NULL when another exporter made @dmabuf.
 */
struct dmabuf_sg_buffer *dmabuf_sg_buffer_from_dmabuf(struct dma_buf *dmabuf)
{
	if (dmabuf->ops == &dmabuf_sg_buffer_ops ||
	    dmabuf->ops == &dmabuf_sg_buffer_ro_ops)
		return dmabuf->priv;
	return NULL;
}

/**
 * dmabuf_sg_buffer_info() - fill the output fields of INFO
 * @buf: the buffer.
 * @dmabuf: its dma-buf.
 * @info: reply; its input fields are left alone.
 */
void dmabuf_sg_buffer_info(struct dmabuf_sg_buffer *buf, struct dma_buf *dmabuf,
			   struct dmabuf_sg_info *info)
{
	unsigned int order;

	info->kind = buf->ops->kind;
	info->flags = buf->flags;
	info->size = buf->size;
	info->offset = buf->offset;
	info->length = buf->length;
	info->sg_entries = buf->table.orig_nents;
	for (order = 0; order < DMABUF_SG_NR_ORDERS; order++)
		info->blocks_per_order[order] =
			order < DMABUF_SG_ORDERS ? buf->blocks[order] : 0;

	mutex_lock(&buf->lock);
	info->attachments = buf->nr_attached;
	info->mappings = buf->nr_mapped;
	info->vmaps = buf->vmap_count;
	mutex_unlock(&buf->lock);

	dmabuf_sg_buffer_name(dmabuf, info->name);
}

/**
 * dmabuf_sg_buffer_name() - copy a dma-buf's current name
 * @dmabuf: any dma-buf.
 * @name: receives the name, NUL-terminated and zero-padded (all zeros when
 *	unnamed).
 */
void dmabuf_sg_buffer_name(struct dma_buf *dmabuf, char name[DMABUF_SG_NAME_LEN])
{
	memset(name, 0, DMABUF_SG_NAME_LEN);
	spin_lock(&dmabuf->name_lock);
	if (dmabuf->name)
		strscpy(name, dmabuf->name, DMABUF_SG_NAME_LEN);
	spin_unlock(&dmabuf->name_lock);
}
