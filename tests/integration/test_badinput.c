/* SPDX-License-Identifier: MIT */
/*
 * Bad input against a real daemon, each kind its own test with its own
 * daemon.  Frames are built with protobuf-c directly or as raw bytes where
 * the library would refuse to send them.
 *
 * Every test follows the same shape (run_bad()):
 *   1. a well-behaved library client ("good") connects and allocates a
 *      buffer with a known pattern;
 *   2. warm-up: the bad input at a small count, so every code path it
 *      touches has allocated what it keeps (libevent, malloc arenas);
 *   3. baseline: the daemon's open fds and RSS;
 *   4. the bad input at full count, the good client checked in between
 *      (stats, info, import and every byte of its buffer);
 *   5. the daemon's fds equal the baseline and its RSS is within
 *      RSS_SLACK_KIB of it; the daemon exits 0 on SIGTERM.
 *
 * RSS tolerance: 2 MiB.  A leak of one small allocation per bad frame or
 * connection (>= 64 bytes each in malloc terms) over the 1,000+ iterations
 * of these tests is at most ~100 KiB, so RSS alone cannot prove there is no
 * leak; it catches per-iteration leaks of buffers (1 KiB+ each over 1,000
 * iterations) and queues that grow without bound, while staying above the
 * noise of malloc arenas and libevent's lazily grown tables (a few hundred
 * KiB here).  Small leaks are the job of the valgrind run (leak-check=full,
 * exit status checked) and of LeakSanitizer in the ASan build.  Under those
 * two RSS means little (ASan's 256 MiB quarantine and valgrind's 20 MB freed
 * list keep freed memory resident, valgrind's JIT grows with every new code
 * path), so the tolerance there is 64 MiB: still a bound on runaway growth.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dmabuf-broker.h"
#include "harness.h"
#include "wire.h"

#define RSS_SLACK_KIB 2048L
#define RSS_SLACK_SANITIZED_KIB (64L * 1024)
#define GOOD_NAME "good/buffer"
#define GOOD_SIZE (64u * 1024u)
#define GOOD_SEED 0x600du
#define WAIT_MS harness_timeout_ms(10000)

struct fixture {
	struct harness_daemon d;
	struct dbb_client *good;
	struct dbb_buffer *good_buf;
	uint64_t good_id;
	unsigned checks;
};

/* ---- fixture ---- */

static int fixture_start(void **state, const char *config)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .size = GOOD_SIZE, .name = GOOD_NAME };
	void *m = NULL;

	*state = f;
	if (!f || harness_daemon_start(&f->d, config) < 0)
		return -1;
	if (dbb_client_connect(f->d.socket, "good", &f->good) < 0 ||
	    dbb_alloc(f->good, &p, &f->good_buf) < 0 ||
	    dbb_buffer_map(f->good_buf, true, &m) < 0)
		return -1;
	harness_fill(m, GOOD_SIZE, GOOD_SEED);
	dbb_buffer_unmap(f->good_buf, m);
	f->good_id = dbb_buffer_get_info(f->good_buf)->id;
	return 0;
}

static int setup(void **state)
{
	return fixture_start(state, NULL);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		dbb_buffer_free(f->good_buf);
		dbb_client_destroy(f->good);
		harness_daemon_stop(&f->d);
		free(f);
	}
	return 0;
}

/* The well-behaved client still gets correct answers. */
static void good_check(struct fixture *f)
{
	struct dbb_buffer_info *info = NULL;
	struct dbb_buffer *b = NULL;
	struct dbb_stats st = { .struct_size = sizeof(st) };
	void *m = NULL;

	f->checks++;
	assert_true(harness_daemon_alive(&f->d));
	assert_int_equal(0, dbb_stats(f->good, &st));
	assert_true(st.buffers >= 1);
	assert_int_equal(0, dbb_info_by_name(f->good, GOOD_NAME, &info));
	assert_int_equal(f->good_id, info->id);
	assert_int_equal(GOOD_SIZE, info->size);
	dbb_buffer_info_free(info);
	/* Read-only where the backend allows a read-only import at all. */
	assert_int_equal(0, dbb_open_by_id(f->good, f->good_id,
					     harness_backend_read_only(), &b));
	assert_int_equal(0, dbb_buffer_map(b, false, &m));
	assert_int_equal(-1, harness_check(m, GOOD_SIZE, GOOD_SEED));
	assert_int_equal(0, dbb_buffer_unmap(b, m));
	dbb_buffer_free(b);
}

/* Waits until only the good client and its buffer are left: the daemon
 * handles disconnections asynchronously. */
static void settle(struct fixture *f)
{
	int64_t end = harness_now_ms() + WAIT_MS;
	struct dbb_stats st = { .struct_size = sizeof(st) };

	for (;;) {
		assert_int_equal(0, dbb_stats(f->good, &st));
		if ((st.clients == 1 && st.buffers == 1) ||
		    harness_now_ms() > end)
			break;
		usleep(2000);
	}
	assert_int_equal(1, st.clients);
	assert_int_equal(1, st.buffers);
}

/* A bad input run @n times. */
typedef void (*bad_fn)(struct fixture *f, unsigned n);

static long rss_slack_kib(struct fixture *f)
{
	if (harness_wrapped() || harness_pid_has_asan(f->d.pid))
		return RSS_SLACK_SANITIZED_KIB;
	return RSS_SLACK_KIB;
}

static void run_bad(struct fixture *f, bad_fn fn, unsigned full, unsigned min)
{
	unsigned n = harness_scaled(full, min);
	unsigned warm = n / 10 ? n / 10 : 1;
	int fds_base, fds_end;
	long rss_base, rss_end;

	good_check(f);
	fn(f, warm);
	good_check(f);
	settle(f);
	fds_base = harness_fd_count(f->d.pid);
	rss_base = harness_rss_kib(f->d.pid);
	assert_true(fds_base > 0);
	assert_true(rss_base > 0);
	fn(f, n);
	good_check(f);
	settle(f);
	fds_end = harness_wait_fd_count(f->d.pid, fds_base, WAIT_MS);
	rss_end = harness_rss_kib(f->d.pid);
	printf("# %u iterations: daemon fds %d -> %d, RSS %ld -> %ld KiB "
	       "(%+ld, tolerance %ld)\n", n, fds_base, fds_end, rss_base,
	       rss_end, rss_end - rss_base, rss_slack_kib(f));
	assert_int_equal(fds_base, fds_end);
	assert_true(rss_end - rss_base <= rss_slack_kib(f));
	assert_int_equal(0, harness_daemon_stop(&f->d));
}

