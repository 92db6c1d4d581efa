/* SPDX-License-Identifier: MIT */
/*
 * The counters page of a frame queue, shared by the broker and the
 * producer's library.
 *
 * The broker creates it for each queue (a memfd of DBB_QUEUE_STATS_SIZE
 * bytes, header filled in, sealed F_SEAL_SHRINK | F_SEAL_GROW |
 * F_SEAL_SEAL) and hands it to the producer in the QueueCreate reply.  The
 * producer's library maps it shared and is its only writer: every counter
 * is stored with __atomic_store_n(..., __ATOMIC_RELAXED).  The broker
 * maps it read-only and loads each counter with __atomic_load_n(...,
 * __ATOMIC_RELAXED) when it describes the queue.  The values are the
 * producer's word, untrusted: the broker reports them and never uses one
 * as an index or a size.
 *
 * A slot's counters (consumer[slot]) are zeroed by the producer when it
 * learns of the consumer attached there (QUEUE_CONSUMER_ATTACHED).  The
 * queue's own counters: posted counts frames the producer posted; the
 * others are the sums of the consumers' (a frame sent to two consumers is
 * delivered twice), kept also for consumers gone since.
 */
#ifndef DBB_QUEUE_STATS_H
#define DBB_QUEUE_STATS_H

#include <stdint.h>

/* Identical to the public header's definition (a benign redefinition). */
#define DBB_QUEUE_MAX_CONSUMERS 16

#define DBB_QUEUE_STATS_MAGIC 0x53514244u	/* "DBQS", little-endian */
#define DBB_QUEUE_STATS_VERSION 1u
/* The memfd's size: one page, whatever sizeof the page struct is. */
#define DBB_QUEUE_STATS_SIZE 4096u

/* What happened to frames, for the whole queue or one consumer.  (Not
 * named dbb_queue_counters: that is the public header's view of them.) */
struct dbb_queue_stats_counters {
	uint64_t posted;	/* frames posted (queue) / meant for it (consumer) */
	uint64_t delivered;	/* sent on a consumer's channel */
	uint64_t released;	/* released by a consumer */
	uint64_t dropped;	/* taken back undelivered (policy, detach) */
	uint64_t in_flight;	/* delivered and not released, now */
	uint64_t fence_timeouts;	/* fences that did not signal in time */
	uint64_t latency_sum_ns;	/* post to the consumer's ready */
	uint64_t latency_max_ns;
	uint64_t latency_count;
};

struct dbb_queue_stats_page {
	uint32_t magic;		/* DBB_QUEUE_STATS_MAGIC, written by the broker */
	uint32_t version;	/* DBB_QUEUE_STATS_VERSION, by the broker */
	uint32_t max_consumers;	/* DBB_QUEUE_MAX_CONSUMERS, by the broker */
	uint32_t reserved;
	struct dbb_queue_stats_counters queue;
	struct dbb_queue_stats_counters consumer[DBB_QUEUE_MAX_CONSUMERS];
	/* Consumers cut off for not releasing within the release timeout.
	 * After the arrays, so that the offsets before it stay those of
	 * version 1: a broker or library without it reads or writes 0. */
	uint64_t consumers_cut_off;
};

_Static_assert(sizeof(struct dbb_queue_stats_page) <= DBB_QUEUE_STATS_SIZE,
	       "the counters page fits its memfd");

#endif
