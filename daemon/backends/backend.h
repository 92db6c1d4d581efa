/* SPDX-License-Identifier: MIT */
/*
 * The buffer providers.  Each backend is one file in this folder and one
 * row of the table in backend.c: its name, what it can do (caps) and its
 * ops.  Probing, config validation and the Backends reply all read that
 * table, so a backend's name is spelled once.
 *
 * The allocation contract: the broker hands a backend a request (bytes, or
 * an image by DRM fourcc + width + height with the layout left to the
 * backend; flags) and gets back the buffer's fd, its size, the layout the
 * backend chose, and private state that the backend releases itself when
 * the broker lets go of the buffer.
 */
#ifndef DBB_BACKEND_H
#define DBB_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgfmt.h"

#define BACKEND_DETAIL_MAX 160
#define BACKEND_MAX 8

struct backend;
struct config;

/* Request flags. */
#define BACKEND_ALLOC_CONTIGUOUS (1u << 0)	/* physically contiguous */
#define BACKEND_ALLOC_VALID_FLAGS BACKEND_ALLOC_CONTIGUOUS

/*
 * What a client asks for.  Either @size bytes with no image (@fourcc 0),
 * or an image: @fourcc, @width and @height set, and the backend lays it
 * out (imgfmt_layout_linear() unless its driver decides the pitch); @size
 * is then 0 or a minimum.
 */
struct backend_request {
	uint64_t size;
	uint32_t fourcc;
	uint32_t width;
	uint32_t height;
	uint64_t modifier;		/* the one chosen: LINEAR for now */
	uint32_t flags;			/* BACKEND_ALLOC_* */
	const char *name;		/* for /proc and fdinfo; may be NULL */
	/*
	 * Whose memory cgroup a backend with caps.charge charges.  With
	 * @for_client, the client's, through @client_pidfd (its pidfd,
	 * borrowed for the call; or the negative errno of why the client
	 * has none, which fails the allocation rather than charge the
	 * broker).  Without, the broker's own (its probes).
	 */
	bool for_client;
	int client_pidfd;
};

/* A buffer a backend made. */
struct backend_buffer {
	int fd;				/* O_CLOEXEC, owned by the receiver */
	uint64_t size;			/* bytes, page-aligned */
	struct imgfmt_layout layout;	/* nplanes 0: not an image */
	void *priv;			/* for ops->release; may be NULL */
};

/* What a backend can tell of one of its buffers beyond the registry. */
struct backend_buffer_info {
	uint32_t sg_entries;		/* 0: not known */
	bool contiguous;
};

/* Fixed properties of a backend, from the table. */
struct backend_caps {
	bool is_dmabuf;
	bool read_only;		/* read-only holders are enforced */
	bool contiguous;	/* honours BACKEND_ALLOC_CONTIGUOUS */
	bool pin;		/* turns a client's memfd into a dma-buf */
	bool driver_layout;	/* the driver picks strides (dumb pitch) */
	/* Charges each buffer to the memory cgroup of the client it is
	 * for (backend_request.client_pidfd).  Without it a backend's
	 * pages are charged to nobody (dma-heap) or, being shmem, to the
	 * process that first faults or fallocates them: the broker for
	 * memfd, udmabuf and vgem's dumb buffers, which it populates at
	 * alloc time (daemon/README.md, "Memory cgroups"). */
	bool charge;
};

struct backend_ops {
	/* Checks that the backend can allocate here and sets be->detail
	 * (device, kind of memory), be->max_size, and clears in be->caps
	 * what this machine cannot do.  Returns 0, or a
	 * negative errno with the reason written to @why. */
	int (*probe)(struct backend *be, const struct config *cfg, char *why,
		     size_t len);
	/*
	 * Makes the buffer @req asks for.  May run on the worker thread: it
	 * reads @be's probe results but changes nothing in it.  Memory is
	 * allocated now, not at first touch.  Returns 0 with @out filled,
	 * or a negative errno with nothing left allocated (-ENOMEM/-ENOSPC
	 * when memory is short, -EOPNOTSUPP for a flag or format the
	 * backend cannot honour).
	 */
	int (*alloc)(struct backend *be, const struct backend_request *req,
		     struct backend_buffer *out);
	/* Optional (caps.pin): a dma-buf of @length bytes at @offset of
	 * the client's @memfd, sharing its pages.  Same contract. */
	int (*pin)(struct backend *be, int memfd, uint64_t offset,
		   uint64_t length, const char *name,
		   struct backend_buffer *out);
	/* A new fd of buffer @fd for a holder.  Read-write: usually a dup.
	 * Read-only: an fd that refuses writable mappings and device writes,
	 * or -EOPNOTSUPP where the kernel cannot enforce that (such a
	 * backend has caps.read_only false and is never asked). */
	int (*export_fd)(struct backend *be, int fd, void *priv,
			 bool read_only);
	/* Optional: what the backend knows of buffer @fd.  0 or -errno. */
	int (*query)(struct backend *be, int fd, void *priv,
		     struct backend_buffer_info *out);
	/* Optional: releases a buffer's priv when the broker drops it. */
	void (*release)(struct backend *be, void *priv);
	/* Optional: releases what probe() set up. */
	void (*close)(struct backend *be);
};

