/* SPDX-License-Identifier: MIT */
/*
 * A small service manager for the restart tests, speaking to the daemon
 * as systemd does to a socket-activated Type=notify service with an fd
 * store: it owns the listening socket and a NOTIFY_SOCKET, keeps the fds
 * the daemon sends with FDSTORE=1 under their FDNAME (FDSTOREREMOVE=1
 * drops every fd of a name; an fd of a file already stored is not stored
 * twice), and starts the daemon with LISTEN_FDS / LISTEN_FDNAMES /
 * LISTEN_PID: the socket first (named "dmabuf-brokerd.socket"), then the
 * store in the order it was filled.  A thread reads the notify socket all
 * the time, as PID 1 would, so the daemon never blocks on it.
 *
 * Functions return 0 or a negative errno unless said otherwise.
 */
#ifndef DBB_TEST_SUPERVISOR_H
#define DBB_TEST_SUPERVISOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

#define SUPERVISOR_STORE_MAX 256
#define SUPERVISOR_NAME_MAX 256

struct supervisor_fd {
	char name[SUPERVISOR_NAME_MAX];
	int fd;
};

struct supervisor {
	struct harness_daemon d;	/* dir, socket, config, log; pid */
	char notify[HARNESS_PATH + 16];
	int notify_fd;
	int listen_fd;
	const char *fdstore_env;	/* $FDSTORE for the daemon, or NULL */
	pthread_t reader;
	bool reader_running;
	pthread_mutex_t lock;		/* the fields below */
	struct supervisor_fd store[SUPERVISOR_STORE_MAX];
	size_t nstore;
	unsigned ready;			/* READY=1 messages seen */
	unsigned refused;		/* fds past SUPERVISOR_STORE_MAX */
};

/*
 * Sets up a temp dir with @config (NULL: harness_default_config), the
 * listening socket and the notify socket, and starts the daemon on
 * harness_backend(); returns once it said READY=1.  @fdstore (may be
 * NULL) is passed as $FDSTORE, the store's size as systemd 254 and later
 * announce it.
 */
int supervisor_start(struct supervisor *s, const char *config,
		     const char *fdstore);

/* Kills the daemon with SIGKILL and reaps it; what it sent before dying
 * is read into the store. */
int supervisor_kill(struct supervisor *s);

/* Stops the daemon with SIGTERM as `systemctl restart` does: returns its
 * exit code (0: clean). */
int supervisor_term(struct supervisor *s);

/* Starts the daemon again with the socket and the store; returns once it
 * said READY=1 (-ECHILD: it exited, its log is printed). */
int supervisor_restart(struct supervisor *s);

/* Stops the daemon (SIGTERM) if it runs, closes the store and the
 * sockets, removes the temp dir.  Safe to call twice. */
void supervisor_fini(struct supervisor *s);

/* A dup of the stored fd called @name (-ENOENT: none). */
int supervisor_stored(struct supervisor *s, const char *name);

/* Puts a dup of @fd into the store under @name, as if the daemon had. */
int supervisor_add(struct supervisor *s, const char *name, int fd);

/* The number of fds in the store. */
size_t supervisor_nstored(struct supervisor *s);

/* Waits until the store has the fd called @name (@present) or no longer
 * has it (!@present), within @timeout_ms: 0 or -ETIMEDOUT. */
int supervisor_wait_stored(struct supervisor *s, const char *name,
			   bool present, int timeout_ms);

#endif
