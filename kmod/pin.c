// SPDX-License-Identifier: GPL-2.0
/*
 * PIN: a range of the caller's memory, pinned long-term, as a dma-buf over
 * those very pages.
 */
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/uaccess.h>

#include "dmabuf_sg.h"

/* Pages pinned per pin_user_pages_fast() call: bounds the time per call. */
#define DMABUF_SG_PIN_BATCH 4096UL

static void dmabuf_sg_pin_release_pages(struct dmabuf_sg_buffer *buf)
{
	unsigned long n = 0;

	while (n < buf->nr_parts && buf->parts[n])
		n++;
	unpin_user_pages_dirty_lock(buf->parts, n, buf->writable);
}

static const struct dmabuf_sg_buffer_kind dmabuf_sg_pin_kind = {
	.kind = DMABUF_SG_KIND_PIN,
	.strict_read_only = false,	/* PAGE_KERNEL_RO vmap, any bracket */
	.release_pages = dmabuf_sg_pin_release_pages,
};

#ifdef DMABUF_SG_GUP_UNSHARES_ANON_ONLY
/*
 * A read-only pin on a kernel whose GUP pins the zero page and page-cache
 * pages of private mappings as they are (compat.h): pin at most the part of
 * [@start, @start + @n pages) in the VMA at @start, with gup flags chosen
 * for that VMA, under the mmap lock so that the VMA looked at is the one
 * pinned.
 *
 * A private mapping the process may read and write is pinned with
 * FOLL_WRITE: GUP breaks COW as the process's own first write would, so
 * the pinned page is the exclusive anonymous page that every later write
 * goes to.  Nothing is written, and the dma-buf stays read-only.  Other
 * mappings are pinned as they are: shared ones need nothing (their pages
 * are the ones written), and a read-only private mapping cannot be written
 * until an mprotect() after the pin; a page of it that is still the zero
 * page or the file's then gets copied by the write, unseen by the pin: the
 * one case these kernels leave incoherent.  FOLL_FORCE would break COW
 * there too, but it overrides the mapping's protection (reads PROT_NONE
 * memory, writes read-only mappings), which a pin made on the process's
 * behalf must not do.
 */
static long dmabuf_sg_pin_ro_batch(unsigned long start, unsigned long n,
				   struct page **pages)
{
	const vm_flags_t rw = VM_READ | VM_WRITE;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	long ret;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, start);
	if (!vma) {
		ret = -EFAULT;
		goto out_unlock;
	}
	if (is_cow_mapping(vma->vm_flags) && (vma->vm_flags & rw) == rw)
		gup_flags |= FOLL_WRITE;
	n = min(n, (vma->vm_end - start) >> PAGE_SHIFT);
	ret = pin_user_pages(start, n, gup_flags, pages, NULL);
out_unlock:
	mmap_read_unlock(mm);
	return ret;
}
#endif

/* Pin up to @n pages from @start: the number pinned, or -errno. */
static long dmabuf_sg_pin_batch(const struct dmabuf_sg_buffer *buf,
				unsigned long start, unsigned long n,
				struct page **pages)
{
	if (buf->writable)
		return pin_user_pages_fast(start, n, FOLL_LONGTERM | FOLL_WRITE,
					   pages);
#ifdef DMABUF_SG_GUP_UNSHARES_ANON_ONLY
	return dmabuf_sg_pin_ro_batch(start, n, pages);
#else
	return pin_user_pages_fast(start, n, FOLL_LONGTERM, pages);
#endif
}

/* Pin every page of the range, or none: -EFAULT when a page cannot be had. */
static int dmabuf_sg_pin_pages(struct dmabuf_sg_buffer *buf, unsigned long start)
{
	unsigned long done = 0;
	long ret;

	while (done < buf->npages) {
		unsigned long n = min(buf->npages - done, DMABUF_SG_PIN_BATCH);

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_unpin;
		}
		ret = dmabuf_sg_pin_batch(buf, start + (done << PAGE_SHIFT), n,
					  buf->parts + done);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			goto err_unpin;
		}
		done += ret;
	}
	return 0;

err_unpin:
	unpin_user_pages(buf->parts, done);
	memset(buf->parts, 0, done * sizeof(*buf->parts));
	return ret;
}

static int dmabuf_sg_pin_check(unsigned long addr, size_t len, u32 flags)
{
	if (!len || (flags & ~DMABUF_SG_PIN_VALID_FLAGS))
		return -EINVAL;
	/* Before the range is rounded out to whole pages. */
	if (len > READ_ONCE(dmabuf_sg_max_buffer_bytes) || len > DMABUF_SG_MAX_BYTES)
		return -EFBIG;
	if (addr + len < addr || !access_ok((void __user *)addr, len))
		return -EFAULT;
	return 0;
}

static void dmabuf_sg_pin_count_blocks(struct dmabuf_sg_buffer *buf)
{
	buf->blocks[0] = buf->npages;
}

/**
 * dmabuf_sg_pin_create() - pin user memory as a buffer
 * @addr: user address of the first byte, any alignment.
 * @len: bytes, not zero.
 * @flags: DMABUF_SG_PIN_* flags.
 *
 * Return: a live buffer ready for export, or an ERR_PTR(): -EINVAL, -EFBIG,
 * -ENOSPC (global cap), -EFAULT (range not pinnable), -ENOMEM, -EINTR.
 * Nothing stays pinned on error.
 */
struct dmabuf_sg_buffer *dmabuf_sg_pin_create(unsigned long addr, size_t len,
					      u32 flags)
{
	struct dmabuf_sg_buffer *buf;
	unsigned long start, npages;
	size_t size;
	int ret;

	ret = dmabuf_sg_pin_check(addr, len, flags);
	if (ret)
		return ERR_PTR(ret);
	start = addr & PAGE_MASK;
	npages = (PAGE_ALIGN(addr + len) - start) >> PAGE_SHIFT;
	size = npages << PAGE_SHIFT;
	if (size > READ_ONCE(dmabuf_sg_max_buffer_bytes) ||
	    npages > DMABUF_SG_MAX_PAGES)
		return ERR_PTR(-EFBIG);

	ret = dmabuf_sg_stats_reserve(size);
	if (ret)
		goto err_count_failure;
	buf = dmabuf_sg_buffer_new(&dmabuf_sg_pin_kind, size, npages);
	if (!buf) {
		ret = -ENOMEM;
		goto err_unreserve;
	}
	buf->flags = flags;
	buf->writable = flags & DMABUF_SG_PIN_WRITE;
	buf->offset = offset_in_page(addr);
	buf->length = len;

	ret = dmabuf_sg_pin_pages(buf, start);
	if (ret)
		goto err_free_buf;
	dmabuf_sg_pin_count_blocks(buf);
	ret = sg_alloc_table_from_pages(&buf->table, buf->parts, npages, 0,
					size, GFP_KERNEL);
	if (ret)
		goto err_unpin;
	dmabuf_sg_stats_buffer_live(buf);
	return buf;

err_unpin:
	unpin_user_pages(buf->parts, npages);
err_free_buf:
	dmabuf_sg_buffer_free(buf);
err_unreserve:
	dmabuf_sg_stats_unreserve(size);
err_count_failure:
	dmabuf_sg_stats_failure(DMABUF_SG_KIND_PIN);
	return ERR_PTR(ret);
}
