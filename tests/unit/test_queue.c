/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the frame queue engine (libclient producer.c, consumer.c,
 * queue.c) over socketpairs, without a broker (queue_kit.h): what the
 * ends refuse from the application, each policy's exact behaviour and
 * counters, returns with several consumers, either end going away,
 * blocking calls' timeouts, fences' waits and timeouts.  Every test
 * checks that no fd is left open.  Misbehaving peers:
 * test_queue_hostile.c.  Negative cases first.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue_kit.h"

/* ---- the producer refuses what is not its to post ---- */

static void test_post_refuses_bad_frames(void **state)
{
	struct dbb_queue *p = kit_producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_frame f = { .struct_size = sizeof(f), .fence_fd = -1 };
	int not_a_fence = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* Not acquired. */
	assert_int_equal(-EINVAL, dbb_queue_post(p, &f));
	f.index = 7;
	assert_int_equal(-EINVAL, dbb_queue_post(p, &f));
	/* A fence that is not a sync_file: refused, and taken. */
	f.index = kit_acquire(p);
	f.fence_fd = not_a_fence;
	assert_int_equal(-EINVAL, dbb_queue_post(p, &f));
	assert_false(kit_fd_open(not_a_fence));
	/* A struct_size below the first version's. */
	f.fence_fd = -1;
	f.struct_size = 4;
	assert_int_equal(-EINVAL, dbb_queue_post(p, &f));
	f.struct_size = sizeof(f);
	assert_int_equal(0, dbb_queue_post(p, &f));
	/* Posted once: not again. */
	assert_int_equal(-EINVAL, dbb_queue_post(p, &f));
	dbb_queue_destroy(p);
}

