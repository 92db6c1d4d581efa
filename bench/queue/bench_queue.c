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
 * Usage: bench_queue [-q]  (-q: fewer iterations, a smoke run)
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

static double bench_pingpong(unsigned n)
{
	char m[MSG_BYTES] = { 0 };
	uint64_t t0;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair", errno);
	pid = fork_pinned(CONSUMER_CPU);
	if (pid == 0) {
		close(sv[0]);
		while (read(sv[1], m, sizeof(m)) == (ssize_t)sizeof(m))
			if (write(sv[1], m, sizeof(m)) != (ssize_t)sizeof(m))
				_exit(1);
		_exit(0);
	}
	close(sv[1]);
	for (unsigned i = 0; i < n / 10; i++) {		/* warm-up */
		write_full(sv[0], m, sizeof(m));
		read_full(sv[0], m, sizeof(m));
	}
	t0 = benchkit_now_ns();
	for (unsigned i = 0; i < n; i++) {
		write_full(sv[0], m, sizeof(m));
		read_full(sv[0], m, sizeof(m));
	}
	t0 = benchkit_now_ns() - t0;
	close(sv[0]);
	reap(pid, "ping-pong peer");
	return n / ((double)t0 / 1e9);
}

/* ---- (b) copying the frame to 2 consumers ---- */

static void copy_reader(int fd, unsigned frames)
{
	char *buf = malloc(FRAME_BYTES), ack = 'r';

	if (!buf)
		_exit(1);
	for (unsigned i = 0; i < frames; i++) {
		read_full(fd, buf, FRAME_BYTES);
		write_full(fd, &ack, 1);
	}
	free(buf);
	_exit(0);
}

static double bench_copy(unsigned n)
{
	char *frame = malloc(FRAME_BYTES), ack;
	unsigned warm = n / 10 + 1;
	int sv[2][2];
	pid_t pid[2];
	uint64_t t0 = 0;

	if (!frame)
		die("malloc", ENOMEM);
	memset(frame, 0x5a, FRAME_BYTES);
	for (int c = 0; c < 2; c++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[c]) < 0)
			die("socketpair", errno);
		pid[c] = fork_pinned(CONSUMER_CPU);
		if (pid[c] == 0) {
			close(sv[c][0]);
			copy_reader(sv[c][1], warm + n);
		}
		close(sv[c][1]);
	}
	for (unsigned i = 0; i < warm + n; i++) {
		if (i == warm)
			t0 = benchkit_now_ns();
		for (int c = 0; c < 2; c++)
			write_full(sv[c][0], frame, FRAME_BYTES);
		for (int c = 0; c < 2; c++)
			read_full(sv[c][0], &ack, 1);
	}
	t0 = benchkit_now_ns() - t0;
	for (int c = 0; c < 2; c++) {
		close(sv[c][0]);
		reap(pid[c], "copy reader");
	}
	free(frame);
	return n / ((double)t0 / 1e9);
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

static double bench_queue(unsigned n, struct dbb_queue_counters *k)
{
	struct queue_setup s = { 0 };
	uint64_t t0;

	queue_start(&s);
	queue_run(s.q, n / 10);				/* warm-up */
	t0 = benchkit_now_ns();
	queue_run(s.q, n);
	t0 = benchkit_now_ns() - t0;
	dbb_queue_get_counters(s.q, k);
	queue_stop(&s);
	return n / ((double)t0 / 1e9);
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
	unsigned n_queue, n_ping, n_copy;
	struct dbb_queue_counters k;
	double queue, ping, copy;
	int miss = 0;

	quick = argc > 1 && !strcmp(argv[1], "-q");
	n_queue = quick ? 2000 : 20000;
	n_ping = quick ? 2000 : 20000;
	n_copy = quick ? 30 : 300;
	signal(SIGPIPE, SIG_IGN);
	if (benchkit_ncpus() < 2)
		printf("NOTE: one CPU only: every process shares it\n");
	pin(PRODUCER_CPU);
	printf("frame queue: 1 producer (CPU %d) -> 2 consumers (CPU %d), "
	       "memfd pool of %u, metadata only\n", PRODUCER_CPU, CONSUMER_CPU,
	       POOL_SIZE);
	queue = bench_queue(n_queue, &k);
	ping = bench_pingpong(n_ping);
	copy = bench_copy(n_copy);
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
	       "post->ready avg %llu us, max %llu us)\n", n_queue, n_ping, n_copy,
	       (unsigned long long)k.latency_avg_usec,
	       (unsigned long long)k.latency_max_usec);
	printf("%d of 3 targets missed\n", miss);
	return 0;
}
