/* SPDX-License-Identifier: MIT */
#include "pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pool_set {
	struct pool *by_id;		/* insertion order == id order */
	struct pool *by_name;		/* pools not ending */
	uint64_t last_id;
	uint32_t count;			/* pools not ending */
};

struct pool_set *pool_set_create(void)
{
	return calloc(1, sizeof(struct pool_set));
}

void pool_set_destroy(struct pool_set *set)
{
	struct pool *p, *tmp;

	if (!set)
		return;
	HASH_ITER(hh_id, set->by_id, p, tmp)
		pool_remove(set, p);
	free(set);
}

int pool_add(struct pool_set *set, uint64_t id, const char *name,
	     uint32_t count, uint64_t created_usec, struct pool **out)
{
	struct pool *p;

	if (count == 0 || count > POOL_MAX_BUFFERS || id == 0 ||
	    id <= set->last_id)
		return -EINVAL;
	if (name && *name && pool_by_name(set, name))
		return -EEXIST;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (name && *name && !(p->name = strdup(name))) {
		free(p);
		return -ENOMEM;
	}
	p->id = id;
	p->count = count;
	p->created_usec = created_usec;
	p->linked = true;
	HASH_ADD(hh_id, set->by_id, id, sizeof(p->id), p);
	if (p->name)
		HASH_ADD_KEYPTR(hh_name, set->by_name, p->name,
				strlen(p->name), p);
	set->last_id = id;
	set->count++;
	*out = p;
	return 0;
}

int pool_set_member(struct pool *pool, uint32_t index,
		    struct registry_buffer *b)
{
	if (index >= pool->count || pool->members[index] || !b)
		return -EINVAL;
	pool->members[index] = b;
	pool->live++;
	return 0;
}

void pool_unlink(struct pool_set *set, struct pool *pool)
{
	if (!pool->linked)
		return;
	if (pool->name)
		HASH_DELETE(hh_name, set->by_name, pool);
	pool->linked = false;
	set->count--;
}

bool pool_member_gone(struct pool_set *set, struct pool *pool,
		      uint32_t index)
{
	pool_unlink(set, pool);
	if (index < pool->count && pool->members[index]) {
		pool->members[index] = NULL;
		pool->live--;
	}
	return pool->live == 0;
}

void pool_remove(struct pool_set *set, struct pool *pool)
{
	if (!pool)
		return;
	pool_unlink(set, pool);
	HASH_DELETE(hh_id, set->by_id, pool);
	free(pool->name);
	free(pool);
}

struct pool *pool_find(const struct pool_set *set, uint64_t id)
{
	struct pool *p;

	HASH_FIND(hh_id, set->by_id, &id, sizeof(id), p);
	return p;
}

struct pool *pool_by_id(const struct pool_set *set, uint64_t id)
{
	struct pool *p = pool_find(set, id);

	return p && p->linked ? p : NULL;
}

struct pool *pool_by_name(const struct pool_set *set, const char *name)
{
	struct pool *p;

	HASH_FIND(hh_name, set->by_name, name, strlen(name), p);
	return p;
}

/* @p or the first pool after it that is not ending. */
static struct pool *pool_linked_from(struct pool *p)
{
	while (p && !p->linked)
		p = p->hh_id.next;
	return p;
}

struct pool *pool_after(const struct pool_set *set, uint64_t after_id)
{
	struct pool *p = after_id ? pool_find(set, after_id) : NULL;

	if (p)
		return pool_next(p);
	/* The cursor's pool is gone: pools are few, walk from the first. */
	for (p = set->by_id; p && p->id <= after_id; p = p->hh_id.next)
		;
	return pool_linked_from(p);
}

struct pool *pool_next(const struct pool *pool)
{
	return pool_linked_from(pool->hh_id.next);
}

uint32_t pool_count(const struct pool_set *set)
{
	return set->count;
}
