/* SPDX-License-Identifier: MIT */
/*
 * Fences on a frame queue, with real dma-buf fences: vgem attaches an
 * unsignalled fence to a pool buffer's reservation object (as a GPU that
 * is still rendering into it, or still reading it), the library exports it
 * as a sync_file (DMA_BUF_IOCTL_EXPORT_SYNC_FILE) and the queue carries it
 * with the frame (acquire fence) or with the release (release fence).
 *
 *  - a consumer never receives a frame before its acquire fence signals,
 *    and one whose fence outlives the queue's fence_timeout_ms never at
 *    all: its buffer goes back to the producer, counted in fence_timeouts;
 *  - a buffer released with a fence goes back to the producer only once
 *    the fence signalled, or once fence_timeout_ms passed (counted).
 *
 * Producer and consumer are two connections of this one process, each
 * driven in turn: every wait is one of the library's own, bounded.
 * Needs root, vgem and a broker backend that allocates dma-bufs, as the
 * test guests have (tests/vm); elsewhere it exits 77.  Negative cases
 * first.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dmabuf-broker.h"
#include "harness.h"
#include "vgem.h"

/* The backends that allocate dma-bufs, as the broker prefers them; the
 * guests have at least kmod (the module) and drm (vgem). */
#define FENCES_BACKENDS "kmod,heap,udmabuf,drm"
#define FENCES_BUFFER_SIZE (64u * 1024)
/* Short, for the cases where the fence must time out.  vgem signals a
 * forgotten fence itself after 10 s: far later. */
#define FENCES_TIMEOUT_SHORT_MS 500
/* Long, for the cases where it must not: the test signals the fence
 * itself, and looks for the frame meanwhile only briefly. */
#define FENCES_TIMEOUT_LONG_MS 60000
/* How long "not yet" is watched: a frame or a buffer that is not there
 * after this long, with the fence unsignalled. */
#define FENCES_WATCH_MS 300
/* The bound of every wait for something that must come. */
#define FENCES_WAIT_MS 10000

struct fences_group {
	struct harness_daemon d;
	int drm;		/* vgem, for this process's "GPU" */
};

/* One queue on a pool of one buffer: the producer's acquire succeeds
 * exactly when the buffer is back. */
struct rig {
	struct fences_group *g;
	struct dbb_client *pc, *cc;	/* producer's, consumer's connection */
	struct dbb_pool *pool;		/* the producer's */
	struct dbb_queue *prod, *cons;
	uint32_t handle;		/* vgem's import of the buffer, or 0 */
	uint32_t fence;			/* vgem's fence on it */
	bool fence_live;		/* attached and not signalled yet */
};

/* Runs the producer's end (its epoll fd covers the broker connection)
 * until it knows its consumer (QUEUE_CONSUMER_ATTACHED). */
static void rig_wait_attached(struct rig *r)
{
	int64_t deadline = harness_now_ms() + harness_timeout_ms(FENCES_WAIT_MS);

	while (dbb_queue_consumer_count(r->prod) < 1) {
		struct pollfd pfd = { .fd = dbb_queue_get_fd(r->prod), .events = POLLIN };
		int64_t left = deadline - harness_now_ms();

		assert_true(left > 0);
		assert_true(poll(&pfd, 1, (int)left) >= 0);
		assert_true(dbb_queue_dispatch(r->prod) >= 0);
	}
}

/* A pool of one dma-buf, a queue on it with @fence_timeout_ms, and one
 * consumer attached by the pool's id. */
static void rig_start(struct rig *r, void **state, uint32_t fence_timeout_ms)
{
	struct dbb_pool_params pp = {
		.struct_size = sizeof(pp),
		.count = 1,
		.buffer = {
			.struct_size = sizeof(pp.buffer),
			.size = FENCES_BUFFER_SIZE,
			.lifetime = DBB_LIFETIME_CLIENT,
		},
	};
	struct dbb_queue_params qp = {
		.struct_size = sizeof(qp),
		.policy = DBB_QUEUE_HOLD,
		.fence_timeout_ms = fence_timeout_ms,
	};

	*r = (struct rig){ .g = *state };
	assert_int_equal(0, dbb_client_connect(r->g->d.socket, "fences-producer", &r->pc));
	assert_int_equal(0, dbb_client_connect(r->g->d.socket, "fences-consumer", &r->cc));
	assert_int_equal(0, dbb_pool_alloc(r->pc, &pp, &r->pool));
	assert_true(dbb_pool_get_info(r->pool)->is_dmabuf);
	assert_int_equal(0, dbb_queue_create(r->pc, r->pool, &qp, &r->prod));
	assert_int_equal(0, dbb_queue_attach_by_id(r->cc, dbb_pool_get_id(r->pool),
						   false, &r->cons));
	rig_wait_attached(r);
}

static void rig_stop(struct rig *r)
{
	/* A fence left unsignalled would hold vgem's timer for 10 s. */
	if (r->fence_live)
		vgem_fence_signal(r->g->drm, r->fence);
	vgem_close_handle(r->g->drm, r->handle);
	dbb_queue_destroy(r->cons);
	dbb_queue_destroy(r->prod);
	dbb_pool_free(r->pool);
	dbb_client_destroy(r->cc);
	dbb_client_destroy(r->pc);
}

