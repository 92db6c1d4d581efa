/* SPDX-License-Identifier: MIT */
#include "registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <utlist.h>

/* Ids probed after a List cursor whose buffer is gone. */
#define REGISTRY_CURSOR_PROBES 256u

/* Usage per owner uid, for quotas. */
struct registry_uid {
	UT_hash_handle hh;
	uid_t uid;
	struct registry_usage use;
};

/* A name taken by something other than a buffer. */
struct registry_blocked {
	UT_hash_handle hh;
	char name[];
};

struct registry {
	struct registry_buffer *by_id;		/* app order == id order */
	struct registry_buffer *by_name;
	struct registry_blocked *blocked;
	struct registry_hold *holds;		/* by (buffer id, conn id) */
	struct registry_uid *uids;
	struct registry_totals totals;
	uint64_t next_id;
	struct {
		registry_event_fn fn;
		void *ctx;
	} subs[REGISTRY_MAX_SUBSCRIBERS];
	unsigned nsubs;
};

struct registry *registry_create(void)
{
	struct registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return NULL;
	reg->next_id = 1;
	return reg;
}

int registry_subscribe(struct registry *reg, registry_event_fn fn, void *ctx)
{
	if (reg->nsubs == REGISTRY_MAX_SUBSCRIBERS)
		return -ENOSPC;
	reg->subs[reg->nsubs].fn = fn;
	reg->subs[reg->nsubs].ctx = ctx;
	reg->nsubs++;
	return 0;
}

static void registry_notify(struct registry *reg, enum registry_event ev,
			    struct registry_buffer *b)
{
	for (unsigned i = 0; i < reg->nsubs; i++)
		reg->subs[i].fn(reg->subs[i].ctx, ev, b);
}

void registry_buffer_announce(struct registry *reg, struct registry_buffer *b)
{
	registry_notify(reg, REGISTRY_ADDED, b);
}

int registry_buffer_grant(struct registry *reg, struct registry_buffer *b,
			  const struct policy_grant *g)
{
	int ret = policy_grants_apply(&b->grants, &b->ngrants, g);

	if (ret == 0)
		registry_notify(reg, REGISTRY_GRANTED, b);
	return ret;
}

static void registry_conn_unref(struct registry_conn *conn)
{
	if (--conn->refs > 0)
		return;
	free(conn->name);
	free(conn);
}

void registry_destroy(struct registry *reg)
{
	struct registry_buffer *b, *tmp;
	struct registry_uid *u, *utmp;
	struct registry_blocked *nb, *nbtmp;

	if (!reg)
		return;
	HASH_ITER(hh_id, reg->by_id, b, tmp)
		registry_buffer_remove(reg, b);
	HASH_ITER(hh, reg->uids, u, utmp) {
		HASH_DEL(reg->uids, u);
		free(u);
	}
	HASH_ITER(hh, reg->blocked, nb, nbtmp) {
		HASH_DEL(reg->blocked, nb);
		free(nb);
	}
	free(reg);
}

bool registry_name_valid(const char *name)
{
	size_t len = 0;

	if (!name || name[0] == '.' || name[0] == '/')
		return false;
	for (const char *p = name; *p; p++, len++) {
		char c = *p;

		if (len >= REGISTRY_NAME_MAX)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._:/-", c))
			continue;
		return false;
	}
	return len > 0;
}

struct registry_conn *registry_conn_open(struct registry *reg, uint64_t id,
					 uid_t uid, pid_t pid,
					 const char *name)
{
	struct registry_conn *conn = calloc(1, sizeof(*conn));

	(void)reg;
	if (!conn)
		return NULL;
	conn->name = strdup(name ? name : "");
	if (!conn->name) {
		free(conn);
		return NULL;
	}
	conn->id = id;
	conn->uid = uid;
	conn->pid = pid;
	conn->refs = 1;
	return conn;
}

int registry_conn_set_name(struct registry_conn *conn, const char *name)
{
	char *copy = strdup(name);

	if (!copy)
		return -ENOMEM;
	free(conn->name);
	conn->name = copy;
	return 0;
}

static void registry_hold_free(struct registry *reg, struct registry_hold *h)
{
	struct registry_buffer *b = h->buf;
	struct registry_conn *conn = h->conn;

	HASH_DEL(reg->holds, h);
	DL_DELETE2(b->holds, h, buf_prev, buf_next);
	DL_DELETE2(conn->holds, h, conn_prev, conn_next);
	b->nholds--;
	conn->nholds--;
	free(h);
}

