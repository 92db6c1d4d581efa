/* SPDX-License-Identifier: MIT */
/*
 * The producer's end of a frame queue: which buffer is free, queued for
 * or held by which consumer, the policies, releases and their fences.
 *
 * Every buffer is in one state: FREE (in the free ring), ACQUIRED (the
 * application fills it) or POSTED.  A posted buffer carries three sets of
 * consumers: those whose FIFO still holds it (waiting), those it was sent
 * to and that did not release it (holders), and those whose release fence
 * has not signalled (fencing).  It is free again when all three are
 * empty.  A consumer's FIFO holds what the policy and max_in_flight kept
 * from being sent yet.  Nothing here allocates: every set is a bit mask,
 * every FIFO a ring of at most DBB_POOL_MAX_BUFFERS entries.
 *
 * One timerfd serves every deadline: release fences' timeouts and, with
 * a release timeout, each delivery's deadline for its release.  It is
 * armed for the earliest deadline known when armed; a later deadline
 * arms nothing (no syscall per frame), and when it fires every deadline
 * is checked and it is armed for the next one.
 *
 * Counters go to the stats page (the broker's, mapped, or a private one)
 * with relaxed atomic stores: the producer is their only writer, the
 * broker reads them whenever it likes.
 */
#include "queue-private.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "chan.h"

/* Batches read from one consumer per event, so that one chatty consumer
 * cannot hold the others up. */
#define PRODUCER_READ_BATCHES 4

/* Adds @delta to @field of the queue's counters and of consumer @slot's. */
#define PRODUCER_COUNT(q, slot, field, delta)                                \
	do {                                                                 \
		queue_stat_add(&(q)->prod.stats->queue.field, (delta));      \
		queue_stat_add(&(q)->prod.stats->consumer[slot].field,       \
			       (delta));                                     \
	} while (0)

void producer_init(struct dbb_queue *q, enum dbb_queue_policy policy,
		   uint32_t max_in_flight)
{
	struct producer *p = &q->prod;

	p->policy = policy;
	p->max_in_flight = max_in_flight && max_in_flight < q->count ?
			   max_in_flight : q->count;
	for (uint32_t i = 0; i < DBB_POOL_MAX_BUFFERS; i++) {
		p->buf[i].acquire_fence = -1;
		for (uint32_t s = 0; s < DBB_QUEUE_MAX_CONSUMERS; s++)
			p->buf[i].release_fence[s] = -1;
	}
	for (uint32_t i = 0; i < q->count; i++)
		p->free_ring[i] = (uint8_t)i;
	p->free_count = q->count;
	for (uint32_t s = 0; s < DBB_QUEUE_MAX_CONSUMERS; s++)
		p->cons[s].fd = -1;
	p->own_stats.magic = DBB_QUEUE_STATS_MAGIC;
	p->own_stats.version = DBB_QUEUE_STATS_VERSION;
	p->own_stats.max_consumers = DBB_QUEUE_MAX_CONSUMERS;
	p->stats = &p->own_stats;
	p->inbox_fd = -1;
	pthread_mutex_init(&p->inbox_lock, NULL);
}

bool producer_has_free(const struct dbb_queue *q)
{
	return q->prod.free_count > 0;
}

static void producer_close_acquire_fence(struct producer_buffer *b)
{
	if (b->acquire_fence >= 0)
		close(b->acquire_fence);
	b->acquire_fence = -1;
}

/* Back to the free ring when nobody waits for, holds or fences it. */
static void producer_maybe_free(struct dbb_queue *q, uint32_t i)
{
	struct producer *p = &q->prod;
	struct producer_buffer *b = &p->buf[i];

	if (b->state != PRODUCER_POSTED || b->waiting || b->holders || b->fencing)
		return;
	producer_close_acquire_fence(b);
	b->state = PRODUCER_FREE;
	p->free_ring[(p->free_head + p->free_count) % DBB_POOL_MAX_BUFFERS] =
		(uint8_t)i;
	p->free_count++;
}

