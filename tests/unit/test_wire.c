/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the frame layer (common/wire.c): datagrams with and without
 * fds over a SOCK_SEQPACKET socketpair.  Links only wire.o and the generated
 * protobuf-c code.  Negative cases first.  Every test makes its own pair.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dmabuf_broker.pb-c.h"
#include "wire.h"

struct pair {
	int tx;
	int rx;
};

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static int pair_setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];

	if (!p || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(p);
		return -1;
	}
	p->tx = sv[0];
	p->rx = sv[1];
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair *p = *state;

	if (p->tx >= 0)
		close(p->tx);
	if (p->rx >= 0)
		close(p->rx);
	free(p);
	return 0;
}

/* A fresh file to pass around: a memfd, so nothing touches the disk. */
static int make_file(const char *tag)
{
	int fd = memfd_create(tag, MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* Sends @len bytes of @data with @nfds copies of @fd, split into @ncmsg
 * SCM_RIGHTS messages, bypassing wire_send()'s limits. */
static ssize_t raw_send(int sock, const void *data, size_t len, int fd,
			size_t nfds, size_t ncmsg)
{
	size_t per = ncmsg ? (nfds + ncmsg - 1) / ncmsg : 0;
	size_t space = ncmsg * CMSG_SPACE(sizeof(int) * per);
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char *ctrl = NULL;
	size_t left = nfds;
	ssize_t n;

	if (nfds) {
		struct cmsghdr *c;

		ctrl = calloc(1, space);
		assert_non_null(ctrl);
		msg.msg_control = ctrl;
		msg.msg_controllen = space;
		for (c = CMSG_FIRSTHDR(&msg); c && left; c = CMSG_NXTHDR(&msg, c)) {
			size_t k = left < per ? left : per;

			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * k);
			for (size_t i = 0; i < k; i++)
				memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
			left -= k;
		}
		msg.msg_controllen = space;
	}
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	free(ctrl);
	return n < 0 ? -errno : n;
}

static void assert_same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(0, fstat(a, &sa));
	assert_int_equal(0, fstat(b, &sb));
	assert_int_equal(sa.st_dev, sb.st_dev);
	assert_int_equal(sa.st_ino, sb.st_ino);
}

/* Nothing is left queued on @sock. */
static void assert_queue_empty(int sock)
{
	uint8_t buf[16];
	int fds[1];
	size_t nfds = 7;

	assert_int_equal(-EAGAIN, wire_recv(sock, buf, sizeof(buf), fds, 1,
					    &nfds, MSG_DONTWAIT));
	assert_int_equal(0, nfds);
}

/* ---- negative cases ---- */

static void test_send_oversize_refused(void **state)
{
	struct pair *p = *state;
	size_t len = DBB_WIRE_MAX_FRAME + 1;
	uint8_t *big = calloc(1, len);

	assert_non_null(big);
	assert_int_equal(-EMSGSIZE, wire_send(p->tx, big, len, NULL, 0, 0));
	free(big);
	assert_queue_empty(p->rx);
}

static void test_send_too_many_fds_refused(void **state)
{
	struct pair *p = *state;
	int f = make_file("many");
	int fds[DBB_WIRE_MAX_FDS + 1];

	for (size_t i = 0; i < DBB_WIRE_MAX_FDS + 1; i++)
		fds[i] = f;
	assert_int_equal(-EINVAL, wire_send(p->tx, "x", 1, fds,
					    DBB_WIRE_MAX_FDS + 1, 0));
	assert_queue_empty(p->rx);
	close(f);
}

static void test_recv_oversize_datagram(void **state)
{
	struct pair *p = *state;
	size_t len = DBB_WIRE_MAX_FRAME + 1;
	uint8_t *big = calloc(1, len);
	uint8_t *buf = malloc(DBB_WIRE_MAX_FRAME);
	int f = make_file("big");
	int fds[1] = { -1 };
	size_t nfds = 7;
	int before;

	assert_non_null(big);
	assert_non_null(buf);
	/* An fd rides along: it must be closed with the discarded datagram. */
	assert_int_equal((ssize_t)len, raw_send(p->tx, big, len, f, 1, 1));
	close(f);
	before = count_open_fds();
	assert_int_equal(-EMSGSIZE, wire_recv(p->rx, buf, DBB_WIRE_MAX_FRAME,
					      fds, 1, &nfds, 0));
	assert_int_equal(0, nfds);
	assert_int_equal(before, count_open_fds());
	/* The datagram is gone; the next one arrives whole. */
	assert_int_equal(0, wire_send(p->tx, "ok", 2, NULL, 0, 0));
	assert_int_equal(2, wire_recv(p->rx, buf, DBB_WIRE_MAX_FRAME, fds, 1,
				      &nfds, 0));
	assert_memory_equal("ok", buf, 2);
	free(big);
	free(buf);
}

