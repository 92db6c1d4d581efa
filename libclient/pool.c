/* SPDX-License-Identifier: MIT */
/*
 * Pools: their handles (one hold on the pool, a buffer handle per member
 * without a hold of its own) and the conversion of PoolInfo into the
 * public struct dbb_pool_info.
 */
#include "queue-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY(CASE) DMABUF_BROKER__V1__RESPONSE__BODY_##CASE

#define STRUCTS_POOL_PARAMS_V1 offsetofend(struct dbb_pool_params, buffer)

struct dbb_pool {
	struct dbb_client *client;	/* a reference, with the hold */
	uint64_t id;
	size_t count;
	struct dbb_buffer *buffers[DBB_POOL_MAX_BUFFERS];
	struct dbb_pool_info *info;
};

/* A converted PoolInfo: the public struct first, then what it points to,
 * each part its own allocation. */
struct pool_info_block {
	struct dbb_pool_info info;
	struct dbb_image_layout layout;
	struct dbb_grant *grants;
	struct dbb_queue_info queue;
	struct dbb_queue_consumer *consumers;
	char *strings[3];		/* name, backend, owner_name */
	char *producer_name;
	char **consumer_names;
	struct dbb_buffer_info **buffers;
};

static const struct pool_info_block *pool_block_of(const struct dbb_pool_info *info)
{
	return (const struct pool_info_block *)info;
}

void dbb_pool_info_free(struct dbb_pool_info *info)
{
	struct pool_info_block *b = (struct pool_info_block *)info;

	if (!b)
		return;
	for (size_t i = 0; b->buffers && i < b->info.n_buffers; i++)
		free(b->buffers[i]);
	free(b->buffers);
	for (size_t i = 0; b->consumer_names && i < b->queue.n_consumers; i++)
		free(b->consumer_names[i]);
	free(b->consumer_names);
	free(b->consumers);
	free(b->producer_name);
	free(b->grants);
	for (size_t i = 0; i < 3; i++)
		free(b->strings[i]);
	free(b);
}

static void pool_counters(const DmabufBroker__V1__QueueCounters *pb,
			  struct dbb_queue_counters *out)
{
	if (!pb)
		return;
	*out = (struct dbb_queue_counters){
		.posted = pb->posted,
		.delivered = pb->delivered,
		.released = pb->released,
		.dropped = pb->dropped,
		.in_flight = pb->in_flight,
		.fence_timeouts = pb->fence_timeouts,
		.latency_avg_usec = pb->latency_avg_usec,
		.latency_max_usec = pb->latency_max_usec,
	};
}

static int pool_queue_info(const DmabufBroker__V1__QueueInfo *pb,
			   struct pool_info_block *b)
{
	struct dbb_queue_info *q = &b->queue;
	size_t n = pb->n_consumers;

	if ((unsigned)pb->policy > DBB_QUEUE_LATEST || n > DBB_QUEUE_MAX_CONSUMERS)
		return -EPROTO;
	q->policy = (enum dbb_queue_policy)pb->policy;
	q->max_in_flight = pb->max_in_flight;
	q->fence_timeout_ms = pb->fence_timeout_ms;
	q->release_timeout_ms = pb->release_timeout_ms;
	q->consumers_cut_off = pb->consumers_cut_off;
	q->producer_client_id = pb->producer_client_id;
	q->producer_pid = pb->producer_pid;
	pool_counters(pb->counters, &q->counters);
	b->consumers = calloc(n ? n : 1, sizeof(*b->consumers));
	b->consumer_names = calloc(n ? n : 1, sizeof(char *));
	if (!b->consumers || !b->consumer_names)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const DmabufBroker__V1__QueueConsumerInfo *c = pb->consumers[i];

		b->consumer_names[i] = strdup(c->client_name ? c->client_name : "");
		if (!b->consumer_names[i])
			return -ENOMEM;
		b->consumers[i] = (struct dbb_queue_consumer){
			.slot = c->slot,
			.client_id = c->client_id,
			.uid = c->uid,
			.pid = c->pid,
			.client_name = b->consumer_names[i],
		};
		pool_counters(c->counters, &b->consumers[i].counters);
		q->n_consumers = i + 1;
	}
	return 0;
}

/* The members' descriptions, in index order. */
static int pool_info_buffers(const DmabufBroker__V1__PoolInfo *pb,
			     struct pool_info_block *b)
{
	int ret = 0;

