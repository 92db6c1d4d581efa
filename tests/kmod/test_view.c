// SPDX-License-Identifier: GPL-2.0
/*
 * VIEW: a dma-buf over a page range of one of ours, sharing its pages (bad
 * input is in test_view_input.c).  Read-only is enforced on every path
 * userspace and importers take; views see and, when writable, change the
 * buffer's bytes at their offset; a view keeps its buffer alive; a view of
 * a view refers to the buffer below; thousands of views leak nothing.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/videodev2.h>
#include <xf86drm.h>

#include "util.h"

#define VIEW_RO DMABUF_SG_VIEW_READ_ONLY
#define LEAK_TOLERANCE_KIB (8 * 1024)

/* A buffer of @len bytes filled with the pattern of @seed. */
static int filled_alloc(size_t len, uint32_t seed)
{
	int fd = util_alloc(len, 0, NULL, NULL);
	uint8_t *map;

	if (fd < 0)
		return -1;
	map = util_map(fd, len, PROT_READ | PROT_WRITE);
	if (map == MAP_FAILED) {
		close(fd);
		return -1;
	}
	util_fill(map, len, 0, seed);
	munmap(map, len);
	return fd;
}

/* The view @fd holds bytes [@base, @base + @len) of pattern @seed. */
static enum test_result view_bytes(int fd, size_t len, size_t base, uint32_t seed)
{
	uint8_t *map = util_map(fd, len, PROT_READ);

