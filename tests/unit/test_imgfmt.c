/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the layout check (common/imgfmt.c): what the broker
 * refuses before it records an image layout on a buffer, and the table
 * dmabuf-ctl builds layouts from.  Links only imgfmt.o.  Negative cases
 * first.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <drm_fourcc.h>

#include "imgfmt.h"

/* XR24 64x64, one linear plane of stride 256: 16,384 bytes. */
static struct imgfmt_layout xr24_64(void)
{
	return (struct imgfmt_layout){
		.fourcc = DRM_FORMAT_XRGB8888, .width = 64, .height = 64,
		.nplanes = 1, .modifier = DRM_FORMAT_MOD_LINEAR,
		.planes = { { 0, 256 } },
	};
}

/* NV12 64x64: luma 64 x 64 rows, CbCr 64 x 32 rows at 4096: 6,144 bytes. */
static struct imgfmt_layout nv12_64(void)
{
	return (struct imgfmt_layout){
		.fourcc = DRM_FORMAT_NV12, .width = 64, .height = 64,
		.nplanes = 2, .modifier = DRM_FORMAT_MOD_LINEAR,
		.planes = { { 0, 64 }, { 4096, 64 } },
	};
}

/* Checks that @l is refused for @size with a reason containing @what. */
static void refused(const struct imgfmt_layout *l, uint64_t size,
		    const char *what)
{
	char why[128] = "";

	assert_int_equal(-EINVAL, imgfmt_check(l, size, why, sizeof(why)));
	if (!strstr(why, what))
		fail_msg("reason '%s' does not say '%s'", why, what);
	/* No reason buffer is fine too. */
	assert_int_equal(-EINVAL, imgfmt_check(l, size, NULL, 0));
}

static void test_zero_fields_refused(void **state)
{
	struct imgfmt_layout l = xr24_64();

	l.fourcc = 0;
	refused(&l, 1 << 20, "fourcc is 0");
	l = xr24_64();
	l.width = 0;
	refused(&l, 1 << 20, "width and height");
	l = xr24_64();
	l.height = 0;
	refused(&l, 1 << 20, "width and height");
	l = xr24_64();
	l.planes[0].stride = 0;
	refused(&l, 1 << 20, "stride is 0");
	/* Stride 0 is refused for formats not known here too. */
	l.fourcc = fourcc_code('Z', 'Z', 'Z', 'Z');
	refused(&l, 1 << 20, "stride is 0");
}

static void test_plane_count_refused(void **state)
{
	struct imgfmt_layout l = xr24_64();

	l.nplanes = 0;
	refused(&l, 1 << 20, "0 planes");
	l.nplanes = IMGFMT_MAX_PLANES + 1;
	refused(&l, 1 << 20, "5 planes");
	l.nplanes = UINT32_MAX;
	refused(&l, 1 << 20, "planes");
	/* A known linear format needs its own plane count. */
	l = nv12_64();
	l.nplanes = 1;
	refused(&l, 1 << 20, "NV12 needs 2 plane(s), not 1");
	l = xr24_64();
	l.nplanes = 2;
	l.planes[1] = (struct imgfmt_plane){ 16384, 256 };
	refused(&l, 1 << 20, "XR24 needs 1 plane(s), not 2");
}

/* The case review found: 64x64 XR24 on a 4 KiB buffer. */
static void test_image_larger_than_buffer_refused(void **state)
{
	struct imgfmt_layout l = xr24_64();

	refused(&l, 4096, "exceeds the buffer's 4096 bytes");
	refused(&l, 16383, "exceeds");
	/* An offset pushing a fitting plane past the end. */
	l.planes[0].offset = 1;
	refused(&l, 16384, "plane 0: offset 1");
	/* Formats not known here get the same bounds check. */
	l = xr24_64();
	l.fourcc = fourcc_code('Z', 'Z', 'Z', 'Z');
	refused(&l, 16383, "exceeds");
	/* Tiled modifiers too. */
	l = xr24_64();
	l.modifier = I915_FORMAT_MOD_X_TILED;
	refused(&l, 16383, "exceeds");
}

