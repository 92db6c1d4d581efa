/* SPDX-License-Identifier: MIT */
/*
 * libdmabuf-broker: client library of the dma-buf broker.
 *
 * Verbs.  dbb_alloc(), dbb_pin_memfd() and dbb_register_fd() put a buffer
 * in the broker's registry and hand back a handle holding its fd;
 * dbb_open_by_name()/dbb_open_by_id() get an fd of a buffer already there
 * (as DRM's GEM_OPEN does for a flink name).  Nothing here "imports" in
 * the GBM/EGL sense: wrapping the fd into a device's object is the
 * caller's business.  dbb_set_name() names a buffer, dbb_grant() lets
 * others open it, dbb_remove() takes it out of the registry.
 *
 * Conventions, for every function below:
 *  - Functions returning int return 0 (or a non-negative value where said)
 *    on success and a negative errno on failure.  Errors the broker reports
 *    are passed through unchanged (e.g. -ENOENT, -EACCES, -EDQUOT); the
 *    broker's message for the calling thread's last failed call is
 *    available from dbb_client_last_error().  -EPIPE/-ECONNRESET: the
 *    broker went away.
 *  - Ownership: pointers returned through an out parameter are owned by
 *    the caller and freed with the matching _free() or _destroy()
 *    function; every destructor accepts NULL.  Pointers returned directly
 *    (getters) are owned by the object they come from and live as long as
 *    it does.
 *  - Holds: each buffer handle stands for this connection's hold on the
 *    buffer, which the broker lists among the buffer's holders.
 *    dbb_buffer_free() drops the hold when the connection's last handle of
 *    that buffer goes.  The fd is independent of the hold: an fd taken
 *    with dbb_buffer_take_fd() stays valid after the handle is freed.
 *  - File descriptors returned by dbb_buffer_get_fd() stay owned by the
 *    buffer; dbb_buffer_take_fd() hands ownership to the caller.  All fds
 *    the library creates are O_CLOEXEC.
 *  - Growth: every struct the caller allocates (dbb_connect_params,
 *    dbb_alloc_params, dbb_image_layout, dbb_stats, dbb_event_listener,
 *    dbb_pool_params, dbb_queue_params, dbb_frame) starts with
 *    `uint32_t struct_size`, which the caller sets to sizeof the struct:
 *
 *        struct dbb_alloc_params p = { .struct_size = sizeof(p), ... };
 *
 *    Fields are only ever added at the end, each making the struct larger
 *    (never in its trailing padding).  The library reads (or fills)
 *    the first struct_size bytes only, so a program built against an older
 *    header keeps working: the fields it does not know count as zero.  A
 *    program built against a newer header passes a larger size; the
 *    library accepts it when the fields it does not know are all zero and
 *    refuses it with -E2BIG otherwise, and fills the fields it knows of an
 *    output struct, zeroing the rest.  A struct_size below the first
 *    version's is -EINVAL.
 *    Structs the library allocates (dbb_buffer_info, the dbb_image_layout
 *    it points to, dbb_holder, dbb_grant, dbb_backend, dbb_name_rule,
 *    dbb_pool_info, dbb_queue_info, dbb_queue_consumer) are reached only
 *    through pointers, and elements only through _get(i) functions, never
 *    by indexing an array: they too grow at the end.
 *  - Timeouts: no call blocks longer than the client's timeout
 *    (DBB_DEFAULT_TIMEOUT_MS unless set at connect or with
 *    dbb_client_set_timeout()), counted from the call's start and covering
 *    its wait for other threads' calls; past it the call returns
 *    -ETIMEDOUT.  That holds for connecting too: a broker that accepts
 *    connections but does not answer (stopped, hung) fails the connect.
 *    Signals do not end a wait (EINTR is retried within the deadline)
 *    unless the client is interruptible (DBB_CONNECT_INTERRUPTIBLE,
 *    dbb_client_set_interruptible()): then a signal handler that runs
 *    during the wait makes the call return -EINTR.  A call that timed out
 *    or was interrupted may still be carried out by the broker: its reply
 *    comes later and is passed over by the next call (replies carry the
 *    request's seq), a buffer it brings being released at once; the
 *    connection stays usable.  Whether the request took effect is for
 *    the caller to find out (dbb_info_by_name(), dbb_list()).
 *  - Features: the broker lists what it can do beyond the base protocol
 *    (dbb_client_has_feature()); a call that needs a feature it did not
 *    list fails with -EOPNOTSUPP without asking it, and
 *    dbb_connect_params.required_features makes the connect fail instead.
 *  - Reconnecting: when a call finds the connection broken (the broker
 *    closed it or went away), the library connects again within the
 *    call's timeout, under the same fd number, offering the broker's
 *    resume token, and asks for events again if the client watched.  A
 *    broker that resumes (feature "resume", within its grace period) gives
 *    back the session: client-lifetime buffers, holds and client id.
 *    Otherwise the session is a new one: client-lifetime buffers the
 *    client allocated are gone from the registry, and its holds with
 *    them.  Either way the fds of buffer handles stay valid (they never
 *    depended on the connection).  dbb_client_get_generation() tells
 *    which happened.  The call is then sent again if it had not reached
 *    the broker, or if doing it twice is doing it once (open, info, list,
 *    stats, backends, names, watch, grant; opening, describing and listing
 *    pools); others (alloc, pin, register, set name, remove, pool alloc,
 *    queue create, attach and detach) return -EPIPE/-ECONNRESET, having
 *    perhaps taken effect.  DBB_CONNECT_NO_RECONNECT turns this off.
 *  - Threads: a client may be used from several threads at once.  Calls
 *    on one client are serialized (one request at a time on the
 *    connection); events read by any call are queued for
 *    dbb_client_dispatch(), which calls the listener without holding the
 *    client, so the listener may call the library.  Buffer handles may be
 *    used and freed from any thread, and so may pool handles.  A frame
 *    queue end is used from one thread at a time (see "frame queues").
 *    dbb_client_destroy() must not race with other calls on the same
 *    client.
 *  - The library never prints.
 */
