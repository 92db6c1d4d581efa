/* SPDX-License-Identifier: MIT */
/*
 * The list objects handed to callers: the registry's buffers (gathered page
 * by page), the broker's backends and its reserved name prefixes.
 */
#include "client-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dbb_buffer_list {
	size_t count;
	size_t cap;
	struct dbb_buffer_info **items;
};

/* One allocation: the header, the array, then the strings. */
struct dbb_backend_list {
	size_t count;
	struct dbb_backend *items;
};

/* One allocation: the header, the array, then the strings. */
struct dbb_name_list {
	size_t count;
	struct dbb_name_rule *items;
};

struct dbb_buffer_list *list_buffers_new(void)
{
	return calloc(1, sizeof(struct dbb_buffer_list));
}

static int list_buffers_reserve(struct dbb_buffer_list *list, size_t more)
{
	struct dbb_buffer_info **items;
	size_t cap = list->cap ? list->cap : 16;

	if (list->count + more <= list->cap)
		return 0;
	while (cap < list->count + more)
		cap *= 2;
	items = reallocarray(list->items, cap, sizeof(*items));
	if (!items)
		return -ENOMEM;
	list->items = items;
	list->cap = cap;
	return 0;
}

int list_buffers_append(struct dbb_buffer_list *list,
			const DmabufBroker__V1__ListReply *page)
{
	int ret = list_buffers_reserve(list, page->n_buffers);

	for (size_t i = 0; i < page->n_buffers && ret == 0; i++) {
		ret = info_from_proto(page->buffers[i], &list->items[list->count]);
		if (ret == 0)
			list->count++;
	}
	return ret;
}

size_t dbb_buffer_list_count(const struct dbb_buffer_list *list)
{
	return list->count;
}

const struct dbb_buffer_info *dbb_buffer_list_get(const struct dbb_buffer_list *list,
						  size_t i)
{
	return i < list->count ? list->items[i] : NULL;
}

void dbb_buffer_list_free(struct dbb_buffer_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	free(list);
}

static const char *list_put_str(char **cursor, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *dst = *cursor;

	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
	*cursor += n + 1;
	return dst;
}

int list_backends_from_proto(const DmabufBroker__V1__BackendsReply *pb,
			     struct dbb_backend_list **out)
{
	size_t total = sizeof(struct dbb_backend_list) +
		       pb->n_backends * sizeof(struct dbb_backend);
	struct dbb_backend_list *list;
	size_t nformats = 0;
	uint32_t *formats;
	char *cursor;

	for (size_t i = 0; i < pb->n_backends; i++) {
		const DmabufBroker__V1__BackendInfo *b = pb->backends[i];

		total += (b->name ? strlen(b->name) : 0) + 1 +
			 (b->detail ? strlen(b->detail) : 0) + 1 +
			 b->n_formats * sizeof(uint32_t);
	}
	list = calloc(1, total);
	if (!list)
		return -ENOMEM;
	list->count = pb->n_backends;
	list->items = (struct dbb_backend *)(list + 1);
	formats = (uint32_t *)(list->items + list->count);
	for (size_t i = 0; i < pb->n_backends; i++)
		nformats += pb->backends[i]->n_formats;
	cursor = (char *)(formats + nformats);
	for (size_t i = 0; i < pb->n_backends; i++) {
		const DmabufBroker__V1__BackendInfo *b = pb->backends[i];
		struct dbb_backend *d = &list->items[i];

		d->read_only = b->read_only;
		d->contiguous = b->contiguous;
		d->pin = b->pin;
		d->release_tracked = b->release_tracked;
		d->driver_layout = b->driver_layout;
		d->max_size = b->max_size;
		d->n_formats = b->n_formats;
		d->formats = formats;
		if (b->n_formats)
			memcpy(formats, b->formats, b->n_formats * sizeof(*formats));
		formats += b->n_formats;

		d->name = list_put_str(&cursor, b->name);
		d->detail = list_put_str(&cursor, b->detail);
		d->available = b->available;
		d->is_dmabuf = b->is_dmabuf;
		d->preferred = b->preferred;
		d->buffers = b->buffers;
		d->bytes = b->bytes;
	}
	*out = list;
	return 0;
}

size_t dbb_backend_list_count(const struct dbb_backend_list *list)
{
	return list->count;
}

const struct dbb_backend *dbb_backend_list_get(const struct dbb_backend_list *list,
					       size_t i)
{
	return i < list->count ? &list->items[i] : NULL;
}

void dbb_backend_list_free(struct dbb_backend_list *list)
{
	free(list);
}

static enum dbb_name_owner list_name_owner(DmabufBroker__V1__NameRule__OwnerCase c)
{
	switch (c) {
	case DMABUF_BROKER__V1__NAME_RULE__OWNER_GID:
		return DBB_NAME_OWNER_GID;
	case DMABUF_BROKER__V1__NAME_RULE__OWNER_EVERYONE:
		return DBB_NAME_OWNER_EVERYONE;
	default:
		return DBB_NAME_OWNER_UID;
	}
}

int list_names_from_proto(const DmabufBroker__V1__NamesReply *pb,
			  struct dbb_name_list **out)
{
	size_t total = sizeof(struct dbb_name_list) +
		       pb->n_rules * sizeof(struct dbb_name_rule);
	struct dbb_name_list *list;
	char *cursor;

	for (size_t i = 0; i < pb->n_rules; i++) {
		const DmabufBroker__V1__NameRule *r = pb->rules[i];

		if (r->owner_case == DMABUF_BROKER__V1__NAME_RULE__OWNER__NOT_SET)
			return -EPROTO;
		total += (r->prefix ? strlen(r->prefix) : 0) + 1 +
			 (r->owner_name ? strlen(r->owner_name) : 0) + 1;
	}
	list = calloc(1, total);
	if (!list)
		return -ENOMEM;
	list->count = pb->n_rules;
	list->items = (struct dbb_name_rule *)(list + 1);
	cursor = (char *)(list->items + list->count);
	for (size_t i = 0; i < pb->n_rules; i++) {
		const DmabufBroker__V1__NameRule *r = pb->rules[i];
		struct dbb_name_rule *d = &list->items[i];

		d->prefix = list_put_str(&cursor, r->prefix);
		d->owner = list_name_owner(r->owner_case);
		d->id = d->owner == DBB_NAME_OWNER_GID ? r->gid :
			d->owner == DBB_NAME_OWNER_UID ? r->uid : 0;
		d->owner_name = list_put_str(&cursor, r->owner_name);
		d->caller_may_take = r->caller_may_take;
	}
	*out = list;
	return 0;
}

size_t dbb_name_list_count(const struct dbb_name_list *list)
{
	return list->count;
}

const struct dbb_name_rule *dbb_name_list_get(const struct dbb_name_list *list,
					      size_t i)
{
	return i < list->count ? &list->items[i] : NULL;
}

void dbb_name_list_free(struct dbb_name_list *list)
{
	free(list);
}
