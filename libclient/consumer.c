/* SPDX-License-Identifier: MIT */
/*
 * The consumer's end of a frame queue: frames in the order they came,
 * each waiting for its acquire fence (on the epoll set) before the
 * application may receive it, and releases back to the producer.
 *
 * The producer is not trusted: a frame that is malformed, for a buffer
 * this end still has, or with a fence that is not a sync_file ends the
 * queue with -EPROTO.  A frame whose fence does not signal within the
 * queue's fence timeout is given back at once, flagged TIMED_OUT, and
 * the frames behind it move up.  A producer that cut this consumer off
 * for holding a frame past the release timeout says so (a BYE) before
 * closing the channel: the queue then ends with -ECONNABORTED.
 */
#include "queue-private.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "chan.h"

int consumer_init(struct dbb_queue *q, int fd)
{
	struct consumer *c = &q->cons;
	int ret;

	for (uint32_t i = 0; i < DBB_POOL_MAX_BUFFERS; i++)
		c->frame[i].fence = -1;
	c->fd = -1;
	ret = queue_watch(q, fd, EPOLLIN, queue_tag(QUEUE_SRC_CHAN, 0, 0));
	if (ret < 0) {
		close(fd);
		return ret;
	}
	c->fd = fd;
	return 0;
}

static void consumer_close_fence(struct dbb_queue *q, uint32_t i)
{
	struct consumer_frame *fr = &q->cons.frame[i];

	if (fr->fence < 0)
		return;
	queue_unwatch(q, fr->fence);
	close(fr->fence);
	fr->fence = -1;
	q->cons.fences_pending--;
}

/* The queue is over (@err: -EPIPE, -EPROTO or -ECONNABORTED): the
 * channel is closed and the frames not received are dropped; the first
 * reason stays. */
