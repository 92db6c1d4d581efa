/* SPDX-License-Identifier: MIT */
/*
 * Pools and frame queues through a real broker (memfd pools).  The pool
 * calls from a second connection: open by name read-only, the members'
 * pool ids, indexes and shared bytes, the members in the pool's
 * description, the list, refusals; a watcher's pool events.  Then one
 * producer (this process) and two consumers, each in its own process
 * with its own connection, frames and releases going over the direct
 * channels.
 *   - HOLD: every one of 300 frames reaches both consumers in order, with
 *     the bytes the producer wrote in the buffer;
 *   - DROP_OLDEST and LATEST with consumers that do not read while the
 *     producer posts: frames are dropped, counted, and for each consumer
 *     posted = delivered + dropped; what arrives comes in order;
 *   - a consumer killed while it holds frames gives them back: the
 *     producer gets every buffer again and the other consumer goes on;
 *   - a consumer's arrival read by another call on the producer's client
 *     still reaches the queue; the producer's destroy ends the queue in
 *     the broker too (the pool may have another);
 *   - the counters the producer writes are what dbb_pool_info_by_name()
 *     and dbb_pool_info_by_id() report, per consumer too;
 *   - with a release timeout, a consumer alive but releasing nothing is
 *     cut off: its queue ends with -ECONNABORTED, its fds all closed, the
 *     producer gets its buffers back, the other consumer goes on, and
 *     the broker detaches it and counts it; a timeout over the maximum
 *     is refused by the library and by the broker.
 * Sync_file fences cannot be made on this host; the fence path is
 * exercised in the guest (tests/e2e).
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
#include "wire.h"

#define WAIT_MS harness_timeout_ms(10000)
#define POOL_SIZE 8u
#define BUF_BYTES 4096u
#define POOL_NAME "test-queue"

struct fixture {
	struct harness_daemon d;
	struct dbb_client *client;
	struct dbb_pool *pool;
	struct dbb_queue *q;
	void *map[POOL_SIZE];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dbb_pool_params p = {
		.struct_size = sizeof(p),
		.count = POOL_SIZE,
		.buffer = { .struct_size = sizeof(p.buffer), .size = BUF_BYTES,
			    .name = POOL_NAME },
	};

	*state = f;
	if (!f || harness_daemon_start(&f->d, NULL) < 0 ||
	    dbb_client_connect(f->d.socket, "producer", &f->client) < 0)
		return -1;
	if (!dbb_client_has_feature(f->client, "queues")) {
		print_message("# SKIP: the broker lacks feature \"queues\"\n");
		return -1;
	}
	if (dbb_pool_alloc(f->client, &p, &f->pool) < 0)
		return -1;
	for (size_t i = 0; i < POOL_SIZE; i++)
		if (dbb_buffer_map(dbb_pool_get_buffer(f->pool, i), true,
				   &f->map[i]) < 0)
			return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int ret = 0;

	if (!f)
		return 0;
	dbb_queue_destroy(f->q);
	for (size_t i = 0; f->pool && i < POOL_SIZE; i++)
		if (f->map[i])
			dbb_buffer_unmap(dbb_pool_get_buffer(f->pool, i), f->map[i]);
	dbb_pool_free(f->pool);
	dbb_client_destroy(f->client);
	if (harness_daemon_stop(&f->d) != 0)
		ret = -1;
	free(f);
	return ret;
}

static void create_queue(struct fixture *f, enum dbb_queue_policy policy,
			 uint32_t max_in_flight)
{
	struct dbb_queue_params p = { .struct_size = sizeof(p),
				      .policy = policy,
				      .max_in_flight = max_in_flight };

	assert_int_equal(0, dbb_queue_create(f->client, f->pool, &p, &f->q));
}

/* Dispatches the producer until @cond holds or the wait is over. */
#define PRODUCER_WAIT(f, cond)                                               \
	do {                                                                 \
		int64_t until_ = harness_now_ms() + WAIT_MS;                 \
		while (!(cond) && harness_now_ms() < until_) {               \
			struct pollfd pfd_ = { .fd = dbb_queue_get_fd((f)->q), .events = POLLIN }; \
			poll(&pfd_, 1, 100);                                 \
			assert_true(dbb_queue_dispatch((f)->q) >= 0);        \
		}                                                            \
		assert_true(cond);                                           \
	} while (0)

