/* SPDX-License-Identifier: MIT */
/* Checks of a dma-buf for the backend tests; see kit.h. */
#include "kit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/dma-buf.h>
#include <xf86drm.h>

/* vgem's uapi (include/uapi/drm/vgem_drm.h), which libdrm does not ship:
 * a fence attached to a GEM object lands in the dma-buf's reservation. */
struct kit_vgem_fence_attach {
	uint32_t handle;
	uint32_t flags;
	uint32_t out_fence;
	uint32_t pad;
};
struct kit_vgem_fence_signal {
	uint32_t fence;
	uint32_t flags;
};
#define KIT_VGEM_FENCE_WRITE 0x1
#define KIT_VGEM_FENCE_ATTACH \
	DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct kit_vgem_fence_attach)
#define KIT_VGEM_FENCE_SIGNAL \
	DRM_IOW(DRM_COMMAND_BASE + 0x2, struct kit_vgem_fence_signal)

int kit_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

void kit_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	assert_int_equal(0, ioctl(fd, DMA_BUF_IOCTL_SYNC, &s));
}

static uint32_t kit_pattern(uint32_t seed, size_t i)
{
	return seed ^ (uint32_t)(i * 2654435761u);
}

void kit_fill(uint32_t *w, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len / 4; i++)
		w[i] = kit_pattern(seed, i);
}

long kit_check(const uint32_t *w, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len / 4; i++)
		if (w[i] != kit_pattern(seed, i))
			return (long)i;
	return -1;
}

void kit_expect_dmabuf(int fd, uint64_t size)
{
	char path[32], link[64] = "";
	ssize_t n;

	assert_in_range(fd, 0, INT_MAX);
	assert_int_equal(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	assert_in_range(n, 1, sizeof(link) - 1);
	/* "/dmabuf:<name>" since dma-bufs have their own file system (5.3),
	 * "anon_inode:dmabuf" before. */
	if (strncmp(link, "/dmabuf:", 8))
		assert_string_equal("anon_inode:dmabuf", link);
	assert_int_equal(size, (uint64_t)lseek(fd, 0, SEEK_END));
	assert_int_equal(0, size % (uint64_t)getpagesize());
}

void kit_expect_bytes(int fd, size_t len, uint32_t seed)
{
	uint32_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	assert_true(m != MAP_FAILED);
	kit_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	kit_fill(m, len, seed);
	kit_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	kit_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	assert_int_equal(-1, kit_check(m, len, seed));
	kit_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	assert_int_equal(0, munmap(m, len));
}

int kit_open_vgem(void)
{
	for (int i = 0; i < 16; i++) {
		char path[32];
		drmVersionPtr v;
		bool match;
		int fd;

		snprintf(path, sizeof(path), DRM_DEV_NAME, DRM_DIR_NAME, i);
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
	return -1;
}

int kit_sealed_memfd(size_t len, unsigned int seals)
{
	int fd = memfd_create("dbb-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_in_range(fd, 0, INT_MAX);
	assert_int_equal(0, ftruncate(fd, (off_t)len));
	if (seals)
		assert_int_equal(0, fcntl(fd, F_ADD_SEALS, seals));
	return fd;
}

void kit_expect_fence_shared(int vgem, uint32_t handle, int fd)
{
	struct kit_vgem_fence_attach a = { .handle = handle,
				       .flags = KIT_VGEM_FENCE_WRITE };
	struct kit_vgem_fence_signal s = { 0 };
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(0, drmIoctl(vgem, KIT_VGEM_FENCE_ATTACH, &a));
	assert_int_equal(0, poll(&p, 1, 0));
	s.fence = a.out_fence;
	assert_int_equal(0, drmIoctl(vgem, KIT_VGEM_FENCE_SIGNAL, &s));
	assert_int_equal(1, poll(&p, 1, 5000));
}

void kit_expect_vgem_mapping(int vgem, uint32_t handle, size_t len,
			     uint32_t seed)
{
	struct drm_mode_map_dumb map = { .handle = handle };
	uint32_t *m;

	if (drmIoctl(vgem, DRM_IOCTL_MODE_MAP_DUMB, &map)) {
		print_message("# vgem maps no imported object (%s): bytes "
			      "read through the exporter's mapping only\n",
			      strerror(errno));
		return;
	}
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, vgem, (off_t)map.offset);
	assert_true(m != MAP_FAILED);
	assert_int_equal(-1, kit_check(m, len, seed));
	munmap(m, len);
	print_message("# bytes read back through vgem's own mapping\n");
}
