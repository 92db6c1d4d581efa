// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input: every malformed request is a clean error and leaves the
 * module's counters and the caller's fd table as they were.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-heap.h>

#include "util.h"

static enum test_result alloc_errno(int err, struct dmabuf_sg_alloc arg)
{
	expect_errno(err, ioctl(util_dev(), DMABUF_SG_IOCTL_ALLOC, &arg));
	return TEST_PASS;
}

static enum test_result pin_errno(int err, struct dmabuf_sg_pin arg)
{
	expect_errno(err, ioctl(util_dev(), DMABUF_SG_IOCTL_PIN, &arg));
	return TEST_PASS;
}

static struct dmabuf_sg_alloc alloc_arg(uint64_t size)
{
	return (struct dmabuf_sg_alloc){ .size = size, .fd_flags = O_RDWR | O_CLOEXEC };
}

static enum test_result test_alloc_bad_size(void)
{
	long long max = util_sysfs_ll(MODULE_PARAM("max_buffer_bytes"));
	struct util_snapshot s;

	expect_true(max > 0);
	util_snapshot(&s);
	expect_pass(alloc_errno(EINVAL, alloc_arg(0)));
	expect_pass(alloc_errno(EFBIG, alloc_arg((uint64_t)max + 1)));
	expect_pass(alloc_errno(EFBIG, alloc_arg(UINT64_MAX)));
	expect_pass(alloc_errno(EFBIG, alloc_arg(UINT64_MAX - page_size + 2)));
	return util_expect_snapshot(&s);
}

static enum test_result test_alloc_bad_flags(void)
{
	struct dmabuf_sg_alloc arg;
	struct util_snapshot s;
	unsigned int bit;

	util_snapshot(&s);
	for (bit = 0; bit < 32; bit++) {
		if (DMABUF_SG_ALLOC_VALID_FLAGS & (1U << bit))
			continue;
		arg = alloc_arg(page_size);
		arg.flags = 1U << bit;
		expect_pass(alloc_errno(EINVAL, arg));
	}
	arg = alloc_arg(page_size);
	arg.reserved = 1;
	expect_pass(alloc_errno(EINVAL, arg));
	arg = alloc_arg(page_size);
	arg.reserved = 1U << 31;
	expect_pass(alloc_errno(EINVAL, arg));
	/* A pidfd is read only with its flag (once the reserved __u64's low half). */
	arg = alloc_arg(page_size);
	arg.pidfd = 1;
	expect_pass(alloc_errno(EINVAL, arg));
	arg = alloc_arg(page_size);
	memset(arg.name, 'x', sizeof(arg.name));	/* no terminating NUL */
	expect_pass(alloc_errno(EINVAL, arg));
	/* A contiguous block above max_order is too big. */
	arg = alloc_arg(page_size << (util_sysfs_ll(MODULE_PARAM("max_order")) + 1));
	arg.flags = DMABUF_SG_ALLOC_CONTIGUOUS;
	expect_pass(alloc_errno(EFBIG, arg));
	return util_expect_snapshot(&s);
}

static enum test_result test_alloc_bad_fd_flags(void)
{
	static const uint32_t bad[] = {
		O_NONBLOCK, O_ACCMODE, O_APPEND, O_RDWR | O_TRUNC, O_CREAT,
		O_RDWR | O_CLOEXEC | O_DIRECT, 0xffffffffU,
	};
	struct dmabuf_sg_alloc arg;
	struct util_snapshot s;
	size_t i;

	util_snapshot(&s);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		arg = alloc_arg(page_size);
		arg.fd_flags = bad[i];
		expect_pass(alloc_errno(EINVAL, arg));
	}
	return util_expect_snapshot(&s);
}

static enum test_result test_alloc_over_cap(void)
{
	long long cap = util_sysfs_ll(MODULE_PARAM("max_total_bytes"));
	struct util_snapshot s;
	enum test_result ret;
	char value[32];
	int fd;

