/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the frame queue engine (libclient producer.c, consumer.c,
 * queue.c) over socketpairs, without a broker: each test builds a
 * producer end and consumer ends (or a raw peer that writes the channel
 * by hand) the way the library does after set-up, and drives them
 * through the public calls.  Every test checks that no fd is left open.
 * Fences: sync_files cannot be made on this host (no sw_sync), so the
 * tests here show that anything that is not one is refused; the wait on
 * real fences is covered in the guest (tests/e2e).  Negative cases first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "chan.h"
#include "queue-private.h"

/* Generous: only reached when something is broken. */
#define WAIT_MS 5000

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the DIR's own */
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int fds_at_start;

static int setup(void **state)
{
	fds_at_start = count_fds();
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(fds_at_start, count_fds());
	return 0;
}

static struct dbb_queue *producer_new(uint32_t count,
				      enum dbb_queue_policy policy,
				      uint32_t max_in_flight)
{
	struct dbb_queue *q;

	assert_int_equal(0, queue_new(QUEUE_PRODUCER, count, 0, &q));
	producer_init(q, policy, max_in_flight);
	return q;
}

/* A consumer end in slot @slot of @p, or (@raw) the raw fd of a peer that
 * plays the consumer by hand. */
static struct dbb_queue *consumer_new(struct dbb_queue *p, uint32_t slot,
				      int *raw)
{
	struct dbb_queue *q = NULL;
	int sv[2];

	assert_int_equal(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
				       0, sv));
	assert_int_equal(0, producer_attach(p, slot, sv[0]));
	if (raw) {
		*raw = sv[1];
		return NULL;
	}
	assert_int_equal(0, queue_new(QUEUE_CONSUMER, p->count, 0, &q));
	assert_int_equal(0, consumer_init(q, sv[1]));
	return q;
}

/* A consumer end whose producer is played by hand through *@raw. */
static struct dbb_queue *consumer_alone(uint32_t count, int *raw)
{
	struct dbb_queue *q;
	int sv[2];

	assert_int_equal(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
				       0, sv));
	assert_int_equal(0, queue_new(QUEUE_CONSUMER, count, 0, &q));
	assert_int_equal(0, consumer_init(q, sv[1]));
	*raw = sv[0];
	return q;
}

static uint32_t acquire(struct dbb_queue *p)
{
	uint32_t index = UINT32_MAX;

	assert_int_equal(0, dbb_queue_acquire(p, 0, &index));
	return index;
}

static void post(struct dbb_queue *p, uint32_t index)
{
	struct dbb_frame f = { .struct_size = sizeof(f), .index = index,
			       .fence_fd = -1 };

	assert_int_equal(0, dbb_queue_post(p, &f));
}

static uint32_t post_new(struct dbb_queue *p)
{
	uint32_t index = acquire(p);

	post(p, index);
	return index;
}

static struct dbb_frame receive(struct dbb_queue *c)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };

	assert_int_equal(0, dbb_queue_receive(c, WAIT_MS, &f));
	assert_int_equal(-1, f.fence_fd);
	return f;
}

static void release(struct dbb_queue *c, uint32_t index)
{
	assert_int_equal(0, dbb_queue_release(c, index, -1));
}

/* Lets the producer read what its consumers sent. */
static void settle(struct dbb_queue *p)
{
	while (dbb_queue_dispatch(p) > 0)
		;
}

static struct dbb_queue_counters counters(struct dbb_queue *q)
{
	struct dbb_queue_counters c;

	assert_int_equal(0, dbb_queue_get_counters(q, &c));
	return c;
}

static struct dbb_queue_counters slot_counters(struct dbb_queue *p, uint32_t slot)
{
	struct dbb_queue_counters c;

	queue_counters_copy(&p->prod.stats->consumer[slot], &c);
	return c;
}

