/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the client library's transport against a fake broker: a
 * forked child that listens on a socket in the test's own temp dir, answers
 * Hello and then follows a per-test script (including misbehaving on
 * purpose).  The library is used only through its public API and linked as
 * the shared object; the fake side uses wire.o and the generated code.
 * Negative cases first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dmabuf-broker.h"
#include "dmabuf_broker.pb-c.h"
#include "wire.h"

typedef DmabufBroker__V1__Request Request;
typedef DmabufBroker__V1__Response Response;
typedef DmabufBroker__V1__BufferInfo BufferInfo;

struct fake {
	char dir[64];
	char path[96];
	pid_t pid;
};

typedef void (*fake_script)(int conn);

/* The protocol version the fake's Hello reply claims. */
static uint32_t fake_version = 1;

/* The features it lists: a broker's full set unless a test says. */
static const char *const fake_all_features[] = {
	"alloc-format", "contiguous", "read-only", "pin", "adopt",
};
static const char *const *fake_features = fake_all_features;
static size_t fake_n_features = 5;

/* ---- the fake broker (runs in the child; failures exit non-zero) ---- */

#define FAKE_EXPECT(cond)                                                    \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fake broker: %s:%d: %s\n", __FILE__, \
				__LINE__, #cond);                            \
			_exit(2);                                            \
		}                                                            \
	} while (0)

static Request *fake_recv(int conn)
{
	static uint8_t buf[DBB_WIRE_MAX_FRAME];
	size_t nfds = 0;
	ssize_t n;
	int fd;
	Request *req;

	n = wire_recv(conn, buf, sizeof(buf), &fd, 1, &nfds, 0);
	FAKE_EXPECT(n > 0 && nfds == 0);
	req = dmabuf_broker__v1__request__unpack(NULL, (size_t)n, buf);
	FAKE_EXPECT(req != NULL);
	return req;
}

/* Receives a request of the given body case and returns its seq. */
static uint64_t fake_expect_req(int conn, DmabufBroker__V1__Request__BodyCase body)
{
	Request *req = fake_recv(conn);
	uint64_t seq = req->seq;

	FAKE_EXPECT(req->body_case == body);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
	return seq;
}

static void fake_send(int conn, DmabufBroker__V1__ServerMessage *msg, int fd)
{
	static uint8_t buf[DBB_WIRE_MAX_FRAME];
	ssize_t len = wire_pack(&msg->base, buf, sizeof(buf));

	FAKE_EXPECT(len >= 0);
	FAKE_EXPECT(wire_send(conn, buf, (size_t)len, &fd, fd >= 0, 0) == 0);
}

static void fake_reply(int conn, Response *resp, int fd)
{
	DmabufBroker__V1__ServerMessage msg = DMABUF_BROKER__V1__SERVER_MESSAGE__INIT;

	msg.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = resp;
	fake_send(conn, &msg, fd);
}

/* A Response with only a seq and a status. */
static void fake_status(int conn, uint64_t seq, int status, const char *message)
{
	Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;

	resp.seq = seq;
	resp.status = status;
	if (message)
		resp.message = (char *)message;
	fake_reply(conn, &resp, -1);
}

static void fake_buffer(int conn, uint64_t seq, BufferInfo *info, int fd)
{
	Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;

	resp.seq = seq;
	resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_BUFFER;
	resp.buffer = info;
	fake_reply(conn, &resp, fd);
}

static void fake_stats(int conn, uint64_t seq, uint64_t clients)
{
	DmabufBroker__V1__StatsReply stats = DMABUF_BROKER__V1__STATS_REPLY__INIT;
	Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;

	stats.clients = clients;
	resp.seq = seq;
	resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_STATS;
	resp.stats = &stats;
	fake_reply(conn, &resp, -1);
}

static void fake_event(int conn, DmabufBroker__V1__Event__Type type,
		       uint64_t id, const char *name)
{
	DmabufBroker__V1__ServerMessage msg = DMABUF_BROKER__V1__SERVER_MESSAGE__INIT;
	DmabufBroker__V1__Event ev = DMABUF_BROKER__V1__EVENT__INIT;
	BufferInfo info = DMABUF_BROKER__V1__BUFFER_INFO__INIT;

	info.id = id;
	info.name = (char *)name;
	info.size = 4096;
	ev.type = type;
	ev.buffer = &info;
	msg.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_EVENT;
	msg.event = &ev;
	fake_send(conn, &msg, -1);
}

/* The listening socket, for scripts that take a reconnect. */
static int fake_lsock = -1;

/* Answers a Hello that offers @want_token ("": none) with @token (a
 * string, for the test's sake) and @resumed. */
static void fake_hello_resume(int conn, const char *want_token,
			      const char *token, bool resumed)
{
	DmabufBroker__V1__HelloReply hello = DMABUF_BROKER__V1__HELLO_REPLY__INIT;
	Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;
	Request *req = fake_recv(conn);

	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_HELLO);
	FAKE_EXPECT(req->hello->protocol_version == 1);
	FAKE_EXPECT(strcmp(req->hello->client_name, "unit") == 0);
	FAKE_EXPECT(req->hello->resume_token.len == strlen(want_token));
	FAKE_EXPECT(!*want_token || !memcmp(req->hello->resume_token.data,
					    want_token, strlen(want_token)));
	hello.resume_token.data = (uint8_t *)token;
	hello.resume_token.len = strlen(token);
	hello.resumed = resumed;
	hello.protocol_version = fake_version;
	hello.n_features = fake_n_features;
	hello.features = (char **)fake_features;
	hello.client_id = 42;
	hello.server_version = "fake";
	resp.seq = req->seq;
	resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_HELLO;
	resp.hello = &hello;
	fake_reply(conn, &resp, -1);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
}

static void fake_hello(int conn)
{
	fake_hello_resume(conn, "", "token-1", false);
}

/* A memfd of @size bytes filled with (i * 7) & 0xff. */
static int fake_memfd(size_t size)
{
	int fd = memfd_create("fake", MFD_CLOEXEC);
	uint8_t *p;

	FAKE_EXPECT(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FAKE_EXPECT(p != MAP_FAILED);
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 7);
	munmap(p, size);
	return fd;
}

/* Waits until the client hangs up. */
static void fake_wait_hangup(int conn)
{
	char c;

	FAKE_EXPECT(recv(conn, &c, 1, 0) == 0);
}

