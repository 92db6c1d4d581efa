/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dmabuf_sg: scatter-gather allocation and user-memory pinning exported as
 * dma-bufs, through the misc device /dev/dmabuf_sg, and views (read-only or
 * a sub-range) of the dma-bufs it exported.
 *
 * Conventions shared by every ioctl of this file:
 *
 * - Fields marked "in" are read by the kernel; fields marked "out" are
 *   written by the kernel on success and their input value is ignored.
 * - Every flag field has a valid mask (``*_VALID_FLAGS``); a set bit outside
 *   it fails with -EINVAL, as does a non-zero ``reserved``/``pad`` field.
 * - ``fd_flags`` accepts O_CLOEXEC and an access mode (O_RDONLY, O_WRONLY or
 *   O_RDWR); the access mode becomes the access mode of the dma-buf file, so
 *   a dma-buf exported read-only refuses writable shared mappings.
 * - ``name`` is a NUL-terminated string of at most DMABUF_SG_NAME_LEN - 1
 *   bytes (an empty string leaves the buffer unnamed); it is the dma-buf name
 *   shown as "name:" in /proc/PID/fdinfo/FD and may later be changed with
 *   DMA_BUF_SET_NAME.  A name without its terminating NUL is -EINVAL.
 *
 * Errors common to ALLOC and PIN: -EINVAL for malformed input (zero size,
 * unknown flags, non-zero padding, bad fd_flags, unterminated name),
 * -EFBIG for a buffer larger than the max_buffer_bytes module parameter or
 * than the module can ever make whatever that parameter says (a buffer's
 * page list is one kernel allocation of at most INT_MAX bytes: just under
 * 1 TiB with 4 KiB pages; sizes are checked before they are rounded up to
 * pages, so sizes near 2^64 are -EFBIG too),
 * -ENOSPC when the buffer would take the bytes held by all live buffers over
 * the max_total_bytes module parameter, -ENOMEM when memory runs out (nothing
 * stays allocated), -EMFILE when the caller has no free fd.
 *
 * The device also answers DMA_HEAP_IOCTL_ALLOC from <linux/dma-heap.h> as
 * the kernel's dma-heap core does, so that a udev symlink
 * /dev/dma_heap/dmabuf_sg serves unmodified dma-heap clients, whatever
 * version of the header they were built against: the command is matched by
 * type and number, not size; the kernel reads as much of the caller's
 * struct as it knows (missing fields read as zero), ignores bytes beyond
 * its own struct, and writes back no more than the caller's size.  The fd
 * field must come in as zero (-EINVAL otherwise); fd_flags takes O_CLOEXEC
 * and any access mode, O_ACCMODE (3) included, which gives a dma-buf file
 * open for neither reading nor writing (importable, not mappable) as from
 * the kernel's heaps; heap_flags must be zero; len follows
 * DMABUF_SG_IOCTL_ALLOC's size rules.  Unlike the core, a command whose
 * reply cannot hold the fd (without the read direction, or with a struct
 * shorter than 12 bytes) is -EINVAL instead of an fd the caller never
 * learns.
 */
#ifndef _UAPI_DMABUF_SG_H
#define _UAPI_DMABUF_SG_H

#include <linux/ioctl.h>
#include <linux/types.h>

/** DMABUF_SG_NAME_LEN - size of a name field, terminating NUL included */
#define DMABUF_SG_NAME_LEN 32

/** DMABUF_SG_NR_ORDERS - entries of &dmabuf_sg_info.blocks_per_order */
#define DMABUF_SG_NR_ORDERS 16

/**
 * DMABUF_SG_ALLOC_CONTIGUOUS - allocate one physically contiguous block
 *
 * The buffer is a single block of order get_order(size), so it has exactly
 * one SG entry; -EFBIG when that order is above the max_order module
 * parameter, -ENOMEM when no such block is free.
 */
#define DMABUF_SG_ALLOC_CONTIGUOUS (1U << 0)
/**
 * DMABUF_SG_ALLOC_CHARGE_PIDFD - charge the process &dmabuf_sg_alloc.pidfd names
 *
 * The buffer's pages are charged to the memory cgroup of the process the
 * pidfd refers to instead of the caller's: an allocator service allocating
 * for a client names the client.  See &struct dmabuf_sg_alloc.
 */
#define DMABUF_SG_ALLOC_CHARGE_PIDFD (1U << 1)
/** DMABUF_SG_ALLOC_VALID_FLAGS - every flag &dmabuf_sg_alloc.flags accepts */
#define DMABUF_SG_ALLOC_VALID_FLAGS \
	(DMABUF_SG_ALLOC_CONTIGUOUS | DMABUF_SG_ALLOC_CHARGE_PIDFD)

