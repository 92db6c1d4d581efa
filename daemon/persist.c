/* SPDX-License-Identifier: MIT */
#include "persist.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <uthash.h>
#include <utlist.h>

#include "backends/backend.h"
#include "broker.h"
#include "config.h"
#include "handlers.h"
#include "log.h"
#include "persist_state.h"
#include "pool.h"
#include "registry.h"
#include "resume.h"
#include "streams.h"

#define PERSIST_STATE_NAME PERSIST_FDNAME_PREFIX "state-"
#define PERSIST_BUF_NAME PERSIST_FDNAME_PREFIX "buf-"
#define PERSIST_FDNAME_MAX 64
#define PERSIST_SLOTS 2

/*
 * Ids are reserved in blocks: the state records a limit above every id
 * handed out, rewritten only when an Alloc reaches it, so client-lifetime
 * buffers (not persisted) cost no write and still never share an id with
 * a buffer of an earlier run.
 */
#define PERSIST_ID_BLOCK 1024u

/* A stored fd systemd passed back, by name. */
struct persist_passed {
	UT_hash_handle hh;
	uint64_t id;
	int fd;
};

/* A buffer whose fd is in the store. */
struct persist_id {
	UT_hash_handle hh;
	uint64_t id;
};

/* A resumable session of the earlier run, by its token's digest. */
struct persist_session {
	UT_hash_handle hh;
	uint8_t hash[REGISTRY_TOKEN_HASH_LEN];
	struct registry_conn *conn;
};

/* A passed fd of ours that nothing will use. */
struct persist_stray {
	struct persist_stray *next;
	int fd;
	char *name;		/* to remove from the store; NULL: keep */
};

struct persist {
	struct broker *br;
	bool on;			/* stores are made */
	bool stopping;
	int slot_fd[PERSIST_SLOTS];
	uint64_t generation;		/* of the last state written */
	uint64_t id_limit;		/* as last written */
	unsigned store_max;
	unsigned nstored;		/* slots + buffers in the store */
	unsigned nclient;		/* client-lifetime buffers of those */
	struct persist_id *stored;	/* the buffers in the store */
	bool full_logged;		/* since it last had room */
	struct persist_passed *passed;	/* buffer fds until restored */
	struct persist_stray *strays;	/* fds to close at start */
};

bool persist_fdname_is_ours(const char *name)
{
	return name && !strncmp(name, PERSIST_FDNAME_PREFIX,
				strlen(PERSIST_FDNAME_PREFIX));
}

/* ---- the store ---- */

/* Stored fds are memfds and dma-bufs: nothing for systemd to poll. */
static int persist_store_fd(const char *name, int fd)
{
	char msg[PERSIST_FDNAME_MAX + 40];
	int ret;

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	ret = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	return ret > 0 ? 0 : ret == 0 ? -ENOTCONN : ret;
}

static int persist_store_remove(const char *name)
{
	int ret = sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", name);

	return ret > 0 ? 0 : ret == 0 ? -ENOTCONN : ret;
}

static void persist_buf_fdname(char *out, uint64_t id)
{
	snprintf(out, PERSIST_FDNAME_MAX, PERSIST_BUF_NAME "%" PRIu64, id);
}

/* The store cannot be reached: say so once and stop using it. */
static void persist_lose(struct persist *p, const char *what, int err)
{
	log_msg(LOG_ERR, "fd store: cannot %s (%s): persistent buffers are "
		"no longer kept across a broker restart", what, strerror(-err));
	p->on = false;
}

static struct persist_id *persist_find(const struct persist *p, uint64_t id)
{
	struct persist_id *pi;

	HASH_FIND(hh, p->stored, &id, sizeof(id), pi);
	return pi;
}

/* The state describes the buffers whose fd is in the store. */
static bool persist_keep(void *ctx, const struct registry_buffer *b)
{
	return persist_find(ctx, b->id) != NULL;
}

