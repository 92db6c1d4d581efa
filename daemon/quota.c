/* SPDX-License-Identifier: MIT */
#include "quota.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <uthash.h>

#include "backends/backend.h"
#include "log.h"
#include "registry.h"
#include "release.h"

/* A buffer gone from the registry whose memory is not freed yet. */
struct quota_linger {
	UT_hash_handle hh;
	uint64_t id;			/* the buffer's id: the cookie */
	uint64_t size;
	uid_t uid;
};

struct quota {
	struct registry *reg;
	struct backend_set *set;
	struct release_tracker *tracker;
	struct quota_linger *lingering;
	size_t n;
	bool stopping;
};

void quota_probe_backends(struct backend_set *set)
{
	struct backend_request req = { .size = 4096, .name = "dbb-probe" };
	bool dmabuf_tracked = false;

	for (size_t i = 0; i < set->n; i++) {
		struct backend *be = &set->list[i];
		struct backend_buffer out = { .fd = -1 };

		if (!be->available || !be->desc->ops->alloc ||
		    be->desc->ops->alloc(be, &req, &out) < 0)
			continue;
		be->release_tracked = release_probe(out.fd) == 0;
		if (be->desc->ops->release && out.priv)
			be->desc->ops->release(be, out.priv);
		dmabuf_tracked |= be->release_tracked && be->caps.is_dmabuf;
	}
	for (size_t i = 0; i < set->n; i++) {
		if (set->list[i].desc->internal)
			set->list[i].release_tracked = dmabuf_tracked;
	}
}

static void quota_on_freed(void *ctx, uint64_t cookie, enum release_reason why)
{
	struct quota *q = ctx;
	struct quota_linger *l;

	HASH_FIND(hh, q->lingering, &cookie, sizeof(cookie), l);
	if (!l)
		return;
	/* RELEASE_UNKNOWN: events were lost and this dma-buf's fate cannot
	 * be told.  Its charge is dropped rather than kept for ever. */
	if (why == RELEASE_UNKNOWN)
		log_msg(LOG_NOTICE, "release events lost: buffer %llu uncharged "
			"unconfirmed", (unsigned long long)cookie);
	registry_unlinger(q->reg, l->uid, l->size);
	HASH_DEL(q->lingering, l);
	free(l);
	q->n--;
}

/* The registry's REMOVED: keep the charge while the memory lives on. */
static void quota_on_registry(void *ctx, enum registry_event ev,
			      struct registry_buffer *b)
{
	struct quota *q = ctx;
	struct quota_linger *l;

	if (ev != REGISTRY_REMOVED || q->stopping ||
	    !q->set->list[b->backend].release_tracked)
		return;
	l = calloc(1, sizeof(*l));
	if (!l)
		return;
	*l = (struct quota_linger){ .id = b->id, .size = b->size,
				    .uid = b->owner->uid };
	if (release_track(q->tracker, b->fd, b->id) < 0) {
		free(l);
		return;
	}
	HASH_ADD(hh, q->lingering, id, sizeof(l->id), l);
	q->n++;
	b->linger = 1;
}

struct quota *quota_create(struct event_base *base, int prio,
			   struct registry *reg, struct backend_set *set)
{
	struct quota *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->reg = reg;
	q->set = set;
	q->tracker = release_create(base, prio, quota_on_freed, q);
	if (!q->tracker || registry_subscribe(reg, quota_on_registry, q) < 0) {
		release_destroy(q->tracker);
		free(q);
		return NULL;
	}
	return q;
}

void quota_stop(struct quota *q)
{
	if (q)
		q->stopping = true;
}

void quota_destroy(struct quota *q)
{
	struct quota_linger *l, *tmp;

	if (!q)
		return;
	release_destroy(q->tracker);
	HASH_ITER(hh, q->lingering, l, tmp) {
		HASH_DEL(q->lingering, l);
		free(l);
	}
	free(q);
}

size_t quota_lingering(const struct quota *q)
{
	return q ? q->n : 0;
}
