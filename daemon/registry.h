/* SPDX-License-Identifier: MIT */
/*
 * The broker's books: buffers by id (64-bit, never reused) and by unique
 * name, the holds each connection has on them, and usage per owner uid.
 * Every lookup on the request path is a hash lookup; a connection's holds
 * and client-lifetime buffers are dropped in O(its own count).
 *
 * The registry owns each buffer's fd and closes it when the buffer leaves.
 * It knows nothing of sockets, events or backends: the backend is an index
 * it stores for its user.
 */
#ifndef DBB_REGISTRY_H
#define DBB_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <uthash.h>

#include "imgfmt.h"
#include "policy.h"

#define REGISTRY_NAME_MAX 255
/* A resume token's digest: SHA-256. */
#define REGISTRY_TOKEN_HASH_LEN 32

enum registry_lifetime {
	REGISTRY_LIFETIME_CLIENT = 0,
	REGISTRY_LIFETIME_PERSISTENT = 1,
};

struct registry_hold;
struct registry_buffer;

/*
 * A connection as the registry sees it.  It outlives the connection while
 * persistent buffers name it as their owner (refcounted); after
 * registry_conn_close() it is "closed" and holds nothing.
 */
struct registry_conn {
	uint64_t id;
	uid_t uid;
	pid_t pid;
	char *name;
	unsigned refs;			/* the connection + buffers it owns */
	bool closed;
	uint32_t nholds;
	struct registry_hold *holds;	/* utlist DL via conn_prev/next */
	struct registry_buffer *owned;	/* client-lifetime buffers, DL */
	/* The digest of the token that resumes this connection's session
	 * after a break, set by resume.c at each Hello; the registry only
	 * keeps it, so that what persists a buffer can name its session. */
	uint8_t token_hash[REGISTRY_TOKEN_HASH_LEN];
	bool has_token;
};

/* One connection's hold on one buffer, linked from both sides. */
struct registry_hold {
	UT_hash_handle hh;		/* key: (buffer id, conn id) */
	uint64_t key[2];
	struct registry_buffer *buf;
	struct registry_conn *conn;
	struct registry_hold *buf_prev, *buf_next;
	struct registry_hold *conn_prev, *conn_next;
	bool writable;
};

/*
 * A registered buffer.  Fields are read-only for users of the registry
 * except grants/ngrants (changed through policy_grants_apply()).  Kept
 * lean: the registry holds up to 100,000s of them.
 */
struct registry_buffer {
	UT_hash_handle hh_id;
	UT_hash_handle hh_name;		/* in the table only when named */
	uint64_t id;
	uint64_t size;
	uint64_t created_usec;		/* CLOCK_REALTIME */
	char *name;			/* NULL: unnamed */
	struct registry_conn *owner;
	struct registry_hold *holds;
	struct registry_buffer *owned_prev, *owned_next;
	struct imgfmt_layout *layout;	/* NULL: not an image */
	struct policy_grant *grants;
	void *priv;			/* the backend's, released by its user */
	uint64_t pool_id;		/* 0: not a pool member (pool.c) */
	int fd;
	uint32_t nholds;
	uint8_t ngrants;
	uint8_t lifetime;		/* enum registry_lifetime */
	uint8_t backend;		/* the user's backend index */
	uint8_t pool_index;		/* its place in its pool */
	/* Set by a REMOVED subscriber: the owner stays charged after the
	 * buffer leaves, until registry_unlinger() (its memory is freed). */
	uint8_t linger;
};

/* Parameters of a new buffer. */
struct registry_new {
	uint64_t size;
	const char *name;		/* NULL or "": unnamed */
	enum registry_lifetime lifetime;
	uint8_t backend;
	const struct imgfmt_layout *layout;	/* copied; NULL: none */
	void *priv;			/* stored as is */
	uint64_t pool_id;		/* 0: not a pool member */
	uint8_t pool_index;
};

/* A per-uid limit; 0 means unlimited. */
struct registry_quota {
	uint64_t max_bytes;
	uint64_t max_buffers;
};

