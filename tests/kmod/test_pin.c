// SPDX-License-Identifier: GPL-2.0
/*
 * PIN: the dma-buf is the user's own pages: bytes written on either side
 * show on the other, at any alignment, for anonymous and memfd memory,
 * read-only pins stay read-only, and fork() leaves the pages with the parent.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "util.h"

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Pin [user + off, user + off + len) writable and check both directions.
 * @user must be mapped over the whole pages of the range.
 */
static enum test_result pin_both_ways(uint8_t *user, size_t off, size_t len,
				      uint32_t seed)
{
	size_t first = off % page_size, span;
	struct dmabuf_sg_info info;
	struct dmabuf_sg_pin arg;
	uint8_t *map;
	int fd;

	util_fill(user + off, len, 0, seed);
	fd = util_pin(user + off, len, DMABUF_SG_PIN_WRITE, &arg);
	expect_ok(fd);
	expect_ok(util_info(fd, &info));
	span = (first + len + page_size - 1) / page_size * page_size;
	expect_int_eq(DMABUF_SG_KIND_PIN, info.kind);
	expect_int_eq(first, info.offset);
	expect_int_eq(len, info.length);
	expect_int_eq(span, info.size);
	expect_int_eq(arg.sg_entries, info.sg_entries);
	expect_int_eq(span / page_size, info.blocks_per_order[0]);

	map = util_map(fd, span, PROT_READ | PROT_WRITE);
	expect_true(map != MAP_FAILED);
	/* user -> dma-buf */
	expect_ok(util_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	expect_true(util_check(map + first, len, 0, seed) == (size_t)-1);
	/* dma-buf -> user, neighbours untouched */
	util_fill(map + first, len, 0, seed + 1);
	expect_ok(util_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	expect_true(util_check(user + off, len, 0, seed + 1) == (size_t)-1);
	/* user again, after the dma-buf wrote */
	util_fill(user + off, len, 0, seed + 2);
	expect_true(util_check(map + first, len, 0, seed + 2) == (size_t)-1);
	expect_ok(munmap(map, span));
	expect_ok(close(fd));
	/* Released: the user memory keeps the last bytes. */
	expect_true(util_check(user + off, len, 0, seed + 2) == (size_t)-1);
	return TEST_PASS;
}

static enum test_result test_pin_aligned(void)
{
	size_t len = 1 * MIB;
	struct util_snapshot s;
	uint8_t *user = anon(len);

	expect_true(user != NULL);
	util_snapshot(&s);
	expect_pass(pin_both_ways(user, 0, len, 20));
	expect_pass(util_expect_snapshot(&s));
	munmap(user, len);
	return TEST_PASS;
}

static enum test_result test_pin_unaligned(void)
{
	static const struct { size_t off, len; } cases[] = {
		{ 123, 10000 }, { 1, 1 }, { 4095, 2 }, { 4095, 1 }, { 7, 3 * 4096 },
		{ 2048, 64 * 1024 - 4096 }, { 4096 + 17, 200000 },
	};
	size_t len = 1 * MIB, i;
	struct util_snapshot s;
	uint8_t *user = anon(len);

	expect_true(user != NULL);
	util_snapshot(&s);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_pass(pin_both_ways(user, cases[i].off, cases[i].len, 30 + (uint32_t)i));
	expect_pass(util_expect_snapshot(&s));
	munmap(user, len);
	return TEST_PASS;
}

static enum test_result test_pin_counters(void)
{
	struct util_stats before, during;
	size_t len = 64 * MIB;
	uint8_t *user = anon(len);
	struct dmabuf_sg_pin arg;
	int fd;

	expect_true(user != NULL);
	memset(user, 0x11, len);
	expect_ok(util_stats_read(&before));
	fd = util_pin(user, len, DMABUF_SG_PIN_WRITE, &arg);
	expect_ok(fd);
	expect_ok(util_stats_read(&during));
	expect_int_eq(before.live_buffers + 1, during.live_buffers);
	expect_int_eq(before.pinned_bytes + (long long)len, during.pinned_bytes);
	expect_int_eq(before.allocated_bytes, during.allocated_bytes);
	test_diag("64 MiB anonymous pin: %u SG entries", arg.sg_entries);
	close(fd);
	expect_ok(util_stats_read(&during));
	expect_int_eq(before.pinned_bytes, during.pinned_bytes);
	munmap(user, len);
	return TEST_PASS;
}

static enum test_result test_pin_memfd(void)
{
	size_t len = 2 * MIB;
	struct util_snapshot s;
	uint8_t *user;
	int mfd;

	mfd = memfd_create("pin-test", MFD_CLOEXEC);
	expect_ok(mfd);
	expect_ok(ftruncate(mfd, (off_t)len));
	user = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	expect_true(user != MAP_FAILED);
	util_snapshot(&s);
	expect_pass(pin_both_ways(user, 0, len, 40));
	expect_pass(pin_both_ways(user, 999, len - 5000, 41));
	expect_pass(util_expect_snapshot(&s));
	/* The memfd's page cache is the pinned memory: pread sees the bytes. */
	uint8_t chunk[512];
	expect_int_eq(sizeof(chunk), pread(mfd, chunk, sizeof(chunk), 999));
	expect_true(util_check(chunk, sizeof(chunk), 0, 43) == (size_t)-1);
	munmap(user, len);
	close(mfd);
	return TEST_PASS;
}

static enum test_result test_pin_readonly(void)
{
	size_t len = 4 * page_size;
	struct dmabuf_sg_info info;
	struct dmabuf_sg_pin arg;
	uint8_t *user = anon(len), *map;
	int fd;

	expect_true(user != NULL);
	util_fill(user, len, 0, 50);
	expect_ok(mprotect(user, len, PROT_READ));
	fd = util_pin(user + 10, len - 20, 0, &arg);
	expect_ok(fd);
	expect_ok(util_info(fd, &info));
	expect_int_eq(0, info.flags);
	expect_int_eq(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	/* Writable shared mappings are refused, and so is upgrading one. */
	expect_true(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	expect_int_eq(EACCES, errno);
	map = util_map(fd, len, PROT_READ);
	expect_true(map != MAP_FAILED);
	expect_errno(EACCES, mprotect(map, len, PROT_READ | PROT_WRITE));
	expect_true(util_check(map + 10, len - 20, 10, 50) == (size_t)-1);
	/* The user's later writes show through the pin. */
	expect_ok(mprotect(user, len, PROT_READ | PROT_WRITE));
	util_fill(user, len, 0, 51);
	expect_true(util_check(map, len, 0, 51) == (size_t)-1);
	munmap(map, len);
	close(fd);
	munmap(user, len);
	return TEST_PASS;
}

/*
 * A read-only pin of [user, user + len) must be the pages the process
 * writes afterwards, whatever the mapping held when it was pinned: write
 * a pattern through @user after the pin and read it through the dma-buf.
 */
static enum test_result pin_ro_sees_writes(uint8_t *user, size_t len, uint32_t seed)
{
	uint8_t *map;
	int fd;

	fd = util_pin(user, len, 0, NULL);
	expect_ok(fd);
	map = util_map(fd, len, PROT_READ);
	expect_true(map != MAP_FAILED);
	util_fill(user, len, 0, seed);
	expect_ok(util_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	size_t bad = util_check(map, len, 0, seed);
	if (bad != (size_t)-1)
		test_diag("byte %zu of the dma-buf is 0x%02x: the write went to another page",
			  bad, map[bad]);
	expect_true(bad == (size_t)-1);
	expect_ok(util_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	expect_ok(munmap(map, len));
	expect_ok(close(fd));
	return TEST_PASS;
}

/* Never-touched anonymous memory reads as the shared zero page. */
static enum test_result test_pin_readonly_untouched_anon(void)
{
	size_t len = 64 * KIB;
	struct util_snapshot s;
	uint8_t *user = anon(len);

	expect_true(user != NULL);
	util_snapshot(&s);
	expect_pass(pin_ro_sees_writes(user, len, 52));
	/* Read-faulted first: the zero page is mapped when the pin comes. */
	uint8_t *read_first = anon(len);
	expect_true(read_first != NULL);
	expect_true(util_check_zero(read_first, len) == (size_t)-1);
	expect_pass(pin_ro_sees_writes(read_first, len, 53));
	expect_pass(util_expect_snapshot(&s));
	munmap(read_first, len);
	munmap(user, len);
	return TEST_PASS;
}

/* A memfd holding @len bytes of pattern @seed, or -1. */
static int memfd_with_pattern(size_t len, uint32_t seed)
{
	uint8_t *buf = malloc(len);
	int fd = memfd_create("pin-ro", MFD_CLOEXEC);

	if (!buf || fd < 0 || ftruncate(fd, (off_t)len) ||
	    (util_fill(buf, len, 0, seed), pwrite(fd, buf, len, 0) != (ssize_t)len)) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(buf);
	return fd;
}

/*
 * A private file mapping read so far maps the file's page-cache pages; the
 * first write copies them.  The file itself must keep its bytes.
 */
static enum test_result test_pin_readonly_private_file(void)
{
	size_t len = 64 * KIB;
	uint8_t chunk[256];
	uint8_t *user;
	int mfd;

	mfd = memfd_with_pattern(len, 54);
	expect_ok(mfd);
	user = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	expect_true(user != MAP_FAILED);
	expect_true(util_check(user, len, 0, 54) == (size_t)-1);	/* read faults */
	expect_pass(pin_ro_sees_writes(user, len, 55));
	expect_int_eq(sizeof(chunk), pread(mfd, chunk, sizeof(chunk), 4096));
	expect_true(util_check(chunk, sizeof(chunk), 4096, 54) == (size_t)-1);
	munmap(user, len);
	close(mfd);
	return TEST_PASS;
}

/* A shared file mapping writes to the page cache, which the pin holds. */
static enum test_result test_pin_readonly_shared_file(void)
{
	size_t len = 64 * KIB;
	uint8_t chunk[256];
	uint8_t *user;
	int mfd;

	mfd = memfd_with_pattern(len, 56);
	expect_ok(mfd);
	user = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	expect_true(user != MAP_FAILED);
	expect_true(util_check(user, len, 0, 56) == (size_t)-1);
	expect_pass(pin_ro_sees_writes(user, len, 57));
	expect_int_eq(sizeof(chunk), pread(mfd, chunk, sizeof(chunk), 4096));
	expect_true(util_check(chunk, sizeof(chunk), 4096, 57) == (size_t)-1);
	munmap(user, len);
	close(mfd);
	return TEST_PASS;
}

/*
 * Read-only mappings pin read-only, and the dma-buf shows their bytes:
 * a private file mapping never written, untouched anonymous memory, and a
 * shared mapping of a file opened read-only.
 */
static enum test_result test_pin_readonly_of_readonly_mappings(void)
{
	size_t len = 64 * KIB;
	uint8_t *user, *map;
	char path[64];
	int mfd, rofd, fd;

	mfd = memfd_with_pattern(len, 58);
	expect_ok(mfd);
	user = mmap(NULL, len, PROT_READ, MAP_PRIVATE, mfd, 0);
	expect_true(user != MAP_FAILED);
	fd = util_pin(user, len, 0, NULL);
	expect_ok(fd);
	map = util_map(fd, len, PROT_READ);
	expect_true(map != MAP_FAILED);
	expect_true(util_check(map, len, 0, 58) == (size_t)-1);
	munmap(map, len);
	close(fd);
	munmap(user, len);

	user = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(user != MAP_FAILED);
	fd = util_pin(user, len, 0, NULL);
	expect_ok(fd);
	map = util_map(fd, len, PROT_READ);
	expect_true(map != MAP_FAILED);
	expect_true(util_check_zero(map, len) == (size_t)-1);
	munmap(map, len);
	close(fd);
	munmap(user, len);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	rofd = open(path, O_RDONLY | O_CLOEXEC);
	expect_ok(rofd);
	user = mmap(NULL, len, PROT_READ, MAP_SHARED, rofd, 0);
	expect_true(user != MAP_FAILED);
	fd = util_pin(user, len, 0, NULL);
	expect_ok(fd);
	map = util_map(fd, len, PROT_READ);
	expect_true(map != MAP_FAILED);
	expect_true(util_check(map, len, 0, 58) == (size_t)-1);
	/* The file's writes reach the pinned page cache. */
	uint8_t byte = 0x5a;
	expect_int_eq(1, pwrite(mfd, &byte, 1, 100));
	expect_int_eq(0x5a, map[100]);
	munmap(map, len);
	close(fd);
	munmap(user, len);
	close(rofd);
	close(mfd);
	return TEST_PASS;
}

static enum test_result fork_child(uint8_t *user, size_t len, int fd)
{
	uint8_t *map;

	/* The child's copy is its own: writing it must not reach the pin. */
	memset(user, 0xCC, len);
	map = util_map(fd, len, PROT_READ);
	expect_true(map != MAP_FAILED);
	expect_true(util_check(map, len, 0, 60) == (size_t)-1);
	return TEST_PASS;
}

static enum test_result test_pin_fork(void)
{
	size_t len = 256 * KIB;
	uint8_t *user = anon(len), *map;
	int fd, status;
	pid_t pid;

	expect_true(user != NULL);
	util_fill(user, len, 0, 60);
	fd = util_pin(user, len, DMABUF_SG_PIN_WRITE, NULL);
	expect_ok(fd);
	fflush(stdout);
	pid = fork();
	expect_ok(pid);
	if (!pid)
		_exit(fork_child(user, len, fd));
	expect_int_eq(pid, waitpid(pid, &status, 0));
	expect_true(WIFEXITED(status));
	expect_int_eq(0, WEXITSTATUS(status));

	/* The parent's pages are still the pinned ones, both ways. */
	map = util_map(fd, len, PROT_READ | PROT_WRITE);
	expect_true(map != MAP_FAILED);
	expect_true(util_check(map, len, 0, 60) == (size_t)-1);
	util_fill(user, len, 0, 61);
	expect_true(util_check(map, len, 0, 61) == (size_t)-1);
	util_fill(map, len, 0, 62);
	expect_true(util_check(user, len, 0, 62) == (size_t)-1);
	munmap(map, len);
	close(fd);
	munmap(user, len);
	return TEST_PASS;
}

static enum test_result test_pin_outlives_munmap(void)
{
	size_t len = 64 * KIB;
	uint8_t *user = anon(len), *map;
	int fd;

	expect_true(user != NULL);
	util_fill(user, len, 0, 70);
	fd = util_pin(user, len, DMABUF_SG_PIN_WRITE, NULL);
	expect_ok(fd);
	expect_ok(munmap(user, len));
	/* The pin holds the pages after the user mapping is gone. */
	map = util_map(fd, len, PROT_READ);
	expect_true(map != MAP_FAILED);
	expect_true(util_check(map, len, 0, 70) == (size_t)-1);
	munmap(map, len);
	close(fd);
	return TEST_PASS;
}

const struct test_case test_pin_cases[] = {
	{ "pin: aligned 1 MiB both ways", test_pin_aligned },
	{ "pin: unaligned ranges both ways, INFO offset", test_pin_unaligned },
	{ "pin: 64 MiB counted in pinned_bytes", test_pin_counters },
	{ "pin: memfd-backed range", test_pin_memfd },
	{ "pin: read-only pin exports read-only", test_pin_readonly },
	{ "pin: read-only pin of untouched anonymous memory sees later writes", test_pin_readonly_untouched_anon },
	{ "pin: read-only pin of a read private file mapping sees later writes", test_pin_readonly_private_file },
	{ "pin: read-only pin of a shared file mapping sees later writes", test_pin_readonly_shared_file },
	{ "pin: read-only pins of read-only mappings", test_pin_readonly_of_readonly_mappings },
	{ "pin: fork() leaves the pinned pages with the parent", test_pin_fork },
	{ "pin: pages outlive the user mapping", test_pin_outlives_munmap },
	{ NULL, NULL },
};