static void fake_child(int lsock, fake_script script)
{
	int conn;

	alarm(20);	/* never outlive a test that went wrong */
	conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	FAKE_EXPECT(conn >= 0);
	fake_lsock = lsock;
	fake_hello(conn);
	if (script)
		script(conn);
	close(conn);
	close(lsock);
	_exit(0);
}

/* ---- the test side ---- */

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/dbb-libclient-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	f->pid = -1;
	fake_version = 1;
	fake_features = fake_all_features;
	fake_n_features = 5;
	*state = f;
	return 0;
}

/* Waits for the fake and returns its exit status (128+sig if killed). */
static int fake_wait(struct fake *f)
{
	int status;

	if (f->pid < 0)
		return 0;
	if (waitpid(f->pid, &status, 0) < 0)
		return -1;
	f->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		fake_wait(f);
	}
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void fake_start(struct fake *f, fake_script script)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(lsock >= 0);
	strcpy(addr.sun_path, f->path);
	assert_int_equal(0, bind(lsock, (struct sockaddr *)&addr, sizeof(addr)));
	assert_int_equal(0, listen(lsock, 1));
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0)
		fake_child(lsock, script);
	close(lsock);
}

static struct dbb_client *fake_connect(struct fake *f, fake_script script)
{
	struct dbb_client *c = NULL;

	fake_start(f, script);
	assert_int_equal(0, dbb_client_connect(f->path, "unit", &c));
	assert_non_null(c);
	assert_int_equal(42, dbb_client_get_id(c));
	assert_string_equal("fake", dbb_client_get_server_version(c));
	return c;
}

/* Closes the client and checks that the fake followed its script. */
static void fake_end(struct fake *f, struct dbb_client *c)
{
	dbb_client_destroy(c);
	assert_int_equal(0, fake_wait(f));
}

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
	return n - 1;
}

/* ---- connection ---- */

static void test_connect_no_broker(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = NULL;
	char longpath[200];

	assert_int_equal(-ENOENT, dbb_client_connect(f->path, "unit", &c));
	assert_null(c);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(-ENAMETOOLONG, dbb_client_connect(longpath, "unit", &c));
	assert_null(c);
}

static void test_connect_env_socket(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = NULL;

	fake_start(f, NULL);
	setenv(DBB_SOCKET_ENV, f->path, 1);
	assert_int_equal(0, dbb_client_connect(NULL, "unit", &c));
	unsetenv(DBB_SOCKET_ENV);
	fake_end(f, c);
}

static void test_connect_wrong_version(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = NULL;

	fake_version = 2;
	fake_start(f, NULL);
	assert_int_equal(-EPROTO, dbb_client_connect(f->path, "unit", &c));
	assert_null(c);
	assert_int_equal(0, fake_wait(f));
}

/* A broker that accepts connections (the kernel does, through the listen
 * backlog) but never answers, as a stopped one: connecting times out. */
static void test_connect_unanswered(void **state)
{
	struct fake *f = *state;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct dbb_connect_params p = {
		.struct_size = sizeof(p), .socket_path = f->path,
		.client_name = "unit", .timeout_ms = 200,
	};
	int lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct dbb_client *c = NULL;
	int fds;

	assert_true(lsock >= 0);
	strcpy(addr.sun_path, f->path);
	assert_int_equal(0, bind(lsock, (struct sockaddr *)&addr, sizeof(addr)));
	assert_int_equal(0, listen(lsock, 0));
	fds = count_open_fds();
	/* The first waits for a Hello reply; later ones find the backlog
	 * full.  Both end at the deadline, leaving nothing open. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(-ETIMEDOUT, dbb_client_connect_with(&p, &c));
		assert_null(c);
	}
	assert_int_equal(fds, count_open_fds());
	p.timeout_ms = -1;
	assert_int_equal(-EINVAL, dbb_client_connect_with(&p, &c));
	p.timeout_ms = 200;
	p.flags = 1u << 31;
	assert_int_equal(-EINVAL, dbb_client_connect_with(&p, &c));
	close(lsock);
}

/* Open (not answered in time), Stats; then the late reply to the open,
 * the Stats' reply, and the Release of the buffer nobody took. */
static void script_late_reply(int conn)
{
	BufferInfo info = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	uint64_t late = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_IMPORT);
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS);
	int fd = fake_memfd(4096);
	Request *req;

	info.id = 11;
	info.size = 4096;
	info.backend = "memfd";
	fake_buffer(conn, late, &info, fd);
	close(fd);
	fake_stats(conn, seq, 2);
	req = fake_recv(conn);
	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_RELEASE);
	FAKE_EXPECT(req->release->id == 11);
	fake_status(conn, req->seq, 0, NULL);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
	fake_stats(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS), 3);
}

static void test_timeout_late_reply(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_late_reply);
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct dbb_buffer *b = NULL;
	int fds;

	assert_int_equal(-EINVAL, dbb_client_set_timeout(c, 0));
	assert_int_equal(0, dbb_client_set_timeout(c, 100));
	fds = count_open_fds();
	assert_int_equal(-ETIMEDOUT, dbb_open_by_id(c, 11, false, &b));
	assert_null(b);
	assert_string_not_equal("", dbb_client_last_error(c));
	assert_int_equal(0, dbb_client_set_timeout(c, 10000));
	/* The late reply is passed over (its fd closed, its hold released):
	 * each call gets its own. */
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(2, st.clients);
	assert_int_equal(fds, count_open_fds());
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(3, st.clients);
	fake_end(f, c);
}

static volatile sig_atomic_t signals_seen;

static void count_signal(int sig)
{
	(void)sig;
	signals_seen++;
}

/* Signals the test until the client's next request comes; returns it. */
static Request *fake_signal_until_request(int conn)
{
	struct pollfd pfd = { .fd = conn, .events = POLLIN };

	/* The signal may land before the client waits: sent again until
	 * the client shows, by its next request, that it saw one. */
	do
		FAKE_EXPECT(kill(getppid(), SIGUSR1) == 0);
	while (poll(&pfd, 1, 50) == 0);
	return fake_recv(conn);
}

/* Stats left unanswered while signalling, then Stats answered after
 * signalling again. */