/* The consumer's handle of buffer @index (the pool that came with its
 * attach). */
static struct dbb_buffer *rig_consumer_buffer(struct rig *r, uint32_t index)
{
	struct dbb_buffer *b = dbb_pool_get_buffer(dbb_queue_get_pool(r->cons), index);

	assert_non_null(b);
	return b;
}

/*
 * Has vgem put an unsignalled fence on @b's reservation object, as a
 * writer (@write) or a reader, and returns the dma-buf's fences as a
 * sync_file for one who will @access it, as DMA_BUF_IOCTL_EXPORT_SYNC_FILE
 * does: DBB_SYNC_READ waits for the writers, DBB_SYNC_WRITE for everyone.
 */
static int rig_fence(struct rig *r, struct dbb_buffer *b, bool write, unsigned access)
{
	int sync_fd = -1;

	assert_int_equal(0, vgem_import(r->g->drm, dbb_buffer_get_fd(b), &r->handle));
	assert_int_equal(0, vgem_fence_attach(r->g->drm, r->handle, write, &r->fence));
	r->fence_live = true;
	assert_int_equal(0, dbb_buffer_export_sync_file(b, access, &sync_fd));
	assert_int_equal(0, sync_file_status(sync_fd));
	return sync_fd;
}

static void rig_signal(struct rig *r)
{
	assert_int_equal(0, vgem_fence_signal(r->g->drm, r->fence));
	r->fence_live = false;
}

/* Acquires the pool's only buffer and posts it as frame 1, with
 * @fence_fd (taken; -1: none).  Returns its index. */
static uint32_t rig_post(struct rig *r, int fence_fd)
{
	struct dbb_frame f = { .struct_size = sizeof(f), .seq = 1, .fence_fd = fence_fd };

	f.index = UINT32_MAX;
	assert_int_equal(0, dbb_queue_acquire(r->prod, 0, &f.index));
	assert_int_equal(0, f.index);
	assert_int_equal(0, dbb_queue_post(r->prod, &f));
	return f.index;
}

static void rig_receive(struct rig *r, uint32_t index)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };

	assert_int_equal(0, dbb_queue_receive(r->cons, harness_timeout_ms(FENCES_WAIT_MS), &f));
	assert_int_equal(index, f.index);
	assert_int_equal(1, f.seq);
	assert_int_equal(-1, f.fence_fd);
}

/* The buffer is back: the producer's acquire gives it again. */
static void rig_assert_returned(struct rig *r, uint32_t index)
{
	uint32_t again = UINT32_MAX;

	assert_int_equal(0, dbb_queue_acquire(r->prod, harness_timeout_ms(FENCES_WAIT_MS),
					      &again));
	assert_int_equal(index, again);
}

static void rig_assert_not_returned(struct rig *r)
{
	uint32_t index;

	assert_int_equal(-EAGAIN, dbb_queue_acquire(r->prod, 0, &index));
	assert_int_equal(-ETIMEDOUT, dbb_queue_acquire(r->prod, FENCES_WATCH_MS, &index));
}

/* fence_timeouts, as the producer counts it and as the broker reads it
 * from the queue's shared counters: both must say @want. */
static void rig_assert_fence_timeouts(struct rig *r, uint64_t want)
{
	struct dbb_queue_counters c;
	struct dbb_pool_info *info = NULL;

	assert_int_equal(0, dbb_queue_get_counters(r->prod, &c));
	assert_int_equal(want, c.fence_timeouts);
	assert_int_equal(0, dbb_pool_info_by_id(r->cc, dbb_pool_get_id(r->pool), &info));
	assert_non_null(info->queue);
	assert_int_equal(want, info->queue->counters.fence_timeouts);
	dbb_pool_info_free(info);
}

/* CPU writes (or checks) a pattern over the whole buffer, inside the
 * DMA_BUF_IOCTL_SYNC brackets. */
static void buffer_fill(struct dbb_buffer *b, uint32_t seed, bool check)
{
	size_t size = (size_t)dbb_buffer_get_info(b)->size;
	unsigned access = check ? DBB_SYNC_READ : DBB_SYNC_WRITE;
	void *addr;

	assert_int_equal(0, dbb_buffer_map(b, !check, &addr));
	assert_int_equal(0, dbb_buffer_begin_cpu_access(b, access));
	if (check)
		assert_int_equal(-1, harness_check(addr, size, seed));
	else
		harness_fill(addr, size, seed);
	assert_int_equal(0, dbb_buffer_end_cpu_access(b, access));
	assert_int_equal(0, dbb_buffer_unmap(b, addr));
}

/* ---- negative cases: fences that never signal ---- */

/* A frame whose acquire fence does not signal within fence_timeout_ms is
 * never delivered to the application; the buffer comes back. */
