/* SPDX-License-Identifier: MIT */
/*
 * A frame queue's link to the broker: setting the ends up (QueueCreate,
 * QueueAttach), the producer's consumers coming and going (the broker's
 * events, routed here from whichever call on the client read them, and
 * applied by the producer's own dispatch), the end of the producer's
 * connection, and the detach at destroy.
 */
#include "queue-private.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BODY(CASE) DMABUF_BROKER__V1__RESPONSE__BODY_##CASE

#define STRUCTS_QUEUE_PARAMS_V1 \
	offsetofend(struct dbb_queue_params, fence_timeout_ms)

bool link_event_type(DmabufBroker__V1__Event__Type type)
{
	return type == DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_CONSUMER_ATTACHED ||
	       type == DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_CONSUMER_DETACHED;
}

void link_route_event(struct dbb_client *client,
		      const DmabufBroker__V1__Event *ev, int *fds, size_t nfds)
{
	bool attach = ev->type ==
		DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_CONSUMER_ATTACHED;
	struct dbb_queue *q = client->queues;
	struct producer *p;

	while (q && (!ev->pool || q->prod.pool_id != ev->pool->id))
		q = q->prod.next;
	/* Only what the event must carry is taken. */
	if (!q || !ev->consumer || ev->consumer->slot >= DBB_QUEUE_MAX_CONSUMERS ||
	    nfds != (attach ? 1u : 0u))
		goto out;
	p = &q->prod;
	pthread_mutex_lock(&p->inbox_lock);
	if (p->inbox_count < QUEUE_INBOX_MAX) {
		p->inbox[p->inbox_count++] = (struct queue_inbox_entry){
			.attach = attach,
			.slot = ev->consumer->slot,
			.fd = attach ? fds[0] : -1,
			.client_id = ev->consumer->client_id,
		};
		if (attach)
			fds[0] = -1;
		eventfd_write(p->inbox_fd, 1);
	}
	pthread_mutex_unlock(&p->inbox_lock);
out:
	wire_close_fds(fds, nfds);
}

/* Applies the attach/detach events routed to the producer. */
int link_drain_inbox(struct dbb_queue *q)
{
	struct queue_inbox_entry inbox[QUEUE_INBOX_MAX];
	struct producer *p = &q->prod;
	eventfd_t value;
	uint32_t n;

	pthread_mutex_lock(&p->inbox_lock);
	n = p->inbox_count;
	memcpy(inbox, p->inbox, n * sizeof(inbox[0]));
	p->inbox_count = 0;
	eventfd_read(p->inbox_fd, &value);
	pthread_mutex_unlock(&p->inbox_lock);
	for (uint32_t k = 0; k < n; k++) {
		if (inbox[k].attach)
			producer_attach(q, inbox[k].slot, inbox[k].fd,
					inbox[k].client_id);
		else
			producer_detach(q, inbox[k].slot);
	}
	return (int)n;
}

/* The producer's connection broke or came back as another: the broker
 * ended the queue with it, so the consumers are let go. */
static void link_end(struct dbb_queue *q)
{
	if (q->ended)
		return;
	q->ended = -EPIPE;
	for (uint32_t s = 0; s < DBB_QUEUE_MAX_CONSUMERS; s++)
		producer_detach(q, s);
}

/* Reads what the broker sent (events for this queue come back through
 * link_route_event()), and notices a broken connection. */
int link_read_client(struct dbb_queue *q)
{
	struct dbb_client *client = q->prod.client;
	bool gone;
	int ret;

	ret = connection_lock(client);
	if (ret == -ETIMEDOUT)
		return 0;	/* another thread's call reads meanwhile */
	if (ret < 0) {
		/* The client was destroyed, and the queue with it. */
		link_end(q);
		return 1;
	}
	for (size_t i = 0; i < EVENTS_QUEUE_MAX && !client->gone; i++)
		if (connection_read_pending(client) <= 0)
			break;
	gone = client->gone || client->generation != q->prod.generation;
	connection_unlock(client);
	if (gone)
		link_end(q);
	return 1;
}

/* Maps the stats page the broker sent (@fd, closed here) after checking
 * that it is one. */
