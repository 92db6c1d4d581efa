/* SPDX-License-Identifier: MIT */
/*
 * The dma-buf backends (heap, udmabuf, drm) against the real devices, run
 * inside the test guests (tests/vm; vgem loaded).  Each test probes its
 * backend afresh with its own config; where the device is absent it SKIPs
 * with the reason probe gave.  The negative cases of each backend come
 * first, then allocation: raw and by format, every byte written and read
 * back through the dma-buf's mapping inside DMA_BUF_IOCTL_SYNC, and an
 * import into vgem, a real importer that attaches and DMA-maps the buffer.
 * Every test ends by counting its open fds against what it started with.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <drm_fourcc.h>
#include <linux/dma-buf.h>
#include <xf86drm.h>

#include "backend.h"
#include "config.h"
#include "kit.h"

#define MIB (1024u * 1024u)

/* One test's backend and config; the last fields are set by setup. */
struct tcase {
	const char *backend;
	const char *heaps;		/* cfg->heaps; NULL: the default */
	const char *drm_device;		/* cfg->drm_device; NULL: auto */
	uint32_t fourcc, width, height;
	struct config cfg;
	struct backend be;
	int probe_ret;
	char why[BACKEND_DETAIL_MAX];
	int fds_before;			/* before probe */
	int fds;			/* after probe */
};

/* ---- the fixture ---- */

static int tc_setup(void **state)
{
	struct tcase *t = *state;
	const struct backend_desc *d = backend_lookup(t->backend,
						      strlen(t->backend));

	if (!d || config_init(&t->cfg) < 0 ||
	    (t->heaps && config_set_string(&t->cfg.heaps, t->heaps) < 0) ||
	    (t->drm_device &&
	     config_set_string(&t->cfg.drm_device, t->drm_device) < 0))
		return -1;
	t->fds_before = kit_count_fds();
	t->probe_ret = backend_probe(&t->be, d, &t->cfg);
	snprintf(t->why, sizeof(t->why), "%s", t->be.detail);
	t->fds = kit_count_fds();
	return 0;
}

static int tc_teardown(void **state)
{
	struct tcase *t = *state;

	backend_close(&t->be);
	config_fini(&t->cfg);
	return 0;
}

/* The test's case, or a SKIP with probe's reason when the backend is not
 * available here. */
static struct tcase *tc_require(void **state)
{
	struct tcase *t = *state;

	if (!t->be.available) {
		print_message("# %s unavailable: %s\n", t->backend, t->why);
		skip();
	}
	return t;
}

/* Every fd the test opened after probe is closed again. */
static void tc_no_leak(const struct tcase *t)
{
	assert_int_equal(t->fds, kit_count_fds());
}

static int tc_alloc(struct tcase *t, const struct backend_request *req,
		    struct backend_buffer *out)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	return t->be.desc->ops->alloc(&t->be, req, out);
}

/* ---- probe ---- */

static void test_probe(void **state)
{
	struct tcase *t = tc_require(state);

	print_message("# %s: %s; max_size %llu\n", t->backend, t->be.detail,
		      (unsigned long long)t->be.max_size);
	assert_true(strlen(t->be.detail) > 0);
	if (!strcmp(t->backend, "udmabuf"))
		assert_true(t->be.max_size > 0);
	backend_close(&t->be);
	assert_null(t->be.priv);
	assert_int_equal(t->fds_before, kit_count_fds());
}

/* Probe fails with @err, says so in why, and keeps no fd. */
static void expect_probe_fails(struct tcase *t, int err, const char *word)
{
	print_message("# %s: %s\n", t->backend, t->why);
	assert_int_equal(err, t->probe_ret);
	assert_non_null(strstr(t->why, word));
	assert_int_equal(t->fds_before, t->fds);
}

static void test_heap_unknown_names(void **state)
{
	expect_probe_fails(*state, -ENOENT, "nosuch");
}

static void test_heap_passes_over_unknown(void **state)
{
	struct tcase *t = tc_require(state);

	assert_string_equal("dma-heap system (/dev/dma_heap/system), "
			    "no contiguous heap", t->be.detail);
}

static void test_drm_missing_node(void **state)
{
	expect_probe_fails(*state, -ENOENT, "/nonexistent/card0");
}

static void test_drm_not_drm(void **state)
{
	expect_probe_fails(*state, -ENODEV, "not a DRM node");
}

static void test_drm_render_node(void **state)
{
	struct tcase *t = *state;

	if (access(t->drm_device, F_OK)) {
		print_message("# no %s here (modprobe vgem?)\n", t->drm_device);
		skip();
	}
	expect_probe_fails(t, -ENODEV, "render");
}

