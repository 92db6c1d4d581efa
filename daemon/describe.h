/* SPDX-License-Identifier: MIT */
/* Turns registry entries into protocol BufferInfo messages. */
#ifndef DBB_DESCRIBE_H
#define DBB_DESCRIBE_H

#include "reply.h"

struct registry_buffer;
struct broker;

enum describe_flags {
	DESCRIBE_HOLDERS = 1 << 0,
};

/* Holders listed per buffer at most (a reply is one frame). */
#define DESCRIBE_MAX_HOLDERS 128u

/*
 * Describes @b, with its holders when @flags has DESCRIBE_HOLDERS; every
 * sub-message and string lives in @r's arena.  Returns NULL when out of
 * memory.
 */
DmabufBroker__V1__BufferInfo *describe_buffer(struct reply *r,
					      const struct broker *br,
					      const struct registry_buffer *b,
					      unsigned flags);

#endif
