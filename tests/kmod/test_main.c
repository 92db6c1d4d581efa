// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_sg in-guest test runner.
 *
 *   dmabuf_sg_test --list      one test name per line, in run order
 *   dmabuf_sg_test NAME        run one test; exit 0 pass, 1 fail, 77 skip
 *
 * guest.sh runs every listed test in its own process and prints TAP.
 */
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

/*
 * Bad input first, then the positive cases, then the long-running ones;
 * the pool's last, since they end by filling the pool for guest.sh's
 * unload check (and the leak cases would empty it).
 */
static const struct test_case *const test_tables[] = {
	test_input_cases,
	test_view_input_cases,
	test_alloc_cases,
	test_heap_cases,
	test_pin_cases,
	test_charge_cases,
	test_import_cases,
	test_view_cases,
	test_leak_cases,
	test_race_cases,
	test_pool_cases,
};

#define N_TABLES (sizeof(test_tables) / sizeof(test_tables[0]))

static const struct test_case *test_find(const char *name)
{
	size_t t;

	for (t = 0; t < N_TABLES; t++)
		for (const struct test_case *c = test_tables[t]; c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return NULL;
}

int main(int argc, char **argv)
{
	const struct test_case *c;
	size_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (t = 0; t < N_TABLES; t++)
			for (c = test_tables[t]; c->name; c++)
				puts(c->name);
		return 0;
	}
	if (argc != 2 || !(c = test_find(argv[1]))) {
		fprintf(stderr, "usage: %s --list | TEST\n", argv[0]);
		return 2;
	}
	if (util_dev() < 0) {
		test_diag("open /dev/dmabuf_sg: %s", strerror(errno));
		return TEST_FAIL;
	}
	return c->fn();
}
