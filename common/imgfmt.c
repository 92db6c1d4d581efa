/* SPDX-License-Identifier: MIT */
#include "imgfmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <drm_fourcc.h>

#define IMGFMT_RGB(fourcc, cpp) { fourcc, 1, { cpp }, 1, 1 }
#define IMGFMT_YUV(fourcc, n, c0, c1, c2, h, v) \
	{ fourcc, n, { c0, c1, c2 }, h, v }

static const struct imgfmt_format imgfmt_formats[] = {
	IMGFMT_RGB(DRM_FORMAT_XRGB8888, 4), IMGFMT_RGB(DRM_FORMAT_ARGB8888, 4),
	IMGFMT_RGB(DRM_FORMAT_XBGR8888, 4), IMGFMT_RGB(DRM_FORMAT_ABGR8888, 4),
	IMGFMT_RGB(DRM_FORMAT_RGBX8888, 4), IMGFMT_RGB(DRM_FORMAT_RGBA8888, 4),
	IMGFMT_RGB(DRM_FORMAT_BGRX8888, 4), IMGFMT_RGB(DRM_FORMAT_BGRA8888, 4),
	IMGFMT_RGB(DRM_FORMAT_XRGB2101010, 4), IMGFMT_RGB(DRM_FORMAT_ARGB2101010, 4),
	IMGFMT_RGB(DRM_FORMAT_XBGR2101010, 4), IMGFMT_RGB(DRM_FORMAT_ABGR2101010, 4),
	IMGFMT_RGB(DRM_FORMAT_XBGR16161616F, 8), IMGFMT_RGB(DRM_FORMAT_ABGR16161616F, 8),
	IMGFMT_RGB(DRM_FORMAT_RGB888, 3), IMGFMT_RGB(DRM_FORMAT_BGR888, 3),
	IMGFMT_RGB(DRM_FORMAT_RGB565, 2), IMGFMT_RGB(DRM_FORMAT_BGR565, 2),
	IMGFMT_RGB(DRM_FORMAT_R8, 1), IMGFMT_RGB(DRM_FORMAT_R16, 2),
	IMGFMT_RGB(DRM_FORMAT_GR88, 2),
	/* Packed 4:2:2: two bytes per pixel on average. */
	IMGFMT_RGB(DRM_FORMAT_YUYV, 2), IMGFMT_RGB(DRM_FORMAT_YVYU, 2),
	IMGFMT_RGB(DRM_FORMAT_UYVY, 2), IMGFMT_RGB(DRM_FORMAT_VYUY, 2),
	/* Luma plane, then interleaved or separate chroma planes. */
	IMGFMT_YUV(DRM_FORMAT_NV12, 2, 1, 2, 0, 2, 2),
	IMGFMT_YUV(DRM_FORMAT_NV21, 2, 1, 2, 0, 2, 2),
	IMGFMT_YUV(DRM_FORMAT_NV16, 2, 1, 2, 0, 2, 1),
	IMGFMT_YUV(DRM_FORMAT_NV61, 2, 1, 2, 0, 2, 1),
	IMGFMT_YUV(DRM_FORMAT_NV24, 2, 1, 2, 0, 1, 1),
	IMGFMT_YUV(DRM_FORMAT_NV42, 2, 1, 2, 0, 1, 1),
	IMGFMT_YUV(DRM_FORMAT_P010, 2, 2, 4, 0, 2, 2),
	IMGFMT_YUV(DRM_FORMAT_YUV420, 3, 1, 1, 1, 2, 2),
	IMGFMT_YUV(DRM_FORMAT_YVU420, 3, 1, 1, 1, 2, 2),
	IMGFMT_YUV(DRM_FORMAT_YUV422, 3, 1, 1, 1, 2, 1),
	IMGFMT_YUV(DRM_FORMAT_YVU422, 3, 1, 1, 1, 2, 1),
	IMGFMT_YUV(DRM_FORMAT_YUV444, 3, 1, 1, 1, 1, 1),
	IMGFMT_YUV(DRM_FORMAT_YVU444, 3, 1, 1, 1, 1, 1),
};

size_t imgfmt_count(void)
{
	return sizeof(imgfmt_formats) / sizeof(imgfmt_formats[0]);
}

const struct imgfmt_format *imgfmt_at(size_t i)
{
	return &imgfmt_formats[i];
}

const struct imgfmt_format *imgfmt_lookup(uint32_t fourcc)
{
	size_t n = sizeof(imgfmt_formats) / sizeof(imgfmt_formats[0]);

	for (size_t i = 0; i < n; i++)
		if (imgfmt_formats[i].fourcc == fourcc)
			return &imgfmt_formats[i];
	return NULL;
}

static uint32_t imgfmt_div_up(uint32_t v, uint32_t by)
{
	return v / by + (v % by != 0);
}

uint32_t imgfmt_plane_height(const struct imgfmt_format *f, unsigned plane,
			     uint32_t height)
{
	if (!f || plane == 0 || plane >= f->nplanes)
		return height;
	return imgfmt_div_up(height, f->vsub);
}

uint64_t imgfmt_min_stride(const struct imgfmt_format *f, unsigned plane,
			   uint32_t width)
{
	uint32_t pixels = plane ? imgfmt_div_up(width, f->hsub) : width;

	return (uint64_t)pixels * f->cpp[plane];
}

