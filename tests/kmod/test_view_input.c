// SPDX-License-Identifier: GPL-2.0
/*
 * VIEW bad input: malformed requests, fds that are not our dma-bufs,
 * ranges outside the source, and writable views of read-only sources are
 * clean errors that leave the counters and the fd table as they were.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xf86drm.h>

#include "util.h"

#define VIEW_RO DMABUF_SG_VIEW_READ_ONLY

static struct dmabuf_sg_view view_arg(int fd, uint64_t offset, uint64_t length)
{
	return (struct dmabuf_sg_view){
		.fd = (uint32_t)fd, .flags = VIEW_RO, .offset = offset,
		.length = length, .fd_flags = O_RDONLY | O_CLOEXEC,
	};
}

static enum test_result view_errno(int err, struct dmabuf_sg_view arg)
{
	expect_errno(err, ioctl(util_dev(), DMABUF_SG_IOCTL_VIEW, &arg));
	return TEST_PASS;
}

static enum test_result test_view_bad_args(void)
{
	static const uint32_t bad_fd_flags[] = {
		O_NONBLOCK, O_ACCMODE, O_RDWR, O_WRONLY, O_RDWR | O_CLOEXEC,
		O_RDONLY | O_APPEND, O_CREAT, 0xffffffffU,
	};
	struct dmabuf_sg_view arg;
	struct util_snapshot s;
	unsigned int bit;
	size_t i;
	int fd;

	fd = util_alloc(4 * page_size, 0, NULL, NULL);
	expect_ok(fd);
	util_snapshot(&s);
	for (bit = 0; bit < 32; bit++) {
		if (DMABUF_SG_VIEW_VALID_FLAGS & (1U << bit))
			continue;
		arg = view_arg(fd, 0, 0);
		arg.flags |= 1U << bit;
		expect_pass(view_errno(EINVAL, arg));
	}
	arg = view_arg(fd, 0, 0);
	arg.reserved = 1;
	expect_pass(view_errno(EINVAL, arg));
	arg = view_arg(fd, 0, 0);
	arg.reserved = 1ULL << 63;
	expect_pass(view_errno(EINVAL, arg));
	/* Read-only views hand out O_RDONLY files only. */
	for (i = 0; i < sizeof(bad_fd_flags) / sizeof(bad_fd_flags[0]); i++) {
		arg = view_arg(fd, 0, 0);
		arg.fd_flags = bad_fd_flags[i];
		expect_pass(view_errno(EINVAL, arg));
	}
	/* A writable view still takes no flag but O_CLOEXEC and a mode. */
	arg = view_arg(fd, 0, 0);
	arg.flags = 0;
	arg.fd_flags = O_RDWR | O_NONBLOCK;
	expect_pass(view_errno(EINVAL, arg));
	arg.fd_flags = O_ACCMODE;
	expect_pass(view_errno(EINVAL, arg));
	expect_pass(util_expect_snapshot(&s));
	close(fd);
	return TEST_PASS;
}

static enum test_result test_view_bad_fds(void)
{
	struct util_snapshot s;
	int other;

	util_snapshot(&s);
	expect_pass(view_errno(EBADF, view_arg(1000, 0, 0)));
	expect_pass(view_errno(EBADF, view_arg(-1, 0, 0)));
	expect_pass(view_errno(EBADF, view_arg(INT32_MIN, 0, 0)));
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	expect_ok(other);
	expect_pass(view_errno(EINVAL, view_arg(other, 0, 0)));
	close(other);
	other = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	expect_ok(other);
	expect_ok(ftruncate(other, (off_t)(4 * page_size)));
	expect_pass(view_errno(EINVAL, view_arg(other, 0, 0)));
	close(other);
	/* The device itself is no dma-buf either. */
	expect_pass(view_errno(EINVAL, view_arg(util_dev(), 0, 0)));
	return util_expect_snapshot(&s);
}

static enum test_result test_view_vgem_dmabuf(void)
{
	struct drm_mode_create_dumb create = { .width = 64, .height = 64, .bpp = 32 };
	const char *path = util_find_drm("vgem");
	struct util_snapshot s;
	int drm, prime;

	if (!path)
		return test_skip("no vgem device (modprobe vgem failed?)");
	drm = open(path, O_RDWR | O_CLOEXEC);
	expect_ok(drm);
	expect_ok(drmIoctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &create));
	expect_ok(drmPrimeHandleToFD(drm, create.handle, DRM_CLOEXEC | DRM_RDWR, &prime));
	util_snapshot(&s);
	expect_pass(view_errno(EINVAL, view_arg(prime, 0, 0)));
	struct dmabuf_sg_view rw = view_arg(prime, 0, page_size);
	rw.flags = 0;
	rw.fd_flags = O_RDWR;
	expect_pass(view_errno(EINVAL, rw));
	expect_pass(util_expect_snapshot(&s));
	close(prime);
	close(drm);
	return TEST_PASS;
}

