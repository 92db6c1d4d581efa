/* SPDX-License-Identifier: MIT */
/*
 * sync_files: the check that a fence a peer sent is one, and the dma-buf
 * ioctls that turn a buffer's implicit fences into a sync_file and back.
 * A sync_file is readable (POLLIN) once signalled, which is how the
 * queues wait on them: on their epoll set, never in a blocked thread.
 */
#include "queue-private.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/dma-buf.h>
#include <linux/sync_file.h>

/* Linux 6.0's; older headers lack them, and older kernels answer
 * -ENOTTY. */
#ifndef DMA_BUF_IOCTL_EXPORT_SYNC_FILE
struct dma_buf_export_sync_file {
	__u32 flags;
	__s32 fd;
};
struct dma_buf_import_sync_file {
	__u32 flags;
	__s32 fd;
};
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE \
	_IOWR(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file)
#define DMA_BUF_IOCTL_IMPORT_SYNC_FILE \
	_IOW(DMA_BUF_BASE, 3, struct dma_buf_import_sync_file)
#endif

bool fence_is_sync_file(int fd)
{
	/* num_fences 0 asks for the file's info alone. */
	struct sync_file_info info;

	memset(&info, 0, sizeof(info));
	return ioctl(fd, SYNC_IOC_FILE_INFO, &info) == 0;
}

/* DBB_SYNC_* to DMA_BUF_SYNC_*; 0 for none or unknown bits. */
static __u32 fence_flags(unsigned flags)
{
	__u32 out = 0;

	if (!flags || flags & ~(unsigned)(DBB_SYNC_READ | DBB_SYNC_WRITE))
		return 0;
	if (flags & DBB_SYNC_READ)
		out |= DMA_BUF_SYNC_READ;
	if (flags & DBB_SYNC_WRITE)
		out |= DMA_BUF_SYNC_WRITE;
	return out;
}

int dbb_buffer_export_sync_file(struct dbb_buffer *buffer, unsigned flags,
				int *sync_fd)
{
	struct dma_buf_export_sync_file arg = { .flags = fence_flags(flags),
						.fd = -1 };
	int fd = buffer ? dbb_buffer_get_fd(buffer) : -1;

	if (!sync_fd || !arg.flags || fd < 0)
		return -EINVAL;
	if (!dbb_buffer_get_info(buffer)->is_dmabuf)
		return -ENOTTY;
	if (ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &arg) < 0)
		return -errno;
	*sync_fd = arg.fd;
	return 0;
}

int dbb_buffer_import_sync_file(struct dbb_buffer *buffer, unsigned flags,
				int sync_fd)
{
	struct dma_buf_import_sync_file arg = { .flags = fence_flags(flags),
						.fd = sync_fd };
	int fd = buffer ? dbb_buffer_get_fd(buffer) : -1;

	if (!arg.flags || fd < 0 || sync_fd < 0)
		return -EINVAL;
	if (!dbb_buffer_get_info(buffer)->is_dmabuf)
		return -ENOTTY;
	if (ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &arg) < 0)
		return -errno;
	return 0;
}
