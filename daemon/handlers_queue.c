/* SPDX-License-Identifier: MIT */
/*
 * Requests on a pool's frame queue: QueueCreate (the producer),
 * QueueAttach and QueueDetach (consumers leave; the producer ends the
 * queue, or detaches a consumer it cut off).  The broker hands out the
 * two ends of each consumer's channel and keeps neither.
 */
#include "handlers.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "client.h"
#include "describe.h"
#include "pool.h"
#include "queue.h"
#include "registry.h"
#include "streams.h"

/* Whether @c holds every member of @pool read-write. */
static bool handlers_queue_holds_rw(struct client *c, const struct pool *pool)
{
	for (uint32_t i = 0; i < pool->count; i++) {
		const struct registry_hold *h =
			registry_hold_find(c->broker->reg, pool->members[i],
					   c->conn);

		if (!h || !h->writable)
			return false;
	}
	return true;
}

int handlers_queue_create(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds)
{
	const DmabufBroker__V1__QueueCreateRequest *qc = req->queue_create;
	struct pool *pool = handlers_pool_find(c, qc->pool_id, NULL, r);
	struct queue_params params = {
		.policy = (enum queue_policy)qc->policy,
		.max_in_flight = qc->max_in_flight,
		.fence_timeout_ms = qc->fence_timeout_ms,
		.release_timeout_ms = qc->release_timeout_ms,
	};
	struct queue *q;
	int fd, ret;

	if (!pool)
		return r->resp.status;
	if (!handlers_queue_holds_rw(c, pool))
		return reply_error(r, -EACCES, "the producer must have pool "
				   "%llu open read-write",
				   (unsigned long long)pool->id);
	if (pool->queue)
		return reply_error(r, -EEXIST, "pool %llu has a queue already",
				   (unsigned long long)pool->id);
	ret = queue_create(pool, pool->count, c, &params, &q);
	if (ret == -EINVAL)
		return reply_error(r, ret, "unknown policy %d, max_in_flight "
				   "over the pool's %u buffers or release "
				   "timeout over %u ms", qc->policy, pool->count,
				   QUEUE_MAX_RELEASE_TIMEOUT_MS);
	if (ret < 0)
		return reply_error(r, ret, "cannot make the queue's counters "
				   "page");
	fd = fcntl(q->stats_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 || reply_add_fd(r, fd, false) < 0) {
		queue_destroy(q);
		return reply_error(r, -EMFILE, "out of fds");
	}
	streams_queue_add(c->broker->streams, pool, q);
	r->resp.pool = describe_pool(r, c->broker, pool,
				     describe_flags_for(&c->peer,
							pool->members[0]));
	if (!r->resp.pool) {
		/* Watchers heard it begin: they hear it end. */
		streams_queue_stop(c->broker->streams, q);
		return reply_error(r, -ENOMEM, "out of memory");
	}
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_POOL;
	return 0;
}

/* The pool a QueueAttach names, with a queue; NULL with the error in
 * @r. */
static struct pool *
handlers_queue_target(struct client *c,
		      const DmabufBroker__V1__QueueAttachRequest *qa,
		      struct reply *r)
{
	struct pool *pool;

	switch (qa->target_case) {
	case DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__TARGET_POOL_ID:
		pool = handlers_pool_find(c, qa->pool_id, NULL, r);
		break;
	case DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__TARGET_NAME:
		pool = handlers_pool_find(c, 0, qa->name, r);
		break;
	default:
		reply_error(r, -EINVAL, "attach needs a pool id or name");
		return NULL;
	}
	if (pool && !pool->queue) {
		reply_error(r, -ENOENT, "pool %llu has no queue",
			    (unsigned long long)pool->id);
		return NULL;
	}
	return pool;
}

int handlers_queue_attach(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds)
{
	const DmabufBroker__V1__QueueAttachRequest *qa = req->queue_attach;
	struct pool *pool = handlers_queue_target(c, qa, r);
	DmabufBroker__V1__PoolInfo *info;
	struct queue *q;
	int ends[2], slot, ret;

	if (!pool)
		return r->resp.status;
	q = pool->queue;
	if (q->producer == c)
		return reply_error(r, -EINVAL, "the producer cannot consume "
				   "its own queue");
	if (queue_slot_of(q, c) >= 0)
		return reply_error(r, -EEXIST, "attached to pool %llu already",
				   (unsigned long long)pool->id);
	if (q->nconsumers == QUEUE_MAX_CONSUMERS)
		return reply_error(r, -ENOSPC, "pool %llu has %u consumers "
				   "already", (unsigned long long)pool->id,
				   QUEUE_MAX_CONSUMERS);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) < 0)
		return reply_error(r, -errno, "cannot make the channel");
	if ((ret = handlers_pool_open_into(c, pool, qa->read_only, r)) < 0) {
		close(ends[0]);
		close(ends[1]);
		return ret;
	}
	/* 32 members and the channel: within DBB_WIRE_MAX_FDS. */
	if (reply_add_fd(r, ends[0], false) < 0) {
		close(ends[1]);
		return reply_error(r, -E2BIG, "too many fds");
	}
	slot = queue_slot_take(q, c);
	r->resp.pool->consumer_slot = (uint32_t)slot;
	/* Described again with the new consumer among the queue's. */
	info = describe_pool(r, c->broker, pool,
			     describe_flags_for(&c->peer, pool->members[0]));
	if (info)
		r->resp.pool->queue = info->queue;
	streams_consumer_attached(c->broker->streams, q, slot, ends[1]);
	return 0;
}

/* The producer cut a consumer off (release timeout): it is detached if
 * it still holds the slot; if it left already, the slot may be
 * another's, which stays. */
static int handlers_queue_cut_off(struct client *c, struct queue *q,
				  const DmabufBroker__V1__QueueDetachRequest *qd,
				  struct reply *r)
{
	const struct client *held;

	if (qd->consumer_slot >= QUEUE_MAX_CONSUMERS)
		return reply_error(r, -EINVAL, "no consumer slot %u",
				   qd->consumer_slot);
	held = q->consumers[qd->consumer_slot];
	if (held && held->id == qd->consumer_client_id)
		streams_consumer_detach(c->broker->streams, q,
					(int)qd->consumer_slot);
	return 0;
}

int handlers_queue_detach(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds)
{
	struct pool *pool = handlers_pool_find(c, req->queue_detach->pool_id,
					       NULL, r);
	int slot;

	if (!pool)
		return r->resp.status;
	if (pool->queue && pool->queue->producer == c) {
		if (req->queue_detach->consumer_client_id)
			return handlers_queue_cut_off(c, pool->queue,
						      req->queue_detach, r);
		streams_queue_stop(c->broker->streams, pool->queue);
		return 0;
	}
	if (!pool->queue || (slot = queue_slot_of(pool->queue, c)) < 0)
		return reply_error(r, -ENOENT, "not attached to pool %llu",
				   (unsigned long long)pool->id);
	streams_consumer_detach(c->broker->streams, pool->queue, slot);
	return 0;
}