/* ---- consumers (child processes) ---- */

struct consumer_args {
	uint64_t frames;		/* how many to expect; 0: until the end */
	bool wait_go;			/* read nothing before the parent's 'g' */
	bool hold;			/* release nothing; wait to be killed */
	bool cut_off;			/* hold, until the producer cuts it off */
};

static int consumer_main(struct harness_ctx *ctx, void *arg)
{
	const struct consumer_args *a = arg;
	struct dbb_client *client;
	struct dbb_queue *q;
	struct dbb_frame fr = { .struct_size = sizeof(fr) };
	uint64_t got = 0, last = 0;
	void *map[POOL_SIZE];
	struct dbb_pool *pool;
	int fds = harness_fd_count(getpid()), ret;

	CHILD_CHECK(dbb_client_connect(ctx->socket, "consumer", &client) == 0);
	/* Read-only where the backend can make read-only fds: a consumer
	 * needs no more; elsewhere a read-only open is refused. */
	CHILD_CHECK(dbb_queue_attach_by_name(client, POOL_NAME,
					     harness_backend_read_only(), &q) == 0);
	pool = dbb_queue_get_pool(q);
	CHILD_CHECK(dbb_pool_get_count(pool) == POOL_SIZE);
	for (size_t i = 0; i < POOL_SIZE; i++)
		CHILD_CHECK(dbb_buffer_map(dbb_pool_get_buffer(pool, i), false,
					   &map[i]) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'a') == 0);
	if (a->wait_go)
		CHILD_CHECK(harness_await(ctx->in, 60000) == 'g');
	for (;;) {
		ret = dbb_queue_receive(q, 60000, &fr);
		if (ret == -EPIPE && !a->cut_off)
			break;
		if (ret == -ECONNABORTED && a->cut_off) {
			/* Every call says so, and what it held is moot. */
			CHILD_CHECK(dbb_queue_release(q, fr.index, -1) ==
				    -ECONNABORTED);
			CHILD_CHECK(dbb_queue_dispatch(q) == -ECONNABORTED);
			break;
		}
		CHILD_CHECK(ret == 0);
		CHILD_CHECK(fr.index < POOL_SIZE && fr.fence_fd == -1);
		/* In order, and the bytes are the frame's. */
		CHILD_CHECK(fr.seq > last);
		/* (Once cut off, its frames are no longer its own: the
		 * producer may be writing them while it reads.) */
		CHILD_CHECK(a->cut_off ||
			    harness_check(map[fr.index], BUF_BYTES,
					  (uint32_t)fr.seq) == -1);
		last = fr.seq;
		got++;
		if (a->hold || a->cut_off) {
			if (got == 3)
				CHILD_CHECK(harness_post(ctx->out, 'h') == 0);
			continue;
		}
		CHILD_CHECK(dbb_queue_release(q, fr.index, -1) == 0);
		if (a->frames && got == a->frames)
			CHILD_CHECK(harness_post(ctx->out, 'd') == 0);
	}
	CHILD_CHECK(!a->frames || got == a->frames);
	dbb_queue_destroy(q);
	dbb_client_destroy(client);
	CHILD_CHECK(harness_fd_count(getpid()) == fds);
	return 0;
}

static void start_consumers(struct fixture *f, struct harness_child *c,
			    size_t n, struct consumer_args *args)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(0, harness_child_start(&c[i], f->d.socket,
							consumer_main, &args[i]));
		assert_int_equal('a', harness_await(c[i].from_child, WAIT_MS));
	}
	PRODUCER_WAIT(f, dbb_queue_consumer_count(f->q) == n);
}

/* Acquires (waiting as @timeout_ms says), writes the frame's bytes and
 * posts frame @seq. */
static int produce(struct fixture *f, uint64_t seq, int timeout_ms)
{
	struct dbb_frame fr = { .struct_size = sizeof(fr), .seq = seq,
				.fence_fd = -1 };
	int ret = dbb_queue_acquire(f->q, timeout_ms, &fr.index);

	if (ret < 0)
		return ret;
	harness_fill(f->map[fr.index], BUF_BYTES, (uint32_t)seq);
	return dbb_queue_post(f->q, &fr);
}