/* ---- frames ---- */

struct rq {
	DmabufBroker__V1__Request r;
	DmabufBroker__V1__Hello hello;
	DmabufBroker__V1__AllocRequest alloc;
	DmabufBroker__V1__ImportRequest import;
	DmabufBroker__V1__InfoRequest info;
	DmabufBroker__V1__PublishRequest publish;
	DmabufBroker__V1__StatsRequest stats;
	DmabufBroker__V1__ImageLayout layout;
	DmabufBroker__V1__Plane plane[5];
	DmabufBroker__V1__Plane *planes[5];
	DmabufBroker__V1__Grant grant;
	DmabufBroker__V1__Grant *grants[1];
};

static void rq_init(struct rq *q, uint64_t seq)
{
	static const DmabufBroker__V1__Request r = DMABUF_BROKER__V1__REQUEST__INIT;
	static const DmabufBroker__V1__Hello h = DMABUF_BROKER__V1__HELLO__INIT;
	static const DmabufBroker__V1__AllocRequest a =
		DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	static const DmabufBroker__V1__ImportRequest im =
		DMABUF_BROKER__V1__IMPORT_REQUEST__INIT;
	static const DmabufBroker__V1__InfoRequest in =
		DMABUF_BROKER__V1__INFO_REQUEST__INIT;
	static const DmabufBroker__V1__PublishRequest pu =
		DMABUF_BROKER__V1__PUBLISH_REQUEST__INIT;
	static const DmabufBroker__V1__StatsRequest st =
		DMABUF_BROKER__V1__STATS_REQUEST__INIT;
	static const DmabufBroker__V1__ImageLayout l =
		DMABUF_BROKER__V1__IMAGE_LAYOUT__INIT;
	static const DmabufBroker__V1__Plane pl = DMABUF_BROKER__V1__PLANE__INIT;
	static const DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;

	q->r = r;
	q->hello = h;
	q->alloc = a;
	q->import = im;
	q->info = in;
	q->publish = pu;
	q->stats = st;
	q->layout = l;
	for (int i = 0; i < 5; i++) {
		q->plane[i] = pl;
		q->planes[i] = &q->plane[i];
	}
	q->grant = g;
	q->grants[0] = &q->grant;
	q->r.seq = seq;
}

static DmabufBroker__V1__Request *rq_stats(struct rq *q, uint64_t seq)
{
	rq_init(q, seq);
	q->r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_STATS;
	q->r.stats = &q->stats;
	return &q->r;
}

static DmabufBroker__V1__Request *rq_hello(struct rq *q, uint64_t seq,
					   uint32_t version, const char *name)
{
	rq_init(q, seq);
	q->hello.protocol_version = version;
	q->hello.client_name = (char *)name;
	q->r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	q->r.hello = &q->hello;
	return &q->r;
}

static DmabufBroker__V1__Request *rq_alloc(struct rq *q, uint64_t seq,
					   uint64_t size, const char *name)
{
	rq_init(q, seq);
	q->alloc.size = size;
	q->alloc.name = (char *)(name ? name : "");
	q->r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_ALLOC;
	q->r.alloc = &q->alloc;
	return &q->r;
}

/* Sends @len raw bytes as one datagram. */
static int send_bytes(int sock, const void *buf, size_t len)
{
	ssize_t n = send(sock, buf, len, MSG_NOSIGNAL);

	return n < 0 ? -errno : 0;
}

/* Sends @req with its status expected: the reply echoes the seq and the
 * connection stays. */
static void call_expect(int sock, const DmabufBroker__V1__Request *req,
			int want)
{
	uint64_t seq = ~0ull;
	int fd = -1;

	assert_int_equal(want, harness_raw_call(sock, req, &seq, &fd));
	assert_int_equal(req->seq, seq);
	if (want < 0)
		assert_int_equal(-1, fd);
	if (fd >= 0)
		close(fd);
}

/* The daemon hangs up on @sock without a reply. */
static void expect_disconnect(int sock)
{
	DmabufBroker__V1__ServerMessage *m = NULL;
	int r = harness_raw_recv(sock, WAIT_MS, &m, NULL);

	if (m) {
		printf("# expected a disconnect, got a reply (status %d)\n",
		       m->kind_case == DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE ?
			       m->response->status : 0);
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	}
	assert_int_equal(-EPIPE, r);
}

static int client_ok(struct fixture *f, const char *name)
{
	int s = harness_raw_client(f->d.socket, name);

	assert_true(s >= 0);
	return s;
}

static void stats_ok(int sock, uint64_t seq)
{
	struct rq q;

	call_expect(sock, rq_stats(&q, seq), 0);
}

/* ---- garbage ---- */

/* Bytes protobuf cannot decode as a Request: every third kind starts with
 * an invalid wire type (7), an unterminated varint, or a length past the
 * end; the rest is noise. */
static size_t make_garbage(uint8_t *buf, size_t cap, unsigned i)
{
	size_t len = 1 + (i * 7919u) % (cap - 1);

	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(rand() & 0xff);
	switch (i % 3) {
	case 0:
		buf[0] = 0x07;				/* field 0, wire type 7 */
		break;
	case 1:
		memset(buf, 0xff, len);			/* varint never ends */
		break;
	default:
		buf[0] = 0x1a;				/* field 3, length... */
		buf[1] = 0xff;				/* ...far past the end */
		buf[2] = 0xff;
		buf[3] = 0x7f;
		if (len < 4)
			len = 4;
		break;
	}
	return len;
}

static void bad_garbage(struct fixture *f, unsigned n)
{
	static uint8_t buf[4096];
	DmabufBroker__V1__Request *check;

	for (unsigned i = 0; i < n; i++) {
		size_t len = make_garbage(buf, sizeof(buf), i);
		/* Half after Hello, half as the very first frame. */
		int s = i & 1 ? client_ok(f, "garbage") :
				harness_raw_connect(f->d.socket);

		check = dmabuf_broker__v1__request__unpack(NULL, len, buf);
		assert_null(check);	/* the test's own premise */
		assert_true(s >= 0);
		assert_int_equal(0, send_bytes(s, buf, len));
		expect_disconnect(s);
		close(s);
		if (i % 50 == 49)
			good_check(f);
	}
}

