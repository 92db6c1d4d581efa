// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the dmabuf_sg tests. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/videodev2.h>
#include <xf86drm.h>

#include "util.h"

size_t page_size = 4096;

#define STATS_DIR "/sys/class/misc/dmabuf_sg/stats/"

void test_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

enum test_result test_skip(const char *fmt, ...)
{
	va_list ap;

	fputs("skip: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	return TEST_SKIP;
}

int util_dev(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open("/dev/dmabuf_sg", O_RDWR | O_CLOEXEC);
	return fd;
}

int util_alloc(size_t size, uint32_t flags, const char *name,
	       struct dmabuf_sg_alloc *out)
{
	struct dmabuf_sg_alloc arg = {
		.size = size,
		.fd_flags = O_RDWR | O_CLOEXEC,
		.flags = flags,
	};

	if (name)
		snprintf(arg.name, sizeof(arg.name), "%s", name);
	if (ioctl(util_dev(), DMABUF_SG_IOCTL_ALLOC, &arg) < 0)
		return -1;
	if (out)
		*out = arg;
	return (int)arg.fd;
}

int util_pin(const void *addr, size_t len, uint32_t flags,
	     struct dmabuf_sg_pin *out)
{
	struct dmabuf_sg_pin arg = {
		.addr = (uintptr_t)addr,
		.len = len,
		.flags = flags,
		.fd_flags = O_CLOEXEC |
			((flags & DMABUF_SG_PIN_WRITE) ? O_RDWR : O_RDONLY),
	};

	if (ioctl(util_dev(), DMABUF_SG_IOCTL_PIN, &arg) < 0)
		return -1;
	if (out)
		*out = arg;
	return (int)arg.fd;
}

int util_view(int fd, uint32_t flags, uint64_t offset, uint64_t length,
	      struct dmabuf_sg_view *out)
{
	struct dmabuf_sg_view arg = {
		.fd = (uint32_t)fd,
		.flags = flags,
		.offset = offset,
		.length = length,
		.fd_flags = O_CLOEXEC |
			((flags & DMABUF_SG_VIEW_READ_ONLY) ? O_RDONLY : O_RDWR),
	};

