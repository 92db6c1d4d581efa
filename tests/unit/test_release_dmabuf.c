/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of daemon/release.c with dma-bufs, from every source found:
 * dma-heap "system", udmabuf, vgem (PRIME) and the project's dmabuf_sg
 * module.  They exist in the test guests (tests/vm); elsewhere each case
 * says SKIP and why.  Each source's probe case prints, as "# " lines, the
 * inotify events the kernel gives for it at release and after the watch
 * is removed.  Links release.o, the kit, libevent and cmocka.
 *
 * Negative cases first; every test has its own event base and tracker.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <drm.h>
#include <drm_mode.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#include "dmabuf_sg.h"
#include "release_kit.h"

struct kit_source {
	const char *name;
	const char *path;	/* NULL: found by open_dev */
	int (*open_dev)(void);
	int (*alloc)(int dev);	/* a dma-buf fd or -errno */
};

static int heap_alloc(int dev)
{
	struct dma_heap_allocation_data d = {
		.len = KIT_BUF_SIZE, .fd_flags = O_RDWR | O_CLOEXEC,
	};

	return ioctl(dev, DMA_HEAP_IOCTL_ALLOC, &d) < 0 ? -errno : (int)d.fd;
}

static int udmabuf_alloc(int dev)
{
	struct udmabuf_create c = {
		.flags = UDMABUF_FLAGS_CLOEXEC, .size = KIT_BUF_SIZE,
	};
	int memfd = kit_new_memfd(), fd;

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
		.size = KIT_BUF_SIZE, .fd_flags = O_RDWR | O_CLOEXEC,
	};

	return ioctl(dev, DMABUF_SG_IOCTL_ALLOC, &a) < 0 ? -errno : (int)a.fd;
}

static const struct kit_source src_heap = {
	"dma-heap system", "/dev/dma_heap/system", NULL, heap_alloc };
static const struct kit_source src_udmabuf = {
	"udmabuf", "/dev/udmabuf", NULL, udmabuf_alloc };
static const struct kit_source src_vgem = {
	"vgem PRIME", NULL, vgem_open, vgem_alloc };
static const struct kit_source src_kmod = {
	"dmabuf_sg", "/dev/dmabuf_sg", NULL, kmod_alloc };

static int source_open(const struct kit_source *s)
{
	int fd;

	if (s->open_dev)
		return s->open_dev();
	fd = open(s->path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A dma-buf from the fixture's source; SKIP when there is none. */
static int dmabuf_new(struct kit *f)
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

/* Prints the names of the events in @mask that matter here. */
static void print_mask(uint32_t mask)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ IN_CLOSE_WRITE, "IN_CLOSE_WRITE" },
		{ IN_CLOSE_NOWRITE, "IN_CLOSE_NOWRITE" },
		{ IN_DELETE_SELF, "IN_DELETE_SELF" },
		{ IN_IGNORED, "IN_IGNORED" },
	};
	uint32_t rest = mask;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (mask & names[i].bit)
			printf(" %s", names[i].name);
		rest &= ~names[i].bit;
	}
	if (rest)
		printf(" 0x%x", rest);
}

/* Prints which events the kernel gives when @fd, a fresh dma-buf, is
 * closed, and then when its watch is removed. */
static void dmabuf_observe(const struct kit_source *s, int fd)
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

				print_mask(ev->mask);
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
static void dmabuf_require_reported(struct kit *f)
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
	struct kit *f = *state;
	int fd = dmabuf_new(f), r = kit_reopen(fd, O_RDWR);

	if (r >= 0)
		close(r);
	assert_int_equal(-1, r);
	close(fd);
}

static void test_dmabuf_probe(void **state)
{
	struct kit *f = *state;
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
	struct kit *f = *state;
	int fd;

	dmabuf_require_reported(f);
	fd = dmabuf_new(f);
	assert_int_equal(0, release_track(f->t, fd, 11));
	kit_run_for(f, 30);
	assert_int_equal(0, kit_reports(f));
	close(fd);
	kit_settle(f, 1);
	assert_int_equal(1, f->nfreed);
	assert_int_equal(11, f->last_cookie);
	assert_int_equal(0, release_pending(f->t));
}

