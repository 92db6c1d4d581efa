/* SPDX-License-Identifier: MIT */
/*
 * kmod: the project's own module, /dev/dmabuf_sg.  Scatter-gather memory
 * (contiguous on request), client memfds pinned as dma-bufs, and read-only
 * views that the kernel enforces (no writable mapping, no device write).
 * The module's limits are its parameters, read at probe.
 *
 * Memory cgroups: an Alloc's pages are charged to the client's memory
 * cgroup (DMABUF_SG_ALLOC_CHARGE_PIDFD with the connection's pidfd), never
 * to the broker's.  A pin charges nothing: the client's memfd pages stay
 * charged to whoever populated them (see backend_kmod_pin()).
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

#include "dmabuf_sg.h"

#define BACKEND_KMOD_NODE "/dev/dmabuf_sg"
#define BACKEND_KMOD_PARAMS "/sys/module/dmabuf_sg/parameters/"

/* Whether the loaded module has read-only views: a view of fd -1 is
 * -EBADF there, -ENOTTY on a module that predates them. */
static bool backend_kmod_has_views(int dev)
{
	struct dmabuf_sg_view v = { .fd = (__u32)-1,
				    .flags = DMABUF_SG_VIEW_READ_ONLY,
				    .fd_flags = O_CLOEXEC };

	return ioctl(dev, DMABUF_SG_IOCTL_VIEW, &v) < 0 && errno != ENOTTY;
}

/* Whether the loaded module charges a pidfd's memory cgroup: an Alloc
 * with the flag and fd -1 is -EBADF there, -EINVAL (unknown flag) on a
 * module that predates it, which charges nobody. */
static bool backend_kmod_has_charge(int dev)
{
	struct dmabuf_sg_alloc a = { .size = 4096, .fd_flags = O_CLOEXEC,
				     .flags = DMABUF_SG_ALLOC_CHARGE_PIDFD,
				     .pidfd = (__u32)-1 };

	if (ioctl(dev, DMABUF_SG_IOCTL_ALLOC, &a) == 0) {
		close((int)a.fd);
		return true;
	}
	return errno == EBADF;
}

static int backend_kmod_probe(struct backend *be, const struct config *cfg,
			      char *why, size_t len)
{
	int dev = open(BACKEND_KMOD_NODE, O_RDWR | O_CLOEXEC);
	int err;

	if (dev < 0) {
		err = errno;
		snprintf(why, len, "%s: %s%s", BACKEND_KMOD_NODE, strerror(err),
			 err == ENOENT ? " (dmabuf_sg.ko not loaded)" : "");
		return -err;
	}
	be->node = dev;
	backend_read_sysfs_u64(BACKEND_KMOD_PARAMS "max_buffer_bytes",
			       &be->max_size);
	be->caps.read_only = backend_kmod_has_views(dev);
	be->caps.charge = backend_kmod_has_charge(dev);
	snprintf(be->detail, sizeof(be->detail),
		 "scatter-gather memory from %s%s%s", BACKEND_KMOD_NODE,
		 be->caps.read_only ? "" :
		 " (module without read-only views: read-only refused)",
		 be->caps.charge ? "" :
		 " (module without memory-cgroup charging)");
	return 0;
}

/* The dma-buf's name: what fits of @name in the module's field. */
static void backend_kmod_name(char dst[DMABUF_SG_NAME_LEN], const char *name)
{
	snprintf(dst, DMABUF_SG_NAME_LEN, "%s", name && *name ? name : "dbb");
}

static int backend_kmod_alloc(struct backend *be,
			      const struct backend_request *req,
			      struct backend_buffer *out)
{
	struct dmabuf_sg_alloc a = { .fd_flags = O_RDWR | O_CLOEXEC };
	int err = backend_request_size(req, out);

	if (err < 0)
		return err;
	a.size = out->size;
	if (req->flags & BACKEND_ALLOC_CONTIGUOUS)
		a.flags |= DMABUF_SG_ALLOC_CONTIGUOUS;
	if (req->for_client && be->caps.charge) {
		if (req->client_pidfd < 0)
			return req->client_pidfd;
		a.flags |= DMABUF_SG_ALLOC_CHARGE_PIDFD;
		a.pidfd = (__u32)req->client_pidfd;
	}
	backend_kmod_name(a.name, req->name);
	if (ioctl(be->node, DMABUF_SG_IOCTL_ALLOC, &a) < 0)
		return -errno;
	out->fd = (int)a.fd;
	out->priv = NULL;
	return 0;
}

/*
 * Pins the pages of the client's memfd through the broker's own shared
 * mapping of it: the pin holds the pages, the mapping is dropped at once.
 * The memfd must be sealed against shrinking, so that the pages pinned
 * stay the file's pages for as long as the dma-buf lives.  A pin moves no
 * memory-cgroup charge: pages the client wrote or fallocated stay charged
 * to it; a page it left as a hole is faulted in here and charged to the
 * broker, for as long as the memfd keeps it.
 */
static int backend_kmod_pin(struct backend *be, int memfd, uint64_t offset,
			    uint64_t length, const char *name,
			    struct backend_buffer *out)
{
	struct dmabuf_sg_pin p = { .len = length, .flags = DMABUF_SG_PIN_WRITE,
				   .fd_flags = O_RDWR | O_CLOEXEC };
	void *addr;
	int err = 0;

	addr = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		    (off_t)offset);
	if (addr == MAP_FAILED)
		return -errno;
	p.addr = (uintptr_t)addr;
	backend_kmod_name(p.name, name);
	if (ioctl(be->node, DMABUF_SG_IOCTL_PIN, &p) < 0)
		err = -errno;
	munmap(addr, length);
	if (err < 0)
		return err;
	memset(out, 0, sizeof(*out));
	out->fd = (int)p.fd;
	out->size = length;
	return 0;
}

static int backend_kmod_export_fd(struct backend *be, int fd, void *priv,
				  bool read_only)
{
	struct dmabuf_sg_view v = { .fd = (__u32)fd,
				    .flags = DMABUF_SG_VIEW_READ_ONLY,
				    .fd_flags = O_CLOEXEC };
	int out;

	if (!read_only) {
		out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		return out < 0 ? -errno : out;
	}
	if (!be->caps.read_only)
		return -EOPNOTSUPP;
	if (ioctl(be->node, DMABUF_SG_IOCTL_VIEW, &v) < 0)
		return -errno;
	return (int)v.out_fd;
}

static int backend_kmod_query(struct backend *be, int fd, void *priv,
			      struct backend_buffer_info *out)
{
	struct dmabuf_sg_info info = { .fd = (__u32)fd };

	if (ioctl(be->node, DMABUF_SG_IOCTL_INFO, &info) < 0)
		return -errno;
	out->sg_entries = info.sg_entries;
	out->contiguous = info.sg_entries == 1;
	return 0;
}

const struct backend_ops backend_kmod_ops = {
	.probe = backend_kmod_probe,
	.alloc = backend_kmod_alloc,
	.pin = backend_kmod_pin,
	.export_fd = backend_kmod_export_fd,
	.query = backend_kmod_query,
};
