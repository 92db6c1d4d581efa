// SPDX-License-Identifier: GPL-2.0
/*
 * ALLOC: zeroed memory, bytes written through one mapping read back through
 * another, DMA_BUF_IOCTL_SYNC, few SG entries, names, access modes, and the
 * dma-heap ioctl on the same device.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/dma-heap.h>

#include "util.h"

static enum test_result check_info_alloc(int fd, size_t size,
					 const struct dmabuf_sg_alloc *arg)
{
	struct dmabuf_sg_info info;
	unsigned long long pages = 0;
	unsigned int order;

	expect_ok(util_info(fd, &info));
	expect_int_eq(DMABUF_SG_KIND_ALLOC, info.kind);
	expect_int_eq(size, info.size);
	expect_int_eq(size, info.length);
	expect_int_eq(0, info.offset);
	expect_int_eq(arg->sg_entries, info.sg_entries);
	expect_int_eq(0, info.attachments);
	expect_int_eq(0, info.mappings);
	for (order = 0; order < DMABUF_SG_NR_ORDERS; order++)
		pages += (unsigned long long)info.blocks_per_order[order] << order;
	expect_int_eq(size / page_size, pages);
	expect_true(info.sg_entries >= 1);
	expect_uint_le(size / page_size, info.sg_entries);
	return TEST_PASS;
}

/* Zero on arrival, pattern written and synced, read back in a new mapping. */
static enum test_result alloc_roundtrip(size_t size, uint32_t seed)
{
	struct dmabuf_sg_alloc arg;
	struct util_stats before, during;
	size_t bad;
	void *map;
	int fd;

	expect_ok(util_stats_read(&before));
	fd = util_alloc(size, 0, "roundtrip", &arg);
	expect_ok(fd);
	expect_pass(check_info_alloc(fd, size, &arg));
	expect_ok(util_stats_read(&during));
	expect_int_eq(before.live_buffers + 1, during.live_buffers);
	expect_int_eq(before.allocated_bytes + (long long)size, during.allocated_bytes);
	/* As few entries as memory allows: a 4 MiB block per entry at worst
	 * would be size / 4 MiB; demand at least 16 pages per entry on average
	 * for buffers of 16 MiB and more. */
	if (size >= 16 * MIB)
		expect_uint_le(size / page_size / 16, arg.sg_entries);
	test_diag("%zu KiB: %u SG entries for %zu pages", size / KIB,
		  arg.sg_entries, size / page_size);

	map = util_map(fd, size, PROT_READ | PROT_WRITE);
	expect_true(map != MAP_FAILED);
	expect_ok(util_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	bad = util_check_zero(map, size);
	if (bad != (size_t)-1)
		test_diag("byte %zu of a new buffer is not zero", bad);
	expect_true(bad == (size_t)-1);
	util_fill(map, size, 0, seed);
	expect_ok(util_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	expect_ok(munmap(map, size));

	map = util_map(fd, size, PROT_READ);
	expect_true(map != MAP_FAILED);
	expect_ok(util_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	bad = util_check(map, size, 0, seed);
	expect_ok(util_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	if (bad != (size_t)-1)
		test_diag("byte %zu did not read back", bad);
	expect_true(bad == (size_t)-1);
	expect_ok(munmap(map, size));
	expect_ok(close(fd));
	return TEST_PASS;
}

static enum test_result test_alloc_small(void)
{
	expect_pass(alloc_roundtrip(4 * KIB, 1));
	expect_pass(alloc_roundtrip(8 * KIB, 2));
	expect_pass(alloc_roundtrip(60 * KIB, 3));
	return alloc_roundtrip(1 * MIB, 4);
}

static enum test_result test_alloc_16m(void) { return alloc_roundtrip(16 * MIB, 5); }
static enum test_result test_alloc_64m(void) { return alloc_roundtrip(64 * MIB, 6); }
static enum test_result test_alloc_256m(void)
{
	long long avail = util_meminfo_kib("MemAvailable");

	if (avail >= 0 && avail < (long long)(512 * MIB / KIB))
		return test_skip("MemAvailable %lld KiB is below 512 MiB", avail);
	return alloc_roundtrip(256 * MIB, 7);
}

static enum test_result test_alloc_unaligned_size(void)
{
	struct dmabuf_sg_alloc arg;
	struct dmabuf_sg_info info;
	int fd;

	fd = util_alloc(page_size + 1, 0, NULL, &arg);
	expect_ok(fd);
	expect_ok(util_info(fd, &info));
	expect_int_eq(2 * page_size, info.size);
	close(fd);
	return TEST_PASS;
}

static enum test_result test_alloc_sync_flags(void)
{
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	int fd;

	fd = util_alloc(page_size, 0, NULL, NULL);
	expect_ok(fd);
	expect_ok(ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync));
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	expect_ok(ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync));
	sync.flags = 0x80;
	expect_errno(EINVAL, ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync));
	close(fd);
	return TEST_PASS;
}

static enum test_result read_fdinfo_name(int fd, char *name, size_t size)
{
	char path[64], line[256];
	FILE *f;

