/* SPDX-License-Identifier: MIT */
/* Requests that only read: List, Info, Stats, Backends, Names. */
#include "handlers.h"

#include <errno.h>

#include "backends/backend.h"
#include "client.h"
#include "config.h"
#include "describe.h"
#include "registry.h"
#include "shares.h"
#include "streams.h"
#include "broker.h"
#include "wire.h"

/* Room left in a frame for the envelope around the list entries. */
#define HANDLERS_QUERY_LIST_BUDGET (DBB_WIRE_MAX_FRAME - 512u)
/* Entries in one page at most (each packs to more than 16 bytes). */
#define HANDLERS_QUERY_LIST_MAX (DBB_WIRE_MAX_FRAME / 16u)

/* Bytes @info adds to a ListReply: tag, length varint, payload. */
static size_t handlers_query_entry_size(const DmabufBroker__V1__BufferInfo *info)
{
	return protobuf_c_message_get_packed_size(&info->base) + 4u;
}

/*
 * Whether @c may know of @b (policy_may_see()).  List, Info and Watch show
 * a buffer only to root, its owner and those a grant names, and Info on
 * any other answers as for a missing buffer, so names cannot be probed.
 */
static bool handlers_query_visible(const struct client *c,
				   const struct registry_buffer *b)
{
	return policy_may_see(&c->peer, b->owner->uid, b->grants, b->ngrants);
}

/* Describes @b for a page with @used bytes taken; NULL when it does not
 * fit (an entry alone that is too big loses its holders instead). */
static DmabufBroker__V1__BufferInfo *
handlers_query_list_entry(struct client *c, struct reply *r,
			  const struct registry_buffer *b, size_t *used,
			  bool first)
{
	DmabufBroker__V1__BufferInfo *info;
	size_t size;

	info = describe_buffer(r, c->broker, b, DESCRIBE_HOLDERS |
			       describe_flags_for(&c->peer, b));
	if (!info)
		return NULL;
	size = handlers_query_entry_size(info);
	if (*used + size > HANDLERS_QUERY_LIST_BUDGET && first) {
		info->n_holders = 0;
		size = handlers_query_entry_size(info);
	}
	if (*used + size > HANDLERS_QUERY_LIST_BUDGET)
		return NULL;
	*used += size;
	return info;
}

int handlers_query_list(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r, int *fds)
{
	const DmabufBroker__V1__ListRequest *l = req->list;
	DmabufBroker__V1__ListReply *out = reply_alloc(r, sizeof(*out));
	size_t max = l->max_entries && l->max_entries < HANDLERS_QUERY_LIST_MAX ?
		     l->max_entries : HANDLERS_QUERY_LIST_MAX;
	const struct registry_buffer *b;
	size_t used = 0;

	if (!out)
		return reply_error(r, -ENOMEM, "out of memory");
	dmabuf_broker__v1__list_reply__init(out);
	out->buffers = reply_alloc(r, max * sizeof(*out->buffers));
	if (!out->buffers)
		return reply_error(r, -ENOMEM, "out of memory");
	b = registry_buffer_after(c->broker->reg, l->after_id);
	for (; b && out->n_buffers < max; b = registry_buffer_next(b)) {
		DmabufBroker__V1__BufferInfo *info;

		if (!handlers_query_visible(c, b))
			continue;
		info = handlers_query_list_entry(c, r, b, &used,
						 out->n_buffers == 0);
		if (!info)
			break;
		out->buffers[out->n_buffers++] = info;
	}
	/* Buffers the caller may not see after the last entry: the page is
	 * the last one unless a visible buffer follows. */
	while (b && !handlers_query_visible(c, b))
		b = registry_buffer_next(b);
	/* The first entry always fits (without holders if need be). */
	if (b && out->n_buffers == 0)
		return reply_error(r, -ENOMEM, "out of memory");
	if (b)
		out->next_after_id = out->buffers[out->n_buffers - 1]->id;
	r->resp.list = out;
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_LIST;
	return 0;
}

int handlers_query_info(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r, int *fds)
{
	const DmabufBroker__V1__InfoRequest *in = req->info;
	struct broker *br = c->broker;
	const struct registry_buffer *b;

	switch (in->target_case) {
	case DMABUF_BROKER__V1__INFO_REQUEST__TARGET_ID:
		if (handlers_pool_info(c, in->id, NULL, r))
			return r->resp.status;
		b = registry_buffer_by_id(br->reg, in->id);
		break;
	case DMABUF_BROKER__V1__INFO_REQUEST__TARGET_NAME:
		if (!registry_name_valid(in->name))
			return reply_error(r, -EINVAL, "invalid buffer name");
		if (handlers_pool_info(c, 0, in->name, r))
			return r->resp.status;
		b = registry_buffer_by_name(br->reg, in->name);
		break;
	default:
		return reply_error(r, -EINVAL, "info needs an id or a name");
	}
	if (!b || !handlers_query_visible(c, b))
		return reply_error(r, -ENOENT, "no such buffer");
	r->resp.buffer = describe_buffer(r, br, b, DESCRIBE_HOLDERS |
					 describe_flags_for(&c->peer, b));
	if (!r->resp.buffer)
		return reply_error(r, -ENOMEM, "out of memory");
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_BUFFER;
	return 0;
}

int handlers_query_stats(struct client *c,
			 const DmabufBroker__V1__Request *req,
			 struct reply *r, int *fds)
{
	struct broker *br = c->broker;
	DmabufBroker__V1__StatsReply *st = reply_alloc(r, sizeof(*st));
	DmabufBroker__V1__UsageLimits *me = reply_alloc(r, sizeof(*me));
	struct registry_totals t = registry_totals(br->reg);
	struct registry_usage use = registry_usage_of(br->reg, c->peer.uid);
	struct config_quota q = config_quota_for(br->cfg, c->peer.uid);
	struct streams_totals pt = streams_totals(br->streams);

