/* SPDX-License-Identifier: MIT */
/*
 * dmabuf-gpu-example: the consumer side of dmabuf-camera-example.  Waits
 * for the camera's frames to be named in the broker, imports each one,
 * hands it to a GPU driver (vgem, through a DRM PRIME import, as a real
 * GPU's would be), and checks vivid's 75% colour bars through the
 * dma-buf's own mapping.  See examples/README.md.
 *
 * Each frame's dma-buf inode is printed: the camera prints the inode of
 * every buffer it queued, and equal inodes prove the two programs (and
 * vgem) hold the very same buffer, with no copy in between.
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

struct gpu_options {
	const char *socket;
	const char *prefix;
	const char *drm_path;
	unsigned frames;
	unsigned timeout_s;
};

struct gpu {
	struct gpu_options opt;
	struct dbb_client *client;
	int drm;
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
	"Imports the frames PREFIX/frame0 .. PREFIX/frame(N-1) from the dma-buf\n"
	"broker (waiting for them to be named), PRIME-imports each into vgem\n"
	"and checks vivid's 75% colour bars in it.\n"
	"\n"
	"  -s, --socket PATH     broker socket ($DMABUF_BROKER_SOCKET, else the default)\n"
	"  -p, --prefix NAME     name prefix (default camera)\n"
	"  -n, --frames N        frames to check (default 4)\n"
	"  -t, --timeout SECS    how long to wait for a frame's name (default 60)\n"
	"  -D, --drm PATH        DRM node (default: the first vgem card)\n"
	"  -h, --help\n"
	"\n"
	"Exit status: 0 every frame passed, 1 otherwise, 2 bad usage.\n";

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
		{ "prefix", required_argument, NULL, 'p' },
		{ "frames", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "drm", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct gpu_options){ .prefix = "camera", .frames = 4, .timeout_s = 60 };
	while ((c = getopt_long(argc, argv, "s:p:n:t:D:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'p': o->prefix = optarg; break;
		case 'D': o->drm_path = optarg; break;
		case 'n':
			if (!gpu_parse_uint(optarg, 1024, &o->frames))
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

/*
 * Waits until @name exists.  Events are on (gpu_run enables them before
 * the first look), so a name given after that look wakes the poll; the
 * events themselves are dropped, and the registry is asked again.
 */
static int gpu_wait_named(struct gpu *g, const char *name, int64_t deadline)
{
	struct pollfd pfd = { .fd = dbb_client_get_fd(g->client), .events = POLLIN };

	for (;;) {
		struct dbb_buffer_info *info = NULL;
		int64_t left;
		int r;

		r = dbb_info_by_name(g->client, name, &info);
		dbb_buffer_info_free(info);
		if (r != -ENOENT)
			return r < 0 ? gpu_fail_broker(g, r, name) : 0;
		left = deadline - gpu_now_ms();
		if (left <= 0)
			return gpu_fail(ETIMEDOUT, name);
		if (dbb_client_pending_events(g->client) == 0 &&
		    poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return gpu_fail(errno, "poll");
		r = dbb_client_dispatch(g->client);
		if (r < 0)
			return gpu_fail_broker(g, r, "events");
	}
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

/* Reads the frame through the dma-buf's own mapping, inside the
 * DMA_BUF_IOCTL_SYNC brackets that make the device's writes visible. */
static int gpu_check_mapped(struct dbb_buffer *buf, bool *pass)
{
	const struct dbb_image_layout *l = dbb_buffer_get_info(buf)->layout;
	void *addr;
	int r;

	r = dbb_buffer_map(buf, false, &addr);
	if (r < 0)
		return gpu_fail(-r, "mmap");
	r = dbb_buffer_begin_cpu_access(buf, DBB_SYNC_READ);
	if (r == 0) {
		*pass = gpu_check_bars(l, addr);
		r = dbb_buffer_end_cpu_access(buf, DBB_SYNC_READ);
	}
	if (r < 0)
		gpu_fail(-r, "DMA_BUF_IOCTL_SYNC");
	dbb_buffer_unmap(buf, addr);
	return r;
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

/* Imports frame @name (read-write: vgem's import maps the pages both
 * ways), passes it through vgem and checks it.  0 only if it passed. */
static int gpu_check_frame(struct gpu *g, const char *name)
{
	struct dbb_buffer *buf = NULL;
	uint32_t handle = 0;
	bool pass = false;
	struct stat st;
	int r;

	r = dbb_open_by_name(g->client, name, false, &buf);
	if (r < 0)
		return gpu_fail_broker(g, r, name);
	if ((r = gpu_check_info(dbb_buffer_get_info(buf), name)) < 0)
		goto out;
	if (fstat(dbb_buffer_get_fd(buf), &st) < 0) {
		r = gpu_fail(errno, "fstat");
		goto out;
	}
	r = gpu_prime_import(g, dbb_buffer_get_fd(buf), st.st_ino, &handle);
	/* Read while vgem holds it: the sync brackets cover its mapping. */
	if (r == 0)
		r = gpu_check_mapped(buf, &pass);
	printf("frame %s ino %llu vgem-handle %u pattern %s\n", name,
	       (unsigned long long)st.st_ino, handle,
	       r < 0 ? "not checked" : pass ? "ok" : "FAIL");
	if (r == 0 && !pass)
		r = -EBADMSG;
out:
	gpu_gem_close(g, handle);
	dbb_buffer_free(buf);	/* and our hold with it */
	return r;
}

/* Checks every frame; returns how many passed. */
static unsigned gpu_run(struct gpu *g)
{
	int64_t deadline = gpu_now_ms() + (int64_t)g->opt.timeout_s * 1000;
	char name[DBB_MAX_NAME + 1];
	unsigned passed = 0;
	int r;

	r = dbb_watch(g->client, true);
	if (r < 0) {
		gpu_fail_broker(g, r, "watch");
		return 0;
	}
	for (unsigned i = 0; i < g->opt.frames; i++) {
		snprintf(name, sizeof(name), "%s/frame%u", g->opt.prefix, i);
		if (gpu_wait_named(g, name, deadline) == 0 &&
		    gpu_check_frame(g, name) == 0)
			passed++;
		fflush(stdout);
	}
	return passed;
}

int main(int argc, char **argv)
{
	struct gpu g = { .drm = -1 };
	unsigned passed = 0;
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
		passed = gpu_run(&g);
	printf("checked %u frames, %u passed\n", g.opt.frames, passed);
	dbb_client_destroy(g.client);
	close(g.drm);
	return passed == g.opt.frames ? 0 : 1;
}
