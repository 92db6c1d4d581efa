/* SPDX-License-Identifier: MIT */
/*
 * Frames over a SOCK_SEQPACKET Unix socket: one datagram per message, file
 * descriptors only in SCM_RIGHTS.  Shared by the broker and the client
 * library; no policy lives here.
 */
#ifndef DBB_WIRE_H
#define DBB_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

/* Largest datagram either side sends or accepts. */
#define DBB_WIRE_MAX_FRAME (64u * 1024u)

/*
 * The most fds one frame may carry, either way: a broker reply with a
 * whole pool (32 members and a queue's channel) is the largest.  Each
 * message type says how many it carries (docs/protocol.md); the receiver
 * closes the fds of a frame that carries another number.
 */
#define DBB_WIRE_MAX_FDS 64u

/* The most fds a request carries (PinRequest's memfd, AdoptRequest's
 * dma-buf): what the broker accepts in one incoming frame. */
#define DBB_WIRE_MAX_REQUEST_FDS 1u

/*
 * Sends one datagram of @len bytes with @nfds descriptors attached.
 * @flags is passed to sendmsg() together with MSG_NOSIGNAL (use MSG_DONTWAIT
 * on a blocking socket to avoid waiting).  The caller keeps ownership of
 * @fds.  Returns 0, -EAGAIN when the socket buffer is full, -EMSGSIZE when
 * @len exceeds DBB_WIRE_MAX_FRAME, -EINVAL when @nfds exceeds
 * DBB_WIRE_MAX_FDS, or another negative errno.
 */
int wire_send(int sock, const void *data, size_t len, const int *fds,
	      size_t nfds, int flags);

/*
 * Receives one datagram into @buf (@cap bytes; DBB_WIRE_MAX_FRAME is
 * enough for any valid frame).  Up to @max_fds received descriptors are
 * stored in @fds and owned by the caller from then on; *@nfds is set to
 * their number.  Descriptors arrive with O_CLOEXEC.
 *
 * Returns the datagram's length (> 0), 0 on end of stream (or an empty
 * datagram, which SOCK_SEQPACKET cannot tell from it), or:
 *   -EMSGSIZE  the datagram was longer than @cap (it is discarded);
 *   -EBADMSG   it carried more fds than @max_fds, or ancillary data other
 *              than SCM_RIGHTS;
 *   -EAGAIN    nothing to read on a non-blocking socket;
 *   another negative errno from recvmsg().
 * On every return but a length no descriptor is left open: those that
 * arrived have been closed and *@nfds is 0.
 */
ssize_t wire_recv(int sock, void *buf, size_t cap, int *fds, size_t max_fds,
		  size_t *nfds, int flags);

/*
 * Packs @msg into @buf of @cap bytes.  Returns the packed length, or
 * -EMSGSIZE when it does not fit.
 */
ssize_t wire_pack(const ProtobufCMessage *msg, uint8_t *buf, size_t cap);

/* Closes the @n descriptors in @fds that are >= 0 and sets them to -1. */
void wire_close_fds(int *fds, size_t n);

#endif