#ifndef DMABUF_BROKER_H
#define DMABUF_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The socket the broker listens on unless told otherwise. */
#define DBB_DEFAULT_SOCKET "/run/dmabuf-broker/socket"
/* Environment variable that overrides the default socket path. */
#define DBB_SOCKET_ENV "DMABUF_BROKER_SOCKET"

/* How long a call may block unless the client says otherwise. */
#define DBB_DEFAULT_TIMEOUT_MS 5000

#define DBB_MAX_PLANES 4
#define DBB_MAX_NAME 255

struct dbb_client;
struct dbb_buffer;

enum dbb_lifetime {
	DBB_LIFETIME_CLIENT = 0,	/* removed when the owner's session ends */
	DBB_LIFETIME_PERSISTENT = 1,	/* kept until dbb_remove() */
};

enum dbb_access {
	DBB_ACCESS_NONE = 0,		/* in dbb_grant(): revoke */
	DBB_ACCESS_READ = 1,
	DBB_ACCESS_READ_WRITE = 2,
};

enum dbb_grant_subject {
	DBB_GRANT_UID = 0,
	DBB_GRANT_GID = 1,
	DBB_GRANT_EVERYONE = 2,		/* the id argument is ignored */
};

/* One plane of a layout.  Complete as DRM's planes are (drm_mode_fb_cmd2
 * has offsets and pitches per plane): it does not grow; per-plane additions
 * would be new arrays at the end of dbb_image_layout. */
struct dbb_plane {
	uint32_t offset;
	uint32_t stride;
};

/* An image layout in DRM terms (drm_fourcc.h).  Caller-allocated when
 * passed in (struct_size set by the caller), library-allocated in a
 * dbb_buffer_info. */
struct dbb_image_layout {
	uint32_t struct_size;		/* sizeof(struct dbb_image_layout) */
	uint32_t fourcc;
	uint64_t modifier;
	uint32_t width;
	uint32_t height;
	uint32_t n_planes;		/* 1..DBB_MAX_PLANES */
	struct dbb_plane planes[DBB_MAX_PLANES];
};

/* A connection holding a buffer; library-allocated, reached through
 * dbb_buffer_info_get_holder(). */
struct dbb_holder {
	uint64_t client_id;
	uint32_t uid;
	uint32_t pid;
	const char *client_name;
	bool writable;
};

/* Who may open a buffer; library-allocated, reached through
 * dbb_buffer_info_get_grant(). */
struct dbb_grant {
	enum dbb_grant_subject subject;
	uint32_t id;			/* uid or gid */
	enum dbb_access access;
};

/* Everything the broker knows of a buffer.  Library-allocated; strings are
 * never NULL. */
struct dbb_buffer_info {
	uint64_t id;
	const char *name;		/* "" when unnamed */
	uint64_t size;
	const char *backend;
	bool is_dmabuf;			/* false: a memfd, not a dma-buf */
	uint32_t owner_uid;
	uint32_t owner_pid;
	const char *owner_name;
	enum dbb_lifetime lifetime;
	uint64_t created_usec;		/* CLOCK_REALTIME */
	const struct dbb_image_layout *layout;	/* NULL: none */
	size_t n_holders;		/* dbb_buffer_info_get_holder() */
	size_t n_grants;		/* dbb_buffer_info_get_grant() */
	bool read_only;			/* the fd that came with it */
	uint32_t sg_entries;		/* scatter-gather entries; 0: unknown */
	bool contiguous;		/* physically contiguous (kmod) */
	uint64_t pool_id;		/* 0: not a pool's member */
	uint32_t pool_index;		/* its place in the pool */
};

/* Holder / grant @i (< n_holders / n_grants) of @info, owned by @info;
 * NULL when @i is out of range. */
const struct dbb_holder *dbb_buffer_info_get_holder(const struct dbb_buffer_info *info,
						    size_t i);
const struct dbb_grant *dbb_buffer_info_get_grant(const struct dbb_buffer_info *info,
						  size_t i);

/* ---- connection ---- */

/* Connect flags. */
#define DBB_CONNECT_INTERRUPTIBLE (1u << 0)	/* signals end calls: -EINTR */
#define DBB_CONNECT_NO_RECONNECT (1u << 1)	/* a break ends the client */

/* How to connect; the caller sets struct_size. */
struct dbb_connect_params {
	uint32_t struct_size;		/* sizeof(struct dbb_connect_params) */
	uint32_t flags;			/* DBB_CONNECT_* */
	int timeout_ms;			/* 0: DBB_DEFAULT_TIMEOUT_MS */
	/* NULL: $DMABUF_BROKER_SOCKET, else DBB_DEFAULT_SOCKET */
	const char *socket_path;
	const char *client_name;	/* NULL: the program's name */
	/* Features the broker must have (NULL-terminated; NULL: none): a
	 * broker without one refuses the connection, -EOPNOTSUPP. */
	const char *const *required_features;
};

/*
 * Connects to the broker and introduces itself (Hello), both within the
 * timeout.  On success *@out owns the connection.  Returns 0,
 * -ENOENT/-ECONNREFUSED when no broker listens, -ETIMEDOUT when it does
 * not answer, -EPROTO when it speaks another protocol version, -EINVAL
 * for unknown flags or a negative timeout, or another negative errno.
 */
int dbb_client_connect_with(const struct dbb_connect_params *params,
			    struct dbb_client **out);

/* dbb_client_connect_with() with @socket_path and @client_name, defaults
 * for the rest. */
int dbb_client_connect(const char *socket_path, const char *client_name,
		       struct dbb_client **out);

