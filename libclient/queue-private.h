/* SPDX-License-Identifier: MIT */
/*
 * Internals of the frame queues (docs/protocol.md, "Frame queues: the
 * direct channel").  Prefixes: queue_ (queue.c: the epoll set, timer,
 * waits, the frame calls), link_ (link.c: set-up through the broker,
 * the producer's consumer events, detach), producer_
 * (producer.c: buffers, per-consumer FIFOs, policies, releases),
 * consumer_ (consumer.c: frames in arrival order, acquire fences),
 * fence_ (fence.c: sync_files), pool_ (pool.c: pools and their infos).
 *
 * The engines know nothing of the broker: a producer is given consumers'
 * channel fds by slot, a consumer its channel fd, so both can be driven
 * over socketpairs alone (tests/unit/test_queue.c).
 */
#ifndef DBB_QUEUE_PRIVATE_H
#define DBB_QUEUE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "client-private.h"
#include "queue_stats.h"

/* What an epoll event is about: the source in the top byte, then a
 * buffer index and a consumer slot. */
enum queue_source {
	QUEUE_SRC_CHAN = 1,	/* a channel (slot) */
	QUEUE_SRC_FENCE,	/* a fence (index, slot) */
	QUEUE_SRC_TIMER,	/* the timerfd: fence and release timeouts */
	QUEUE_SRC_CLIENT,	/* the producer's broker connection */
	QUEUE_SRC_INBOX,	/* queue events routed by another thread */
};

static inline uint64_t queue_tag(enum queue_source src, uint32_t index,
				 uint32_t slot)
{
	return (uint64_t)src << 56 | (uint64_t)index << 8 | slot;
}

#define QUEUE_TAG_SRC(t) ((enum queue_source)((t) >> 56))
#define QUEUE_TAG_INDEX(t) ((uint32_t)((t) >> 8) & 0xffffu)
#define QUEUE_TAG_SLOT(t) ((uint32_t)(t) & 0xffu)

#define QUEUE_DEFAULT_FENCE_TIMEOUT_MS 1000u

/* Attach/detach events waiting for the producer; bounded: past it an
 * attach's channel is closed (the consumer sees the queue end). */
#define QUEUE_INBOX_MAX 64u

enum producer_state {
	PRODUCER_FREE = 0,	/* in the free ring */
	PRODUCER_ACQUIRED,	/* the application fills it */
	PRODUCER_POSTED,	/* queued, sent, or fenced somewhere */
};

struct producer_buffer {
	enum producer_state state;
	uint16_t waiting;	/* consumers whose FIFO holds it */
	uint16_t holders;	/* consumers it was sent to, not released */
	uint16_t fencing;	/* consumers whose release fence is pending */
	int acquire_fence;	/* sent along; kept while any waits */
	uint64_t seq;
	uint64_t timestamp_ns;
	uint64_t posted_ns;
	int release_fence[DBB_QUEUE_MAX_CONSUMERS];
	/* Per consumer, while it holds the frame and the queue has a
	 * release timeout: when it must have released it; while its release
	 * fence is pending: when the fence times out.  (Never both: the
	 * buffer is not posted again while a fence is pending.) */
	uint64_t release_deadline_ns[DBB_QUEUE_MAX_CONSUMERS];
};

struct producer_consumer {
	int fd;			/* -1: the slot is empty */
	uint64_t client_id;	/* the broker's name for it; 0: not told */
	bool blocked;		/* its socket was full: EPOLLOUT armed */
	uint32_t holds;		/* buffers sent and not released (bits) */
	uint32_t in_flight;
	uint8_t fifo[DBB_POOL_MAX_BUFFERS];	/* undelivered, oldest first */
	uint32_t fifo_head;
	uint32_t fifo_count;
};

struct queue_inbox_entry {
	bool attach;
	uint32_t slot;
	int fd;			/* attach: the channel */
	uint64_t client_id;	/* attach: the consumer's client */
};

