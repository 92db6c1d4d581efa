/* SPDX-License-Identifier: MIT */
/*
 * A pool's frame queue as the broker keeps it: who produces, which
 * consumer holds which slot (0..QUEUE_MAX_CONSUMERS-1), the policy the
 * producer chose, and the counters page (common/queue_stats.h) that the
 * broker creates and the producer's library fills in.  Frames never pass
 * through the broker: producer and consumers talk over channels whose ends
 * the broker hands out and does not keep.  No sockets or events here; the
 * clients are only pointers it stores.
 */
#ifndef DBB_QUEUE_H
#define DBB_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "queue_stats.h"

#define QUEUE_MAX_CONSUMERS DBB_QUEUE_MAX_CONSUMERS
/* fence_timeout_ms when the producer gives 0. */
#define QUEUE_DEFAULT_FENCE_TIMEOUT_MS 1000u
/* The longest release_timeout_ms (the public header's maximum). */
#define QUEUE_MAX_RELEASE_TIMEOUT_MS 600000u

enum queue_policy {
	QUEUE_POLICY_HOLD = 0,
	QUEUE_POLICY_DROP_OLDEST = 1,
	QUEUE_POLICY_LATEST = 2,
};

struct client;
struct pool;

struct queue_params {
	enum queue_policy policy;
	uint32_t max_in_flight;		/* per consumer; 0: the pool's size */
	uint32_t fence_timeout_ms;	/* 0: the default */
	/* Kept and reported only: the producer's library cuts off a
	 * consumer that holds a frame longer.  0: never. */
	uint32_t release_timeout_ms;
};

/* The counters of the page as the protocol reports them. */
struct queue_counters {
	uint64_t posted, delivered, released, dropped, in_flight;
	uint64_t fence_timeouts, latency_avg_usec, latency_max_usec;
};

struct queue {
	struct pool *pool;
	struct client *producer;
	struct queue_params params;
	int stats_fd;			/* the page's memfd, sealed */
	const struct dbb_queue_stats_page *stats;	/* mapped read-only */
	struct client *consumers[QUEUE_MAX_CONSUMERS];	/* NULL: free */
	uint32_t nconsumers;
	struct queue *prev, *next;	/* the broker's list (utlist DL) */
};

/*
 * A queue on @pool produced by @producer with @params (checked: -EINVAL
 * for an unknown policy, max_in_flight over the pool's size or
 * release_timeout_ms over QUEUE_MAX_RELEASE_TIMEOUT_MS), and its
 * counters page: a memfd of DBB_QUEUE_STATS_SIZE bytes, header written,
 * sealed against shrinking, growing and further seals, mapped read-only.
 * Returns 0 and sets *@out, or a negative errno.
 */
int queue_create(struct pool *pool, uint32_t pool_count,
		 struct client *producer, const struct queue_params *params,
		 struct queue **out);

/* Unmaps and closes the page and frees @q.  Accepts NULL. */
void queue_destroy(struct queue *q);

/* Gives @c the lowest free slot: the slot, -EEXIST when @c holds one
 * already, -ENOSPC when all are taken. */
int queue_slot_take(struct queue *q, struct client *c);

/* The slot @c holds, or -ENOENT. */
int queue_slot_of(const struct queue *q, const struct client *c);

/* Frees @slot (does nothing for a free or bad one). */
void queue_slot_put(struct queue *q, int slot);

/*
 * Reads the counters of the whole queue (@slot < 0) or of one slot from
 * the page.  The producer writes the page: its values are taken as they
 * are, but only ever reported, and an average is computed only over a
 * non-zero count.
 */
void queue_counters(const struct queue *q, int slot,
		    struct queue_counters *out);

/* How many consumers the producer says it cut off (release timeout). */
uint64_t queue_cut_off_count(const struct queue *q);

#endif
