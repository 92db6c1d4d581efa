/* SPDX-License-Identifier: MIT */
#include "reply.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPLY_CHUNK_SIZE 16384u

struct reply_chunk {
	struct reply_chunk *next;
	size_t size;
	max_align_t data[];
};

/*
 * One chunk kept for reuse: most replies need a single small chunk, and the
 * loop is single-threaded, so the common case allocates nothing.  A reply
 * built while another is alive (an event during a request) mallocs.
 */
static struct {
	bool busy;
	union {
		struct reply_chunk chunk;
		char bytes[sizeof(struct reply_chunk) + REPLY_CHUNK_SIZE];
	} u;
} reply_spare;

static struct reply_chunk *reply_chunk_new(size_t cap)
{
	struct reply_chunk *c;

	if (cap <= REPLY_CHUNK_SIZE && !reply_spare.busy) {
		reply_spare.busy = true;
		c = &reply_spare.u.chunk;
	} else {
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
	}
	c->size = cap;
	return c;
}

static void reply_chunk_free(struct reply_chunk *c)
{
	if (c == &reply_spare.u.chunk)
		reply_spare.busy = false;
	else
		free(c);
}

void reply_init(struct reply *r, uint64_t seq)
{
	memset(r, 0, sizeof(*r));
	dmabuf_broker__v1__server_message__init(&r->msg);
	dmabuf_broker__v1__response__init(&r->resp);
	r->resp.seq = seq;
	r->msg.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE;
	r->msg.response = &r->resp;
	fds_init(&r->fds);
}

int reply_add_fd(struct reply *r, int fd, bool borrowed)
{
	return fds_add(&r->fds, fd, borrowed);
}

int reply_error(struct reply *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	r->resp.status = status;
	r->resp.message = r->text;
	return status;
}

void *reply_alloc(struct reply *r, size_t size)
{
	struct reply_chunk *c = r->chunks;
	size_t need = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *p;

	if (!c || r->chunk_used + need > c->size) {
		size_t cap = need > REPLY_CHUNK_SIZE ? need : REPLY_CHUNK_SIZE;

		c = reply_chunk_new(cap);
		if (!c)
			return NULL;
		c->next = r->chunks;
		r->chunks = c;
		r->chunk_used = 0;
	}
	p = (char *)c->data + r->chunk_used;
	r->chunk_used += need;
	return memset(p, 0, need);
}

char *reply_strdup(struct reply *r, const char *s)
{
	size_t len = strlen(s);
	char *p = reply_alloc(r, len + 1);

	if (p)
		memcpy(p, s, len + 1);
	return p;
}

void reply_fini(struct reply *r)
{
	struct reply_chunk *c = r->chunks, *next;

	for (; c; c = next) {
		next = c->next;
		reply_chunk_free(c);
	}
	r->chunks = NULL;
	fds_drop(&r->fds);
}