	expect_true(map != MAP_FAILED);
	expect_ok(util_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	expect_int_eq(-1, (long long)util_check(map, len, base, seed));
	expect_ok(util_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	expect_ok(munmap(map, len));
	return TEST_PASS;
}

/*
 * A read-only view of a whole buffer: an O_RDONLY file, no writable mapping
 * now or later, no CPU write bracket, the buffer's bytes and later writes.
 */
static enum test_result test_view_readonly(void)
{
	size_t len = 1 * MIB;
	struct dmabuf_sg_alloc parent_arg;
	struct dmabuf_sg_info info;
	struct util_snapshot s;
	uint8_t *map, *pmap;
	int parent, view;

	util_snapshot(&s);
	parent = util_alloc(len, 0, "ro-parent", &parent_arg);
	expect_ok(parent);
	pmap = util_map(parent, len, PROT_READ | PROT_WRITE);
	expect_true(pmap != MAP_FAILED);
	util_fill(pmap, len, 0, 100);
	view = util_view(parent, VIEW_RO, 0, 0, NULL);
	expect_ok(view);
	expect_int_eq(O_RDONLY, fcntl(view, F_GETFL) & O_ACCMODE);

	expect_ok(util_info(view, &info));
	expect_int_eq(DMABUF_SG_KIND_VIEW, info.kind);
	expect_int_eq(DMABUF_SG_VIEW_READ_ONLY, info.flags);
	expect_int_eq(len, info.size);
	expect_int_eq(0, info.offset);
	expect_int_eq(len, info.length);
	expect_int_eq(parent_arg.sg_entries, info.sg_entries);
	for (unsigned int o = 0; o < DMABUF_SG_NR_ORDERS; o++)
		expect_int_eq(0, info.blocks_per_order[o]);
	expect_int_eq(0, strcmp("ro-parent", info.name));

	/* Writable shared mappings, and upgrades to one, are refused. */
	expect_true(util_map(view, len, PROT_READ | PROT_WRITE) == MAP_FAILED);
	expect_int_eq(EACCES, errno);
	expect_true(util_map(view, len, PROT_WRITE) == MAP_FAILED);
	expect_int_eq(EACCES, errno);
	map = util_map(view, len, PROT_READ);
	expect_true(map != MAP_FAILED);
	expect_errno(EACCES, mprotect(map, len, PROT_READ | PROT_WRITE));

	/* CPU brackets for writing are refused, reading ones work. */
	expect_errno(EPERM, util_sync(view, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	expect_errno(EPERM, util_sync(view, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	expect_errno(EPERM, util_sync(view, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	expect_ok(util_sync(view, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	expect_int_eq(-1, (long long)util_check(map, len, 0, 100));
	expect_ok(util_sync(view, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

	/* The buffer's later writes show through the view. */
	util_fill(pmap, len, 0, 101);
	expect_int_eq(-1, (long long)util_check(map, len, 0, 101));
	/* The buffer itself stays writable. */
	expect_ok(util_sync(parent, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	expect_ok(util_sync(parent, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	expect_ok(util_info(parent, &info));
	expect_int_eq(DMABUF_SG_KIND_ALLOC, info.kind);

	munmap(map, len);
	munmap(pmap, len);
	close(view);
	close(parent);
	return util_expect_snapshot(&s);
}

/*
 * vgem maps what it imports DMA_BIDIRECTIONAL at import time: a read-only
 * view refuses that mapping (EPERM, passed on by the PRIME import), a
 * writable sub-range view is imported and mapped like any buffer.
 */
static enum test_result test_view_vgem_import(void)
{
	const char *path = util_find_drm("vgem");
	struct dmabuf_sg_info info;
	struct util_snapshot s;
	uint32_t handle;
	int drm, parent, view;

	if (!path)
		return test_skip("no vgem device (modprobe vgem failed?)");
	util_snapshot(&s);
	drm = open(path, O_RDWR | O_CLOEXEC);
	expect_ok(drm);
	parent = filled_alloc(2 * MIB, 110);
	expect_ok(parent);

	view = util_view(parent, VIEW_RO, 0, 0, NULL);
	expect_ok(view);
	expect_errno(EPERM, drmPrimeFDToHandle(drm, view, &handle));
	expect_ok(util_info(view, &info));
	expect_int_eq(0, info.attachments);
	expect_int_eq(0, info.mappings);
	close(view);

	view = util_view(parent, 0, 64 * page_size, 64 * page_size, NULL);
	expect_ok(view);
	expect_ok(drmPrimeFDToHandle(drm, view, &handle));
	expect_ok(util_info(view, &info));
	expect_int_eq(1, info.attachments);
	expect_int_eq(1, info.mappings);
	/* The buffer's own attachments are its own. */
	expect_ok(util_info(parent, &info));
	expect_int_eq(0, info.attachments);
	expect_ok(util_sync(view, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	expect_ok(util_sync(view, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	struct drm_gem_close gc = { .handle = handle };
	expect_ok(drmIoctl(drm, DRM_IOCTL_GEM_CLOSE, &gc));
	expect_ok(util_info(view, &info));
	expect_int_eq(0, info.attachments);
	expect_pass(view_bytes(view, 64 * page_size, 64 * page_size, 110));
	close(view);
	close(parent);
	close(drm);
	return util_expect_snapshot(&s);
}

/*
 * vivid's buffers (vb2-vmalloc) are written through a kernel mapping taken
 * when a buffer is queued: a writable view gives one (INFO counts it), a
 * read-only view refuses it and vb2 reports that as EFAULT.
 */
static enum test_result vivid_queue_views(int vid, int parent, size_t size)
{
	struct v4l2_requestbuffers req = {
		.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_buffer b = {
		.index = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF, .length = (uint32_t)size,
	};
	struct dmabuf_sg_info info;
	int ro, rw;

	expect_ok(ioctl(vid, VIDIOC_REQBUFS, &req));
	expect_true(req.count >= 1);	/* vivid raises it to its minimum */
	ro = util_view(parent, VIEW_RO, page_size, size, NULL);
	expect_ok(ro);
	b.m.fd = ro;
	expect_errno(EFAULT, ioctl(vid, VIDIOC_QBUF, &b));
	expect_ok(util_info(ro, &info));
	expect_int_eq(0, info.vmaps);
	rw = util_view(parent, 0, page_size, size, NULL);
	expect_ok(rw);
	b.m.fd = rw;
	expect_ok(ioctl(vid, VIDIOC_QBUF, &b));
	expect_ok(util_info(rw, &info));
	expect_int_eq(1, info.vmaps);
	req.count = 0;
	expect_ok(ioctl(vid, VIDIOC_REQBUFS, &req));
	expect_ok(util_info(rw, &info));
	expect_int_eq(0, info.vmaps);
	close(rw);
	close(ro);
	return TEST_PASS;
}

static enum test_result test_view_vivid(void)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct util_snapshot s;
	enum test_result r;
	int vid, parent, input = 0;
	size_t size;

	util_snapshot(&s);
	vid = util_open_vivid();
	if (vid < 0)
		return test_skip("no vivid capture device (modprobe vivid failed?)");
	expect_ok(ioctl(vid, VIDIOC_S_INPUT, &input));
	fmt.fmt.pix.width = 640;
	fmt.fmt.pix.height = 360;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	expect_ok(ioctl(vid, VIDIOC_S_FMT, &fmt));
	size = (fmt.fmt.pix.sizeimage + page_size - 1) / page_size * page_size;
	parent = util_alloc(size + 2 * page_size, 0, NULL, NULL);
	expect_ok(parent);
	r = vivid_queue_views(vid, parent, size);
	close(parent);
	close(vid);
	expect_pass(r);
	return util_expect_snapshot(&s);
}

/* Sub-ranges of an ALLOC buffer: INFO, bytes, and mmap offsets inside them. */
static enum test_result test_view_subrange(void)
{
	static const struct { size_t off, len; } pages[] = {
		{ 0, 1 }, { 1, 3 }, { 1023, 0 }, { 5, 0 }, { 256, 259 }, { 0, 1024 },
	};
	size_t size = 1024 * page_size, i;
	struct dmabuf_sg_info info;
	struct util_snapshot s;
	int parent;

	util_snapshot(&s);
	parent = filled_alloc(size, 120);
	expect_ok(parent);
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		size_t off = pages[i].off * page_size;
		size_t len = pages[i].len ? pages[i].len * page_size : size - off;
		int view = util_view(parent, VIEW_RO, off, pages[i].len * page_size, NULL);
		uint8_t *map;

		expect_ok(view);
		expect_ok(util_info(view, &info));
		expect_int_eq(off, info.offset);
		expect_int_eq(len, info.length);
		expect_int_eq(len, info.size);
		expect_pass(view_bytes(view, len, off, 120));
		/* A mapping at a page offset inside the view. */
		if (len > page_size) {
			map = mmap(NULL, len - page_size, PROT_READ, MAP_SHARED, view,
				   (off_t)page_size);
			expect_true(map != MAP_FAILED);
			expect_int_eq(-1, (long long)util_check(map, len - page_size,
								off + page_size, 120));
			munmap(map, len - page_size);
		}
		/* Not a byte more than the view. */
		expect_true(mmap(NULL, len + page_size, PROT_READ, MAP_SHARED, view, 0) == MAP_FAILED);
		close(view);
	}
	close(parent);
	return util_expect_snapshot(&s);
}

/*
 * A writable sub-range view behaves like its buffer over its range: writes
 * land at the offset and nowhere else, both ways; over a PIN they land in
 * the user's memory.
 */
static enum test_result test_view_writable_subrange(void)
{
	size_t size = 64 * page_size, off = 8 * page_size, len = 16 * page_size;
	struct util_snapshot s;
	uint8_t *pmap, *vmap, *user;
	int parent, view, pin;

	util_snapshot(&s);
	parent = filled_alloc(size, 130);
	expect_ok(parent);
	view = util_view(parent, 0, off, len, NULL);
	expect_ok(view);
	expect_int_eq(O_RDWR, fcntl(view, F_GETFL) & O_ACCMODE);
	pmap = util_map(parent, size, PROT_READ | PROT_WRITE);
	vmap = util_map(view, len, PROT_READ | PROT_WRITE);
	expect_true(pmap != MAP_FAILED && vmap != MAP_FAILED);
	expect_ok(util_sync(view, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	util_fill(vmap, len, off, 131);
	expect_ok(util_sync(view, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	expect_int_eq(-1, (long long)util_check(pmap, off, 0, 130));
	expect_int_eq(-1, (long long)util_check(pmap + off, len, off, 131));
	expect_int_eq(-1, (long long)util_check(pmap + off + len, size - off - len,
						off + len, 130));
	util_fill(pmap + off, len, off, 132);
	expect_int_eq(-1, (long long)util_check(vmap, len, off, 132));
	munmap(vmap, len);
	munmap(pmap, size);
	close(view);
	close(parent);

	user = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(user != MAP_FAILED);
	util_fill(user, size, 0, 133);
	pin = util_pin(user, size, DMABUF_SG_PIN_WRITE, NULL);
	expect_ok(pin);
	view = util_view(pin, 0, off, len, NULL);
	expect_ok(view);
	close(pin);
	vmap = util_map(view, len, PROT_READ | PROT_WRITE);
	expect_true(vmap != MAP_FAILED);
	expect_int_eq(-1, (long long)util_check(vmap, len, off, 133));
	util_fill(vmap, len, off, 134);
	expect_int_eq(-1, (long long)util_check(user + off, len, off, 134));
	expect_int_eq(-1, (long long)util_check(user, off, 0, 133));
	munmap(vmap, len);
	close(view);
	munmap(user, size);
	return util_expect_snapshot(&s);
}

/* A read-only view of a read-only PIN: the user's later writes show. */
static enum test_result test_view_of_readonly_pin(void)
{
	size_t size = 32 * page_size, off = 4 * page_size;
	struct dmabuf_sg_info info;
	struct util_snapshot s;
	uint8_t *user;
	int pin, view;

	util_snapshot(&s);
	user = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(user != MAP_FAILED);
	util_fill(user, size, 0, 140);
	pin = util_pin(user + 100, size - 200, 0, NULL);
	expect_ok(pin);
	view = util_view(pin, VIEW_RO, off, 0, NULL);
	expect_ok(view);
	close(pin);
	expect_ok(util_info(view, &info));
	expect_int_eq(off, info.offset);
	expect_int_eq(size - off, info.length);
	expect_pass(view_bytes(view, size - off, off, 140));
	util_fill(user, size, 0, 141);
	expect_pass(view_bytes(view, size - off, off, 141));
	close(view);
	munmap(user, size);
	return util_expect_snapshot(&s);
}

/* The buffer outlives its own fd as long as a view lives, and no longer. */
static enum test_result test_view_keeps_parent(void)
{
	size_t len = 4 * MIB;
	struct util_stats during;
	struct util_snapshot s;
	int parent, view;

	util_snapshot(&s);
	parent = filled_alloc(len, 150);
	expect_ok(parent);
	view = util_view(parent, VIEW_RO, MIB, 0, NULL);
	expect_ok(view);
	expect_ok(close(parent));
	expect_ok(util_stats_read(&during));
	expect_int_eq(s.stats.live_buffers + 1, during.live_buffers);
	expect_int_eq(s.stats.live_views + 1, during.live_views);
	expect_int_eq(s.stats.allocated_bytes + (long long)len, during.allocated_bytes);
	expect_int_eq(s.stats.reserved_bytes + (long long)len, during.reserved_bytes);
	expect_pass(view_bytes(view, len - MIB, MIB, 150));
	expect_ok(close(view));
	/* Released with the last view: back to the baseline. */
	return util_expect_snapshot(&s);
}

/*
 * A view of a view is a view of the buffer below at the composed offset:
 * the intermediate view may go while the buffer stays.
 */
static enum test_result test_view_of_view(void)
{
	size_t size = 64 * page_size;
	struct dmabuf_sg_info info;
	struct util_stats during;
	struct util_snapshot s;
	int parent, v1, v2, v3;

	util_snapshot(&s);
	parent = filled_alloc(size, 160);
	expect_ok(parent);
	v1 = util_view(parent, 0, 8 * page_size, 32 * page_size, NULL);
	expect_ok(v1);
	v2 = util_view(v1, VIEW_RO, 4 * page_size, 8 * page_size, NULL);
	expect_ok(v2);
	v3 = util_view(v2, VIEW_RO, 2 * page_size, 0, NULL);
	expect_ok(v3);
	expect_ok(util_info(v2, &info));
	expect_int_eq(DMABUF_SG_KIND_VIEW, info.kind);
	expect_int_eq(DMABUF_SG_VIEW_READ_ONLY, info.flags);
	expect_int_eq(12 * page_size, info.offset);
	expect_int_eq(8 * page_size, info.length);
	expect_ok(util_info(v3, &info));
	expect_int_eq(14 * page_size, info.offset);
	expect_int_eq(6 * page_size, info.length);

	close(parent);
	close(v1);
	close(v2);
	expect_ok(util_stats_read(&during));
	expect_int_eq(s.stats.live_buffers + 1, during.live_buffers);
	expect_int_eq(s.stats.live_views + 1, during.live_views);
	expect_pass(view_bytes(v3, 6 * page_size, 14 * page_size, 160));
	close(v3);
	return util_expect_snapshot(&s);
}

/* One cycle: a buffer, views of it and of a view, closed in either order. */
static enum test_result view_cycle(int i, int big)
{
	size_t size = 16 * page_size;
	int parent, view, sub;

	parent = util_alloc(size, 0, NULL, NULL);
	expect_ok(parent);
	view = util_view(parent, (i & 1) ? VIEW_RO : 0, (size_t)(i % 4) * page_size, 0, NULL);
	expect_ok(view);
	sub = util_view(big, (i & 2) ? VIEW_RO : 0, (size_t)(i % 64) * page_size,
			(size_t)(i % 7) * page_size, NULL);
	expect_ok(sub);
	if (i % 16 == 0) {
		void *map = util_map(view, page_size, PROT_READ);

		expect_true(map != MAP_FAILED);
		munmap(map, page_size);
	}
	if (i & 4) {
		expect_ok(close(parent));
		expect_ok(close(view));
	} else {
		expect_ok(close(view));
		expect_ok(close(parent));
	}
	expect_ok(close(sub));
	return TEST_PASS;
}

/*
 * 2,000 cycles, each holding a 64 KiB buffer through a view: a view that
 * kept its buffer would hold 125 MiB at the end, far beyond the 8 MiB
 * tolerance (see test_leak.c); the exact counters catch lost views and
 * buffers, the fd count lost fds.
 */
static enum test_result test_view_leak(void)
{
	struct util_snapshot s;
	enum test_result r;
	long long before;
	int big, i;

	big = util_alloc(4 * MIB, 0, NULL, NULL);
	expect_ok(big);
	for (i = 0; i < 100; i++)	/* warm-up: slabs, per-CPU lists */
		expect_pass(view_cycle(i, big));
	util_snapshot(&s);
	before = util_free_kib();
	for (i = 0; i < 2000; i++)
		expect_pass(view_cycle(i, big));
	expect_pass(util_expect_snapshot(&s));
	r = util_expect_free_kib(before, LEAK_TOLERANCE_KIB);
	close(big);
	return r;
}

const struct test_case test_view_cases[] = {
	{ "view: read-only: no writable mmap, no write SYNC, the buffer's bytes", test_view_readonly },
	{ "view: vgem import of a read-only view refused, of a writable one mapped", test_view_vgem_import },
	{ "view: vivid queues a writable view (vmap), refuses a read-only one", test_view_vivid },
	{ "view: sub-ranges show the buffer's bytes at their offset", test_view_subrange },
	{ "view: writable sub-range writes its range only, ALLOC and PIN", test_view_writable_subrange },
	{ "view: read-only view of a read-only PIN follows the user's writes", test_view_of_readonly_pin },
	{ "view: keeps its buffer alive after the buffer's fd is closed", test_view_keeps_parent },
	{ "view: view of a view refers to the buffer, not the view", test_view_of_view },
	{ "leak: 2000 view cycles", test_view_leak },
	{ NULL, NULL },
};