/* Sets how long each later call may block (> 0, else -EINVAL). */
int dbb_client_set_timeout(struct dbb_client *client, int timeout_ms);

/* Whether a signal handler running during a wait ends the call with
 * -EINTR (true) or the wait goes on until the deadline (false). */
int dbb_client_set_interruptible(struct dbb_client *client, bool interruptible);

/* Ends the session and closes the connection (telling a broker that
 * resumes not to keep the session: a Goodbye, its reply waited for within
 * the timeout).
 * Client-lifetime buffers it allocated go away in the broker, and its
 * holds with them; fds already handed out stay valid, and so do buffer
 * handles (to be freed still).  Accepts NULL. */
void dbb_client_destroy(struct dbb_client *client);

/* The id the broker gave this connection (a reconnect that did not resume
 * gets a new one). */
uint64_t dbb_client_get_id(const struct dbb_client *client);

/*
 * How many times the library reconnected this client (0: still its first
 * connection).  *@resumed (when not NULL) is true when the broker took the
 * session back at the last reconnect, false when it started a new one (and
 * for generation 0).  Compare generations to learn of a reconnect.
 */
uint32_t dbb_client_get_generation(struct dbb_client *client, bool *resumed);

/* The broker's version string from the handshake ("" if it sent none).
 * Owned by the client; rewritten when the library reconnects. */
const char *dbb_client_get_server_version(const struct dbb_client *client);

/*
 * Whether the broker announced @feature in its handshake (docs/protocol.md
 * lists them): "alloc-format" (dbb_alloc_params.fourcc), "contiguous"
 * (DBB_ALLOC_CONTIGUOUS), "read-only" (read-only opens), "pin"
 * (dbb_pin_memfd()), "adopt" (dbb_register_fd()), "resume", "pools"
 * (dbb_pool_*()), "queues" (dbb_queue_*()), "queue-events"
 * (DBB_EVENT_QUEUE_CREATED, DBB_EVENT_QUEUE_DESTROYED), "queue-cut-off"
 * (the broker keeps a queue's release_timeout_ms and detaches consumers
 * the producer cut off; without it they are cut off all the same but
 * listed until they leave).  A call that needs a feature the broker lacks
 * fails with -EOPNOTSUPP without asking it.
 */
bool dbb_client_has_feature(const struct dbb_client *client,
			    const char *feature);

/* The message of the calling thread's last failed call on @client (the
 * broker's, or the library's), "" if none.  Owned by the library, valid
 * until the thread's next call. */
const char *dbb_client_last_error(const struct dbb_client *client);

/* ---- buffers ---- */

/* Alloc flags. */
#define DBB_ALLOC_CONTIGUOUS (1u << 0)	/* physically contiguous memory */

/*
 * What to allocate: @size bytes, optionally described by a @layout the
 * caller chose; or an image the broker lays out: @fourcc, @width and
 * @height (DRM terms), with @size 0 or a minimum.  The layout the
 * allocator chose comes back in the buffer's info (its layout).
 */
struct dbb_alloc_params {
	uint32_t struct_size;			/* sizeof(struct dbb_alloc_params) */
	uint64_t size;				/* bytes; 0 with @fourcc */
	const char *name;			/* NULL: unnamed */
	enum dbb_lifetime lifetime;
	const char *backend;			/* NULL: broker's choice */
	const struct dbb_image_layout *layout;	/* NULL: none given */
	uint32_t fourcc;			/* 0: not laid out by the broker */
	uint32_t width;
	uint32_t height;
	const uint64_t *modifiers;		/* acceptable; NULL: LINEAR */
	size_t n_modifiers;
	uint32_t flags;				/* DBB_ALLOC_* */
};

/* Allocates a buffer; *@out holds its fd and description.  -EDQUOT when
 * over the caller's quota, -EEXIST when the name is taken, -EFBIG over the
 * broker's size limit, -EINVAL for bad parameters, -EOPNOTSUPP for a
 * flag, format or modifier the backend cannot honour. */
int dbb_alloc(struct dbb_client *client, const struct dbb_alloc_params *params,
	      struct dbb_buffer **out);

/*
 * Turns @length bytes at @offset (page-aligned) of the caller's memfd
 * @memfd into a dma-buf of those very pages, registered like an
 * allocation (@params: name, lifetime, backend, layout; its size is
 * ignored) and counted against the caller's quota.  The memfd must be
 * sealed against shrinking (F_SEAL_SHRINK).  @memfd stays the caller's.
 */
int dbb_pin_memfd(struct dbb_client *client, int memfd, uint64_t offset,
		  uint64_t length, const struct dbb_alloc_params *params,
		  struct dbb_buffer **out);

/*
 * Registers a dma-buf the caller got elsewhere (V4L2 EXPBUF, GBM, ...)
 * under @params' name, lifetime and layout (size: the dma-buf's own), so
 * that others can open it.  The broker keeps a reference; @dmabuf_fd stays
 * the caller's, and *@out holds another fd of the same dma-buf.
 */
int dbb_register_fd(struct dbb_client *client, int dmabuf_fd,
		    const struct dbb_alloc_params *params,
		    struct dbb_buffer **out);

/* Gets an fd of a buffer in the registry, by name or id.  With @read_only
 * the fd refuses writable shared mappings and device writes; -EOPNOTSUPP
 * where the buffer's backend cannot enforce that.  -ENOENT: no such
 * buffer; -EACCES: not allowed. */
int dbb_open_by_name(struct dbb_client *client, const char *name,
		     bool read_only, struct dbb_buffer **out);
int dbb_open_by_id(struct dbb_client *client, uint64_t id, bool read_only,
		   struct dbb_buffer **out);

/* Names an unnamed buffer the caller owns (-EEXIST when taken). */
int dbb_set_name(struct dbb_client *client, uint64_t id, const char *name);

