/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the broker's registry (daemon/registry.c): ids, names,
 * holds from both sides, client-lifetime removal, quotas.  Links only
 * registry.o.  Negative cases first; every test builds its own registry.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry.h"

#define MAX_GONE 64

/* What the "gone" callback saw (the first MAX_GONE ids, every call counted). */
struct gone_log {
	uint64_t ids[MAX_GONE];
	size_t n;
};

/* Counts of the other events, by type. */
static unsigned events_seen[REGISTRY_REMOVED + 1];

static void record_gone(void *ctx, enum registry_event ev,
			struct registry_buffer *b)
{
	struct gone_log *log = ctx;

	events_seen[ev]++;
	if (ev != REGISTRY_REMOVED)
		return;
	assert_true(b->fd >= 0);
	if (log->n < MAX_GONE)
		log->ids[log->n] = b->id;
	log->n++;
}

struct fixture {
	struct registry *reg;
	struct gone_log gone;
	struct registry_conn *a;	/* uid 1000 */
	struct registry_conn *b;	/* uid 1001 */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->reg = registry_create();
	assert_non_null(f->reg);
	assert_int_equal(0, registry_subscribe(f->reg, record_gone, &f->gone));
	memset(events_seen, 0, sizeof(events_seen));
	f->a = registry_conn_open(f->reg, 1, 1000, 100, "alpha");
	f->b = registry_conn_open(f->reg, 2, 1001, 200, "beta");
	assert_non_null(f->a);
	assert_non_null(f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	registry_conn_close(f->reg, f->a);
	registry_conn_close(f->reg, f->b);
	registry_destroy(f->reg);
	free(f);
	return 0;
}

static int new_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Adds a buffer for @conn; asserts success. */
static struct registry_buffer *add(struct fixture *f,
				   struct registry_conn *conn, uint64_t size,
				   const char *name,
				   enum registry_lifetime lifetime)
{
	struct registry_new p = {
		.size = size, .name = name, .lifetime = lifetime,
	};
	struct registry_buffer *b = NULL;

