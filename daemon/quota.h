/* SPDX-License-Identifier: MIT */
/*
 * Quota is memory: a buffer stays charged to its owner after it leaves the
 * registry, for as long as some holder keeps an fd or a mapping of it,
 * until the kernel reports its memory freed (release.c).  Backends whose
 * kernel does not report that (dma-bufs from 6.14 on) are found at start
 * and say so in Backends; their buffers are uncharged when they leave the
 * registry, as before.
 */
#ifndef DBB_QUOTA_H
#define DBB_QUOTA_H

#include <stddef.h>

#include <event2/event.h>

struct backend_set;
struct registry;
struct quota;

/*
 * Finds out which of @set's available backends get their releases
 * reported, by allocating one page from each and closing it
 * (release_probe()); sets be->release_tracked.  Adopted dma-bufs count as
 * tracked when any dma-buf backend is.
 */
void quota_probe_backends(struct backend_set *set);

/*
 * Keeps the charge of buffers of tracked backends that leave @reg until
 * their memory is freed; release events are read at priority @prio.
 * Returns NULL on failure (errno set): the broker then runs without it.
 */
struct quota *quota_create(struct event_base *base, int prio,
			   struct registry *reg, struct backend_set *set);

/* Stops keeping charges: buffers removed from now on (the registry's
 * teardown) are not watched.  Accepts NULL. */
void quota_stop(struct quota *q);

/* Stops watching and frees @q.  Call after the registry is destroyed
 * (it calls @q until then).  Accepts NULL. */
void quota_destroy(struct quota *q);

/* Buffers that left the registry and whose memory is not freed yet. */
size_t quota_lingering(const struct quota *q);

#endif
