/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#ifndef HARNESS_BROKERD
#define HARNESS_BROKERD "build/daemon/dmabuf-brokerd"
#endif

#define HARNESS_MAX_ARGS 64

/* Sessions end with their connection: tests that count what a departed
 * client left behind see it gone at once (test_resume sets its own). */
const char harness_default_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 0\n"
	"[limits]\n"
	"max_clients = 256\n";

int64_t harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *harness_backend(void)
{
	const char *b = getenv("DBB_TEST_BACKEND");

	return b && *b ? b : "memfd";
}

bool harness_backend_is_dmabuf(void)
{
	return strcmp(harness_backend(), "memfd") != 0;
}

bool harness_backend_read_only(void)
{
	return !strcmp(harness_backend(), "kmod") ||
	       !strcmp(harness_backend(), "memfd");
}

bool harness_ro_refused(int r, int want)
{
	return r == want || (r == -EOPNOTSUPP && !harness_backend_read_only());
}

bool harness_size_ok(uint64_t asked, uint64_t got)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t rounded = (asked + page - 1) / page * page;

	if (!strcmp(harness_backend(), "drm"))
		return got >= rounded && got % page == 0;
	return got == rounded;
}

/* A number from the file @path (0 when it has none) after @key, or at the
 * start when @key is NULL. */
static uint64_t harness_read_u64(const char *path, const char *key)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (key && strncmp(line, key, strlen(key)))
			continue;
		if (sscanf(line + (key ? strlen(key) : 0), " %llu", &v) == 1)
			break;
	}
	fclose(f);
	return v;
}

uint64_t harness_big_size(void)
{
	const uint64_t mib = 1024 * 1024;
	uint64_t size = 1024 * mib;
	uint64_t avail = harness_read_u64("/proc/meminfo", "MemAvailable:");
	uint64_t limit_mb;

	if (avail && avail * 1024 / 8 < size)
		size = avail * 1024 / 8 / mib * mib;
	if (!strcmp(harness_backend(), "udmabuf")) {
		limit_mb = harness_read_u64(
			"/sys/module/udmabuf/parameters/size_limit_mb", NULL);
		if (limit_mb && limit_mb * mib < size)
			size = limit_mb * mib;
	}
	return size;
}

bool harness_wrapped(void)
{
	const char *w = getenv("DBB_DAEMON_WRAPPER");

	return w && *w;
}

unsigned harness_scaled(unsigned n, unsigned min)
{
	const char *s = getenv("DBB_TEST_SCALE");
	unsigned long pct = harness_wrapped() ? 25 : 100;
	unsigned long v;

	if (s && *s)
		pct = strtoul(s, NULL, 10);
	v = (unsigned long)n * pct / 100;
	return v < min ? min : (unsigned)v;
}

int harness_timeout_ms(int ms)
{
	return harness_wrapped() ? ms * 30 : ms;
}

static int harness_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -errno;
	ok = fputs(text, f) >= 0;
	if (fclose(f) != 0 || !ok)
		return -EIO;
	return 0;
}

/* A datagram socket at @path for the daemon's sd_notify(). */
static int harness_notify_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* Splits DBB_DAEMON_WRAPPER on spaces into @argv (strings in @store). */
static size_t harness_wrapper_args(char *store, size_t cap, char **argv,
				   size_t max)
{
	const char *w = getenv("DBB_DAEMON_WRAPPER");
	size_t n = 0;
	char *save = NULL;

	if (!w || !*w)
		return 0;
	snprintf(store, cap, "%s", w);
	for (char *t = strtok_r(store, " \t", &save); t && n < max;
	     t = strtok_r(NULL, " \t", &save))
		argv[n++] = t;
	return n;
}

/*
 * An ASan daemon keeps up to 256 MiB of freed memory in quarantine, so its
 * RSS grows with every free until then and says nothing about leaks.  A
 * 16 MiB quarantine still catches use-after-free of recent frees and keeps
 * RSS a meaningful bound.  Harmless for a daemon without ASan.
 */
static void harness_asan_quarantine(void)
{
	const char *old = getenv("ASAN_OPTIONS");
	char opts[1024];

	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=16",
		 old ? old : "", old && *old ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
}

