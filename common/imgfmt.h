/* SPDX-License-Identifier: MIT */
/*
 * Image layouts in DRM terms (fourcc, modifier, planes of offset/stride)
 * and what is known of the common formats: planes, bytes per pixel of each
 * plane, chroma subsampling.  libdrm has no such table in Debian 12's
 * 2.4.114 (drm_format_info is kernel-internal), so a small one lives here,
 * shared by the broker (which checks layouts against buffers) and
 * dmabuf-ctl (which builds them).
 */
#ifndef DBB_IMGFMT_H
#define DBB_IMGFMT_H

#include <stddef.h>
#include <stdint.h>

#define IMGFMT_MAX_PLANES 4

struct imgfmt_plane {
	uint32_t offset;
	uint32_t stride;
};

/* An image layout as a buffer carries it. */
struct imgfmt_layout {
	uint32_t fourcc;
	uint32_t width;
	uint32_t height;
	uint32_t nplanes;
	uint64_t modifier;
	struct imgfmt_plane planes[IMGFMT_MAX_PLANES];
};

/* A known format.  Planes after the first are subsampled by hsub x vsub. */
struct imgfmt_format {
	uint32_t fourcc;
	uint8_t nplanes;
	uint8_t cpp[3];		/* bytes per pixel of each plane */
	uint8_t hsub;
	uint8_t vsub;
};

/* The number of known formats, and the @i-th (i below that number). */
size_t imgfmt_count(void);
const struct imgfmt_format *imgfmt_at(size_t i);

/* The table entry of @fourcc, or NULL when it is not known here. */
const struct imgfmt_format *imgfmt_lookup(uint32_t fourcc);

/* Rows of plane @plane of an image @height rows high: @height divided by
 * the vertical subsampling (rounded up) when @f is known, else @height. */
uint32_t imgfmt_plane_height(const struct imgfmt_format *f, unsigned plane,
			     uint32_t height);

/* The smallest stride of plane @plane of a linear image @width pixels
 * wide: pixels of that plane times its bytes per pixel.  @f must not be
 * NULL and @plane must be below f->nplanes. */
uint64_t imgfmt_min_stride(const struct imgfmt_format *f, unsigned plane,
			   uint32_t width);

/*
 * Stride alignment of the layouts the broker chooses: every plane's stride
 * is a multiple of 64 bytes, which V4L2 drivers (that honour a given
 * bytesperline) and DRM/GPU importers of linear buffers accept.  Planes
 * follow each other without gaps, as V4L2's single-planar formats (NV12,
 * YUV420) require, and chroma strides derive from the luma stride as they
 * do there.
 */
#define IMGFMT_STRIDE_ALIGN 64u

/*
 * Lays out a linear image of a known @fourcc, @width x @height, with luma
 * stride @stride0 (0: the smallest one aligned to IMGFMT_STRIDE_ALIGN).
 * Fills @out (modifier LINEAR) and *@size (the bytes the planes need, not
 * rounded).  Returns 0, -EINVAL for an unknown format, a zero or odd size
 * the format's subsampling cannot take, a @stride0 too small or not
 * dividing evenly into chroma strides; -EOVERFLOW past 4 GiB - 1 a plane.
 */
int imgfmt_layout_linear(uint32_t fourcc, uint32_t width, uint32_t height,
			 uint32_t stride0, struct imgfmt_layout *out,
			 uint64_t *size);

/*
 * Checks @l against a buffer of @size bytes.  Always: fourcc, width and
 * height not 0, 1 to IMGFMT_MAX_PLANES planes, no stride 0, and every
 * plane's offset + stride * its rows within @size.  For a known format
 * with the LINEAR modifier also: the format's plane count and each
 * stride at least imgfmt_min_stride() (other modifiers may be tiled, so
 * only the bounds apply).  Returns 0, or -EINVAL with the reason in @why
 * (may be NULL).
 */
int imgfmt_check(const struct imgfmt_layout *l, uint64_t size, char *why,
		 size_t len);

#endif
