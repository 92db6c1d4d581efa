/* SPDX-License-Identifier: MIT */
/*
 * vgem as a stand-in GPU for the guest tests: PRIME imports and the fences
 * vgem lets userspace attach to an object's reservation object and signal
 * by hand (DRM_IOCTL_VGEM_FENCE_ATTACH / _SIGNAL).  A fence attached to an
 * imported dma-buf lands on the dma-buf's own reservation object, where
 * DMA_BUF_IOCTL_EXPORT_SYNC_FILE finds it.  vgem signals a forgotten fence
 * itself after 10 s (with an error status).
 *
 * Every function returns 0 or a negative errno.
 */
#ifndef DBB_E2E_VGEM_H
#define DBB_E2E_VGEM_H

#include <stdbool.h>
#include <stdint.h>

/* Opens the first /dev/dri/card* driven by vgem; -ENODEV when none. */
int vgem_open(void);

/* PRIME-imports @dmabuf_fd into vgem: *@handle is vgem's object. */
int vgem_import(int drm, int dmabuf_fd, uint32_t *handle);

/* Drops vgem's object @handle (0: none). */
void vgem_close_handle(int drm, uint32_t handle);

/* Attaches an unsignalled fence to @handle's reservation object, as a
 * writer (@write: exclusive, what a reader waits for) or as a reader;
 * *@fence names it for vgem_fence_signal(). */
int vgem_fence_attach(int drm, uint32_t handle, bool write, uint32_t *fence);

/* Signals the fence; -ENOENT when vgem no longer knows it. */
int vgem_fence_signal(int drm, uint32_t fence);

/* Whether the sync_file @fd has signalled, through SYNC_IOC_FILE_INFO:
 * 1 signalled, 0 not yet; a negative errno when @fd is not a sync_file,
 * or the fence's error when it signalled one (vgem's timeout). */
int sync_file_status(int fd);

#endif