static int link_map_stats(int fd, struct dbb_queue_stats_page **out)
{
	struct dbb_queue_stats_page *page = NULL;
	struct stat st;
	int ret = 0;

	if (fstat(fd, &st) < 0 || st.st_size < (off_t)DBB_QUEUE_STATS_SIZE) {
		close(fd);
		return -EPROTO;
	}
	page = mmap(NULL, DBB_QUEUE_STATS_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	close(fd);
	if (page == MAP_FAILED)
		return -errno;
	if (page->magic != DBB_QUEUE_STATS_MAGIC ||
	    page->version != DBB_QUEUE_STATS_VERSION ||
	    page->max_consumers != DBB_QUEUE_MAX_CONSUMERS) {
		munmap(page, DBB_QUEUE_STATS_SIZE);
		ret = -EPROTO;
	}
	*out = page;
	return ret;
}

/* With the client's lock held: the producer end of a queue the broker
 * made, whose stats page is @stats_fd (taken). */
static int link_producer_new(struct dbb_client *client, struct dbb_pool *pool,
			     const struct dbb_queue_params *params,
			     int stats_fd, struct dbb_queue **out)
{
	struct dbb_queue_stats_page *page = NULL;
	struct dbb_queue *q;
	int ret;

	ret = link_map_stats(stats_fd, &page);
	if (ret < 0) {
		connection_set_error(client, "the queue's stats page is not one");
		return ret;
	}
	ret = queue_new(QUEUE_PRODUCER, (uint32_t)dbb_pool_get_count(pool),
			params->fence_timeout_ms, &q);
	if (ret < 0) {
		munmap(page, DBB_QUEUE_STATS_SIZE);
		return ret;
	}
	producer_init(q, params->policy, params->max_in_flight);
	q->release_timeout_ms = params->release_timeout_ms;
	q->prod.stats = page;
	q->prod.stats_mapped = true;
	q->pool = pool;
	q->prod.inbox_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->prod.inbox_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = queue_watch(q, q->prod.inbox_fd, EPOLLIN,
			  queue_tag(QUEUE_SRC_INBOX, 0, 0));
	if (ret == 0)
		ret = queue_watch(q, client->sock, EPOLLIN,
				  queue_tag(QUEUE_SRC_CLIENT, 0, 0));
	if (ret < 0)
		goto err;
	q->prod.client = client;
	q->prod.generation = client->generation;
	q->prod.pool_id = dbb_pool_get_id(pool);
	q->prod.next = client->queues;
	client->queues = q;
	client->refs++;
	*out = q;
	return 0;
err:
	q->prod.client = NULL;
	dbb_queue_destroy(q);
	return ret;
}

int dbb_queue_create(struct dbb_client *client, struct dbb_pool *pool,
		     const struct dbb_queue_params *user,
		     struct dbb_queue **producer)
{
	DmabufBroker__V1__QueueCreateRequest body =
		DMABUF_BROKER__V1__QUEUE_CREATE_REQUEST__INIT;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	struct dbb_queue_params params = { .struct_size = sizeof(params) };
	struct connection_reply reply;
	int ret;

	if (!client || !pool || !producer)
		return -EINVAL;
	if (user) {
		ret = structs_copy_in(&params, sizeof(params),
				      STRUCTS_QUEUE_PARAMS_V1, user);
		if (ret < 0)
			return ret;
	}
	if ((unsigned)params.policy > DBB_QUEUE_LATEST ||
	    params.max_in_flight > dbb_pool_get_count(pool) ||
	    params.release_timeout_ms > DBB_QUEUE_MAX_RELEASE_TIMEOUT_MS)
		return -EINVAL;
	ret = connection_need_feature(client, "queues");
	if (ret < 0)
		return ret;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_CREATE;
	req.queue_create = &body;
	body.pool_id = dbb_pool_get_id(pool);
	body.policy = (DmabufBroker__V1__QueuePolicy)params.policy;
	body.max_in_flight = params.max_in_flight;
	body.fence_timeout_ms = params.fence_timeout_ms;
	body.release_timeout_ms = params.release_timeout_ms;
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, &req, BODY(POOL), 1, &reply);
	if (ret == 0) {
		ret = link_producer_new(client, pool, &params, reply.fds[0],
					producer);
		reply.nfds = 0;
	}
	connection_reply_clear(&reply);
	connection_unlock(client);
	return ret;
}

/* What an attach reply brings: the pool, the channel, the fence timeout. */
struct link_attached {
	struct dbb_pool *pool;
	int chan;
	uint32_t fence_timeout_ms;
	uint32_t generation;
};

/* With the client's lock held: takes the pool and channel out of an
 * attach reply, and a reference to @client for the consumer. */
static int link_take_attach_reply(struct dbb_client *client,
				  struct connection_reply *reply,
				  struct link_attached *a)
{
	const DmabufBroker__V1__PoolInfo *pb = reply->resp->pool;
	int ret;

	if (pb->count < 1 || pb->count > DBB_POOL_MAX_BUFFERS ||
	    reply->nfds != pb->count + 1u ||
	    pb->consumer_slot >= DBB_QUEUE_MAX_CONSUMERS) {
		connection_set_error(client, "malformed attach reply");
		return -EPROTO;
	}
	ret = pool_from_reply(client, pb, reply->fds, pb->count, &a->pool);
	if (ret < 0)
		return ret;
	a->chan = reply->fds[pb->count];
	reply->fds[pb->count] = -1;
	a->fence_timeout_ms = pb->queue ? pb->queue->fence_timeout_ms : 0;
	a->generation = client->generation;
	client->refs++;
	return 0;
}

/* Without the client's lock: the consumer end of what was attached;
 * on failure lets it all go. */