struct producer {
	enum dbb_queue_policy policy;
	uint32_t max_in_flight;			/* resolved: 1..count */
	struct producer_buffer buf[DBB_POOL_MAX_BUFFERS];
	uint8_t free_ring[DBB_POOL_MAX_BUFFERS];
	uint32_t free_head;
	uint32_t free_count;
	struct producer_consumer cons[DBB_QUEUE_MAX_CONSUMERS];
	uint16_t attached;			/* slots with a channel */
	uint64_t next_seq;
	uint32_t fences_pending;
	/* The counters: the broker's page when mapped, else own_stats. */
	struct dbb_queue_stats_page *stats;
	bool stats_mapped;
	struct dbb_queue_stats_page own_stats;
	/* The broker side (absent for an engine driven alone). */
	struct dbb_client *client;
	uint32_t generation;			/* the client's, at create */
	uint64_t pool_id;
	struct dbb_queue *next;			/* in the client's list */
	int inbox_fd;				/* eventfd */
	pthread_mutex_t inbox_lock;
	struct queue_inbox_entry inbox[QUEUE_INBOX_MAX];
	uint32_t inbox_count;
};

struct consumer_frame {
	uint64_t seq;
	uint64_t timestamp_ns;
	uint64_t posted_ns;
	uint64_t ready_ns;		/* 0: its acquire fence is pending */
	uint64_t deadline_ns;
	int fence;			/* pending acquire fence, or -1 */
};

struct consumer {
	int fd;				/* the channel; -1 once ended */
	uint32_t owned;			/* received and not released (bits) */
	uint32_t app;			/* of those, given to the application */
	uint32_t unsent;		/* timed out, release not sent yet */
	bool blocked;			/* those wait for room: EPOLLOUT armed */
	struct consumer_frame frame[DBB_POOL_MAX_BUFFERS];
	uint8_t fifo[DBB_POOL_MAX_BUFFERS];	/* not yet received, in order */
	uint32_t fifo_head;
	uint32_t fifo_count;
	uint32_t fences_pending;
	struct dbb_queue_stats_counters counters;
	/* Told of the detach at destroy (absent for an engine alone). */
	struct dbb_client *client;
	uint32_t generation;
};

enum queue_role {
	QUEUE_PRODUCER,
	QUEUE_CONSUMER,
};

struct dbb_queue {
	enum queue_role role;
	uint32_t count;			/* buffers in the pool */
	uint32_t fence_timeout_ms;
	uint32_t release_timeout_ms;	/* producer: 0, none */
	int epfd;
	int timerfd;
	uint64_t timer_armed_ns;	/* 0: disarmed */
	int ended;	/* 0, or -EPIPE / -EPROTO / -ECONNABORTED (cut off) */
	struct dbb_pool *pool;
	bool owns_pool;
	union {
		struct producer prod;
		struct consumer cons;
	};
};

/* ---- queue.c ---- */

/* A queue end with its epoll set and timerfd.  Returns 0, -EINVAL for a
 * count out of range, or another negative errno. */
int queue_new(enum queue_role role, uint32_t count, uint32_t fence_timeout_ms,
	      struct dbb_queue **out);
/* Adds / removes @fd in the end's epoll set under @tag. */
int queue_watch(struct dbb_queue *q, int fd, uint32_t events, uint64_t tag);
void queue_unwatch(struct dbb_queue *q, int fd);
int queue_rewatch(struct dbb_queue *q, int fd, uint32_t events, uint64_t tag);
/* Counters are stored with relaxed atomics (the broker reads them
 * from the stats page meanwhile). */
void queue_stat_add(uint64_t *p, int64_t delta);
void queue_stat_latency(struct dbb_queue_stats_counters *c, uint64_t ns);
void queue_counters_copy(const struct dbb_queue_stats_counters *c,
			 struct dbb_queue_counters *out);