/* ---- requests refused ---- */

static void test_bad_requests(void **state)
{
	static const struct backend_request bad[] = {
		{ .size = 0 },
		{ .size = MIB, .flags = 1u << 7 },
		{ .fourcc = 0x20202020, .width = 64, .height = 64 },
		{ .fourcc = DRM_FORMAT_NV12, .width = 63, .height = 64 },
		{ .fourcc = DRM_FORMAT_XRGB8888, .width = 64, .height = 64,
		  .modifier = I915_FORMAT_MOD_X_TILED },
	};
	struct tcase *t = tc_require(state);
	struct backend_buffer out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(-EINVAL, tc_alloc(t, &bad[i], &out));
		assert_int_equal(-1, out.fd);
	}
	tc_no_leak(t);
}

static void test_contiguous_refused(void **state)
{
	struct backend_request req = {
		.size = MIB, .flags = BACKEND_ALLOC_CONTIGUOUS,
	};
	struct tcase *t = tc_require(state);
	struct backend_buffer out;

	assert_int_equal(-EOPNOTSUPP, tc_alloc(t, &req, &out));
	tc_no_leak(t);
}

/* No read-only fd, where a device may write anyway; a read-write one is
 * the very buffer. */
static void test_read_only_refused(void **state)
{
	struct backend_request req = { .size = MIB };
	struct tcase *t = tc_require(state);
	struct backend_buffer out;
	struct stat a, b;
	int dup;

	assert_int_equal(0, tc_alloc(t, &req, &out));
	assert_int_equal(-EOPNOTSUPP,
			 t->be.desc->ops->export_fd(&t->be, out.fd, out.priv,
						    true));
	dup = t->be.desc->ops->export_fd(&t->be, out.fd, out.priv, false);
	assert_in_range(dup, 0, INT_MAX);
	assert_int_equal(FD_CLOEXEC, fcntl(dup, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(0, fstat(out.fd, &a));
	assert_int_equal(0, fstat(dup, &b));
	assert_int_equal(a.st_ino, b.st_ino);
	close(dup);
	close(out.fd);
	tc_no_leak(t);
}

static void test_udmabuf_over_limit(void **state)
{
	struct tcase *t = tc_require(state);
	struct backend_request req = { .size = t->be.max_size + 1 };
	struct backend_buffer out;

	assert_int_equal(-EFBIG, tc_alloc(t, &req, &out));
	req.size = t->be.max_size;
	assert_int_equal(0, tc_alloc(t, &req, &out));
	kit_expect_dmabuf(out.fd, t->be.max_size);
	close(out.fd);
	tc_no_leak(t);
}

/* What udmabuf would refuse is refused before it, and the client's memfd
 * keeps its seals. */
static void test_udmabuf_pin_refused(void **state)
{
	struct tcase *t = tc_require(state);
	uint64_t page = (uint64_t)getpagesize(), len = 4 * page;
	int unsealed = kit_sealed_memfd(len, 0);
	int wsealed = kit_sealed_memfd(len, F_SEAL_SHRINK | F_SEAL_WRITE);
	int fwsealed = kit_sealed_memfd(len, F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE);
	int good = kit_sealed_memfd(len, F_SEAL_SHRINK);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	const struct { int fd; uint64_t offset, length; } bad[] = {
		{ unsealed, 0, len }, { wsealed, 0, len }, { fwsealed, 0, len },
		{ null, 0, page }, { good, 100, page }, { good, 0, page + 1 },
		{ good, 0, 0 }, { good, 2 * page, 4 * page },
		{ good, UINT64_MAX & ~(page - 1), 2 * page },
	};
	struct backend_buffer out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int seals = fcntl(bad[i].fd, F_GET_SEALS);

		out.fd = -1;
		assert_int_equal(-EINVAL, t->be.desc->ops->pin(&t->be,
				 bad[i].fd, bad[i].offset, bad[i].length,
				 "bad", &out));
		assert_int_equal(-1, out.fd);
		assert_int_equal(seals, fcntl(bad[i].fd, F_GET_SEALS));
	}
	close(unsealed);
	close(wsealed);
	close(fwsealed);
	close(good);
	close(null);
	tc_no_leak(t);
}

/* ---- allocation ---- */

static void release(struct tcase *t, struct backend_buffer *b)
{
	if (t->be.desc->ops->release && b->priv)
		t->be.desc->ops->release(&t->be, b->priv);
	close(b->fd);
}

static void test_alloc_raw(void **state)
{
	struct backend_request req = { .size = 3 * MIB + 1, .name = "raw" };
	struct tcase *t = tc_require(state);
	struct backend_buffer out;

	assert_int_equal(0, tc_alloc(t, &req, &out));
	assert_in_range(out.size, req.size, req.size + 64 * 1024);
	assert_int_equal(0, out.layout.nplanes);
	kit_expect_dmabuf(out.fd, out.size);
	kit_expect_bytes(out.fd, out.size, 0x5eed);
	release(t, &out);
	tc_no_leak(t);
}

static void print_layout(const struct tcase *t, const struct backend_buffer *b)
{
	const struct imgfmt_layout *l = &b->layout;
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "# %s %.4s %ux%u: %llu bytes",
		     t->backend, (const char *)&l->fourcc, l->width, l->height,
		     (unsigned long long)b->size);
	for (unsigned i = 0; i < l->nplanes && n > 0 &&
	     (size_t)n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      ", plane %u at %u stride %u", i,
			      l->planes[i].offset, l->planes[i].stride);
	print_message("%s\n", line);
}

