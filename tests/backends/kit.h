/* SPDX-License-Identifier: MIT */
/*
 * What the backend tests check of any dma-buf, with cmocka assertions:
 * that it is one, its bytes through its mapping, a real importer (vgem),
 * and open fds.  A failed check fails the calling test.
 */
#ifndef DBB_TEST_KIT_H
#define DBB_TEST_KIT_H

#include <stddef.h>
#include <stdint.h>

/* The fds this process has open. */
int kit_count_fds(void);

/* DMA_BUF_IOCTL_SYNC with @flags (DMA_BUF_SYNC_*) succeeds on @fd. */
void kit_sync(int fd, uint64_t flags);

/* Fills @len bytes at @w with the pattern of @seed. */
void kit_fill(uint32_t *w, size_t len, uint32_t seed);

/* Index of the first word of @w that differs from the pattern, or -1. */
long kit_check(const uint32_t *w, size_t len, uint32_t seed);

/* @fd is a dma-buf of @size bytes (the kernel's own word), page-aligned
 * and close-on-exec. */
void kit_expect_dmabuf(int fd, uint64_t size);

/* Writes every byte of @fd's mapping and reads it back, each inside a
 * DMA_BUF_IOCTL_SYNC bracket. */
void kit_expect_bytes(int fd, size_t len, uint32_t seed);

/* A primary node of vgem (its dumb map offsets need one), or -1. */
int kit_open_vgem(void);

/* A memfd of @len bytes that allows sealing, with @seals added. */
int kit_sealed_memfd(size_t len, unsigned int seals);

/* A write fence that vgem attaches to @handle, its import of @fd, shows
 * on @fd (poll: busy) until vgem signals it: the two share the buffer's
 * reservation. */
void kit_expect_fence_shared(int vgem, uint32_t handle, int fd);

/* vgem's own mapping of @handle shows the pattern of @seed, where vgem
 * gives one: only for its own objects (the drm backend's), for the
 * generic dumb map offset refuses imported ones (then a comment says so). */
void kit_expect_vgem_mapping(int vgem, uint32_t handle, size_t len,
			     uint32_t seed);

#endif