/* Lets @subject/@who open buffer @id with @access (DBB_ACCESS_NONE
 * revokes).  Only the owner (or root) may grant. */
int dbb_grant(struct dbb_client *client, uint64_t id,
	      enum dbb_grant_subject subject, uint32_t who,
	      enum dbb_access access);

/* Removes buffer @id from the registry (it can no longer be opened); owner
 * or root only.  The memory lives on while fds of it are open. */
int dbb_remove(struct dbb_client *client, uint64_t id);

/*
 * Closes the buffer's fd (unless taken) and frees the handle.  Accepts
 * NULL.  When it was this connection's last handle of the buffer, tells the
 * broker to drop the connection's hold (a Release request): the request is
 * sent and not waited for; its reply is discarded when it comes.  When the
 * connection is broken it is sent once the library reconnects, if the
 * broker resumed the session (else the hold went with the session).
 * Nothing is sent when the client is already destroyed (its holds ended
 * with it): a handle may be freed after its client.  A pool's buffer
 * (dbb_pool_get_buffer()) is freed with its pool only: here nothing
 * happens.
 */
void dbb_buffer_free(struct dbb_buffer *buffer);

/* The buffer's fd, owned by @buffer; -1 after dbb_buffer_take_fd(). */
int dbb_buffer_get_fd(const struct dbb_buffer *buffer);

/* Hands the fd to the caller, who must close it. */
int dbb_buffer_take_fd(struct dbb_buffer *buffer);

/* The description that came with the fd; owned by @buffer. */
const struct dbb_buffer_info *dbb_buffer_get_info(const struct dbb_buffer *buffer);

/* ---- CPU access ---- */

enum dbb_sync_flags {
	DBB_SYNC_READ = 1 << 0,
	DBB_SYNC_WRITE = 1 << 1,
};

/*
 * Maps the whole buffer shared.  @writable asks for PROT_WRITE too (fails
 * with -EACCES/-EPERM on a read-only fd).  *@addr is unmapped with
 * dbb_buffer_unmap(); the mapping outlives the fd.
 */
int dbb_buffer_map(struct dbb_buffer *buffer, bool writable, void **addr);
int dbb_buffer_unmap(struct dbb_buffer *buffer, void *addr);

/* Bracket CPU access to a mapping: DMA_BUF_IOCTL_SYNC on a dma-buf, a
 * no-op on memfd buffers. */
int dbb_buffer_begin_cpu_access(struct dbb_buffer *buffer, unsigned flags);
int dbb_buffer_end_cpu_access(struct dbb_buffer *buffer, unsigned flags);

/* ---- pools ---- */

#define DBB_POOL_MAX_BUFFERS 32
#define DBB_QUEUE_MAX_CONSUMERS 16

/*
 * A pool (features "pools", "queues"): 1..DBB_POOL_MAX_BUFFERS buffers of
 * one layout allocated by one request, all or none, under one id (from
 * the buffers' id space) and an optional name (the buffers' namespace).
 * Grants, lifetime, dbb_grant(), dbb_remove() and dbb_info_by_id() on the
 * pool's id act on the whole pool; a member alone cannot be removed,
 * renamed or granted (-EBUSY).  Members are ordinary buffers otherwise:
 * their infos say pool_id and pool_index.
 */
struct dbb_pool;

/* What to allocate: @count buffers as @buffer says (its name, lifetime
 * and grants are the pool's; set buffer.struct_size too). */
struct dbb_pool_params {
	uint32_t struct_size;		/* sizeof(struct dbb_pool_params) */
	uint32_t count;			/* 1..DBB_POOL_MAX_BUFFERS */
	struct dbb_alloc_params buffer;
};

enum dbb_queue_policy {
	DBB_QUEUE_HOLD = 0,		/* never drop: the producer waits */
	DBB_QUEUE_DROP_OLDEST = 1,	/* no free buffer: the oldest
					   undelivered frame is taken back */
	DBB_QUEUE_LATEST = 2,		/* one undelivered frame per consumer:
					   a new one replaces it */
};

/*
 * What happened to frames, as the producer's library counts them (the
 * whole queue, or one consumer), or as a consumer's library counts its
 * own frames.  posted: frames posted (for a consumer: posted while it was
 * attached); delivered: sent on the channel (for the queue: the sum over
 * consumers); released: given back; dropped: taken back undelivered
 * (policy, detach); in_flight: delivered and not released, now;
 * fence_timeouts: fences that did not signal within fence_timeout_ms;
 * latency: from post to the frame being ready at the consumer (its
 * acquire fence signalled), as consumers report it with each release.
 * For one consumer, once nothing is in flight or queued for it,
 * posted == delivered + dropped.  Library-filled, library-allocated in
 * infos.
 */
struct dbb_queue_counters {
	uint64_t posted;
	uint64_t delivered;
	uint64_t released;
	uint64_t dropped;
	uint64_t in_flight;
	uint64_t fence_timeouts;
	uint64_t latency_avg_usec;
	uint64_t latency_max_usec;
};

/* A consumer of a queue; library-allocated, reached through
 * dbb_queue_info_get_consumer(). */
struct dbb_queue_consumer {
	uint32_t slot;			/* 0..DBB_QUEUE_MAX_CONSUMERS - 1 */
	uint64_t client_id;
	uint32_t uid;
	uint32_t pid;
	const char *client_name;
	struct dbb_queue_counters counters;
};

/* A pool's queue as the broker describes it; library-allocated. */
struct dbb_queue_info {
	enum dbb_queue_policy policy;
	uint32_t max_in_flight;		/* per consumer; 0: the pool's size */
	uint32_t fence_timeout_ms;
	uint64_t producer_client_id;
	uint32_t producer_pid;
	const char *producer_name;
	struct dbb_queue_counters counters;
	size_t n_consumers;		/* dbb_queue_info_get_consumer() */
	uint32_t release_timeout_ms;	/* 0: none */
	/* Consumers cut off for holding a frame past release_timeout_ms,
	 * as the producer's library counts them. */
	uint64_t consumers_cut_off;
};

