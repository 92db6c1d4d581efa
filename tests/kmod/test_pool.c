// SPDX-License-Identifier: GPL-2.0
/*
 * The page pool (kmod/pool.c): its bound and the pool_max_bytes parameter,
 * zeroing before reuse, the shrinker, and its counters in sysfs.
 *
 * Every test sets the bound it needs and puts the old one back, whatever
 * its result (pool_test()).  Setting the bound to 0 empties the pool at
 * once, so each test starts from an empty pool.  The worker zeroes freed
 * blocks asynchronously: tests wait for pool_dirty_bytes to reach 0 (a
 * condition, with a generous timeout) before they count on zeroed blocks.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define POOL_PARAM MODULE_PARAM("pool_max_bytes")
#define POOL_STAT(name) "/sys/class/misc/dmabuf_sg/stats/" name
/* The worker zeroes 64 MiB in well under a second even under TCG. */
#define POOL_WAIT_SECONDS 120

struct pool_stats {
	long long bytes;
	long long dirty_bytes;
	long long hits;
	long long misses;
	long long reclaimed_bytes;
	long long zeroed_bytes;
};

static void pool_stats(struct pool_stats *st)
{
	st->bytes = util_sysfs_ll(POOL_STAT("pool_bytes"));
	st->dirty_bytes = util_sysfs_ll(POOL_STAT("pool_dirty_bytes"));
	st->hits = util_sysfs_ll(POOL_STAT("pool_hits"));
	st->misses = util_sysfs_ll(POOL_STAT("pool_misses"));
	st->reclaimed_bytes = util_sysfs_ll(POOL_STAT("pool_reclaimed_bytes"));
	st->zeroed_bytes = util_sysfs_ll(POOL_STAT("pool_zeroed_bytes"));
	test_diag("pool: %lld bytes (%lld dirty), hits %lld, misses %lld, reclaimed %lld, zeroed %lld",
		  st->bytes, st->dirty_bytes, st->hits, st->misses,
		  st->reclaimed_bytes, st->zeroed_bytes);
}

static int pool_set(unsigned long long bytes)
{
	char value[32];

	snprintf(value, sizeof(value), "%llu", bytes);
	return util_sysfs_write(POOL_PARAM, value);
}

/* Wait until the worker has zeroed every freed block. */
static enum test_result pool_wait_clean(void)
{
	time_t end = time(NULL) + POOL_WAIT_SECONDS;

	while (util_sysfs_ll(POOL_STAT("pool_dirty_bytes")) != 0) {
		if (time(NULL) > end) {
			test_diag("pool_dirty_bytes still %lld after %d s",
				  util_sysfs_ll(POOL_STAT("pool_dirty_bytes")),
				  POOL_WAIT_SECONDS);
			return TEST_FAIL;
		}
		usleep(10 * 1000);
	}
	return TEST_PASS;
}

/* Allocate @size, fill it with a pattern (seeded @seed), free it. */
static enum test_result pool_dirty_buffer(size_t size, uint32_t flags,
					  uint32_t seed)
{
	int fd = util_alloc(size, flags, NULL, NULL);
	void *map;

	expect_ok(fd);
	map = util_map(fd, size, PROT_READ | PROT_WRITE);
	expect_true(map != MAP_FAILED);
	util_fill(map, size, 0, seed);
	expect_ok(munmap(map, size));
	expect_ok(close(fd));
	return TEST_PASS;
}

static long long pool_blocks_of(int fd)
{
	struct dmabuf_sg_info info;
	long long n = 0;
	int i;

	if (util_info(fd, &info) < 0)
		return -1;
	for (i = 0; i < DMABUF_SG_NR_ORDERS; i++)
		n += info.blocks_per_order[i];
	return n;
}

/* A buffer of @size must read as zeros. */
static enum test_result pool_expect_zero(int fd, size_t size)
{
	void *map = util_map(fd, size, PROT_READ);
	size_t bad;

	expect_true(map != MAP_FAILED);
	bad = util_check_zero(map, size);
	if (bad != (size_t)-1)
		test_diag("byte %zu of a reused buffer is not zero", bad);
	munmap(map, size);
	expect_true(bad == (size_t)-1);
	return TEST_PASS;
}

/* Run @body with the bound at @bytes (after emptying the pool), then restore. */
static enum test_result pool_test(unsigned long long bytes,
				  enum test_result (*body)(void))
{
	long long old = util_sysfs_ll(POOL_PARAM);
	char value[32];
	enum test_result ret;

	if (old < 0)
		return test_skip("no %s: a module without the pool", POOL_PARAM);
	if (pool_set(0) < 0 || pool_set(bytes) < 0) {
		test_diag("setting %s to %llu: %s", POOL_PARAM, bytes, strerror(errno));
		return TEST_FAIL;
	}
	ret = body();
	snprintf(value, sizeof(value), "%lld", old);
	if (util_sysfs_write(POOL_PARAM, value) < 0) {
		test_diag("restoring %s to %s: %s", POOL_PARAM, value, strerror(errno));
		return TEST_FAIL;
	}
	return ret;
}

