/* SPDX-License-Identifier: MIT */
/*
 * dmabuf-camera-example: captures frames from vivid (the kernel's virtual
 * video test driver) straight into dma-bufs the broker allocated, and names
 * each frame in the broker once it holds a picture.  See examples/README.md.
 *
 * The broker chooses the layout (stride, plane offsets); the camera tells
 * V4L2 to use it (bytesperline, sizeimage) and queues the fds with
 * V4L2_MEMORY_DMABUF, so the driver writes into the broker's buffers and no
 * byte is ever copied.  Buffers are allocated unnamed and published as
 * <prefix>/frame<i> when buffer i is first filled: a consumer that sees the
 * name knows the frame is complete.
 */
#include <errno.h>
#include <fcntl.h>
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

#define CAMERA_MAX_BUFFERS 32
/* A frame takes 1/30 s on vivid; under QEMU's emulator many times that. */
#define CAMERA_DQBUF_TIMEOUT_MS 20000

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

struct camera_options {
	const char *socket;
	const char *device;
	const char *prefix;
	const char *backend;
	const struct camera_format *format;
	uint32_t width;
	uint32_t height;
	unsigned buffers;
	unsigned frames;
	long grant_uid;		/* -1: none */
};

struct camera {
	struct camera_options opt;
	struct dbb_client *client;
	int video;
	struct dbb_buffer *bufs[CAMERA_MAX_BUFFERS];
	bool named[CAMERA_MAX_BUFFERS];
	bool unavailable;	/* no vivid, or not the format: exit 69 */
};

