/* SPDX-License-Identifier: MIT */
/*
 * The broker's registry (daemon/registry.c) at scale, in process.
 *
 * Through the daemon every buffer costs the daemon an fd, and where the
 * hard RLIMIT_NOFILE is 20,000 (no CAP_SYS_RESOURCE, as here and in CI)
 * the daemon cannot hold 100,000 buffers.  This links registry.o directly
 * and registers buffers with fd -1: the registry calls its "gone" callback
 * and close() only for fds >= 0 (registry_buffer_remove()), so it never
 * touches an fd it was not given, and nothing else differs from what the
 * daemon stores per buffer (the entry, its name, the owner's hold, the
 * hash tables).  Measured in one run, each beside its baseline:
 *
 *   lookups/s by name and by id with 100,000 named buffers against the
 *   same with 1,000: random names/ids drawn from the registered set,
 *   rounds alternating between the two registries, median round compared
 *                                                    target >= 0.8x
 *   registry heap bytes per buffer: mallinfo2() in-use bytes before and
 *   after registering 100,000, divided by 100,000   target <= 1 KiB
 *
 * Usage: bench_registry [-q]  (-q: fewer rounds, a smoke run)
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"

#define SMALL 1000u
#define BIG 100000u
#define ROUNDS 11
#define NAME_MAX_LEN 32

struct reg_set {
	struct registry *reg;
	struct registry_conn *conn;
	uint64_t *ids;			/* the ids registry_buffer_add() gave */
	unsigned n;
};

static bool quick;
static int misses;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_registry: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* "bench/registry/000042": written by hand, so that building the key
 * costs a few ns next to the lookup (snprintf would cost more than it). */
static const char *bench_name(char buf[NAME_MAX_LEN], unsigned i)
{
	static const char prefix[] = "bench/registry/";
	char *p = buf + sizeof(prefix) - 1;

	memcpy(buf, prefix, sizeof(prefix) - 1);
	for (int d = 5; d >= 0; d--, i /= 10)
		p[d] = (char)('0' + i % 10);
	p[6] = '\0';
	return buf;
}

/* An empty registry with one connection, and room for @n ids. */
static void setup(struct reg_set *s, unsigned n)
{
	s->reg = registry_create();
	s->conn = s->reg ? registry_conn_open(s->reg, 1, 1000, 1, "bench") : NULL;
	s->ids = calloc(n, sizeof(*s->ids));
	if (!s->conn || !s->ids)
		die("setting up a registry", -ENOMEM);
	s->n = n;
}

/* Registers s->n named buffers owned by the connection, each with fd -1. */
static void fill(struct reg_set *s)
{
	char name[NAME_MAX_LEN];

	for (unsigned i = 0; i < s->n; i++) {
		struct registry_new p = {
			.size = 4096,
			.name = bench_name(name, i),
			.lifetime = REGISTRY_LIFETIME_CLIENT,
		};
		struct registry_buffer *b;
		int r = registry_buffer_add(s->reg, s->conn, &p, NULL, -1, &b);

		if (r < 0)
			die("registry_buffer_add", r);
		s->ids[i] = b->id;
		/* Ids are dense and never reused: by_id() draws from the
		 * range instead of reading 800 KB of ids at random. */
		if (b->id != s->ids[0] + i)
			die("ids not dense", -EINVAL);
	}
}

static void empty(struct reg_set *s)
{
	registry_conn_close(s->reg, s->conn);	/* removes its buffers */
	registry_destroy(s->reg);
	free(s->ids);
}

/* @n lookups of random registered names: lookups per second. */
static double by_name(const struct reg_set *s, unsigned n, uint64_t *seed)
{
	char name[NAME_MAX_LEN];
	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < n; i++) {
		unsigned k = (unsigned)(xorshift(seed) % s->n);

		if (!registry_buffer_by_name(s->reg, bench_name(name, k)))
			die("lookup by name", -ENOENT);
	}
	return (double)n * 1e9 / (double)(now_ns() - t0);
}

/* @n lookups of random registered ids: lookups per second. */
static double by_id(const struct reg_set *s, unsigned n, uint64_t *seed)
{
	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < n; i++) {
		uint64_t id = s->ids[0] + xorshift(seed) % s->n;

		if (!registry_buffer_by_id(s->reg, id))
			die("lookup by id", -ENOENT);
	}
	return (double)n * 1e9 / (double)(now_ns() - t0);
}