static void script_signals(int conn)
{
	uint64_t first = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS);
	Request *req = fake_signal_until_request(conn);

	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_STATS);
	for (int i = 0; i < 3; i++)
		FAKE_EXPECT(kill(getppid(), SIGUSR1) == 0);
	fake_stats(conn, first, 1);
	fake_stats(conn, req->seq, 2);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
}

static void test_interruptible(void **state)
{
	struct sigaction sa = { .sa_handler = count_signal }, old;
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_signals);
	struct dbb_stats st = { .struct_size = sizeof(st) };

	sigemptyset(&sa.sa_mask);
	assert_int_equal(0, sigaction(SIGUSR1, &sa, &old));
	assert_int_equal(0, dbb_client_set_interruptible(c, true));
	assert_int_equal(-EINTR, dbb_stats(c, &st));
	assert_true(signals_seen > 0);
	/* Not interruptible: signals are waited through. */
	assert_int_equal(0, dbb_client_set_interruptible(c, false));
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(2, st.clients);
	fake_end(f, c);
	sigaction(SIGUSR1, &old, NULL);
}

/* A broker with "pin" only: what needs another feature is refused here,
 * never sent (the fake fails on any request). */
static void test_features_checked_locally(void **state)
{
	static const char *const pin_only[] = { "pin" };
	struct fake *f = *state;
	struct dbb_client *c;
	struct dbb_alloc_params p = { .struct_size = sizeof(p), .size = 4096 };
	struct dbb_buffer *b = NULL;
	int memfd = memfd_create("unit", MFD_CLOEXEC);

	fake_features = pin_only;
	fake_n_features = 1;
	c = fake_connect(f, fake_wait_hangup);
	assert_true(dbb_client_has_feature(c, "pin"));
	assert_false(dbb_client_has_feature(c, "read-only"));
	assert_false(dbb_client_has_feature(c, "pi"));
	assert_int_equal(-EOPNOTSUPP, dbb_open_by_id(c, 11, true, &b));
	assert_non_null(strstr(dbb_client_last_error(c), "read-only"));
	assert_int_equal(-EOPNOTSUPP, dbb_open_by_name(c, "x", true, &b));
	assert_int_equal(-EOPNOTSUPP, dbb_register_fd(c, memfd, &p, &b));
	p.flags = DBB_ALLOC_CONTIGUOUS;
	assert_int_equal(-EOPNOTSUPP, dbb_alloc(c, &p, &b));
	p.flags = 0;
	p.fourcc = 0x34325258;
	assert_int_equal(-EOPNOTSUPP, dbb_alloc(c, &p, &b));
	assert_null(b);
	close(memfd);
	fake_end(f, c);
}

static void fake_watch(int conn)
{
	fake_status(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_WATCH),
		    0, NULL);
}

static int fake_accept_again(void)
{
	int conn = accept4(fake_lsock, NULL, NULL, SOCK_CLOEXEC);

	FAKE_EXPECT(conn >= 0);
	return conn;
}

/*
 * 1: Watch and an open of buffer 11, then a break between calls.
 * 2: resumed; Watch again, the Release of the handle freed while broken,
 *    a Stats answered, a Stats the connection breaks under.
 * 3: not resumed; Watch, the Stats again, an Alloc it breaks under.
 * 4: not resumed; Watch, a Stats, and the Goodbye of a client done.
 */
static void script_reconnects(int conn)
{
	BufferInfo info = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	int fd = fake_memfd(4096);
	Request *req;

	info.id = 11;
	info.size = 4096;
	info.backend = "memfd";
	fake_watch(conn);
	fake_buffer(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_IMPORT),
		    &info, fd);
	close(fd);
	close(conn);

	conn = fake_accept_again();
	fake_hello_resume(conn, "token-1", "token-2", true);
	fake_watch(conn);
	req = fake_recv(conn);
	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_RELEASE);
	FAKE_EXPECT(req->release->id == 11);
	fake_status(conn, req->seq, 0, NULL);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
	fake_stats(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS), 5);
	fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS);
	close(conn);

	conn = fake_accept_again();
	fake_hello_resume(conn, "token-2", "token-3", false);
	fake_watch(conn);
	fake_stats(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS), 6);
	fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_ALLOC);
	close(conn);

	conn = fake_accept_again();
	fake_hello_resume(conn, "token-3", "token-4", false);
	fake_watch(conn);
	fake_stats(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS), 7);
	/* A broker that resumes is told the client is done, and the
	 * client waits for the reply. */
	fake_status(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_GOODBYE),
		    0, NULL);
	fake_wait_hangup(conn);
	close(conn);
}

static void test_reconnect(void **state)
{
	static const char *const resumes[] = { "resume" };
	struct fake *f = *state;
	struct dbb_client *c;
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct dbb_alloc_params p = { .struct_size = sizeof(p), .size = 4096 };
	struct dbb_buffer *b = NULL;
	struct pollfd pfd = { .events = POLLIN };
	bool resumed = true;

	fake_features = resumes;
	fake_n_features = 1;
	c = fake_connect(f, script_reconnects);
	pfd.fd = dbb_client_get_fd(c);
	assert_int_equal(0, dbb_client_get_generation(c, &resumed));
	assert_false(resumed);
	assert_int_equal(0, dbb_watch(c, true));
	assert_int_equal(0, dbb_open_by_id(c, 11, false, &b));
	/* Dispatching finds the break and does not reconnect. */
	assert_int_equal(1, poll(&pfd, 1, 10000));
	assert_int_equal(-EPIPE, dbb_client_dispatch(c));
	dbb_buffer_free(b);
	/* Not sent yet: reconnects first. */
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(5, st.clients);
	assert_int_equal(1, dbb_client_get_generation(c, &resumed));
	assert_true(resumed);
	assert_int_equal(pfd.fd, dbb_client_get_fd(c));
	/* Sent, then the break: a Stats may be asked again. */
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(6, st.clients);
	assert_int_equal(2, dbb_client_get_generation(c, &resumed));
	assert_false(resumed);
	/* An Alloc may have been done: not asked again. */
	b = NULL;
	assert_int_equal(-EPIPE, dbb_alloc(c, &p, &b));
	assert_null(b);
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(7, st.clients);
	assert_int_equal(3, dbb_client_get_generation(c, NULL));
	fake_end(f, c);
}

