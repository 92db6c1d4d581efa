// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_sg_bench: dmabuf_sg against the kernel's own exporters, in one run.
 *
 *   allocation of 1, 16 and 64 MiB: DMABUF_SG_IOCTL_ALLOC vs the system
 *   dma-heap (/dev/dma_heap/system), time of the ioctl and SG entries;
 *   the same allocations with the module's page pool warm (every freed
 *   block zeroed before the next ALLOC) and cold (the pool emptied before
 *   each ALLOC), against the system heap, with the pool's hits and misses,
 *   and back to back (ALLOC and close in a loop, no wait for the pool);
 *   pinning 64 MiB: DMABUF_SG_IOCTL_PIN of a mapped memfd vs UDMABUF_CREATE
 *   over the same sealed memfd, time of the ioctl.
 *
 * Each figure is the median of RUNS runs after a warm-up, ours and theirs
 * interleaved, alternating which goes first.  The
 * ratio is theirs / ours: above 1 means dmabuf_sg is faster (or has fewer
 * entries).
 *
 * SG entries are counted the same way for every exporter: the buffer is
 * imported into vgem (PRIME, libdrm), whose import maps it for DMA, and the
 * entry count is read from the kernel's dma:dma_map_sg trace event
 * (nents=shown/full, the full count is taken).  For dmabuf_sg the count from
 * DMABUF_SG_IOCTL_INFO is printed too, as a cross-check.  Without vgem or
 * the trace event (kernels before 6.11) the column says n/a.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#include <xf86drm.h>

#include <dmabuf_sg.h>

#define RUNS 21
#define MIB (1024UL * 1024UL)

#define POOL_STATS "/sys/class/misc/dmabuf_sg/stats/"
#define POOL_PARAM "/sys/module/dmabuf_sg/parameters/pool_max_bytes"
/* How long the pool's worker may take to zero a freed buffer. */
#define POOL_WAIT_SECONDS 60

static int dev_fd = -1;
static int vgem_fd = -1;
static long page_sz = 4096;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts @v; v[0] is then the fastest run. */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Allocate with dmabuf_sg; returns the fd and the time; -1 on error. */
static int ours_alloc(size_t size, double *ms, unsigned int *sg)
{
	struct dmabuf_sg_alloc arg = { .size = size, .fd_flags = O_RDWR | O_CLOEXEC };
	double t0 = now_ms();

	if (ioctl(dev_fd, DMABUF_SG_IOCTL_ALLOC, &arg) < 0)
		return -1;
	*ms = now_ms() - t0;
	*sg = arg.sg_entries;
	return (int)arg.fd;
}

static int heap_alloc(int heap, size_t size, double *ms)
{
	struct dma_heap_allocation_data arg = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
	double t0 = now_ms();

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &arg) < 0)
		return -1;
	*ms = now_ms() - t0;
	return (int)arg.fd;
}

#define TRACE_DIR "/sys/kernel/tracing/"