static void harness_exec_daemon(const struct harness_daemon *d,
				const char *brokerd, const char *notify,
				const char *backends)
{
	static char store[4096];
	char *argv[HARNESS_MAX_ARGS];
	size_t n = harness_wrapper_args(store, sizeof(store), argv,
					HARNESS_MAX_ARGS - 8);
	int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
	    dup2(log, 2) < 0)
		_exit(126);
	argv[n++] = (char *)brokerd;
	argv[n++] = "--socket";
	argv[n++] = (char *)d->socket;
	argv[n++] = "--config";
	argv[n++] = (char *)d->config;
	if (backends) {
		argv[n++] = "--backends";
		argv[n++] = (char *)backends;
	}
	argv[n] = NULL;
	/* A test killed by its timeout must not leave a daemon behind. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(125);
	harness_asan_quarantine();
	setenv("NOTIFY_SOCKET", notify, 1);
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("JOURNAL_STREAM");
	execvp(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Waits for READY=1 on @nfd while the daemon lives. */
static int harness_wait_ready(struct harness_daemon *d, int nfd)
{
	int64_t end = harness_now_ms() + harness_timeout_ms(10000);

	while (harness_now_ms() < end) {
		struct pollfd p = { .fd = nfd, .events = POLLIN };
		char buf[4096];
		ssize_t n;

		if (!harness_daemon_alive(d))
			return -ECHILD;
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(nfd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* Newline-separated assignments; READY=1 may be any of them. */
		for (char *l = buf; l; l = strchr(l, '\n')) {
			if (*l == '\n')
				l++;
			if (!strncmp(l, "READY=1", 7) &&
			    (l[7] == '\0' || l[7] == '\n'))
				return 0;
		}
	}
	return -ETIMEDOUT;
}

int harness_daemon_start(struct harness_daemon *d, const char *config)
{
	return harness_daemon_start_backends(d, config, harness_backend());
}

int harness_daemon_start_backends(struct harness_daemon *d,
				  const char *config, const char *backends)
{
	const char *brokerd = getenv("DBB_BROKERD");
	char notify[HARNESS_PATH + 16];
	int nfd, r;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	if (!brokerd || !*brokerd)
		brokerd = HARNESS_BROKERD;
	if (access(brokerd, X_OK) < 0)
		return -ENOENT;
	snprintf(d->dir, sizeof(d->dir), "/tmp/dbb-test.XXXXXX");
	if (!mkdtemp(d->dir))
		return -errno;
	/* Other uids (the dropped-privilege children) must reach the socket. */
	chmod(d->dir, 0755);
	snprintf(d->socket, sizeof(d->socket), "%s/socket", d->dir);
	snprintf(d->config, sizeof(d->config), "%s/broker.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
	snprintf(notify, sizeof(notify), "%s/notify", d->dir);
	r = harness_write_file(d->config, config ? config : harness_default_config);
	if (r < 0)
		return r;
	nfd = harness_notify_socket(notify);
	if (nfd < 0)
		return nfd;
	fflush(NULL);
	d->pid = fork();
	if (d->pid < 0) {
		r = -errno;
		close(nfd);
		return r;
	}
	if (d->pid == 0)
		harness_exec_daemon(d, brokerd, notify, backends);
	r = harness_wait_ready(d, nfd);
	close(nfd);
	unlink(notify);
	if (r < 0) {
		printf("# daemon did not become ready: %s\n", strerror(-r));
		harness_daemon_dump_log(d);
	}
	return r;
}

bool harness_daemon_alive(struct harness_daemon *d)
{
	int st;

	if (d->pid <= 0)
		return false;
	if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
		d->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		d->pid = -1;
		return false;
	}
	return true;
}

void harness_daemon_dump_log(const struct harness_daemon *d)
{
	FILE *f = fopen(d->log, "r");
	char *lines[40] = { 0 };
	char buf[1024];
	size_t n = 0;

	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		free(lines[n % 40]);
		lines[n % 40] = strdup(buf);
		n++;
	}
	fclose(f);
	for (size_t i = n > 40 ? n - 40 : 0; i < n; i++) {
		printf("# daemon: %s", lines[i % 40] ? lines[i % 40] : "\n");
		free(lines[i % 40]);
		lines[i % 40] = NULL;
	}
	fflush(stdout);
}

static void harness_rmtree(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char path[HARNESS_PATH * 2];

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(dp);
	rmdir(dir);
}

/* waitpid with a deadline: exit code, 128 + signal, or -ETIMEDOUT. */
static int harness_reap(pid_t pid, int timeout_ms)
{
	int64_t end = harness_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) :
					       128 + WTERMSIG(st);
		if (r < 0)
			return -errno;
		if (harness_now_ms() >= end)
			return -ETIMEDOUT;
		usleep(5000);
	}
}

