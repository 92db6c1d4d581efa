/* SPDX-License-Identifier: MIT */
/*
 * vgem helpers for the guest tests; see vgem.h.
 *
 * <drm/vgem_drm.h> is a kernel uapi header that libdrm does not ship: the
 * build takes it from the distribution's kernel headers (tests/e2e/e2e.mk).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <xf86drm.h>
#include <drm/vgem_drm.h>
#include <linux/sync_file.h>

#include "vgem.h"

int vgem_open(void)
{
	char path[32];

	for (int i = 0; i < 16; i++) {
		drmVersionPtr v;
		bool match;
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		match = v && !strcmp(v->name, "vgem");
		drmFreeVersion(v);
		if (match)
			return fd;
		close(fd);
	}
	return -ENODEV;
}

int vgem_import(int drm, int dmabuf_fd, uint32_t *handle)
{
	return drmPrimeFDToHandle(drm, dmabuf_fd, handle) < 0 ? -errno : 0;
}

void vgem_close_handle(int drm, uint32_t handle)
{
	struct drm_gem_close gc = { .handle = handle };

	if (handle)
		drmIoctl(drm, DRM_IOCTL_GEM_CLOSE, &gc);
}

int vgem_fence_attach(int drm, uint32_t handle, bool write, uint32_t *fence)
{
	struct drm_vgem_fence_attach a = {
		.handle = handle,
		.flags = write ? VGEM_FENCE_WRITE : 0,
	};

	if (drmIoctl(drm, DRM_IOCTL_VGEM_FENCE_ATTACH, &a) < 0)
		return -errno;
	*fence = a.out_fence;
	return 0;
}

int vgem_fence_signal(int drm, uint32_t fence)
{
	struct drm_vgem_fence_signal s = { .fence = fence };

	return drmIoctl(drm, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) < 0 ? -errno : 0;
}

int sync_file_status(int fd)
{
	struct sync_file_info info = { 0 };

	if (ioctl(fd, SYNC_IOC_FILE_INFO, &info) < 0)
		return -errno;
	return info.status;
}
