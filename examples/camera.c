/* SPDX-License-Identifier: MIT */
/*
 * dmabuf-camera-example: streams frames from vivid (the kernel's virtual
 * video test driver) to consumers through a broker frame queue: the
 * producer side of a camera -> GPU pipeline.  See examples/README.md.
 *
 * The broker allocates a pool of N dma-bufs by format and chooses their
 * layout (stride, plane offsets); the camera tells V4L2 to use it
 * (bytesperline, sizeimage) and queues the fds with V4L2_MEMORY_DMABUF, so
 * the driver writes into the pool's buffers.  Each captured frame is
 * posted to the queue: a small message to every consumer, never a byte of
 * the picture.  A buffer goes back to V4L2 only when the queue gives it
 * back (dbb_queue_acquire()): once every consumer released it, or, under
 * DROP_OLDEST, when the camera needs it for a newer frame.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <linux/videodev2.h>

#include "dmabuf-broker.h"
#include "vivid.h"

/* A frame takes 1/30 s on vivid; under QEMU's emulator many times that.
 * Also the bound on waiting for consumers to give the last frames back. */
#define CAMERA_STALL_TIMEOUT_MS 20000

struct camera_format {
	const char *name;
	uint32_t drm_fourcc;
	uint32_t v4l2_fourcc;
};

/* The formats whose V4L2 single-planar layout the broker's linear layout
 * matches (planes back to back, chroma stride derived from luma). */
static const struct camera_format camera_formats[] = {
	{ "YUYV", DRM_FORMAT_YUYV, V4L2_PIX_FMT_YUYV },
	{ "NV12", DRM_FORMAT_NV12, V4L2_PIX_FMT_NV12 },
};

struct camera_policy {
	const char *name;
	enum dbb_queue_policy policy;
};

static const struct camera_policy camera_policies[] = {
	{ "hold", DBB_QUEUE_HOLD },
	{ "drop-oldest", DBB_QUEUE_DROP_OLDEST },
	{ "latest", DBB_QUEUE_LATEST },
};

struct camera_options {
	const char *socket;
	const char *device;
	const char *pool_name;
	const char *backend;
	const struct camera_format *format;
	const struct camera_policy *policy;
	uint32_t width;
	uint32_t height;
	unsigned buffers;
	unsigned frames;
	unsigned consumers;	/* to wait for before streaming */
	unsigned fps;
	unsigned max_in_flight;
	long grant_uid;		/* -1: none */
};

struct camera {
	struct camera_options opt;
	struct dbb_client *client;
	int video;
	struct dbb_pool *pool;
	struct dbb_queue *queue;
	unsigned in_driver;	/* buffers queued to V4L2, not dequeued yet */
	unsigned posted;	/* frames posted to the queue */
	bool unavailable;	/* no vivid, or not the format: exit 69 */
};

static const char camera_usage[] =
	"Usage: dmabuf-camera-example [OPTIONS]\n"
	"\n"
	"Allocates a pool of frames from the dma-buf broker, captures vivid's\n"
	"test pattern into them with V4L2_MEMORY_DMABUF and streams them to the\n"
	"consumers of the pool's frame queue; then waits for end of input on\n"
	"stdin and exits, which ends the queue and frees the pool.\n"
	"\n"
	"  -s, --socket PATH     broker socket ($DMABUF_BROKER_SOCKET, else the default)\n"
	"  -f, --format FMT      YUYV (default) or NV12\n"
	"  -S, --size WxH        frame size (default 640x480)\n"
	"  -r, --fps N           frames a second to ask for (default 30)\n"
	"  -n, --buffers N       buffers in the pool (default 4, at most 32)\n"
	"  -c, --count M         frames to capture (default 300)\n"
	"  -p, --pool NAME       the pool's name (default camera)\n"
	"  -P, --policy POLICY   hold (default), drop-oldest or latest\n"
	"  -m, --max-in-flight K frames a consumer may hold (default: N)\n"
	"  -k, --consumers K     consumers to wait for before capturing (default 1)\n"
	"  -b, --backend NAME    broker backend (default: the broker's choice)\n"
	"  -d, --device PATH     V4L2 node (default: the first vivid capture node)\n"
	"  -g, --grant-uid UID   let UID attach to the queue, read-write\n"
	"  -h, --help\n"
	"\n"
	"Exit status: 0 captured, 1 failed, 2 bad usage, 69 (EX_UNAVAILABLE)\n"
	"vivid or the format is not available.\n";

