/* SPDX-License-Identifier: MIT */
/* Turns registry entries into protocol BufferInfo messages. */
#ifndef DBB_DESCRIBE_H
#define DBB_DESCRIBE_H

#include "reply.h"

struct broker;
struct policy_peer;
struct pool;
struct queue;
struct registry_buffer;

enum describe_flags {
	DESCRIBE_HOLDERS = 1 << 0,
	/* Who is behind the owner and the holders: their pids, client
	 * names, uids and connection ids.  Only for root and the owner
	 * (describe_flags_for()); others see the owner's uid and each hold
	 * as an anonymous entry that says only whether it is writable. */
	DESCRIBE_PRIVATE = 1 << 1,
	/* A pool's members, in index order. */
	DESCRIBE_MEMBERS = 1 << 2,
	/* A queue consumer's counters. */
	DESCRIBE_COUNTERS = 1 << 3,
};

/* Holders listed per buffer at most (a reply is one frame). */
#define DESCRIBE_MAX_HOLDERS 128u

/*
 * Describes @b, with its holders when @flags has DESCRIBE_HOLDERS and
 * who they are when it has DESCRIBE_PRIVATE; every
 * sub-message and string lives in @r's arena.  Returns NULL when out of
 * memory.
 */
DmabufBroker__V1__BufferInfo *describe_buffer(struct reply *r,
					      const struct broker *br,
					      const struct registry_buffer *b,
					      unsigned flags);

/* DESCRIBE_PRIVATE when @viewer may see who is behind @b (root or its
 * owner), else 0. */
unsigned describe_flags_for(const struct policy_peer *viewer,
			    const struct registry_buffer *b);

/*
 * Describes @pool (not ending: every member there) as describe_buffer()
 * does a buffer, its queue when it has one (counters read from its page;
 * who produces and consumes only with DESCRIBE_PRIVATE),
 * and its members (without their holders) when @flags has
 * DESCRIBE_MEMBERS.  NULL when out of memory.
 */
DmabufBroker__V1__PoolInfo *describe_pool(struct reply *r,
					  const struct broker *br,
					  const struct pool *pool,
					  unsigned flags);

/* Describes the consumer in @slot of @q (taken): who it is with
 * DESCRIBE_PRIVATE, its counters with DESCRIBE_COUNTERS.  NULL when out
 * of memory. */
DmabufBroker__V1__QueueConsumerInfo *
describe_consumer(struct reply *r, const struct queue *q, int slot,
		  unsigned flags);

#endif