static enum test_result test_pool_param_range(void)
{
	long long ram = util_meminfo_kib("MemTotal") * 1024;
	long long old = util_sysfs_ll(POOL_PARAM);
	char value[32];

	expect_true(ram > 0 && old >= 0);
	snprintf(value, sizeof(value), "%lld", ram / 2 + page_size);
	expect_errno(EINVAL, util_sysfs_write(POOL_PARAM, value));
	snprintf(value, sizeof(value), "%lld", ram);
	expect_errno(EINVAL, util_sysfs_write(POOL_PARAM, value));
	expect_errno(EINVAL, util_sysfs_write(POOL_PARAM, "-1"));
	expect_errno(EINVAL, util_sysfs_write(POOL_PARAM, "lots"));
	expect_int_eq(old, util_sysfs_ll(POOL_PARAM));
	/* Half of RAM is the largest bound taken. */
	snprintf(value, sizeof(value), "%lld", ram / 2);
	expect_ok(util_sysfs_write(POOL_PARAM, value));
	expect_int_eq(ram / 2, util_sysfs_ll(POOL_PARAM));
	snprintf(value, sizeof(value), "%lld", old);
	expect_ok(util_sysfs_write(POOL_PARAM, value));
	return TEST_PASS;
}

static enum test_result pool_off(void)
{
	struct pool_stats before, after;
	int i;

	pool_stats(&before);
	expect_int_eq(0, before.bytes);
	for (i = 0; i < 3; i++)
		expect_pass(pool_dirty_buffer(1 * MIB, 0, (uint32_t)i));
	pool_stats(&after);
	expect_int_eq(0, after.bytes);
	expect_int_eq(before.hits, after.hits);
	expect_int_eq(before.misses, after.misses);
	expect_int_eq(before.zeroed_bytes, after.zeroed_bytes);
	return TEST_PASS;
}

static enum test_result test_pool_off(void)
{
	return pool_test(0, pool_off);
}

static enum test_result test_pool_default(void)
{
	long long ram = util_meminfo_kib("MemTotal") * 1024;

	expect_true(ram > 0);
	expect_int_eq(ram / 16, util_sysfs_ll(POOL_PARAM));
	return TEST_PASS;
}

/*
 * Free a buffer full of a pattern, let the worker zero it, and allocate the
 * same size again: every block comes from the pool, and reads as zeros.
 * (The pool may also hold the blocks of the previous size, freed again.)
 */
static enum test_result pool_reuse_one(size_t size, uint32_t flags)
{
	struct pool_stats before, after;
	long long blocks;
	int fd;

	expect_pass(pool_dirty_buffer(size, flags, 0x5eed));
	expect_pass(pool_wait_clean());
	pool_stats(&before);
	expect_uint_le(before.bytes, size);
	fd = util_alloc(size, flags, NULL, NULL);
	expect_ok(fd);
	blocks = pool_blocks_of(fd);
	pool_stats(&after);
	test_diag("%zu KiB%s: %lld blocks", size / KIB,
		  flags ? " contiguous" : "", blocks);
	expect_int_eq(before.hits + blocks, after.hits);
	expect_int_eq(before.bytes - (long long)size, after.bytes);
	expect_pass(pool_expect_zero(fd, size));
	expect_ok(close(fd));
	return TEST_PASS;
}

static enum test_result pool_reuse(void)
{
	expect_pass(pool_reuse_one(page_size, 0));
	expect_pass(pool_reuse_one(192 * KIB, 0));	/* orders 5 and 4 */
	expect_pass(pool_reuse_one(1 * MIB, 0));
	expect_pass(pool_reuse_one(2 * MIB, DMABUF_SG_ALLOC_CONTIGUOUS));
	return TEST_PASS;
}

static enum test_result test_pool_reuse(void)
{
	return pool_test(16 * MIB, pool_reuse);
}

/*
 * Allocate again at once, while the worker may still be zeroing: whatever
 * the pool has ready or not, the new buffer reads as zeros.
 */
static enum test_result pool_reuse_at_once(void)
{
	size_t size = 16 * MIB;
	int i, fd;

	for (i = 0; i < 4; i++) {
		expect_pass(pool_dirty_buffer(size, 0, (uint32_t)i + 1));
		fd = util_alloc(size, 0, NULL, NULL);
		expect_ok(fd);
		expect_pass(pool_expect_zero(fd, size));
		expect_ok(close(fd));
	}
	return TEST_PASS;
}

static enum test_result test_pool_reuse_at_once(void)
{
	return pool_test(64 * MIB, pool_reuse_at_once);
}

