/* SPDX-License-Identifier: MIT */
/*
 * Requests on pools: PoolAlloc, PoolOpen, Pools, and what Destroy, Grant,
 * Release and Info do when their id is a pool's.
 */
#include "handlers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "broker.h"
#include "client.h"
#include "config.h"
#include "describe.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "shares.h"
#include "streams.h"
#include "wire.h"
#include "worker.h"

/* Room left in a frame for the envelope around the Pools entries. */
#define HANDLERS_POOL_LIST_BUDGET (DBB_WIRE_MAX_FRAME - 512u)

/* What a PoolAlloc makes: count buffers of one request. */
struct handlers_pool_make {
	struct backend *be;
	struct registry_new p;		/* name, lifetime, grants: the pool's */
	struct backend_request req;
	struct handlers_buffer_grants grants;
	struct imgfmt_layout layout;	/* the client's own, if any */
	uint32_t count;
	uint32_t made;			/* outs filled so far */
	struct backend_buffer out[POOL_MAX_BUFFERS];
};

/* A PoolAlloc waiting for the worker; its name lives inside. */
struct handlers_pool_job {
	struct worker_job base;		/* first: the worker's handle */
	uint64_t seq;
	struct shares *shares;		/* where its bytes are reserved */
	uint64_t reserved;
	int status;			/* run()'s result */
	struct handlers_pool_make m;
	char name[];
};

/* Allocates every member; on a failure those made are left in m->out
 * (m->made of them) for the loop thread to drop. */