static void test_garbage_datagrams(void **state)
{
	srand(1);
	run_bad(*state, bad_garbage, 300, 30);
}

/* ---- truncated frames ---- */

/* A request with nested messages at every level, packed. */
static ssize_t pack_rich_alloc(uint8_t **out)
{
	struct rq q;

	rq_alloc(&q, 0x1234567890ull, 4096, "truncated/name-long-enough");
	q.alloc.lifetime = DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT;
	q.alloc.backend = "memfd";
	q.layout.fourcc = 0x34325258;	/* XR24 */
	q.layout.width = 32;
	q.layout.height = 32;
	q.plane[0].stride = 128;
	q.layout.n_planes = 1;
	q.layout.planes = q.planes;
	q.alloc.layout = &q.layout;
	q.grant.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
	q.grant.uid = 4242;
	q.grant.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ;
	q.alloc.n_grants = 1;
	q.alloc.grants = q.grants;
	return harness_raw_pack(&q.r, out);
}

static void bad_truncated(struct fixture *f, unsigned n)
{
	uint8_t *frame;
	ssize_t len = pack_rich_alloc(&frame);
	unsigned undecodable = 0, sent = 0;

	assert_true(len > 40);
	for (unsigned i = 0; sent < n; i++) {
		size_t cut = 1 + i % (size_t)(len - 1);
		DmabufBroker__V1__Request *dec =
			dmabuf_broker__v1__request__unpack(NULL, cut, frame);
		int s = client_ok(f, "truncated");

		assert_int_equal(0, send_bytes(s, frame, cut));
		if (!dec) {
			/* A protocol violation: hung up on. */
			undecodable++;
			expect_disconnect(s);
		} else {
			/* Cut at a field boundary: a valid (if odd) request,
			 * answered like any other. */
			DmabufBroker__V1__ServerMessage *m = NULL;
			int fd = -1;

			assert_int_equal(0, harness_raw_response(s, WAIT_MS, &m, &fd));
			assert_int_equal(dec->seq, m->response->seq);
			if (fd >= 0)
				close(fd);
			dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
			dmabuf_broker__v1__request__free_unpacked(dec, NULL);
		}
		close(s);
		sent++;
		if (sent % 50 == 0)
			good_check(f);
	}
	/* A truncated Hello as the very first frame. */
	{
		struct rq q;
		uint8_t *h;
		ssize_t hl = harness_raw_pack(rq_hello(&q, 1, 1, "cut-short-hello"), &h);
		int s = harness_raw_connect(f->d.socket);

		assert_true(s >= 0);
		assert_int_equal(0, send_bytes(s, h, (size_t)hl - 3));
		expect_disconnect(s);
		close(s);
		free(h);
	}
	if (n > 1)
		assert_true(undecodable > 0);
	free(frame);
}

static void test_truncated_frames(void **state)
{
	run_bad(*state, bad_truncated, 300, 60);
}

/* ---- oversized frames ---- */

static const char small_frames_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"[limits]\n"
	"max_request_size = 4096\n";

static int setup_small_frames(void **state)
{
	return fixture_start(state, small_frames_config);
}

/* A decodable Stats request of exactly @len bytes: the padding is an
 * unknown length-delimited field (number 100) a newer client might send. */
static uint8_t *padded_stats(size_t len, uint64_t seq)
{
	struct rq q;
	uint8_t *head, *buf = calloc(1, len);
	ssize_t hl = harness_raw_pack(rq_stats(&q, seq), &head);
	size_t body, p;

	assert_non_null(buf);
	assert_true(hl > 0 && (size_t)hl + 8 < len);
	memcpy(buf, head, (size_t)hl);
	free(head);
	p = (size_t)hl;
	buf[p++] = 0xa2;	/* field 100, wire type 2: (100 << 3 | 2) */
	buf[p++] = 0x06;
	body = len - p - 3;	/* three-byte varint length */
	buf[p++] = (uint8_t)(0x80 | (body & 0x7f));
	buf[p++] = (uint8_t)(0x80 | ((body >> 7) & 0x7f));
	buf[p++] = (uint8_t)(body >> 14);
	memset(buf + p, 'p', body);
	return buf;
}

static void bad_oversized(struct fixture *f, unsigned n)
{
	static const size_t sizes[] = {
		4097, 5000, DBB_WIRE_MAX_FRAME, DBB_WIRE_MAX_FRAME + 1,
		100 * 1024, 160 * 1024,
	};

	for (unsigned i = 0; i < n; i++) {
		size_t len = sizes[i % 6];
		uint8_t *buf = padded_stats(len, 9);
		DmabufBroker__V1__Request *dec;
		int s = client_ok(f, "oversized");

		dec = dmabuf_broker__v1__request__unpack(NULL, len, buf);
		assert_non_null(dec);	/* valid but for its size */
		dmabuf_broker__v1__request__free_unpacked(dec, NULL);
		assert_int_equal(0, send_bytes(s, buf, len));
		expect_disconnect(s);
		close(s);
		free(buf);
		/* Just under the configured limit is read and answered
		 * (refused for its padding field, which this broker does
		 * not know, instead of hung up on). */
		if (i % 6 == 0) {
			s = client_ok(f, "just-fits");
			buf = padded_stats(4096, 10);
			assert_int_equal(0, send_bytes(s, buf, 4096));
			{
				DmabufBroker__V1__ServerMessage *m = NULL;

				assert_int_equal(0, harness_raw_response(s, WAIT_MS,
									&m, NULL));
				assert_int_equal(10, m->response->seq);
				assert_int_equal(-EOPNOTSUPP, m->response->status);
				dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
			}
			free(buf);
			close(s);
		}
		if (i % 20 == 19)
			good_check(f);
	}
}

static void test_oversized_frames(void **state)
{
	run_bad(*state, bad_oversized, 120, 12);
}

/* ---- unknown request types ---- */