/* The backend lays the image out, LINEAR, within the buffer: strides
 * aligned as imgfmt promises, or the driver's pitch. */
static void test_alloc_image(void **state)
{
	struct tcase *t = tc_require(state);
	const struct imgfmt_format *f = imgfmt_lookup(t->fourcc);
	struct backend_request req = {
		.fourcc = t->fourcc, .width = t->width, .height = t->height,
		.modifier = DRM_FORMAT_MOD_LINEAR, .name = "image",
	};
	const struct imgfmt_layout *l;
	struct backend_buffer out;
	char why[160] = "";
	int ret;

	assert_int_equal(0, tc_alloc(t, &req, &out));
	l = &out.layout;
	print_layout(t, &out);
	assert_int_equal(t->fourcc, l->fourcc);
	assert_int_equal(t->width, l->width);
	assert_int_equal(t->height, l->height);
	assert_int_equal(f->nplanes, l->nplanes);
	assert_int_equal(DRM_FORMAT_MOD_LINEAR, l->modifier);
	ret = imgfmt_check(l, out.size, why, sizeof(why));
	if (ret)
		print_message("# imgfmt_check: %s\n", why);
	assert_int_equal(0, ret);
	for (unsigned i = 0; i < l->nplanes; i++)
		if (!t->be.desc->caps.driver_layout)
			assert_int_equal(0, l->planes[i].stride %
					 IMGFMT_STRIDE_ALIGN);
	kit_expect_dmabuf(out.fd, out.size);
	kit_expect_bytes(out.fd, out.size, t->fourcc);
	release(t, &out);
	tc_no_leak(t);
}

static void test_heap_contiguous(void **state)
{
	struct backend_request req = {
		.size = MIB, .flags = BACKEND_ALLOC_CONTIGUOUS,
	};
	struct tcase *t = tc_require(state);
	struct backend_buffer out;

	if (strstr(t->be.detail, "no contiguous heap")) {
		print_message("# none of the heaps \"%s\" is a CMA heap: %s\n",
			      t->cfg.heaps, t->be.detail);
		skip();
	}
	assert_int_equal(0, tc_alloc(t, &req, &out));
	kit_expect_dmabuf(out.fd, out.size);
	kit_expect_bytes(out.fd, out.size, 0xc0a);
	release(t, &out);
	tc_no_leak(t);
}

/* A dma-buf of a range of the client's memfd shares its pages: what one
 * side writes, the other reads. */
