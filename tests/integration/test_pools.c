/* SPDX-License-Identifier: MIT */
/*
 * Pools and frame queues against a real daemon, over the raw protocol:
 * what each request refuses (negative cases first), the fds each reply
 * carries, the events a queue's producer hears, and that the daemon's
 * open fds are back where they were once the clients are gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "queue_stats.h"
#include "wire.h"

#define NOBODY 65534
#define SIZE 4096u
#define WAIT_MS harness_timeout_ms(10000)
#define MAX_CONSUMERS 16

#define EV(name) DMABUF_BROKER__V1__EVENT__TYPE__TYPE_##name
#define LIFETIME_CLIENT DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT

typedef DmabufBroker__V1__ServerMessage msg_t;

struct fixture {
	struct harness_daemon d;
	int fds_before;			/* the daemon's with one idle client */
	int owner;			/* a root connection past Hello */
};

/* The daemon's open fds with @sock its one client, idle: a round trip
 * first, so that it has returned from every earlier callback. */
static int idle_fds(struct fixture *f, int sock)
{
	DmabufBroker__V1__ServerMessage *m;

	if (harness_raw_stats(sock, &m) < 0)
		return -1;
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return harness_fd_count(f->d.pid);
}

static int fixture_start(void **state, const char *config)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (!f || harness_daemon_start(&f->d, config) < 0)
		return -1;
	f->owner = harness_raw_client(f->d.socket, "owner");
	if (f->owner < 0)
		return -1;
	f->fds_before = idle_fds(f, f->owner);
	return f->fds_before < 0 ? -1 : 0;
}

static int setup(void **state)
{
	return fixture_start(state, NULL);
}

/* Closes the owner's connection, then checks that the daemon holds no
 * fd it did not hold with one idle client after starting, and that it
 * exits cleanly. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	int probe, fds;

	if (!f)
		return 0;
	/* The owner's pools go with it; a new client stands in for it. */
	close(f->owner);
	probe = harness_raw_client(f->d.socket, "probe");
	assert_true(probe >= 0);
	fds = idle_fds(f, probe);
	if (fds != f->fds_before)
		fds = harness_wait_fd_count(f->d.pid, f->fds_before, WAIT_MS);
	if (fds != f->fds_before)
		harness_dump_fds(f->d.pid);
	assert_int_equal(f->fds_before, fds);
	close(probe);
	assert_int_equal(0, harness_daemon_stop(&f->d));
	free(f);
	return 0;
}

/* A pool of @count buffers of SIZE owned by @sock: its id; its fds are
 * checked to be @count and closed unless @fds is given. */
static uint64_t pool_alloc(int sock, uint32_t count, const char *name,
			   int *fds)
{
	int got[DBB_WIRE_MAX_FDS];
	size_t n;
	msg_t *m;
	uint64_t id;

	assert_int_equal(0, harness_raw_pool_alloc(sock, count, SIZE, name,
						   LIFETIME_CLIENT, NULL, &m,
						   got, &n));
	assert_int_equal(count, n);
	assert_int_equal(DMABUF_BROKER__V1__RESPONSE__BODY_POOL,
			 m->response->body_case);
	assert_int_equal(count, m->response->pool->n_buffers);
	id = m->response->pool->id;
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	if (fds)
		memcpy(fds, got, n * sizeof(*got));
	else
		wire_close_fds(got, n);
	return id;
}

/* Makes @sock the producer of @pool's queue; the stats page's fd, or
 * closed when @stats is NULL. */
static void queue_create(int sock, uint64_t pool, int *stats)
{
	int got[DBB_WIRE_MAX_FDS];
	size_t n;

	assert_int_equal(0, harness_raw_queue_create(sock, pool, 0, 0, NULL,
						     got, &n));
	assert_int_equal(1, n);
	if (stats)
		*stats = got[0];
	else
		close(got[0]);
}

/* Attaches @sock to @pool's queue: its slot; the channel end in *@chan
 * (closed when NULL) and the member fds closed.  @count members are
 * expected before the channel. */
static int queue_attach_as(int sock, uint64_t pool, const char *name,
			   uint32_t count, int *chan)
{
	int got[DBB_WIRE_MAX_FDS];
	size_t n;
	msg_t *m;
	int slot;

	assert_int_equal(0, harness_raw_queue_attach(sock, pool, name, false,
						     &m, got, &n));
	assert_int_equal(count + 1, n);
	slot = (int)m->response->pool->consumer_slot;
	assert_non_null(m->response->pool->queue);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	if (chan) {
		*chan = got[count];
		n--;
	}
	wire_close_fds(got, n);
	return slot;
}

static int queue_attach(int sock, uint64_t pool, uint32_t count, int *chan)
{
	return queue_attach_as(sock, pool, NULL, count, chan);
}

/* The producer's next event: its type must be @type, for @pool; returns
 * the consumer's slot, and the fd it carried in *@fd (-1: none; closed
 * when @fd is NULL). */
