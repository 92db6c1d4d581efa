/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmabuf_sg in-guest tests: a tiny harness.  Each test is a function that
 * returns TEST_PASS, TEST_FAIL or TEST_SKIP; the runner (test_main.c) runs
 * one test per process, so tests stay independent, and guest.sh turns the
 * exit status into TAP.  Diagnostics go to stdout as "# " lines; a skipped
 * test says why with test_skip().
 */
#ifndef DMABUF_SG_TEST_H
#define DMABUF_SG_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <dmabuf_sg.h>

enum test_result { TEST_PASS = 0, TEST_FAIL = 1, TEST_SKIP = 77 };

struct test_case {
	const char *name;
	enum test_result (*fn)(void);
};

/* Every file's table, NULL-terminated by a case without a name. */
extern const struct test_case test_input_cases[];
extern const struct test_case test_view_input_cases[];
extern const struct test_case test_alloc_cases[];
extern const struct test_case test_heap_cases[];
extern const struct test_case test_pin_cases[];
extern const struct test_case test_charge_cases[];
extern const struct test_case test_import_cases[];
extern const struct test_case test_view_cases[];
extern const struct test_case test_leak_cases[];
extern const struct test_case test_race_cases[];
extern const struct test_case test_pool_cases[];

void test_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
enum test_result test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define expect_true(cond)							\
	do {									\
		if (!(cond)) {							\
			test_diag("%s:%d: expected %s", __FILE__, __LINE__, #cond); \
			return TEST_FAIL;					\
		}								\
	} while (0)

#define expect_int_eq(expected, seen)						\
	do {									\
		long long e_ = (long long)(expected), s_ = (long long)(seen);	\
		if (e_ != s_) {							\
			test_diag("%s:%d: %s: expected %lld, seen %lld",	\
				  __FILE__, __LINE__, #seen, e_, s_);		\
			return TEST_FAIL;					\
		}								\
	} while (0)

#define expect_uint_le(bound, seen)						\
	do {									\
		unsigned long long b_ = (bound), s_ = (seen);			\
		if (s_ > b_) {							\
			test_diag("%s:%d: %s: expected at most %llu, seen %llu", \
				  __FILE__, __LINE__, #seen, b_, s_);		\
			return TEST_FAIL;					\
		}								\
	} while (0)

/* A call that must fail with errno @err; the call returns -1 and sets errno. */
#define expect_errno(err, call)							\
	do {									\
		errno = 0;							\
		long r_ = (long)(call);						\
		if (r_ != -1 || errno != (err)) {				\
			test_diag("%s:%d: %s: expected -1/%s, seen %ld/%s",	\
				  __FILE__, __LINE__, #call, strerror(err),	\
				  r_, strerror(errno));				\
			return TEST_FAIL;					\
		}								\
	} while (0)

/* A call that must succeed (return >= 0). */
#define expect_ok(call)								\
	do {									\
		errno = 0;							\
		long r_ = (long)(call);						\
		if (r_ < 0) {							\
			test_diag("%s:%d: %s failed: %s", __FILE__, __LINE__,	\
				  #call, strerror(errno));			\
			return TEST_FAIL;					\
		}								\
	} while (0)

/* Propagate a helper's non-pass result. */
#define expect_pass(call)							\
	do {									\
		enum test_result t_ = (call);					\
		if (t_ != TEST_PASS)						\
			return t_;						\
	} while (0)

#endif /* DMABUF_SG_TEST_H */