static struct dbb_queue_counters queue_counters(struct fixture *f)
{
	struct dbb_queue_counters k;

	assert_int_equal(0, dbb_queue_get_counters(f->q, &k));
	return k;
}

/* ---- tests ---- */

struct pool_events {
	uint64_t id;
	int created;
	int destroyed;
	int members;		/* buffer events of pool members */
};

static void on_buffer_event(struct dbb_client *client, enum dbb_event_type type,
			    const struct dbb_buffer_info *info, void *userdata)
{
	struct pool_events *ev = userdata;

	ev->members += info->pool_id != 0;
}

static void on_pool_event(struct dbb_client *client, enum dbb_event_type type,
			  const struct dbb_pool_info *info, void *userdata)
{
	struct pool_events *ev = userdata;

	if (strcmp(info->name, POOL_NAME "-2"))
		return;
	ev->id = info->id;
	ev->created += type == DBB_EVENT_POOL_CREATED;
	ev->destroyed += type == DBB_EVENT_POOL_DESTROYED;
}

/* Dispatches @c's events until @cond holds or the wait is over. */
#define WATCHER_WAIT(c, cond)                                                \
	do {                                                                 \
		int64_t until_ = harness_now_ms() + WAIT_MS;                 \
		while (!(cond) && harness_now_ms() < until_) {               \
			struct pollfd pfd_ = { .fd = dbb_client_get_fd(c),   \
					       .events = POLLIN };           \
			poll(&pfd_, 1, 100);                                 \
			assert_true(dbb_client_dispatch(c) >= 0);            \
		}                                                            \
		assert_true(cond);                                           \
	} while (0)

/* A watcher hears of pools coming and going, as pools: not of their
 * members. */
static void test_pool_events(void **state)
{
	struct fixture *f = *state;
	struct pool_events ev = { 0 };
	struct dbb_event_listener l = { .struct_size = sizeof(l),
					.buffer_event = on_buffer_event,
					.pool_event = on_pool_event };
	struct dbb_pool_params p = {
		.struct_size = sizeof(p),
		.count = 2,
		.buffer = { .struct_size = sizeof(p.buffer), .size = BUF_BYTES,
			    .name = POOL_NAME "-2" },
	};
	struct dbb_client *watcher;
	struct dbb_pool *pool;

	assert_int_equal(0, dbb_client_connect(f->d.socket, "watcher", &watcher));
	assert_int_equal(0, dbb_client_set_listener(watcher, &l, &ev));
	assert_int_equal(0, dbb_watch(watcher, true));
	assert_int_equal(0, dbb_pool_alloc(f->client, &p, &pool));
	WATCHER_WAIT(watcher, ev.created == 1);
	assert_int_equal(dbb_pool_get_id(pool), ev.id);
	assert_int_equal(0, dbb_remove(f->client, dbb_pool_get_id(pool)));
	WATCHER_WAIT(watcher, ev.destroyed == 1);
	/* Its members raised none of their own. */
	assert_int_equal(0, ev.members);
	dbb_pool_free(pool);
	dbb_client_destroy(watcher);
}