	assert_int_equal(0, registry_buffer_add(f->reg, conn, &p, NULL,
						new_fd(), &b));
	assert_non_null(b);
	return b;
}

/* Tries to add; returns the status, closing the fd on failure. */
static int try_add(struct fixture *f, struct registry_conn *conn,
		   uint64_t size, const char *name,
		   const struct registry_quota *q)
{
	struct registry_new p = { .size = size, .name = name };
	struct registry_buffer *b = NULL;
	int fd = new_fd();
	int ret = registry_buffer_add(f->reg, conn, &p, q, fd, &b);

	if (ret < 0) {
		assert_true(fd_is_open(fd));	/* still the caller's */
		close(fd);
		assert_null(b);
	}
	return ret;
}

/* ---- names ---- */

static void test_name_invalid(void **state)
{
	char longest[REGISTRY_NAME_MAX + 2];

	(void)state;
	memset(longest, 'a', sizeof(longest));
	longest[REGISTRY_NAME_MAX + 1] = '\0';
	assert_false(registry_name_valid(NULL));
	assert_false(registry_name_valid(""));
	assert_false(registry_name_valid(".hidden"));
	assert_false(registry_name_valid("/abs"));
	assert_false(registry_name_valid("sp ace"));
	assert_false(registry_name_valid("new\nline"));
	assert_false(registry_name_valid("star*"));
	assert_false(registry_name_valid("caf\xc3\xa9"));
	assert_false(registry_name_valid(longest));	/* 256 bytes */
	longest[REGISTRY_NAME_MAX] = '\0';
	assert_true(registry_name_valid(longest));	/* 255 bytes */
	assert_true(registry_name_valid("cam0/frame-1:nv12.y_A"));
	assert_true(registry_name_valid("a"));
}

static void test_add_refuses_bad_name_and_lifetime(void **state)
{
	struct fixture *f = *state;
	struct registry_new p = { .size = 1, .name = "bad name" };
	struct registry_buffer *b = NULL;
	int fd = new_fd();

	assert_int_equal(-EINVAL, registry_buffer_add(f->reg, f->a, &p, NULL,
						      fd, &b));
	p.name = NULL;
	p.lifetime = (enum registry_lifetime)7;
	assert_int_equal(-EINVAL, registry_buffer_add(f->reg, f->a, &p, NULL,
						      fd, &b));
	assert_null(b);
	assert_true(fd_is_open(fd));
	close(fd);
	assert_int_equal(0, registry_totals(f->reg).buffers);
	assert_int_equal(0, f->a->nholds);
}

static void test_names_unique(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *x = add(f, f->a, 10, "cam/0", REGISTRY_LIFETIME_CLIENT);
	struct registry_buffer *y = add(f, f->b, 20, NULL, REGISTRY_LIFETIME_CLIENT);
	struct registry_totals t;

	/* Taken by another uid, or by the same: both refused. */
	assert_int_equal(-EEXIST, try_add(f, f->b, 5, "cam/0", NULL));
	assert_int_equal(-EEXIST, try_add(f, f->a, 5, "cam/0", NULL));
	assert_int_equal(-EEXIST, registry_buffer_set_name(f->reg, y, "cam/0"));
	/* A named buffer cannot be renamed; a bad name is refused. */
	assert_int_equal(-EEXIST, registry_buffer_set_name(f->reg, x, "cam/1"));
	assert_int_equal(-EINVAL, registry_buffer_set_name(f->reg, y, ".x"));
	t = registry_totals(f->reg);
	assert_int_equal(2, t.buffers);
	assert_int_equal(1, t.named);
	assert_null(y->name);
	/* Then naming works and lookups find it. */
	assert_int_equal(0, registry_buffer_set_name(f->reg, y, "cam/1"));
	assert_ptr_equal(y, registry_buffer_by_name(f->reg, "cam/1"));
	assert_ptr_equal(x, registry_buffer_by_name(f->reg, "cam/0"));
	assert_int_equal(2, registry_totals(f->reg).named);
	/* The name is free again once its buffer leaves. */
	registry_buffer_remove(f->reg, x);
	assert_null(registry_buffer_by_name(f->reg, "cam/0"));
	add(f, f->b, 5, "cam/0", REGISTRY_LIFETIME_CLIENT);
}

/* ---- ids ---- */

static void test_lookup_missing(void **state)
{
	struct fixture *f = *state;

	assert_null(registry_buffer_by_id(f->reg, 0));
	assert_null(registry_buffer_by_id(f->reg, 1));
	assert_null(registry_buffer_by_id(f->reg, UINT64_MAX));
	assert_null(registry_buffer_by_name(f->reg, "nothing"));
	assert_null(registry_buffer_after(f->reg, 0));
}

static void test_ids_never_reused(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *b1 = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	struct registry_buffer *b2 = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	struct registry_buffer *b3 = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	uint64_t id2 = b2->id, id3 = b3->id;
	struct registry_buffer *b4;

	assert_true(b1->id > 0);
	assert_int_equal(b1->id + 1, id2);
	assert_int_equal(id2 + 1, id3);
	registry_buffer_remove(f->reg, b3);
	registry_buffer_remove(f->reg, b2);
	assert_null(registry_buffer_by_id(f->reg, id2));
	assert_null(registry_buffer_by_id(f->reg, id3));
	b4 = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	assert_int_equal(id3 + 1, b4->id);
	assert_ptr_equal(b4, registry_buffer_by_id(f->reg, b4->id));
	assert_ptr_equal(b1, registry_buffer_by_id(f->reg, b1->id));
}

static void test_paging_in_id_order(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *b[5];

	for (int i = 0; i < 5; i++)
		b[i] = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	assert_ptr_equal(b[0], registry_buffer_after(f->reg, 0));
	assert_ptr_equal(b[2], registry_buffer_after(f->reg, b[1]->id));
	assert_ptr_equal(b[3], registry_buffer_next(b[2]));
	assert_null(registry_buffer_after(f->reg, b[4]->id));
	assert_null(registry_buffer_next(b[4]));
	/* The cursor's buffer vanished between two pages. */
	uint64_t gone = b[2]->id;

	registry_buffer_remove(f->reg, b[2]);
	assert_ptr_equal(b[3], registry_buffer_after(f->reg, gone));
	assert_ptr_equal(b[3], registry_buffer_next(b[1]));
	/* Past the last id, and after a cursor far beyond the live ids. */
	assert_null(registry_buffer_after(f->reg, b[4]->id + 1000));
	/* The largest cursor does not wrap around to the first ids. */
	assert_null(registry_buffer_after(f->reg, UINT64_MAX));
	assert_null(registry_buffer_after(f->reg, UINT64_MAX - 1));
	registry_buffer_remove(f->reg, b[3]);
	registry_buffer_remove(f->reg, b[4]);
	assert_null(registry_buffer_after(f->reg, gone));
}

static void test_paging_after_long_gap(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *first = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	struct registry_buffer *gap[600], *last;

	for (size_t i = 0; i < 600; i++)
		gap[i] = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	last = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	for (size_t i = 0; i < 600; i++)
		registry_buffer_remove(f->reg, gap[i]);
	/* More ids gone after the cursor than are probed: still right. */
	assert_ptr_equal(last, registry_buffer_after(f->reg, first->id + 1));
	assert_ptr_equal(last, registry_buffer_next(first));
}

/* ---- holds ---- */

static void test_hold_drop_without_hold(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *x = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);

