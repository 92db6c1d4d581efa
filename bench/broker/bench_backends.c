/* SPDX-License-Identifier: MIT */
/*
 * The broker's dma-buf backends against their own ioctls, in one run, each
 * figure beside its baseline measured in the same run (made for the 6.12
 * test guest, where every backend has its device; see bench/README.md):
 *
 *   alloc    an Alloc through the broker (Alloc + Destroy + close of the
 *            fd) vs the backend's work done directly (the same ioctls as
 *            daemon/backends/<it>.c + close), 1, 16 and 64 MiB, for each
 *            backend whose device is here:
 *              kmod     DMABUF_SG_IOCTL_ALLOC on /dev/dmabuf_sg
 *              heap     DMA_HEAP_IOCTL_ALLOC on /dev/dma_heap/system
 *              udmabuf  memfd_create + ftruncate + fallocate +
 *                       F_SEAL_SHRINK + UDMABUF_CREATE, memfd closed
 *                       (sizes up to its size_limit_mb)
 *              drm      DRM_IOCTL_MODE_CREATE_DUMB + PRIME export +
 *                       DESTROY_DUMB on /dev/dri/card0 (vgem), then
 *                       mmap + MADV_POPULATE_WRITE, for the daemon
 *                       populates vgem's pages at alloc
 *            Median and min of each side, ours and the direct one
 *            interleaved, alternating which goes first; the ratio is of
 *            the medians.                                target <= 1.2x
 *            One daemon per backend (--backends <it>); the bench and the
 *            daemon (its worker thread too) all run on CPU 0.  Beside
 *            each backend: the daemon's bare round trip (Stats), the
 *            floor of what the broker adds, and at 1 MiB each step of
 *            both sides timed apart.
 *   handoff  at HANDLERS_BUFFER_ASYNC_MIN (4 MiB), where Allocs move to
 *            the daemon's worker thread: what the broker adds just below
 *            it and at it (kmod, or the first backend measured)
 *   import   Import by name of an existing buffer, round trip (p50, p99):
 *            a dma-buf (kmod, else heap) vs a memfd, each from a daemon
 *            of its own, both daemons pinned alike: same core (client and
 *            daemons on CPU 0) and cross core (client on CPU 0, daemons
 *            on CPU 1).                     no target (info)
 *
 * Usage: bench_backends [-q] [backend...]   (-q: a quick smoke run; the
 * backends to measure, default all four)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#include "benchkit.h"
#include "dmabuf-broker.h"
#include "dmabuf_sg.h"
#include "harness.h"

#define MIB (1024ull * 1024ull)
#define ASYNC_MIN (4 * MIB)	/* HANDLERS_BUFFER_ASYNC_MIN */
#define UDMABUF_LIMIT "/sys/module/udmabuf/parameters/size_limit_mb"
#define DRM_ROW 4096u		/* daemon/backends/drm.c: 1024 x 32 bpp */

static const char bench_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"[limits]\n"
	"max_holds_per_client = 1000000\n"
	"[quota]\n"
	"bytes = 0\n"
	"buffers = 0\n";

static bool quick;

/* A backend's device and its allocation done directly. */
struct direct {
	const char *name;	/* the broker's name for the backend */
	const char *node;
	/* A dma-buf of @size bytes from @dev: its fd, or exits. */
	int (*alloc)(int dev, uint64_t size);
};

struct row {
	char what[48];
	double med, base, min, base_min;
	unsigned n;
	const char *verdict;	/* PASS, MISS or info */
};

static struct row rows[64];
static int nrows;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_backends: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

/* ---- the backends' work, done directly ---- */

static int direct_kmod(int dev, uint64_t size)
{
	struct dmabuf_sg_alloc a = { .size = size,
				     .fd_flags = O_RDWR | O_CLOEXEC };

	snprintf(a.name, sizeof(a.name), "dbb");
	if (ioctl(dev, DMABUF_SG_IOCTL_ALLOC, &a) < 0)
		die("DMABUF_SG_IOCTL_ALLOC", errno);
	return (int)a.fd;
}