/* The pool calls queues stand on, from a second connection. */
static void test_pool_calls(void **state)
{
	struct fixture *f = *state;
	uint64_t id = dbb_pool_get_id(f->pool);
	struct dbb_client *other;
	struct dbb_pool *pool;
	struct dbb_pool_list *list;
	const struct dbb_pool_info *pi;
	struct dbb_pool_info *info;
	bool listed = false;
	bool ro = harness_backend_read_only();

	assert_int_equal(0, dbb_client_connect(f->d.socket, "other", &other));
	assert_int_equal(-ENOENT, dbb_pool_open_by_name(other, "no-such-pool",
							true, &pool));
	assert_int_equal(-EINVAL, dbb_pool_alloc(other,
		&(struct dbb_pool_params){ .struct_size = sizeof(struct dbb_pool_params),
			.count = DBB_POOL_MAX_BUFFERS + 1,
			.buffer = { .struct_size = sizeof(struct dbb_alloc_params),
				    .size = BUF_BYTES } }, &pool));
	/* A member is no pool. */
	assert_int_equal(-ENOENT, dbb_pool_info_by_id(
		other, dbb_buffer_get_info(dbb_pool_get_buffer(f->pool, 0))->id,
		&(struct dbb_pool_info *){ NULL }));

	/* A backend that cannot make read-only fds refuses a read-only
	 * open; a read-write one then shows the same memory. */
	if (!ro)
		assert_int_equal(-EOPNOTSUPP, dbb_pool_open_by_name(other, POOL_NAME,
								     true, &pool));
	assert_int_equal(0, dbb_pool_open_by_name(other, POOL_NAME, ro, &pool));
	assert_int_equal(id, dbb_pool_get_id(pool));
	assert_int_equal(POOL_SIZE, dbb_pool_get_count(pool));
	assert_null(dbb_pool_get_buffer(pool, POOL_SIZE));
	pi = dbb_pool_get_info(pool);
	assert_string_equal(POOL_NAME, pi->name);
	assert_int_equal(POOL_SIZE, pi->count);
	assert_int_equal(ro, pi->read_only);
	assert_null(pi->queue);
	for (size_t i = 0; i < POOL_SIZE; i++) {
		struct dbb_buffer *b = dbb_pool_get_buffer(pool, i);
		const struct dbb_buffer_info *bi = dbb_buffer_get_info(b);
		void *map;

		assert_int_equal(id, bi->pool_id);
		assert_int_equal(i, bi->pool_index);
		/* The same memory as the producer's member. */
		harness_fill(f->map[i], BUF_BYTES, (uint32_t)i + 7);
		assert_int_equal(0, dbb_buffer_map(b, false, &map));
		assert_int_equal(-1, harness_check(map, BUF_BYTES, (uint32_t)i + 7));
		dbb_buffer_unmap(b, map);
		/* Freed with the pool only. */
		dbb_buffer_free(b);
		assert_ptr_equal(b, dbb_pool_get_buffer(pool, i));
	}

	/* Its description carries the members' too; a buffer's call
	 * refuses the pool's name. */
	assert_int_equal(-ENOENT, dbb_info_by_name(other, POOL_NAME,
						   &(struct dbb_buffer_info *){ NULL }));
	assert_int_equal(0, dbb_pool_info_by_id(other, id, &info));
	assert_int_equal(POOL_SIZE, info->n_buffers);
	for (size_t i = 0; i < POOL_SIZE; i++)
		assert_int_equal(i, dbb_pool_info_get_buffer(info, i)->pool_index);
	assert_null(dbb_pool_info_get_buffer(info, POOL_SIZE));
	dbb_pool_info_free(info);

	assert_int_equal(0, dbb_pools(other, &list));
	for (size_t i = 0; i < dbb_pool_list_count(list); i++)
		listed |= dbb_pool_list_get(list, i)->id == id;
	assert_true(listed);
	assert_null(dbb_pool_list_get(list, dbb_pool_list_count(list)));
	dbb_pool_list_free(list);
	dbb_pool_free(pool);
	dbb_client_destroy(other);
}

static void test_hold_loses_nothing(void **state)
{
	struct fixture *f = *state;
	struct consumer_args args[2] = { { .frames = 300 }, { .frames = 300 } };
	struct harness_child c[2];
	struct dbb_pool_info *info;
	const struct dbb_queue_info *qi = NULL;

	create_queue(f, DBB_QUEUE_HOLD, 0);
	start_consumers(f, c, 2, args);
	for (uint64_t seq = 1; seq <= 300; seq++)
		assert_int_equal(0, produce(f, seq, WAIT_MS));
	for (size_t i = 0; i < 2; i++)
		assert_int_equal('d', harness_await(c[i].from_child, WAIT_MS));
	PRODUCER_WAIT(f, queue_counters(f).released == 600);
	assert_int_equal(300, queue_counters(f).posted);
	assert_int_equal(600, queue_counters(f).delivered);
	assert_int_equal(0, queue_counters(f).dropped);
	assert_int_equal(0, queue_counters(f).in_flight);

	/* What the broker reads from the stats page. */
	assert_int_equal(0, dbb_pool_info_by_name(f->client, POOL_NAME, &info));
	qi = info->queue;
	assert_non_null(qi);
	assert_int_equal(DBB_QUEUE_HOLD, qi->policy);
	assert_int_equal(300, qi->counters.posted);
	assert_int_equal(600, qi->counters.released);
	assert_int_equal(2, qi->n_consumers);
	for (size_t i = 0; i < 2; i++) {
		const struct dbb_queue_consumer *k = dbb_queue_info_get_consumer(qi, i);

		assert_non_null(k);
		assert_int_equal(300, k->counters.posted);
		assert_int_equal(300, k->counters.delivered);
		assert_int_equal(300, k->counters.released);
		assert_int_equal(0, k->counters.dropped);
	}
	assert_null(dbb_queue_info_get_consumer(qi, 2));
	dbb_pool_info_free(info);

	dbb_queue_destroy(f->q);
	f->q = NULL;
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(0, harness_child_wait(&c[i], WAIT_MS));
}

