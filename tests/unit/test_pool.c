/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the broker's pool table (daemon/pool.c) and of its queues'
 * state (daemon/queue.c): members coming and going, lookups of pools that
 * are ending, paging in id order, consumer slots, and the counters page
 * read as untrusted input.  Negative cases first.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool.h"
#include "queue.h"

/* Stand-ins: the table only stores these pointers. */
static struct registry_buffer *member(unsigned i)
{
	static char slots[POOL_MAX_BUFFERS];

	return (struct registry_buffer *)&slots[i];
}

static struct client *client(unsigned i)
{
	static char slots[QUEUE_MAX_CONSUMERS + 2];

	return (struct client *)&slots[i];
}

static void test_pool_add_refusals(void **state)
{
	struct pool_set *set = pool_set_create();
	struct pool *p = NULL;

	(void)state;
	assert_non_null(set);
	assert_int_equal(-EINVAL, pool_add(set, 1, NULL, 0, 0, &p));
	assert_int_equal(-EINVAL, pool_add(set, 1, NULL, POOL_MAX_BUFFERS + 1,
					   0, &p));
	assert_int_equal(-EINVAL, pool_add(set, 0, NULL, 1, 0, &p));
	assert_int_equal(0, pool_add(set, 5, "cam", 2, 0, &p));
	/* Ids only grow; names are unique. */
	assert_int_equal(-EINVAL, pool_add(set, 5, NULL, 1, 0, &p));
	assert_int_equal(-EINVAL, pool_add(set, 4, NULL, 1, 0, &p));
	assert_int_equal(-EEXIST, pool_add(set, 6, "cam", 1, 0, &p));
	assert_int_equal(1, pool_count(set));
	pool_set_destroy(set);
}

static void test_pool_members(void **state)
{
	struct pool_set *set = pool_set_create();
	struct pool *p;

	(void)state;
	assert_int_equal(0, pool_add(set, 7, "cam", 3, 0, &p));
	assert_int_equal(-EINVAL, pool_set_member(p, 3, member(0)));
	assert_int_equal(-EINVAL, pool_set_member(p, 0, NULL));
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(0, pool_set_member(p, i, member(i)));
	assert_int_equal(-EINVAL, pool_set_member(p, 1, member(1)));
	assert_int_equal(3, p->live);
	assert_ptr_equal(p, pool_by_id(set, 7));
	assert_ptr_equal(p, pool_by_name(set, "cam"));
	pool_set_destroy(set);
}

/* The first member leaving ends the pool: requests no longer find it,
 * its name is free; it is freed with its last member. */
static void test_pool_ends_with_first_member(void **state)
{
	struct pool_set *set = pool_set_create();
	struct pool *p, *q;

	(void)state;
	assert_int_equal(0, pool_add(set, 7, "cam", 2, 0, &p));
	pool_set_member(p, 0, member(0));
	pool_set_member(p, 1, member(1));
	assert_false(pool_member_gone(set, p, 1));
	assert_false(p->linked);
	assert_null(pool_by_id(set, 7));
	assert_null(pool_by_name(set, "cam"));
	assert_ptr_equal(p, pool_find(set, 7));
	assert_int_equal(0, pool_count(set));
	assert_int_equal(0, pool_add(set, 8, "cam", 1, 0, &q));
	/* The same member twice is counted once. */
	assert_false(pool_member_gone(set, p, 1));
	assert_true(pool_member_gone(set, p, 0));
	pool_remove(set, p);
	assert_null(pool_find(set, 7));
	assert_ptr_equal(q, pool_by_name(set, "cam"));
	pool_set_destroy(set);
}

static void test_pool_paging_skips_ending(void **state)
{
	struct pool_set *set = pool_set_create();
	struct pool *p[4];

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(0, pool_add(set, 10 + i, NULL, 1, 0, &p[i]));
		pool_set_member(p[i], 0, member(i));
	}
	pool_member_gone(set, p[1], 0);		/* ending, not yet freed */
	assert_ptr_equal(p[0], pool_after(set, 0));
	assert_ptr_equal(p[2], pool_next(p[0]));
	assert_ptr_equal(p[2], pool_after(set, 10));
	assert_ptr_equal(p[2], pool_after(set, 11));
	pool_remove(set, p[1]);
	/* A cursor whose pool is gone. */
	assert_ptr_equal(p[2], pool_after(set, 11));
	assert_ptr_equal(p[3], pool_after(set, 12));
	assert_null(pool_after(set, 13));
	assert_null(pool_after(set, 99));
	pool_set_destroy(set);
}

