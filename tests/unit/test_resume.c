/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the resumable sessions (daemon/resume.c) on a real
 * registry and event loop: which broken connections are kept, which
 * tokens take them back, the per-uid limit, expiry in deadline order, and
 * resume_restore() as the fd store uses it.  Negative cases first; every
 * test builds its own broker.  Expiry is waited for by running the loop
 * until the buffer is gone, with a generous bound.
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
#include <event2/event.h>

#include "broker.h"
#include "config.h"
#include "registry.h"
#include "resume.h"

#define UID_A 1000
#define UID_B 1001
#define WAIT_USEC (10u * 1000000u)

struct fixture {
	struct broker br;
	struct config cfg;
	unsigned removed;		/* REMOVED events seen */
};

static void count_removed(void *ctx, enum registry_event ev,
			  struct registry_buffer *b)
{
	struct fixture *f = ctx;

	if (ev == REGISTRY_REMOVED)
		f->removed++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->cfg.resume_grace_ms = 60000;
	f->cfg.max_detached_per_uid = 2;
	f->br.cfg = &f->cfg;
	f->br.base = event_base_new();
	f->br.reg = registry_create();
	f->br.next_client_id = 1;
	assert_non_null(f->br.base);
	assert_non_null(f->br.reg);
	assert_int_equal(0, event_base_priority_init(f->br.base, BROKER_NPRIO));
	assert_int_equal(0, registry_subscribe(f->br.reg, count_removed, f));
	f->br.resume = resume_create(&f->br);
	assert_non_null(f->br.resume);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	resume_destroy(f->br.resume);
	registry_destroy(f->br.reg);
	event_base_free(f->br.base);
	free(f);
	return 0;
}

/* A connection of @uid, as a client opens it. */
static struct registry_conn *conn_open(struct fixture *f, uid_t uid)
{
	struct registry_conn *c = registry_conn_open(f->br.reg,
						     f->br.next_client_id++,
						     uid, 42, "app");

	assert_non_null(c);
	return c;
}

/* Gives @c a client-lifetime buffer (its fd: /dev/null). */
static void conn_alloc(struct fixture *f, struct registry_conn *c)
{
	struct registry_new p = { .size = 4096,
				  .lifetime = REGISTRY_LIFETIME_CLIENT };
	struct registry_buffer *b;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(0, registry_buffer_add(f->br.reg, c, &p, NULL, fd,
						&b));
}

/* A connection with a token and a buffer that broke and was kept. */
static struct registry_conn *conn_detached(struct fixture *f, uid_t uid,
					   uint8_t token[RESUME_TOKEN_LEN])
{
	struct registry_conn *c = conn_open(f, uid);

	conn_alloc(f, c);
	assert_int_equal(0, resume_issue(f->br.resume, c, token));
	assert_true(resume_detach(f->br.resume, c));
	return c;
}

/* A token and its digest, as an earlier run would have stored it. */
static void token_pair(struct fixture *f, uint8_t token[RESUME_TOKEN_LEN],
		       uint8_t hash[RESUME_HASH_LEN])
{
	struct registry_conn *c = conn_open(f, UID_A);

	assert_int_equal(0, resume_issue(f->br.resume, c, token));
	memcpy(hash, c->token_hash, RESUME_HASH_LEN);
	registry_conn_close(f->br.reg, c);
}

/* Runs the loop until @want buffers were removed or WAIT_USEC passed. */
static void loop_until_removed(struct fixture *f, unsigned want)
{
	uint64_t end = broker_monotonic_usec() + WAIT_USEC;

	while (f->removed < want && broker_monotonic_usec() < end)
		event_base_loop(f->br.base, EVLOOP_ONCE);
	assert_int_equal(want, f->removed);
}

static void test_disabled(void **state)
{
	struct fixture *f = *state;
	uint8_t token[RESUME_TOKEN_LEN], hash[RESUME_HASH_LEN] = { 0 };
	struct registry_conn *c = conn_open(f, UID_A), *out = NULL;

	f->cfg.resume_grace_ms = 0;
	conn_alloc(f, c);
	assert_int_equal(-EOPNOTSUPP, resume_issue(f->br.resume, c, token));
	assert_false(c->has_token);
	assert_false(resume_detach(f->br.resume, c));
	assert_null(resume_claim(f->br.resume, UID_A, token, sizeof(token)));
	assert_int_equal(-EOPNOTSUPP, resume_restore(f->br.resume, UID_A, 1,
						     "app", hash, 0, &out));
	registry_conn_close(f->br.reg, c);
	assert_int_equal(1, f->removed);
}

/* Without a token or without a client-lifetime buffer nothing is kept. */
static void test_detach_needs_token_and_buffer(void **state)
{
	struct fixture *f = *state;
	uint8_t token[RESUME_TOKEN_LEN];
	struct registry_conn *no_token = conn_open(f, UID_A);
	struct registry_conn *no_buffer = conn_open(f, UID_A);

	conn_alloc(f, no_token);
	assert_false(resume_detach(f->br.resume, no_token));
	assert_int_equal(0, resume_issue(f->br.resume, no_buffer, token));
	assert_true(no_buffer->has_token);
	assert_false(resume_detach(f->br.resume, no_buffer));
	assert_false(resume_detach(NULL, no_buffer));
	registry_conn_close(f->br.reg, no_token);
	registry_conn_close(f->br.reg, no_buffer);
}

