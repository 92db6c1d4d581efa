/* SPDX-License-Identifier: MIT */
#include "describe.h"

#include <errno.h>

#include "backends/backend.h"
#include "client.h"
#include "pool.h"
#include "queue.h"
#include "registry.h"
#include "broker.h"

static DmabufBroker__V1__ImageLayout *
describe_layout(struct reply *r, const struct imgfmt_layout *l)
{
	DmabufBroker__V1__ImageLayout *out = reply_alloc(r, sizeof(*out));
	DmabufBroker__V1__Plane *planes;

	if (!out)
		return NULL;
	dmabuf_broker__v1__image_layout__init(out);
	planes = reply_alloc(r, l->nplanes * sizeof(*planes));
	out->planes = reply_alloc(r, l->nplanes * sizeof(*out->planes));
	if (!planes || !out->planes)
		return NULL;
	out->fourcc = l->fourcc;
	out->modifier = l->modifier;
	out->width = l->width;
	out->height = l->height;
	out->n_planes = l->nplanes;
	for (uint32_t i = 0; i < l->nplanes; i++) {
		dmabuf_broker__v1__plane__init(&planes[i]);
		planes[i].offset = l->planes[i].offset;
		planes[i].stride = l->planes[i].stride;
		out->planes[i] = &planes[i];
	}
	return out;
}

/* @b's grants into *@list and *@n (a buffer's or a pool's). */
static int describe_grants(struct reply *r, const struct registry_buffer *b,
			   DmabufBroker__V1__Grant ***list, size_t *n)
{
	DmabufBroker__V1__Grant *g;
	DmabufBroker__V1__Grant **out;

	if (!b->ngrants)
		return 0;
	g = reply_alloc(r, b->ngrants * sizeof(*g));
	out = reply_alloc(r, b->ngrants * sizeof(*out));
	if (!g || !out)
		return -ENOMEM;
	for (uint8_t i = 0; i < b->ngrants; i++) {
		const struct policy_grant *pg = &b->grants[i];

		dmabuf_broker__v1__grant__init(&g[i]);
		g[i].access = (DmabufBroker__V1__Access)pg->access;
		if (pg->subject == POLICY_SUBJECT_UID) {
			g[i].subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
			g[i].uid = pg->id;
		} else if (pg->subject == POLICY_SUBJECT_GID) {
			g[i].subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_GID;
			g[i].gid = pg->id;
		} else {
			g[i].subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE;
			g[i].everyone = 1;
		}
		out[i] = &g[i];
	}
	*list = out;
	*n = b->ngrants;
	return 0;
}

static int describe_holders(struct reply *r, DmabufBroker__V1__BufferInfo *out,
			    const struct registry_buffer *b, bool private)
{
	size_t n = b->nholds < DESCRIBE_MAX_HOLDERS ? b->nholds :
		   DESCRIBE_MAX_HOLDERS;
	DmabufBroker__V1__Holder *h;
	const struct registry_hold *hold = b->holds;

	if (!n)
		return 0;
	h = reply_alloc(r, n * sizeof(*h));
	out->holders = reply_alloc(r, n * sizeof(*out->holders));
	if (!h || !out->holders)
		return -1;
	for (size_t i = 0; i < n && hold; i++, hold = hold->buf_next) {
		dmabuf_broker__v1__holder__init(&h[i]);
		h[i].writable = hold->writable;
		if (private) {
			h[i].client_id = hold->conn->id;
			h[i].uid = (uint32_t)hold->conn->uid;
			h[i].pid = (uint32_t)hold->conn->pid;
			h[i].client_name = hold->conn->name;
		}
		out->holders[i] = &h[i];
		out->n_holders = i + 1;
	}
	return 0;
}

unsigned describe_flags_for(const struct policy_peer *viewer,
			    const struct registry_buffer *b)
{
	return policy_may_manage(viewer, b->owner->uid) == 0 ?
	       DESCRIBE_PRIVATE : 0;
}

DmabufBroker__V1__BufferInfo *describe_buffer(struct reply *r,
					      const struct broker *br,
					      const struct registry_buffer *b,
					      unsigned flags)
{
	DmabufBroker__V1__BufferInfo *out = reply_alloc(r, sizeof(*out));
	struct backend *be = &br->backends->list[b->backend];
	struct backend_buffer_info bi = { 0 };

	if (!out)
		return NULL;
	dmabuf_broker__v1__buffer_info__init(out);
	out->id = b->id;
	out->name = b->name ? b->name : "";
	out->size = b->size;
	out->backend = (char *)be->name;
	out->is_dmabuf = be->caps.is_dmabuf;
	if (be->desc->ops->query &&
	    be->desc->ops->query(be, b->fd, b->priv, &bi) == 0) {
		out->sg_entries = bi.sg_entries;
		out->contiguous = bi.contiguous;
	}
	out->owner_uid = (uint32_t)b->owner->uid;
	if (flags & DESCRIBE_PRIVATE) {
		out->owner_pid = (uint32_t)b->owner->pid;
		out->owner_name = b->owner->name;
	}
	out->lifetime = (DmabufBroker__V1__Lifetime)b->lifetime;
	out->created_usec = b->created_usec;
	out->pool_id = b->pool_id;
	out->pool_index = b->pool_index;
	if (b->layout && !(out->layout = describe_layout(r, b->layout)))
		return NULL;
	if (describe_grants(r, b, &out->grants, &out->n_grants) < 0)
		return NULL;
	if ((flags & DESCRIBE_HOLDERS) &&
	    describe_holders(r, out, b, flags & DESCRIBE_PRIVATE) < 0)
		return NULL;
	return out;
}