	if (pb->n_buffers > DBB_POOL_MAX_BUFFERS)
		return -EPROTO;
	b->buffers = calloc(pb->n_buffers, sizeof(*b->buffers));
	if (!b->buffers)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_buffers && ret == 0; i++) {
		ret = info_from_proto(pb->buffers[i], &b->buffers[i]);
		if (ret == 0)
			b->info.n_buffers = i + 1;
	}
	return ret;
}

static int pool_info_strings(const DmabufBroker__V1__PoolInfo *pb,
			     struct pool_info_block *b)
{
	const char *src[3] = { pb->name, pb->backend, pb->owner_name };

	for (size_t i = 0; i < 3; i++) {
		b->strings[i] = strdup(src[i] ? src[i] : "");
		if (!b->strings[i])
			return -ENOMEM;
	}
	b->info.name = b->strings[0];
	b->info.backend = b->strings[1];
	b->info.owner_name = b->strings[2];
	return 0;
}

int pool_info_from_proto(const DmabufBroker__V1__PoolInfo *pb,
			 struct dbb_pool_info **out)
{
	struct pool_info_block *b = calloc(1, sizeof(*b));
	struct dbb_pool_info *info;
	int ret;

	if (!b)
		return -ENOMEM;
	info = &b->info;
	*info = (struct dbb_pool_info){
		.id = pb->id,
		.count = pb->count,
		.buffer_size = pb->buffer_size,
		.is_dmabuf = pb->is_dmabuf,
		.owner_uid = pb->owner_uid,
		.owner_pid = pb->owner_pid,
		.lifetime = (enum dbb_lifetime)pb->lifetime,
		.created_usec = pb->created_usec,
		.read_only = pb->read_only,
	};
	ret = pool_info_strings(pb, b);
	b->grants = calloc(pb->n_grants ? pb->n_grants : 1, sizeof(*b->grants));
	if (!b->grants && ret == 0)
		ret = -ENOMEM;
	for (size_t i = 0; i < pb->n_grants && ret == 0; i++) {
		ret = info_grant(pb->grants[i], &b->grants[i]);
		info->n_grants = i + 1;
	}
	if (pb->layout && ret == 0) {
		info->layout = &b->layout;
		ret = info_layout(pb->layout, &b->layout);
	}
	if (pb->n_buffers && ret == 0)
		ret = pool_info_buffers(pb, b);
	if (pb->queue && ret == 0) {
		info->queue = &b->queue;
		ret = pool_queue_info(pb->queue, b);
		b->producer_name = strdup(pb->queue->producer_name ?
					  pb->queue->producer_name : "");
		b->queue.producer_name = b->producer_name;
		if (!b->producer_name && ret == 0)
			ret = -ENOMEM;
	}
	if (ret < 0) {
		dbb_pool_info_free(info);
		return ret;
	}
	*out = info;
	return 0;
}

const struct dbb_queue_consumer *dbb_queue_info_get_consumer(const struct dbb_queue_info *info,
							     size_t i)
{
	const struct pool_info_block *b;

	if (!info || i >= info->n_consumers)
		return NULL;
	b = (const struct pool_info_block *)((const char *)info -
					     offsetof(struct pool_info_block, queue));
	return &b->consumers[i];
}

const struct dbb_grant *dbb_pool_info_get_grant(const struct dbb_pool_info *info,
						size_t i)
{
	return info && i < info->n_grants ? &pool_block_of(info)->grants[i] : NULL;
}

const struct dbb_buffer_info *dbb_pool_info_get_buffer(const struct dbb_pool_info *info,
						       size_t i)
{
	return info && i < info->n_buffers ? pool_block_of(info)->buffers[i] : NULL;
}

/* ---- pool handles ---- */

static void pool_free_members(struct dbb_pool *pool)
{
	for (size_t i = 0; i < pool->count; i++)
		buffer_free_member(pool->buffers[i]);
	dbb_pool_info_free(pool->info);
	free(pool);
}

