/* SPDX-License-Identifier: MIT */
/*
 * heap: dma-heaps, /dev/dma_heap/<name>.  The heaps to try come from the
 * config (cfg->heaps, blank-separated: a heap name may hold a comma, as
 * "linux,cma" does).  Probe opens every one that exists, in that order,
 * and keeps the fds: an ordinary request goes to the first, a contiguous
 * one to the first CMA-like heap, for only CMA gives physically contiguous
 * memory (the system heap hands out scattered pages).
 *
 * A heap allocates every page at DMA_HEAP_IOCTL_ALLOC and zeroes it, so
 * there is nothing to populate.  It cannot make a read-only buffer: any
 * importer may map the dma-buf for writing, whatever the fd's mode, so a
 * read-only export is refused rather than handed out writable.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/dma-heap.h>

#include "config.h"

#define BACKEND_HEAP_DIR "/dev/dma_heap/"
#define BACKEND_HEAP_MAX 8
#define BACKEND_HEAP_NAME_MAX 64

struct backend_heap_entry {
	int fd;
	bool cma;
	char name[BACKEND_HEAP_NAME_MAX];
};

struct backend_heap_set {
	size_t n;
	int contiguous;		/* index of the first CMA-like heap, or -1 */
	struct backend_heap_entry heaps[BACKEND_HEAP_MAX];
};

/* The heaps that give physically contiguous memory: the CMA heap is
 * called after its area, "linux,cma" for the default one or "reserved"
 * when a device tree names it so, or after a cma region of its own. */
static bool backend_heap_is_cma(const char *name)
{
	return !strcmp(name, "linux,cma") || !strcmp(name, "reserved") ||
	       strstr(name, "cma") != NULL;
}

static void backend_heap_set_free(struct backend_heap_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		close(set->heaps[i].fd);
	free(set);
}

/*
 * Opens the heap called @name (@len bytes) into the next entry of @set.
 * Returns 0 or -errno; a name that could leave /dev/dma_heap is -EINVAL.
 */
static int backend_heap_open(struct backend_heap_set *set, const char *name,
			     size_t len)
{
	struct backend_heap_entry *e = &set->heaps[set->n];
	char path[sizeof(BACKEND_HEAP_DIR) + BACKEND_HEAP_NAME_MAX];

	if (len == 0 || len >= sizeof(e->name) || memchr(name, '/', len) ||
	    (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'))))
		return -EINVAL;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	snprintf(path, sizeof(path), BACKEND_HEAP_DIR "%s", e->name);
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	e->cma = backend_heap_is_cma(e->name);
	if (e->cma && set->contiguous < 0)
		set->contiguous = (int)set->n;
	set->n++;
	return 0;
}

/*
 * Opens each heap of the blank-separated @names that exists.  Returns
 * the number opened; *@err is the first failure other than a missing
 * heap (a heap that is there but refuses us says more), else -ENOENT.
 */
static size_t backend_heap_open_all(struct backend_heap_set *set,
				    const char *names, int *err)
{
	const char *blanks = " \t";
	const char *p = names + strspn(names, blanks);

	*err = -ENOENT;
	while (*p && set->n < BACKEND_HEAP_MAX) {
		size_t len = strcspn(p, blanks);
		int ret = backend_heap_open(set, p, len);

		if (ret < 0 && ret != -ENOENT && *err == -ENOENT)
			*err = ret;
		p += len;
		p += strspn(p, blanks);
	}
	return set->n;
}

/* be->detail: the heap ordinary requests use, and the contiguous one. */
static void backend_heap_describe(struct backend *be,
				  const struct backend_heap_set *set)
{
	const char *first = set->heaps[0].name;
	int len;

	len = snprintf(be->detail, sizeof(be->detail),
		       "dma-heap %s (" BACKEND_HEAP_DIR "%s)", first, first);
	if (len < 0 || (size_t)len >= sizeof(be->detail))
		return;
	if (set->contiguous == 0)
		snprintf(be->detail + len, sizeof(be->detail) - (size_t)len,
			 ", contiguous");
	else if (set->contiguous > 0)
		snprintf(be->detail + len, sizeof(be->detail) - (size_t)len,
			 ", contiguous from %s",
			 set->heaps[set->contiguous].name);
	else if (set->contiguous < 0)
		snprintf(be->detail + len, sizeof(be->detail) - (size_t)len,
			 ", no contiguous heap");
}

static int backend_heap_probe(struct backend *be, const struct config *cfg,
			      char *why, size_t len)
{
	const char *names = cfg->heaps ? cfg->heaps : CONFIG_DEFAULT_HEAPS;
	struct backend_heap_set *set = calloc(1, sizeof(*set));
	int err;

	if (!set) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	set->contiguous = -1;
	if (backend_heap_open_all(set, names, &err) == 0) {
		snprintf(why, len, "none of the dma-heaps \"%s\" opens in "
			 BACKEND_HEAP_DIR ": %s", names, strerror(-err));
		backend_heap_set_free(set);
		return err;
	}
	be->priv = set;
	be->max_size = 0;	/* a heap is bounded by memory alone */
	backend_heap_describe(be, set);
	return 0;
}

static int backend_heap_alloc(struct backend *be,
			      const struct backend_request *req,
			      struct backend_buffer *out)
{
	const struct backend_heap_set *set = be->priv;
	struct dma_heap_allocation_data data = {
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	int heap = 0, err;

	if (req->flags & ~BACKEND_ALLOC_VALID_FLAGS)
		return -EINVAL;
	if (req->flags & BACKEND_ALLOC_CONTIGUOUS) {
		if (set->contiguous < 0)
			return -EOPNOTSUPP;
		heap = set->contiguous;
	}
	err = backend_request_size(req, out);
	if (err < 0)
		return err;
	data.len = out->size;
	/* The heap's own errno says it best: ENOMEM when memory (or the
	 * CMA area) is short. */
	if (ioctl(set->heaps[heap].fd, DMA_HEAP_IOCTL_ALLOC, &data) < 0)
		return -errno;
	out->fd = (int)data.fd;
	out->priv = NULL;
	return 0;
}

static void backend_heap_close(struct backend *be)
{
	backend_heap_set_free(be->priv);
	be->priv = NULL;
}

const struct backend_ops backend_heap_ops = {
	.probe = backend_heap_probe,
	.alloc = backend_heap_alloc,
	.export_fd = backend_export_shared,
	.close = backend_heap_close,
};
