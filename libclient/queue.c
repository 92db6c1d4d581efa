/* SPDX-License-Identifier: MIT */
/*
 * Frame queues: the public calls, each end's epoll set and waits, and the
 * producer's link to the broker (its consumers' attach and detach events,
 * routed here from whichever call on the client read them).
 */
#include "queue-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Epoll events handled per wake-up. */
#define QUEUE_EVENTS 32

#define BODY(CASE) DMABUF_BROKER__V1__RESPONSE__BODY_##CASE

#define STRUCTS_QUEUE_PARAMS_V1 \
	offsetofend(struct dbb_queue_params, fence_timeout_ms)
#define STRUCTS_FRAME_V1 offsetofend(struct dbb_frame, fence_fd)

void queue_stat_add(uint64_t *p, int64_t delta)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + (uint64_t)delta,
			 __ATOMIC_RELAXED);
}

void queue_stat_latency(struct dbb_queue_stats_counters *c, uint64_t ns)
{
	queue_stat_add(&c->latency_sum_ns, (int64_t)ns);
	queue_stat_add(&c->latency_count, 1);
	if (ns > __atomic_load_n(&c->latency_max_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&c->latency_max_ns, ns, __ATOMIC_RELAXED);
}

void queue_counters_copy(const struct dbb_queue_stats_counters *c,
			 struct dbb_queue_counters *out)
{
	uint64_t n = __atomic_load_n(&c->latency_count, __ATOMIC_RELAXED);
	uint64_t sum = __atomic_load_n(&c->latency_sum_ns, __ATOMIC_RELAXED);

	*out = (struct dbb_queue_counters){
		.posted = __atomic_load_n(&c->posted, __ATOMIC_RELAXED),
		.delivered = __atomic_load_n(&c->delivered, __ATOMIC_RELAXED),
		.released = __atomic_load_n(&c->released, __ATOMIC_RELAXED),
		.dropped = __atomic_load_n(&c->dropped, __ATOMIC_RELAXED),
		.in_flight = __atomic_load_n(&c->in_flight, __ATOMIC_RELAXED),
		.fence_timeouts = __atomic_load_n(&c->fence_timeouts,
						  __ATOMIC_RELAXED),
		.latency_avg_usec = n ? sum / n / 1000 : 0,
		.latency_max_usec = __atomic_load_n(&c->latency_max_ns,
						    __ATOMIC_RELAXED) / 1000,
	};
}

uint64_t queue_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int queue_watch(struct dbb_queue *q, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int queue_rewatch(struct dbb_queue *q, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(q->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void queue_unwatch(struct dbb_queue *q, int fd)
{
	/* Explicitly: a fence's file may live on in the peer, and epoll
	 * forgets an fd only when its file is gone. */
	epoll_ctl(q->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void queue_timer_set(struct dbb_queue *q, uint64_t next_ns)
{
	struct itimerspec its = { 0 };

	if (next_ns) {
		its.it_value.tv_sec = (time_t)(next_ns / 1000000000u);
		its.it_value.tv_nsec = (long)(next_ns % 1000000000u);
	}
	/* A fired timer's expirations are read by setting it again. */
	timerfd_settime(q->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	q->timer_armed_ns = next_ns;
}

void queue_timer_arm(struct dbb_queue *q, uint64_t deadline_ns)
{
	if (!q->timer_armed_ns || deadline_ns < q->timer_armed_ns)
		queue_timer_set(q, deadline_ns);
}

int queue_new(enum queue_role role, uint32_t count, uint32_t fence_timeout_ms,
	      struct dbb_queue **out)
{
	struct dbb_queue *q;
	int ret;

	if (count < 1 || count > DBB_POOL_MAX_BUFFERS)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->role = role;
	q->count = count;
	q->fence_timeout_ms = fence_timeout_ms ? fence_timeout_ms :
				QUEUE_DEFAULT_FENCE_TIMEOUT_MS;
	q->timerfd = -1;
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epfd < 0)
		goto err_errno;
	q->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (q->timerfd < 0)
		goto err_errno;
	ret = queue_watch(q, q->timerfd, EPOLLIN,
			  queue_tag(QUEUE_SRC_TIMER, 0, 0));
	if (ret < 0)
		goto err_free;
	*out = q;
	return 0;
err_errno:
	ret = -errno;
err_free:
	if (q->timerfd >= 0)
		close(q->timerfd);
	if (q->epfd >= 0)
		close(q->epfd);
	free(q);
	return ret;
}

/* ---- the producer's broker side ---- */

bool queue_event_type(DmabufBroker__V1__Event__Type type)
{
	return type == DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_CONSUMER_ATTACHED ||
	       type == DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_CONSUMER_DETACHED;
}

void queue_route_event(struct dbb_client *client,
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
static int queue_drain_inbox(struct dbb_queue *q)
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
			producer_attach(q, inbox[k].slot, inbox[k].fd);
		else
			producer_detach(q, inbox[k].slot);
	}
	return (int)n;
}

/* The producer's connection broke or came back as another: the broker
 * ended the queue with it, so the consumers are let go. */
static void queue_producer_end(struct dbb_queue *q)
{
	if (q->ended)
		return;
	q->ended = -EPIPE;
	for (uint32_t s = 0; s < DBB_QUEUE_MAX_CONSUMERS; s++)
		producer_detach(q, s);
}

/* Reads what the broker sent (events for this queue come back through
 * queue_route_event()), and notices a broken connection. */
static int queue_read_client(struct dbb_queue *q)
{
	struct dbb_client *client = q->prod.client;
	bool gone;
	int ret;

	ret = connection_lock(client);
	if (ret < 0)
		return ret == -ETIMEDOUT ? 0 : ret;
	for (size_t i = 0; i < EVENTS_QUEUE_MAX && !client->gone; i++)
		if (connection_read_pending(client) <= 0)
			break;
	gone = client->gone || client->generation != q->prod.generation;
	connection_unlock(client);
	if (gone)
		queue_producer_end(q);
	return 1;
}

/* ---- waits ---- */

/* Handles what epoll reports within @timeout_ms (-1: forever). */
static int queue_pump(struct dbb_queue *q, int timeout_ms)
{
	struct epoll_event ev[QUEUE_EVENTS];
	int n, done = 0;

	/* A reconnect replaced the socket in the epoll set: the queue went
	 * with the old connection, whether or not its end was seen. */
	if (q->role == QUEUE_PRODUCER && q->prod.client &&
	    __atomic_load_n(&q->prod.client->generation, __ATOMIC_RELAXED) !=
	    q->prod.generation) {
		queue_producer_end(q);
		return 0;
	}
	n = epoll_wait(q->epfd, ev, QUEUE_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int k = 0; k < n; k++) {
		uint64_t tag = ev[k].data.u64;

		switch (QUEUE_TAG_SRC(tag)) {
		case QUEUE_SRC_CLIENT:
			done += queue_read_client(q);
			break;
		case QUEUE_SRC_INBOX:
			done += queue_drain_inbox(q);
			break;
		default:
			done += q->role == QUEUE_PRODUCER ?
				producer_handle(q, tag, ev[k].events) :
				consumer_handle(q, tag, ev[k].events);
		}
	}
	return done;
}

/* Milliseconds a blocking call waits: its argument, or the client's
 * timeout for a negative one (the default for an end without one). */
static int queue_timeout(const struct dbb_queue *q, int timeout_ms)
{
	struct dbb_client *client = q->role == QUEUE_PRODUCER ? q->prod.client :
				    q->cons.client;

	if (timeout_ms >= 0)
		return timeout_ms;
	if (client)
		return __atomic_load_n(&client->timeout_ms, __ATOMIC_RELAXED);
	return DBB_DEFAULT_TIMEOUT_MS;
}

/*
 * Makes @attempt until it is not -EAGAIN, dispatching in between, for at
 * most @timeout_ms (0: one dispatch).  Returns what @attempt returned,
 * -EAGAIN (@timeout_ms 0), -ETIMEDOUT, or the end's status.
 */
static int queue_wait(struct dbb_queue *q, int timeout_ms,
		      int (*attempt)(struct dbb_queue *q, void *arg), void *arg)
{
	uint64_t deadline;
	int ret;

	timeout_ms = queue_timeout(q, timeout_ms);
	deadline = queue_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		uint64_t now;

		if (q->ended)
			return q->ended;
		ret = attempt(q, arg);
		if (ret != -EAGAIN)
			return ret;
		now = queue_now_ns();
		if (timeout_ms == 0) {
			ret = queue_pump(q, 0);
			if (ret < 0)
				return ret;
			return q->ended ? q->ended : attempt(q, arg);
		}
		if (now >= deadline)
			return -ETIMEDOUT;
		ret = queue_pump(q, (int)((deadline - now + 999999u) / 1000000u));
		if (ret < 0)
			return ret;
	}
}

/* ---- the public calls ---- */

int dbb_queue_get_fd(const struct dbb_queue *q)
{
	return q ? q->epfd : -EINVAL;
}

size_t dbb_queue_consumer_count(const struct dbb_queue *q)
{
	if (!q || q->role != QUEUE_PRODUCER)
		return 0;
	return (size_t)__builtin_popcount(q->prod.attached);
}

struct dbb_pool *dbb_queue_get_pool(struct dbb_queue *q)
{
	return q ? q->pool : NULL;
}

int dbb_queue_dispatch(struct dbb_queue *q)
{
	int ret;

	if (!q)
		return -EINVAL;
	if (q->ended)
		return q->ended;
	ret = queue_pump(q, 0);
	return q->ended ? q->ended : ret;
}

static int queue_try_acquire(struct dbb_queue *q, void *index)
{
	return producer_acquire(q, index);
}

int dbb_queue_acquire(struct dbb_queue *q, int timeout_ms, uint32_t *index)
{
	if (!q || q->role != QUEUE_PRODUCER || !index)
		return -EINVAL;
	return queue_wait(q, timeout_ms, queue_try_acquire, index);
}

int dbb_queue_post(struct dbb_queue *q, const struct dbb_frame *frame)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };
	int fence = frame ? frame->fence_fd : -1;
	int ret = -EINVAL;

	if (q && q->role == QUEUE_PRODUCER && frame)
		ret = structs_copy_in(&f, sizeof(f), STRUCTS_FRAME_V1, frame);
	if (ret == 0 && q->ended)
		ret = q->ended;
	if (ret < 0) {
		if (fence >= 0)
			close(fence);
		return ret;
	}
	return producer_post(q, &f, fence);
}

static int queue_try_take(struct dbb_queue *q, void *frame)
{
	return consumer_take(q, frame) ? 0 : -EAGAIN;
}

int dbb_queue_receive(struct dbb_queue *q, int timeout_ms,
		      struct dbb_frame *frame)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };
	int ret;

	if (!q || q->role != QUEUE_CONSUMER || !frame ||
	    frame->struct_size < STRUCTS_FRAME_V1)
		return -EINVAL;
	ret = queue_wait(q, timeout_ms, queue_try_take, &f);
	if (ret < 0)
		return ret;
	return structs_copy_out(frame, &f, sizeof(f), STRUCTS_FRAME_V1);
}

