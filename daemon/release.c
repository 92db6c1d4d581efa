/* SPDX-License-Identifier: MIT */
#include "release.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

/* A failed insert leaves the item's hh.tbl NULL instead of exiting. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>
#include <utlist.h>

/*
 * The masks per kind (see release.h).  IN_IGNORED is always reported; for
 * a memfd, IN_MOVE_SELF only makes the mask non-empty: a file without a
 * name cannot be renamed.
 */
#define RELEASE_MASK_MEMFD IN_MOVE_SELF
#define RELEASE_MASK_DMABUF (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)

/* One read takes up to this many bytes of events (16 per event). */
#define RELEASE_READ_BYTES 16384
/* Reads per wakeup, so a flood of releases cannot hold the loop. */
#define RELEASE_READ_ROUNDS 8
/* How long release_probe() waits for the event. */
#define RELEASE_PROBE_MS 250
/* Retry of a recovery that could not read fdinfo. */
#define RELEASE_RETRY_SEC 1

struct release_entry;

/* One watched inode (one wd) and the cookies tracked on it. */
struct release_watch {
	UT_hash_handle hh;		/* t->by_wd, key wd */
	int wd;
	uint32_t seen;			/* last recovery that saw it */
	bool dmabuf;			/* freed at close (release.h) */
	bool firing;			/* out of by_wd, being reported */
	struct release_entry *entries;	/* utlist DL */
	struct release_watch *next_doomed;
};

/* One tracked cookie. */
struct release_entry {
	UT_hash_handle hh;		/* t->by_cookie, key cookie */
	uint64_t cookie;
	struct release_watch *watch;
	struct release_entry *prev, *next;
};

struct release_tracker {
	int ifd;			/* the inotify instance */
	int infofd;			/* /proc/self/fdinfo/<ifd> */
	struct event *ev;
	struct event *ev_retry;
	release_fn fn;
	void *ctx;
	struct release_watch *by_wd;
	struct release_entry *by_cookie;
	uint32_t epoch;
	bool busy;			/* inside our own event callback */
	bool dead;			/* destroyed from a callback */
};

/*
 * Which kind @fd is: 0 and the mask to watch it with, -EOPNOTSUPP for a
 * kind whose release says nothing about memory, or -errno of fstat.
 */
static int release_kind(int fd, uint32_t *mask)
{
	struct statfs sfs;
	struct stat st;

	if (fd < 0)
		return -EBADF;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
		return -errno;
	if (sfs.f_type == DMA_BUF_MAGIC) {
		*mask = RELEASE_MASK_DMABUF;
		return 0;
	}
	if (S_ISREG(st.st_mode) && st.st_nlink == 0) {
		*mask = RELEASE_MASK_MEMFD;
		return 0;
	}
	return -EOPNOTSUPP;
}

/* Adds (or finds) the watch on @fd's inode: the wd, or -errno. */
static int release_add_watch(int ifd, int fd, uint32_t mask)
{
	char path[32];
	int wd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(ifd, path, mask);
	return wd < 0 ? -errno : wd;
}

/* Unlinks @e from its watch and the cookie table and frees it. */
static void release_entry_free(struct release_tracker *t,
			       struct release_entry *e)
{
	DL_DELETE(e->watch->entries, e);
	HASH_DEL(t->by_cookie, e);
	free(e);
}

/* Frees everything, without callbacks. */
static void release_free(struct release_tracker *t)
{
	struct release_entry *e, *etmp;
	struct release_watch *w, *wtmp;

	HASH_ITER(hh, t->by_cookie, e, etmp) {
		HASH_DEL(t->by_cookie, e);
		free(e);
	}
	HASH_ITER(hh, t->by_wd, w, wtmp) {
		HASH_DEL(t->by_wd, w);
		free(w);
	}
	if (t->ev_retry)
		event_free(t->ev_retry);
	if (t->ev)
		event_free(t->ev);
	if (t->infofd >= 0)
		close(t->infofd);
	if (t->ifd >= 0)
		close(t->ifd);	/* drops every watch left */
	free(t);
}

/*
 * Reports every cookie of @w, which the caller took out of by_wd and
 * marked firing, and frees @w.  A callback may forget a sibling cookie
 * (firing keeps @w alive) or destroy the tracker (the cookies left are
 * then freed with it, unreported).
 */
static void release_fire(struct release_tracker *t, struct release_watch *w,
			 enum release_reason why)
{
	struct release_entry *e;

	while (!t->dead && (e = w->entries)) {
		uint64_t cookie = e->cookie;

		release_entry_free(t, e);
		t->fn(t->ctx, cookie, why);
	}
	if (t->dead) {
		while ((e = w->entries))
			release_entry_free(t, e);
	}
	free(w);
}

/* Takes @w out of by_wd so that release_fire() can report it. */
static void release_doom(struct release_tracker *t, struct release_watch *w)
{
	HASH_DEL(t->by_wd, w);
	w->firing = true;
}

