/* SPDX-License-Identifier: MIT */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#ifndef HARNESS_BROKERD
#define HARNESS_BROKERD "build/daemon/dmabuf-brokerd"
#endif

#define SUPERVISOR_SOCKET_NAME "dmabuf-brokerd.socket"
#define SUPERVISOR_MAX_MSG 4096
#define SUPERVISOR_MAX_FDS 16
#define SUPERVISOR_MAX_ARGS 64

static int supervisor_bind(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_SEQPACKET && (chmod(path, 0666) < 0 ||
					listen(fd, 128) < 0))) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* The value of @key= in the newline-separated @msg, or NULL. */
static const char *supervisor_field(const char *msg, const char *key,
				    char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *l = msg;

	while (*l) {
		size_t n = strcspn(l, "\n");

		if (n > klen && !strncmp(l, key, klen) && l[klen] == '=') {
			n -= klen + 1;
			if (n >= len)
				n = len - 1;
			memcpy(out, l + klen + 1, n);
			out[n] = '\0';
			return out;
		}
		l += n + (l[n] == '\n');
	}
	return NULL;
}

static bool supervisor_same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* FDSTORE=1: keep each fd under the name (default "stored"), unless its
 * file is stored already.  Called with the lock held. */
static void supervisor_store(struct supervisor *s, const char *name,
			     const int *fds, size_t nfds)
{
	for (size_t i = 0; i < nfds; i++) {
		bool dup = false;

		for (size_t j = 0; j < s->nstore && !dup; j++)
			dup = supervisor_same_file(s->store[j].fd, fds[i]);
		if (dup || s->nstore == SUPERVISOR_STORE_MAX) {
			s->refused += !dup;
			close(fds[i]);
			continue;
		}
		snprintf(s->store[s->nstore].name, SUPERVISOR_NAME_MAX, "%s",
			 name);
		s->store[s->nstore++].fd = fds[i];
	}
}

/* FDSTOREREMOVE=1: drop every fd of the name.  With the lock held. */
static void supervisor_unstore(struct supervisor *s, const char *name)
{
	size_t out = 0;

	for (size_t i = 0; i < s->nstore; i++) {
		if (!strcmp(s->store[i].name, name)) {
			close(s->store[i].fd);
			continue;
		}
		s->store[out++] = s->store[i];
	}
	s->nstore = out;
}

/* Reads every queued message; with the lock held. */
static void supervisor_drain(struct supervisor *s)
{
	for (;;) {
		char buf[SUPERVISOR_MAX_MSG], name[SUPERVISOR_NAME_MAX], v[8];
		char cbuf[CMSG_SPACE(sizeof(int) * SUPERVISOR_MAX_FDS)];
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		int fds[SUPERVISOR_MAX_FDS];
		size_t nfds = 0;
		ssize_t n = recvmsg(s->notify_fd, &mh,
				    MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0)
			return;
		buf[n] = '\0';
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
		}
		if (!supervisor_field(buf, "FDNAME", name, sizeof(name)))
			strcpy(name, "stored");
		if (supervisor_field(buf, "FDSTORE", v, sizeof(v)) &&
		    !strcmp(v, "1")) {
			supervisor_store(s, name, fds, nfds);
			nfds = 0;
		}
		if (supervisor_field(buf, "FDSTOREREMOVE", v, sizeof(v)) &&
		    !strcmp(v, "1"))
			supervisor_unstore(s, name);
		if (supervisor_field(buf, "READY", v, sizeof(v)) &&
		    !strcmp(v, "1"))
			s->ready++;
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
	}
}

static void *supervisor_reader(void *arg)
{
	struct supervisor *s = arg;

	for (;;) {
		struct pollfd p = { .fd = s->notify_fd, .events = POLLIN };

		pthread_mutex_lock(&s->lock);
		if (!s->reader_running) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		supervisor_drain(s);
		pthread_mutex_unlock(&s->lock);
		poll(&p, 1, 50);
	}
}