int pool_from_reply(struct dbb_client *client,
		    const DmabufBroker__V1__PoolInfo *pb, int *fds,
		    size_t nfds, struct dbb_pool **out)
{
	struct dbb_pool *pool;
	int ret;

	if (pb->count < 1 || pb->count > DBB_POOL_MAX_BUFFERS ||
	    pb->n_buffers != pb->count || nfds < pb->count) {
		connection_set_error(client, "malformed pool reply");
		return -EPROTO;
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->id = pb->id;
	ret = pool_info_from_proto(pb, &pool->info);
	for (size_t i = 0; i < pb->count && ret == 0; i++) {
		struct dbb_buffer_info *info;

		if (pb->buffers[i]->pool_index != i) {
			connection_set_error(client, "pool members out of order");
			ret = -EPROTO;
			break;
		}
		ret = info_from_proto(pb->buffers[i], &info);
		if (ret < 0)
			break;
		pool->buffers[i] = buffer_new_member(fds[i], info);
		if (!pool->buffers[i]) {
			free(info);
			ret = -ENOMEM;
			break;
		}
		pool->count = i + 1;
	}
	if (ret == 0)
		ret = buffer_hold(client, pool->id);
	if (ret < 0) {
		/* The fds stay the caller's: none is closed here.  The
		 * broker's hold has no handle: let it go. */
		for (size_t i = 0; i < pool->count; i++)
			dbb_buffer_take_fd(pool->buffers[i]);
		pool_free_members(pool);
		if (!buffer_held(client, pb->id))
			buffer_release(client, pb->id);
		return ret;
	}
	for (size_t i = 0; i < pool->count; i++)
		fds[i] = -1;
	pool->client = client;
	*out = pool;
	return 0;
}

void dbb_pool_free(struct dbb_pool *pool)
{
	if (!pool)
		return;
	buffer_drop(pool->client, pool->id);
	pool_free_members(pool);
}

uint64_t dbb_pool_get_id(const struct dbb_pool *pool)
{
	return pool ? pool->id : 0;
}

size_t dbb_pool_get_count(const struct dbb_pool *pool)
{
	return pool ? pool->count : 0;
}

struct dbb_buffer *dbb_pool_get_buffer(struct dbb_pool *pool, size_t i)
{
	return pool && i < pool->count ? pool->buffers[i] : NULL;
}

const struct dbb_pool_info *dbb_pool_get_info(const struct dbb_pool *pool)
{
	return pool ? pool->info : NULL;
}

/* A call whose reply is a pool with its member fds. */
static int pool_request(struct dbb_client *client, DmabufBroker__V1__Request *req,
			struct dbb_pool **out)
{
	struct connection_reply reply;
	int ret;

	ret = connection_need_feature(client, "pools");
	if (ret < 0)
		return ret;
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, req, BODY(POOL), CONNECTION_NFDS_ANY,
			      &reply);
	if (ret == 0 && reply.nfds != reply.resp->pool->count) {
		connection_set_error(client, "pool reply with a wrong number of fds");
		ret = -EPROTO;
	}
	if (ret == 0)
		ret = pool_from_reply(client, reply.resp->pool, reply.fds,
				      reply.nfds, out);
	connection_reply_clear(&reply);
	connection_unlock(client);
	return ret;
}

int dbb_pool_alloc(struct dbb_client *client, const struct dbb_pool_params *user,
		   struct dbb_pool **out)
{
	DmabufBroker__V1__PoolAllocRequest body =
		DMABUF_BROKER__V1__POOL_ALLOC_REQUEST__INIT;
	DmabufBroker__V1__AllocRequest alloc = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	struct dbb_pool_params params;
	struct request_common rc;
	int ret;

	if (!client || !user || !out)
		return -EINVAL;
	ret = structs_copy_in(&params, sizeof(params), STRUCTS_POOL_PARAMS_V1,
			      user);
	if (ret < 0)
		return ret;
	if (params.count < 1 || params.count > DBB_POOL_MAX_BUFFERS)
		return -EINVAL;
	ret = request_alloc_body(client, &params.buffer, &rc, &alloc);
	if (ret < 0)
		return ret;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOL_ALLOC;
	req.pool_alloc = &body;
	body.count = params.count;
	body.buffer = &alloc;
	return pool_request(client, &req, out);
}

static int pool_open(struct dbb_client *client,
		     DmabufBroker__V1__PoolOpenRequest *body, bool read_only,
		     struct dbb_pool **out)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	int ret;

	if (read_only) {
		ret = connection_need_feature(client, "read-only");
		if (ret < 0)
			return ret;
	}
	body->read_only = read_only;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOL_OPEN;
	req.pool_open = body;
	return pool_request(client, &req, out);
}

int dbb_pool_open_by_name(struct dbb_client *client, const char *name,
			  bool read_only, struct dbb_pool **out)
{
	DmabufBroker__V1__PoolOpenRequest body =
		DMABUF_BROKER__V1__POOL_OPEN_REQUEST__INIT;

	if (!client || !name || !out)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__POOL_OPEN_REQUEST__TARGET_NAME;
	body.name = (char *)name;
	return pool_open(client, &body, read_only, out);
}

