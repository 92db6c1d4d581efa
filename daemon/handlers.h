/* SPDX-License-Identifier: MIT */
/*
 * One function per request type.  Each fills @r (status, message, body,
 * fd) and returns 0 or the negative errno it put in the reply.  A handler
 * may also kill the client (only Hello does, for a wrong version).
 *
 *   handlers_session.c  Hello, Watch, Goodbye
 *   handlers_buffer.c   Alloc, Import, Publish, Grant, Release, Destroy
 *   handlers_query.c    List, Info, Stats, Backends, Names
 *   handlers_import.c   Pin (a client's memfd), Adopt (a client's dma-buf)
 *   handlers_pool.c     PoolAlloc, PoolOpen, Pools; pool ids in Destroy,
 *                       Grant, Release, Info
 *   handlers_queue.c    QueueCreate, QueueAttach, QueueDetach
 */
#ifndef DBB_HANDLERS_H
#define DBB_HANDLERS_H

#include "dmabuf_broker.pb-c.h"
#include "policy.h"
#include "reply.h"

/*
 * Allocs of at least this many bytes (a pool: all its members together)
 * allocate their pages on the worker thread (about 0.2 ms per MiB): the
 * loop serves other clients meanwhile.  Smaller ones are quicker done
 * than handed over.
 */
#define HANDLERS_BUFFER_ASYNC_MIN (4ull << 20)

struct backend;
struct backend_buffer;
struct backend_request;
struct client;
struct pool;
struct registry_buffer;
struct imgfmt_layout;
struct registry_new;
struct registry_quota;
struct broker;

/* @fds: the fds the request came with (as many as its type carries); a
 * handler that keeps one sets its slot to -1. */
typedef int (*handler_fn)(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds);

int handlers_session_hello(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r, int *fds);
int handlers_session_watch(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r, int *fds);
int handlers_session_goodbye(struct client *c,
			     const DmabufBroker__V1__Request *req,
			     struct reply *r, int *fds);

int handlers_buffer_alloc(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds);
int handlers_buffer_import(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r, int *fds);
int handlers_buffer_publish(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r, int *fds);
int handlers_buffer_grant(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds);
int handlers_buffer_release(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r, int *fds);
int handlers_buffer_destroy(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r, int *fds);

int handlers_query_list(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r, int *fds);
int handlers_query_info(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r, int *fds);
int handlers_query_stats(struct client *c,
			 const DmabufBroker__V1__Request *req,
			 struct reply *r, int *fds);
int handlers_query_backends(struct client *c,
			    const DmabufBroker__V1__Request *req,
			    struct reply *r, int *fds);
int handlers_query_names(struct client *c,
			 const DmabufBroker__V1__Request *req,
			 struct reply *r, int *fds);

int handlers_import_pin(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r, int *fds);
int handlers_import_adopt(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds);

int handlers_pool_alloc(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r, int *fds);
int handlers_pool_open(struct client *c, const DmabufBroker__V1__Request *req,
		       struct reply *r, int *fds);
int handlers_pool_list(struct client *c, const DmabufBroker__V1__Request *req,
		       struct reply *r, int *fds);

int handlers_queue_create(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds);
int handlers_queue_attach(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds);
int handlers_queue_detach(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds);

/*
 * Destroy, Grant, Release and Info on a pool's id (or, for Info, name):
 * each returns false when @id is no pool's, and otherwise true with @r
 * filled (pool ids and buffer ids never meet).
 */
bool handlers_pool_destroy(struct client *c, uint64_t id, struct reply *r);
bool handlers_pool_grant(struct client *c, uint64_t id,
			 const struct policy_grant *g, struct reply *r);
bool handlers_pool_release(struct client *c, uint64_t id, struct reply *r);
bool handlers_pool_info(struct client *c, uint64_t id, const char *name,
			struct reply *r);

/* What handlers_pool.c shares with handlers_queue.c. */

/* The pool @c names by @id or by @name (when not NULL) and may know of;
 * NULL with -ENOENT (or -EINVAL for a bad name) in @r. */
