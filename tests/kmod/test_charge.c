// SPDX-License-Identifier: GPL-2.0
/*
 * Memory-cgroup charging of ALLOC (DMABUF_SG_ALLOC_CHARGE_PIDFD): bad pidfds
 * first, then buffers charged to the process they are allocated for.
 *
 * The cgroup cases build their own groups under the cgroup2 root,
 * /sys/fs/cgroup/dmabuf_sg_test.<pid>/{limited,other,allocator}, with the
 * memory controller enabled (guest.sh mounts cgroup2 and enables +memory at
 * the root).  "limited" has memory.max = 64 MiB.  The test process moves
 * itself into "allocator" and plays the allocator service: it allocates with
 * a client's pidfd.  Each client is a child process in its group that
 * allocates for itself on command (caller fallback or its own pidfd).
 *
 * Tolerance: memory.current moves with more than the buffer: charges are
 * taken in batches of 64 pages and uncharges cached per CPU (up to 256 KiB
 * a CPU each way), and the dma-buf's file and the pidfd are charged slab.
 * CHARGE_TOLERANCE (4 MiB) covers that and is far below the 16 to 256 MiB
 * the buffers weigh.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CHARGE_BIG (256 * MIB)
#define CHARGE_SMALL (16 * MIB)
#define CHARGE_TOLERANCE (4 * MIB)

/* ALLOC of @size charged to @pidfd's process, or the caller for -1. */
static int charge_alloc(size_t size, int pidfd)
{
	struct dmabuf_sg_alloc arg = {
		.size = size,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};

	if (pidfd >= 0) {
		arg.flags = DMABUF_SG_ALLOC_CHARGE_PIDFD;
		arg.pidfd = (uint32_t)pidfd;
	}
	if (ioctl(util_dev(), DMABUF_SG_IOCTL_ALLOC, &arg) < 0)
		return -1;
	return (int)arg.fd;
}

static int charge_alloc_raw(uint32_t flags, uint32_t pidfd)
{
	struct dmabuf_sg_alloc arg = {
		.size = page_size,
		.fd_flags = O_RDWR | O_CLOEXEC,
		.flags = flags,
		.pidfd = pidfd,
	};

	if (ioctl(util_dev(), DMABUF_SG_IOCTL_ALLOC, &arg) < 0)
		return -1;
	close((int)arg.fd);
	return 0;
}

/* A child blocked on a pipe; it exits when *release is closed. */
static pid_t charge_spawn_waiter(int *release)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 0 ? 0 : 1);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

static enum test_result test_charge_bad_pidfd(void)
{
	const uint32_t flag = DMABUF_SG_ALLOC_CHARGE_PIDFD;
	struct util_snapshot s;
	int null_fd, event_fd, closed_fd, pidfd, release;
	siginfo_t si;
	pid_t pid;

	pid = charge_spawn_waiter(&release);
	expect_ok(pid);
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0 && errno == ENOSYS)
		return test_skip("no pidfd_open() in this kernel");
	expect_ok(pidfd);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	expect_ok(null_fd);
	event_fd = eventfd(0, EFD_CLOEXEC);	/* an anonymous inode too */
	expect_ok(event_fd);
	closed_fd = dup(null_fd);
	expect_ok(closed_fd);
	expect_ok(close(closed_fd));

	util_snapshot(&s);
	expect_errno(EINVAL, charge_alloc_raw(0, (uint32_t)pidfd));
	expect_errno(EINVAL, charge_alloc_raw(flag, (uint32_t)null_fd));
	expect_errno(EINVAL, charge_alloc_raw(flag, (uint32_t)event_fd));
	expect_errno(EINVAL, charge_alloc_raw(flag, (uint32_t)util_dev()));
	expect_errno(EBADF, charge_alloc_raw(flag, (uint32_t)closed_fd));
	expect_errno(EBADF, charge_alloc_raw(flag, 1U << 31));
	expect_errno(EBADF, charge_alloc_raw(flag, UINT32_MAX));
	/* The process exits: a zombie first (not reaped), then reaped. */
	expect_ok(close(release));
	s.nfds--;	/* the pipe that held it, closed on purpose */
	expect_ok(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOWAIT));
	expect_errno(ESRCH, charge_alloc_raw(flag, (uint32_t)pidfd));
	expect_int_eq(pid, waitpid(pid, NULL, 0));
	expect_errno(ESRCH, charge_alloc_raw(flag, (uint32_t)pidfd));
	expect_pass(util_expect_snapshot(&s));
	close(pidfd);
	close(event_fd);
	close(null_fd);
	return TEST_PASS;
}