static int direct_heap(int dev, uint64_t size)
{
	struct dma_heap_allocation_data d = { .len = size,
					      .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(dev, DMA_HEAP_IOCTL_ALLOC, &d) < 0)
		die("DMA_HEAP_IOCTL_ALLOC", errno);
	return (int)d.fd;
}

/* As daemon/backends/udmabuf.c: every page allocated, then sealed. */
static int direct_udmabuf(int dev, uint64_t size)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC,
				    .size = size };
	int memfd = memfd_create("dbb:buffer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int fd;

	if (memfd < 0 || ftruncate(memfd, (off_t)size) < 0 ||
	    fallocate(memfd, 0, 0, (off_t)size) < 0 ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		die("udmabuf memfd", errno);
	c.memfd = (uint32_t)memfd;
	fd = ioctl(dev, UDMABUF_CREATE, &c);
	if (fd < 0)
		die("UDMABUF_CREATE", errno);
	close(memfd);
	return fd;
}

/* As daemon/backends/drm.c populates since it maps the dma-buf: every
 * page of the GEM shmem object allocated now, not at first use. */
static void direct_drm_populate(int fd, uint64_t size)
{
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (map == MAP_FAILED)
		die("mmap of the dumb buffer", errno);
	if (madvise(map, size, MADV_POPULATE_WRITE) < 0 && errno == ENOMEM)
		die("MADV_POPULATE_WRITE", errno);
	munmap(map, size);
}

/* As daemon/backends/drm.c for bare bytes: rows of 4 KiB, exported, the
 * handle closed (the dma-buf holds the object), the pages populated. */
static int direct_drm(int dev, uint64_t size)
{
	struct drm_mode_create_dumb c = {
		.width = DRM_ROW / 4, .bpp = 32,
		.height = (uint32_t)((size + DRM_ROW - 1) / DRM_ROW),
	};
	struct drm_prime_handle p = { .flags = DRM_CLOEXEC | DRM_RDWR };
	struct drm_mode_destroy_dumb d = { 0 };

	if (ioctl(dev, DRM_IOCTL_MODE_CREATE_DUMB, &c) < 0)
		die("DRM_IOCTL_MODE_CREATE_DUMB", errno);
	p.handle = d.handle = c.handle;
	if (ioctl(dev, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) < 0)
		die("DRM_IOCTL_PRIME_HANDLE_TO_FD", errno);
	ioctl(dev, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
	direct_drm_populate(p.fd, size);
	return p.fd;
}

static const struct direct directs[] = {
	{ "kmod", "/dev/dmabuf_sg", direct_kmod },
	{ "heap", "/dev/dma_heap/system", direct_heap },
	{ "udmabuf", "/dev/udmabuf", direct_udmabuf },
	{ "drm", "/dev/dri/card0", direct_drm },
};

#define NDIRECTS (sizeof(directs) / sizeof(directs[0]))

/* udmabuf's size_limit_mb in bytes (the driver's default, 64 MiB, when
 * the parameter cannot be read). */
static uint64_t udmabuf_limit(void)
{
	FILE *f = fopen(UDMABUF_LIMIT, "r");
	unsigned long long mb = 64;

	if (f) {
		if (fscanf(f, "%llu", &mb) != 1)
			mb = 64;
		fclose(f);
	}
	return mb * MIB;
}

/* ---- rows ---- */

/* Records and prints a figure beside its baseline (@base_label: what the
 * baseline is); @target <= 0: no target. */
static void row_add(const char *what, const char *base_label, double med,
		    double base, double min, double base_min, unsigned n,
		    double target)
{
	struct row *r = &rows[nrows++];

	snprintf(r->what, sizeof(r->what), "%s", what);
	r->med = med;
	r->base = base;
	r->min = min;
	r->base_min = base_min;
	r->n = n;
	if (target <= 0)
		r->verdict = "info";
	else
		r->verdict = med <= target * base ? "PASS" : "MISS";
	printf("  %-30s %10.1f us  %-6s %10.1f us  ratio %5.2f  "
	       "(min %.1f / %.1f, +%.1f us, n %u)  %s\n", what, med,
	       base_label, base, med / base, min, base_min, med - base, n,
	       r->verdict);
	fflush(stdout);
}

/* The @p quantile of @v beside that of @base (both n long, sorted here),
 * and their minima. */
static void row_from(const char *what, const char *base_label, uint64_t *v,
		     uint64_t *base, unsigned n, double p, double target)
{
	double med = benchkit_pct(v, n, p) / 1000;
	double bmed = benchkit_pct(base, n, p) / 1000;

	row_add(what, base_label, med, bmed, (double)v[0] / 1000,
		(double)base[0] / 1000, n, target);
}

/* ---- alloc: broker vs direct ---- */

static void broker_alloc_once(struct dbb_client *c, const char *backend,
			      uint64_t size)
{
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .size = size, .backend = backend };
	struct dbb_buffer *b = NULL;
	int r = dbb_alloc(c, &p, &b);

	if (r < 0) {
		fprintf(stderr, "bench_backends: %s alloc of %llu: %s (%s)\n",
			backend, (unsigned long long)size, strerror(-r),
			dbb_client_last_error(c));
		exit(1);
	}
	r = dbb_remove(c, dbb_buffer_get_info(b)->id);
	if (r < 0)
		die("destroy", r);
	dbb_buffer_free(b);
}

/* One pair, in the order @broker_first: direct (alloc + close) and the
 * broker's (Alloc + Destroy + close), times in *@d and *@b. */
static void alloc_pair(const struct direct *dr, int dev, struct dbb_client *c,
		       uint64_t size, bool broker_first, uint64_t *d,
		       uint64_t *b)
{
	for (int k = 0; k < 2; k++) {
		uint64_t t0 = benchkit_now_ns();

		if ((k == 0) == broker_first) {
			broker_alloc_once(c, dr->name, size);
			*b = benchkit_now_ns() - t0;
		} else {
			close(dr->alloc(dev, size));
			*d = benchkit_now_ns() - t0;
		}
	}
}

/* Repetitions: at least 10, at most @max, within about @budget_s. */
static unsigned alloc_measure(const struct direct *dr, int dev,
			      struct dbb_client *c, uint64_t size,
			      uint64_t *d, uint64_t *b, unsigned max,
			      double budget_s)
{
	uint64_t end, scratch_d, scratch_b;
	unsigned n = 0;

	for (int i = 0; i < 3; i++)	/* warm-up */
		alloc_pair(dr, dev, c, size, i & 1, &scratch_d, &scratch_b);
	end = benchkit_now_ns() + (uint64_t)(budget_s * 1e9);
	while (n < max && (n < 10 || benchkit_now_ns() < end)) {
		alloc_pair(dr, dev, c, size, n & 1, &d[n], &b[n]);
		n++;
	}
	return n;
}

static void bench_alloc_size(const struct direct *dr, int dev,
			     struct dbb_client *c, uint64_t size)
{
	unsigned max = size <= MIB ? 300 : size <= 16 * MIB ? 60 : 30;
	uint64_t *d = calloc(max, sizeof(uint64_t));
	uint64_t *b = calloc(max, sizeof(uint64_t));
	char what[48];
	unsigned n;

	if (!d || !b)
		die("calloc", ENOMEM);
	if (quick)
		max /= 5;
	n = alloc_measure(dr, dev, c, size, d, b, max, quick ? 1.5 : 8.0);
	snprintf(what, sizeof(what), "%s alloc %llu MiB", dr->name,
		 (unsigned long long)(size / MIB));
	row_from(what, "direct", b, d, n, 0.5, 1.2);
	free(d);
	free(b);
}

/* The daemon's bare round trip: Stats, median of 200. */
static double stats_rtt_us(struct dbb_client *c)
{
	uint64_t v[200];
	struct dbb_stats st = { .struct_size = sizeof(st) };

	for (unsigned i = 0; i < 200; i++) {
		uint64_t t0 = benchkit_now_ns();

		if (dbb_stats(c, &st) < 0)
			die("stats", EIO);
		v[i] = benchkit_now_ns() - t0;
	}
	return benchkit_pct(v, 200, 0.5) / 1000;
}

/*
 * What the broker adds (broker - direct, medians) just below the size
 * where an Alloc moves to the worker thread, and at it.
 */
static void bench_handoff(const struct direct *dr, int dev,
			  struct dbb_client *c)
{
	uint64_t sizes[2] = { ASYNC_MIN - 4096, ASYNC_MIN };
	unsigned max = quick ? 20 : 100;
	uint64_t *d = calloc(max, sizeof(uint64_t));
	uint64_t *b = calloc(max, sizeof(uint64_t));
	char what[48];

	if (!d || !b)
		die("calloc", ENOMEM);
	printf("  worker hand-off (%s): Allocs of 4 MiB and more run on the "
	       "daemon's worker thread\n", dr->name);
	for (int i = 0; i < 2; i++) {
		unsigned n = alloc_measure(dr, dev, c, sizes[i], d, b, max,
					   quick ? 1.0 : 4.0);

		snprintf(what, sizeof(what), "%s alloc %s", dr->name,
			 i ? "4 MiB (worker)" : "4 MiB-4K (loop)");
		row_from(what, "direct", b, d, n, 0.5, 0);
	}
	free(d);
	free(b);
}

/*
 * Where the broker's time goes at 1 MiB: each step of both sides timed
 * apart (medians), beside the daemon's bare round trip.
 */
static void bench_breakdown(const struct direct *dr, int dev,
			    struct dbb_client *c, double rtt)
{
	enum { STEPS = 5 };	/* Alloc, Destroy, close; ioctl, close */
	unsigned n = quick ? 20 : 100;
	uint64_t *t[STEPS];
	double med[STEPS];

	for (int k = 0; k < STEPS; k++)
		if (!(t[k] = calloc(n, sizeof(uint64_t))))
			die("calloc", ENOMEM);
	for (unsigned i = 0; i < n; i++) {
		struct dbb_alloc_params p = { .struct_size = sizeof(p),
					      .size = MIB, .backend = dr->name };
		struct dbb_buffer *b = NULL;
		uint64_t t0 = benchkit_now_ns(), t1, t2;
		int fd, r = dbb_alloc(c, &p, &b);

		t1 = benchkit_now_ns();
		if (r < 0 || (r = dbb_remove(c, dbb_buffer_get_info(b)->id)) < 0)
			die("alloc/destroy", r);
		t2 = benchkit_now_ns();
		dbb_buffer_free(b);
		t[0][i] = t1 - t0;
		t[1][i] = t2 - t1;
		t[2][i] = benchkit_now_ns() - t2;
		t0 = benchkit_now_ns();
		fd = dr->alloc(dev, MIB);
		t1 = benchkit_now_ns();
		close(fd);
		t[3][i] = t1 - t0;
		t[4][i] = benchkit_now_ns() - t1;
	}
	for (int k = 0; k < STEPS; k++) {
		med[k] = benchkit_pct(t[k], n, 0.5) / 1000;
		free(t[k]);
	}
	printf("  %s 1 MiB, medians of %u: broker Alloc %.1f + Destroy %.1f "
	       "+ close %.1f us; direct ioctl %.1f + close %.1f us; "
	       "round trip (Stats) %.1f us\n", dr->name, n, med[0], med[1],
	       med[2], med[3], med[4], rtt);
}

/* Every size for one backend, against a daemon of its own. */
static void bench_backend(const struct direct *dr, bool *handoff_done)
{
	static const uint64_t sizes[] = { 1 * MIB, 16 * MIB, 64 * MIB };
	uint64_t limit = strcmp(dr->name, "udmabuf") ? UINT64_MAX :
			 udmabuf_limit();
	struct harness_daemon d;
	struct dbb_client *c = NULL;
	int dev = open(dr->node, O_RDWR | O_CLOEXEC), r;
	double rtt;

	if (dev < 0) {
		printf("  SKIP %s: %s: %s\n", dr->name, dr->node,
		       strerror(errno));
		return;
	}
	r = harness_daemon_start_backends(&d, bench_config, dr->name);
	if (r < 0) {
		printf("  SKIP %s: the daemon did not start: %s\n", dr->name,
		       strerror(-r));
		harness_daemon_stop(&d);
		close(dev);
		return;
	}
	if ((r = dbb_client_connect(d.socket, "bench-alloc", &c)) < 0)
		die("connect", r);
	rtt = stats_rtt_us(c);
	printf("%s: daemon pid %d, round trip (Stats) %.1f us\n", dr->name,
	       (int)d.pid, rtt);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i] > limit)
			printf("  SKIP %s alloc %llu MiB: beyond size_limit_mb "
			       "(%llu MiB)\n", dr->name,
			       (unsigned long long)(sizes[i] / MIB),
			       (unsigned long long)(limit / MIB));
		else
			bench_alloc_size(dr, dev, c, sizes[i]);
	}
	bench_breakdown(dr, dev, c, rtt);
	if (!*handoff_done) {
		bench_handoff(dr, dev, c);
		*handoff_done = true;
	}
	dbb_client_destroy(c);
	close(dev);
	if ((r = harness_daemon_stop(&d)) != 0)
		printf("  %s daemon exit status %d\n", dr->name, r);
}

