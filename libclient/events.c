/* SPDX-License-Identifier: MIT */
/*
 * Broker events (Watch): a bounded queue filled while reading replies or
 * pending datagrams, emptied through the listener by dbb_client_dispatch().
 */
#include "queue-private.h"

#include <errno.h>
#include <stdlib.h>

static enum dbb_event_type events_type(DmabufBroker__V1__Event__Type type)
{
	switch (type) {
	case DMABUF_BROKER__V1__EVENT__TYPE__TYPE_CREATED:
		return DBB_EVENT_CREATED;
	case DMABUF_BROKER__V1__EVENT__TYPE__TYPE_NAMED:
		return DBB_EVENT_NAMED;
	case DMABUF_BROKER__V1__EVENT__TYPE__TYPE_DESTROYED:
		return DBB_EVENT_DESTROYED;
	case DMABUF_BROKER__V1__EVENT__TYPE__TYPE_GRANTED:
		return DBB_EVENT_GRANTED;
	case DMABUF_BROKER__V1__EVENT__TYPE__TYPE_POOL_CREATED:
		return DBB_EVENT_POOL_CREATED;
	case DMABUF_BROKER__V1__EVENT__TYPE__TYPE_POOL_DESTROYED:
		return DBB_EVENT_POOL_DESTROYED;
	case DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_CREATED:
		return DBB_EVENT_QUEUE_CREATED;
	case DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_DESTROYED:
		return DBB_EVENT_QUEUE_DESTROYED;
	default:
		return 0;
	}
}

/* Removes the oldest entry; the caller owns its info. */
static struct events_entry events_pop(struct events_queue *q)
{
	struct events_entry e = q->ring[q->head];

	q->head = (q->head + 1) % EVENTS_QUEUE_MAX;
	q->count--;
	return e;
}

static void events_entry_free(struct events_entry e)
{
	free(e.info);
	dbb_pool_info_free(e.pool);
}

/* Converts what @ev describes; false when there is nothing to tell (a
 * queue event without its queue included). */
static bool events_convert(const DmabufBroker__V1__Event *ev,
			   struct events_entry *e)
{
	e->type = events_type(ev->type);
	switch (e->type) {
	case DBB_EVENT_QUEUE_CREATED:
	case DBB_EVENT_QUEUE_DESTROYED:
		return ev->pool && ev->pool->queue &&
		       pool_info_from_proto(ev->pool, &e->pool) == 0;
	case DBB_EVENT_POOL_CREATED:
	case DBB_EVENT_POOL_DESTROYED:
		return ev->pool && pool_info_from_proto(ev->pool, &e->pool) == 0;
	case DBB_EVENT_CREATED:
	case DBB_EVENT_NAMED:
	case DBB_EVENT_DESTROYED:
	case DBB_EVENT_GRANTED:
		return ev->buffer && info_from_proto(ev->buffer, &e->info) == 0;
	}
	return false;
}

void events_push(struct dbb_client *client, const DmabufBroker__V1__Event *ev)
{
	struct events_queue *q = &client->events;
	struct events_entry e = { 0 };

	/* Types from a newer broker, and events without what their type
	 * describes, are skipped: there is nothing to tell the listener. */
	if (!events_convert(ev, &e))
		return;
	if (!q->ring) {
		q->ring = calloc(EVENTS_QUEUE_MAX, sizeof(*q->ring));
		if (!q->ring) {
			events_entry_free(e);
			q->dropped++;
			return;
		}
	}
	if (q->count == EVENTS_QUEUE_MAX) {
		events_entry_free(events_pop(q));
		q->dropped++;
	}
	q->ring[(q->head + q->count) % EVENTS_QUEUE_MAX] = e;
	q->count++;
}

void events_clear(struct dbb_client *client)
{
	struct events_queue *q = &client->events;

	while (q->count)
		events_entry_free(events_pop(q));
	free(q->ring);
	q->ring = NULL;
	q->head = 0;
}

/*
 * Delivers @n queued events, taking each out under the lock and calling
 * the listener without it, so that the listener may call the library
 * (from this thread or another).
 */
static int events_deliver(struct dbb_client *client, size_t n)
{
	struct dbb_event_listener listener;
	struct events_entry e;
	int delivered = 0;
	void *userdata;

	while (n--) {
		connection_lock_always(client);
		if (client->destroyed || !client->events.count) {
			connection_unlock(client);
			break;
		}
		e = events_pop(&client->events);
		listener = client->listener;
		userdata = client->userdata;
		connection_unlock(client);
		if (e.info && listener.buffer_event) {
			listener.buffer_event(client, e.type, e.info, userdata);
			delivered++;
		} else if (e.pool && listener.pool_event) {
			listener.pool_event(client, e.type, e.pool, userdata);
			delivered++;
		}
		events_entry_free(e);
	}
	return delivered;
}

int dbb_client_set_listener(struct dbb_client *client,
			    const struct dbb_event_listener *listener,
			    void *userdata)
{
	struct dbb_event_listener copy = { .struct_size = sizeof(copy) };
	int ret;

	if (listener) {
		ret = structs_copy_in(&copy, sizeof(copy), STRUCTS_LISTENER_V1,
				      listener);
		if (ret < 0)
			return ret;
	}
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	client->listener = copy;
	client->userdata = userdata;
	connection_unlock(client);
	return 0;
}

int dbb_client_dispatch(struct dbb_client *client)
{
	int ret, delivered;
	size_t queued;
	bool gone;

	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	/* Bounded, so a chatty broker cannot keep us here forever. */
	for (size_t i = 0; i < EVENTS_QUEUE_MAX && !client->gone; i++) {
		ret = connection_read_pending(client);
		if (ret <= 0)
			break;
	}
	/* What is queued now, not what the listener causes to arrive. */
	queued = client->events.count;
	gone = client->gone;
	connection_unlock(client);
	/* What arrived before a failure is still worth delivering. */
	delivered = events_deliver(client, queued);
	if (gone)
		return -EPIPE;
	return ret < 0 ? ret : delivered;
}

size_t dbb_client_pending_events(struct dbb_client *client)
{
	size_t n;

	connection_lock_always(client);
	n = client->events.count;
	connection_unlock(client);
	return n;
}