/* A pidfd of the caller itself is the caller: allowed, whatever the cgroup. */
static enum test_result test_charge_own_pidfd(void)
{
	struct util_snapshot s;
	int pidfd, fd;

	pidfd = pidfd_open(getpid(), 0);
	if (pidfd < 0 && errno == ENOSYS)
		return test_skip("no pidfd_open() in this kernel");
	expect_ok(pidfd);
	util_snapshot(&s);
	fd = charge_alloc(MIB, pidfd);
	expect_ok(fd);
	expect_ok(close(fd));
	expect_pass(util_expect_snapshot(&s));
	close(pidfd);
	return TEST_PASS;
}

/* The cgroup2 groups of one case. */
struct charge_groups {
	char base[128];
	char limited[160];
	char other[160];
	char allocator[160];
	char origin[320];	/* the test process's cgroup at the start */
};

static int cg_write(const char *dir, const char *file, const char *value)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return util_sysfs_write(path, value);
}

static long long cg_current(const char *dir)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/memory.current", dir);
	return util_sysfs_ll(path);
}

static bool cg_has_word(const char *path, const char *word)
{
	char line[256], *tok, *save;
	FILE *f = fopen(path, "r");
	bool found = false;

	if (!f)
		return false;
	if (fgets(line, sizeof(line), f))
		for (tok = strtok_r(line, " \n", &save); tok && !found;
		     tok = strtok_r(NULL, " \n", &save))
			found = !strcmp(tok, word);
	fclose(f);
	return found;
}

/* "0::/path" of /proc/self/cgroup, as a directory under CG_ROOT. */
static int cg_origin(char *dir, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/cgroup", "r");
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(dir, len, "%s%s", CG_ROOT, line + 3);
			ret = 0;
		}
	fclose(f);
	return ret;
}

static void cg_teardown(struct charge_groups *g)
{
	cg_write(g->origin, "cgroup.procs", "0");
	rmdir(g->limited);
	rmdir(g->other);
	rmdir(g->allocator);
	rmdir(g->base);
}

/* Groups for this process; SKIP when cgroup2's memory controller is off. */
static enum test_result cg_setup(struct charge_groups *g)
{
	if (!cg_has_word(CG_ROOT "/cgroup.subtree_control", "memory"))
		return test_skip("no cgroup2 with +memory in %s/cgroup.subtree_control",
				 CG_ROOT);
	expect_ok(cg_origin(g->origin, sizeof(g->origin)));
	snprintf(g->base, sizeof(g->base), CG_ROOT "/dmabuf_sg_test.%d", getpid());
	snprintf(g->limited, sizeof(g->limited), "%s/limited", g->base);
	snprintf(g->other, sizeof(g->other), "%s/other", g->base);
	snprintf(g->allocator, sizeof(g->allocator), "%s/allocator", g->base);
	expect_ok(mkdir(g->base, 0755));
	expect_ok(cg_write(g->base, "cgroup.subtree_control", "+memory"));
	expect_ok(mkdir(g->limited, 0755));
	expect_ok(mkdir(g->other, 0755));
	expect_ok(mkdir(g->allocator, 0755));
	expect_ok(cg_write(g->limited, "memory.max", "64M"));	/* < CHARGE_BIG */
	expect_ok(cg_write(g->allocator, "cgroup.procs", "0"));
	return TEST_PASS;
}