/* ---- import: a dma-buf vs a memfd, both daemons pinned alike ---- */

struct handout {
	const char *backend;
	struct harness_daemon d;
	struct dbb_client *owner;
	struct dbb_client *importer;
	struct dbb_buffer *buf;
};

static int handout_start(struct handout *h, const char *backend)
{
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .size = MIB, .name = "bench/handout" };
	int r;

	h->backend = backend;
	r = harness_daemon_start_backends(&h->d, bench_config, backend);
	if (r < 0) {
		harness_daemon_stop(&h->d);
		return r;
	}
	if ((r = dbb_client_connect(h->d.socket, "bench-owner", &h->owner)) < 0 ||
	    (r = dbb_client_connect(h->d.socket, "bench-importer",
				    &h->importer)) < 0 ||
	    (r = dbb_alloc(h->owner, &p, &h->buf)) < 0)
		die("handout setup", r);
	return 0;
}

static void handout_stop(struct handout *h)
{
	int r;

	dbb_buffer_free(h->buf);
	dbb_client_destroy(h->importer);
	dbb_client_destroy(h->owner);
	if ((r = harness_daemon_stop(&h->d)) != 0)
		printf("  %s daemon exit status %d\n", h->backend, r);
}

static uint64_t handout_once(struct handout *h)
{
	struct dbb_buffer *x = NULL;
	uint64_t t0 = benchkit_now_ns(), t;
	int r = dbb_open_by_name(h->importer, "bench/handout", false, &x);

	t = benchkit_now_ns() - t0;
	if (r < 0)
		die("import", r);
	dbb_buffer_free(x);
	return t;
}