static int producer_event(int sock, int type, uint64_t pool, int *fd)
{
	int got[DBB_WIRE_MAX_FDS];
	size_t n;
	msg_t *m;
	int slot;

	assert_int_equal(0, harness_raw_event(sock, WAIT_MS, &m, got, &n));
	assert_int_equal(type, m->event->type);
	assert_non_null(m->event->pool);
	assert_int_equal(pool, m->event->pool->id);
	assert_non_null(m->event->consumer);
	slot = (int)m->event->consumer->slot;
	assert_int_equal(type == EV(QUEUE_CONSUMER_ATTACHED) ? 1 : 0, n);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	if (fd)
		*fd = n ? got[0] : -1;
	else
		wire_close_fds(got, n);
	return slot;
}

/* Whether nothing arrives on @sock for a short while. */
static bool quiet(int sock)
{
	msg_t *m = NULL;
	int got[DBB_WIRE_MAX_FDS];
	size_t n = 0;
	int r = harness_raw_recv_fds(sock, 200, &m, got, &n);

	wire_close_fds(got, n);
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r == -ETIMEDOUT;
}

static uint64_t stat_of(int sock, size_t offset)
{
	msg_t *m;
	uint64_t v;

	assert_int_equal(0, harness_raw_stats(sock, &m));
	memcpy(&v, (const char *)m->response->stats + offset, sizeof(v));
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return v;
}

#define STAT(sock, field) \
	stat_of(sock, offsetof(DmabufBroker__V1__StatsReply, field))

/* Polls a Stats counter until it is @want (the daemon handles a
 * disconnection on its own time): the last value seen. */
static uint64_t wait_stat_of(int sock, size_t offset, uint64_t want)
{
	int64_t end = harness_now_ms() + WAIT_MS;
	uint64_t v;

	while ((v = stat_of(sock, offset)) != want && harness_now_ms() < end)
		usleep(10 * 1000);
	return v;
}

#define WAIT_STAT(sock, field, want) \
	wait_stat_of(sock, offsetof(DmabufBroker__V1__StatsReply, field), want)

/* ---- pools ---- */

static void test_pool_count_bounds(void **state)
{
	struct fixture *f = *state;
	int got[DBB_WIRE_MAX_FDS];
	size_t n = 99;

	assert_int_equal(-EINVAL, harness_raw_pool_alloc(f->owner, 0, SIZE,
							 NULL, LIFETIME_CLIENT,
							 NULL, NULL, got, &n));
	assert_int_equal(0, n);
	assert_int_equal(-EINVAL, harness_raw_pool_alloc(f->owner, 33, SIZE,
							 NULL, LIFETIME_CLIENT,
							 NULL, NULL, got, &n));
	assert_int_equal(0, n);
	assert_int_equal(0, STAT(f->owner, pools));
	assert_int_equal(0, STAT(f->owner, buffers));
	/* 32 is allowed: 32 fds in one reply. */
	pool_alloc(f->owner, 32, NULL, NULL);
	assert_int_equal(1, STAT(f->owner, pools));
	assert_int_equal(32, STAT(f->owner, buffers));
}

static int setup_quota(void **state)
{
	return fixture_start(state, "[broker]\nbackends = memfd\n"
			     "resume_grace_ms = 0\n[quota]\nbuffers = 6\n");
}

static void test_pool_quota_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	int got[DBB_WIRE_MAX_FDS];
	size_t n = 99;

	pool_alloc(f->owner, 4, "pool/first", NULL);
	/* 4 + 3 > 6: refused whole, nothing left behind. */
	assert_int_equal(-EDQUOT, harness_raw_pool_alloc(f->owner, 3, SIZE,
							 "pool/second",
							 LIFETIME_CLIENT, NULL,
							 NULL, got, &n));
	assert_int_equal(0, n);
	assert_int_equal(4, STAT(f->owner, buffers));
	assert_int_equal(1, STAT(f->owner, pools));
	assert_int_equal(-ENOENT, harness_raw_info(f->owner, "pool/second", 0,
						   NULL));
	/* The name is free for the pool that fits. */
	pool_alloc(f->owner, 2, "pool/second", NULL);
	assert_int_equal(6, STAT(f->owner, buffers));
}

/* 8 MiB together: allocated on the worker, answered in order. */
static void test_pool_large_on_worker(void **state)
{
	struct fixture *f = *state;
	const uint64_t big = 2u << 20;
	int got[DBB_WIRE_MAX_FDS];
	size_t n;
	msg_t *m;

	assert_int_equal(0, harness_raw_pool_alloc(f->owner, 4, big, "pool/big",
						   LIFETIME_CLIENT, NULL, &m,
						   got, &n));
	assert_int_equal(4, n);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		assert_int_equal(0, fstat(got[i], &st));
		assert_true(harness_size_ok(big, (uint64_t)st.st_size));
	}
	assert_int_equal(4, m->response->pool->count);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	wire_close_fds(got, n);
	assert_int_equal(4, STAT(f->owner, buffers));
	/* A second one of that name is refused before anything is made. */
	assert_int_equal(-EEXIST, harness_raw_pool_alloc(f->owner, 4, big,
							 "pool/big",
							 LIFETIME_CLIENT, NULL,
							 NULL, NULL, NULL));
	assert_int_equal(4, STAT(f->owner, buffers));
}