/* Everything the broker knows of a pool.  Library-allocated; strings are
 * never NULL. */
struct dbb_pool_info {
	uint64_t id;
	const char *name;		/* "" when unnamed */
	uint32_t count;
	uint64_t buffer_size;		/* bytes, each buffer */
	const char *backend;
	bool is_dmabuf;
	uint32_t owner_uid;
	uint32_t owner_pid;
	const char *owner_name;
	enum dbb_lifetime lifetime;
	uint64_t created_usec;		/* CLOCK_REALTIME */
	const struct dbb_image_layout *layout;	/* NULL: none */
	size_t n_grants;		/* dbb_pool_info_get_grant() */
	bool read_only;			/* the fds that came with it */
	const struct dbb_queue_info *queue;	/* NULL: no queue */
	/* Its buffers' descriptions, in index order, through
	 * dbb_pool_info_get_buffer(); 0 in dbb_pools() entries and events,
	 * which leave them out. */
	size_t n_buffers;
};

/* Consumer / grant @i (< n_consumers / n_grants), owned by @info; NULL
 * when @i is out of range. */
const struct dbb_queue_consumer *dbb_queue_info_get_consumer(const struct dbb_queue_info *info,
							     size_t i);
const struct dbb_grant *dbb_pool_info_get_grant(const struct dbb_pool_info *info,
						size_t i);
/* Buffer @i (< n_buffers) of the pool's description, owned by @info;
 * NULL when @i is out of range. */
const struct dbb_buffer_info *dbb_pool_info_get_buffer(const struct dbb_pool_info *info,
						       size_t i);

/*
 * Allocates a pool; *@out holds its buffers (fds) and description, and
 * stands for this connection's hold on the pool.  Errors as dbb_alloc()'s
 * (the quota is checked for the whole pool at once), -EINVAL for a count
 * out of range, -EOPNOTSUPP without the broker's feature "pools".
 */
int dbb_pool_alloc(struct dbb_client *client, const struct dbb_pool_params *params,
		   struct dbb_pool **out);

/* Opens a pool by name or id: its buffers, read-only if asked.  -ENOENT,
 * -EACCES, -EOPNOTSUPP as dbb_open_by_name(). */
int dbb_pool_open_by_name(struct dbb_client *client, const char *name,
			  bool read_only, struct dbb_pool **out);
int dbb_pool_open_by_id(struct dbb_client *client, uint64_t id,
			bool read_only, struct dbb_pool **out);

/* Closes the pool's fds, frees its buffers and tells the broker to drop
 * the connection's hold (sent, not waited for; as dbb_buffer_free()).
 * The buffers got from dbb_pool_get_buffer() go with it.  A pool a queue
 * uses must outlive the queue.  Accepts NULL. */
void dbb_pool_free(struct dbb_pool *pool);

uint64_t dbb_pool_get_id(const struct dbb_pool *pool);
size_t dbb_pool_get_count(const struct dbb_pool *pool);
/* Buffer @i (< count), owned by @pool (dbb_buffer_free() on it does
 * nothing; its fd may be taken with dbb_buffer_take_fd()); NULL out of
 * range. */
struct dbb_buffer *dbb_pool_get_buffer(struct dbb_pool *pool, size_t i);
/* The description that came with the pool; owned by @pool. */
const struct dbb_pool_info *dbb_pool_get_info(const struct dbb_pool *pool);

/* Describes pool @id / @name (with its queue's counters, as the producer
 * last wrote them) without opening it.  *@out is freed with
 * dbb_pool_info_free().  -ENOENT when there is no such pool. */
int dbb_pool_info_by_id(struct dbb_client *client, uint64_t id,
			struct dbb_pool_info **out);
int dbb_pool_info_by_name(struct dbb_client *client, const char *name,
			  struct dbb_pool_info **out);
void dbb_pool_info_free(struct dbb_pool_info *info);

struct dbb_pool_list;

/* Every pool the caller may see, in id order (fetched page by page). */
int dbb_pools(struct dbb_client *client, struct dbb_pool_list **out);
size_t dbb_pool_list_count(const struct dbb_pool_list *list);
/* Entry @i (< count), owned by @list. */
const struct dbb_pool_info *dbb_pool_list_get(const struct dbb_pool_list *list,
					      size_t i);
void dbb_pool_list_free(struct dbb_pool_list *list);

/* ---- frame queues ---- */

/*
 * A frame queue streams a pool's buffers from one producer to up to
 * DBB_QUEUE_MAX_CONSUMERS consumers, each in its own process.  The broker
 * sets it up and keeps the membership; frames and releases then go
 * between the processes directly, over one socket per consumer
 * (docs/protocol.md, "Frame queues: the direct channel"): a frame costs a
 * message per consumer, never a buffer fd or a copy.
 *
 * Producer: dbb_queue_acquire() a free buffer, fill it, dbb_queue_post()
 * it (with an acquire fence, a sync_file, when a device still writes it).
 * The buffer is free again once every consumer it went to released it
 * and every release fence signalled (or fence_timeout_ms passed).
 * Consumer: dbb_queue_receive() a frame whose acquire fence already
 * signalled, use the buffer, dbb_queue_release() it (with a release fence
 * when a device still reads it).  A frame whose acquire fence does not
 * signal within fence_timeout_ms is given back by the library unseen.
 *
 * Event loops: dbb_queue_get_fd() is an epoll fd covering everything the
 * end waits for (channels, fences, timers and, for the producer, the
 * broker connection, whose consumer attach/detach events it needs); poll
 * it for POLLIN and call dbb_queue_dispatch().  dbb_queue_acquire() and
 * dbb_queue_receive() dispatch too, so a simple program needs neither.
 * The producer's client may be used by other calls meanwhile (events for
 * the queue are routed to it whichever call reads them); other events
 * the producer's dispatch reads wait for dbb_client_dispatch(), as
 * those a blocking call reads do (dbb_client_pending_events()).
 *
 * Threads: one queue end is used from one thread at a time (calls on it
 * are not serialized); different ends, and the client, may be used from
 * different threads.  Blocking calls take timeout_ms: 0 does not block
 * (-EAGAIN), > 0 waits that long at most (-ETIMEDOUT), < 0 the client's
 * timeout.  A signal does not end the wait.
 *
 * A misbehaving peer never affects others: a consumer that sends anything
 * malformed or untrue (a release of a frame it does not hold, twice, a
 * fence that is not a sync_file) is cut off and its frames taken back; so
 * is, with a release_timeout_ms, one that holds a frame too long (its
 * queue then ends with -ECONNABORTED, not -ETIMEDOUT, which only says a
 * wait ran out); a producer that misbehaves ends the consumer's queue
 * with -EPROTO.
 *
 * Fences on the channel are sync_files (DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
 * a GPU driver's out-fence, sw_sync); anything else is refused.
 */