	expect_true(cap > 0);
	util_snapshot(&s);
	snprintf(value, sizeof(value), "%lld", s.stats.reserved_bytes + (long long)MIB);
	expect_ok(util_sysfs_write(MODULE_PARAM("max_total_bytes"), value));
	errno = 0;
	fd = util_alloc(2 * MIB, 0, NULL, NULL);
	ret = (fd == -1 && errno == ENOSPC) ? TEST_PASS : TEST_FAIL;
	if (ret != TEST_PASS)
		test_diag("alloc over the global cap: fd %d, %s", fd, strerror(errno));
	if (fd >= 0)
		close(fd);
	snprintf(value, sizeof(value), "%lld", cap);
	expect_ok(util_sysfs_write(MODULE_PARAM("max_total_bytes"), value));
	expect_pass(ret);
	s.stats.alloc_failures++;
	expect_pass(util_expect_snapshot(&s));
	struct util_stats now;
	expect_ok(util_stats_read(&now));
	expect_int_eq(s.stats.alloc_failures, now.alloc_failures);
	return TEST_PASS;
}

static enum test_result test_unknown_ioctls(void)
{
	struct dmabuf_sg_alloc arg = alloc_arg(page_size);
	char big[256] = { 0 };
	struct util_snapshot s;

	util_snapshot(&s);
	expect_errno(ENOTTY, ioctl(util_dev(), _IOWR(DMABUF_SG_IOC_MAGIC, 0x04, struct dmabuf_sg_alloc), &arg));
	/* VIEW's number with another size is another ioctl. */
	expect_errno(ENOTTY, ioctl(util_dev(), _IOWR(DMABUF_SG_IOC_MAGIC, 0x03, struct dmabuf_sg_alloc), &arg));
	expect_errno(ENOTTY, ioctl(util_dev(), _IOWR(DMABUF_SG_IOC_MAGIC, 0x00, char[48]), big));
	expect_errno(ENOTTY, ioctl(util_dev(), _IOR(DMABUF_SG_IOC_MAGIC, 0x00, struct dmabuf_sg_alloc), &arg));
	expect_errno(ENOTTY, ioctl(util_dev(), _IO(DMABUF_SG_IOC_MAGIC, 0x02)));
	expect_errno(ENOTTY, ioctl(util_dev(), _IOWR('H', 0x1, struct dma_heap_allocation_data), big));
	expect_errno(ENOTTY, ioctl(util_dev(), 0));
	return util_expect_snapshot(&s);
}

static enum test_result heap_errno(int err, struct dma_heap_allocation_data arg)
{
	expect_errno(err, ioctl(util_dev(), DMA_HEAP_IOCTL_ALLOC, &arg));
	return TEST_PASS;
}

static enum test_result test_heap_bad_input(void)
{
	struct dma_heap_allocation_data arg;
	struct util_snapshot s;

	util_snapshot(&s);
	arg = (struct dma_heap_allocation_data){ .len = 0, .fd_flags = O_RDWR };
	expect_pass(heap_errno(EINVAL, arg));
	arg = (struct dma_heap_allocation_data){ .len = page_size, .fd_flags = O_RDWR, .heap_flags = 1 };
	expect_pass(heap_errno(EINVAL, arg));
	arg = (struct dma_heap_allocation_data){ .len = page_size, .fd_flags = O_RDWR | O_NONBLOCK };
	expect_pass(heap_errno(EINVAL, arg));
	arg = (struct dma_heap_allocation_data){ .len = UINT64_MAX, .fd_flags = O_RDWR };
	expect_pass(heap_errno(EFBIG, arg));
	/* fd is output only: the dma-heap core refuses a non-zero one. */
	arg = (struct dma_heap_allocation_data){ .len = page_size, .fd = 3, .fd_flags = O_RDWR };
	expect_pass(heap_errno(EINVAL, arg));
	arg = (struct dma_heap_allocation_data){ .len = page_size, .fd = 1U << 31, .fd_flags = O_RDWR };
	expect_pass(heap_errno(EINVAL, arg));
	/* A reply that cannot carry the fd: no read direction, or too short. */
	arg = (struct dma_heap_allocation_data){ .len = page_size, .fd_flags = O_RDWR };
	expect_errno(EINVAL, ioctl(util_dev(), _IOW(DMA_HEAP_IOC_MAGIC, 0, struct dma_heap_allocation_data), &arg));
	expect_errno(EINVAL, ioctl(util_dev(), _IOWR(DMA_HEAP_IOC_MAGIC, 0, uint64_t), &arg));
	expect_errno(EINVAL, ioctl(util_dev(), _IOWR(DMA_HEAP_IOC_MAGIC, 0, char[12 - 1]), &arg));
	/* No write direction: the kernel reads nothing, so the length is 0. */
	expect_errno(EINVAL, ioctl(util_dev(), _IOR(DMA_HEAP_IOC_MAGIC, 0, struct dma_heap_allocation_data), &arg));
	expect_int_eq(0, arg.fd);
	/* Unreadable argument. */
	expect_errno(EFAULT, ioctl(util_dev(), DMA_HEAP_IOCTL_ALLOC, NULL));
	return util_expect_snapshot(&s);
}