/* Usage of one uid. */
struct registry_usage {
	uint64_t bytes;
	uint64_t buffers;
};

/* Totals over the registry. */
struct registry_totals {
	uint64_t buffers;
	uint64_t bytes;
	uint64_t named;
	uint64_t persistent;
	/* Bytes charged to uids: the buffers' and those of lingering
	 * buffers whose memory is not freed yet. */
	uint64_t charged;
};

/*
 * What the registry tells its subscribers, in the order they subscribed:
 *   ADDED    a buffer is complete and visible (registry_buffer_announce());
 *   NAMED    it got its name;
 *   GRANTED  its grants changed (registry_buffer_grant());
 *   REMOVED  it is about to leave (destroy, owner disconnect, teardown),
 *            still complete; the registry closes b->fd afterwards unless a
 *            subscriber set it to -1.  Buffers taken out again before
 *            they were announced (b->fd set to -1) are not reported.
 */
enum registry_event {
	REGISTRY_ADDED,
	REGISTRY_NAMED,
	REGISTRY_GRANTED,
	REGISTRY_REMOVED,
};

typedef void (*registry_event_fn)(void *ctx, enum registry_event ev,
				  struct registry_buffer *b);

#define REGISTRY_MAX_SUBSCRIBERS 6

struct registry;

/* Creates an empty registry.  Returns NULL on allocation failure. */
struct registry *registry_create(void);

/* Adds a subscriber.  Returns 0 or -ENOSPC past
 * REGISTRY_MAX_SUBSCRIBERS. */
int registry_subscribe(struct registry *reg, registry_event_fn fn, void *ctx);

/* Tells subscribers that @b (added and set up) is there: ADDED. */
void registry_buffer_announce(struct registry *reg, struct registry_buffer *b);

/* Applies @g to @b's grants (policy_grants_apply()) and tells subscribers
 * (GRANTED).  Returns 0 or its negative errno. */
int registry_buffer_grant(struct registry *reg, struct registry_buffer *b,
			  const struct policy_grant *g);

/* Removes every buffer (REMOVED for each) and every connection
 * record, then frees the registry.  Accepts NULL. */
void registry_destroy(struct registry *reg);

/* Whether @name is a valid buffer name: 1..255 bytes of [A-Za-z0-9._:/-],
 * not starting with '.' or '/'. */
bool registry_name_valid(const char *name);

/* Returns a new connection record (refs = 1), or NULL on ENOMEM.  @name
 * is copied. */
struct registry_conn *registry_conn_open(struct registry *reg, uint64_t id,
					 uid_t uid, pid_t pid,
					 const char *name);

/* Renames a connection (after Hello).  Returns 0 or -ENOMEM. */
int registry_conn_set_name(struct registry_conn *conn, const char *name);

/*
 * The connection went away: drops its holds, removes the client-lifetime
 * buffers it owns (REMOVED) and releases its record, which lives on
 * while persistent buffers name it as owner.  Accepts NULL.
 */
void registry_conn_close(struct registry *reg, struct registry_conn *conn);

/*
 * Checks whether a buffer of @size named @name (NULL: unnamed) could be
 * added for @uid under @quota without changing anything: -EEXIST when the
 * name is taken, -EDQUOT over quota, -EOVERFLOW on absurd sizes, else 0.
 */
int registry_check_add(const struct registry *reg, uid_t uid, uint64_t size,
		       const char *name, const struct registry_quota *quota);

/* The same for @count buffers of @size each (a pool), all or none. */
int registry_check_add_many(const struct registry *reg, uid_t uid,
			    uint64_t size, uint32_t count, const char *name,
			    const struct registry_quota *quota);

/*
 * Names belong to one namespace shared with what is not a buffer (a
 * pool): a name blocked here is taken for every buffer (-EEXIST).
 * registry_name_block() returns 0, -EEXIST when a buffer has it or it is
 * blocked already, -ENOMEM; unblocking a name not blocked does nothing.
 */
