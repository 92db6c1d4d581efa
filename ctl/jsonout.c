/* SPDX-License-Identifier: MIT */
/*
 * JSON (json-c) for --json: one object per buffer, pool, list, stats,
 * backend list and event.  Keys are stable; sizes are plain byte counts.
 */
#include "ctl.h"

#include <stdlib.h>

static void jsonout_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static void jsonout_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

static void jsonout_bool(json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

/* Adds a string the caller allocated, then frees it. */
static void jsonout_str_take(json_object *o, const char *key, char *v)
{
	jsonout_str(o, key, v);
	free(v);
}

static json_object *jsonout_layout(const struct dbb_image_layout *l)
{
	json_object *o = json_object_new_object();
	json_object *planes = json_object_new_array();

	jsonout_str_take(o, "format", format_fourcc(l->fourcc));
	jsonout_u64(o, "fourcc", l->fourcc);
	jsonout_str_take(o, "modifier_name", format_modifier(l->modifier));
	jsonout_u64(o, "modifier", l->modifier);
	jsonout_u64(o, "width", l->width);
	jsonout_u64(o, "height", l->height);
	for (uint32_t i = 0; i < l->n_planes && i < DBB_MAX_PLANES; i++) {
		json_object *p = json_object_new_object();

		jsonout_u64(p, "offset", l->planes[i].offset);
		jsonout_u64(p, "stride", l->planes[i].stride);
		json_object_array_add(planes, p);
	}
	json_object_object_add(o, "planes", planes);
	return o;
}

static json_object *jsonout_holders(const struct dbb_buffer_info *info)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < info->n_holders; i++) {
		const struct dbb_holder *h = dbb_buffer_info_get_holder(info, i);
		json_object *o = json_object_new_object();

		jsonout_u64(o, "client_id", h->client_id);
		jsonout_u64(o, "uid", h->uid);
		jsonout_u64(o, "pid", h->pid);
		jsonout_str(o, "client_name", h->client_name);
		jsonout_bool(o, "writable", h->writable);
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *jsonout_grant(const struct dbb_grant *g)
{
	static const char *const subjects[] = { "uid", "gid", "everyone" };
	json_object *o = json_object_new_object();

	jsonout_str(o, "subject", g->subject <= DBB_GRANT_EVERYONE ?
		    subjects[g->subject] : "unknown");
	if (g->subject != DBB_GRANT_EVERYONE)
		jsonout_u64(o, "id", g->id);
	jsonout_str(o, "access", format_access(g->access));
	return o;
}

static json_object *jsonout_grants(const struct dbb_buffer_info *info)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < info->n_grants; i++)
		json_object_array_add(a, jsonout_grant(dbb_buffer_info_get_grant(info, i)));
	return a;
}

json_object *jsonout_info(const struct dbb_buffer_info *info)
{
	json_object *o = json_object_new_object();
	char when[64];

	jsonout_u64(o, "id", info->id);
	jsonout_str(o, "name", info->name);
	jsonout_u64(o, "size", info->size);
	jsonout_str(o, "backend", info->backend);
	jsonout_bool(o, "is_dmabuf", info->is_dmabuf);
	jsonout_u64(o, "sg_entries", info->sg_entries);
	jsonout_bool(o, "contiguous", info->contiguous);
	jsonout_u64(o, "owner_uid", info->owner_uid);
	jsonout_u64(o, "owner_pid", info->owner_pid);
	jsonout_str(o, "owner_name", info->owner_name);
	jsonout_str(o, "lifetime", format_lifetime(info->lifetime));
	jsonout_u64(o, "created_usec", info->created_usec);
	jsonout_str(o, "created", format_time(info->created_usec, when, sizeof(when)));
	jsonout_bool(o, "read_only", info->read_only);
	/* A pool's member: its pool and place in it (0, 0 outside a pool). */
	jsonout_u64(o, "pool_id", info->pool_id);
	jsonout_u64(o, "pool_index", info->pool_index);
	json_object_object_add(o, "layout", info->layout ?
			       jsonout_layout(info->layout) : NULL);
	json_object_object_add(o, "holders", jsonout_holders(info));
	json_object_object_add(o, "grants", jsonout_grants(info));
	return o;
}