/* A pool of one memfd member, id 21, named "cam". */
static void fake_pool_info(DmabufBroker__V1__PoolInfo *pool, BufferInfo *member,
			   BufferInfo **members)
{
	member->id = 22;
	member->size = 4096;
	member->backend = "memfd";
	member->pool_id = 21;
	member->pool_index = 0;
	members[0] = member;
	pool->id = 21;
	pool->name = "cam";
	pool->count = 1;
	pool->buffer_size = 4096;
	pool->backend = "memfd";
	pool->n_buffers = 1;
	pool->buffers = members;
}

/* A Pools reply listing the pool above, without its members. */
static void fake_pools(int conn, uint64_t seq)
{
	DmabufBroker__V1__PoolsReply pools = DMABUF_BROKER__V1__POOLS_REPLY__INIT;
	DmabufBroker__V1__PoolInfo pool = DMABUF_BROKER__V1__POOL_INFO__INIT;
	DmabufBroker__V1__PoolInfo *list[1] = { &pool };
	BufferInfo member = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	BufferInfo *members[1];
	Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;

	fake_pool_info(&pool, &member, members);
	pool.n_buffers = 0;
	pools.n_pools = 1;
	pools.pools = list;
	resp.seq = seq;
	resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_POOLS;
	resp.pools = &pools;
	fake_reply(conn, &resp, -1);
}

/* Answers a PoolOpen of "cam" with the pool and its member's fd. */
static void fake_pool_open(int conn)
{
	DmabufBroker__V1__PoolInfo pool = DMABUF_BROKER__V1__POOL_INFO__INIT;
	BufferInfo member = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	BufferInfo *members[1];
	Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;
	Request *req = fake_recv(conn);
	int fd = fake_memfd(4096);

	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_POOL_OPEN);
	FAKE_EXPECT(req->pool_open->target_case ==
		    DMABUF_BROKER__V1__POOL_OPEN_REQUEST__TARGET_NAME);
	FAKE_EXPECT(strcmp(req->pool_open->name, "cam") == 0);
	fake_pool_info(&pool, &member, members);
	resp.seq = req->seq;
	resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_POOL;
	resp.pool = &pool;
	fake_reply(conn, &resp, fd);
	close(fd);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
}

/*
 * 1: a PoolAlloc the connection breaks under.
 * 2: a Pools answered, then a Pools it breaks under.
 * 3: the Pools again, answered; a PoolOpen it breaks under.
 * 4: the PoolOpen again, answered.
 */
static void script_reconnects_pools(int conn)
{
	fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_POOL_ALLOC);
	close(conn);

	conn = fake_accept_again();
	fake_hello_resume(conn, "token-1", "token-2", false);
	fake_pools(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_POOLS));
	fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_POOLS);
	close(conn);

	conn = fake_accept_again();
	fake_hello_resume(conn, "token-2", "token-3", false);
	fake_pools(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_POOLS));
	fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_POOL_OPEN);
	close(conn);

	conn = fake_accept_again();
	fake_hello_resume(conn, "token-3", "token-4", false);
	fake_pool_open(conn);
	close(conn);
}

/* A PoolAlloc may have made a pool: not asked again after a break.
 * Listing and opening pools are asked again, as Stats is. */
static void test_reconnect_pools(void **state)
{
	static const char *const pools_only[] = { "pools" };
	struct fake *f = *state;
	struct dbb_client *c;
	struct dbb_pool_params p = {
		.struct_size = sizeof(p), .count = 2,
		.buffer = { .struct_size = sizeof(p.buffer), .size = 4096 },
	};
	struct dbb_pool_list *list = NULL;
	struct dbb_pool *pool = NULL;

	fake_features = pools_only;
	fake_n_features = 1;
	c = fake_connect(f, script_reconnects_pools);
	assert_int_equal(-EPIPE, dbb_pool_alloc(c, &p, &pool));
	assert_null(pool);
	assert_int_equal(0, dbb_client_get_generation(c, NULL));
	/* Not sent yet: reconnects first. */
	assert_int_equal(0, dbb_pools(c, &list));
	assert_int_equal(1, dbb_pool_list_count(list));
	dbb_pool_list_free(list);
	assert_int_equal(1, dbb_client_get_generation(c, NULL));
	/* Sent, then the break: asked again. */
	list = NULL;
	assert_int_equal(0, dbb_pools(c, &list));
	assert_int_equal(1, dbb_pool_list_count(list));
	assert_int_equal(21, dbb_pool_list_get(list, 0)->id);
	dbb_pool_list_free(list);
	assert_int_equal(2, dbb_client_get_generation(c, NULL));
	assert_int_equal(0, dbb_pool_open_by_name(c, "cam", false, &pool));
	assert_int_equal(3, dbb_client_get_generation(c, NULL));
	assert_int_equal(21, dbb_pool_get_id(pool));
	assert_int_equal(1, dbb_pool_get_count(pool));
	assert_true(dbb_buffer_get_fd(dbb_pool_get_buffer(pool, 0)) >= 0);
	fake_end(f, c);
	dbb_pool_free(pool);
}

static void script_close(int conn)
{
	(void)conn;
}

static void test_broker_gone(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_close);
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int ret;

	assert_int_equal(0, fake_wait(f));
	ret = dbb_stats(c, &st);
	assert_true(ret == -EPIPE || ret == -ECONNRESET);
	assert_int_equal(-EPIPE, dbb_client_dispatch(c));
	dbb_client_destroy(c);
}

static void script_gone_during_dispatch(int conn)
{
	fake_event(conn, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_CREATED, 3, "x");
}

static int events_seen;
static enum dbb_event_type event_types[8];
static uint64_t event_ids[8];
static char event_names[8][32];

static void record_event(struct dbb_client *client, enum dbb_event_type type,
			 const struct dbb_buffer_info *info, void *userdata)
{
	int *calls = userdata;

	(*calls)++;
	if (events_seen < 8) {
		event_types[events_seen] = type;
		event_ids[events_seen] = info->id;
		snprintf(event_names[events_seen], sizeof(event_names[0]), "%s",
			 info->name);
	}
	events_seen++;
}

static const struct dbb_event_listener recorder = {
	.struct_size = sizeof(recorder), .buffer_event = record_event,
};

