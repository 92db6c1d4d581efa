/* SPDX-License-Identifier: MIT */
/*
 * Whether the module's page pool (kmod/pool.c) serves the broker's kmod
 * Allocs, counted from the module's own statistics (made for the test
 * guests; see bench/README.md):
 *
 *   N cycles of 1 MiB, each an Alloc through a kmod daemon + Destroy +
 *   close of the client's fd (broker), or DMABUF_SG_IOCTL_ALLOC + close
 *   (direct, the baseline), in two ways:
 *     wait    before each Alloc, wait (untimed) until the pool's worker
 *             has zeroed everything freed (pool_dirty_bytes 0)
 *     b2b     back to back, no wait
 *   For each case: the pool's hits and misses (blocks), the bytes its
 *   worker zeroed (what was freed into it), and the medians of the Alloc
 *   alone and of the whole cycle.
 *
 * The daemon charges each Alloc to the client's memory cgroup (the
 * connection's pidfd); the direct ioctl charges the caller, which is the
 * same process.  With --cgroup DIR the bench moves itself into DIR (a
 * cgroup v2 directory with the memory controller) once its daemon has
 * started, so the daemon stays where it was and only the client is in
 * DIR.  The pool serves only allocations charged to no cgroup or to the
 * root one: in a child cgroup it is neither asked (no hit, no miss) nor
 * fed (charged pages go back to the page allocator).
 *
 * The bench and its daemon, worker thread included, run on CPU 0, as in
 * bench_backends; the pool's worker is on an unbound workqueue and so on
 * whichever CPU is free.
 *
 * Usage: bench_pool [-n CYCLES] [--cgroup DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "benchkit.h"
#include "dmabuf-broker.h"
#include "dmabuf_sg.h"
#include "harness.h"

#define MIB (1024ull * 1024ull)
#define KMOD_NODE "/dev/dmabuf_sg"
#define KMOD_STATS "/sys/class/misc/dmabuf_sg/stats/"
#define KMOD_POOL_MAX "/sys/module/dmabuf_sg/parameters/pool_max_bytes"
/* The worker zeroes 1 MiB in well under a millisecond, even under TCG. */
#define WAIT_CLEAN_MS 10000

static const char bench_config[] =
	"[broker]\n"
	"backends = kmod\n"
	"[limits]\n"
	"max_holds_per_client = 1000000\n"
	"[quota]\n"
	"bytes = 0\n"
	"buffers = 0\n";

/* The pool's counters, from the module's sysfs statistics. */
struct pool_counts {
	uint64_t hits;
	uint64_t misses;
	uint64_t zeroed_bytes;
};

/* What one case does per cycle, and with what. */
struct cycle_ctx {
	struct dbb_client *client;	/* broker side; NULL for direct */
	int dev;			/* /dev/dmabuf_sg for direct */
};

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_pool: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

/* The number in the file @path, or exits. */
static uint64_t u64_read(const char *path)
{
	unsigned long long v;
	FILE *f = fopen(path, "r");

	if (!f)
		die(path, errno);
	if (fscanf(f, "%llu", &v) != 1)
		die(path, EINVAL);
	fclose(f);
	return v;
}

/* One of the module's statistics. */
static uint64_t stat_read(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), KMOD_STATS "%s", name);
	return u64_read(path);
}

static void pool_read(struct pool_counts *pc)
{
	pc->hits = stat_read("pool_hits");
	pc->misses = stat_read("pool_misses");
	pc->zeroed_bytes = stat_read("pool_zeroed_bytes");
}

/* Waits until the pool's worker has zeroed every block freed so far. */
static void pool_wait_clean(void)
{
	const struct timespec poll = { .tv_nsec = 100 * 1000 };
	uint64_t end = benchkit_now_ns() + WAIT_CLEAN_MS * 1000000ull;

	while (stat_read("pool_dirty_bytes")) {
		if (benchkit_now_ns() > end)
			die("the pool's worker did not finish zeroing", ETIMEDOUT);
		nanosleep(&poll, NULL);
	}
}

/* One Alloc (timed into *@alloc_ns) and its freeing, broker or direct. */
static void cycle_once(const struct cycle_ctx *x, uint64_t *alloc_ns)
{
	uint64_t t0 = benchkit_now_ns();

	if (x->client) {
		struct dbb_alloc_params p = { .struct_size = sizeof(p),
					      .size = MIB, .backend = "kmod" };
		struct dbb_buffer *b = NULL;
		int r = dbb_alloc(x->client, &p, &b);

		*alloc_ns = benchkit_now_ns() - t0;
		if (r < 0) {
			fprintf(stderr, "bench_pool: alloc: %s (%s)\n",
				strerror(-r), dbb_client_last_error(x->client));
			exit(1);
		}
		r = dbb_remove(x->client, dbb_buffer_get_info(b)->id);
		if (r < 0)
			die("destroy", r);
		dbb_buffer_free(b);
	} else {
		struct dmabuf_sg_alloc a = { .size = MIB,
					     .fd_flags = O_RDWR | O_CLOEXEC };

		snprintf(a.name, sizeof(a.name), "dbb");
		if (ioctl(x->dev, DMABUF_SG_IOCTL_ALLOC, &a) < 0)
			die("DMABUF_SG_IOCTL_ALLOC", errno);
		*alloc_ns = benchkit_now_ns() - t0;
		close((int)a.fd);
	}
}

