/* SPDX-License-Identifier: MIT */
/*
 * Image layouts for `alloc --format`: the DRM fourcc from its four-letter
 * code, and plane offsets/strides for the formats common/imgfmt.c knows
 * (the table the broker checks layouts with).
 */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <drm_fourcc.h>

#include "imgfmt.h"

/* "XR24", "NV12", "R8" (padded with spaces) or a number such as 0x34325258. */
static int layout_parse_fourcc(const char *s, uint32_t *out)
{
	char c[4] = { ' ', ' ', ' ', ' ' };
	size_t n = strlen(s);

	if (strncasecmp(s, "0x", 2) == 0)
		return format_parse_u32(s, out);
	if (n < 1 || n > 4)
		return -EINVAL;
	memcpy(c, s, n);
	*out = fourcc_code(c[0], c[1], c[2], c[3]);
	return 0;
}

static int layout_parse_modifier(const char *s, uint64_t *out)
{
	if (!s) {
		*out = DRM_FORMAT_MOD_LINEAR;
		return 0;
	}
	if (strcasecmp(s, "linear") == 0) {
		*out = DRM_FORMAT_MOD_LINEAR;
		return 0;
	}
	return format_parse_u64(s, out);
}

/*
 * The stride of plane @i > 0 of a known format: plane 0's scaled to the
 * plane's bytes per subsampled pixel (NV12's CbCr plane gets plane 0's,
 * YUV420's chroma planes half of it), at least the plane's minimum.
 */
static uint64_t layout_chroma_stride(const struct imgfmt_format *f, unsigned i,
				     uint64_t stride0, uint32_t width)
{
	uint64_t div = (uint64_t)f->cpp[0] * f->hsub;
	uint64_t s = (stride0 * f->cpp[i] + div - 1) / div;
	uint64_t min = imgfmt_min_stride(f, i, width);

	return s > min ? s : min;
}

/* Fills the planes and returns the bytes they span in *@size. */
static int layout_planes(const struct ctl_opts *opt,
			 struct dbb_image_layout *l, uint64_t *size)
{
	const struct imgfmt_format *f = imgfmt_lookup(l->fourcc);
	uint64_t stride0 = opt->stride, offset = 0;
	unsigned nplanes = f ? f->nplanes : 1;

	if (!f && !stride0) {
		ctl_usage_error("format '%s' is not known here: give --stride",
				opt->format);
		return -EINVAL;
	}
	if (!stride0)
		stride0 = imgfmt_min_stride(f, 0, l->width);
	if (stride0 < (f ? imgfmt_min_stride(f, 0, l->width) : l->width))
		return ctl_usage_error("stride out of range"), -EINVAL;
	for (unsigned i = 0; i < nplanes; i++) {
		uint64_t stride = i ? layout_chroma_stride(f, i, stride0, l->width) :
				      stride0;

		if (stride > UINT32_MAX || offset > UINT32_MAX)
			return ctl_usage_error("image too large"), -EINVAL;
		l->planes[i] = (struct dbb_plane){ (uint32_t)offset,
						   (uint32_t)stride };
		offset += stride * imgfmt_plane_height(f, i, l->height);
	}
	l->n_planes = nplanes;
	*size = offset;
	return 0;
}

int layout_build(const struct ctl_opts *opt, struct dbb_image_layout *out,
		 uint64_t *min_size)
{
	*out = (struct dbb_image_layout){ .struct_size = sizeof(*out) };
	if (!opt->format)
		return ctl_usage_error("--width, --height, --stride and --modifier "
				       "need --format"), -EINVAL;
	if (layout_parse_fourcc(opt->format, &out->fourcc) < 0)
		return ctl_usage_error("bad fourcc '%s'", opt->format), -EINVAL;
	if (layout_parse_modifier(opt->modifier, &out->modifier) < 0)
		return ctl_usage_error("bad modifier '%s'", opt->modifier), -EINVAL;
	if (!opt->width || !opt->height)
		return ctl_usage_error("--format needs --width and --height"), -EINVAL;
	out->width = opt->width;
	out->height = opt->height;
	return layout_planes(opt, out, min_size);
}