static enum test_result test_info_bad_input(void)
{
	struct dmabuf_sg_info info;
	struct util_snapshot s;
	int fd, other;

	fd = util_alloc(page_size, 0, NULL, NULL);
	expect_ok(fd);
	util_snapshot(&s);
	memset(&info, 0, sizeof(info));
	info.fd = (uint32_t)fd;
	info.pad = 1;
	expect_errno(EINVAL, ioctl(util_dev(), DMABUF_SG_IOCTL_INFO, &info));
	expect_errno(EBADF, util_info(1000, &info));
	expect_errno(EBADF, util_info(-1, &info));
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	expect_ok(other);
	expect_errno(EINVAL, util_info(other, &info));
	close(other);
	other = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	expect_ok(other);
	expect_errno(EINVAL, util_info(other, &info));
	close(other);
	expect_pass(util_expect_snapshot(&s));
	close(fd);
	return TEST_PASS;
}

static struct dmabuf_sg_pin pin_arg(const void *addr, size_t len)
{
	return (struct dmabuf_sg_pin){
		.addr = (uintptr_t)addr, .len = len,
		.flags = DMABUF_SG_PIN_WRITE, .fd_flags = O_RDWR | O_CLOEXEC,
	};
}

static enum test_result test_pin_bad_args(void)
{
	long long max = util_sysfs_ll(MODULE_PARAM("max_buffer_bytes"));
	static char mem[8192];
	struct dmabuf_sg_pin arg;
	struct util_snapshot s;

	util_snapshot(&s);
	expect_pass(pin_errno(EINVAL, pin_arg(mem, 0)));
	arg = pin_arg(mem, 16);
	arg.flags = 1U << 31;
	expect_pass(pin_errno(EINVAL, arg));
	arg = pin_arg(mem, 16);
	arg.flags |= 2;
	expect_pass(pin_errno(EINVAL, arg));
	arg = pin_arg(mem, 16);
	arg.reserved = 7;
	expect_pass(pin_errno(EINVAL, arg));
	arg = pin_arg(mem, 16);
	memset(arg.name, 'n', sizeof(arg.name));
	expect_pass(pin_errno(EINVAL, arg));
	arg = pin_arg(mem, 16);
	arg.fd_flags = O_RDWR | O_NONBLOCK;
	expect_pass(pin_errno(EINVAL, arg));
	arg = pin_arg(mem, 16);
	arg.flags = 0;	/* read-only pin asking for a writable fd */
	expect_pass(pin_errno(EINVAL, arg));
	expect_pass(pin_errno(EFBIG, pin_arg(mem, (size_t)max + 1)));
	expect_pass(pin_errno(EFAULT, pin_arg(NULL, 16)));
	expect_pass(pin_errno(EFAULT, pin_arg((void *)0xffff888000000000ULL, 4096)));
	expect_pass(pin_errno(EFAULT, pin_arg((void *)(UINTPTR_MAX - 100), 4096)));
	return util_expect_snapshot(&s);
}

static enum test_result test_pin_unmapped(void)
{
	struct util_snapshot s;
	char *p;