/* Execs the daemon, under DBB_DAEMON_WRAPPER (split on blanks) if set. */
static void supervisor_exec_argv(struct supervisor *s, const char *brokerd)
{
	static char store[4096];
	const char *w = getenv("DBB_DAEMON_WRAPPER");
	char *argv[SUPERVISOR_MAX_ARGS], *save = NULL;
	size_t n = 0;

	snprintf(store, sizeof(store), "%s", w ? w : "");
	for (char *t = strtok_r(store, " \t", &save);
	     t && n < SUPERVISOR_MAX_ARGS - 8; t = strtok_r(NULL, " \t", &save))
		argv[n++] = t;
	argv[n++] = (char *)brokerd;
	argv[n++] = "--socket";
	argv[n++] = s->d.socket;
	argv[n++] = "--config";
	argv[n++] = s->d.config;
	argv[n++] = "--backends";
	argv[n++] = (char *)harness_backend();
	argv[n] = NULL;
	execvp(argv[0], argv);
	_exit(127);
}

/* In the child: the socket and the store at fds 3.., the environment
 * systemd would set, then exec. */
static void supervisor_exec(struct supervisor *s, const char *brokerd)
{
	static char names[SUPERVISOR_STORE_MAX * (SUPERVISOR_NAME_MAX + 1)];
	int src[SUPERVISOR_STORE_MAX + 1];
	char num[32];
	int n = 0, log;

	src[n++] = s->listen_fd;
	snprintf(names, sizeof(names), "%s", SUPERVISOR_SOCKET_NAME);
	for (size_t i = 0; i < s->nstore; i++) {
		src[n++] = s->store[i].fd;
		strcat(names, ":");
		strcat(names, s->store[i].name);
	}
	/* Out of the way first, so that no dup2 overwrites a source. */
	for (int i = 0; i < n; i++) {
		src[i] = fcntl(src[i], F_DUPFD, 3 + n);
		if (src[i] < 0)
			_exit(126);
	}
	for (int i = 0; i < n; i++) {
		if (dup2(src[i], 3 + i) < 0)
			_exit(126);
	}
	log = open(s->d.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
		_exit(126);
	close_range(3 + (unsigned)n, ~0u, 0);
	snprintf(num, sizeof(num), "%d", n);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv("LISTEN_PID", num, 1);
	setenv("LISTEN_FDNAMES", names, 1);
	setenv("NOTIFY_SOCKET", s->notify, 1);
	if (s->fdstore_env)
		setenv("FDSTORE", s->fdstore_env, 1);
	else
		unsetenv("FDSTORE");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	supervisor_exec_argv(s, brokerd);
}

/* Forks the daemon and waits for one more READY=1. */
static int supervisor_spawn(struct supervisor *s)
{
	const char *brokerd = getenv("DBB_BROKERD");
	int64_t end = harness_now_ms() + harness_timeout_ms(10000);
	unsigned ready;
	int ret = -ETIMEDOUT;

	if (!brokerd || !*brokerd)
		brokerd = HARNESS_BROKERD;
	if (access(brokerd, X_OK) < 0)
		return -ENOENT;
	pthread_mutex_lock(&s->lock);
	ready = s->ready;
	fflush(NULL);
	s->d.pid = fork();
	if (s->d.pid == 0)
		supervisor_exec(s, brokerd);
	pthread_mutex_unlock(&s->lock);
	if (s->d.pid < 0)
		return -errno;
	while (harness_now_ms() < end) {
		pthread_mutex_lock(&s->lock);
		if (s->ready > ready)
			ret = 0;
		pthread_mutex_unlock(&s->lock);
		if (ret == 0)
			return 0;
		if (!harness_daemon_alive(&s->d)) {
			ret = -ECHILD;
			break;
		}
		poll(NULL, 0, 20);
	}
	printf("# daemon did not become ready: %s\n", strerror(-ret));
	harness_daemon_dump_log(&s->d);
	return ret;
}

int supervisor_start(struct supervisor *s, const char *config,
		     const char *fdstore)
{
	FILE *f;
	int ret;

	memset(s, 0, sizeof(*s));
	s->d.pid = -1;
	s->notify_fd = s->listen_fd = -1;
	s->fdstore_env = fdstore;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->d.dir, sizeof(s->d.dir), "/tmp/dbb-restart.XXXXXX");
	if (!mkdtemp(s->d.dir))
		return -errno;
	chmod(s->d.dir, 0755);
	snprintf(s->d.socket, sizeof(s->d.socket), "%s/socket", s->d.dir);
	snprintf(s->d.config, sizeof(s->d.config), "%s/broker.conf", s->d.dir);
	snprintf(s->d.log, sizeof(s->d.log), "%s/daemon.log", s->d.dir);
	snprintf(s->notify, sizeof(s->notify), "%s/notify", s->d.dir);
	f = fopen(s->d.config, "w");
	if (!f)
		return -errno;
	fputs(config ? config : harness_default_config, f);
	if (fclose(f) != 0)
		return -EIO;
	if ((s->listen_fd = supervisor_bind(s->d.socket, SOCK_SEQPACKET)) < 0)
		return s->listen_fd;
	if ((s->notify_fd = supervisor_bind(s->notify, SOCK_DGRAM)) < 0)
		return s->notify_fd;
	s->reader_running = true;
	ret = -pthread_create(&s->reader, NULL, supervisor_reader, s);
	if (ret < 0) {
		s->reader_running = false;
		return ret;
	}
	return supervisor_spawn(s);
}

