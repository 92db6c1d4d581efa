/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for more fds than we accept, so an excess is seen, not guessed. */
#define WIRE_CMSG_FDS (DBB_WIRE_MAX_FDS + 8u)

void wire_close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int wire_send(int sock, const void *data, size_t len, const int *fds,
	      size_t nfds, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * DBB_WIRE_MAX_FDS)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (len > DBB_WIRE_MAX_FRAME)
		return -EMSGSIZE;
	if (nfds > DBB_WIRE_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *cmsg;

		memset(&ctrl, 0, sizeof(ctrl));
		msg.msg_control = ctrl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);

		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * Collects the descriptors of every SCM_RIGHTS message into @got (at most
 * @room, the rest closed at once).  Returns the total number that arrived,
 * or -EBADMSG when ancillary data of another kind was present.
 */
static ssize_t wire_collect_fds(struct msghdr *msg, int *got, size_t room,
				size_t *ngot)
{
	size_t total = 0;
	int bad = 0;

	*ngot = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;
		int *p;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		p = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, p + i, sizeof(fd));
			if (*ngot < room)
				got[(*ngot)++] = fd;
			else
				close(fd);
		}
		total += n;
	}
	return bad ? -EBADMSG : (ssize_t)total;
}

ssize_t wire_recv(int sock, void *buf, size_t cap, int *fds, size_t max_fds,
		  size_t *nfds, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * WIRE_CMSG_FDS)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl.buf,
		.msg_controllen = sizeof(ctrl.buf),
	};
	int got[WIRE_CMSG_FDS];
	size_t ngot;
	ssize_t n, total;

	*nfds = 0;
	do {
		n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	total = wire_collect_fds(&msg, got, WIRE_CMSG_FDS, &ngot);
	if (msg.msg_flags & MSG_TRUNC || total < 0 || (size_t)total > max_fds ||
	    msg.msg_flags & MSG_CTRUNC) {
		/* The kernel already dropped what did not fit in ctrl. */
		wire_close_fds(got, ngot);
		return msg.msg_flags & MSG_TRUNC ? -EMSGSIZE : -EBADMSG;
	}
	if (n == 0) {
		/* An empty datagram reads as the end of the stream, and the
		 * caller then looks at no fds: those a peer attached to it
		 * would stay open for good. */
		wire_close_fds(got, ngot);
		return 0;
	}
	memcpy(fds, got, sizeof(int) * ngot);
	*nfds = ngot;
	return n;
}

ssize_t wire_pack(const ProtobufCMessage *msg, uint8_t *buf, size_t cap)
{
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (len > cap)
		return -EMSGSIZE;
	return (ssize_t)protobuf_c_message_pack(msg, buf);
}