static void test_gone_delivers_then_epipe(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_gone_during_dispatch);
	int calls = 0;

	assert_int_equal(0, fake_wait(f));
	events_seen = 0;
	assert_int_equal(0, dbb_client_set_listener(c, &recorder, &calls));
	/* The event that came before the close still reaches the listener. */
	assert_int_equal(-EPIPE, dbb_client_dispatch(c));
	assert_int_equal(1, calls);
	assert_int_equal(3, event_ids[0]);
	dbb_client_destroy(c);
}

/* A queue event about pool 5 (with its queue, a DROP_OLDEST one, when
 * @with_queue), or its pool event. */
static void fake_pool_event(int conn, DmabufBroker__V1__Event__Type type,
			    bool with_queue)
{
	DmabufBroker__V1__ServerMessage msg = DMABUF_BROKER__V1__SERVER_MESSAGE__INIT;
	DmabufBroker__V1__Event ev = DMABUF_BROKER__V1__EVENT__INIT;
	DmabufBroker__V1__PoolInfo pool = DMABUF_BROKER__V1__POOL_INFO__INIT;
	DmabufBroker__V1__QueueInfo queue = DMABUF_BROKER__V1__QUEUE_INFO__INIT;

	pool.id = 5;
	pool.name = "cam";
	pool.count = 2;
	queue.policy = DMABUF_BROKER__V1__QUEUE_POLICY__QUEUE_POLICY_DROP_OLDEST;
	pool.queue = with_queue ? &queue : NULL;
	ev.type = type;
	ev.pool = &pool;
	msg.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_EVENT;
	msg.event = &ev;
	fake_send(conn, &msg, -1);
}

static void script_queue_events(int conn)
{
	/* Malformed: a queue event must describe the queue. */
	fake_pool_event(conn, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_CREATED,
			false);
	fake_pool_event(conn, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_CREATED,
			true);
	fake_pool_event(conn, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_QUEUE_DESTROYED,
			true);
	fake_pool_event(conn, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_POOL_DESTROYED,
			false);
}

static int pool_events_seen;
static enum dbb_event_type pool_event_types[8];
static bool pool_event_queued[8];	/* came with a DROP_OLDEST queue */

static void record_pool_event(struct dbb_client *client, enum dbb_event_type type,
			      const struct dbb_pool_info *info, void *userdata)
{
	if (pool_events_seen < 8 && info->id == 5) {
		pool_event_types[pool_events_seen] = type;
		pool_event_queued[pool_events_seen] =
			info->queue && info->queue->policy == DBB_QUEUE_DROP_OLDEST;
	}
	pool_events_seen++;
}

/* Queue events reach pool_event with the pool and its queue, in order;
 * one without its queue is skipped. */
static void test_queue_events(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_queue_events);
	struct dbb_event_listener l = { .struct_size = sizeof(l),
					.pool_event = record_pool_event };

	assert_int_equal(0, fake_wait(f));
	pool_events_seen = 0;
	assert_int_equal(0, dbb_client_set_listener(c, &l, NULL));
	assert_int_equal(-EPIPE, dbb_client_dispatch(c));
	assert_int_equal(3, pool_events_seen);
	assert_int_equal(DBB_EVENT_QUEUE_CREATED, pool_event_types[0]);
	assert_true(pool_event_queued[0]);
	assert_int_equal(DBB_EVENT_QUEUE_DESTROYED, pool_event_types[1]);
	assert_true(pool_event_queued[1]);
	assert_int_equal(DBB_EVENT_POOL_DESTROYED, pool_event_types[2]);
	assert_false(pool_event_queued[2]);
	dbb_client_destroy(c);
}

static void script_garbage_then_ok(int conn)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS);

	FAKE_EXPECT(wire_send(conn, junk, sizeof(junk), NULL, 0, 0) == 0);
	seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS);
	fake_stats(conn, seq, 5);
}

static void test_undecodable_frame(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_garbage_then_ok);
	struct dbb_stats st = { .struct_size = sizeof(st) };

	assert_int_equal(-EPROTO, dbb_stats(c, &st));
	/* The connection is still usable afterwards. */
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(5, st.clients);
	fake_end(f, c);
}

/* ---- fds on replies ---- */

static void script_stray_fd(int conn)
{
	BufferInfo info = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_INFO);
	struct pollfd pfd;
	int p[2];
	char c;

	FAKE_EXPECT(pipe2(p, O_CLOEXEC) == 0);
	info.id = 9;
	fake_buffer(conn, seq, &info, p[1]);
	close(p[1]);
	/* EOF on the read end proves the client closed the stray fd. */
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	FAKE_EXPECT(poll(&pfd, 1, 10000) == 1);
	FAKE_EXPECT(read(p[0], &c, 1) == 0);
	close(p[0]);
}

static void test_stray_fd_closed(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c;
	struct dbb_buffer_info *info = NULL;
	int before;

	before = count_open_fds();
	c = fake_connect(f, script_stray_fd);
	assert_int_equal(-EPROTO, dbb_info_by_id(c, 9, &info));
	assert_null(info);
	assert_non_null(strstr(dbb_client_last_error(c), "fds"));
	assert_int_equal(before + 1, count_open_fds());	/* just the socket */
	fake_end(f, c);
	assert_int_equal(before, count_open_fds());
}

static void script_missing_fd(int conn)
{
	BufferInfo info = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_IMPORT);

	info.id = 9;
	info.size = 4096;
	fake_buffer(conn, seq, &info, -1);
}

static void test_missing_fd(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_missing_fd);
	struct dbb_buffer *buf = NULL;

	assert_int_equal(-EPROTO, dbb_open_by_id(c, 9, false, &buf));
	assert_null(buf);
	fake_end(f, c);
}

static void script_error_fd(int conn)
{
	Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;
	int fd = memfd_create("x", MFD_CLOEXEC);

	resp.seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_DESTROY);
	resp.status = -EPERM;
	fake_reply(conn, &resp, fd);
	close(fd);
}

static void test_error_with_fd(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c;
	int before = count_open_fds();

	c = fake_connect(f, script_error_fd);
	assert_int_equal(-EPROTO, dbb_remove(c, 1));
	fake_end(f, c);
	assert_int_equal(before, count_open_fds());
}

/* ---- status and seq ---- */

static void script_error_status(int conn)
{
	Request *req = fake_recv(conn);

	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_IMPORT);
	FAKE_EXPECT(req->import->target_case ==
		    DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_NAME);
	FAKE_EXPECT(strcmp(req->import->name, "cam0") == 0);
	FAKE_EXPECT(req->import->read_only);
	fake_status(conn, req->seq, -EACCES, "uid 1000 may not import cam0");
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
	fake_stats(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS), 1);
}