static void test_consumer_release_refuses_frames_not_received(void **state)
{
	struct dbb_queue *p = kit_producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *c = kit_consumer_new(p, 0, NULL);
	int not_a_fence = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct dbb_frame f = { .struct_size = sizeof(f) };

	assert_int_equal(-EINVAL, dbb_queue_release(c, 0, -1));
	kit_post_new(p);
	f = kit_receive(c);
	assert_int_equal(-EINVAL, dbb_queue_release(c, f.index + 1, -1));
	assert_int_equal(-EINVAL, dbb_queue_release(c, f.index, not_a_fence));
	assert_false(kit_fd_open(not_a_fence));
	kit_release(c, f.index);
	assert_int_equal(-EINVAL, dbb_queue_release(c, f.index, -1));
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

/* ---- policies ---- */

static void test_hold_waits_for_releases(void **state)
{
	struct dbb_queue *p = kit_producer_new(3, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *c = kit_consumer_new(p, 0, NULL);
	struct dbb_queue_counters k;
	uint32_t index;
	struct dbb_frame f = { .struct_size = sizeof(f) };

	for (int i = 0; i < 3; i++)
		kit_post_new(p);
	assert_int_equal(-EAGAIN, dbb_queue_acquire(p, 0, &index));
	for (uint64_t seq = 1; seq <= 3; seq++) {
		f = kit_receive(c);
		assert_int_equal(seq, f.seq);
	}
	assert_int_equal(-EAGAIN, dbb_queue_receive(c, 0, &f));
	kit_release(c, 1);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(1, index);
	k = kit_counters(p);
	assert_int_equal(3, k.posted);
	assert_int_equal(3, k.delivered);
	assert_int_equal(1, k.released);
	assert_int_equal(0, k.dropped);
	assert_int_equal(2, k.in_flight);
	k = kit_counters(c);
	assert_int_equal(3, k.delivered);
	assert_int_equal(1, k.released);
	assert_int_equal(2, k.in_flight);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

static void test_hold_keeps_frames_beyond_max_in_flight(void **state)
{
	struct dbb_queue *p = kit_producer_new(4, DBB_QUEUE_HOLD, 2);
	int raw;
	struct dbb_chan_msg m;

	kit_consumer_new(p, 0, &raw);
	for (int i = 0; i < 3; i++)
		kit_post_new(p);
	assert_int_equal(0, kit_raw_recv(raw).index);
	assert_int_equal(1, kit_raw_recv(raw).index);
	assert_int_equal(2, kit_counters(p).in_flight);
	/* The third waits until one comes back. */
	m = kit_msg(DBB_CHAN_RELEASE, 0);
	kit_raw_send(raw, &m, sizeof(m), NULL, 0);
	kit_settle(p);
	assert_int_equal(2, kit_raw_recv(raw).index);
	assert_int_equal(3, kit_counters(p).delivered);
	assert_int_equal(0, kit_counters(p).dropped);
	close(raw);
	dbb_queue_destroy(p);
}

static void test_drop_oldest_takes_back_undelivered(void **state)
{
	struct dbb_queue *p = kit_producer_new(3, DBB_QUEUE_DROP_OLDEST, 1);
	struct dbb_queue *c = kit_consumer_new(p, 0, NULL);
	struct dbb_queue_counters k;
	struct dbb_frame f = { .struct_size = sizeof(f) };
	uint32_t index;

	/* Frame 1 is sent, 2 and 3 wait. */
	for (int i = 0; i < 3; i++)
		kit_post_new(p);
	/* No free buffer: the oldest waiting one (frame 2) comes back. */
	assert_int_equal(0, dbb_queue_acquire(p, 0, &index));
	assert_int_equal(1, index);
	kit_post(p, index);
	k = kit_slot_counters(p, 0);
	assert_int_equal(4, k.posted);
	assert_int_equal(1, k.dropped);
	f = kit_receive(c);
	assert_int_equal(1, f.seq);
	kit_release(c, f.index);
	kit_settle(p);
	f = kit_receive(c);
	assert_int_equal(3, f.seq);
	kit_release(c, f.index);
	kit_settle(p);
	f = kit_receive(c);
	assert_int_equal(4, f.seq);
	kit_release(c, f.index);
	kit_settle(p);
	k = kit_slot_counters(p, 0);
	assert_int_equal(k.posted, k.delivered + k.dropped);
	assert_int_equal(3, k.released);
	assert_int_equal(0, k.in_flight);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

static void test_drop_oldest_waits_when_all_are_held(void **state)
{
	struct dbb_queue *p = kit_producer_new(2, DBB_QUEUE_DROP_OLDEST, 0);
	struct dbb_queue *c = kit_consumer_new(p, 0, NULL);
	uint32_t index;

	kit_post_new(p);
	kit_post_new(p);
	kit_receive(c);
	kit_receive(c);
	assert_int_equal(-EAGAIN, dbb_queue_acquire(p, 0, &index));
	assert_int_equal(0, kit_counters(p).dropped);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

static void test_latest_keeps_one_undelivered(void **state)
{
	struct dbb_queue *p = kit_producer_new(4, DBB_QUEUE_LATEST, 1);
	struct dbb_queue *c = kit_consumer_new(p, 0, NULL);
	struct dbb_queue_counters k;
	struct dbb_frame f = { .struct_size = sizeof(f) };

	for (int i = 0; i < 4; i++)
		kit_post_new(p);
	/* 1 delivered; 2 and 3 replaced by the next; 4 waits. */
	k = kit_counters(p);
	assert_int_equal(4, k.posted);
	assert_int_equal(1, k.delivered);
	assert_int_equal(2, k.dropped);
	f = kit_receive(c);
	assert_int_equal(1, f.seq);
	kit_release(c, f.index);
	kit_settle(p);
	f = kit_receive(c);
	assert_int_equal(4, f.seq);
	kit_release(c, f.index);
	kit_settle(p);
	k = kit_counters(p);
	assert_int_equal(k.posted, k.delivered + k.dropped);
	/* Every buffer is free again. */
	for (int i = 0; i < 4; i++)
		kit_acquire(p);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

/* ---- returns ---- */

static void test_buffer_returns_when_every_consumer_released(void **state)
{
	struct dbb_queue *p = kit_producer_new(1, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *a = kit_consumer_new(p, 0, NULL);
	struct dbb_queue *b = kit_consumer_new(p, 5, NULL);
	uint32_t index;

	assert_int_equal(2, dbb_queue_consumer_count(p));
	kit_post_new(p);
	kit_release(a, kit_receive(a).index);
	kit_settle(p);
	assert_int_equal(-EAGAIN, dbb_queue_acquire(p, 0, &index));
	kit_release(b, kit_receive(b).index);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(1, kit_slot_counters(p, 5).released);
	assert_int_equal(2, kit_counters(p).released);
	dbb_queue_destroy(a);
	dbb_queue_destroy(b);
	dbb_queue_destroy(p);
}

static void test_consumer_gone_gives_buffers_back(void **state)
{
	struct dbb_queue *p = kit_producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *a = kit_consumer_new(p, 0, NULL);
	struct dbb_queue *b = kit_consumer_new(p, 1, NULL);
	uint32_t index;

	kit_post_new(p);
	kit_post_new(p);
	kit_receive(a);
	kit_release(b, kit_receive(b).index);
	kit_release(b, kit_receive(b).index);
	/* a holds one frame and has the other waiting: its end goes. */
	dbb_queue_destroy(a);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(1, dbb_queue_consumer_count(p));
	assert_int_equal(0, kit_slot_counters(p, 0).in_flight);
	assert_int_equal(0, kit_counters(p).in_flight);
	dbb_queue_destroy(b);
	dbb_queue_destroy(p);
}

static void test_producer_gone_ends_the_consumer(void **state)
{
	struct dbb_queue *p = kit_producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *c = kit_consumer_new(p, 0, NULL);
	struct dbb_frame f = { .struct_size = sizeof(f) };

	kit_post_new(p);
	f = kit_receive(c);
	dbb_queue_destroy(p);
	assert_int_equal(-EPIPE, dbb_queue_receive(c, WAIT_MS, &f));
	assert_int_equal(-EPIPE, dbb_queue_dispatch(c));
	assert_int_equal(-EPIPE, dbb_queue_release(c, f.index, -1));
	dbb_queue_destroy(c);
}

static void test_no_consumer_frees_at_once(void **state)
{
	struct dbb_queue *p = kit_producer_new(1, DBB_QUEUE_HOLD, 0);

	for (int i = 0; i < 3; i++)
		kit_post_new(p);
	assert_int_equal(3, kit_counters(p).posted);
	assert_int_equal(0, kit_counters(p).delivered);
	dbb_queue_destroy(p);
}

static void test_attach_takes_the_slot_over(void **state)
{
	struct dbb_queue *p = kit_producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *old = kit_consumer_new(p, 3, NULL);
	struct dbb_queue *c;
	struct dbb_frame f = { .struct_size = sizeof(f) };

	kit_post_new(p);
	kit_receive(old);
	/* The broker gave slot 3 to someone else: the old one is cut off,
	 * its frame taken back, the slot's counters start again. */
	c = kit_consumer_new(p, 3, NULL);
	assert_int_equal(1, dbb_queue_consumer_count(p));
	assert_int_equal(0, kit_slot_counters(p, 3).delivered);
	assert_int_equal(-EPIPE, dbb_queue_receive(old, WAIT_MS, &f));
	kit_post_new(p);
	assert_int_equal(2, kit_receive(c).seq);
	assert_int_equal(-EINVAL,
			 producer_attach(p, DBB_QUEUE_MAX_CONSUMERS, -1, 0));
	dbb_queue_destroy(old);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

static void test_blocking_calls_time_out(void **state)
{
	struct dbb_queue *p = kit_producer_new(1, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *c = kit_consumer_new(p, 0, NULL);
	struct dbb_frame f = { .struct_size = sizeof(f) };
	uint32_t index;

	assert_int_equal(-ETIMEDOUT, dbb_queue_receive(c, 50, &f));
	kit_post_new(p);
	assert_int_equal(-ETIMEDOUT, dbb_queue_acquire(p, 50, &index));
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

/*
 * An acquire fence that does not signal in time: the frame goes back to
 * the producer flagged TIMED_OUT, unseen, even when the channel is full
 * at that moment (sent once there is room).  No sync_file can be made
 * here, so the frame is accepted without one and then given a pending
 * "fence" by hand: a pipe that never becomes readable, waited on as the
 * library waits on a fence.
 */
static void test_acquire_fence_timeout_gives_frame_back(void **state)
{
	struct dbb_chan_msg m = kit_msg(DBB_CHAN_FRAME, 1), junk = m;
	struct dbb_frame f = { .struct_size = sizeof(f) };
	struct consumer_frame *fr;
	struct chan_rx rx;
	int raw, pipe_fds[2], sndbuf = 1, junked = 0;
	struct dbb_queue *c = kit_consumer_alone(2, &raw);

	kit_raw_send(raw, &m, sizeof(m), NULL, 0);
	assert_int_equal(1, dbb_queue_dispatch(c));
	assert_int_equal(0, pipe2(pipe_fds, O_CLOEXEC));
	fr = &c->cons.frame[1];
	fr->ready_ns = 0;
	fr->fence = pipe_fds[0];
	fr->deadline_ns = queue_now_ns() + 1000000u;
	c->cons.fences_pending++;
	assert_int_equal(0, queue_watch(c, fr->fence, EPOLLIN,
					queue_tag(QUEUE_SRC_FENCE, 1, 0)));
	queue_timer_arm(c, fr->deadline_ns);
	/* The channel toward the producer is full. */
	assert_int_equal(0, setsockopt(c->cons.fd, SOL_SOCKET, SO_SNDBUF,
				       &sndbuf, sizeof(sndbuf)));
	while (send(c->cons.fd, &junk, sizeof(junk), MSG_DONTWAIT) > 0)
		junked++;
	assert_int_equal(EAGAIN, errno);
	for (int i = 0; !kit_counters(c).fence_timeouts && i < WAIT_MS / 50; i++)
		assert_int_equal(-ETIMEDOUT, dbb_queue_receive(c, 50, &f));
	assert_int_equal(1, kit_counters(c).fence_timeouts);
	assert_true(c->cons.unsent & 1u << 1);
	/* Room again: the release goes out, flagged. */
	for (int i = 0; i < junked; i++)
		assert_int_equal(1, chan_recv_batch(raw, &rx, 1));
	assert_int_equal(-EAGAIN, dbb_queue_receive(c, 0, &f));
	assert_int_equal(1, chan_recv_batch(raw, &rx, 1));
	assert_int_equal(0, chan_check(&rx, DBB_CHAN_RELEASE, 2,
				       &(const char *){ NULL }));
	assert_int_equal(1, rx.msg.index);
	assert_int_equal(DBB_CHAN_TIMED_OUT, rx.msg.flags);
	assert_int_equal(1, kit_counters(c).released);
	assert_int_equal(0, kit_counters(c).in_flight);
	assert_false(kit_fd_open(pipe_fds[0]));
	close(pipe_fds[1]);
	close(raw);
	dbb_queue_destroy(c);
}

/* Gives frame @index, released by consumer @slot, a pending release
 * "fence" by hand: the read end of @pipe_fds (no sync_file can be made
 * here), waited on as the library waits on a fence. */
static void fake_release_fence(struct dbb_queue *p, uint32_t index,
			       uint32_t slot, int *pipe_fds, uint64_t timeout_ns)
{
	struct producer_buffer *b = &p->prod.buf[index];

	assert_int_equal(0, pipe2(pipe_fds, O_CLOEXEC));
	b->release_fence[slot] = pipe_fds[0];
	b->release_deadline_ns[slot] = queue_now_ns() + timeout_ns;
	b->fencing |= (uint16_t)(1u << slot);
	p->prod.fences_pending++;
	assert_int_equal(0, queue_watch(p, pipe_fds[0], EPOLLIN,
					queue_tag(QUEUE_SRC_FENCE, index, slot)));
	queue_timer_arm(p, b->release_deadline_ns[slot]);
}

/* A release fence holds the buffer until it signals, or until the fence
 * timeout (counted). */
static void test_release_fence_holds_buffer(void **state)
{
	struct dbb_queue *p = kit_producer_new(1, DBB_QUEUE_HOLD, 0);
	int signalled[2], late[2];
	uint32_t index;

	/* Released by consumer 2 with a fence that signals later: back
	 * then, not counted. */
	index = kit_acquire(p);
	p->prod.buf[index].state = PRODUCER_POSTED;
	fake_release_fence(p, index, 2, signalled, 3600ull * 1000000000u);
	assert_int_equal(-EAGAIN, dbb_queue_acquire(p, 0, &index));
	assert_int_equal(1, write(signalled[1], "s", 1));
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(0, kit_counters(p).fence_timeouts);
	assert_false(kit_fd_open(signalled[0]));
	close(signalled[1]);

	/* Never signalled: back at the timeout, counted for the consumer
	 * and the queue. */
	p->prod.buf[index].state = PRODUCER_POSTED;
	fake_release_fence(p, index, 2, late, 1000000u);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(1, kit_counters(p).fence_timeouts);
	assert_int_equal(1, kit_slot_counters(p, 2).fence_timeouts);
	assert_false(kit_fd_open(late[0]));
	close(late[1]);
	dbb_queue_destroy(p);
}

static void test_consumer_batch_reads_in_order(void **state)
{
	int raw;
	struct dbb_queue *c = kit_consumer_alone(DBB_POOL_MAX_BUFFERS, &raw);
	struct dbb_frame f = { .struct_size = sizeof(f) };

	/* More than one batch is ready at once. */
	for (uint32_t i = 0; i < DBB_POOL_MAX_BUFFERS; i++) {
		struct dbb_chan_msg m = kit_msg(DBB_CHAN_FRAME, i);

		kit_raw_send(raw, &m, sizeof(m), NULL, 0);
	}
	for (uint32_t i = 0; i < DBB_POOL_MAX_BUFFERS; i++) {
		f = kit_receive(c);
		assert_int_equal(i, f.index);
		assert_int_equal(i + 1, f.seq);
	}
	assert_int_equal(DBB_POOL_MAX_BUFFERS, kit_counters(c).in_flight);
	kit_release(c, 31);
	assert_int_equal(31, kit_raw_recv(raw).index);
	close(raw);
	dbb_queue_destroy(c);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, kit_setup, kit_teardown)
	const struct CMUnitTest tests[] = {
		T(test_post_refuses_bad_frames),
		T(test_consumer_release_refuses_frames_not_received),
		T(test_blocking_calls_time_out),
		T(test_hold_waits_for_releases),
		T(test_hold_keeps_frames_beyond_max_in_flight),
		T(test_drop_oldest_takes_back_undelivered),
		T(test_drop_oldest_waits_when_all_are_held),
		T(test_latest_keeps_one_undelivered),
		T(test_buffer_returns_when_every_consumer_released),
		T(test_consumer_gone_gives_buffers_back),
		T(test_producer_gone_ends_the_consumer),
		T(test_no_consumer_frees_at_once),
		T(test_attach_takes_the_slot_over),
		T(test_consumer_batch_reads_in_order),
		T(test_acquire_fence_timeout_gives_frame_back),
		T(test_release_fence_holds_buffer),
	};
#undef T
	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