static void test_recv_more_fds_than_allowed(void **state)
{
	struct pair *p = *state;
	uint8_t buf[64];
	int f = make_file("extra");
	int fds[1] = { -1 };
	size_t nfds = 7;
	int before;

	assert_int_equal(3, raw_send(p->tx, "abc", 3, f, 2, 1));
	close(f);
	before = count_open_fds();
	assert_int_equal(-EBADMSG, wire_recv(p->rx, buf, sizeof(buf), fds, 1,
					     &nfds, 0));
	assert_int_equal(0, nfds);
	assert_int_equal(-1, fds[0]);
	assert_int_equal(before, count_open_fds());
}

static void test_recv_fd_when_none_expected(void **state)
{
	struct pair *p = *state;
	uint8_t buf[64];
	int f = make_file("unexpected");
	int fds[1] = { -1 };
	size_t nfds = 7;
	int before;

	assert_int_equal(1, raw_send(p->tx, "a", 1, f, 1, 1));
	close(f);
	before = count_open_fds();
	assert_int_equal(-EBADMSG, wire_recv(p->rx, buf, sizeof(buf), fds, 0,
					     &nfds, 0));
	assert_int_equal(0, nfds);
	assert_int_equal(before, count_open_fds());
}

/* SCM_MAX_FD is 253: 250 fits in one sendmsg, far more than the receive
 * buffer has room for.  Nothing may leak, however they are split. */
static void recv_250_fds(struct pair *p, size_t ncmsg)
{
	uint8_t buf[64];
	int f = make_file("many");
	int fds[1] = { -1 };
	size_t nfds = 7;
	int before;

	assert_int_equal(4, raw_send(p->tx, "many", 4, f, 250, ncmsg));
	close(f);
	before = count_open_fds();
	assert_int_equal(-EBADMSG, wire_recv(p->rx, buf, sizeof(buf), fds, 1,
					     &nfds, 0));
	assert_int_equal(0, nfds);
	assert_int_equal(before, count_open_fds());
	/* The stream goes on. */
	assert_int_equal(0, wire_send(p->tx, "next", 4, NULL, 0, 0));
	assert_int_equal(4, wire_recv(p->rx, buf, sizeof(buf), fds, 1, &nfds, 0));
	assert_int_equal(0, nfds);
}

static void test_recv_250_fds_one_cmsg(void **state)
{
	recv_250_fds(*state, 1);
}

static void test_recv_250_fds_five_cmsgs(void **state)
{
	recv_250_fds(*state, 5);
}

/* With SO_PASSCRED the kernel adds SCM_CREDENTIALS: ancillary data the
 * frame layer does not accept; the fd that came along is closed. */
static void test_recv_foreign_cmsg(void **state)
{
	struct pair *p = *state;
	uint8_t buf[64];
	int on = 1;
	int f = make_file("creds");
	int fds[1] = { -1 };
	size_t nfds = 7;
	int before;

	assert_int_equal(0, setsockopt(p->rx, SOL_SOCKET, SO_PASSCRED, &on,
				       sizeof(on)));
	assert_int_equal(0, wire_send(p->tx, "c", 1, &f, 1, 0));
	close(f);
	before = count_open_fds();
	assert_int_equal(-EBADMSG, wire_recv(p->rx, buf, sizeof(buf), fds, 1,
					     &nfds, 0));
	assert_int_equal(0, nfds);
	assert_int_equal(before, count_open_fds());
}

static void test_recv_eagain(void **state)
{
	assert_queue_empty(((struct pair *)*state)->rx);
}

static void test_recv_eof(void **state)
{
	struct pair *p = *state;
	uint8_t buf[16];
	int fds[1] = { -1 };
	size_t nfds = 7;

	close(p->tx);
	p->tx = -1;
	assert_int_equal(0, wire_recv(p->rx, buf, sizeof(buf), fds, 1, &nfds, 0));
	assert_int_equal(0, nfds);
}

static void test_send_to_closed_peer(void **state)
{
	struct pair *p = *state;

	close(p->rx);
	p->rx = -1;
	/* MSG_NOSIGNAL: an error, not SIGPIPE. */
	assert_int_equal(-EPIPE, wire_send(p->tx, "x", 1, NULL, 0, 0));
}

