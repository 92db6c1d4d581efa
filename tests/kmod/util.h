/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the dmabuf_sg tests: device, ioctls, sysfs, memory. */
#ifndef DMABUF_SG_TEST_UTIL_H
#define DMABUF_SG_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "test.h"

#define KIB (1024UL)
#define MIB (1024UL * 1024UL)

extern size_t page_size;

/* Module counters from /sys/class/misc/dmabuf_sg/stats. */
struct util_stats {
	long long live_buffers;
	long long live_views;
	long long allocated_bytes;
	long long pinned_bytes;
	long long reserved_bytes;
	long long alloc_failures;
	long long pin_failures;
	char blocks_per_order[256];
};

/* What must not change across a failed request. */
struct util_snapshot {
	struct util_stats stats;
	int nfds;
};

/* Open /dev/dmabuf_sg once per process; -1 with errno on failure. */
int util_dev(void);

/* ioctl wrappers: return the fd (or 0 for INFO), -1 with errno. */
int util_alloc(size_t size, uint32_t flags, const char *name,
	       struct dmabuf_sg_alloc *out);
int util_pin(const void *addr, size_t len, uint32_t flags,
	     struct dmabuf_sg_pin *out);
int util_info(int fd, struct dmabuf_sg_info *info);
/* A view of @fd; the fd is O_RDONLY for DMABUF_SG_VIEW_READ_ONLY, else O_RDWR. */
int util_view(int fd, uint32_t flags, uint64_t offset, uint64_t length,
	      struct dmabuf_sg_view *out);

int util_stats_read(struct util_stats *st);
long long util_sysfs_ll(const char *path);
int util_sysfs_write(const char *path, const char *value);
int util_count_fds(void);
long long util_meminfo_kib(const char *field);
void util_drop_caches(void);
/*
 * Free memory in KiB after dropping the page and slab caches: MemFree plus
 * the pages on the per-CPU free lists.  MemFree alone leaves those out, and
 * they hold from 3 to over 40 MiB on a 2-CPU guest depending on what ran
 * last (6.1 was seen at 41 MiB after a few thousand frees), so MemFree
 * alone swings by more than the leaks the tests look for.  -1 on error.
 */
long long util_free_kib(void);
/*
 * TEST_FAIL unless util_free_kib() is back to at most @tolerance_kib below
 * @before.  Freeing can lag behind close() (RCU grace periods, workers), so
 * it measures again until it is, for up to UTIL_FREE_SETTLE_MS: a real leak
 * never comes back.
 */
#define UTIL_FREE_SETTLE_MS 10000
enum test_result util_expect_free_kib(long long before, long long tolerance_kib);

void util_snapshot(struct util_snapshot *s);
/* TEST_FAIL (with diagnostics) when the counters or fds differ from @s. */
enum test_result util_expect_snapshot(const struct util_snapshot *s);

/* Map a dma-buf shared; MAP_FAILED on error. */
void *util_map(int fd, size_t len, int prot);
int util_sync(int fd, uint64_t flags);

/* Deterministic pattern per byte offset and seed. */
void util_fill(void *p, size_t len, size_t base, uint32_t seed);
/* Offset of the first mismatch, or (size_t)-1 when all bytes match. */
size_t util_check(const void *p, size_t len, size_t base, uint32_t seed);
/* Offset of the first non-zero byte, or (size_t)-1. */
size_t util_check_zero(const void *p, size_t len);

/* Path of the first /dev/dri/card* whose driver is @driver, or NULL. */
const char *util_find_drm(const char *driver);
/* A vivid video capture node opened O_RDWR, or -1. */
int util_open_vivid(void);

#define MODULE_PARAM(name) "/sys/module/dmabuf_sg/parameters/" name

#endif /* DMABUF_SG_TEST_UTIL_H */
