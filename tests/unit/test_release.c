/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of daemon/release.c with memfds: a buffer is reported once
 * its memory is freed, and not while a dup, a mapping, a reopen or another
 * process keeps it; forget, cookies, callbacks that re-enter, many
 * buffers, lost events, the watch limit.  Links release.o, the kit,
 * libevent and cmocka.  dma-bufs: test_release_dmabuf.c.
 *
 * Negative cases first; every test has its own event base and tracker.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "release_kit.h"

/* ---- bad input ---- */

static void test_bad_fd(void **state)
{
	struct kit *f = *state;
	int fd = kit_new_memfd();

	close(fd);
	assert_int_equal(-EBADF, release_track(f->t, -1, 1));
	assert_int_equal(-EBADF, release_track(f->t, fd, 1));
	assert_int_equal(-EBADF, release_probe(-1));
	assert_int_equal(-EBADF, release_probe(fd));
	assert_int_equal(0, release_pending(f->t));
}

/* Kinds whose close says nothing about memory. */
static void test_unsupported_kinds(void **state)
{
	struct kit *f = *state;
	char dir[] = "/tmp/release-test.XXXXXX", path[64];
	int p[2], s[2], fds[6], i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/named", dir);
	assert_int_equal(0, pipe2(p, O_CLOEXEC));
	assert_int_equal(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
				       0, s));
	fds[0] = p[0];
	fds[1] = s[0];
	fds[2] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fds[3] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	fds[4] = eventfd(0, EFD_CLOEXEC);
	fds[5] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < 6; i++) {
		assert_true(fds[i] >= 0);
		assert_int_equal(-EOPNOTSUPP, release_track(f->t, fds[i], i));
	}
	assert_int_equal(0, release_pending(f->t));
	/* The probe takes the fd even when it refuses the kind. */
	assert_int_equal(-EOPNOTSUPP, release_probe(p[1]));
	assert_false(kit_fd_is_open(p[1]));
	for (i = 0; i < 6; i++)
		close(fds[i]);
	close(s[1]);
	unlink(path);
	rmdir(dir);
}

static void test_duplicate_cookie(void **state)
{
	struct kit *f = *state;
	int a = kit_new_memfd(), b = kit_new_memfd();

	assert_int_equal(0, release_track(f->t, a, 7));
	assert_int_equal(-EEXIST, release_track(f->t, b, 7));
	assert_int_equal(-EEXIST, release_track(f->t, a, 7));
	assert_int_equal(1, release_pending(f->t));
	close(b);
	close(a);
	kit_settle(f, 1);
	assert_int_equal(1, f->nfreed);
	assert_int_equal(7, f->last_cookie);
}

static void test_forget(void **state)
{
	struct kit *f = *state;
	int fd = kit_new_memfd();

	release_destroy(NULL);
	assert_int_equal(-ENOENT, release_forget(f->t, 3));
	assert_int_equal(0, release_track(f->t, fd, 3));
	assert_int_equal(0, release_forget(f->t, 3));
	assert_int_equal(-ENOENT, release_forget(f->t, 3));
	assert_int_equal(0, release_pending(f->t));
	close(fd);
	kit_run_for(f, 50);
	assert_int_equal(0, kit_reports(f));
}

/* Reports come from the loop, never from inside a call. */
static void test_no_report_inside_calls(void **state)
{
	struct kit *f = *state;
	int a = kit_new_memfd(), b = kit_new_memfd();

	assert_int_equal(0, release_track(f->t, a, 1));
	close(a);				/* its event is queued now */
	assert_int_equal(0, release_track(f->t, b, 2));
	assert_int_equal(0, release_forget(f->t, 2));
	assert_int_equal(1, release_pending(f->t));
	assert_int_equal(0, kit_reports(f));
	kit_settle(f, 1);
	assert_int_equal(1, f->hits[1]);
	assert_int_equal(0, f->hits[2]);
	close(b);
}

static void note_request(evutil_socket_t fd, short what, void *arg)
{
	struct kit *f = arg;

	f->arg = kit_reports(f);	/* reports seen before the request */
}

/*
 * At a higher priority than requests, a release the broker caused itself
 * (its close of the last fd) is reported before the next request is read,
 * even when both are ready in the same loop iteration.
 */