static const char camera_usage[] =
	"Usage: dmabuf-camera-example [OPTIONS]\n"
	"\n"
	"Allocates frames from the dma-buf broker, captures vivid's test pattern\n"
	"into them with V4L2_MEMORY_DMABUF and names each one PREFIX/frameI\n"
	"once filled; then waits for end of input on stdin and exits, which\n"
	"frees the frames.\n"
	"\n"
	"  -s, --socket PATH     broker socket ($DMABUF_BROKER_SOCKET, else the default)\n"
	"  -f, --format FMT      YUYV (default) or NV12\n"
	"  -S, --size WxH        frame size (default 640x480)\n"
	"  -n, --buffers N       frames to allocate (default 4, at most 32)\n"
	"  -c, --count M         frames to capture (default N)\n"
	"  -p, --prefix NAME     name prefix (default camera)\n"
	"  -b, --backend NAME    broker backend (default: the broker's choice)\n"
	"  -d, --device PATH     V4L2 node (default: the first vivid capture node)\n"
	"  -g, --grant-uid UID   let UID import the frames read-write\n"
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
	case 'p': o->prefix = arg; return true;
	case 'b': o->backend = arg; return true;
	case 'f': return (o->format = camera_format_lookup(arg)) != NULL;
	case 'S': return camera_parse_size(arg, &o->width, &o->height);
	case 'n':
		if (!camera_parse_uint(arg, CAMERA_MAX_BUFFERS, &v) || !v)
			return false;
		o->buffers = (unsigned)v;
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
		{ "buffers", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "backend", required_argument, NULL, 'b' },
		{ "device", required_argument, NULL, 'd' },
		{ "grant-uid", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct camera_options){
		.prefix = "camera", .format = &camera_formats[0],
		.width = 640, .height = 480, .buffers = 4, .grant_uid = -1,
	};
	while ((c = getopt_long(argc, argv, "s:f:S:n:c:p:b:d:g:h", longopts,
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
	if (optind < argc)
		return -EINVAL;
	if (!o->frames)
		o->frames = o->buffers;
	return 0;
}

/* A single-planar streaming capture node of vivid (not its touch node). */
static bool camera_is_vivid_capture(int fd)
{
	struct v4l2_capability cap = { 0 };
	uint32_t caps;

	if (ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0 ||
	    strcmp((const char *)cap.driver, "vivid"))
		return false;
	caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps :
							cap.capabilities;
	return (caps & V4L2_CAP_VIDEO_CAPTURE) && (caps & V4L2_CAP_STREAMING) &&
	       !(caps & V4L2_CAP_TOUCH);
}

/* Opens --device, or the first vivid capture node.  -ENODEV: none. */
static int camera_open_video(const struct camera_options *o)
{
	char path[32];

	if (o->device) {
		int fd = open(o->device, O_RDWR | O_CLOEXEC);

		if (fd < 0)
			return camera_fail(errno, o->device);
		return fd;
	}
	for (int i = 0; i < 64; i++) {
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (camera_is_vivid_capture(fd)) {
			printf("device %s\n", path);
			return fd;
		}
		close(fd);
	}
	fprintf(stderr, "dmabuf-camera-example: no vivid capture node in "
		"/dev/video* (modprobe vivid)\n");
	return -ENODEV;
}

/* vivid's first input is a webcam offering 640x480 among its sizes; its
 * other inputs (TV, S-Video, HDMI) tie the size to a video standard or to
 * DV timings. */
static int camera_select_input(int video)
{
	struct v4l2_input in = { 0 };

	for (in.index = 0; ioctl(video, VIDIOC_ENUMINPUT, &in) == 0; in.index++) {
		int index = (int)in.index;

		if (in.type != V4L2_INPUT_TYPE_CAMERA)
			continue;
		if (ioctl(video, VIDIOC_S_INPUT, &index) < 0)
			return camera_fail(errno, "VIDIOC_S_INPUT");
		printf("input %d %s\n", index, (const char *)in.name);
		return 0;
	}
	fprintf(stderr, "dmabuf-camera-example: the device has no camera input\n");
	return -ENODEV;
}

/* The id of the menu control called @name, or 0. */
static uint32_t camera_find_menu_ctrl(int video, const char *name)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (ioctl(video, VIDIOC_QUERYCTRL, &q) == 0) {
		if (q.type == V4L2_CTRL_TYPE_MENU &&
		    !strcmp((const char *)q.name, name))
			return q.id;
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return 0;
}

/*
 * 75% colour bars are vivid's default pattern; set it anyway, since the
 * control outlives whoever changed it last.  vivid's "Test Pattern" is a
 * private control, not V4L2_CID_TEST_PATTERN: look it up by name.
 */
static int camera_select_pattern(int video)
{
	struct v4l2_querymenu m = { 0 };
	struct v4l2_control ctrl = { 0 };

	m.id = ctrl.id = camera_find_menu_ctrl(video, "Test Pattern");
	for (m.index = 0; m.id && m.index < 64; m.index++) {
		if (ioctl(video, VIDIOC_QUERYMENU, &m) < 0 ||
		    strcmp((const char *)m.name, "75% Colorbar"))
			continue;
		ctrl.value = (int)m.index;
		if (ioctl(video, VIDIOC_S_CTRL, &ctrl) < 0)
			return camera_fail(errno, "VIDIOC_S_CTRL test pattern");
		return 0;
	}
	fprintf(stderr, "dmabuf-camera-example: no \"75%% Colorbar\" test "
		"pattern on this device\n");
	return -ENODEV;
}

/* -ENOTSUP when the device does not offer @fourcc. */
static int camera_check_offered(int video, const struct camera_format *f)
{
	struct v4l2_fmtdesc d = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };

	for (d.index = 0; ioctl(video, VIDIOC_ENUM_FMT, &d) == 0; d.index++)
		if (d.pixelformat == f->v4l2_fourcc)
			return 0;
	fprintf(stderr, "dmabuf-camera-example: the device does not offer %s\n",
		f->name);
	return -ENOTSUP;
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

static int camera_alloc_one(struct camera *c, unsigned i)
{
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
		.lifetime = DBB_LIFETIME_CLIENT,
		.backend = c->opt.backend,
		.fourcc = c->opt.format->drm_fourcc,
		.width = c->opt.width,
		.height = c->opt.height,
	};
	const struct dbb_buffer_info *info;
	struct stat st;
	int r;

	r = dbb_alloc(c->client, &p, &c->bufs[i]);
	if (r < 0)
		return camera_fail_broker(c, r, "alloc");
	info = dbb_buffer_get_info(c->bufs[i]);
	r = camera_check_layout(c, info);
	if (r < 0)
		return r;
	/* One format for all: every frame must have the first one's stride. */
	if (info->layout->planes[0].stride !=
	    dbb_buffer_get_info(c->bufs[0])->layout->planes[0].stride) {
		fprintf(stderr, "dmabuf-camera-example: frame %u has another "
			"stride than frame 0\n", i);
		return -EINVAL;
	}
	if (c->opt.grant_uid >= 0) {
		r = dbb_grant(c->client, info->id, DBB_GRANT_UID,
			      (uint32_t)c->opt.grant_uid, DBB_ACCESS_READ_WRITE);
		if (r < 0)
			return camera_fail_broker(c, r, "grant");
	}
	if (fstat(dbb_buffer_get_fd(c->bufs[i]), &st) < 0)
		return camera_fail(errno, "fstat");
	printf("buffer %u id %llu backend %s size %llu stride %u ino %llu\n", i,
	       (unsigned long long)info->id, info->backend,
	       (unsigned long long)info->size, info->layout->planes[0].stride,
	       (unsigned long long)st.st_ino);
	return 0;
}

/* Tells the driver the broker's layout.  vivid honours a given
 * bytesperline; a driver that changes any of it cannot use our frames. */
static int camera_set_format(struct camera *c)
{
	const struct dbb_buffer_info *info = dbb_buffer_get_info(c->bufs[0]);
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

static int camera_queue(struct camera *c, unsigned i)
{
	const struct dbb_buffer_info *info = dbb_buffer_get_info(c->bufs[i]);
	struct v4l2_buffer b = {
		.index = i,
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
		.length = (uint32_t)info->size,
	};

	b.m.fd = dbb_buffer_get_fd(c->bufs[i]);
	if (ioctl(c->video, VIDIOC_QBUF, &b) < 0)
		return camera_fail(errno, "VIDIOC_QBUF");
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

/* Publishing the name is the signal that buffer @i holds a frame. */
static int camera_name_frame(struct camera *c, unsigned i)
{
	const struct dbb_buffer_info *info = dbb_buffer_get_info(c->bufs[i]);
	char name[DBB_MAX_NAME + 1];
	int r;

	if (c->named[i])
		return 0;
	snprintf(name, sizeof(name), "%s/frame%u", c->opt.prefix, i);
	r = dbb_set_name(c->client, info->id, name);
	if (r < 0)
		return camera_fail_broker(c, r, name);
	c->named[i] = true;
	return 0;
}

static int camera_dequeue(struct camera *c, struct v4l2_buffer *b)
{
	struct pollfd pfd = { .fd = c->video, .events = POLLIN };
	int r;

	*b = (struct v4l2_buffer){
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	r = poll(&pfd, 1, CAMERA_DQBUF_TIMEOUT_MS);
	if (r < 0)
		return camera_fail(errno, "poll");
	if (r == 0)
		return camera_fail(ETIMEDOUT, "waiting for a frame");
	if (ioctl(c->video, VIDIOC_DQBUF, b) < 0)
		return camera_fail(errno, "VIDIOC_DQBUF");
	if (b->index >= c->opt.buffers || (b->flags & V4L2_BUF_FLAG_ERROR)) {
		fprintf(stderr, "dmabuf-camera-example: bad frame (index %u, "
			"flags 0x%x)\n", b->index, b->flags);
		return -EIO;
	}
	return 0;
}

/* Captures --count frames, buffers used round robin: a buffer goes back
 * to the driver only while frames are still wanted. */
static int camera_stream(struct camera *c)
{
	enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	unsigned queued = 0, k;
	int r = 0;

	for (; queued < c->opt.buffers && queued < c->opt.frames; queued++)
		if ((r = camera_queue(c, queued)) < 0)
			return r;
	if (ioctl(c->video, VIDIOC_STREAMON, &type) < 0)
		return camera_fail(errno, "VIDIOC_STREAMON");
	for (k = 0; k < c->opt.frames && r == 0; k++) {
		struct v4l2_buffer b;

		if ((r = camera_dequeue(c, &b)) < 0 ||
		    (r = camera_name_frame(c, b.index)) < 0)
			break;
		printf("frame %u buffer %u seq %u bytesused %u name %s/frame%u\n",
		       k, b.index, b.sequence, b.bytesused, c->opt.prefix, b.index);
		fflush(stdout);
		if (queued < c->opt.frames) {
			r = camera_queue(c, b.index);
			queued++;
		}
	}
	if (ioctl(c->video, VIDIOC_STREAMOFF, &type) < 0 && r == 0)
		r = camera_fail(errno, "VIDIOC_STREAMOFF");
	return r;
}

static int camera_capture(struct camera *c)
{
	int r;

	if ((r = camera_select_input(c->video)) < 0 ||
	    (r = camera_select_pattern(c->video)) < 0)
		return r;
	if ((r = camera_check_offered(c->video, c->opt.format)) < 0) {
		c->unavailable = true;
		return r;
	}
	for (unsigned i = 0; i < c->opt.buffers; i++)
		if ((r = camera_alloc_one(c, i)) < 0)
			return r;
	if ((r = camera_set_format(c)) < 0 ||
	    (r = camera_request_buffers(c, c->opt.buffers)) < 0)
		return r;
	r = camera_stream(c);
	/* Freeing the driver's buffers detaches it from our dma-bufs. */
	camera_request_buffers(c, 0);
	return r;
}

/* The frames live as long as this connection: keep it until whoever
 * started us closes our stdin. */
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
	r = camera_open_video(&c.opt);
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
	for (unsigned i = 0; i < c.opt.buffers; i++)
		dbb_buffer_free(c.bufs[i]);
	dbb_client_destroy(c.client);
	if (r < 0)
		return c.unavailable ? EX_UNAVAILABLE : 1;
	return 0;
}