static DmabufBroker__V1__QueueCounters *
describe_counters(struct reply *r, const struct queue *q, int slot)
{
	DmabufBroker__V1__QueueCounters *out = reply_alloc(r, sizeof(*out));
	struct queue_counters qc;

	if (!out)
		return NULL;
	dmabuf_broker__v1__queue_counters__init(out);
	queue_counters(q, slot, &qc);
	out->posted = qc.posted;
	out->delivered = qc.delivered;
	out->released = qc.released;
	out->dropped = qc.dropped;
	out->in_flight = qc.in_flight;
	out->fence_timeouts = qc.fence_timeouts;
	out->latency_avg_usec = qc.latency_avg_usec;
	out->latency_max_usec = qc.latency_max_usec;
	return out;
}

DmabufBroker__V1__QueueConsumerInfo *
describe_consumer(struct reply *r, const struct queue *q, int slot,
		  unsigned flags)
{
	DmabufBroker__V1__QueueConsumerInfo *out = reply_alloc(r, sizeof(*out));
	const struct client *c = q->consumers[slot];

	if (!out)
		return NULL;
	dmabuf_broker__v1__queue_consumer_info__init(out);
	out->slot = (uint32_t)slot;
	if (flags & DESCRIBE_PRIVATE) {
		out->client_id = c->id;
		out->uid = (uint32_t)c->peer.uid;
		out->pid = (uint32_t)c->peer.pid;
		out->client_name = c->conn->name;
	}
	if ((flags & DESCRIBE_COUNTERS) &&
	    !(out->counters = describe_counters(r, q, slot)))
		return NULL;
	return out;
}

/* @q with who produces and consumes for DESCRIBE_PRIVATE only, as a
 * buffer's holders. */
static DmabufBroker__V1__QueueInfo *describe_queue(struct reply *r,
						   const struct queue *q,
						   unsigned flags)
{
	DmabufBroker__V1__QueueInfo *out = reply_alloc(r, sizeof(*out));
	size_t n = 0;

	if (!out)
		return NULL;
	dmabuf_broker__v1__queue_info__init(out);
	out->policy = (DmabufBroker__V1__QueuePolicy)q->params.policy;
	out->max_in_flight = q->params.max_in_flight;
	out->fence_timeout_ms = q->params.fence_timeout_ms;
	out->release_timeout_ms = q->params.release_timeout_ms;
	out->consumers_cut_off = queue_cut_off_count(q);
	if (flags & DESCRIBE_PRIVATE) {
		out->producer_client_id = q->producer->id;
		out->producer_pid = (uint32_t)q->producer->peer.pid;
		out->producer_name = q->producer->conn->name;
	}
	if (!(out->counters = describe_counters(r, q, -1)))
		return NULL;
	out->consumers = reply_alloc(r, QUEUE_MAX_CONSUMERS *
				     sizeof(*out->consumers));
	if (!out->consumers)
		return NULL;
	for (int i = 0; i < (int)QUEUE_MAX_CONSUMERS; i++) {
		if (!q->consumers[i])
			continue;
		out->consumers[n] = describe_consumer(r, q, i, flags |
						      DESCRIBE_COUNTERS);
		if (!out->consumers[n++])
			return NULL;
	}
	out->n_consumers = n;
	return out;
}

DmabufBroker__V1__PoolInfo *describe_pool(struct reply *r,
					  const struct broker *br,
					  const struct pool *pool,
					  unsigned flags)
{
	DmabufBroker__V1__PoolInfo *out = reply_alloc(r, sizeof(*out));
	const struct registry_buffer *first = pool->members[0];
	const struct backend *be = &br->backends->list[first->backend];

	if (!out)
		return NULL;
	dmabuf_broker__v1__pool_info__init(out);
	out->id = pool->id;
	out->name = pool->name ? pool->name : "";
	out->count = pool->count;
	out->buffer_size = first->size;
	out->backend = (char *)be->name;
	out->is_dmabuf = be->caps.is_dmabuf;
	out->owner_uid = (uint32_t)first->owner->uid;
	if (flags & DESCRIBE_PRIVATE) {
		out->owner_pid = (uint32_t)first->owner->pid;
		out->owner_name = first->owner->name;
	}
	out->lifetime = (DmabufBroker__V1__Lifetime)first->lifetime;
	out->created_usec = pool->created_usec;
	if (first->layout && !(out->layout = describe_layout(r, first->layout)))
		return NULL;
	if (describe_grants(r, first, &out->grants, &out->n_grants) < 0)
		return NULL;
	if (pool->queue &&
	    !(out->queue = describe_queue(r, pool->queue, flags)))
		return NULL;
	if (!(flags & DESCRIBE_MEMBERS))
		return out;
	out->buffers = reply_alloc(r, pool->count * sizeof(*out->buffers));
	if (!out->buffers)
		return NULL;
	for (uint32_t i = 0; i < pool->count; i++) {
		/* Without holders: 32 members with theirs would not fit
		 * a frame (Info on a member's id shows them). */
		out->buffers[i] = describe_buffer(r, br, pool->members[i],
						  flags & DESCRIBE_PRIVATE);
		if (!out->buffers[i])
			return NULL;
	}
	out->n_buffers = pool->count;
	return out;
}
