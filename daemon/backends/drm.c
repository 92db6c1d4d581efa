/* SPDX-License-Identifier: MIT */
/*
 * drm: dumb buffers of a DRM driver, exported with PRIME.  Dumb buffers
 * are the one allocation every KMS driver (and vgem) offers without
 * driver-specific ioctls; CREATE_DUMB is refused on render nodes, so the
 * backend needs a primary node: cfg->drm_device, or the first
 * /dev/dri/card* whose driver has DRM_CAP_DUMB_BUFFER.
 *
 * The driver chooses the pitch, and for an image it becomes the layout's
 * stride: the dumb buffer is made as tall as all the planes together in
 * rows of the luma stride (NV12: height * 3 / 2 rows of 8 bpp), and the
 * layout is then computed with the driver's pitch.  A request of bare
 * bytes becomes rows of 4 KiB: 1024 pixels of 32 bpp, a width and depth
 * that every KMS driver takes, so the size is a whole number of pages.
 *
 * After export the GEM handle is closed: the dma-buf holds the object, and
 * the broker's DRM file keeps no per-buffer state.  Only LINEAR layouts;
 * no contiguity promise; a device may always write, so no read-only fd.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>

#include "config.h"

/* A raw request's dumb shape: 1024 x 32 bpp, 4 KiB a row. */
#define BACKEND_DRM_RAW_WIDTH 1024u
#define BACKEND_DRM_RAW_BPP 32u
#define BACKEND_DRM_ROW 4096u
#define BACKEND_DRM_CARDS 64

/*
 * Whether the driver behind @fd makes a dumb buffer: the cap is answered
 * for KMS drivers only, and vgem, a render-only driver that makes them
 * all the same, is the one the tests have.
 */
static bool backend_drm_try_dumb(int fd)
{
	struct drm_mode_create_dumb create = {
		.width = 1, .height = 1, .bpp = 32,
	};
	struct drm_mode_destroy_dumb destroy = { 0 };

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) < 0)
		return false;
	destroy.handle = create.handle;
	drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
	return true;
}

/*
 * Checks that @fd is a primary node whose driver makes dumb buffers and
 * writes the driver's name to @driver.  Returns 0 or -ENODEV (why in @why).
 */
static int backend_drm_check(int fd, const char *path, char *driver,
			     size_t dlen, char *why, size_t len)
{
	drmVersionPtr ver;
	uint64_t dumb = 0;

	int type = drmGetNodeTypeFromFd(fd);

	if (type < 0) {
		snprintf(why, len, "%s: not a DRM node", path);
		return -ENODEV;
	}
	if (type != DRM_NODE_PRIMARY) {
		snprintf(why, len, "%s: a render node; dumb buffers need a "
			 "primary node (card*)", path);
		return -ENODEV;
	}
	if ((drmGetCap(fd, DRM_CAP_DUMB_BUFFER, &dumb) < 0 || !dumb) &&
	    !backend_drm_try_dumb(fd)) {
		snprintf(why, len, "%s: its driver makes no dumb buffers", path);
		return -ENODEV;
	}
	ver = drmGetVersion(fd);
	snprintf(driver, dlen, "%s", ver && ver->name ? ver->name : "unknown");
	drmFreeVersion(ver);
	return 0;
}

/* Opens @path and checks it.  Returns the fd or -errno (why in @why). */
static int backend_drm_open(const char *path, char *driver, size_t dlen,
			    char *why, size_t len)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), err;

	if (fd < 0) {
		err = -errno;
		snprintf(why, len, "%s: %s", path, strerror(-err));
		return err;
	}
	err = backend_drm_check(fd, path, driver, dlen, why, len);
	if (err < 0) {
		close(fd);
		return err;
	}
	/* The first opener of a card becomes its DRM master, which would
	 * lock a compositor started after the broker out of modesetting;
	 * dumb buffers and PRIME need no master. */
	drmDropMaster(fd);
	return fd;
}

/*
 * The first card that makes dumb buffers.  Returns its fd, or the error of
 * the first card that is there but unfit (its reason in @why), or -ENODEV
 * when there is no card at all.
 */
static int backend_drm_find(char *path, size_t plen, char *driver,
			    size_t dlen, char *why, size_t len)
{
	char later[BACKEND_DETAIL_MAX];
	int err = -ENOENT;

	for (int i = 0; i < BACKEND_DRM_CARDS; i++) {
		bool first = err == -ENOENT;
		int fd;

		snprintf(path, plen, DRM_DEV_NAME, DRM_DIR_NAME, i);
		fd = backend_drm_open(path, driver, dlen, first ? why : later,
				      first ? len : sizeof(later));
		if (fd >= 0)
			return fd;
		if (first && fd != -ENOENT)
			err = fd;
	}
	if (err != -ENOENT)
		return err;
	snprintf(why, len, "no " DRM_DIR_NAME "/card*");
	return -ENODEV;
}

static int backend_drm_probe(struct backend *be, const struct config *cfg,
			     char *why, size_t len)
{
	char path[64], driver[32];
	int fd;

	if (cfg->drm_device) {
		snprintf(path, sizeof(path), "%s", cfg->drm_device);
		fd = backend_drm_open(cfg->drm_device, driver, sizeof(driver),
				      why, len);
	} else {
		fd = backend_drm_find(path, sizeof(path), driver,
				      sizeof(driver), why, len);
	}
	if (fd < 0)
		return fd;
	be->node = fd;
	/* The generic dumb path computes the size in 32 bits. */
	be->max_size = UINT32_MAX & ~((uint64_t)getpagesize() - 1);
	snprintf(be->detail, sizeof(be->detail), "dumb buffers on %s (%s)",
		 path, driver);
	return 0;
}