/* One placement: blocks of 500 imports from each daemon in turn. */
static void handout_at(struct handout *dma, struct handout *mem,
		       const char *label, int server_cpu)
{
	unsigned n = quick ? 500 : 3000, warm = n / 10;
	uint64_t *a = calloc(n, sizeof(uint64_t));
	uint64_t *m = calloc(n, sizeof(uint64_t));
	char what[48];

	if (!a || !m)
		die("calloc", ENOMEM);
	if (benchkit_pin(0, 0) < 0 || benchkit_pin(dma->d.pid, server_cpu) < 0 ||
	    benchkit_pin(mem->d.pid, server_cpu) < 0)
		die("sched_setaffinity", errno);
	for (unsigned i = 0; i < warm; i++) {
		handout_once(dma);
		handout_once(mem);
	}
	for (unsigned blk = 0; blk < n; blk += 500) {
		for (unsigned i = blk; i < blk + 500 && i < n; i++)
			a[i] = handout_once(dma);
		for (unsigned i = blk; i < blk + 500 && i < n; i++)
			m[i] = handout_once(mem);
	}
	snprintf(what, sizeof(what), "import %s %s p50", dma->backend, label);
	row_from(what, "memfd", a, m, n, 0.5, 0);
	snprintf(what, sizeof(what), "import %s %s p99", dma->backend, label);
	row_from(what, "memfd", a, m, n, 0.99, 0);
	free(a);
	free(m);
}