/* A consumer's arrival read by another call on the producer's client
 * still reaches the queue: routed to it, its fd says so, the next
 * dispatch applies it. */
static void test_attach_event_read_by_another_call(void **state)
{
	struct fixture *f = *state;
	struct consumer_args args = { .frames = 1 };
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct pollfd pfd;
	struct harness_child c;

	create_queue(f, DBB_QUEUE_HOLD, 0);
	assert_int_equal(0, harness_child_start(&c, f->d.socket, consumer_main,
						&args));
	assert_int_equal('a', harness_await(c.from_child, WAIT_MS));
	/* The broker sent the event before this reply. */
	assert_int_equal(0, dbb_stats(f->client, &st));
	assert_int_equal(0, dbb_queue_consumer_count(f->q));
	pfd = (struct pollfd){ .fd = dbb_queue_get_fd(f->q), .events = POLLIN };
	assert_int_equal(1, poll(&pfd, 1, 0));
	assert_true(dbb_queue_dispatch(f->q) > 0);
	assert_int_equal(1, dbb_queue_consumer_count(f->q));
	assert_int_equal(0, produce(f, 1, WAIT_MS));
	assert_int_equal('d', harness_await(c.from_child, WAIT_MS));
	dbb_queue_destroy(f->q);
	f->q = NULL;
	assert_int_equal(0, harness_child_wait(&c, WAIT_MS));
}

/* The producer's destroy ends the queue in the broker too: its
 * consumers see the end, and the pool can have a queue again. */
static void test_destroy_ends_the_queue(void **state)
{
	struct fixture *f = *state;
	struct consumer_args args = { 0 };
	struct dbb_pool_info *info;
	struct harness_child c;

	create_queue(f, DBB_QUEUE_HOLD, 0);
	start_consumers(f, &c, 1, &args);
	dbb_queue_destroy(f->q);
	f->q = NULL;
	assert_int_equal(0, harness_child_wait(&c, WAIT_MS));
	create_queue(f, DBB_QUEUE_LATEST, 1);
	assert_int_equal(0, dbb_pool_info_by_name(f->client, POOL_NAME, &info));
	assert_non_null(info->queue);
	assert_int_equal(DBB_QUEUE_LATEST, info->queue->policy);
	assert_int_equal(0, info->queue->n_consumers);
	dbb_pool_info_free(info);
}