/**
 * struct dmabuf_sg_alloc - argument of DMABUF_SG_IOCTL_ALLOC
 * @size: in: buffer size in bytes, rounded up to whole pages; not zero.
 * @fd_flags: in: O_CLOEXEC and an access mode for the returned fd.
 * @flags: in: DMABUF_SG_ALLOC_* flags.
 * @fd: out: the new dma-buf fd.
 * @sg_entries: out: entries of the buffer's sg_table.  Physically
 *	contiguous blocks are merged, so this is usually far below the page
 *	count.
 * @name: in: the dma-buf's name, see the conventions above.
 * @pidfd: in: with DMABUF_SG_ALLOC_CHARGE_PIDFD, a pidfd (pidfd_open(2),
 *	SO_PEERPIDFD, clone3's CLONE_PIDFD) of the process to charge the
 *	buffer to; must be zero without that flag.
 * @reserved: in: must be zero.
 *
 * The memory is zeroed.  It is taken in blocks of the largest order first
 * (up to the max_order module parameter), falling back order by order; high
 * orders never enter direct reclaim.
 *
 * The pages are charged to a memory cgroup (the cgroup v2 memory
 * controller): that of the process @pidfd names with
 * DMABUF_SG_ALLOC_CHARGE_PIDFD, else the caller's.  They count in its
 * memory.current (as "kernel" in memory.stat) from the allocation until the
 * last reference to the dma-buf is gone and the pages are freed, whoever
 * holds the fds meanwhile; an allocation that would take the cgroup past
 * memory.max fails with -ENOMEM after reclaim in that cgroup, without its
 * OOM killer.  A process in the root cgroup is charged nothing.  Before
 * this field existed the 8 bytes of @pidfd and @reserved were one reserved
 * __u64, zero in every valid call; such callers are charged themselves.
 *
 * Errors beyond the common ones, for DMABUF_SG_ALLOC_CHARGE_PIDFD: -EBADF
 * when @pidfd is not an open fd of the caller, -EINVAL when it is another
 * kind of file, -ESRCH when the process has exited (a zombie included), is
 * a kernel thread, or is outside the caller's pid namespace.
 */
struct dmabuf_sg_alloc {
	__u64 size;
	__u32 fd_flags;
	__u32 flags;
	__u32 fd;
	__u32 sg_entries;
	char name[DMABUF_SG_NAME_LEN];
	__u32 pidfd;
	__u32 reserved;
};

/**
 * DMABUF_SG_PIN_WRITE - pin for writing
 *
 * The range must be mapped writable; its pages are marked dirty when the
 * dma-buf is released.  Without this flag the pin is read-only: the range
 * may be read-only, the fd's access mode must be O_RDONLY, writable mappings
 * of the dma-buf fail with -EACCES, kernel mappings are read-only, and
 * devices may only map it DMA_TO_DEVICE (other directions are -EPERM).
 */
#define DMABUF_SG_PIN_WRITE (1U << 0)
/** DMABUF_SG_PIN_VALID_FLAGS - every flag &dmabuf_sg_pin.flags accepts */
#define DMABUF_SG_PIN_VALID_FLAGS (DMABUF_SG_PIN_WRITE)

