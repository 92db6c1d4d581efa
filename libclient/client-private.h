/* SPDX-License-Identifier: MIT */
/*
 * Internals of libdmabuf-broker shared by its files.  Each file keeps its
 * own prefix: connection_ (connection.c: socket, handshake, request/reply
 * matching), request_ (requests.c), info_ (info.c: BufferInfo conversion),
 * list_ (lists.c), buffer_ (buffer.c: handles and the holds they stand
 * for), events_ (events.c), structs_ (structs.c: the struct_size rule).
 * Pools and frame queues have their own: queue-private.h.
 */
#ifndef DBB_CLIENT_PRIVATE_H
#define DBB_CLIENT_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <uthash.h>

/* The library is built with -fvisibility=hidden; only the API is exported. */
#pragma GCC visibility push(default)
#include "dmabuf-broker.h"
#pragma GCC visibility pop

#include "dmabuf_broker.pb-c.h"
#include "wire.h"

/* Events kept for dbb_client_dispatch(); beyond this the oldest go. */
#define EVENTS_QUEUE_MAX 1024u

/* At most this many of the broker's features are kept, each name cut to
 * CONNECTION_FEATURE_MAX - 1 bytes. */
#define CONNECTION_FEATURES_MAX 32u
#define CONNECTION_FEATURE_MAX 32u

/* The longest resume token kept (the broker's are 32 bytes). */
#define CONNECTION_TOKEN_MAX 64u

/* Room for the broker's message in dbb_client_last_error(). */
#define CONNECTION_ERROR_MAX 512u

/* The end of @field in @type: the size of a struct's first version is the
 * end of its last field then. */
#define offsetofend(type, field) \
	(offsetof(type, field) + sizeof(((type *)0)->field))

/* Sizes of the first version of each caller-allocated struct. */
#define STRUCTS_CONNECT_PARAMS_V1 \
	offsetofend(struct dbb_connect_params, required_features)
#define STRUCTS_ALLOC_PARAMS_V1 offsetofend(struct dbb_alloc_params, flags)
#define STRUCTS_IMAGE_LAYOUT_V1 offsetofend(struct dbb_image_layout, planes)
#define STRUCTS_STATS_V1 offsetofend(struct dbb_stats, my_max_buffers)
#define STRUCTS_LISTENER_V1 \
	offsetofend(struct dbb_event_listener, buffer_event)

struct events_entry {
	enum dbb_event_type type;
	struct dbb_buffer_info *info;		/* buffer events */
	struct dbb_pool_info *pool;		/* pool events */
};

/* A ring of converted events, allocated on first use. */
struct events_queue {
	struct events_entry *ring;
	size_t head;
	size_t count;
	uint64_t dropped;
};

/* How many handles of buffer @id the caller has from this connection. */
struct buffer_holds {
	uint64_t id;
	unsigned handles;
	UT_hash_handle hh;
};

/*
 * One lock serializes every exchange with the broker and guards all that
 * follows it; a call holds it from sending its request to converting the
 * reply, so replies come back to the thread that asked.
 */
struct dbb_client {
	pthread_mutex_t lock;
	/* The caller's reference (until dbb_client_destroy()) and one per
	 * buffer handle, which may outlive the caller's. */
	unsigned refs;
	bool destroyed;
	struct buffer_holds *holds;
	int sock;				/* non-blocking */
	int timeout_ms;
	bool interruptible;
	/* When the call holding the lock gives up (CLOCK_MONOTONIC). */
	struct timespec deadline;
	uint64_t id;
	uint64_t last_seq;
	char server_version[64];
	/* HelloReply.features, set by the Hello. */
	char features[CONNECTION_FEATURES_MAX][CONNECTION_FEATURE_MAX];
	size_t n_features;
	/* What a reconnect needs: the connect parameters (copies) and the
	 * broker's latest resume token, a credential never shown. */
	bool may_reconnect;
	bool reconnecting;
	char *socket_path;
	char *client_name;			/* NULL: the program's */
	char **required_features;		/* NULL-terminated, or NULL */
	uint8_t token[CONNECTION_TOKEN_MAX];
	size_t token_len;
	bool watching;				/* to be asked for again */
	/* Holds whose Release could not be sent: a resumed session has
	 * them back, so they are released then. */
	uint64_t *unreleased;
	size_t n_unreleased;
	uint32_t generation;			/* reconnects so far */
	bool resumed;				/* by the last reconnect */
	/* The broker closed the connection (seen while reading). */
	int gone;
	struct dbb_event_listener listener;	/* the library's version */
	void *userdata;
	struct events_queue events;
	/* Producer ends of frame queues made on this client, which its
	 * consumer attach/detach events go to (queue.c). */
	struct dbb_queue *queues;
	uint8_t frame[DBB_WIRE_MAX_FRAME];
};

