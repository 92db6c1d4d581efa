/* SPDX-License-Identifier: MIT */
/*
 * The direct channel of a frame queue: one SOCK_SEQPACKET socketpair per
 * consumer, made by the broker at attach time, one end with the producer
 * and one with the consumer.  Frames go one way and releases the other,
 * one fixed-size struct dbb_chan_msg per datagram, at most one fence fd
 * (a sync_file) in SCM_RIGHTS.  No protobuf and no allocation: the hot
 * path is a sendmsg() per consumer per frame and a recvmmsg() per batch.
 *
 * The layout is host byte order: both ends are on one machine.
 */
#ifndef DBB_CHAN_H
#define DBB_CHAN_H

#include <stddef.h>
#include <stdint.h>

#define DBB_CHAN_MAGIC 0xdb5fu
#define DBB_CHAN_VERSION 1u

enum dbb_chan_type {
	DBB_CHAN_FRAME = 1,	/* producer -> consumer: buffer @index is yours */
	DBB_CHAN_RELEASE = 2,	/* consumer -> producer: done with @index */
	/*
	 * producer -> consumer, last before the producer closes the channel:
	 * you held a frame past the queue's release timeout and are cut off
	 * (@index 0, no flags, no fence).  It tells the consumer's library
	 * why its queue ended.  Added within version 1: a consumer library
	 * that predates it takes it for a producer fault (-EPROTO) where it
	 * would otherwise have seen the end (-EPIPE), which ends its queue
	 * all the same; a version bump would have made every frame of a
	 * newer producer unreadable to it.
	 */
	DBB_CHAN_BYE = 3,
};

/* The message carries a fence fd (FRAME: acquire, RELEASE: release). */
#define DBB_CHAN_HAS_FENCE (1u << 0)
/* RELEASE: the frame's acquire fence did not signal in time; the
 * application never saw the frame.  Only in a RELEASE. */
#define DBB_CHAN_TIMED_OUT (1u << 1)
#define DBB_CHAN_FLAGS_ALL (DBB_CHAN_HAS_FENCE | DBB_CHAN_TIMED_OUT)

struct dbb_chan_msg {
	uint16_t magic;		/* DBB_CHAN_MAGIC */
	uint8_t version;	/* DBB_CHAN_VERSION */
	uint8_t type;		/* enum dbb_chan_type */
	uint32_t index;		/* buffer index in the pool */
	uint64_t seq;		/* the frame's number */
	uint64_t timestamp_ns;	/* the producer's (e.g. capture time) */
	uint64_t posted_ns;	/* CLOCK_MONOTONIC at post */
	uint64_t latency_ns;	/* RELEASE: ready at the consumer - posted */
	uint32_t flags;		/* DBB_CHAN_* */
	uint32_t reserved;	/* 0 */
};

_Static_assert(sizeof(struct dbb_chan_msg) == 48, "the channel's wire size");

/* One received datagram: the message as it came, its length, the fence
 * fd it carried (-1: none; owned by the caller) and whether anything
 * about the datagram itself was wrong (truncated, several fds, ancillary
 * data of another kind): such a datagram's fds are already closed. */
struct chan_rx {
	struct dbb_chan_msg msg;
	size_t len;
	int fence_fd;
	int malformed;
};

/* The most datagrams one chan_recv_batch() reads. */
#define CHAN_BATCH 32u

/*
 * Sends @msg with @fence_fd attached when >= 0 (the caller keeps it),
 * without blocking.  Returns 0, -EAGAIN when the peer's queue is full,
 * -EPIPE/-ECONNRESET when the peer is gone, or another negative errno.
 */
int chan_send(int sock, const struct dbb_chan_msg *msg, int fence_fd);

/*
 * Reads what is ready, at most @max (<= CHAN_BATCH) datagrams, without
 * blocking.  Returns how many were read (> 0), 0 at the end of the
 * stream (the peer closed its end; also what an empty datagram reads
 * as), -EAGAIN when none was ready, or another negative errno.  The
 * fence fds in @rx are the caller's from then on.
 */
int chan_recv_batch(int sock, struct chan_rx *rx, size_t max);

/*
 * Checks @rx as a message of @type for a pool of @count buffers: length,
 * magic, version, type, index, known flags, zero reserved field, a fence
 * fd exactly when HAS_FENCE says so, TIMED_OUT only in a RELEASE, and a
 * BYE with index 0, no flags and no fence.
 * Returns 0, or -EPROTO with *@why set to a static description.
 */
int chan_check(const struct chan_rx *rx, enum dbb_chan_type type,
	       uint32_t count, const char **why);

#endif