static void test_error_status_passthrough(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_error_status);
	struct dbb_buffer *buf = NULL;
	struct dbb_stats st = { .struct_size = sizeof(st) };

	assert_string_equal("", dbb_client_last_error(c));
	assert_int_equal(-EACCES, dbb_open_by_name(c, "cam0", true, &buf));
	assert_null(buf);
	assert_string_equal("uid 1000 may not import cam0", dbb_client_last_error(c));
	assert_int_equal(0, dbb_stats(c, &st));
	assert_string_equal("", dbb_client_last_error(c));
	fake_end(f, c);
}

static void script_future_seq(int conn)
{
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS);

	fake_stats(conn, seq + 5, 1);
}

static void test_future_seq(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_future_seq);
	struct dbb_stats st = { .struct_size = sizeof(st) };

	assert_int_equal(-EPROTO, dbb_stats(c, &st));
	fake_end(f, c);
}

static void script_stale_seq(int conn)
{
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS);

	fake_status(conn, seq - 1, -EIO, "stale");
	fake_stats(conn, seq, 7);
}

static void test_stale_seq_skipped(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_stale_seq);
	struct dbb_stats st = { .struct_size = sizeof(st) };

	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(7, st.clients);
	fake_end(f, c);
}

static void script_wrong_body(int conn)
{
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_BACKENDS);

	fake_stats(conn, seq, 1);
}

static void test_wrong_body(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_wrong_body);
	struct dbb_backend_list *list = NULL;

	assert_int_equal(-EPROTO, dbb_backends(c, &list));
	assert_null(list);
	fake_end(f, c);
}

/* ---- events ---- */

static void script_events_during_call(int conn)
{
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS);

	fake_event(conn, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_CREATED, 7, "");
	fake_event(conn, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_NAMED, 7, "cam0");
	fake_stats(conn, seq, 2);
	fake_event(conn, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_DESTROYED, 7, "cam0");
	fake_stats(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS), 0);
}

static void test_events_queued_during_call(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_events_during_call);
	struct pollfd pfd = { .events = POLLIN };
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int calls = 0;

	events_seen = 0;
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(2, st.clients);
	assert_int_equal(2, dbb_client_pending_events(c));
	assert_int_equal(0, dbb_client_set_listener(c, &recorder, &calls));
	/* The queued two, and the one pending on the socket by now. */
	pfd.fd = dbb_client_get_fd(c);
	assert_int_equal(1, poll(&pfd, 1, 5000));
	assert_int_equal(3, dbb_client_dispatch(c));
	assert_int_equal(3, calls);
	assert_int_equal(DBB_EVENT_CREATED, event_types[0]);
	assert_int_equal(DBB_EVENT_NAMED, event_types[1]);
	assert_int_equal(DBB_EVENT_DESTROYED, event_types[2]);
	assert_int_equal(7, event_ids[1]);
	assert_string_equal("", event_names[0]);
	assert_string_equal("cam0", event_names[1]);
	assert_int_equal(0, dbb_client_pending_events(c));
	assert_int_equal(0, dbb_client_dispatch(c));
	assert_int_equal(0, dbb_stats(c, &st));
	fake_end(f, c);
}

#define MANY_EVENTS 1100

static void script_event_flood(int conn)
{
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS);

	for (uint64_t i = 1; i <= MANY_EVENTS; i++)
		fake_event(conn, DMABUF_BROKER__V1__EVENT__TYPE__TYPE_CREATED, i, "");
	fake_stats(conn, seq, 1);
	fake_wait_hangup(conn);
}

static void test_event_queue_bounded(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_event_flood);
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int calls = 0;

	events_seen = 0;
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(1024, dbb_client_pending_events(c));
	assert_int_equal(0, dbb_client_set_listener(c, &recorder, &calls));
	assert_int_equal(1024, dbb_client_dispatch(c));
	/* The oldest were dropped. */
	assert_int_equal(MANY_EVENTS - 1024 + 1, event_ids[0]);
	fake_end(f, c);
}

static void script_watch(int conn)
{
	Request *req = fake_recv(conn);

	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_WATCH);
	FAKE_EXPECT(req->watch->enable);
	fake_status(conn, req->seq, 0, NULL);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
}

static void test_watch(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_watch);

	assert_int_equal(0, dbb_watch(c, true));
	fake_end(f, c);
}

/* ---- buffers ---- */

static void fake_fill_info(BufferInfo *info, DmabufBroker__V1__ImageLayout *lay,
			   DmabufBroker__V1__Plane **pp, DmabufBroker__V1__Holder **hp)
{
	info->id = 11;
	info->name = "frame";
	info->size = 8192;
	info->backend = "memfd";
	info->owner_uid = 1000;
	info->owner_name = "unit";
	info->lifetime = DMABUF_BROKER__V1__LIFETIME__LIFETIME_PERSISTENT;
	lay->fourcc = 0x34325258;	/* XR24 */
	lay->width = 32;
	lay->height = 64;
	lay->n_planes = 1;
	lay->planes = pp;
	pp[0]->stride = 128;
	info->layout = lay;
	hp[0]->client_id = 42;
	hp[0]->client_name = "unit";
	hp[0]->writable = 1;
	info->n_holders = 1;
	info->holders = hp;
}

static void script_alloc(int conn)
{
	DmabufBroker__V1__Plane plane = DMABUF_BROKER__V1__PLANE__INIT, *pp = &plane;
	DmabufBroker__V1__Holder holder = DMABUF_BROKER__V1__HOLDER__INIT, *hp = &holder;
	DmabufBroker__V1__ImageLayout lay = DMABUF_BROKER__V1__IMAGE_LAYOUT__INIT;
	BufferInfo info = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	Request *req = fake_recv(conn);
	int fd;

	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_ALLOC);
	FAKE_EXPECT(req->alloc->size == 8192);
	FAKE_EXPECT(strcmp(req->alloc->name, "frame") == 0);
	FAKE_EXPECT(req->alloc->lifetime == DMABUF_BROKER__V1__LIFETIME__LIFETIME_PERSISTENT);
	FAKE_EXPECT(req->alloc->layout && req->alloc->layout->n_planes == 1);
	FAKE_EXPECT(req->alloc->layout->planes[0]->stride == 128);
	fake_fill_info(&info, &lay, &pp, &hp);
	fd = fake_memfd(8192);
	fake_buffer(conn, req->seq, &info, fd);
	close(fd);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
}