static enum test_result test_view_bad_ranges(void)
{
	const uint64_t size = 16 * page_size, top = UINT64_MAX & ~(uint64_t)(page_size - 1);
	static const struct { uint64_t off, len; } pages[] = {
		{ 16, 0 }, { 17, 0 }, { 0, 17 }, { 1, 16 }, { 15, 2 }, { 8, 9 },
	};
	struct util_snapshot s;
	int fd, sub;
	size_t i;

	fd = util_alloc(size, 0, NULL, NULL);
	expect_ok(fd);
	sub = util_view(fd, 0, 4 * page_size, 4 * page_size, NULL);
	expect_ok(sub);
	util_snapshot(&s);
	/* Not page-aligned. */
	expect_pass(view_errno(EINVAL, view_arg(fd, 1, 0)));
	expect_pass(view_errno(EINVAL, view_arg(fd, page_size / 2, page_size)));
	expect_pass(view_errno(EINVAL, view_arg(fd, 0, 1)));
	expect_pass(view_errno(EINVAL, view_arg(fd, page_size, page_size + 1)));
	expect_pass(view_errno(EINVAL, view_arg(fd, 0, size - 1)));
	/* Empty, or ending past the buffer. */
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		expect_pass(view_errno(EINVAL, view_arg(fd, pages[i].off * page_size,
							pages[i].len * page_size)));
	/* Overflowing: offset + length wraps around to inside the buffer. */
	expect_pass(view_errno(EINVAL, view_arg(fd, page_size, top)));
	expect_pass(view_errno(EINVAL, view_arg(fd, top, 2 * page_size)));
	expect_pass(view_errno(EINVAL, view_arg(fd, top, 0)));
	expect_pass(view_errno(EINVAL, view_arg(fd, 1ULL << 63, 1ULL << 63)));
	/* A view's bounds are its own, not its buffer's. */
	expect_pass(view_errno(EINVAL, view_arg(sub, 4 * page_size, 0)));
	expect_pass(view_errno(EINVAL, view_arg(sub, 0, 5 * page_size)));
	expect_pass(view_errno(EINVAL, view_arg(sub, 3 * page_size, 2 * page_size)));
	expect_pass(util_expect_snapshot(&s));
	close(sub);
	close(fd);
	return TEST_PASS;
}

/* No writable view of something read-only, however it is asked for. */
static enum test_result test_view_writable_of_readonly(void)
{
	struct dmabuf_sg_view rw;
	struct util_snapshot s;
	int ro_pin, ro_view, ro_file, ok;
	size_t len = 4 * page_size;
	uint8_t *user;

	user = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(user != MAP_FAILED);
	memset(user, 9, len);
	ro_pin = util_pin(user, len, 0, NULL);
	expect_ok(ro_pin);
	ro_file = util_alloc(len, 0, NULL, NULL);
	expect_ok(ro_file);
	ro_view = util_view(ro_file, VIEW_RO, 0, 0, NULL);
	expect_ok(ro_view);
	close(ro_file);
	/* An ALLOC handed out read-only: its file has no write access. */
	struct dmabuf_sg_alloc a = { .size = len, .fd_flags = O_RDONLY | O_CLOEXEC };
	expect_ok(ioctl(util_dev(), DMABUF_SG_IOCTL_ALLOC, &a));
	ro_file = (int)a.fd;
	util_snapshot(&s);
	for (int i = 0; i < 3; i++) {
		int fd = i == 0 ? ro_pin : i == 1 ? ro_view : ro_file;

		rw = view_arg(fd, 0, 0);
		rw.flags = 0;
		rw.fd_flags = O_RDWR | O_CLOEXEC;
		expect_pass(view_errno(EACCES, rw));
		rw.fd_flags = O_RDONLY | O_CLOEXEC;	/* even asking for an O_RDONLY file */
		expect_pass(view_errno(EACCES, rw));
	}
	expect_pass(util_expect_snapshot(&s));
	/* Read-only views of them are fine. */
	ok = util_view(ro_pin, VIEW_RO, page_size, 0, NULL);
	expect_ok(ok);
	close(ok);
	ok = util_view(ro_view, VIEW_RO, 0, page_size, NULL);
	expect_ok(ok);
	close(ok);
	ok = util_view(ro_file, VIEW_RO, 0, 0, NULL);
	expect_ok(ok);
	close(ok);
	close(ro_file);
	close(ro_view);
	close(ro_pin);
	munmap(user, len);
	return TEST_PASS;
}

const struct test_case test_view_input_cases[] = {
	{ "input: VIEW unknown flags, reserved, fd flags", test_view_bad_args },
	{ "input: VIEW bad and foreign fds (memfd, /dev/null, the device)", test_view_bad_fds },
	{ "input: VIEW of a vgem dma-buf", test_view_vgem_dmabuf },
	{ "input: VIEW unaligned, empty, beyond and overflowing ranges", test_view_bad_ranges },
	{ "input: VIEW writable of a read-only source is EACCES", test_view_writable_of_readonly },
	{ NULL, NULL },
};