static int write_str(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* Full nents of the last dma:dma_map_sg event in the trace, or -1. */
static long trace_last_nents(void)
{
	static char buf[1 << 20];
	long nents = -1, shown, full;
	ssize_t n, len = 0;
	char *p;
	int fd;

	fd = open(TRACE_DIR "trace", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	for (p = buf; (p = strstr(p, "dma_map_sg:")); p++) {
		char *q = strstr(p, " nents=");

		if (q && sscanf(q, " nents=%ld/%ld", &shown, &full) == 2)
			nents = full;
	}
	return nents;
}

/* SG entries of @fd as vgem maps it on import, or -1. */
static long vgem_nents(int fd)
{
	struct drm_gem_close gc = { 0 };
	long nents = -1;

	if (vgem_fd < 0 || write_str(TRACE_DIR "events/dma/dma_map_sg/enable", "1"))
		return -1;
	write_str(TRACE_DIR "trace", "");
	if (!drmPrimeFDToHandle(vgem_fd, fd, &gc.handle)) {
		nents = trace_last_nents();
		drmIoctl(vgem_fd, DRM_IOCTL_GEM_CLOSE, &gc);
	}
	write_str(TRACE_DIR "events/dma/dma_map_sg/enable", "0");
	return nents;
}

static int open_vgem(void)
{
	char path[32];
	int i;

	for (i = 0; i < 16; i++) {
		drmVersionPtr v;
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && !strcmp(v->name, "vgem")) {
			drmFreeVersion(v);
			return fd;
		}
		drmFreeVersion(v);
		close(fd);
	}
	return -1;
}

static void print_count(long v)
{
	if (v < 0)
		printf("   %7s", "n/a");
	else
		printf("   %7ld", v);
}

/*
 * One result row: our median beside theirs (NULL: not measured) and their
 * ratio, the SG counts as vgem maps each buffer, INFO's count, and the
 * fastest run of each (median() sorts the samples).
 */
static void print_row(const char *label, double *ours, double *theirs,
		      long sg_ours, long sg_theirs, unsigned int sg_info)
{
	double mo = median(ours, RUNS);

	printf("%-16s%9.2f ms", label, mo);
	if (!theirs) {
		printf("   %12s   %7s", "n/a", "n/a");
	} else {
		double mt = median(theirs, RUNS);

		printf("   %9.2f ms   %6.2fx", mt, mt / mo);
	}
	print_count(sg_ours);
	print_count(sg_theirs);
	printf("   %7u", sg_info);
	if (theirs)
		printf("   fastest %.2f / %.2f ms", ours[0], theirs[0]);
	printf("\n");
}

/* One timed allocation of each kind; @first says which goes first. */
static int alloc_pair(int heap, size_t size, int first, double *o, double *t,
		      unsigned int *sg, long *sg_ours, long *sg_heap)
{
	int k, fd;

	for (k = 0; k < 2; k++) {
		if ((k == 0) == (first == 0)) {
			fd = ours_alloc(size, o, sg);
			if (fd < 0)
				return -1;
			if (sg_ours)
				*sg_ours = vgem_nents(fd);
		} else if (heap >= 0) {
			fd = heap_alloc(heap, size, t);
			if (fd < 0)
				return -1;
			if (sg_heap)
				*sg_heap = vgem_nents(fd);
		} else {
			continue;
		}
		close(fd);
	}
	return 0;
}

/*
 * One untimed warm-up pair (it also counts the SG entries), then RUNS timed
 * pairs, alternating which exporter goes first so that neither always gets
 * the memory the other just freed.
 */
static void bench_alloc(int heap, size_t size)
{
	double ours[RUNS], theirs[RUNS], o, t;
	char label[32];
	long sg_ours = -1, sg_heap = -1;
	unsigned int sg = 0;
	int r;

	if (alloc_pair(heap, size, 0, &o, &t, &sg, &sg_ours, &sg_heap) < 0) {
		printf("alloc %3zu MiB: failed: %s\n", size / MIB, strerror(errno));
		return;
	}
	for (r = 0; r < RUNS; r++) {
		if (alloc_pair(heap, size, r % 2, &ours[r], &theirs[r], &sg, NULL, NULL) < 0) {
			printf("alloc %3zu MiB: failed: %s\n", size / MIB, strerror(errno));
			return;
		}
	}
	snprintf(label, sizeof(label), "alloc %3zu MiB", size / MIB);
	print_row(label, ours, heap >= 0 ? theirs : NULL, sg_ours, sg_heap, sg);
}

static long long read_ll(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

/* Wait until the pool's worker has zeroed every freed block; -1 if not. */
static int pool_wait_clean(void)
{
	double end = now_ms() + POOL_WAIT_SECONDS * 1e3;
	long long dirty;

	while ((dirty = read_ll(POOL_STATS "pool_dirty_bytes")) != 0) {
		if (dirty < 0 || now_ms() > end)
			return -1;
		usleep(1000);
	}
	return 0;
}

/* Give back everything the pool holds: the bound to 0 and back. */
static int pool_empty(void)
{
	char old[32];

	snprintf(old, sizeof(old), "%lld", read_ll(POOL_PARAM));
	if (write_str(POOL_PARAM, "0") || write_str(POOL_PARAM, old))
		return -1;
	return 0;
}

enum pool_mode { POOL_WARM, POOL_COLD };

/*
 * Untimed, before every timed allocation, ours or the heap's: wait until
 * the pool's worker is idle, so that its zeroing overlaps no timed
 * allocation, and for POOL_COLD then empty the pool.
 */
static int pool_prepare(enum pool_mode mode)
{
	if (pool_wait_clean() < 0)
		return -1;
	return mode == POOL_COLD ? pool_empty() : 0;
}

/*
 * RUNS pairs after one warm-up pair, ours and the heap's in turns going
 * first, each after pool_prepare().  POOL_WARM: the pool holds the
 * previous buffer's blocks, zeroed; POOL_COLD: it holds nothing.  The heap
 * has no pool: each of its allocations takes and zeroes fresh pages.
 */
static void bench_pool(int heap, size_t size, enum pool_mode mode)
{
	const char *name = mode == POOL_WARM ? "warm" : "cold";
	double target = mode == POOL_WARM ? 0.5 : 1.0;
	double ours[RUNS], theirs[RUNS], ms = 0, mo, mt;
	long long hits = 0, misses = 0, h0, m0;
	unsigned int sg;
	int r, k, fd;

	for (r = -1; r < RUNS; r++) {
		for (k = 0; k < 2; k++) {
			if (pool_prepare(mode) < 0) {
				printf("pool %s %3zu MiB: the pool did not answer\n",
				       name, size / MIB);
				return;
			}
			if ((k == 0) == (r % 2 == 0)) {
				h0 = read_ll(POOL_STATS "pool_hits");
				m0 = read_ll(POOL_STATS "pool_misses");
				fd = ours_alloc(size, &ms, &sg);
				if (fd >= 0 && r >= 0) {
					ours[r] = ms;
					hits += read_ll(POOL_STATS "pool_hits") - h0;
					misses += read_ll(POOL_STATS "pool_misses") - m0;
				}
			} else {
				fd = heap_alloc(heap, size, &ms);
				if (fd >= 0 && r >= 0)
					theirs[r] = ms;
			}
			if (fd < 0) {
				printf("pool %s %3zu MiB: failed: %s\n", name, size / MIB,
				       strerror(errno));
				return;
			}
			close(fd);
		}
	}
	mo = median(ours, RUNS);
	mt = median(theirs, RUNS);
	printf("%-4s %3zu MiB   %9.2f ms   %9.2f ms   %6.2fx   <= %.2fx %-4s   %6lld / %-6lld   fastest %.2f / %.2f ms\n",
	       name, size / MIB, mo, mt, mo / mt, target,
	       mo <= target * mt ? "PASS" : "MISS", hits, misses, ours[0], theirs[0]);
}

static int memfd_64m(size_t size, uint8_t **map)
{
	int mfd = memfd_create("bench-pin", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (mfd < 0 || ftruncate(mfd, (off_t)size) < 0 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		return -1;
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (*map == MAP_FAILED)
		return -1;
	memset(*map, 0x33, size);	/* both sides start from present pages */
	return mfd;
}

static int pin_once(uint8_t *map, size_t size, double *ms, unsigned int *sg,
		    long *vgem_sg)
{
	struct dmabuf_sg_pin arg = {
		.addr = (uintptr_t)map, .len = size, .flags = DMABUF_SG_PIN_WRITE,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	double t0 = now_ms();

	if (ioctl(dev_fd, DMABUF_SG_IOCTL_PIN, &arg) < 0)
		return -1;
	*ms = now_ms() - t0;
	*sg = arg.sg_entries;
	if (vgem_sg)
		*vgem_sg = vgem_nents((int)arg.fd);
	return close((int)arg.fd);
}

static int udmabuf_once(int udev, int mfd, size_t size, double *ms, long *vgem_sg)
{
	struct udmabuf_create arg = { .memfd = (uint32_t)mfd, .offset = 0, .size = size };
	double t0 = now_ms();
	int fd = ioctl(udev, UDMABUF_CREATE, &arg);

	if (fd < 0)
		return -1;
	*ms = now_ms() - t0;
	if (vgem_sg)
		*vgem_sg = vgem_nents(fd);
	return close(fd);
}

static void bench_pin(size_t size)
{
	double ours[RUNS], theirs[RUNS];
	char label[32];
	long sg_ours = -1, sg_udmabuf = -1;
	unsigned int sg = 0;
	uint8_t *map;
	int mfd, udev, r;

	mfd = memfd_64m(size, &map);
	if (mfd < 0) {
		printf("pin: memfd setup failed: %s\n", strerror(errno));
		return;
	}
	udev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	for (r = 0; r < RUNS; r++) {
		if (pin_once(map, size, &ours[r], &sg, r ? NULL : &sg_ours) < 0) {
			printf("pin %zu MiB: dmabuf_sg failed: %s\n", size / MIB, strerror(errno));
			return;
		}
		if (udev >= 0 && udmabuf_once(udev, mfd, size, &theirs[r],
					      r ? NULL : &sg_udmabuf) < 0) {
			printf("pin %zu MiB: udmabuf failed: %s\n", size / MIB, strerror(errno));
			return;
		}
	}
	snprintf(label, sizeof(label), "pin %3zu MiB", size / MIB);
	print_row(label, ours, udev >= 0 ? theirs : NULL, sg_ours, sg_udmabuf, sg);
	if (udev >= 0)
		close(udev);
	munmap(map, size);
	close(mfd);
}

/*
 * Back to back: LOOPS allocations, each closed at once, timed as a whole,
 * with no wait for the pool's worker in between: what a client that frees
 * and allocates again in a loop gets, the zeroing of each freed buffer
 * racing the next ALLOC (which takes only blocks already zeroed, the rest
 * from the page allocator).  Ours and the heap's in turns, RUNS times.
 */
#define LOOPS 8

static int loop_once(int heap, size_t size, bool ours, double *ms)
{
	double t0 = now_ms(), one;
	unsigned int sg;
	int i, fd;

	for (i = 0; i < LOOPS; i++) {
		fd = ours ? ours_alloc(size, &one, &sg) : heap_alloc(heap, size, &one);
		if (fd < 0)
			return -1;
		close(fd);
	}
	*ms = (now_ms() - t0) / LOOPS;
	return 0;
}

static void bench_pool_loop(int heap, size_t size)
{
	double ours[RUNS], theirs[RUNS], ms, mo, mt;
	long long h0 = read_ll(POOL_STATS "pool_hits");
	long long m0 = read_ll(POOL_STATS "pool_misses");
	int r, k;

	for (r = 0; r < RUNS; r++) {
		for (k = 0; k < 2; k++) {
			bool mine = (k == 0) == (r % 2 == 0);

			if (loop_once(heap, size, mine, &ms) < 0) {
				printf("loop %3zu MiB: failed: %s\n", size / MIB,
				       strerror(errno));
				return;
			}
			if (mine)
				ours[r] = ms;
			else
				theirs[r] = ms;
		}
	}
	mo = median(ours, RUNS);
	mt = median(theirs, RUNS);
	printf("loop %3zu MiB   %9.2f ms   %9.2f ms   %6.2fx   <= %.2fx %-4s   %6lld / %-6lld\n",
	       size / MIB, mo, mt, mo / mt, 0.5, mo <= 0.5 * mt ? "PASS" : "MISS",
	       read_ll(POOL_STATS "pool_hits") - h0,
	       read_ll(POOL_STATS "pool_misses") - m0);
}

int main(void)
{
	static const size_t sizes[] = { 1 * MIB, 16 * MIB, 64 * MIB };
	int heap;
	size_t i;

	page_sz = sysconf(_SC_PAGESIZE);
	dev_fd = open("/dev/dmabuf_sg", O_RDWR | O_CLOEXEC);
	if (dev_fd < 0) {
		perror("/dev/dmabuf_sg");
		return 1;
	}
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	vgem_fd = open_vgem();

	printf("dmabuf_sg benchmark: median of %d runs; ratio = theirs / ours (above 1: dmabuf_sg faster)\n", RUNS);
	printf("SG = entries as vgem maps the buffer (dma:dma_map_sg trace event); INFO = dmabuf_sg's own count\n");
	printf("%-13s   %12s   %12s   %7s   %7s   %7s   %7s\n",
	       "case", "dmabuf_sg", "system-heap", "ratio", "SG ours", "SG heap", "INFO");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bench_alloc(heap, sizes[i]);
	printf("\npage pool: ALLOC vs the system heap, median of %d runs; ratio = ours / heap (below 1: dmabuf_sg faster)\n", RUNS);
	printf("warm: the pool zeroed the previous buffer before each ALLOC; cold: the pool emptied before each ALLOC\n");
	printf("%-12s   %12s   %12s   %7s   %-13s   %-15s\n", "case", "dmabuf_sg",
	       "system-heap", "ratio", "target", "hits / misses");
	if (heap < 0 || read_ll(POOL_PARAM) <= 0) {
		printf("not measured: %s\n", heap < 0 ? "no /dev/dma_heap/system" :
		       "the pool is off (pool_max_bytes 0) or missing");
	} else {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			bench_pool(heap, sizes[i], POOL_WARM);
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			bench_pool(heap, sizes[i], POOL_COLD);
		printf("loop: %d ALLOCs each closed at once, timed together, no wait for the pool's worker; per ALLOC\n",
		       LOOPS);
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			bench_pool_loop(heap, sizes[i]);
	}
	printf("\n");
	printf("%-13s   %12s   %12s   %7s   %7s   %7s   %7s\n",
	       "", "dmabuf_sg", "udmabuf", "ratio", "SG ours", "SG udma", "INFO");
	bench_pin(64 * MIB);
	if (vgem_fd >= 0)
		close(vgem_fd);
	if (heap >= 0)
		close(heap);
	close(dev_fd);
	return 0;
}