static void test_pack_overflow(void **state)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__Hello hello = DMABUF_BROKER__V1__HELLO__INIT;
	uint8_t buf[8];

	(void)state;
	hello.protocol_version = 1;
	hello.client_name = "a-client-name-longer-than-eight";
	req.seq = 42;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;
	assert_int_equal(-EMSGSIZE, wire_pack(&req.base, buf, sizeof(buf)));
	assert_int_equal(-EMSGSIZE, wire_pack(&req.base, buf, 0));
}

/* ---- positive cases ---- */

static void test_pack_fits(void **state)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__Hello hello = DMABUF_BROKER__V1__HELLO__INIT;
	DmabufBroker__V1__Request *back;
	uint8_t buf[128];
	size_t need;
	ssize_t n;

	(void)state;
	hello.protocol_version = 1;
	hello.client_name = "unit";
	req.seq = 7;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;
	need = protobuf_c_message_get_packed_size(&req.base);
	/* Exactly the packed size is enough. */
	n = wire_pack(&req.base, buf, need);
	assert_int_equal((ssize_t)need, n);
	back = dmabuf_broker__v1__request__unpack(NULL, (size_t)n, buf);
	assert_non_null(back);
	assert_int_equal(7, back->seq);
	assert_int_equal(DMABUF_BROKER__V1__REQUEST__BODY_HELLO, back->body_case);
	assert_string_equal("unit", back->hello->client_name);
	dmabuf_broker__v1__request__free_unpacked(back, NULL);
}

static void test_round_trip_no_fd(void **state)
{
	struct pair *p = *state;
	uint8_t buf[DBB_WIRE_MAX_FRAME];
	static uint8_t out[DBB_WIRE_MAX_FRAME];
	int fds[1] = { -1 };
	size_t nfds = 7;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 31 + 7);
	/* The largest frame allowed passes whole. */
	assert_int_equal(0, wire_send(p->tx, out, sizeof(out), NULL, 0, 0));
	assert_int_equal((ssize_t)sizeof(out),
			 wire_recv(p->rx, buf, sizeof(buf), fds, 1, &nfds, 0));
	assert_int_equal(0, nfds);
	assert_memory_equal(out, buf, sizeof(out));
}

static void test_round_trip_one_fd(void **state)
{
	struct pair *p = *state;
	uint8_t buf[64];
	int f = make_file("one");
	int fds[1] = { -1 };
	size_t nfds = 0;
	int flags;

	assert_int_equal(0, wire_send(p->tx, "hello", 5, &f, 1, 0));
	assert_int_equal(5, wire_recv(p->rx, buf, sizeof(buf), fds, 1, &nfds, 0));
	assert_int_equal(1, nfds);
	assert_true(fds[0] >= 0);
	assert_int_not_equal(f, fds[0]);
	assert_memory_equal("hello", buf, 5);
	assert_same_file(f, fds[0]);
	flags = fcntl(fds[0], F_GETFD);
	assert_true(flags >= 0);
	assert_true(flags & FD_CLOEXEC);
	/* The sender keeps its own fd. */
	assert_true(fcntl(f, F_GETFD) >= 0);
	wire_close_fds(fds, 1);
	assert_int_equal(-1, fds[0]);
	close(f);
}

static void test_close_fds_skips_negative(void **state)
{
	int fds[3] = { -1, make_file("c"), -1 };
	int before = count_open_fds();

	(void)state;
	wire_close_fds(fds, 3);
	assert_int_equal(before - 1, count_open_fds());
	for (int i = 0; i < 3; i++)
		assert_int_equal(-1, fds[i]);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		T(test_send_oversize_refused),
		T(test_send_too_many_fds_refused),
		T(test_recv_oversize_datagram),
		T(test_recv_more_fds_than_allowed),
		T(test_recv_fd_when_none_expected),
		T(test_recv_250_fds_one_cmsg),
		T(test_recv_250_fds_five_cmsgs),
		T(test_recv_foreign_cmsg),
		T(test_recv_eagain),
		T(test_recv_eof),
		T(test_send_to_closed_peer),
		cmocka_unit_test(test_pack_overflow),
		cmocka_unit_test(test_pack_fits),
		T(test_round_trip_no_fd),
		T(test_round_trip_one_fd),
		cmocka_unit_test(test_close_fds_skips_negative),
	};
#undef T
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