	name[0] = '\0';
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	expect_true(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "name:\t", 6)) {
			snprintf(name, size, "%s", line + 6);
			name[strcspn(name, "\n")] = '\0';
		}
	fclose(f);
	return TEST_PASS;
}

static enum test_result test_alloc_name(void)
{
	struct dmabuf_sg_info info;
	char name[256];
	int fd;

	fd = util_alloc(page_size, 0, "camera-frame-0", NULL);
	expect_ok(fd);
	expect_pass(read_fdinfo_name(fd, name, sizeof(name)));
	expect_true(!strcmp(name, "camera-frame-0"));
	expect_ok(util_info(fd, &info));
	expect_true(!strcmp(info.name, "camera-frame-0"));
	expect_ok(ioctl(fd, DMA_BUF_SET_NAME_B, "renamed"));
	expect_pass(read_fdinfo_name(fd, name, sizeof(name)));
	expect_true(!strcmp(name, "renamed"));
	expect_ok(util_info(fd, &info));
	expect_true(!strcmp(info.name, "renamed"));
	close(fd);

	fd = util_alloc(page_size, 0, NULL, NULL);	/* unnamed */
	expect_ok(fd);
	expect_ok(util_info(fd, &info));
	expect_int_eq(0, info.name[0]);
	close(fd);
	return TEST_PASS;
}

static enum test_result test_alloc_access_modes(void)
{
	struct dmabuf_sg_alloc arg = {
		.size = 2 * page_size, .fd_flags = O_RDONLY | O_CLOEXEC,
	};
	void *map;
	int flags;

	expect_ok(ioctl(util_dev(), DMABUF_SG_IOCTL_ALLOC, &arg));
	flags = fcntl((int)arg.fd, F_GETFD);
	expect_true(flags & FD_CLOEXEC);
	expect_int_eq(O_RDONLY, fcntl((int)arg.fd, F_GETFL) & O_ACCMODE);
	expect_true(mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 (int)arg.fd, 0) == MAP_FAILED);
	expect_int_eq(EACCES, errno);
	map = util_map((int)arg.fd, 2 * page_size, PROT_READ);
	expect_true(map != MAP_FAILED);
	expect_errno(EACCES, mprotect(map, page_size, PROT_READ | PROT_WRITE));
	munmap(map, 2 * page_size);
	close((int)arg.fd);

	arg.fd_flags = O_RDWR;	/* no O_CLOEXEC */
	expect_ok(ioctl(util_dev(), DMABUF_SG_IOCTL_ALLOC, &arg));
	expect_int_eq(0, fcntl((int)arg.fd, F_GETFD) & FD_CLOEXEC);
	/* Private mappings are refused: they cannot be built from PFN maps. */
	expect_true(mmap(NULL, page_size, PROT_READ, MAP_PRIVATE, (int)arg.fd, 0) == MAP_FAILED);
	close((int)arg.fd);
	return TEST_PASS;
}

static enum test_result test_alloc_mmap_offset(void)
{
	size_t size = 4 * MIB;
	uint8_t *all, *part;
	int fd;

	fd = util_alloc(size, 0, NULL, NULL);
	expect_ok(fd);
	all = util_map(fd, size, PROT_READ | PROT_WRITE);
	expect_true(all != MAP_FAILED);
	util_fill(all, size, 0, 99);
	part = mmap(NULL, size / 2 + page_size, PROT_READ, MAP_SHARED, fd,
		    (off_t)(size / 2 - page_size));
	expect_true(part != MAP_FAILED);
	expect_true(util_check(part, size / 2 + page_size, size / 2 - page_size, 99) == (size_t)-1);
	/* Past the end. */
	expect_true(mmap(NULL, 2 * page_size, PROT_READ, MAP_SHARED, fd,
			 (off_t)(size - page_size)) == MAP_FAILED);
	munmap(part, size / 2 + page_size);
	munmap(all, size);
	close(fd);
	return TEST_PASS;
}

static enum test_result test_alloc_contiguous(void)
{
	struct dmabuf_sg_alloc arg;
	struct dmabuf_sg_info info;
	int fd;

