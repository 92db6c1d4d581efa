// SPDX-License-Identifier: GPL-2.0
/*
 * VIEW: a new dma-buf over a page range of a buffer this module exported,
 * read-only or read-write, sharing the buffer's pages and holding its
 * dma-buf.  A view of a view refers to the ALLOC or PIN buffer below, so a
 * view never keeps another view alive and chains of views cannot form.
 */
#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>

#include "dmabuf_sg.h"

/* The view owns no pages: it gives back its reference on the parent. */
static void dmabuf_sg_view_release_pages(struct dmabuf_sg_buffer *buf)
{
	dma_buf_put(buf->parent);
}

static const struct dmabuf_sg_buffer_kind dmabuf_sg_view_kind = {
	.kind = DMABUF_SG_KIND_VIEW,
	.strict_read_only = true,
	.release_pages = dmabuf_sg_view_release_pages,
};

/*
 * Walk the entries of @from that cover [@offset, @offset + @size).  With
 * @to NULL only count them; otherwise fill @to's entries with the parts of
 * the range they hold.  The module's tables are made of whole pages (every
 * entry starts at offset 0 of its page and spans whole pages), and so is
 * the range, so every part starts on a page of its own.
 */
static unsigned int dmabuf_sg_view_walk(const struct sg_table *from,
					size_t offset, size_t size,
					struct sg_table *to)
{
	struct scatterlist *dst = to ? to->sgl : NULL;
	struct scatterlist *sg;
	unsigned int i, n = 0;

	for_each_sgtable_sg(from, sg, i) {
		size_t len;

		if (offset >= sg->length) {
			offset -= sg->length;
			continue;
		}
		len = min_t(size_t, sg->length - offset, size);
		if (dst) {
			sg_set_page(dst, nth_page(sg_page(sg), offset >> PAGE_SHIFT),
				    len, 0);
			dst = sg_next(dst);
		}
		n++;
		size -= len;
		offset = 0;
		if (!size)
			break;
	}
	return n;
}

/*
 * Validate a request against its source; a zero *@length becomes the rest
 * of the source.  A writable view cannot widen access: it needs a writable
 * buffer behind a file opened for writing.
 */
static int dmabuf_sg_view_check(const struct dmabuf_sg_buffer *src,
				const struct dma_buf *source, u64 offset,
				u64 *length, u32 flags)
{
	if (flags & ~DMABUF_SG_VIEW_VALID_FLAGS)
		return -EINVAL;
	if (((offset | *length) & (PAGE_SIZE - 1)) || offset >= src->size)
		return -EINVAL;
	if (!*length)
		*length = src->size - offset;
	if (*length > src->size - offset)
		return -EINVAL;
	if (!(flags & DMABUF_SG_VIEW_READ_ONLY) &&
	    (!src->writable || !(source->file->f_mode & FMODE_WRITE)))
		return -EACCES;
	return 0;
}

/**
 * dmabuf_sg_view_create() - a view of a buffer of this module
 * @source: a dma-buf of this module (ALLOC, PIN or VIEW); the caller keeps
 *	its own reference.
 * @offset: first byte of the view in @source, page-aligned.
 * @length: bytes, page-aligned; 0 for everything from @offset on.
 * @flags: DMABUF_SG_VIEW_* flags.
 *
 * Return: a live view ready for export, holding a reference on the ALLOC
 * or PIN dma-buf whose pages it shares, or an ERR_PTR(): -EINVAL (another
 * exporter's dma-buf, unknown flags, a range not page-aligned or not
 * inside @source), -EACCES (a writable view of a read-only source),
 * -ENOMEM.
 */
struct dmabuf_sg_buffer *dmabuf_sg_view_create(struct dma_buf *source,
					       u64 offset, u64 length, u32 flags)
{
	struct dmabuf_sg_buffer *src = dmabuf_sg_buffer_from_dmabuf(source);
	struct dmabuf_sg_buffer *buf;
	struct dma_buf *parent;
	unsigned int nents;
	int ret;

	if (!src)
		return ERR_PTR(-EINVAL);
	ret = dmabuf_sg_view_check(src, source, offset, &length, flags);
	if (ret)
		return ERR_PTR(ret);
	parent = source;
	if (src->parent) {
		parent = src->parent;
		offset += src->offset;
	}

	buf = dmabuf_sg_buffer_new(&dmabuf_sg_view_kind, length, 0);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	buf->flags = flags;
	buf->writable = !(flags & DMABUF_SG_VIEW_READ_ONLY);
	buf->offset = offset;

	src = parent->priv;
	nents = dmabuf_sg_view_walk(&src->table, offset, length, NULL);
	ret = sg_alloc_table(&buf->table, nents, GFP_KERNEL);
	if (ret)
		goto err_free_buf;
	dmabuf_sg_view_walk(&src->table, offset, length, &buf->table);
	get_dma_buf(parent);
	buf->parent = parent;
	dmabuf_sg_stats_buffer_live(buf);
	return buf;

err_free_buf:
	dmabuf_sg_buffer_free(buf);
	return ERR_PTR(ret);
}
