// SPDX-License-Identifier: GPL-2.0
/*
 * Real importers: vgem (DRM, PRIME import through libdrm: attach and DMA
 * map of our sg_table) and vivid (V4L2 capture into our buffers with
 * V4L2_MEMORY_DMABUF: the driver writes frames through vmap).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/videodev2.h>
#include <xf86drm.h>

#include "util.h"

static int open_vgem(void)
{
	const char *path = util_find_drm("vgem");

	return path ? open(path, O_RDWR | O_CLOEXEC) : -1;
}

/* vgem's mapping of its own dumb buffer (dumb map offset on the DRM fd). */
static void *vgem_map(int drm, uint32_t handle, size_t len, int prot)
{
	struct drm_mode_map_dumb map = { .handle = handle };
	void *p;

	if (drmIoctl(drm, DRM_IOCTL_MODE_MAP_DUMB, &map))
		return NULL;
	p = mmap(NULL, len, prot, MAP_SHARED, drm, (off_t)map.offset);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Import @fd into vgem and check what an importer does to it: attach and
 * DMA-map (INFO counts them), CPU access syncs while mapped, PRIME gives back
 * the very same dma-buf, and closing the handle detaches.
 */
static enum test_result vgem_import_check(int drm, int fd, size_t len, uint32_t seed)
{
	struct dmabuf_sg_info info;
	struct stat ours, back;
	uint8_t *mine;
	uint32_t handle;
	int again;

	mine = util_map(fd, len, PROT_READ | PROT_WRITE);
	expect_true(mine != MAP_FAILED);
	util_fill(mine, len, 0, seed);
	expect_ok(drmPrimeFDToHandle(drm, fd, &handle));
	expect_ok(util_info(fd, &info));
	expect_int_eq(1, info.attachments);
	expect_int_eq(1, info.mappings);
	/* CPU access while a device holds a DMA mapping syncs that mapping. */
	expect_ok(util_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	expect_true(util_check(mine, len, 0, seed) == (size_t)-1);
	util_fill(mine, len, 0, seed + 1);
	expect_ok(util_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	/* PRIME hands back the very same dma-buf. */
	expect_ok(drmPrimeHandleToFD(drm, handle, DRM_CLOEXEC, &again));
	expect_ok(fstat(fd, &ours));
	expect_ok(fstat(again, &back));
	expect_int_eq(ours.st_ino, back.st_ino);
	close(again);

	struct drm_gem_close gc = { .handle = handle };
	expect_ok(drmIoctl(drm, DRM_IOCTL_GEM_CLOSE, &gc));
	expect_ok(util_info(fd, &info));
	expect_int_eq(0, info.attachments);
	expect_int_eq(0, info.mappings);
	munmap(mine, len);
	return TEST_PASS;
}

static enum test_result test_vgem_import_alloc(void)
{
	struct util_snapshot s;
	enum test_result r;
	int drm, fd;

	util_snapshot(&s);
	drm = open_vgem();
	if (drm < 0)
		return test_skip("no vgem device (modprobe vgem failed?)");
	fd = util_alloc(8 * MIB, 0, "vgem-import", NULL);
	expect_ok(fd);
	r = vgem_import_check(drm, fd, 8 * MIB, 80);
	close(fd);
	close(drm);
	expect_pass(r);
	return util_expect_snapshot(&s);
}

static enum test_result test_vgem_import_pin(void)
{
	struct dmabuf_sg_info info;
	struct util_snapshot s;
	size_t len = 2 * MIB;
	uint32_t handle;
	uint8_t *user;
	int drm, fd;

	util_snapshot(&s);
	drm = open_vgem();
	if (drm < 0)
		return test_skip("no vgem device (modprobe vgem failed?)");
	user = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(user != MAP_FAILED);
	memset(user, 0, len);
	fd = util_pin(user + 100, len - 200, DMABUF_SG_PIN_WRITE, NULL);
	expect_ok(fd);
	expect_pass(vgem_import_check(drm, fd, len, 90));
	/* What the mapping wrote while vgem held it is the user's memory. */
	expect_true(util_check(user, len, 0, 91) == (size_t)-1);
	close(fd);

	/* A read-only pin cannot be mapped for device writes: clean refusal. */
	fd = util_pin(user, len, 0, NULL);
	expect_ok(fd);
	expect_true(drmPrimeFDToHandle(drm, fd, &handle) != 0);
	expect_ok(util_info(fd, &info));
	expect_int_eq(0, info.attachments);
	close(fd);
	close(drm);
	munmap(user, len);
	return util_expect_snapshot(&s);
}

/*
 * vgem's own CPU mapping of an imported object.  On the kernels we test
 * there is none: vgem has only the generic dumb-map offset, which refuses
 * imported objects (and would forward the mmap to our exporter anyway).
 * Kept so that a kernel offering one is checked, and skips otherwise.
 */
static enum test_result test_vgem_own_mapping(void)
{
	struct drm_mode_map_dumb mapreq = { 0 };
	uint8_t *theirs, *mine;
	size_t len = 1 * MIB;
	int drm, fd;

	drm = open_vgem();
	if (drm < 0)
		return test_skip("no vgem device (modprobe vgem failed?)");
	fd = util_alloc(len, 0, NULL, NULL);
	expect_ok(fd);
	mine = util_map(fd, len, PROT_READ | PROT_WRITE);
	expect_true(mine != MAP_FAILED);
	util_fill(mine, len, 0, 85);
	expect_ok(drmPrimeFDToHandle(drm, fd, &mapreq.handle));
	if (drmIoctl(drm, DRM_IOCTL_MODE_MAP_DUMB, &mapreq)) {
		int err = errno;

		close(drm);	/* drops the handle */
		close(fd);
		return test_skip("vgem refuses a map offset for imported objects (%s)",
				 strerror(err));
	}
	theirs = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, drm, (off_t)mapreq.offset);
	expect_true(theirs != MAP_FAILED);
	expect_true(util_check(theirs, len, 0, 85) == (size_t)-1);
	util_fill(theirs, len, 0, 86);
	expect_true(util_check(mine, len, 0, 86) == (size_t)-1);
	munmap(theirs, len);
	munmap(mine, len);
	close(drm);
	close(fd);
	return TEST_PASS;
}

static enum test_result test_pin_vgem_mapping(void)
{
	struct drm_mode_create_dumb create = { .width = 256, .height = 256, .bpp = 32 };
	struct dmabuf_sg_pin arg = { 0 };
	struct util_snapshot s;
	int drm, prime;
	void *map;

	drm = open_vgem();
	if (drm < 0)
		return test_skip("no vgem device (modprobe vgem failed?)");
	expect_ok(drmIoctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &create));
	map = vgem_map(drm, create.handle, create.size, PROT_READ | PROT_WRITE);
	expect_true(map != NULL);
	memset(map, 0x5A, create.size);
	/* Another exporter's dma-buf is refused by INFO too. */
	expect_ok(drmPrimeHandleToFD(drm, create.handle, DRM_CLOEXEC, &prime));
	struct dmabuf_sg_info info;
	expect_errno(EINVAL, util_info(prime, &info));
	util_snapshot(&s);
	arg.addr = (uintptr_t)map;
	arg.len = create.size;
	arg.flags = DMABUF_SG_PIN_WRITE;
	arg.fd_flags = O_RDWR | O_CLOEXEC;
	expect_errno(EFAULT, ioctl(util_dev(), DMABUF_SG_IOCTL_PIN, &arg));
	expect_pass(util_expect_snapshot(&s));
	close(prime);
	munmap(map, create.size);
	close(drm);
	return TEST_PASS;
}

/* vivid */

#define VIVID_BUFFERS 4
#define VIVID_FRAMES 3

struct vivid {
	int fd;
	struct v4l2_format fmt;
	int bufs[VIVID_BUFFERS];
	uint8_t *maps[VIVID_BUFFERS];
	size_t size;
};

static enum test_result vivid_setup(struct vivid *v)
{
	int input = 0;

	expect_ok(ioctl(v->fd, VIDIOC_S_INPUT, &input));
	memset(&v->fmt, 0, sizeof(v->fmt));
	v->fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	v->fmt.fmt.pix.width = 640;
	v->fmt.fmt.pix.height = 360;
	v->fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	v->fmt.fmt.pix.field = V4L2_FIELD_NONE;
	expect_ok(ioctl(v->fd, VIDIOC_S_FMT, &v->fmt));
	expect_int_eq(V4L2_PIX_FMT_YUYV, v->fmt.fmt.pix.pixelformat);
	test_diag("vivid format %ux%u YUYV, %u bytes per line, %u bytes",
		  v->fmt.fmt.pix.width, v->fmt.fmt.pix.height,
		  v->fmt.fmt.pix.bytesperline, v->fmt.fmt.pix.sizeimage);
	v->size = (v->fmt.fmt.pix.sizeimage + page_size - 1) / page_size * page_size;
	return TEST_PASS;
}

static enum test_result vivid_queue(struct vivid *v, unsigned int i)
{
	struct v4l2_buffer b = {
		.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};

	b.m.fd = v->bufs[i];
	b.length = (uint32_t)v->size;
	expect_ok(ioctl(v->fd, VIDIOC_QBUF, &b));
	return TEST_PASS;
}

/*
 * The 75% colour bars: eight vertical bars whose luma falls strictly from
 * left (white) to right (black).  Sample the middle of each bar on a row
 * below vivid's text overlay, and ask for a clear step between bars; a
 * buffer the driver never wrote (0xAA fill) cannot pass.
 */
static enum test_result vivid_check_frame(const struct vivid *v, const uint8_t *f)
{
	const struct v4l2_pix_format *pix = &v->fmt.fmt.pix;
	size_t row = (size_t)pix->height * 7 / 8 * pix->bytesperline;
	unsigned int luma[8], i;

	for (i = 0; i < 8; i++) {
		size_t x = (2 * i + 1) * pix->width / 16;

		luma[i] = f[row + (x & ~(size_t)1) * 2];
	}
	test_diag("bar luma: %u %u %u %u %u %u %u %u", luma[0], luma[1], luma[2],
		  luma[3], luma[4], luma[5], luma[6], luma[7]);
	for (i = 0; i < 7; i++)
		expect_true(luma[i] >= luma[i + 1] + 8);
	return TEST_PASS;
}

static enum test_result vivid_stream(struct vivid *v)
{
	enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct pollfd pfd = { .fd = v->fd, .events = POLLIN };
	unsigned int i;

	for (i = 0; i < VIVID_BUFFERS; i++)
		expect_pass(vivid_queue(v, i));
	expect_ok(ioctl(v->fd, VIDIOC_STREAMON, &type));
	for (i = 0; i < VIVID_FRAMES; i++) {
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
			.memory = V4L2_MEMORY_DMABUF,
		};

		expect_int_eq(1, poll(&pfd, 1, 20000));
		expect_ok(ioctl(v->fd, VIDIOC_DQBUF, &b));
		expect_true(b.index < VIVID_BUFFERS);
		expect_int_eq(v->fmt.fmt.pix.sizeimage, b.bytesused);
		expect_ok(util_sync(v->bufs[b.index], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
		expect_pass(vivid_check_frame(v, v->maps[b.index]));
		expect_ok(util_sync(v->bufs[b.index], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	}
	expect_ok(ioctl(v->fd, VIDIOC_STREAMOFF, &type));
	return TEST_PASS;
}

static enum test_result vivid_capture(struct vivid *v)
{
	struct v4l2_requestbuffers req = {
		.count = VIVID_BUFFERS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	unsigned int i;

	expect_pass(vivid_setup(v));
	for (i = 0; i < VIVID_BUFFERS; i++) {
		v->bufs[i] = util_alloc(v->size, 0, "vivid-frame", NULL);
		expect_ok(v->bufs[i]);
		v->maps[i] = util_map(v->bufs[i], v->size, PROT_READ | PROT_WRITE);
		expect_true(v->maps[i] != MAP_FAILED);
		memset(v->maps[i], 0xAA, v->size);
	}
	expect_ok(ioctl(v->fd, VIDIOC_REQBUFS, &req));
	expect_int_eq(VIVID_BUFFERS, req.count);
	expect_pass(vivid_stream(v));
	req.count = 0;
	expect_ok(ioctl(v->fd, VIDIOC_REQBUFS, &req));
	for (i = 0; i < VIVID_BUFFERS; i++) {
		struct dmabuf_sg_info info;

		expect_ok(util_info(v->bufs[i], &info));
		expect_int_eq(0, info.attachments);
		expect_int_eq(0, info.vmaps);
		munmap(v->maps[i], v->size);
		close(v->bufs[i]);
	}
	return TEST_PASS;
}

static enum test_result test_vivid_capture(void)
{
	struct util_snapshot s;
	struct vivid v = { 0 };
	enum test_result r;

	util_snapshot(&s);
	v.fd = util_open_vivid();
	if (v.fd < 0)
		return test_skip("no vivid capture device (modprobe vivid failed?)");
	r = vivid_capture(&v);
	close(v.fd);
	expect_pass(r);
	return util_expect_snapshot(&s);
}

const struct test_case test_import_cases[] = {
	{ "import: vgem PRIME import of an ALLOC buffer: attach, DMA map, sync", test_vgem_import_alloc },
	{ "import: vgem PRIME import of a PIN buffer; read-only pin refused", test_vgem_import_pin },
	{ "import: vgem's own mapping of an imported buffer", test_vgem_own_mapping },
	{ "input: PIN of vgem's mapping, INFO of vgem's dma-buf", test_pin_vgem_mapping },
	{ "import: vivid captures colour bars into ALLOC buffers", test_vivid_capture },
	{ NULL, NULL },
};
