// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_sg_bench: dmabuf_sg against the kernel's own exporters, in one run.
 *
 *   allocation of 1, 16 and 64 MiB: DMABUF_SG_IOCTL_ALLOC vs the system
 *   dma-heap (/dev/dma_heap/system), time of the ioctl and SG entries;
 *   pinning 64 MiB: DMABUF_SG_IOCTL_PIN of a mapped memfd vs UDMABUF_CREATE
 *   over the same sealed memfd, time of the ioctl.
 *
 * Each figure is the median of RUNS runs, ours and theirs interleaved.  The
 * ratio is theirs / ours: above 1 means dmabuf_sg is faster (or has fewer
 * entries).
 *
 * SG entries: ours come from DMABUF_SG_IOCTL_INFO.  The heap has no such
 * query, so its count is reconstructed from the physical page numbers of a
 * mapping (/proc/self/pagemap, root only): the system heap builds one SG
 * entry per block of 1 MiB, 64 KiB or 4 KiB, each naturally aligned, so the
 * buffer is cut greedily into the largest aligned, physically contiguous
 * blocks of those sizes.  The same walk also reports plain contiguous runs
 * for both, a lower bound for any exporter.
 */
#include <errno.h>
#include <fcntl.h>
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

#include <dmabuf_sg.h>

#define RUNS 7
#define MIB (1024UL * 1024UL)

static int dev_fd = -1;
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

/*
 * Walk the PFNs of a dma-buf mapping: contiguous runs, and blocks of the
 * system heap's orders (8, 4, 0) cut greedily.  -1 when PFNs are hidden.
 */
static int pfn_walk(int fd, size_t size, long *runs, long *heap_blocks)
{
	static const unsigned int orders[] = { 8, 4, 0 };
	size_t n = size / (size_t)page_sz, i;
	uint64_t *pfn;
	void *map;
	int pm, ret = -1;

	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	pfn = calloc(n, sizeof(*pfn));
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (!pfn || pm < 0)
		goto out;
	if (pread(pm, pfn, n * 8, (off_t)((uintptr_t)map / (uintptr_t)page_sz * 8)) != (ssize_t)(n * 8))
		goto out;
	for (i = 0; i < n; i++) {
		if (!(pfn[i] >> 63) || !(pfn[i] & ((1ULL << 55) - 1)))
			goto out;	/* not present, or PFN hidden */
		pfn[i] &= (1ULL << 55) - 1;
	}
	*runs = 0;
	for (i = 0; i < n; i++)
		if (!i || pfn[i] != pfn[i - 1] + 1)
			(*runs)++;
	*heap_blocks = 0;
	for (i = 0; i < n;) {
		for (size_t o = 0; o < 3; o++) {
			size_t len = (size_t)1 << orders[o], j;

			if (i + len > n || pfn[i] % len)
				continue;
			for (j = 1; j < len && pfn[i + j] == pfn[i] + j; j++)
				;
			if (j == len) {
				i += len;
				break;
			}
		}
		(*heap_blocks)++;
	}
	ret = 0;
out:
	if (pm >= 0)
		close(pm);
	free(pfn);
	munmap(map, size);
	return ret;
}

static void bench_alloc(int heap, size_t size)
{
	double ours[RUNS], theirs[RUNS];
	long runs_ours = -1, runs_heap = -1, blocks_heap = -1, unused;
	unsigned int sg = 0;
	int r, fd;

	for (r = 0; r < RUNS; r++) {
		fd = ours_alloc(size, &ours[r], &sg);
		if (fd < 0) {
			printf("alloc %3zu MiB: dmabuf_sg failed: %s\n", size / MIB, strerror(errno));
			return;
		}
		if (r == 0)
			pfn_walk(fd, size, &runs_ours, &unused);
		close(fd);
		if (heap < 0)
			continue;
		fd = heap_alloc(heap, size, &theirs[r]);
		if (fd < 0) {
			printf("alloc %3zu MiB: system heap failed: %s\n", size / MIB, strerror(errno));
			return;
		}
		if (r == 0)
			pfn_walk(fd, size, &runs_heap, &blocks_heap);
		close(fd);
	}
	double mo = median(ours, RUNS);

	if (heap < 0) {
		printf("alloc %3zu MiB   %9.2f ms   %9s      %6s   %7u   %7s   %6ld   %6s\n",
		       size / MIB, mo, "n/a", "n/a", sg, "n/a", runs_ours, "n/a");
		return;
	}
	double mt = median(theirs, RUNS);
	printf("alloc %3zu MiB   %9.2f ms   %9.2f ms   %6.2fx   %7u   %7ld   %6ld   %6ld\n",
	       size / MIB, mo, mt, mt / mo, sg, blocks_heap, runs_ours, runs_heap);
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

static int pin_once(uint8_t *map, size_t size, double *ms, unsigned int *sg)
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
	return close((int)arg.fd);
}

static int udmabuf_once(int udev, int mfd, size_t size, double *ms)
{
	struct udmabuf_create arg = { .memfd = (uint32_t)mfd, .offset = 0, .size = size };
	double t0 = now_ms();
	int fd = ioctl(udev, UDMABUF_CREATE, &arg);

	if (fd < 0)
		return -1;
	*ms = now_ms() - t0;
	return close(fd);
}

static void bench_pin(size_t size)
{
	double ours[RUNS], theirs[RUNS];
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
		if (pin_once(map, size, &ours[r], &sg) < 0) {
			printf("pin %zu MiB: dmabuf_sg failed: %s\n", size / MIB, strerror(errno));
			return;
		}
		if (udev >= 0 && udmabuf_once(udev, mfd, size, &theirs[r]) < 0) {
			printf("pin %zu MiB: udmabuf failed: %s\n", size / MIB, strerror(errno));
			return;
		}
	}
	double mo = median(ours, RUNS);

	if (udev < 0) {
		printf("pin %3zu MiB     %9.2f ms   %9s      %6s   %7u   (no /dev/udmabuf)\n",
		       size / MIB, mo, "n/a", "n/a", sg);
	} else {
		double mt = median(theirs, RUNS);

		printf("pin %3zu MiB     %9.2f ms   %9.2f ms   %6.2fx   %7u\n",
		       size / MIB, mo, mt, mt / mo, sg);
		close(udev);
	}
	munmap(map, size);
	close(mfd);
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

	printf("dmabuf_sg benchmark: median of %d runs, ratio = theirs / ours (>1: dmabuf_sg better)\n", RUNS);
	printf("SG ours: INFO; SG heap: reconstructed from pagemap (aligned 1M/64K/4K blocks); runs: physically contiguous runs\n");
	printf("%-13s   %12s   %12s   %7s   %7s   %7s   %6s   %6s\n",
	       "case", "dmabuf_sg", "system-heap", "ratio", "SG ours", "SG heap", "runs", "runs");
	printf("%-13s   %12s   %12s   %7s   %7s   %7s   %6s   %6s\n",
	       "", "", "", "", "", "", "ours", "heap");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bench_alloc(heap, sizes[i]);
	printf("%-13s   %12s   %12s   %7s   %7s\n", "", "dmabuf_sg", "udmabuf", "ratio", "SG ours");
	bench_pin(64 * MIB);
	if (heap >= 0)
		close(heap);
	close(dev_fd);
	return 0;
}
