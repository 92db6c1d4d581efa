/* SPDX-License-Identifier: MIT */
/*
 * Converts the wire's BufferInfo into the public struct dbb_buffer_info.
 * Each converted description is a single allocation: an info_block, then
 * its holders, its grants and its strings, so free() releases all of it.
 * The arrays stay private so that their elements may grow.
 */
#include "client-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The public description first, so that a pointer to it is one to the
 * block. */
struct info_block {
	struct dbb_buffer_info info;
	struct dbb_image_layout layout;
	const struct dbb_holder *holders;
	const struct dbb_grant *grants;
};

static const struct info_block *info_block_of(const struct dbb_buffer_info *info)
{
	return (const struct info_block *)info;
}

static size_t info_str_size(const char *s)
{
	return (s ? strlen(s) : 0) + 1;
}

/* Copies @s (NULL: "") to *@cursor and advances it. */
static const char *info_put_str(char **cursor, const char *s)
{
	size_t n = info_str_size(s) - 1;
	char *dst = *cursor;

	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
	*cursor += n + 1;
	return dst;
}

static size_t info_total_size(const DmabufBroker__V1__BufferInfo *pb)
{
	size_t total = sizeof(struct info_block) +
		       pb->n_holders * sizeof(struct dbb_holder) +
		       pb->n_grants * sizeof(struct dbb_grant) +
		       info_str_size(pb->name) + info_str_size(pb->backend) +
		       info_str_size(pb->owner_name);

	for (size_t i = 0; i < pb->n_holders; i++)
		total += info_str_size(pb->holders[i]->client_name);
	return total;
}

int info_layout(const DmabufBroker__V1__ImageLayout *pb,
		       struct dbb_image_layout *out)
{
	if (pb->n_planes > DBB_MAX_PLANES)
		return -EPROTO;
	out->struct_size = sizeof(*out);
	out->fourcc = pb->fourcc;
	out->modifier = pb->modifier;
	out->width = pb->width;
	out->height = pb->height;
	out->n_planes = (uint32_t)pb->n_planes;
	for (size_t i = 0; i < pb->n_planes; i++) {
		out->planes[i].offset = pb->planes[i]->offset;
		out->planes[i].stride = pb->planes[i]->stride;
	}
	return 0;
}

int info_grant(const DmabufBroker__V1__Grant *pb, struct dbb_grant *out)
{
	switch (pb->subject_case) {
	case DMABUF_BROKER__V1__GRANT__SUBJECT_UID:
		*out = (struct dbb_grant){ DBB_GRANT_UID, pb->uid, 0 };
		break;
	case DMABUF_BROKER__V1__GRANT__SUBJECT_GID:
		*out = (struct dbb_grant){ DBB_GRANT_GID, pb->gid, 0 };
		break;
	case DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE:
		*out = (struct dbb_grant){ DBB_GRANT_EVERYONE, 0, 0 };
		break;
	default:
		return -EPROTO;
	}
	out->access = (enum dbb_access)pb->access;
	return 0;
}

static void info_holder(const DmabufBroker__V1__Holder *pb,
			struct dbb_holder *out, char **cursor)
{
	out->client_id = pb->client_id;
	out->uid = pb->uid;
	out->pid = pb->pid;
	out->client_name = info_put_str(cursor, pb->client_name);
	out->writable = pb->writable;
}

/* Fills the scalar fields; the strings and arrays are placed by the caller. */
static void info_scalars(const DmabufBroker__V1__BufferInfo *pb,
			 struct dbb_buffer_info *info)
{
	info->id = pb->id;
	info->size = pb->size;
	info->is_dmabuf = pb->is_dmabuf;
	info->owner_uid = pb->owner_uid;
	info->owner_pid = pb->owner_pid;
	info->lifetime = (enum dbb_lifetime)pb->lifetime;
	info->created_usec = pb->created_usec;
	info->read_only = pb->read_only;
	info->sg_entries = pb->sg_entries;
	info->contiguous = pb->contiguous;
	info->pool_id = pb->pool_id;
	info->pool_index = pb->pool_index;
	info->n_holders = pb->n_holders;
	info->n_grants = pb->n_grants;
}

int info_from_proto(const DmabufBroker__V1__BufferInfo *pb,
		    struct dbb_buffer_info **out)
{
	struct info_block *block = calloc(1, info_total_size(pb));
	struct dbb_buffer_info *info;
	struct dbb_holder *holders;
	struct dbb_grant *grants;
	char *cursor;
	int ret = 0;

	if (!block)
		return -ENOMEM;
	info = &block->info;
	holders = (struct dbb_holder *)(block + 1);
	grants = (struct dbb_grant *)(holders + pb->n_holders);
	cursor = (char *)(grants + pb->n_grants);
	info_scalars(pb, info);
	block->holders = holders;
	block->grants = grants;
	info->name = info_put_str(&cursor, pb->name);
	info->backend = info_put_str(&cursor, pb->backend);
	info->owner_name = info_put_str(&cursor, pb->owner_name);
	for (size_t i = 0; i < pb->n_holders; i++)
		info_holder(pb->holders[i], &holders[i], &cursor);
	for (size_t i = 0; i < pb->n_grants && ret == 0; i++)
		ret = info_grant(pb->grants[i], &grants[i]);
	if (pb->layout && ret == 0) {
		info->layout = &block->layout;
		ret = info_layout(pb->layout, &block->layout);
	}
	if (ret < 0) {
		free(block);
		return ret;
	}
	*out = info;
	return 0;
}

void dbb_buffer_info_free(struct dbb_buffer_info *info)
{
	free(info);
}

const struct dbb_holder *dbb_buffer_info_get_holder(const struct dbb_buffer_info *info,
						    size_t i)
{
	return info && i < info->n_holders ? &info_block_of(info)->holders[i] : NULL;
}

const struct dbb_grant *dbb_buffer_info_get_grant(const struct dbb_buffer_info *info,
						  size_t i)
{
	return info && i < info->n_grants ? &info_block_of(info)->grants[i] : NULL;
}