int dbb_queue_release(struct dbb_queue *q, uint32_t index, int release_fence_fd)
{
	if (!q || q->role != QUEUE_CONSUMER) {
		if (release_fence_fd >= 0)
			close(release_fence_fd);
		return -EINVAL;
	}
	return consumer_release(q, index, release_fence_fd);
}

int dbb_queue_get_counters(struct dbb_queue *q, struct dbb_queue_counters *out)
{
	if (!q || !out)
		return -EINVAL;
	if (q->role == QUEUE_PRODUCER)
		producer_counters(q, out);
	else
		consumer_counters(q, out);
	return 0;
}

/* Tells the broker the end is gone (not waiting for the reply) and drops
 * the end's reference to the client. */
static void queue_detach_client(struct dbb_client *client, uint64_t pool_id)
{
	DmabufBroker__V1__QueueDetachRequest body =
		DMABUF_BROKER__V1__QUEUE_DETACH_REQUEST__INIT;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;

	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_DETACH;
	req.queue_detach = &body;
	body.pool_id = pool_id;
	if (!client->destroyed && !client->gone)
		connection_send_only(client, &req);
}

/* Takes a producer out of its client's list, under the client's lock. */
static void queue_unlink(struct dbb_queue *q)
{
	struct dbb_queue **pp = &q->prod.client->queues;

	while (*pp && *pp != q)
		pp = &(*pp)->prod.next;
	if (*pp)
		*pp = q->prod.next;
}

