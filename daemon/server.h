/* SPDX-License-Identifier: MIT */
/*
 * The server around the broker: the listening socket, accepting with an
 * EMFILE back-off, the connected clients and the reaper that frees dead
 * ones outside their own callbacks.  Handlers see only server.broker.
 */
#ifndef DBB_SERVER_H
#define DBB_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "broker.h"

struct backend_set;
struct config;

struct client;

struct server {
	struct broker broker;		/* what the handlers see */
	int listen_fd;
	char *path;			/* where we listen, for messages */
	bool unlink_path;		/* we bound it: remove it at exit */
	bool accept_paused;		/* in an EMFILE back-off */
	struct event *ev_accept;
	struct event *ev_backoff;	/* re-arms accept after EMFILE */
	struct event *ev_reap;		/* frees dead clients */
	struct client *clients;		/* live and dying, DL */
	struct client *dead;		/* waiting for ev_reap, via dead_next */
	bool stopping;			/* no events while tearing down */
};

/*
 * Sets up @s on @base with @cfg and @backends (both must outlive it):
 * the registry, the worker, the quota keeper, the watchers and the
 * resumable sessions.  Returns 0
 * or a negative errno.
 */
int server_init(struct server *s, struct event_base *base,
		const struct config *cfg, struct backend_set *backends);

/*
 * Takes the socket systemd passed (sd_listen_fds) or binds cfg's path,
 * then starts accepting.  Returns 0 or a negative errno (logged).
 */
int server_listen(struct server *s);

/* The socket path clients should use (the bound or configured one). */
const char *server_socket_path(const struct server *s);

/* Disconnects every client, frees the registry and the events, unlinks a
 * socket it bound.  Accepts a server that failed half-way through init. */
void server_fini(struct server *s);

#endif