static void check_frame_info(const struct dbb_buffer_info *info)
{
	assert_int_equal(11, info->id);
	assert_string_equal("frame", info->name);
	assert_string_equal("memfd", info->backend);
	assert_false(info->is_dmabuf);
	assert_int_equal(DBB_LIFETIME_PERSISTENT, info->lifetime);
	assert_non_null(info->layout);
	assert_int_equal(0x34325258, info->layout->fourcc);
	assert_int_equal(128, info->layout->planes[0].stride);
	assert_int_equal(1, info->n_holders);
	assert_string_equal("unit", dbb_buffer_info_get_holder(info, 0)->client_name);
	assert_null(dbb_buffer_info_get_holder(info, 1));
	assert_int_equal(0, info->n_grants);
}

static void test_alloc_map(void **state)
{
	struct image_layout_holder { struct dbb_image_layout l; } lay = {
		{ .struct_size = sizeof(lay.l), .fourcc = 0x34325258,
		  .width = 32, .height = 64, .n_planes = 1,
		  .planes = { { 0, 128 } } }
	};
	struct dbb_alloc_params params = { .struct_size = sizeof(params),
		.size = 8192, .name = "frame",
		.lifetime = DBB_LIFETIME_PERSISTENT, .layout = &lay.l,
	};
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_alloc);
	struct dbb_buffer *buf = NULL;
	uint8_t *p;
	int fd;

	assert_int_equal(-EINVAL, dbb_alloc(c, &(struct dbb_alloc_params){
		.struct_size = sizeof(params) }, &buf));
	assert_int_equal(0, dbb_alloc(c, &params, &buf));
	check_frame_info(dbb_buffer_get_info(buf));
	assert_int_equal(-EINVAL, dbb_buffer_begin_cpu_access(buf, 0));
	assert_int_equal(0, dbb_buffer_begin_cpu_access(buf, DBB_SYNC_READ));
	assert_int_equal(0, dbb_buffer_map(buf, true, (void **)&p));
	assert_int_equal((uint8_t)(8191 * 7), p[8191]);
	p[0] = 0xaa;
	assert_int_equal(0, dbb_buffer_end_cpu_access(buf, DBB_SYNC_READ));
	assert_int_equal(0, dbb_buffer_unmap(buf, p));
	fd = dbb_buffer_take_fd(buf);
	assert_true(fd >= 0);
	assert_int_equal(-1, dbb_buffer_get_fd(buf));
	assert_int_equal(-EBADF, dbb_buffer_take_fd(buf));
	dbb_buffer_free(buf);
	close(fd);
	fake_end(f, c);
}

/* Two opens of buffer 11, a Stats, the Release, a Stats, a third open. */
static void script_two_handles(int conn)
{
	BufferInfo info = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	int fd = fake_memfd(4096);
	Request *req;

	info.id = 11;
	info.size = 4096;
	info.backend = "memfd";
	fake_buffer(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_IMPORT),
		    &info, fd);
	fake_buffer(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_IMPORT),
		    &info, fd);
	/* Freeing the first handle sent nothing: the Stats come next. */
	fake_stats(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS), 1);
	req = fake_recv(conn);
	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_RELEASE);
	FAKE_EXPECT(req->release->id == 11);
	fake_status(conn, req->seq, 0, NULL);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
	fake_stats(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS), 2);
	fake_buffer(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_IMPORT),
		    &info, fd);
	close(fd);
	/* Nothing more: the client is destroyed before its last handle. */
	fake_wait_hangup(conn);
}

static void test_free_releases_last_handle(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_two_handles);
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct dbb_buffer *a = NULL, *b = NULL, *late = NULL;

	assert_int_equal(0, dbb_open_by_id(c, 11, false, &a));
	assert_int_equal(0, dbb_open_by_name(c, "frame", false, &b));
	dbb_buffer_free(a);
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(1, st.clients);
	dbb_buffer_free(b);
	/* The Release's reply is passed over by seq. */
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(2, st.clients);
	assert_int_equal(0, dbb_open_by_id(c, 11, false, &late));
	dbb_client_destroy(c);
	/* The handle outlives its client, fd and all. */
	assert_true(fcntl(dbb_buffer_get_fd(late), F_GETFD) >= 0);
	assert_int_equal(11, dbb_buffer_get_info(late)->id);
	dbb_buffer_free(late);
	assert_int_equal(0, fake_wait(f));
}

static void script_stats_once(int conn)
{
	fake_stats(conn, fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_STATS), 7);
}

/* The struct_size rule: too small is refused, a newer program's larger
 * struct is taken when the fields the library does not know are zero
 * (and filled as far as the library knows when it is an output). */
static void test_struct_size(void **state)
{
	struct newer_params {
		struct dbb_alloc_params p;
		uint64_t future;
	} np = { .p = { .struct_size = sizeof(np), .size = 4096 }, .future = 1 };
	struct newer_stats {
		struct dbb_stats s;
		uint64_t future;
	} ns;
	struct dbb_image_layout l = { .struct_size = 4, .n_planes = 1 };
	struct dbb_alloc_params p = { .struct_size = sizeof(p), .size = 4096,
				      .layout = &l };
	struct dbb_stats old = { .struct_size = sizeof(uint32_t) };
	struct dbb_event_listener none = { .struct_size = 0 };
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_stats_once);
	struct dbb_buffer *buf = NULL;

	assert_int_equal(-E2BIG, dbb_alloc(c, &np.p, &buf));
	np.p.struct_size = 4;
	assert_int_equal(-EINVAL, dbb_alloc(c, &np.p, &buf));
	assert_int_equal(-EINVAL, dbb_alloc(c, &p, &buf));
	assert_null(buf);
	assert_int_equal(-EINVAL, dbb_stats(c, &old));
	assert_int_equal(-EINVAL, dbb_client_set_listener(c, &none, NULL));
	memset(&ns, 0xff, sizeof(ns));
	ns.s.struct_size = sizeof(ns);
	assert_int_equal(0, dbb_stats(c, &ns.s));
	assert_int_equal(sizeof(ns), ns.s.struct_size);
	assert_int_equal(7, ns.s.clients);
	assert_int_equal(0, ns.s.my_max_buffers);
	assert_int_equal(0, ns.future);
	fake_end(f, c);
}