/* A client gone while its pool is allocated on the worker leaves nothing:
 * the members made are dropped, with their fds and quota. */
static void test_pool_large_client_gone(void **state)
{
	struct fixture *f = *state;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__PoolAllocRequest pa =
		DMABUF_BROKER__V1__POOL_ALLOC_REQUEST__INIT;
	DmabufBroker__V1__AllocRequest a = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	int sock = harness_raw_client(f->d.socket, "gone");

	assert_true(sock >= 0);
	a.size = 16u << 20;
	a.name = "pool/gone";
	pa.count = 16;
	pa.buffer = &a;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOL_ALLOC;
	req.pool_alloc = &pa;
	req.seq = 1;
	assert_int_equal(0, harness_raw_send(sock, &req, false));
	close(sock);
	assert_int_equal(0, WAIT_STAT(f->owner, charged_bytes, 0));
	assert_int_equal(0, STAT(f->owner, buffers));
	assert_int_equal(0, STAT(f->owner, pools));
	assert_int_equal(-ENOENT, harness_raw_info(f->owner, "pool/gone", 0,
						   NULL));
}

/*
 * A backend failing part way through a pool: the daemon may open only 12
 * more fds, so the 13th member's memfd fails (EMFILE).  The members made
 * are dropped, nothing is registered, and a pool that fits is made after.
 */
static void test_pool_failure_midway_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	int fds = idle_fds(f, f->owner);
	struct rlimit rl = { .rlim_cur = (rlim_t)fds + 12,
			     .rlim_max = (rlim_t)fds + 12 };
	int got[DBB_WIRE_MAX_FDS];
	size_t n = 99;

	/* valgrind keeps fds of its own under the daemon's limit. */
	if (harness_wrapped() || getuid() != 0)
		skip();
	assert_int_equal(0, prlimit(f->d.pid, RLIMIT_NOFILE, &rl, NULL));
	assert_int_equal(-EMFILE, harness_raw_pool_alloc(f->owner, 24, SIZE,
							 "pool/midway",
							 LIFETIME_CLIENT, NULL,
							 NULL, got, &n));
	assert_int_equal(0, n);
	assert_int_equal(fds, idle_fds(f, f->owner));
	assert_int_equal(0, STAT(f->owner, buffers));
	assert_int_equal(0, STAT(f->owner, charged_bytes));
	assert_int_equal(-ENOENT, harness_raw_info(f->owner, "pool/midway", 0,
						   NULL));
	pool_alloc(f->owner, 8, "pool/midway", NULL);
	assert_int_equal(8, STAT(f->owner, buffers));
}

static void test_pool_names_shared_with_buffers(void **state)
{
	struct fixture *f = *state;
	uint64_t buf;

	assert_int_equal(0, harness_raw_alloc(f->owner, SIZE, "taken", 0, NULL,
					      NULL, &buf, NULL));
	assert_int_equal(-EEXIST, harness_raw_pool_alloc(f->owner, 2, SIZE,
							 "taken",
							 LIFETIME_CLIENT, NULL,
							 NULL, NULL, NULL));
	pool_alloc(f->owner, 2, "pool/named", NULL);
	assert_int_equal(-EEXIST, harness_raw_alloc(f->owner, SIZE,
						    "pool/named", 0, NULL,
						    NULL, NULL, NULL));
	assert_int_equal(-EEXIST, harness_raw_publish(f->owner, buf,
						      "pool/named"));
}

static void test_member_alone_busy(void **state)
{
	struct fixture *f = *state;
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	uint64_t pool = pool_alloc(f->owner, 3, "pool/m", NULL);
	uint64_t member;
	msg_t *m;

	assert_int_equal(0, harness_raw_info(f->owner, "pool/m", 0, &m));
	assert_int_equal(DMABUF_BROKER__V1__RESPONSE__BODY_POOL,
			 m->response->body_case);
	assert_int_equal(3, m->response->pool->count);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(pool, m->response->pool->buffers[i]->pool_id);
		assert_int_equal(i, m->response->pool->buffers[i]->pool_index);
	}
	member = m->response->pool->buffers[1]->id;
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);

	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE;
	g.everyone = true;
	g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ_WRITE;
	assert_int_equal(-EBUSY, harness_raw_destroy(f->owner, member));
	assert_int_equal(-EBUSY, harness_raw_publish(f->owner, member, "m1"));
	assert_int_equal(-EBUSY, harness_raw_grant(f->owner, member, &g));
	/* Info on a member tells where it belongs. */
	assert_int_equal(0, harness_raw_info(f->owner, NULL, member, &m));
	assert_int_equal(pool, m->response->buffer->pool_id);
	assert_int_equal(1, m->response->buffer->pool_index);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);

	assert_int_equal(0, harness_raw_destroy(f->owner, pool));
	assert_int_equal(-ENOENT, harness_raw_info(f->owner, NULL, pool, NULL));
	assert_int_equal(-ENOENT, harness_raw_info(f->owner, NULL, member, NULL));
	assert_int_equal(0, STAT(f->owner, buffers));
	assert_int_equal(0, STAT(f->owner, pools));
}