static int camera_fail(int err, const char *what)
{
	fprintf(stderr, "dmabuf-camera-example: %s: %s\n", what, strerror(err));
	return -err;
}

static int camera_fail_broker(struct camera *c, int err, const char *what)
{
	const char *why = dbb_client_last_error(c->client);

	fprintf(stderr, "dmabuf-camera-example: %s: %s%s%s\n", what,
		strerror(-err), *why ? ": " : "", why);
	return err;
}

static bool camera_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && end != s && !*end && *s != '-' && *out <= max;
}

static const struct camera_format *camera_format_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(camera_formats) / sizeof(camera_formats[0]); i++)
		if (!strcasecmp(camera_formats[i].name, name))
			return &camera_formats[i];
	return NULL;
}

static const struct camera_policy *camera_policy_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(camera_policies) / sizeof(camera_policies[0]); i++)
		if (!strcmp(camera_policies[i].name, name))
			return &camera_policies[i];
	return NULL;
}

static bool camera_parse_size(const char *s, uint32_t *w, uint32_t *h)
{
	unsigned wv, hv;
	char tail;

	if (sscanf(s, "%ux%u%c", &wv, &hv, &tail) != 2 || !wv || !hv ||
	    wv > 16384 || hv > 16384)
		return false;
	*w = wv;
	*h = hv;
	return true;
}

/* One option; false on a bad value. */
static bool camera_parse_opt(struct camera_options *o, int c, const char *arg)
{
	unsigned long v;

	switch (c) {
	case 's': o->socket = arg; return true;
	case 'd': o->device = arg; return true;
	case 'p': o->pool_name = arg; return true;
	case 'b': o->backend = arg; return true;
	case 'f': return (o->format = camera_format_lookup(arg)) != NULL;
	case 'P': return (o->policy = camera_policy_lookup(arg)) != NULL;
	case 'S': return camera_parse_size(arg, &o->width, &o->height);
	case 'n':
		if (!camera_parse_uint(arg, DBB_POOL_MAX_BUFFERS, &v) || !v)
			return false;
		o->buffers = (unsigned)v;
		return true;
	case 'm':
		if (!camera_parse_uint(arg, DBB_POOL_MAX_BUFFERS, &v))
			return false;
		o->max_in_flight = (unsigned)v;
		return true;
	case 'k':
		if (!camera_parse_uint(arg, DBB_QUEUE_MAX_CONSUMERS, &v) || !v)
			return false;
		o->consumers = (unsigned)v;
		return true;
	case 'r':
		if (!camera_parse_uint(arg, 1000, &v) || !v)
			return false;
		o->fps = (unsigned)v;
		return true;
	case 'c':
		if (!camera_parse_uint(arg, 1000000, &v) || !v)
			return false;
		o->frames = (unsigned)v;
		return true;
	case 'g':
		if (!camera_parse_uint(arg, UINT32_MAX - 1, &v))
			return false;
		o->grant_uid = (long)v;
		return true;
	default:
		return false;
	}
}