static void raw_send(int fd, const struct dbb_chan_msg *m, size_t len,
		     const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctrl;
	/* Room for datagrams longer than a message, zero past it. */
	uint8_t buf[sizeof(*m) + 16] = { 0 };
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	assert_true(len <= sizeof(buf));
	memcpy(buf, m, len < sizeof(*m) ? len : sizeof(*m));
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	assert_int_equal((ssize_t)len, sendmsg(fd, &mh, MSG_NOSIGNAL));
}

static struct dbb_chan_msg msg(enum dbb_chan_type type, uint32_t index)
{
	return (struct dbb_chan_msg){
		.magic = DBB_CHAN_MAGIC,
		.version = DBB_CHAN_VERSION,
		.type = type,
		.index = index,
		.seq = index + 1,
	};
}

/* Reads the next message the producer sent to a raw consumer. */
static struct dbb_chan_msg raw_recv(int fd)
{
	struct chan_rx rx;

	assert_int_equal(1, chan_recv_batch(fd, &rx, 1));
	assert_int_equal(sizeof(rx.msg), rx.len);
	assert_int_equal(-1, rx.fence_fd);
	return rx.msg;
}

/* ---- the producer refuses what is not its to post ---- */

static void test_post_refuses_bad_frames(void **state)
{
	struct dbb_queue *p = producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_frame f = { .struct_size = sizeof(f), .fence_fd = -1 };
	int not_a_fence = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* Not acquired. */
	assert_int_equal(-EINVAL, dbb_queue_post(p, &f));
	f.index = 7;
	assert_int_equal(-EINVAL, dbb_queue_post(p, &f));
	/* A fence that is not a sync_file: refused, and taken. */
	f.index = acquire(p);
	f.fence_fd = not_a_fence;
	assert_int_equal(-EINVAL, dbb_queue_post(p, &f));
	assert_false(fd_open(not_a_fence));
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
	struct dbb_queue *p = producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *c = consumer_new(p, 0, NULL);
	int not_a_fence = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct dbb_frame f = { .struct_size = sizeof(f) };

	assert_int_equal(-EINVAL, dbb_queue_release(c, 0, -1));
	post_new(p);
	f = receive(c);
	assert_int_equal(-EINVAL, dbb_queue_release(c, f.index + 1, -1));
	assert_int_equal(-EINVAL, dbb_queue_release(c, f.index, not_a_fence));
	assert_false(fd_open(not_a_fence));
	release(c, f.index);
	assert_int_equal(-EINVAL, dbb_queue_release(c, f.index, -1));
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

/* ---- policies ---- */

static void test_hold_waits_for_releases(void **state)
{
	struct dbb_queue *p = producer_new(3, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *c = consumer_new(p, 0, NULL);
	struct dbb_queue_counters k;
	uint32_t index;
	struct dbb_frame f = { .struct_size = sizeof(f) };

	for (int i = 0; i < 3; i++)
		post_new(p);
	assert_int_equal(-EAGAIN, dbb_queue_acquire(p, 0, &index));
	for (uint64_t seq = 1; seq <= 3; seq++) {
		f = receive(c);
		assert_int_equal(seq, f.seq);
	}
	assert_int_equal(-EAGAIN, dbb_queue_receive(c, 0, &f));
	release(c, 1);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(1, index);
	k = counters(p);
	assert_int_equal(3, k.posted);
	assert_int_equal(3, k.delivered);
	assert_int_equal(1, k.released);
	assert_int_equal(0, k.dropped);
	assert_int_equal(2, k.in_flight);
	k = counters(c);
	assert_int_equal(3, k.delivered);
	assert_int_equal(1, k.released);
	assert_int_equal(2, k.in_flight);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

static void test_hold_keeps_frames_beyond_max_in_flight(void **state)
{
	struct dbb_queue *p = producer_new(4, DBB_QUEUE_HOLD, 2);
	int raw;
	struct dbb_chan_msg m;

	consumer_new(p, 0, &raw);
	for (int i = 0; i < 3; i++)
		post_new(p);
	assert_int_equal(0, raw_recv(raw).index);
	assert_int_equal(1, raw_recv(raw).index);
	assert_int_equal(2, counters(p).in_flight);
	/* The third waits until one comes back. */
	m = msg(DBB_CHAN_RELEASE, 0);
	raw_send(raw, &m, sizeof(m), NULL, 0);
	settle(p);
	assert_int_equal(2, raw_recv(raw).index);
	assert_int_equal(3, counters(p).delivered);
	assert_int_equal(0, counters(p).dropped);
	close(raw);
	dbb_queue_destroy(p);
}

static void test_drop_oldest_takes_back_undelivered(void **state)
{
	struct dbb_queue *p = producer_new(3, DBB_QUEUE_DROP_OLDEST, 1);
	struct dbb_queue *c = consumer_new(p, 0, NULL);
	struct dbb_queue_counters k;
	struct dbb_frame f = { .struct_size = sizeof(f) };
	uint32_t index;

	/* Frame 1 is sent, 2 and 3 wait. */
	for (int i = 0; i < 3; i++)
		post_new(p);
	/* No free buffer: the oldest waiting one (frame 2) comes back. */
	assert_int_equal(0, dbb_queue_acquire(p, 0, &index));
	assert_int_equal(1, index);
	post(p, index);
	k = slot_counters(p, 0);
	assert_int_equal(4, k.posted);
	assert_int_equal(1, k.dropped);
	f = receive(c);
	assert_int_equal(1, f.seq);
	release(c, f.index);
	settle(p);
	f = receive(c);
	assert_int_equal(3, f.seq);
	release(c, f.index);
	settle(p);
	f = receive(c);
	assert_int_equal(4, f.seq);
	release(c, f.index);
	settle(p);
	k = slot_counters(p, 0);
	assert_int_equal(k.posted, k.delivered + k.dropped);
	assert_int_equal(3, k.released);
	assert_int_equal(0, k.in_flight);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

static void test_drop_oldest_waits_when_all_are_held(void **state)
{
	struct dbb_queue *p = producer_new(2, DBB_QUEUE_DROP_OLDEST, 0);
	struct dbb_queue *c = consumer_new(p, 0, NULL);
	uint32_t index;

	post_new(p);
	post_new(p);
	receive(c);
	receive(c);
	assert_int_equal(-EAGAIN, dbb_queue_acquire(p, 0, &index));
	assert_int_equal(0, counters(p).dropped);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

static void test_latest_keeps_one_undelivered(void **state)
{
	struct dbb_queue *p = producer_new(4, DBB_QUEUE_LATEST, 1);
	struct dbb_queue *c = consumer_new(p, 0, NULL);
	struct dbb_queue_counters k;
	struct dbb_frame f = { .struct_size = sizeof(f) };

	for (int i = 0; i < 4; i++)
		post_new(p);
	/* 1 delivered; 2 and 3 replaced by the next; 4 waits. */
	k = counters(p);
	assert_int_equal(4, k.posted);
	assert_int_equal(1, k.delivered);
	assert_int_equal(2, k.dropped);
	f = receive(c);
	assert_int_equal(1, f.seq);
	release(c, f.index);
	settle(p);
	f = receive(c);
	assert_int_equal(4, f.seq);
	release(c, f.index);
	settle(p);
	k = counters(p);
	assert_int_equal(k.posted, k.delivered + k.dropped);
	/* Every buffer is free again. */
	for (int i = 0; i < 4; i++)
		acquire(p);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

/* ---- returns ---- */

static void test_buffer_returns_when_every_consumer_released(void **state)
{
	struct dbb_queue *p = producer_new(1, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *a = consumer_new(p, 0, NULL);
	struct dbb_queue *b = consumer_new(p, 5, NULL);
	uint32_t index;

	assert_int_equal(2, dbb_queue_consumer_count(p));
	post_new(p);
	release(a, receive(a).index);
	settle(p);
	assert_int_equal(-EAGAIN, dbb_queue_acquire(p, 0, &index));
	release(b, receive(b).index);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(1, slot_counters(p, 5).released);
	assert_int_equal(2, counters(p).released);
	dbb_queue_destroy(a);
	dbb_queue_destroy(b);
	dbb_queue_destroy(p);
}

static void test_consumer_gone_gives_buffers_back(void **state)
{
	struct dbb_queue *p = producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *a = consumer_new(p, 0, NULL);
	struct dbb_queue *b = consumer_new(p, 1, NULL);
	uint32_t index;

	post_new(p);
	post_new(p);
	receive(a);
	release(b, receive(b).index);
	release(b, receive(b).index);
	/* a holds one frame and has the other waiting: its end goes. */
	dbb_queue_destroy(a);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(1, dbb_queue_consumer_count(p));
	assert_int_equal(0, slot_counters(p, 0).in_flight);
	assert_int_equal(0, counters(p).in_flight);
	dbb_queue_destroy(b);
	dbb_queue_destroy(p);
}

static void test_producer_gone_ends_the_consumer(void **state)
{
	struct dbb_queue *p = producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *c = consumer_new(p, 0, NULL);
	struct dbb_frame f = { .struct_size = sizeof(f) };

	post_new(p);
	f = receive(c);
	dbb_queue_destroy(p);
	assert_int_equal(-EPIPE, dbb_queue_receive(c, WAIT_MS, &f));
	assert_int_equal(-EPIPE, dbb_queue_dispatch(c));
	assert_int_equal(-EPIPE, dbb_queue_release(c, f.index, -1));
	dbb_queue_destroy(c);
}

static void test_no_consumer_frees_at_once(void **state)
{
	struct dbb_queue *p = producer_new(1, DBB_QUEUE_HOLD, 0);

	for (int i = 0; i < 3; i++)
		post_new(p);
	assert_int_equal(3, counters(p).posted);
	assert_int_equal(0, counters(p).delivered);
	dbb_queue_destroy(p);
}

static void test_attach_takes_the_slot_over(void **state)
{
	struct dbb_queue *p = producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *old = consumer_new(p, 3, NULL);
	struct dbb_queue *c;
	struct dbb_frame f = { .struct_size = sizeof(f) };

	post_new(p);
	receive(old);
	/* The broker gave slot 3 to someone else: the old one is cut off,
	 * its frame taken back, the slot's counters start again. */
	c = consumer_new(p, 3, NULL);
	assert_int_equal(1, dbb_queue_consumer_count(p));
	assert_int_equal(0, slot_counters(p, 3).delivered);
	assert_int_equal(-EPIPE, dbb_queue_receive(old, WAIT_MS, &f));
	post_new(p);
	assert_int_equal(2, receive(c).seq);
	assert_int_equal(-EINVAL, producer_attach(p, DBB_QUEUE_MAX_CONSUMERS, -1));
	dbb_queue_destroy(old);
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

static void test_blocking_calls_time_out(void **state)
{
	struct dbb_queue *p = producer_new(1, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *c = consumer_new(p, 0, NULL);
	struct dbb_frame f = { .struct_size = sizeof(f) };
	uint32_t index;

	assert_int_equal(-ETIMEDOUT, dbb_queue_receive(c, 50, &f));
	post_new(p);
	assert_int_equal(-ETIMEDOUT, dbb_queue_acquire(p, 50, &index));
	dbb_queue_destroy(c);
	dbb_queue_destroy(p);
}

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
	struct dbb_queue *p = producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_queue *good = consumer_new(p, 1, NULL);
	struct dbb_chan_msg ok = msg(DBB_CHAN_RELEASE, 0);
	int raw, fds[2];
	uint32_t index;

	print_message("# %s\n", bad->what);
	consumer_new(p, 0, &raw);
	post_new(p);
	post_new(p);
	raw_recv(raw);
	raw_recv(raw);
	if (bad->release_first)
		raw_send(raw, &ok, sizeof(ok), NULL, 0);
	for (int i = 0; i < bad->nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	raw_send(raw, &bad->m, bad->len, fds, (size_t)bad->nfds);
	for (int i = 0; i < bad->nfds; i++)
		close(fds[i]);
	settle(p);
	assert_int_equal(1, dbb_queue_consumer_count(p));
	assert_int_equal(0, slot_counters(p, 0).in_flight);
	/* Cut off: its end sees the end of the stream. */
	assert_int_equal(0, chan_recv_batch(raw, &(struct chan_rx){ 0 }, 1));
	close(raw);
	/* The good consumer still gets and returns its frames. */
	release(good, receive(good).index);
	release(good, receive(good).index);
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	assert_int_equal(0, dbb_queue_acquire(p, WAIT_MS, &index));
	post(p, index);
	assert_int_equal(3, receive(good).seq);
	dbb_queue_destroy(good);
	dbb_queue_destroy(p);
}

static void test_hostile_consumers(void **state)
{
	struct dbb_chan_msg m = msg(DBB_CHAN_RELEASE, 0);
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
	struct dbb_queue *p = producer_new(2, DBB_QUEUE_HOLD, 0);
	struct dbb_chan_msg m = msg(DBB_CHAN_RELEASE, 1);
	int raw;

	consumer_new(p, 0, &raw);
	post_new(p);		/* frame 0 only */
	raw_recv(raw);
	raw_send(raw, &m, sizeof(m), NULL, 0);
	settle(p);
	assert_int_equal(0, dbb_queue_consumer_count(p));
	close(raw);
	dbb_queue_destroy(p);
}

/* ---- hostile producers: the consumer's queue ends, -EPROTO ---- */

static void run_bad_frame(const char *what, const struct dbb_chan_msg *m,
			  size_t len, int nfds, bool same_index_twice)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };
	struct dbb_chan_msg first = msg(DBB_CHAN_FRAME, 0);
	int raw, fds[2];
	struct dbb_queue *c = consumer_alone(2, &raw);

	print_message("# %s\n", what);
	if (same_index_twice)
		raw_send(raw, &first, sizeof(first), NULL, 0);
	for (int i = 0; i < nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	raw_send(raw, m, len, fds, (size_t)nfds);
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
	struct dbb_chan_msg m = msg(DBB_CHAN_FRAME, 0), v;

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

static void test_consumer_batch_reads_in_order(void **state)
{
	int raw;
	struct dbb_queue *c = consumer_alone(DBB_POOL_MAX_BUFFERS, &raw);
	struct dbb_frame f = { .struct_size = sizeof(f) };

	/* More than one batch is ready at once. */
	for (uint32_t i = 0; i < DBB_POOL_MAX_BUFFERS; i++) {
		struct dbb_chan_msg m = msg(DBB_CHAN_FRAME, i);

		raw_send(raw, &m, sizeof(m), NULL, 0);
	}
	for (uint32_t i = 0; i < DBB_POOL_MAX_BUFFERS; i++) {
		f = receive(c);
		assert_int_equal(i, f.index);
		assert_int_equal(i + 1, f.seq);
	}
	assert_int_equal(DBB_POOL_MAX_BUFFERS, counters(c).in_flight);
	release(c, 31);
	assert_int_equal(31, raw_recv(raw).index);
	close(raw);
	dbb_queue_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_post_refuses_bad_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consumer_release_refuses_frames_not_received, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_consumers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_of_frame_not_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_producers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_calls_time_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_waits_for_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_keeps_frames_beyond_max_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_oldest_takes_back_undelivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_oldest_waits_when_all_are_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latest_keeps_one_undelivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_returns_when_every_consumer_released, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consumer_gone_gives_buffers_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_producer_gone_ends_the_consumer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_consumer_frees_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_takes_the_slot_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consumer_batch_reads_in_order, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
