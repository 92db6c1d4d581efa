/* SPDX-License-Identifier: MIT */
/* Requests that create, share, name or remove buffers. */
#include "handlers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "client.h"
#include "config.h"
#include "describe.h"
#include "imgfmt.h"
#include "log.h"
#include "persist.h"
#include "pool.h"
#include "registry.h"
#include "broker.h"
#include "shares.h"
#include "streams.h"
#include "worker.h"

#include <drm_fourcc.h>

/* An Alloc waiting for the worker; its name lives inside. */
struct handlers_buffer_job {
	struct worker_job base;		/* first: the worker's handle */
	struct backend *be;
	uint64_t seq;
	struct registry_new p;
	struct backend_request req;
	struct handlers_buffer_grants grants;
	struct imgfmt_layout layout;	/* the client's own, if any */
	struct shares *shares;		/* where its bytes are reserved */
	struct backend_buffer out;
	int status;			/* run()'s result */
	char name[];
};

int handlers_buffer_grant_from(const DmabufBroker__V1__Grant *g,
			       struct policy_grant *out)
{
	if (!g || (unsigned)g->access > POLICY_ACCESS_READ_WRITE)
		return -EINVAL;
	out->access = (uint8_t)g->access;
	switch (g->subject_case) {
	case DMABUF_BROKER__V1__GRANT__SUBJECT_UID:
		out->subject = POLICY_SUBJECT_UID;
		out->id = g->uid;
		return 0;
	case DMABUF_BROKER__V1__GRANT__SUBJECT_GID:
		out->subject = POLICY_SUBJECT_GID;
		out->id = g->gid;
		return 0;
	case DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE:
		out->subject = POLICY_SUBJECT_EVERYONE;
		out->id = 0;
		return g->everyone ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

int handlers_buffer_layout_from(const DmabufBroker__V1__ImageLayout *in,
				uint64_t size, struct imgfmt_layout *out,
				char *why, size_t len)
{
	memset(out, 0, sizeof(*out));
	out->fourcc = in->fourcc;
	out->modifier = in->modifier;
	out->width = in->width;
	out->height = in->height;
	out->nplanes = (uint32_t)in->n_planes;	/* a frame holds < 2^16 */
	for (size_t i = 0; i < in->n_planes && i < IMGFMT_MAX_PLANES; i++) {
		out->planes[i].offset = in->planes[i]->offset;
		out->planes[i].stride = in->planes[i]->stride;
	}
	return imgfmt_check(out, size, why, len);
}

int handlers_buffer_backend(struct broker *br, const char *name,
			    struct reply *r)
{
	int i = *name ? backend_set_find(br->backends, name) :
		br->backends->preferred;

	if (i < 0 && *name)
		return reply_error(r, -EINVAL, "unknown backend '%s'", name);
	if (i < 0 || !br->backends->list[i].available)
		return reply_error(r, -ENODEV, "backend '%s' unavailable: %s",
				   name, i < 0 ? "none" :
				   br->backends->list[i].detail);
	if (br->backends->list[i].desc->internal)
		return reply_error(r, -EINVAL, "backend '%s' does not allocate",
				   name);
	return i;
}

int handlers_buffer_grants_from(const struct backend *be,
				DmabufBroker__V1__Grant *const *in, size_t n,
				struct handlers_buffer_grants *out,
				struct reply *r)
{
	if (n > POLICY_MAX_GRANTS)
		return reply_error(r, -E2BIG, "too many grants");
	for (size_t i = 0; i < n; i++) {
		if (handlers_buffer_grant_from(in[i], &out->g[i]) < 0)
			return reply_error(r, -EINVAL, "invalid grant");
		if (out->g[i].access == POLICY_ACCESS_READ && !be->caps.read_only)
			return handlers_buffer_no_read_only(r, be);
	}
	out->n = n;
	return 0;
}

int handlers_buffer_no_read_only(struct reply *r, const struct backend *be)
{
	return reply_error(r, -EOPNOTSUPP, "backend %s cannot enforce read-only "
			   "access (a device could still write): grant or "
			   "import read-write, or allocate from a backend "
			   "that enforces it", be->name);
}

/* The modifier of an image Alloc: LINEAR, when the client accepts it. */
static int handlers_buffer_modifier(const DmabufBroker__V1__AllocRequest *a,
				    struct reply *r)
{
	for (size_t i = 0; i < a->n_modifiers; i++) {
		if (a->modifiers[i] == DRM_FORMAT_MOD_LINEAR)
			return 0;
	}
	if (a->n_modifiers == 0)
		return 0;
	return reply_error(r, -EOPNOTSUPP, "no acceptable modifier: the "
			   "broker lays out LINEAR images only");
}

/*
 * The backend request of an Alloc and the bytes it will take (for the
 * checks made before anything is allocated); 0 or a reply error.
 */
static int handlers_buffer_request(const DmabufBroker__V1__AllocRequest *a,
				   const struct backend *be,
				   struct backend_request *req,
				   uint64_t *bytes, struct reply *r)
{
	struct imgfmt_layout l;
	uint64_t image = 0;

	*req = (struct backend_request){ .size = a->size, .name = a->name,
					 .flags = a->flags,
					 .modifier = DRM_FORMAT_MOD_LINEAR };
	if (a->flags & ~BACKEND_ALLOC_VALID_FLAGS)
		return reply_error(r, -EINVAL, "unknown flags 0x%x", a->flags);
	if ((a->flags & BACKEND_ALLOC_CONTIGUOUS) && !be->caps.contiguous)
		return reply_error(r, -EOPNOTSUPP, "backend %s cannot allocate "
				   "contiguous memory", be->name);
	if (a->fourcc) {
		if (a->layout)
			return reply_error(r, -EINVAL, "give a layout or a "
					   "format to lay out, not both");
		if (handlers_buffer_modifier(a, r) < 0)
			return r->resp.status;
		if (imgfmt_layout_linear(a->fourcc, a->width, a->height, 0,
					 &l, &image) < 0)
			return reply_error(r, -EINVAL, "cannot lay out format "
					   "0x%08x at %ux%u", a->fourcc,
					   a->width, a->height);
		req->fourcc = a->fourcc;
		req->width = a->width;
		req->height = a->height;
	} else if (a->size == 0) {
		return reply_error(r, -EINVAL, "size must not be 0");
	}
	*bytes = image > a->size ? image : a->size;
	return 0;
}

int handlers_buffer_alloc_params(struct client *c,
					const DmabufBroker__V1__AllocRequest *a,
					struct registry_new *p,
					struct backend_request *req,
					struct imgfmt_layout *layout,
					struct handlers_buffer_grants *grants,
					struct reply *r)
{
	const struct config *cfg = c->broker->cfg;
	struct backend *be;
	uint64_t bytes = 0;
	char why[128];
	int i;

	if (*a->name && !registry_name_valid(a->name))
		return reply_error(r, -EINVAL, "invalid buffer name");
	if ((unsigned)a->lifetime > REGISTRY_LIFETIME_PERSISTENT)
		return reply_error(r, -EINVAL, "unknown lifetime %d", a->lifetime);
	if ((i = handlers_buffer_backend(c->broker, a->backend, r)) < 0)
		return i;
	be = &c->broker->backends->list[i];
	if (handlers_buffer_request(a, be, req, &bytes, r) < 0 ||
	    handlers_buffer_grants_from(be, a->grants, a->n_grants, grants,
					r) < 0)
		return r->resp.status;
	/* Charged to the client's memory cgroup where the backend can. */
	req->for_client = true;
	req->client_pidfd = c->pidfd;
	if (bytes > cfg->max_buffer_size ||
	    (be->max_size && bytes > be->max_size))
		return reply_error(r, -EFBIG, "size %llu exceeds the limit of "
				   "%llu bytes", (unsigned long long)bytes,
				   (unsigned long long)(bytes > cfg->max_buffer_size ?
				   cfg->max_buffer_size : be->max_size));
	if (a->layout && handlers_buffer_layout_from(a->layout, a->size, layout,
						     why, sizeof(why)) < 0)
		return reply_error(r, -EINVAL, "invalid image layout: %s", why);
	*p = (struct registry_new){
		.size = bytes,
		.name = a->name,
		.lifetime = (enum registry_lifetime)a->lifetime,
		.backend = (uint8_t)i,
		.layout = a->layout ? layout : NULL,
	};
	return 0;
}

int handlers_buffer_may_name(struct client *c, const char *name,
			     struct reply *r)
{
	const struct names_rule *rule;
	char owner[128];

	if (names_may_take(&c->broker->cfg->names, &c->peer, name, &rule) == 0)
		return 0;
	names_describe_owner(rule, owner, sizeof(owner));
	return reply_error(r, -EACCES, "names under '%s' are reserved for %s",
			   rule->prefix, owner);
}

/*
 * Allocs of @uid still on the worker count against its quota as if their
 * buffers were registered: -EDQUOT when @count more of @size would not
 * fit, else 0.
 */
static int handlers_buffer_check_reserved(const struct broker *br, uid_t uid,
					  uint64_t size, uint32_t count,
					  const struct registry_quota *q)
{
	struct shares_reserved res = shares_reserved_of(br->shares, uid);
	struct registry_usage use = registry_usage_of(br->reg, uid);

	if (q->max_buffers && use.buffers + res.buffers + count > q->max_buffers)
		return -EDQUOT;
	if (q->max_bytes &&
	    use.bytes + res.bytes + size * count > q->max_bytes)
		return -EDQUOT;
	return 0;
}

int handlers_buffer_room(struct client *c, const struct registry_new *p,
			 struct registry_quota *q, struct reply *r)
{
	return handlers_buffer_room_many(c, p, 1, q, r);
}

int handlers_buffer_room_many(struct client *c, const struct registry_new *p,
			      uint32_t count, struct registry_quota *q,
			      struct reply *r)
{
	struct broker *br = c->broker;
	struct config_quota cq = config_quota_for(br->cfg, c->peer.uid);
	int ret;

	*q = (struct registry_quota){ cq.bytes, cq.buffers };
	if (p->name && *p->name && handlers_buffer_may_name(c, p->name, r) < 0)
		return r->resp.status;
	ret = registry_check_add_many(br->reg, c->peer.uid, p->size, count,
				      p->name, q);
	if (ret == 0)
		ret = handlers_buffer_check_reserved(br, c->peer.uid, p->size,
						     count, q);
	if (ret == -EEXIST)
		return reply_error(r, ret, "name '%s' is taken", p->name);
	if (ret == -EDQUOT)
		return reply_error(r, ret, "over quota for uid %u",
				   (unsigned)c->peer.uid);
	if (ret < 0)
		return reply_error(r, ret, "size out of range");
	/* p->size * count cannot overflow: registry_check_add_many(). */
	if (shares_check_total(br->shares, registry_totals(br->reg).charged,
			       p->size * count) < 0)
		return reply_error(r, -ENOSPC, "the broker's memory is full: "
				   "all buffers together may take %llu MiB "
				   "(max_total_bytes)", (unsigned long long)
				   (shares_max_total(br->shares) >> 20));
	if (c->conn->nholds + count > br->cfg->max_holds_per_client)
		return reply_error(r, -EMFILE, "too many holds on this connection");
	if (p->lifetime == REGISTRY_LIFETIME_PERSISTENT &&
	    persist_room(br->persist, count) < 0)
		return reply_error(r, -ENOSPC, "the fd store that keeps "
				   "persistent buffers across restarts is full");
	return 0;
}

void handlers_buffer_undo(struct broker *br, struct registry_buffer *b)
{
	struct backend *be = &br->backends->list[b->backend];

	if (be->desc->ops->release && b->priv)
		be->desc->ops->release(be, b->priv);
	close(b->fd);
	b->fd = -1;		/* no REMOVED: it never arrived */
	registry_buffer_remove(br->reg, b);
}

int handlers_buffer_apply_grants(struct registry_buffer *b,
					const struct handlers_buffer_grants *g)
{
	for (size_t i = 0; i < g->n; i++) {
		int ret = policy_grants_apply(&b->grants, &b->ngrants, &g->g[i]);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void handlers_buffer_discard(struct backend *be,
				    struct backend_buffer *out)
{
	if (be->desc->ops->release && out->priv)
		be->desc->ops->release(be, out->priv);
	close(out->fd);
	out->fd = -1;
}

int handlers_buffer_register(struct client *c, struct registry_new *p,
			     const struct registry_quota *q,
			     const struct handlers_buffer_grants *g,
			     struct backend_buffer *out, struct reply *r)
{
	struct broker *br = c->broker;
	struct backend *be = &br->backends->list[p->backend];
	struct registry_buffer *b;
	int ret;

	p->size = out->size;
	p->priv = out->priv;
	if (out->layout.nplanes && !p->layout)
		p->layout = &out->layout;
	ret = registry_buffer_add(br->reg, c->conn, p, q, out->fd, &b);
	if (ret < 0) {
		handlers_buffer_discard(be, out);
		return reply_error(r, ret, ret == -EDQUOT ? "over quota for "
				   "uid %u" : "cannot register buffer",
				   (unsigned)c->peer.uid);
	}
	if ((ret = handlers_buffer_apply_grants(b, g)) < 0 ||
	    !(r->resp.buffer = describe_buffer(r, br, b, DESCRIBE_HOLDERS |
						  DESCRIBE_PRIVATE))) {
		handlers_buffer_undo(br, b);
		return reply_error(r, ret < 0 ? ret : -ENOMEM,
				   "cannot hand out the buffer");
	}
	/* The owner's fd is the registry's own, sent as is (no dup). */
	reply_add_fd(r, b->fd, true);
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_BUFFER;
	registry_buffer_announce(br->reg, b);
	return 0;
}

/* Registers what the backend made for an Alloc, or replies its error. */
static int handlers_buffer_alloc_finish(struct client *c,
					struct registry_new *p,
					const struct registry_quota *q,
					const struct handlers_buffer_grants *g,
					int status, struct backend_buffer *out,
					struct reply *r)
{
	struct backend *be = &c->broker->backends->list[p->backend];

	if (status < 0)
		return reply_error(r, status, "%s allocation of %llu bytes "
				   "failed: %s", be->name,
				   (unsigned long long)p->size,
				   strerror(-status));
	return handlers_buffer_register(c, p, q, g, out, r);
}

/* The job holds its own copy of the client's pidfd: the client may go,
 * closing its own, while the worker still allocates. */
static void handlers_buffer_job_free(struct handlers_buffer_job *job)
{
	if (job->req.client_pidfd >= 0)
		close(job->req.client_pidfd);
	free(job);
}

/* On the worker thread: only the job's own fields. */
static void handlers_buffer_job_run(struct worker_job *wj)
{
	struct handlers_buffer_job *job = (struct handlers_buffer_job *)wj;

	job->status = job->be->desc->ops->alloc(job->be, &job->req, &job->out);
}

/*
 * Back on the loop: the client may be gone (its job was detached) or the
 * daemon stopping; else name, quota and hold limit may have changed since
 * the request, so they are checked again before the buffer is registered.
 */
static void handlers_buffer_job_done(struct worker_job *wj, bool cancelled)
{
	struct handlers_buffer_job *job = (struct handlers_buffer_job *)wj;
	struct client *c = wj->client;
	struct registry_quota q = { 0 };
	struct reply r;

	/* Registered now or never: the buffer is charged instead. */
	shares_release(job->shares, wj->uid, job->p.size);
	if (cancelled || !c) {
		if (job->status == 0 && job->out.fd >= 0)
			handlers_buffer_discard(job->be, &job->out);
		handlers_buffer_job_free(job);
		return;
	}
	reply_init(&r, job->seq);
	if (job->status < 0 || handlers_buffer_room(c, &job->p, &q, &r) == 0)
		handlers_buffer_alloc_finish(c, &job->p, &q, &job->grants,
					     job->status, &job->out, &r);
	else
		handlers_buffer_discard(job->be, &job->out);
	client_send_reply(c, &r);
	reply_fini(&r);
	client_job_done(c);
	handlers_buffer_job_free(job);
}

/* Hands the allocation to the worker; the reply comes from
 * handlers_buffer_job_done(). */
static int handlers_buffer_alloc_async(struct client *c, uint64_t seq,
				       const struct registry_new *p,
				       const struct backend_request *req,
				       const struct handlers_buffer_grants *g,
				       struct reply *r)
{
	struct broker *br = c->broker;
	size_t nlen = p->name ? strlen(p->name) + 1 : 1;
	uint64_t busy = shares_reserved_of(br->shares, c->peer.uid).buffers;
	struct handlers_buffer_job *job;

	/* Each is one connection's; those of connections that closed
	 * count until they end.  Root's take their turns, unbounded. */
	if (c->peer.uid != 0 && busy >= br->cfg->max_jobs_per_uid)
		return reply_error(r, -EAGAIN, "uid %u has %llu large "
				   "allocations in progress already "
				   "(max_jobs_per_uid)", (unsigned)c->peer.uid,
				   (unsigned long long)busy);
	job = calloc(1, sizeof(*job) + nlen);
	if (!job)
		return reply_error(r, -ENOMEM, "out of memory");
	job->base.run = handlers_buffer_job_run;
	job->base.done = handlers_buffer_job_done;
	job->be = &br->backends->list[p->backend];
	job->seq = seq;
	job->p = *p;
	if (p->name)
		memcpy(job->name, p->name, nlen);
	job->p.name = job->name;
	job->req = *req;
	job->req.name = job->name;
	if (req->client_pidfd >= 0 &&
	    (job->req.client_pidfd = fcntl(req->client_pidfd,
					   F_DUPFD_CLOEXEC, 3)) < 0) {
		int err = errno;

		free(job);
		return reply_error(r, -err, "cannot keep the client's pidfd: "
				   "%s", strerror(err));
	}
	if (p->layout) {
		job->layout = *p->layout;
		job->p.layout = &job->layout;
	}
	job->grants = *g;
	job->out.fd = -1;
	job->base.uid = c->peer.uid;
	job->shares = br->shares;
	if (shares_reserve(br->shares, job->base.uid, p->size) < 0) {
		handlers_buffer_job_free(job);
		return reply_error(r, -ENOMEM, "out of memory");
	}
	client_wait_job(c, &job->base);
	worker_submit(br->worker, &job->base);
	r->deferred = true;
	return 0;
}

int handlers_buffer_alloc(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds)
{
	const DmabufBroker__V1__AllocRequest *a = req->alloc;
	struct broker *br = c->broker;
	struct handlers_buffer_grants grants;
	struct backend_request breq;
	struct backend_buffer out = { .fd = -1 };
	struct imgfmt_layout layout;
	struct registry_new p;
	struct registry_quota q;
	struct backend *be;
	int ret;

	if ((ret = handlers_buffer_alloc_params(c, a, &p, &breq, &layout,
						&grants, r)) < 0 ||
	    (ret = handlers_buffer_room(c, &p, &q, r)) < 0)
		return ret;
	if (p.size >= HANDLERS_BUFFER_ASYNC_MIN)
		return handlers_buffer_alloc_async(c, req->seq, &p, &breq,
						   &grants, r);
	be = &br->backends->list[p.backend];
	ret = be->desc->ops->alloc(be, &breq, &out);
	return handlers_buffer_alloc_finish(c, &p, &q, &grants, ret, &out, r);
}

bool handlers_buffer_known(struct client *c, const struct registry_buffer *b)
{
	return policy_may_see(&c->peer, b->owner->uid, b->grants, b->ngrants) ||
	       registry_hold_find(c->broker->reg, b, c->conn);
}

/* The buffer @id, or NULL after putting -ENOENT in @r. */
static struct registry_buffer *handlers_buffer_find(struct client *c,
						    uint64_t id,
						    struct reply *r)
{
	struct registry_buffer *b = registry_buffer_by_id(c->broker->reg, id);

	if (b && !handlers_buffer_known(c, b))
		b = NULL;
	if (!b)
		reply_error(r, -ENOENT, "no buffer with id %llu",
			    (unsigned long long)id);
	return b;
}

/* The buffer an Import names, or NULL with the error in @r. */
static struct registry_buffer *
handlers_buffer_import_target(struct client *c,
			      const DmabufBroker__V1__ImportRequest *im,
			      struct reply *r)
{
	struct registry_buffer *b;

	switch (im->target_case) {
	case DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_ID:
		return handlers_buffer_find(c, im->id, r);
	case DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_NAME:
		if (!registry_name_valid(im->name)) {
			reply_error(r, -EINVAL, "invalid buffer name");
			return NULL;
		}
		b = registry_buffer_by_name(c->broker->reg, im->name);
		if (b && !handlers_buffer_known(c, b))
			b = NULL;
		if (!b)
			reply_error(r, -ENOENT, "no buffer named '%s'", im->name);
		return b;
	default:
		reply_error(r, -EINVAL, "import needs an id or a name");
		return NULL;
	}
}

int handlers_buffer_import(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r, int *fds)
{
	const DmabufBroker__V1__ImportRequest *im = req->import;
	struct broker *br = c->broker;
	struct registry_buffer *b = handlers_buffer_import_target(c, im, r);
	struct backend *be;
	int fd, ret;

	if (!b)
		return r->resp.status;
	if (policy_may_import(&c->peer, b->owner->uid, b->grants, b->ngrants,
			      im->read_only) < 0)
		return reply_error(r, -EACCES, "not allowed to import buffer %llu%s",
				   (unsigned long long)b->id,
				   im->read_only ? "" : " read-write");
	if (!registry_hold_find(br->reg, b, c->conn) &&
	    c->conn->nholds >= br->cfg->max_holds_per_client)
		return reply_error(r, -EMFILE, "too many holds on this connection");
	if (im->read_only) {
		/* A new fd on which the kernel refuses writes. */
		be = &br->backends->list[b->backend];
		if (!be->caps.read_only)
			return handlers_buffer_no_read_only(r, be);
		fd = be->desc->ops->export_fd(be, b->fd, b->priv, true);
		if (fd < 0)
			return reply_error(r, fd, "cannot export buffer %llu read-only",
					   (unsigned long long)b->id);
		/* Closed by reply_fini() on any error below. */
		reply_add_fd(r, fd, false);
	} else {
		reply_add_fd(r, b->fd, true);
	}
	ret = registry_hold_add(br->reg, b, c->conn, !im->read_only, 0);
	if (ret < 0)
		return reply_error(r, ret, "out of memory");
	r->resp.buffer = describe_buffer(r, br, b, DESCRIBE_HOLDERS |
					 describe_flags_for(&c->peer, b));
	if (!r->resp.buffer) {
		registry_hold_drop(br->reg, b, c->conn);
		return reply_error(r, -ENOMEM, "out of memory");
	}
	r->resp.buffer->read_only = im->read_only;
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_BUFFER;
	return 0;
}

/* The buffer @id if @c may manage it, else NULL with the error in @r.
 * A pool's member is managed through its pool only (-EBUSY). */
static struct registry_buffer *handlers_buffer_owned(struct client *c,
						     uint64_t id,
						     struct reply *r)
{
	struct registry_buffer *b = handlers_buffer_find(c, id, r);

	if (b && policy_may_manage(&c->peer, b->owner->uid) < 0) {
		reply_error(r, -EPERM, "buffer %llu belongs to uid %u",
			    (unsigned long long)id, (unsigned)b->owner->uid);
		return NULL;
	}
	if (b && b->pool_id) {
		reply_error(r, -EBUSY, "buffer %llu is a member of pool %llu: "
			    "destroy, name or grant the pool",
			    (unsigned long long)id,
			    (unsigned long long)b->pool_id);
		return NULL;
	}
	return b;
}

int handlers_buffer_publish(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r, int *fds)
{
	const DmabufBroker__V1__PublishRequest *p = req->publish;
	struct registry_buffer *b;
	int ret;

	if (pool_by_id(c->broker->streams->pools, p->id))
		return reply_error(r, -EOPNOTSUPP, "a pool is named when it "
				   "is allocated");
	if (!(b = handlers_buffer_owned(c, p->id, r)))
		return r->resp.status;
	if (registry_name_valid(p->name) &&
	    handlers_buffer_may_name(c, p->name, r) < 0)
		return r->resp.status;
	ret = registry_buffer_set_name(c->broker->reg, b, p->name);
	if (ret == -EINVAL)
		return reply_error(r, ret, "invalid buffer name");
	if (ret == -EEXIST)
		return reply_error(r, ret, b->name && !strcmp(b->name, p->name) ?
				   "buffer is named '%s' already" :
				   "name '%s' is taken or the buffer has a name",
				   p->name);
	if (ret < 0)
		return reply_error(r, ret, "out of memory");
	return 0;
}

int handlers_buffer_grant(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds)
{
	const DmabufBroker__V1__GrantRequest *g = req->grant;
	struct registry_buffer *b;
	struct policy_grant pg;
	struct backend *be;
	int ret;

	if (handlers_buffer_grant_from(g->grant, &pg) < 0)
		return reply_error(r, -EINVAL, "invalid grant");
	if (handlers_pool_grant(c, g->id, &pg, r))
		return r->resp.status;
	if (!(b = handlers_buffer_owned(c, g->id, r)))
		return r->resp.status;
	be = &c->broker->backends->list[b->backend];
	if (pg.access == POLICY_ACCESS_READ && !be->caps.read_only)
		return handlers_buffer_no_read_only(r, be);
	ret = registry_buffer_grant(c->broker->reg, b, &pg);
	if (ret == -E2BIG)
		return reply_error(r, ret, "at most %d grants per buffer",
				   POLICY_MAX_GRANTS);
	if (ret < 0)
		return reply_error(r, ret, "cannot apply grant");
	return 0;
}

int handlers_buffer_release(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r, int *fds)
{
	struct broker *br = c->broker;
	struct registry_buffer *b;

	if (handlers_pool_release(c, req->release->id, r))
		return r->resp.status;
	if (!(b = handlers_buffer_find(c, req->release->id, r)))
		return r->resp.status;
	if (registry_hold_drop(br->reg, b, c->conn) < 0)
		return reply_error(r, -ENOENT, "this connection holds no fd of buffer %llu",
				   (unsigned long long)b->id);
	return 0;
}

int handlers_buffer_destroy(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r, int *fds)
{
	struct registry_buffer *b;
	struct log_ctx ctx = client_log_ctx(c);

	if (handlers_pool_destroy(c, req->destroy->id, r))
		return r->resp.status;
	if (!(b = handlers_buffer_owned(c, req->destroy->id, r)))
		return r->resp.status;
	ctx.buffer_id = b->id;
	log_ctx_msg(LOG_DEBUG, &ctx, "destroying buffer");
	registry_buffer_remove(c->broker->reg, b);
	return 0;
}
