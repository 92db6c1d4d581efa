/* SPDX-License-Identifier: MIT */
/*
 * Tells the loop when a buffer's memory is freed, not just when the broker
 * lets go of it: quota is memory, and a holder that keeps an fd (or a
 * mapping) keeps the memory.  One inotify instance watches every tracked
 * buffer's inode through /proc/self/fd/N; the tracker keeps no fd of the
 * buffers it watches.
 *
 * Two kinds of fd, told apart by release_track() itself:
 *
 * - memfds (any unlinked regular file): the kernel reports IN_IGNORED when
 *   the inode's last dentry reference goes, that is when the last open
 *   file description and the last mapping are gone, which is when shmem
 *   frees the pages.  A reopen through /proc/PID/fd is one more
 *   description and keeps the memory, as it should.  Watched with
 *   IN_MOVE_SELF, which cannot fire for a file that has no name, so a
 *   buffer costs one queued event: the IN_IGNORED.
 * - dma-bufs: every dma-buf has one inode and exactly one open file
 *   description (its inode cannot be opened again: -ENXIO); the buffer is
 *   released when that description is.  The inode is not deleted then:
 *   it keeps a link count of 1, and a watch pins it, so no IN_IGNORED
 *   comes (measured: dma-heap, udmabuf, vgem PRIME and dmabuf_sg on 6.12,
 *   vgem and dmabuf_sg on 6.1 give IN_CLOSE_WRITE at release, IN_IGNORED
 *   only once the watch is removed).  So the tracker watches
 *   IN_CLOSE_WRITE | IN_CLOSE_NOWRITE, reports the buffer freed at that
 *   close and removes the watch.  Kernels that mark pseudo files
 *   FMODE_NONOTIFY (from 6.14; this 6.18 host reports no close of a
 *   memfd) presumably report none for a dma-buf either, not measured:
 *   release_probe() tells.  A dma-buf tracked there anyway is never
 *   reported, and its watch keeps its (small) inode until the cookie is
 *   forgotten; its memory is freed all the same.
 * - A dma-buf made by another uid cannot be watched (-EACCES: its inode
 *   is mode 0600, owned by its creator) unless the broker may read it.
 *
 * Anything else (files with a name, sockets, pipes, anon inodes shared by
 * unrelated files) is refused: its close says nothing about memory.
 *
 * Lost events.  The kernel queues at most max_queued_events events
 * (/proc/sys/fs/inotify, 16384 by default) and then drops them with one
 * IN_Q_OVERFLOW.  The tracker then re-reads the set of live watches from
 * /proc/self/fdinfo of its inotify fd (kept open from the start, so no fd
 * is needed at that point): a memfd watch that is no longer there was
 * freed (RELEASE_FREED); a dma-buf watch is still there whether or not its
 * close was dropped, so its fate cannot be told: the watch is removed and
 * the cookie reported RELEASE_UNKNOWN.  A broker that still holds such a
 * buffer's fd can track it again; for one it no longer holds, keeping the
 * charge is the safe choice against abuse, dropping it the safe choice
 * against leaking quota.  The recovery walks every tracked buffer once
 * (the only walk in this file); an unexpected read error is handled the
 * same way, and if fdinfo cannot be read the recovery is retried every
 * second.
 *
 * Every callback runs on the loop, from the tracker's own event, never
 * inside a call of the caller's.  Single-threaded, like the loop.
 */
#ifndef DBB_RELEASE_H
#define DBB_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

enum release_reason {
	RELEASE_FREED = 0,	/* the memory is freed */
	RELEASE_UNKNOWN = 1,	/* events were lost; see above */
};

/*
 * Called once per tracked cookie, unless it was forgotten first; the
 * tracker has forgotten the cookie before the call, so the same cookie may
 * be tracked again from inside it.  The callback may call release_track()
 * and release_forget(); it may call release_destroy(), after which no
 * further callback comes.
 */
typedef void (*release_fn)(void *ctx, uint64_t cookie,
			   enum release_reason why);

struct release_tracker;

/*
 * Creates a tracker whose events are read on @base at event priority @prio
 * (-1: the base's default).  Give it a higher priority than client
 * requests: when the broker closes the last reference itself (Destroy of a
 * buffer nobody else holds), that close() queues the event, so at a
 * higher priority the release is reported before the client's next
 * request is read, and an Alloc right after a Destroy is not refused over
 * a charge that is already gone.
 *
 * Returns NULL with errno set: EMFILE or ENFILE (no fd; two are needed),
 * ENOENT (/proc not mounted), ENOMEM, or the errno of inotify_init1():
 * EMFILE also when the user's inotify instances (max_user_instances) are
 * used up.
 */
struct release_tracker *release_create(struct event_base *base, int prio,
				       release_fn fn, void *ctx);

/* Stops watching everything, without callbacks, and frees the tracker.
 * Accepts NULL. */
void release_destroy(struct release_tracker *t);

/*
 * Starts watching the buffer @fd refers to, under @cookie (any value,
 * unique among tracked cookies).  @fd stays the caller's; it may be closed
 * right after.  Two cookies may share one buffer (two fds of one memfd, or
 * one dma-buf published twice): both are reported when it is freed.
 *
 * Returns 0, or -EBADF (@fd is not open), -EEXIST (@cookie is tracked),
 * -EOPNOTSUPP (not a memfd or dma-buf, see above), -ENOSPC (the user's
 * inotify watches, /proc/sys/fs/inotify/max_user_watches, are used up),
 * -EACCES (the inode is not readable by the broker: a dma-buf created by
 * another uid), -ENOMEM.  Nothing changes on failure.
 */
int release_track(struct release_tracker *t, int fd, uint64_t cookie);

/* Stops watching @cookie; no callback comes for it.  Returns 0 or -ENOENT
 * when it is not tracked (already reported, or never tracked). */
int release_forget(struct release_tracker *t, uint64_t cookie);

/* The number of cookies tracked and not yet reported. */
size_t release_pending(const struct release_tracker *t);

/*
 * Checks, for one kind of buffer on this kernel, that release is reported:
 * takes @fd, a fresh buffer of that kind of which it must be the only
 * reference (no dup, mapping or other holder), closes it and waits up to
 * 250 ms for the event release_track() relies on.  For a backend's probe
 * at start; it needs no tracker and runs no loop.
 *
 * Returns 0 when the release was reported, -EOPNOTSUPP when it was not
 * (expected of dma-bufs on kernels with FMODE_NONOTIFY pseudo files, see
 * above; also when another holder kept the buffer) or the kind is
 * refused as by release_track(), else a negative errno of the set-up
 * (@fd is closed in every case, -EBADF aside).
 */
int release_probe(int fd);

#endif