static void bad_unknown_request(struct fixture *f, unsigned n)
{
	int s = client_ok(f, "unknown");

	for (unsigned i = 0; i < n; i++) {
		uint64_t seq = 100 + i;
		struct rq q;
		uint8_t *head, buf[256];
		ssize_t hl;
		size_t p;
		DmabufBroker__V1__ServerMessage *m = NULL;

		/* An empty body: only a seq. */
		rq_init(&q, seq);
		call_expect(s, &q.r, -EOPNOTSUPP);
		/* A field number no v1 request has (17: the next oneof
		 * member a later version might add; 99: far out). */
		rq_init(&q, seq);
		hl = harness_raw_pack(&q.r, &head);
		memcpy(buf, head, (size_t)hl);
		free(head);
		p = (size_t)hl;
		if (i & 1) {
			buf[p++] = 0x8a;	/* field 17, wire type 2 */
			buf[p++] = 0x01;
			buf[p++] = 2;
			buf[p++] = 0x08;	/* nested: field 1 varint */
			buf[p++] = 0x01;
		} else {
			buf[p++] = 0x9a;	/* field 99, wire type 2 */
			buf[p++] = 0x06;
			buf[p++] = 3;
			memcpy(buf + p, "abc", 3);
			p += 3;
		}
		assert_int_equal(0, send_bytes(s, buf, p));
		assert_int_equal(0, harness_raw_response(s, WAIT_MS, &m, NULL));
		assert_int_equal(seq, m->response->seq);
		assert_int_equal(-EOPNOTSUPP, m->response->status);
		assert_non_null(m->response->message);
		assert_true(strlen(m->response->message) > 0);
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
		/* The connection stays and works. */
		stats_ok(s, seq + 1000000);
		if (i % 50 == 49)
			good_check(f);
	}
	close(s);
}

static void test_unknown_request_types(void **state)
{
	run_bad(*state, bad_unknown_request, 300, 30);
}

/* ---- fields and features a newer client might rely on ---- */

/* Buffers the broker holds, from a Stats call on @sock. */
static uint64_t raw_buffer_count(int sock, uint64_t seq)
{
	DmabufBroker__V1__ServerMessage *m = NULL;
	struct rq q;
	uint64_t n;

	assert_int_equal(0, harness_raw_send(sock, rq_stats(&q, seq), false));
	assert_int_equal(0, harness_raw_response(sock, WAIT_MS, &m, NULL));
	assert_int_equal(0, m->response->status);
	assert_int_equal(DMABUF_BROKER__V1__RESPONSE__BODY_STATS,
			 m->response->body_case);
	n = m->response->stats->buffers;
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return n;
}

/* An Alloc with a field this broker does not know, at the top or inside
 * the body, is refused and allocates nothing; the connection stays. */
static void test_unknown_fields_refused(void **state)
{
	struct fixture *f = *state;
	static uint8_t one = 1;
	ProtobufCMessageUnknownField uf = {
		.tag = 99, .wire_type = PROTOBUF_C_WIRE_TYPE_VARINT,
		.len = 1, .data = &one,
	};
	uint64_t before;
	struct rq q;
	int s = client_ok(f, "newer-client");

	before = raw_buffer_count(s, 1);
	rq_alloc(&q, 2, 4096, "unknown/inner");
	q.alloc.base.n_unknown_fields = 1;
	q.alloc.base.unknown_fields = &uf;
	call_expect(s, &q.r, -EOPNOTSUPP);
	rq_alloc(&q, 3, 4096, "unknown/outer");
	q.r.base.n_unknown_fields = 1;
	q.r.base.unknown_fields = &uf;
	call_expect(s, &q.r, -EOPNOTSUPP);
	assert_int_equal(before, raw_buffer_count(s, 4));
	/* The same request without the field is served. */
	call_expect(s, rq_alloc(&q, 5, 4096, "unknown/plain"), 0);
	assert_int_equal(before + 1, raw_buffer_count(s, 6));
	close(s);
	good_check(f);
}

/* A Hello that requires a feature the broker lacks is refused with the
 * list of those it has; one that requires known features is accepted. */
static void test_required_features(void **state)
{
	struct fixture *f = *state;
	char *missing[] = { "pin", "no-such-feature" };
	char *known[] = { "pin", "adopt", "alloc-format" };
	DmabufBroker__V1__ServerMessage *m = NULL;
	const DmabufBroker__V1__HelloReply *h;
	bool has_pin = false;
	struct rq q;
	int s = harness_raw_connect(f->d.socket);

	assert_true(s >= 0);
	rq_hello(&q, 1, 1, "picky");
	q.hello.n_required_features = 2;
	q.hello.required_features = missing;
	assert_int_equal(0, harness_raw_send(s, &q.r, false));
	assert_int_equal(0, harness_raw_response(s, WAIT_MS, &m, NULL));
	assert_int_equal(-EOPNOTSUPP, m->response->status);
	assert_non_null(strstr(m->response->message, "no-such-feature"));
	assert_int_equal(DMABUF_BROKER__V1__RESPONSE__BODY_HELLO,
			 m->response->body_case);
	h = m->response->hello;
	for (size_t i = 0; i < h->n_features; i++)
		has_pin |= strcmp(h->features[i], "pin") == 0;
	assert_true(has_pin);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	/* Not past Hello yet: requests are still gated. */
	rq_hello(&q, 2, 1, "picky");
	q.hello.n_required_features = 3;
	q.hello.required_features = known;
	call_expect(s, &q.r, 0);
	stats_ok(s, 3);
	close(s);
	good_check(f);
}

/* ---- unexpected fds ---- */

/* Sends a valid Stats request with @nfds copies of @fd in @ncmsg
 * SCM_RIGHTS messages (250 fits under the kernel's SCM_MAX_FD of 253). */
static void send_with_fds(int sock, const DmabufBroker__V1__Request *req,
			  int fd, size_t nfds, size_t ncmsg)
{
	uint8_t *data;
	ssize_t len = harness_raw_pack(req, &data);
	size_t per = (nfds + ncmsg - 1) / ncmsg;
	size_t space = ncmsg * CMSG_SPACE(sizeof(int) * per);
	char *ctrl = calloc(1, space);
	struct iovec iov = { .iov_base = data, .iov_len = (size_t)len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctrl, .msg_controllen = space,
	};
	size_t left = nfds;

	assert_non_null(ctrl);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c && left;
	     c = CMSG_NXTHDR(&msg, c)) {
		size_t k = left < per ? left : per;

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * k);
		for (size_t i = 0; i < k; i++)
			memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
		left -= k;
	}
	assert_int_equal(len, sendmsg(sock, &msg, MSG_NOSIGNAL));
	free(ctrl);
	free(data);
}