void registry_conn_close(struct registry *reg, struct registry_conn *conn)
{
	struct registry_hold *h, *htmp;
	struct registry_buffer *b, *btmp;

	if (!conn)
		return;
	DL_FOREACH_SAFE2(conn->holds, h, htmp, conn_next)
		registry_hold_free(reg, h);
	DL_FOREACH_SAFE2(conn->owned, b, btmp, owned_next)
		registry_buffer_remove(reg, b);
	conn->closed = true;
	registry_conn_unref(conn);
}

static struct registry_uid *registry_uid_find(const struct registry *reg,
					      uid_t uid)
{
	struct registry_uid *u;

	HASH_FIND(hh, reg->uids, &uid, sizeof(uid), u);
	return u;
}

int registry_check_add_many(const struct registry *reg, uid_t uid,
			    uint64_t size, uint32_t count, const char *name,
			    const struct registry_quota *quota)
{
	struct registry_uid *u = registry_uid_find(reg, uid);
	struct registry_usage use = u ? u->use : (struct registry_usage){ 0 };
	uint64_t bytes;

	if (name && *name && registry_name_taken(reg, name))
		return -EEXIST;
	if (count && size > (UINT64_MAX - use.bytes) / count)
		return -EOVERFLOW;
	bytes = size * count;
	if (quota && quota->max_buffers &&
	    use.buffers + count > quota->max_buffers)
		return -EDQUOT;
	if (quota && quota->max_bytes && use.bytes + bytes > quota->max_bytes)
		return -EDQUOT;
	return 0;
}

int registry_check_add(const struct registry *reg, uid_t uid, uint64_t size,
		       const char *name, const struct registry_quota *quota)
{
	return registry_check_add_many(reg, uid, size, 1, name, quota);
}

static struct registry_blocked *registry_blocked_find(const struct registry *reg,
						      const char *name)
{
	struct registry_blocked *nb;

	HASH_FIND(hh, reg->blocked, name, strlen(name), nb);
	return nb;
}

bool registry_name_taken(const struct registry *reg, const char *name)
{
	return registry_buffer_by_name(reg, name) ||
	       registry_blocked_find(reg, name);
}

int registry_name_block(struct registry *reg, const char *name)
{
	size_t len = strlen(name);
	struct registry_blocked *nb;

	if (registry_name_taken(reg, name))
		return -EEXIST;
	nb = malloc(sizeof(*nb) + len + 1);
	if (!nb)
		return -ENOMEM;
	memcpy(nb->name, name, len + 1);
	HASH_ADD_KEYPTR(hh, reg->blocked, nb->name, len, nb);
	return 0;
}

void registry_name_unblock(struct registry *reg, const char *name)
{
	struct registry_blocked *nb = registry_blocked_find(reg, name);

	if (!nb)
		return;
	HASH_DEL(reg->blocked, nb);
	free(nb);
}

uint64_t registry_id_take(struct registry *reg)
{
	return reg->next_id++;
}

static uint64_t registry_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Allocates the buffer with its name and layout; not yet linked. */
static struct registry_buffer *registry_buffer_new(const struct registry_new *p)
{
	struct registry_buffer *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (p->name && *p->name && !(b->name = strdup(p->name)))
		goto err_free_buffer;
	if (p->layout && !(b->layout = malloc(sizeof(*b->layout))))
		goto err_free_name;
	if (p->layout)
		*b->layout = *p->layout;
	b->size = p->size;
	b->lifetime = (uint8_t)p->lifetime;
	b->backend = p->backend;
	b->priv = p->priv;
	b->pool_id = p->pool_id;
	b->pool_index = p->pool_index;
	b->created_usec = registry_now_usec();
	b->fd = -1;
	return b;

err_free_name:
	free(b->name);
err_free_buffer:
	free(b);
	return NULL;
}

static void registry_buffer_free(struct registry_buffer *b)
{
	free(b->grants);
	free(b->layout);
	free(b->name);
	free(b);
}

/* Charges @b to its owner's uid, creating the usage record if needed. */
static int registry_charge(struct registry *reg, uid_t uid, uint64_t size)
{
	struct registry_uid *u = registry_uid_find(reg, uid);

	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return -ENOMEM;
		u->uid = uid;
		HASH_ADD(hh, reg->uids, uid, sizeof(u->uid), u);
	}
	u->use.bytes += size;
	u->use.buffers++;
	reg->totals.charged += size;
	return 0;
}

