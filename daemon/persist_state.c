/* SPDX-License-Identifier: MIT */
#include "persist_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/backend.h"
#include "broker.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "streams.h"

#define PERSIST_STATE_MAGIC "DBBSTAT1"

/* A state larger than this is not believed: ~200 bytes a buffer. */
#define PERSIST_STATE_MAX_LEN (64u << 20)

/* At the start of each state memfd, before the packed PersistedState. */
struct persist_state_header {
	char magic[8];
	uint64_t generation;	/* the newer intact slot wins */
	uint64_t length;	/* of the packed message that follows */
	uint64_t checksum;	/* FNV-1a of those bytes */
};

static uint64_t persist_state_checksum(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Fills @pb with @b; grants and planes go into the arrays given. */
static void persist_state_describe(const struct broker *br,
			     const struct registry_buffer *b,
			     DmabufBroker__V1__PersistedBuffer *pb,
			     DmabufBroker__V1__ImageLayout *layout,
			     DmabufBroker__V1__Plane *planes,
			     DmabufBroker__V1__Plane **plane_ptrs,
			     DmabufBroker__V1__Grant *grants,
			     DmabufBroker__V1__Grant **grant_ptrs)
{
	dmabuf_broker__v1__persisted_buffer__init(pb);
	pb->id = b->id;
	pb->name = b->name ? b->name : "";
	pb->size = b->size;
	pb->created_usec = b->created_usec;
	pb->backend = (char *)br->backends->list[b->backend].name;
	pb->owner_uid = (uint32_t)b->owner->uid;
	pb->owner_pid = (uint32_t)b->owner->pid;
	pb->owner_name = b->owner->name;
	pb->lifetime = (DmabufBroker__V1__Lifetime)b->lifetime;
	pb->pool_id = b->pool_id;
	pb->pool_index = b->pool_index;
	if (b->lifetime == REGISTRY_LIFETIME_CLIENT && b->owner->has_token) {
		pb->owner_token_hash.data = (uint8_t *)b->owner->token_hash;
		pb->owner_token_hash.len = sizeof(b->owner->token_hash);
	}
	if (b->layout) {
		dmabuf_broker__v1__image_layout__init(layout);
		layout->fourcc = b->layout->fourcc;
		layout->modifier = b->layout->modifier;
		layout->width = b->layout->width;
		layout->height = b->layout->height;
		layout->n_planes = b->layout->nplanes;
		layout->planes = plane_ptrs;
		for (uint32_t i = 0; i < b->layout->nplanes; i++) {
			dmabuf_broker__v1__plane__init(&planes[i]);
			planes[i].offset = b->layout->planes[i].offset;
			planes[i].stride = b->layout->planes[i].stride;
			plane_ptrs[i] = &planes[i];
		}
		pb->layout = layout;
	}
	pb->n_grants = b->ngrants;
	pb->grants = grant_ptrs;
	for (uint8_t i = 0; i < b->ngrants; i++) {
		const struct policy_grant *g = &b->grants[i];

		dmabuf_broker__v1__grant__init(&grants[i]);
		grants[i].access = (DmabufBroker__V1__Access)g->access;
		if (g->subject == POLICY_SUBJECT_UID) {
			grants[i].subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
			grants[i].uid = g->id;
		} else if (g->subject == POLICY_SUBJECT_GID) {
			grants[i].subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_GID;
			grants[i].gid = g->id;
		} else {
			grants[i].subject_case =
				DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE;
			grants[i].everyone = 1;
		}
		grant_ptrs[i] = &grants[i];
	}
}

/* One persistent buffer's messages, laid out for packing. */
struct persist_entry {
	DmabufBroker__V1__PersistedBuffer pb;
	DmabufBroker__V1__ImageLayout layout;
	DmabufBroker__V1__Plane planes[IMGFMT_MAX_PLANES];
	DmabufBroker__V1__Plane *plane_ptrs[IMGFMT_MAX_PLANES];
};

/*
 * The records of the pools whose members @keep keeps, into @st (freed by
 * the caller with st->pools); 0 or -ENOMEM.  A pool that is ending has no
 * record: its members that are still there are dropped at the next start.
 */
static int persist_state_pools(const struct broker *br,
			       persist_state_keep_fn keep, void *ctx,
			       DmabufBroker__V1__PersistedState *st,
			       DmabufBroker__V1__PersistedPool **recs)
{
	const struct pool_set *set = br->streams->pools;
	size_t n = 0;

	*recs = NULL;
	for (struct pool *p = pool_after(set, 0); p; p = pool_next(p))
		n += keep(ctx, p->members[0]);
	st->pools = calloc(n ? n : 1, sizeof(*st->pools));
	*recs = calloc(n ? n : 1, sizeof(**recs));
	if (!st->pools || !*recs)
		return -ENOMEM;
	for (struct pool *p = pool_after(set, 0); p; p = pool_next(p)) {
		DmabufBroker__V1__PersistedPool *pp = &(*recs)[st->n_pools];

		if (!keep(ctx, p->members[0]))
			continue;
		dmabuf_broker__v1__persisted_pool__init(pp);
		pp->id = p->id;
		pp->name = p->name ? p->name : "";
		pp->count = p->count;
		pp->created_usec = p->created_usec;
		st->pools[st->n_pools++] = pp;
	}
	return 0;
}

ssize_t persist_state_pack(const struct broker *br, uint64_t id_limit,
			   persist_state_keep_fn keep, void *ctx,
			   uint8_t **out)
{
	DmabufBroker__V1__PersistedPool *pool_recs = NULL;
	DmabufBroker__V1__PersistedState st = DMABUF_BROKER__V1__PERSISTED_STATE__INIT;
	const struct registry *reg = br->reg;
	struct persist_entry *e = NULL;
	DmabufBroker__V1__Grant *grants = NULL, **grant_ptrs = NULL;
	size_t n = 0, ngrants = 0, gi = 0;
	ssize_t len = -ENOMEM;

	for (struct registry_buffer *b = registry_buffer_after(reg, 0); b;
	     b = registry_buffer_next(b)) {
		if (keep(ctx, b)) {
			n++;
			ngrants += b->ngrants;
		}
	}
	st.id_limit = id_limit;
	st.n_buffers = n;
	st.buffers = calloc(n ? n : 1, sizeof(*st.buffers));
	e = calloc(n ? n : 1, sizeof(*e));
	grants = calloc(ngrants ? ngrants : 1, sizeof(*grants));
	grant_ptrs = calloc(ngrants ? ngrants : 1, sizeof(*grant_ptrs));
	if (!st.buffers || !e || !grants || !grant_ptrs ||
	    persist_state_pools(br, keep, ctx, &st, &pool_recs) < 0)
		goto out_free;
	n = 0;
	for (struct registry_buffer *b = registry_buffer_after(reg, 0); b;
	     b = registry_buffer_next(b)) {
		if (!keep(ctx, b))
			continue;
		persist_state_describe(br, b, &e[n].pb, &e[n].layout, e[n].planes,
				 e[n].plane_ptrs, &grants[gi], &grant_ptrs[gi]);
		st.buffers[n] = &e[n].pb;
		gi += b->ngrants;
		n++;
	}
	len = (ssize_t)dmabuf_broker__v1__persisted_state__get_packed_size(&st);
	*out = malloc(len ? (size_t)len : 1);
	if (*out)
		dmabuf_broker__v1__persisted_state__pack(&st, *out);
	else
		len = -ENOMEM;
out_free:
	free(pool_recs);
	free(st.pools);
	free(grant_ptrs);
	free(grants);
	free(e);
	free(st.buffers);
	return len;
}

static int persist_state_pwrite_all(int fd, const void *buf, size_t len,
				    off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int persist_state_write(int fd, uint64_t generation, const uint8_t *buf,
			size_t len)
{
	struct persist_state_header h = {
		.magic = PERSIST_STATE_MAGIC,
		.generation = generation,
		.length = len,
		.checksum = persist_state_checksum(buf, len),
	};
	int ret;

	if ((ret = persist_state_pwrite_all(fd, buf, len, sizeof(h))) < 0)
		return ret;
	if (ftruncate(fd, (off_t)(sizeof(h) + len)) < 0)
		return -errno;
	return persist_state_pwrite_all(fd, &h, sizeof(h), 0);
}

DmabufBroker__V1__PersistedState *persist_state_read(int fd, unsigned slot,
						     uint64_t *generation)
{
	DmabufBroker__V1__PersistedState *st = NULL;
	struct persist_state_header h;
	const char *why = NULL;
	struct stat sb;
	uint8_t *buf;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		why = "not a memfd";
	else if ((size_t)sb.st_size < sizeof(h))
		return NULL;		/* never written */
	else if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
		 memcmp(h.magic, PERSIST_STATE_MAGIC, sizeof(h.magic)))
		why = "no header";
	else if (h.length > PERSIST_STATE_MAX_LEN ||
		 h.length > (uint64_t)sb.st_size - sizeof(h))
		why = "length past its end";
	if (why)
		goto out_log;
	buf = malloc(h.length ? h.length : 1);
	if (!buf)
		return NULL;
	if (pread(fd, buf, h.length, sizeof(h)) != (ssize_t)h.length ||
	    persist_state_checksum(buf, h.length) != h.checksum)
		why = "checksum mismatch";
	else if (!(st = dmabuf_broker__v1__persisted_state__unpack(NULL,
								  h.length,
								  buf)))
		why = "does not decode";
	free(buf);
	if (st) {
		*generation = h.generation;
		return st;
	}
out_log:
	log_msg(LOG_WARNING, "fd store: state slot %u not believed: %s",
		slot, why);
	return NULL;
}

