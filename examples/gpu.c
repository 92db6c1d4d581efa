/* SPDX-License-Identifier: MIT */
/*
 * dmabuf-gpu-example: the consumer side of dmabuf-camera-example.
 * Attaches to the camera's frame queue by the pool's name, hands every
 * buffer of the pool to a GPU driver (vgem, through a DRM PRIME import, as
 * a real GPU's would be), and for each frame it receives checks vivid's
 * 75% colour bars through the dma-buf's own mapping, then releases it.
 * See examples/README.md.
 *
 * Each buffer's dma-buf inode is printed: the camera prints the inode of
 * every buffer it queued, and equal inodes prove the two programs (and
 * vgem) hold the very same buffers, with no copy in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>

#include "dmabuf-broker.h"

/* How far a sample may stray from the ideal bar colour: vivid's
 * conversion from its 8-bit RGB rounds differently from the ideal one. */
#define GPU_TOLERANCE 12
/* See gpu_wait_for_queue(). */
#define GPU_QUEUE_RETRY_MS 100

struct gpu_options {
	const char *socket;
	const char *pool_name;
	const char *drm_path;
	unsigned timeout_s;
	unsigned slow_ms;	/* how long each frame is held */
};

/* One buffer of the pool, as this GPU holds it. */
struct gpu_buffer {
	struct dbb_buffer *buf;		/* owned by the pool */
	uint32_t handle;		/* vgem's */
	void *addr;			/* mapped read-only */
};

struct gpu {
	struct gpu_options opt;
	struct dbb_client *client;
	int drm;
	struct dbb_queue *queue;
	size_t count;
	struct gpu_buffer bufs[DBB_POOL_MAX_BUFFERS];
	unsigned received, passed;
	uint64_t last_seq;
	bool in_order;
	bool queue_events;		/* the broker announces queues */
	bool announced;			/* see gpu_on_pool_event() */
	bool holding;			/* a frame held for --slow-ms */
	uint32_t held_index;
	int64_t release_at_ms;
};

struct gpu_yuv {
	int y, u, v;
};

/*
 * 75% colour bars, left to right, in BT.601 limited-range Y'CbCr: what
 * vivid produces for its webcam input (sRGB colorspace, whose default
 * encoding is BT.601, limited quantization).
 */
static const struct gpu_yuv gpu_bars[8] = {
	{ 180, 128, 128 },	/* white */
	{ 162, 44, 142 },	/* yellow */
	{ 131, 156, 44 },	/* cyan */
	{ 112, 72, 58 },	/* green */
	{ 84, 184, 198 },	/* magenta */
	{ 65, 100, 212 },	/* red */
	{ 35, 212, 114 },	/* blue */
	{ 16, 128, 128 },	/* black */
};

static const char *const gpu_bar_names[8] = {
	"white", "yellow", "cyan", "green", "magenta", "red", "blue", "black",
};

static const char gpu_usage[] =
	"Usage: dmabuf-gpu-example [OPTIONS]\n"
	"\n"
	"Attaches to the frame queue of the dma-buf broker's pool NAME (waiting\n"
	"for it to exist), PRIME-imports its buffers into vgem, and checks\n"
	"vivid's 75% colour bars in every frame it receives until the queue ends.\n"
	"\n"
	"  -s, --socket PATH     broker socket ($DMABUF_BROKER_SOCKET, else the default)\n"
	"  -p, --pool NAME       the pool's name (default camera)\n"
	"  -t, --timeout SECS    how long to wait for the pool, or for a frame (default 60)\n"
	"  -w, --slow-ms MS      hold each frame MS ms before releasing it (a slow GPU)\n"
	"  -D, --drm PATH        DRM node (default: the first vgem card)\n"
	"  -h, --help\n"
	"\n"
	"Exit status: 0 when frames came, in order, and every one passed;\n"
	"1 otherwise, 2 bad usage.\n";

static int gpu_fail(int err, const char *what)
{
	fprintf(stderr, "dmabuf-gpu-example: %s: %s\n", what, strerror(err));
	return -err;
}

static int gpu_fail_broker(struct gpu *g, int err, const char *what)
{
	const char *why = dbb_client_last_error(g->client);

	fprintf(stderr, "dmabuf-gpu-example: %s: %s%s%s\n", what,
		strerror(-err), *why ? ": " : "", why);
	return err;
}

