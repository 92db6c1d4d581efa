/* SPDX-License-Identifier: MIT */
/*
 * Crash safety through systemd's fd store (sd_notify(3): FDSTORE=1).
 * Each persistent buffer's fd is stored as "dbb-buf-<id>"; its metadata
 * (name, owner, grants, layout, backend by name, size, creation time) and
 * the high-water mark of ids live in a PersistedState message
 * (proto/dmabuf_broker.proto) in two memfds stored as "dbb-state-0" and
 * "dbb-state-1", written in turn so that a write cut short by SIGKILL
 * leaves the previous state intact.  Both are rewritten in place on every
 * change: systemd keeps the same open files, so nothing is stored again.
 *
 * At start, the fds systemd passes back (LISTEN_FDS, after the socket's)
 * are matched to the newest intact state: each buffer returns under its
 * id and name, owned and charged as before, with its grants.  Whatever
 * cannot be trusted (a fd without metadata, metadata without its fd, a
 * size or backend that does not match) is logged, closed and removed from
 * the store.  Ids handed out by the earlier run are never handed out again.
 *
 * Persistence is on when NOTIFY_SOCKET is set.  The store holds $FDSTORE
 * fds (set by systemd from 254 on) or else PERSIST_DEFAULT_STORE_MAX, the
 * FileDescriptorStoreMax= of the unit this project ships; when it is full
 * a persistent Alloc is refused (persist_room()).  If the store cannot be
 * reached later, persistence turns off with one log line.
 *
 * Client-lifetime buffers of connections that can resume (resume.c: they
 * hold a token) are stored too, with the digest of the owner's token, while
 * they take at most half the store (never refused).  They come back as a
 * detached session (resume_restore()) that the token takes back within the
 * grace period, counted from the restart.
 */
#ifndef DBB_PERSIST_H
#define DBB_PERSIST_H

#include <stdbool.h>

/* What the unit's FileDescriptorStoreMax= is when $FDSTORE does not say. */
#define PERSIST_DEFAULT_STORE_MAX 4096u

/* Names of the fds this file stores start with this. */
#define PERSIST_FDNAME_PREFIX "dbb-"

struct broker;
struct persist;
struct registry_conn;

/*
 * Takes the fds of ours that systemd passed, leaving the others (the
 * listening socket) to the server.  Call before sd_listen_fds(1) consumes
 * the environment, and close none of them until the server has taken its
 * own (it checks each passed fd).  Returns NULL when out of memory.
 */
struct persist *persist_create(struct broker *br);

/*
 * Puts back the buffers the fds hold into @p's broker's registry
 * (announced), closes what cannot be trusted, and from then on keeps the
 * store current through the registry's events; off, with a log line, when
 * not under systemd.  Call once the registry exists and the server has
 * its socket, before any client is served.  Returns 0 or a negative
 * errno.
 */
int persist_start(struct persist *p);

/* Whether @name (from LISTEN_FDNAMES) is one of the fds this file stores. */
bool persist_fdname_is_ours(const char *name);

/*
 * Whether @count more persistent buffers can be made crash-safe: 0, or
 * -ENOSPC when the fd store has no room for them.  When persistence is
 * off (not under systemd, or the store was lost) it is 0: the buffers
 * then last until the broker exits, as was logged.  Accepts NULL (0).
 */
int persist_room(const struct persist *p, unsigned count);

/* @conn got a new resume token: the state names its client-lifetime
 * buffers by the token's digest.  Accepts a NULL @p. */
void persist_session_changed(struct persist *p,
			     const struct registry_conn *conn);

/* Stops changing the store: the registry's teardown at exit must not
 * remove what the next start restores.  Accepts NULL. */
void persist_stop(struct persist *p);

/* Frees @p after the registry is destroyed.  Accepts NULL. */
void persist_destroy(struct persist *p);

#endif
