// SPDX-License-Identifier: GPL-2.0
/*
 * DMA_HEAP_IOCTL_ALLOC on /dev/dmabuf_sg answers as the kernel's dma-heap
 * core does: structs of older (16-byte) and newer (48-byte) headers, a
 * non-zero input fd, every access mode.  Each request has its expected
 * answer; where the kernel has a heap of its own (/dev/dma_heap/system,
 * 6.12) the same request goes there too and must get the same answer.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-heap.h>

#include "util.h"

#define SYSTEM_HEAP "/dev/dma_heap/system"
/* Room for the largest struct a request below uses. */
#define ARG_BYTES 64

/* One request: a command, its argument bytes, and what it should get. */
struct heap_request {
	const char *what;
	unsigned long cmd;
	uint8_t arg[ARG_BYTES];
	int err;		/* expected errno, 0 for success */
	int acc_mode;		/* on success: the fd's access mode */
};

/* What a heap made of a request. */
struct heap_answer {
	int err;
	uint8_t arg[ARG_BYTES];	/* the argument after the call, fd zeroed */
	int acc_mode;
	int readable;		/* a shared PROT_READ mapping works */
	long long size;		/* the dma-buf's size (lseek SEEK_END) */
};

/* The fd field of every struct version: after len, at byte 8. */
#define FD_AT 8

static void put_u64(uint8_t *arg, size_t at, uint64_t v) { memcpy(arg + at, &v, sizeof(v)); }
static void put_u32(uint8_t *arg, size_t at, uint32_t v) { memcpy(arg + at, &v, sizeof(v)); }

static void ask(int heap, const struct heap_request *r, struct heap_answer *a)
{
	uint32_t fd;
	void *map;

	memset(a, 0, sizeof(*a));
	memcpy(a->arg, r->arg, sizeof(a->arg));
	errno = 0;
	if (ioctl(heap, r->cmd, a->arg) < 0) {
		a->err = errno;
		return;
	}
	memcpy(&fd, a->arg + FD_AT, sizeof(fd));
	put_u32(a->arg, FD_AT, 0);
	a->acc_mode = fcntl((int)fd, F_GETFL) & O_ACCMODE;
	a->size = lseek((int)fd, 0, SEEK_END);
	map = mmap(NULL, page_size, PROT_READ, MAP_SHARED, (int)fd, 0);
	a->readable = map != MAP_FAILED;
	if (a->readable)
		munmap(map, page_size);
	close((int)fd);
}

static bool answers_match(const char *heap, const struct heap_request *r,
			  const struct heap_answer *want, const struct heap_answer *seen)
{
	if (want->err != seen->err || want->acc_mode != seen->acc_mode ||
	    want->readable != seen->readable || want->size != seen->size ||
	    memcmp(want->arg, seen->arg, sizeof(want->arg))) {
		test_diag("%s, %s: expected %s, mode %d, readable %d, size %lld; "
			  "seen %s, mode %d, readable %d, size %lld%s", heap, r->what,
			  strerror(want->err), want->acc_mode, want->readable, want->size,
			  strerror(seen->err), seen->acc_mode, seen->readable, seen->size,
			  memcmp(want->arg, seen->arg, sizeof(want->arg)) ?
			  ", argument bytes differ" : "");
		return false;
	}
	return true;
}

/* The answer a request should get, len being the struct's first field. */
static void expected_answer(const struct heap_request *r, struct heap_answer *a)
{
	uint64_t len;

	memset(a, 0, sizeof(*a));
	memcpy(a->arg, r->arg, sizeof(a->arg));
	a->err = r->err;
	if (r->err)
		return;
	memcpy(&len, r->arg, sizeof(len));
	a->acc_mode = r->acc_mode;
	a->readable = r->acc_mode == O_RDONLY || r->acc_mode == O_RDWR;
	a->size = (long long)((len + page_size - 1) / page_size * page_size);
}

static struct heap_request request(const char *what, unsigned long cmd,
				   uint64_t len, uint32_t fd, uint32_t fd_flags,
				   int err)
{
	struct heap_request r = { .what = what, .cmd = cmd, .err = err,
				  .acc_mode = (int)(fd_flags & O_ACCMODE) };

	put_u64(r.arg, 0, len);
	put_u32(r.arg, FD_AT, fd);
	put_u32(r.arg, 12, fd_flags);
	/* Past every struct: bytes the kernel must leave alone. */
	memset(r.arg + 48, 0xa5, ARG_BYTES - 48);
	return r;
}

#define OLDER_CMD _IOWR(DMA_HEAP_IOC_MAGIC, 0, uint8_t[16])
#define NEWER_CMD _IOWR(DMA_HEAP_IOC_MAGIC, 0, uint8_t[48])