static void producer_fifo_push(struct producer_consumer *c, uint32_t i)
{
	c->fifo[(c->fifo_head + c->fifo_count) % DBB_POOL_MAX_BUFFERS] = (uint8_t)i;
	c->fifo_count++;
}

static void producer_fifo_remove(struct producer_consumer *c, uint32_t i)
{
	uint32_t n = 0;

	/* Keeps the order of the others: at most 32 moves, off the
	 * common path (drops and detaches). */
	for (uint32_t k = 0; k < c->fifo_count; k++) {
		uint8_t v = c->fifo[(c->fifo_head + k) % DBB_POOL_MAX_BUFFERS];

		if (v != i)
			c->fifo[(c->fifo_head + n++) % DBB_POOL_MAX_BUFFERS] = v;
	}
	c->fifo_count = n;
}

/* Takes undelivered frame @i back from consumer @slot's FIFO, counted
 * dropped. */
static void producer_take_back(struct dbb_queue *q, uint32_t slot, uint32_t i)
{
	struct producer_buffer *b = &q->prod.buf[i];

	producer_fifo_remove(&q->prod.cons[slot], i);
	b->waiting &= (uint16_t)~(1u << slot);
	PRODUCER_COUNT(q, slot, dropped, 1);
	if (!b->waiting)
		producer_close_acquire_fence(b);
	producer_maybe_free(q, i);
}

static void producer_release_fence_done(struct dbb_queue *q, uint32_t i,
					uint32_t slot, bool timed_out)
{
	struct producer_buffer *b = &q->prod.buf[i];

	queue_unwatch(q, b->release_fence[slot]);
	close(b->release_fence[slot]);
	b->release_fence[slot] = -1;
	b->fencing &= (uint16_t)~(1u << slot);
	q->prod.fences_pending--;
	if (timed_out)
		PRODUCER_COUNT(q, slot, fence_timeouts, 1);
	producer_maybe_free(q, i);
}

void producer_detach(struct dbb_queue *q, uint32_t slot)
{
	struct producer *p = &q->prod;
	struct producer_consumer *c = &p->cons[slot];

	if (c->fd < 0)
		return;
	queue_unwatch(q, c->fd);
	close(c->fd);
	c->fd = -1;
	c->blocked = false;
	p->attached &= (uint16_t)~(1u << slot);
	while (c->fifo_count)
		producer_take_back(q, slot, c->fifo[c->fifo_head]);
	/* What it holds comes back now; release fences it already sent stay
	 * pending: its device may still be reading. */
	for (uint32_t i = 0; i < q->count; i++) {
		if (!(c->holds & 1u << i))
			continue;
		p->buf[i].holders &= (uint16_t)~(1u << slot);
		producer_maybe_free(q, i);
	}
	PRODUCER_COUNT(q, slot, in_flight, -(int64_t)c->in_flight);
	c->holds = 0;
	c->in_flight = 0;
}

int producer_attach(struct dbb_queue *q, uint32_t slot, int fd,
		    uint64_t client_id)
{
	struct producer_consumer *c;
	int ret;

	if (slot >= DBB_QUEUE_MAX_CONSUMERS || fd < 0) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	/* The broker reuses a slot only after the consumer left; if we have
	 * not seen it leave yet, it has. */
	producer_detach(q, slot);
	c = &q->prod.cons[slot];
	ret = queue_watch(q, fd, EPOLLIN, queue_tag(QUEUE_SRC_CHAN, 0, slot));
	if (ret < 0) {
		close(fd);
		return ret;
	}
	memset(&q->prod.stats->consumer[slot], 0,
	       sizeof(q->prod.stats->consumer[slot]));
	*c = (struct producer_consumer){ .fd = fd, .client_id = client_id };
	q->prod.attached |= (uint16_t)(1u << slot);
	return 0;
}

/* Waits (or stops waiting) for room on consumer @slot's socket. */
static void producer_set_blocked(struct dbb_queue *q, uint32_t slot, bool on)
{
	struct producer_consumer *c = &q->prod.cons[slot];

	if (c->blocked == on)
		return;
	c->blocked = on;
	queue_rewatch(q, c->fd, on ? EPOLLIN | EPOLLOUT : EPOLLIN,
		      queue_tag(QUEUE_SRC_CHAN, 0, slot));
}

