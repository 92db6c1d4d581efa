/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the frame queue engine against misbehaving peers, over
 * socketpairs (queue_kit.h): a raw peer sends every kind of bad message
 * (size, magic, version, type, index, flags, reserved field, ancillary
 * data, a fence that is not a sync_file, a release of a frame it does not
 * hold or a second one, a frame for a buffer still in use).  A consumer
 * that does is cut off, its frames taken back, the other consumer
 * untouched; a producer that does ends the consumer's queue with
 * -EPROTO.  Every test checks that no fd is left open.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue_kit.h"

/* ---- hostile consumers: cut off, frames back, others untouched ---- */

struct bad_release {
	const char *what;
	struct dbb_chan_msg m;
	size_t len;
	int nfds;		/* fds (of /dev/null) attached */
	bool release_first;	/* a valid release of frame 0 before */
};

static void run_bad_release(const struct bad_release *bad)
{
	struct dbb_queue *p = kit_producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *good = kit_consumer_new(p, 1, NULL);
	struct dbb_chan_msg ok = kit_msg(DBB_CHAN_RELEASE, 0);
	int raw, fds[2];
	uint32_t index;

	print_message("# %s\n", bad->what);
	kit_consumer_new(p, 0, &raw);
	kit_post_new(p);
	kit_post_new(p);
	kit_raw_recv(raw);
	kit_raw_recv(raw);
	if (bad->release_first)
		kit_raw_send(raw, &ok, sizeof(ok), NULL, 0);
	for (int i = 0; i < bad->nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	kit_raw_send(raw, &bad->m, bad->len, fds, (size_t)bad->nfds);
	for (int i = 0; i < bad->nfds; i++)
		close(fds[i]);
	kit_settle(p);
	assert_int_equal(1, dbb_queue_consumer_count(p));
	assert_int_equal(0, kit_slot_counters(p, 0).in_flight);
	/* Cut off: its end sees the end of the stream. */
	assert_int_equal(0, chan_recv_batch(raw, &(struct chan_rx){ 0 }, 1));
	close(raw);
	/* The good consumer still gets and returns its frames. */
	kit_release(good, kit_receive(good).index);
	kit_release(good, kit_receive(good).index);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	kit_post(p, index);
	assert_int_equal(3, kit_receive(good).seq);
	dbb_queue_destroy(good);
	dbb_queue_destroy(p);
}

static void test_hostile_consumers(void **state)
{
	struct dbb_chan_msg m = kit_msg(DBB_CHAN_RELEASE, 0);
	struct bad_release cases[] = {
		{ "short", m, sizeof(m) - 4, 0, false },
		{ "long", m, sizeof(m) + 8, 0, false },
		{ "two fds", m, sizeof(m), 2, false },
		{ "a fence fd without HAS_FENCE", m, sizeof(m), 1, false },
		{ "a second release", m, sizeof(m), 0, true },
	};
	struct dbb_chan_msg v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_bad_release(&cases[i]);
	v = m, v.magic = 0x1234;
	run_bad_release(&(struct bad_release){ "magic", v, sizeof(v), 0, false });
	v = m, v.version = 2;
	run_bad_release(&(struct bad_release){ "version", v, sizeof(v), 0, false });
	v = m, v.type = DBB_CHAN_FRAME;
	run_bad_release(&(struct bad_release){ "a frame", v, sizeof(v), 0, false });
	v = m, v.type = 9;
	run_bad_release(&(struct bad_release){ "type", v, sizeof(v), 0, false });
	v = m, v.index = 2;
	run_bad_release(&(struct bad_release){ "index", v, sizeof(v), 0, false });
	v = m, v.index = UINT32_MAX;
	run_bad_release(&(struct bad_release){ "huge index", v, sizeof(v), 0, false });
	v = m, v.flags = 1u << 7;
	run_bad_release(&(struct bad_release){ "flags", v, sizeof(v), 0, false });
	v = m, v.reserved = 1;
	run_bad_release(&(struct bad_release){ "reserved", v, sizeof(v), 0, false });
	v = m, v.flags = DBB_CHAN_HAS_FENCE;
	run_bad_release(&(struct bad_release){ "HAS_FENCE without a fence", v,
					       sizeof(v), 0, false });
	run_bad_release(&(struct bad_release){ "a fence that is not a sync_file",
					       v, sizeof(v), 1, false });
}

static void test_release_of_frame_not_held(void **state)
{
	struct dbb_queue *p = kit_producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_chan_msg m = kit_msg(DBB_CHAN_RELEASE, 1);
	int raw;

	kit_consumer_new(p, 0, &raw);
	kit_post_new(p);		/* frame 0 only */
	kit_raw_recv(raw);
	kit_raw_send(raw, &m, sizeof(m), NULL, 0);
	kit_settle(p);
	assert_int_equal(0, dbb_queue_consumer_count(p));
	close(raw);
	dbb_queue_destroy(p);
}

/* ---- hostile producers: the consumer's queue ends, -EPROTO ---- */

static void run_bad_frame(const char *what, const struct dbb_chan_msg *m,
			  size_t len, int nfds, bool same_index_twice)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };
	struct dbb_chan_msg first = kit_msg(DBB_CHAN_FRAME, 0);
	int raw, fds[2];
	struct dbb_queue *c = kit_consumer_alone(2, &raw);

	print_message("# %s\n", what);
	if (same_index_twice)
		kit_raw_send(raw, &first, sizeof(first), NULL, 0);
	for (int i = 0; i < nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	kit_raw_send(raw, m, len, fds, (size_t)nfds);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	assert_int_equal(-EPROTO, dbb_queue_receive(c, WAIT_MS, &f));
	assert_int_equal(-EPROTO, dbb_queue_dispatch(c));
	/* The channel is closed: the producer sees its end. */
	assert_int_equal(0, chan_recv_batch(raw, &(struct chan_rx){ 0 }, 1));
	close(raw);
	dbb_queue_destroy(c);
}