/* A stranger: the pool is not there for it until a grant names it. */
static int child_stranger(struct harness_ctx *ctx, void *arg)
{
	uint64_t pool = *(uint64_t *)arg;
	int sock, got[DBB_WIRE_MAX_FDS];
	size_t n = 99;
	msg_t *m;

	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	sock = harness_raw_client(ctx->socket, "stranger");
	CHILD_CHECK(sock >= 0);
	CHILD_CHECK(harness_raw_pool_open(sock, pool, NULL, true, NULL, got,
					  &n) == -ENOENT && n == 0);
	CHILD_CHECK(harness_raw_pool_open(sock, 0, "pool/private", true, NULL,
					  got, &n) == -ENOENT && n == 0);
	CHILD_CHECK(harness_raw_queue_attach(sock, pool, NULL, true, NULL, got,
					     &n) == -ENOENT && n == 0);
	CHILD_CHECK(harness_raw_info(sock, NULL, pool, NULL) == -ENOENT);
	CHILD_CHECK(harness_raw_destroy(sock, pool) == -ENOENT);
	CHILD_CHECK(harness_raw_pools(sock, 0, &m) == 0);
	CHILD_CHECK(m->response->pools->n_pools == 0);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	CHILD_CHECK(harness_post(ctx->out, 'H') == 0);
	CHILD_CHECK(harness_await(ctx->in, WAIT_MS) == 'G');
	/* Granted read-only: seen, opened read-only, not read-write, and
	 * not managed. */
	CHILD_CHECK(harness_raw_pools(sock, 0, &m) == 0);
	CHILD_CHECK(m->response->pools->n_pools == 1);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	CHILD_CHECK(harness_raw_pool_open(sock, pool, NULL, false, NULL, got,
					  &n) == -EACCES && n == 0);
	CHILD_CHECK(harness_raw_destroy(sock, pool) == -EPERM);
	CHILD_CHECK(harness_raw_pool_open(sock, pool, NULL, true, &m, got,
					  &n) == 0 && n == 2);
	CHILD_CHECK(m->response->pool->read_only);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	/* The fds refuse writable mappings. */
	CHILD_CHECK(mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 got[0], 0) == MAP_FAILED);
	wire_close_fds(got, n);
	/* Only the producer's connection may make the queue. */
	CHILD_CHECK(harness_raw_queue_create(sock, pool, 0, 0, NULL, got,
					     &n) == -EACCES && n == 0);
	close(sock);
	return 0;
}

static void test_pool_private_and_grants(void **state)
{
	struct fixture *f = *state;
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	struct harness_child ch;
	uint64_t pool;

	if (!harness_backend_read_only())
		skip();
	pool = pool_alloc(f->owner, 2, "pool/private", NULL);
	assert_int_equal(0, harness_child_start(&ch, f->d.socket,
						child_stranger, &pool));
	assert_int_equal('H', harness_await(ch.from_child, WAIT_MS));
	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
	g.uid = NOBODY;
	g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ;
	assert_int_equal(0, harness_raw_grant(f->owner, pool, &g));
	assert_int_equal(0, harness_post(ch.to_child, 'G'));
	assert_int_equal(0, harness_child_wait(&ch, WAIT_MS));
}

static void test_pool_open_and_release(void **state)
{
	struct fixture *f = *state;
	uint64_t pool = pool_alloc(f->owner, 4, "pool/open", NULL);
	int other = harness_raw_client(f->d.socket, "other");
	int got[DBB_WIRE_MAX_FDS];
	size_t n;
	msg_t *m;

	assert_true(other >= 0);
	assert_int_equal(-ENOENT, harness_raw_release(other, pool));
	assert_int_equal(0, harness_raw_pool_open(other, 0, "pool/open", false,
						  &m, got, &n));
	assert_int_equal(4, n);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		/* In index order, each fd that member's memory. */
		assert_int_equal(i, m->response->pool->buffers[i]->pool_index);
		assert_int_equal(0, fstat(got[i], &st));
		assert_int_equal(m->response->pool->buffers[i]->size, st.st_size);
	}
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	wire_close_fds(got, n);
	assert_int_equal(0, harness_raw_release(other, pool));
	assert_int_equal(-ENOENT, harness_raw_release(other, pool));
	close(other);
}

static void test_pools_listing(void **state)
{
	struct fixture *f = *state;
	uint64_t a = pool_alloc(f->owner, 1, NULL, NULL);
	uint64_t b = pool_alloc(f->owner, 2, "pool/b", NULL);
	msg_t *m;

	assert_int_equal(0, harness_raw_pools(f->owner, 0, &m));
	assert_int_equal(2, m->response->pools->n_pools);
	assert_int_equal(a, m->response->pools->pools[0]->id);
	assert_int_equal(b, m->response->pools->pools[1]->id);
	assert_int_equal(2, m->response->pools->pools[1]->count);
	assert_int_equal(0, m->response->pools->pools[1]->n_buffers);
	assert_int_equal(0, m->response->pools->next_after_id);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_int_equal(0, harness_raw_pools(f->owner, a, &m));
	assert_int_equal(1, m->response->pools->n_pools);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
}

