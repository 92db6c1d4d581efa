/* SPDX-License-Identifier: MIT */
/*
 * The small interface every buffer provider implements, and the ordered
 * set of providers the broker probed at start.  This version implements
 * memfd only; the others (kmod, heap, udmabuf, drm) are listed in the
 * configured order and reported as unavailable with the reason.
 */
#ifndef DBB_BACKEND_H
#define DBB_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BACKEND_DETAIL_MAX 128
#define BACKEND_MAX 8

struct backend;

struct backend_ops {
	/*
	 * Checks that the backend can allocate here.  Returns 0, or a
	 * negative errno with the reason written to @why.
	 */
	int (*probe)(struct backend *be, char *why, size_t len);
	/* Describes a usable backend (device node, kind of memory). */
	void (*describe)(const struct backend *be, char *detail, size_t len);
	/* Runs on the worker thread for large buffers: touches nothing but
	 * its arguments (not even @be's counters).
	 * Returns a new O_CLOEXEC fd of @size bytes (named @name for
	 * /proc, may be NULL) whose memory is allocated now, not at first
	 * touch; or a negative errno (-ENOMEM/-ENOSPC when memory is short,
	 * with nothing left allocated). */
	int (*alloc)(struct backend *be, uint64_t size, const char *name);
	/* Returns a new fd of the buffer @fd for a holder: read-write, or
	 * one that refuses writable shared mappings; or a negative errno. */
	int (*export_fd)(struct backend *be, int fd, bool read_only);
	/* Releases what probe() set up.  Buffer fds are the registry's. */
	void (*close)(struct backend *be);
};

struct backend {
	const char *name;
	bool is_dmabuf;
	bool available;
	const struct backend_ops *ops;	/* NULL: not implemented */
	void *priv;
	char detail[BACKEND_DETAIL_MAX];
	uint64_t buffers;		/* live buffers it provided */
	uint64_t bytes;
};

/* The backends in probe order; preferred is the first available. */
struct backend_set {
	struct backend list[BACKEND_MAX];
	size_t n;
	int preferred;			/* index, or -1 when none works */
};

extern const struct backend_ops backend_memfd_ops;

/*
 * Probes the backends named in @names (known names, in order) and fills
 * @set.  Returns 0 when at least one is available, else -ENODEV.
 */
int backend_set_probe(struct backend_set *set, const char *const *names,
		      size_t n);

/* Closes every backend.  Accepts NULL. */
void backend_set_close(struct backend_set *set);

/* Index of the backend called @name, or -1. */
int backend_set_find(const struct backend_set *set, const char *name);

#endif