	if (ioctl(util_dev(), DMABUF_SG_IOCTL_VIEW, &arg) < 0)
		return -1;
	if (out)
		*out = arg;
	return (int)arg.out_fd;
}

int util_info(int fd, struct dmabuf_sg_info *info)
{
	memset(info, 0, sizeof(*info));
	info->fd = (uint32_t)fd;
	return ioctl(util_dev(), DMABUF_SG_IOCTL_INFO, info);
}

static int util_read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

long long util_sysfs_ll(const char *path)
{
	char buf[64];

	if (util_read_file(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 0);
}

int util_sysfs_write(const char *path, const char *value)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

int util_stats_read(struct util_stats *st)
{
	st->live_buffers = util_sysfs_ll(STATS_DIR "live_buffers");
	st->live_views = util_sysfs_ll(STATS_DIR "live_views");
	st->allocated_bytes = util_sysfs_ll(STATS_DIR "allocated_bytes");
	st->pinned_bytes = util_sysfs_ll(STATS_DIR "pinned_bytes");
	st->reserved_bytes = util_sysfs_ll(STATS_DIR "reserved_bytes");
	st->alloc_failures = util_sysfs_ll(STATS_DIR "alloc_failures");
	st->pin_failures = util_sysfs_ll(STATS_DIR "pin_failures");
	if (util_read_file(STATS_DIR "blocks_per_order", st->blocks_per_order,
			   sizeof(st->blocks_per_order)))
		return -1;
	return st->live_buffers < 0 ? -1 : 0;
}

int util_count_fds(void)
{
	struct dirent *de;
	DIR *dir;
	int n = 0;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;	/* the directory's own fd */
}

long long util_meminfo_kib(const char *field)
{
	char line[256];
	size_t flen = strlen(field);
	long long v = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			v = strtoll(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

void util_drop_caches(void)
{
	sync();
	util_sysfs_write("/proc/sys/vm/drop_caches", "3");
}

/* Pages on the per-CPU free lists, in KiB: the "count:" of every pageset. */
static long long pcp_free_kib(void)
{
	char line[256];
	long long pages = 0;
	FILE *f;

	f = fopen("/proc/zoneinfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " ");

		if (!strncmp(p, "count:", 6))
			pages += strtoll(p + 6, NULL, 10);
	}
	fclose(f);
	return pages * (long long)(page_size / 1024);
}

long long util_free_kib(void)
{
	long long memfree, pcp;

	util_drop_caches();
	memfree = util_meminfo_kib("MemFree");
	pcp = pcp_free_kib();
	if (memfree < 0 || pcp < 0)
		return -1;
	return memfree + pcp;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

enum test_result util_expect_free_kib(long long before, long long tolerance_kib)
{
	long long start = now_ms(), after;

	expect_true(before > 0);
	for (;;) {
		after = util_free_kib();
		expect_true(after > 0);
		if (before - after <= tolerance_kib ||
		    now_ms() - start > UTIL_FREE_SETTLE_MS)
			break;
		usleep(100 * 1000);
	}
	test_diag("free memory before %lld KiB, after %lld KiB (tolerance %lld KiB, %lld ms to settle)",
		  before, after, tolerance_kib, now_ms() - start);
	if (before - after > tolerance_kib)	/* where it went, for the reader */
		test_diag("now: Cached %lld, Mapped %lld, AnonPages %lld, SUnreclaim %lld, SReclaimable %lld, PageTables %lld, KernelStack %lld KiB; pool_bytes %lld",
			  util_meminfo_kib("Cached"), util_meminfo_kib("Mapped"),
			  util_meminfo_kib("AnonPages"), util_meminfo_kib("SUnreclaim"),
			  util_meminfo_kib("SReclaimable"), util_meminfo_kib("PageTables"),
			  util_meminfo_kib("KernelStack"),
			  util_sysfs_ll(STATS_DIR "pool_bytes"));
	expect_uint_le(tolerance_kib, before > after ? before - after : 0);
	return TEST_PASS;
}

void util_snapshot(struct util_snapshot *s)
{
	util_stats_read(&s->stats);
	s->nfds = util_count_fds();
}

#define SNAP_EQ(field)								\
	do {									\
		if (now.field != s->field) {					\
			test_diag("leak: %s was %lld, now %lld", #field,	\
				  (long long)s->field, (long long)now.field);	\
			ret = TEST_FAIL;					\
		}								\
	} while (0)

enum test_result util_expect_snapshot(const struct util_snapshot *s)
{
	enum test_result ret = TEST_PASS;
	struct util_snapshot now;

	util_snapshot(&now);
	SNAP_EQ(stats.live_buffers);
	SNAP_EQ(stats.live_views);
	SNAP_EQ(stats.allocated_bytes);
	SNAP_EQ(stats.pinned_bytes);
	SNAP_EQ(stats.reserved_bytes);
	SNAP_EQ(nfds);
	if (strcmp(now.stats.blocks_per_order, s->stats.blocks_per_order)) {
		test_diag("leak: blocks_per_order was %s, now %s",
			  s->stats.blocks_per_order, now.stats.blocks_per_order);
		ret = TEST_FAIL;
	}
	return ret;
}

void *util_map(int fd, size_t len, int prot)
{
	return mmap(NULL, len, prot, MAP_SHARED, fd, 0);
}

int util_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync sync = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
}

static inline uint64_t util_word(size_t off, uint32_t seed)
{
	uint64_t x = (off / 8 + 1) * 0x9E3779B97F4A7C15ULL ^ seed;

	x ^= x >> 29;
	return x * 0xBF58476D1CE4E5B9ULL;
}

static inline uint8_t util_byte(size_t off, uint32_t seed)
{
	return (uint8_t)(util_word(off, seed) >> ((off % 8) * 8));
}

void util_fill(void *p, size_t len, size_t base, uint32_t seed)
{
	uint8_t *b = p;
	size_t i = 0;

	for (; i < len && (base + i) % 8; i++)
		b[i] = util_byte(base + i, seed);
	for (; i + 8 <= len; i += 8) {
		uint64_t w = util_word(base + i, seed);

		memcpy(b + i, &w, 8);
	}
	for (; i < len; i++)
		b[i] = util_byte(base + i, seed);
}

size_t util_check(const void *p, size_t len, size_t base, uint32_t seed)
{
	const uint8_t *b = p;
	size_t i = 0;

	for (; i < len && (base + i) % 8; i++)
		if (b[i] != util_byte(base + i, seed))
			return i;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = util_word(base + i, seed), v;

		memcpy(&v, b + i, 8);
		if (v != w)
			break;
	}
	for (; i < len; i++)
		if (b[i] != util_byte(base + i, seed))
			return i;
	return (size_t)-1;
}

size_t util_check_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v;

		memcpy(&v, b + i, 8);
		if (v)
			break;
	}
	for (; i < len; i++)
		if (b[i])
			return i;
	return (size_t)-1;
}

const char *util_find_drm(const char *driver)
{
	static char path[64];
	int i;

	for (i = 0; i < 16; i++) {
		drmVersionPtr v;
		bool match;
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		match = v && !strcmp(v->name, driver);
		drmFreeVersion(v);
		close(fd);
		if (match)
			return path;
	}
	return NULL;
}

int util_open_vivid(void)
{
	char path[32];
	int i;

	for (i = 0; i < 64; i++) {
		struct v4l2_capability cap;
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((const char *)cap.driver, "vivid") &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) &&
		    (cap.device_caps & V4L2_CAP_STREAMING))
			return fd;
		close(fd);
	}
	return -1;
}