/* Sends what consumer @slot's FIFO holds while it is under
 * max_in_flight; one sendmsg per frame. */
static void producer_flush(struct dbb_queue *q, uint32_t slot)
{
	struct producer *p = &q->prod;
	struct producer_consumer *c = &p->cons[slot];
	uint64_t deadline = 0;

	if (q->release_timeout_ms && c->fifo_count)
		deadline = queue_now_ns() +
			   (uint64_t)q->release_timeout_ms * 1000000u;
	while (c->fd >= 0 && c->fifo_count && c->in_flight < p->max_in_flight) {
		uint32_t i = c->fifo[c->fifo_head];
		struct producer_buffer *b = &p->buf[i];
		struct dbb_chan_msg m = {
			.magic = DBB_CHAN_MAGIC,
			.version = DBB_CHAN_VERSION,
			.type = DBB_CHAN_FRAME,
			.index = i,
			.seq = b->seq,
			.timestamp_ns = b->timestamp_ns,
			.posted_ns = b->posted_ns,
			.flags = b->acquire_fence >= 0 ? DBB_CHAN_HAS_FENCE : 0,
		};
		int ret = chan_send(c->fd, &m, b->acquire_fence);

		if (ret == -EAGAIN) {
			producer_set_blocked(q, slot, true);
			return;
		}
		if (ret < 0) {
			producer_detach(q, slot);
			return;
		}
		c->fifo_head = (c->fifo_head + 1) % DBB_POOL_MAX_BUFFERS;
		c->fifo_count--;
		b->waiting &= (uint16_t)~(1u << slot);
		b->holders |= (uint16_t)(1u << slot);
		c->holds |= 1u << i;
		c->in_flight++;
		if (deadline) {
			b->release_deadline_ns[slot] = deadline;
			queue_timer_arm(q, deadline);
		}
		PRODUCER_COUNT(q, slot, delivered, 1);
		PRODUCER_COUNT(q, slot, in_flight, 1);
		if (!b->waiting)
			producer_close_acquire_fence(b);
	}
	if (c->fd >= 0)
		producer_set_blocked(q, slot, false);
}

int producer_acquire(struct dbb_queue *q, uint32_t *index)
{
	struct producer *p = &q->prod;
	uint32_t i, oldest = UINT32_MAX;

	if (!p->free_count && p->policy == DBB_QUEUE_DROP_OLDEST) {
		/* The oldest frame that only FIFOs keep: taking it back from
		 * them frees its buffer. */
		for (i = 0; i < q->count; i++) {
			struct producer_buffer *b = &p->buf[i];

			if (b->state == PRODUCER_POSTED && b->waiting &&
			    !b->holders && !b->fencing &&
			    (oldest == UINT32_MAX || b->seq < p->buf[oldest].seq))
				oldest = i;
		}
		for (uint32_t s = 0; oldest != UINT32_MAX &&
				     s < DBB_QUEUE_MAX_CONSUMERS; s++)
			if (p->buf[oldest].waiting & 1u << s)
				producer_take_back(q, s, oldest);
	}
	if (!p->free_count)
		return -EAGAIN;
	i = p->free_ring[p->free_head];
	p->free_head = (p->free_head + 1) % DBB_POOL_MAX_BUFFERS;
	p->free_count--;
	p->buf[i].state = PRODUCER_ACQUIRED;
	*index = i;
	return 0;
}

