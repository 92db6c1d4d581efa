/* SPDX-License-Identifier: GPL-2.0 */
/*
 * API drift between the kernels dmabuf_sg supports (Debian 12's 6.1 and
 * 6.12).  Each choice tests for the feature, never the version number, so a
 * distribution kernel with a backport takes the new path:
 *
 * - macros are tested with #ifdef;
 * - functions are probed by Kbuild, which greps the kernel's headers and
 *   defines DMABUF_SG_HAVE_<FEATURE> (see Kbuild).
 *
 * Pinning: iov_iter_extract_pages() (6.3+) cannot take FOLL_LONGTERM (it
 * builds its gup flags itself: FOLL_PIN, FOLL_WRITE, FOLL_PCI_P2PDMA,
 * FOLL_NOFAULT), and a dma-buf pin lives as long as the fd, so every kernel
 * uses pin_user_pages_fast(FOLL_LONGTERM), which is FOLL_PIN by definition.
 */
#ifndef DMABUF_SG_COMPAT_H
#define DMABUF_SG_COMPAT_H

#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/string.h>

/* Largest order the page allocator hands out: MAX_PAGE_ORDER since 6.8. */
#ifdef MAX_PAGE_ORDER
#define DMABUF_SG_MAX_PAGE_ORDER MAX_PAGE_ORDER
#else
#define DMABUF_SG_MAX_PAGE_ORDER (MAX_ORDER - 1)
#endif

/*
 * Read-only long-term pins of private (COW) mappings.  Until the process
 * first writes to a page of a private mapping, the page may be the shared
 * zero page (anonymous memory never touched) or the file's page-cache page
 * (a file mapping only read so far); that first write replaces it with an
 * exclusive anonymous copy.  A pin of the old page would never see the
 * process's writes.  Since 6.2 ("reliable R/O long-term pinning in COW
 * mappings") GUP unshares for FOLL_LONGTERM without FOLL_WRITE: it makes
 * that copy first and pins it.  Before, it unshared only anonymous pages
 * shared with a fork() child, and the gup_must_unshare() of
 * <linux/mm.h> took no vma: Kbuild probes that older form and defines
 * DMABUF_SG_GUP_UNSHARES_ANON_ONLY, and pin.c then breaks COW itself.
 */

/* vm_flags became read-only behind vm_flags_set()/vm_flags_clear() in 6.3. */
static inline void dmabuf_sg_vm_flags_clear(struct vm_area_struct *vma,
					    vm_flags_t flags)
{
#ifdef DMABUF_SG_HAVE_VM_FLAGS_SET
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/*
 * The struct pid a pidfd refers to, or NULL if @file is not a pidfd.  The
 * kernel's own pidfd_pid() is not exported to modules, so the file is
 * recognised by its filesystem:
 *
 * - pidfs (6.9+, PID_FS_MAGIC): every file opened on it is a pidfd (its
 *   inode's file operations are the pidfd ones) and the inode holds the pid;
 * - before that, an anonymous inode named "[pidfd]" (anon_inode_getfile()),
 *   the pid in the file's private_data.  Only kernel code names anonymous
 *   inodes, and no other one takes that name.
 *
 * Both are tested at run time (6.9 could still build pidfds on anonymous
 * inodes); the pid lives as long as @file.
 */
static inline struct pid *dmabuf_sg_pidfd_pid(const struct file *file)
{
	const struct inode *inode = file_inode(file);

#ifdef PID_FS_MAGIC
	if (inode->i_sb->s_magic == PID_FS_MAGIC)
		return file->f_op == inode->i_fop ? inode->i_private : NULL;
#endif
	if (inode->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	    !strcmp((const char *)file->f_path.dentry->d_name.name, "[pidfd]"))
		return file->private_data;
	return NULL;
}

typedef unsigned long (*dmabuf_sg_shrink_fn)(struct shrinker *shrinker,
					     struct shrink_control *sc);

/*
 * Shrinkers: since 6.7 the core allocates them (shrinker_alloc(),
 * shrinker_register(), shrinker_free()); before, the caller owned the
 * struct and called register_shrinker()/unregister_shrinker().
 * Return: the registered shrinker, or NULL when out of memory.
 */
static inline struct shrinker *dmabuf_sg_shrinker_create(dmabuf_sg_shrink_fn count,
							 dmabuf_sg_shrink_fn scan,
							 const char *name)
{
	struct shrinker *shrinker;

#ifdef DMABUF_SG_HAVE_SHRINKER_ALLOC
	shrinker = shrinker_alloc(0, "%s", name);
	if (!shrinker)
		return NULL;
	shrinker->count_objects = count;
	shrinker->scan_objects = scan;
	shrinker->seeks = DEFAULT_SEEKS;
	shrinker_register(shrinker);
#else
	shrinker = kzalloc(sizeof(*shrinker), GFP_KERNEL);
	if (!shrinker)
		return NULL;
	shrinker->count_objects = count;
	shrinker->scan_objects = scan;
	shrinker->seeks = DEFAULT_SEEKS;
	if (register_shrinker(shrinker, "%s", name)) {
		kfree(shrinker);
		return NULL;
	}
#endif
	return shrinker;
}

/* Unregister and free a shrinker of dmabuf_sg_shrinker_create(), or NULL. */
static inline void dmabuf_sg_shrinker_destroy(struct shrinker *shrinker)
{
	if (!shrinker)
		return;
#ifdef DMABUF_SG_HAVE_SHRINKER_ALLOC
	shrinker_free(shrinker);
#else
	unregister_shrinker(shrinker);
	kfree(shrinker);
#endif
}

#endif /* DMABUF_SG_COMPAT_H */