static void test_pool_events_for_watchers(void **state)
{
	struct fixture *f = *state;
	int watcher = harness_raw_client(f->d.socket, "watcher");
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__WatchRequest w = DMABUF_BROKER__V1__WATCH_REQUEST__INIT;
	int got[DBB_WIRE_MAX_FDS];
	size_t n;
	uint64_t pool;
	msg_t *m;

	assert_true(watcher >= 0);
	w.enable = true;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_WATCH;
	req.watch = &w;
	assert_int_equal(0, harness_raw_request(watcher, &req, NULL, NULL));
	pool = pool_alloc(f->owner, 3, "pool/watched", NULL);
	/* One event for the pool, none for its members. */
	assert_int_equal(0, harness_raw_event(watcher, WAIT_MS, &m, got, &n));
	assert_int_equal(EV(POOL_CREATED), m->event->type);
	assert_int_equal(pool, m->event->pool->id);
	assert_int_equal(0, n);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_true(quiet(watcher));
	assert_int_equal(0, harness_raw_destroy(f->owner, pool));
	assert_int_equal(0, harness_raw_event(watcher, WAIT_MS, &m, got, &n));
	assert_int_equal(EV(POOL_DESTROYED), m->event->type);
	assert_int_equal(pool, m->event->pool->id);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_true(quiet(watcher));
	close(watcher);
}

/* ---- queues ---- */

static void test_queue_create_refusals(void **state)
{
	struct fixture *f = *state;
	uint64_t pool = pool_alloc(f->owner, 2, NULL, NULL);
	int other = harness_raw_client(f->d.socket, "other");
	int got[DBB_WIRE_MAX_FDS];
	size_t n = 99;

	assert_true(other >= 0);
	assert_int_equal(-ENOENT, harness_raw_queue_create(f->owner, pool + 100,
							   0, 0, NULL, got, &n));
	assert_int_equal(-EINVAL, harness_raw_queue_create(f->owner, pool, 7,
							   0, NULL, got, &n));
	assert_int_equal(-EINVAL, harness_raw_queue_create(f->owner, pool, 0,
							   3, NULL, got, &n));
	/* Root, but this connection holds no fd of the pool. */
	assert_int_equal(-EACCES, harness_raw_queue_create(other, pool, 0, 0,
							   NULL, got, &n));
	assert_int_equal(0, n);
	/* Nobody attaches to a pool without a queue. */
	assert_int_equal(-ENOENT, harness_raw_queue_attach(other, pool, NULL,
							   false, NULL, got,
							   &n));
	assert_int_equal(0, n);
	queue_create(f->owner, pool, NULL);
	assert_int_equal(-EEXIST, harness_raw_queue_create(f->owner, pool, 0, 0,
							   NULL, got, &n));
	assert_int_equal(0, n);
	assert_int_equal(1, STAT(f->owner, queues));
	/* The producer's QueueDetach ends the queue: a new one may come. */
	assert_int_equal(0, harness_raw_queue_detach(f->owner, pool));
	assert_int_equal(0, STAT(f->owner, queues));
	assert_int_equal(-ENOENT, harness_raw_queue_detach(f->owner, pool));
	queue_create(f->owner, pool, NULL);
	close(other);
}

static void test_queue_stats_page(void **state)
{
	struct fixture *f = *state;
	uint64_t pool = pool_alloc(f->owner, 2, "pool/stats", NULL);
	struct dbb_queue_stats_page *page;
	int stats;
	msg_t *m;

	queue_create(f->owner, pool, &stats);
	/* Sealed: neither shrunk nor grown, and no more seals. */
	assert_int_equal(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL,
			 fcntl(stats, F_GET_SEALS));
	assert_int_equal(-1, ftruncate(stats, 0));
	page = mmap(NULL, DBB_QUEUE_STATS_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, stats, 0);
	assert_true(page != MAP_FAILED);
	assert_int_equal(DBB_QUEUE_STATS_MAGIC, page->magic);
	assert_int_equal(DBB_QUEUE_STATS_VERSION, page->version);
	assert_int_equal(DBB_QUEUE_MAX_CONSUMERS, page->max_consumers);
	/* What the producer writes is what Info and Stats report, however
	 * absurd. */
	page->queue.posted = 41;
	page->queue.dropped = UINT64_MAX;
	page->queue.latency_sum_ns = 9000000;
	page->queue.latency_count = 3;
	page->queue.latency_max_ns = 5000000;
	assert_int_equal(0, harness_raw_info(f->owner, NULL, pool, &m));
	assert_non_null(m->response->pool->queue);
	assert_int_equal(41, m->response->pool->queue->counters->posted);
	assert_int_equal(3000, m->response->pool->queue->counters->latency_avg_usec);
	assert_int_equal(5000, m->response->pool->queue->counters->latency_max_usec);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_int_equal(41, STAT(f->owner, frames_posted));
	assert_int_equal(UINT64_MAX, STAT(f->owner, frames_dropped));
	munmap(page, DBB_QUEUE_STATS_SIZE);
	close(stats);
}