/* How full the hash tables are (uthash's own counters). */
static void tables(const struct reg_set *s)
{
	const struct registry_buffer *b = registry_buffer_by_id(s->reg, s->ids[0]);
	const UT_hash_table *id = b->hh_id.tbl, *name = b->hh_name.tbl;

	printf("  %u buffers: by id %u items in %u buckets, by name %u in %u "
	       "(%u and %u items in over-long chains)\n", s->n, id->num_items,
	       id->num_buckets, name->num_items, name->num_buckets,
	       id->nonideal_items, name->nonideal_items);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void row(const char *what, double value, double base, const char *unit,
		bool lower_better, double target)
{
	double ratio = value / base;
	bool pass = lower_better ? ratio <= target : ratio >= target;

	misses += !pass;
	printf("%-34s %12.0f %-4s baseline %12.0f %-4s ratio %5.2f  %s %.2f %s\n",
	       what, value, unit, base, unit, ratio, lower_better ? "<=" : ">=",
	       target, pass ? "PASS" : "MISS");
}

typedef double (*lookup_fn)(const struct reg_set *s, unsigned n,
			    uint64_t *seed);

/*
 * Alternating rounds on the small and the big registry, so that a change
 * of load on a shared machine hits both alike; the medians are compared.
 */
static void compare(const char *what, lookup_fn fn, const struct reg_set *small,
		    const struct reg_set *big, unsigned per, int rounds)
{
	double rs[ROUNDS], rb[ROUNDS];
	uint64_t seed_s = 88172645463325252ull, seed_b = seed_s;

	fn(small, per, &seed_s);	/* warm-up */
	fn(big, per, &seed_b);
	for (int i = 0; i < rounds; i++) {
		rs[i] = fn(small, per, &seed_s);
		rb[i] = fn(big, per, &seed_b);
	}
	qsort(rs, (size_t)rounds, sizeof(double), cmp_double);
	qsort(rb, (size_t)rounds, sizeof(double), cmp_double);
	printf("  %s: %.1f ns at %uk, %.1f ns at %uk per lookup (median of %d "
	       "rounds of %u)\n", what, 1e9 / rs[rounds / 2], small->n / 1000,
	       1e9 / rb[rounds / 2], big->n / 1000, rounds, per);
	row(what, rb[rounds / 2], rs[rounds / 2], "op/s", false, 0.8);
}

int main(int argc, char **argv)
{
	struct reg_set small, big;
	struct mallinfo2 m0, m1;
	unsigned per;
	int rounds;
	uint64_t t0;

	quick = argc > 1 && !strcmp(argv[1], "-q");
	per = quick ? 100000 : 1000000;
	rounds = quick ? 5 : ROUNDS;
	printf("registry in process (daemon/registry.c, fd -1 per buffer): "
	       "%u vs %u named buffers\n", BIG, SMALL);
	setup(&small, SMALL);
	fill(&small);
	setup(&big, BIG);
	m0 = mallinfo2();
	t0 = now_ns();
	fill(&big);
	m1 = mallinfo2();
	printf("  registered %u in %.3f s; heap in use %zu -> %zu bytes\n", BIG,
	       (double)(now_ns() - t0) / 1e9, m0.uordblks, m1.uordblks);
	tables(&small);
	tables(&big);
	compare("lookup by name 100k vs 1k", by_name, &small, &big, per, rounds);
	compare("lookup by id 100k vs 1k", by_id, &small, &big, per, rounds);
	/* Per buffer, in bytes, with malloc's own overhead and the uthash
	 * tables' growth; the "baseline" is the target. */
	row("registry heap per buffer",
	    (double)(m1.uordblks - m0.uordblks) / BIG, 1024, "B", true, 1.0);
	/* What the lookup ratio mostly measures in process. */
	printf("  working sets: ~%.1f MB at %uk, ~%.1f MB at %uk; L2 cache "
	       "%ld KiB: random lookups in the big one mostly miss it\n",
	       (double)(m1.uordblks - m0.uordblks) / BIG * SMALL / 1e6,
	       SMALL / 1000, (double)(m1.uordblks - m0.uordblks) / 1e6,
	       BIG / 1000, sysconf(_SC_LEVEL2_CACHE_SIZE) / 1024);
	empty(&big);
	empty(&small);
	printf("%d of 3 registry targets missed\n", misses);
	return 0;
}
