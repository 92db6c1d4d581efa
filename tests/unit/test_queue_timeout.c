/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the frame queue's release timeout over socketpairs,
 * without a broker (queue_kit.h): a consumer that holds a frame past
 * release_timeout_ms is cut off, told why on its channel, and its frames
 * come back, while a healthy consumer goes on; without a timeout a
 * stuck consumer holds the producer as before.  Every test checks that
 * no fd is left open.  Negative cases first.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue_kit.h"

/* Short, so that the tests run quickly; the waits for its effects are
 * WAIT_MS, fifty times longer. */
#define RELEASE_TIMEOUT_MS 100u
/* How long a test makes sure nothing happens without a timeout. */
#define NOTHING_HAPPENS_MS 300

static struct dbb_queue *producer_with_timeout(uint32_t count,
					       uint32_t release_timeout_ms)
{
	struct dbb_queue *p = kit_producer_new(count, DBB_QUEUE_HOLD, 0);

	p->release_timeout_ms = release_timeout_ms;
	return p;
}

static uint64_t cut_off_count(const struct dbb_queue *p)
{
	return p->prod.stats->consumers_cut_off;
}

/* Without a release timeout, a consumer that stops releasing holds the
 * producer: nothing is cut off while it waits. */
static void test_no_timeout_keeps_a_stuck_consumer(void **state)
{
	struct dbb_queue *p = producer_with_timeout(2, 0);
	struct dbb_queue *stuck = kit_consumer_new(p, 0, NULL);
	struct dbb_frame f = { .struct_size = sizeof(f) };
	uint32_t index;

	kit_post_new(p);
	kit_post_new(p);
	f = kit_receive(stuck);
	assert_int_equal(-ETIMEDOUT,
			 dbb_queue_acquire(p, NOTHING_HAPPENS_MS, &index));
	assert_int_equal(1, dbb_queue_consumer_count(p));
	assert_int_equal(0, cut_off_count(p));
	/* Still attached: it gets its second frame and may release. */
	assert_int_equal(2, kit_receive(stuck).seq);
	kit_release(stuck, f.index);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	dbb_queue_destroy(stuck);
	dbb_queue_destroy(p);
}

/* A BYE that is not one is the producer misbehaving. */
static void test_consumer_refuses_a_malformed_bye(void **state)
{
	int raw;
	struct dbb_queue *c = kit_consumer_alone(2, &raw);
	struct dbb_chan_msg m = kit_msg(DBB_CHAN_BYE, 1);
	struct dbb_frame f = { .struct_size = sizeof(f) };

	kit_raw_send(raw, &m, sizeof(m), NULL, 0);
	assert_int_equal(-EPROTO, dbb_queue_receive(c, WAIT_MS, &f));
	close(raw);
	dbb_queue_destroy(c);
}

/* What the cut-off consumer's channel carries: a BYE, then its end. */
static void test_cut_off_says_bye(void **state)
{
	struct dbb_queue *p = producer_with_timeout(1, RELEASE_TIMEOUT_MS);
	struct dbb_chan_msg m;
	struct chan_rx rx;
	uint32_t index;
	int raw;

	kit_consumer_new(p, 4, &raw);
	kit_post_new(p);
	assert_int_equal(0, kit_raw_recv(raw).index);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	m = kit_raw_recv(raw);
	assert_int_equal(DBB_CHAN_BYE, m.type);
	assert_int_equal(0, m.index);
	assert_int_equal(0, m.flags);
	assert_int_equal(0, chan_recv_batch(raw, &rx, 1));
	assert_int_equal(0, dbb_queue_consumer_count(p));
	assert_int_equal(1, cut_off_count(p));
	assert_int_equal(0, kit_slot_counters(p, 4).in_flight);
	close(raw);
	dbb_queue_destroy(p);
}

/*
 * Two consumers of a HOLD queue; one stops releasing.  The producer gets
 * its buffers back once the timeout passed and goes on; the healthy
 * consumer receives every frame in order; the stuck one learns it was
 * cut off, from any call.
 */
static void test_stuck_consumer_is_cut_off(void **state)
{
	struct dbb_queue *p = producer_with_timeout(3, RELEASE_TIMEOUT_MS);
	struct dbb_queue *healthy = kit_consumer_new(p, 0, NULL);
	struct dbb_queue *stuck = kit_consumer_new(p, 1, NULL);
	struct dbb_frame f = { .struct_size = sizeof(f) };
	uint32_t held, index;
	uint64_t seq = 0;

	/* The stuck one takes the first frame and then nothing more; the
	 * other two stay undelivered to the application but delivered on
	 * its channel, so held all the same. */
	kit_post_new(p);
	held = kit_receive(stuck).index;
	for (int i = 0; i < 3; i++) {
		if (i)
			kit_post_new(p);
		f = kit_receive(healthy);
		assert_int_equal(++seq, f.seq);
		kit_release(healthy, f.index);
	}
	/* Every buffer is the stuck one's until the timeout cuts it off. */
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(1, cut_off_count(p));
	assert_int_equal(1, dbb_queue_consumer_count(p));
	assert_int_equal(0, kit_slot_counters(p, 1).in_flight);
	assert_int_equal(0, kit_counters(p).in_flight);
	kit_post(p, index);
	for (int i = 0; i < 3 * 4; i++) {
		if (i)
			kit_post_new(p);
		f = kit_receive(healthy);
		assert_int_equal(++seq, f.seq);
		kit_release(healthy, f.index);
	}
	assert_int_equal(0, kit_counters(healthy).in_flight);
	assert_int_equal(1, cut_off_count(p));

	/* The release of what it held reports the cut-off (it reads the
	 * BYE when the send fails), and so does every call after. */
	assert_int_equal(-ECONNABORTED, dbb_queue_release(stuck, held, -1));
	assert_int_equal(-ECONNABORTED, dbb_queue_receive(stuck, WAIT_MS, &f));
	assert_int_equal(-ECONNABORTED, dbb_queue_dispatch(stuck));
	dbb_queue_destroy(stuck);
	dbb_queue_destroy(healthy);
	dbb_queue_destroy(p);
}

/* The consumer's receive sees the cut-off too, when it reads the BYE. */
static void test_receive_reports_the_cut_off(void **state)
{
	struct dbb_queue *p = producer_with_timeout(1, RELEASE_TIMEOUT_MS);
	struct dbb_queue *stuck = kit_consumer_new(p, 2, NULL);
	struct dbb_frame f = { .struct_size = sizeof(f) };
	uint32_t index;

	kit_post_new(p);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	/* The frame it never received is dropped with the queue. */
	assert_int_equal(-ECONNABORTED, dbb_queue_receive(stuck, WAIT_MS, &f));
	assert_int_equal(-EINVAL, dbb_queue_release(stuck, 0, -1));
	dbb_queue_destroy(stuck);
	dbb_queue_destroy(p);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, kit_setup, kit_teardown)
	const struct CMUnitTest tests[] = {
		T(test_no_timeout_keeps_a_stuck_consumer),
		T(test_consumer_refuses_a_malformed_bye),
		T(test_cut_off_says_bye),
		T(test_stuck_consumer_is_cut_off),
		T(test_receive_reports_the_cut_off),
	};
#undef T
	return cmocka_run_group_tests_name("queue_timeout", tests, NULL, NULL);
}