/*
 * @n cycles after one untimed warm-up (which leaves the pool holding a
 * zeroed 1 MiB where it may), the counters read only before and after all
 * of them, so that reading them delays no cycle.
 */
static void run_case(const struct cycle_ctx *x, unsigned n, bool wait)
{
	uint64_t *alloc_ns = calloc(n, sizeof(uint64_t));
	uint64_t *cycle_ns = calloc(n, sizeof(uint64_t));
	struct pool_counts before, after;
	uint64_t scratch;

	if (!alloc_ns || !cycle_ns)
		die("calloc", ENOMEM);
	cycle_once(x, &scratch);
	pool_wait_clean();
	pool_read(&before);
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0;

		if (wait)
			pool_wait_clean();
		t0 = benchkit_now_ns();
		cycle_once(x, &alloc_ns[i]);
		cycle_ns[i] = benchkit_now_ns() - t0;
	}
	pool_read(&after);
	printf("  %-6s %-4s %5u %7" PRIu64 " %7" PRIu64 " %11" PRIu64
	       " %10.1f %10.1f\n", x->client ? "broker" : "direct",
	       wait ? "wait" : "b2b", n, after.hits - before.hits,
	       after.misses - before.misses,
	       (after.zeroed_bytes - before.zeroed_bytes) / 1024,
	       benchkit_pct(alloc_ns, n, 0.5) / 1000,
	       benchkit_pct(cycle_ns, n, 0.5) / 1000);
	fflush(stdout);
	free(alloc_ns);
	free(cycle_ns);
}

/* Moves the whole calling process into the cgroup v2 directory @dir. */
static void enter_cgroup(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f)
		die(path, errno);
	if (fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
		die(path, errno);
}

/* The caller's cgroup v2 path, as /proc/self/cgroup gives it. */
static void print_cgroup(void)
{
	char line[512] = "";
	FILE *f = fopen("/proc/self/cgroup", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			break;
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = '\0';
	printf("client cgroup %s\n", strncmp(line, "0::", 3) ? "unknown" :
	       line + 3);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_pool [-n CYCLES] [--cgroup DIR]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cgroup = NULL;
	struct harness_daemon d;
	struct cycle_ctx broker = { .dev = -1 }, direct = { .client = NULL };
	unsigned long n = 200;
	int r;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			n = strtoul(argv[++i], &end, 10);
			if (*end || !n || n > 100000)
				usage();
		} else if (!strcmp(argv[i], "--cgroup") && i + 1 < argc) {
			cgroup = argv[++i];
		} else {
			usage();
		}
	}
	signal(SIGPIPE, SIG_IGN);
	direct.dev = open(KMOD_NODE, O_RDWR | O_CLOEXEC);
	if (direct.dev < 0) {
		printf("SKIP bench_pool: %s: %s\n", KMOD_NODE, strerror(errno));
		return 77;
	}
	/* The daemon started from here inherits CPU 0, every thread. */
	if (benchkit_pin(0, 0) < 0)
		die("sched_setaffinity", errno);
	r = harness_daemon_start_backends(&d, bench_config, "kmod");
	if (r < 0) {
		harness_daemon_stop(&d);
		die("starting a kmod daemon", r);
	}
	if (cgroup)
		enter_cgroup(cgroup);
	if ((r = dbb_client_connect(d.socket, "bench-pool", &broker.client)) < 0)
		die("connect", r);
	print_cgroup();
	printf("pool_max_bytes %" PRIu64 "; %lu cycles of 1 MiB per case\n",
	       u64_read(KMOD_POOL_MAX), n);
	printf("  %-6s %-4s %5s %7s %7s %11s %10s %10s\n", "side", "wait",
	       "n", "hits", "misses", "zeroed KiB", "alloc us", "cycle us");
	run_case(&broker, (unsigned)n, true);
	run_case(&direct, (unsigned)n, true);
	run_case(&broker, (unsigned)n, false);
	run_case(&direct, (unsigned)n, false);
	dbb_client_destroy(broker.client);
	close(direct.dev);
	if ((r = harness_daemon_stop(&d)) != 0)
		printf("kmod daemon exit status %d\n", r);
	return 0;
}