static void registry_uncharge(struct registry *reg, uid_t uid, uint64_t size)
{
	struct registry_uid *u = registry_uid_find(reg, uid);

	if (!u)
		return;
	u->use.bytes -= size;
	reg->totals.charged -= size;
	if (--u->use.buffers == 0) {
		HASH_DEL(reg->uids, u);
		free(u);
	}
}

/* Links @b, whose id is set, into the tables and its owner; cannot
 * fail. */
static void registry_buffer_link(struct registry *reg,
				 struct registry_buffer *b,
				 struct registry_conn *conn)
{
	b->owner = conn;
	conn->refs++;
	HASH_ADD(hh_id, reg->by_id, id, sizeof(b->id), b);
	if (b->name) {
		HASH_ADD_KEYPTR(hh_name, reg->by_name, b->name,
				strlen(b->name), b);
		reg->totals.named++;
	}
	if (b->lifetime == REGISTRY_LIFETIME_CLIENT)
		DL_APPEND2(conn->owned, b, owned_prev, owned_next);
	else
		reg->totals.persistent++;
	reg->totals.buffers++;
	reg->totals.bytes += b->size;
}

int registry_buffer_add(struct registry *reg, struct registry_conn *conn,
			const struct registry_new *p,
			const struct registry_quota *quota, int fd,
			struct registry_buffer **out)
{
	struct registry_buffer *b;
	int ret;

	if (p->name && *p->name && !registry_name_valid(p->name))
		return -EINVAL;
	if (p->lifetime != REGISTRY_LIFETIME_CLIENT &&
	    p->lifetime != REGISTRY_LIFETIME_PERSISTENT)
		return -EINVAL;
	ret = registry_check_add(reg, conn->uid, p->size, p->name, quota);
	if (ret < 0)
		return ret;
	b = registry_buffer_new(p);
	if (!b)
		return -ENOMEM;
	ret = registry_charge(reg, conn->uid, p->size);
	if (ret < 0) {
		registry_buffer_free(b);
		return ret;
	}
	b->id = reg->next_id++;
	registry_buffer_link(reg, b, conn);
	ret = registry_hold_add(reg, b, conn, true, 0);
	if (ret < 0) {
		/* b->fd is still -1: the caller keeps @fd. */
		registry_buffer_remove(reg, b);
		return ret;
	}
	b->fd = fd;
	*out = b;
	return 0;
}

int registry_buffer_restore(struct registry *reg, struct registry_conn *owner,
			    const struct registry_new *p, uint64_t id,
			    uint64_t created_usec, int fd,
			    struct registry_buffer **out)
{
	struct registry_buffer *b;
	int ret;

	if ((p->name && *p->name && !registry_name_valid(p->name)) ||
	    (p->lifetime != REGISTRY_LIFETIME_CLIENT &&
	     p->lifetime != REGISTRY_LIFETIME_PERSISTENT) ||
	    id < reg->next_id || id == UINT64_MAX)
		return -EINVAL;
	if (p->name && *p->name && registry_name_taken(reg, p->name))
		return -EEXIST;
	b = registry_buffer_new(p);
	if (!b)
		return -ENOMEM;
	ret = registry_charge(reg, owner->uid, p->size);
	if (ret < 0) {
		registry_buffer_free(b);
		return ret;
	}
	b->id = id;
	b->created_usec = created_usec;
	registry_buffer_link(reg, b, owner);
	registry_reserve_ids(reg, id + 1);
	b->fd = fd;
	*out = b;
	return 0;
}

uint64_t registry_id_limit(const struct registry *reg)
{
	return reg->next_id;
}

void registry_reserve_ids(struct registry *reg, uint64_t limit)
{
	if (limit > reg->next_id)
		reg->next_id = limit;
}

void registry_buffer_remove(struct registry *reg, struct registry_buffer *b)
{
	struct registry_hold *h, *tmp;
	struct registry_conn *owner = b->owner;

	if (b->fd >= 0)
		registry_notify(reg, REGISTRY_REMOVED, b);
	DL_FOREACH_SAFE2(b->holds, h, tmp, buf_next)
		registry_hold_free(reg, h);
	HASH_DELETE(hh_id, reg->by_id, b);
	if (b->name) {
		HASH_DELETE(hh_name, reg->by_name, b);
		reg->totals.named--;
	}
	if (b->lifetime == REGISTRY_LIFETIME_CLIENT)
		DL_DELETE2(owner->owned, b, owned_prev, owned_next);
	else
		reg->totals.persistent--;
	reg->totals.buffers--;
	reg->totals.bytes -= b->size;
	if (!b->linger)
		registry_uncharge(reg, owner->uid, b->size);
	if (b->fd >= 0)
		close(b->fd);
	registry_buffer_free(b);
	registry_conn_unref(owner);
}

