/* SPDX-License-Identifier: MIT */
/*
 * Pools: N buffers of one layout under one id.  The members are ordinary
 * registry buffers (their pool_id and pool_index say where they belong)
 * whose owner, grants and lifetime are the pool's; this table only knows
 * which buffers make up which pool, by id and by name.  A pool is
 * unlinked as soon as its first member leaves the registry (it is ending:
 * requests no longer find it, its name is free) and is freed with its last
 * member.  No sockets, events or backends here.
 */
#ifndef DBB_POOL_H
#define DBB_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include <uthash.h>

/* Members of one pool at most (DBB_POOL_MAX_BUFFERS of the public
 * header). */
#define POOL_MAX_BUFFERS 32u

struct queue;
struct registry_buffer;

struct pool {
	UT_hash_handle hh_id;
	UT_hash_handle hh_name;		/* in the table only when named */
	uint64_t id;
	char *name;			/* NULL: unnamed */
	uint64_t created_usec;		/* CLOCK_REALTIME */
	uint32_t count;
	uint32_t live;			/* members still in the registry */
	bool linked;			/* found by requests: not ending */
	struct registry_buffer *members[POOL_MAX_BUFFERS];
	struct queue *queue;		/* NULL: none (queue.c's) */
};

struct pool_set;

/* An empty set; NULL when out of memory. */
struct pool_set *pool_set_create(void);

/* Frees the set and every pool still in it (not their members, which
 * are the registry's, nor their queues).  Accepts NULL. */
void pool_set_destroy(struct pool_set *set);

/*
 * A new pool of @count (1..POOL_MAX_BUFFERS) members, none set yet, with
 * @id (higher than any pool's so far: the table stays in id order) and
 * @name (NULL or "": unnamed; copied).  Returns 0 and sets *@out,
 * -EINVAL for a bad count or id, -EEXIST when a pool has @name, -ENOMEM.
 */
int pool_add(struct pool_set *set, uint64_t id, const char *name,
	     uint32_t count, uint64_t created_usec, struct pool **out);

/* Records @b as member @index of @pool (both unset so far): -EINVAL
 * otherwise, else 0. */
int pool_set_member(struct pool *pool, uint32_t index,
		    struct registry_buffer *b);

/* Marks @pool as ending: requests no longer find it and its name is
 * free.  Does nothing to a pool ending already. */
void pool_unlink(struct pool_set *set, struct pool *pool);

/*
 * Member @index of @pool left the registry: unlinks the pool if it was
 * not, and returns true when that was the last member (the caller then
 * frees @pool with pool_remove()).
 */
bool pool_member_gone(struct pool_set *set, struct pool *pool,
		      uint32_t index);

/* Takes @pool out of the set and frees it.  Accepts a NULL @pool. */
void pool_remove(struct pool_set *set, struct pool *pool);

/* Lookups among the pools not ending; NULL when absent. */
struct pool *pool_by_id(const struct pool_set *set, uint64_t id);
struct pool *pool_by_name(const struct pool_set *set, const char *name);

/* The pool @id, ending or not (for its members); NULL when absent. */
struct pool *pool_find(const struct pool_set *set, uint64_t id);

/* The pool not ending with the smallest id > @after_id, or NULL; then
 * the next such one in id order. */
struct pool *pool_after(const struct pool_set *set, uint64_t after_id);
struct pool *pool_next(const struct pool *pool);

/* Pools not ending. */
uint32_t pool_count(const struct pool_set *set);

#endif