/* The dumb shape of a request of bare bytes: rows of 4 KiB. */
static int backend_drm_raw_shape(const struct backend *be, uint64_t size,
				 struct drm_mode_create_dumb *create)
{
	if (size == 0)
		return -EINVAL;
	if (size > be->max_size)
		return -EFBIG;
	create->bpp = BACKEND_DRM_RAW_BPP;
	create->width = BACKEND_DRM_RAW_WIDTH;
	create->height = (uint32_t)((size + BACKEND_DRM_ROW - 1) /
				    BACKEND_DRM_ROW);
	return 0;
}

/*
 * The dumb shape of an image: plane 0's bytes per pixel, its width, and
 * the rows of all planes in units of the luma stride.  Chroma strides are
 * proportional to the luma stride, so that count is the same whatever
 * pitch the driver picks; the default layout gives it.  A larger
 * req->size adds rows of the narrowest pitch the driver may choose.
 */
static int backend_drm_image_shape(const struct backend *be,
				   const struct backend_request *req,
				   struct drm_mode_create_dumb *create)
{
	const struct imgfmt_format *f = imgfmt_lookup(req->fourcc);
	struct imgfmt_layout l;
	uint64_t need, rows, min_pitch;
	int err;

	if (req->modifier != DRM_FORMAT_MOD_LINEAR)
		return -EINVAL;
	err = imgfmt_layout_linear(req->fourcc, req->width, req->height, 0,
				   &l, &need);
	if (err < 0)
		return err;
	if (need < req->size)
		need = req->size;
	if (need > be->max_size)
		return -EFBIG;
	min_pitch = imgfmt_min_stride(f, 0, req->width);
	rows = (need + l.planes[0].stride - 1) / l.planes[0].stride;
	if (req->size > rows * min_pitch)
		rows = (req->size + min_pitch - 1) / min_pitch;
	create->bpp = f->cpp[0] * 8u;
	create->width = req->width;
	create->height = (uint32_t)rows;
	return 0;
}

/* The dma-buf of dumb buffer @handle, whose handle is then closed.
 * Returns its fd or -errno. */
static int backend_drm_export(int drm, uint32_t handle)
{
	struct drm_mode_destroy_dumb destroy = { .handle = handle };
	int fd = -1, err = 0;

	if (drmPrimeHandleToFD(drm, handle, DRM_CLOEXEC | DRM_RDWR, &fd) < 0)
		err = -errno;
	/* The dma-buf, if any, holds the object from here. */
	drmIoctl(drm, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
	return err < 0 ? err : fd;
}

/* Fills @out but for its fd: the dma-buf's own size (the object's,
 * page-aligned) and an image's layout with the driver's @pitch.  Returns
 * 0 or -errno. */
static int backend_drm_finish(const struct backend_request *req, int fd,
			      uint32_t pitch, struct backend_buffer *out)
{
	off_t end = lseek(fd, 0, SEEK_END);
	uint64_t need = 0;

	if (end < 0)
		return -errno;
	out->size = (uint64_t)end;
	memset(&out->layout, 0, sizeof(out->layout));
	/* A pitch that does not divide into the chroma strides. */
	if (req->fourcc && imgfmt_layout_linear(req->fourcc, req->width,
						req->height, pitch,
						&out->layout, &need) < 0)
		return -EOPNOTSUPP;
	if (out->size < req->size || out->size < need)
		return -EIO;	/* the driver made less than it was asked */
	return 0;
}

/*
 * Makes the buffer's memory exist now.  Shmem-backed dumb buffers (vgem and
 * the other GEM shmem drivers) get their pages at first use; a holder could
 * then meet SIGBUS when memory is short, and quota would not be memory.
 * Mapping the dma-buf makes the GEM shmem helpers allocate every page (and
 * fail with -ENOMEM when they cannot); for drivers whose mappings fault
 * page by page, MADV_POPULATE_WRITE faults them in, reporting -ENOMEM
 * rather than raising SIGBUS in the broker.  A mapping it cannot populate
 * (VM_PFNMAP: -EFAULT; before 5.14: -EINVAL) is left as the driver made
 * it.  The pages stay with the object after the mapping goes.
 */
static int backend_drm_populate(int fd, uint64_t size)
{
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int err = 0;

	if (map == MAP_FAILED)
		return -errno;
	if (madvise(map, size, MADV_POPULATE_WRITE) < 0 &&
	    (errno == ENOMEM || errno == EHWPOISON))
		err = -ENOMEM;
	munmap(map, size);
	return err;
}

static int backend_drm_alloc(struct backend *be,
			     const struct backend_request *req,
			     struct backend_buffer *out)
{
	struct drm_mode_create_dumb create = { 0 };
	int fd, err;

	if (req->flags & ~BACKEND_ALLOC_VALID_FLAGS)
		return -EINVAL;
	if (req->flags & BACKEND_ALLOC_CONTIGUOUS)
		return -EOPNOTSUPP;
	if (req->fourcc)
		err = backend_drm_image_shape(be, req, &create);
	else
		err = backend_drm_raw_shape(be, req->size, &create);
	if (err < 0)
		return err;
	if (drmIoctl(be->node, DRM_IOCTL_MODE_CREATE_DUMB, &create) < 0)
		return -errno;
	fd = backend_drm_export(be->node, create.handle);
	if (fd < 0)
		return fd;
	err = backend_drm_finish(req, fd, create.pitch, out);
	if (err == 0)
		err = backend_drm_populate(fd, out->size);
	if (err < 0) {
		close(fd);
		return err;
	}
	out->fd = fd;
	out->priv = NULL;
	return 0;
}

const struct backend_ops backend_drm_ops = {
	.probe = backend_drm_probe,
	.alloc = backend_drm_alloc,
	.export_fd = backend_export_shared,
};