/* Blocks beyond the bound go back; lowering it gives back the excess. */
static enum test_result pool_bound(void)
{
	struct pool_stats st;
	int fds[4], i;

	for (i = 0; i < 4; i++) {
		fds[i] = util_alloc(1 * MIB, 0, NULL, NULL);
		expect_ok(fds[i]);
	}
	for (i = 0; i < 4; i++) {
		expect_ok(close(fds[i]));
		expect_uint_le(2 * MIB, util_sysfs_ll(POOL_STAT("pool_bytes")));
	}
	expect_pass(pool_wait_clean());
	pool_stats(&st);
	expect_int_eq(2 * MIB, st.bytes);
	expect_ok(pool_set(1 * MIB));
	pool_stats(&st);
	expect_int_eq(1 * MIB, st.bytes);
	expect_ok(pool_set(0));
	pool_stats(&st);
	expect_int_eq(0, st.bytes);
	return TEST_PASS;
}

static enum test_result test_pool_bound(void)
{
	return pool_test(2 * MIB, pool_bound);
}

/* drop_caches runs every shrinker: the pool gives back all it holds. */
static enum test_result pool_shrinker(void)
{
	struct pool_stats before, after;

	expect_pass(pool_dirty_buffer(8 * MIB, 0, 7));
	expect_pass(pool_wait_clean());
	pool_stats(&before);
	expect_int_eq(8 * MIB, before.bytes);
	expect_ok(util_sysfs_write("/proc/sys/vm/drop_caches", "2"));
	pool_stats(&after);
	expect_int_eq(0, after.bytes);
	expect_int_eq(before.reclaimed_bytes + 8 * MIB, after.reclaimed_bytes);
	return TEST_PASS;
}

static enum test_result test_pool_shrinker(void)
{
	return pool_test(16 * MIB, pool_shrinker);
}

/*
 * A cold ALLOC misses once per block; its free dirties the pool, the worker
 * zeroes every byte of it, and the zeroed blocks show per order.
 */
static enum test_result pool_counters(void)
{
	struct pool_stats a, b, c;
	char per_order[256];
	FILE *f;
	int fd;

	pool_stats(&a);
	fd = util_alloc(1 * MIB, 0, NULL, NULL);	/* one block of order 8 */
	expect_ok(fd);
	expect_int_eq(1, pool_blocks_of(fd));
	pool_stats(&b);
	expect_int_eq(a.misses + 1, b.misses);
	expect_int_eq(a.hits, b.hits);
	expect_ok(close(fd));
	expect_pass(pool_wait_clean());
	pool_stats(&c);
	expect_int_eq(1 * MIB, c.bytes);
	expect_int_eq(b.zeroed_bytes + 1 * MIB, c.zeroed_bytes);
	f = fopen(POOL_STAT("pool_blocks_per_order"), "re");
	expect_true(f != NULL);
	expect_true(fgets(per_order, sizeof(per_order), f) != NULL);
	fclose(f);
	test_diag("pool_blocks_per_order %s", per_order);
	expect_true(!strncmp(per_order, "0 0 0 0 0 0 0 0 1 0", 19));
	return TEST_PASS;
}

static enum test_result test_pool_counters(void)
{
	if (page_size != 4096)
		return test_skip("orders are counted for 4 KiB pages");
	return pool_test(16 * MIB, pool_counters);
}

/*
 * Leaves 64 MiB of zeroed blocks in the pool at the default bound, for
 * guest.sh to unload the module with a full pool and check that the memory
 * comes back.  The last case of the list.
 */
static enum test_result test_pool_fill(void)
{
	long long bytes;

	expect_pass(pool_dirty_buffer(64 * MIB, 0, 64));
	expect_pass(pool_wait_clean());
	bytes = util_sysfs_ll(POOL_STAT("pool_bytes"));
	test_diag("pool_bytes %lld", bytes);
	expect_true(bytes >= (long long)(64 * MIB));
	return TEST_PASS;
}

const struct test_case test_pool_cases[] = {
	{ "pool: pool_max_bytes out of range is EINVAL and changes nothing", test_pool_param_range },
	{ "pool: off (pool_max_bytes 0) keeps nothing and counts nothing", test_pool_off },
	{ "pool: default bound is 1/16 of RAM", test_pool_default },
	{ "pool: freed pages come back zeroed, every block from the pool", test_pool_reuse },
	{ "pool: allocating again at once still gives zeros", test_pool_reuse_at_once },
	{ "pool: the bound is respected, lowering it gives back the excess", test_pool_bound },
	{ "pool: the shrinker gives everything back on drop_caches", test_pool_shrinker },
	{ "pool: hits, misses, zeroed bytes and blocks per order", test_pool_counters },
	{ "pool: fill 64 MiB for the unload check", test_pool_fill },
	{ NULL, NULL },
};