static bool gpu_parse_uint(const char *s, unsigned long max, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v == 0 || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Returns 0, 1 for --help, -EINVAL for bad usage. */
static int gpu_parse_args(struct gpu_options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "pool", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "slow-ms", required_argument, NULL, 'w' },
		{ "drm", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct gpu_options){ .pool_name = "camera", .timeout_s = 60 };
	while ((c = getopt_long(argc, argv, "s:p:t:w:D:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'p': o->pool_name = optarg; break;
		case 'D': o->drm_path = optarg; break;
		case 'w':
			if (!gpu_parse_uint(optarg, 60000, &o->slow_ms))
				return -EINVAL;
			break;
		case 't':
			if (!gpu_parse_uint(optarg, 86400, &o->timeout_s))
				return -EINVAL;
			break;
		case 'h': return 1;
		default: return -EINVAL;
		}
	}
	return optind < argc ? -EINVAL : 0;
}

static bool gpu_is_vgem(int fd)
{
	drmVersionPtr v = drmGetVersion(fd);
	bool vgem = v && !strcmp(v->name, "vgem");

	drmFreeVersion(v);
	return vgem;
}

/* Opens --drm, or the first card driven by vgem. */
static int gpu_open_drm(const struct gpu_options *o)
{
	char path[32];

	if (o->drm_path) {
		int fd = open(o->drm_path, O_RDWR | O_CLOEXEC);

		return fd < 0 ? gpu_fail(errno, o->drm_path) : fd;
	}
	for (int i = 0; i < 16; i++) {
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (gpu_is_vgem(fd)) {
			printf("drm %s vgem\n", path);
			return fd;
		}
		close(fd);
	}
	fprintf(stderr, "dmabuf-gpu-example: no vgem card in /dev/dri "
		"(modprobe vgem)\n");
	return -ENODEV;
}

static int64_t gpu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool gpu_pool_exists(struct gpu *g)
{
	struct dbb_pool_info *info = NULL;
	bool exists = dbb_pool_info_by_name(g->client, g->opt.pool_name, &info) == 0;

	dbb_pool_info_free(info);
	return exists;
}

/* Notes that --pool's queue was made or, from a broker that does not
 * announce queues, that the pool was: worth trying to attach again. */
static void gpu_on_pool_event(struct dbb_client *client, enum dbb_event_type type,
			      const struct dbb_pool_info *info, void *userdata)
{
	struct gpu *g = userdata;
	enum dbb_event_type wanted = g->queue_events ? DBB_EVENT_QUEUE_CREATED
						     : DBB_EVENT_POOL_CREATED;

	if (type == wanted && !strcmp(info->name, g->opt.pool_name))
		g->announced = true;
}

static const struct dbb_event_listener gpu_listener = {
	.struct_size = sizeof(gpu_listener),
	.pool_event = gpu_on_pool_event,
};

/*
 * Waits, until @deadline, for a reason to try attaching again: the
 * broker's event that --pool's queue was made.  A broker without the
 * feature "queue-events" announces pools but not queues: then a pool
 * that is there without its queue yet is looked at again every
 * GPU_QUEUE_RETRY_MS.  Returns 0, or a negative errno (-ETIMEDOUT).
 */
static int gpu_wait_for_queue(struct gpu *g, int64_t deadline)
{
	struct pollfd pfd = { .fd = dbb_client_get_fd(g->client), .events = POLLIN };
	bool retry_soon = !g->queue_events && gpu_pool_exists(g);
	int64_t retry_at = gpu_now_ms() + GPU_QUEUE_RETRY_MS;
	int r;

	g->announced = false;
	for (;;) {
		int64_t now = gpu_now_ms(), until = deadline;

		/* Events that came during the attach are queued already. */
		r = dbb_client_dispatch(g->client);
		if (r < 0)
			return gpu_fail_broker(g, r, "events");
		if (g->announced || (retry_soon && now >= retry_at))
			return 0;
		if (now >= deadline)
			return gpu_fail(ETIMEDOUT, g->opt.pool_name);
		if (retry_soon && retry_at < until)
			until = retry_at;
		if (poll(&pfd, 1, (int)(until - now)) < 0 && errno != EINTR)
			return gpu_fail(errno, "poll");
	}
}

/*
 * Attaches to the queue of pool --pool, waiting at most --timeout for
 * the pool and its queue to exist.  The watch starts before the first
 * try, so a queue made just after it failed is still heard of.  Events
 * are turned off once attached: the consumer no longer needs the
 * connection.
 */
static int gpu_attach(struct gpu *g)
{
	int64_t deadline = gpu_now_ms() + (int64_t)g->opt.timeout_s * 1000;
	int r;

	g->queue_events = dbb_client_has_feature(g->client, "queue-events");
	r = dbb_client_set_listener(g->client, &gpu_listener, g);
	if (r == 0)
		r = dbb_watch(g->client, true);
	if (r < 0)
		return gpu_fail_broker(g, r, "watch");
	while ((r = dbb_queue_attach_by_name(g->client, g->opt.pool_name, false,
					     &g->queue)) == -ENOENT) {
		r = gpu_wait_for_queue(g, deadline);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return gpu_fail_broker(g, r, g->opt.pool_name);
	printf("pool %s count %zu\n", g->opt.pool_name,
	       dbb_pool_get_count(dbb_queue_get_pool(g->queue)));
	r = dbb_watch(g->client, false);
	return r < 0 ? gpu_fail_broker(g, r, "watch") : 0;
}

/* One pixel of a YUYV or NV12 image. */
static struct gpu_yuv gpu_sample(const struct dbb_image_layout *l,
				 const uint8_t *base, uint32_t x, uint32_t row)
{
	const struct dbb_plane *p0 = &l->planes[0], *p1 = &l->planes[1];
	const uint8_t *px, *uv;

	if (l->fourcc == DRM_FORMAT_YUYV) {
		px = base + p0->offset + (size_t)row * p0->stride + (x & ~1u) * 2;
		return (struct gpu_yuv){ px[(x & 1) * 2], px[1], px[3] };
	}
	uv = base + p1->offset + (size_t)(row / 2) * p1->stride + (x & ~1u);
	return (struct gpu_yuv){ base[p0->offset + (size_t)row * p0->stride + x],
				 uv[0], uv[1] };
}

static bool gpu_near(const struct gpu_yuv *seen, const struct gpu_yuv *want)
{
	return abs(seen->y - want->y) <= GPU_TOLERANCE &&
	       abs(seen->u - want->u) <= GPU_TOLERANCE &&
	       abs(seen->v - want->v) <= GPU_TOLERANCE;
}

/*
 * Checks one row: 8 bars of constant colour, each near the ideal.  The
 * eighth of the width nearest each edge of a bar is left out, where the
 * chroma of two bars may mix.
 */
static bool gpu_check_row(const struct dbb_image_layout *l, const uint8_t *base,
			  uint32_t row)
{
	uint32_t bar_w = l->width / 8;

	for (unsigned b = 0; b < 8; b++) {
		uint32_t x0 = b * bar_w + bar_w / 8, x1 = (b + 1) * bar_w - bar_w / 8;

		for (uint32_t x = x0; x < x1; x++) {
			struct gpu_yuv s = gpu_sample(l, base, x, row);

			if (gpu_near(&s, &gpu_bars[b]))
				continue;
			printf("  row %u x %u (%s bar): Y %d U %d V %d, want "
			       "%d %d %d (+-%d)\n", row, x, gpu_bar_names[b],
			       s.y, s.u, s.v, gpu_bars[b].y, gpu_bars[b].u,
			       gpu_bars[b].v, GPU_TOLERANCE);
			return false;
		}
	}
	return true;
}

/* The bars in the lower half of the image: vivid draws its text over
 * the top rows. */
static bool gpu_check_bars(const struct dbb_image_layout *l, const uint8_t *base)
{
	static const unsigned eighths[] = { 5, 6, 7 };

	for (size_t i = 0; i < sizeof(eighths) / sizeof(eighths[0]); i++)
		if (!gpu_check_row(l, base, l->height * eighths[i] / 8))
			return false;
	return true;
}

/* Reads frame @b through the dma-buf's own mapping, inside the
 * DMA_BUF_IOCTL_SYNC brackets that make the device's writes visible. */
static int gpu_check_mapped(struct gpu_buffer *b, bool *pass)
{
	const struct dbb_image_layout *l = dbb_buffer_get_info(b->buf)->layout;
	int r;

	r = dbb_buffer_begin_cpu_access(b->buf, DBB_SYNC_READ);
	if (r == 0) {
		*pass = gpu_check_bars(l, b->addr);
		r = dbb_buffer_end_cpu_access(b->buf, DBB_SYNC_READ);
	}
	return r < 0 ? gpu_fail(-r, "DMA_BUF_IOCTL_SYNC") : 0;
}

/* The description must be a dma-buf image this program can read. */
static int gpu_check_info(const struct dbb_buffer_info *info, const char *name)
{
	const struct dbb_image_layout *l = info->layout;
	uint32_t planes = l && l->fourcc == DRM_FORMAT_NV12 ? 2 : 1;

	if (!info->is_dmabuf) {
		fprintf(stderr, "dmabuf-gpu-example: %s is not a dma-buf "
			"(backend %s)\n", name, info->backend);
		return -ENOTSUP;
	}
	if (!l || l->modifier != DRM_FORMAT_MOD_LINEAR ||
	    (l->fourcc != DRM_FORMAT_YUYV && l->fourcc != DRM_FORMAT_NV12) ||
	    l->n_planes != planes || l->width < 64 || l->height < 8) {
		fprintf(stderr, "dmabuf-gpu-example: %s is not a linear YUYV "
			"or NV12 image\n", name);
		return -ENOTSUP;
	}
	return 0;
}

/*
 * Hands @fd to vgem as a GPU driver would take it, and asks vgem to
 * export its object again: PRIME gives back the same dma-buf, so the
 * inode must be @ino.  *@handle is vgem's handle, closed by the caller.
 */
static int gpu_prime_import(struct gpu *g, int fd, ino_t ino, uint32_t *handle)
{
	struct stat st;
	int back, r;

	if (drmPrimeFDToHandle(g->drm, fd, handle) < 0)
		return gpu_fail(errno, "drmPrimeFDToHandle");
	if (drmPrimeHandleToFD(g->drm, *handle, DRM_CLOEXEC, &back) < 0)
		return gpu_fail(errno, "drmPrimeHandleToFD");
	r = fstat(back, &st) < 0 ? gpu_fail(errno, "fstat") : 0;
	close(back);
	if (r == 0 && st.st_ino != ino) {
		fprintf(stderr, "dmabuf-gpu-example: vgem exports inode %llu, "
			"not %llu\n", (unsigned long long)st.st_ino,
			(unsigned long long)ino);
		r = -EIO;
	}
	return r;
}

static void gpu_gem_close(struct gpu *g, uint32_t handle)
{
	struct drm_gem_close gc = { .handle = handle };

	if (handle && drmIoctl(g->drm, DRM_IOCTL_GEM_CLOSE, &gc) < 0)
		gpu_fail(errno, "DRM_IOCTL_GEM_CLOSE");
}

/*
 * Takes buffer @i of the pool into this GPU: checks its description,
 * PRIME-imports it into vgem (which holds it from then on, as a GPU
 * driver holds what it renders from) and maps it for the pattern checks.
 */
static int gpu_take_buffer(struct gpu *g, size_t i)
{
	struct gpu_buffer *b = &g->bufs[i];
	char what[32];
	struct stat st;
	int r;

	b->buf = dbb_pool_get_buffer(dbb_queue_get_pool(g->queue), i);
	snprintf(what, sizeof(what), "buffer %zu", i);
	if ((r = gpu_check_info(dbb_buffer_get_info(b->buf), what)) < 0)
		return r;
	if (fstat(dbb_buffer_get_fd(b->buf), &st) < 0)
		return gpu_fail(errno, "fstat");
	if ((r = gpu_prime_import(g, dbb_buffer_get_fd(b->buf), st.st_ino,
				  &b->handle)) < 0)
		return r;
	if ((r = dbb_buffer_map(b->buf, false, &b->addr)) < 0) {
		b->addr = NULL;
		return gpu_fail(-r, "mmap");
	}
	printf("buffer %zu dev %llu ino %llu vgem-handle %u\n", i,
	       (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	       b->handle);
	return 0;
}

static void gpu_drop_buffers(struct gpu *g)
{
	for (size_t i = 0; i < g->count; i++) {
		if (g->bufs[i].addr)
			dbb_buffer_unmap(g->bufs[i].buf, g->bufs[i].addr);
		gpu_gem_close(g, g->bufs[i].handle);
	}
}

/* Checks a received frame; a pattern that fails is counted, not fatal. */
static int gpu_check_frame(struct gpu *g, const struct dbb_frame *f)
{
	bool pass = false;
	int r;

	g->received++;
	if (f->seq <= g->last_seq)
		g->in_order = false;
	g->last_seq = f->seq;
	r = gpu_check_mapped(&g->bufs[f->index], &pass);
	printf("frame %llu buffer %u timestamp-ns %llu pattern %s\n",
	       (unsigned long long)f->seq, f->index,
	       (unsigned long long)f->timestamp_ns,
	       r < 0 ? "not checked" : pass ? "ok" : "FAIL");
	if (pass)
		g->passed++;
	return r;
}

static int gpu_release(struct gpu *g, uint32_t index)
{
	int r = dbb_queue_release(g->queue, index, -1);

	/* After the queue's end a release is moot. */
	return r < 0 && r != -EPIPE ? gpu_fail(-r, "release") : 0;
}

/*
 * Receives what is ready: every frame is checked and released at once,
 * or, with --slow-ms, held that long first and no other frame is taken
 * meanwhile (a GPU busy with it).  Returns -EPIPE once the queue ended
 * and every frame was received.
 */
static int gpu_receive(struct gpu *g)
{
	struct dbb_frame f = { .struct_size = sizeof(f) };
	int r;

	if (g->holding) {
		if (gpu_now_ms() < g->release_at_ms)
			return 0;
		g->holding = false;
		if ((r = gpu_release(g, g->held_index)) < 0)
			return r;
	}
	while ((r = dbb_queue_receive(g->queue, 0, &f)) == 0) {
		if (f.index >= g->count)	/* the library checks; so do we */
			return gpu_fail(EPROTO, "frame index");
		if ((r = gpu_check_frame(g, &f)) < 0)
			return r;
		if (g->opt.slow_ms) {
			g->holding = true;
			g->held_index = f.index;
			g->release_at_ms = gpu_now_ms() + g->opt.slow_ms;
			return 0;
		}
		if ((r = gpu_release(g, f.index)) < 0)
			return r;
	}
	return r == -EAGAIN ? 0 : r;
}

/* The event loop: the queue's fd, and the held frame's release time. */
static int gpu_stream(struct gpu *g)
{
	int64_t idle_limit = gpu_now_ms() + (int64_t)g->opt.timeout_s * 1000;
	int r;

	for (;;) {
		struct pollfd pfd = { .fd = dbb_queue_get_fd(g->queue), .events = POLLIN };
		int64_t now = gpu_now_ms(), wait = idle_limit - now;

		if (wait <= 0)
			return gpu_fail(ETIMEDOUT, "waiting for a frame");
		if (g->holding && g->release_at_ms - now < wait)
			wait = g->release_at_ms - now > 0 ? g->release_at_ms - now : 0;
		if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR)
			return gpu_fail(errno, "poll");
		r = dbb_queue_dispatch(g->queue);
		if (r == -EPIPE)	/* the camera is gone: nothing to hold for */
			g->release_at_ms = 0;
		if (r >= 0 || r == -EPIPE) {
			unsigned before = g->received;

			r = gpu_receive(g);
			if (g->received != before)
				idle_limit = gpu_now_ms() + (int64_t)g->opt.timeout_s * 1000;
		}
		fflush(stdout);
		if (r == -EPIPE)
			return 0;
		if (r < 0)
			return r == -EPROTO ? gpu_fail(EPROTO, "queue") : r;
	}
}

/* Attaches, takes the pool's buffers into vgem and checks every frame
 * until the camera ends the queue. */
static int gpu_run(struct gpu *g)
{
	struct dbb_queue_counters q;
	int r;

	if ((r = gpu_attach(g)) < 0)
		return r;
	g->count = dbb_pool_get_count(dbb_queue_get_pool(g->queue));
	for (size_t i = 0; i < g->count; i++)
		if ((r = gpu_take_buffer(g, i)) < 0)
			return r;
	fflush(stdout);
	r = gpu_stream(g);
	if (dbb_queue_get_counters(g->queue, &q) == 0)
		printf("counters posted %llu delivered %llu released %llu "
		       "dropped %llu fence-timeouts %llu\n",
		       (unsigned long long)q.posted, (unsigned long long)q.delivered,
		       (unsigned long long)q.released, (unsigned long long)q.dropped,
		       (unsigned long long)q.fence_timeouts);
	return r;
}

int main(int argc, char **argv)
{
	struct gpu g = { .drm = -1, .in_order = true };
	int r;

	r = gpu_parse_args(&g.opt, argc, argv);
	if (r != 0) {
		fputs(gpu_usage, r > 0 ? stdout : stderr);
		return r > 0 ? 0 : 2;
	}
	g.drm = gpu_open_drm(&g.opt);
	if (g.drm < 0)
		return 1;
	r = dbb_client_connect(g.opt.socket, "dmabuf-gpu-example", &g.client);
	if (r < 0)
		gpu_fail(-r, "connect");
	else
		r = gpu_run(&g);
	printf("received %u frames, %u passed, %s\n", g.received, g.passed,
	       g.in_order ? "in order" : "OUT OF ORDER");
	gpu_drop_buffers(&g);
	dbb_queue_destroy(g.queue);
	dbb_client_destroy(g.client);
	close(g.drm);
	return r == 0 && g.received > 0 && g.passed == g.received && g.in_order ? 0 : 1;
}
