/* SPDX-License-Identifier: MIT */
/*
 * One framed SEQPACKET connection, knowing nothing of the protocol: it
 * reads one datagram (and its fds) per wakeup and hands it up, and sends
 * frames with their fd sets at once or from a bounded queue, with EV_WRITE
 * armed only while something is queued.  While reading is paused, a
 * hang-up of the other side is still noticed (EV_CLOSED) and reported.  What breaks the connection is
 * reported once through lost(); the peer then does nothing more until its
 * owner frees it.
 */
#ifndef DBB_PEER_H
#define DBB_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "fds.h"

/* Bounds of the output queue; past either the peer is lost. */
#define PEER_MAX_QUEUE_FRAMES 256u
#define PEER_MAX_QUEUE_BYTES (4u * 1024u * 1024u)
/* The most fds one incoming frame may carry. */
#define PEER_MAX_RX_FDS DBB_WIRE_MAX_REQUEST_FDS

/*
 * What the output queues of several peers (one uid's connections) may
 * hold together, on top of each queue's own bounds; past either the peer
 * whose frame would not fit is lost.  0: unlimited.
 */
struct peer_budget {
	size_t bytes, fds;		/* queued now */
	size_t max_bytes, max_fds;
};

enum peer_loss {
	PEER_LOST_EOF,		/* the other side closed */
	PEER_LOST_ERROR,	/* a send or receive failed, or out of memory */
	PEER_LOST_VIOLATION,	/* oversized frame, too many fds, queue overflow */
};

struct peer_ops {
	/* One datagram: @len bytes at @data (valid during the call) and
	 * @nfds fds that the callee owns.  Returns false when the peer must
	 * not read on in this wakeup (paused, lost, closing). */
	bool (*frame)(void *ctx, const uint8_t *data, size_t len, int *fds,
		      size_t nfds);
	/* The connection broke; @why for the log. */
	void (*lost)(void *ctx, enum peer_loss loss, const char *why);
	/* Every queued frame has gone out (the queue was not empty). */
	void (*drained)(void *ctx);
};

struct peer;

/*
 * Wraps the connected socket @fd (owned from then on, closed on failure
 * too) with events at priority @prio on @base, frames up to @max_frame
 * bytes, and starts reading.  Returns NULL on failure.
 */
struct peer *peer_create(struct event_base *base, int fd, int prio,
			 size_t max_frame, const struct peer_ops *ops,
			 void *ctx);

/* Closes the socket and drops queued frames.  Accepts NULL. */
void peer_free(struct peer *p);

/* Counts @p's queue against @b (which must outlive @p) from now on; set
 * while nothing is queued. */
void peer_set_budget(struct peer *p, struct peer_budget *b);

/* Stops or resumes reading (a request in flight, a final reply). */
void peer_pause(struct peer *p, bool paused);

/* Stops everything after a loss or before freeing: no more callbacks. */
void peer_stop(struct peer *p);

/*
 * Sends a packed frame with @fds (NULL: none) at once when nothing is
 * queued, else queues a copy.  @fds is emptied in every case (owned fds
 * pass on or are closed; borrowed ones are dup'd for the queue).  Returns
 * 0, or a negative errno after which lost() has been called.
 */
int peer_send(struct peer *p, const uint8_t *data, size_t len,
	      struct fds_set *fds);

/* Whether frames wait in the queue. */
bool peer_queued(const struct peer *p);

#endif