/* Reaps the daemon, then reads what it sent before it died. */
static int supervisor_reap(struct supervisor *s, int sig)
{
	int st = 0;

	if (s->d.pid <= 0)
		return -ECHILD;
	kill(s->d.pid, sig);
	if (waitpid(s->d.pid, &st, 0) < 0)
		return -errno;
	s->d.pid = -1;
	pthread_mutex_lock(&s->lock);
	supervisor_drain(s);
	pthread_mutex_unlock(&s->lock);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int supervisor_kill(struct supervisor *s)
{
	int ret = supervisor_reap(s, SIGKILL);

	return ret == 128 + SIGKILL ? 0 : ret < 0 ? ret : -EINVAL;
}

int supervisor_term(struct supervisor *s)
{
	return supervisor_reap(s, SIGTERM);
}

int supervisor_restart(struct supervisor *s)
{
	return supervisor_spawn(s);
}

int supervisor_stored(struct supervisor *s, const char *name)
{
	int fd = -ENOENT;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nstore && fd == -ENOENT; i++) {
		if (!strcmp(s->store[i].name, name))
			fd = fcntl(s->store[i].fd, F_DUPFD_CLOEXEC, 3);
	}
	pthread_mutex_unlock(&s->lock);
	return fd;
}

int supervisor_add(struct supervisor *s, const char *name, int fd)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (dup < 0)
		return -errno;
	pthread_mutex_lock(&s->lock);
	supervisor_store(s, name, &dup, 1);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

size_t supervisor_nstored(struct supervisor *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->nstore;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int supervisor_wait_stored(struct supervisor *s, const char *name,
			   bool present, int timeout_ms)
{
	int64_t end = harness_now_ms() + timeout_ms;

	for (;;) {
		int fd = supervisor_stored(s, name);

		if (fd >= 0)
			close(fd);
		if ((fd >= 0) == present)
			return 0;
		if (harness_now_ms() >= end)
			return -ETIMEDOUT;
		poll(NULL, 0, 20);
	}
}

void supervisor_fini(struct supervisor *s)
{
	if (s->d.pid > 0)
		supervisor_term(s);
	if (s->reader_running) {
		pthread_mutex_lock(&s->lock);
		s->reader_running = false;
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->reader, NULL);
	}
	for (size_t i = 0; i < s->nstore; i++)
		close(s->store[i].fd);
	s->nstore = 0;
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->notify_fd = s->listen_fd = -1;
	if (s->d.dir[0]) {
		unlink(s->d.socket);
		unlink(s->notify);
		unlink(s->d.config);
		unlink(s->d.log);
		rmdir(s->d.dir);
		s->d.dir[0] = '\0';
	}
}