/* The CbCr plane of NV12 has half the rows. */
static void test_chroma_plane_bounds(void **state)
{
	struct imgfmt_layout l = nv12_64();

	refused(&l, 6143, "plane 1: offset 4096 + stride 64 x 32 rows");
	assert_int_equal(0, imgfmt_check(&l, 6144, NULL, 0));
	/* Odd heights round the chroma rows up. */
	l.height = 63;
	l.planes[1].offset = 64 * 63;
	refused(&l, 64 * 63 + 64 * 32 - 1, "x 32 rows");
	assert_int_equal(0, imgfmt_check(&l, 64 * 63 + 64 * 32, NULL, 0));
}

/* Products that wrap in 32 bits must not let a plane through. */
static void test_no_wraparound(void **state)
{
	struct imgfmt_layout l = {
		.fourcc = DRM_FORMAT_R8, .width = 1, .height = 0x10000,
		.nplanes = 1, .planes = { { 0, 0x10000 } },
	};

	refused(&l, 4096, "exceeds");	/* 2^32 bytes, 0 in 32 bits */
	l.planes[0] = (struct imgfmt_plane){ UINT32_MAX, UINT32_MAX };
	l.height = UINT32_MAX;
	refused(&l, UINT32_MAX, "exceeds");
	refused(&l, (uint64_t)UINT32_MAX * UINT32_MAX + UINT32_MAX - 1,
		"exceeds");
	assert_int_equal(0, imgfmt_check(&l, UINT64_MAX, NULL, 0));
}

static void test_stride_below_width_refused(void **state)
{
	struct imgfmt_layout l = xr24_64();

	l.planes[0].stride = 255;
	refused(&l, 1 << 20, "plane 0: stride 255 is below 256");
	l = xr24_64();
	l.fourcc = DRM_FORMAT_RGB888;
	l.planes[0].stride = 191;
	refused(&l, 1 << 20, "below 192");
	/* NV12 63 pixels wide: 32 CbCr pairs of 2 bytes. */
	l = nv12_64();
	l.width = 63;
	l.planes[1].stride = 63;
	refused(&l, 1 << 20, "plane 1: stride 63 is below 64");
}

static void test_valid_layouts(void **state)
{
	struct imgfmt_layout l = xr24_64();

	assert_int_equal(0, imgfmt_check(&l, 16384, NULL, 0));
	assert_int_equal(0, imgfmt_check(&l, 1 << 20, NULL, 0));
	/* Padding between rows and planes is fine. */
	l.planes[0] = (struct imgfmt_plane){ 4096, 512 };
	assert_int_equal(0, imgfmt_check(&l, 4096 + 512 * 64, NULL, 0));
	/* Tiled: only the bounds apply (stride and planes are the driver's). */
	l = xr24_64();
	l.modifier = I915_FORMAT_MOD_Y_TILED;
	l.planes[0].stride = 128;
	l.nplanes = 2;
	l.planes[1] = (struct imgfmt_plane){ 8192, 128 };
	assert_int_equal(0, imgfmt_check(&l, 16384, NULL, 0));
	/* Not known here: bounds only, any plane count up to 4. */
	l = (struct imgfmt_layout){
		.fourcc = fourcc_code('Z', 'Z', 'Z', 'Z'), .width = 100,
		.height = 10, .nplanes = 4,
		.planes = { { 0, 1 }, { 10, 1 }, { 20, 1 }, { 30, 1 } },
	};
	assert_int_equal(0, imgfmt_check(&l, 40, NULL, 0));
	/* YUV420 65x65: chroma planes of 33 x 33. */
	l = (struct imgfmt_layout){
		.fourcc = DRM_FORMAT_YUV420, .width = 65, .height = 65,
		.nplanes = 3,
		.planes = { { 0, 65 }, { 4225, 33 }, { 5314, 33 } },
	};
	assert_int_equal(0, imgfmt_check(&l, 6403, NULL, 0));
	refused(&l, 6402, "plane 2");
}