/* Counts @b as stored; false when out of memory (then it is not). */
static bool persist_add_stored(struct persist *p,
			       const struct registry_buffer *b)
{
	struct persist_id *pi = calloc(1, sizeof(*pi));

	if (!pi)
		return false;
	pi->id = b->id;
	HASH_ADD(hh, p->stored, id, sizeof(pi->id), pi);
	p->nstored++;
	p->nclient += b->lifetime == REGISTRY_LIFETIME_CLIENT;
	return true;
}

static void persist_del_stored(struct persist *p, struct persist_id *pi,
			       const struct registry_buffer *b)
{
	HASH_DEL(p->stored, pi);
	free(pi);
	p->nstored--;
	p->nclient -= b->lifetime == REGISTRY_LIFETIME_CLIENT;
}

/* Writes the state into the slot the last write did not use; the store is
 * given up when that fails. */
static void persist_write(struct persist *p)
{
	uint8_t *buf = NULL;
	ssize_t len;
	int ret;

	if (!p->on || p->stopping)
		return;
	len = persist_state_pack(p->br, p->id_limit, persist_keep, p, &buf);
	ret = len < 0 ? (int)len :
	      persist_state_write(p->slot_fd[(p->generation + 1) % PERSIST_SLOTS],
				  p->generation + 1, buf, (size_t)len);
	free(buf);
	if (ret < 0)
		persist_lose(p, "write the state", ret);
	else
		p->generation++;
}

/* ---- following the registry ---- */

/*
 * Whether @b goes into the store: every persistent buffer (a full store
 * refused its Alloc), and the client-lifetime buffers of connections that
 * can resume (they hold a token) while those take at most half the store.
 * A pool comes back only whole, so its members go in all or none: the
 * first one, announced first, decides for the pool, and the others follow
 * it.  Members stored without the rest would only take fds that a whole
 * pool or buffer could use.
 */
static bool persist_wanted(const struct persist *p,
			   const struct registry_buffer *b)
{
	const struct pool *pool;
	unsigned count = 1;

	if (b->lifetime == REGISTRY_LIFETIME_PERSISTENT)
		return true;
	if (!b->owner->has_token)
		return false;
	if (b->pool_id) {
		pool = pool_find(p->br->streams->pools, b->pool_id);
		if (!pool || !pool->members[0])
			return false;
		if (b->pool_index > 0)
			return persist_find(p, pool->members[0]->id) != NULL;
		count = pool->count;
	}
	return p->nclient + count <= p->store_max / 2 &&
	       p->nstored + count <= p->store_max;
}

/* Says once, until buffers leave, that the store is full. */
static void persist_log_full(struct persist *p)
{
	if (p->nstored < p->store_max || p->full_logged)
		return;
	log_msg(LOG_WARNING, "fd store full (%u fds): persistent Allocs are "
		"refused until persistent buffers are destroyed", p->store_max);
	p->full_logged = true;
}

/* A new buffer: reserve ids past it, store it if it is wanted. */
static void persist_on_added(struct persist *p, struct registry_buffer *b)
{
	char name[PERSIST_FDNAME_MAX];
	bool dirty = false;
	int ret;

	if (b->id >= p->id_limit) {
		p->id_limit = b->id + 1 + PERSIST_ID_BLOCK;
		dirty = true;
	}
	if (persist_wanted(p, b) && persist_add_stored(p, b)) {
		persist_buf_fdname(name, b->id);
		ret = persist_store_fd(name, b->fd);
		if (ret < 0) {
			persist_lose(p, "store a buffer", ret);
			return;
		}
		dirty = true;
		persist_log_full(p);
	}
	if (dirty)
		persist_write(p);
}

static void persist_on_removed(struct persist *p, struct registry_buffer *b,
			       struct persist_id *pi)
{
	char name[PERSIST_FDNAME_MAX];
	int ret;

	/* The state first: a state naming a buffer whose fd is gone is
	 * believed less the buffer; a stored fd the state does not name is
	 * dropped at the next start. */
	persist_del_stored(p, pi, b);
	p->full_logged = false;
	persist_write(p);
	if (!p->on)
		return;
	persist_buf_fdname(name, b->id);
	ret = persist_store_remove(name);
	if (ret < 0)
		persist_lose(p, "remove a buffer", ret);
}