	p = mmap(NULL, 4 * page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(p != MAP_FAILED);
	memset(p, 1, 4 * page_size);
	util_snapshot(&s);
	/* Middle page gone: the pages before it were pinned and must be let go. */
	expect_ok(munmap(p + 2 * page_size, page_size));
	expect_pass(pin_errno(EFAULT, pin_arg(p, 4 * page_size)));
	expect_pass(pin_errno(EFAULT, pin_arg(p + 100, 2 * page_size)));
	/* Wholly unmapped. */
	expect_pass(pin_errno(EFAULT, pin_arg(p + 2 * page_size, page_size)));
	expect_ok(munmap(p, 4 * page_size));
	expect_pass(pin_errno(EFAULT, pin_arg(p, page_size)));
	expect_pass(pin_errno(EFAULT, pin_arg(p + 5, 3 * page_size)));
	return util_expect_snapshot(&s);
}

static enum test_result test_pin_readonly_mapping_for_write(void)
{
	struct dmabuf_sg_pin arg;
	struct util_snapshot s;
	char *p;
	int fd;

	p = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(p != MAP_FAILED);
	memset(p, 3, 2 * page_size);
	expect_ok(mprotect(p, 2 * page_size, PROT_READ));
	util_snapshot(&s);
	expect_pass(pin_errno(EFAULT, pin_arg(p, 2 * page_size)));
	expect_pass(pin_errno(EFAULT, pin_arg(p + page_size - 1, 2)));
	expect_pass(util_expect_snapshot(&s));
	/* The same range pins read-only. */
	fd = util_pin(p, 2 * page_size, 0, &arg);
	expect_ok(fd);
	close(fd);
	munmap(p, 2 * page_size);
	return util_expect_snapshot(&s);
}

/* A read-only pin must not read what the process may not read. */
static enum test_result test_pin_readonly_prot_none(void)
{
	struct dmabuf_sg_pin arg;
	struct util_snapshot s;
	char *p;

	p = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(p != MAP_FAILED);
	memset(p, 5, 2 * page_size);
	expect_ok(mprotect(p + page_size, page_size, PROT_NONE));
	util_snapshot(&s);
	arg = pin_arg(p, 2 * page_size);
	arg.flags = 0;
	arg.fd_flags = O_RDONLY;
	expect_pass(pin_errno(EFAULT, arg));
	arg = pin_arg(p + page_size, 1);
	arg.flags = 0;
	arg.fd_flags = O_RDONLY;
	expect_pass(pin_errno(EFAULT, arg));
	expect_pass(util_expect_snapshot(&s));
	munmap(p, 2 * page_size);
	return TEST_PASS;
}

static enum test_result test_pin_dmabuf_mapping(void)
{
	struct util_snapshot s;
	void *map;
	int fd;

	fd = util_alloc(64 * KIB, 0, NULL, NULL);
	expect_ok(fd);
	map = util_map(fd, 64 * KIB, PROT_READ | PROT_WRITE);
	expect_true(map != MAP_FAILED);
	memset(map, 0x42, 64 * KIB);
	util_snapshot(&s);
	expect_pass(pin_errno(EFAULT, pin_arg(map, 64 * KIB)));
	expect_pass(pin_errno(EFAULT, pin_arg((char *)map + 10, 100)));
	struct dmabuf_sg_pin ro = pin_arg(map, page_size);
	ro.flags = 0;
	ro.fd_flags = O_RDONLY;
	expect_pass(pin_errno(EFAULT, ro));
	expect_pass(util_expect_snapshot(&s));
	munmap(map, 64 * KIB);
	close(fd);
	return TEST_PASS;
}

/*
 * With max_buffer_bytes raised to its top (2^64 - 1), sizes whose page
 * rounding would wrap, and any size beyond what the module can map (its
 * page lists: under 1 TiB), are EFBIG; VIEW ranges near 2^64 are EINVAL.
 * Nothing may be allocated, pinned or counted.
 */
static enum test_result huge_sizes(int buf)
{
	static const uint64_t huge[] = {
		UINT64_MAX, UINT64_MAX - 4096 + 2, UINT64_MAX - 4096 + 1,
		1ULL << 63, 1ULL << 40, (1ULL << 40) + 1,
	};
	struct dma_heap_allocation_data heap;
	struct dmabuf_sg_view view;
	struct util_snapshot s;
	uint8_t *mem;
	size_t i;