/* Only the whole token, from the same uid, once. */
static void test_claim(void **state)
{
	struct fixture *f = *state;
	uint8_t token[RESUME_TOKEN_LEN], other[RESUME_TOKEN_LEN];
	struct registry_conn *c = conn_detached(f, UID_A, token), *got;

	memcpy(other, token, sizeof(other));
	other[RESUME_TOKEN_LEN - 1] ^= 1;
	assert_null(resume_claim(f->br.resume, UID_A, other, sizeof(other)));
	assert_null(resume_claim(f->br.resume, UID_A, token,
				 sizeof(token) - 1));
	assert_null(resume_claim(f->br.resume, UID_B, token, sizeof(token)));
	got = resume_claim(f->br.resume, UID_A, token, sizeof(token));
	assert_ptr_equal(c, got);
	assert_false(got->has_token);		/* used up */
	assert_non_null(got->owned);		/* its buffer came along */
	assert_null(resume_claim(f->br.resume, UID_A, token, sizeof(token)));
	assert_int_equal(0, f->removed);
	registry_conn_close(f->br.reg, got);
	assert_int_equal(1, f->removed);
}

/* Nobody comes back: the timer ends the session as a disconnect would. */
static void test_expiry(void **state)
{
	struct fixture *f = *state;
	uint8_t token[RESUME_TOKEN_LEN];

	f->cfg.resume_grace_ms = 20;
	conn_detached(f, UID_A, token);
	assert_int_equal(0, f->removed);
	loop_until_removed(f, 1);
	assert_null(resume_claim(f->br.resume, UID_A, token, sizeof(token)));
}

/* A claim after the deadline fails even before the timer has run. */
static void test_claim_after_deadline(void **state)
{
	struct fixture *f = *state;
	uint8_t token[RESUME_TOKEN_LEN], hash[RESUME_HASH_LEN];
	struct registry_conn *c;

	token_pair(f, token, hash);
	assert_int_equal(0, resume_restore(f->br.resume, UID_A, 7, "app", hash,
					   broker_monotonic_usec() - 1, &c));
	conn_alloc(f, c);
	assert_null(resume_claim(f->br.resume, UID_A, token, sizeof(token)));
	assert_int_equal(1, f->removed);
}

/* Restored sessions expire in deadline order, whatever the order they
 * came back in; each gets a fresh connection id. */
static void test_restore_deadline_order(void **state)
{
	struct fixture *f = *state;
	uint8_t late_token[RESUME_TOKEN_LEN], late_hash[RESUME_HASH_LEN];
	uint8_t early_token[RESUME_TOKEN_LEN], early_hash[RESUME_HASH_LEN];
	struct registry_conn *late, *early;
	uint64_t now = broker_monotonic_usec();

	token_pair(f, late_token, late_hash);
	token_pair(f, early_token, early_hash);
	assert_int_equal(0, resume_restore(f->br.resume, UID_A, 7, "late",
					   late_hash, now + 60000000u, &late));
	conn_alloc(f, late);
	assert_int_equal(0, resume_restore(f->br.resume, UID_A, 8, "early",
					   early_hash, now + 20000u, &early));
	conn_alloc(f, early);
	assert_true(late->id != early->id);
	assert_string_equal("late", late->name);
	assert_true(late->has_token);
	loop_until_removed(f, 1);
	assert_null(resume_claim(f->br.resume, UID_A, early_token,
				 sizeof(early_token)));
	assert_ptr_equal(late, resume_claim(f->br.resume, UID_A, late_token,
					    sizeof(late_token)));
	registry_conn_close(f->br.reg, late);
}

/* At the limit the uid's session with the earliest deadline ends; other
 * uids are not touched. */
static void test_limit_per_uid(void **state)
{
	struct fixture *f = *state;
	uint8_t t[4][RESUME_TOKEN_LEN];
	struct registry_conn *c[4];

	c[0] = conn_detached(f, UID_A, t[0]);
	c[1] = conn_detached(f, UID_B, t[1]);
	c[2] = conn_detached(f, UID_A, t[2]);
	assert_int_equal(0, f->removed);
	c[3] = conn_detached(f, UID_A, t[3]);
	assert_int_equal(1, f->removed);
	assert_null(resume_claim(f->br.resume, UID_A, t[0], RESUME_TOKEN_LEN));
	for (int i = 1; i < 4; i++) {
		uid_t uid = i == 1 ? UID_B : UID_A;

		assert_ptr_equal(c[i], resume_claim(f->br.resume, uid, t[i],
						    RESUME_TOKEN_LEN));
		registry_conn_close(f->br.reg, c[i]);
	}
	assert_int_equal(4, f->removed);
}

/* Destroying ends every detached session: their buffers leave. */
static void test_destroy_ends_sessions(void **state)
{
	struct fixture *f = *state;
	uint8_t token[RESUME_TOKEN_LEN];

	conn_detached(f, UID_A, token);
	conn_detached(f, UID_B, token);
	resume_destroy(f->br.resume);
	f->br.resume = NULL;
	assert_int_equal(2, f->removed);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_disabled),
		T(test_detach_needs_token_and_buffer),
		T(test_claim),
		T(test_expiry),
		T(test_claim_after_deadline),
		T(test_restore_deadline_order),
		T(test_limit_per_uid),
		T(test_destroy_ends_sessions),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