static void persist_on_registry(void *ctx, enum registry_event ev,
				struct registry_buffer *b)
{
	struct persist *p = ctx;
	struct persist_id *pi;

	if (!p->on || p->stopping)
		return;
	if (ev == REGISTRY_ADDED)
		persist_on_added(p, b);
	else if (!(pi = persist_find(p, b->id)))
		return;
	else if (ev == REGISTRY_REMOVED)
		persist_on_removed(p, b, pi);
	else
		persist_write(p);	/* NAMED, GRANTED */
}

void persist_session_changed(struct persist *p,
			     const struct registry_conn *conn)
{
	struct registry_buffer *b;

	if (!p || !p->on || p->stopping)
		return;
	DL_FOREACH2(conn->owned, b, owned_next) {
		if (persist_find(p, b->id)) {
			persist_write(p);
			return;
		}
	}
}

/* ---- restoring ---- */

/* Whether @fd is what @pb says: its size, on an available backend.
 * Returns the backend's index, or -1 with @why set. */
static int persist_check_buffer(const struct broker *br,
				const DmabufBroker__V1__PersistedBuffer *pb,
				int fd, const char **why)
{
	int i = backend_set_find(br->backends, pb->backend);
	struct stat sb;
	off_t end;

	/* A memfd's size is in its inode; a dma-buf tells through
	 * SEEK_END, which leaves its offset alone (memfds share theirs
	 * with the holders' fds). */
	if (fstat(fd, &sb) < 0)
		end = -1;
	else if (S_ISREG(sb.st_mode))
		end = sb.st_size;
	else
		end = lseek(fd, 0, SEEK_END);

	if (i < 0 || !br->backends->list[i].available) {
		*why = "its backend is not available";
		return -1;
	}
	if (end < 0 || (uint64_t)end != pb->size) {
		*why = "its fd's size does not match";
		return -1;
	}
	return i;
}

/* The owner record for @pb: connections of the earlier run, closed. */
static struct registry_conn *
persist_owner(struct registry *reg, const DmabufBroker__V1__PersistedBuffer *pb,
	      struct registry_conn **last)
{
	struct registry_conn *c = *last;

	/* A connection's buffers are mostly neighbours in id order. */
	if (c && c->uid == (uid_t)pb->owner_uid &&
	    c->pid == (pid_t)pb->owner_pid && !strcmp(c->name, pb->owner_name))
		return c;
	c = registry_conn_open(reg, 0, (uid_t)pb->owner_uid,
			       (pid_t)pb->owner_pid, pb->owner_name);
	if (!c)
		return NULL;
	if (*last)
		registry_conn_close(reg, *last);
	*last = c;
	return c;
}

/* Puts back one buffer whose fd is @fd, owned by @conn; 0 or -errno with
 * @why set.  The fd is the registry's on success. */
static int persist_restore_one(struct persist *p,
			       const DmabufBroker__V1__PersistedBuffer *pb,
			       int fd, struct registry_conn *conn,
			       const char **why)
{
	struct broker *br = p->br;
	struct imgfmt_layout layout;
	struct registry_buffer *b;
	struct registry_new rn;
	char lwhy[128];
	int i = persist_check_buffer(br, pb, fd, why);
	int ret;

	if (i < 0)
		return -EINVAL;
	if (pb->layout && handlers_buffer_layout_from(pb->layout, pb->size,
						      &layout, lwhy,
						      sizeof(lwhy)) < 0) {
		*why = "its layout is invalid";
		return -EINVAL;
	}
	if (pb->pool_id && (pb->pool_index >= POOL_MAX_BUFFERS || *pb->name)) {
		*why = "its pool membership is invalid";
		return -EINVAL;
	}
	rn = (struct registry_new){
		.size = pb->size,
		.name = pb->name,
		.lifetime = (enum registry_lifetime)pb->lifetime,
		.backend = (uint8_t)i,
		.layout = pb->layout ? &layout : NULL,
		.pool_id = pb->pool_id,
		.pool_index = (uint8_t)pb->pool_index,
	};
	ret = registry_buffer_restore(br->reg, conn, &rn, pb->id,
				      pb->created_usec, fd, &b);
	if (ret < 0) {
		*why = ret == -EEXIST ? "its name is taken" :
		       ret == -EINVAL ? "its id, name or lifetime is invalid" :
		       strerror(-ret);
		return ret;
	}
	for (size_t g = 0; g < pb->n_grants; g++) {
		struct policy_grant pg;

		if (handlers_buffer_grant_from(pb->grants[g], &pg) < 0 ||
		    policy_grants_apply(&b->grants, &b->ngrants, &pg) < 0)
			log_msg(LOG_WARNING, "fd store: buffer %" PRIu64
				": grant %zu dropped", pb->id, g);
	}
	/* Out of memory it stays out of the next state: lost at the next
	 * restart, not now. */
	persist_add_stored(p, b);
	registry_buffer_announce(br->reg, b);
	return 0;
}

