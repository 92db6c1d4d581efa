/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the fd sets outgoing frames carry (daemon/fds.c): owned
 * fds are closed exactly once, borrowed ones never, and a set made to own
 * its fds no longer depends on the borrowed originals.  Links only fds.o.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "fds.h"

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int new_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void test_full_set_refuses_and_closes_owned(void **state)
{
	struct fds_set s;
	int borrowed = new_fd(), extra = new_fd();

	fds_init(&s);
	for (unsigned i = 0; i < DBB_WIRE_MAX_FDS; i++)
		assert_int_equal(0, fds_add(&s, new_fd(), false));
	assert_int_equal(-E2BIG, fds_add(&s, extra, false));
	assert_false(fd_open(extra));
	assert_int_equal(-E2BIG, fds_add(&s, borrowed, true));
	assert_true(fd_open(borrowed));
	fds_drop(&s);
	assert_int_equal(0, s.n);
	close(borrowed);
}

static void test_drop_closes_owned_only(void **state)
{
	struct fds_set s;
	int owned = new_fd(), borrowed = new_fd();

	fds_init(&s);
	assert_int_equal(0, fds_add(&s, owned, false));
	assert_int_equal(0, fds_add(&s, borrowed, true));
	fds_drop(&s);
	assert_false(fd_open(owned));
	assert_true(fd_open(borrowed));
	fds_drop(NULL);
	close(borrowed);
}

static void test_own_dups_borrowed(void **state)
{
	struct fds_set s, moved;
	int borrowed = new_fd();

	fds_init(&s);
	assert_int_equal(0, fds_add(&s, borrowed, true));
	assert_int_equal(0, fds_own(&s));
	assert_int_equal(1, s.n);
	assert_int_not_equal(borrowed, s.fd[0]);
	assert_int_equal(0, s.borrowed);
	close(borrowed);		/* the registry lets go */
	fds_move(&moved, &s);
	assert_int_equal(0, s.n);
	assert_true(fd_open(moved.fd[0]));
	fds_drop(&moved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_set_refuses_and_closes_owned),
		cmocka_unit_test(test_drop_closes_owned_only),
		cmocka_unit_test(test_own_dups_borrowed),
	};

	return cmocka_run_group_tests_name("fds", tests, NULL, NULL);
}
