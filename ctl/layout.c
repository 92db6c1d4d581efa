/* SPDX-License-Identifier: MIT */
/*
 * Image layouts for `alloc --format`: the DRM fourcc from its four-letter
 * code, and plane offsets/strides for the common formats (libdrm has no
 * format table in Debian 12's 2.4.114, so a small one lives here).
 */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <drm_fourcc.h>

struct layout_format {
	uint32_t fourcc;
	uint8_t cpp;		/* bytes per pixel of plane 0 */
	bool semiplanar;	/* a 4:2:0 CbCr plane follows (NV12, NV21) */
};

static const struct layout_format layout_formats[] = {
	{ DRM_FORMAT_XRGB8888, 4, false }, { DRM_FORMAT_ARGB8888, 4, false },
	{ DRM_FORMAT_XBGR8888, 4, false }, { DRM_FORMAT_ABGR8888, 4, false },
	{ DRM_FORMAT_RGBX8888, 4, false }, { DRM_FORMAT_RGBA8888, 4, false },
	{ DRM_FORMAT_XRGB2101010, 4, false }, { DRM_FORMAT_ARGB2101010, 4, false },
	{ DRM_FORMAT_RGB888, 3, false }, { DRM_FORMAT_BGR888, 3, false },
	{ DRM_FORMAT_RGB565, 2, false }, { DRM_FORMAT_BGR565, 2, false },
	{ DRM_FORMAT_R8, 1, false }, { DRM_FORMAT_R16, 2, false },
	{ DRM_FORMAT_GR88, 2, false },
	{ DRM_FORMAT_YUYV, 2, false }, { DRM_FORMAT_YVYU, 2, false },
	{ DRM_FORMAT_UYVY, 2, false }, { DRM_FORMAT_VYUY, 2, false },
	{ DRM_FORMAT_NV12, 1, true }, { DRM_FORMAT_NV21, 1, true },
};

static const struct layout_format *layout_lookup(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(layout_formats) / sizeof(layout_formats[0]); i++)
		if (layout_formats[i].fourcc == fourcc)
			return &layout_formats[i];
	return NULL;
}

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

/* Fills the planes and returns the bytes they span in *@size. */
static int layout_planes(const struct ctl_opts *opt,
			 struct dbb_image_layout *l, uint64_t *size)
{
	const struct layout_format *f = layout_lookup(l->fourcc);
	uint64_t stride = opt->stride;

	if (!f && !stride) {
		ctl_usage_error("format '%s' is not known here: give --stride",
				opt->format);
		return -EINVAL;
	}
	if (!stride)
		stride = (uint64_t)l->width * f->cpp;
	if (stride > UINT32_MAX || stride < l->width)
		return ctl_usage_error("stride out of range"), -EINVAL;
	l->n_planes = 1;
	l->planes[0] = (struct dbb_plane){ 0, (uint32_t)stride };
	*size = stride * l->height;
	if (f && f->semiplanar) {
		uint64_t offset = *size;

		if (offset > UINT32_MAX)
			return ctl_usage_error("image too large"), -EINVAL;
		l->n_planes = 2;
		l->planes[1] = (struct dbb_plane){ (uint32_t)offset, (uint32_t)stride };
		*size += stride * ((l->height + 1) / 2);
	}
	return 0;
}

int layout_build(const struct ctl_opts *opt, struct dbb_image_layout *out,
		 uint64_t *min_size)
{
	*out = (struct dbb_image_layout){ 0 };
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