/* Consumers read nothing while 100 frames are posted, then everything. */
static void run_dropping(struct fixture *f, enum dbb_queue_policy policy)
{
	struct consumer_args args[2] = { { .wait_go = true }, { .wait_go = true } };
	struct harness_child c[2];
	struct dbb_pool_info *info;
	const struct dbb_queue_info *qi = NULL;
	bool settled = false;

	create_queue(f, policy, 2);
	start_consumers(f, c, 2, args);
	/* Never blocks: the policy frees a buffer whenever none is. */
	for (uint64_t seq = 1; seq <= 100; seq++)
		assert_int_equal(0, produce(f, seq, 0));
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(0, harness_post(c[i].to_child, 'g'));
	/* Settled: nothing in flight or waiting, for either consumer. */
	for (int64_t until = harness_now_ms() + WAIT_MS;
	     !settled && harness_now_ms() < until;) {
		struct pollfd pfd = { .fd = dbb_queue_get_fd(f->q), .events = POLLIN };

		poll(&pfd, 1, 100);
		assert_true(dbb_queue_dispatch(f->q) >= 0);
		assert_int_equal(0, dbb_pool_info_by_id(f->client,
							dbb_pool_get_id(f->pool),
							&info));
		qi = info->queue;
		settled = qi && qi->n_consumers == 2;
		for (size_t i = 0; settled && i < 2; i++) {
			const struct dbb_queue_counters *k =
				&dbb_queue_info_get_consumer(qi, i)->counters;

			settled = k->in_flight == 0 &&
				  k->delivered + k->dropped == k->posted;
		}
		if (!settled)
			dbb_pool_info_free(info);
	}
	assert_true(settled);
	for (size_t i = 0; i < 2; i++) {
		const struct dbb_queue_counters *k =
			&dbb_queue_info_get_consumer(qi, i)->counters;

		assert_int_equal(100, k->posted);
		assert_int_equal(k->posted, k->delivered + k->dropped);
		assert_true(k->dropped > 0);
		assert_int_equal(k->delivered, k->released);
	}
	assert_int_equal(qi->counters.dropped,
			 dbb_queue_info_get_consumer(qi, 0)->counters.dropped +
			 dbb_queue_info_get_consumer(qi, 1)->counters.dropped);
	dbb_pool_info_free(info);
	dbb_queue_destroy(f->q);
	f->q = NULL;
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(0, harness_child_wait(&c[i], WAIT_MS));
}

static void test_drop_oldest_counts_drops(void **state)
{
	run_dropping(*state, DBB_QUEUE_DROP_OLDEST);
}

static void test_latest_counts_drops(void **state)
{
	run_dropping(*state, DBB_QUEUE_LATEST);
}

static void test_killed_consumer_gives_buffers_back(void **state)
{
	struct fixture *f = *state;
	struct consumer_args args[2] = { { .hold = true }, { .frames = 40 } };
	struct harness_child c[2];
	struct dbb_pool_info *info;
	uint64_t seq = 0;

	create_queue(f, DBB_QUEUE_HOLD, 0);
	start_consumers(f, c, 2, args);
	while (seq < 3)
		assert_int_equal(0, produce(f, ++seq, WAIT_MS));
	/* The first holds three frames and is killed. */
	assert_int_equal('h', harness_await(c[0].from_child, WAIT_MS));
	kill(c[0].pid, SIGKILL);
	assert_int_equal(128 + SIGKILL, harness_child_wait(&c[0], WAIT_MS));
	PRODUCER_WAIT(f, dbb_queue_consumer_count(f->q) == 1);
	/* Every buffer comes back to the producer, again and again: the
	 * other consumer goes on alone. */
	while (seq < 40)
		assert_int_equal(0, produce(f, ++seq, WAIT_MS));
	assert_int_equal('d', harness_await(c[1].from_child, WAIT_MS));
	PRODUCER_WAIT(f, queue_counters(f).in_flight == 0);
	assert_int_equal(0, dbb_pool_info_by_id(f->client,
						dbb_pool_get_id(f->pool), &info));
	assert_non_null(info->queue);
	assert_int_equal(1, info->queue->n_consumers);
	dbb_pool_info_free(info);
	dbb_queue_destroy(f->q);
	f->q = NULL;
	assert_int_equal(0, harness_child_wait(&c[1], WAIT_MS));
}

/* A release timeout over the maximum: the library refuses it before
 * asking, and the broker refuses it from a client that does not check. */
