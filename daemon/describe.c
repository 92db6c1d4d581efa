/* SPDX-License-Identifier: MIT */
#include "describe.h"

#include "backends/backend.h"
#include "registry.h"
#include "broker.h"

static DmabufBroker__V1__ImageLayout *
describe_layout(struct reply *r, const struct imgfmt_layout *l)
{
	DmabufBroker__V1__ImageLayout *out = reply_alloc(r, sizeof(*out));
	DmabufBroker__V1__Plane *planes;

	if (!out)
		return NULL;
	dmabuf_broker__v1__image_layout__init(out);
	planes = reply_alloc(r, l->nplanes * sizeof(*planes));
	out->planes = reply_alloc(r, l->nplanes * sizeof(*out->planes));
	if (!planes || !out->planes)
		return NULL;
	out->fourcc = l->fourcc;
	out->modifier = l->modifier;
	out->width = l->width;
	out->height = l->height;
	out->n_planes = l->nplanes;
	for (uint32_t i = 0; i < l->nplanes; i++) {
		dmabuf_broker__v1__plane__init(&planes[i]);
		planes[i].offset = l->planes[i].offset;
		planes[i].stride = l->planes[i].stride;
		out->planes[i] = &planes[i];
	}
	return out;
}

static int describe_grants(struct reply *r, DmabufBroker__V1__BufferInfo *out,
			   const struct registry_buffer *b)
{
	DmabufBroker__V1__Grant *g;

	if (!b->ngrants)
		return 0;
	g = reply_alloc(r, b->ngrants * sizeof(*g));
	out->grants = reply_alloc(r, b->ngrants * sizeof(*out->grants));
	if (!g || !out->grants)
		return -1;
	for (uint8_t i = 0; i < b->ngrants; i++) {
		const struct policy_grant *pg = &b->grants[i];

		dmabuf_broker__v1__grant__init(&g[i]);
		g[i].access = (DmabufBroker__V1__Access)pg->access;
		if (pg->subject == POLICY_SUBJECT_UID) {
			g[i].subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
			g[i].uid = pg->id;
		} else if (pg->subject == POLICY_SUBJECT_GID) {
			g[i].subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_GID;
			g[i].gid = pg->id;
		} else {
			g[i].subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE;
			g[i].everyone = 1;
		}
		out->grants[i] = &g[i];
	}
	out->n_grants = b->ngrants;
	return 0;
}

static int describe_holders(struct reply *r, DmabufBroker__V1__BufferInfo *out,
			    const struct registry_buffer *b, bool private)
{
	size_t n = b->nholds < DESCRIBE_MAX_HOLDERS ? b->nholds :
		   DESCRIBE_MAX_HOLDERS;
	DmabufBroker__V1__Holder *h;
	const struct registry_hold *hold = b->holds;

	if (!n)
		return 0;
	h = reply_alloc(r, n * sizeof(*h));
	out->holders = reply_alloc(r, n * sizeof(*out->holders));
	if (!h || !out->holders)
		return -1;
	for (size_t i = 0; i < n && hold; i++, hold = hold->buf_next) {
		dmabuf_broker__v1__holder__init(&h[i]);
		h[i].writable = hold->writable;
		if (private) {
			h[i].client_id = hold->conn->id;
			h[i].uid = (uint32_t)hold->conn->uid;
			h[i].pid = (uint32_t)hold->conn->pid;
			h[i].client_name = hold->conn->name;
		}
		out->holders[i] = &h[i];
		out->n_holders = i + 1;
	}
	return 0;
}

unsigned describe_flags_for(const struct policy_peer *viewer,
			    const struct registry_buffer *b)
{
	return policy_may_manage(viewer, b->owner->uid) == 0 ?
	       DESCRIBE_PRIVATE : 0;
}

DmabufBroker__V1__BufferInfo *describe_buffer(struct reply *r,
					      const struct broker *br,
					      const struct registry_buffer *b,
					      unsigned flags)
{
	DmabufBroker__V1__BufferInfo *out = reply_alloc(r, sizeof(*out));
	struct backend *be = &br->backends->list[b->backend];
	struct backend_buffer_info bi = { 0 };

	if (!out)
		return NULL;
	dmabuf_broker__v1__buffer_info__init(out);
	out->id = b->id;
	out->name = b->name ? b->name : "";
	out->size = b->size;
	out->backend = (char *)be->name;
	out->is_dmabuf = be->caps.is_dmabuf;
	if (be->desc->ops->query &&
	    be->desc->ops->query(be, b->fd, b->priv, &bi) == 0) {
		out->sg_entries = bi.sg_entries;
		out->contiguous = bi.contiguous;
	}
	out->owner_uid = (uint32_t)b->owner->uid;
	if (flags & DESCRIBE_PRIVATE) {
		out->owner_pid = (uint32_t)b->owner->pid;
		out->owner_name = b->owner->name;
	}
	out->lifetime = (DmabufBroker__V1__Lifetime)b->lifetime;
	out->created_usec = b->created_usec;
	if (b->layout && !(out->layout = describe_layout(r, b->layout)))
		return NULL;
	if (describe_grants(r, out, b) < 0)
		return NULL;
	if ((flags & DESCRIBE_HOLDERS) &&
	    describe_holders(r, out, b, flags & DESCRIBE_PRIVATE) < 0)
		return NULL;
	return out;
}