static void test_queue_attach_fds_and_events(void **state)
{
	struct fixture *f = *state;
	uint64_t pool = pool_alloc(f->owner, 3, "pool/q", NULL);
	int consumer = harness_raw_client(f->d.socket, "consumer");
	int chan, end, slot;
	char byte = 0;

	assert_true(consumer >= 0);
	queue_create(f->owner, pool, NULL);
	slot = queue_attach(consumer, pool, 3, &chan);
	assert_int_equal(0, slot);
	assert_int_equal(slot, producer_event(f->owner,
					      EV(QUEUE_CONSUMER_ATTACHED),
					      pool, &end));
	/* The two ends are one channel, and only theirs. */
	assert_int_equal(1, write(end, "f", 1));
	assert_int_equal(1, read(chan, &byte, 1));
	assert_int_equal('f', byte);
	assert_int_equal(-EEXIST, harness_raw_queue_attach(consumer, pool, NULL,
							   false, NULL, NULL,
							   NULL));
	assert_int_equal(0, harness_raw_queue_detach(consumer, pool));
	assert_int_equal(slot, producer_event(f->owner,
					      EV(QUEUE_CONSUMER_DETACHED),
					      pool, NULL));
	assert_int_equal(-ENOENT, harness_raw_queue_detach(consumer, pool));
	/* The slot is free again. */
	assert_int_equal(0, queue_attach(consumer, pool, 3, NULL));
	assert_int_equal(0, producer_event(f->owner, EV(QUEUE_CONSUMER_ATTACHED),
					   pool, NULL));
	close(chan);
	close(end);
	close(consumer);
	assert_int_equal(0, producer_event(f->owner, EV(QUEUE_CONSUMER_DETACHED),
					   pool, NULL));
}

/* The largest reply: 32 members and the channel, 33 fds. */
static void test_queue_attach_largest_pool(void **state)
{
	struct fixture *f = *state;
	uint64_t pool = pool_alloc(f->owner, 32, NULL, NULL);
	int consumer = harness_raw_client(f->d.socket, "consumer");

	assert_true(consumer >= 0);
	queue_create(f->owner, pool, NULL);
	assert_int_equal(0, queue_attach(consumer, pool, 32, NULL));
	assert_int_equal(0, producer_event(f->owner, EV(QUEUE_CONSUMER_ATTACHED),
					   pool, NULL));
	close(consumer);
	assert_int_equal(0, producer_event(f->owner, EV(QUEUE_CONSUMER_DETACHED),
					   pool, NULL));
}

static void test_queue_seventeenth_consumer(void **state)
{
	struct fixture *f = *state;
	uint64_t pool = pool_alloc(f->owner, 1, NULL, NULL);
	int consumers[MAX_CONSUMERS + 1];
	int got[DBB_WIRE_MAX_FDS];
	size_t n = 99;

	queue_create(f->owner, pool, NULL);
	for (int i = 0; i <= MAX_CONSUMERS; i++) {
		consumers[i] = harness_raw_client(f->d.socket, "consumer");
		assert_true(consumers[i] >= 0);
	}
	for (int i = 0; i < MAX_CONSUMERS; i++) {
		assert_int_equal(i, queue_attach(consumers[i], pool, 1, NULL));
		assert_int_equal(i, producer_event(f->owner,
						   EV(QUEUE_CONSUMER_ATTACHED),
						   pool, NULL));
	}
	assert_int_equal(-ENOSPC, harness_raw_queue_attach(consumers[MAX_CONSUMERS],
							   pool, NULL, false,
							   NULL, got, &n));
	assert_int_equal(0, n);
	assert_true(quiet(f->owner));
	/* One leaves: its slot goes to the next. */
	close(consumers[5]);
	assert_int_equal(5, producer_event(f->owner, EV(QUEUE_CONSUMER_DETACHED),
					   pool, NULL));
	assert_int_equal(5, queue_attach(consumers[MAX_CONSUMERS], pool, 1,
					 NULL));
	for (int i = 0; i <= MAX_CONSUMERS; i++) {
		if (i != 5)
			close(consumers[i]);
	}
}

/* A producer in its own process: makes a pool and its queue, takes the
 * first consumer's channel end, and dies with every fd open. */
static int child_producer(struct harness_ctx *ctx, void *arg)
{
	int sock = harness_raw_client(ctx->socket, "producer");
	int got[DBB_WIRE_MAX_FDS];
	size_t n;
	msg_t *m;
	uint64_t pool;

	(void)arg;
	CHILD_CHECK(sock >= 0);
	CHILD_CHECK(harness_raw_pool_alloc(sock, 2, SIZE, "pool/dies",
					   LIFETIME_CLIENT, NULL, &m, got,
					   &n) == 0 && n == 2);
	pool = m->response->pool->id;
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	CHILD_CHECK(harness_raw_queue_create(sock, pool, 0, 0, NULL, got + 2,
					     &n) == 0 && n == 1);
	CHILD_CHECK(harness_post(ctx->out, 'Q') == 0);
	CHILD_CHECK(harness_raw_event(sock, WAIT_MS, &m, got + 3, &n) == 0);
	CHILD_CHECK(m->event->type == EV(QUEUE_CONSUMER_ATTACHED) && n == 1);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	CHILD_CHECK(harness_post(ctx->out, 'A') == 0);
	CHILD_CHECK(harness_await(ctx->in, WAIT_MS) == 'X');
	return 0;
}