static void test_hostile_producers(void **state)
{
	struct dbb_chan_msg m = kit_msg(DBB_CHAN_FRAME, 0), v;

	run_bad_frame("short", &m, sizeof(m) - 1, 0, false);
	run_bad_frame("long", &m, sizeof(m) + 1, 0, false);
	run_bad_frame("two fds", &m, sizeof(m), 2, false);
	v = m, v.magic = 0;
	run_bad_frame("magic", &v, sizeof(v), 0, false);
	v = m, v.version = 0;
	run_bad_frame("version", &v, sizeof(v), 0, false);
	v = m, v.type = DBB_CHAN_RELEASE;
	run_bad_frame("a release", &v, sizeof(v), 0, false);
	v = m, v.index = 2;
	run_bad_frame("index", &v, sizeof(v), 0, false);
	v = m, v.flags = DBB_CHAN_TIMED_OUT;
	run_bad_frame("a frame timed out", &v, sizeof(v), 0, false);
	v = m, v.reserved = 3;
	run_bad_frame("reserved", &v, sizeof(v), 0, false);
	v = m, v.flags = DBB_CHAN_HAS_FENCE;
	run_bad_frame("HAS_FENCE without a fence", &v, sizeof(v), 0, false);
	run_bad_frame("a fence that is not a sync_file", &v, sizeof(v), 1, false);
	run_bad_frame("a fence fd without HAS_FENCE", &m, sizeof(m), 1, false);
	run_bad_frame("a frame for a buffer still in use", &m, sizeof(m), 0,
		      true);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, kit_setup, kit_teardown)
	const struct CMUnitTest tests[] = {
		T(test_hostile_consumers),
		T(test_release_of_frame_not_held),
		T(test_hostile_producers),
	};
#undef T
	return cmocka_run_group_tests_name("queue_hostile", tests, NULL, NULL);
}