/*
 * A client: a child in a group that allocates for itself on command and
 * holds at most one buffer.  Commands and replies are one int each.
 */
enum client_op {
	CLIENT_ALLOC_SELF,	/* 256 MiB charged to the caller (no pidfd) */
	CLIENT_ALLOC_PIDFD,	/* 256 MiB with the client's own pidfd */
	CLIENT_FREE,
};

struct charge_client {
	pid_t pid;
	int pidfd;		/* the allocator's pidfd of the client */
	int cmd;
	int reply;
};

static int client_do(int op, int *buf)
{
	int pidfd, fd;

	if (op == CLIENT_FREE) {
		fd = *buf;
		*buf = -1;
		return fd >= 0 && close(fd) == 0 ? 0 : -EBADF;
	}
	pidfd = op == CLIENT_ALLOC_PIDFD ? pidfd_open(getpid(), 0) : -1;
	if (op == CLIENT_ALLOC_PIDFD && pidfd < 0)
		return -errno;
	fd = charge_alloc(CHARGE_BIG, pidfd);
	if (fd < 0)
		fd = -errno;
	else
		*buf = fd;
	if (pidfd >= 0)
		close(pidfd);
	return fd < 0 ? fd : 0;
}

static void client_serve(const char *group, int cmd, int reply)
{
	int ret = cg_write(group, "cgroup.procs", "0") < 0 ? -errno : 0;
	int buf = -1, op;

	if (write(reply, &ret, sizeof(ret)) != sizeof(ret))
		_exit(1);
	while (read(cmd, &op, sizeof(op)) == sizeof(op)) {
		ret = client_do(op, &buf);
		if (write(reply, &ret, sizeof(ret)) != sizeof(ret))
			_exit(1);
	}
	_exit(0);
}

/* 0 or -errno: the client's answer to @op (-EPIPE if it is gone). */
static int client_call(struct charge_client *c, int op)
{
	int ret;

	if (write(c->cmd, &op, sizeof(op)) != sizeof(op) ||
	    read(c->reply, &ret, sizeof(ret)) != sizeof(ret))
		return -EPIPE;
	return ret;
}

static int client_start(struct charge_client *c, const char *group)
{
	int cmd[2], reply[2], ret;

	if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(reply, O_CLOEXEC) < 0)
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		close(cmd[1]);
		close(reply[0]);
		client_serve(group, cmd[0], reply[1]);
	}
	close(cmd[0]);
	close(reply[1]);
	c->cmd = cmd[1];
	c->reply = reply[0];
	if (read(c->reply, &ret, sizeof(ret)) != sizeof(ret))
		return -EPIPE;
	if (ret < 0)
		return ret;
	c->pidfd = pidfd_open(c->pid, 0);
	return c->pidfd < 0 ? -errno : 0;
}

static void client_stop(struct charge_client *c)
{
	if (c->pid <= 0)
		return;
	close(c->cmd);
	close(c->reply);
	waitpid(c->pid, NULL, 0);
	if (c->pidfd >= 0)
		close(c->pidfd);
}

static enum test_result expect_near(const char *what, long long expected,
				    long long seen)
{
	long long diff = seen > expected ? seen - expected : expected - seen;

	test_diag("%s: expected %lld KiB, seen %lld KiB", what, expected / 1024,
		  seen / 1024);
	expect_uint_le(CHARGE_TOLERANCE, diff);
	return TEST_PASS;
}

/*
 * The limited client is refused 256 MiB whoever asks (itself with no pidfd,
 * itself with its pidfd, the allocator with its pidfd), and nothing of the
 * failed attempts stays charged; a buffer under its limit is charged to it,
 * not to the allocator.
 */
static enum test_result charge_limited(struct charge_groups *g,
				       struct charge_client *lim)
{
	long long before = cg_current(g->limited);
	long long alloc_before = cg_current(g->allocator);
	int fd;

