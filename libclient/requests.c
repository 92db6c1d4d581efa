/* SPDX-License-Identifier: MIT */
/*
 * One function per request: each builds its Request, then under the
 * client's lock makes the blocking call (connection.c) and converts the
 * reply.
 */
#include "client-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQ(field, CASE) \
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT; \
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_##CASE; \
	req.field = &body

#define BODY(CASE) DMABUF_BROKER__V1__RESPONSE__BODY_##CASE

/* A call whose reply carries only a status. */
static int request_status(struct dbb_client *client,
			  DmabufBroker__V1__Request *req)
{
	struct connection_reply reply;
	int ret;

	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, req, BODY(_NOT_SET), 0, &reply);
	connection_reply_clear(&reply);
	connection_unlock(client);
	return ret;
}

/* With the lock held: a call (sending @send_fd when >= 0) whose reply is
 * a BufferInfo (and an fd when @nfds is 1). */
static int request_info_locked(struct dbb_client *client,
			       DmabufBroker__V1__Request *req, int send_fd,
			       size_t nfds, struct dbb_buffer_info **info,
			       int *fd)
{
	struct connection_reply reply;
	int ret;

	ret = connection_call_fd(client, req, send_fd, BODY(_NOT_SET), nfds,
				 &reply);
	if (ret == 0 && reply.resp->body_case == BODY(POOL) && nfds == 0) {
		/* Info on a pool's id or name: no buffer of that id. */
		connection_set_error(client, "a pool, not a buffer");
		ret = -ENOENT;
	} else if (ret == 0 && reply.resp->body_case != BODY(BUFFER)) {
		connection_set_error(client, "broker reply without a buffer");
		ret = -EPROTO;
	}
	if (ret < 0) {
		connection_reply_clear(&reply);
		return ret;
	}
	ret = info_from_proto(reply.resp->buffer, info);
	if (ret == -EPROTO)
		connection_set_error(client, "invalid buffer description");
	if (ret == 0 && fd) {
		*fd = reply.fds[0];
		reply.nfds = 0;
	}
	connection_reply_clear(&reply);
	return ret;
}

static int request_info(struct dbb_client *client,
			DmabufBroker__V1__Request *req,
			struct dbb_buffer_info **info)
{
	int ret = connection_lock(client);

	if (ret < 0)
		return ret;
	ret = request_info_locked(client, req, -1, 0, info, NULL);
	connection_unlock(client);
	return ret;
}

/*
 * Like request_info(), wrapping the fd and description in a buffer.  The
 * handle is counted under the same lock as the call, so that no other
 * thread's free can release the hold in between.
 */
static int request_buffer(struct dbb_client *client,
			  DmabufBroker__V1__Request *req, int send_fd,
			  struct dbb_buffer **out)
{
	struct dbb_buffer_info *info;
	int fd, ret;

	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = request_info_locked(client, req, send_fd, 1, &info, &fd);
	if (ret == 0) {
		ret = buffer_new(client, fd, info, out);
		if (ret < 0) {
			/* The broker's hold has no handle: let it go. */
			buffer_release(client, info->id);
			close(fd);
			free(info);
		}
	}
	connection_unlock(client);
	return ret;
}

static int request_layout(const struct dbb_image_layout *user,
			  struct request_common *rc)
{
	const struct dbb_image_layout *in = &rc->user_layout;
	DmabufBroker__V1__ImageLayout *out = &rc->layout;
	int ret;

	ret = structs_copy_in(&rc->user_layout, sizeof(rc->user_layout),
			      STRUCTS_IMAGE_LAYOUT_V1, user);
	if (ret < 0)
		return ret;
	if (in->n_planes < 1 || in->n_planes > DBB_MAX_PLANES)
		return -EINVAL;
	dmabuf_broker__v1__image_layout__init(out);
	out->fourcc = in->fourcc;
	out->modifier = in->modifier;
	out->width = in->width;
	out->height = in->height;
	out->n_planes = in->n_planes;
	out->planes = rc->plane_ptrs;
	for (uint32_t i = 0; i < in->n_planes; i++) {
		dmabuf_broker__v1__plane__init(&rc->planes[i]);
		rc->planes[i].offset = in->planes[i].offset;
		rc->planes[i].stride = in->planes[i].stride;
		rc->plane_ptrs[i] = &rc->planes[i];
	}
	return 0;
}

/* Copies and checks @user into @rc; fills what every creating request
 * has: name, lifetime and layout. */
