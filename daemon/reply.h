/* SPDX-License-Identifier: MIT */
/*
 * A Response being built: the protobuf-c structs, the fd it will carry,
 * its error text, and a small arena for the sub-messages handlers add
 * (all freed at once by reply_fini()).
 */
#ifndef DBB_REPLY_H
#define DBB_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmabuf_broker.pb-c.h"
#include "fds.h"

#define REPLY_TEXT_MAX 256

struct reply_chunk;

struct reply {
	DmabufBroker__V1__ServerMessage msg;
	DmabufBroker__V1__Response resp;
	struct fds_set fds;		/* sent with it (reply_add_fd()) */
	bool deferred;			/* answered later (a worker job) */
	char text[REPLY_TEXT_MAX];
	struct reply_chunk *chunks;
	size_t chunk_used;
};

/* Starts a successful, empty reply to request @seq. */
void reply_init(struct reply *r, uint64_t seq);

/* Sets status @status (< 0) and a message; returns @status. */
int reply_error(struct reply *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Zeroed memory that lives until reply_fini(); NULL when out of memory. */
void *reply_alloc(struct reply *r, size_t size);

/* A copy of @s in the arena; NULL when out of memory. */
char *reply_strdup(struct reply *r, const char *s);

/* Adds @fd to what the reply carries: owned (closed by reply_fini() unless
 * sent), or @borrowed (the registry's own, never closed).  Returns 0 or
 * -E2BIG (an owned @fd is then closed). */
int reply_add_fd(struct reply *r, int fd, bool borrowed);

/* Frees the arena and closes the owned fds not handed on. */
void reply_fini(struct reply *r);

#endif