	assert_null(registry_hold_find(f->reg, x, f->b));
	assert_int_equal(-ENOENT, registry_hold_drop(f->reg, x, f->b));
	assert_int_equal(1, x->nholds);
	assert_int_equal(0, f->b->nholds);
}

static void test_hold_limit(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *x = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	struct registry_buffer *y = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_CLIENT);

	assert_int_equal(0, registry_hold_add(f->reg, x, f->b, false, 1));
	assert_int_equal(-EMFILE, registry_hold_add(f->reg, y, f->b, false, 1));
	assert_null(registry_hold_find(f->reg, y, f->b));
	assert_int_equal(1, f->b->nholds);
	/* Taking the same hold again is no new hold. */
	assert_int_equal(0, registry_hold_add(f->reg, x, f->b, true, 1));
	assert_int_equal(1, f->b->nholds);
}

static void test_holds_both_ways(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *x = add(f, f->a, 1, "x", REGISTRY_LIFETIME_CLIENT);
	struct registry_buffer *y = add(f, f->a, 1, "y", REGISTRY_LIFETIME_CLIENT);
	struct registry_hold *h;

	/* The allocating connection holds what it allocated, writable. */
	h = registry_hold_find(f->reg, x, f->a);
	assert_non_null(h);
	assert_true(h->writable);
	assert_int_equal(2, f->a->nholds);

	assert_int_equal(0, registry_hold_add(f->reg, x, f->b, false, 0));
	assert_int_equal(0, registry_hold_add(f->reg, y, f->b, false, 0));
	h = registry_hold_find(f->reg, x, f->b);
	assert_non_null(h);
	assert_false(h->writable);
	assert_ptr_equal(x, h->buf);
	assert_ptr_equal(f->b, h->conn);
	/* Read-only then read-write: one hold, now writable. */
	assert_int_equal(0, registry_hold_add(f->reg, x, f->b, true, 0));
	assert_true(registry_hold_find(f->reg, x, f->b)->writable);
	assert_int_equal(2, x->nholds);
	assert_int_equal(2, f->b->nholds);

	/* From the buffer's side and from the connection's. */
	assert_int_equal(0, registry_hold_drop(f->reg, x, f->b));
	assert_int_equal(1, x->nholds);
	assert_int_equal(1, f->b->nholds);
	assert_ptr_equal(f->a, x->holds->conn);
	assert_ptr_equal(y, f->b->holds->buf);
	/* Removing a buffer drops every hold on it. */
	registry_buffer_remove(f->reg, y);
	assert_int_equal(0, f->b->nholds);
	assert_null(f->b->holds);
	assert_int_equal(1, f->a->nholds);
}