	fd = util_alloc(64 * KIB, DMABUF_SG_ALLOC_CONTIGUOUS, NULL, &arg);
	expect_ok(fd);
	expect_int_eq(1, arg.sg_entries);
	expect_ok(util_info(fd, &info));
	expect_int_eq(DMABUF_SG_ALLOC_CONTIGUOUS, info.flags);
	expect_int_eq(1, info.blocks_per_order[4]);
	close(fd);
	/* A size that is not a power of two is rounded up to one block. */
	fd = util_alloc(3 * page_size, DMABUF_SG_ALLOC_CONTIGUOUS, NULL, &arg);
	expect_ok(fd);
	expect_ok(util_info(fd, &info));
	expect_int_eq(4 * page_size, info.size);
	expect_int_eq(1, info.sg_entries);
	close(fd);
	return TEST_PASS;
}

static enum test_result test_alloc_max_order(void)
{
	struct dmabuf_sg_alloc arg;
	struct dmabuf_sg_info info;
	long long old = util_sysfs_ll(MODULE_PARAM("max_order"));
	unsigned int order;
	char value[32];
	int fd;

	expect_true(old >= 0);
	snprintf(value, sizeof(value), "%lld", old);
	expect_ok(util_sysfs_write(MODULE_PARAM("max_order"), "2"));
	fd = util_alloc(1 * MIB, 0, NULL, &arg);
	expect_ok(util_sysfs_write(MODULE_PARAM("max_order"), value));
	expect_ok(fd);
	expect_ok(util_info(fd, &info));
	for (order = 3; order < DMABUF_SG_NR_ORDERS; order++)
		expect_int_eq(0, info.blocks_per_order[order]);
	close(fd);
	expect_true(util_sysfs_write(MODULE_PARAM("max_order"), "11") < 0);
	expect_int_eq(old, util_sysfs_ll(MODULE_PARAM("max_order")));
	return TEST_PASS;
}

static enum test_result heap_roundtrip(const char *path)
{
	struct dma_heap_allocation_data arg = {
		.len = 3 * MIB, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	struct dmabuf_sg_info info;
	void *map;
	int heap;

	heap = open(path, O_RDWR | O_CLOEXEC);
	expect_ok(heap);
	expect_ok(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &arg));
	close(heap);
	expect_ok(util_info((int)arg.fd, &info));
	expect_int_eq(DMABUF_SG_KIND_ALLOC, info.kind);
	expect_int_eq(3 * MIB, info.size);
	map = util_map((int)arg.fd, 3 * MIB, PROT_READ | PROT_WRITE);
	expect_true(map != MAP_FAILED);
	expect_true(util_check_zero(map, 3 * MIB) == (size_t)-1);
	util_fill(map, 3 * MIB, 0, 11);
	expect_true(util_check(map, 3 * MIB, 0, 11) == (size_t)-1);
	munmap(map, 3 * MIB);
	close((int)arg.fd);
	return TEST_PASS;
}

static enum test_result test_heap_ioctl(void)
{
	struct util_snapshot s;

	util_snapshot(&s);
	expect_pass(heap_roundtrip("/dev/dmabuf_sg"));
	if (!access("/dev/dma_heap/dmabuf_sg", F_OK))
		expect_pass(heap_roundtrip("/dev/dma_heap/dmabuf_sg"));
	else
		test_diag("no /dev/dma_heap/dmabuf_sg (no udev here): device node only");
	return util_expect_snapshot(&s);
}

const struct test_case test_alloc_cases[] = {
	{ "alloc: 4 KiB to 1 MiB zeroed, pattern readback, sync", test_alloc_small },
	{ "alloc: 16 MiB zeroed, readback, few SG entries", test_alloc_16m },
	{ "alloc: 64 MiB zeroed, readback, few SG entries", test_alloc_64m },
	{ "alloc: 256 MiB zeroed, readback, few SG entries", test_alloc_256m },
	{ "alloc: size rounded up to pages", test_alloc_unaligned_size },
	{ "alloc: DMA_BUF_IOCTL_SYNC", test_alloc_sync_flags },
	{ "alloc: name in fdinfo, INFO and DMA_BUF_SET_NAME", test_alloc_name },
	{ "alloc: fd access mode and O_CLOEXEC honoured", test_alloc_access_modes },
	{ "alloc: mmap at an offset", test_alloc_mmap_offset },
	{ "alloc: CONTIGUOUS gives one SG entry", test_alloc_contiguous },
	{ "alloc: max_order parameter bounds the blocks", test_alloc_max_order },
	{ "alloc: DMA_HEAP_IOCTL_ALLOC on the device", test_heap_ioctl },
	{ NULL, NULL },
};