/**
 * struct dmabuf_sg_pin - argument of DMABUF_SG_IOCTL_PIN
 * @addr: in: user address of the first byte; any alignment.
 * @len: in: length in bytes; not zero.
 * @fd_flags: in: O_CLOEXEC and an access mode for the returned fd.
 * @flags: in: DMABUF_SG_PIN_* flags.
 * @fd: out: the new dma-buf fd.
 * @sg_entries: out: entries of the buffer's sg_table (contiguous pages
 *	merged).
 * @name: in: the dma-buf's name, see the conventions above.
 * @reserved: in: must be zero.
 *
 * The pages of [addr, addr + len) are pinned long-term (FOLL_PIN |
 * FOLL_LONGTERM) and the dma-buf is built over those very pages, so writes
 * through either side are seen by the other.  The dma-buf spans whole pages:
 * its size is the page-rounded span of the range and the byte at @addr is at
 * offset (@addr % page size) in it; DMABUF_SG_IOCTL_INFO reports that offset
 * and @len.  Bytes of the first and last page outside the range are the
 * neighbouring user memory.
 *
 * A read-only pin of a private mapping pins the pages the process's writes
 * go to.  Memory of a writable private mapping not written yet (the shared
 * zero page of untouched anonymous memory, a file's page-cache page in a
 * private file mapping) is first replaced by the process's own copy, as
 * its first write would; from then on, like after a write, the mapping no
 * longer follows later changes to the file.  A private mapping that is
 * read-only when pinned cannot be written: on kernels before 6.2 a page of
 * it still not written is pinned as it is, and a write after mprotect()
 * adds PROT_WRITE goes to a copy the dma-buf does not see (6.2 and later
 * copy such pages at pin time too).
 *
 * Errors beyond the common ones: -EFAULT when part of the range is not
 * mapped, is mapped without the needed access, or is a VM_PFNMAP/VM_IO
 * mapping (for instance another dma-buf's mapping); nothing stays pinned.
 * After fork() the pinned pages stay with the calling process (the child
 * gets copies), as for every FOLL_LONGTERM pin.
 *
 * A pin moves no memory-cgroup charge and takes no pidfd: the range's pages
 * stay charged to the cgroup charged when each was first faulted in or
 * fallocated, normally the memory's owner.  A page of the range not present
 * yet is faulted in by the pin, through the caller's mapping, and charged to
 * the caller's cgroup; a service pinning a client's memory should pin only
 * memory the client has populated.
 */
struct dmabuf_sg_pin {
	__u64 addr;
	__u64 len;
	__u32 fd_flags;
	__u32 flags;
	__u32 fd;
	__u32 sg_entries;
	char name[DMABUF_SG_NAME_LEN];
	__u64 reserved;
};

/**
 * DMABUF_SG_VIEW_READ_ONLY - the view may only be read
 *
 * Enforced, not advisory: the view's file is O_RDONLY, so writable shared
 * mappings fail with -EACCES (and mprotect() cannot add PROT_WRITE);
 * devices may only map it DMA_TO_DEVICE (other directions are -EPERM, so a
 * PRIME import that maps bidirectionally fails); DMA_BUF_IOCTL_SYNC and
 * dma_buf_begin/end_cpu_access() with a write direction are -EPERM; a
 * kernel mapping is refused (the view has no vmap op, so dma_buf_vmap()
 * fails with -EINVAL), since an importer writes through its vmap.
 */
#define DMABUF_SG_VIEW_READ_ONLY (1U << 0)
/** DMABUF_SG_VIEW_VALID_FLAGS - every flag &dmabuf_sg_view.flags accepts */
#define DMABUF_SG_VIEW_VALID_FLAGS (DMABUF_SG_VIEW_READ_ONLY)

/**
 * struct dmabuf_sg_view - argument of DMABUF_SG_IOCTL_VIEW
 * @fd: in: a dma-buf this module exported: ALLOC, PIN or a view (-EBADF if
 *	not an open file, -EINVAL if not a dma-buf of this module).
 * @flags: in: DMABUF_SG_VIEW_* flags.
 * @offset: in: first byte of the view in the dma-buf @fd; a multiple of the
 *	page size, below the dma-buf's size.
 * @length: in: bytes of the view, a multiple of the page size; 0 for
 *	everything from @offset to the end of @fd's dma-buf.
 * @fd_flags: in: O_CLOEXEC and an access mode for the returned fd; the
 *	access mode must be O_RDONLY with DMABUF_SG_VIEW_READ_ONLY.
 * @out_fd: out: the view's dma-buf fd.
 * @reserved: in: must be zero.
 *
 * A view is a new dma-buf over the very pages of [@offset, @offset +
 * @length) of an existing buffer: its sg_table, its mmap and (writable
 * views only) its vmap refer to those pages, so a write on either side is
 * seen on the other.  It holds
 * a reference to the buffer's dma-buf, which therefore lives (pages, fd
 * accounting and all) as long as any of its views, whatever happens to the
 * buffer's own fds.  A view of a view refers to the underlying ALLOC or PIN
 * buffer directly, at the composed offset; it never keeps the intermediate
 * view alive.  The new dma-buf takes @fd's current name.
 *
 * Without DMABUF_SG_VIEW_READ_ONLY a view behaves like its buffer over its
 * range; it needs a writable source: a read-only PIN or view, or a dma-buf
 * whose file was opened without write access, gives -EACCES.  A view of a
 * read-only buffer must be asked for with DMABUF_SG_VIEW_READ_ONLY.
 *
 * CPU access brackets (DMA_BUF_IOCTL_SYNC) on a view sync the view's own
 * device mappings and those of the underlying buffer; brackets on the
 * buffer do not reach device mappings of its views.  Views hold no memory
 * of their own: they count in the live_views statistic, not in
 * live_buffers, allocated_bytes, pinned_bytes or against max_total_bytes.
 *
 * Errors: -EINVAL for malformed input (unknown flags, non-zero @reserved,
 * bad @fd_flags, a writable access mode with DMABUF_SG_VIEW_READ_ONLY,
 * unaligned @offset or @length, a range that overflows or ends beyond the
 * dma-buf) or a dma-buf of another exporter; -EBADF for a bad @fd;
 * -EACCES for a writable view of a read-only source; -ENOMEM; -EMFILE.
 */