int producer_post(struct dbb_queue *q, const struct dbb_frame *f, int fence)
{
	struct producer *p = &q->prod;
	struct producer_buffer *b;

	if (f->index >= q->count || p->buf[f->index].state != PRODUCER_ACQUIRED ||
	    (fence >= 0 && !fence_is_sync_file(fence))) {
		if (fence >= 0)
			close(fence);
		return -EINVAL;
	}
	b = &p->buf[f->index];
	if (f->seq)
		p->next_seq = f->seq;
	else
		p->next_seq++;
	b->seq = p->next_seq;
	b->timestamp_ns = f->timestamp_ns;
	b->posted_ns = queue_now_ns();
	b->acquire_fence = fence;
	b->state = PRODUCER_POSTED;
	queue_stat_add(&p->stats->queue.posted, 1);
	for (uint32_t s = 0; s < DBB_QUEUE_MAX_CONSUMERS; s++) {
		struct producer_consumer *c = &p->cons[s];

		if (!(p->attached & 1u << s))
			continue;
		queue_stat_add(&p->stats->consumer[s].posted, 1);
		if (p->policy == DBB_QUEUE_LATEST && c->fifo_count)
			producer_take_back(q, s, c->fifo[c->fifo_head]);
		producer_fifo_push(c, f->index);
		b->waiting |= (uint16_t)(1u << s);
	}
	for (uint32_t s = 0; s < DBB_QUEUE_MAX_CONSUMERS; s++)
		if (b->waiting & 1u << s)
			producer_flush(q, s);
	if (!b->waiting)
		producer_close_acquire_fence(b);
	producer_maybe_free(q, f->index);
	return 0;
}

/* Applies one valid release of frame @i by consumer @slot. */
static void producer_released(struct dbb_queue *q, uint32_t slot,
			      const struct dbb_chan_msg *m, int fence)
{
	struct producer *p = &q->prod;
	struct producer_consumer *c = &p->cons[slot];
	struct producer_buffer *b = &p->buf[m->index];

	c->holds &= ~(1u << m->index);
	c->in_flight--;
	b->holders &= (uint16_t)~(1u << slot);
	PRODUCER_COUNT(q, slot, released, 1);
	PRODUCER_COUNT(q, slot, in_flight, -1);
	if (m->flags & DBB_CHAN_TIMED_OUT) {
		PRODUCER_COUNT(q, slot, fence_timeouts, 1);
	} else {
		queue_stat_latency(&p->stats->queue, m->latency_ns);
		queue_stat_latency(&p->stats->consumer[slot], m->latency_ns);
	}
	if (fence >= 0) {
		uint64_t deadline = queue_now_ns() +
				    (uint64_t)q->fence_timeout_ms * 1000000u;

		if (queue_watch(q, fence, EPOLLIN,
				queue_tag(QUEUE_SRC_FENCE, m->index, slot)) < 0) {
			/* Cannot wait for it: as if it timed out now. */
			close(fence);
			PRODUCER_COUNT(q, slot, fence_timeouts, 1);
		} else {
			b->release_fence[slot] = fence;
			b->release_deadline_ns[slot] = deadline;
			b->fencing |= (uint16_t)(1u << slot);
			p->fences_pending++;
			queue_timer_arm(q, deadline);
		}
	}
	producer_maybe_free(q, m->index);
}

/* Why a release from consumer @slot is refused, or NULL. */
static const char *producer_check_release(struct dbb_queue *q, uint32_t slot,
					  const struct chan_rx *rx)
{
	const char *why;

	if (chan_check(rx, DBB_CHAN_RELEASE, q->count, &why) < 0)
		return why;
	if (!(q->prod.cons[slot].holds & 1u << rx->msg.index))
		return "a release of a frame it does not hold";
	if (rx->fence_fd >= 0 && !fence_is_sync_file(rx->fence_fd))
		return "a release fence that is not a sync_file";
	return NULL;
}

/* Reads what consumer @slot sent; cuts it off at the first thing wrong,
 * or at its end.  Returns the number of releases applied. */
static int producer_read(struct dbb_queue *q, uint32_t slot)
{
	struct chan_rx rx[CHAN_BATCH];
	int done = 0;

	for (int batch = 0; batch < PRODUCER_READ_BATCHES; batch++) {
		int fd = q->prod.cons[slot].fd;
		int n = fd < 0 ? -EAGAIN : chan_recv_batch(fd, rx, CHAN_BATCH);

		if (n == -EAGAIN)
			break;
		for (int k = 0; k < n; k++) {
			if (q->prod.cons[slot].fd < 0 ||
			    producer_check_release(q, slot, &rx[k])) {
				/* Cut off (now or before): the rest is moot. */
				if (rx[k].fence_fd >= 0)
					close(rx[k].fence_fd);
				producer_detach(q, slot);
				continue;
			}
			producer_released(q, slot, &rx[k].msg, rx[k].fence_fd);
			done++;
		}
		if (n <= 0) {
			/* Its end (0), or a socket error: it is gone. */
			producer_detach(q, slot);
			break;
		}
		producer_flush(q, slot);
		if ((size_t)n < CHAN_BATCH)
			break;
	}
	return done;
}