int dbb_pool_open_by_id(struct dbb_client *client, uint64_t id,
			bool read_only, struct dbb_pool **out)
{
	DmabufBroker__V1__PoolOpenRequest body =
		DMABUF_BROKER__V1__POOL_OPEN_REQUEST__INIT;

	if (!client || !out)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__POOL_OPEN_REQUEST__TARGET_ID;
	body.id = id;
	return pool_open(client, &body, read_only, out);
}

/* ---- descriptions ---- */

/* An Info on a pool: the reply describes it (a buffer's id or name is
 * no pool: -ENOENT). */
static int pool_info(struct dbb_client *client,
		     DmabufBroker__V1__InfoRequest *body,
		     struct dbb_pool_info **out)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	struct connection_reply reply;
	int ret;

	ret = connection_need_feature(client, "pools");
	if (ret < 0)
		return ret;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_INFO;
	req.info = body;
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, &req, BODY(_NOT_SET), 0, &reply);
	if (ret == 0 && reply.resp->body_case != BODY(POOL)) {
		connection_set_error(client, "not a pool");
		ret = -ENOENT;
	}
	if (ret == 0)
		ret = pool_info_from_proto(reply.resp->pool, out);
	connection_reply_clear(&reply);
	connection_unlock(client);
	return ret;
}

int dbb_pool_info_by_id(struct dbb_client *client, uint64_t id,
			struct dbb_pool_info **out)
{
	DmabufBroker__V1__InfoRequest body = DMABUF_BROKER__V1__INFO_REQUEST__INIT;

	if (!client || !out)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_ID;
	body.id = id;
	return pool_info(client, &body, out);
}

int dbb_pool_info_by_name(struct dbb_client *client, const char *name,
			  struct dbb_pool_info **out)
{
	DmabufBroker__V1__InfoRequest body = DMABUF_BROKER__V1__INFO_REQUEST__INIT;

	if (!client || !name || !out)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_NAME;
	body.name = (char *)name;
	return pool_info(client, &body, out);
}

struct dbb_pool_list {
	struct dbb_pool_info **pools;
	size_t count;
};

size_t dbb_pool_list_count(const struct dbb_pool_list *list)
{
	return list ? list->count : 0;
}

const struct dbb_pool_info *dbb_pool_list_get(const struct dbb_pool_list *list,
					      size_t i)
{
	return list && i < list->count ? list->pools[i] : NULL;
}

void dbb_pool_list_free(struct dbb_pool_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		dbb_pool_info_free(list->pools[i]);
	free(list->pools);
	free(list);
}

/* Appends the page's pools to @list. */
static int pool_list_append(struct dbb_pool_list *list,
			    const DmabufBroker__V1__PoolsReply *page)
{
	struct dbb_pool_info **more;

	if (!page->n_pools)
		return 0;
	more = reallocarray(list->pools, list->count + page->n_pools,
			    sizeof(*more));
	if (!more)
		return -ENOMEM;
	list->pools = more;
	for (size_t i = 0; i < page->n_pools; i++) {
		int ret = pool_info_from_proto(page->pools[i],
					       &list->pools[list->count]);

		if (ret < 0)
			return ret;
		list->count++;
	}
	return 0;
}

int dbb_pools(struct dbb_client *client, struct dbb_pool_list **out)
{
	DmabufBroker__V1__PoolsRequest body = DMABUF_BROKER__V1__POOLS_REQUEST__INIT;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	struct dbb_pool_list *list;
	struct connection_reply reply;
	uint64_t next;
	int ret;

	if (!client || !out)
		return -EINVAL;
	ret = connection_need_feature(client, "pools");
	if (ret < 0)
		return ret;
	list = calloc(1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOLS;
	req.pools = &body;
	ret = connection_lock(client);
	if (ret < 0) {
		dbb_pool_list_free(list);
		return ret;
	}
	for (;;) {
		ret = connection_call(client, &req, BODY(POOLS), 0, &reply);
		if (ret < 0)
			break;
		next = reply.resp->pools->next_after_id;
		ret = pool_list_append(list, reply.resp->pools);
		connection_reply_clear(&reply);
		if (ret == 0 && next != 0 && next <= body.after_id) {
			/* Would loop forever: ids only grow. */
			connection_set_error(client, "pool paging went backwards");
			ret = -EPROTO;
		}
		if (ret < 0 || next == 0)
			break;
		body.after_id = next;
	}
	connection_unlock(client);
	if (ret < 0) {
		dbb_pool_list_free(list);
		return ret;
	}
	*out = list;
	return 0;
}
