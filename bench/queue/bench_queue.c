/* SPDX-License-Identifier: MIT */
/*
 * Frame queue hand-offs against their baselines, measured in the same
 * run, as ratios with PASS/MISS against the targets:
 *
 *   hand-offs/s   a frame acquired, posted, received and released by both
 *                 consumers: 1 producer -> 2 consumers, each its own
 *                 process, set up through a real broker (memfd pool of 8
 *                 buffers of 3,110,400 bytes, HOLD); metadata only, no
 *                 buffer is touched.  Frames are pipelined as the pool
 *                 allows.
 *     vs (a)      a bare SOCK_SEQPACKET ping-pong of a 48-byte message (a
 *                 channel message's size) between two processes: round
 *                 trips/s                        target >= 0.5x, and
 *                                                >= 10,000 hand-offs/s
 *     vs (b)      copying a 1920x1080 NV12 frame (3,110,400 bytes) over a
 *                 stream socketpair to each of 2 consumer processes, which
 *                 read it whole and answer with a byte: frames/s
 *                                                target >= 50x
 *
 * Placement (2 CPUs here): the producer, the ping-pong's first process
 * and the copy's sender on CPU 0; both consumers, the ping-pong's second
 * process and both copy readers on CPU 1.  The broker sits on CPU 0 and
 * is idle while frames flow.
 *
 * The three run side by side in 10 rounds (2,000 hand-offs, 2,000 round
 * trips, 30 frames each), each round one side after the other, so that
 * the machine's load changes the figure and its baselines alike.
 *
 * Usage: bench_queue [-q]  (-q: 2 rounds, a smoke run)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchkit.h"
#include "dmabuf-broker.h"
#include "harness.h"

#define POOL_SIZE 8u
#define FRAME_BYTES 3110400u		/* 1920 x 1080 NV12 */
#define MSG_BYTES 48u			/* struct dbb_chan_msg */
#define POOL_NAME "bench-queue"
#define PRODUCER_CPU 0
#define CONSUMER_CPU 1

static bool quick;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_queue: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

static void pin(int cpu)
{
	int ret = benchkit_pin(0, cpu < benchkit_ncpus() ? cpu : 0);

	if (ret < 0)
		die("sched_setaffinity", ret);
}

static pid_t fork_pinned(int cpu)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork", errno);
	if (pid == 0)
		pin(cpu);
	return pid;
}

/*
 * In a forked child: keeps only @fd (as fd 3, returned) and stdio.  The
 * sides run side by side, so a child would otherwise hold the others'
 * socket ends open, and they would never see their end.
 */
static int child_keep(int fd)
{
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(1);
	close_range(4, ~0u, 0);
	return 3;
}

static void reap(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_queue: %s failed (status %d)\n", what,
			status);
		exit(1);
	}
}

static void read_full(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n <= 0)
			die("read", n < 0 ? errno : EPIPE);
		done += (size_t)n;
	}
}

static void write_full(int fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n <= 0)
			die("write", n < 0 ? errno : EPIPE);
		done += (size_t)n;
	}
}

/* ---- (a) SEQPACKET ping-pong ---- */

struct pingpong {
	int fd;
	pid_t peer;
};

static void pingpong_start(struct pingpong *pp)
{
	char m[MSG_BYTES];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair", errno);
	pp->peer = fork_pinned(CONSUMER_CPU);
	if (pp->peer == 0) {
		int fd = child_keep(sv[1]);

		while (read(fd, m, sizeof(m)) == (ssize_t)sizeof(m))
			if (write(fd, m, sizeof(m)) != (ssize_t)sizeof(m))
				_exit(1);
		_exit(0);
	}
	close(sv[1]);
	pp->fd = sv[0];
}

/* @n round trips; returns the nanoseconds they took. */
static uint64_t pingpong_run(struct pingpong *pp, unsigned n)
{
	char m[MSG_BYTES] = { 0 };
	uint64_t t0 = benchkit_now_ns();

	for (unsigned i = 0; i < n; i++) {
		write_full(pp->fd, m, sizeof(m));
		read_full(pp->fd, m, sizeof(m));
	}
	return benchkit_now_ns() - t0;
}

static void pingpong_stop(struct pingpong *pp)
{
	close(pp->fd);
	reap(pp->peer, "ping-pong peer");
}

/* ---- (b) copying the frame to 2 consumers ---- */

struct copy {
	int fd[2];
	pid_t reader[2];
	char *frame;
};