/*
 * Consumer @slot held a frame past the release timeout: it is told why
 * (a BYE, best effort: on a full socket it sees only the end), cut off
 * as a misbehaving consumer is, counted, and the broker asked to detach
 * it.
 */
static void producer_cut_off(struct dbb_queue *q, uint32_t slot)
{
	struct producer_consumer *c = &q->prod.cons[slot];
	const struct dbb_chan_msg bye = {
		.magic = DBB_CHAN_MAGIC,
		.version = DBB_CHAN_VERSION,
		.type = DBB_CHAN_BYE,
	};
	uint64_t client_id = c->client_id;

	chan_send(c->fd, &bye, -1);
	producer_detach(q, slot);
	queue_stat_add(&q->prod.stats->consumers_cut_off, 1);
	link_cut_off(q, slot, client_id);
}

/* The timer fired: gives up release fences that waited too long, cuts
 * off consumers that held a frame too long, and arms it for the next
 * deadline. */
static void producer_timeouts(struct dbb_queue *q)
{
	struct producer *p = &q->prod;
	uint64_t now = queue_now_ns(), next = 0;

	for (uint32_t i = 0; i < q->count; i++) {
		struct producer_buffer *b = &p->buf[i];

		for (uint32_t s = 0; s < DBB_QUEUE_MAX_CONSUMERS; s++) {
			uint64_t d = b->release_deadline_ns[s];
			bool held = q->release_timeout_ms && b->holders & 1u << s;

			if (!held && !(b->fencing & 1u << s))
				continue;
			if (d > now) {
				if (!next || d < next)
					next = d;
			} else if (held) {
				producer_cut_off(q, s);
			} else {
				producer_release_fence_done(q, i, s, true);
			}
		}
	}
	/* A consumer cut off late in the scan may have left a deadline in
	 * @next: the timer then fires once for nothing. */
	queue_timer_set(q, next);
}

int producer_handle(struct dbb_queue *q, uint64_t tag, uint32_t events)
{
	uint32_t slot = QUEUE_TAG_SLOT(tag);

	switch (QUEUE_TAG_SRC(tag)) {
	case QUEUE_SRC_CHAN:
		if (q->prod.cons[slot].fd < 0)
			return 0;
		if (events & EPOLLOUT) {
			producer_set_blocked(q, slot, false);
			producer_flush(q, slot);
		}
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			return producer_read(q, slot);
		return 1;
	case QUEUE_SRC_FENCE:
		if (q->prod.buf[QUEUE_TAG_INDEX(tag)].fencing & 1u << slot)
			producer_release_fence_done(q, QUEUE_TAG_INDEX(tag), slot,
						    false);
		return 1;
	case QUEUE_SRC_TIMER:
		producer_timeouts(q);
		return 1;
	default:
		return 0;
	}
}

void producer_counters(struct dbb_queue *q, struct dbb_queue_counters *out)
{
	queue_counters_copy(&q->prod.stats->queue, out);
}

void producer_fini(struct dbb_queue *q)
{
	struct producer *p = &q->prod;

	for (uint32_t s = 0; s < DBB_QUEUE_MAX_CONSUMERS; s++)
		producer_detach(q, s);
	for (uint32_t i = 0; i < q->count; i++) {
		for (uint32_t s = 0; s < DBB_QUEUE_MAX_CONSUMERS; s++)
			if (p->buf[i].fencing & 1u << s)
				producer_release_fence_done(q, i, s, false);
		producer_close_acquire_fence(&p->buf[i]);
	}
}