static void test_release_timeout_over_the_maximum(void **state)
{
	struct fixture *f = *state;
	struct dbb_queue_params p = {
		.struct_size = sizeof(p),
		.release_timeout_ms = DBB_QUEUE_MAX_RELEASE_TIMEOUT_MS + 1,
	};
	DmabufBroker__V1__QueueCreateRequest qc =
		DMABUF_BROKER__V1__QUEUE_CREATE_REQUEST__INIT;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__ServerMessage *m = NULL;
	int sock, fds[DBB_WIRE_MAX_FDS];
	size_t nfds;

	assert_int_equal(-EINVAL, dbb_queue_create(f->client, f->pool, &p,
						   &f->q));
	assert_null(f->q);

	sock = harness_raw_client(f->d.socket, "raw-producer");
	assert_true(sock >= 0);
	assert_int_equal(0, harness_raw_pool_open(sock, dbb_pool_get_id(f->pool),
						  NULL, false, NULL, NULL,
						  &nfds));
	qc.pool_id = dbb_pool_get_id(f->pool);
	qc.release_timeout_ms = DBB_QUEUE_MAX_RELEASE_TIMEOUT_MS + 1;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_CREATE;
	req.queue_create = &qc;
	assert_int_equal(-EINVAL, harness_raw_request_fds(sock, &req, &m, fds,
							  &nfds));
	assert_int_equal(0, nfds);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	/* The maximum itself is taken, and described. */
	qc.release_timeout_ms = DBB_QUEUE_MAX_RELEASE_TIMEOUT_MS;
	assert_int_equal(0, harness_raw_request_fds(sock, &req, &m, fds, &nfds));
	assert_int_equal(1, nfds);
	close(fds[0]);
	assert_non_null(m->response->pool->queue);
	assert_int_equal(DBB_QUEUE_MAX_RELEASE_TIMEOUT_MS,
			 m->response->pool->queue->release_timeout_ms);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	close(sock);
}

/*
 * HOLD, two consumers, one of which stops releasing: past the release
 * timeout it is cut off.  The producer gets every buffer back and goes
 * on, the other consumer receives every frame in order, the broker no
 * longer lists the one cut off and reports the count; that consumer's
 * calls say -ECONNABORTED and it closes every fd it had.
 */
static void test_stuck_consumer_is_cut_off(void **state)
{
	struct fixture *f = *state;
	struct dbb_queue_params p = { .struct_size = sizeof(p),
				      .policy = DBB_QUEUE_HOLD,
				      .release_timeout_ms = 200 };
	struct consumer_args args[2] = { { .cut_off = true }, { .frames = 40 } };
	struct harness_child c[2];
	struct dbb_pool_info *info;
	uint64_t seq = 0;

	assert_int_equal(0, dbb_queue_create(f->client, f->pool, &p, &f->q));
	start_consumers(f, c, 2, args);
	while (seq < 3)
		assert_int_equal(0, produce(f, ++seq, WAIT_MS));
	assert_int_equal('h', harness_await(c[0].from_child, WAIT_MS));
	/* More frames than buffers: the stuck one holds them all until it
	 * is cut off. */
	while (seq < 40)
		assert_int_equal(0, produce(f, ++seq, WAIT_MS));
	assert_int_equal(0, harness_child_wait(&c[0], WAIT_MS));
	assert_int_equal('d', harness_await(c[1].from_child, WAIT_MS));
	PRODUCER_WAIT(f, queue_counters(f).in_flight == 0);
	assert_int_equal(1, dbb_queue_consumer_count(f->q));

	/* The producer told the broker before this request was sent. */
	assert_true(dbb_client_has_feature(f->client, "queue-cut-off"));
	assert_int_equal(0, dbb_pool_info_by_name(f->client, POOL_NAME, &info));
	assert_non_null(info->queue);
	assert_int_equal(200, info->queue->release_timeout_ms);
	assert_int_equal(1, info->queue->consumers_cut_off);
	assert_int_equal(1, info->queue->n_consumers);
	assert_int_equal(c[1].pid,
			 dbb_queue_info_get_consumer(info->queue, 0)->pid);
	dbb_pool_info_free(info);
	dbb_queue_destroy(f->q);
	f->q = NULL;
	assert_int_equal(0, harness_child_wait(&c[1], WAIT_MS));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_pool_calls),
		T(test_pool_events),
		T(test_attach_event_read_by_another_call),
		T(test_destroy_ends_the_queue),
		T(test_hold_loses_nothing),
		T(test_drop_oldest_counts_drops),
		T(test_latest_counts_drops),
		T(test_killed_consumer_gives_buffers_back),
		T(test_release_timeout_over_the_maximum),
		T(test_stuck_consumer_is_cut_off),
	};
#undef T
	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