	mem = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(mem != MAP_FAILED);
	util_snapshot(&s);
	for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		test_diag("size %#llx", (unsigned long long)huge[i]);
		expect_pass(alloc_errno(EFBIG, alloc_arg(huge[i])));
		heap = (struct dma_heap_allocation_data){ .len = huge[i], .fd_flags = O_RDWR };
		expect_pass(heap_errno(EFBIG, heap));
		expect_pass(pin_errno(EFBIG, pin_arg(mem, huge[i])));
		expect_pass(pin_errno(EFBIG, pin_arg(mem + 1, huge[i] - 1)));
	}
	/* An unaligned start whose page-rounded end would pass 2^64. */
	expect_pass(pin_errno(EFBIG, pin_arg(mem + page_size - 1, UINT64_MAX - (uintptr_t)mem - page_size)));
	/* VIEW ranges that overflow or end beyond the buffer. */
	view = (struct dmabuf_sg_view){ .fd = (uint32_t)buf, .fd_flags = O_RDWR };
	view.offset = UINT64_MAX & ~(uint64_t)(page_size - 1);
	expect_errno(EINVAL, ioctl(util_dev(), DMABUF_SG_IOCTL_VIEW, &view));
	view.offset = page_size;
	view.length = UINT64_MAX & ~(uint64_t)(page_size - 1);	/* offset + length wraps */
	expect_errno(EINVAL, ioctl(util_dev(), DMABUF_SG_IOCTL_VIEW, &view));
	view.offset = 0;
	view.length = 1ULL << 63;
	expect_errno(EINVAL, ioctl(util_dev(), DMABUF_SG_IOCTL_VIEW, &view));
	expect_pass(util_expect_snapshot(&s));
	munmap(mem, 2 * page_size);
	return TEST_PASS;
}

static enum test_result test_huge_sizes(void)
{
	long long max = util_sysfs_ll(MODULE_PARAM("max_buffer_bytes"));
	enum test_result r;
	char value[32];
	int buf;

	expect_true(max > 0);
	buf = util_alloc(2 * page_size, 0, NULL, NULL);
	expect_ok(buf);
	expect_ok(util_sysfs_write(MODULE_PARAM("max_buffer_bytes"), "18446744073709551615"));
	r = huge_sizes(buf);
	snprintf(value, sizeof(value), "%lld", max);
	expect_ok(util_sysfs_write(MODULE_PARAM("max_buffer_bytes"), value));
	close(buf);
	return r;
}

const struct test_case test_input_cases[] = {
	{ "input: ALLOC zero and over-limit sizes", test_alloc_bad_size },
	{ "input: ALLOC unknown flags, reserved, name", test_alloc_bad_flags },
	{ "input: ALLOC bad fd flags", test_alloc_bad_fd_flags },
	{ "input: ALLOC over the global cap", test_alloc_over_cap },
	{ "input: unknown ioctls are ENOTTY", test_unknown_ioctls },
	{ "input: DMA_HEAP_IOCTL_ALLOC bad input", test_heap_bad_input },
	{ "input: INFO pad, bad and foreign fds", test_info_bad_input },
	{ "input: PIN zero length, flags, reserved, fd flags, addresses", test_pin_bad_args },
	{ "input: PIN unmapped and partly unmapped ranges", test_pin_unmapped },
	{ "input: PIN writable of a read-only mapping", test_pin_readonly_mapping_for_write },
	{ "input: read-only PIN of PROT_NONE memory", test_pin_readonly_prot_none },
	{ "input: PIN of a dma-buf mapping", test_pin_dmabuf_mapping },
	{ "input: sizes near 2^64 with max_buffer_bytes at its top", test_huge_sizes },
	{ NULL, NULL },
};