static int request_common(const struct dbb_alloc_params *user,
			  struct request_common *rc, char **name,
			  DmabufBroker__V1__Lifetime *lifetime,
			  DmabufBroker__V1__ImageLayout **layout)
{
	const struct dbb_alloc_params *params = &rc->params;
	int ret;

	if (!user)
		return -EINVAL;
	ret = structs_copy_in(&rc->params, sizeof(rc->params),
			      STRUCTS_ALLOC_PARAMS_V1, user);
	if (ret < 0)
		return ret;
	if (params->lifetime != DBB_LIFETIME_CLIENT &&
	    params->lifetime != DBB_LIFETIME_PERSISTENT)
		return -EINVAL;
	*lifetime = (DmabufBroker__V1__Lifetime)params->lifetime;
	if (params->name)
		*name = (char *)params->name;
	if (params->layout) {
		ret = request_layout(params->layout, rc);
		if (ret < 0)
			return ret;
		*layout = &rc->layout;
	}
	return 0;
}

int request_alloc_body(struct dbb_client *client,
		       const struct dbb_alloc_params *user,
		       struct request_common *rc,
		       DmabufBroker__V1__AllocRequest *body)
{
	const struct dbb_alloc_params *params;
	int ret;

	ret = request_common(user, rc, &body->name, &body->lifetime,
			     &body->layout);
	if (ret < 0)
		return ret;
	params = &rc->params;
	if (params->size == 0 && params->fourcc == 0)
		return -EINVAL;
	if (params->fourcc || params->modifiers) {
		ret = connection_need_feature(client, "alloc-format");
		if (ret < 0)
			return ret;
	}
	if (params->flags & DBB_ALLOC_CONTIGUOUS) {
		ret = connection_need_feature(client, "contiguous");
		if (ret < 0)
			return ret;
	}
	body->size = params->size;
	if (params->backend)
		body->backend = (char *)params->backend;
	body->fourcc = params->fourcc;
	body->width = params->width;
	body->height = params->height;
	body->modifiers = (uint64_t *)params->modifiers;
	body->n_modifiers = params->modifiers ? params->n_modifiers : 0;
	body->flags = params->flags;
	return 0;
}

int dbb_alloc(struct dbb_client *client, const struct dbb_alloc_params *user,
	      struct dbb_buffer **out)
{
	DmabufBroker__V1__AllocRequest body = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	struct request_common rc;
	int ret;
	REQ(alloc, ALLOC);

	if (!client || !out)
		return -EINVAL;
	ret = request_alloc_body(client, user, &rc, &body);
	if (ret < 0)
		return ret;
	return request_buffer(client, &req, -1, out);
}

int dbb_pin_memfd(struct dbb_client *client, int memfd, uint64_t offset,
		  uint64_t length, const struct dbb_alloc_params *params,
		  struct dbb_buffer **out)
{
	DmabufBroker__V1__PinRequest body = DMABUF_BROKER__V1__PIN_REQUEST__INIT;
	struct request_common rc;
	int ret;
	REQ(pin, PIN);

	if (!client || !out || memfd < 0 || length == 0)
		return -EINVAL;
	ret = connection_need_feature(client, "pin");
	if (ret < 0)
		return ret;
	ret = request_common(params, &rc, &body.name, &body.lifetime,
			     &body.layout);
	if (ret < 0)
		return ret;
	body.offset = offset;
	body.length = length;
	if (rc.params.backend)
		body.backend = (char *)rc.params.backend;
	return request_buffer(client, &req, memfd, out);
}

int dbb_register_fd(struct dbb_client *client, int dmabuf_fd,
		    const struct dbb_alloc_params *params,
		    struct dbb_buffer **out)
{
	DmabufBroker__V1__AdoptRequest body = DMABUF_BROKER__V1__ADOPT_REQUEST__INIT;
	struct request_common rc;
	int ret;
	REQ(adopt, ADOPT);

	if (!client || !out || dmabuf_fd < 0)
		return -EINVAL;
	ret = connection_need_feature(client, "adopt");
	if (ret < 0)
		return ret;
	ret = request_common(params, &rc, &body.name, &body.lifetime,
			     &body.layout);
	if (ret < 0)
		return ret;
	return request_buffer(client, &req, dmabuf_fd, out);
}

/* An Import, by name or id as @body says. */
static int request_open(struct dbb_client *client,
			DmabufBroker__V1__ImportRequest *body, bool read_only,
			struct dbb_buffer **out)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	int ret;

	if (read_only) {
		ret = connection_need_feature(client, "read-only");
		if (ret < 0)
			return ret;
	}
	body->read_only = read_only;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_IMPORT;
	req.import = body;
	return request_buffer(client, &req, -1, out);
}