void dbb_queue_destroy(struct dbb_queue *q)
{
	struct dbb_client *client;

	if (!q)
		return;
	client = q->role == QUEUE_PRODUCER ? q->prod.client : q->cons.client;
	if (q->role == QUEUE_PRODUCER) {
		producer_fini(q);
		if (client) {
			connection_lock_always(client);
			queue_unlink(q);
			if (q->prod.generation == client->generation)
				queue_detach_client(client, q->prod.pool_id);
			connection_unlock(client);
		}
		if (q->prod.stats_mapped)
			munmap(q->prod.stats, DBB_QUEUE_STATS_SIZE);
		for (uint32_t k = 0; k < q->prod.inbox_count; k++)
			if (q->prod.inbox[k].fd >= 0)
				close(q->prod.inbox[k].fd);
		if (q->prod.inbox_fd >= 0)
			close(q->prod.inbox_fd);
		pthread_mutex_destroy(&q->prod.inbox_lock);
	} else {
		consumer_fini(q);
		if (client) {
			connection_lock_always(client);
			if (q->cons.generation == client->generation)
				queue_detach_client(client,
						    dbb_pool_get_id(q->pool));
			connection_unlock(client);
		}
	}
	if (client)
		connection_unref(client);
	if (q->owns_pool)
		dbb_pool_free(q->pool);
	close(q->timerfd);
	close(q->epfd);
	free(q);
}

