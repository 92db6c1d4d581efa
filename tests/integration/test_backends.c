/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of what the backends add: images laid out by the
 * allocator, what Backends reports, read-only enforced or refused, a
 * client's memfd pinned as a dma-buf (Pin) and a client's dma-buf
 * registered under a name (Adopt).  Each runs on the backend under test
 * (DBB_TEST_BACKEND: memfd on the host, every backend in the guests) and
 * checks what that backend promises.  Negative cases first.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <drm_fourcc.h>

#include "dmabuf-broker.h"
#include "harness.h"

#define PAGE 4096u

struct fixture {
	struct harness_daemon d;
	struct dbb_client *c;
	struct dbb_backend_list *backends;
	const struct dbb_backend *be;	/* the backend under test */
};

/* The default quota of 1,024 buffers; Alloc + Destroy + keep the fd up to
 * 3,000 times against it. */
#define QUOTA_BUFFERS 1024
#define QUOTA_TRIES 3000

static const char quota_config[] =
	"[quota]\n"
	"buffers = 1024\n";

static int fixture_start(void **state, const char *config)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || harness_daemon_start(&f->d, config) < 0 ||
	    dbb_client_connect(f->d.socket, "backends", &f->c) < 0 ||
	    dbb_backends(f->c, &f->backends) < 0)
		return -1;
	for (size_t i = 0; i < dbb_backend_list_count(f->backends); i++) {
		const struct dbb_backend *be = dbb_backend_list_get(f->backends, i);

		if (!strcmp(be->name, harness_backend()))
			f->be = be;
	}
	*state = f;
	return f->be ? 0 : -1;
}

static int setup(void **state)
{
	return fixture_start(state, NULL);
}

static int setup_quota(void **state)
{
	return fixture_start(state, quota_config);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	dbb_backend_list_free(f->backends);
	dbb_client_destroy(f->c);
	assert_int_equal(0, harness_daemon_stop(&f->d));
	free(f);
	return 0;
}

static int alloc_image(struct fixture *f, uint32_t fourcc, uint32_t w,
		       uint32_t h, const char *name, struct dbb_buffer **out)
{
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .fourcc = fourcc, .width = w,
				      .height = h, .name = name };

	return dbb_alloc(f->c, &p, out);
}

static void test_backends_reply(void **state)
{
	struct fixture *f = *state;
	bool adopted = false, yuyv = false;

	assert_true(f->be->available);
	assert_true(f->be->preferred);
	assert_int_equal(harness_backend_is_dmabuf(), f->be->is_dmabuf);
	assert_int_equal(harness_backend_read_only(), f->be->read_only);
	for (size_t i = 0; i < f->be->n_formats; i++)
		yuyv |= f->be->formats[i] == DRM_FORMAT_YUYV;
	assert_true(yuyv);
	for (size_t i = 0; i < dbb_backend_list_count(f->backends); i++) {
		const struct dbb_backend *be = dbb_backend_list_get(f->backends, i);

		if (!strcmp(be->name, "adopted")) {
			adopted = true;
			assert_true(be->is_dmabuf);
			assert_false(be->read_only);
			assert_int_equal(0, be->n_formats);
		}
	}
	assert_true(adopted);
}

static void test_image_alloc_refused(void **state)
{
	struct fixture *f = *state;
	struct dbb_image_layout l = { .struct_size = sizeof(l),
				      .fourcc = DRM_FORMAT_YUYV, .width = 64,
				      .height = 64, .n_planes = 1,
				      .planes = { { 0, 128 } } };
	uint64_t tiled = I915_FORMAT_MOD_X_TILED;
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .fourcc = DRM_FORMAT_YUYV, .width = 64,
				      .height = 64, .size = 8192 };
	struct dbb_buffer *b = NULL;

	assert_int_equal(-EINVAL, alloc_image(f, fourcc_code('Z', 'Z', 'Z', 'Z'),
					      64, 64, NULL, &b));
	assert_int_equal(-EINVAL, alloc_image(f, DRM_FORMAT_NV12, 63, 64, NULL, &b));
	assert_int_equal(-EINVAL, alloc_image(f, DRM_FORMAT_NV12, 64, 0, NULL, &b));
	p.layout = &l;
	assert_int_equal(-EINVAL, dbb_alloc(f->c, &p, &b));
	p.layout = NULL;
	p.modifiers = &tiled;
	p.n_modifiers = 1;
	assert_int_equal(-EOPNOTSUPP, dbb_alloc(f->c, &p, &b));
	p.modifiers = NULL;
	p.flags = 1u << 7;
	assert_int_equal(-EINVAL, dbb_alloc(f->c, &p, &b));
	p.flags = DBB_ALLOC_CONTIGUOUS;
	if (!f->be->contiguous)
		assert_int_equal(-EOPNOTSUPP, dbb_alloc(f->c, &p, &b));
	assert_null(b);
}

