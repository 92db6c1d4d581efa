/* SPDX-License-Identifier: MIT */
/*
 * One function per request type.  Each fills @r (status, message, body,
 * fd) and returns 0 or the negative errno it put in the reply.  A handler
 * may also kill the client (only Hello does, for a wrong version).
 *
 *   handlers_session.c  Hello, Watch
 *   handlers_buffer.c   Alloc, Import, Publish, Grant, Release, Destroy
 *   handlers_query.c    List, Info, Stats, Backends
 */
#ifndef DBB_HANDLERS_H
#define DBB_HANDLERS_H

#include "dmabuf_broker.pb-c.h"
#include "reply.h"

struct client;

typedef int (*handler_fn)(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r);

int handlers_session_hello(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r);
int handlers_session_watch(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r);

int handlers_buffer_alloc(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r);
int handlers_buffer_import(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r);
int handlers_buffer_publish(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r);
int handlers_buffer_grant(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r);
int handlers_buffer_release(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r);
int handlers_buffer_destroy(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r);

int handlers_query_list(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r);
int handlers_query_info(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r);
int handlers_query_stats(struct client *c,
			 const DmabufBroker__V1__Request *req,
			 struct reply *r);
int handlers_query_backends(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r);

#endif