static void test_dmabuf_kept_by_holders(void **state)
{
	struct kit *f = *state;
	int fd, d;
	void *m;

	dmabuf_require_reported(f);
	fd = dmabuf_new(f);
	d = dup(fd);
	m = mmap(NULL, KIT_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(0, release_track(f->t, fd, 1));
	assert_int_equal(0, release_track(f->t, d, 2));
	close(fd);
	kit_run_for(f, 30);
	close(d);
	kit_run_for(f, 30);
	assert_int_equal(0, kit_reports(f));
	assert_int_equal(0, munmap(m, KIT_BUF_SIZE));
	kit_settle(f, 2);
	assert_int_equal(1, f->hits[1]);
	assert_int_equal(1, f->hits[2]);
	assert_int_equal(2, kit_reports(f));
}

/* An importer (PRIME into vgem) or the exporter's own GEM handle keeps
 * the dma-buf until it lets go. */
static void test_dmabuf_kept_by_gem_handle(void **state)
{
	struct kit *f = *state;
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
	kit_run_for(f, 50);
	assert_int_equal(0, kit_reports(f));
	assert_int_equal(0, ioctl(vgem, DRM_IOCTL_GEM_CLOSE, &g));
	kit_settle(f, 1);
	assert_int_equal(1, f->hits[4]);
	close(vgem);
}

/* In a child that became nobody: 0 when tracking @fd fails as it should. */
static int child_other_uid(int fd)
{
	struct release_tracker *t;
	struct event_base *base;
	int ret;

	int memfd;

	/* Dumpable again after the uid change, so /proc/self/fd is ours. */
	if (setgid(65534) < 0 || setuid(65534) < 0 ||
	    prctl(PR_SET_DUMPABLE, 1) < 0)
		return 10;
	base = event_base_new();
	t = base ? release_create(base, -1, NULL, NULL) : NULL;
	memfd = memfd_create("release-test", MFD_CLOEXEC);
	if (!t || memfd < 0)
		return 11;
	/* /proc works for this uid: a memfd of its own is tracked. */
	if (release_track(t, memfd, 2) != 0)
		return 12;
	ret = release_track(t, fd, 1);
	release_destroy(t);
	event_base_free(base);
	return ret == -EACCES ? 0 : 13;
}

/* A dma-buf's inode is its creator's, mode 0600: another uid cannot
 * watch it (a client's dma-buf, for a broker that is not root). */
static void test_dmabuf_other_uid(void **state)
{
	struct kit *f = *state;
	int fd, status;
	pid_t pid;

	if (geteuid() != 0) {
		printf("# SKIP reason: needs root to become another uid\n");
		skip();
	}
	fd = dmabuf_new(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_other_uid(fd));
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status));
	assert_int_equal(0, WEXITSTATUS(status));
	close(fd);
}

/* After lost events a live dma-buf cannot be told from a freed one. */
static void test_dmabuf_overflow(void **state)
{
	struct kit *f = *state;
	int live[4];
	unsigned n, i, first = KIT_MAX_COOKIE - 4;

	dmabuf_require_reported(f);
	for (i = 0; i < 4; i++)
		live[i] = dmabuf_new(f);
	n = kit_flood(f, live, 4, first);
	kit_settle(f, n + 4);
	assert_int_equal(n, f->nfreed);
	assert_int_equal(4, f->nunknown);
	for (i = 0; i < 4; i++) {
		assert_int_equal(1, f->hits[first + i]);
		/* Still held: tracked again, reported when closed. */
		assert_int_equal(0, release_track(f->t, live[i], first + i));
		close(live[i]);
	}
	kit_settle(f, n + 8);
	assert_int_equal(n + 4, f->nfreed);
	assert_int_equal(0, release_pending(f->t));
}

#define TS(fn, src) \
	cmocka_unit_test_prestate_setup_teardown(fn, kit_setup, kit_teardown, \
						 (void *)&src)
#define DMABUF_TESTS(src) \
	TS(test_dmabuf_no_reopen, src), TS(test_dmabuf_other_uid, src), \
	TS(test_dmabuf_probe, src), \
	TS(test_dmabuf_freed_once, src), \
	TS(test_dmabuf_kept_by_holders, src), \
	TS(test_dmabuf_kept_by_gem_handle, src), \
	TS(test_dmabuf_overflow, src)

int main(void)
{
	const struct CMUnitTest tests[] = {
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