	test_diag("limited: memory.max 64 MiB, memory.current %lld KiB", before / 1024);
	expect_int_eq(-ENOMEM, client_call(lim, CLIENT_ALLOC_SELF));
	expect_int_eq(-ENOMEM, client_call(lim, CLIENT_ALLOC_PIDFD));
	expect_errno(ENOMEM, charge_alloc(CHARGE_BIG, lim->pidfd));
	expect_pass(expect_near("limited after three refused 256 MiB allocs",
				before, cg_current(g->limited)));

	fd = charge_alloc(CHARGE_SMALL, lim->pidfd);
	expect_ok(fd);
	expect_pass(expect_near("limited holding 16 MiB allocated for it",
				before + (long long)CHARGE_SMALL,
				cg_current(g->limited)));
	expect_pass(expect_near("allocator meanwhile", alloc_before,
				cg_current(g->allocator)));
	expect_ok(close(fd));
	return expect_near("limited after the free", before,
			   cg_current(g->limited));
}

/* One 256 MiB buffer charged to @other's group while it lives. */
static enum test_result charge_other_cycle(struct charge_groups *g,
					   struct charge_client *other,
					   const char *how, int op)
{
	long long before = cg_current(g->other);
	long long alloc_before = cg_current(g->allocator);
	int fd = -1;

	test_diag("other, %s: memory.current %lld KiB", how, before / 1024);
	if (op < 0) {
		fd = charge_alloc(CHARGE_BIG, other->pidfd);
		expect_ok(fd);
	} else {
		expect_int_eq(0, client_call(other, op));
	}
	expect_pass(expect_near("other holding 256 MiB",
				before + (long long)CHARGE_BIG,
				cg_current(g->other)));
	expect_pass(expect_near("allocator meanwhile", alloc_before,
				cg_current(g->allocator)));
	if (op < 0)
		expect_ok(close(fd));
	else
		expect_int_eq(0, client_call(other, CLIENT_FREE));
	return expect_near("other after the free", before, cg_current(g->other));
}

static enum test_result charge_clients(struct charge_groups *g,
				       struct charge_client *lim,
				       struct charge_client *other)
{
	int ret;

	ret = client_start(lim, g->limited);
	if (ret == 0)
		ret = client_start(other, g->other);
	if (ret < 0) {
		test_diag("starting the clients: %s", strerror(-ret));
		return TEST_FAIL;
	}
	expect_pass(charge_limited(g, lim));
	expect_pass(charge_other_cycle(g, other, "allocating for itself",
				       CLIENT_ALLOC_SELF));
	expect_pass(charge_other_cycle(g, other, "with its own pidfd",
				       CLIENT_ALLOC_PIDFD));
	return charge_other_cycle(g, other, "the allocator with its pidfd", -1);
}

static enum test_result test_charge_cgroups(void)
{
	struct charge_client lim = { .pidfd = -1 }, other = { .pidfd = -1 };
	struct charge_groups g = { .base = "" };
	struct util_snapshot s;
	enum test_result ret;

	ret = cg_setup(&g);
	if (ret != TEST_PASS) {
		if (g.base[0])
			cg_teardown(&g);
		return ret;
	}
	util_snapshot(&s);
	ret = charge_clients(&g, &lim, &other);
	/* Last started first: it holds copies of the first one's pipes,
	 * which keep that one from seeing its end of file. */
	client_stop(&other);
	client_stop(&lim);
	if (ret == TEST_PASS)
		ret = util_expect_snapshot(&s);
	cg_teardown(&g);
	return ret;
}

const struct test_case test_charge_cases[] = {
	{ "charge: bad pidfds refused (not a pidfd, closed, exited)", test_charge_bad_pidfd },
	{ "charge: the caller's own pidfd", test_charge_own_pidfd },
	{ "charge: buffers charged to the client's memory cgroup", test_charge_cgroups },
	{ NULL, NULL },
};