static enum test_result test_heap_abi(void)
{
	struct heap_request reqs[12];
	struct heap_answer want, ours, theirs;
	struct util_snapshot s;
	size_t n = 0, i;
	int system;

	reqs[n++] = request("current struct", DMA_HEAP_IOCTL_ALLOC, 3 * page_size + 1, 0,
			    O_RDWR | O_CLOEXEC, 0);
	reqs[n] = request("current struct, bytes beyond it", DMA_HEAP_IOCTL_ALLOC,
			  page_size, 0, O_RDWR | O_CLOEXEC, 0);
	memset(reqs[n++].arg + 24, 0x5a, 24);
	/* 16 bytes: len, fd, fd_flags; heap_flags reads as zero. */
	reqs[n] = request("older 16-byte struct", OLDER_CMD, 5 * page_size, 0,
			  O_RDWR | O_CLOEXEC, 0);
	memset(reqs[n++].arg + 16, 0xff, 8);	/* not heap_flags: beyond it */
	/* 48 bytes: what the kernel does not know is ignored, garbage or not. */
	reqs[n] = request("newer 48-byte struct", NEWER_CMD, page_size, 0,
			  O_RDWR | O_CLOEXEC, 0);
	put_u64(reqs[n].arg, 24, 0xffffffff);
	put_u64(reqs[n].arg, 32, 0x88888888);
	put_u64(reqs[n++].arg, 40, 0x11111111);
	reqs[n] = request("newer struct, non-zero heap_flags", NEWER_CMD, page_size, 0,
			  O_RDWR, EINVAL);
	put_u64(reqs[n++].arg, 16, 1);
	reqs[n++] = request("non-zero input fd", DMA_HEAP_IOCTL_ALLOC, page_size, 1,
			    O_RDWR, EINVAL);
	reqs[n++] = request("older struct, non-zero input fd", OLDER_CMD, page_size, 7,
			    O_RDWR, EINVAL);
	reqs[n++] = request("O_RDONLY", DMA_HEAP_IOCTL_ALLOC, page_size, 0, O_RDONLY, 0);
	reqs[n++] = request("O_WRONLY", DMA_HEAP_IOCTL_ALLOC, page_size, 0, O_WRONLY, 0);
	reqs[n++] = request("O_ACCMODE", DMA_HEAP_IOCTL_ALLOC, page_size, 0,
			    O_ACCMODE | O_CLOEXEC, 0);
	reqs[n++] = request("O_NONBLOCK", DMA_HEAP_IOCTL_ALLOC, page_size, 0,
			    O_RDWR | O_NONBLOCK, EINVAL);
	reqs[n++] = request("zero length, older struct", OLDER_CMD, 0, 0, O_RDWR, EINVAL);

	system = open(SYSTEM_HEAP, O_RDONLY | O_CLOEXEC);
	test_diag("%s: %s", SYSTEM_HEAP, system >= 0 ? "compared" : strerror(errno));
	util_snapshot(&s);
	for (i = 0; i < n; i++) {
		expected_answer(&reqs[i], &want);
		ask(util_dev(), &reqs[i], &ours);
		expect_true(answers_match("dmabuf_sg", &reqs[i], &want, &ours));
		if (system < 0)
			continue;
		ask(system, &reqs[i], &theirs);
		expect_true(answers_match(SYSTEM_HEAP, &reqs[i], &want, &theirs));
	}
	expect_pass(util_expect_snapshot(&s));
	if (system >= 0)
		close(system);
	return TEST_PASS;
}

/* A dma-buf open for neither reading nor writing still imports: INFO. */
static enum test_result test_heap_no_access(void)
{
	struct dma_heap_allocation_data arg = {
		.len = page_size, .fd_flags = O_ACCMODE | O_CLOEXEC,
	};
	struct dmabuf_sg_info info;

	expect_ok(ioctl(util_dev(), DMA_HEAP_IOCTL_ALLOC, &arg));
	expect_int_eq(O_ACCMODE, fcntl((int)arg.fd, F_GETFL) & O_ACCMODE);
	expect_true(mmap(NULL, page_size, PROT_READ, MAP_SHARED, (int)arg.fd, 0) == MAP_FAILED);
	expect_int_eq(EACCES, errno);
	expect_ok(util_info((int)arg.fd, &info));
	expect_int_eq(DMABUF_SG_KIND_ALLOC, info.kind);
	expect_int_eq(page_size, info.size);
	/* A writable view needs a file open for writing. */
	expect_errno(EACCES, util_view((int)arg.fd, 0, 0, 0, NULL));
	expect_ok(close((int)arg.fd));
	return TEST_PASS;
}

const struct test_case test_heap_cases[] = {
	{ "heap: struct sizes, input fd and access modes as the dma-heap core", test_heap_abi },
	{ "heap: O_ACCMODE gives a dma-buf open for neither read nor write", test_heap_no_access },
	{ NULL, NULL },
};