struct dbb_queue;

/* The longest release_timeout_ms a queue may have (ten minutes). */
#define DBB_QUEUE_MAX_RELEASE_TIMEOUT_MS 600000u

/*
 * How the producer treats consumers; the caller sets struct_size.
 *
 * release_timeout_ms: a consumer that has not released a frame this long
 * after it was delivered (a release waiting on its release fence counts
 * as released) is cut off as a misbehaving one is: its channel closed,
 * its frames taken back, the broker told to detach it, its queue ended
 * with -ECONNABORTED.  Under HOLD, a consumer that stopped releasing no
 * longer stalls the producer and the other consumers for longer than
 * that.  0 (and a struct_size from before the field): never.
 */
struct dbb_queue_params {
	uint32_t struct_size;		/* sizeof(struct dbb_queue_params) */
	enum dbb_queue_policy policy;
	uint32_t max_in_flight;		/* per consumer; 0: the pool's size */
	uint32_t fence_timeout_ms;	/* 0: 1000 */
	uint32_t release_timeout_ms;	/* 0: none; <= the maximum above */
};

/*
 * Makes the caller the producer of @pool's queue (one per pool; the
 * caller must hold @pool read-write: it allocated or opened it
 * read-write on this @client).  @params NULL: HOLD, defaults.  *@producer
 * borrows @pool and @client, which must outlive it.  -EEXIST: the pool
 * has a queue; -EOPNOTSUPP without the broker's feature "queues";
 * -EINVAL: an unknown policy, max_in_flight over the pool's size or
 * release_timeout_ms over DBB_QUEUE_MAX_RELEASE_TIMEOUT_MS.  The
 * queue ends with dbb_queue_destroy(), or with the client's connection
 * (a reconnect ends it too: the end then reports -EPIPE).
 */
int dbb_queue_create(struct dbb_client *client, struct dbb_pool *pool,
		     const struct dbb_queue_params *params,
		     struct dbb_queue **producer);

/*
 * Attaches the caller as a consumer of the queue of pool @pool_name /
 * @pool_id (opening the pool must be allowed; read-only is enough).  The
 * pool comes with it (dbb_queue_get_pool()).  -ENOENT: no such pool or no
 * queue; -ENOSPC: DBB_QUEUE_MAX_CONSUMERS are attached; -EEXIST: this
 * connection is attached already.  Frames do not go through @client; it
 * is used again only by dbb_queue_destroy(), to detach, and may be
 * destroyed first (the broker detaches a consumer with its connection).
 */
int dbb_queue_attach_by_name(struct dbb_client *client, const char *pool_name,
			     bool read_only, struct dbb_queue **consumer);
int dbb_queue_attach_by_id(struct dbb_client *client, uint64_t pool_id,
			   bool read_only, struct dbb_queue **consumer);

/* Consumer: the pool that came with the attach, owned by @queue.
 * Producer: the pool given to dbb_queue_create(). */
struct dbb_pool *dbb_queue_get_pool(struct dbb_queue *queue);

/*
 * Producer: ends the queue (consumers see its end, -EPIPE) and tells the
 * broker (QueueDetach, not waited for); buffers in use by consumers are
 * simply no longer tracked.  Consumer: detaches (the producer takes its
 * frames back) and frees the pool that came with it.  Closes every fd
 * the end owns (fences still pending included).  Accepts NULL.
 */
void dbb_queue_destroy(struct dbb_queue *queue);

/* The end's epoll fd, owned by @queue: POLLIN -> dbb_queue_dispatch(). */
int dbb_queue_get_fd(const struct dbb_queue *queue);

/*
 * Handles what is ready without blocking (the producer may wait for its
 * client's lock, as dbb_client_dispatch() does): channel messages read in
 * batches, fences that signalled, fence timeouts, consumers attaching and
 * leaving.  Returns how many things it handled (>= 0), -EPIPE when the
 * queue ended (consumer: the producer went away or detached it;
 * producer: its connection to the broker broke), -EPROTO (consumer) when
 * the producer misbehaved and was cut off, -ECONNABORTED (consumer) when
 * the producer cut this consumer off for holding a frame past the queue's
 * release_timeout_ms.
 */
int dbb_queue_dispatch(struct dbb_queue *queue);

/* Producer: consumers attached now (0 for a consumer end). */
size_t dbb_queue_consumer_count(const struct dbb_queue *queue);

/* A frame.  The caller sets struct_size (dbb_queue_post()) or the library
 * fills it as far as struct_size says (dbb_queue_receive()). */
struct dbb_frame {
	uint32_t struct_size;		/* sizeof(struct dbb_frame) */
	uint32_t index;			/* the buffer's index in the pool */
	uint64_t seq;			/* post: 0 numbers it 1, 2, ... */
	uint64_t timestamp_ns;		/* the producer's, passed through */
	int fence_fd;			/* -1: none */
};