int registry_name_block(struct registry *reg, const char *name);
void registry_name_unblock(struct registry *reg, const char *name);
bool registry_name_taken(const struct registry *reg, const char *name);

/* Hands out a new id (for a pool), from the buffers' sequence. */
uint64_t registry_id_take(struct registry *reg);

/*
 * Adds a buffer owned by @conn with @fd (the registry owns it only on
 * success) and gives @conn a writable hold on it.  Checks as
 * registry_check_add(); the name must be valid (-EINVAL otherwise).
 * Returns 0 and sets *@out, or a negative errno with nothing changed.
 */
int registry_buffer_add(struct registry *reg, struct registry_conn *conn,
			const struct registry_new *p,
			const struct registry_quota *quota, int fd,
			struct registry_buffer **out);

/*
 * Puts back a buffer an earlier run of the broker registered (persist.c),
 * under its old @id and creation time, owned by @owner (a record of the
 * connection that made it) and charged to its uid without a quota check:
 * it was charged before.  Nobody holds it.  Not announced: the caller sets
 * it up (grants) and calls registry_buffer_announce().  @id must not be
 * below registry_id_limit() (restore in ascending id order, before any
 * other buffer), so that the table stays in id order; the limit moves past
 * it.  Returns 0 and sets *@out (the registry then owns @fd), -EINVAL for
 * a bad name or lifetime or an id below the limit, -EEXIST when the name
 * is taken, -ENOMEM.
 */
int registry_buffer_restore(struct registry *reg, struct registry_conn *owner,
			    const struct registry_new *p, uint64_t id,
			    uint64_t created_usec, int fd,
			    struct registry_buffer **out);

/* Every id handed out so far is below this. */
uint64_t registry_id_limit(const struct registry *reg);

/* Hands out no id below @limit from now on (ids an earlier run may have
 * given out).  Never lowers the limit. */
void registry_reserve_ids(struct registry *reg, uint64_t limit);

/* Removes @b (REMOVED), its holds and its quota charge. */
void registry_buffer_remove(struct registry *reg, struct registry_buffer *b);

/* Lookups; NULL when absent. */
struct registry_buffer *registry_buffer_by_id(const struct registry *reg,
					      uint64_t id);
struct registry_buffer *registry_buffer_by_name(const struct registry *reg,
						const char *name);

/* The buffer with the smallest id > @after_id, or NULL. */
struct registry_buffer *registry_buffer_after(const struct registry *reg,
					      uint64_t after_id);
/* The next buffer in id order after @b, or NULL. */
struct registry_buffer *registry_buffer_next(const struct registry_buffer *b);

/* Names an unnamed buffer: -EINVAL bad name, -EEXIST taken or already
 * named, -ENOMEM.  Returns 0 on success. */
int registry_buffer_set_name(struct registry *reg, struct registry_buffer *b,
			     const char *name);

/*
 * Gives @conn a hold on @b (or upgrades it to writable).  Returns 0,
 * -EMFILE when @conn already has @max_holds holds (0: unlimited), -ENOMEM.
 */
int registry_hold_add(struct registry *reg, struct registry_buffer *b,
		      struct registry_conn *conn, bool writable,
		      uint32_t max_holds);

/* The hold of @conn on @b, or NULL. */
struct registry_hold *registry_hold_find(const struct registry *reg,
					 const struct registry_buffer *b,
					 const struct registry_conn *conn);

/* Drops @conn's hold on @b: 0 or -ENOENT. */
int registry_hold_drop(struct registry *reg, struct registry_buffer *b,
		       struct registry_conn *conn);

/* Drops the charge of a buffer of @size that lingered for @uid after it
 * left the registry (see registry_buffer.linger). */
void registry_unlinger(struct registry *reg, uid_t uid, uint64_t size);

/* Usage of @uid (zeros when it owns nothing), lingering buffers
 * included. */
struct registry_usage registry_usage_of(const struct registry *reg, uid_t uid);

/* Totals over all buffers. */
struct registry_totals registry_totals(const struct registry *reg);

#endif