static void test_release_before_request(void **state)
{
	struct kit *f = *state;
	struct event_base *base = event_base_new();
	struct release_tracker *t;
	struct event *req;
	int fd = kit_new_memfd(), p[2];

	assert_non_null(base);
	assert_int_equal(0, event_base_priority_init(base, 2));
	t = release_create(base, 0, kit_record, f);
	assert_non_null(t);
	assert_int_equal(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	req = event_new(base, p[0], EV_READ, note_request, f);
	assert_non_null(req);
	assert_int_equal(0, event_priority_set(req, 1));
	assert_int_equal(0, event_add(req, NULL));
	f->arg = 99;
	assert_int_equal(0, release_track(t, fd, 1));
	close(fd);			/* "Destroy" */
	assert_int_equal(1, write(p[1], "A", 1));	/* "Alloc" */
	assert_int_equal(0, event_base_loop(base, EVLOOP_ONCE));
	assert_int_equal(1, kit_reports(f));
	assert_int_equal(1, f->arg);
	event_free(req);
	release_destroy(t);
	event_base_free(base);
	close(p[0]);
	close(p[1]);
}

/* The probe needs the only reference: a dup keeps the memfd. */
static void test_probe_with_holder(void **state)
{
	int fd = kit_new_memfd(), keep = dup(fd);

	(void)state;
	assert_int_equal(-EOPNOTSUPP, release_probe(fd));
	assert_false(kit_fd_is_open(fd));
	assert_true(kit_fd_is_open(keep));
	close(keep);
}

/* The user's inotify watches run out: -ENOSPC, nothing changed.  A child
 * in a user namespace of its own gets a limit of 3 without touching the
 * machine's. */
static int child_watch_limit(void)
{
	struct release_tracker *t;
	struct event_base *base;
	char map[32];
	int fds[4], i, fd, len;

	len = snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)geteuid());
	if (unshare(CLONE_NEWUSER) < 0)
		return 77;
	fd = open("/proc/self/uid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, len) != len)
		return 77;
	close(fd);
	fd = open("/proc/sys/user/max_inotify_watches", O_WRONLY);
	if (fd < 0 || write(fd, "3\n", 2) != 2)
		return 77;
	close(fd);
	base = event_base_new();
	t = base ? release_create(base, -1, NULL, NULL) : NULL;
	if (!t)
		return 10;
	for (i = 0; i < 4; i++) {
		fds[i] = memfd_create("release-test", MFD_CLOEXEC);
		if (fds[i] < 0)
			return 11;
	}
	for (i = 0; i < 3; i++)
		if (release_track(t, fds[i], i) != 0)
			return 12 + i;
	if (release_track(t, fds[3], 3) != -ENOSPC)
		return 15;
	if (release_pending(t) != 3)
		return 16;
	release_destroy(t);
	event_base_free(base);
	return 0;
}

static void test_watch_limit(void **state)
{
	int status;
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_watch_limit());
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		printf("# SKIP reason: no user namespace to lower "
		       "max_inotify_watches in\n");
		skip();
	}
	assert_int_equal(0, WEXITSTATUS(status));
}

/* ---- memfds ---- */

static void test_memfd_freed_once(void **state)
{
	struct kit *f = *state;
	int fd = kit_new_memfd();

	assert_int_equal(0, release_probe(kit_new_memfd()));
	assert_int_equal(0, release_track(f->t, fd, 42));
	assert_int_equal(1, release_pending(f->t));
	kit_run_for(f, 20);
	assert_int_equal(0, kit_reports(f));	/* alive: nothing */
	close(fd);
	kit_settle(f, 1);
	assert_int_equal(1, f->nfreed);
	assert_int_equal(0, f->nunknown);
	assert_int_equal(42, f->last_cookie);
	assert_int_equal(RELEASE_FREED, f->last_why);
	assert_int_equal(0, release_pending(f->t));
	assert_int_equal(-ENOENT, release_forget(f->t, 42));
}