struct registry_buffer *registry_buffer_by_id(const struct registry *reg,
					      uint64_t id)
{
	struct registry_buffer *b;

	HASH_FIND(hh_id, reg->by_id, &id, sizeof(id), b);
	return b;
}

struct registry_buffer *registry_buffer_by_name(const struct registry *reg,
						const char *name)
{
	struct registry_buffer *b;

	HASH_FIND(hh_name, reg->by_name, name, strlen(name), b);
	return b;
}

struct registry_buffer *registry_buffer_next(const struct registry_buffer *b)
{
	return b->hh_id.next;
}

struct registry_buffer *registry_buffer_after(const struct registry *reg,
					      uint64_t after_id)
{
	struct registry_buffer *b;

	if (after_id == 0)
		return reg->by_id;
	/* No buffer has an id at or past next_id; this also keeps the
	 * probes below from wrapping past UINT64_MAX to the first ids. */
	if (after_id >= reg->next_id)
		return NULL;
	b = registry_buffer_by_id(reg, after_id);
	if (b)
		return registry_buffer_next(b);
	/*
	 * The cursor's buffer is gone.  Ids are dense and never reused, so
	 * its successor is usually a few ids on: probe those, and only when
	 * a whole run of them is gone walk from the first buffer.
	 */
	for (uint64_t id = after_id + 1;
	     id < reg->next_id && id - after_id <= REGISTRY_CURSOR_PROBES; id++) {
		b = registry_buffer_by_id(reg, id);
		if (b)
			return b;
	}
	for (b = reg->by_id; b && b->id <= after_id; b = registry_buffer_next(b))
		;
	return b;
}

int registry_buffer_set_name(struct registry *reg, struct registry_buffer *b,
			     const char *name)
{
	if (!registry_name_valid(name))
		return -EINVAL;
	if (b->name || registry_name_taken(reg, name))
		return -EEXIST;
	b->name = strdup(name);
	if (!b->name)
		return -ENOMEM;
	HASH_ADD_KEYPTR(hh_name, reg->by_name, b->name, strlen(b->name), b);
	reg->totals.named++;
	registry_notify(reg, REGISTRY_NAMED, b);
	return 0;
}

struct registry_hold *registry_hold_find(const struct registry *reg,
					 const struct registry_buffer *b,
					 const struct registry_conn *conn)
{
	uint64_t key[2] = { b->id, conn->id };
	struct registry_hold *h;

	HASH_FIND(hh, reg->holds, key, sizeof(key), h);
	return h;
}

int registry_hold_add(struct registry *reg, struct registry_buffer *b,
		      struct registry_conn *conn, bool writable,
		      uint32_t max_holds)
{
	struct registry_hold *h = registry_hold_find(reg, b, conn);

	if (h) {
		h->writable = h->writable || writable;
		return 0;
	}
	if (max_holds && conn->nholds >= max_holds)
		return -EMFILE;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->key[0] = b->id;
	h->key[1] = conn->id;
	h->buf = b;
	h->conn = conn;
	h->writable = writable;
	HASH_ADD(hh, reg->holds, key, sizeof(h->key), h);
	DL_APPEND2(b->holds, h, buf_prev, buf_next);
	DL_APPEND2(conn->holds, h, conn_prev, conn_next);
	b->nholds++;
	conn->nholds++;
	return 0;
}

int registry_hold_drop(struct registry *reg, struct registry_buffer *b,
		       struct registry_conn *conn)
{
	struct registry_hold *h = registry_hold_find(reg, b, conn);

	if (!h)
		return -ENOENT;
	registry_hold_free(reg, h);
	return 0;
}

void registry_unlinger(struct registry *reg, uid_t uid, uint64_t size)
{
	registry_uncharge(reg, uid, size);
}

struct registry_usage registry_usage_of(const struct registry *reg, uid_t uid)
{
	struct registry_uid *u = registry_uid_find(reg, uid);

	return u ? u->use : (struct registry_usage){ 0 };
}

struct registry_totals registry_totals(const struct registry *reg)
{
	return reg->totals;
}