	if (!st || !me)
		return reply_error(r, -ENOMEM, "out of memory");
	dmabuf_broker__v1__stats_reply__init(st);
	dmabuf_broker__v1__usage_limits__init(me);
	*me = (DmabufBroker__V1__UsageLimits){
		.base = me->base, .bytes = use.bytes, .buffers = use.buffers,
		.max_bytes = q.bytes, .max_buffers = q.buffers,
	};
	st->clients = br->nclients;
	st->buffers = t.buffers;
	st->bytes = t.bytes;
	st->named = t.named;
	st->persistent = t.persistent;
	st->requests = br->requests + 1;		/* this one included */
	st->errors = br->errors;
	st->uptime_usec = broker_uptime_usec(br);
	st->caller = me;
	st->max_clients = br->cfg->max_clients;
	st->max_buffer_size = br->cfg->max_buffer_size;
	st->max_total_bytes = shares_max_total(br->shares);
	st->charged_bytes = t.charged + shares_reserved_total(br->shares);
	st->max_clients_per_uid = br->cfg->max_clients_per_uid;
	st->caller_clients = shares_clients_of(br->shares, c->peer.uid);
	st->pools = pt.pools;
	st->queues = pt.queues;
	st->frames_posted = pt.frames_posted;
	st->frames_dropped = pt.frames_dropped;
	r->resp.stats = st;
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_STATS;
	return 0;
}

/* The fourccs every backend lays out (the known linear formats); built
 * once. */
static uint32_t *handlers_query_formats(size_t *n)
{
	static uint32_t fourccs[64];
	static size_t count;

	if (!count) {
		for (size_t i = 0; i < imgfmt_count() && i < 64; i++)
			fourccs[count++] = imgfmt_at(i)->fourcc;
	}
	*n = count;
	return fourccs;
}

static void handlers_query_backend(const struct backend *be, bool preferred,
				   DmabufBroker__V1__BackendInfo *info)
{
	dmabuf_broker__v1__backend_info__init(info);
	info->name = (char *)be->name;
	info->available = be->available;
	info->is_dmabuf = be->caps.is_dmabuf;
	info->preferred = preferred;
	info->detail = (char *)be->detail;
	info->buffers = be->buffers;
	info->bytes = be->bytes;
	info->read_only = be->caps.read_only;
	info->contiguous = be->caps.contiguous;
	info->pin = be->caps.pin;
	info->driver_layout = be->caps.driver_layout;
	info->max_size = be->max_size;
	info->release_tracked = be->release_tracked;
	if (be->desc->ops->alloc)
		info->formats = handlers_query_formats(&info->n_formats);
}

int handlers_query_backends(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r, int *fds)
{
	const struct backend_set *set = c->broker->backends;
	DmabufBroker__V1__BackendsReply *out = reply_alloc(r, sizeof(*out));
	DmabufBroker__V1__BackendInfo *info = reply_alloc(r, set->n * sizeof(*info) + 1);

	if (!out || !info)
		return reply_error(r, -ENOMEM, "out of memory");
	dmabuf_broker__v1__backends_reply__init(out);
	out->backends = reply_alloc(r, set->n * sizeof(*out->backends) + 1);
	if (!out->backends)
		return reply_error(r, -ENOMEM, "out of memory");
	for (size_t i = 0; i < set->n; i++) {
		handlers_query_backend(&set->list[i], (int)i == set->preferred,
				       &info[i]);
		out->backends[i] = &info[i];
	}
	out->n_backends = set->n;
	r->resp.backends = out;
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_BACKENDS;
	return 0;
}

int handlers_query_names(struct client *c,
			 const DmabufBroker__V1__Request *req,
			 struct reply *r, int *fds)
{
	const struct names_policy *np = &c->broker->cfg->names;
	DmabufBroker__V1__NamesReply *out = reply_alloc(r, sizeof(*out));
	DmabufBroker__V1__NameRule *rules =
		reply_alloc(r, np->n * sizeof(*rules) + 1);

	if (!out || !rules)
		return reply_error(r, -ENOMEM, "out of memory");
	dmabuf_broker__v1__names_reply__init(out);
	out->rules = reply_alloc(r, np->n * sizeof(*out->rules) + 1);
	if (!out->rules)
		return reply_error(r, -ENOMEM, "out of memory");
	for (size_t i = 0; i < np->n; i++) {
		const struct names_rule *nr = &np->rules[i];
		DmabufBroker__V1__NameRule *o = &rules[i];
		const struct names_rule *refused;

		dmabuf_broker__v1__name_rule__init(o);
		o->prefix = nr->prefix;
		o->owner_name = nr->owner_name ? nr->owner_name : "";
		if (nr->owner == NAMES_OWNER_UID) {
			o->owner_case = DMABUF_BROKER__V1__NAME_RULE__OWNER_UID;
			o->uid = nr->id;
		} else if (nr->owner == NAMES_OWNER_GID) {
			o->owner_case = DMABUF_BROKER__V1__NAME_RULE__OWNER_GID;
			o->gid = nr->id;
		} else {
			o->owner_case =
				DMABUF_BROKER__V1__NAME_RULE__OWNER_EVERYONE;
			o->everyone = 1;
		}
		/* The prefix itself is a name the rule covers. */
		o->caller_may_take = names_may_take(np, &c->peer, nr->prefix,
						    &refused) == 0;
		out->rules[i] = o;
	}
	out->n_rules = np->n;
	r->resp.names = out;
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_NAMES;
	return 0;
}