int dbb_open_by_name(struct dbb_client *client, const char *name,
		     bool read_only, struct dbb_buffer **out)
{
	DmabufBroker__V1__ImportRequest body = DMABUF_BROKER__V1__IMPORT_REQUEST__INIT;

	if (!client || !name || !out)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_NAME;
	body.name = (char *)name;
	return request_open(client, &body, read_only, out);
}

int dbb_open_by_id(struct dbb_client *client, uint64_t id, bool read_only,
		   struct dbb_buffer **out)
{
	DmabufBroker__V1__ImportRequest body = DMABUF_BROKER__V1__IMPORT_REQUEST__INIT;

	if (!client || !out)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_ID;
	body.id = id;
	return request_open(client, &body, read_only, out);
}

int dbb_set_name(struct dbb_client *client, uint64_t id, const char *name)
{
	DmabufBroker__V1__PublishRequest body = DMABUF_BROKER__V1__PUBLISH_REQUEST__INIT;
	REQ(publish, PUBLISH);

	if (!client || !name)
		return -EINVAL;
	body.id = id;
	body.name = (char *)name;
	return request_status(client, &req);
}

int dbb_grant(struct dbb_client *client, uint64_t id,
	      enum dbb_grant_subject subject, uint32_t who,
	      enum dbb_access access)
{
	DmabufBroker__V1__GrantRequest body = DMABUF_BROKER__V1__GRANT_REQUEST__INIT;
	DmabufBroker__V1__Grant grant = DMABUF_BROKER__V1__GRANT__INIT;
	REQ(grant, GRANT);

	if (!client || access > DBB_ACCESS_READ_WRITE)
		return -EINVAL;
	switch (subject) {
	case DBB_GRANT_UID:
		grant.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
		grant.uid = who;
		break;
	case DBB_GRANT_GID:
		grant.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_GID;
		grant.gid = who;
		break;
	case DBB_GRANT_EVERYONE:
		grant.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE;
		grant.everyone = 1;
		break;
	default:
		return -EINVAL;
	}
	grant.access = (DmabufBroker__V1__Access)access;
	body.id = id;
	body.grant = &grant;
	return request_status(client, &req);
}

int dbb_remove(struct dbb_client *client, uint64_t id)
{
	DmabufBroker__V1__DestroyRequest body = DMABUF_BROKER__V1__DESTROY_REQUEST__INIT;
	REQ(destroy, DESTROY);

	if (!client)
		return -EINVAL;
	body.id = id;
	return request_status(client, &req);
}

int dbb_watch(struct dbb_client *client, bool enable)
{
	DmabufBroker__V1__WatchRequest body = DMABUF_BROKER__V1__WATCH_REQUEST__INIT;
	REQ(watch, WATCH);

	struct connection_reply reply;
	int ret;

	body.enable = enable;
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, &req, BODY(_NOT_SET), 0, &reply);
	connection_reply_clear(&reply);
	/* Asked for again on a new connection after a break. */
	if (ret == 0)
		client->watching = enable;
	connection_unlock(client);
	return ret;
}

int dbb_info_by_id(struct dbb_client *client, uint64_t id,
		   struct dbb_buffer_info **out)
{
	DmabufBroker__V1__InfoRequest body = DMABUF_BROKER__V1__INFO_REQUEST__INIT;
	REQ(info, INFO);

	if (!client || !out)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_ID;
	body.id = id;
	return request_info(client, &req, out);
}

int dbb_info_by_name(struct dbb_client *client, const char *name,
		     struct dbb_buffer_info **out)
{
	DmabufBroker__V1__InfoRequest body = DMABUF_BROKER__V1__INFO_REQUEST__INIT;
	REQ(info, INFO);

	if (!client || !name || !out)
		return -EINVAL;
	body.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_NAME;
	body.name = (char *)name;
	return request_info(client, &req, out);
}

/* Fetches the page after @*after into @list; sets *@after to the next. */
static int request_list_page(struct dbb_client *client,
			     struct dbb_buffer_list *list, uint64_t *after)
{
	DmabufBroker__V1__ListRequest body = DMABUF_BROKER__V1__LIST_REQUEST__INIT;
	struct connection_reply reply;
	uint64_t next;
	int ret;
	REQ(list, LIST);