int harness_daemon_stop(struct harness_daemon *d)
{
	int r = 0;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		r = harness_reap(d->pid, harness_timeout_ms(10000));
		if (r == -ETIMEDOUT) {
			printf("# daemon ignored SIGTERM; killing it\n");
			kill(d->pid, SIGKILL);
			harness_reap(d->pid, 5000);
		}
		if (r != 0) {
			printf("# daemon exit status %d\n", r);
			harness_daemon_dump_log(d);
		}
		d->pid = -1;
	} else if (d->pid == -1 && d->dir[0]) {
		/* It died before we stopped it: that is a failure too. */
		r = d->status ? d->status : -ECHILD;
		printf("# daemon was not running at stop (status %d)\n",
		       d->status);
		harness_daemon_dump_log(d);
	}
	if (d->dir[0])
		harness_rmtree(d->dir);
	d->dir[0] = '\0';
	d->pid = 0;
	return r;
}

int harness_fd_count(pid_t pid)
{
	char path[64];
	DIR *dp;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dp = opendir(path);
	if (!dp)
		return -errno;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

long harness_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

bool harness_pid_has_asan(pid_t pid)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "libasan") != NULL;
	fclose(f);
	return found;
}

void harness_dump_fds(pid_t pid)
{
	char path[64], link[512], target[512];
	struct dirent *e;
	DIR *dp;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dp = opendir(path);
	if (!dp)
		return;
	while ((e = readdir(dp))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		printf("# pid %d fd %s -> %s\n", (int)pid, e->d_name, target);
	}
	closedir(dp);
	fflush(stdout);
}

int harness_wait_fd_count(pid_t pid, int want, int timeout_ms)
{
	int64_t end = harness_now_ms() + timeout_ms;
	int n;

	for (;;) {
		n = harness_fd_count(pid);
		if (n == want || harness_now_ms() >= end)
			return n;
		usleep(2000);
	}
}

/* ---- children ---- */

void harness_child_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "child %d: %s:%d: check failed: %s\n", (int)getpid(),
		file, line, what);
	printf("# child %d: %s:%d: check failed: %s\n", (int)getpid(), file,
	       line, what);
	fflush(stdout);
}

static void harness_close_other_fds(int keep1, int keep2)
{
	int lo = keep1 < keep2 ? keep1 : keep2;
	int hi = keep1 < keep2 ? keep2 : keep1;

	close_range(3, (unsigned)lo - 1, 0);
	close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0u, 0);
}

int harness_child_start(struct harness_child *c, const char *socket,
			harness_child_fn fn, void *arg)
{
	int down[2], up[2];

	if (pipe2(down, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(up, O_CLOEXEC) < 0) {
		close(down[0]);
		close(down[1]);
		return -errno;
	}
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		int e = -errno;

		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		return e;
	}
	if (c->pid == 0) {
		struct harness_ctx ctx = {
			.in = down[0], .out = up[1], .socket = socket,
		};
		int r;

		close(down[1]);
		close(up[0]);
		/* Drop what the parent holds (other children's pipes, the
		 * daemon's notify socket...): a sibling must see EOF when the
		 * parent closes its end. */
		harness_close_other_fds(down[0], up[1]);
		r = fn(&ctx, arg);
		fflush(NULL);
		_exit(r & 0xff);
	}
	close(down[0]);
	close(up[1]);
	c->to_child = down[1];
	c->from_child = up[0];
	return 0;
}

int harness_post(int fd, char tag)
{
	ssize_t n;

	do {
		n = write(fd, &tag, 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -EPIPE;
}

int harness_await(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char tag;
	ssize_t n;
	int r;

	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	n = read(fd, &tag, 1);
	return n == 1 ? tag : -EPIPE;
}

int harness_child_wait(struct harness_child *c, int timeout_ms)
{
	int r;

	if (c->to_child >= 0)
		close(c->to_child);
	if (c->from_child >= 0)
		close(c->from_child);
	c->to_child = c->from_child = -1;
	r = harness_reap(c->pid, timeout_ms);
	if (r == -ETIMEDOUT) {
		kill(c->pid, SIGKILL);
		harness_reap(c->pid, 5000);
	}
	return r;
}

int harness_drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return -errno;
	if (getuid() != uid || geteuid() != uid || getgid() != gid)
		return -EPERM;
	return 0;
}

/* ---- bytes ---- */

static inline uint8_t harness_byte(size_t i, uint32_t seed)
{
	uint32_t x = (uint32_t)(i >> 2) * 2654435761u ^ seed;

	return (uint8_t)(x >> (8 * (i & 3)));
}

void harness_fill(void *p, size_t len, uint32_t seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		b[i] = harness_byte(i, seed);
}

long harness_check(const void *p, size_t len, uint32_t seed)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != harness_byte(i, seed))
			return (long)i;
	return -1;
}