/* True once every copy of the pipe's write end is closed, wherever it
 * went: the read end then reports end of file. */
static bool pipe_writers_gone(int rd, int timeout_ms)
{
	struct pollfd p = { .fd = rd, .events = POLLIN };
	char c;

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	return read(rd, &c, 1) == 0;
}

static void bad_fds(struct fixture *f, unsigned n)
{
	static const size_t counts[][2] = {
		{ 1, 1 }, { 2, 1 }, { 250, 1 }, { 250, 5 }, { 201, 3 },
	};

	for (unsigned i = 0; i < n; i++) {
		size_t nfds = counts[i % 5][0], ncmsg = counts[i % 5][1];
		bool before_hello = i % 7 == 3;
		struct rq q;
		int p[2], s;

		assert_int_equal(0, pipe2(p, O_CLOEXEC));
		s = before_hello ? harness_raw_connect(f->d.socket) :
				   client_ok(f, "fds");
		assert_true(s >= 0);
		send_with_fds(s, before_hello ? rq_hello(&q, 1, 1, "fds") :
						rq_stats(&q, 2),
			      p[1], nfds, ncmsg);
		close(p[1]);
		/* Disconnected with no reply... */
		expect_disconnect(s);
		close(s);
		/* ...and every copy it was sent is closed. */
		assert_true(pipe_writers_gone(p[0], WAIT_MS));
		close(p[0]);
		if (i % 20 == 19)
			good_check(f);
	}
}

static void test_unexpected_fds(void **state)
{
	run_bad(*state, bad_fds, 200, 20);
}

/* ---- order of requests ---- */

static void bad_before_hello(struct fixture *f, unsigned n)
{
	struct dbb_stats st0 = { .struct_size = sizeof(st0) };
	struct dbb_stats st = { .struct_size = sizeof(st) };

	assert_int_equal(0, dbb_stats(f->good, &st0));
	for (unsigned i = 0; i < n; i++) {
		int s = harness_raw_connect(f->d.socket);
		struct rq q;

		assert_true(s >= 0);
		switch (i % 4) {
		case 0:	/* a request as the first frame */
			assert_int_equal(0, harness_raw_send(s, rq_stats(&q, 1),
							     false));
			break;
		case 1:	/* an allocation as the first frame */
			assert_int_equal(0, harness_raw_send(s,
					rq_alloc(&q, 1, 4096, "before/hello"), false));
			break;
		case 2:	/* another protocol version */
			assert_int_equal(0, harness_raw_send(s,
					rq_hello(&q, 1, 2, "v2"), false));
			break;
		default: /* a second Hello */
			assert_int_equal(0, harness_raw_hello(s, "twice"));
			assert_int_equal(0, harness_raw_send(s,
					rq_hello(&q, 2, 1, "twice"), false));
			break;
		}
		if (i % 4 == 2) {
			/* A reply saying why is allowed before hanging up. */
			DmabufBroker__V1__ServerMessage *m = NULL;
			int r = harness_raw_recv(s, WAIT_MS, &m, NULL);

			if (r == 0) {
				assert_true(m->response->status < 0);
				dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
				r = harness_raw_recv(s, WAIT_MS, &m, NULL);
			}
			assert_int_equal(-EPIPE, r);
		} else {
			expect_disconnect(s);
		}
		close(s);
		if (i % 40 == 39)
			good_check(f);
	}
	/* Nothing was allocated by the refused frames. */
	assert_int_equal(0, dbb_stats(f->good, &st));
	assert_int_equal(st0.buffers, st.buffers);
	assert_int_equal(-ENOENT, dbb_info_by_name(f->good, "before/hello",
						   &(struct dbb_buffer_info *){ NULL }));
}

static void test_requests_before_hello(void **state)
{
	run_bad(*state, bad_before_hello, 200, 20);
}

static void test_bad_client_names(void **state)
{
	struct fixture *f = *state;
	static char long_name[66];
	static const char *const bad[] = { "tab\there", "bell\a", "\x7f",
					   "caf\xc3\xa9", long_name };
	struct rq q;
	int s;

	memset(long_name, 'n', 65);	/* 65 bytes: one too many */
	good_check(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = harness_raw_connect(f->d.socket);
		assert_true(s >= 0);
		call_expect(s, rq_hello(&q, 3, 1, bad[i]), -EINVAL);
		close(s);
	}
	/* 64 printable bytes are fine. */
	long_name[64] = '\0';
	s = harness_raw_connect(f->d.socket);
	assert_true(s >= 0);
	call_expect(s, rq_hello(&q, 4, 1, long_name), 0);
	stats_ok(s, 5);
	close(s);
	good_check(f);
	assert_int_equal(0, harness_daemon_stop(&f->d));
}

/* ---- absurd sizes ---- */