	body.after_id = *after;
	ret = connection_call(client, &req, BODY(LIST), 0, &reply);
	if (ret < 0)
		return ret;
	next = reply.resp->list->next_after_id;
	ret = list_buffers_append(list, reply.resp->list);
	connection_reply_clear(&reply);
	if (ret == 0 && next != 0 && next <= *after) {
		/* Would loop forever: ids only grow. */
		connection_set_error(client, "list paging went backwards");
		ret = -EPROTO;
	}
	*after = next;
	return ret;
}

int dbb_list(struct dbb_client *client, struct dbb_buffer_list **out)
{
	struct dbb_buffer_list *list;
	uint64_t after = 0;
	int ret;

	if (!client || !out)
		return -EINVAL;
	list = list_buffers_new();
	if (!list)
		return -ENOMEM;
	ret = connection_lock(client);
	if (ret < 0) {
		dbb_buffer_list_free(list);
		return ret;
	}
	do {
		ret = request_list_page(client, list, &after);
	} while (ret == 0 && after != 0);
	connection_unlock(client);
	if (ret < 0) {
		dbb_buffer_list_free(list);
		return ret;
	}
	*out = list;
	return 0;
}

static void request_stats_copy(const DmabufBroker__V1__StatsReply *s,
			       struct dbb_stats *out)
{
	*out = (struct dbb_stats){
		.struct_size = sizeof(*out),
		.clients = s->clients,
		.buffers = s->buffers,
		.bytes = s->bytes,
		.named = s->named,
		.persistent = s->persistent,
		.requests = s->requests,
		.errors = s->errors,
		.uptime_usec = s->uptime_usec,
		.max_clients = s->max_clients,
		.max_buffer_size = s->max_buffer_size,
		.max_total_bytes = s->max_total_bytes,
		.charged_bytes = s->charged_bytes,
		.max_clients_per_uid = s->max_clients_per_uid,
		.my_clients = s->caller_clients,
		.pools = s->pools,
		.queues = s->queues,
		.frames_posted = s->frames_posted,
		.frames_dropped = s->frames_dropped,
	};
	if (s->caller) {
		out->my_bytes = s->caller->bytes;
		out->my_buffers = s->caller->buffers;
		out->my_max_bytes = s->caller->max_bytes;
		out->my_max_buffers = s->caller->max_buffers;
	}
}

int dbb_stats(struct dbb_client *client, struct dbb_stats *out)
{
	DmabufBroker__V1__StatsRequest body = DMABUF_BROKER__V1__STATS_REQUEST__INIT;
	struct connection_reply reply;
	struct dbb_stats stats;
	int ret;
	REQ(stats, STATS);

	if (!client || !out)
		return -EINVAL;
	if (out->struct_size < STRUCTS_STATS_V1)
		return -EINVAL;
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, &req, BODY(STATS), 0, &reply);
	if (ret == 0)
		request_stats_copy(reply.resp->stats, &stats);
	connection_reply_clear(&reply);
	connection_unlock(client);
	if (ret < 0)
		return ret;
	return structs_copy_out(out, &stats, sizeof(stats), STRUCTS_STATS_V1);
}

int dbb_backends(struct dbb_client *client, struct dbb_backend_list **out)
{
	DmabufBroker__V1__BackendsRequest body = DMABUF_BROKER__V1__BACKENDS_REQUEST__INIT;
	struct connection_reply reply;
	int ret;
	REQ(backends, BACKENDS);

	if (!client || !out)
		return -EINVAL;
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, &req, BODY(BACKENDS), 0, &reply);
	if (ret == 0)
		ret = list_backends_from_proto(reply.resp->backends, out);
	connection_reply_clear(&reply);
	connection_unlock(client);
	return ret;
}

int dbb_names(struct dbb_client *client, struct dbb_name_list **out)
{
	DmabufBroker__V1__NamesRequest body = DMABUF_BROKER__V1__NAMES_REQUEST__INIT;
	struct connection_reply reply;
	int ret;
	REQ(names, NAMES);

	if (!client || !out)
		return -EINVAL;
	ret = connection_need_feature(client, "owned-names");
	if (ret < 0)
		return ret;
	ret = connection_lock(client);
	if (ret < 0)
		return ret;
	ret = connection_call(client, &req, BODY(NAMES), 0, &reply);
	if (ret == 0)
		ret = list_names_from_proto(reply.resp->names, out);
	connection_reply_clear(&reply);
	connection_unlock(client);
	return ret;
}