/* ---- lifetimes ---- */

static void test_client_lifetime_leaves_with_owner(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *cl = add(f, f->a, 100, "cl", REGISTRY_LIFETIME_CLIENT);
	struct registry_buffer *pe = add(f, f->a, 200, "pe", REGISTRY_LIFETIME_PERSISTENT);
	uint64_t cl_id = cl->id;
	int cl_fd = cl->fd;
	struct registry_totals t;

	assert_int_equal(0, registry_hold_add(f->reg, cl, f->b, false, 0));
	assert_int_equal(0, registry_hold_add(f->reg, pe, f->b, false, 0));
	registry_conn_close(f->reg, f->a);
	f->a = NULL;

	/* The client buffer left, once, with its fd and its holds. */
	assert_int_equal(1, f->gone.n);
	assert_int_equal(cl_id, f->gone.ids[0]);
	assert_null(registry_buffer_by_id(f->reg, cl_id));
	assert_null(registry_buffer_by_name(f->reg, "cl"));
	assert_false(fd_is_open(cl_fd));
	assert_int_equal(1, f->b->nholds);
	/* The persistent one stayed, still naming its (closed) owner. */
	assert_ptr_equal(pe, registry_buffer_by_name(f->reg, "pe"));
	assert_true(pe->owner->closed);
	assert_string_equal("alpha", pe->owner->name);
	assert_int_equal(1000, pe->owner->uid);
	assert_int_equal(1, pe->nholds);
	t = registry_totals(f->reg);
	assert_int_equal(1, t.buffers);
	assert_int_equal(200, t.bytes);
	assert_int_equal(1, t.persistent);
	assert_int_equal(1, t.named);
	assert_int_equal(200, registry_usage_of(f->reg, 1000).bytes);
}

static void test_destroy_closes_every_fd(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *x = add(f, f->a, 1, NULL, REGISTRY_LIFETIME_PERSISTENT);
	struct registry_buffer *y = add(f, f->b, 1, NULL, REGISTRY_LIFETIME_CLIENT);
	int fx = x->fd, fy = y->fd;

	registry_conn_close(f->reg, f->a);
	registry_conn_close(f->reg, f->b);
	f->a = f->b = NULL;
	assert_true(fd_is_open(fx));
	registry_destroy(f->reg);
	f->reg = NULL;
	assert_false(fd_is_open(fx));
	assert_false(fd_is_open(fy));
	assert_int_equal(2, f->gone.n);
}

/* ---- quotas ---- */

static void test_quota_refused_with_nothing_changed(void **state)
{
	struct fixture *f = *state;
	const struct registry_quota q = { .max_bytes = 100, .max_buffers = 2 };
	struct registry_usage u;
	struct registry_totals before, after;

	assert_int_equal(0, try_add(f, f->a, 60, NULL, &q));
	before = registry_totals(f->reg);
	/* Over the byte quota, named or not: refused, name not taken. */
	assert_int_equal(-EDQUOT, registry_check_add(f->reg, 1000, 41, NULL, &q));
	assert_int_equal(-EDQUOT, try_add(f, f->a, 41, "big", &q));
	assert_int_equal(-EDQUOT, try_add(f, f->a, 41, NULL, &q));
	after = registry_totals(f->reg);
	assert_int_equal(before.buffers, after.buffers);
	assert_int_equal(before.bytes, after.bytes);
	assert_int_equal(before.named, after.named);
	assert_null(registry_buffer_by_name(f->reg, "big"));
	assert_int_equal(1, f->a->nholds);
	u = registry_usage_of(f->reg, 1000);
	assert_int_equal(60, u.bytes);
	assert_int_equal(1, u.buffers);
	/* Exactly at the limit is allowed; then the count limit bites. */
	assert_int_equal(0, try_add(f, f->a, 40, "big", &q));
	assert_int_equal(-EDQUOT, try_add(f, f->a, 0, NULL, &q));
	u = registry_usage_of(f->reg, 1000);
	assert_int_equal(100, u.bytes);
	assert_int_equal(2, u.buffers);
	/* Another uid has its own account. */
	assert_int_equal(0, try_add(f, f->b, 100, NULL, &q));
	assert_int_equal(100, registry_usage_of(f->reg, 1001).bytes);
}

