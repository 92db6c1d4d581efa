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

#define REPLY_TEXT_MAX 256

struct reply_chunk;

struct reply {
	DmabufBroker__V1__ServerMessage msg;
	DmabufBroker__V1__Response resp;
	int fd;				/* -1: none */
	bool fd_borrowed;		/* fd is the registry's: never closed */
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

/* Frees the arena and closes the fd unless it was handed on or is
 * borrowed. */
void reply_fini(struct reply *r);

#endif