/* One fdinfo line: "inotify wd:<hex> ino:... ". */
static void release_mark_line(struct release_tracker *t, const char *line)
{
	static const char prefix[] = "inotify wd:";
	struct release_watch *w;
	char *end;
	long wd;

	if (strncmp(line, prefix, sizeof(prefix) - 1))
		return;
	errno = 0;
	wd = strtol(line + sizeof(prefix) - 1, &end, 16);
	if (errno || *end != ' ' || wd <= 0 || wd > INT32_MAX)
		return;
	HASH_FIND_INT(t->by_wd, &(int){ (int)wd }, w);
	if (w)
		w->seen = t->epoch;
}

/*
 * Stamps every watch the kernel still has with the current epoch, from
 * the fdinfo of the inotify fd (a seq_file: read again from offset 0, it
 * is generated afresh).  Returns 0 or -errno.
 */
static int release_mark_live(struct release_tracker *t)
{
	char buf[4096];
	size_t have = 0;

	if (lseek(t->infofd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(t->infofd, buf + have, sizeof(buf) - 1 - have);
		char *line = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
			*nl = '\0';
			release_mark_line(t, line);
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		if (n == 0) {
			if (have)
				release_mark_line(t, line);
			return 0;
		}
		if (have == sizeof(buf) - 1)
			return -EOVERFLOW;	/* no line is that long */
		memmove(buf, line, have);
	}
}

/*
 * After lost events: a watch the kernel no longer has was freed; a dma-buf
 * watch it still has may have missed its close, so it is removed and
 * reported unknown; a memfd watch it still has is alive.  Two passes, so
 * that callbacks (which may forget or track) never run inside the walk.
 */
static void release_recover(struct release_tracker *t)
{
	struct release_watch *w, *tmp, *freed = NULL, *unknown = NULL;

	t->epoch++;
	if (release_mark_live(t) < 0) {
		struct timeval tv = { .tv_sec = RELEASE_RETRY_SEC };

		evtimer_add(t->ev_retry, &tv);
		return;
	}
	HASH_ITER(hh, t->by_wd, w, tmp) {
		if (w->seen == t->epoch && !w->dmabuf)
			continue;
		release_doom(t, w);
		if (w->seen != t->epoch) {
			w->next_doomed = freed;
			freed = w;
		} else {
			inotify_rm_watch(t->ifd, w->wd);
			w->next_doomed = unknown;
			unknown = w;
		}
	}
	for (w = freed; w; w = tmp) {
		tmp = w->next_doomed;
		release_fire(t, w, RELEASE_FREED);
	}
	for (w = unknown; w; w = tmp) {
		tmp = w->next_doomed;
		release_fire(t, w, RELEASE_UNKNOWN);
	}
}

/* One event read from the inotify fd.  Sets *@lost on overflow. */
static void release_handle(struct release_tracker *t,
			   const struct inotify_event *ev, bool *lost)
{
	struct release_watch *w;

	if (ev->mask & IN_Q_OVERFLOW) {
		*lost = true;
		return;
	}
	if (!(ev->mask & (IN_IGNORED | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)))
		return;
	/* Absent: forgotten, or removed by us after a close or recovery. */
	HASH_FIND_INT(t->by_wd, &ev->wd, w);
	if (!w)
		return;
	/* A closed dma-buf's inode lives on while the watch pins it. */
	if (!(ev->mask & IN_IGNORED))
		inotify_rm_watch(t->ifd, w->wd);
	release_doom(t, w);
	release_fire(t, w, RELEASE_FREED);
}

static void release_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct release_tracker *t = arg;
	_Alignas(struct inotify_event) char buf[RELEASE_READ_BYTES];
	bool lost = false;
	int round;

	t->busy = true;
	for (round = 0; round < RELEASE_READ_ROUNDS && !t->dead; round++) {
		ssize_t n = read(t->ifd, buf, sizeof(buf));
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Anything but "empty" may have cost events. */
			lost |= errno != EAGAIN;
			break;
		}
		while (off + sizeof(struct inotify_event) <= (size_t)n &&
		       !t->dead) {
			const struct inotify_event *ev =
				(const void *)(buf + off);

			release_handle(t, ev, &lost);
			off += sizeof(*ev) + ev->len;
		}
	}
	if (lost && !t->dead)
		release_recover(t);
	t->busy = false;
	/* libevent lets an event be freed from its own callback when
	 * nothing touches it afterwards, as here. */
	if (t->dead)
		release_free(t);
}

static void release_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct release_tracker *t = arg;

	t->busy = true;
	release_recover(t);
	t->busy = false;
	if (t->dead)
		release_free(t);
}

