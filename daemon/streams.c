/* SPDX-License-Identifier: MIT */
#include "streams.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <utlist.h>

#include "broker.h"
#include "client.h"
#include "describe.h"
#include "log.h"
#include "pool.h"
#include "queue.h"
#include "registry.h"
#include "reply.h"
#include "watch.h"

#define STREAMS_EVENT(name) DMABUF_BROKER__V1__EVENT__TYPE__TYPE_##name

/*
 * Sends the producer of @q an event about the consumer in @slot (taken
 * still), with @fd (owned; -1: none).  Only the pool's id, name and size
 * are described: the producer has the rest.
 */
static int streams_tell_producer(struct streams *s, struct queue *q,
				 DmabufBroker__V1__Event__Type type, int slot,
				 int fd)
{
	DmabufBroker__V1__Event ev = DMABUF_BROKER__V1__EVENT__INIT;
	DmabufBroker__V1__PoolInfo pool = DMABUF_BROKER__V1__POOL_INFO__INIT;
	DmabufBroker__V1__ServerMessage msg =
		DMABUF_BROKER__V1__SERVER_MESSAGE__INIT;
	struct reply arena;
	int ret = -ENOMEM;

	reply_init(&arena, 0);
	if (fd >= 0 && reply_add_fd(&arena, fd, false) < 0)
		goto out;
	pool.id = q->pool->id;
	pool.name = q->pool->name ? q->pool->name : "";
	pool.count = q->pool->count;
	ev.type = type;
	ev.pool = &pool;
	/* The producer is told who: it hands that client its frames. */
	ev.consumer = describe_consumer(&arena, q, slot, DESCRIBE_PRIVATE);
	msg.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_EVENT;
	msg.event = &ev;
	if (ev.consumer)
		ret = client_send(q->producer, &msg.base, &arena.fds);
out:
	reply_fini(&arena);
	return ret;
}

int streams_consumer_attached(struct streams *s, struct queue *q, int slot,
			      int producer_end)
{
	return streams_tell_producer(s, q, STREAMS_EVENT(QUEUE_CONSUMER_ATTACHED),
				     slot, producer_end);
}

void streams_consumer_detach(struct streams *s, struct queue *q, int slot)
{
	streams_tell_producer(s, q, STREAMS_EVENT(QUEUE_CONSUMER_DETACHED),
			      slot, -1);
	queue_slot_put(q, slot);
}

/*
 * Ends @q.  Watchers hear it first, with the queue as it was at its end
 * (its consumers, its last counters).  With @tell_producer (its pool
 * ended under it) the producer is told that every consumer left, so that
 * its library closes their channels and they see the end; a producer
 * that is gone took its channel ends along, and one that ended the queue
 * closed them itself.
 */
static void streams_queue_end(struct streams *s, struct queue *q,
			      bool tell_producer)
{
	struct queue_counters qc;

	watch_pool(s->br->watch, STREAMS_EVENT(QUEUE_DESTROYED), q->pool);
	for (int i = 0; i < (int)QUEUE_MAX_CONSUMERS; i++) {
		if (!q->consumers[i])
			continue;
		if (tell_producer)
			streams_consumer_detach(s, q, i);
		else
			queue_slot_put(q, i);
	}
	queue_counters(q, -1, &qc);
	s->ended_posted += qc.posted;
	s->ended_dropped += qc.dropped;
	q->pool->queue = NULL;
	DL_DELETE(s->queues, q);
	s->nqueues--;
	queue_destroy(q);
}

void streams_queue_stop(struct streams *s, struct queue *q)
{
	streams_queue_end(s, q, false);
}

void streams_queue_add(struct streams *s, struct pool *pool,
		       struct queue *q)
{
	pool->queue = q;
	DL_APPEND(s->queues, q);
	s->nqueues++;
	watch_pool(s->br->watch, STREAMS_EVENT(QUEUE_CREATED), pool);
}

void streams_pool_created(struct streams *s, const struct pool *pool)
{
	watch_pool(s->br->watch, STREAMS_EVENT(POOL_CREATED), pool);
}

void streams_pool_destroy(struct streams *s, struct pool *pool)
{
	struct registry_buffer *members[POOL_MAX_BUFFERS];
	uint32_t n = pool->count;

	/* The last removal frees @pool: work from a copy. */
	memcpy(members, pool->members, sizeof(members[0]) * n);
	for (uint32_t i = 0; i < n; i++) {
		if (members[i])
			registry_buffer_remove(s->br->reg, members[i]);
	}
}

void streams_pool_regranted(struct streams *s, struct pool *pool)
{
	const struct registry_buffer *first = pool->members[0];
	struct queue *q = pool->queue;

	if (!q)
		return;
	for (int i = 0; i < (int)QUEUE_MAX_CONSUMERS; i++) {
		struct client *c = q->consumers[i];

		if (c && policy_may_import(&c->peer, first->owner->uid,
					   first->grants, first->ngrants,
					   true) < 0)
			streams_consumer_detach(s, q, i);
	}
}

void streams_client_gone(struct streams *s, struct client *c)
{
	struct queue *q, *tmp;

	if (!s)
		return;
	DL_FOREACH_SAFE(s->queues, q, tmp) {
		int slot;

		if (q->producer == c)
			streams_queue_end(s, q, false);
		else if ((slot = queue_slot_of(q, c)) >= 0)
			streams_consumer_detach(s, q, slot);
	}
}

/* The first member of a pool leaving ends the pool: its name is free,
 * its queue ends and watchers hear it; the last one frees it. */
static void streams_member_removed(struct streams *s,
				   const struct registry_buffer *b)
{
	struct pool *pool = pool_find(s->pools, b->pool_id);

	if (!pool)
		return;		/* a member never completed (PoolAlloc undo) */
	if (pool->linked) {
		if (pool->queue)
			streams_queue_end(s, pool->queue, true);
		watch_pool(s->br->watch, STREAMS_EVENT(POOL_DESTROYED), pool);
		if (pool->name)
			registry_name_unblock(s->br->reg, pool->name);
	}
	if (pool_member_gone(s->pools, pool, b->pool_index))
		pool_remove(s->pools, pool);
}

static void streams_on_registry(void *ctx, enum registry_event ev,
				struct registry_buffer *b)
{
	if (ev == REGISTRY_REMOVED && b->pool_id)
		streams_member_removed(ctx, b);
}

struct streams *streams_create(struct broker *br)
{
	struct streams *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->br = br;
	s->pools = pool_set_create();
	if (!s->pools || registry_subscribe(br->reg, streams_on_registry, s) < 0) {
		pool_set_destroy(s->pools);
		free(s);
		return NULL;
	}
	return s;
}

void streams_destroy(struct streams *s)
{
	struct queue *q, *tmp;

	if (!s)
		return;
	DL_FOREACH_SAFE(s->queues, q, tmp)
		streams_queue_end(s, q, false);
	pool_set_destroy(s->pools);
	free(s);
}

struct streams_totals streams_totals(const struct streams *s)
{
	struct streams_totals t = {
		.pools = pool_count(s->pools),
		.queues = s->nqueues,
		.frames_posted = s->ended_posted,
		.frames_dropped = s->ended_dropped,
	};
	const struct queue *q;

	DL_FOREACH(s->queues, q) {
		struct queue_counters qc;

		queue_counters(q, -1, &qc);
		t.frames_posted += qc.posted;
		t.frames_dropped += qc.dropped;
	}
	return t;
}
