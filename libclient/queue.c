/* SPDX-License-Identifier: MIT */
/*
 * Frame queues: each end's epoll set, timer and waits, and the calls
 * frames go through (link.c sets the ends up through the broker).
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

/* ---- waits ---- */

/* Handles what epoll reports within @timeout_ms (-1: forever). */
static int queue_pump(struct dbb_queue *q, int timeout_ms)
{
	struct epoll_event ev[QUEUE_EVENTS];
	int n, done = 0;

	if (q->role == QUEUE_PRODUCER && link_lost(q))
		return 0;
	n = epoll_wait(q->epfd, ev, QUEUE_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int k = 0; k < n; k++) {
		uint64_t tag = ev[k].data.u64;

		switch (QUEUE_TAG_SRC(tag)) {
		case QUEUE_SRC_CLIENT:
			done += link_read_client(q);
			break;
		case QUEUE_SRC_INBOX:
			done += link_drain_inbox(q);
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

void dbb_queue_destroy(struct dbb_queue *q)
{
	if (!q)
		return;
	if (q->role == QUEUE_PRODUCER) {
		producer_fini(q);
		link_forget(q);
		if (q->prod.stats_mapped)
			munmap(q->prod.stats, DBB_QUEUE_STATS_SIZE);
		if (q->prod.inbox_fd >= 0)
			close(q->prod.inbox_fd);
		pthread_mutex_destroy(&q->prod.inbox_lock);
	} else {
		consumer_fini(q);
		link_forget(q);
	}
	if (q->owns_pool)
		dbb_pool_free(q->pool);
	close(q->timerfd);
	close(q->epfd);
	free(q);
}
