/* SPDX-License-Identifier: MIT */
/*
 * Watchers hear a pool's queue begin and end (feature "queue-events"),
 * through a real broker and the library's listener:
 *   - a watcher that may not see a private pool hears neither its pool's
 *     nor its queue's events, and one given a grant hears them without
 *     being told who produces;
 *   - QUEUE_CREATED after QueueCreate, carrying the queue's policy and
 *     producer, early enough for a consumer that waited to attach;
 *   - QUEUE_DESTROYED after the producer's dbb_queue_destroy(), after the
 *     producer's process is killed (the pool stays), and, with the queue
 *     as it was at its end, before POOL_DESTROYED when the pool goes;
 * and that the daemon holds no more fds than before once each test's
 * clients are gone.  Absence is never judged by time: a later event
 * that the watcher may see marks the point by which the others would
 * have come.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dmabuf-broker.h"
#include "harness.h"

#define WAIT_MS harness_timeout_ms(10000)
#define NOBODY 65534
#define POOL_NAME "qev"
#define MARKER_NAME "qev-marker"
#define MAX_SEEN 16
/* Backends that cannot make read-only fds (heap, udmabuf, drm) refuse a
 * read-only grant or attach: those get read-write. */
#define READ_ACCESS (harness_backend_read_only() ? DBB_ACCESS_READ : \
					       DBB_ACCESS_READ_WRITE)

/* One event a watcher heard about a pool named POOL_NAME. */
struct seen_event {
	enum dbb_event_type type;
	uint64_t pool_id;
	bool has_queue;
	enum dbb_queue_policy policy;
	uint32_t max_in_flight;
	uint32_t producer_pid;
	char producer_name[32];
	size_t n_consumers;
};

struct watcher {
	struct dbb_client *client;
	struct seen_event seen[MAX_SEEN];
	size_t n_seen;			/* of POOL_NAME, in order */
	bool marker;			/* MARKER_NAME was heard of */
};

struct fixture {
	struct harness_daemon d;
	struct dbb_client *client;	/* the producer's */
	struct dbb_pool *pool;		/* POOL_NAME, 2 buffers */
	struct watcher w;
	int fds_before;			/* the daemon's, two idle clients */
};

static void on_pool_event(struct dbb_client *client, enum dbb_event_type type,
			  const struct dbb_pool_info *info, void *userdata)
{
	struct watcher *w = userdata;
	struct seen_event *e;

	if (!strcmp(info->name, MARKER_NAME))
		w->marker = true;
	if (strcmp(info->name, POOL_NAME) || w->n_seen == MAX_SEEN)
		return;
	e = &w->seen[w->n_seen++];
	*e = (struct seen_event){ .type = type, .pool_id = info->id,
				  .has_queue = info->queue != NULL };
	if (!info->queue)
		return;
	e->policy = info->queue->policy;
	e->max_in_flight = info->queue->max_in_flight;
	e->producer_pid = info->queue->producer_pid;
	snprintf(e->producer_name, sizeof(e->producer_name), "%s",
		 info->queue->producer_name);
	e->n_consumers = info->queue->n_consumers;
}

static const struct dbb_event_listener watcher_listener = {
	.struct_size = sizeof(watcher_listener),
	.pool_event = on_pool_event,
};

static int watcher_start(struct watcher *w, const char *socket)
{
	int ret = dbb_client_connect(socket, "watcher", &w->client);

	if (ret == 0)
		ret = dbb_client_set_listener(w->client, &watcher_listener, w);
	return ret < 0 ? ret : dbb_watch(w->client, true);
}

/* Dispatches @w's events until it heard @n of POOL_NAME (or the marker,
 * @n 0), within WAIT_MS; 0 or a negative errno. */