static void test_acquire_fence_times_out(void **state)
{
	struct dbb_buffer *b;
	struct dbb_frame f = { .struct_size = sizeof(f) };
	uint32_t index;
	struct rig r;

	rig_start(&r, state, FENCES_TIMEOUT_SHORT_MS);
	b = dbb_pool_get_buffer(r.pool, 0);
	index = rig_post(&r, rig_fence(&r, b, true, DBB_SYNC_READ));
	assert_int_equal(-EAGAIN, dbb_queue_receive(r.cons, 0, &f));
	/* Well past fence_timeout_ms: the consumer's library gives up on
	 * the fence meanwhile and hands the frame back unseen. */
	assert_int_equal(-ETIMEDOUT, dbb_queue_receive(r.cons,
		harness_timeout_ms(6 * FENCES_TIMEOUT_SHORT_MS), &f));
	rig_assert_returned(&r, index);
	rig_assert_fence_timeouts(&r, 1);
	/* Signalled late, the fence brings nothing back to the consumer. */
	rig_signal(&r);
	assert_int_equal(-EAGAIN, dbb_queue_receive(r.cons, 0, &f));
	rig_stop(&r);
}

/* A release fence that does not signal within fence_timeout_ms: the
 * producer takes the buffer back anyway, and counts it. */
static void test_release_fence_times_out(void **state)
{
	uint32_t index;
	struct rig r;

	rig_start(&r, state, FENCES_TIMEOUT_SHORT_MS);
	index = rig_post(&r, -1);
	rig_receive(&r, index);
	/* The consumer's "GPU" still reads it: a reader's fence, which a
	 * writer (the producer's next frame) must wait for. */
	assert_int_equal(0, dbb_queue_release(r.cons, index,
		rig_fence(&r, rig_consumer_buffer(&r, index), false, DBB_SYNC_WRITE)));
	rig_assert_returned(&r, index);
	rig_assert_fence_timeouts(&r, 1);
	rig_stop(&r);
}

/* ---- fences that signal ---- */

/* The frame is held back while its acquire fence is unsignalled, arrives
 * once vgem signals it, and holds what was written before. */
static void test_acquire_fence_holds_frame(void **state)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };
	struct dbb_buffer *b;
	uint32_t index;
	struct rig r;

	rig_start(&r, state, FENCES_TIMEOUT_LONG_MS);
	b = dbb_pool_get_buffer(r.pool, 0);
	buffer_fill(b, 0x5eed, false);
	index = rig_post(&r, rig_fence(&r, b, true, DBB_SYNC_READ));
	assert_int_equal(-EAGAIN, dbb_queue_receive(r.cons, 0, &f));
	assert_int_equal(-ETIMEDOUT, dbb_queue_receive(r.cons, FENCES_WATCH_MS, &f));
	rig_signal(&r);
	rig_receive(&r, index);
	buffer_fill(rig_consumer_buffer(&r, index), 0x5eed, true);
	assert_int_equal(0, dbb_queue_release(r.cons, index, -1));
	rig_assert_returned(&r, index);
	rig_assert_fence_timeouts(&r, 0);
	rig_stop(&r);
}

/* A buffer released with a fence goes back to the producer only once the
 * fence signals. */
static void test_release_fence_delays_return(void **state)
{
	uint32_t index;
	struct rig r;

	rig_start(&r, state, FENCES_TIMEOUT_LONG_MS);
	index = rig_post(&r, -1);
	rig_receive(&r, index);
	assert_int_equal(0, dbb_queue_release(r.cons, index,
		rig_fence(&r, rig_consumer_buffer(&r, index), false, DBB_SYNC_WRITE)));
	rig_assert_not_returned(&r);
	rig_signal(&r);
	rig_assert_returned(&r, index);
	rig_assert_fence_timeouts(&r, 0);
	rig_stop(&r);
}

static int group_setup(void **state)
{
	struct fences_group *g = calloc(1, sizeof(*g));

	if (!g)
		return -1;
	*state = g;
	g->drm = vgem_open();
	if (g->drm < 0)
		return -1;
	return harness_daemon_start_backends(&g->d, NULL, FENCES_BACKENDS) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	struct fences_group *g = *state;

	if (!g)
		return 0;
	harness_daemon_stop(&g->d);
	if (g->drm >= 0)
		close(g->drm);
	free(g);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acquire_fence_times_out),
		cmocka_unit_test(test_release_fence_times_out),
		cmocka_unit_test(test_acquire_fence_holds_frame),
		cmocka_unit_test(test_release_fence_delays_return),
	};
	int drm;

	/* What the guests have and other machines may not: say why we
	 * cannot run (tests/vm shows stderr's last line with the skip). */
	if (geteuid() != 0) {
		fprintf(stderr, "test_fences: needs root (vgem's node)\n");
		return 77;
	}
	drm = vgem_open();
	if (drm < 0) {
		fprintf(stderr, "test_fences: no vgem card in /dev/dri (modprobe vgem)\n");
		return 77;
	}
	close(drm);
	return cmocka_run_group_tests_name("fences", tests, group_setup, group_teardown);
}
