/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of daemon/release.c: a buffer is reported once its memory is
 * freed, and not while a dup, a mapping, a reopen, a GEM handle or an
 * importer keeps it.  Links only release.o, libevent and cmocka.
 *
 * memfds are tested everywhere.  dma-bufs are tested where a source exists
 * (dma-heap "system", udmabuf, vgem, the project's dmabuf_sg module): in
 * the test guests (tests/vm); elsewhere those cases say SKIP and why.
 * Each dma-buf case first prints, as "# " lines, the inotify events the
 * kernel gives for that kind at release.
 *
 * Negative cases first; every test has its own event base and tracker.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include <drm.h>
#include <drm_mode.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#include "dmabuf_sg.h"
#include "release.h"

#define MAX_COOKIE (1u << 17)
#define BUF_SIZE 65536

struct fixture {
	struct event_base *base;
	struct release_tracker *t;
	uint8_t *hits;			/* reports per cookie */
	size_t nfreed, nunknown;
	uint64_t last_cookie;
	enum release_reason last_why;
	/* Optional: run inside the callback, after it is counted. */
	void (*on_report)(struct fixture *f, uint64_t cookie);
	uint64_t arg;
	int dev;			/* dma-buf cases: the source's device */
	const struct source *src;
};

static void record(void *ctx, uint64_t cookie, enum release_reason why)
{
	struct fixture *f = ctx;

	assert_in_range(cookie, 0, MAX_COOKIE - 1);
	f->hits[cookie]++;
	if (why == RELEASE_FREED)
		f->nfreed++;
	else
		f->nunknown++;
	f->last_cookie = cookie;
	f->last_why = why;
	if (f->on_report)
		f->on_report(f, cookie);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->src = *state;	/* the prestate: a dma-buf source or NULL */
	f->dev = -1;
	f->hits = calloc(MAX_COOKIE, 1);
	f->base = event_base_new();
	assert_non_null(f->hits);
	assert_non_null(f->base);
	f->t = release_create(f->base, -1, record, f);
	assert_non_null(f->t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	release_destroy(f->t);
	event_base_free(f->base);
	if (f->dev >= 0)
		close(f->dev);
	free(f->hits);
	free(f);
	return 0;
}

static size_t reports(const struct fixture *f)
{
	return f->nfreed + f->nunknown;
}

/* Runs the loop for @ms milliseconds. */
static void run_for(struct fixture *f, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

/* Runs the loop until @want reports came (or 20 s went), then 50 ms more
 * so that a report too many would show. */
static void settle(struct fixture *f, size_t want)
{
	int waited;

	for (waited = 0; reports(f) < want && waited < 20000; waited += 10)
		run_for(f, 10);
	run_for(f, 50);
}

static int new_memfd(void)
{
	int fd = memfd_create("release-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(0, ftruncate(fd, BUF_SIZE));
	return fd;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Opens @fd's file again, as a holder with only a pid and fd number can. */
static int reopen(int fd, int flags)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

static int read_int(const char *path)
{
	FILE *fp = fopen(path, "r");
	int v = -1;

	if (fp) {
		if (fscanf(fp, "%d", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v;
}

/* ---- bad input ---- */

static void test_bad_fd(void **state)
{
	struct fixture *f = *state;
	int fd = new_memfd();

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
	struct fixture *f = *state;
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
	assert_false(fd_is_open(p[1]));
	for (i = 0; i < 6; i++)
		close(fds[i]);
	close(s[1]);
	unlink(path);
	rmdir(dir);
}

static void test_duplicate_cookie(void **state)
{
	struct fixture *f = *state;
	int a = new_memfd(), b = new_memfd();

	assert_int_equal(0, release_track(f->t, a, 7));
	assert_int_equal(-EEXIST, release_track(f->t, b, 7));
	assert_int_equal(-EEXIST, release_track(f->t, a, 7));
	assert_int_equal(1, release_pending(f->t));
	close(b);
	close(a);
	settle(f, 1);
	assert_int_equal(1, f->nfreed);
	assert_int_equal(7, f->last_cookie);
}

static void test_forget(void **state)
{
	struct fixture *f = *state;
	int fd = new_memfd();

	release_destroy(NULL);
	assert_int_equal(-ENOENT, release_forget(f->t, 3));
	assert_int_equal(0, release_track(f->t, fd, 3));
	assert_int_equal(0, release_forget(f->t, 3));
	assert_int_equal(-ENOENT, release_forget(f->t, 3));
	assert_int_equal(0, release_pending(f->t));
	close(fd);
	run_for(f, 50);
	assert_int_equal(0, reports(f));
}

/* Reports come from the loop, never from inside a call. */
static void test_no_report_inside_calls(void **state)
{
	struct fixture *f = *state;
	int a = new_memfd(), b = new_memfd();

	assert_int_equal(0, release_track(f->t, a, 1));
	close(a);				/* its event is queued now */
	assert_int_equal(0, release_track(f->t, b, 2));
	assert_int_equal(0, release_forget(f->t, 2));
	assert_int_equal(1, release_pending(f->t));
	assert_int_equal(0, reports(f));
	settle(f, 1);
	assert_int_equal(1, f->hits[1]);
	assert_int_equal(0, f->hits[2]);
	close(b);
}

static void note_request(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *f = arg;

	f->arg = reports(f);	/* reports seen before the request */
}

/*
 * At a higher priority than requests, a release the broker caused itself
 * (its close of the last fd) is reported before the next request is read,
 * even when both are ready in the same loop iteration.
 */
static void test_release_before_request(void **state)
{
	struct fixture *f = *state;
	struct event_base *base = event_base_new();
	struct release_tracker *t;
	struct event *req;
	int fd = new_memfd(), p[2];

	assert_non_null(base);
	assert_int_equal(0, event_base_priority_init(base, 2));
	t = release_create(base, 0, record, f);
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
	assert_int_equal(1, reports(f));
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
	int fd = new_memfd(), keep = dup(fd);

	(void)state;
	assert_int_equal(-EOPNOTSUPP, release_probe(fd));
	assert_false(fd_is_open(fd));
	assert_true(fd_is_open(keep));
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
	struct fixture *f = *state;
	int fd = new_memfd();

	assert_int_equal(0, release_probe(new_memfd()));
	assert_int_equal(0, release_track(f->t, fd, 42));
	assert_int_equal(1, release_pending(f->t));
	run_for(f, 20);
	assert_int_equal(0, reports(f));	/* alive: nothing */
	close(fd);
	settle(f, 1);
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
	struct fixture *f = *state;
	int fd = new_memfd(), d = dup(fd), r = reopen(fd, O_RDWR);
	void *m = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);

	assert_true(d >= 0);
	assert_true(r >= 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(0, release_track(f->t, fd, 5));
	close(fd);
	run_for(f, 30);
	close(d);
	run_for(f, 30);
	close(r);
	run_for(f, 30);
	assert_int_equal(0, reports(f));
	assert_int_equal(0, munmap(m, BUF_SIZE));
	settle(f, 1);
	assert_int_equal(1, f->hits[5]);
	assert_int_equal(1, reports(f));
}

/* Another process that keeps the fd keeps the memory: the case of a
 * client that destroys a buffer and keeps its fd. */
static void test_memfd_kept_by_other_process(void **state)
{
	struct fixture *f = *state;
	int fd = new_memfd(), go[2], status;
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
	run_for(f, 50);
	assert_int_equal(0, reports(f));
	close(go[1]);
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_int_equal(0, status);
	settle(f, 1);
	assert_int_equal(1, f->hits[8]);
	assert_int_equal(1, reports(f));
}

/* Two cookies on one inode (same wd): both reported, once each; a
 * forgotten one is not. */
static void test_memfd_two_cookies(void **state)
{
	struct fixture *f = *state;
	int fd = new_memfd(), r = reopen(fd, O_RDONLY);

	assert_int_equal(0, release_track(f->t, fd, 1));
	assert_int_equal(0, release_track(f->t, r, 2));
	assert_int_equal(0, release_track(f->t, fd, 3));
	assert_int_equal(0, release_forget(f->t, 3));
	assert_int_equal(2, release_pending(f->t));
	close(fd);
	run_for(f, 30);
	assert_int_equal(0, reports(f));
	close(r);
	settle(f, 2);
	assert_int_equal(1, f->hits[1]);
	assert_int_equal(1, f->hits[2]);
	assert_int_equal(0, f->hits[3]);
	assert_int_equal(2, f->nfreed);
}

static void forget_arg(struct fixture *f, uint64_t cookie)
{
	if (cookie != f->arg)
		assert_int_equal(0, release_forget(f->t, f->arg));
	f->on_report = NULL;
}

static void track_again(struct fixture *f, uint64_t cookie)
{
	int fd = new_memfd();

	/* The reported cookie is free again, even here. */
	assert_int_equal(0, release_track(f->t, fd, cookie));
	f->arg = (uint64_t)fd;
	f->on_report = NULL;
}

static void destroy_tracker(struct fixture *f, uint64_t cookie)
{
	release_destroy(f->t);
	f->t = NULL;
}

/* The callback may forget a sibling, track again, destroy the tracker. */
static void test_callback_reentry(void **state)
{
	struct fixture *f = *state;
	int fd = new_memfd(), i;

	assert_int_equal(0, release_track(f->t, fd, 1));
	assert_int_equal(0, release_track(f->t, fd, 2));
	f->arg = 2;
	f->on_report = forget_arg;	/* whichever comes first forgets 2 */
	close(fd);
	settle(f, 1);
	assert_int_equal(1, reports(f));
	assert_int_equal(0, release_pending(f->t));

	fd = new_memfd();
	assert_int_equal(0, release_track(f->t, fd, 9));
	f->on_report = track_again;
	close(fd);
	settle(f, 2);
	assert_int_equal(1, f->hits[9]);
	assert_int_equal(1, release_pending(f->t));	/* 9 once more */
	close((int)f->arg);
	settle(f, 3);
	assert_int_equal(2, f->hits[9]);

	for (i = 0; i < 3; i++) {
		fd = new_memfd();
		assert_int_equal(0, release_track(f->t, fd, 20 + i));
		close(fd);
	}
	f->on_report = destroy_tracker;
	settle(f, 4);
	assert_int_equal(4, reports(f));	/* nothing after destroy */
	assert_null(f->t);
}

static void test_memfd_many(void **state)
{
	struct fixture *f = *state;
	const unsigned n = 5000;
	unsigned i;

	for (i = 0; i < n; i++) {
		int fd = new_memfd();

		assert_int_equal(0, release_track(f->t, fd, i));
		close(fd);
		if (i % 1000 == 999)
			run_for(f, 1);
	}
	settle(f, n);
	assert_int_equal(n, f->nfreed);
	assert_int_equal(0, release_pending(f->t));
	for (i = 0; i < n; i++)
		assert_int_equal(1, f->hits[i]);
}

/*
 * More releases than the kernel queues (max_queued_events): the events
 * past it are lost, and the recovery still reports each freed buffer once
 * and no live one.  @live are tracked from @first_live on; returns the
 * number of flood buffers.
 */
static unsigned flood(struct fixture *f, const int *live, unsigned nlive,
		      unsigned first_live)
{
	int max = read_int("/proc/sys/fs/inotify/max_queued_events");
	unsigned n, i;

	if (max <= 0 || (unsigned)max + 512 + nlive >= MAX_COOKIE) {
		printf("# SKIP reason: max_queued_events %d: too many buffers "
		       "to overflow it\n", max);
		skip();
	}
	n = (unsigned)max + 512;
	for (i = 0; i < nlive; i++)
		assert_int_equal(0, release_track(f->t, live[i], first_live + i));
	for (i = 0; i < n; i++) {
		int fd = memfd_create("release-flood", MFD_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(0, release_track(f->t, fd, i));
		close(fd);
	}
	return n;
}

static void test_memfd_overflow(void **state)
{
	struct fixture *f = *state;
	int live[16];
	unsigned n, i;

	for (i = 0; i < 16; i++)
		live[i] = new_memfd();
	n = flood(f, live, 16, MAX_COOKIE - 16);
	settle(f, n);
	assert_int_equal(n, f->nfreed);
	assert_int_equal(0, f->nunknown);
	for (i = 0; i < n; i++)
		assert_int_equal(1, f->hits[i]);
	assert_int_equal(16, release_pending(f->t));
	for (i = 0; i < 16; i++)
		close(live[i]);
	settle(f, n + 16);
	assert_int_equal(n + 16, f->nfreed);
	assert_int_equal(0, release_pending(f->t));
}

/* ---- dma-bufs ---- */

struct source {
	const char *name;
	const char *path;	/* NULL: found by open_dev */
	int (*open_dev)(void);
	int (*alloc)(int dev);	/* a dma-buf fd or -errno */
};

static int heap_alloc(int dev)
{
	struct dma_heap_allocation_data d = {
		.len = BUF_SIZE, .fd_flags = O_RDWR | O_CLOEXEC,
	};

	return ioctl(dev, DMA_HEAP_IOCTL_ALLOC, &d) < 0 ? -errno : (int)d.fd;
}

static int udmabuf_alloc(int dev)
{
	struct udmabuf_create c = {
		.flags = UDMABUF_FLAGS_CLOEXEC, .size = BUF_SIZE,
	};
	int memfd = new_memfd(), fd;

	assert_int_equal(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK));
	c.memfd = (uint32_t)memfd;
	fd = ioctl(dev, UDMABUF_CREATE, &c);
	fd = fd < 0 ? -errno : fd;
	close(memfd);		/* udmabuf holds the pages */
	return fd;
}

/* The first /dev/dri/card* whose driver is vgem. */
static int vgem_open(void)
{
	char path[32], name[16];
	int i;

	for (i = 0; i < 16; i++) {
		struct drm_version v = { .name = name,
					 .name_len = sizeof(name) - 1 };
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 &&
		    !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* A dumb buffer, exported; *@handle keeps it unless @handle is NULL. */
static int vgem_export(int dev, uint32_t *handle)
{
	struct drm_mode_create_dumb c = { .width = 128, .height = 128,
					  .bpp = 32 };
	struct drm_prime_handle p = { .flags = DRM_CLOEXEC | DRM_RDWR };
	struct drm_gem_close g = { 0 };
	int ret = 0;

	if (ioctl(dev, DRM_IOCTL_MODE_CREATE_DUMB, &c) < 0)
		return -errno;
	p.handle = g.handle = c.handle;
	if (ioctl(dev, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) < 0)
		ret = -errno;
	if (handle && ret == 0)
		*handle = c.handle;
	else
		ioctl(dev, DRM_IOCTL_GEM_CLOSE, &g);
	return ret < 0 ? ret : p.fd;
}

static int vgem_alloc(int dev)
{
	return vgem_export(dev, NULL);
}

static int kmod_alloc(int dev)
{
	struct dmabuf_sg_alloc a = {
		.size = BUF_SIZE, .fd_flags = O_RDWR | O_CLOEXEC,
	};

	return ioctl(dev, DMABUF_SG_IOCTL_ALLOC, &a) < 0 ? -errno : (int)a.fd;
}

static const struct source src_heap = {
	"dma-heap system", "/dev/dma_heap/system", NULL, heap_alloc };
static const struct source src_udmabuf = {
	"udmabuf", "/dev/udmabuf", NULL, udmabuf_alloc };
static const struct source src_vgem = {
	"vgem PRIME", NULL, vgem_open, vgem_alloc };
static const struct source src_kmod = {
	"dmabuf_sg", "/dev/dmabuf_sg", NULL, kmod_alloc };

static int source_open(const struct source *s)
{
	int fd;

	if (s->open_dev)
		return s->open_dev();
	fd = open(s->path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A dma-buf from the fixture's source; SKIP when there is none. */
static int dmabuf_new(struct fixture *f)
{
	int fd;

	if (f->dev < 0)
		f->dev = source_open(f->src);
	if (f->dev < 0) {
		printf("# SKIP reason: no %s here (%s)\n", f->src->name,
		       strerror(-f->dev));
		skip();
	}
	fd = f->src->alloc(f->dev);
	if (fd < 0) {
		printf("# SKIP reason: %s allocation failed: %s\n",
		       f->src->name, strerror(-fd));
		skip();
	}
	return fd;
}

/* Prints which events the kernel gives when @fd, a fresh dma-buf, is
 * closed, and then when its watch is removed. */
static void dmabuf_observe(const struct source *s, int fd)
{
	_Alignas(struct inotify_event) char buf[4096];
	char path[32];
	int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), wd, pass;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(ifd, path, IN_ALL_EVENTS);
	assert_true(wd > 0);
	close(fd);
	for (pass = 0; pass < 2; pass++) {
		ssize_t n, off;

		usleep(100000);
		printf("# %s: %s:", s->name, pass ? "after rm_watch" :
		       "at release");
		while ((n = read(ifd, buf, sizeof(buf))) > 0) {
			for (off = 0; off < n;) {
				const struct inotify_event *ev =
					(const void *)(buf + off);

				printf(" %s%s%s%s",
				       ev->mask & IN_CLOSE_WRITE ? "IN_CLOSE_WRITE" : "",
				       ev->mask & IN_CLOSE_NOWRITE ? "IN_CLOSE_NOWRITE" : "",
				       ev->mask & IN_DELETE_SELF ? "IN_DELETE_SELF" : "",
				       ev->mask & IN_IGNORED ? "IN_IGNORED" : "");
				if (!(ev->mask & (IN_CLOSE | IN_DELETE_SELF |
						  IN_IGNORED)))
					printf("0x%x", ev->mask);
				off += (ssize_t)(sizeof(*ev) + ev->len);
			}
		}
		printf(" (end)\n");
		if (pass == 0)
			inotify_rm_watch(ifd, wd);
	}
	close(ifd);
}

/* SKIP unless this kernel reports the release of this kind. */
static void dmabuf_require_reported(struct fixture *f)
{
	int ret = release_probe(dmabuf_new(f));

	if (ret == -EOPNOTSUPP) {
		printf("# SKIP reason: this kernel does not report the "
		       "release of a %s dma-buf\n", f->src->name);
		skip();
	}
	assert_int_equal(0, ret);
}

/* What release.c relies on: a dma-buf has one open file description. */
static void test_dmabuf_no_reopen(void **state)
{
	struct fixture *f = *state;
	int fd = dmabuf_new(f), r = reopen(fd, O_RDWR);

	if (r >= 0)
		close(r);
	assert_int_equal(-1, r);
	close(fd);
}

static void test_dmabuf_probe(void **state)
{
	struct fixture *f = *state;
	int ret;

	dmabuf_observe(f->src, dmabuf_new(f));
	ret = release_probe(dmabuf_new(f));
	printf("# %s: release_probe() = %d (%s)\n", f->src->name, ret,
	       ret ? strerror(-ret) : "reported");
	if (ret == -EOPNOTSUPP)
		skip();
	assert_int_equal(0, ret);
}

static void test_dmabuf_freed_once(void **state)
{
	struct fixture *f = *state;
	int fd;

	dmabuf_require_reported(f);
	fd = dmabuf_new(f);
	assert_int_equal(0, release_track(f->t, fd, 11));
	run_for(f, 30);
	assert_int_equal(0, reports(f));
	close(fd);
	settle(f, 1);
	assert_int_equal(1, f->nfreed);
	assert_int_equal(11, f->last_cookie);
	assert_int_equal(0, release_pending(f->t));
}

static void test_dmabuf_kept_by_holders(void **state)
{
	struct fixture *f = *state;
	int fd, d;
	void *m;

	dmabuf_require_reported(f);
	fd = dmabuf_new(f);
	d = dup(fd);
	m = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(0, release_track(f->t, fd, 1));
	assert_int_equal(0, release_track(f->t, d, 2));
	close(fd);
	run_for(f, 30);
	close(d);
	run_for(f, 30);
	assert_int_equal(0, reports(f));
	assert_int_equal(0, munmap(m, BUF_SIZE));
	settle(f, 2);
	assert_int_equal(1, f->hits[1]);
	assert_int_equal(1, f->hits[2]);
	assert_int_equal(2, reports(f));
}

/* An importer (PRIME into vgem) or the exporter's own GEM handle keeps
 * the dma-buf until it lets go. */
static void test_dmabuf_kept_by_gem_handle(void **state)
{
	struct fixture *f = *state;
	struct drm_prime_handle p = { 0 };
	struct drm_gem_close g = { 0 };
	int vgem, fd;

	dmabuf_require_reported(f);
	vgem = vgem_open();
	if (vgem < 0) {
		printf("# SKIP reason: no vgem to import into\n");
		skip();
	}
	if (f->src == &src_vgem) {
		fd = vgem_export(vgem, &g.handle);	/* the exporter's */
		assert_true(fd >= 0);
	} else {
		fd = dmabuf_new(f);
		p.fd = fd;
		assert_int_equal(0, ioctl(vgem, DRM_IOCTL_PRIME_FD_TO_HANDLE,
					  &p));
		g.handle = p.handle;
	}
	assert_int_equal(0, release_track(f->t, fd, 4));
	close(fd);
	run_for(f, 50);
	assert_int_equal(0, reports(f));
	assert_int_equal(0, ioctl(vgem, DRM_IOCTL_GEM_CLOSE, &g));
	settle(f, 1);
	assert_int_equal(1, f->hits[4]);
	close(vgem);
}

/* After lost events a live dma-buf cannot be told from a freed one. */
static void test_dmabuf_overflow(void **state)
{
	struct fixture *f = *state;
	int live[4];
	unsigned n, i, first = MAX_COOKIE - 4;

	dmabuf_require_reported(f);
	for (i = 0; i < 4; i++)
		live[i] = dmabuf_new(f);
	n = flood(f, live, 4, first);
	settle(f, n + 4);
	assert_int_equal(n, f->nfreed);
	assert_int_equal(4, f->nunknown);
	for (i = 0; i < 4; i++) {
		assert_int_equal(1, f->hits[first + i]);
		/* Still held: tracked again, reported when closed. */
		assert_int_equal(0, release_track(f->t, live[i], first + i));
		close(live[i]);
	}
	settle(f, n + 8);
	assert_int_equal(n + 4, f->nfreed);
	assert_int_equal(0, release_pending(f->t));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TS(fn, src) \
	cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, \
						 (void *)&src)
#define DMABUF_TESTS(src) \
	TS(test_dmabuf_no_reopen, src), TS(test_dmabuf_probe, src), \
	TS(test_dmabuf_freed_once, src), \
	TS(test_dmabuf_kept_by_holders, src), \
	TS(test_dmabuf_kept_by_gem_handle, src), \
	TS(test_dmabuf_overflow, src)

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
		DMABUF_TESTS(src_heap),
		DMABUF_TESTS(src_udmabuf),
		DMABUF_TESTS(src_vgem),
		DMABUF_TESTS(src_kmod),
	};

	/* One test by name (a glob) while working on it. */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
