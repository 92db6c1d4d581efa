/* SPDX-License-Identifier: MIT */
/*
 * Pools and their frame queues in the running broker: the glue between
 * the pool table (pool.c), the queues (queue.c), the registry, the
 * clients and the watchers.  A pool ends when its first member leaves
 * the registry (Destroy on the pool, its owner's connection gone for a
 * client-lifetime pool, teardown); its queue ends with it or with the
 * producer's connection.  The producer hears of consumers coming and
 * going in events on its own connection; watchers hear of every queue
 * beginning and ending (a pool's ends before the pool does).
 */
#ifndef DBB_STREAMS_H
#define DBB_STREAMS_H

#include <stdint.h>

struct broker;
struct client;
struct pool;
struct pool_set;
struct queue;

struct streams {
	struct broker *br;
	struct pool_set *pools;
	struct queue *queues;		/* utlist DL: every live queue */
	uint32_t nqueues;
	/* Counters of queues that ended, so that Stats' totals do not go
	 * back; the producers' word like the live ones. */
	uint64_t ended_posted, ended_dropped;
};

/* Totals for Stats. */
struct streams_totals {
	uint64_t pools, queues, frames_posted, frames_dropped;
};

/* Creates the pool table and subscribes to @br->reg.  NULL on failure. */
struct streams *streams_create(struct broker *br);

/* Frees what is left, after the registry is gone.  Accepts NULL. */
void streams_destroy(struct streams *s);

/* A new pool is complete and announced: watchers hear POOL_CREATED. */
void streams_pool_created(struct streams *s, const struct pool *pool);

/* Removes every member of @pool from the registry, which ends it. */
void streams_pool_destroy(struct streams *s, struct pool *pool);

/* @pool's grants changed: consumers that may no longer open it are
 * detached (the producer is told). */
void streams_pool_regranted(struct streams *s, struct pool *pool);

/* Gives @pool the queue @q (made by queue_create()); watchers hear
 * QUEUE_CREATED. */
void streams_queue_add(struct streams *s, struct pool *pool,
		       struct queue *q);

/*
 * Tells @q's producer that a consumer attached in @slot, handing it
 * @producer_end (owned: passed on or closed).  Returns 0 or a negative
 * errno (the producer's connection broke).
 */
int streams_consumer_attached(struct streams *s, struct queue *q, int slot,
			      int producer_end);

/* The producer ended @q itself (its library closes the consumers'
 * channels): the queue and its page are forgotten; only watchers are
 * told (QUEUE_DESTROYED). */
void streams_queue_stop(struct streams *s, struct queue *q);

/* Frees @slot of @q and tells the producer the consumer there left. */
void streams_consumer_detach(struct streams *s, struct queue *q, int slot);

/* @c's connection is gone: the queues it produced end (watchers are
 * told), and it leaves those it consumed (their producers are told).
 * Accepts a NULL @s. */
void streams_client_gone(struct streams *s, struct client *c);

struct streams_totals streams_totals(const struct streams *s);

#endif