/* connection_call()'s @nfds for a reply whose caller counts the fds. */
#define CONNECTION_NFDS_ANY ((size_t)-1)

/* What a successful call got back: the decoded message and its fd. */
struct connection_reply {
	DmabufBroker__V1__ServerMessage *msg;
	DmabufBroker__V1__Response *resp;	/* points into msg */
	int fds[DBB_WIRE_MAX_FDS];		/* owned until taken */
	size_t nfds;
};

/*
 * Takes the client's lock for one public call, waiting for it no longer
 * than the client's timeout, and sets the call's deadline.  Returns 0,
 * -ETIMEDOUT, or -EINVAL for a NULL or destroyed client.
 */
int connection_lock(struct dbb_client *client);
void connection_unlock(struct dbb_client *client);
/* Takes the lock however long it takes, for what cannot fail (freeing a
 * handle); sets a deadline for what it sends. */
void connection_lock_always(struct dbb_client *client);

/*
 * With the lock held: sends @req with a fresh seq and reads until its
 * Response arrives or the deadline passes (-ETIMEDOUT; -EINTR when
 * interrupted and the client is interruptible), queueing Events that come
 * first.  On success the Response has status 0, body
 * @body (any body when NOT_SET) and exactly @nfds fds (any number when
 * CONNECTION_NFDS_ANY: the caller checks); @reply owns the message and
 * fds.  Returns a broker status (< 0) as is, -EPROTO for a
 * malformed reply, -EPIPE/-ECONNRESET when the broker is gone.
 */
int connection_call(struct dbb_client *client, DmabufBroker__V1__Request *req,
		    DmabufBroker__V1__Response__BodyCase body, size_t nfds,
		    struct connection_reply *reply);
/* The same, sending @send_fd (the caller's, not closed) with the request
 * when it is >= 0. */
int connection_call_fd(struct dbb_client *client,
		       DmabufBroker__V1__Request *req, int send_fd,
		       DmabufBroker__V1__Response__BodyCase body, size_t nfds,
		       struct connection_reply *reply);
/* Frees the message and closes the fd still owned by @reply. */
void connection_reply_clear(struct connection_reply *reply);
/* With the lock held: reads one datagram without blocking: queues an
 * event, drops stale responses.  Returns 1 when something was read, 0 when
 * nothing was pending, or a negative errno. */
int connection_read_pending(struct dbb_client *client);
/* Whether the broker has @feature; else records why for
 * dbb_client_last_error() and returns -EOPNOTSUPP. */
int connection_need_feature(const struct dbb_client *client,
			    const char *feature);
/* Records a message for dbb_client_last_error() in the calling thread. */
void connection_set_error(const struct dbb_client *client, const char *msg);
/* With the lock held: sends @req with a fresh seq and does not wait for
 * the reply, which is discarded by seq when it comes. */
int connection_send_only(struct dbb_client *client,
			 DmabufBroker__V1__Request *req);
/* Drops a reference to @client, freeing it with the last. */
void connection_unref(struct dbb_client *client);

/* The parts of the caller's dbb_alloc_params every creating request
 * carries, in the library's version of the structs. */
struct request_common {
	struct dbb_alloc_params params;
	struct dbb_image_layout user_layout;
	DmabufBroker__V1__ImageLayout layout;
	DmabufBroker__V1__Plane planes[DBB_MAX_PLANES];
	DmabufBroker__V1__Plane *plane_ptrs[DBB_MAX_PLANES];
};