/* One row of the table. */
struct backend_desc {
	const char *name;
	struct backend_caps caps;
	const struct backend_ops *ops;
	/* Not a provider to configure: always present after the configured
	 * ones, never chosen for Alloc (the "adopted" dma-bufs of clients). */
	bool internal;
};

/* A backend as probed. */
struct backend {
	const struct backend_desc *desc;
	const char *name;		/* desc->name */
	bool available;
	/* desc->caps, less what probe() found this machine lacks (an old
	 * module without read-only views, no CMA heap). */
	struct backend_caps caps;
	uint64_t max_size;		/* largest buffer; 0: no own limit */
	/* The kernel reports when its buffers' memory is freed, so quota
	 * holds until then (daemon/quota.c). */
	bool release_tracked;
	int node;			/* the device probe opened, closed
					 * with the set; -1: none */
	void *priv;			/* the backend's own state */
	char detail[BACKEND_DETAIL_MAX];
	uint64_t buffers;		/* live buffers it provided */
	uint64_t bytes;
};

/* The backends in probe order, then the internal ones; preferred is the
 * first available configured one. */
struct backend_set {
	struct backend list[BACKEND_MAX];
	size_t n;
	int preferred;			/* index, or -1 when none works */
};

/* The table entry called @name (@len bytes, not terminated), or NULL. */
const struct backend_desc *backend_lookup(const char *name, size_t len);

/* Every known name, comma-separated, for messages. */
const char *backend_known_names(void);

/* Sets @be up as backend @d and probes it; be->detail says why when it is
 * unavailable.  Returns probe()'s result. */
int backend_probe(struct backend *be, const struct backend_desc *d,
		  const struct config *cfg);

/* Releases what probing @be set up (its ops->close, its node). */
void backend_close(struct backend *be);

/*
 * Probes the backends named in cfg->backends (in order) and fills @set.
 * Returns 0 when at least one is available, else -ENODEV.
 */
int backend_set_probe(struct backend_set *set, const struct config *cfg);

/* Closes every backend.  Accepts NULL. */
void backend_set_close(struct backend_set *set);

/* Index of the backend called @name, or -1. */
int backend_set_find(const struct backend_set *set, const char *name);

/* Helpers the backends share (backend.c). */

/*
 * Sizes the buffer @req asks for, for backends without layout rules of
 * their own: an image is laid out by imgfmt_layout_linear() into
 * out->layout; the size (at least req->size) is rounded up to pages into
 * out->size.  Returns 0, -EINVAL for a format it cannot lay out or a
 * modifier other than LINEAR, -EFBIG past what an off_t can hold.
 */
int backend_request_size(const struct backend_request *req,
			 struct backend_buffer *out);

/* Makes @fd's memory exist now: a no-op for dma-bufs (allocated at
 * creation), fallocate() for shmem.  Returns 0 or -errno. */
int backend_populate(int fd, uint64_t size);

/* export_fd of backends whose buffers are one open file description
 * shared by every holder: a dup read-write; read-only is -EOPNOTSUPP (no
 * way to stop a device from writing). */
int backend_export_shared(struct backend *be, int fd, void *priv,
			  bool read_only);

/* Reads an unsigned number from a sysfs file.  0 or -errno. */
int backend_read_sysfs_u64(const char *path, uint64_t *out);

extern const struct backend_ops backend_adopted_ops;
extern const struct backend_ops backend_memfd_ops;
extern const struct backend_ops backend_kmod_ops;
extern const struct backend_ops backend_heap_ops;
extern const struct backend_ops backend_udmabuf_ops;
extern const struct backend_ops backend_drm_ops;

#endif
