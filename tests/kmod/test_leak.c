// SPDX-License-Identifier: GPL-2.0
/*
 * Leaks: thousands of create/release cycles bring the module's counters
 * back exactly and the guest's free memory back within a tolerance.
 *
 * Tolerance: MemFree moves for reasons of its own between two readings (per
 * CPU page lists hold up to a few MiB on this 2-CPU guest, slab caches keep
 * freed dma-buf files, inodes and sg tables), so the test drops caches,
 * warms up with the same cycle, and allows LEAK_TOLERANCE_KIB (8 MiB).  What
 * it would catch: 10,000 allocations of 4 to 64 KiB hold about 200 MiB, so
 * leaking even one cycle in 25 exceeds the tolerance; 1,000 pins of 64 KiB
 * (whose pinned pages stay allocated by the test) leak page arrays and sg
 * tables only, which the exact counters catch instead.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

#define LEAK_TOLERANCE_KIB (8 * 1024)
#define ALLOC_CYCLES 10000
#define PIN_CYCLES 1000

static long long memfree_settled(void)
{
	util_drop_caches();
	return util_meminfo_kib("MemFree");
}

static enum test_result expect_memfree(long long before)
{
	long long after = memfree_settled();

	test_diag("MemFree before %lld KiB, after %lld KiB (tolerance %d KiB)",
		  before, after, LEAK_TOLERANCE_KIB);
	expect_true(before > 0 && after > 0);
	expect_uint_le(LEAK_TOLERANCE_KIB, before > after ? before - after : 0);
	return TEST_PASS;
}

static enum test_result alloc_cycles(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		size_t size = page_size << (i % 5);	/* 4 KiB .. 64 KiB */
		int fd = util_alloc(size, 0, (i & 1) ? "leak" : NULL, NULL);

		expect_ok(fd);
		if (i % 16 == 0) {	/* map some, so mmap is covered too */
			void *map = util_map(fd, size, PROT_READ | PROT_WRITE);

			expect_true(map != MAP_FAILED);
			memset(map, 1, size);
			munmap(map, size);
		}
		expect_ok(close(fd));
	}
	return TEST_PASS;
}

static enum test_result test_leak_alloc(void)
{
	struct util_snapshot s;
	long long before;

	expect_pass(alloc_cycles(200));	/* warm-up: slabs, per-CPU lists */
	util_snapshot(&s);
	before = memfree_settled();
	expect_pass(alloc_cycles(ALLOC_CYCLES));
	expect_pass(util_expect_snapshot(&s));
	return expect_memfree(before);
}

static enum test_result pin_cycles(uint8_t *user, size_t len, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		size_t off = (size_t)(i % 3) * 1000;
		int fd = util_pin(user + off, len - off - (size_t)(i % 2) * 77,
				  (i % 4) ? DMABUF_SG_PIN_WRITE : 0, NULL);

		expect_ok(fd);
		expect_ok(close(fd));
	}
	return TEST_PASS;
}

static enum test_result test_leak_pin(void)
{
	size_t len = 64 * KIB;
	struct util_snapshot s;
	long long before;
	uint8_t *user;

	user = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_true(user != MAP_FAILED);
	memset(user, 7, len);
	expect_pass(pin_cycles(user, len, 50));
	util_snapshot(&s);
	before = memfree_settled();
	expect_pass(pin_cycles(user, len, PIN_CYCLES));
	expect_pass(util_expect_snapshot(&s));
	munmap(user, len);
	return expect_memfree(before);
}

const struct test_case test_leak_cases[] = {
	{ "leak: 10000 alloc/free cycles", test_leak_alloc },
	{ "leak: 1000 pin/unpin cycles", test_leak_pin },
	{ NULL, NULL },
};