/* Checks the caller's @user and fills an AllocRequest from it; @body
 * points into @rc afterwards.  Returns 0, -EINVAL, -E2BIG, or
 * -EOPNOTSUPP for what the broker lacks. */
int request_alloc_body(struct dbb_client *client,
		       const struct dbb_alloc_params *user,
		       struct request_common *rc,
		       DmabufBroker__V1__AllocRequest *body);

/* Converts a BufferInfo into one allocation freed with free().
 * Returns 0, -ENOMEM, or -EPROTO when it is not valid. */
int info_from_proto(const DmabufBroker__V1__BufferInfo *pb,
		    struct dbb_buffer_info **out);
/* Converts one layout / grant; -EPROTO when it is not valid. */
int info_layout(const DmabufBroker__V1__ImageLayout *pb,
		struct dbb_image_layout *out);
int info_grant(const DmabufBroker__V1__Grant *pb, struct dbb_grant *out);

/* With the lock held: a buffer handle of @client owning @fd and @info
 * (both taken on success); counts as one of the client's handles of the
 * buffer. */
int buffer_new(struct dbb_client *client, int fd,
	       struct dbb_buffer_info *info, struct dbb_buffer **out);
/* With the lock held: counts one more handle of @id (a buffer's or a
 * pool's) and takes a reference to @client for it. */
int buffer_hold(struct dbb_client *client, uint64_t id);
/* Counts a handle of @id gone, releasing the hold with the last, and
 * drops its reference to @client (takes the lock). */
void buffer_drop(struct dbb_client *client, uint64_t id);
/* A pool member's handle: no hold of its own (the pool has one), freed
 * only by buffer_free_member(); takes @fd and @info. NULL: -ENOMEM. */
struct dbb_buffer *buffer_new_member(int fd, struct dbb_buffer_info *info);
void buffer_free_member(struct dbb_buffer *buffer);
/* Forgets the counts of handles (the client is going away). */
void buffer_holds_clear(struct dbb_client *client);
/* With the lock held: whether the caller has a handle of buffer @id. */
bool buffer_held(const struct dbb_client *client, uint64_t id);
/* With the lock held: asks the broker to drop the connection's hold on
 * buffer @id, not waiting for the reply; when the connection is broken,
 * remembers it for a resumed session. */
void buffer_release(struct dbb_client *client, uint64_t id);
/* With the lock held, after a reconnect: releases the holds remembered
 * if the session was resumed, and forgets them. */
void buffer_release_unreleased(struct dbb_client *client, bool resumed);

/* Copies the caller's struct @src (its struct_size first) into @dst, the
 * library's version of @size bytes, zeroing what the caller's lacks.
 * Returns 0, -EINVAL below @min_size, -E2BIG when fields past @size are
 * set. */
int structs_copy_in(void *dst, size_t size, size_t min_size, const void *src);
/* Copies the library's @src of @size bytes into the caller's @dst, as far
 * as its struct_size goes (zeroing the rest, keeping struct_size).
 * Returns 0 or -EINVAL below @min_size. */
int structs_copy_out(void *dst, const void *src, size_t size, size_t min_size);

struct dbb_buffer_list *list_buffers_new(void);
/* Moves the page's buffers into @list.  Returns 0, -ENOMEM or -EPROTO. */
int list_buffers_append(struct dbb_buffer_list *list,
			const DmabufBroker__V1__ListReply *page);
int list_backends_from_proto(const DmabufBroker__V1__BackendsReply *pb,
			     struct dbb_backend_list **out);
/* Returns 0, -ENOMEM, or -EPROTO for a rule without an owner. */
int list_names_from_proto(const DmabufBroker__V1__NamesReply *pb,
			  struct dbb_name_list **out);

/* With the lock held: converts and queues an event (dropping the oldest
 * when full). */
void events_push(struct dbb_client *client, const DmabufBroker__V1__Event *ev);
/* Frees every queued event. */
void events_clear(struct dbb_client *client);

#endif