struct pool *handlers_pool_find(struct client *c, uint64_t id,
				const char *name, struct reply *r);

/* Opens @pool for @c as PoolOpen does: access check, holds, PoolInfo and
 * the members' fds in @r.  0 or a reply error. */
int handlers_pool_open_into(struct client *c, struct pool *pool,
			    bool read_only, struct reply *r);

/* What handlers_buffer.c shares with handlers_import.c. */

/* The grants of one request, converted. */
struct handlers_buffer_grants {
	struct policy_grant g[POLICY_MAX_GRANTS];
	size_t n;
};

/* Converts a protocol grant; -EINVAL when it is incomplete or unknown. */
int handlers_buffer_grant_from(const DmabufBroker__V1__Grant *g,
			       struct policy_grant *out);

/* Converts a request's grants for a buffer of @be (read-only grants only
 * where @be enforces them); 0 or a reply error. */
int handlers_buffer_grants_from(const struct backend *be,
				DmabufBroker__V1__Grant *const *in, size_t n,
				struct handlers_buffer_grants *out,
				struct reply *r);

/* Converts a protocol layout and checks it against the buffer's @size
 * (imgfmt_check()): 0, or -EINVAL with the reason in @why. */
int handlers_buffer_layout_from(const DmabufBroker__V1__ImageLayout *in,
				uint64_t size, struct imgfmt_layout *out,
				char *why, size_t len);

/* The backend a request names (empty: the preferred one) that may
 * allocate; its index, or a reply error. */
int handlers_buffer_backend(struct broker *br, const char *name,
			    struct reply *r);

/* Puts "@be cannot enforce read-only" (-EOPNOTSUPP) in @r. */
int handlers_buffer_no_read_only(struct reply *r, const struct backend *be);

/* Whether @c may take buffer name @name ([names] in the config): 0, or
 * -EACCES in @r saying who may. */
int handlers_buffer_may_name(struct client *c, const char *name,
			     struct reply *r);

/* Checks name, quota and hold limit for @p before anything is made;
 * fills @q with the caller's quota.  0 or a reply error. */
int handlers_buffer_room(struct client *c, const struct registry_new *p,
			 struct registry_quota *q, struct reply *r);

/* The same for @count buffers of p->size bytes (a pool), all or none. */
int handlers_buffer_room_many(struct client *c, const struct registry_new *p,
			      uint32_t count, struct registry_quota *q,
			      struct reply *r);

/* Checks an Alloc's fields and fills @p, @req, @layout (the client's own)
 * and @grants; 0 or a reply error. */
int handlers_buffer_alloc_params(struct client *c,
				 const DmabufBroker__V1__AllocRequest *a,
				 struct registry_new *p,
				 struct backend_request *req,
				 struct imgfmt_layout *layout,
				 struct handlers_buffer_grants *grants,
				 struct reply *r);

/* Applies @g to @b's grants: 0 or a negative errno. */
int handlers_buffer_apply_grants(struct registry_buffer *b,
				 const struct handlers_buffer_grants *g);

/* Takes a buffer that was never announced out of the registry again
 * (releasing its backend memory, closing its fd, no REMOVED). */
void handlers_buffer_undo(struct broker *br, struct registry_buffer *b);

/* Drops what a backend made that will not be registered. */
void handlers_buffer_discard(struct backend *be, struct backend_buffer *out);

/*
 * Whether @c may know of @b: it may see it (policy_may_see()) or holds it
 * still (a grant revoked after the import).  A buffer it may not know of
 * is answered for exactly as a missing one, so that neither ids nor names
 * can be probed.
 */
bool handlers_buffer_known(struct client *c, const struct registry_buffer *b);

/*
 * Registers the buffer a backend made (@out, owned: released on failure)
 * as @p (its size, priv and, unless @p has one, layout taken from @out),
 * applies @g, fills @r with its description and fd, and announces it.
 * Returns 0 or the reply's error.
 */
int handlers_buffer_register(struct client *c, struct registry_new *p,
			     const struct registry_quota *q,
			     const struct handlers_buffer_grants *g,
			     struct backend_buffer *out, struct reply *r);

#endif