/*
 * The detached session a client-lifetime buffer @pb goes back to, made at
 * its first buffer (resume_restore()), or NULL with @why set.  A uid gets
 * at most max_detached_per_uid of them: one more would end its oldest,
 * whose record @sessions still names.
 */
static struct registry_conn *
persist_session(struct persist *p, const DmabufBroker__V1__PersistedBuffer *pb,
		struct persist_session **sessions, const char **why)
{
	struct persist_session *ps, *tmp;
	unsigned of_uid = 0;
	int ret;

	if (pb->owner_token_hash.len != REGISTRY_TOKEN_HASH_LEN) {
		*why = "a client-lifetime buffer without a session";
		return NULL;
	}
	HASH_FIND(hh, *sessions, pb->owner_token_hash.data,
		  REGISTRY_TOKEN_HASH_LEN, ps);
	if (ps)
		return ps->conn;
	HASH_ITER(hh, *sessions, ps, tmp)
		of_uid += ps->conn->uid == (uid_t)pb->owner_uid;
	if (of_uid >= p->br->cfg->max_detached_per_uid) {
		*why = "its owner has too many sessions to resume";
		return NULL;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps) {
		*why = strerror(ENOMEM);
		return NULL;
	}
	ret = resume_restore(p->br->resume, (uid_t)pb->owner_uid,
			     (pid_t)pb->owner_pid, pb->owner_name,
			     pb->owner_token_hash.data, 0, &ps->conn);
	if (ret < 0) {
		*why = ret == -EOPNOTSUPP ? "resuming is off" : strerror(-ret);
		free(ps);
		return NULL;
	}
	memcpy(ps->hash, pb->owner_token_hash.data, REGISTRY_TOKEN_HASH_LEN);
	HASH_ADD(hh, *sessions, hash, sizeof(ps->hash), ps);
	return ps->conn;
}

/* Takes a restored buffer out again (a pool member without its whole
 * pool), and its fd out of the store. */
static void persist_unrestore(struct persist *p, struct registry_buffer *b,
			      const char *why)
{
	struct persist_id *pi = persist_find(p, b->id);
	char name[PERSIST_FDNAME_MAX];

	log_msg(LOG_WARNING, "fd store: buffer %" PRIu64 " dropped: %s",
		b->id, why);
	if (pi)
		persist_del_stored(p, pi, b);
	persist_buf_fdname(name, b->id);
	persist_store_remove(name);
	registry_buffer_remove(p->br->reg, b);
}

/*
 * Collects the restored members of pool record @pp into @members, checked
 * to make the whole pool: one per index, sharing owner, lifetime, backend
 * and size.  Returns how many were found, or -1 when they do not fit.
 * Startup only: a walk over the buffers after the pool's id.
 */
static int persist_pool_members(struct persist *p,
				const DmabufBroker__V1__PersistedPool *pp,
				struct registry_buffer **members)
{
	struct registry_buffer *b, *first = NULL;
	int found = 0, bad = 0;

