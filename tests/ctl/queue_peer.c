/* SPDX-License-Identifier: MIT */
/*
 * A producer and a consumer of one pool's queue, in one process, for
 * test_ctl.sh to look at with dmabuf-ctl: known counters, reached by
 * waiting on conditions, never on time.
 *
 *   queue_peer POOL [RELEASE_TIMEOUT_MS]
 *
 * Opens POOL read-write, creates its queue (policy hold, with the release
 * timeout if given), attaches a read-only consumer through a second
 * connection and waits until the producer has seen it.  Then reads
 * commands, one a line, from stdin: "post N" posts N frames, each received
 * and released by the consumer, and waits until the producer has taken
 * every release back; "hold" posts one frame the consumer receives and
 * keeps, and waits until the producer has cut the consumer off for it
 * (a queue with a release timeout; the consumer is gone after it).  After
 * the setup and after each command it prints "ready" with the producer's
 * counters.  Exits 0 at the end of stdin; on any failure, with a message
 * and 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmabuf-broker.h"

/* Generous: a slow or sanitized build must not fail by time. */
#define PEER_TIMEOUT_MS 30000

struct peer {
	struct dbb_client *pclient, *cclient;
	struct dbb_pool *pool;
	struct dbb_queue *producer, *consumer;
};

static int peer_fail(const char *what, int err)
{
	fprintf(stderr, "queue_peer: %s: %s\n", what, strerror(-err));
	return -1;
}

/* Dispatches the producer until @done says so; -ETIMEDOUT past the
 * timeout, -EPIPE when the queue ended. */
static int peer_wait(struct peer *p, bool (*done)(struct peer *p))
{
	struct pollfd pfd = { .fd = dbb_queue_get_fd(p->producer), .events = POLLIN };
	int ret;

	while (!done(p)) {
		ret = poll(&pfd, 1, PEER_TIMEOUT_MS);
		if (ret == 0)
			return -ETIMEDOUT;
		if (ret < 0 && errno != EINTR)
			return -errno;
		ret = dbb_queue_dispatch(p->producer);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static bool peer_attached(struct peer *p)
{
	return dbb_queue_consumer_count(p->producer) == 1;
}

static bool peer_cut_off(struct peer *p)
{
	return dbb_queue_consumer_count(p->producer) == 0;
}

static bool peer_all_back(struct peer *p)
{
	struct dbb_queue_counters c;

	return dbb_queue_get_counters(p->producer, &c) == 0 &&
	       c.released == c.posted && c.in_flight == 0;
}

static int peer_setup(struct peer *p, const char *pool_name,
		      uint32_t release_timeout_ms)
{
	struct dbb_queue_params params = {
		.struct_size = sizeof(params),
		.policy = DBB_QUEUE_HOLD,
		.release_timeout_ms = release_timeout_ms,
	};
	int ret;

	ret = dbb_client_connect(NULL, "queue-producer", &p->pclient);
	if (ret < 0)
		return peer_fail("connect", ret);
	ret = dbb_client_connect(NULL, "queue-consumer", &p->cclient);
	if (ret < 0)
		return peer_fail("connect", ret);
	ret = dbb_pool_open_by_name(p->pclient, pool_name, false, &p->pool);
	if (ret < 0)
		return peer_fail("open the pool", ret);
	ret = dbb_queue_create(p->pclient, p->pool, &params, &p->producer);
	if (ret < 0)
		return peer_fail("create the queue", ret);
	ret = dbb_queue_attach_by_name(p->cclient, pool_name, true, &p->consumer);
	if (ret < 0)
		return peer_fail("attach", ret);
	ret = peer_wait(p, peer_attached);
	return ret < 0 ? peer_fail("wait for the consumer", ret) : 0;
}

/* One frame from the producer to the consumer, which has it in @in. */
static int peer_deliver(struct peer *p, struct dbb_frame *in)
{
	struct dbb_frame out = { .struct_size = sizeof(out), .fence_fd = -1 };
	int ret;

	ret = dbb_queue_acquire(p->producer, PEER_TIMEOUT_MS, &out.index);
	if (ret < 0)
		return ret;
	ret = dbb_queue_post(p->producer, &out);
	if (ret < 0)
		return ret;
	return dbb_queue_receive(p->consumer, PEER_TIMEOUT_MS, in);
}

/* One frame from the producer to the consumer and back. */
static int peer_frame(struct peer *p)
{
	struct dbb_frame in = { .struct_size = sizeof(in) };
	int ret;

	ret = peer_deliver(p, &in);
	if (ret < 0)
		return ret;
	return dbb_queue_release(p->consumer, in.index, -1);
}

/* A frame the consumer keeps past the release timeout. */
static int peer_hold(struct peer *p)
{
	struct dbb_frame in = { .struct_size = sizeof(in) };
	int ret;

	ret = peer_deliver(p, &in);
	if (ret < 0)
		return ret;
	return peer_wait(p, peer_cut_off);
}

static int peer_post(struct peer *p, unsigned long n)
{
	int ret = 0;

	for (unsigned long i = 0; i < n && ret == 0; i++)
		ret = peer_frame(p);
	if (ret == 0)
		ret = peer_wait(p, peer_all_back);
	return ret;
}

static void peer_ready(struct peer *p)
{
	struct dbb_queue_counters c;

	dbb_queue_get_counters(p->producer, &c);
	printf("ready posted=%" PRIu64 " released=%" PRIu64 "\n", c.posted,
	       c.released);
	fflush(stdout);
}

static void peer_destroy(struct peer *p)
{
	dbb_queue_destroy(p->consumer);
	dbb_queue_destroy(p->producer);
	dbb_pool_free(p->pool);
	dbb_client_destroy(p->cclient);
	dbb_client_destroy(p->pclient);
}

int main(int argc, char **argv)
{
	struct peer p = { 0 };
	unsigned long release_timeout_ms = 0;
	char line[64], *arg_end = NULL;
	int ret = 0;

	if (argc == 3)
		release_timeout_ms = strtoul(argv[2], &arg_end, 10);
	if (argc < 2 || argc > 3 ||
	    (arg_end && (arg_end == argv[2] || *arg_end)) ||
	    release_timeout_ms > DBB_QUEUE_MAX_RELEASE_TIMEOUT_MS) {
		fprintf(stderr, "usage: queue_peer POOL [RELEASE_TIMEOUT_MS]\n");
		return 1;
	}
	if (peer_setup(&p, argv[1], (uint32_t)release_timeout_ms) < 0) {
		peer_destroy(&p);
		return 1;
	}
	peer_ready(&p);
	while (ret == 0 && fgets(line, sizeof(line), stdin)) {
		unsigned long n = 0;
		char *end = line;

		if (strcmp(line, "hold\n") == 0) {
			if ((ret = peer_hold(&p)) < 0)
				ret = peer_fail("hold", ret);
			else
				peer_ready(&p);
			continue;
		}
		if (strncmp(line, "post ", 5) == 0)
			n = strtoul(line + 5, &end, 10);
		if (end == line || *end != '\n') {
			fprintf(stderr, "queue_peer: bad command %s", line);
			ret = 1;
		} else if ((ret = peer_post(&p, n)) < 0) {
			ret = peer_fail("post", ret);
		} else {
			peer_ready(&p);
		}
	}
	peer_destroy(&p);
	return ret ? 1 : 0;
}