/* Reads whole frames and answers each with a byte, until the end. */
static void copy_reader(int fd)
{
	char *buf = malloc(FRAME_BYTES), ack = 'r';
	ssize_t n;

	if (!buf)
		_exit(1);
	while ((n = read(fd, buf, 1)) == 1) {
		read_full(fd, buf + 1, FRAME_BYTES - 1);
		write_full(fd, &ack, 1);
	}
	free(buf);
	_exit(n == 0 ? 0 : 1);
}

static void copy_start(struct copy *cp)
{
	int sv[2];

	cp->frame = malloc(FRAME_BYTES);
	if (!cp->frame)
		die("malloc", ENOMEM);
	memset(cp->frame, 0x5a, FRAME_BYTES);
	for (int c = 0; c < 2; c++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair", errno);
		cp->reader[c] = fork_pinned(CONSUMER_CPU);
		if (cp->reader[c] == 0)
			copy_reader(child_keep(sv[1]));
		close(sv[1]);
		cp->fd[c] = sv[0];
	}
}

/* @n frames to both readers, each answered; returns the nanoseconds. */
static uint64_t copy_run(struct copy *cp, unsigned n)
{
	uint64_t t0 = benchkit_now_ns();
	char ack;

	for (unsigned i = 0; i < n; i++) {
		for (int c = 0; c < 2; c++)
			write_full(cp->fd[c], cp->frame, FRAME_BYTES);
		for (int c = 0; c < 2; c++)
			read_full(cp->fd[c], &ack, 1);
	}
	return benchkit_now_ns() - t0;
}

static void copy_stop(struct copy *cp)
{
	for (int c = 0; c < 2; c++) {
		close(cp->fd[c]);
		reap(cp->reader[c], "copy reader");
	}
	free(cp->frame);
}

/* ---- the queue ---- */

/* A consumer process: attaches, tells the parent, receives and releases
 * until the queue ends. */
static void queue_consumer(const char *socket, int ready_fd)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };
	struct dbb_client *client;
	struct dbb_queue *q;
	char ok = 'a';
	int ret;

	if (dbb_client_connect(socket, "bench-consumer", &client) < 0 ||
	    dbb_queue_attach_by_name(client, POOL_NAME, true, &q) < 0)
		_exit(1);
	write_full(ready_fd, &ok, 1);
	while ((ret = dbb_queue_receive(q, 10000, &f)) == 0)
		if (dbb_queue_release(q, f.index, -1) < 0)
			_exit(1);
	dbb_queue_destroy(q);
	dbb_client_destroy(client);
	_exit(ret == -EPIPE ? 0 : 1);
}

/* Posts @n frames, acquiring as buffers come back; returns when both
 * consumers released them all. */
static void queue_run(struct dbb_queue *q, unsigned n)
{
	struct pollfd pfd = { .fd = dbb_queue_get_fd(q), .events = POLLIN };
	struct dbb_queue_counters k;
	uint64_t target;
	int ret;

	dbb_queue_get_counters(q, &k);
	target = k.released + 2ull * n;
	for (unsigned i = 0; i < n; i++) {
		struct dbb_frame f = { .struct_size = sizeof(f), .fence_fd = -1 };

		ret = dbb_queue_acquire(q, 10000, &f.index);
		if (ret < 0)
			die("dbb_queue_acquire", ret);
		ret = dbb_queue_post(q, &f);
		if (ret < 0)
			die("dbb_queue_post", ret);
	}
	for (;;) {
		dbb_queue_get_counters(q, &k);
		if (k.released >= target)
			break;
		if (poll(&pfd, 1, 10000) <= 0)
			die("waiting for releases", ETIMEDOUT);
		ret = dbb_queue_dispatch(q);
		if (ret < 0)
			die("dbb_queue_dispatch", ret);
	}
}

struct queue_setup {
	struct harness_daemon d;
	struct dbb_client *client;
	struct dbb_pool *pool;
	struct dbb_queue *q;
	pid_t consumer[2];
};

static void queue_start(struct queue_setup *s)
{
	struct dbb_pool_params p = {
		.struct_size = sizeof(p),
		.count = POOL_SIZE,
		.buffer = { .struct_size = sizeof(p.buffer),
			    .size = FRAME_BYTES, .name = POOL_NAME },
	};
	struct dbb_queue_params qp = { .struct_size = sizeof(qp),
				       .policy = DBB_QUEUE_HOLD };
	int ready[2], ret;
	char ok;

	ret = harness_daemon_start(&s->d, NULL);
	if (ret < 0)
		die("starting the broker", ret);
	benchkit_pin(s->d.pid, PRODUCER_CPU);
	ret = dbb_client_connect(s->d.socket, "bench-producer", &s->client);
	if (ret == 0)
		ret = dbb_pool_alloc(s->client, &p, &s->pool);
	if (ret == 0)
		ret = dbb_queue_create(s->client, s->pool, &qp, &s->q);
	if (ret < 0)
		die("setting the queue up", ret);
	if (pipe2(ready, O_CLOEXEC) < 0)
		die("pipe", errno);
	for (int c = 0; c < 2; c++) {
		s->consumer[c] = fork_pinned(CONSUMER_CPU);
		if (s->consumer[c] == 0)
			queue_consumer(s->d.socket, ready[1]);
		read_full(ready[0], &ok, 1);
	}
	close(ready[0]);
	close(ready[1]);
	while (dbb_queue_consumer_count(s->q) < 2) {
		struct pollfd pfd = { .fd = dbb_queue_get_fd(s->q),
				      .events = POLLIN };

		if (poll(&pfd, 1, 10000) <= 0)
			die("waiting for the consumers", ETIMEDOUT);
		ret = dbb_queue_dispatch(s->q);
		if (ret < 0)
			die("dbb_queue_dispatch", ret);
	}
}