static void test_udmabuf_pin(void **state)
{
	struct tcase *t = tc_require(state);
	size_t page = (size_t)getpagesize(), len = 16 * page, plen = 8 * page;
	int memfd = kit_sealed_memfd(len, F_SEAL_SHRINK);
	uint8_t *mem, *dm;
	struct backend_buffer out;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(mem != MAP_FAILED);
	kit_fill((uint32_t *)mem, len, 7);
	assert_int_equal(0, t->be.desc->ops->pin(&t->be, memfd, 4 * page,
						 plen, "pinned", &out));
	assert_int_equal(plen, out.size);
	assert_int_equal(0, out.layout.nplanes);
	kit_expect_dmabuf(out.fd, plen);
	dm = mmap(NULL, plen, PROT_READ | PROT_WRITE, MAP_SHARED, out.fd, 0);
	assert_true(dm != MAP_FAILED);
	kit_sync(out.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	assert_memory_equal(mem + 4 * page, dm, plen);
	kit_fill((uint32_t *)dm, plen, 9);
	kit_sync(out.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	assert_int_equal(-1, kit_check((uint32_t *)(mem + 4 * page), plen, 9));
	assert_int_equal(F_SEAL_SHRINK, fcntl(memfd, F_GET_SEALS));
	munmap(dm, plen);
	munmap(mem, len);
	release(t, &out);
	close(memfd);
	tc_no_leak(t);
}

/* ---- from the worker thread ---- */

#define THREAD_ALLOCS 8
#define THREAD_SIZE (256u * 1024u)

struct alloc_thread {
	struct tcase *t;
	int ret;
	int fds[THREAD_ALLOCS];
};

/* Records results only: cmocka's assertions belong to the main thread. */
static void *alloc_thread_run(void *arg)
{
	struct alloc_thread *a = arg;
	struct backend_request req = { .size = THREAD_SIZE, .name = "thread" };

	for (int i = 0; i < THREAD_ALLOCS && a->ret == 0; i++) {
		struct backend_buffer out = { .fd = -1 };

		a->ret = a->t->be.desc->ops->alloc(&a->t->be, &req, &out);
		a->fds[i] = out.fd;
	}
	return NULL;
}

/* Two threads allocate at once, as the worker and the event loop may,
 * and neither changes the probed backend. */
static void test_alloc_threads(void **state)
{
	struct tcase *t = tc_require(state);
	struct alloc_thread a[2] = { { .t = t }, { .t = t } };
	struct backend before = t->be;
	pthread_t th[2];

	for (int j = 0; j < 2; j++)
		for (int i = 0; i < THREAD_ALLOCS; i++)
			a[j].fds[i] = -1;
	for (int j = 0; j < 2; j++)
		assert_int_equal(0, pthread_create(&th[j], NULL,
						   alloc_thread_run, &a[j]));
	for (int j = 0; j < 2; j++)
		assert_int_equal(0, pthread_join(th[j], NULL));
	assert_memory_equal(&before, &t->be, sizeof(before));
	for (int j = 0; j < 2; j++) {
		assert_int_equal(0, a[j].ret);
		for (int i = 0; i < THREAD_ALLOCS; i++) {
			kit_expect_dmabuf(a[j].fds[i], THREAD_SIZE);
			close(a[j].fds[i]);
		}
	}
	tc_no_leak(t);
}

/* ---- a real importer ---- */

static void test_vgem_import(void **state)
{
	struct backend_request req = { .size = MIB, .name = "import" };
	struct tcase *t = tc_require(state);
	struct drm_gem_close gc = { 0 };
	struct backend_buffer out;
	struct stat ours, back;
	int vgem = kit_open_vgem(), again;

	if (vgem < 0) {
		print_message("# no vgem device (modprobe vgem)\n");
		skip();
	}
	assert_int_equal(0, tc_alloc(t, &req, &out));
	kit_expect_bytes(out.fd, out.size, 0x1e9);
	/* Import attaches vgem's device and DMA-maps the buffer for it. */
	assert_int_equal(0, drmPrimeFDToHandle(vgem, out.fd, &gc.handle));
	assert_int_equal(0, drmPrimeHandleToFD(vgem, gc.handle, DRM_CLOEXEC,
					       &again));
	assert_int_equal(0, fstat(out.fd, &ours));
	assert_int_equal(0, fstat(again, &back));
	assert_int_equal(ours.st_ino, back.st_ino);
	close(again);
	kit_expect_fence_shared(vgem, gc.handle, out.fd);
	kit_expect_vgem_mapping(vgem, gc.handle, out.size, 0x1e9);
	assert_int_equal(0, drmIoctl(vgem, DRM_IOCTL_GEM_CLOSE, &gc));
	release(t, &out);
	close(vgem);
	tc_no_leak(t);
}

/* ---- the cases ---- */

#define IMAGE(be, fmt, w, h) \
	{ .backend = be, .fourcc = DRM_FORMAT_##fmt, .width = w, .height = h }

static struct tcase heap = { .backend = "heap" };
static struct tcase heap_unknown = {
	.backend = "heap", .heaps = "nosuch no,such",
};
static struct tcase heap_mixed = {
	.backend = "heap", .heaps = "nosuch ../system system",
};
static struct tcase heap_system = { .backend = "heap", .heaps = "system" };
static struct tcase heap_yuyv = IMAGE("heap", YUYV, 640, 480);
static struct tcase heap_nv12 = IMAGE("heap", NV12, 640, 480);
static struct tcase heap_xrgb = IMAGE("heap", XRGB8888, 1920, 1080);
static struct tcase udmabuf = { .backend = "udmabuf" };
static struct tcase udmabuf_yuyv = IMAGE("udmabuf", YUYV, 640, 480);
static struct tcase udmabuf_nv12 = IMAGE("udmabuf", NV12, 640, 480);
static struct tcase udmabuf_xrgb = IMAGE("udmabuf", XRGB8888, 1920, 1080);
static struct tcase drm = { .backend = "drm" };
static struct tcase drm_missing = {
	.backend = "drm", .drm_device = "/nonexistent/card0",
};
static struct tcase drm_null = { .backend = "drm", .drm_device = "/dev/null" };
static struct tcase drm_render = {
	.backend = "drm", .drm_device = "/dev/dri/renderD128",
};
static struct tcase drm_yuyv = IMAGE("drm", YUYV, 640, 480);
static struct tcase drm_nv12 = IMAGE("drm", NV12, 640, 480);
static struct tcase drm_xrgb = IMAGE("drm", XRGB8888, 1920, 1080);

#define T(name, fn, tc) { name, fn, tc_setup, tc_teardown, tc }

static const struct CMUnitTest backends_tests[] = {
	T("heap: unknown heap names: probe fails, ENOENT",
	  test_heap_unknown_names, &heap_unknown),
	T("heap: probe", test_probe, &heap),
	T("heap: heaps that do not open are passed over",
	  test_heap_passes_over_unknown, &heap_mixed),
	T("heap: bad requests: EINVAL", test_bad_requests, &heap),
	T("heap: contiguous from the system heap: EOPNOTSUPP",
	  test_contiguous_refused, &heap_system),
	T("heap: read-only export: EOPNOTSUPP", test_read_only_refused,
	  &heap),
	T("heap: raw alloc", test_alloc_raw, &heap),
	T("heap: YUYV 640x480", test_alloc_image, &heap_yuyv),
	T("heap: NV12 640x480", test_alloc_image, &heap_nv12),
	T("heap: XRGB8888 1920x1080", test_alloc_image, &heap_xrgb),
	T("heap: contiguous from a CMA heap", test_heap_contiguous,
	  &heap),
	T("heap: allocations from two threads at once", test_alloc_threads,
	  &heap),
	T("heap: vgem imports a buffer", test_vgem_import, &heap),

	T("udmabuf: probe", test_probe, &udmabuf),
	T("udmabuf: bad requests: EINVAL", test_bad_requests, &udmabuf),
	T("udmabuf: contiguous: EOPNOTSUPP", test_contiguous_refused,
	  &udmabuf),
	T("udmabuf: past size_limit_mb: EFBIG", test_udmabuf_over_limit,
	  &udmabuf),
	T("udmabuf: pin of a bad range or memfd: EINVAL, seals kept",
	  test_udmabuf_pin_refused, &udmabuf),
	T("udmabuf: read-only export: EOPNOTSUPP",
	  test_read_only_refused, &udmabuf),
	T("udmabuf: raw alloc", test_alloc_raw, &udmabuf),
	T("udmabuf: YUYV 640x480", test_alloc_image, &udmabuf_yuyv),
	T("udmabuf: NV12 640x480", test_alloc_image, &udmabuf_nv12),
	T("udmabuf: XRGB8888 1920x1080", test_alloc_image,
	  &udmabuf_xrgb),
	T("udmabuf: pin shares the memfd's pages", test_udmabuf_pin,
	  &udmabuf),
	T("udmabuf: allocations from two threads at once", test_alloc_threads,
	  &udmabuf),
	T("udmabuf: vgem imports a buffer", test_vgem_import, &udmabuf),

	T("drm: missing node: probe fails, ENOENT",
	  test_drm_missing_node, &drm_missing),
	T("drm: not a DRM node: probe fails, ENODEV", test_drm_not_drm,
	  &drm_null),
	T("drm: render node: probe fails, ENODEV",
	  test_drm_render_node, &drm_render),
	T("drm: probe", test_probe, &drm),
	T("drm: bad requests: EINVAL", test_bad_requests, &drm),
	T("drm: contiguous: EOPNOTSUPP", test_contiguous_refused, &drm),
	T("drm: read-only export: EOPNOTSUPP", test_read_only_refused,
	  &drm),
	T("drm: raw alloc", test_alloc_raw, &drm),
	T("drm: YUYV 640x480", test_alloc_image, &drm_yuyv),
	T("drm: NV12 640x480", test_alloc_image, &drm_nv12),
	T("drm: XRGB8888 1920x1080", test_alloc_image, &drm_xrgb),
	T("drm: allocations from two threads at once", test_alloc_threads,
	  &drm),
	T("drm: vgem imports a buffer", test_vgem_import, &drm),
};

int main(void)
{
	return cmocka_run_group_tests_name("backends", backends_tests, NULL,
					   NULL);
}