/* A dup, then a reopen through /proc, then a mapping: each keeps it. */
static void test_memfd_kept_by_holders(void **state)
{
	struct kit *f = *state;
	int fd = kit_new_memfd(), d = dup(fd), r = kit_reopen(fd, O_RDWR);
	void *m = mmap(NULL, KIT_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);

	assert_true(d >= 0);
	assert_true(r >= 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(0, release_track(f->t, fd, 5));
	close(fd);
	kit_run_for(f, 30);
	close(d);
	kit_run_for(f, 30);
	close(r);
	kit_run_for(f, 30);
	assert_int_equal(0, kit_reports(f));
	assert_int_equal(0, munmap(m, KIT_BUF_SIZE));
	kit_settle(f, 1);
	assert_int_equal(1, f->hits[5]);
	assert_int_equal(1, kit_reports(f));
}

/* Another process that keeps the fd keeps the memory: the case of a
 * client that destroys a buffer and keeps its fd. */
static void test_memfd_kept_by_other_process(void **state)
{
	struct kit *f = *state;
	int fd = kit_new_memfd(), go[2], status;
	pid_t pid;
	char c;

	assert_int_equal(0, pipe2(go, O_CLOEXEC));
	assert_int_equal(0, release_track(f->t, fd, 8));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {		/* holds its copy of fd until told */
		close(go[1]);
		_exit(read(go[0], &c, 1) == 0 ? 0 : 1);
	}
	close(go[0]);
	close(fd);
	kit_run_for(f, 50);
	assert_int_equal(0, kit_reports(f));
	close(go[1]);
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_int_equal(0, status);
	kit_settle(f, 1);
	assert_int_equal(1, f->hits[8]);
	assert_int_equal(1, kit_reports(f));
}

/* Two cookies on one inode (same wd): both reported, once each; a
 * forgotten one is not. */
static void test_memfd_two_cookies(void **state)
{
	struct kit *f = *state;
	int fd = kit_new_memfd(), r = kit_reopen(fd, O_RDONLY);

	assert_int_equal(0, release_track(f->t, fd, 1));
	assert_int_equal(0, release_track(f->t, r, 2));
	assert_int_equal(0, release_track(f->t, fd, 3));
	assert_int_equal(0, release_forget(f->t, 3));
	assert_int_equal(2, release_pending(f->t));
	close(fd);
	kit_run_for(f, 30);
	assert_int_equal(0, kit_reports(f));
	close(r);
	kit_settle(f, 2);
	assert_int_equal(1, f->hits[1]);
	assert_int_equal(1, f->hits[2]);
	assert_int_equal(0, f->hits[3]);
	assert_int_equal(2, f->nfreed);
}

static void forget_arg(struct kit *f, uint64_t cookie)
{
	if (cookie != f->arg)
		assert_int_equal(0, release_forget(f->t, f->arg));
	f->on_report = NULL;
}

static void track_again(struct kit *f, uint64_t cookie)
{
	int fd = kit_new_memfd();

	/* The reported cookie is free again, even here. */
	assert_int_equal(0, release_track(f->t, fd, cookie));
	f->arg = (uint64_t)fd;
	f->on_report = NULL;
}

static void destroy_tracker(struct kit *f, uint64_t cookie)
{
	release_destroy(f->t);
	f->t = NULL;
}

/* The callback may forget a sibling, track again, destroy the tracker. */
static void test_callback_reentry(void **state)
{
	struct kit *f = *state;
	int fd = kit_new_memfd(), i;

	assert_int_equal(0, release_track(f->t, fd, 1));
	assert_int_equal(0, release_track(f->t, fd, 2));
	f->arg = 2;
	f->on_report = forget_arg;	/* whichever comes first forgets 2 */
	close(fd);
	kit_settle(f, 1);
	assert_int_equal(1, kit_reports(f));
	assert_int_equal(0, release_pending(f->t));

	fd = kit_new_memfd();
	assert_int_equal(0, release_track(f->t, fd, 9));
	f->on_report = track_again;
	close(fd);
	kit_settle(f, 2);
	assert_int_equal(1, f->hits[9]);
	assert_int_equal(1, release_pending(f->t));	/* 9 once more */
	close((int)f->arg);
	kit_settle(f, 3);
	assert_int_equal(2, f->hits[9]);

	for (i = 0; i < 3; i++) {
		fd = kit_new_memfd();
		assert_int_equal(0, release_track(f->t, fd, 20 + i));
		close(fd);
	}
	f->on_report = destroy_tracker;
	kit_settle(f, 4);
	assert_int_equal(4, kit_reports(f));	/* nothing after destroy */
	assert_null(f->t);
}

static void test_memfd_many(void **state)
{
	struct kit *f = *state;
	const unsigned n = 5000;
	unsigned i;

	for (i = 0; i < n; i++) {
		int fd = kit_new_memfd();

		assert_int_equal(0, release_track(f->t, fd, i));
		close(fd);
		if (i % 1000 == 999)
			kit_run_for(f, 1);
	}
	kit_settle(f, n);
	assert_int_equal(n, f->nfreed);
	assert_int_equal(0, release_pending(f->t));
	for (i = 0; i < n; i++)
		assert_int_equal(1, f->hits[i]);
}

static void test_memfd_overflow(void **state)
{
	struct kit *f = *state;
	int live[16];
	unsigned n, i;

	for (i = 0; i < 16; i++)
		live[i] = kit_new_memfd();
	n = kit_flood(f, live, 16, KIT_MAX_COOKIE - 16);
	kit_settle(f, n);
	assert_int_equal(n, f->nfreed);
	assert_int_equal(0, f->nunknown);
	for (i = 0; i < n; i++)
		assert_int_equal(1, f->hits[i]);
	assert_int_equal(16, release_pending(f->t));
	for (i = 0; i < 16; i++)
		close(live[i]);
	kit_settle(f, n + 16);
	assert_int_equal(n + 16, f->nfreed);
	assert_int_equal(0, release_pending(f->t));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, kit_setup, kit_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bad_fd),
		T(test_unsupported_kinds),
		T(test_duplicate_cookie),
		T(test_forget),
		T(test_no_report_inside_calls),
		T(test_probe_with_holder),
		T(test_watch_limit),
		T(test_memfd_freed_once),
		T(test_memfd_kept_by_holders),
		T(test_memfd_kept_by_other_process),
		T(test_memfd_two_cookies),
		T(test_release_before_request),
		T(test_callback_reentry),
		T(test_memfd_many),
		T(test_memfd_overflow),
	};

	/* One test by name (a glob) while working on it. */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