json_object *jsonout_list(const struct dbb_buffer_list *list)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < dbb_buffer_list_count(list); i++)
		json_object_array_add(a, jsonout_info(dbb_buffer_list_get(list, i)));
	return a;
}

json_object *jsonout_stats(const struct dbb_stats *st)
{
	json_object *o = json_object_new_object();
	json_object *me = json_object_new_object();

	jsonout_u64(o, "clients", st->clients);
	jsonout_u64(o, "buffers", st->buffers);
	jsonout_u64(o, "bytes", st->bytes);
	jsonout_u64(o, "named", st->named);
	jsonout_u64(o, "persistent", st->persistent);
	jsonout_u64(o, "requests", st->requests);
	jsonout_u64(o, "errors", st->errors);
	jsonout_u64(o, "uptime_usec", st->uptime_usec);
	jsonout_u64(o, "max_clients", st->max_clients);
	jsonout_u64(o, "max_buffer_size", st->max_buffer_size);
	jsonout_u64(o, "max_total_bytes", st->max_total_bytes);
	jsonout_u64(o, "charged_bytes", st->charged_bytes);
	jsonout_u64(o, "max_clients_per_uid", st->max_clients_per_uid);
	jsonout_u64(o, "pools", st->pools);
	jsonout_u64(o, "queues", st->queues);
	jsonout_u64(o, "frames_posted", st->frames_posted);
	jsonout_u64(o, "frames_dropped", st->frames_dropped);
	jsonout_u64(me, "bytes", st->my_bytes);
	jsonout_u64(me, "buffers", st->my_buffers);
	jsonout_u64(me, "max_bytes", st->my_max_bytes);
	jsonout_u64(me, "max_buffers", st->my_max_buffers);
	jsonout_u64(me, "clients", st->my_clients);
	json_object_object_add(o, "caller", me);
	return o;
}

json_object *jsonout_backends(const struct dbb_backend_list *list)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < dbb_backend_list_count(list); i++) {
		const struct dbb_backend *b = dbb_backend_list_get(list, i);
		json_object *o = json_object_new_object();

		jsonout_str(o, "name", b->name);
		jsonout_bool(o, "available", b->available);
		jsonout_bool(o, "is_dmabuf", b->is_dmabuf);
		jsonout_bool(o, "preferred", b->preferred);
		jsonout_str(o, "detail", b->detail);
		jsonout_u64(o, "buffers", b->buffers);
		jsonout_u64(o, "bytes", b->bytes);
		jsonout_bool(o, "read_only", b->read_only);
		jsonout_bool(o, "contiguous", b->contiguous);
		jsonout_bool(o, "pin", b->pin);
		jsonout_bool(o, "driver_layout", b->driver_layout);
		jsonout_bool(o, "release_tracked", b->release_tracked);
		jsonout_u64(o, "max_size", b->max_size);
		jsonout_u64(o, "formats", b->n_formats);
		json_object_array_add(a, o);
	}
	return a;
}

json_object *jsonout_names(const struct dbb_name_list *list)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < dbb_name_list_count(list); i++) {
		const struct dbb_name_rule *r = dbb_name_list_get(list, i);
		json_object *o = json_object_new_object();

		jsonout_str(o, "prefix", r->prefix);
		jsonout_str(o, "owner", format_name_owner(r->owner));
		if (r->owner != DBB_NAME_OWNER_EVERYONE) {
			jsonout_u64(o, "id", r->id);
			jsonout_str(o, "owner_name", r->owner_name);
		}
		jsonout_bool(o, "caller_may_take", r->caller_may_take);
		json_object_array_add(a, o);
	}
	return a;
}

json_object *jsonout_event(enum dbb_event_type type,
			   const struct dbb_buffer_info *info)
{
	json_object *o = json_object_new_object();

	jsonout_str(o, "event", format_event(type));
	json_object_object_add(o, "buffer", jsonout_info(info));
	return o;
}

json_object *jsonout_counters(const struct dbb_queue_counters *c)
{
	json_object *o = json_object_new_object();

	jsonout_u64(o, "posted", c->posted);
	jsonout_u64(o, "delivered", c->delivered);
	jsonout_u64(o, "released", c->released);
	jsonout_u64(o, "dropped", c->dropped);
	jsonout_u64(o, "in_flight", c->in_flight);
	jsonout_u64(o, "fence_timeouts", c->fence_timeouts);
	jsonout_u64(o, "latency_avg_usec", c->latency_avg_usec);
	jsonout_u64(o, "latency_max_usec", c->latency_max_usec);
	return o;
}