static void test_queue_params_checked(void **state)
{
	struct queue_params qp = { .policy = 3 };
	struct queue *q = NULL;

	(void)state;
	assert_int_equal(-EINVAL, queue_create(NULL, 4, client(0), &qp, &q));
	qp.policy = QUEUE_POLICY_LATEST;
	qp.max_in_flight = 5;
	assert_int_equal(-EINVAL, queue_create(NULL, 4, client(0), &qp, &q));
	assert_null(q);
	qp.max_in_flight = 4;
	assert_int_equal(0, queue_create(NULL, 4, client(0), &qp, &q));
	assert_int_equal(QUEUE_DEFAULT_FENCE_TIMEOUT_MS,
			 q->params.fence_timeout_ms);
	queue_destroy(q);
}

static void test_queue_slots(void **state)
{
	struct queue_params qp = { 0 };
	struct queue *q;

	(void)state;
	assert_int_equal(0, queue_create(NULL, 1, client(0), &qp, &q));
	assert_int_equal(-ENOENT, queue_slot_of(q, client(1)));
	for (unsigned i = 0; i < QUEUE_MAX_CONSUMERS; i++)
		assert_int_equal((int)i, queue_slot_take(q, client(i + 1)));
	assert_int_equal(-EEXIST, queue_slot_take(q, client(3)));
	assert_int_equal(-ENOSPC,
			 queue_slot_take(q, client(QUEUE_MAX_CONSUMERS + 1)));
	assert_int_equal(QUEUE_MAX_CONSUMERS, q->nconsumers);
	queue_slot_put(q, 4);
	queue_slot_put(q, 4);		/* free already: nothing */
	queue_slot_put(q, -1);
	queue_slot_put(q, QUEUE_MAX_CONSUMERS);
	assert_int_equal(QUEUE_MAX_CONSUMERS - 1, q->nconsumers);
	assert_int_equal(-ENOENT, queue_slot_of(q, client(5)));
	assert_int_equal(4, queue_slot_take(q, client(QUEUE_MAX_CONSUMERS + 1)));
	queue_destroy(q);
}

/* The page as the producer sees it: sealed, its header set; whatever it
 * writes is reported as is, averages only over a count. */
static void test_queue_page(void **state)
{
	struct queue_params qp = { 0 };
	struct dbb_queue_stats_page *page;
	struct queue_counters qc;
	struct queue *q;

	(void)state;
	assert_int_equal(0, queue_create(NULL, 2, client(0), &qp, &q));
	assert_int_equal(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL,
			 fcntl(q->stats_fd, F_GET_SEALS));
	page = mmap(NULL, DBB_QUEUE_STATS_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, q->stats_fd, 0);
	assert_true(page != MAP_FAILED);
	assert_int_equal(DBB_QUEUE_STATS_MAGIC, page->magic);
	assert_int_equal(DBB_QUEUE_STATS_VERSION, page->version);
	queue_counters(q, -1, &qc);
	assert_int_equal(0, qc.posted);
	assert_int_equal(0, qc.latency_avg_usec);
	page->queue.latency_sum_ns = UINT64_MAX;	/* no count: no average */
	page->consumer[3].posted = 12;
	page->consumer[3].latency_sum_ns = 6000;
	page->consumer[3].latency_count = 2;
	page->consumer[3].latency_max_ns = 4000;
	queue_counters(q, -1, &qc);
	assert_int_equal(0, qc.latency_avg_usec);
	queue_counters(q, 3, &qc);
	assert_int_equal(12, qc.posted);
	assert_int_equal(3, qc.latency_avg_usec);
	assert_int_equal(4, qc.latency_max_usec);
	/* A slot out of range reads the queue's own counters. */
	queue_counters(q, QUEUE_MAX_CONSUMERS, &qc);
	assert_int_equal(0, qc.posted);
	munmap(page, DBB_QUEUE_STATS_SIZE);
	queue_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_add_refusals),
		cmocka_unit_test(test_pool_members),
		cmocka_unit_test(test_pool_ends_with_first_member),
		cmocka_unit_test(test_pool_paging_skips_ending),
		cmocka_unit_test(test_queue_params_checked),
		cmocka_unit_test(test_queue_slots),
		cmocka_unit_test(test_queue_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