/* CLOCK_MONOTONIC in ns. */
uint64_t queue_now_ns(void);
/* Makes the timerfd fire no later than @deadline_ns. */
void queue_timer_arm(struct dbb_queue *q, uint64_t deadline_ns);
/* The timer fired or is to be recomputed: arms it for @next_ns (0: off). */
void queue_timer_set(struct dbb_queue *q, uint64_t next_ns);

/* ---- link.c ---- */

/* With the client's lock held: a queue event read by any call on
 * @client, for the producer it concerns; takes @fds. */
void link_route_event(struct dbb_client *client,
		      const DmabufBroker__V1__Event *ev, int *fds, size_t nfds);
/* Whether @type is one link_route_event() takes. */
bool link_event_type(DmabufBroker__V1__Event__Type type);
/* Producer: applies the attach/detach events routed to it; returns how
 * many. */
int link_drain_inbox(struct dbb_queue *q);
/* Producer: reads what the broker sent, and notices its end. */
int link_read_client(struct dbb_queue *q);
/* Producer: whether the queue ended with its client's connection. */
bool link_lost(struct dbb_queue *q);
/* Producer: asks the broker to detach the consumer it cut off from
 * @slot (not waited for; nothing for an end without a broker). */
void link_cut_off(struct dbb_queue *q, uint32_t slot, uint64_t client_id);
/* At destroy: out of the client's list, the broker told, the client's
 * reference dropped. */
void link_forget(struct dbb_queue *q);

/* ---- producer.c ---- */

void producer_init(struct dbb_queue *q, enum dbb_queue_policy policy,
		   uint32_t max_in_flight);
/* Gives consumer @slot, the broker's client @client_id (0: unknown),
 * its channel @fd (taken); a slot in use is cut off first.  Its counters
 * start at zero. */
int producer_attach(struct dbb_queue *q, uint32_t slot, int fd,
		    uint64_t client_id);
/* Closes consumer @slot's channel and takes its frames back. */
void producer_detach(struct dbb_queue *q, uint32_t slot);
int producer_acquire(struct dbb_queue *q, uint32_t *index);
int producer_post(struct dbb_queue *q, const struct dbb_frame *f, int fence);
/* Handles one epoll event of the producer. */
int producer_handle(struct dbb_queue *q, uint64_t tag, uint32_t events);
void producer_counters(struct dbb_queue *q, struct dbb_queue_counters *out);
/* Frees every fd and consumer; the stats page is the caller's. */
void producer_fini(struct dbb_queue *q);
bool producer_has_free(const struct dbb_queue *q);

/* ---- consumer.c ---- */

/* Takes @fd, the channel. */
int consumer_init(struct dbb_queue *q, int fd);
int consumer_handle(struct dbb_queue *q, uint64_t tag, uint32_t events);
/* The next ready frame, 1 when one was taken, 0 when none is ready. */
int consumer_take(struct dbb_queue *q, struct dbb_frame *f);
int consumer_release(struct dbb_queue *q, uint32_t index, int fence);
void consumer_counters(struct dbb_queue *q, struct dbb_queue_counters *out);
void consumer_fini(struct dbb_queue *q);

/* ---- fence.c ---- */

/* Whether @fd is a sync_file (SYNC_IOC_FILE_INFO answers). */
bool fence_is_sync_file(int fd);

/* ---- pool.c ---- */

/* With @client's lock held: a pool from a PoolInfo reply and its fds
 * (@nfds of @fds, from @first); takes the fds it uses on success.
 * @count_fds: how many member fds the reply must carry. */
int pool_from_reply(struct dbb_client *client,
		    const DmabufBroker__V1__PoolInfo *pb, int *fds,
		    size_t nfds, struct dbb_pool **out);
int pool_info_from_proto(const DmabufBroker__V1__PoolInfo *pb,
			 struct dbb_pool_info **out);

#endif