	memset(members, 0, sizeof(*members) * POOL_MAX_BUFFERS);
	for (b = registry_buffer_after(p->br->reg, pp->id); b;
	     b = registry_buffer_next(b)) {
		if (b->pool_id != pp->id)
			continue;
		found++;
		first = first ? first : b;
		if (b->pool_index >= pp->count || members[b->pool_index] ||
		    b->owner != first->owner || b->lifetime != first->lifetime ||
		    b->backend != first->backend || b->size != first->size)
			bad = 1;
		else
			members[b->pool_index] = b;
	}
	return bad || (uint32_t)found != pp->count ? -1 : found;
}

/* Drops every restored member of pool @id. */
static void persist_drop_members(struct persist *p, uint64_t id,
				 const char *why)
{
	struct registry_buffer *b = registry_buffer_after(p->br->reg, id);

	while (b) {
		struct registry_buffer *next = registry_buffer_next(b);

		if (b->pool_id == id)
			persist_unrestore(p, b, why);
		b = next;
	}
}

/* Puts back the pools of @st whose members all came back; the members of
 * the others, and members of no pool of @st, are dropped. */
static void persist_restore_pools(struct persist *p,
				  const DmabufBroker__V1__PersistedState *st)
{
	struct pool_set *set = p->br->streams->pools;
	struct registry_buffer *members[POOL_MAX_BUFFERS], *b, *next;
	unsigned restored = 0;

	for (size_t i = 0; i < st->n_pools; i++) {
		const DmabufBroker__V1__PersistedPool *pp = st->pools[i];
		const char *name = *pp->name ? pp->name : NULL;
		struct pool *pool;

		if (persist_pool_members(p, pp, members) < 0) {
			persist_drop_members(p, pp->id, "its pool did not "
					     "come back whole");
			continue;
		}
		if ((name && registry_name_block(p->br->reg, name) < 0) ||
		    pool_add(set, pp->id, name, pp->count, pp->created_usec,
			     &pool) < 0) {
			if (name && !pool_by_name(set, name))
				registry_name_unblock(p->br->reg, name);
			persist_drop_members(p, pp->id, "its pool's id or name "
					     "is taken");
			continue;
		}
		for (uint32_t m = 0; m < pp->count; m++)
			pool_set_member(pool, m, members[m]);
		restored++;
	}
	for (b = registry_buffer_after(p->br->reg, 0); b; b = next) {
		next = registry_buffer_next(b);
		if (b->pool_id && !pool_find(set, b->pool_id))
			persist_unrestore(p, b, "its pool is not described");
	}
	if (st->n_pools)
		log_msg(LOG_INFO, "fd store: %u of %zu pools restored",
			restored, st->n_pools);
}

/* Takes @fd (a passed "dbb-buf-<id>") out of the store and closes it. */
static void persist_drop_passed(struct persist_passed *pp, const char *why)
{
	char name[PERSIST_FDNAME_MAX];

	log_msg(LOG_WARNING, "fd store: buffer %" PRIu64 " dropped: %s",
		pp->id, why);
	persist_buf_fdname(name, pp->id);
	persist_store_remove(name);
	close(pp->fd);
}

/* Restores every buffer of @st whose fd came back; the fds used are taken
 * out of @passed. */
static void persist_restore_state(struct persist *p,
				  const DmabufBroker__V1__PersistedState *st,
				  struct persist_passed **passed)
{
	struct persist_session *sessions = NULL, *ps, *tmp;
	struct registry_conn *owner = NULL, *conn;
	unsigned restored = 0;

	for (size_t i = 0; i < st->n_buffers; i++) {
		const DmabufBroker__V1__PersistedBuffer *pb = st->buffers[i];
		struct persist_passed *pp;
		const char *why = NULL;

		HASH_FIND(hh, *passed, &pb->id, sizeof(pb->id), pp);
		if (!pp) {
			log_msg(LOG_WARNING, "fd store: buffer %" PRIu64
				" lost: its fd did not come back", pb->id);
			continue;
		}
		HASH_DEL(*passed, pp);
		if (pb->lifetime == DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT)
			conn = persist_session(p, pb, &sessions, &why);
		else if (!(conn = persist_owner(p->br->reg, pb, &owner)))
			why = strerror(ENOMEM);
		if (!conn || persist_restore_one(p, pb, pp->fd, conn, &why) < 0)
			persist_drop_passed(pp, why);
		else
			restored++;
		free(pp);
	}
	persist_restore_pools(p, st);
	registry_conn_close(p->br->reg, owner);
	HASH_ITER(hh, sessions, ps, tmp) {
		HASH_DEL(sessions, ps);
		free(ps);
	}
	if (st->id_limit > p->id_limit)
		p->id_limit = st->id_limit;
	log_msg(LOG_INFO, "fd store: %u buffers restored, ids continue at "
		"%" PRIu64, restored, p->id_limit);
}

