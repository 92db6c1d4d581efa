/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the limits every uid shares (daemon/shares.c): the default
 * cap on all buffers' bytes comes from the tightest of RAM and the memory
 * limits of the broker's cgroup and those above it, read under a fake
 * root; reservations add up per uid and overall, and the cap refuses what
 * would pass it; connections are counted per uid.  Links only shares.o.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "shares.h"

#define MiB (1ull << 20)

/* A fake root: proc/meminfo, proc/self/cgroup and sys/fs/cgroup. */
struct fake_root {
	char path[64];
};

static void fake_write(const struct fake_root *fr, const char *rel,
		       const char *text)
{
	char path[PATH_MAX], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fr->path, rel);
	for (slash = strchr(path + strlen(fr->path) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int fake_setup(void **state)
{
	struct fake_root *fr = calloc(1, sizeof(*fr));

	assert_non_null(fr);
	snprintf(fr->path, sizeof(fr->path), "/tmp/test_shares.XXXXXX");
	assert_non_null(mkdtemp(fr->path));
	fake_write(fr, "proc/meminfo", "MemTotal:        8388608 kB\n"
		   "MemFree:         1048576 kB\n");
	*state = fr;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake_root *fr = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fr->path);
	assert_int_equal(0, system(cmd));
	free(fr);
	return 0;
}

static void test_default_is_half_the_ram(void **state)
{
	struct fake_root *fr = *state;
	uint64_t cap = 0;
	char why[512];

	/* No cgroup line at all: RAM is all there is. */
	assert_int_equal(0, shares_default_total(fr->path, &cap, why,
						 sizeof(why)));
	assert_int_equal(4096 * MiB, cap);
	assert_non_null(strstr(why, "RAM"));
}

static void test_default_follows_tightest_cgroup(void **state)
{
	struct fake_root *fr = *state;
	uint64_t cap = 0;
	char why[512];

	fake_write(fr, "proc/self/cgroup", "0::/system.slice/broker.service\n");
	fake_write(fr, "sys/fs/cgroup/system.slice/broker.service/memory.max",
		   "max\n");
	fake_write(fr, "sys/fs/cgroup/system.slice/broker.service/memory.high",
		   "1073741824\n");
	/* The slice above is tighter still. */
	fake_write(fr, "sys/fs/cgroup/system.slice/memory.max", "402653184\n");
	fake_write(fr, "sys/fs/cgroup/system.slice/memory.high", "max\n");
	assert_int_equal(0, shares_default_total(fr->path, &cap, why,
						 sizeof(why)));
	assert_int_equal(192 * MiB, cap);
	assert_non_null(strstr(why, "memory.max of cgroup /system.slice"));

	/* Its own memory.high below that wins. */
	fake_write(fr, "sys/fs/cgroup/system.slice/broker.service/memory.high",
		   "268435456\n");
	assert_int_equal(0, shares_default_total(fr->path, &cap, why,
						 sizeof(why)));
	assert_int_equal(128 * MiB, cap);
	assert_non_null(strstr(why, "memory.high of cgroup "
				    "/system.slice/broker.service"));
}

static void test_default_ignores_v1_and_unlimited(void **state)
{
	struct fake_root *fr = *state;
	uint64_t cap = 0;
	char why[512];

	/* cgroup v1 lines and "max" everywhere: RAM again. */
	fake_write(fr, "proc/self/cgroup", "4:memory:/user.slice\n0::/a\n");
	fake_write(fr, "sys/fs/cgroup/a/memory.max", "max\n");
	assert_int_equal(0, shares_default_total(fr->path, &cap, why,
						 sizeof(why)));
	assert_int_equal(4096 * MiB, cap);
}

static void test_default_needs_meminfo(void **state)
{
	uint64_t cap = 7;
	char why[64];

	(void)state;
	assert_int_equal(-ENOENT, shares_default_total("/nonexistent/root",
						       &cap, why, sizeof(why)));
	assert_int_equal(7, cap);
}

static void test_reservations_count_against_cap(void **state)
{
	struct shares *s = shares_create(100 * MiB, 0, 0);
	struct shares_reserved r;

	(void)state;
	assert_non_null(s);
	assert_int_equal(0, shares_check_total(s, 40 * MiB, 60 * MiB));
	assert_int_equal(-ENOSPC, shares_check_total(s, 40 * MiB,
						     60 * MiB + 1));
	assert_int_equal(0, shares_reserve(s, 1000, 30 * MiB));
	assert_int_equal(0, shares_reserve(s, 1000, 10 * MiB));
	assert_int_equal(0, shares_reserve(s, 1001, 5 * MiB));
	r = shares_reserved_of(s, 1000);
	assert_int_equal(40 * MiB, r.bytes);
	assert_int_equal(2, r.buffers);
	assert_int_equal(45 * MiB, shares_reserved_total(s));
	/* 40 charged + 45 reserved: 15 left. */
	assert_int_equal(0, shares_check_total(s, 40 * MiB, 15 * MiB));
	assert_int_equal(-ENOSPC, shares_check_total(s, 40 * MiB, 16 * MiB));
	shares_release(s, 1000, 30 * MiB);
	shares_release(s, 1000, 10 * MiB);
	r = shares_reserved_of(s, 1000);
	assert_int_equal(0, r.bytes);
	assert_int_equal(0, r.buffers);
	assert_int_equal(5 * MiB, shares_reserved_total(s));
	/* Absurd sizes and charges never wrap around. */
	assert_int_equal(-ENOSPC, shares_check_total(s, 0, UINT64_MAX));
	assert_int_equal(-ENOSPC, shares_check_total(s, UINT64_MAX, 1));
	shares_destroy(s);
}

static void test_clients_counted_per_uid(void **state)
{
	struct shares *s = shares_create(100 * MiB, 0, 0);

	(void)state;
	assert_non_null(s);
	assert_int_equal(0, shares_client_add(s, 1000));
	assert_int_equal(0, shares_client_add(s, 1000));
	assert_int_equal(0, shares_client_add(s, 1001));
	assert_int_equal(2, shares_clients_of(s, 1000));
	assert_int_equal(1, shares_clients_of(s, 1001));
	/* A reservation and a connection share the uid's record. */
	assert_int_equal(0, shares_reserve(s, 1000, MiB));
	shares_client_remove(s, 1000);
	shares_client_remove(s, 1000);
	assert_int_equal(0, shares_clients_of(s, 1000));
	assert_int_equal(MiB, shares_reserved_of(s, 1000).bytes);
	shares_release(s, 1000, MiB);
	/* Removing more than was added changes nothing. */
	shares_client_remove(s, 1000);
	shares_release(s, 1000, MiB);
	assert_int_equal(0, shares_clients_of(s, 1000));
	assert_int_equal(0, shares_reserved_total(s));
	assert_int_equal(1, shares_clients_of(s, 1001));
	shares_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_is_half_the_ram,
						fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_default_follows_tightest_cgroup,
						fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_default_ignores_v1_and_unlimited,
						fake_setup, fake_teardown),
		cmocka_unit_test(test_default_needs_meminfo),
		cmocka_unit_test(test_reservations_count_against_cap),
		cmocka_unit_test(test_clients_counted_per_uid),
	};

	return cmocka_run_group_tests_name("shares", tests, NULL, NULL);
}
