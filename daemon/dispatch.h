/* SPDX-License-Identifier: MIT */
/*
 * Routes one decoded request to its handler, enforces the Hello gate, and
 * sends the reply.
 */
#ifndef DBB_DISPATCH_H
#define DBB_DISPATCH_H

#include "dmabuf_broker.pb-c.h"

struct client;

#include <stddef.h>

/* The most fds a request carries (Pin and Adopt carry one). */
#define DISPATCH_MAX_FDS 1

/*
 * Handles @req from @c with the @nfds fds that came with it: a request
 * type that carries another number of fds than its own is a protocol
 * violation.  A handler that keeps an fd sets its slot to -1; the caller
 * closes the rest.  May kill @c.
 */
void dispatch_request(struct client *c, const DmabufBroker__V1__Request *req,
		      int *fds, size_t nfds);

struct reply;

/* Counts @r and sends it to @c unless @c is dead; the fd in @r goes
 * with it (or is dup'd when borrowed).  @r still needs reply_fini(). */
void dispatch_send_reply(struct client *c, struct reply *r);

#endif