static void test_table(void **state)
{
	const struct imgfmt_format *f;

	assert_null(imgfmt_lookup(0));
	assert_null(imgfmt_lookup(fourcc_code('Z', 'Z', 'Z', 'Z')));
	f = imgfmt_lookup(DRM_FORMAT_XRGB8888);
	assert_non_null(f);
	assert_int_equal(1, f->nplanes);
	assert_int_equal(256, imgfmt_min_stride(f, 0, 64));
	assert_int_equal(64, imgfmt_plane_height(f, 0, 64));
	f = imgfmt_lookup(DRM_FORMAT_NV12);
	assert_non_null(f);
	assert_int_equal(2, f->nplanes);
	assert_int_equal(63, imgfmt_min_stride(f, 0, 63));
	assert_int_equal(64, imgfmt_min_stride(f, 1, 63));
	assert_int_equal(32, imgfmt_plane_height(f, 1, 63));
	assert_int_equal(63, imgfmt_plane_height(NULL, 1, 63));
}

static void test_linear_refused(void **state)
{
	struct imgfmt_layout l;
	uint64_t size;

	assert_int_equal(-EINVAL, imgfmt_layout_linear(fourcc_code('Z', 'Z', 'Z', 'Z'),
						       64, 64, 0, &l, &size));
	assert_int_equal(-EINVAL, imgfmt_layout_linear(DRM_FORMAT_NV12, 0, 64, 0,
						       &l, &size));
	/* 4:2:0 needs even sizes; a stride below the width is refused. */
	assert_int_equal(-EINVAL, imgfmt_layout_linear(DRM_FORMAT_NV12, 63, 64, 0,
						       &l, &size));
	assert_int_equal(-EINVAL, imgfmt_layout_linear(DRM_FORMAT_YUYV, 640, 480,
						       1278, &l, &size));
	/* YUV420's chroma stride is half the luma stride: it must be whole. */
	assert_int_equal(-EINVAL, imgfmt_layout_linear(DRM_FORMAT_YUV420, 64, 64,
						       129, &l, &size));
	assert_int_equal(-EOVERFLOW, imgfmt_layout_linear(DRM_FORMAT_ABGR16161616F,
							  UINT32_MAX / 4, 1, 0,
							  &l, &size));
}

static void test_linear_layouts(void **state)
{
	struct imgfmt_layout l;
	uint64_t size;

	assert_int_equal(0, imgfmt_layout_linear(DRM_FORMAT_YUYV, 640, 480, 0,
						 &l, &size));
	assert_int_equal(1, l.nplanes);
	assert_int_equal(1280, l.planes[0].stride);
	assert_int_equal(640 * 480 * 2, size);
	assert_int_equal(0, imgfmt_check(&l, size, NULL, 0));

	/* NV12 100x50: luma stride aligned to 128 (chroma = luma stride). */
	assert_int_equal(0, imgfmt_layout_linear(DRM_FORMAT_NV12, 100, 50, 0,
						 &l, &size));
	assert_int_equal(2, l.nplanes);
	assert_int_equal(128, l.planes[0].stride);
	assert_int_equal(128, l.planes[1].stride);
	assert_int_equal(128 * 50, l.planes[1].offset);
	assert_int_equal(128 * 75, size);
	assert_int_equal(0, imgfmt_check(&l, size, NULL, 0));

	/* YUV420 640x480: chroma planes of half the stride, packed. */
	assert_int_equal(0, imgfmt_layout_linear(DRM_FORMAT_YUV420, 640, 480, 0,
						 &l, &size));
	assert_int_equal(3, l.nplanes);
	assert_int_equal(640, l.planes[0].stride);
	assert_int_equal(320, l.planes[1].stride);
	assert_int_equal(640 * 480, l.planes[1].offset);
	assert_int_equal(640 * 480 + 320 * 240, l.planes[2].offset);
	assert_int_equal(640 * 480 * 3 / 2, size);

	/* A driver's pitch is taken as the luma stride. */
	assert_int_equal(0, imgfmt_layout_linear(DRM_FORMAT_XRGB8888, 33, 2, 192,
						 &l, &size));
	assert_int_equal(192, l.planes[0].stride);
	assert_int_equal(384, size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_fields_refused),
		cmocka_unit_test(test_plane_count_refused),
		cmocka_unit_test(test_image_larger_than_buffer_refused),
		cmocka_unit_test(test_chroma_plane_bounds),
		cmocka_unit_test(test_no_wraparound),
		cmocka_unit_test(test_stride_below_width_refused),
		cmocka_unit_test(test_valid_layouts),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_linear_refused),
		cmocka_unit_test(test_linear_layouts),
	};

	return cmocka_run_group_tests_name("imgfmt", tests, NULL, NULL);
}
