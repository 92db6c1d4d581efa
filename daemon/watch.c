/* SPDX-License-Identifier: MIT */
#include "watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <utlist.h>

#include "broker.h"
#include "client.h"
#include "describe.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "reply.h"
#include "wire.h"

struct watch {
	struct broker *broker;
	struct client *watchers;	/* DL via watch_prev/next */
	bool stopping;
};

/* Packs the event @type on @b (a buffer, or the first member of @pool
 * for a pool event) as described with @flags into @frame; its length or
 * a negative errno. */
static ssize_t watch_pack(struct watch *w, DmabufBroker__V1__Event__Type type,
			  const struct registry_buffer *b,
			  const struct pool *pool, unsigned flags,
			  uint8_t *frame, size_t size)
{
	DmabufBroker__V1__Event ev = DMABUF_BROKER__V1__EVENT__INIT;
	DmabufBroker__V1__ServerMessage msg =
		DMABUF_BROKER__V1__SERVER_MESSAGE__INIT;
	struct reply arena;
	ssize_t len;

	reply_init(&arena, 0);
	ev.type = type;
	if (pool)
		ev.pool = describe_pool(&arena, w->broker, pool, flags);
	else
		ev.buffer = describe_buffer(&arena, w->broker, b, flags);
	msg.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_EVENT;
	msg.event = &ev;
	len = ev.buffer || ev.pool ? wire_pack(&msg.base, frame, size) : -ENOMEM;
	reply_fini(&arena);
	if (len < 0)
		log_msg(LOG_WARNING, "cannot build event: %s", strerror((int)-len));
	return len;
}

/*
 * Sends the event to the watchers that may see @b (policy_may_see()):
 * root and the owner hear who is behind it, those a grant names only its
 * owner's uid.  Each form is packed once, when a watcher needs it.
 */
static void watch_broadcast(struct watch *w, DmabufBroker__V1__Event__Type type,
			    const struct registry_buffer *b,
			    const struct pool *pool)
{
	static uint8_t frames[2][DBB_WIRE_MAX_FRAME];
	ssize_t len[2] = { 0, 0 };	/* 0: not packed yet */
	struct client *c;

	if (!w->watchers || w->stopping)
		return;
	/* A watcher whose queue overflows is killed, not unlinked: safe. */
	DL_FOREACH2(w->watchers, c, watch_next) {
		unsigned flags;
		int form;

		if (c->dead || !policy_may_see(&c->peer, b->owner->uid,
					       b->grants, b->ngrants))
			continue;
		flags = describe_flags_for(&c->peer, b);
		form = flags & DESCRIBE_PRIVATE ? 1 : 0;
		if (!len[form])
			len[form] = watch_pack(w, type, b, pool, flags,
					       frames[form], sizeof(frames[form]));
		if (len[form] > 0)
			client_send_packed(c, frames[form], (size_t)len[form],
					   NULL);
	}
}

/* The registry's events, as watchers hear them.  A pool's members raise
 * none: the pool's own events (watch_pool()) stand for them. */
static void watch_on_registry(void *ctx, enum registry_event ev,
			      struct registry_buffer *b)
{
	struct watch *w = ctx;

	if (b->pool_id)
		return;
	if (ev == REGISTRY_ADDED)
		watch_broadcast(w, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_CREATED,
				b, NULL);
	else if (ev == REGISTRY_NAMED)
		watch_broadcast(w, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_NAMED,
				b, NULL);
	else if (ev == REGISTRY_GRANTED)
		watch_broadcast(w, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_GRANTED,
				b, NULL);
	else if (ev == REGISTRY_REMOVED)
		watch_broadcast(w, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_DESTROYED,
				b, NULL);
}

void watch_pool(struct watch *w, DmabufBroker__V1__Event__Type type,
		const struct pool *pool)
{
	watch_broadcast(w, type, pool->members[0], pool);
}

struct watch *watch_create(struct broker *b)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->broker = b;
	if (registry_subscribe(b->reg, watch_on_registry, w) < 0) {
		free(w);
		return NULL;
	}
	return w;
}

void watch_stop(struct watch *w)
{
	if (w)
		w->stopping = true;
}

void watch_destroy(struct watch *w)
{
	free(w);
}

void watch_set(struct watch *w, struct client *c, bool on)
{
	if (on == c->watching)
		return;
	if (on)
		DL_APPEND2(w->watchers, c, watch_prev, watch_next);
	else
		DL_DELETE2(w->watchers, c, watch_prev, watch_next);
	c->watching = on;
}