static void bad_sizes(struct fixture *f, unsigned n)
{
	int s = client_ok(f, "sizes");
	struct dbb_stats st0 = { .struct_size = sizeof(st0) };
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct dbb_buffer *b = NULL;
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .size = 0, .name = "absurd/lib" };

	assert_int_equal(0, dbb_stats(f->good, &st0));
	for (unsigned i = 0; i < n; i++) {
		struct rq q;
		uint64_t seq = 10 + i;

		call_expect(s, rq_alloc(&q, seq, 0, NULL), -EINVAL);
		call_expect(s, rq_alloc(&q, seq, 0, "absurd/zero"), -EINVAL);
		call_expect(s, rq_alloc(&q, seq, 1ull << 63, NULL), -EFBIG);
		call_expect(s, rq_alloc(&q, seq, 1ull << 63, "absurd/huge"), -EFBIG);
		call_expect(s, rq_alloc(&q, seq, UINT64_MAX, NULL), -EFBIG);
		call_expect(s, rq_alloc(&q, seq, UINT64_MAX - 4095, NULL), -EFBIG);
		/* Default max_buffer_size is 1 GiB. */
		call_expect(s, rq_alloc(&q, seq, (1ull << 30) + 1, NULL), -EFBIG);
		/* A layout with more planes than a buffer can have. */
		rq_alloc(&q, seq, 4096, NULL);
		q.layout.fourcc = 0x34325258;
		q.layout.width = 16;
		q.layout.height = 16;
		q.layout.n_planes = 5;
		q.layout.planes = q.planes;
		q.alloc.layout = &q.layout;
		call_expect(s, &q.r, -EINVAL);
		/* Through the library too. */
		p.size = i & 1 ? 0 : UINT64_MAX;
		assert_true(dbb_alloc(f->good, &p, &b) < 0);
		assert_null(b);
		if (i % 50 == 49)
			good_check(f);
	}
	stats_ok(s, 1);
	close(s);
	/* Nothing was allocated, and the names were not taken. */
	assert_int_equal(0, dbb_stats(f->good, &st));
	assert_int_equal(st0.buffers, st.buffers);
	assert_int_equal(st0.bytes, st.bytes);
	p.size = 4096;
	p.name = "absurd/zero";
	assert_int_equal(0, dbb_alloc(f->good, &p, &b));
	assert_int_equal(0, dbb_remove(f->good, dbb_buffer_get_info(b)->id));
	dbb_buffer_free(b);
}

static void test_absurd_sizes(void **state)
{
	run_bad(*state, bad_sizes, 200, 20);
}

/* ---- names ---- */

static void bad_names(struct fixture *f, unsigned n)
{
	static char too_long[DBB_MAX_NAME + 2], longest[DBB_MAX_NAME + 1];
	static const char *const invalid[] = {
		".hidden", "/absolute", "with space", "tab\tname", "new\nline",
		"caf\xc3\xa9", "semi;colon", "star*", "back\\slash", "quote\"",
		"percent%", "\x01", too_long, NULL,
	};
	int s = client_ok(f, "names");
	uint64_t seq = 1;

	memset(too_long, 'n', DBB_MAX_NAME + 1);	/* 256 bytes */
	memset(longest, 'l', DBB_MAX_NAME);		/* 255 bytes */
	for (unsigned i = 0; i < n; i++) {
		const char *name = invalid[i % 13];
		struct rq q;
		int fd = -1;
		int r;

		call_expect(s, rq_alloc(&q, seq++, 4096, name), -EINVAL);
		/* Publishing an existing buffer under it. */
		rq_init(&q, seq++);
		q.publish.id = f->good_id;
		q.publish.name = (char *)name;
		q.r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_PUBLISH;
		q.r.publish = &q.publish;
		r = harness_raw_call(s, &q.r, NULL, NULL);
		/* Not ours, and named already: any refusal will do, but a
		 * refusal it must be. */
		assert_true(r == -EINVAL || r == -EPERM || r == -EEXIST);
		/* Looking it up: bad name or no such buffer. */
		rq_init(&q, seq++);
		q.import.target_case = DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_NAME;
		q.import.name = (char *)name;
		q.r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_IMPORT;
		q.r.import = &q.import;
		r = harness_raw_call(s, &q.r, NULL, &fd);
		assert_true(r == -EINVAL || r == -ENOENT);
		assert_int_equal(-1, fd);
		rq_init(&q, seq++);
		q.info.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_NAME;
		q.info.name = (char *)name;
		q.r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_INFO;
		q.r.info = &q.info;
		r = harness_raw_call(s, &q.r, NULL, NULL);
		assert_true(r == -EINVAL || r == -ENOENT);
		/* The longest valid name, and a name that is taken. */
		if (i % 13 == 12) {
			struct dbb_alloc_params p = { .struct_size = sizeof(p),
						      .size = 4096, .name = longest };
			struct dbb_buffer *b = NULL;

			call_expect(s, rq_alloc(&q, seq++, 4096, GOOD_NAME), -EEXIST);
			assert_int_equal(0, dbb_alloc(f->good, &p, &b));
			assert_string_equal(longest, dbb_buffer_get_info(b)->name);
			assert_int_equal(0, dbb_remove(f->good,
							dbb_buffer_get_info(b)->id));
			dbb_buffer_free(b);
			good_check(f);
		}
	}
	stats_ok(s, seq);
	close(s);
}

static void test_invalid_names(void **state)
{
	run_bad(*state, bad_names, 260, 26);
}

/* ---- connection churn ---- */

static void bad_churn(struct fixture *f, unsigned n)
{
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int64_t end;

	for (unsigned i = 0; i < n; i++) {
		int s = harness_raw_connect(f->d.socket);
		struct rq q;

		assert_true(s >= 0);
		switch (i % 4) {
		case 0:		/* connect and leave */
			break;
		case 1:		/* a full Hello */
			assert_int_equal(0, harness_raw_hello(s, "churn"));
			break;
		case 2:		/* Hello, gone before the reply */
			assert_int_equal(0, harness_raw_send(s,
					rq_hello(&q, 1, 1, "churn"), false));
			break;
		default:	/* allocate, gone before the reply */
			assert_int_equal(0, harness_raw_hello(s, "churn"));
			assert_int_equal(0, harness_raw_send(s,
					rq_alloc(&q, 2, 4096, NULL), false));
			break;
		}
		close(s);
		if (i % 250 == 249)
			good_check(f);
	}
	/* Every connection is accounted as closed, every buffer freed. */
	end = harness_now_ms() + WAIT_MS;
	do {
		assert_int_equal(0, dbb_stats(f->good, &st));
	} while ((st.clients != 1 || st.buffers != 1) &&
		 harness_now_ms() < end && usleep(5000) == 0);
	assert_int_equal(1, st.clients);
	assert_int_equal(1, st.buffers);
}

static void test_connect_disconnect_cycles(void **state)
{
	run_bad(*state, bad_churn, 1000, 200);
}

/* ---- clients that never read ---- */

/* Floods requests without reading until the daemon hangs up; returns how
 * many were sent.  Fails if the daemon neither reads nor hangs up. */
