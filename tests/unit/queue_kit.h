/* SPDX-License-Identifier: MIT */
/*
 * What the frame queue engine's unit tests share: queue ends built the
 * way the library builds them after set-up, over socketpairs and without
 * a broker; a raw peer that writes the channel by hand; fd counting.
 * Every helper asserts (cmocka) what it needs.
 */
#ifndef DBB_QUEUE_KIT_H
#define DBB_QUEUE_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "queue-private.h"

/* Generous: only reached when something is broken. */
#define WAIT_MS 5000

/* Open fds of this process; whether @fd is one. */
int kit_count_fds(void);
bool kit_fd_open(int fd);
/* Per test: the fd count at the start must be the count at the end. */
int kit_setup(void **state);
int kit_teardown(void **state);

/* A producer end without a broker. */
struct dbb_queue *kit_producer_new(uint32_t count, enum dbb_queue_policy policy,
				   uint32_t max_in_flight);
/* A consumer end in slot @slot of @p; or, with @raw, the fd of a peer
 * that plays the consumer by hand (NULL returned). */
struct dbb_queue *kit_consumer_new(struct dbb_queue *p, uint32_t slot, int *raw);
/* A consumer end whose producer is played by hand through *@raw. */
struct dbb_queue *kit_consumer_alone(uint32_t count, int *raw);

/* Producer: acquire (without waiting), post, both. */
uint32_t kit_acquire(struct dbb_queue *p);
void kit_post(struct dbb_queue *p, uint32_t index);
uint32_t kit_post_new(struct dbb_queue *p);
/* Consumer: the next frame (waiting up to WAIT_MS), its release. */
struct dbb_frame kit_receive(struct dbb_queue *c);
void kit_release(struct dbb_queue *c, uint32_t index);
/* Lets the producer read what its consumers sent. */
void kit_settle(struct dbb_queue *p);
/* The end's counters; the producer's for consumer @slot. */
struct dbb_queue_counters kit_counters(struct dbb_queue *q);
struct dbb_queue_counters kit_slot_counters(struct dbb_queue *p, uint32_t slot);

/* A well-formed message of @type for buffer @index (seq index + 1). */
struct dbb_chan_msg kit_msg(enum dbb_chan_type type, uint32_t index);
/* Sends the first @len bytes of @m (zeros past it) with @nfds fds. */
void kit_raw_send(int fd, const struct dbb_chan_msg *m, size_t len,
		  const int *fds, size_t nfds);
/* The next message the other end sent, without a fence. */
struct dbb_chan_msg kit_raw_recv(int fd);

#endif
