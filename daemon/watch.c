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
#include "registry.h"
#include "reply.h"
#include "wire.h"

struct watch {
	struct broker *broker;
	struct client *watchers;	/* DL via watch_prev/next */
	bool stopping;
};

static void watch_broadcast(struct watch *w, DmabufBroker__V1__Event__Type type,
			    const struct registry_buffer *b)
{
	static uint8_t frame[DBB_WIRE_MAX_FRAME];
	DmabufBroker__V1__Event ev = DMABUF_BROKER__V1__EVENT__INIT;
	DmabufBroker__V1__ServerMessage msg =
		DMABUF_BROKER__V1__SERVER_MESSAGE__INIT;
	struct reply arena;
	struct client *c;
	ssize_t len;

	if (!w->watchers || w->stopping)
		return;
	reply_init(&arena, 0);
	ev.type = type;
	ev.buffer = describe_buffer(&arena, w->broker, b, 0);
	msg.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_EVENT;
	msg.event = &ev;
	len = ev.buffer ? wire_pack(&msg.base, frame, sizeof(frame)) : -ENOMEM;
	reply_fini(&arena);
	if (len < 0) {
		log_msg(LOG_WARNING, "cannot build event: %s", strerror((int)-len));
		return;
	}
	/* A watcher whose queue overflows is killed, not unlinked: safe. */
	DL_FOREACH2(w->watchers, c, watch_next) {
		if (!c->dead)
			client_send_packed(c, frame, (size_t)len, NULL);
	}
}

/* The registry's events, as watchers hear them. */
static void watch_on_registry(void *ctx, enum registry_event ev,
			      struct registry_buffer *b)
{
	struct watch *w = ctx;

	if (ev == REGISTRY_ADDED)
		watch_broadcast(w, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_CREATED, b);
	else if (ev == REGISTRY_NAMED)
		watch_broadcast(w, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_NAMED, b);
	else if (ev == REGISTRY_REMOVED)
		watch_broadcast(w, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_DESTROYED, b);
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