static int link_consumer_new(struct dbb_client *client,
			     struct link_attached *a, struct dbb_queue **out)
{
	struct dbb_queue *q;
	int ret;

	ret = queue_new(QUEUE_CONSUMER, (uint32_t)dbb_pool_get_count(a->pool),
			a->fence_timeout_ms, &q);
	if (ret < 0) {
		close(a->chan);
		dbb_pool_free(a->pool);
		connection_unref(client);
		return ret;
	}
	q->pool = a->pool;
	q->owns_pool = true;
	q->cons.client = client;
	q->cons.generation = a->generation;
	ret = consumer_init(q, a->chan);
	if (ret < 0) {
		dbb_queue_destroy(q);
		return ret;
	}
	*out = q;
	return 0;
}

static int link_attach(struct dbb_client *client,
		       DmabufBroker__V1__QueueAttachRequest *body,
		       struct dbb_queue **consumer)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	struct connection_reply reply;
	struct link_attached a;
	int ret;

	ret = connection_need_feature(client, "queues");
	if (ret < 0)
		return ret;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_ATTACH;
	req.queue_attach = body;
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, &req, BODY(POOL), CONNECTION_NFDS_ANY,
			      &reply);
	if (ret == 0)
		ret = link_take_attach_reply(client, &reply, &a);
	connection_reply_clear(&reply);
	connection_unlock(client);
	if (ret < 0)
		return ret;
	return link_consumer_new(client, &a, consumer);
}

int dbb_queue_attach_by_name(struct dbb_client *client, const char *pool_name,
			     bool read_only, struct dbb_queue **consumer)
{
	DmabufBroker__V1__QueueAttachRequest body =
		DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__INIT;

	if (!client || !pool_name || !consumer)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__TARGET_NAME;
	body.name = (char *)pool_name;
	body.read_only = read_only;
	return link_attach(client, &body, consumer);
}

int dbb_queue_attach_by_id(struct dbb_client *client, uint64_t pool_id,
			   bool read_only, struct dbb_queue **consumer)
{
	DmabufBroker__V1__QueueAttachRequest body =
		DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__INIT;

	if (!client || !consumer)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__TARGET_POOL_ID;
	body.pool_id = pool_id;
	body.read_only = read_only;
	return link_attach(client, &body, consumer);
}

bool link_lost(struct dbb_queue *q)
{
	/* A reconnect put a new socket under the old fd number, which took
	 * the old one out of the epoll set: the queue went with the old
	 * connection, whether or not its end was seen there. */
	if (q->prod.client &&
	    __atomic_load_n(&q->prod.client->generation, __ATOMIC_RELAXED) !=
	    q->prod.generation)
		link_end(q);
	return q->ended != 0;
}

/* Tells the broker the end is gone or, with @consumer_client_id, that
 * the producer cut that consumer off from @slot (not waiting for the
 * reply). */
static void link_detach(struct dbb_client *client, uint64_t pool_id,
			uint32_t slot, uint64_t consumer_client_id)
{
	DmabufBroker__V1__QueueDetachRequest body =
		DMABUF_BROKER__V1__QUEUE_DETACH_REQUEST__INIT;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;

	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_DETACH;
	req.queue_detach = &body;
	body.pool_id = pool_id;
	body.consumer_slot = slot;
	body.consumer_client_id = consumer_client_id;
	if (!client->destroyed && !client->gone)
		connection_send_only(client, &req);
}

void link_cut_off(struct dbb_queue *q, uint32_t slot, uint64_t client_id)
{
	struct dbb_client *client = q->prod.client;

	/* A broker without the feature would take the request for the end
	 * of the whole queue.  The lock is bounded: if another thread's call
	 * holds the client too long, the broker lists the consumer until it
	 * detaches or disconnects. */
	if (!client || !client_id ||
	    !dbb_client_has_feature(client, "queue-cut-off") ||
	    connection_lock(client) < 0)
		return;
	if (client->generation == q->prod.generation)
		link_detach(client, q->prod.pool_id, slot, client_id);
	connection_unlock(client);
}

void link_forget(struct dbb_queue *q)
{
	bool producer = q->role == QUEUE_PRODUCER;
	struct dbb_client *client = producer ? q->prod.client : q->cons.client;
	uint32_t generation = producer ? q->prod.generation : q->cons.generation;
	struct dbb_queue **pp;

	if (producer) {
		for (uint32_t k = 0; k < q->prod.inbox_count; k++)
			if (q->prod.inbox[k].fd >= 0)
				close(q->prod.inbox[k].fd);
		q->prod.inbox_count = 0;
	}
	if (!client)
		return;
	connection_lock_always(client);
	for (pp = &client->queues; producer && *pp; pp = &(*pp)->prod.next) {
		if (*pp == q) {
			*pp = q->prod.next;
			break;
		}
	}
	if (generation == client->generation)
		link_detach(client, producer ? q->prod.pool_id :
					      dbb_pool_get_id(q->pool), 0, 0);
	connection_unlock(client);
	connection_unref(client);
}
