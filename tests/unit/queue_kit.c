/* SPDX-License-Identifier: MIT */
#include "queue_kit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

int kit_count_fds(void)
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

bool kit_fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int kit_fds_at_start;

int kit_setup(void **state)
{
	kit_fds_at_start = kit_count_fds();
	return 0;
}

int kit_teardown(void **state)
{
	assert_int_equal(kit_fds_at_start, kit_count_fds());
	return 0;
}

struct dbb_queue *kit_producer_new(uint32_t count,
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
struct dbb_queue *kit_consumer_new(struct dbb_queue *p, uint32_t slot,
				   int *raw)
{
	struct dbb_queue *q = NULL;
	int sv[2];

	assert_int_equal(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
				       0, sv));
	assert_int_equal(0, producer_attach(p, slot, sv[0], 0));
	if (raw) {
		*raw = sv[1];
		return NULL;
	}
	assert_int_equal(0, queue_new(QUEUE_CONSUMER, p->count, 0, &q));
	assert_int_equal(0, consumer_init(q, sv[1]));
	return q;
}

/* A consumer end whose producer is played by hand through *@raw. */
struct dbb_queue *kit_consumer_alone(uint32_t count, int *raw)
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

uint32_t kit_acquire(struct dbb_queue *p)
{
	uint32_t index = UINT32_MAX;

	assert_int_equal(0, dbb_queue_acquire(p, 0, &index));
	return index;
}

void kit_post(struct dbb_queue *p, uint32_t index)
{
	struct dbb_frame f = { .struct_size = sizeof(f), .index = index,
			       .fence_fd = -1 };

	assert_int_equal(0, dbb_queue_post(p, &f));
}

uint32_t kit_post_new(struct dbb_queue *p)
{
	uint32_t index = kit_acquire(p);

	kit_post(p, index);
	return index;
}

struct dbb_frame kit_receive(struct dbb_queue *c)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };

	assert_int_equal(0, dbb_queue_receive(c, WAIT_MS, &f));
	assert_int_equal(-1, f.fence_fd);
	return f;
}

void kit_release(struct dbb_queue *c, uint32_t index)
{
	assert_int_equal(0, dbb_queue_release(c, index, -1));
}

/* Lets the producer read what its consumers sent. */
void kit_settle(struct dbb_queue *p)
{
	while (dbb_queue_dispatch(p) > 0)
		;
}

struct dbb_queue_counters kit_counters(struct dbb_queue *q)
{
	struct dbb_queue_counters c;

	assert_int_equal(0, dbb_queue_get_counters(q, &c));
	return c;
}

struct dbb_queue_counters kit_slot_counters(struct dbb_queue *p, uint32_t slot)
{
	struct dbb_queue_counters c;

	queue_counters_copy(&p->prod.stats->consumer[slot], &c);
	return c;
}

void kit_raw_send(int fd, const struct dbb_chan_msg *m, size_t len,
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

struct dbb_chan_msg kit_msg(enum dbb_chan_type type, uint32_t index)
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
struct dbb_chan_msg kit_raw_recv(int fd)
{
	struct chan_rx rx;

	assert_int_equal(1, chan_recv_batch(fd, &rx, 1));
	assert_int_equal(sizeof(rx.msg), rx.len);
	assert_int_equal(-1, rx.fence_fd);
	return rx.msg;
}