json_object *jsonout_queue(const struct dbb_queue_info *q)
{
	json_object *o = json_object_new_object();
	json_object *consumers = json_object_new_array();

	jsonout_str(o, "policy", format_policy(q->policy));
	jsonout_u64(o, "max_in_flight", q->max_in_flight);
	jsonout_u64(o, "fence_timeout_ms", q->fence_timeout_ms);
	jsonout_u64(o, "release_timeout_ms", q->release_timeout_ms);
	jsonout_u64(o, "consumers_cut_off", q->consumers_cut_off);
	jsonout_u64(o, "producer_client_id", q->producer_client_id);
	jsonout_u64(o, "producer_pid", q->producer_pid);
	jsonout_str(o, "producer_name", q->producer_name);
	json_object_object_add(o, "counters", jsonout_counters(&q->counters));
	for (size_t i = 0; i < q->n_consumers; i++) {
		const struct dbb_queue_consumer *c = dbb_queue_info_get_consumer(q, i);
		json_object *co = json_object_new_object();

		jsonout_u64(co, "slot", c->slot);
		jsonout_u64(co, "client_id", c->client_id);
		jsonout_u64(co, "uid", c->uid);
		jsonout_u64(co, "pid", c->pid);
		jsonout_str(co, "client_name", c->client_name);
		json_object_object_add(co, "counters", jsonout_counters(&c->counters));
		json_object_array_add(consumers, co);
	}
	json_object_object_add(o, "consumers", consumers);
	return o;
}

/* A pool without its buffers, as `pools` lists it. */
static json_object *jsonout_pool_summary(const struct dbb_pool_info *info)
{
	json_object *o = json_object_new_object();
	json_object *grants = json_object_new_array();
	char when[64];

	jsonout_u64(o, "id", info->id);
	jsonout_str(o, "name", info->name);
	jsonout_u64(o, "count", info->count);
	jsonout_u64(o, "buffer_size", info->buffer_size);
	jsonout_str(o, "backend", info->backend);
	jsonout_bool(o, "is_dmabuf", info->is_dmabuf);
	jsonout_u64(o, "owner_uid", info->owner_uid);
	jsonout_u64(o, "owner_pid", info->owner_pid);
	jsonout_str(o, "owner_name", info->owner_name);
	jsonout_str(o, "lifetime", format_lifetime(info->lifetime));
	jsonout_u64(o, "created_usec", info->created_usec);
	jsonout_str(o, "created", format_time(info->created_usec, when, sizeof(when)));
	jsonout_bool(o, "read_only", info->read_only);
	json_object_object_add(o, "layout", info->layout ?
			       jsonout_layout(info->layout) : NULL);
	for (size_t i = 0; i < info->n_grants; i++)
		json_object_array_add(grants, jsonout_grant(dbb_pool_info_get_grant(info, i)));
	json_object_object_add(o, "grants", grants);
	json_object_object_add(o, "queue", info->queue ?
			       jsonout_queue(info->queue) : NULL);
	return o;
}

json_object *jsonout_pool(const struct dbb_pool_info *info)
{
	json_object *o = jsonout_pool_summary(info);
	json_object *buffers = json_object_new_array();

	for (size_t i = 0; i < info->n_buffers; i++) {
		json_object *b = jsonout_info(dbb_pool_info_get_buffer(info, i));

		/* The broker leaves the members' holders out of a pool's
		 * description: an empty list would say there are none. */
		json_object_object_del(b, "holders");
		json_object_array_add(buffers, b);
	}
	json_object_object_add(o, "buffers", buffers);
	return o;
}

json_object *jsonout_pool_event(enum dbb_event_type type,
				const struct dbb_pool_info *info)
{
	json_object *o = json_object_new_object();

	jsonout_str(o, "event", format_event(type));
	json_object_object_add(o, "pool", jsonout_pool_summary(info));
	return o;
}

json_object *jsonout_pools(const struct dbb_pool_list *list)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < dbb_pool_list_count(list); i++)
		json_object_array_add(a, jsonout_pool_summary(dbb_pool_list_get(list, i)));
	return a;
}