/*
 * Producer: takes a free buffer for the next frame; *@index is its place
 * in the pool.  With no free buffer: DROP_OLDEST takes the oldest frame
 * not yet delivered back from the consumers it waits for (counted
 * dropped for each); otherwise it waits as @timeout_ms says, dispatching
 * meanwhile.  -EAGAIN (@timeout_ms 0) / -ETIMEDOUT: none came free;
 * -EPIPE: the queue ended.
 */
int dbb_queue_acquire(struct dbb_queue *queue, int timeout_ms, uint32_t *index);

/*
 * Producer: posts @frame (its index acquired and not posted since) to
 * every attached consumer, as the policy says.  Takes @frame->fence_fd
 * (an acquire fence: a sync_file that signals when the buffer is
 * written, -1: ready now), closing it on failure too.  Never blocks.
 * -EINVAL: an index not acquired, a fence that is not a sync_file, bad
 * struct_size; -EPIPE: the queue ended.
 */
int dbb_queue_post(struct dbb_queue *queue, const struct dbb_frame *frame);

/*
 * Consumer: the next frame whose acquire fence signalled (fence_fd is
 * -1), in the order posted.  The buffer is the caller's until
 * dbb_queue_release().  -EAGAIN (@timeout_ms 0) / -ETIMEDOUT: none;
 * -EPIPE: the queue ended (frames not yet received are dropped);
 * -EPROTO: the producer misbehaved; -ECONNABORTED: the producer cut this
 * consumer off (release timeout).  -EINVAL for a bad struct_size.
 */
int dbb_queue_receive(struct dbb_queue *queue, int timeout_ms,
		      struct dbb_frame *frame);

/*
 * Consumer: gives buffer @index back with @release_fence_fd (a sync_file
 * that signals when the caller's device stopped reading; -1: none), which
 * it takes, closing it on failure too.  Never blocks.  -EINVAL: @index
 * was not received or already released, or the fence is not a sync_file;
 * -EPIPE: the queue ended (the release is moot); -ECONNABORTED: it ended
 * because the producer cut this consumer off (release timeout), the
 * release is moot too; -EAGAIN: the channel is
 * full (a producer that does not read): the frame is still the caller's,
 * to release again later.
 */
int dbb_queue_release(struct dbb_queue *queue, uint32_t index,
		      int release_fence_fd);

/*
 * This end's own counters (producer: the whole queue, as written to the
 * stats page the broker reads; consumer: its frames, posted and dropped
 * being the producer's to count and 0 here).  @out is filled completely.
 */
int dbb_queue_get_counters(struct dbb_queue *queue,
			   struct dbb_queue_counters *out);

/* ---- fences on dma-bufs ---- */

/*
 * A sync_file of the fences of @buffer's dma-buf, as the kernel's flags
 * of DMA_BUF_IOCTL_EXPORT_SYNC_FILE mean them: DBB_SYNC_READ, the writers'
 * fences, what a reader must wait for; DBB_SYNC_WRITE, the readers' and
 * the writers', what a writer must wait for.  *@sync_fd is the caller's.
 * -ENOTTY on kernels before 6.0 and on memfd buffers, -EINVAL for bad
 * flags.
 */
int dbb_buffer_export_sync_file(struct dbb_buffer *buffer, unsigned flags,
				int *sync_fd);

/*
 * Adds the fence(s) of @sync_fd to @buffer's dma-buf (DBB_SYNC_WRITE: as
 * a writer, DBB_SYNC_READ: as a reader), DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
 * so that implicit-sync users wait for them.  @sync_fd stays the
 * caller's.  -ENOTTY as above.
 */
int dbb_buffer_import_sync_file(struct dbb_buffer *buffer, unsigned flags,
				int sync_fd);

/* ---- queries ---- */

/* Describes buffer @id / @name without opening it.  *@out is freed with
 * dbb_buffer_info_free().  A pool's id or name is -ENOENT here
 * (dbb_pool_info_by_id()). */
int dbb_info_by_id(struct dbb_client *client, uint64_t id,
		   struct dbb_buffer_info **out);
int dbb_info_by_name(struct dbb_client *client, const char *name,
		     struct dbb_buffer_info **out);
void dbb_buffer_info_free(struct dbb_buffer_info *info);

struct dbb_buffer_list;

/* Every buffer in the registry, in id order (fetched page by page). */
int dbb_list(struct dbb_client *client, struct dbb_buffer_list **out);
size_t dbb_buffer_list_count(const struct dbb_buffer_list *list);
/* Entry @i (< count), owned by @list. */
const struct dbb_buffer_info *dbb_buffer_list_get(const struct dbb_buffer_list *list,
						  size_t i);
void dbb_buffer_list_free(struct dbb_buffer_list *list);

/* Filled in by dbb_stats(); the caller sets struct_size. */
struct dbb_stats {
	uint32_t struct_size;		/* sizeof(struct dbb_stats) */
	uint64_t clients;
	uint64_t buffers;
	uint64_t bytes;
	uint64_t named;
	uint64_t persistent;
	uint64_t requests;
	uint64_t errors;
	uint64_t uptime_usec;
	uint64_t max_clients;
	uint64_t max_buffer_size;
	/* The calling uid's usage and quota (0: unlimited). */
	uint64_t my_bytes;
	uint64_t my_buffers;
	uint64_t my_max_bytes;
	uint64_t my_max_buffers;
	/* The cap on the bytes of all buffers together, and what counts
	 * against it: every uid's charge, Allocs still in progress too
	 * (0, 0 from a broker without a cap). */
	uint64_t max_total_bytes;
	uint64_t charged_bytes;
	/* Connections one uid but root may have, and the caller's uid's. */
	uint64_t max_clients_per_uid;
	uint64_t my_clients;
	/* Pools, those with a queue, and the frames all queues posted and
	 * dropped as their producers count them (0 from a broker without
	 * pools). */
	uint64_t pools;
	uint64_t queues;
	uint64_t frames_posted;
	uint64_t frames_dropped;
};