/* Checks the layout the allocator chose for @fourcc @w x @h. */
static void check_layout(const struct fixture *f,
			 const struct dbb_buffer_info *in, uint32_t fourcc,
			 uint32_t w, uint32_t h, unsigned nplanes)
{
	const struct dbb_image_layout *l = in->layout;

	assert_non_null(in->layout);
	assert_int_equal(fourcc, l->fourcc);
	assert_int_equal(DRM_FORMAT_MOD_LINEAR, l->modifier);
	assert_int_equal(w, l->width);
	assert_int_equal(h, l->height);
	assert_int_equal(nplanes, l->n_planes);
	assert_int_equal(0, in->size % PAGE);
	/* The broker's own alignment, unless the driver's pitch rules. */
	for (unsigned i = 0; i < nplanes && !f->be->driver_layout; i++)
		assert_int_equal(0, l->planes[i].stride % 64);
	assert_in_range(l->planes[0].stride, (uint64_t)w * (nplanes == 1 ? 2 : 1),
			UINT32_MAX);
	if (nplanes == 2) {
		/* NV12: CbCr right after the luma rows, same stride (V4L2). */
		assert_int_equal((uint64_t)l->planes[0].stride * h,
				 l->planes[1].offset);
		assert_int_equal(l->planes[0].stride, l->planes[1].stride);
		assert_in_range(l->planes[1].offset + (uint64_t)l->planes[1].stride * h / 2,
				0, in->size);
	} else {
		assert_in_range((uint64_t)l->planes[0].stride * h, 0, in->size);
	}
}

static void test_image_alloc_laid_out(void **state)
{
	struct fixture *f = *state;
	struct dbb_buffer *b = NULL;
	void *m = NULL;

	assert_int_equal(0, alloc_image(f, DRM_FORMAT_YUYV, 640, 480,
					"cam/yuyv", &b));
	check_layout(f, dbb_buffer_get_info(b), DRM_FORMAT_YUYV, 640, 480, 1);
	assert_string_equal(harness_backend(), dbb_buffer_get_info(b)->backend);
	assert_int_equal(0, dbb_buffer_map(b, true, &m));
	assert_int_equal(0, dbb_buffer_begin_cpu_access(b, DBB_SYNC_WRITE));
	harness_fill(m, dbb_buffer_get_info(b)->size, 7);
	assert_int_equal(0, dbb_buffer_end_cpu_access(b, DBB_SYNC_WRITE));
	assert_int_equal(-1, harness_check(m, dbb_buffer_get_info(b)->size, 7));
	assert_int_equal(0, dbb_buffer_unmap(b, m));
	dbb_buffer_free(b);

	assert_int_equal(0, alloc_image(f, DRM_FORMAT_NV12, 640, 480,
					"cam/nv12", &b));
	check_layout(f, dbb_buffer_get_info(b), DRM_FORMAT_NV12, 640, 480, 2);
	dbb_buffer_free(b);
}

/* A read-only import by another connection: an fd that refuses writable
 * mappings where the backend enforces it, else -EOPNOTSUPP. */
