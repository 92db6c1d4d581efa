/* SPDX-License-Identifier: MIT */
/*
 * Routes one decoded request to its handler, enforces the Hello gate, and
 * sends the reply.
 */
#ifndef DBB_DISPATCH_H
#define DBB_DISPATCH_H

#include "dmabuf_broker.pb-c.h"

struct client;

/* Handles @req from @c; may kill @c (protocol violation). */
void dispatch_request(struct client *c, const DmabufBroker__V1__Request *req);

struct reply;

/* Counts @r and sends it to @c unless @c is dead; the fd in @r goes
 * with it (or is dup'd when borrowed).  @r still needs reply_fini(). */
void dispatch_send_reply(struct client *c, struct reply *r);

#endif