static void consumer_end(struct dbb_queue *q, int err)
{
	struct consumer *c = &q->cons;

	if (!q->ended)
		q->ended = err;
	if (c->fd >= 0) {
		queue_unwatch(q, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	for (uint32_t i = 0; i < q->count; i++)
		consumer_close_fence(q, i);
	c->fifo_count = 0;
	c->unsent = 0;
}

/* What a call reports once the queue ended: that it ended (-EPIPE; a
 * producer's fault was reported when seen), or that this consumer was
 * cut off (-ECONNABORTED). */
static int consumer_end_status(const struct dbb_queue *q)
{
	return q->ended == -ECONNABORTED ? -ECONNABORTED : -EPIPE;
}

/* Whether @rx is a well-formed BYE. */
static bool consumer_is_bye(const struct dbb_queue *q, const struct chan_rx *rx)
{
	const char *why;

	return rx->msg.type == DBB_CHAN_BYE &&
	       chan_check(rx, DBB_CHAN_BYE, q->count, &why) == 0;
}

/* A send found the producer gone.  What it sent last is read only for a
 * BYE, which says why; the frames before it go with the queue. */
static void consumer_lost(struct dbb_queue *q)
{
	struct chan_rx rx[CHAN_BATCH];
	int err = -EPIPE, n;

	while ((n = chan_recv_batch(q->cons.fd, rx, CHAN_BATCH)) > 0) {
		for (int k = 0; k < n; k++) {
			if (consumer_is_bye(q, &rx[k]))
				err = -ECONNABORTED;
			if (rx[k].fence_fd >= 0)
				close(rx[k].fence_fd);
		}
	}
	consumer_end(q, err);
}

static int consumer_send_release(struct dbb_queue *q, uint32_t i, int fence,
				 uint32_t flags)
{
	struct consumer_frame *fr = &q->cons.frame[i];
	struct dbb_chan_msg m = {
		.magic = DBB_CHAN_MAGIC,
		.version = DBB_CHAN_VERSION,
		.type = DBB_CHAN_RELEASE,
		.index = i,
		.seq = fr->seq,
		.timestamp_ns = fr->timestamp_ns,
		.posted_ns = fr->posted_ns,
		.latency_ns = fr->ready_ns > fr->posted_ns ?
			      fr->ready_ns - fr->posted_ns : 0,
		.flags = flags | (fence >= 0 ? DBB_CHAN_HAS_FENCE : 0),
	};
	int ret = chan_send(q->cons.fd, &m, fence);

	if (ret == -EAGAIN)
		return ret;
	if (ret < 0) {
		consumer_lost(q);
		return consumer_end_status(q);
	}
	q->cons.owned &= ~(1u << i);
	queue_stat_add(&q->cons.counters.released, 1);
	queue_stat_add(&q->cons.counters.in_flight, -1);
	if (!(flags & DBB_CHAN_TIMED_OUT))
		queue_stat_latency(&q->cons.counters, m.latency_ns);
	return 0;
}

/* Sends the releases of timed-out frames that a full socket held back,
 * waiting for room (EPOLLOUT) while some are left. */
static void consumer_send_unsent(struct dbb_queue *q)
{
	struct consumer *c = &q->cons;

	for (uint32_t i = 0; c->unsent && i < q->count; i++) {
		int ret;

		if (!(c->unsent & 1u << i))
			continue;
		ret = consumer_send_release(q, i, -1, DBB_CHAN_TIMED_OUT);
		if (ret == -EAGAIN)
			break;
		c->unsent &= ~(1u << i);
	}
	if (c->fd >= 0 && (c->unsent != 0) != c->blocked) {
		c->blocked = c->unsent != 0;
		queue_rewatch(q, c->fd, c->blocked ? EPOLLIN | EPOLLOUT : EPOLLIN,
			      queue_tag(QUEUE_SRC_CHAN, 0, 0));
	}
}

/* Frame @i's acquire fence signalled, or (@timed_out) did not in time:
 * then the frame goes back to the producer unseen. */
static void consumer_fence_done(struct dbb_queue *q, uint32_t i, bool timed_out)
{
	struct consumer *c = &q->cons;
	uint32_t n = 0;

	consumer_close_fence(q, i);
	if (!timed_out) {
		c->frame[i].ready_ns = queue_now_ns();
		return;
	}
	queue_stat_add(&c->counters.fence_timeouts, 1);
	for (uint32_t k = 0; k < c->fifo_count; k++) {
		uint8_t v = c->fifo[(c->fifo_head + k) % DBB_POOL_MAX_BUFFERS];

		if (v != i)
			c->fifo[(c->fifo_head + n++) % DBB_POOL_MAX_BUFFERS] = v;
	}
	c->fifo_count = n;
	c->unsent |= 1u << i;
	consumer_send_unsent(q);
}

/* Why a frame from the producer is refused, or NULL. */
static const char *consumer_check_frame(struct dbb_queue *q,
					const struct chan_rx *rx)
{
	const char *why;

	if (chan_check(rx, DBB_CHAN_FRAME, q->count, &why) < 0)
		return why;
	if (q->cons.owned & 1u << rx->msg.index)
		return "a frame for a buffer still in use";
	if (rx->fence_fd >= 0 && !fence_is_sync_file(rx->fence_fd))
		return "an acquire fence that is not a sync_file";
	return NULL;
}

static void consumer_accept(struct dbb_queue *q, const struct chan_rx *rx)
{
	struct consumer *c = &q->cons;
	uint32_t i = rx->msg.index;
	struct consumer_frame *fr = &c->frame[i];
	uint64_t now = queue_now_ns();

	*fr = (struct consumer_frame){
		.seq = rx->msg.seq,
		.timestamp_ns = rx->msg.timestamp_ns,
		.posted_ns = rx->msg.posted_ns,
		.ready_ns = now,
		.fence = -1,
	};
	c->owned |= 1u << i;
	c->fifo[(c->fifo_head + c->fifo_count) % DBB_POOL_MAX_BUFFERS] = (uint8_t)i;
	c->fifo_count++;
	queue_stat_add(&c->counters.delivered, 1);
	queue_stat_add(&c->counters.in_flight, 1);
	if (rx->fence_fd < 0)
		return;
	fr->ready_ns = 0;
	fr->deadline_ns = now + (uint64_t)q->fence_timeout_ms * 1000000u;
	if (queue_watch(q, rx->fence_fd, EPOLLIN,
			queue_tag(QUEUE_SRC_FENCE, i, 0)) < 0) {
		/* Cannot wait for it: as if it timed out now. */
		close(rx->fence_fd);
		consumer_fence_done(q, i, true);
		return;
	}
	fr->fence = rx->fence_fd;
	c->fences_pending++;
	queue_timer_arm(q, fr->deadline_ns);
}

/* Reads every frame that is ready, a batch at a time. */
static int consumer_read(struct dbb_queue *q)
{
	struct chan_rx rx[CHAN_BATCH];
	int done = 0;

	while (q->cons.fd >= 0) {
		int n = chan_recv_batch(q->cons.fd, rx, CHAN_BATCH);

		if (n == -EAGAIN)
			break;
		for (int k = 0; k < n; k++) {
			if (q->cons.fd >= 0 && consumer_is_bye(q, &rx[k])) {
				consumer_end(q, -ECONNABORTED);
				continue;
			}
			if (q->cons.fd < 0 || consumer_check_frame(q, &rx[k])) {
				if (rx[k].fence_fd >= 0)
					close(rx[k].fence_fd);
				consumer_end(q, -EPROTO);
				continue;
			}
			consumer_accept(q, &rx[k]);
			done++;
		}
		if (n <= 0)
			consumer_end(q, -EPIPE);
		if ((size_t)n < CHAN_BATCH)
			break;
	}
	return done;
}

static void consumer_fence_timeouts(struct dbb_queue *q)
{
	struct consumer *c = &q->cons;
	uint64_t now = queue_now_ns(), next = 0;

	for (uint32_t i = 0; i < q->count && c->fences_pending; i++) {
		uint64_t d = c->frame[i].deadline_ns;

		if (c->frame[i].fence < 0)
			continue;
		if (d <= now)
			consumer_fence_done(q, i, true);
		else if (!next || d < next)
			next = d;
	}
	queue_timer_set(q, next);
}

int consumer_handle(struct dbb_queue *q, uint64_t tag, uint32_t events)
{
	switch (QUEUE_TAG_SRC(tag)) {
	case QUEUE_SRC_CHAN:
		if (events & EPOLLOUT)
			consumer_send_unsent(q);
		return consumer_read(q);
	case QUEUE_SRC_FENCE:
		if (q->cons.frame[QUEUE_TAG_INDEX(tag)].fence >= 0)
			consumer_fence_done(q, QUEUE_TAG_INDEX(tag), false);
		return 1;
	case QUEUE_SRC_TIMER:
		consumer_fence_timeouts(q);
		return 1;
	default:
		return 0;
	}
}

int consumer_take(struct dbb_queue *q, struct dbb_frame *f)
{
	struct consumer *c = &q->cons;
	uint32_t i;

	if (!c->fifo_count)
		return 0;
	i = c->fifo[c->fifo_head];
	if (!c->frame[i].ready_ns)
		return 0;
	c->fifo_head = (c->fifo_head + 1) % DBB_POOL_MAX_BUFFERS;
	c->fifo_count--;
	c->app |= 1u << i;
	f->index = i;
	f->seq = c->frame[i].seq;
	f->timestamp_ns = c->frame[i].timestamp_ns;
	f->fence_fd = -1;
	return 1;
}

int consumer_release(struct dbb_queue *q, uint32_t index, int fence)
{
	struct consumer *c = &q->cons;
	int ret;

	if (index >= q->count || !(c->app & 1u << index) ||
	    (fence >= 0 && !fence_is_sync_file(fence))) {
		ret = -EINVAL;
	} else if (q->ended) {
		c->app &= ~(1u << index);
		c->owned &= ~(1u << index);
		ret = consumer_end_status(q);
	} else {
		ret = consumer_send_release(q, index, fence, 0);
		if (ret == 0)
			c->app &= ~(1u << index);
	}
	if (fence >= 0)
		close(fence);
	return ret;
}

void consumer_counters(struct dbb_queue *q, struct dbb_queue_counters *out)
{
	queue_counters_copy(&q->cons.counters, out);
}

void consumer_fini(struct dbb_queue *q)
{
	consumer_end(q, -EPIPE);
}