int dbb_stats(struct dbb_client *client, struct dbb_stats *out);

/* Library-allocated, reached through dbb_backend_list_get(). */
struct dbb_backend {
	const char *name;
	bool available;
	bool is_dmabuf;
	bool preferred;
	const char *detail;
	uint64_t buffers;
	uint64_t bytes;
	bool read_only;			/* read-only holders enforced */
	bool contiguous;		/* can allocate contiguous memory */
	bool pin;			/* dbb_pin_memfd() */
	bool release_tracked;		/* quota held until memory is freed */
	bool driver_layout;		/* strides come from the driver */
	uint64_t max_size;		/* largest buffer; 0: the broker's limit */
	size_t n_formats;		/* fourccs it can lay out (LINEAR) */
	const uint32_t *formats;
};

struct dbb_backend_list;

int dbb_backends(struct dbb_client *client, struct dbb_backend_list **out);
size_t dbb_backend_list_count(const struct dbb_backend_list *list);
const struct dbb_backend *dbb_backend_list_get(const struct dbb_backend_list *list,
					       size_t i);
void dbb_backend_list_free(struct dbb_backend_list *list);

/* ---- owned names ---- */

enum dbb_name_owner {
	DBB_NAME_OWNER_UID = 0,
	DBB_NAME_OWNER_GID = 1,
	DBB_NAME_OWNER_EVERYONE = 2,	/* reopens part of a reserved prefix */
};

/* A name prefix the broker's config reserves; library-allocated, reached
 * through dbb_name_list_get().  A name belongs to the rule with the
 * longest prefix it starts with; names no rule covers are first come,
 * first served; root may take any name.  Others get -EACCES. */
struct dbb_name_rule {
	const char *prefix;
	enum dbb_name_owner owner;
	uint32_t id;			/* uid or gid; 0 for everyone */
	const char *owner_name;		/* as the config names the user or
					   group; "" when it gave a number */
	bool caller_may_take;		/* this client's uid may take them */
};

struct dbb_name_list;

/* The reserved prefixes, in the config's order (feature "owned-names";
 * -EOPNOTSUPP without it). */
int dbb_names(struct dbb_client *client, struct dbb_name_list **out);
size_t dbb_name_list_count(const struct dbb_name_list *list);
const struct dbb_name_rule *dbb_name_list_get(const struct dbb_name_list *list,
					      size_t i);
void dbb_name_list_free(struct dbb_name_list *list);

/* ---- events, for applications with their own loop ---- */

enum dbb_event_type {
	DBB_EVENT_CREATED = 1,
	DBB_EVENT_NAMED = 2,
	DBB_EVENT_DESTROYED = 3,
	/* Its grants changed.  The broker shows a buffer only to those who
	 * may open it, so this is how a uid granted after the buffer was
	 * made hears of it. */
	DBB_EVENT_GRANTED = 4,
	/* A pool came or went (to pool_event; its buffers raise none). */
	DBB_EVENT_POOL_CREATED = 5,
	DBB_EVENT_POOL_DESTROYED = 6,
	/* A pool's queue began or ended (to pool_event, feature
	 * "queue-events"): @info->queue describes it as it began, or as it
	 * was when it ended.  A consumer started before its producer waits
	 * for QUEUE_CREATED of its pool instead of polling.  When the pool
	 * goes, QUEUE_DESTROYED comes before POOL_DESTROYED. */
	DBB_EVENT_QUEUE_CREATED = 7,
	DBB_EVENT_QUEUE_DESTROYED = 8,
};

struct dbb_event_listener {
	uint32_t struct_size;		/* sizeof(struct dbb_event_listener) */
	/* @info is owned by the library and valid during the call only. */
	void (*buffer_event)(struct dbb_client *client, enum dbb_event_type type,
			     const struct dbb_buffer_info *info, void *userdata);
	/* DBB_EVENT_POOL_* and DBB_EVENT_QUEUE_*; @info (without buffers)
	 * as above.  NULL: pool and queue events are dropped. */
	void (*pool_event)(struct dbb_client *client, enum dbb_event_type type,
			   const struct dbb_pool_info *info, void *userdata);
};

/* Sets the callbacks that dbb_client_dispatch() calls (NULL: none); the
 * library keeps a copy of @listener.  -EINVAL/-E2BIG for a struct_size
 * the library cannot take. */
int dbb_client_set_listener(struct dbb_client *client,
			    const struct dbb_event_listener *listener,
			    void *userdata);

/* Starts or stops the broker's event stream for this connection. */
int dbb_watch(struct dbb_client *client, bool enable);

/* The connection's fd, owned by the client: poll it for POLLIN and call
 * dbb_client_dispatch().  Its number stays the same when the library
 * reconnects.  Events that arrived during blocking calls are queued and
 * delivered by the next dispatch; at most 1024 are kept, the oldest
 * dropped beyond that. */
int dbb_client_get_fd(const struct dbb_client *client);

/* Delivers queued events and reads what is pending without blocking
 * (beyond waiting for other threads' calls).  Without a listener the
 * events are discarded.  Returns the number of events delivered, or a
 * negative errno: -EPIPE when the connection broke (events that arrived
 * before are delivered first).  Dispatching does not reconnect; the next
 * other call does (dbb_watch(client, true), for a client that only
 * watches). */
int dbb_client_dispatch(struct dbb_client *client);

/* Number of events queued but not yet delivered. */
size_t dbb_client_pending_events(struct dbb_client *client);

#ifdef __cplusplus
}
#endif

#endif