static void test_queue_producer_death_ends_channels(void **state)
{
	struct fixture *f = *state;
	struct harness_child ch;
	int chan, got[DBB_WIRE_MAX_FDS];
	size_t n = 99;
	char byte;

	assert_int_equal(0, harness_child_start(&ch, f->d.socket,
						child_producer, NULL));
	assert_int_equal('Q', harness_await(ch.from_child, WAIT_MS));
	assert_int_equal(0, queue_attach_as(f->owner, 0, "pool/dies", 2, &chan));
	assert_int_equal('A', harness_await(ch.from_child, WAIT_MS));
	assert_int_equal(0, harness_post(ch.to_child, 'X'));
	assert_int_equal(0, harness_child_wait(&ch, WAIT_MS));
	/* The broker kept no end of the channel: it ends with the producer. */
	assert_int_equal(0, read(chan, &byte, 1));
	close(chan);
	/* And so did its client-lifetime pool, queue and all. */
	assert_int_equal(0, WAIT_STAT(f->owner, pools, 0));
	assert_int_equal(-ENOENT, harness_raw_queue_attach(f->owner, 0,
							   "pool/dies", false,
							   NULL, got, &n));
	assert_int_equal(0, n);
	assert_int_equal(0, STAT(f->owner, queues));
	assert_int_equal(0, STAT(f->owner, pools));
}

/* A producer's queue ends while it lives when its pool is destroyed:
 * it hears every consumer leave, so its library closes their channels. */
static void test_queue_ends_with_pool(void **state)
{
	struct fixture *f = *state;
	uint64_t pool = pool_alloc(f->owner, 1, NULL, NULL);
	int consumer = harness_raw_client(f->d.socket, "consumer");
	/* Root destroys it from elsewhere: the producer's connection reads
	 * only its events. */
	int admin = harness_raw_client(f->d.socket, "admin");

	assert_true(consumer >= 0 && admin >= 0);
	queue_create(f->owner, pool, NULL);
	assert_int_equal(0, queue_attach(consumer, pool, 1, NULL));
	assert_int_equal(0, producer_event(f->owner, EV(QUEUE_CONSUMER_ATTACHED),
					   pool, NULL));
	assert_int_equal(0, harness_raw_destroy(admin, pool));
	assert_int_equal(0, producer_event(f->owner, EV(QUEUE_CONSUMER_DETACHED),
					   pool, NULL));
	assert_int_equal(0, STAT(f->owner, queues));
	assert_int_equal(-ENOENT, harness_raw_queue_detach(consumer, pool));
	close(consumer);
	close(admin);
}

/* A consumer of another uid, granted read-only access. */
static int child_consumer(struct harness_ctx *ctx, void *arg)
{
	uint64_t pool = *(uint64_t *)arg;
	int sock, got[DBB_WIRE_MAX_FDS];
	size_t n = 99;
	msg_t *m;

	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	sock = harness_raw_client(ctx->socket, "viewer");
	CHILD_CHECK(sock >= 0);
	CHILD_CHECK(harness_raw_queue_attach(sock, pool, NULL, false, NULL, got,
					     &n) == -EACCES && n == 0);
	CHILD_CHECK(harness_raw_queue_attach(sock, pool, NULL, true, &m, got,
					     &n) == 0 && n == 3);
	CHILD_CHECK(m->response->pool->read_only);
	/* Counted among the consumers, but who is behind the queue is the
	 * owner's to know. */
	CHILD_CHECK(m->response->pool->queue->n_consumers == 1);
	CHILD_CHECK(m->response->pool->queue->consumers[0]->pid == 0);
	CHILD_CHECK(m->response->pool->queue->producer_pid == 0);
	CHILD_CHECK(!*m->response->pool->queue->producer_name);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	wire_close_fds(got, n);
	CHILD_CHECK(harness_post(ctx->out, 'A') == 0);
	CHILD_CHECK(harness_await(ctx->in, WAIT_MS) == 'X');
	close(sock);
	return 0;
}

