/* SPDX-License-Identifier: MIT */
/*
 * memfd: plain shared memory, the fallback where the kernel has no dma-buf
 * exporter.  Not a dma-buf, and reported so.  Like a dma-heap, every page
 * is allocated at alloc time with fallocate() (shmem zeroes it at its first
 * access), so that quota bytes are memory and no holder meets SIGBUS at
 * first touch when shmem runs out.  Buffers are sealed so that no holder can shrink or grow them, and
 * their inode is made 0600 so that a holder of a read-only fd of another
 * uid cannot re-open it writable through /proc/<pid>/fd.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int backend_memfd_probe(struct backend *be, char *why, size_t len)
{
	int fd = memfd_create("dbb-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err;

	if (fd < 0) {
		err = errno;
		snprintf(why, len, "memfd_create: %s", strerror(err));
		return -err;
	}
	close(fd);
	return 0;
}

static void backend_memfd_describe(const struct backend *be, char *detail,
				   size_t len)
{
	snprintf(detail, len, "shared memory (memfd), not a dma-buf");
}

/*
 * Allocates every page of @fd's @size bytes.  The kernel frees what it
 * allocated when it fails; an interrupted call (a signal arrived) is simply
 * made again.  Returns 0, or -ENOMEM/-ENOSPC when memory is short.
 */
static int backend_memfd_populate(int fd, uint64_t size)
{
	int ret;

	do
		ret = fallocate(fd, 0, 0, (off_t)size);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

static int backend_memfd_alloc(struct backend *be, uint64_t size,
			       const char *name)
{
	char label[64];
	int fd, err;

	snprintf(label, sizeof(label), "dbb:%s", name && *name ? name : "buffer");
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto err_errno;
	err = backend_memfd_populate(fd, size);
	if (err < 0)
		goto err_close_fd;
	if (fchmod(fd, 0600) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto err_errno;
	return fd;

err_errno:
	err = -errno;
err_close_fd:
	close(fd);
	return err;
}

static int backend_memfd_export_fd(struct backend *be, int fd, bool read_only)
{
	char path[32];
	int out;

	if (!read_only)
		out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	else {
		/* A fresh open file description that is O_RDONLY. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		out = open(path, O_RDONLY | O_CLOEXEC);
	}
	return out < 0 ? -errno : out;
}

const struct backend_ops backend_memfd_ops = {
	.probe = backend_memfd_probe,
	.describe = backend_memfd_describe,
	.alloc = backend_memfd_alloc,
	.export_fd = backend_memfd_export_fd,
	.close = NULL,
};
