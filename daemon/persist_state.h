/* SPDX-License-Identifier: MIT */
/*
 * The state persist.c keeps in its memfds: a header (magic, generation,
 * length, FNV-1a checksum) and then a packed PersistedState
 * (proto/dmabuf_broker.proto).  A writer puts the message first and the
 * header last, so a write cut short leaves a slot whose header does not
 * match what follows: not believed, and the other slot is used.
 */
#ifndef DBB_PERSIST_STATE_H
#define DBB_PERSIST_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dmabuf_broker.pb-c.h"

struct broker;
struct registry_buffer;

/* Whether buffer @b belongs in the state. */
typedef bool (*persist_state_keep_fn)(void *ctx,
				      const struct registry_buffer *b);

/*
 * Packs the buffers of @br's registry that @keep keeps, the pools whose
 * members it keeps, and @id_limit, into a malloc'ed buffer *@out.
 * Returns its length, or -ENOMEM.
 */
ssize_t persist_state_pack(const struct broker *br, uint64_t id_limit,
			   persist_state_keep_fn keep, void *ctx,
			   uint8_t **out);

/* Writes @len bytes of packed state at @buf into memfd @fd as generation
 * @generation.  Returns 0 or a negative errno. */
int persist_state_write(int fd, uint64_t generation, const uint8_t *buf,
			size_t len);

/*
 * The state in memfd @fd (slot @slot, for messages) and its generation, or
 * NULL: never written, or not believed (no header, a length past its end,
 * a checksum that does not match, a message that does not decode; logged).
 * Free with dmabuf_broker__v1__persisted_state__free_unpacked().
 */
DmabufBroker__V1__PersistedState *persist_state_read(int fd, unsigned slot,
						     uint64_t *generation);

#endif
