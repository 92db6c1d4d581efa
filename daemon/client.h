/* SPDX-License-Identifier: MIT */
/*
 * One connection as the broker sees it: its credentials, its Hello gate
 * and deadline, its books in the registry, and its requests, each checked
 * against the gate and its fd count and handed to its handler (the table
 * in client.c).  The socket, framing and output queue are its peer's
 * (peer.c).  A protocol violation kills the client.  A
 * client is never freed inside its own callback: client_kill() marks it
 * dead and the server frees it from a deferred event.
 */
#ifndef DBB_CLIENT_H
#define DBB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "fds.h"
#include "log.h"
#include "policy.h"

#define CLIENT_NAME_MAX 64

struct broker;
struct client;
struct peer;
struct registry_conn;
struct worker_job;

/* Who created a client and frees it: told once it is dead, it frees it
 * later, outside the client's callbacks (client_free()). */
struct client_owner {
	void (*dead)(void *ctx, struct client *c);
	void *ctx;
};

struct client {
	struct broker *broker;
	struct client_owner owner;
	struct client *prev, *next;		/* the owner's list */
	struct client *watch_prev, *watch_next;	/* watch.c's list */
	struct client *dead_next;		/* the owner's reap list */
	struct peer *peer_conn;		/* the socket: framing and queue */
	struct event *ev_hello;		/* Hello deadline; NULL: none/done */
	struct registry_conn *conn;
	struct worker_job *job;		/* in flight: reading paused; or NULL */
	uint64_t id;
	bool hello;		/* Hello accepted */
	bool watching;
	bool dead;		/* killed; waiting to be freed */
	bool no_resume;		/* violation or Goodbye: nothing is kept */
	bool closing;		/* kill once the queue is flushed */
	struct policy_peer peer;
	/* The client's pidfd (pidfd_of_peer()), which the backends that
	 * charge memory cgroups name it by; or the negative errno of why
	 * there is none.  Closed with the client. */
	int pidfd;
};

/*
 * Creates a client for the accepted socket @fd (owned from then on, closed
 * on failure too) and starts reading.  Unless the config's hello_timeout
 * is 0, the client is disconnected as a protocol violation when it has not
 * completed Hello that many seconds later.  Returns NULL on failure.
 */
struct client *client_create(struct broker *b,
			     const struct client_owner *owner, int fd,
			     uint64_t id, const struct policy_peer *peer);

/* Frees a dead client: closes its socket and queued fds, and hands its
 * books in the registry to the broker's resumable sessions (resume.c),
 * or drops them when they are not kept.  Only its owner calls this,
 * after being told. */
void client_free(struct client *c);

/* Marks @c dead (logging @why at debug level unless NULL) and schedules
 * its freeing.  Safe to call more than once and from any callback. */
void client_kill(struct client *c, const char *why);

/* Records that @c completed Hello and drops its Hello deadline. */
void client_hello_done(struct client *c);

/* Stops reading from @c and disconnects it once its queued output (the
 * reply being built included) has been sent. */
void client_close_after_reply(struct client *c);

/*
 * Parks @c on @job (sets its client): no further request of @c is read
 * until client_job_done(), so replies keep request order.  If @c dies
 * first, job->client is set to NULL and @c forgets the job.
 */
void client_wait_job(struct client *c, struct worker_job *job);

/* @c's job finished (its reply is sent): reads requests again. */
void client_job_done(struct client *c);

/* Kills @c for breaking the protocol, logging @why as a (rate-limited)
 * notice: the daemon's one message about it.  Nothing of @c is kept for a
 * resume. */
void client_violation(struct client *c, const char *why);

/*
 * Sends @msg to @c with the fds in @fds (NULL: none), at once when nothing
 * is queued, else queued.  @fds is emptied in every case: its owned fds
 * pass to the client (or are closed), its borrowed ones (the registry's
 * own) are sent as is, or dup'd for the queue, and never closed.  Returns
 * 0, or a negative errno after which @c is dead (-ENOBUFS: queue
 * overflow).
 */
int client_send(struct client *c, const ProtobufCMessage *msg,
		struct fds_set *fds);

/* Same with a frame packed already (copied when queued). */
int client_send_packed(struct client *c, const uint8_t *data, size_t len,
		       struct fds_set *fds);

struct reply;

/* Counts @r and sends it to @c unless @c is dead; the fds in @r go with it
 * (borrowed ones dup'd if it must wait).  @r still needs reply_fini(). */
void client_send_reply(struct client *c, struct reply *r);

/* The log context of @c (client id, uid, pid). */
struct log_ctx client_log_ctx(const struct client *c);

#endif