/* ---- set-up through the broker ---- */

/* Maps the stats page the broker sent (@fd, closed here) after checking
 * that it is one. */
static int queue_map_stats(int fd, struct dbb_queue_stats_page **out)
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
static int queue_producer_new(struct dbb_client *client, struct dbb_pool *pool,
			      const struct dbb_queue_params *params,
			      int stats_fd, struct dbb_queue **out)
{
	struct dbb_queue_stats_page *page = NULL;
	struct dbb_queue *q;
	int ret;

	ret = queue_map_stats(stats_fd, &page);
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
	q->prod.stats = page;
	q->prod.stats_mapped = true;
	q->pool = pool;
	pthread_mutex_init(&q->prod.inbox_lock, NULL);
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
	    params.max_in_flight > dbb_pool_get_count(pool))
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
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, &req, BODY(POOL), 1, &reply);
	if (ret == 0) {
		ret = queue_producer_new(client, pool, &params, reply.fds[0],
					 producer);
		reply.nfds = 0;
	}
	connection_reply_clear(&reply);
	connection_unlock(client);
	return ret;
}

/* What an attach reply brings: the pool, the channel, the fence timeout. */
struct queue_attached {
	struct dbb_pool *pool;
	int chan;
	uint32_t fence_timeout_ms;
	uint32_t generation;
};

/* With the client's lock held: takes the pool and channel out of an
 * attach reply, and a reference to @client for the consumer. */
static int queue_take_attach_reply(struct dbb_client *client,
				   struct connection_reply *reply,
				   struct queue_attached *a)
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
static int queue_consumer_new(struct dbb_client *client,
			      struct queue_attached *a, struct dbb_queue **out)
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

static int queue_attach(struct dbb_client *client,
			DmabufBroker__V1__QueueAttachRequest *body,
			struct dbb_queue **consumer)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	struct connection_reply reply;
	struct queue_attached a;
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
		ret = queue_take_attach_reply(client, &reply, &a);
	connection_reply_clear(&reply);
	connection_unlock(client);
	if (ret < 0)
		return ret;
	return queue_consumer_new(client, &a, consumer);
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
	return queue_attach(client, &body, consumer);
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
	return queue_attach(client, &body, consumer);
}