static unsigned flood_until_disconnected(int s)
{
	int64_t end = harness_now_ms() + WAIT_MS * 3;
	unsigned sent = 0;
	struct rq q;

	while (harness_now_ms() < end) {
		struct pollfd p = { .fd = s, .events = POLLOUT };
		int r = harness_raw_send(s, rq_stats(&q, sent + 1), true);

		if (r == 0) {
			sent++;
			continue;
		}
		if (r == -EPIPE || r == -ECONNRESET)
			return sent;
		assert_int_equal(-EAGAIN, r);
		poll(&p, 1, 100);
	}
	fail_msg("still connected after %u unread requests", sent);
	return sent;
}

/* What we did receive is in order: responses to 1, 2, 3, ... */
static void drain_in_order(int s)
{
	DmabufBroker__V1__ServerMessage *m = NULL;
	uint64_t want = 1;

	while (harness_raw_recv(s, WAIT_MS, &m, NULL) == 0) {
		assert_int_equal(DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE,
				 m->kind_case);
		assert_int_equal(want, m->response->seq);
		assert_int_equal(0, m->response->status);
		want++;
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	}
}

static void bad_never_reads(struct fixture *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int s = client_ok(f, "deaf");
		unsigned sent = flood_until_disconnected(s);

		assert_true(sent > 16);
		if (i == 0)
			printf("# disconnected after %u unread requests\n", sent);
		drain_in_order(s);
		close(s);
		good_check(f);
	}
}

static void test_client_never_reads(void **state)
{
	run_bad(*state, bad_never_reads, 20, 3);
}

/* A watcher that never reads its events: the good client's activity
 * fills its queue until the daemon drops it. */
static void bad_deaf_watcher(struct fixture *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int s = client_ok(f, "deaf-watcher");
		DmabufBroker__V1__WatchRequest w = DMABUF_BROKER__V1__WATCH_REQUEST__INIT;
		struct rq q;
		struct dbb_alloc_params p = { .struct_size = sizeof(p),
					      .size = 4096 };
		int64_t end = harness_now_ms() + WAIT_MS * 3;
		unsigned events = 0;

		rq_init(&q, 7);
		w.enable = 1;
		q.r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_WATCH;
		q.r.watch = &w;
		call_expect(s, &q.r, 0);
		/* Each alloc + destroy makes two events for it. */
		for (;;) {
			struct pollfd pf = { .fd = s, .events = POLLRDHUP };
			struct dbb_buffer *b = NULL;

			assert_int_equal(0, dbb_alloc(f->good, &p, &b));
			assert_int_equal(0, dbb_remove(f->good,
							dbb_buffer_get_info(b)->id));
			dbb_buffer_free(b);
			events += 2;
			if (poll(&pf, 1, 0) > 0 && pf.revents & (POLLRDHUP | POLLHUP))
				break;
			assert_true(harness_now_ms() < end);
		}
		assert_true(events > 16);
		if (i == 0)
			printf("# watcher dropped after ~%u unread events\n", events);
		assert_int_equal(0, harness_raw_wait_eof(s, WAIT_MS));
		close(s);
		good_check(f);
	}
}

static void test_watcher_never_reads(void **state)
{
	run_bad(*state, bad_deaf_watcher, 10, 2);
}

/* ---- clients that never say Hello ---- */

static const char hello_timeout_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"[limits]\n"
	"hello_timeout = 1\n";

static int setup_hello_timeout(void **state)
{
	return fixture_start(state, hello_timeout_config);
}

/* How often @what occurs in the daemon's log. */
static unsigned log_count(const struct fixture *f, const char *what)
{
	FILE *fp = fopen(f->d.log, "r");
	char line[1024];
	unsigned n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		n += strstr(line, what) != NULL;
	fclose(fp);
	return n;
}

/*
 * Connections that send nothing are dropped hello_timeout (1 s here) after
 * they connected, each logged once; one that said Hello at once stays, and
 * the good client is served throughout.
 */
static void test_silent_clients_dropped(void **state)
{
	enum { SILENT = 3 };
	struct fixture *f = *state;
	int s[SILENT], polite, fds_base;
	int64_t t0;

	good_check(f);
	settle(f);
	fds_base = harness_fd_count(f->d.pid);
	t0 = harness_now_ms();
	for (int i = 0; i < SILENT; i++) {
		s[i] = harness_raw_connect(f->d.socket);
		assert_true(s[i] >= 0);
	}
	polite = client_ok(f, "polite");
	good_check(f);
	for (int i = 0; i < SILENT; i++)
		assert_int_equal(0, harness_raw_wait_eof(s[i], WAIT_MS));
	/* Not before the timeout, and within a few seconds. */
	assert_true(harness_now_ms() - t0 >= 900);
	assert_true(harness_now_ms() - t0 <= WAIT_MS);
	for (int i = 0; i < SILENT; i++)
		close(s[i]);
	/* The polite raw client is still served past the deadline. */
	stats_ok(polite, 2);
	good_check(f);
	close(polite);
	assert_int_equal(fds_base,
			 harness_wait_fd_count(f->d.pid, fds_base, WAIT_MS));
	settle(f);
	/* Logged once per connection (the stop removes the log). */
	assert_int_equal(SILENT, log_count(f, "no Hello within 1 s"));
	assert_int_equal(0, harness_daemon_stop(&f->d));
}

/* ---- client limit ---- */

static const char few_clients_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"[limits]\n"
	"max_clients = 4\n";

static int setup_few_clients(void **state)
{
	return fixture_start(state, few_clients_config);
}

/* Waits until the daemon counts @n clients (closes are asynchronous). */
static void wait_clients(struct fixture *f, uint64_t n)
{
	int64_t end = harness_now_ms() + WAIT_MS;
	struct dbb_stats st = { .struct_size = sizeof(st) };

	for (;;) {
		assert_int_equal(0, dbb_stats(f->good, &st));
		if (st.clients == n || harness_now_ms() > end)
			break;
		usleep(2000);
	}
	assert_int_equal(n, st.clients);
}

static void bad_too_many_clients(struct fixture *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int s[3], extra;

		/* The good client is the first of four. */
		for (int k = 0; k < 3; k++)
			s[k] = client_ok(f, "filler");
		extra = harness_raw_connect(f->d.socket);
		assert_true(extra >= 0);
		/* Closed at once, Hello or not. */
		{
			struct rq q;

			harness_raw_send(extra, rq_hello(&q, 1, 1, "extra"), false);
		}
		expect_disconnect(extra);
		close(extra);
		for (int k = 0; k < 3; k++) {
			stats_ok(s[k], 2);
			close(s[k]);
		}
		wait_clients(f, 1);
		good_check(f);
	}
}