struct dmabuf_sg_view {
	__u32 fd;
	__u32 flags;
	__u64 offset;
	__u64 length;
	__u32 fd_flags;
	__u32 out_fd;
	__u64 reserved;
};

/** DMABUF_SG_KIND_ALLOC - &dmabuf_sg_info.kind of an allocated buffer */
#define DMABUF_SG_KIND_ALLOC 1
/** DMABUF_SG_KIND_PIN - &dmabuf_sg_info.kind of pinned user memory */
#define DMABUF_SG_KIND_PIN 2
/** DMABUF_SG_KIND_VIEW - &dmabuf_sg_info.kind of a view (DMABUF_SG_IOCTL_VIEW) */
#define DMABUF_SG_KIND_VIEW 3

/**
 * struct dmabuf_sg_info - argument of DMABUF_SG_IOCTL_INFO
 * @fd: in: a dma-buf fd exported by this module (-EBADF if not a file,
 *	-EINVAL if another exporter's).
 * @pad: in: must be zero.
 * @kind: out: DMABUF_SG_KIND_ALLOC, DMABUF_SG_KIND_PIN or
 *	DMABUF_SG_KIND_VIEW.
 * @flags: out: the flags the buffer was created with (DMABUF_SG_ALLOC_*,
 *	DMABUF_SG_PIN_* or DMABUF_SG_VIEW_*).
 * @size: out: dma-buf size in bytes (whole pages).
 * @offset: out: ALLOC: 0; PIN: offset in the dma-buf of the first requested
 *	byte (the user address' offset into its page); VIEW: offset of the
 *	view's first byte in the ALLOC or PIN buffer whose pages it shares.
 * @length: out: ALLOC: @size; PIN: the requested length in bytes; VIEW:
 *	@size, the bytes of that buffer the view covers.
 * @sg_entries: out: entries of the buffer's sg_table.
 * @attachments: out: devices attached now.
 * @mappings: out: attachments mapped for DMA now.
 * @vmaps: out: kernel virtual mappings (vmap) held now.
 * @blocks_per_order: out: the buffer's pages per order, counted in blocks:
 *	entry n is the number of blocks of 2^n contiguous pages the buffer was
 *	allocated as (PIN counts each pinned page as one order-0 block; a
 *	VIEW owns no blocks and reports zeros).
 * @name: out: the dma-buf's current name, NUL-terminated (empty if unset).
 */
struct dmabuf_sg_info {
	__u32 fd;
	__u32 pad;
	__u32 kind;
	__u32 flags;
	__u64 size;
	__u64 offset;
	__u64 length;
	__u32 sg_entries;
	__u32 attachments;
	__u32 mappings;
	__u32 vmaps;
	__u32 blocks_per_order[DMABUF_SG_NR_ORDERS];
	char name[DMABUF_SG_NAME_LEN];
};

#define DMABUF_SG_IOC_MAGIC 0xDB

/** DMABUF_SG_IOCTL_ALLOC - allocate zeroed memory as a dma-buf */
#define DMABUF_SG_IOCTL_ALLOC _IOWR(DMABUF_SG_IOC_MAGIC, 0x00, struct dmabuf_sg_alloc)
/** DMABUF_SG_IOCTL_PIN - pin a user address range as a dma-buf */
#define DMABUF_SG_IOCTL_PIN _IOWR(DMABUF_SG_IOC_MAGIC, 0x01, struct dmabuf_sg_pin)
/** DMABUF_SG_IOCTL_INFO - describe a dma-buf of this module */
#define DMABUF_SG_IOCTL_INFO _IOWR(DMABUF_SG_IOC_MAGIC, 0x02, struct dmabuf_sg_info)
/** DMABUF_SG_IOCTL_VIEW - export a view (read-only, sub-range) of a dma-buf of this module */
#define DMABUF_SG_IOCTL_VIEW _IOWR(DMABUF_SG_IOC_MAGIC, 0x03, struct dmabuf_sg_view)

#endif /* _UAPI_DMABUF_SG_H */