/* A pool's members, checked together: all fit or none is added. */
static void test_quota_many_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	const struct registry_quota q = { .max_bytes = 100, .max_buffers = 4 };

	assert_int_equal(0, try_add(f, f->a, 10, NULL, &q));
	assert_int_equal(0, registry_check_add_many(f->reg, 1000, 30, 3, NULL,
						    &q));
	assert_int_equal(-EDQUOT, registry_check_add_many(f->reg, 1000, 31, 3,
							  NULL, &q));
	assert_int_equal(-EDQUOT, registry_check_add_many(f->reg, 1000, 1, 4,
							  NULL, &q));
	assert_int_equal(-EOVERFLOW, registry_check_add_many(f->reg, 1000,
							     UINT64_MAX / 2, 3,
							     NULL, NULL));
	assert_int_equal(0, registry_check_add_many(f->reg, 1000, 0, 0, NULL,
						    &q));
}

/* A name blocked for a pool is taken for every buffer, and free again
 * once unblocked; a buffer's name cannot be blocked. */
static void test_names_blocked(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *b = add(f, f->a, 10, "buf",
					REGISTRY_LIFETIME_CLIENT);
	struct registry_buffer *c = add(f, f->a, 10, NULL,
					REGISTRY_LIFETIME_CLIENT);

	assert_int_equal(-EEXIST, registry_name_block(f->reg, "buf"));
	assert_int_equal(0, registry_name_block(f->reg, "pool"));
	assert_int_equal(-EEXIST, registry_name_block(f->reg, "pool"));
	assert_true(registry_name_taken(f->reg, "pool"));
	assert_int_equal(-EEXIST, registry_check_add(f->reg, 1000, 1, "pool",
						     NULL));
	assert_int_equal(-EEXIST, try_add(f, f->a, 1, "pool", NULL));
	assert_int_equal(-EEXIST, registry_buffer_set_name(f->reg, c, "pool"));
	assert_null(registry_buffer_by_name(f->reg, "pool"));
	registry_name_unblock(f->reg, "pool");
	registry_name_unblock(f->reg, "pool");	/* not blocked: nothing */
	registry_name_unblock(f->reg, "buf");	/* a buffer's: untouched */
	assert_ptr_equal(b, registry_buffer_by_name(f->reg, "buf"));
	assert_false(registry_name_taken(f->reg, "pool"));
	assert_int_equal(0, registry_buffer_set_name(f->reg, c, "pool"));
	/* One left blocked is freed with the registry (teardown). */
	assert_int_equal(0, registry_name_block(f->reg, "kept"));
}

/* A pool's id comes from the buffers' sequence. */
static void test_id_take_shares_sequence(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *b = add(f, f->a, 1, NULL,
					REGISTRY_LIFETIME_CLIENT);
	uint64_t id = registry_id_take(f->reg);
	struct registry_buffer *c = add(f, f->a, 1, NULL,
					REGISTRY_LIFETIME_CLIENT);

	assert_true(b->id < id && id < c->id);
	assert_null(registry_buffer_by_id(f->reg, id));
	assert_int_equal(c->id + 1, registry_id_limit(f->reg));
}