static void bench_handout(bool want_kmod, bool want_heap)
{
	struct handout dma, mem;
	const char *be = NULL;

	printf("import by name round trip: a dma-buf vs a memfd (1 MiB), "
	       "client on CPU 0, both daemons on the CPU shown\n");
	if (want_kmod && access(directs[0].node, F_OK) == 0 &&
	    handout_start(&dma, "kmod") == 0)
		be = "kmod";
	else if (want_heap && access(directs[1].node, F_OK) == 0 &&
		 handout_start(&dma, "heap") == 0)
		be = "heap";
	if (!be) {
		printf("  SKIP import: neither kmod nor heap starts here\n");
		return;
	}
	if (handout_start(&mem, "memfd") < 0)
		die("starting the memfd daemon", ENODEV);
	handout_at(&dma, &mem, "same core", 0);
	if (benchkit_ncpus() > 1)
		handout_at(&dma, &mem, "cross core", 1);
	else
		printf("  SKIP import cross core: one CPU only\n");
	benchkit_pin(0, 0);
	handout_stop(&dma);
	handout_stop(&mem);
}

/* ---- main ---- */

static void summary(void)
{
	int miss = 0, targets = 0;

	printf("\n%-34s %11s %11s %6s %11s %11s %4s  %s\n", "figure (us)",
	       "broker p50", "base p50", "ratio", "broker min", "base min",
	       "n", "<= 1.2x");
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		printf("%-34s %11.1f %11.1f %6.2f %11.1f %11.1f %4u  %s\n",
		       r->what, r->med, r->base, r->med / r->base, r->min,
		       r->base_min, r->n, r->verdict);
		targets += strcmp(r->verdict, "info") != 0;
		miss += !strcmp(r->verdict, "MISS");
	}
	printf("%d of %d targets missed\n", miss, targets);
}

/* Whether @name is to be measured: all when no backend was named. */
static bool wanted(int argc, char **argv, int first, const char *name)
{
	if (first >= argc)
		return true;
	for (int i = first; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int first = 1;
	bool handoff_done = false;

	if (argc > 1 && !strcmp(argv[1], "-q")) {
		quick = true;
		first = 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* The daemons started from here inherit CPU 0, every thread. */
	if (benchkit_pin(0, 0) < 0)
		die("sched_setaffinity", errno);
	printf("dmabuf-broker backends vs their ioctls%s: median of each "
	       "side, all on CPU 0\n", quick ? " (quick)" : "");
	for (size_t i = 0; i < NDIRECTS; i++)
		if (wanted(argc, argv, first, directs[i].name))
			bench_backend(&directs[i], &handoff_done);
	bench_handout(wanted(argc, argv, first, "kmod"),
		      wanted(argc, argv, first, "heap"));
	summary();
	return 0;
}