static int imgfmt_fail(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int imgfmt_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* "NV12" for a fourcc of printable characters, else "0x3231564e". */
static const char *imgfmt_name(uint32_t fourcc, char buf[static 11])
{
	for (unsigned i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)(fourcc >> (8 * i));

		if (c < 0x20 || c > 0x7e) {
			snprintf(buf, 11, "0x%08x", fourcc);
			return buf;
		}
		buf[i] = (char)c;
	}
	buf[4] = '\0';
	return buf;
}

/* Checks what a known format with a linear layout implies. */
static int imgfmt_check_linear(const struct imgfmt_layout *l,
			       const struct imgfmt_format *f, char *why,
			       size_t len)
{
	char name[11];

	if (l->nplanes != f->nplanes)
		return imgfmt_fail(why, len, "format %s needs %u plane(s), not %u",
				   imgfmt_name(l->fourcc, name), f->nplanes,
				   l->nplanes);
	for (unsigned i = 0; i < l->nplanes; i++) {
		uint64_t min = imgfmt_min_stride(f, i, l->width);

		if (l->planes[i].stride < min)
			return imgfmt_fail(why, len, "plane %u: stride %u is "
					   "below %llu (width %u)", i,
					   l->planes[i].stride,
					   (unsigned long long)min, l->width);
	}
	return 0;
}

int imgfmt_check(const struct imgfmt_layout *l, uint64_t size, char *why,
		 size_t len)
{
	const struct imgfmt_format *f = imgfmt_lookup(l->fourcc);

	if (l->fourcc == 0)
		return imgfmt_fail(why, len, "fourcc is 0");
	if (l->width == 0 || l->height == 0)
		return imgfmt_fail(why, len, "width and height must not be 0");
	if (l->nplanes < 1 || l->nplanes > IMGFMT_MAX_PLANES)
		return imgfmt_fail(why, len, "%u planes (1 to %u allowed)",
				   l->nplanes, IMGFMT_MAX_PLANES);
	for (unsigned i = 0; i < l->nplanes; i++) {
		const struct imgfmt_plane *p = &l->planes[i];
		uint32_t rows = imgfmt_plane_height(f, i, l->height);
		uint64_t bytes, end;

		if (p->stride == 0)
			return imgfmt_fail(why, len, "plane %u: stride is 0", i);
		if (__builtin_mul_overflow((uint64_t)p->stride, rows, &bytes) ||
		    __builtin_add_overflow(bytes, (uint64_t)p->offset, &end) ||
		    end > size)
			return imgfmt_fail(why, len, "plane %u: offset %u + stride "
					   "%u x %u rows exceeds the buffer's "
					   "%llu bytes", i, p->offset,
					   p->stride, rows,
					   (unsigned long long)size);
	}
	if (f && l->modifier == DRM_FORMAT_MOD_LINEAR)
		return imgfmt_check_linear(l, f, why, len);
	return 0;
}

/* Stride of chroma plane @plane when the luma stride is @stride0: what
 * V4L2 derives for its single-planar formats.  0 when it is not whole. */
static uint64_t imgfmt_chroma_stride(const struct imgfmt_format *f,
				     unsigned plane, uint64_t stride0)
{
	uint64_t num = stride0 * f->cpp[plane];
	uint64_t den = (uint64_t)f->hsub * f->cpp[0];

	return num % den ? 0 : num / den;
}

int imgfmt_layout_linear(uint32_t fourcc, uint32_t width, uint32_t height,
			 uint32_t stride0, struct imgfmt_layout *out,
			 uint64_t *size)
{
	const struct imgfmt_format *f = imgfmt_lookup(fourcc);
	uint64_t min0, align, offset = 0;

	if (!f || width == 0 || height == 0)
		return -EINVAL;
	if (f->nplanes > 1 && (width % f->hsub || height % f->vsub))
		return -EINVAL;
	min0 = imgfmt_min_stride(f, 0, width);
	/* Chroma strides are the luma stride / hsub: align the luma one
	 * hsub times more, so that each of them is aligned too. */
	align = (uint64_t)IMGFMT_STRIDE_ALIGN * (f->nplanes > 1 ? f->hsub : 1);
	if (stride0 == 0)
		stride0 = (uint32_t)((min0 + align - 1) / align * align);
	else if (stride0 < min0)
		return -EINVAL;
	if (min0 > UINT32_MAX - align)
		return -EOVERFLOW;
	*out = (struct imgfmt_layout){
		.fourcc = fourcc, .width = width, .height = height,
		.nplanes = f->nplanes, .modifier = DRM_FORMAT_MOD_LINEAR,
	};
	for (unsigned i = 0; i < f->nplanes; i++) {
		uint64_t stride = i ? imgfmt_chroma_stride(f, i, stride0) : stride0;
		uint64_t rows = imgfmt_plane_height(f, i, height);

		if (stride == 0 || stride < imgfmt_min_stride(f, i, width))
			return -EINVAL;
		if (offset > UINT32_MAX)
			return -EOVERFLOW;
		out->planes[i].offset = (uint32_t)offset;
		out->planes[i].stride = (uint32_t)stride;
		offset += stride * rows;
	}
	*size = offset;
	return 0;
}