static void queue_stop(struct queue_setup *s)
{
	int ret;

	dbb_queue_destroy(s->q);
	for (int c = 0; c < 2; c++)
		reap(s->consumer[c], "queue consumer");
	dbb_pool_free(s->pool);
	dbb_client_destroy(s->client);
	ret = harness_daemon_stop(&s->d);
	if (ret != 0)
		die("the broker's exit", ret < 0 ? ret : EPROTO);
}

static int row(const char *what, double value, double baseline,
	       const char *unit, double target)
{
	double ratio = value / baseline;
	bool pass = ratio >= target;

	printf("%-34s %10.0f /s  %-22s %10.0f /s  %7.2f  >= %-5.1f %s\n",
	       what, value, unit, baseline, ratio, target, pass ? "PASS" : "MISS");
	return pass ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned rounds, n_queue, n_ping, n_copy;
	uint64_t t_queue = 0, t_ping = 0, t_copy = 0;
	struct queue_setup qs = { 0 };
	struct dbb_queue_counters k;
	struct pingpong pp;
	struct copy cp;
	double queue, ping, copy;
	int miss = 0;

	quick = argc > 1 && !strcmp(argv[1], "-q");
	rounds = quick ? 2 : 10;
	n_queue = 2000;			/* per round, as the others */
	n_ping = 2000;
	n_copy = 30;
	signal(SIGPIPE, SIG_IGN);
	if (benchkit_ncpus() < 2)
		printf("NOTE: one CPU only: every process shares it\n");
	pin(PRODUCER_CPU);
	printf("frame queue: 1 producer (CPU %d) -> 2 consumers (CPU %d), "
	       "memfd pool of %u, metadata only; %u rounds, each side in turn\n",
	       PRODUCER_CPU, CONSUMER_CPU, POOL_SIZE, rounds);
	queue_start(&qs);
	pingpong_start(&pp);
	copy_start(&cp);
	/* Warm-up, then the sides in turn, so that a change of load on the
	 * machine falls on all of them alike. */
	queue_run(qs.q, n_queue / 10);
	pingpong_run(&pp, n_ping / 10);
	copy_run(&cp, n_copy / 10);
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t t0 = benchkit_now_ns();

		queue_run(qs.q, n_queue);
		t_queue += benchkit_now_ns() - t0;
		t_ping += pingpong_run(&pp, n_ping);
		t_copy += copy_run(&cp, n_copy);
	}
	dbb_queue_get_counters(qs.q, &k);
	copy_stop(&cp);
	pingpong_stop(&pp);
	queue_stop(&qs);
	queue = rounds * n_queue / ((double)t_queue / 1e9);
	ping = rounds * n_ping / ((double)t_ping / 1e9);
	copy = rounds * n_copy / ((double)t_copy / 1e9);
	printf("%-34s %13s  %-22s %13s  %7s  %-8s\n", "figure", "value",
	       "baseline", "", "ratio", "target");
	miss += row("hand-offs (2 consumers)", queue, ping,
		    "SEQPACKET ping-pong", 0.5);
	miss += row("hand-offs (2 consumers)", queue, copy,
		    "NV12 1080p copy x2", 50.0);
	printf("%-34s %10.0f /s  %s\n", "hand-offs floor", queue,
	       queue >= 10000 ? ">= 10000 PASS" : ">= 10000 MISS");
	miss += queue < 10000;
	printf("(%u hand-offs, %u round trips, %u copied frames; queue latency "
	       "post->ready avg %llu us, max %llu us)\n", rounds * n_queue,
	       rounds * n_ping, rounds * n_copy,
	       (unsigned long long)k.latency_avg_usec,
	       (unsigned long long)k.latency_max_usec);
	printf("%d of 3 targets missed\n", miss);
	return 0;
}