/* Returns 0, 1 for --help, -EINVAL for bad usage. */
static int camera_parse_args(struct camera_options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 'S' },
		{ "fps", required_argument, NULL, 'r' },
		{ "buffers", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "pool", required_argument, NULL, 'p' },
		{ "policy", required_argument, NULL, 'P' },
		{ "max-in-flight", required_argument, NULL, 'm' },
		{ "consumers", required_argument, NULL, 'k' },
		{ "backend", required_argument, NULL, 'b' },
		{ "device", required_argument, NULL, 'd' },
		{ "grant-uid", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct camera_options){
		.pool_name = "camera", .format = &camera_formats[0],
		.policy = &camera_policies[0], .width = 640, .height = 480,
		.buffers = 4, .frames = 300, .consumers = 1, .fps = 30,
		.grant_uid = -1,
	};
	while ((c = getopt_long(argc, argv, "s:f:S:r:n:c:p:P:m:k:b:d:g:h", longopts,
				NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (!camera_parse_opt(o, c, optarg)) {
			if (c != '?')
				fprintf(stderr, "dmabuf-camera-example: bad value "
					"for -%c: %s\n", c, optarg);
			return -EINVAL;
		}
	}
	return optind < argc ? -EINVAL : 0;
}

/* V4L2's single-planar formats put the planes back to back, every one
 * with a stride derived from bytesperline: the broker's layout must be
 * exactly that, or the driver would write beside it. */
static int camera_check_layout(const struct camera *c,
			       const struct dbb_buffer_info *info)
{
	const struct dbb_image_layout *l = info->layout;
	bool fits = l && l->fourcc == c->opt.format->drm_fourcc &&
		    l->modifier == DRM_FORMAT_MOD_LINEAR &&
		    l->width == c->opt.width && l->height == c->opt.height &&
		    l->planes[0].offset == 0;

	if (!info->is_dmabuf) {
		fprintf(stderr, "dmabuf-camera-example: backend %s gave a "
			"buffer that is not a dma-buf\n", info->backend);
		return -ENOTSUP;
	}
	if (fits && l->fourcc == DRM_FORMAT_NV12)
		fits = l->n_planes == 2 && l->planes[1].stride == l->planes[0].stride &&
		       l->planes[1].offset == l->planes[0].stride * l->height;
	else if (fits)
		fits = l->n_planes == 1;
	if (!fits) {
		fprintf(stderr, "dmabuf-camera-example: the broker's layout "
			"does not match V4L2's single-planar %s\n",
			c->opt.format->name);
		return -EINVAL;
	}
	return 0;
}

/* Every buffer must be a dma-buf in V4L2's layout, all with one stride. */
static int camera_check_pool(struct camera *c)
{
	const struct dbb_buffer_info *first =
		dbb_buffer_get_info(dbb_pool_get_buffer(c->pool, 0));
	int r;

	for (unsigned i = 0; i < c->opt.buffers; i++) {
		const struct dbb_buffer_info *info =
			dbb_buffer_get_info(dbb_pool_get_buffer(c->pool, i));

		if ((r = camera_check_layout(c, info)) < 0)
			return r;
		if (info->layout->planes[0].stride != first->layout->planes[0].stride) {
			fprintf(stderr, "dmabuf-camera-example: buffer %u has "
				"another stride than buffer 0\n", i);
			return -EINVAL;
		}
	}
	return 0;
}

/* The pool: --buffers frames of the format, laid out by the broker. */
static int camera_alloc_pool(struct camera *c)
{
	struct dbb_pool_params p = {
		.struct_size = sizeof(p),
		.count = c->opt.buffers,
		.buffer = {
			.struct_size = sizeof(p.buffer),
			.name = c->opt.pool_name,
			.lifetime = DBB_LIFETIME_CLIENT,
			.backend = c->opt.backend,
			.fourcc = c->opt.format->drm_fourcc,
			.width = c->opt.width,
			.height = c->opt.height,
		},
	};
	const struct dbb_pool_info *pool;
	int r;

	r = dbb_pool_alloc(c->client, &p, &c->pool);
	if (r < 0)
		return camera_fail_broker(c, r, "pool alloc");
	if ((r = camera_check_pool(c)) < 0)
		return r;
	pool = dbb_pool_get_info(c->pool);
	if (c->opt.grant_uid >= 0) {
		r = dbb_grant(c->client, pool->id, DBB_GRANT_UID,
			      (uint32_t)c->opt.grant_uid, DBB_ACCESS_READ_WRITE);
		if (r < 0)
			return camera_fail_broker(c, r, "grant");
	}
	printf("pool %llu name %s backend %s count %u\n",
	       (unsigned long long)pool->id, pool->name, pool->backend, pool->count);
	for (unsigned i = 0; i < c->opt.buffers; i++) {
		struct dbb_buffer *b = dbb_pool_get_buffer(c->pool, i);
		const struct dbb_buffer_info *info = dbb_buffer_get_info(b);
		struct stat st;

		if (fstat(dbb_buffer_get_fd(b), &st) < 0)
			return camera_fail(errno, "fstat");
		printf("buffer %u id %llu size %llu stride %u dev %llu ino %llu\n",
		       i, (unsigned long long)info->id,
		       (unsigned long long)info->size, info->layout->planes[0].stride,
		       (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	}
	return 0;
}

static int camera_create_queue(struct camera *c)
{
	struct dbb_queue_params p = {
		.struct_size = sizeof(p),
		.policy = c->opt.policy->policy,
		.max_in_flight = c->opt.max_in_flight,
	};
	int r;

	r = dbb_queue_create(c->client, c->pool, &p, &c->queue);
	if (r < 0)
		return camera_fail_broker(c, r, "queue create");
	printf("queue policy %s\n", c->opt.policy->name);
	fflush(stdout);
	return 0;
}

/* Tells the driver the broker's layout.  vivid honours a given
 * bytesperline; a driver that changes any of it cannot use our frames. */
static int camera_set_format(struct camera *c)
{
	const struct dbb_buffer_info *info =
		dbb_buffer_get_info(dbb_pool_get_buffer(c->pool, 0));
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_pix_format *pix = &f.fmt.pix;

	pix->width = c->opt.width;
	pix->height = c->opt.height;
	pix->pixelformat = c->opt.format->v4l2_fourcc;
	pix->field = V4L2_FIELD_NONE;
	pix->bytesperline = info->layout->planes[0].stride;
	pix->sizeimage = (uint32_t)info->size;
	if (ioctl(c->video, VIDIOC_S_FMT, &f) < 0)
		return camera_fail(errno, "VIDIOC_S_FMT");
	printf("format %s %ux%u bytesperline %u sizeimage %u\n",
	       c->opt.format->name, pix->width, pix->height, pix->bytesperline,
	       pix->sizeimage);
	if (pix->width != c->opt.width || pix->height != c->opt.height ||
	    pix->pixelformat != c->opt.format->v4l2_fourcc ||
	    pix->bytesperline != info->layout->planes[0].stride ||
	    pix->sizeimage > info->size) {
		fprintf(stderr, "dmabuf-camera-example: the driver changed the "
			"format to one the frames do not fit\n");
		return -EINVAL;
	}
	return 0;
}

/* Asks for --fps frames a second; the driver picks the nearest interval
 * it has.  (vivid's webcam starts at 5 a second.) */
static int camera_set_rate(struct camera *c)
{
	struct v4l2_streamparm p = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_fract *t = &p.parm.capture.timeperframe;

	*t = (struct v4l2_fract){ .numerator = 1, .denominator = c->opt.fps };
	if (ioctl(c->video, VIDIOC_S_PARM, &p) < 0)
		return camera_fail(errno, "VIDIOC_S_PARM");
	printf("interval %u/%u s\n", t->numerator, t->denominator);
	return 0;
}

/* Hands buffer @i to the driver to fill. */
static int camera_queue(struct camera *c, uint32_t i)
{
	struct dbb_buffer *buf = dbb_pool_get_buffer(c->pool, i);
	struct v4l2_buffer b = {
		.index = i,
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
		.length = (uint32_t)dbb_buffer_get_info(buf)->size,
	};

	b.m.fd = dbb_buffer_get_fd(buf);
	if (ioctl(c->video, VIDIOC_QBUF, &b) < 0)
		return camera_fail(errno, "VIDIOC_QBUF");
	c->in_driver++;
	return 0;
}

static int camera_request_buffers(struct camera *c, unsigned count)
{
	struct v4l2_requestbuffers req = {
		.count = count,
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};

	if (ioctl(c->video, VIDIOC_REQBUFS, &req) < 0)
		return camera_fail(errno, "VIDIOC_REQBUFS");
	if (req.count != count) {
		fprintf(stderr, "dmabuf-camera-example: the driver wants %u "
			"buffers, not %u\n", req.count, count);
		return -EINVAL;
	}
	return 0;
}

/*
 * Keeps the driver supplied: takes every buffer the queue gives back and
 * queues it to V4L2, as long as frames are still wanted (never more
 * buffers in the driver than frames left to capture, so that the last
 * frame leaves none behind).  Under DROP_OLDEST a buffer the queue has no
 * free one for is the oldest frame a consumer has not taken yet.
 */
static int camera_refill(struct camera *c)
{
	while (c->in_driver < c->opt.frames - c->posted) {
		uint32_t index;
		int r;

		r = dbb_queue_acquire(c->queue, 0, &index);
		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return camera_fail_broker(c, r, "queue acquire");
		if ((r = camera_queue(c, index)) < 0)
			return r;
	}
	return 0;
}

/*
 * Waits for the queue's fd (and the video node's, when @video) until
 * something is ready, and handles the queue's part.  Returns 1 when the
 * video node is readable, 0 otherwise, negative on failure; -ETIMEDOUT
 * when nothing came for CAMERA_STALL_TIMEOUT_MS.
 */
static int camera_wait(struct camera *c, bool video)
{
	struct pollfd pfd[2] = {
		{ .fd = dbb_queue_get_fd(c->queue), .events = POLLIN },
		{ .fd = c->video, .events = POLLIN },
	};
	int r;

	r = poll(pfd, video ? 2 : 1, CAMERA_STALL_TIMEOUT_MS);
	if (r < 0)
		return errno == EINTR ? 0 : camera_fail(errno, "poll");
	if (r == 0)
		return camera_fail(ETIMEDOUT, video ? "waiting for a frame" :
				   "waiting for the consumers");
	if (pfd[0].revents) {
		r = dbb_queue_dispatch(c->queue);
		if (r < 0)
			return camera_fail_broker(c, r, "queue");
	}
	return video && pfd[1].revents;
}

/* Dequeues a filled buffer and posts it as the next frame, with V4L2's
 * capture time; the camera numbers frames 1, 2, ... (V4L2's own sequence
 * skips the frames the driver had no buffer for). */
static int camera_post(struct camera *c)
{
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct dbb_frame f = { .struct_size = sizeof(f), .fence_fd = -1 };
	int r;

	if (ioctl(c->video, VIDIOC_DQBUF, &b) < 0)
		return errno == EAGAIN ? 0 : camera_fail(errno, "VIDIOC_DQBUF");
	c->in_driver--;
	if (b.index >= c->opt.buffers || (b.flags & V4L2_BUF_FLAG_ERROR)) {
		fprintf(stderr, "dmabuf-camera-example: bad frame (index %u, "
			"flags 0x%x)\n", b.index, b.flags);
		return -EIO;
	}
	f.index = b.index;
	f.seq = c->posted + 1;
	f.timestamp_ns = (uint64_t)b.timestamp.tv_sec * 1000000000u +
			 (uint64_t)b.timestamp.tv_usec * 1000u;
	r = dbb_queue_post(c->queue, &f);
	if (r < 0)
		return camera_fail_broker(c, r, "queue post");
	c->posted++;
	printf("frame %llu buffer %u v4l2-seq %u bytesused %u\n",
	       (unsigned long long)f.seq, b.index, b.sequence, b.bytesused);
	return 0;
}

/* Waits until --consumers consumers are attached. */
static int camera_wait_consumers(struct camera *c)
{
	int r;

	while (dbb_queue_consumer_count(c->queue) < c->opt.consumers)
		if ((r = camera_wait(c, false)) < 0)
			return r;
	return 0;
}

/* The queue's counters: whether every frame posted was delivered to or
 * dropped for each consumer, and every delivered one released. */
static int camera_drained(struct camera *c, bool *drained)
{
	struct dbb_queue_counters q;
	int r;

	r = dbb_queue_get_counters(c->queue, &q);
	if (r < 0)
		return camera_fail_broker(c, r, "queue counters");
	*drained = q.in_flight == 0 &&
		   q.delivered + q.dropped >= q.posted * c->opt.consumers;
	return 0;
}

/* After the last frame: waits for the consumers to be done with every
 * frame, so that the counters tell each frame's fate. */
static int camera_drain(struct camera *c)
{
	bool drained;
	int r;

	while ((r = camera_drained(c, &drained)) == 0 && !drained)
		if ((r = camera_wait(c, false)) < 0)
			return r;
	return r;
}

static void camera_print_counters(const char *who, const struct dbb_queue_counters *q)
{
	printf("%s posted %llu delivered %llu released %llu dropped %llu "
	       "in-flight %llu fence-timeouts %llu latency-avg-us %llu "
	       "latency-max-us %llu\n", who,
	       (unsigned long long)q->posted, (unsigned long long)q->delivered,
	       (unsigned long long)q->released, (unsigned long long)q->dropped,
	       (unsigned long long)q->in_flight,
	       (unsigned long long)q->fence_timeouts,
	       (unsigned long long)q->latency_avg_usec,
	       (unsigned long long)q->latency_max_usec);
}

/* The counters as the camera keeps them and as the broker reads them from
 * the queue's shared page (dmabuf-ctl shows the latter). */
static int camera_report(struct camera *c)
{
	struct dbb_pool_info *info = NULL;
	struct dbb_queue_counters q;
	int r;

	if ((r = dbb_queue_get_counters(c->queue, &q)) < 0)
		return camera_fail_broker(c, r, "queue counters");
	camera_print_counters("counters", &q);
	r = dbb_pool_info_by_id(c->client, dbb_pool_get_id(c->pool), &info);
	if (r < 0)
		return camera_fail_broker(c, r, "pool info");
	if (info->queue)
		camera_print_counters("broker-counters", &info->queue->counters);
	dbb_pool_info_free(info);
	return 0;
}

/* Captures and posts --count frames, then waits for the consumers. */
static int camera_stream(struct camera *c)
{
	enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	int r;

	if ((r = camera_wait_consumers(c)) < 0 || (r = camera_refill(c)) < 0)
		return r;
	if (ioctl(c->video, VIDIOC_STREAMON, &type) < 0)
		return camera_fail(errno, "VIDIOC_STREAMON");
	while (r >= 0 && c->posted < c->opt.frames) {
		r = camera_wait(c, true);
		if (r > 0)
			r = camera_post(c);
		if (r >= 0)
			r = camera_refill(c);
		fflush(stdout);
	}
	if (ioctl(c->video, VIDIOC_STREAMOFF, &type) < 0 && r >= 0)
		r = camera_fail(errno, "VIDIOC_STREAMOFF");
	if (r >= 0)
		r = camera_drain(c);
	return r < 0 ? r : camera_report(c);
}

static int camera_capture(struct camera *c)
{
	int r;

	if ((r = vivid_select_input(c->video)) < 0 ||
	    (r = vivid_select_colorbar(c->video)) < 0)
		return r;
	if ((r = vivid_check_offered(c->video, c->opt.format->v4l2_fourcc,
				     c->opt.format->name)) < 0) {
		c->unavailable = true;
		return r;
	}
	if ((r = camera_alloc_pool(c)) < 0 ||
	    (r = camera_set_format(c)) < 0 ||
	    (r = camera_set_rate(c)) < 0 ||
	    (r = camera_request_buffers(c, c->opt.buffers)) < 0)
		return r;
	if ((r = camera_create_queue(c)) == 0)
		r = camera_stream(c);
	/* Freeing the driver's buffers detaches it from the pool's dma-bufs. */
	camera_request_buffers(c, 0);
	return r;
}

/* The pool and the queue live as long as this process: keep them until
 * whoever started us closes our stdin. */
static void camera_wait_for_eof(void)
{
	char buf[256];

	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0 || errno == EINTR)
		errno = 0;
}

int main(int argc, char **argv)
{
	struct camera c = { .video = -1 };
	int r;

	r = camera_parse_args(&c.opt, argc, argv);
	if (r != 0) {
		fputs(camera_usage, r > 0 ? stdout : stderr);
		return r > 0 ? 0 : 2;
	}
	r = dbb_client_connect(c.opt.socket, "dmabuf-camera-example", &c.client);
	if (r < 0) {
		fprintf(stderr, "dmabuf-camera-example: connect: %s\n", strerror(-r));
		return 1;
	}
	r = vivid_open(c.opt.device);
	c.unavailable = r == -ENODEV;
	if (r >= 0) {
		c.video = r;
		r = camera_capture(&c);
		close(c.video);
	}
	if (r == 0) {
		printf("done %u frames\n", c.opt.frames);
		fflush(stdout);
		camera_wait_for_eof();
	}
	dbb_queue_destroy(c.queue);
	dbb_pool_free(c.pool);
	dbb_client_destroy(c.client);
	if (r < 0)
		return c.unavailable ? EX_UNAVAILABLE : 1;
	return 0;
}