static int watcher_wait(struct watcher *w, size_t n)
{
	int64_t until = harness_now_ms() + WAIT_MS;
	struct pollfd pfd = { .fd = dbb_client_get_fd(w->client),
			      .events = POLLIN };
	int ret;

	while (n ? w->n_seen < n : !w->marker) {
		int64_t left = until - harness_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (!dbb_client_pending_events(w->client) &&
		    poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		ret = dbb_client_dispatch(w->client);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * Makes a pool named MARKER_NAME, grants it with @access unless that is
 * DBB_ACCESS_NONE, and removes it (the pools here have client lifetime:
 * freeing the pool alone would leave it, and its name taken, until the
 * connection ends).  A watcher that heard it go heard every event the
 * broker sent it before.
 */
static int marker_pass(struct dbb_client *client, enum dbb_access access)
{
	struct dbb_pool_params p = {
		.struct_size = sizeof(p),
		.count = 1,
		.buffer = { .struct_size = sizeof(p.buffer), .size = 4096,
			    .name = MARKER_NAME },
	};
	struct dbb_pool *marker;
	int ret = dbb_pool_alloc(client, &p, &marker);

	if (ret < 0)
		return ret;
	if (access != DBB_ACCESS_NONE)
		ret = dbb_grant(client, dbb_pool_get_id(marker),
				DBB_GRANT_EVERYONE, 0, access);
	if (ret == 0)
		ret = dbb_remove(client, dbb_pool_get_id(marker));
	dbb_pool_free(marker);
	return ret;
}

/* Once @w heard of the marker, it heard every event before it. */
static int watcher_sync(struct watcher *w, struct dbb_client *client)
{
	int ret = marker_pass(client, DBB_ACCESS_NONE);

	w->marker = false;
	return ret < 0 ? ret : watcher_wait(w, 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dbb_pool_params p = {
		.struct_size = sizeof(p),
		.count = 2,
		.buffer = { .struct_size = sizeof(p.buffer), .size = 4096,
			    .name = POOL_NAME },
	};

	*state = f;
	if (!f || harness_daemon_start(&f->d, NULL) < 0 ||
	    dbb_client_connect(f->d.socket, "producer", &f->client) < 0)
		return -1;
	if (!dbb_client_has_feature(f->client, "queue-events")) {
		print_message("# SKIP: the broker lacks feature \"queue-events\"\n");
		return -1;
	}
	if (watcher_start(&f->w, f->d.socket) < 0 ||
	    watcher_sync(&f->w, f->client) < 0)
		return -1;
	f->fds_before = harness_fd_count(f->d.pid);
	if (f->fds_before < 0 || dbb_pool_alloc(f->client, &p, &f->pool) < 0)
		return -1;
	return watcher_wait(&f->w, 1) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int ret = 0, fds;

	if (!f)
		return 0;
	/* Some tests removed it already (-ENOENT). */
	if (f->pool)
		dbb_remove(f->client, dbb_pool_get_id(f->pool));
	dbb_pool_free(f->pool);
	/* A round trip: the broker has handled the pool's free. */
	if (f->fds_before > 0 && watcher_sync(&f->w, f->client) == 0) {
		fds = harness_wait_fd_count(f->d.pid, f->fds_before, WAIT_MS);
		if (fds != f->fds_before) {
			print_message("# the daemon holds %d fds, not %d\n",
				      fds, f->fds_before);
			harness_dump_fds(f->d.pid);
			ret = -1;
		}
	}
	dbb_client_destroy(f->w.client);
	dbb_client_destroy(f->client);
	if (harness_daemon_stop(&f->d) != 0)
		ret = -1;
	free(f);
	return ret;
}

/* ---- a watcher of another uid ---- */

/* Watches as nobody: posts 'w' once watching, then on each 'm' from the
 * parent waits for the marker and posts how many events of POOL_NAME it
 * heard so far, and what the last one told of the producer ('a':
 * anonymous, 'n': named), as two bytes. */
static int child_stranger(struct harness_ctx *ctx, void *arg)
{
	struct watcher w = { 0 };
	struct seen_event *last;

	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	CHILD_CHECK(watcher_start(&w, ctx->socket) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'w') == 0);
	while (harness_await(ctx->in, WAIT_MS) == 'm') {
		w.marker = false;
		CHILD_CHECK(watcher_wait(&w, 0) == 0);
		last = w.n_seen ? &w.seen[w.n_seen - 1] : NULL;
		CHILD_CHECK(harness_post(ctx->out, (char)('0' + w.n_seen)) == 0);
		CHILD_CHECK(harness_post(ctx->out, last && !last->producer_pid &&
					 !last->producer_name[0] ? 'a' : 'n') == 0);
	}
	dbb_client_destroy(w.client);
	return 0;
}

/* The parent's marker for the child: a pool made and removed after the
 * events under test, granted to everyone in between, so that the child
 * hears it go. */
static void stranger_sync(struct fixture *f, struct harness_child *c,
			  char *n_seen, char *producer)
{
	assert_int_equal(0, harness_post(c->to_child, 'm'));
	assert_int_equal(0, marker_pass(f->client, READ_ACCESS));
	*n_seen = (char)harness_await(c->from_child, WAIT_MS);
	*producer = (char)harness_await(c->from_child, WAIT_MS);
}

/* Negative case first: nobody hears of a queue on a pool it may not
 * see; once granted the pool, it hears the next queue's events, without
 * the producer's name and pid. */
static void test_stranger_hears_only_granted(void **state)
{
	struct fixture *f = *state;
	struct harness_child c;
	struct dbb_queue *q;
	char n_seen, producer;

	if (geteuid() != 0)
		skip();	/* needs root to become another uid */
	assert_int_equal(0, harness_child_start(&c, f->d.socket,
						child_stranger, NULL));
	assert_int_equal('w', harness_await(c.from_child, WAIT_MS));

	assert_int_equal(0, dbb_queue_create(f->client, f->pool, NULL, &q));
	dbb_queue_destroy(q);
	stranger_sync(f, &c, &n_seen, &producer);
	assert_int_equal('0', n_seen);

	assert_int_equal(0, dbb_grant(f->client, dbb_pool_get_id(f->pool),
				      DBB_GRANT_UID, NOBODY, READ_ACCESS));
	assert_int_equal(0, dbb_queue_create(f->client, f->pool, NULL, &q));
	stranger_sync(f, &c, &n_seen, &producer);
	/* The grant itself raises no pool event: QUEUE_CREATED alone. */
	assert_int_equal('1', n_seen);
	assert_int_equal('a', producer);
	dbb_queue_destroy(q);
	stranger_sync(f, &c, &n_seen, &producer);
	assert_int_equal('2', n_seen);

	/* Its input closed, the child leaves. */
	assert_int_equal(0, harness_child_wait(&c, WAIT_MS));
}

/* ---- the owner's watcher ---- */

/* QUEUE_CREATED describes the queue as made, and a consumer that waited
 * for it attaches; the producer's destroy raises QUEUE_DESTROYED. */
static void test_created_then_destroyed_by_producer(void **state)
{
	struct fixture *f = *state;
	struct dbb_queue_params params = { .struct_size = sizeof(params),
					   .policy = DBB_QUEUE_DROP_OLDEST,
					   .max_in_flight = 1 };
	struct dbb_queue *q, *consumer;
	struct seen_event *e;

	assert_int_equal(0, dbb_queue_create(f->client, f->pool, &params, &q));
	assert_int_equal(0, watcher_wait(&f->w, 2));
	e = &f->w.seen[1];
	assert_int_equal(DBB_EVENT_QUEUE_CREATED, e->type);
	assert_int_equal(dbb_pool_get_id(f->pool), e->pool_id);
	assert_true(e->has_queue);
	assert_int_equal(DBB_QUEUE_DROP_OLDEST, e->policy);
	assert_int_equal(1, e->max_in_flight);
	assert_int_equal(getpid(), e->producer_pid);
	assert_string_equal("producer", e->producer_name);
	assert_int_equal(0, e->n_consumers);
	assert_int_equal(0, dbb_queue_attach_by_name(f->w.client, POOL_NAME,
						     harness_backend_read_only(),
						     &consumer));

	dbb_queue_destroy(q);
	assert_int_equal(0, watcher_wait(&f->w, 3));
	assert_int_equal(DBB_EVENT_QUEUE_DESTROYED, f->w.seen[2].type);
	assert_int_equal(dbb_pool_get_id(f->pool), f->w.seen[2].pool_id);
	assert_true(f->w.seen[2].has_queue);
	dbb_queue_destroy(consumer);
	/* Nothing else about the pool meanwhile. */
	assert_int_equal(0, watcher_sync(&f->w, f->client));
	assert_int_equal(3, f->w.n_seen);
}

/* A producer in its own process: opens the pool read-write, makes its
 * queue, posts 'q' and waits to be killed. */
static int child_producer(struct harness_ctx *ctx, void *arg)
{
	struct dbb_client *client;
	struct dbb_pool *pool;
	struct dbb_queue *q;

	CHILD_CHECK(dbb_client_connect(ctx->socket, "doomed", &client) == 0);
	CHILD_CHECK(dbb_pool_open_by_name(client, POOL_NAME, false, &pool) == 0);
	CHILD_CHECK(dbb_queue_create(client, pool, NULL, &q) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'q') == 0);
	harness_await(ctx->in, 60000);
	return 1;	/* it was to be killed */
}

/* The producer's connection ending ends its queue, not the pool. */
static void test_destroyed_with_producer_process(void **state)
{
	struct fixture *f = *state;
	struct harness_child c;

	assert_int_equal(0, harness_child_start(&c, f->d.socket,
						child_producer, NULL));
	assert_int_equal('q', harness_await(c.from_child, WAIT_MS));
	assert_int_equal(0, watcher_wait(&f->w, 2));
	assert_int_equal(DBB_EVENT_QUEUE_CREATED, f->w.seen[1].type);
	assert_string_equal("doomed", f->w.seen[1].producer_name);
	assert_int_equal(c.pid, f->w.seen[1].producer_pid);

	kill(c.pid, SIGKILL);
	assert_int_equal(128 + SIGKILL, harness_child_wait(&c, WAIT_MS));
	assert_int_equal(0, watcher_wait(&f->w, 3));
	assert_int_equal(DBB_EVENT_QUEUE_DESTROYED, f->w.seen[2].type);
	assert_string_equal("doomed", f->w.seen[2].producer_name);
	/* The pool is the owner's: it stays, and may have a queue again. */
	assert_int_equal(0, watcher_sync(&f->w, f->client));
	assert_int_equal(3, f->w.n_seen);
}

/* Removing the pool ends its queue first: QUEUE_DESTROYED, with the
 * consumer it had, then POOL_DESTROYED. */
static void test_destroyed_before_its_pool(void **state)
{
	struct fixture *f = *state;
	struct dbb_queue *q, *consumer;

	assert_int_equal(0, dbb_queue_create(f->client, f->pool, NULL, &q));
	assert_int_equal(0, dbb_queue_attach_by_name(f->w.client, POOL_NAME,
						     harness_backend_read_only(),
						     &consumer));
	assert_int_equal(0, dbb_remove(f->client, dbb_pool_get_id(f->pool)));
	assert_int_equal(0, watcher_wait(&f->w, 4));
	assert_int_equal(DBB_EVENT_POOL_CREATED, f->w.seen[0].type);
	assert_int_equal(DBB_EVENT_QUEUE_CREATED, f->w.seen[1].type);
	assert_int_equal(DBB_EVENT_QUEUE_DESTROYED, f->w.seen[2].type);
	assert_true(f->w.seen[2].has_queue);
	assert_int_equal(1, f->w.seen[2].n_consumers);
	assert_int_equal(DBB_EVENT_POOL_DESTROYED, f->w.seen[3].type);
	assert_false(f->w.seen[3].has_queue);
	dbb_queue_destroy(consumer);
	dbb_queue_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stranger_hears_only_granted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_created_then_destroyed_by_producer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroyed_with_producer_process,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroyed_before_its_pool,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