static void script_import_ro(int conn)
{
	BufferInfo info = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	uint64_t seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_IMPORT);
	char path[64];
	int fd = fake_memfd(4096), ro;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	FAKE_EXPECT(ro >= 0);
	info.id = 5;
	info.size = 4096;
	info.read_only = 1;
	fake_buffer(conn, seq, &info, ro);
	close(ro);
	close(fd);
}

static void test_import_read_only_map(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_import_ro);
	struct dbb_buffer *buf = NULL;
	uint8_t *p;

	assert_int_equal(0, dbb_open_by_id(c, 5, true, &buf));
	assert_true(dbb_buffer_get_info(buf)->read_only);
	assert_int_equal(-EACCES, dbb_buffer_map(buf, true, (void **)&p));
	assert_int_equal(0, dbb_buffer_map(buf, false, (void **)&p));
	assert_int_equal(7, p[1]);
	assert_int_equal(0, dbb_buffer_unmap(buf, p));
	dbb_buffer_free(buf);
	dbb_buffer_free(NULL);
	fake_end(f, c);
}

/* ---- list paging ---- */

static void fake_list_page(int conn, uint64_t want_after, const uint64_t *ids,
			   size_t n, uint64_t next)
{
	DmabufBroker__V1__ListReply list = DMABUF_BROKER__V1__LIST_REPLY__INIT;
	Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;
	BufferInfo infos[4], *ptrs[4];
	Request *req = fake_recv(conn);

	FAKE_EXPECT(req->body_case == DMABUF_BROKER__V1__REQUEST__BODY_LIST);
	FAKE_EXPECT(req->list->after_id == want_after);
	for (size_t i = 0; i < n; i++) {
		dmabuf_broker__v1__buffer_info__init(&infos[i]);
		infos[i].id = ids[i];
		ptrs[i] = &infos[i];
	}
	list.n_buffers = n;
	list.buffers = ptrs;
	list.next_after_id = next;
	resp.seq = req->seq;
	resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_LIST;
	resp.list = &list;
	fake_reply(conn, &resp, -1);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
}

static void script_list_backwards(int conn)
{
	fake_list_page(conn, 0, (uint64_t[]){ 1, 3 }, 2, 3);
	fake_list_page(conn, 3, (uint64_t[]){ 2 }, 1, 2);
}

static void test_list_backwards(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_list_backwards);
	struct dbb_buffer_list *list = NULL;

	assert_int_equal(-EPROTO, dbb_list(c, &list));
	assert_null(list);
	fake_end(f, c);
}

static void script_list_pages(int conn)
{
	fake_list_page(conn, 0, (uint64_t[]){ 1, 2 }, 2, 2);
	fake_list_page(conn, 2, (uint64_t[]){ 5 }, 1, 0);
}

static void test_list_pages(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_list_pages);
	struct dbb_buffer_list *list = NULL;

	assert_int_equal(0, dbb_list(c, &list));
	assert_int_equal(3, dbb_buffer_list_count(list));
	assert_int_equal(1, dbb_buffer_list_get(list, 0)->id);
	assert_int_equal(5, dbb_buffer_list_get(list, 2)->id);
	assert_string_equal("", dbb_buffer_list_get(list, 2)->name);
	assert_null(dbb_buffer_list_get(list, 3));
	dbb_buffer_list_free(list);
	dbb_buffer_list_free(NULL);
	fake_end(f, c);
}

static void script_backends(int conn)
{
	DmabufBroker__V1__BackendsReply reply = DMABUF_BROKER__V1__BACKENDS_REPLY__INIT;
	DmabufBroker__V1__BackendInfo b[2], *bp[2] = { &b[0], &b[1] };
	Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;

	resp.seq = fake_expect_req(conn, DMABUF_BROKER__V1__REQUEST__BODY_BACKENDS);
	dmabuf_broker__v1__backend_info__init(&b[0]);
	dmabuf_broker__v1__backend_info__init(&b[1]);
	b[0].name = "kmod";
	b[0].detail = "/dev/dmabuf_sg: No such file or directory";
	b[1].name = "memfd";
	b[1].available = b[1].preferred = 1;
	b[1].buffers = 3;
	reply.n_backends = 2;
	reply.backends = bp;
	resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_BACKENDS;
	resp.backends = &reply;
	fake_reply(conn, &resp, -1);
}

static void test_backends(void **state)
{
	struct fake *f = *state;
	struct dbb_client *c = fake_connect(f, script_backends);
	struct dbb_backend_list *list = NULL;
	const struct dbb_backend *b;

	assert_int_equal(0, dbb_backends(c, &list));
	assert_int_equal(2, dbb_backend_list_count(list));
	b = dbb_backend_list_get(list, 1);
	assert_string_equal("memfd", b->name);
	assert_string_equal("", b->detail);
	assert_true(b->preferred);
	assert_int_equal(3, b->buffers);
	assert_false(dbb_backend_list_get(list, 0)->available);
	dbb_backend_list_free(list);
	fake_end(f, c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_setup, fake_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_connect_no_broker),
		T(test_connect_wrong_version),
		T(test_connect_unanswered),
		T(test_timeout_late_reply),
		T(test_interruptible),
		T(test_features_checked_locally),
		T(test_reconnect),
		T(test_reconnect_pools),
		T(test_broker_gone),
		T(test_gone_delivers_then_epipe),
		T(test_queue_events),
		T(test_undecodable_frame),
		T(test_stray_fd_closed),
		T(test_missing_fd),
		T(test_error_with_fd),
		T(test_error_status_passthrough),
		T(test_future_seq),
		T(test_wrong_body),
		T(test_list_backwards),
		T(test_connect_env_socket),
		T(test_stale_seq_skipped),
		T(test_events_queued_during_call),
		T(test_event_queue_bounded),
		T(test_watch),
		T(test_alloc_map),
		T(test_free_releases_last_handle),
		T(test_struct_size),
		T(test_import_read_only_map),
		T(test_list_pages),
		T(test_backends),
	};

	return cmocka_run_group_tests_name("libclient", tests, NULL, NULL);
}