static void test_client_limit(void **state)
{
	run_bad(*state, bad_too_many_clients, 50, 5);
}

/* ---- large allocations off the loop ---- */

/* 1 GiB (the default max_buffer_size) where memory and backend allow. */
#define BIG_SIZE harness_big_size()
/*
 * A reply behind one or two large Allocs: a drm Alloc of 283 MiB, pages
 * populated, took several seconds in a 6.1 guest on a busy host, and a
 * rival's reply waits for both.  Generous: a lost reply still fails.
 */
#define BIG_WAIT_MS harness_timeout_ms(60000)

/* Receives the next Response on @sock: checks its seq and that it carries
 * an fd exactly when it succeeded and @with_fd (the fd is closed); returns
 * its status. */
static int response_seq(int sock, uint64_t seq, bool with_fd)
{
	DmabufBroker__V1__ServerMessage *m = NULL;
	int fd = -1, status;

	assert_int_equal(0, harness_raw_response(sock, BIG_WAIT_MS, &m, &fd));
	assert_int_equal(seq, m->response->seq);
	status = m->response->status;
	if (status == 0 && with_fd)
		assert_true(fd >= 0);
	else
		assert_int_equal(-1, fd);
	if (fd >= 0)
		close(fd);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return status;
}

/* Whether a frame is waiting on @sock right now. */
static bool readable_now(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* While A's 1 GiB Alloc has its pages allocated, B is served: B's Stats
 * replies arrive before A's reply does. */
static void test_big_alloc_does_not_stall_others(void **state)
{
	struct fixture *f = *state;
	int a = client_ok(f, "big"), b = client_ok(f, "other");
	int64_t end = harness_now_ms() + WAIT_MS;
	unsigned before = 0;
	struct rq q;

	assert_int_equal(0, harness_raw_send(a, rq_alloc(&q, 7, BIG_SIZE,
							 "big/one"), false));
	/* Let the daemon read it: B's requests then queue behind it unless
	 * the allocation runs off the loop. */
	usleep(20000);
	for (uint64_t seq = 100; !readable_now(a); seq++) {
		assert_true(harness_now_ms() < end);
		stats_ok(b, seq);
		if (!readable_now(a))
			before++;
	}
	printf("# %u Stats round trips while the %llu MiB Alloc ran\n", before,
	       (unsigned long long)(BIG_SIZE >> 20));
	assert_true(before >= 1);
	assert_int_equal(0, response_seq(a, 7, true));
	close(a);
	close(b);
	good_check(f);
	settle(f);
	assert_int_equal(0, harness_daemon_stop(&f->d));
}

/* A request sent right behind a large Alloc is answered after it. */
static void test_big_alloc_keeps_order(void **state)
{
	struct fixture *f = *state;
	int a = client_ok(f, "big"), rival;
	struct rq q;

	assert_int_equal(0, harness_raw_send(a, rq_alloc(&q, 7, BIG_SIZE, NULL),
					     false));
	assert_int_equal(0, harness_raw_send(a, rq_stats(&q, 8), false));
	assert_int_equal(0, response_seq(a, 7, true));
	assert_int_equal(0, response_seq(a, 8, false));
	/* The name is checked again when the pages are there: the second of
	 * two Allocs of one name loses, before or after allocating. */
	assert_int_equal(0, harness_raw_send(a, rq_alloc(&q, 9, BIG_SIZE,
							 "big/same"), false));
	rival = client_ok(f, "rival");
	/* Its reply may wait for both Allocs: not call_expect()'s 5 s. */
	assert_int_equal(0, harness_raw_send(rival, rq_alloc(&q, 10, BIG_SIZE,
							     "big/same"), false));
	assert_int_equal(-EEXIST, response_seq(rival, 10, false));
	assert_int_equal(0, response_seq(a, 9, true));
	close(rival);
	close(a);
	good_check(f);
	assert_int_equal(0, harness_daemon_stop(&f->d));
}

/* A client that leaves while its large Alloc runs leaves nothing behind;
 * neither does a daemon stopped with one running. */
static void test_big_alloc_client_gone(void **state)
{
	struct fixture *f = *state;
	int fds_base, fds_end, a;
	struct rq q;

	good_check(f);
	settle(f);
	fds_base = harness_fd_count(f->d.pid);
	for (int i = 0; i < 3; i++) {
		a = client_ok(f, "big");
		assert_int_equal(0, harness_raw_send(a, rq_alloc(&q, 7, BIG_SIZE,
								 "big/gone"),
						     false));
		usleep(i * 10000);
		close(a);
		good_check(f);
	}
	settle(f);
	fds_end = harness_wait_fd_count(f->d.pid, fds_base, WAIT_MS);
	printf("# daemon fds %d -> %d\n", fds_base, fds_end);
	assert_int_equal(fds_base, fds_end);
	a = client_ok(f, "big");
	assert_int_equal(0, harness_raw_send(a, rq_alloc(&q, 7, BIG_SIZE, NULL),
					     false));
	usleep(10000);
	assert_int_equal(0, harness_daemon_stop(&f->d));
	close(a);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_garbage_datagrams),
		T(test_truncated_frames),
		cmocka_unit_test_setup_teardown(test_oversized_frames,
						setup_small_frames, teardown),
		T(test_unknown_request_types),
		T(test_unknown_fields_refused),
		T(test_required_features),
		T(test_unexpected_fds),
		T(test_requests_before_hello),
		T(test_bad_client_names),
		T(test_absurd_sizes),
		T(test_invalid_names),
		T(test_connect_disconnect_cycles),
		T(test_client_never_reads),
		T(test_watcher_never_reads),
		cmocka_unit_test_setup_teardown(test_silent_clients_dropped,
						setup_hello_timeout, teardown),
		cmocka_unit_test_setup_teardown(test_client_limit,
						setup_few_clients, teardown),
		T(test_big_alloc_does_not_stall_others),
		T(test_big_alloc_keeps_order),
		T(test_big_alloc_client_gone),
	};
#undef T
	return cmocka_run_group_tests_name("badinput", tests, NULL, NULL);
}
