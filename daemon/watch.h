/* SPDX-License-Identifier: MIT */
/*
 * Clients that asked to Watch, and the events they hear: the registry's
 * added, named and removed buffers, pools created and destroyed, and
 * their queues begun and ended, sent to each watcher as one packed frame
 * built once.
 */
#ifndef DBB_WATCH_H
#define DBB_WATCH_H

#include <stdbool.h>

#include "dmabuf_broker.pb-c.h"

struct broker;
struct client;
struct pool;
struct watch;

/* Creates the watcher list and subscribes it to b->reg.  NULL on
 * failure. */
struct watch *watch_create(struct broker *b);

/* Sends nothing from now on (teardown). */
void watch_stop(struct watch *w);

/* Frees @w (its clients are not its own).  Accepts NULL. */
void watch_destroy(struct watch *w);

/* Adds @c to the watchers or removes it; removing one that does not
 * watch does nothing. */
void watch_set(struct watch *w, struct client *c, bool on);

/* Sends the pool or queue event @type on @pool (complete: not ending
 * yet) to the watchers that may see it, as for its members. */
void watch_pool(struct watch *w, DmabufBroker__V1__Event__Type type,
		const struct pool *pool);

#endif
