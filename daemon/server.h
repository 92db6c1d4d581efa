/* SPDX-License-Identifier: MIT */
/*
 * The broker as a whole: the listening socket, the connected clients, the
 * registry and backends they share, and the counters Stats reports.
 */
#ifndef DBB_SERVER_H
#define DBB_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "dmabuf_broker.pb-c.h"

#define SERVER_VERSION "0.1.0"
#define SERVER_PROTOCOL_VERSION 1u

/*
 * Event priorities: accepting connections and freeing dead clients come
 * before client requests, so that a reply (e.g. Stats) never describes a
 * state in which a connection already made or closed is not yet counted.
 */
#define SERVER_PRIO_HIGH 0
#define SERVER_PRIO_CLIENT 1
#define SERVER_NPRIO 2

struct backend_set;
struct client;
struct config;
struct quota;
struct registry;
struct registry_buffer;
struct worker;

struct server {
	struct event_base *base;
	const struct config *cfg;
	struct backend_set *backends;
	struct registry *reg;
	struct worker *worker;		/* allocates large buffers */
	struct quota *quota;		/* charges kept until memory is freed */
	int listen_fd;
	char *path;			/* where we listen, for messages */
	bool unlink_path;		/* we bound it: remove it at exit */
	bool accept_paused;		/* in an EMFILE back-off */
	struct event *ev_accept;
	struct event *ev_backoff;	/* re-arms accept after EMFILE */
	struct event *ev_reap;		/* frees dead clients */
	struct client *clients;		/* live and dying, DL */
	struct client *watchers;	/* those that asked to Watch, DL */
	struct client *dead;		/* waiting for ev_reap, via dead_next */
	uint32_t nclients;
	bool stopping;			/* no events while tearing down */
	uint64_t next_client_id;
	uint64_t requests;
	uint64_t errors;
	uint64_t start_usec;		/* CLOCK_MONOTONIC */
};

/*
 * Sets up @s on @base with @cfg and @backends (both must outlive it) and
 * creates the registry.  Returns 0 or a negative errno.
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

/* Queues @c for freeing from ev_reap (never inside its own callback). */
void server_schedule_reap(struct server *s, struct client *c);

/* Adds or removes @c from the watchers. */
void server_set_watching(struct server *s, struct client *c, bool on);

/* Sends an event about @b to every watching client. */
void server_broadcast(struct server *s, DmabufBroker__V1__Event__Type type,
		      const struct registry_buffer *b);

/* Microseconds since the server started. */
uint64_t server_uptime_usec(const struct server *s);

#endif