struct release_tracker *release_create(struct event_base *base, int prio,
				       release_fn fn, void *ctx)
{
	struct release_tracker *t = calloc(1, sizeof(*t));
	char path[48];
	int err;

	if (!t)
		return NULL;
	t->fn = fn;
	t->ctx = ctx;
	t->infofd = -1;
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd < 0)
		goto err_free;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", t->ifd);
	t->infofd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->infofd < 0)
		goto err_free;
	t->ev = event_new(base, t->ifd, EV_READ | EV_PERSIST,
			  release_on_read, t);
	t->ev_retry = evtimer_new(base, release_on_retry, t);
	if (!t->ev || !t->ev_retry ||
	    (prio >= 0 && event_priority_set(t->ev, prio) < 0) ||
	    (prio >= 0 && event_priority_set(t->ev_retry, prio) < 0) ||
	    event_add(t->ev, NULL) < 0) {
		errno = ENOMEM;
		goto err_free;
	}
	return t;

err_free:
	err = errno;
	release_free(t);
	errno = err;
	return NULL;
}

void release_destroy(struct release_tracker *t)
{
	if (!t)
		return;
	if (t->busy) {
		t->dead = true;	/* freed when the callback returns */
		return;
	}
	release_free(t);
}

int release_track(struct release_tracker *t, int fd, uint64_t cookie)
{
	struct release_watch *w;
	struct release_entry *e;
	uint32_t mask;
	int wd, ret;

	HASH_FIND(hh, t->by_cookie, &cookie, sizeof(cookie), e);
	if (e)
		return -EEXIST;
	ret = release_kind(fd, &mask);
	if (ret < 0)
		return ret;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cookie = cookie;
	wd = release_add_watch(t->ifd, fd, mask);
	if (wd < 0) {
		free(e);
		return wd;
	}
	/* A second fd of a watched inode gets the same wd. */
	HASH_FIND_INT(t->by_wd, &wd, w);
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			goto err_rm_watch;
		w->wd = wd;
		w->dmabuf = mask == RELEASE_MASK_DMABUF;
		HASH_ADD_INT(t->by_wd, wd, w);
		if (!w->hh.tbl) {
			free(w);
			goto err_rm_watch;
		}
	}
	e->watch = w;
	HASH_ADD(hh, t->by_cookie, cookie, sizeof(e->cookie), e);
	if (!e->hh.tbl) {
		if (!w->entries) {
			HASH_DEL(t->by_wd, w);
			free(w);
			goto err_rm_watch;
		}
		free(e);
		return -ENOMEM;
	}
	DL_APPEND(w->entries, e);
	return 0;

err_rm_watch:
	inotify_rm_watch(t->ifd, wd);
	free(e);
	return -ENOMEM;
}

int release_forget(struct release_tracker *t, uint64_t cookie)
{
	struct release_watch *w;
	struct release_entry *e;

	HASH_FIND(hh, t->by_cookie, &cookie, sizeof(cookie), e);
	if (!e)
		return -ENOENT;
	w = e->watch;
	release_entry_free(t, e);
	if (w->entries || w->firing)
		return 0;
	/* Its IN_IGNORED, when it comes, finds no watch.  EINVAL when the
	 * inode went already: nothing to undo. */
	inotify_rm_watch(t->ifd, w->wd);
	HASH_DEL(t->by_wd, w);
	free(w);
	return 0;
}

size_t release_pending(const struct release_tracker *t)
{
	return HASH_CNT(hh, t->by_cookie);
}

/* Milliseconds left until @deadline (CLOCK_MONOTONIC), at least 0. */
static int release_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* Waits on @ifd for the event that reports @wd's release. */
static int release_probe_wait(int ifd, int wd)
{
	_Alignas(struct inotify_event) char buf[4096];
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += RELEASE_PROBE_MS * 1000000L;
	deadline.tv_sec += deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	for (;;) {
		struct pollfd p = { .fd = ifd, .events = POLLIN };
		ssize_t n;
		size_t off = 0;
		int ret = poll(&p, 1, release_ms_left(&deadline));

		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret == 0)
			return -EOPNOTSUPP;
		n = read(ifd, buf, sizeof(buf));
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		/* The kernel returns whole events only. */
		while (n > 0 && off < (size_t)n) {
			const struct inotify_event *ev =
				(const void *)(buf + off);

			if (ev->wd == wd && (ev->mask & (IN_IGNORED |
			    IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)))
				return 0;
			off += sizeof(*ev) + ev->len;
		}
	}
}

int release_probe(int fd)
{
	uint32_t mask;
	int ifd, wd, ret;

	ret = release_kind(fd, &mask);
	if (ret == -EBADF)
		return ret;
	if (ret < 0)
		goto out_close;
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0) {
		ret = -errno;
		goto out_close;
	}
	wd = release_add_watch(ifd, fd, mask);
	close(fd);
	fd = -1;
	ret = wd < 0 ? wd : release_probe_wait(ifd, wd);
	close(ifd);	/* drops the watch: a closed dma-buf's inode goes */
out_close:
	if (fd >= 0)
		close(fd);
	return ret;
}
