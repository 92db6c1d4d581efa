/* SPDX-License-Identifier: MIT */
/*
 * memfd: plain shared memory, the fallback where the kernel has no dma-buf
 * exporter.  Not a dma-buf, and reported so.  Like a dma-heap, every page
 * is allocated at alloc time with fallocate() (shmem zeroes it at its first
 * access), so that quota bytes are memory and no holder meets SIGBUS at
 * first touch when shmem runs out.  Buffers are sealed so that no holder
 * can shrink or grow them, and their inode is made 0600 so that a holder
 * of a read-only fd of another uid cannot re-open it writable through
 * /proc/<pid>/fd.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int backend_memfd_probe(struct backend *be, const struct config *cfg,
			       char *why, size_t len)
{
	int fd = memfd_create("dbb-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err;

	if (fd < 0) {
		err = errno;
		snprintf(why, len, "memfd_create: %s", strerror(err));
		return -err;
	}
	close(fd);
	snprintf(be->detail, sizeof(be->detail),
		 "shared memory (memfd), not a dma-buf");
	return 0;
}

static int backend_memfd_alloc(struct backend *be,
			       const struct backend_request *req,
			       struct backend_buffer *out)
{
	char label[64];
	int fd, err;

	if (req->flags & BACKEND_ALLOC_CONTIGUOUS)
		return -EOPNOTSUPP;
	err = backend_request_size(req, out);
	if (err < 0)
		return err;
	snprintf(label, sizeof(label), "dbb:%s",
		 req->name && *req->name ? req->name : "buffer");
	fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)out->size) < 0)
		goto err_errno;
	err = backend_populate(fd, out->size);
	if (err < 0)
		goto err_close_fd;
	if (fchmod(fd, 0600) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto err_errno;
	out->fd = fd;
	out->priv = NULL;
	return 0;

err_errno:
	err = -errno;
err_close_fd:
	close(fd);
	return err;
}

static int backend_memfd_export_fd(struct backend *be, int fd, void *priv,
				   bool read_only)
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
	.alloc = backend_memfd_alloc,
	.export_fd = backend_memfd_export_fd,
};