static int handlers_pool_alloc_members(struct handlers_pool_make *m)
{
	for (m->made = 0; m->made < m->count; m->made++) {
		int ret = m->be->desc->ops->alloc(m->be, &m->req,
						  &m->out[m->made]);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Drops the members made from @from on. */
static void handlers_pool_discard(struct handlers_pool_make *m,
				  uint32_t from)
{
	for (uint32_t i = from; i < m->made; i++)
		handlers_buffer_discard(m->be, &m->out[i]);
	m->made = from;
}

/* Takes registered, unannounced members out again. */
static void handlers_pool_undo(struct broker *br,
			       struct registry_buffer **members, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		handlers_buffer_undo(br, members[i]);
}

/* Registers member @i of @m under pool @id; 0 or a negative errno (the
 * backend's buffer is then dropped). */
static int handlers_pool_register_one(struct client *c,
				      struct handlers_pool_make *m,
				      const struct registry_quota *q,
				      uint64_t id, uint32_t i,
				      struct registry_buffer **out)
{
	struct registry_new mp = m->p;
	struct backend_buffer *bb = &m->out[i];
	int ret;

	mp.name = NULL;
	mp.pool_id = id;
	mp.pool_index = (uint8_t)i;
	mp.size = bb->size;
	mp.priv = bb->priv;
	if (bb->layout.nplanes && !mp.layout)
		mp.layout = &bb->layout;
	ret = registry_buffer_add(c->broker->reg, c->conn, &mp, q, bb->fd, out);
	if (ret < 0) {
		handlers_buffer_discard(m->be, bb);
		return ret;
	}
	bb->fd = -1;		/* the registry's now */
	ret = handlers_buffer_apply_grants(*out, &m->grants);
	if (ret < 0)
		handlers_buffer_undo(c->broker, *out);
	return ret;
}

/* The pool's PoolInfo, members and their fds (the registry's own, or
 * read-only ones) into @r; 0 or a reply error. */
static int handlers_pool_reply(struct client *c, const struct pool *pool,
			       bool read_only, struct reply *r)
{
	struct broker *br = c->broker;
	const struct registry_buffer *first = pool->members[0];

	r->resp.pool = describe_pool(r, br, pool, DESCRIBE_MEMBERS |
				     describe_flags_for(&c->peer, first));
	if (!r->resp.pool)
		return reply_error(r, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < pool->count; i++) {
		const struct registry_buffer *b = pool->members[i];
		struct backend *be = &br->backends->list[b->backend];
		int fd = b->fd;

		if (read_only &&
		    (fd = be->desc->ops->export_fd(be, b->fd, b->priv, true)) < 0)
			return reply_error(r, fd, "cannot export buffer %llu "
					   "read-only", (unsigned long long)b->id);
		if (reply_add_fd(r, fd, !read_only) < 0)
			return reply_error(r, -E2BIG, "too many fds");
		r->resp.pool->buffers[i]->read_only = read_only;
	}
	r->resp.pool->read_only = read_only;
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_POOL;
	return 0;
}

/* Registers the members @m made as one pool owned by @c, announces it
 * and fills @r; 0 or a reply error (nothing is left registered). */
static int handlers_pool_register(struct client *c,
				  struct handlers_pool_make *m,
				  const struct registry_quota *q,
				  struct reply *r)
{
	struct broker *br = c->broker;
	struct registry_buffer *members[POOL_MAX_BUFFERS];
	uint64_t id = registry_id_take(br->reg);
	const char *name = m->p.name && *m->p.name ? m->p.name : NULL;
	struct pool *pool = NULL;
	uint32_t n;
	int ret = 0;

	for (n = 0; n < m->count; n++) {
		ret = handlers_pool_register_one(c, m, q, id, n, &members[n]);
		if (ret < 0)
			break;	/* that one is dropped already */
	}
	if (ret == 0 && name)
		ret = registry_name_block(br->reg, name);
	if (ret == 0 && (ret = pool_add(br->streams->pools, id, name, m->count,
					members[0]->created_usec, &pool)) < 0 &&
	    name)
		registry_name_unblock(br->reg, name);
	if (ret < 0) {
		handlers_pool_discard(m, n < m->count ? n + 1 : m->count);
		handlers_pool_undo(br, members, n);
		return reply_error(r, ret, ret == -EDQUOT ? "over quota for "
				   "uid %u" : "cannot register the pool",
				   (unsigned)c->peer.uid);
	}
	for (uint32_t i = 0; i < m->count; i++)
		pool_set_member(pool, i, members[i]);
	/* The reply before the announcement: a pool that cannot be handed
	 * out is taken back unseen. */
	if ((ret = handlers_pool_reply(c, pool, false, r)) < 0) {
		pool_remove(br->streams->pools, pool);
		if (name)
			registry_name_unblock(br->reg, name);
		handlers_pool_undo(br, members, m->count);
		return ret;
	}
	for (uint32_t i = 0; i < m->count; i++)
		registry_buffer_announce(br->reg, members[i]);
	streams_pool_created(br->streams, pool);
	return 0;
}

/* The job holds its own copy of the client's pidfd (as an Alloc's job
 * does): the client may go, closing its own, while the worker allocates. */
static void handlers_pool_job_free(struct handlers_pool_job *job)
{
	if (job->m.req.client_pidfd >= 0)
		close(job->m.req.client_pidfd);
	free(job);
}

/* On the worker thread: only the job's own fields. */
static void handlers_pool_job_run(struct worker_job *wj)
{
	struct handlers_pool_job *job = (struct handlers_pool_job *)wj;

	job->status = handlers_pool_alloc_members(&job->m);
}

/* Back on the loop: as handlers_buffer_job_done(), for a whole pool. */
static void handlers_pool_job_done(struct worker_job *wj, bool cancelled)
{
	struct handlers_pool_job *job = (struct handlers_pool_job *)wj;
	struct client *c = wj->client;
	struct registry_quota q = { 0 };
	struct reply r;

	shares_release(job->shares, wj->uid, job->reserved);
	if (cancelled || !c || job->status < 0)
		handlers_pool_discard(&job->m, 0);
	if (cancelled || !c) {
		handlers_pool_job_free(job);
		return;
	}
	reply_init(&r, job->seq);
	if (job->status < 0)
		reply_error(&r, job->status, "%s allocation of a pool failed: "
			    "%s", job->m.be->name, strerror(-job->status));
	else if (handlers_buffer_room_many(c, &job->m.p, job->m.count, &q,
					   &r) == 0)
		handlers_pool_register(c, &job->m, &q, &r);
	else
		handlers_pool_discard(&job->m, 0);
	client_send_reply(c, &r);
	reply_fini(&r);
	client_job_done(c);
	handlers_pool_job_free(job);
}

/* Hands the allocation to the worker; the reply comes from
 * handlers_pool_job_done(). */
static int handlers_pool_alloc_async(struct client *c, uint64_t seq,
				     const struct handlers_pool_make *m,
				     struct reply *r)
{
	struct broker *br = c->broker;
	size_t nlen = m->p.name ? strlen(m->p.name) + 1 : 1;
	uint64_t busy = shares_reserved_of(br->shares, c->peer.uid).buffers;
	struct handlers_pool_job *job;

	if (c->peer.uid != 0 && busy >= br->cfg->max_jobs_per_uid)
		return reply_error(r, -EAGAIN, "uid %u has %llu large "
				   "allocations in progress already "
				   "(max_jobs_per_uid)", (unsigned)c->peer.uid,
				   (unsigned long long)busy);
	job = calloc(1, sizeof(*job) + nlen);
	if (!job)
		return reply_error(r, -ENOMEM, "out of memory");
	job->base.run = handlers_pool_job_run;
	job->base.done = handlers_pool_job_done;
	job->base.uid = c->peer.uid;
	job->seq = seq;
	job->shares = br->shares;
	job->m = *m;
	if (m->p.name)
		memcpy(job->name, m->p.name, nlen);
	job->m.p.name = job->name;
	job->m.req.name = job->name;
	if (m->p.layout)
		job->m.p.layout = &job->m.layout;
	if (m->req.client_pidfd >= 0 &&
	    (job->m.req.client_pidfd = fcntl(m->req.client_pidfd,
					     F_DUPFD_CLOEXEC, 3)) < 0) {
		int err = errno;

		free(job);
		return reply_error(r, -err, "cannot keep the client's pidfd: "
				   "%s", strerror(err));
	}
	job->reserved = m->p.size * m->count;
	if (shares_reserve(br->shares, job->base.uid, job->reserved) < 0) {
		handlers_pool_job_free(job);
		return reply_error(r, -ENOMEM, "out of memory");
	}
	client_wait_job(c, &job->base);
	worker_submit(br->worker, &job->base);
	r->deferred = true;
	return 0;
}

int handlers_pool_alloc(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r, int *fds)
{
	const DmabufBroker__V1__PoolAllocRequest *pa = req->pool_alloc;
	struct handlers_pool_make m = { .count = pa->count };
	struct registry_quota q;
	int ret;

	if (pa->count == 0 || pa->count > POOL_MAX_BUFFERS)
		return reply_error(r, -EINVAL, "a pool has 1 to %u buffers",
				   POOL_MAX_BUFFERS);
	if (!pa->buffer)
		return reply_error(r, -EINVAL, "a pool needs its buffers' "
				   "parameters");
	if ((ret = handlers_buffer_alloc_params(c, pa->buffer, &m.p, &m.req,
						&m.layout, &m.grants, r)) < 0 ||
	    (ret = handlers_buffer_room_many(c, &m.p, m.count, &q, r)) < 0)
		return ret;
	m.be = &c->broker->backends->list[m.p.backend];
	if (m.p.size * m.count >= HANDLERS_BUFFER_ASYNC_MIN)
		return handlers_pool_alloc_async(c, req->seq, &m, r);
	ret = handlers_pool_alloc_members(&m);
	if (ret < 0) {
		handlers_pool_discard(&m, 0);
		return reply_error(r, ret, "%s allocation of a pool failed: %s",
				   m.be->name, strerror(-ret));
	}
	return handlers_pool_register(c, &m, &q, r);
}

/* Whether @c may know of @pool (as of a buffer: handlers_buffer_known()). */
static bool handlers_pool_known(struct client *c, const struct pool *pool)
{
	return handlers_buffer_known(c, pool->members[0]);
}

struct pool *handlers_pool_find(struct client *c, uint64_t id,
				const char *name, struct reply *r)
{
	struct pool_set *set = c->broker->streams->pools;
	struct pool *pool;

	if (name && !registry_name_valid(name)) {
		reply_error(r, -EINVAL, "invalid pool name");
		return NULL;
	}
	pool = name ? pool_by_name(set, name) : pool_by_id(set, id);
	if (pool && !handlers_pool_known(c, pool))
		pool = NULL;
	if (!pool && name)
		reply_error(r, -ENOENT, "no pool named '%s'", name);
	else if (!pool)
		reply_error(r, -ENOENT, "no pool with id %llu",
			    (unsigned long long)id);
	return pool;
}

int handlers_pool_open_into(struct client *c, struct pool *pool,
			    bool read_only, struct reply *r)
{
	struct broker *br = c->broker;
	const struct registry_buffer *first = pool->members[0];
	const struct backend *be = &br->backends->list[first->backend];
	bool added[POOL_MAX_BUFFERS] = { false };
	uint32_t held = 0;
	int ret = 0;

	if (policy_may_import(&c->peer, first->owner->uid, first->grants,
			      first->ngrants, read_only) < 0)
		return reply_error(r, -EACCES, "not allowed to open pool %llu%s",
				   (unsigned long long)pool->id,
				   read_only ? "" : " read-write");
	if (read_only && !be->caps.read_only)
		return handlers_buffer_no_read_only(r, be);
	for (uint32_t i = 0; i < pool->count; i++)
		held += registry_hold_find(br->reg, pool->members[i], c->conn) ?
			1 : 0;
	if (c->conn->nholds + (pool->count - held) >
	    br->cfg->max_holds_per_client)
		return reply_error(r, -EMFILE, "too many holds on this connection");
	if ((ret = handlers_pool_reply(c, pool, read_only, r)) < 0)
		return ret;
	/* Recorded like an Import of each member. */
	for (uint32_t i = 0; i < pool->count && ret == 0; i++) {
		struct registry_buffer *b = pool->members[i];

		added[i] = !registry_hold_find(br->reg, b, c->conn);
		ret = registry_hold_add(br->reg, b, c->conn, !read_only, 0);
	}
	if (ret == 0)
		return 0;
	for (uint32_t i = 0; i < pool->count; i++) {
		if (added[i])
			registry_hold_drop(br->reg, pool->members[i], c->conn);
	}
	return reply_error(r, ret, "out of memory");
}

int handlers_pool_open(struct client *c, const DmabufBroker__V1__Request *req,
		       struct reply *r, int *fds)
{
	const DmabufBroker__V1__PoolOpenRequest *po = req->pool_open;
	struct pool *pool;

	switch (po->target_case) {
	case DMABUF_BROKER__V1__POOL_OPEN_REQUEST__TARGET_ID:
		pool = handlers_pool_find(c, po->id, NULL, r);
		break;
	case DMABUF_BROKER__V1__POOL_OPEN_REQUEST__TARGET_NAME:
		pool = handlers_pool_find(c, 0, po->name, r);
		break;
	default:
		return reply_error(r, -EINVAL, "open needs a pool id or name");
	}
	if (!pool)
		return r->resp.status;
	return handlers_pool_open_into(c, pool, po->read_only, r);
}

int handlers_pool_list(struct client *c, const DmabufBroker__V1__Request *req,
		       struct reply *r, int *fds)
{
	const DmabufBroker__V1__PoolsRequest *pr = req->pools;
	struct broker *br = c->broker;
	DmabufBroker__V1__PoolsReply *out = reply_alloc(r, sizeof(*out));
	uint32_t max = pool_count(br->streams->pools);
	struct pool *pool;
	size_t used = 0;

	if (pr->max_entries && pr->max_entries < max)
		max = pr->max_entries;
	if (!out)
		return reply_error(r, -ENOMEM, "out of memory");
	dmabuf_broker__v1__pools_reply__init(out);
	out->pools = reply_alloc(r, (max + 1) * sizeof(*out->pools));
	if (!out->pools)
		return reply_error(r, -ENOMEM, "out of memory");
	pool = pool_after(br->streams->pools, pr->after_id);
	for (; pool && out->n_pools < max; pool = pool_next(pool)) {
		DmabufBroker__V1__PoolInfo *info;
		size_t size;

		if (!handlers_pool_known(c, pool))
			continue;
		info = describe_pool(r, br, pool, describe_flags_for(&c->peer,
						      pool->members[0]));
		if (!info)
			return reply_error(r, -ENOMEM, "out of memory");
		size = protobuf_c_message_get_packed_size(&info->base) + 4u;
		if (used + size > HANDLERS_POOL_LIST_BUDGET)
			break;
		used += size;
		out->pools[out->n_pools++] = info;
	}
	while (pool && !handlers_pool_known(c, pool))
		pool = pool_next(pool);
	if (pool && out->n_pools == 0)
		return reply_error(r, -ENOMEM, "a pool does not fit a frame");
	if (pool)
		out->next_after_id = out->pools[out->n_pools - 1]->id;
	r->resp.pools = out;
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_POOLS;
	return 0;
}

/* The pool @id if @c may manage it; NULL with -ENOENT or -EPERM in @r. */
static struct pool *handlers_pool_owned(struct client *c, struct pool *pool,
					struct reply *r)
{
	uid_t owner = pool->members[0]->owner->uid;

	if (policy_may_manage(&c->peer, owner) < 0) {
		reply_error(r, -EPERM, "pool %llu belongs to uid %u",
			    (unsigned long long)pool->id, (unsigned)owner);
		return NULL;
	}
	return pool;
}

/* The pool @id when there is one (else NULL and @r untouched). */
static struct pool *handlers_pool_target(struct client *c, uint64_t id,
					 struct reply *r)
{
	struct pool *pool = pool_by_id(c->broker->streams->pools, id);

	if (!pool)
		return NULL;
	if (!handlers_pool_known(c, pool))
		reply_error(r, -ENOENT, "no buffer with id %llu",
			    (unsigned long long)id);
	return pool;
}

bool handlers_pool_destroy(struct client *c, uint64_t id, struct reply *r)
{
	struct pool *pool = handlers_pool_target(c, id, r);
	struct log_ctx ctx = client_log_ctx(c);

	if (!pool || r->resp.status < 0)
		return pool != NULL;
	if (!handlers_pool_owned(c, pool, r))
		return true;
	ctx.buffer_id = pool->id;
	log_ctx_msg(LOG_DEBUG, &ctx, "destroying pool");
	streams_pool_destroy(c->broker->streams, pool);
	return true;
}

bool handlers_pool_grant(struct client *c, uint64_t id,
			 const struct policy_grant *g, struct reply *r)
{
	struct broker *br = c->broker;
	struct pool *pool = handlers_pool_target(c, id, r);
	struct registry_buffer *first;
	struct policy_grant *before;
	uint8_t nbefore;
	int ret;

	if (!pool || r->resp.status < 0)
		return pool != NULL;
	if (!handlers_pool_owned(c, pool, r))
		return true;
	first = pool->members[0];
	if (g->access == POLICY_ACCESS_READ &&
	    !br->backends->list[first->backend].caps.read_only) {
		handlers_buffer_no_read_only(r, &br->backends->list[first->backend]);
		return true;
	}
	/* Checked on a copy first, so that members never disagree. */
	nbefore = first->ngrants;
	before = nbefore ? malloc(nbefore * sizeof(*before)) : NULL;
	if (nbefore && !before) {
		reply_error(r, -ENOMEM, "out of memory");
		return true;
	}
	if (nbefore)
		memcpy(before, first->grants, nbefore * sizeof(*before));
	ret = policy_grants_apply(&before, &nbefore, g);
	free(before);
	if (ret < 0) {
		reply_error(r, ret, ret == -E2BIG ? "at most %d grants per "
			    "pool" : "cannot apply grant", POLICY_MAX_GRANTS);
		return true;
	}
	for (uint32_t i = 0; i < pool->count; i++)
		registry_buffer_grant(br->reg, pool->members[i], g);
	streams_pool_regranted(br->streams, pool);
	return true;
}

bool handlers_pool_release(struct client *c, uint64_t id, struct reply *r)
{
	struct pool *pool = handlers_pool_target(c, id, r);
	uint32_t dropped = 0;

	if (!pool || r->resp.status < 0)
		return pool != NULL;
	for (uint32_t i = 0; i < pool->count; i++)
		dropped += registry_hold_drop(c->broker->reg, pool->members[i],
					      c->conn) == 0;
	if (!dropped)
		reply_error(r, -ENOENT, "this connection holds no fd of pool "
			    "%llu", (unsigned long long)id);
	return true;
}

bool handlers_pool_info(struct client *c, uint64_t id, const char *name,
			struct reply *r)
{
	struct pool_set *set = c->broker->streams->pools;
	struct pool *pool = name ? pool_by_name(set, name) : pool_by_id(set, id);

	if (!pool)
		return false;
	if (!handlers_pool_known(c, pool)) {
		reply_error(r, -ENOENT, "no such buffer");
		return true;
	}
	r->resp.pool = describe_pool(r, c->broker, pool, DESCRIBE_MEMBERS |
				     describe_flags_for(&c->peer,
							pool->members[0]));
	if (!r->resp.pool)
		reply_error(r, -ENOMEM, "out of memory");
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_POOL;
	return true;
}