static void test_quota_unlimited_and_overflow(void **state)
{
	struct fixture *f = *state;
	const struct registry_quota none = { 0, 0 };

	assert_int_equal(0, try_add(f, f->a, UINT64_MAX / 2, NULL, &none));
	assert_int_equal(-EOVERFLOW, registry_check_add(f->reg, 1000,
							UINT64_MAX, NULL, &none));
	assert_int_equal(0, registry_check_add(f->reg, 1000, 1, NULL, NULL));
}

static void test_quota_returns_on_remove(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *x = add(f, f->a, 30, NULL, REGISTRY_LIFETIME_CLIENT);
	struct registry_buffer *y = add(f, f->a, 70, NULL, REGISTRY_LIFETIME_CLIENT);
	struct registry_usage u;

	registry_buffer_remove(f->reg, x);
	u = registry_usage_of(f->reg, 1000);
	assert_int_equal(70, u.bytes);
	assert_int_equal(1, u.buffers);
	registry_buffer_remove(f->reg, y);
	u = registry_usage_of(f->reg, 1000);
	assert_int_equal(0, u.bytes);
	assert_int_equal(0, u.buffers);
	assert_int_equal(0, registry_totals(f->reg).bytes);
}

static void test_subscribers_told(void **state)
{
	struct fixture *f = *state;
	struct registry_buffer *x = add(f, f->a, 30, NULL, REGISTRY_LIFETIME_CLIENT);
	struct policy_grant bad = { .subject = 9, .access = POLICY_ACCESS_READ };
	struct policy_grant g = { .subject = POLICY_SUBJECT_UID, .id = 1001,
				  .access = POLICY_ACCESS_READ };

	/* Adding is not announcing: the caller does that once it is set up. */
	assert_int_equal(0, events_seen[REGISTRY_ADDED]);
	registry_buffer_announce(f->reg, x);
	assert_int_equal(1, events_seen[REGISTRY_ADDED]);
	/* Failures tell nobody. */
	assert_int_equal(-EINVAL, registry_buffer_set_name(f->reg, x, ".x"));
	assert_int_equal(-EINVAL, registry_buffer_grant(f->reg, x, &bad));
	assert_int_equal(0, events_seen[REGISTRY_NAMED]);
	assert_int_equal(0, events_seen[REGISTRY_GRANTED]);
	assert_int_equal(0, registry_buffer_set_name(f->reg, x, "cam/0"));
	assert_int_equal(0, registry_buffer_grant(f->reg, x, &g));
	assert_int_equal(1, events_seen[REGISTRY_NAMED]);
	assert_int_equal(1, events_seen[REGISTRY_GRANTED]);
	assert_int_equal(1, x->ngrants);
	registry_buffer_remove(f->reg, x);
	assert_int_equal(1, events_seen[REGISTRY_REMOVED]);
	for (int i = 0; i < REGISTRY_MAX_SUBSCRIBERS - 1; i++)
		assert_int_equal(0, registry_subscribe(f->reg, record_gone,
						       &f->gone));
	assert_int_equal(-ENOSPC, registry_subscribe(f->reg, record_gone,
						     &f->gone));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_invalid),
		T(test_add_refuses_bad_name_and_lifetime),
		T(test_names_unique),
		T(test_subscribers_told),
		T(test_lookup_missing),
		T(test_ids_never_reused),
		T(test_paging_in_id_order),
		T(test_paging_after_long_gap),
		T(test_hold_drop_without_hold),
		T(test_hold_limit),
		T(test_holds_both_ways),
		T(test_client_lifetime_leaves_with_owner),
		T(test_destroy_closes_every_fd),
		T(test_quota_refused_with_nothing_changed),
		T(test_quota_unlimited_and_overflow),
		T(test_quota_many_all_or_nothing),
		T(test_names_blocked),
		T(test_id_take_shares_sequence),
		T(test_quota_returns_on_remove),
	};
#undef T
	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