static void test_read_only_enforced_or_refused(void **state)
{
	struct fixture *f = *state;
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .size = 2 * PAGE, .name = "ro/0" };
	struct dbb_client *other = NULL;
	struct dbb_buffer *b = NULL, *ro = NULL;
	void *m = NULL;
	int ret;

	assert_int_equal(0, dbb_alloc(f->c, &p, &b));
	assert_int_equal(0, dbb_client_connect(f->d.socket, "reader", &other));
	ret = dbb_open_by_name(other, "ro/0", true, &ro);
	ret = ret ? ret : dbb_grant(f->c, dbb_buffer_get_info(b)->id,
				    DBB_GRANT_EVERYONE, 0, DBB_ACCESS_READ);
	if (!f->be->read_only) {
		assert_int_equal(-EOPNOTSUPP, ret);
		assert_null(ro);
		assert_non_null(strstr(dbb_client_last_error(other),
				       "cannot enforce read-only"));
	} else {
		assert_int_equal(0, ret);
		assert_true(dbb_buffer_get_info(ro)->read_only);
		assert_true(dbb_buffer_map(ro, true, &m) < 0);
		assert_int_equal(0, dbb_buffer_map(ro, false, &m));
		assert_int_equal(0, dbb_buffer_unmap(ro, m));
	}
	dbb_buffer_free(ro);
	dbb_client_destroy(other);
	dbb_buffer_free(b);
}

/* A memfd of @pages pages sealed against shrinking, filled with @seed. */
static int sealed_memfd(unsigned pages, uint32_t seed, bool seal)
{
	int fd = memfd_create("pin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *m;

	assert_true(fd >= 0);
	assert_int_equal(0, ftruncate(fd, pages * PAGE));
	m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	harness_fill(m, pages * PAGE, seed);
	munmap(m, pages * PAGE);
	if (seal)
		assert_int_equal(0, fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	return fd;
}

static void test_pin_memfd(void **state)
{
	struct fixture *f = *state;
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .name = "pinned/0" };
	int fd = sealed_memfd(4, 3, true), loose = sealed_memfd(4, 3, false);
	int pipefd[2];
	struct dbb_buffer *b = NULL;
	void *m = NULL, *src;

	assert_int_equal(0, pipe2(pipefd, O_CLOEXEC));
	if (!f->be->pin) {
		/* Only the backend under test is configured. */
		assert_int_equal(-ENODEV, dbb_pin_memfd(f->c, fd, 0, PAGE, &p, &b));
		goto out;
	}
	assert_int_equal(-EINVAL, dbb_pin_memfd(f->c, loose, 0, PAGE, &p, &b));
	assert_int_equal(-EINVAL, dbb_pin_memfd(f->c, pipefd[0], 0, PAGE, &p, &b));
	assert_int_equal(-EINVAL, dbb_pin_memfd(f->c, fd, 1, PAGE, &p, &b));
	assert_int_equal(-EINVAL, dbb_pin_memfd(f->c, fd, 0, 5 * PAGE, &p, &b));
	assert_int_equal(-EINVAL, dbb_pin_memfd(f->c, fd, UINT64_MAX - PAGE + 1,
						PAGE, &p, &b));
	assert_int_equal(0, dbb_pin_memfd(f->c, fd, PAGE, 2 * PAGE, &p, &b));
	assert_true(dbb_buffer_get_info(b)->is_dmabuf);
	assert_int_equal(2 * PAGE, dbb_buffer_get_info(b)->size);
	/* The very pages: what the memfd says at page 1 the dma-buf says at 0,
	 * and a write through the memfd shows in the dma-buf. */
	src = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(src != MAP_FAILED);
	assert_int_equal(0, dbb_buffer_map(b, true, &m));
	assert_memory_equal((char *)src + PAGE, m, 2 * PAGE);
	memset((char *)src + PAGE, 0x5a, 16);
	assert_int_equal(0, dbb_buffer_begin_cpu_access(b, DBB_SYNC_READ));
	assert_int_equal(0x5a, ((unsigned char *)m)[15]);
	assert_int_equal(0, dbb_buffer_end_cpu_access(b, DBB_SYNC_READ));
	assert_int_equal(0, dbb_buffer_unmap(b, m));
	munmap(src, 4 * PAGE);
	dbb_buffer_free(b);
out:
	close(pipefd[0]);
	close(pipefd[1]);
	close(loose);
	close(fd);
}

static void test_adopt_dmabuf(void **state)
{
	struct fixture *f = *state;
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .size = 3 * PAGE, .name = "orig/0" };
	struct dbb_alloc_params a = { .struct_size = sizeof(a),
				      .name = "adopted/0" };
	struct dbb_buffer *b = NULL, *ad = NULL, *im = NULL;
	int memfd = sealed_memfd(1, 1, true);
	struct stat s1, s2;

	assert_int_equal(-EINVAL, dbb_register_fd(f->c, memfd, &a, &ad));
	close(memfd);
	if (!f->be->is_dmabuf)
		return;	/* nothing here makes a dma-buf but the broker */
	assert_int_equal(0, dbb_alloc(f->c, &p, &b));
	assert_int_equal(0, dbb_register_fd(f->c, dbb_buffer_get_fd(b), &a, &ad));
	assert_string_equal("adopted", dbb_buffer_get_info(ad)->backend);
	assert_int_equal(dbb_buffer_get_info(b)->size,
			 dbb_buffer_get_info(ad)->size);
	/* The broker keeps a reference: the original may go away. */
	assert_int_equal(0, dbb_remove(f->c, dbb_buffer_get_info(b)->id));
	assert_int_equal(0, fstat(dbb_buffer_get_fd(b), &s1));
	dbb_buffer_free(b);
	assert_int_equal(-EOPNOTSUPP, dbb_open_by_name(f->c, "adopted/0",
							 true, &im));
	assert_int_equal(0, dbb_open_by_name(f->c, "adopted/0", false, &im));
	assert_int_equal(0, fstat(dbb_buffer_get_fd(im), &s2));
	assert_int_equal(s1.st_ino, s2.st_ino);
	dbb_buffer_free(im);
	dbb_buffer_free(ad);
}