/* Closes @fd in persist_start() (the server checks every passed fd
 * before that), removing @name (may be NULL) from the store then. */
static void persist_stray(struct persist *p, int fd, const char *name)
{
	struct persist_stray *st = calloc(1, sizeof(*st));

	if (!st || (name && !(st->name = strdup(name)))) {
		free(st);
		return;		/* left open: a leak, not a bad close */
	}
	st->fd = fd;
	st->next = p->strays;
	p->strays = st;
}

/* Closes the strays, taking them out of the store when @unstore. */
static void persist_close_strays(struct persist *p, bool unstore)
{
	while (p->strays) {
		struct persist_stray *st = p->strays;

		p->strays = st->next;
		if (unstore && st->name)
			persist_store_remove(st->name);
		close(st->fd);
		free(st->name);
		free(st);
	}
}

/* Sorts out one fd systemd passed: a state slot, a buffer, or a stale
 * name of ours, closed. */
static void persist_take_passed(struct persist *p, int fd, const char *name,
				struct persist_passed **passed)
{
	struct persist_passed *pp = NULL;
	unsigned slot;
	uint64_t id;
	char tail;

	if (sscanf(name, PERSIST_STATE_NAME "%u%c", &slot, &tail) == 1 &&
	    slot < PERSIST_SLOTS) {
		if (p->slot_fd[slot] < 0) {
			p->slot_fd[slot] = fd;
			return;
		}
	} else if (sscanf(name, PERSIST_BUF_NAME "%" SCNu64 "%c", &id,
			  &tail) == 1) {
		HASH_FIND(hh, *passed, &id, sizeof(id), pp);
		if (!pp && (pp = calloc(1, sizeof(*pp)))) {
			pp->id = id;
			pp->fd = fd;
			HASH_ADD(hh, *passed, id, sizeof(pp->id), pp);
			/* Whatever happens to it, no id of the earlier run
			 * is handed out again. */
			if (id >= p->id_limit)
				p->id_limit = id + 1;
			return;
		}
	} else {
		log_msg(LOG_WARNING, "fd store: dropping unexpected fd '%s'",
			name);
		persist_stray(p, fd, name);
		return;
	}
	/* A second fd under a name already taken (or no memory to keep
	 * it): removing the name would remove the first one too. */
	log_msg(LOG_WARNING, "fd store: closing an extra fd '%s'", name);
	persist_stray(p, fd, NULL);
}

/* Reads back what an earlier run stored. */
static void persist_restore(struct persist *p)
{
	DmabufBroker__V1__PersistedState *st[PERSIST_SLOTS] = { NULL };
	uint64_t gen[PERSIST_SLOTS] = { 0 };
	struct persist_passed *passed = p->passed, *pp, *tmp;
	int best = -1;

	p->passed = NULL;
	for (unsigned s = 0; s < PERSIST_SLOTS; s++) {
		if (p->slot_fd[s] >= 0)
			st[s] = persist_state_read(p->slot_fd[s], s, &gen[s]);
		if (st[s] && (best < 0 || gen[s] > gen[best]))
			best = (int)s;
	}
	if (best >= 0) {
		p->generation = gen[best];
		persist_restore_state(p, st[best], &passed);
	} else if (passed) {
		log_msg(LOG_ERR, "fd store: buffers came back without a state "
			"to describe them");
	}
	HASH_ITER(hh, passed, pp, tmp) {
		HASH_DEL(passed, pp);
		persist_drop_passed(pp, "the state does not describe it");
		free(pp);
	}
	for (unsigned s = 0; s < PERSIST_SLOTS; s++)
		dmabuf_broker__v1__persisted_state__free_unpacked(st[s], NULL);
	registry_reserve_ids(p->br->reg, p->id_limit);
	p->id_limit = registry_id_limit(p->br->reg);
}

