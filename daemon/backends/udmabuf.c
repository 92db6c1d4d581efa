/* SPDX-License-Identifier: MIT */
/*
 * udmabuf: shmem pages made a dma-buf by /dev/udmabuf.  An allocation is a
 * memfd of our own, populated now (as memfd.c does, so that quota bytes
 * are memory), sealed against shrinking because the driver refuses memfds
 * that could lose pages under it, and handed to UDMABUF_CREATE; the memfd
 * is then closed, for the dma-buf holds the pages.  pin does the same on a
 * client's memfd, so that the client and every importer share its pages.
 *
 * The driver caps one buffer at its size_limit_mb parameter (64 MiB by
 * default); probe reads it so that a larger request fails here with
 * -EFBIG instead of the driver's bare -EINVAL.  A device may always write
 * to a udmabuf, so a read-only export is refused.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/udmabuf.h>

#define BACKEND_UDMABUF_DEV "/dev/udmabuf"
#define BACKEND_UDMABUF_LIMIT "/sys/module/udmabuf/parameters/size_limit_mb"
#define BACKEND_UDMABUF_DEFAULT_MB 64

/* Sets be->max_size from the driver's parameter and says where it came
 * from in be->detail.  Returns 0, or -EINVAL when the limit is 0 (the
 * driver then makes no buffer at all). */
static int backend_udmabuf_limit(struct backend *be, char *why, size_t len)
{
	uint64_t mb;
	int err = backend_read_sysfs_u64(BACKEND_UDMABUF_LIMIT, &mb);

	if (err < 0) {
		be->max_size = (uint64_t)BACKEND_UDMABUF_DEFAULT_MB << 20;
		snprintf(be->detail, sizeof(be->detail), "udmabuf ("
			 BACKEND_UDMABUF_DEV "), shmem pages, up to %d MiB "
			 "(driver default assumed: size_limit_mb: %s)",
			 BACKEND_UDMABUF_DEFAULT_MB, strerror(-err));
		return 0;
	}
	if (mb == 0 || mb > (UINT64_MAX >> 20)) {
		snprintf(why, len, "udmabuf size_limit_mb is %llu",
			 (unsigned long long)mb);
		return -EINVAL;
	}
	be->max_size = mb << 20;
	snprintf(be->detail, sizeof(be->detail), "udmabuf (" BACKEND_UDMABUF_DEV
		 "), shmem pages, up to %llu MiB (size_limit_mb)",
		 (unsigned long long)mb);
	return 0;
}

static int backend_udmabuf_probe(struct backend *be, const struct config *cfg,
				 char *why, size_t len)
{
	int fd, err;

	fd = open(BACKEND_UDMABUF_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, len, BACKEND_UDMABUF_DEV ": %s", strerror(-err));
		return err;
	}
	err = backend_udmabuf_limit(be, why, len);
	if (err < 0)
		goto err_close_fd;
	be->node = fd;
	return 0;

err_close_fd:
	close(fd);
	return err;
}

/* A dma-buf of @size bytes at @offset of @memfd.  Returns its fd or -errno
 * (the driver's -EINVAL for seals, alignment or a file not shmem). */
static int backend_udmabuf_create(const struct backend *be, int memfd,
				  uint64_t offset, uint64_t size)
{
	struct udmabuf_create create = {
		.memfd = (uint32_t)memfd,
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.offset = offset,
		.size = size,
	};
	int fd = ioctl(be->node, UDMABUF_CREATE, &create);

	return fd < 0 ? -errno : fd;
}

/* Our own memfd of @size bytes, every page allocated, sealed against
 * shrinking as the driver demands.  Returns its fd or -errno. */
static int backend_udmabuf_memfd(const char *name, uint64_t size)
{
	char label[64];
	int fd, err;

	snprintf(label, sizeof(label), "dbb:%s", name && *name ? name : "buffer");
	fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto err_errno;
	err = backend_populate(fd, size);
	if (err < 0)
		goto err_close_fd;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		goto err_errno;
	return fd;

err_errno:
	err = -errno;
err_close_fd:
	close(fd);
	return err;
}

static int backend_udmabuf_alloc(struct backend *be,
				 const struct backend_request *req,
				 struct backend_buffer *out)
{
	int memfd, fd, err;

	if (req->flags & ~BACKEND_ALLOC_VALID_FLAGS)
		return -EINVAL;
	if (req->flags & BACKEND_ALLOC_CONTIGUOUS)
		return -EOPNOTSUPP;	/* shmem pages are scattered */
	err = backend_request_size(req, out);
	if (err < 0)
		return err;
	if (out->size > be->max_size)
		return -EFBIG;
	memfd = backend_udmabuf_memfd(req->name, out->size);
	if (memfd < 0)
		return memfd;
	fd = backend_udmabuf_create(be, memfd, 0, out->size);
	close(memfd);
	if (fd < 0)
		return fd;
	out->fd = fd;
	out->priv = NULL;
	return 0;
}

/*
 * Checks what the driver would refuse, so that the client hears why and
 * its memfd is left as it was: a page-aligned range inside the file, a
 * seal against shrinking, and no write seal.  F_SEAL_FUTURE_WRITE is
 * refused too although the driver takes it: a dma-buf of those pages would
 * let every importer write past the seal.  Returns 0 or -EINVAL (-EBADF
 * for a closed fd).
 */
static int backend_udmabuf_pin_check(int memfd, uint64_t offset,
				     uint64_t length)
{
	uint64_t page = (uint64_t)getpagesize(), end;
	struct stat st;
	int seals;

	if (length == 0 || offset % page || length % page ||
	    __builtin_add_overflow(offset, length, &end))
		return -EINVAL;
	if (fstat(memfd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || end > (uint64_t)st.st_size)
		return -EINVAL;
	seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0)
		return errno == EBADF ? -EBADF : -EINVAL;
	if (!(seals & F_SEAL_SHRINK) ||
	    (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EINVAL;
	return 0;
}

static int backend_udmabuf_pin(struct backend *be, int memfd, uint64_t offset,
			       uint64_t length, const char *name,
			       struct backend_buffer *out)
{
	int fd, err;

	err = backend_udmabuf_pin_check(memfd, offset, length);
	if (err < 0)
		return err;
	if (length > be->max_size)
		return -EFBIG;
	/* The driver faults in every page of the range now. */
	fd = backend_udmabuf_create(be, memfd, offset, length);
	if (fd < 0)
		return fd;
	memset(&out->layout, 0, sizeof(out->layout));
	out->fd = fd;
	out->size = length;
	out->priv = NULL;
	return 0;
}

const struct backend_ops backend_udmabuf_ops = {
	.probe = backend_udmabuf_probe,
	.alloc = backend_udmabuf_alloc,
	.pin = backend_udmabuf_pin,
	.export_fd = backend_export_shared,
};