/*
 * Quota is memory: Alloc, Destroy, keep the fd, again and again.  Where the
 * backend's releases are reported, the buffers kept count until their fds
 * are closed; elsewhere (dma-bufs on kernels that report no release) only
 * until Destroy, and Backends says so.
 */
static void test_quota_until_memory_freed(void **state)
{
	struct fixture *f = *state;
	struct dbb_alloc_params p = { .struct_size = sizeof(p), .size = PAGE };
	int *kept = calloc(QUOTA_TRIES, sizeof(*kept));
	struct rlimit rl;
	int n = 0, ret = 0;
	struct dbb_buffer *b;
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int64_t deadline;

	/* Room to keep every fd (the soft limit is often 1,024). */
	assert_non_null(kept);
	assert_int_equal(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < QUOTA_TRIES + 64)
		skip();
	rl.rlim_cur = QUOTA_TRIES + 64;
	assert_int_equal(0, setrlimit(RLIMIT_NOFILE, &rl));
	printf("# %s: releases %sreported\n", f->be->name,
	       f->be->release_tracked ? "" : "not ");
	for (n = 0; n < QUOTA_TRIES; n++) {
		b = NULL;
		ret = dbb_alloc(f->c, &p, &b);
		if (ret < 0)
			break;
		assert_int_equal(0, dbb_remove(f->c, dbb_buffer_get_info(b)->id));
		kept[n] = dbb_buffer_take_fd(b);
		dbb_buffer_free(b);
	}
	if (!f->be->release_tracked) {
		assert_int_equal(QUOTA_TRIES, n);
	} else {
		assert_int_equal(-EDQUOT, ret);
		assert_int_equal(QUOTA_BUFFERS, n);
		assert_int_equal(0, dbb_stats(f->c, &st));
		assert_int_equal(QUOTA_BUFFERS, st.my_buffers);
		assert_int_equal(0, st.buffers);
	}
	for (int i = 0; i < n; i++)
		close(kept[i]);
	free(kept);
	/* The releases arrive on the broker's loop: wait for them. */
	deadline = harness_now_ms() + harness_timeout_ms(10000);
	do {
		assert_int_equal(0, dbb_stats(f->c, &st));
	} while (st.my_buffers && harness_now_ms() < deadline);
	assert_int_equal(0, st.my_buffers);
	assert_int_equal(0, dbb_alloc(f->c, &p, &b));
	dbb_buffer_free(b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_backends_reply),
		T(test_image_alloc_refused),
		T(test_image_alloc_laid_out),
		T(test_read_only_enforced_or_refused),
		T(test_pin_memfd),
		T(test_adopt_dmabuf),
		cmocka_unit_test_setup_teardown(test_quota_until_memory_freed,
						setup_quota, teardown),
	};

	return cmocka_run_group_tests_name("backends", tests, NULL, NULL);
}