/* ---- set-up ---- */

/* How many fds the store takes: $FDSTORE (systemd >= 254), else the
 * shipped unit's FileDescriptorStoreMax=. */
static unsigned persist_store_max(void)
{
	const char *e = getenv("FDSTORE");
	char *end;
	unsigned long v;

	if (!e || !*e)
		return PERSIST_DEFAULT_STORE_MAX;
	errno = 0;
	v = strtoul(e, &end, 10);
	return errno || *end || v > UINT32_MAX ? PERSIST_DEFAULT_STORE_MAX :
						 (unsigned)v;
}

/* Creates and stores the state slots that did not come back. */
static int persist_open_slots(struct persist *p)
{
	for (unsigned s = 0; s < PERSIST_SLOTS; s++) {
		char name[PERSIST_FDNAME_MAX];
		int ret;

		if (p->slot_fd[s] >= 0) {
			p->nstored++;
			continue;
		}
		snprintf(name, sizeof(name), PERSIST_STATE_NAME "%u", s);
		p->slot_fd[s] = memfd_create(name, MFD_CLOEXEC);
		if (p->slot_fd[s] < 0)
			return -errno;
		if ((ret = persist_store_fd(name, p->slot_fd[s])) < 0)
			return ret;
		p->nstored++;
	}
	return 0;
}

struct persist *persist_create(struct broker *br)
{
	struct persist *p = calloc(1, sizeof(*p));
	char **names = NULL;
	int n;

	if (!p)
		return NULL;
	p->br = br;
	p->slot_fd[0] = p->slot_fd[1] = -1;
	p->id_limit = 1;
	p->store_max = persist_store_max();
	n = sd_listen_fds_with_names(0, &names);
	for (int i = 0; i < n; i++) {
		if (persist_fdname_is_ours(names[i]))
			persist_take_passed(p, SD_LISTEN_FDS_START + i,
					    names[i], &p->passed);
		free(names[i]);
	}
	free(names);
	return p;
}

int persist_start(struct persist *p)
{
	int ret;

	persist_close_strays(p, true);
	persist_restore(p);
	if (!getenv("NOTIFY_SOCKET")) {
		log_msg(LOG_NOTICE, "not under systemd (no NOTIFY_SOCKET): "
			"persistent buffers last until the broker exits");
	} else if (p->store_max < PERSIST_SLOTS + 1) {
		log_msg(LOG_WARNING, "fd store holds %u fds: persistent buffers "
			"last until the broker exits", p->store_max);
	} else if ((ret = persist_open_slots(p)) < 0) {
		persist_lose(p, "store the state", ret);
	} else {
		p->on = true;
		persist_write(p);
	}
	if ((ret = registry_subscribe(p->br->reg, persist_on_registry, p)) < 0)
		return ret;
	if (p->on)
		log_msg(LOG_INFO, "fd store: persistent buffers are kept across "
			"restarts (%u of %u fds used)", p->nstored,
			p->store_max);
	return 0;
}

int persist_room(const struct persist *p, unsigned count)
{
	return p && p->on && p->nstored + count > p->store_max ? -ENOSPC : 0;
}

void persist_stop(struct persist *p)
{
	if (p)
		p->stopping = true;
}

void persist_destroy(struct persist *p)
{
	struct persist_passed *pp, *tmp;
	struct persist_id *pi, *itmp;

	if (!p)
		return;
	HASH_ITER(hh, p->stored, pi, itmp) {
		HASH_DEL(p->stored, pi);
		free(pi);
	}
	HASH_ITER(hh, p->passed, pp, tmp) {
		HASH_DEL(p->passed, pp);
		close(pp->fd);
		free(pp);
	}
	persist_close_strays(p, false);
	for (unsigned s = 0; s < PERSIST_SLOTS; s++) {
		if (p->slot_fd[s] >= 0)
			close(p->slot_fd[s]);
	}
	free(p);
}