static void test_queue_revoke_detaches(void **state)
{
	struct fixture *f = *state;
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	struct harness_child ch;
	uint64_t pool;
	int admin;
	msg_t *m;

	if (!harness_backend_read_only())
		skip();
	pool = pool_alloc(f->owner, 2, NULL, NULL);
	/* Root revokes from elsewhere: the producer's connection reads only
	 * its events. */
	admin = harness_raw_client(f->d.socket, "admin");
	assert_true(admin >= 0);
	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
	g.uid = NOBODY;
	g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ;
	assert_int_equal(0, harness_raw_grant(f->owner, pool, &g));
	queue_create(f->owner, pool, NULL);
	assert_int_equal(0, harness_child_start(&ch, f->d.socket,
						child_consumer, &pool));
	assert_int_equal('A', harness_await(ch.from_child, WAIT_MS));
	assert_int_equal(0, producer_event(f->owner, EV(QUEUE_CONSUMER_ATTACHED),
					   pool, NULL));
	assert_int_equal(0, harness_raw_info(f->owner, NULL, pool, &m));
	assert_int_equal(1, m->response->pool->queue->n_consumers);
	assert_int_equal(NOBODY, m->response->pool->queue->consumers[0]->uid);
	assert_int_equal(getpid(), m->response->pool->queue->producer_pid);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_NONE;
	assert_int_equal(0, harness_raw_grant(admin, pool, &g));
	assert_int_equal(0, producer_event(f->owner, EV(QUEUE_CONSUMER_DETACHED),
					   pool, NULL));
	assert_int_equal(0, harness_post(ch.to_child, 'X'));
	assert_int_equal(0, harness_child_wait(&ch, WAIT_MS));
	/* Its connection's end is no second DETACHED. */
	assert_true(quiet(f->owner));
	close(admin);
}

static int setup_resume(void **state)
{
	return fixture_start(state, "[broker]\nbackends = memfd\n"
			     "resume_grace_ms = 60000\n");
}

/* Hello with @token (NULL: none); the next token into @next (32 bytes),
 * whether the session came back into *@resumed. */
static int hello(int sock, const uint8_t *token, uint8_t *next,
		 bool *resumed)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__Hello h = DMABUF_BROKER__V1__HELLO__INIT;
	msg_t *m = NULL;
	int r;

	h.protocol_version = 1;
	h.client_name = "resumer";
	if (token) {
		h.resume_token.data = (uint8_t *)token;
		h.resume_token.len = 32;
	}
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	req.hello = &h;
	r = harness_raw_request(sock, &req, &m, NULL);
	if (r == 0 && m->response->hello->resume_token.len != 32)
		r = -EPROTO;
	if (r == 0) {
		memcpy(next, m->response->hello->resume_token.data, 32);
		*resumed = m->response->hello->resumed;
	}
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

/* A client-lifetime pool stays with its broken connection's session and
 * comes back with it; its queue does not (its producer's connection
 * ended). */
static void test_pool_resumes_with_session(void **state)
{
	struct fixture *f = *state;
	DmabufBroker__V1__GoodbyeRequest g =
		DMABUF_BROKER__V1__GOODBYE_REQUEST__INIT;
	DmabufBroker__V1__Request bye = DMABUF_BROKER__V1__REQUEST__INIT;
	uint8_t token[32], next[32];
	bool resumed = true;
	int sock = harness_raw_connect(f->d.socket);
	uint64_t pool;
	msg_t *m;

	bye.body_case = DMABUF_BROKER__V1__REQUEST__BODY_GOODBYE;
	bye.goodbye = &g;
	assert_true(sock >= 0);
	assert_int_equal(0, hello(sock, NULL, token, &resumed));
	assert_false(resumed);
	pool = pool_alloc(sock, 2, "pool/resumed", NULL);
	queue_create(sock, pool, NULL);
	close(sock);		/* broken, not ended: no Goodbye */
	assert_int_equal(0, WAIT_STAT(f->owner, queues, 0));
	assert_int_equal(1, STAT(f->owner, pools));

	sock = harness_raw_connect(f->d.socket);
	assert_true(sock >= 0);
	assert_int_equal(0, hello(sock, token, next, &resumed));
	assert_true(resumed);
	assert_int_equal(0, harness_raw_info(sock, "pool/resumed", 0, &m));
	assert_int_equal(pool, m->response->pool->id);
	assert_null(m->response->pool->queue);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	/* The producer's holds came back with it: a queue again. */
	queue_create(sock, pool, NULL);
	/* Ended on purpose this time: nothing is kept. */
	assert_int_equal(0, harness_raw_request(sock, &bye, NULL, NULL));
	close(sock);
	assert_int_equal(0, WAIT_STAT(f->owner, pools, 0));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_pool_count_bounds),
		cmocka_unit_test_setup_teardown(test_pool_quota_all_or_nothing,
						setup_quota, teardown),
		T(test_pool_large_on_worker),
		T(test_pool_large_client_gone),
		T(test_pool_failure_midway_leaves_nothing),
		T(test_pool_names_shared_with_buffers),
		T(test_member_alone_busy),
		T(test_pool_private_and_grants),
		T(test_pool_open_and_release),
		T(test_pools_listing),
		T(test_pool_events_for_watchers),
		T(test_queue_create_refusals),
		T(test_queue_stats_page),
		T(test_queue_attach_fds_and_events),
		T(test_queue_attach_largest_pool),
		T(test_queue_seventeenth_consumer),
		T(test_queue_producer_death_ends_channels),
		T(test_queue_ends_with_pool),
		T(test_queue_revoke_detaches),
		cmocka_unit_test_setup_teardown(test_pool_resumes_with_session,
						setup_resume, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
